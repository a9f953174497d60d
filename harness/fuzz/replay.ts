// Replaying the read values of a recorded trace: every CPU read returns what the recording says it
// returned, whatever the model would answer, and every CPU access is compared with the recording.
// A module fed its own recorded reads must make the same accesses and return the same results;
// this checks a saved failure against the driver alone, independently of the models.
import { FLAG_DMA, OP_READ, OP_MASK } from "../trace.js";

/** One CPU access of a recording, repeat counts expanded. */
export interface RecordedAccess {
  /** Op with its flags (FLAG_FAULT), as a trace stores them. */
  readonly op: number;
  readonly width: number;
  readonly addr: number;
  readonly value: number;
}

const hex = (n: number): string => "0x" + (n >>> 0).toString(16);

function describe(a: { op: number; width: number; addr: number; value: number }): string {
  const kind = a.op & OP_MASK;
  const name = kind === OP_READ ? "R" : kind === 1 ? "W" : "barrier";
  return kind === 2 ? `barrier ${a.value}` : `${name}${a.width * 8} ${hex(a.addr)} = ${hex(a.value)}`;
}

/** One line of a recording: an access and how many times in a row it happened. */
export interface RecordedGroup extends RecordedAccess {
  readonly repeat: number;
}

export class ReadScript {
  /** Accesses replayed so far. */
  position = 0;
  /** The first access that differs from the recording, in words, or null. */
  divergence: string | null = null;
  private group = 0;
  private within = 0;
  private readonly total: number;

  /** `groups`: the recording's CPU accesses in order, polls kept as one group with a count. */
  constructor(readonly groups: readonly RecordedGroup[]) {
    this.total = groups.reduce((n, g) => n + g.repeat, 0);
  }

  private next(): RecordedGroup | undefined {
    return this.groups[this.group];
  }

  /** The value the next CPU read must return: the recorded one, when that read is next. */
  readValue(addr: number, width: number, truth: number): number {
    const next = this.next();
    if (next === undefined || (next.op & OP_MASK) !== OP_READ || next.addr !== addr || next.width !== width) return truth;
    return next.value;
  }

  /** Every recorded access of the replay, in order; DMA accesses are not the module's. */
  observe(op: number, width: number, addr: number, value: number): void {
    if ((op & FLAG_DMA) !== 0 || this.divergence !== null) return;
    const next = this.next();
    const actual = { op, width, addr, value };
    if (next === undefined) {
      this.divergence = `access #${this.position} ${describe(actual)} comes after the recording ends`;
    } else if (next.op !== op || next.width !== width || next.addr !== addr || next.value !== value) {
      this.divergence = `access #${this.position}: recorded ${describe(next)}, replayed ${describe(actual)}`;
    } else if (++this.within === next.repeat) {
      this.group++;
      this.within = 0;
    }
    this.position++;
  }

  /** Null when the replay made exactly the recorded accesses. */
  verdict(): string | null {
    if (this.divergence !== null) return this.divergence;
    if (this.position < this.total) return `the replay stopped after ${this.position} of ${this.total} recorded accesses`;
    return null;
  }
}
