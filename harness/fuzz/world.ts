// One module instance on one bus, reused for every execution of a fuzz run: between executions
// the models are reset, linear memory is put back as it was after instantiation, and the trace
// is cleared. Calls go straight to the exports (no argument checks, no call records unless the
// world reports), under an access budget that turns a driver that does not return into a hang.
import type { Registry } from "../registry.js";
import { packageRegistry } from "../project.js";
import { AccessBudgetExceeded, Bus, BusFault, VirtualClock, type Device, type Region } from "../bus.js";
import { compileModule } from "../hal.js";
import type { RegisterBlock } from "../regmap.js";
import { FuzzTrace } from "./tap.js";
import { FuzzDevice, type ReplacedRead } from "./device.js";
import type { ReadScript } from "./replay.js";

/** How a call ended when it did not return a value. */
export type CallError = "budget" | "bus-fault" | "trap" | "harness";

export interface CallOutcome {
  /** The returned i32, or undefined when the call did not return. */
  readonly result: number | undefined;
  readonly error: CallError | undefined;
  /** The exception that ended the call. */
  readonly cause: unknown;
  /** CPU accesses (reads, writes, barriers) the call made. */
  readonly accesses: number;
  /** The access budget it ran under. */
  readonly budget: number;
}

export type WorldMode =
  /** Recording off: counts, the lint tap and the ring only. */
  | "fast"
  /** Every access recorded, calls marked in the trace: for reports and regression files. */
  | "report";

type ExportFunction = (...args: number[]) => number;

export class World {
  readonly clock = new VirtualClock();
  readonly trace = new FuzzTrace();
  readonly bus = new Bus({ clock: this.clock, trace: this.trace });
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  readonly scratch: number;
  readonly scratchSize: number;
  private readonly functions = new Map<string, ExportFunction>();
  private readonly devices: FuzzDevice[] = [];
  private readonly pristine: Uint8Array;
  private mode: WorldMode = "fast";
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
    this.trace.enabled = mode === "report";
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
  }

  /** Calls an export under an access budget. */
  call(name: string, args: readonly number[], budget: number): CallOutcome {
    const f = this.fn(name);
    const trace = this.trace;
    const number = this.calls++;
    this.onCall?.(number);
    const index = this.mode === "report" ? trace.beginCall(name, args) : -1;
    const limit = this.capCall < 0 || this.capCall === number ? Math.min(budget, this.budgetCap) : budget;
    this.bus.setAccessBudget(limit);
    let result: number | undefined;
    let error: CallError | undefined;
    let cause: unknown;
    try {
      result = f(...args);
    } catch (e) {
      cause = e;
      error = e instanceof AccessBudgetExceeded ? "budget" : e instanceof BusFault ? "bus-fault" : e instanceof WebAssembly.RuntimeError ? "trap" : "harness";
    }
    const accesses = this.bus.accessesSinceBudget;
    this.bus.setAccessBudget(Infinity);
    if (index >= 0) trace.endCall(index, result);
    return { result, error, cause, accesses, budget: limit };
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
