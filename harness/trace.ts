// Recording of every access that crosses the module boundary, in preallocated typed arrays: the
// hot path writes five numbers and allocates nothing. Names are decoded only when printing.
import type { Registry } from "./registry.js";

/** Operation codes stored in the low bits of an entry's op byte. */
export const OP_READ = 0;
export const OP_WRITE = 1;
export const OP_BARRIER = 2;
/** An interrupt event (docs/interrupts.md): the kind (IRQ_ENTER, IRQ_RETURN) in `width`, the
 * controller's line in `addr`. */
export const OP_IRQ = 3;
export const OP_MASK = 0x03;
/** The access was refused by the bus (unmapped, unaligned, or a width the register rejects). */
export const FLAG_FAULT = 0x10;
/** The access was made by a bus master other than the CPU (a DMA controller). */
export const FLAG_DMA = 0x20;
/** The entry was made while an interrupt handler ran (the handler's own accesses, and the
 * events of an interrupt that preempted a handler). */
export const FLAG_IRQ = 0x40;

/** OP_IRQ kinds. ENTER: the controller took the line and the host entered the module's handler;
 * `value` is 1 when it was delivered preemptively (between two accesses, as a CPU takes it), 0
 * when a deferred host delivered it (between export calls, or where a driver waits). RETURN: the handler returned; `value` is the status
 * hal_irq_dispatch returned (an i32, stored as u32). */
export const IRQ_ENTER = 1;
export const IRQ_RETURN = 2;

/** barrier() kinds (docs/abi.md 1.2). */
export const BARRIER_NAMES = ["DMB", "DSB", "ISB"] as const;

/** One decoded entry, for code that is not on a hot path. */
export interface TraceEntry {
  readonly seq: number;
  readonly op: number;
  readonly flags: number;
  /** Bytes for reads and writes; the barrier kind is in `value`; the event kind of an OP_IRQ. */
  readonly width: number;
  readonly addr: number;
  readonly value: number;
  /** Virtual time in ns at the access. */
  readonly time: number;
  /** Index into Trace.calls of the export that was running, or -1. */
  readonly call: number;
}

/** One call of a module export, as the harness made it. */
export interface CallRecord {
  readonly name: string;
  readonly args: readonly number[];
  /** Index of the first entry made during the call. */
  readonly start: number;
  /** Index one past the last entry; equals start until the call returns. */
  end: number;
  /** Returned value, or undefined while running or when the call trapped. */
  result: number | undefined;
}

const INITIAL_CAPACITY = 1 << 14;

export class Trace {
  /** Three words per entry: the op byte and the width (op | width << 8), the address, the value.
   * One array for the three keeps the hot path to two stores of bounds-checked arrays. */
  private words: Uint32Array;
  private times: Float64Array;
  /** Entries the arrays hold. */
  private room: number;
  /** Number of entries recorded. */
  length = 0;
  /** Export calls, in order; entries refer to them by index. */
  readonly calls: CallRecord[] = [];
  /** Index of the running call, or -1 outside any call. */
  currentCall = -1;
  /** Set to false to stop recording (a benchmark's floor, or a fuzzer that only counts). */
  enabled = true;
  /** How this trace's calls and status codes print (the registry of the module's project); the
   * Hal sets it. Undefined: the package's own. */
  registry: Registry | undefined = undefined;
  /** Names of the interrupt lines the trace's OP_IRQ entries refer to (the controller's), for
   * printing; set when interrupts are delivered (harness/interrupts.ts). */
  lineNames: ReadonlyMap<number, string> | undefined = undefined;

  constructor(capacity = INITIAL_CAPACITY) {
    this.room = capacity;
    this.words = new Uint32Array(capacity * 3);
    this.times = new Float64Array(capacity);
  }

  get capacity(): number {
    return this.room;
  }

  /** Appends one entry. Capacity doubles when full: nothing is ever dropped. The export an entry
   * belongs to is not stored per entry: calls are sequential, so their ranges tell it. */
  record(op: number, width: number, addr: number, value: number, time: number): void {
    // `=== false` rather than a truthiness test: V8 compiles it to one comparison.
    if (this.enabled === false) return;
    const i = this.length;
    if (i === this.room) this.grow();
    const words = this.words;
    const w = i * 3;
    words[w] = (op & 0xff) | ((width & 0xff) << 8);
    words[w + 1] = addr;
    words[w + 2] = value;
    this.times[i] = time;
    this.length = i + 1;
  }

  private grow(): void {
    const n = this.room * 2;
    const words = new Uint32Array(n * 3); words.set(this.words); this.words = words;
    const times = new Float64Array(n); times.set(this.times); this.times = times;
    this.room = n;
  }

  /** The op byte (operation and flags) of entry `seq`. */
  private opAt(seq: number): number {
    return this.words[seq * 3]! & 0xff;
  }

  /** Marks the start of an export call; accesses made until endCall() belong to it. */
  beginCall(name: string, args: readonly number[]): number {
    this.calls.push({ name, args: [...args], start: this.length, end: this.length, result: undefined });
    this.currentCall = this.calls.length - 1;
    return this.currentCall;
  }

  endCall(index: number, result: number | undefined): void {
    const call = this.calls[index];
    if (call === undefined) throw new Error(`no call #${index} in this trace`);
    call.end = this.length;
    call.result = result;
    this.currentCall = -1;
  }

  /** True when entry `seq` repeats the read just before it (same op byte, width, address and
   * value): the second and later reads of a poll. Allocation-free. */
  repeatsPrevious(seq: number): boolean {
    if (seq < 1 || seq >= this.length) return false;
    const w = seq * 3;
    const words = this.words;
    return (words[w]! & OP_MASK) === OP_READ && words[w] === words[w - 3] && words[w + 1] === words[w - 2] && words[w + 2] === words[w - 1];
  }

  /** One field of entry `seq`, without building a TraceEntry: for code that walks a whole trace
   * (the interrupt checks). The op byte holds the operation (OP_MASK) and the flags. No range
   * check: `seq` must be below `length`. */
  opByteAt(seq: number): number {
    return this.words[seq * 3]! & 0xff;
  }

  widthAt(seq: number): number {
    return (this.words[seq * 3]! >>> 8) & 0xff;
  }

  addrAt(seq: number): number {
    return this.words[seq * 3 + 1]!;
  }

  valueAt(seq: number): number {
    return this.words[seq * 3 + 2]!;
  }

  entry(seq: number): TraceEntry {
    if (seq < 0 || seq >= this.length) throw new RangeError(`trace entry ${seq} out of range 0..${this.length - 1}`);
    const w = seq * 3;
    const raw = this.opAt(seq);
    return {
      seq,
      op: raw & OP_MASK,
      flags: raw & ~OP_MASK,
      width: (this.words[w]! >>> 8) & 0xff,
      addr: this.words[w + 1]!,
      value: this.words[w + 2]!,
      time: this.times[seq]!,
      call: this.callAt(seq),
    };
  }

  /** Index of the call during which entry `seq` was made, or -1 (binary search over calls). */
  callAt(seq: number): number {
    const calls = this.calls;
    let lo = 0;
    let hi = calls.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (calls[mid]!.start <= seq) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return -1;
    const call = calls[found]!;
    const running = found === this.currentCall;
    return running || seq < call.end ? found : -1;
  }

  *entries(from = 0, to = this.length): IterableIterator<TraceEntry> {
    for (let i = Math.max(0, from); i < Math.min(to, this.length); i++) yield this.entry(i);
  }

  /** Forgets every entry and call; keeps the arrays. */
  clear(): void {
    this.length = 0;
    if (this.calls.length !== 0) this.calls.length = 0;
    this.currentCall = -1;
  }
}
