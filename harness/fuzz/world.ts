// One module instance on one bus, reused for every execution of a fuzz run: between executions
// the models are reset, linear memory is put back as it was after instantiation, and the trace
// is cleared. Calls go straight to the exports (no argument checks, no call records unless the
// world reports), under an access budget that turns a driver that does not return into a hang.
// A target that takes interrupts attaches a delivery (harness/interrupts.ts): the world is its
// host, as a Hal is.
import type { Registry } from "../registry.js";
import { packageRegistry } from "../project.js";
import { AccessBudgetExceeded, Bus, BusFault, VirtualClock, type Device, type Region } from "../bus.js";
import { HalError, compileModule } from "../hal.js";
import type { RegisterBlock } from "../regmap.js";
import { FuzzTrace } from "./tap.js";
import { FuzzDevice, type ReplacedRead } from "./device.js";
import type { ReadScript } from "./replay.js";
import { InterruptStorm, type Interrupts, type InterruptHost } from "../interrupts.js";
import { FuzzFailure } from "./target.js";

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

export class World implements InterruptHost {
  readonly clock = new VirtualClock();
  readonly trace = new FuzzTrace();
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
  private readonly pristine: Uint8Array;
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

  constructor(readonly modulePath: string, registry: Registry = packageRegistry()) {
    this.registry = registry;
    this.trace.registry = registry;
    this.instance = new WebAssembly.Instance(compileModule(modulePath), this.bus.imports);
    const exports = this.instance.exports;
    this.exports = exports;
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value === "function") this.functions.set(name, value as ExportFunction);
    }
    const memory = exports["memory"];
    if (!(memory instanceof WebAssembly.Memory)) throw new Error(`${modulePath} exports no memory`);
    this.memory = memory;
    // A module without a scratch buffer (no buffer arguments) has none to fuzz with.
    this.scratch = this.functions.has("hal_scratch") ? this.fn("hal_scratch")() : 0;
    this.scratchSize = this.functions.has("hal_scratch_size") ? this.fn("hal_scratch_size")() : 0;
    this.pristine = new Uint8Array(memory.buffer).slice();
    this.trace.enabled = false;
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
    const wrapped = new FuzzDevice(name, model, map);
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

  /** Start of an execution: time 0, empty trace, linear memory as instantiated, no overrides.
   * The caller resets its models. */
  restart(): void {
    this.clock.now = 0;
    this.trace.restart();
    this.calls = 0;
    new Uint8Array(this.memory.buffer).set(this.pristine);
    for (const d of this.devices) d.restart();
    this.bus.setAccessBudget(Infinity);
    this.bus.contextFlags = 0;
    this.interrupts?.reset();
  }

  /** Calls an export under an access budget. With interrupt delivery attached, pending
   * interrupts are delivered between calls before and after it (under interruptBudget; their
   * accesses are not the call's). */
  call(name: string, args: readonly number[], budget: number): CallOutcome {
    const f = this.fn(name);
    const trace = this.trace;
    const number = this.calls++;
    this.onCall?.(number);
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

  /** Copies bytes into linear memory. */
  writeBytes(ptr: number, bytes: ArrayLike<number>): void {
    new Uint8Array(this.memory.buffer).set(bytes as ArrayLike<number>, ptr);
  }

  /** A view of linear memory (valid until memory grows; the module never grows it). */
  bytes(ptr: number, length: number): Uint8Array {
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
    if (this.trace.script !== null) return true;
    for (const d of this.devices) if (d.replacedCount > 0) return true;
    return false;
  }
}

function classify(e: unknown): CallError {
  return e instanceof AccessBudgetExceeded ? "budget" : e instanceof BusFault ? "bus-fault" : e instanceof WebAssembly.RuntimeError ? "trap"
    : e instanceof InterruptStorm ? "interrupt" : e instanceof FuzzFailure ? "failure" : "harness";
}
