// mulberry32: a small seeded generator of 32-bit numbers. The blind search makes its pool steps
// with it (case-arbitrary.ts, through fast-check's Random), the coverage-guided search its
// mutation choices (coverage/guided.ts).

/** A small seeded generator (mulberry32) in the shape fast-check's Random takes (pure-rand's
 * RandomGenerator: next() a signed 32-bit integer, clone, jump, getState). */
export class Mulberry32 {
  constructor(private state: number) {}
  clone(): Mulberry32 {
    return new Mulberry32(this.state);
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) | 0;
  }
  jump(): void {
    for (let i = 0; i < 42; i++) this.next();
  }
  getState(): readonly number[] {
    return [this.state];
  }
}
