// The plainest device: a register file that keeps what is written and reads it back, with an
// optional queue of answers per offset for registers that change while a driver polls them. For
// tests of the harness itself (traces, lint, assertions) where a behavioural model would only
// get in the way.
import type { Device } from "../bus.js";

export class RegisterFile implements Device {
  /** The value each offset holds: the last write, or what a test put there. */
  readonly values = new Map<number, number>();
  /** Answers for the next reads of an offset, taken in order before `values` is used again. */
  readonly upcoming = new Map<number, number[]>();

  read(offset: number): number {
    const queue = this.upcoming.get(offset);
    if (queue !== undefined && queue.length > 0) return queue.shift()!;
    return this.values.get(offset) ?? 0;
  }

  write(offset: number, value: number): void {
    this.values.set(offset, value);
  }
}
