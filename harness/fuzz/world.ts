// One module instance on one bus, reused for every execution of a fuzz run: between executions
// the models are reset, linear memory and the module's mutable globals are put back as they were
// after instantiation (of memory, only the bytes the execution wrote: the module's stores, which
// its copy tracks, and the host's writes, which go through writeBytes, bytes or markWritten), and
// the trace is cleared. Calls go straight to the exports (no argument checks, no call records
// unless the world reports), under an access budget that turns a driver that does not return
// into a hang.
// A target that takes interrupts attaches a delivery (harness/interrupts.ts): the world is its
// host, as a Hal is.
import type { Registry } from "../registry.js";
import { packageRegistry } from "../project.js";
import { AccessBudgetExceeded, Bus, BusFault, VirtualClock, type Device, type Region } from "../bus.js";
import { HalError } from "../hal.js";
import type { RegisterBlock } from "../regmap.js";
import { FuzzTrace } from "./tap.js";
import { FuzzDevice, type ReplacedRead, type ReplacedTally } from "./device.js";
import type { ReadScript } from "./replay.js";
import { InterruptStorm, type Interrupts, type InterruptHost } from "../interrupts.js";
import { FuzzFailure } from "./target.js";
import { hasInlinedResponder, inlinedAnswers, repeatResponder, RESPONDER_MAX_REPEATS, type RepeatAnswers } from "./repeat-responder.js";
import { GlobalSnapshot, WRITTEN_HIGH, WRITTEN_LOW, WRITTEN_NONE_LOW, compileForWorld } from "./module-globals.js";
import { LinearMemoryRam } from "../devices/ram.js";

/** The restarts of a world that compare all of linear memory with the pristine copy for a host
 * write that was not marked: the first few, and then one in UNMARKED_CHECK_EVERY (a power of
 * two), so that the check costs under a microsecond an execution on average (a 64 KiB compare
 * takes a few). */
export const UNMARKED_CHECK_FIRST = 4;
export const UNMARKED_CHECK_EVERY = 256;

/** How a call ended when it did not return a value: "interrupt", an interrupt storm
 * (harness/interrupts.ts); "failure", a property a session checks during the call (a boundary
 * check of an interrupt delivery) threw its FuzzFailure, which is the cause. */
export type CallError = "budget" | "bus-fault" | "trap" | "harness" | "interrupt" | "failure";

/** Where a call with interrupt delivery attached ended: in an interrupt delivered between calls
 * before it or after it returned, or in the call itself (a handler entered inside it included). */
export type CallPhase = "before" | "call" | "after";

export interface CallOutcome {
  /** The returned i32, or undefined when the call did not return. */
  readonly result: number | undefined;
  readonly error: CallError | undefined;
  /** The exception that ended the call. */
  readonly cause: unknown;
  /** CPU accesses (reads, writes, barriers) the call made. */
  readonly accesses: number;
  /** The access budget it ran under (for a phase other than "call", the delivery's). */
  readonly budget: number;
  /** Where it ended ("call" without interrupt delivery). */
  readonly phase: CallPhase;
  /** With interrupt delivery attached and an error: the delivery mode and the point it had
   * reached, for messages ("preemptive delivery, at delivery point 7"). */
  readonly where?: string;
}

export type WorldMode =
  /** Recording off: counts, the lint tap and the ring only. */
  | "fast"
  /** Every access recorded, calls marked in the trace: for reports and regression files. */
  | "report";

type ExportFunction = (...args: number[]) => number;

/** Entries a world's trace holds before it first grows. */
const FUZZ_TRACE_CAPACITY = 1 << 10;

export class World implements InterruptHost {
  readonly clock = new VirtualClock();
  /** Small at first: a fast execution records nothing, and a report's trace grows as it needs
   * (a world is made per search, and the full default capacity took a tenth of making one). */
  readonly trace = new FuzzTrace(FUZZ_TRACE_CAPACITY);
  readonly bus = new Bus({ clock: this.clock, trace: this.trace });
  readonly instance: WebAssembly.Instance;
  /** The instance's exports: with `bus` and `interrupts`, what an interrupt delivery needs. */
  readonly exports: WebAssembly.Exports;
  /** The interrupt delivery attached (`new Interrupts(world, controller, { mode })` attaches
   * it), or null. Each call then delivers between calls before and after the export runs, as
   * Hal.call does, and restart() resets the delivery. */
  interrupts: Interrupts | null = null;
  /** Most accesses an interrupt delivered between two calls may make (every handler entered
   * there together); more is a hang of the handler. */
  interruptBudget = 2 ** 20;
  readonly memory: WebAssembly.Memory;
  readonly scratch: number;
  readonly scratchSize: number;
  private readonly functions = new Map<string, ExportFunction>();
  private readonly devices: FuzzDevice[] = [];
  /** Reads replaced in this execution over every device (each counts its own too). */
  private readonly replaced: ReplacedTally = { count: 0 };
  private readonly pristine: Uint8Array;
  /** The module's mutable globals as instantiated, put back with linear memory (module-globals.ts). */
  private readonly globals: GlobalSnapshot;
  /** Linear memory as markMemory() found it, for changedSinceMark(). */
  private marked: Uint8Array | null = null;

  // What of linear memory may differ from the pristine copy. The module's stores widen the range
  // its copy keeps in two globals (module-globals.ts trackStores; null for a module the pass
  // cannot rewrite, whose memory is put back and compared whole); the host's writes, and the
  // module's range each time it is taken, widen [dirtyFrom, dirtyTo).
  /** The globals of the module's written range (lowest and highest address, unsigned). */
  private readonly written: { readonly low: WebAssembly.Global; readonly high: WebAssembly.Global } | null;
  private dirtyFrom = Infinity;
  private dirtyTo = -Infinity;
  /** What the host wrote since markMemory() (the module's writes since then are in its range). */
  private hostFrom = Infinity;
  private hostTo = -Infinity;
  /** Where `marked` may differ from the pristine copy; whether the last mark used the ranges. */
  private markedFrom = 0;
  private markedTo = Infinity;
  private markedRanged = false;
  /** A view of linear memory, made again when memory grows (the old buffer is detached, the
   * view's length 0). */
  private view: Uint8Array;
  /**
   * After each restart, compares all of linear memory with the pristine copy and throws when a
   * byte differs: a write the world was not told of (a host writing linear memory other than
   * through writeBytes, bytes or markWritten, or a store the module's copy did not track), which
   * would carry into the next execution. For tests: a full compare per execution.
   */
  checkRestore = false;
  /** Restarts so far: the first UNMARKED_CHECK_FIRST and every UNMARKED_CHECK_EVERY-th look for
   * a host write that was not marked (checkUnmarked). */
  private restarts = 0;
  /** The counters of a coverage build (its __cov_base and __cov_count exports, harness/coverage/):
   * every call changes them, so the memory checks leave them out. */
  private readonly counters: { readonly start: number; readonly end: number; readonly pristine: Uint8Array } | null;
  private mode: WorldMode = "fast";
  private recordAlways = false;
  /** Export calls made in this execution. */
  calls = 0;
  /** Caps the access budget of call number `capCall` of an execution (-1: of every call): a
   * report run of a hang records at most this many accesses. */
  budgetCap = Infinity;
  capCall = -1;
  /** Called with the index of each export call before it runs (bit probes use it). */
  onCall: ((index: number) => void) | null = null;

  /** How calls and results print in findings: the registry of the module's project. */
  readonly registry: Registry;

  /**
   * Poll latency (docs/fuzzing.md#poll-latency): a read that repeats the access just before it
   * (same register, same width) takes until the time its device declared the register stable
   * until (Device.stableUntil), or until a bus master's next step if sooner, instead of the
   * clock's fixed access time: a slower bus, which a correct driver works with. A poll of a
   * UART shifting a character then takes a few reads instead of thousands. On by default; off,
   * every access takes the fixed time, as on the default Bus and in golden scenarios. Not used
   * while an interrupt delivery is attached (its delivery points are counted in accesses).
   */
  pollLatency = true;

  // The last CPU read, while nothing else has happened since (no other access through the
  // imports, no call boundary): a repeat of it that its device declared stable is answered
  // here, without the model, the lint or the override logic. The repeats are only counted; the
  // bus budget, the trace's ring and counts and the device's replaced reads take them at the
  // next other access or at the end of the call (flushRepeats), so they see exactly what reads
  // through the bus would have left.
  /** The import's address argument (signed, as the module passes it). */
  private repeatAddr = 0;
  /** -1 while nothing is armed. */
  private repeatWidth = -1;
  private repeatValue = 0;
  /** A repeat is answered here while its time stays before this: the device's stable time (or
   * the masters' next step) at the fixed latency; Infinity or -Infinity when the latency is
   * stretched (a finite stable time is then a time to stretch to, which goes to the device);
   * -Infinity while recording, replaying or delivering interrupts. */
  private repeatFastUntil = -Infinity;
  /** The time a repeat is stretched to (pollLatency): the stable time or the masters' step. */
  private repeatStretch = -Infinity;
  /** Repeats the budget allows after the armed read (at most 2^30), and those not yet used. */
  private repeatRoom = 0;
  private repeatLeft = 0;
  /** The device of the armed read, when it replaced the value (its counts of replaced reads). */
  private repeatDevice: FuzzDevice | null = null;
  /** The read is remembered, but not yet until when its register reads the same: that is asked
   * of the device only when the read repeats (most do not), in the same state, as nothing has
   * happened since. */
  private repeatUnasked = false;
  /** pollLatency, and no interrupt delivery attached: set at each call. */
  private stretch = false;
  /** Answers the repeats of a read stable for good inside WebAssembly (repeat-responder.ts):
   * inlined in the world's copy of the module, or the standalone responder for a module the
   * inlining cannot decode. */
  private readonly responder: RepeatAnswers;
  /** Repeats handed to the responder at its last arm; 0 while it is not armed. */
  private responderGiven = 0;

  constructor(readonly modulePath: string, registry: Registry = packageRegistry()) {
    this.registry = registry;
    this.trace.registry = registry;
    const env = this.bus.imports.env;
    const module = compileForWorld(modulePath);
    const read = (addr: number, width: number): number => this.read(addr, width);
    const standalone = hasInlinedResponder(module) ? null : repeatResponder(read);
    this.instance = new WebAssembly.Instance(module, {
      env: {
        mmio_read: standalone?.mmio_read ?? read,
        mmio_write: (addr: number, value: number, width: number) => {
          this.beforeOther();
          env.mmio_write(addr, value, width);
        },
        barrier: (kind: number) => {
          this.beforeOther();
          env.barrier(kind);
        },
      },
    });
    const exports = this.instance.exports;
    this.exports = exports;
    this.responder = standalone ?? inlinedAnswers(exports)!;
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value === "function") this.functions.set(name, value as ExportFunction);
    }
    const memory = exports["memory"];
    if (!(memory instanceof WebAssembly.Memory)) throw new Error(`${modulePath} exports no memory`);
    this.memory = memory;
    // A module without a scratch buffer (no buffer arguments) has none to fuzz with.
    this.scratch = this.functions.has("hal_scratch") ? this.fn("hal_scratch")() : 0;
    this.scratchSize = this.functions.has("hal_scratch_size") ? this.fn("hal_scratch_size")() : 0;
    this.view = new Uint8Array(memory.buffer);
    this.pristine = this.view.slice();
    const low = exports[WRITTEN_LOW];
    const high = exports[WRITTEN_HIGH];
    // What the start function and the calls above stored is in the pristine copy.
    this.written = low instanceof WebAssembly.Global && high instanceof WebAssembly.Global ? { low, high } : null;
    this.takeModuleWrites();
    this.dirtyFrom = Infinity;
    this.dirtyTo = -Infinity;
    this.globals = new GlobalSnapshot(exports);
    const covBase = exports["__cov_base"];
    const covCount = exports["__cov_count"];
    if (typeof covBase === "function" && typeof covCount === "function") {
      const start = (covBase as ExportFunction)();
      const end = start + (covCount as ExportFunction)();
      this.counters = { start, end, pristine: this.pristine.subarray(start, end) };
    } else {
      this.counters = null;
    }
    this.trace.enabled = false;
  }

  /** The module's mmio_read: the bus, except for a repeated read of a stable register. */
  private read(addr: number, width: number): number {
    if (this.responderGiven !== 0) this.takeFromResponder();
    // (askStable may find that nothing is to be answered here: the width check again.)
    if (addr === this.repeatAddr && width === this.repeatWidth && (!this.repeatUnasked || this.askStable(addr))) {
      const clock = this.clock;
      const at = clock.now + clock.accessNs;
      if (at < this.repeatFastUntil && this.repeatLeft > 0) {
        clock.now = at;
        this.repeatLeft--;
        // Stable for good: the repeats to come need no clock check, and the responder answers
        // them without leaving WebAssembly.
        if (this.repeatFastUntil === Infinity && this.repeatLeft > 0) {
          const given = Math.min(this.repeatLeft, RESPONDER_MAX_REPEATS);
          this.responder.arm(addr, width, this.repeatValue, given);
          this.responderGiven = given;
        }
        return this.repeatValue;
      }
      return this.repeatSlow(addr, width, at);
    }
    if (this.repeatLeft !== this.repeatRoom) this.flushRepeats();
    return this.arm(addr, width, this.bus.read(addr, width));
  }

  /** A repeat that goes to the device: stretched to the stable time, or past it. */
  private repeatSlow(addr: number, width: number, next: number): number {
    if (this.repeatLeft !== this.repeatRoom) this.flushRepeats();
    let at = next;
    if (this.stretch) {
      const until = this.repeatStretch;
      if (until > at && until !== Infinity) at = until;
    }
    return this.arm(addr, width, this.bus.readAt(addr, width, at));
  }

  /** Remembers the read just made; until when its register reads the same is asked if it
   * repeats (askStable). */
  private arm(addr: number, width: number, value: number): number {
    this.repeatAddr = addr;
    this.repeatWidth = width;
    this.repeatValue = value;
    this.repeatUnasked = true;
    return value;
  }

  /** Until when the register of the remembered read reads the same, asked when it repeats:
   * nothing has reached the bus since the read (any other access forgets it), so the device,
   * the clock, the budget and the masters are as they were right after it. False when repeats
   * are not answered here (the read is forgotten). */
  private askStable(addr: number): boolean {
    this.repeatUnasked = false;
    const bus = this.bus;
    const trace = this.trace;
    const quiet = !trace.enabled && trace.script === null && bus.boundaryHook === null && this.interrupts === null;
    // Nothing to answer here and nothing to stretch (a recorded run with the fixed latency, an
    // interrupt delivery): every read goes to the bus.
    if (!quiet && !this.stretch) {
      this.repeatWidth = -1;
      return false;
    }
    const region = bus.regionAt(addr >>> 0)!;
    const offset = (addr >>> 0) - region.base;
    const device = region.device;
    let stable: number;
    if (device instanceof FuzzDevice) {
      stable = device.stableUntil(offset);
      this.repeatDevice = device.lastReadReplaced ? device : null;
    } else {
      stable = device.stableUntil === undefined ? -Infinity : device.stableUntil(offset);
      this.repeatDevice = null;
    }
    const masters = bus.nextMasterTime;
    const until = stable < masters ? stable : masters;
    this.repeatStretch = until;
    this.repeatFastUntil = !quiet ? -Infinity : !this.stretch ? until : until === Infinity ? Infinity : -Infinity;
    const room = Math.min(bus.accessesLeft, 2 ** 30);
    this.repeatRoom = room;
    this.repeatLeft = room;
    return true;
  }

  /** Counts the repeats the responder answered as this path's own: each took the fixed access
   * time, added one by one as the path adds them (the same float sums). */
  private takeFromResponder(): void {
    const n = this.responderGiven - this.responder.take();
    this.responderGiven = 0;
    this.repeatLeft -= n;
    const clock = this.clock;
    const step = clock.accessNs;
    if (Number.isInteger(clock.now) && Number.isInteger(step) && clock.now + n * step <= Number.MAX_SAFE_INTEGER) {
      clock.now += n * step; // exact: the sum of integers below 2^53
    } else {
      let now = clock.now;
      for (let i = 0; i < n; i++) now += step;
      clock.now = now;
    }
  }

  /** Hands the repeats answered here to the bus budget, the trace and the device. */
  private flushRepeats(): void {
    const n = this.repeatRoom - this.repeatLeft;
    this.repeatRoom = this.repeatLeft;
    this.bus.countAccesses(n);
    this.trace.repeatReads(n);
    if (this.repeatDevice !== null) this.repeatDevice.repeatReads(n);
  }

  /** Before any access other than a read: the repeats so far are flushed and nothing is armed. */
  private beforeOther(): void {
    if (this.responderGiven !== 0) this.takeFromResponder();
    if (this.repeatLeft !== this.repeatRoom) this.flushRepeats();
    this.repeatWidth = -1;
  }

  /** Forgets the last read: the devices may have changed (a step between calls, a restart). */
  private disarm(): void {
    this.beforeOther();
    this.repeatDevice = null;
    this.stretch = this.pollLatency && this.interrupts === null;
  }

  has(name: string): boolean {
    return this.functions.has(name);
  }

  private fn(name: string): ExportFunction {
    const f = this.functions.get(name);
    if (f === undefined) throw new Error(`${this.modulePath} has no export ${name}`);
    return f;
  }

  /** Maps a model behind a FuzzDevice, so that the fuzzer can change what its reads return. */
  mapDevice(name: string, base: number, size: number, model: Device, map?: RegisterBlock): FuzzDevice {
    const wrapped = new FuzzDevice(name, model, map, this.replaced);
    wrapped.mappedAt(base);
    this.bus.map(map === undefined ? { name, base, size, device: wrapped } : { name, base, size, device: wrapped, map });
    this.devices.push(wrapped);
    this.trace.useRegions(this.bus.regions);
    return wrapped;
  }

  /** Maps a device as it is (RAM, linear memory, a test peripheral). */
  mapPlain(name: string, base: number, size: number, device: Device): Region {
    const region = this.bus.map({ name, base, size, device });
    this.trace.useRegions(this.bus.regions);
    return region;
  }

  device(name: string): FuzzDevice {
    const d = this.devices.find((x) => x.name === name);
    if (d === undefined) throw new Error(`no fuzzed device named ${name}`);
    return d;
  }

  /** Replays a recording's read values (null: the models answer). */
  setScript(script: ReadScript | null): void {
    this.trace.script = script;
    for (const d of this.devices) d.script = script;
  }

  setMode(mode: WorldMode): void {
    this.mode = mode;
    this.trace.enabled = mode === "report" || this.recordAlways;
  }

  /** Records every access and call in "fast" mode too: for a target whose checks read the trace
   * (the interrupt checks of harness/interrupt-checks.ts) or whose delivery points depend on it
   * (a poll is told by the repeated read the trace holds). Costs the recording. */
  get alwaysRecord(): boolean {
    return this.recordAlways;
  }

  set alwaysRecord(on: boolean) {
    this.recordAlways = on;
    this.trace.enabled = this.mode === "report" || on;
  }

  get reporting(): boolean {
    return this.mode === "report";
  }

  /** Start of an execution: time 0, empty trace, linear memory and mutable globals as
   * instantiated, no overrides. The caller resets its models. */
  restart(): void {
    if (this.responderGiven !== 0) this.takeFromResponder();
    this.repeatLeft = this.repeatRoom;
    this.repeatWidth = -1;
    this.clock.now = 0;
    this.trace.restart();
    this.calls = 0;
    this.restoreMemory();
    this.globals.restore();
    for (const d of this.devices) d.restart();
    this.replaced.count = 0;
    this.bus.setAccessBudget(Infinity);
    this.bus.contextFlags = 0;
    this.interrupts?.reset();
    this.disarm();
  }

  /** Calls an export under an access budget. With interrupt delivery attached, pending
   * interrupts are delivered between calls before and after it (under interruptBudget; their
   * accesses are not the call's). */
  call(name: string, args: readonly number[], budget: number): CallOutcome {
    const f = this.fn(name);
    const trace = this.trace;
    const number = this.calls++;
    this.onCall?.(number);
    this.disarm();
    const limit = this.capCall < 0 || this.capCall === number ? Math.min(budget, this.budgetCap) : budget;
    const interrupts = this.interrupts;
    if (interrupts !== null) return this.callWithInterrupts(f, name, args, limit, interrupts);
    const index = trace.enabled ? trace.beginCall(name, args) : -1;
    this.bus.setAccessBudget(limit);
    let result: number | undefined;
    let error: CallError | undefined;
    let cause: unknown;
    try {
      result = f(...args);
    } catch (e) {
      cause = e;
      error = classify(e);
    }
    this.beforeOther();
    const accesses = this.bus.accessesSinceBudget;
    this.bus.setAccessBudget(Infinity);
    if (index >= 0) trace.endCall(index, result);
    return { result, error, cause, accesses, budget: limit, phase: "call" };
  }

  private callWithInterrupts(f: ExportFunction, name: string, args: readonly number[], limit: number, interrupts: Interrupts): CallOutcome {
    const trace = this.trace;
    const bus = this.bus;
    let phase: CallPhase = "before";
    let result: number | undefined;
    let error: CallError | undefined;
    let cause: unknown;
    let accesses = 0;
    let index = -1;
    let budget = this.interruptBudget;
    try {
      bus.setAccessBudget(budget);
      interrupts.betweenCalls();
      phase = "call";
      budget = limit;
      index = trace.enabled ? trace.beginCall(name, args) : -1;
      bus.setAccessBudget(limit);
      try {
        result = f(...args);
      } finally {
        this.beforeOther();
        accesses = bus.accessesSinceBudget;
        if (index >= 0) trace.endCall(index, result);
      }
      phase = "after";
      budget = this.interruptBudget;
      bus.setAccessBudget(budget);
      interrupts.betweenCalls();
    } catch (e) {
      // A handler that failed between calls is wrapped in a HalError (harness/interrupts.ts):
      // what it threw is what happened.
      cause = e instanceof HalError && e.cause !== undefined ? e.cause : e;
      error = classify(cause);
    }
    bus.setAccessBudget(Infinity);
    if (error === undefined) return { result, error, cause, accesses, budget: limit, phase };
    const where = `${interrupts.mode} delivery, at delivery point ${interrupts.points}${interrupts.holdUntil > interrupts.points ? ` (held until point ${interrupts.holdUntil})` : ""}`;
    return { result: undefined, error, cause, accesses, budget, phase, where };
  }

  /** Linear memory now (a view kept while memory does not grow). */
  private memoryView(): Uint8Array {
    if (this.view.length === 0) this.view = new Uint8Array(this.memory.buffer);
    return this.view;
  }

  /** Counts [ptr, ptr + length) of linear memory as written by the host: restart() puts it back
   * and changedSinceMark() looks at it. writeBytes() and bytes() call it; a host that writes
   * linear memory another way (through `memory.buffer`, a DMA model) must too. */
  markWritten(ptr: number, length: number): void {
    const end = ptr + length;
    if (ptr < this.dirtyFrom) this.dirtyFrom = ptr;
    if (end > this.dirtyTo) this.dirtyTo = end;
    if (ptr < this.hostFrom) this.hostFrom = ptr;
    if (end > this.hostTo) this.hostTo = end;
  }

  /** Adds the module's written range to the dirty range and empties it; false when its stores
   * are not tracked. Allocates nothing: it runs at every restart. */
  private takeModuleWrites(): boolean {
    const written = this.written;
    if (written === null) return false;
    const low = written.low.value >>> 0;
    if (low === WRITTEN_NONE_LOW) return true;
    const high = written.high.value >>> 0;
    written.low.value = WRITTEN_NONE_LOW;
    written.high.value = 0;
    if (low < this.dirtyFrom) this.dirtyFrom = low;
    if (high + 1 > this.dirtyTo) this.dirtyTo = high + 1;
    return true;
  }

  /** Puts back the bytes that may differ from the pristine copy (all of them for a module whose
   * stores are not tracked). */
  private restoreMemory(): void {
    const now = this.memoryView();
    const pristine = this.pristine;
    const tracked = this.takeModuleWrites();
    // Virtual, as everything else here: the same restarts check in every run of a seed.
    const restarts = this.restarts++;
    if (tracked && (restarts < UNMARKED_CHECK_FIRST || (restarts & (UNMARKED_CHECK_EVERY - 1)) === 0)) this.checkUnmarked(now);
    if (!tracked) {
      now.set(pristine);
    } else {
      // A coverage build's counter stores are not tracked (module-globals.ts trackStores): the
      // counters are put back (to zero) here, after every execution.
      const counters = this.counters;
      if (counters !== null) now.set(counters.pristine, counters.start);
      const from = Math.max(0, this.dirtyFrom);
      const to = Math.min(pristine.length, now.length, this.dirtyTo);
      // A few bytes (a buffer the host filled) cost less one by one than through a subarray.
      if (to - from <= 64) for (let i = from; i < to; i++) now[i] = pristine[i]!;
      else if (to > from) now.set(pristine.subarray(from, to), from);
    }
    this.dirtyFrom = this.hostFrom = Infinity;
    this.dirtyTo = this.hostTo = -Infinity;
    if (this.checkRestore) {
      const length = Math.min(pristine.length, now.length);
      if (Buffer.compare(Buffer.from(now.buffer, 0, length), Buffer.from(pristine.buffer, pristine.byteOffset, length)) !== 0) {
        let at = 0;
        while (now[at] === pristine[at]) at++;
        throw new Error(`linear memory at 0x${at.toString(16)} is 0x${now[at]!.toString(16)} after restart, 0x${pristine[at]!.toString(16)} as instantiated: a write the world was not told of (a host writes linear memory without World.writeBytes, bytes or markWritten)`);
      }
    }
  }

  /** Throws when linear memory differs from the pristine copy outside what restart() will put
   * back (the written ranges, a coverage build's counters): a host write that was not marked,
   * which would carry into the next execution. */
  private checkUnmarked(now: Uint8Array): void {
    const pristine = this.pristine;
    const length = Math.min(pristine.length, now.length);
    const clamp = (x: number): number => Math.max(0, Math.min(length, x));
    const skips: [number, number][] = [[clamp(this.dirtyFrom), clamp(this.dirtyTo)]];
    if (this.counters !== null) skips.push([this.counters.start, this.counters.end]);
    skips.sort((a, b) => a[0] - b[0]);
    let at = 0;
    const firstIn = (start: number, end: number): number => {
      if (end <= start || Buffer.compare(Buffer.from(now.buffer, start, end - start), Buffer.from(pristine.buffer, pristine.byteOffset + start, end - start)) === 0) return -1;
      for (let i = start; i < end; i++) if (now[i] !== pristine[i]) return i;
      return -1;
    };
    let found = -1;
    for (const [start, end] of skips) {
      found = firstIn(at, Math.max(at, start));
      if (found >= 0) break;
      at = Math.max(at, end);
    }
    if (found < 0) found = firstIn(at, length);
    if (found >= 0) {
      throw new Error(`linear memory at 0x${found.toString(16)} changed during the execution but was not marked as written: a host write to linear memory (through memory.buffer or a device of its own) was not marked, and would carry into the next case; write through world.writeBytes(ptr, bytes) or world.bytes(ptr, length), or call world.markWritten(ptr, length) after writing (docs/fuzzing.md, "Your own target")`);
    }
  }

  /** Copies bytes into linear memory. */
  writeBytes(ptr: number, bytes: ArrayLike<number>): void {
    this.markWritten(ptr, bytes.length);
    const now = this.memoryView();
    // Per byte for a short buffer: set() from an array is a slow path.
    if (bytes.length <= 64 && ptr >= 0 && ptr + bytes.length <= now.length) {
      for (let i = 0; i < bytes.length; i++) now[ptr + i] = bytes[i]!;
    } else {
      now.set(bytes, ptr);
    }
  }

  /** The module's linear memory as a bus device (for a DMA controller that reaches it): its
   * writes are counted as the host's (markWritten). */
  linearMemoryDevice(): LinearMemoryRam {
    return new LinearMemoryRam(() => this.memory.buffer, (offset, width) => this.markWritten(offset, width));
  }

  /** Copies linear memory aside, for changedSinceMark() after a call: a target that knows which
   * bytes a call may write (its output buffer) checks that it wrote no other. */
  markMemory(): void {
    const now = this.memoryView();
    if (this.marked === null || this.marked.length !== now.length) {
      this.marked = now.slice();
      this.markedRanged = false;
      this.markedFrom = 0;
      this.markedTo = Infinity;
    }
    const marked = this.marked;
    // Outside the written ranges memory holds the pristine copy, and so does `marked` outside
    // the range its last mark copied: copying both ranges makes `marked` memory as it is now.
    this.markedRanged = this.takeModuleWrites() && now.length === this.pristine.length;
    if (!this.markedRanged) {
      marked.set(now);
      this.markedFrom = 0;
      this.markedTo = Infinity;
    } else {
      const from = Math.max(0, Math.min(this.markedFrom, this.dirtyFrom));
      const to = Math.min(now.length, Math.max(this.markedTo, this.dirtyTo));
      if (to - from <= 64) for (let i = from; i < to; i++) marked[i] = now[i]!;
      else if (to > from) marked.set(now.subarray(from, to), from);
      this.markedFrom = this.dirtyFrom;
      this.markedTo = this.dirtyTo;
    }
    this.hostFrom = Infinity;
    this.hostTo = -Infinity;
  }

  /** The lowest address of linear memory that changed since markMemory(), leaving out [from, to)
   * (a buffer the call may write; from = to for none) and a coverage build's counters; -1 when
   * no other byte changed. Only the bytes written since the mark are compared. */
  changedSinceMark(from = 0, to = 0): number {
    const marked = this.marked;
    if (marked === null) throw new Error("changedSinceMark() before markMemory()");
    const now = this.memoryView();
    let scanFrom = 0;
    let scanTo = now.length;
    if (this.markedRanged) {
      const written = this.written!;
      const low = written.low.value >>> 0;
      const high = written.high.value >>> 0;
      scanFrom = this.hostFrom;
      scanTo = this.hostTo;
      if (low !== WRITTEN_NONE_LOW) {
        scanFrom = Math.min(scanFrom, low);
        scanTo = Math.max(scanTo, high + 1);
      }
      scanFrom = Math.max(0, scanFrom);
      scanTo = Math.min(now.length, scanTo);
      if (scanTo <= scanFrom) return -1;
    }
    // A buffer that lies (partly) outside linear memory leaves out only its part inside.
    const clamp = (x: number): number => Math.max(0, Math.min(now.length, x));
    const skips: [number, number][] = [[clamp(from), clamp(to)]];
    if (this.counters !== null) skips.push([this.counters.start, this.counters.end]);
    skips.sort((a, b) => a[0] - b[0]);
    let at = scanFrom;
    const firstIn = (start: number, end: number): number => {
      if (end <= start || Buffer.compare(Buffer.from(now.buffer, start, end - start), Buffer.from(marked.buffer, start, end - start)) === 0) return -1;
      for (let i = start; i < end; i++) if (now[i] !== marked[i]) return i;
      return -1;
    };
    for (const [start, end] of skips) {
      const found = firstIn(at, Math.min(scanTo, Math.max(at, start)));
      if (found >= 0) return found;
      at = Math.max(at, end);
    }
    return firstIn(at, scanTo);
  }

  /** A view of linear memory (valid until memory grows; the module never grows it). The range
   * counts as written by the host (markWritten): the caller may write through the view. */
  bytes(ptr: number, length: number): Uint8Array {
    this.markWritten(ptr, length);
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  get memorySize(): number {
    return this.memory.buffer.byteLength;
  }

  /** Reads replaced by response overrides in this execution, over every device. */
  replacedReads(): { kept: ReplacedRead[]; count: number; illegal: number } {
    const kept: ReplacedRead[] = [];
    let count = 0;
    let illegal = 0;
    for (const d of this.devices) {
      kept.push(...d.replaced);
      count += d.replacedCount;
      illegal += d.illegalCount;
    }
    return { kept, count, illegal };
  }

  /** True once any read of this execution was replaced (or while a recording is replayed): the
   * models' state no longer tells what the driver saw, so postconditions on it are not judged. */
  get overridden(): boolean {
    // A replay answers from a recording: the models' state is not what the driver saw either.
    // Read per check of a postcondition, several times a call: one count over the devices.
    return this.trace.script !== null || this.replaced.count > 0;
  }
}

function classify(e: unknown): CallError {
  return e instanceof AccessBudgetExceeded ? "budget" : e instanceof BusFault ? "bus-fault" : e instanceof WebAssembly.RuntimeError ? "trap"
    : e instanceof InterruptStorm ? "interrupt" : e instanceof FuzzFailure ? "failure" : "harness";
}
