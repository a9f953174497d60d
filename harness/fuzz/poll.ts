// Polling loops, recognised from the end of a trace: the same few reads (same addresses, same
// values) over and over. A driver stopped by its access budget is reported as stuck in such a
// loop (which register, which value, how many polls) rather than as a generic timeout; the bits
// it waits for are found by flipping each bit of the value in a re-run and seeing whether the
// driver leaves the loop.
import type { Bus } from "../bus.js";
import { decodeFields } from "../regmap.js";
import { OP_READ, OP_MASK, FLAG_DMA, type Trace } from "../trace.js";

/** One read of a polling loop. */
export interface PolledRead {
  readonly addr: number;
  readonly width: number;
  readonly value: number;
  /** region+offset and register, as the bus describes it. */
  readonly place: string;
  /** The value decoded by the register's fields (empty when nothing is set). */
  readonly fields: string;
}

export interface PollLoop {
  /** The reads of one iteration, in order. */
  readonly reads: readonly PolledRead[];
  /** Complete iterations found at the end of the trace. */
  readonly iterations: number;
  /** Index of the loop's first entry in the trace. */
  readonly start: number;
}

/** Bits of one polled register whose flip ends the loop: what the driver waits for. */
export interface AwaitedBits {
  readonly place: string;
  /** Bits the driver waits to see set (they read 0 in the loop). */
  readonly toSet: readonly string[];
  /** Bits the driver waits to see cleared (they read 1 in the loop). */
  readonly toClear: readonly string[];
}

/** The longest period looked for: a loop reading more than this many registers is not called a poll. */
const MAX_PERIOD = 4;
/** Iterations needed before a repetition counts as a loop (a hang has already been detected:
 * two identical polls at its end say enough). */
const MIN_ITERATIONS = 2;

interface Entry {
  readonly op: number;
  readonly width: number;
  readonly addr: number;
  readonly value: number;
}

function sameEntry(a: Entry, b: Entry): boolean {
  return a.op === b.op && a.width === b.width && a.addr === b.addr && a.value === b.value;
}

/** The loop at the end of `entries` (CPU reads only), or null. */
export function findLoop(entries: readonly Entry[]): { period: number; iterations: number; start: number } | null {
  const n = entries.length;
  for (let p = 1; p <= MAX_PERIOD; p++) {
    if (n < p * MIN_ITERATIONS) break;
    let ok = true;
    for (let i = n - p; i < n; i++) {
      const e = entries[i]!;
      if ((e.op & OP_MASK) !== OP_READ || (e.op & FLAG_DMA) !== 0) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    let start = n - p;
    while (start > 0 && sameEntry(entries[start - 1]!, entries[start - 1 + p]!)) start--;
    // `start` is the first entry that repeats one period later; whole iterations from there.
    const iterations = Math.floor((n - start) / p);
    if (iterations >= MIN_ITERATIONS) return { period: p, iterations, start: n - iterations * p };
  }
  return null;
}

/** The polling loop at the end of trace entries [from, to), described with the bus's names. */
export function pollLoopIn(trace: Trace, bus: Bus, from: number, to: number): PollLoop | null {
  // Only the end matters; a loop of MAX_PERIOD reads needs few entries to be recognised, but
  // counting its iterations looks further back, in chunks.
  let span = 4096;
  for (;;) {
    const first = Math.max(from, to - span);
    const entries: Entry[] = [];
    for (let i = first; i < to; i++) {
      const e = trace.entry(i);
      if ((e.flags & FLAG_DMA) !== 0) continue;
      entries.push({ op: e.op | e.flags, width: e.width, addr: e.addr, value: e.value });
    }
    const loop = findLoop(entries);
    if (loop === null) return null;
    const reachedStart = loop.start > 0 || first === from;
    if (!reachedStart && span < to - from) {
      span *= 8;
      continue;
    }
    const reads = entries.slice(loop.start, loop.start + loop.period).map((e) => describeRead(bus, e));
    return { reads, iterations: loop.iterations, start: first + loop.start };
  }
}

/** A loop from a ring of the last accesses (fast runs keep no trace). */
export function pollLoopInTail(tail: readonly Entry[], bus: Bus): PollLoop | null {
  const cpu = tail.filter((e) => (e.op & FLAG_DMA) === 0);
  const loop = findLoop(cpu);
  if (loop === null) return null;
  return { reads: cpu.slice(loop.start, loop.start + loop.period).map((e) => describeRead(bus, e)), iterations: loop.iterations, start: -1 };
}

function describeRead(bus: Bus, e: Entry): PolledRead {
  const region = bus.regionAt(e.addr);
  const reg = region?.index?.at(e.addr - region.base);
  return { addr: e.addr, width: e.width, value: e.value, place: bus.describe(e.addr), fields: reg === undefined ? "" : decodeFields(reg, e.value) };
}

/** The same loop: same reads in the same cyclic order (values too, unless `addressesOnly`);
 * where each run was stopped inside an iteration does not matter. */
export function sameLoop(a: PollLoop, b: PollLoop, addressesOnly = false): boolean {
  const n = a.reads.length;
  if (n !== b.reads.length) return false;
  for (let shift = 0; shift < n; shift++) {
    let same = true;
    for (let i = 0; i < n && same; i++) {
      const x = a.reads[i]!;
      const y = b.reads[(i + shift) % n]!;
      same = x.addr === y.addr && (addressesOnly || x.value === y.value);
    }
    if (same) return true;
  }
  return false;
}

const hex8 = (n: number): string => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** One paragraph for a report: what the driver polls, what it reads, what it waits for. */
export function describeLoop(call: string, loop: PollLoop, awaited: readonly AwaitedBits[] | null, stoppedAfter: number | null): string {
  const reads = loop.reads.map((r) => `${r.place} = ${hex8(r.value)}${r.fields === "" ? "" : ` (${r.fields})`}`);
  const what = loop.reads.length === 1 ? `polling ${reads[0]}` : `polling, in turn, ${reads.join(", ")}`;
  let text = `${call} is stuck ${what}: ${loop.iterations} identical polls`;
  if (stoppedAfter !== null) text += ` when the host stopped it after ${stoppedAfter} accesses`;
  if (awaited !== null) {
    const waits = awaited.flatMap((a) => [
      ...a.toClear.map((b) => `${b} of ${a.place} to clear`),
      ...a.toSet.map((b) => `${b} of ${a.place} to be set`),
    ]);
    text += waits.length === 0 ? "; no single bit ends the loop" : `; it waits for ${waits.join(", or ")}`;
  }
  return text;
}
