// The blind search's cases as one fast-check arbitrary: a list of steps, most of them drawn from a
// pool of steps the target's own generator made, some made afresh.
//
// Why a pool: making a step through the target's fast-check arbitraries (oneof, record, map, each
// value wrapped for shrinking) costs more than running it for the cheap targets: a PL061 case
// took 10.5 us to generate as fast-check commands against 7 us to run; 3.3 us to generate now
// (docs/fuzzing.md#how-cases-are-made). What it changes in what the search finds: the order and
// mix of steps in a case are as varied as before (every case draws its own), but a step's values
// recur: a pool step is used in about (cases x steps x 7/8) / 4,096 cases of a round, and about
// one step in eight of a case is new.
//
// The case is a pure function of the round's seed (the pool) and its own random stream (fast-check
// hands each run its own): fast-check's seed and path replay a counterexample, shrinking included,
// without the runs before it. Pool entries are made on first use, each from its own seed.
//
// Shrinking: chunks of steps removed (halving the chunk down to single steps), then each step's
// values shrunk by the target's arbitrary (through the context fast-check keeps of the value).
import fc from "fast-check";
import { Mulberry32 } from "./mulberry32.js";
import type { Step } from "./target.js";

/** Steps in a round's pool. */
export const POOL_STEPS = 4096;
/** One step of a case in this many is made afresh by the target's generator; the others are
 * drawn from the pool. 8 rather than 4 (docs/fuzzing.md#how-cases-are-made): over the bug zoo,
 * seeds 2 to 13, both found the same (286 and 285 of 288 pairs), and a PL061 case is made in
 * 1.3 us instead of 1.65. A bug that needs two steps with values the pool lacks is found about
 * four times less often per case. */
export const FRESH_ONE_IN = 8;

/** The most steps fast-check's commands generated with their default size ("small": 10), even
 * when the most allowed (maxSteps) is higher. */
const COMMANDS_DEFAULT_MOST = 10;

/** A 32-bit seed from another and an index (splitmix32 steps). */
function poolSeed(seed: number, index: number): number {
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/** fast-check's bias for a run: the frequency (one value in it biased towards small and edge
 * values) that its property runner gives run `index`. */
function biasOf(index: number): number {
  return 2 + Math.floor(Math.log10(index + 1));
}

/** What a case keeps of each step for shrinking: a pool index (its value made again from its
 * seed when needed: the pool keeps steps, not fast-check's shrinking contexts, which would make
 * every scavenge copy megabytes) or the fresh step's value. */
type StepOrigin = number | fc.Value<Step>;

export class CaseArbitrary extends fc.Arbitrary<Step[]> {
  private readonly pool: (Step | undefined)[] = new Array(POOL_STEPS);
  /** A case's length, as fast-check's commands drew it (its default size: 0 to 10 steps, or
   * fewer when the most is lower, biased to short cases), so that cases cost what they did. */
  private readonly length: fc.Arbitrary<number>;

  /** `seed` makes the pool: a round's seed, so that its seed and path replay its cases. */
  constructor(private readonly step: fc.Arbitrary<Step>, maxSteps: number, private readonly seed: number) {
    super();
    if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new Error(`the most steps in a case must be a positive integer, got ${maxSteps}`);
    this.length = fc.integer({ min: 0, max: Math.min(maxSteps, COMMANDS_DEFAULT_MOST) });
  }

  /** Pool entry `index` with its shrinking context, made from its own seed (the same each time). */
  private pooledValue(index: number): fc.Value<Step> {
    return this.step.generate(new fc.Random(new Mulberry32(poolSeed(this.seed, index))), biasOf(index));
  }

  /** Pool entry `index`, made on first use. */
  private pooled(index: number): Step {
    let step = this.pool[index];
    if (step === undefined) {
      step = this.pooledValue(index).value_;
      this.pool[index] = step;
    }
    return step;
  }

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<Step[]> {
    const length = this.length.generate(mrng, biasFactor).value_;
    const origins = new Array<StepOrigin>(length);
    const steps = new Array<Step>(length);
    for (let i = 0; i < length; i++) {
      // One draw says both: fresh or pooled, and which pool step (both powers of two: one
      // 32-bit number from the generator, no rejection).
      const r = mrng.nextInt(0, POOL_STEPS * FRESH_ONE_IN - 1);
      if (r % FRESH_ONE_IN === 0) {
        const value = this.step.generate(mrng, biasFactor);
        origins[i] = value;
        steps[i] = value.value_;
      } else {
        const index = Math.floor(r / FRESH_ONE_IN);
        origins[i] = index;
        steps[i] = this.pooled(index);
      }
    }
    return new fc.Value(steps, origins);
  }

  canShrinkWithoutContext(_value: unknown): _value is Step[] {
    return false;
  }

  shrink(_value: Step[], context: unknown): fc.Stream<fc.Value<Step[]>> {
    const origins = context as readonly StepOrigin[];
    return new fc.Stream(shrinkCase(this.step, origins.map((o) => (typeof o === "number" ? this.pooledValue(o) : o))));
  }
}

function caseValue(values: readonly fc.Value<Step>[]): fc.Value<Step[]> {
  return new fc.Value(values.map((v) => v.value_), values);
}

/** Smaller cases than `values`, simplest first: without a chunk of steps (half the case, then a
 * quarter, down to one step, at every place), then with one step's values shrunk. */
function* shrinkCase(step: fc.Arbitrary<Step>, values: readonly fc.Value<Step>[]): IterableIterator<fc.Value<Step[]>> {
  for (let chunk = Math.max(1, values.length >> 1); chunk >= 1 && values.length > 0; chunk >>= 1) {
    for (let at = 0; at + chunk <= values.length; at += chunk) {
      yield caseValue([...values.slice(0, at), ...values.slice(at + chunk)]);
    }
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    for (const smaller of step.shrink(v.value_, v.context)) {
      yield caseValue([...values.slice(0, i), smaller, ...values.slice(i + 1)]);
    }
  }
}
