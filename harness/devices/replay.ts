// Replay of a recorded trace (docs/replay.md): a fake device that answers every read with the
// value the recording has and checks every write against it, so that a trace recorded on a board
// (through the /dev/mem bridge) or on another host runs in CI as a test without the board.
//
// One Replay holds the recording and one cursor; each region of the recording gets a Device from
// it, all advancing the same cursor, so the order of accesses across regions is checked too. The
// bus's own trace tells the replay what its devices never see: barriers, refused (faulted)
// accesses, accesses to regions backed by something else, and the export calls with their results.
// Those are checked when the replay next looks (at its next access, or at finish()).
//
// Polls: consecutive identical reads of a register without read side effects form one poll. In
// tolerant mode (the default) a recorded poll matches any number (at least one) of consecutive
// reads of that register; in strict mode the count must be the recorded one. The exact rule is
// written out above Replay.match and in docs/replay.md.
//
// A read of a region given a live device (replayBus's `live` option) is answered by that device
// and its value checked against the recording: a golden trace checked as the driver runs against
// a model, with the same poll tolerance.
//
// Interrupts are not replayed yet: a recording with `irq` lines or `isr` accesses is refused
// (ReplayUnsupported, naming its first such line), and an interrupt delivered on the replaying
// bus is a divergence. Where a handler ran decides what main code sees (a ring the handler
// filled), so skipping the handler's accesses would replay something that never happened.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Bus, VirtualClock, type Device } from "../bus.js";
import { registerDeviceKind, type DeviceContext } from "../board-file.js";
import { decodeFields } from "../regmap.js";
import type { Registry } from "../registry.js";
import { OP_READ, OP_WRITE, OP_BARRIER, OP_IRQ, FLAG_DMA, FLAG_FAULT, FLAG_IRQ, IRQ_ENTER, BARRIER_NAMES, type Trace, type CallRecord } from "../trace.js";
import {
  traceRegions, formatAccess, formatCallLine, formatEndLine, parseTrace, TraceParseError,
  type ParsedTrace, type ParsedCall, type TraceRegion,
} from "../trace-text.js";

export type PollMode = "tolerant" | "strict";

export interface ReplayOptions {
  /** "tolerant" (default): a recorded poll matches one or more reads; "strict": exact counts. */
  polls?: PollMode;
  /** Lines of the recording shown before and after the divergence. Default 3. */
  context?: number;
}

/** The driver did something other than the recording: thrown from inside the import (ending the
 * export call as a HalError whose cause is this) or from Replay.finish(). */
export class ReplayDivergence extends Error {
  constructor(
    message: string,
    /** What differs, in one line. */
    readonly reason: string,
    /** The recorded line the driver should have matched, or null when the recording had ended. */
    readonly expected: string | null,
    /** The access the driver made, or null when it made none (finish() with entries left). */
    readonly actual: string | null,
    /** Index of the recorded entry (repeat counts expanded) where the replay stopped. */
    readonly entry: number,
    /** Line of the recording file holding `expected`, or null. */
    readonly line: number | null,
    /** Call line of the export the driver was running, or null outside any call. */
    readonly call: string | null,
    /** Call line of the recorded export `expected` belongs to, or null. */
    readonly recordedCall: string | null,
    /** Lines of the recording around `line`, numbered, the expected one marked with ">". */
    readonly context: readonly string[],
  ) {
    super(message);
    this.name = "ReplayDivergence";
  }
}

/** A recording the replay cannot run: one with interrupts (`irq` lines, `isr` accesses). The
 * message is one line, `FILE:LINE: the line: why`. */
export class ReplayUnsupported extends Error {
  constructor(readonly fileName: string, readonly line: number, readonly text: string, readonly problem: string) {
    super(`${fileName}:${line}: ${text}: ${problem}`);
    this.name = "ReplayUnsupported";
  }
}

/** Why a recording with interrupts is refused. */
const NO_INTERRUPT_REPLAY = "the recording has interrupts, and interrupts are not replayed yet (docs/replay.md): expected a recording made without interrupt delivery";

/** Refuses a recording with an interrupt line or a handler's access, naming the first. */
function refuseInterrupts(recording: ParsedTrace, regions: readonly TraceRegion[]): void {
  const a = recording.accesses.find((x) => x.op === OP_IRQ || (x.flags & FLAG_IRQ) !== 0);
  if (a === undefined) return;
  const text = formatAccess(a, regions, { registry: recording.registry }).split("  ;")[0]!.trimEnd();
  throw new ReplayUnsupported(recording.fileName, a.line, text, NO_INTERRUPT_REPLAY);
}

/** One step of the recording: an access, a barrier, or a poll (identical reads, re-collapsed
 * within a call whatever the file did). DMA lines are not steps: no DMA master runs in a replay. */
interface Step {
  readonly op: number;
  readonly flags: number;
  readonly width: number;
  readonly addr: number;
  readonly value: number;
  /** Entries the step stands for. */
  readonly repeat: number;
  /** A read without side effect, whose count may vary in tolerant mode. A read that consumes
   * (a FIFO pop: PL011 DR) is never a poll: one read more or less loses or invents data. */
  readonly poll: boolean;
  /** Index into ParsedTrace.calls, or -1. */
  readonly call: number;
  /** Index of the first entry (counts expanded) and the file line of the first line. */
  readonly seq: number;
  readonly line: number;
}

const hex = (n: number, digits: number): string => "0x" + (n >>> 0).toString(16).padStart(digits, "0");

function regionOf(regions: readonly TraceRegion[], addr: number): TraceRegion | undefined {
  for (const r of regions) if (addr >= r.base && addr < r.end) return r;
  return undefined;
}

/** The steps of a recording, in file order. */
function stepsOf(parsed: ParsedTrace, regions: readonly TraceRegion[]): Step[] {
  const steps: Step[] = [];
  for (const a of parsed.accesses) {
    if ((a.flags & FLAG_DMA) !== 0) continue;
    const prev = steps[steps.length - 1];
    if (prev !== undefined && a.op === OP_READ && prev.op === OP_READ && prev.flags === a.flags && prev.width === a.width
      && prev.addr === a.addr && prev.value === a.value && prev.call === a.call) {
      steps[steps.length - 1] = { ...prev, repeat: prev.repeat + a.repeat };
      continue;
    }
    let poll = false;
    if (a.op === OP_READ && (a.flags & FLAG_FAULT) === 0) {
      const region = regionOf(regions, a.addr);
      poll = region?.index?.at(a.addr - region.base)?.read !== "consumes";
    }
    steps.push({ op: a.op, flags: a.flags, width: a.width, addr: a.addr, value: a.value, repeat: a.repeat, poll, call: a.call, seq: a.seq, line: a.line });
  }
  return steps;
}

/** The call ordinal of an access made without a bus to tell it: matches any recorded call. */
const NO_CALL_KNOWN = -2;

/** What the driver did, for a divergence report. */
interface Actual {
  readonly op: number;
  readonly flags: number;
  readonly width: number;
  readonly addr: number;
  /** The value written, the barrier kind, or the value a live device answered; undefined for a
   * read the replay itself answers. */
  readonly value: number | undefined;
  /** Ordinal of the export call it was made in, counted from the replay's start; -1 outside. */
  readonly call: number;
}

export class Replay {
  readonly regions: readonly TraceRegion[];
  readonly tolerant: boolean;
  private readonly steps: readonly Step[];
  private readonly contextLines: number;
  /** Current step, and the reads of it made so far (only reads are ever part-way). */
  private pos = 0;
  private taken = 0;
  private bus: Bus | undefined;
  /** Bus trace entries before this one are checked. */
  private seen = 0;
  /** Bus trace calls before callBase were made before the replay started. */
  private callBase = 0;
  /** Calls (from callBase) whose end has been checked. */
  private closed = 0;
  private failure: ReplayDivergence | undefined;

  constructor(readonly recording: ParsedTrace, options: ReplayOptions = {}) {
    this.regions = traceRegions(recording.regions, recording.registry);
    refuseInterrupts(recording, this.regions);
    this.steps = stepsOf(recording, this.regions);
    this.tolerant = (options.polls ?? "tolerant") === "tolerant";
    this.contextLines = options.context ?? 3;
  }

  /** The first divergence found, if any; every later access throws it again. */
  get divergence(): ReplayDivergence | undefined {
    return this.failure;
  }

  /** Recorded CPU entries (repeat counts expanded) not yet matched. */
  get remaining(): number {
    let n = 0;
    for (let i = this.pos; i < this.steps.length; i++) n += this.steps[i]!.repeat;
    // A tolerant poll may have been read more often than recorded.
    return n - Math.min(this.taken, this.steps[this.pos]?.repeat ?? 0);
  }

  /**
   * Watches `bus`: its trace shows the replay the barriers, refused accesses, accesses to other
   * devices and the export calls from now on. Without a bus the replay checks only the accesses
   * that reach its own devices, and not the calls.
   */
  attach(bus: Bus): void {
    this.bus = bus;
    this.seen = bus.trace.length;
    this.callBase = bus.trace.calls.length;
    this.closed = 0;
  }

  /** The Device for one region of the recording. With `live`, reads are answered by that device
   * (and checked against the recording) and writes reach it after they are checked. */
  device(regionName: string, live?: Device): Device {
    const region = this.regions.find((r) => r.name === regionName);
    if (region === undefined) throw new Error(`${this.recording.fileName} declares no region ${regionName} (has: ${this.regions.map((r) => r.name).join(", ") || "none"})`);
    const base = region.base;
    if (live === undefined) {
      return {
        read: (offset, width) => this.access(OP_READ, base + offset, width, undefined),
        write: (offset, value, width) => { this.access(OP_WRITE, base + offset, width, value >>> 0); },
      };
    }
    return {
      read: (offset, width) => this.access(OP_READ, base + offset, width, live.read(offset, width) >>> 0),
      write: (offset, value, width) => {
        this.access(OP_WRITE, base + offset, width, value >>> 0);
        live.write(offset, value, width);
      },
    };
  }

  /**
   * Checks what is left: everything the bus saw since the last access, the end of every call made,
   * and that the recording has no entries or calls left. Throws a ReplayDivergence otherwise.
   */
  finish(): void {
    if (this.failure !== undefined) throw this.failure;
    try {
      const bus = this.bus;
      if (bus !== undefined && bus.trace.enabled) this.sync(bus.trace, bus.trace.length);
      this.endStep(null);
      const step = this.steps[this.pos];
      if (step !== undefined) {
        const lines = this.steps.length - this.pos;
        this.diverge(`the recording has ${this.remaining} more entr${this.remaining === 1 ? "y" : "ies"} (${lines} line${lines === 1 ? "" : "s"}) the driver did not make`, step, null, null);
      }
      const made = bus === undefined ? this.recording.calls.length : this.closed;
      const next = this.recording.calls[made];
      if (next !== undefined && next.outcome !== "running") {
        this.failCall(`the recording has ${this.recording.calls.length - made} more call${this.recording.calls.length - made === 1 ? "" : "s"} the driver did not make, the next: ${formatCallLine(next.name, next.args, this.regions, this.recording.registry)} (line ${next.line})`, next, null);
      }
    } catch (e) {
      if (e instanceof ReplayDivergence) this.failure = e;
      throw e;
    }
  }

  // ---- The access path: one call per read or write that reaches a replay device ----

  private access(op: number, addr: number, width: number, value: number | undefined): number {
    if (this.failure !== undefined) throw this.failure;
    const bus = this.bus;
    try {
      if (bus === undefined || !bus.trace.enabled) return this.match(op, 0, width, addr, value, NO_CALL_KNOWN);
      const trace = bus.trace;
      // A write is already in the trace when the device sees it; a read is recorded right after.
      const own = op === OP_WRITE ? trace.length - 1 : trace.length;
      this.sync(trace, own);
      const call = trace.currentCall < 0 ? -1 : trace.currentCall - this.callBase;
      const answer = this.match(op, 0, width, addr, value, call);
      this.seen = own + 1;
      return answer;
    } catch (e) {
      if (e instanceof ReplayDivergence) this.failure = e;
      throw e;
    }
  }

  /** Checks the bus trace entries in [seen, upTo) the devices did not see, and the calls that
   * ended by then. */
  private sync(trace: Trace, upTo: number): void {
    if (this.seen > trace.length || this.callBase + this.closed > trace.calls.length) {
      // The trace was cleared (a board clears it after its setup calls): go on from its start.
      this.seen = 0;
      this.callBase = 0;
      this.closed = 0;
    }
    while (this.seen < upTo) {
      const p = this.seen;
      this.closeCalls(trace, p);
      this.seen = p + 1;
      const e = trace.entry(p);
      if (e.op === OP_IRQ) this.interrupted(trace, e.width, e.addr, e.flags, e.value, e.call < 0 ? -1 : e.call - this.callBase);
      if ((e.flags & FLAG_DMA) !== 0 || !this.speaksOf(e.op, e.addr)) continue;
      this.match(e.op, e.flags, e.width, e.addr, e.value, e.call < 0 ? -1 : e.call - this.callBase);
    }
    this.closeCalls(trace, upTo);
  }

  /** An interrupt was delivered on the bus: the recording has none (it would have been refused),
   * and interrupts are not replayed yet. */
  private interrupted(trace: Trace, kind: number, line: number, flags: number, value: number, call: number): never {
    const name = trace.lineNames?.get(line);
    const what = kind === IRQ_ENTER ? "entered" : "returned from";
    // A read step already made as often as recorded is behind the driver: name the next one.
    const step = this.steps[this.pos];
    if (step !== undefined && this.taken > 0 && this.taken >= step.repeat) {
      this.pos++;
      this.taken = 0;
    }
    return this.diverge(`the handler of interrupt line ${line}${name === undefined ? "" : ` (${name})`} was ${what} on the replaying bus: interrupts are not replayed yet (docs/replay.md), replay without interrupt delivery`,
      this.steps[this.pos], { op: OP_IRQ, flags, width: kind, addr: line, value, call }, null);
  }

  /** The recording can speak of barriers, of addresses in its regions and of addresses outside
   * every region of the bus (they fault); not of another region of the bus it never declared. */
  private speaksOf(op: number, addr: number): boolean {
    if (op === OP_BARRIER || regionOf(this.regions, addr) !== undefined) return true;
    return this.bus?.regionAt(addr) === undefined;
  }

  /** Checks the end of every call that ended at or before entry p. */
  private closeCalls(trace: Trace, p: number): void {
    const calls = trace.calls;
    for (;;) {
      const index = this.callBase + this.closed;
      const call = calls[index];
      if (call === undefined || index === trace.currentCall || call.end > p) return;
      this.closeCall(this.closed, call);
      this.closed++;
    }
  }

  /** A call ended: it must be the recorded one, with nothing of it left, and the same result. */
  private closeCall(ordinal: number, actual: CallRecord): void {
    const actualLine = formatCallLine(actual.name, actual.args, this.regions, this.recording.registry);
    const recorded = this.recording.calls[ordinal];
    if (recorded === undefined) {
      this.failCall(`the driver made call #${ordinal + 1} ${actualLine}, the recording has only ${this.recording.calls.length} call${this.recording.calls.length === 1 ? "" : "s"}`, undefined, actualLine);
    }
    if (recorded.name !== actual.name) {
      this.failCall(`call #${ordinal + 1} is ${actual.name}, the recording has ${recorded.name} there`, recorded, actualLine);
    }
    this.endStep(actualLine);
    const step = this.steps[this.pos];
    if (step !== undefined && step.call === ordinal) {
      const ended = actual.result === undefined ? "ended (threw)" : `returned ${actual.result}`;
      this.diverge(`${actual.name} ${ended}, but the recording has more in this call`, step, null, actualLine);
    }
    const want = recorded.outcome === "returned" ? formatEndLine(recorded.result, this.recording.registry) : recorded.outcome === "threw" ? "threw" : null;
    const got = formatEndLine(actual.result, this.recording.registry);
    if (want !== null && want !== got) {
      this.failCall(`${actual.name} ended with "${got}", the recording has "${want}" (line ${recorded.endLine})`, recorded, actualLine);
    }
  }

  /** Moves past a poll in progress when the driver does something else (or a call ends):
   * allowed once the recorded count is reached, or in tolerant mode after at least one read. */
  private endStep(actualCall: string | null): void {
    if (this.taken === 0) return;
    const step = this.steps[this.pos]!;
    if (this.taken < step.repeat && !(step.poll && this.tolerant)) {
      this.diverge(this.countReason(step, this.taken, "then stopped"), step, null, actualCall);
    }
    this.pos++;
    this.taken = 0;
  }

  /**
   * Matches one access of the driver against the recording and returns the value to answer.
   *
   * The rule for a recorded read step R (address A, width W, value V, count N):
   * - the first read of A at R is answered V (or, from a live device, must read V);
   * - a further read of A while fewer than N have been made is answered V, as recorded;
   * - a further read of A after N reads: when the next recorded step is a read of A too (the
   *   value changed there) the replay moves on to it; otherwise, in tolerant mode and for a poll,
   *   it answers V again (the driver polls longer than the recording did); in strict mode it
   *   moves on, and the read must match the next step. With a live device, a read that returns
   *   V stays in R (tolerant) and a read that returns anything else moves on;
   * - any other access ends R: in strict mode only after exactly N reads, in tolerant mode (for a
   *   poll) after any number from 1 (the rest of R is skipped).
   * So in tolerant mode the driver's accesses, identical reads collapsed, must equal the recorded
   * steps, identical reads collapsed, counts aside.
   */
  private match(op: number, flags: number, width: number, addr: number, value: number | undefined, call: number): number {
    for (;;) {
      const step = this.steps[this.pos];
      if (step === undefined) {
        const n = this.recording.length;
        return this.diverge(`the recording has ended (${this.steps.length === 0 ? "it holds no CPU access" : `after ${n} entr${n === 1 ? "y" : "ies"}`}), the driver made one more access`, undefined, { op, flags, width, addr, value, call }, null);
      }
      const sameCall = call === NO_CALL_KNOWN || call === step.call;
      if (this.taken > 0) {
        const polling = step.poll && this.tolerant;
        const sameRead = op === OP_READ && flags === step.flags && width === step.width && addr === step.addr && sameCall;
        if (sameRead) {
          const sameValue = value === undefined || value === step.value;
          if (sameValue && this.taken < step.repeat) {
            this.taken++;
            return step.value;
          }
          if (sameValue && polling && (value !== undefined || !this.nextReadsAgain(step))) {
            this.taken++;
            return step.value;
          }
          // A live device answered the same value once more than recorded.
          if (value !== undefined && sameValue && !polling) {
            this.diverge(this.countReason(step, this.taken + 1, "at least"), step, { op, flags, width, addr, value, call }, null);
          }
        }
        if (this.taken < step.repeat && !polling) {
          const then = sameRead && value !== undefined ? `then read ${this.valueText(addr, width, value, false)}` : "then made another access";
          this.diverge(this.countReason(step, this.taken, then), step, { op, flags, width, addr, value, call }, null);
        }
        this.pos++;
        this.taken = 0;
        continue;
      }
      const sameAccess = op === step.op && flags === step.flags && width === step.width && addr === step.addr;
      if (!sameAccess || !sameCall || (value !== undefined && value !== step.value)) {
        // Objects are built only on the way to a divergence: the common path allocates nothing.
        const actual: Actual = { op, flags, width, addr, value, call };
        const reason = !sameAccess ? this.accessReason(step, actual) : !sameCall ? this.callReason(step, actual) : this.valueReason(step, value!);
        return this.diverge(reason, step, actual, null);
      }
      if (step.op === OP_READ) {
        this.taken = 1;
      } else {
        this.pos++;
      }
      return step.value;
    }
  }

  /** In answer mode a read of A past the recorded count moves on when the recording reads A
   * again next: that is where the value the driver waits for comes. */
  private nextReadsAgain(step: Step): boolean {
    const next = this.steps[this.pos + 1];
    return next !== undefined && next.op === OP_READ && next.flags === step.flags && next.width === step.width && next.addr === step.addr && next.call === step.call;
  }

  // ---- Reporting ----

  private registerName(addr: number, isWrite: boolean): string {
    const region = regionOf(this.regions, addr);
    if (region === undefined) return hex(addr, 8);
    const offset = addr - region.base;
    const name = region.index?.nameAt(offset, isWrite);
    return `${region.name}+${hex(offset, 3)}${name === undefined ? "" : ` ${name}`}`;
  }

  /** A value with its decoded fields: "0x0000000d (DIVINT=0xd)". */
  private valueText(addr: number, width: number, value: number, isWrite: boolean): string {
    const text = hex(value, width * 2);
    const region = regionOf(this.regions, addr);
    const reg = region?.index?.at(addr - region.base);
    if (reg === undefined || ((addr - region!.base - reg.offset) & 3) !== 0) return text;
    const fields = decodeFields(reg, value);
    return fields === "" ? text : `${text} (${fields})`;
  }

  private what(op: number, width: number): string {
    if (op === OP_BARRIER) return "a barrier";
    return `a ${width * 8}-bit ${op === OP_WRITE ? "write" : "read"}`;
  }

  private accessReason(step: Step, a: Actual): string {
    const expected = step.op === OP_BARRIER ? (BARRIER_NAMES[step.value] ?? `barrier ${step.value}`) : this.registerName(step.addr, step.op === OP_WRITE);
    const actual = a.op === OP_BARRIER ? (BARRIER_NAMES[a.value ?? 0] ?? `barrier ${a.value}`) : this.registerName(a.addr, a.op === OP_WRITE);
    let reason: string;
    if (a.op !== step.op) reason = `${this.what(a.op, a.width)} (${actual}) where the recording has ${this.what(step.op, step.width)} (${expected})`;
    else if (a.addr !== step.addr) reason = `${actual} where the recording has ${expected}`;
    else if (a.width !== step.width) reason = `${expected}: ${this.what(a.op, a.width)} where the recording has ${this.what(step.op, step.width)}`;
    else reason = `${expected}: ${(a.flags & FLAG_FAULT) !== 0 ? "the bus refused the access, the recording has it succeed" : "the recording has the bus refuse the access"}`;
    // A read too many in strict mode arrives here, after the poll it would have extended.
    const before = this.steps[this.pos - 1];
    if (!this.tolerant && before !== undefined && a.op === OP_READ && before.op === OP_READ && before.addr === a.addr && before.width === a.width) {
      reason += `; it follows ${before.repeat} read${before.repeat === 1 ? "" : "s"} of ${this.registerName(before.addr, false)}, as many as recorded (strict poll counts)`;
    }
    return reason;
  }

  private valueReason(step: Step, value: number): string {
    const isWrite = step.op === OP_WRITE;
    if (step.op === OP_BARRIER) return `${BARRIER_NAMES[value] ?? `barrier ${value}`} where the recording has ${BARRIER_NAMES[step.value] ?? `barrier ${step.value}`}`;
    const name = this.registerName(step.addr, isWrite);
    const verb = isWrite ? "the driver wrote" : "the device read";
    return `${name}: ${verb} ${this.valueText(step.addr, step.width, value, isWrite)}, the recording has ${this.valueText(step.addr, step.width, step.value, isWrite)}`;
  }

  private callReason(step: Step, a: Actual): string {
    const recorded = step.call < 0 ? "outside any call" : `during call #${step.call + 1} ${this.recording.calls[step.call]?.name}`;
    const actual = a.call < 0 ? "outside any call" : `during call #${a.call + 1}`;
    return `the driver made the access ${actual}, the recording ${recorded}`;
  }

  /** A poll whose count differs: `then` says what ended it, or is "at least" for a read too many. */
  private countReason(step: Step, reads: number, then: string): string {
    const why = step.poll ? "strict poll counts" : "its reads have side effects, so every one counts";
    const times = `${reads} time${reads === 1 ? "" : "s"}`;
    const made = then === "at least" ? `at least ${times}` : `${times}, ${then}`;
    return `${this.registerName(step.addr, false)}: the driver read ${this.valueText(step.addr, step.width, step.value, false)} ${made}; the recording reads it ${step.repeat} time${step.repeat === 1 ? "" : "s"} (${why})`;
  }

  /** The text of an actual access: the recorded line's layout, without a value for a read the
   * replay answers. */
  private actualText(a: Actual): string {
    const text = formatAccess({ op: a.op, flags: a.flags, width: a.width, addr: a.addr, value: a.value ?? 0, repeat: 1 }, this.regions);
    if (a.value !== undefined || a.op !== OP_READ) return text;
    const cut = text.lastIndexOf(" 0x");
    return (cut < 0 ? text : text.slice(0, cut)).trimEnd() + " (a read: the replay gives the value)";
  }

  private runningCall(): string | null {
    const bus = this.bus;
    if (bus === undefined) return null;
    const call = bus.trace.calls[bus.trace.currentCall];
    return call === undefined ? null : formatCallLine(call.name, call.args, this.regions, this.recording.registry);
  }

  private recordedCallLine(call: ParsedCall | undefined): string | null {
    return call === undefined ? null : `${formatCallLine(call.name, call.args, this.regions, this.recording.registry)} (line ${call.line})`;
  }

  private diverge(reason: string, step: Step | undefined, a: Actual | null, actualCall: string | null): never {
    const expected = step === undefined ? null : formatAccess(step, this.regions);
    const entry = step === undefined ? this.recording.length : step.seq + this.taken;
    const recordedCall = step === undefined || step.call < 0 ? null : this.recordedCallLine(this.recording.calls[step.call]);
    return this.fail(reason, expected, a === null ? null : this.actualText(a), entry, step?.line ?? null, actualCall ?? this.runningCall(), recordedCall);
  }

  private failCall(reason: string, recorded: ParsedCall | undefined, actualCall: string | null): never {
    const expected = recorded === undefined ? null : formatCallLine(recorded.name, recorded.args, this.regions, this.recording.registry);
    const entry = recorded === undefined ? this.recording.length : recorded.end;
    return this.fail(reason, expected, actualCall, entry, recorded?.line ?? null, actualCall, this.recordedCallLine(recorded));
  }

  private fail(reason: string, expected: string | null, actual: string | null, entry: number, line: number | null, call: string | null, recordedCall: string | null): never {
    const file = this.recording.fileName;
    const context = line === null ? this.contextAtEnd() : this.contextAround(line);
    const text = [
      `replay of ${file} diverged at entry #${entry}${line === null ? "" : ` (${file}:${line})`}${call === null ? "" : `, during ${call}`}`,
      `  ${reason}`,
      `  expected: ${expected ?? "(the recording has ended)"}`,
      `  actual:   ${actual ?? "(nothing: the driver made no such access)"}`,
      ...(recordedCall === null ? [] : [`  recorded during ${recordedCall}`]),
      `recording${line === null ? " (end)" : ` around line ${line}`}:`,
      ...context,
    ].join("\n");
    throw new ReplayDivergence(text, reason, expected, actual, entry, line, call, recordedCall, context);
  }

  /** Every line of the recording with its number: calls, their ends, accesses (DMA ones too). */
  private recordedLines(): { line: number; text: string }[] {
    const lines: { line: number; text: string }[] = [];
    for (const c of this.recording.calls) {
      lines.push({ line: c.line, text: formatCallLine(c.name, c.args, this.regions, this.recording.registry) });
      if (c.endLine >= 0) lines.push({ line: c.endLine, text: formatEndLine(c.result, this.recording.registry) });
    }
    for (const a of this.recording.accesses) lines.push({ line: a.line, text: (a.call >= 0 ? "  " : "") + formatAccess(a, this.regions) });
    return lines.sort((x, y) => x.line - y.line);
  }

  private contextAround(line: number): string[] {
    const lines = this.recordedLines();
    const at = lines.findIndex((l) => l.line >= line);
    const from = Math.max(0, at - this.contextLines);
    const to = Math.min(lines.length, at + this.contextLines + 1);
    return lines.slice(from, to).map((l) => `${l.line === line ? ">" : " "} ${String(l.line).padStart(5)} | ${l.text}`);
  }

  private contextAtEnd(): string[] {
    const lines = this.recordedLines();
    return lines.slice(Math.max(0, lines.length - this.contextLines)).map((l) => `  ${String(l.line).padStart(5)} | ${l.text}`);
  }
}

export interface ReplayBusOptions extends ReplayOptions {
  /** The bus's clock (a live device needs it before the bus exists). */
  clock?: VirtualClock;
  /** Regions whose reads a live device answers, checked against the recording, by region name. */
  live?: Readonly<Record<string, Device>>;
}

/** A bus with the recording's regions, each backed by the replay (or by a checked live device),
 * with their register maps (so widths are refused as on the recorded bus). Call replay.finish()
 * after the last export call. */
export function replayBus(recording: ParsedTrace, options: ReplayBusOptions = {}): { bus: Bus; replay: Replay } {
  const replay = new Replay(recording, options);
  const bus = new Bus({ clock: options.clock ?? new VirtualClock() });
  for (const name of Object.keys(options.live ?? {})) {
    if (!recording.regions.some((r) => r.name === name)) throw new Error(`live device for ${name}: ${recording.fileName} declares no such region (has: ${recording.regions.map((r) => r.name).join(", ") || "none"})`);
  }
  for (const r of recording.regions) {
    const map = r.block === null ? undefined : recording.registry.block(r.block);
    bus.map({ name: r.name, base: r.base, size: r.size, device: replay.device(r.name, options.live?.[r.name]), ...(map === undefined ? {} : { map }) });
  }
  replay.attach(bus);
  return { bus, replay };
}

// ---------------------------------------------------------------------------------------------
// Board files: the "replay" device kind (docs/replay.md, docs/scenarios.md)

/** The replays of one bus, by trace file: regions naming the same file share one cursor. */
const boardReplays = new WeakMap<Bus, Map<string, Replay>>();

function loadRecording(path: string, shownAs: string, registry: Registry, fail: (problem: string) => never): ParsedTrace {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return fail(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return parseTrace(text, shownAs, { registry });
  } catch (e) {
    if (e instanceof TraceParseError) return fail(e.message);
    throw e;
  }
}

registerDeviceKind("replay", (c: DeviceContext) => {
  const file = c.options.string("trace", { what: "the path of a trace file (docs/trace-format.md), relative to the board file" });
  const polls = c.options.string("polls", { oneOf: ["tolerant", "strict"], default: "tolerant" }) as PollMode;
  const partName = c.options.string("part", { default: "replay" });
  const recordedName = c.options.string("region", { default: c.region.name });
  const path = resolve(c.baseDir, file);
  let replays = boardReplays.get(c.bus);
  if (replays === undefined) {
    replays = new Map();
    boardReplays.set(c.bus, replays);
  }
  let replay = replays.get(path);
  if (replay === undefined) {
    const recording = loadRecording(path, file, c.registry, (problem) => c.options.fail("trace", problem));
    try {
      replay = new Replay(recording, { polls });
    } catch (e) {
      if (e instanceof ReplayUnsupported) c.options.fail("trace", e.message);
      throw e;
    }
    replay.attach(c.bus);
    replays.set(path, replay);
    c.addPart(partName, replay, c.options.pathOf("part"));
  } else if (replay.tolerant !== (polls === "tolerant")) {
    c.options.fail("polls", `"${polls}" differs from another region replaying ${file}: expected the same poll mode for one recording`);
  }
  const recorded = replay.regions.find((r) => r.name === recordedName);
  if (recorded === undefined) c.options.fail("region", `${file} declares no region ${recordedName}: expected one of ${replay.regions.map((r) => r.name).join(", ") || "(none)"}`);
  if (recorded.base !== c.region.base || recorded.size !== c.region.size) {
    c.options.fail("region", `${file} declares ${recordedName} at ${hex(recorded.base, 8)} size ${hex(recorded.size, 1)}, the board region is at ${hex(c.region.base, 8)} size ${hex(c.region.size, 1)}: expected the same place`);
  }
  return replay.device(recordedName);
}, {
  hardware: true,
  doc: "a replay of a recorded trace (harness/devices/replay.ts, docs/replay.md): trace (file, relative to the board file), polls tolerant (default) or strict, region (its name in the recording, default the same), part (name of the shared Replay, default replay)",
});
