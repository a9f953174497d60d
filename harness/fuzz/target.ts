// What every fuzz target shares: the steps of a case (driver calls and device events, as plain
// JSON so that a case can be saved and replayed), the documented results and access budgets of
// each export, the properties checked after every call, and the fast-check command that runs a
// step. A target (targets/<block>.ts) adds its board, its steps and a deliberately simple model
// of what should happen.
import fc from "fast-check";
import type { RegisterBlock, RegisterInfo } from "../regmap.js";
import type { Registry } from "../registry.js";
import { packageRegistry } from "../project.js";
import type { World, CallOutcome } from "./world.js";
import { registerLegality } from "./legal.js";

/** A target's name (harness/fuzz/target-table.ts): lower-case letters, digits and -. */
export type TargetName = string;
/** The package's own targets (targets/index.ts). */
export type PrimeCellTargetName = "pl011" | "pl022" | "pl061" | "pl080";
export const TARGET_NAMES: readonly PrimeCellTargetName[] = ["pl011", "pl022", "pl061", "pl080"];

/** A field of a step: numbers, flags, words and byte strings only, so that a step is JSON. */
export type StepValue = number | boolean | string | readonly number[];

/** One step of a case: a driver call or a device event, named by `op`. */
export interface Step {
  readonly op: string;
  readonly [field: string]: StepValue;
}

/** The properties a fuzz run checks (docs/fuzzing.md). */
export type PropertyName =
  /** The call made more accesses than its documented budget: the host stopped it. */
  | "hang"
  /** The module trapped (unreachable, out-of-bounds memory access). */
  | "trap"
  /** The bus refused an access (unmapped, unaligned, a width the register does not take). */
  | "bus-fault"
  /** The call returned a value its documentation does not list. */
  | "status"
  /** ERR_INVALID_ARG after touching a register: arguments are checked first. */
  | "refusal"
  /** An access breaks the register map's rules (harness/lint.ts). */
  | "lint"
  /** The functional postcondition does not hold. */
  | "postcondition"
  /** A register was written in a state or an order the manual forbids (write LCR_H while the
   * UART is enabled, start a DMA channel without a DSB after programming it). */
  | "protocol"
  /** Interrupt code breaks a rule of docs/interrupts.md: a storm (the handler returned again and
   * again with its source still asserted, harness/interrupts.ts), or a problem
   * checkInterruptCode finds in the trace (a lost update, an unmasked read-modify-write of a
   * register the handler writes, a spurious entry). */
  | "interrupt"
  /** A model or the harness itself threw: not the driver's doing. */
  | "harness";

/** Every property name, in the order of PropertyName (for readers of saved findings). */
export const PROPERTY_NAMES: readonly PropertyName[] = ["hang", "trap", "bus-fault", "status", "refusal", "lint", "postcondition", "protocol", "interrupt", "harness"];

/** A property that does not hold, thrown from a step. */
export class FuzzFailure extends Error {
  constructor(
    readonly property: PropertyName,
    message: string,
    /** The export running or last called, or null for an event. */
    readonly call: string | null,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = "FuzzFailure";
  }
}

/** An export as the fuzzer knows it: its documented results and its access budget. */
export interface ExportSpec {
  readonly name: string;
  /** Status codes the documentation lists for it (OK included where it returns OK). */
  readonly statuses: readonly number[];
  /** For an export documented to return a count or a pin mask: the largest value the arguments
   * allow. Absent when only status codes are documented. */
  readonly count?: (args: readonly number[]) => number;
  /** Most CPU accesses the call may make: its poll limits, from the driver. */
  readonly budget: (args: readonly number[]) => number;
  /** Accesses documented before an argument is refused (pl022_transfer reads CR0 first). */
  readonly refusalAccesses?: number;
}

export interface StepOptions {
  /** Response overrides produce only values the hardware could produce. */
  readonly legalOnly: boolean;
}

export interface Target {
  readonly name: TargetName;
  /** The block and what it is, for reports. */
  readonly title: string;
  readonly exports: readonly ExportSpec[];
  /** One arbitrary for every kind of step, weighted. */
  steps(options: StepOptions): fc.Arbitrary<Step>;
  /** A line for a step in a report. */
  describe(step: Step): string;
  /** Maps the target's devices on the world's bus and returns the session that runs steps. */
  open(world: World): Session;
  /** The module it fuzzes by default (its project's default module); the package's own when
   * absent. */
  readonly module?: string;
  /** The registry of its project (status codes and export signatures for messages). */
  readonly registry?: Registry;
}

/** A result with its status name (the package's codes, or a registry's), for messages. */
export function showResult(value: number | undefined, registry: Registry = packageRegistry()): string {
  return value === undefined ? "no result" : registry.formatResult("", value);
}

export const hex = (n: number, digits = 1): string => "0x" + (n >>> 0).toString(16).padStart(digits, "0");

/**
 * Runs the steps of one execution against one target on one world. A session holds the simple
 * model: state a test would write down by hand (bytes sent so far, pins set, channels started),
 * not a copy of the device.
 */
export abstract class Session {
  private readonly specs = new Map<string, ExportSpec>();
  /** ERR_INVALID_ARG in the world's registry (looked up once: call() runs per call). */
  private readonly invalidArg: number | undefined;

  constructor(readonly world: World, readonly target: Target) {
    for (const e of target.exports) this.specs.set(e.name, e);
    this.invalidArg = world.registry.statusValue("ERR_INVALID_ARG");
  }

  /** Back to power-on: models reset and the simple model emptied. The world is restarted by
   * the caller. */
  abstract reset(): void;
  /** False when the step cannot run in this state (for instance it would take too long). */
  abstract check(step: Step): boolean;
  abstract run(step: Step): void;
  /** Checks at the end of the execution. */
  abstract finish(): void;

  /**
   * Calls an export and checks what every call must satisfy: it returns (no hang, trap or bus
   * fault), its result is documented, a refusal came before any register access, and its
   * accesses pass the register lint. Returns the result; throws FuzzFailure otherwise.
   */
  protected call(name: string, args: readonly number[]): number {
    const spec = this.specs.get(name);
    if (spec === undefined) throw new Error(`${this.target.name}: no export spec for ${name}`);
    this.violation = null;
    this.dsbsAtCall = this.world.trace.dsbs;
    this.beforeCall(name);
    const outcome = this.world.call(name, args, spec.budget(args));
    const registry = this.world.registry;
    if (outcome.error !== undefined) throw this.callError(this.shownCall(name, args), name, outcome);
    const result = outcome.result!;
    const lint = this.world.trace.finding;
    if (lint !== null) {
      const what = `${lint.op & 1 ? "write" : "read"} of ${hex(lint.value)} at ${this.world.bus.describe(lint.addr, (lint.op & 1) === 1)}`;
      throw new FuzzFailure("lint", `${this.shownCall(name, args)}: ${lint.rule}: ${what}`, name);
    }
    this.checkProtocol(name, args);
    const count = spec.count?.(args);
    const documented = spec.statuses.includes(result) || (count !== undefined && result >= 0 && result <= count);
    if (!documented) {
      const listed = spec.statuses.map((s) => registry.statusName(s) ?? String(s)).join(", ");
      throw new FuzzFailure("status", `${this.shownCall(name, args)} returned ${showResult(result, registry)}; documented: ${listed}${count !== undefined ? `, or a count 0..${count}` : ""}`, name);
    }
    if (result === this.invalidArg && outcome.accesses > (spec.refusalAccesses ?? 0)) {
      throw new FuzzFailure("refusal", `${this.shownCall(name, args)} returned ERR_INVALID_ARG after ${outcome.accesses} bus accesses: arguments must be refused before the first register access`, name);
    }
    return result;
  }

  /** A call as a message shows it: made only when a property fails (call() runs per call). */
  private shownCall(name: string, args: readonly number[]): string {
    return this.world.registry.formatCall(name, args, this.world.bus.regions);
  }

  private callError(shown: string, name: string, outcome: CallOutcome): FuzzFailure {
    const cause = outcome.cause;
    const detail = cause instanceof Error ? cause.message : String(cause);
    // With interrupts delivered: an error in a delivery between calls, and where delivery was.
    const phase = outcome.phase === "before" ? ": in an interrupt delivered between calls, before it ran" : outcome.phase === "after" ? ": in an interrupt delivered between calls, after it returned" : "";
    const where = outcome.where === undefined ? "" : ` (${outcome.where})`;
    switch (outcome.error) {
      case "failure": return cause as FuzzFailure;
      case "interrupt": return new FuzzFailure("interrupt", `${shown}${phase}: ${detail}${where}`, name, cause);
      case "budget":
        if (outcome.phase !== "call") return new FuzzFailure("hang", `${shown}${phase}: the handler did not return within ${outcome.budget} accesses${where}`, name, cause);
        return new FuzzFailure("hang", `${shown} did not return within its budget of ${outcome.budget} accesses${where}`, name, cause);
      case "bus-fault": return new FuzzFailure("bus-fault", `${shown}${phase}: ${detail}${where}`, name, cause);
      case "trap": return new FuzzFailure("trap", `${shown}${phase} trapped: ${detail}${where}`, name, cause);
      default: return new FuzzFailure("harness", `${shown}${phase}: the harness threw: ${detail}${where}`, name, cause);
    }
  }

  /** Steps every target has: response overrides ("respond") and time passing ("pause"). True
   * when handled. */
  protected runCommon(step: Step): boolean {
    if (step.op === "respond") {
      const device = this.world.device(str(step, "region"));
      const reg = device.index?.byName(str(step, "register"));
      if (reg === undefined) throw new Error(`respond: ${device.name} has no register ${str(step, "register")}`);
      device.addOverride({
        reg, skip: num(step, "skip"), count: num(step, "count"),
        mask: num(step, "mask") >>> 0, value: num(step, "value") >>> 0, legalize: step["legal"] === true,
      });
      return true;
    }
    if (step.op === "pause") {
      this.world.bus.settle(num(step, "ns"));
      return true;
    }
    return false;
  }

  /** A postcondition failure. */
  protected fail(call: string | null, message: string): never {
    throw new FuzzFailure("postcondition", message, call);
  }

  /** Fails `call` (shown as `shown`) unless it left linear memory as World.markMemory() found it
   * before the call, but for its rx buffer [rxPtr, rxEnd); with rxPtr 0 (the received frames
   * dropped) nowhere. */
  protected checkWroteOnlyRx(call: string, shown: string, rxPtr: number, rxEnd: number): void {
    const stray = this.world.changedSinceMark(rxPtr, rxPtr === 0 ? 0 : rxEnd);
    if (stray < 0) return;
    const buffer = rxPtr === 0 ? "any buffer (rx_ptr 0: the received frames are dropped)" : `the rx buffer 0x${rxPtr.toString(16)}..0x${(rxEnd - 1).toString(16)}`;
    this.fail(call, `${shown} wrote linear memory at 0x${stray.toString(16)}, outside ${buffer}`);
  }

  /** The first protocol violation seen during the current call (sessions set it from their
   * devices' write hooks); thrown once the call has returned. */
  protected violation: string | null = null;

  /** Throws the protocol violation of the call just made, if any. */
  private checkProtocol(name: string, args: readonly number[]): void {
    const v = this.violation;
    this.violation = null;
    if (v !== null) throw new FuzzFailure("protocol", `${this.shownCall(name, args)}: ${v}`, name);
  }

  /** Called right before each export call. */
  protected beforeCall(_name: string): void {}

  /** DSBs the trace had counted when the current (or last) export call began. */
  private dsbsAtCall = 0;

  /** The current export call (during it, from a device's write hook), or the last one (after it
   * returned), has made a DSB. */
  protected get callMadeDsb(): boolean {
    return this.world.trace.dsbs !== this.dsbsAtCall;
  }

  /** Notes a protocol violation (the first of a call is kept). */
  protected violate(message: string): void {
    this.violation ??= message;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading step fields

export function num(step: Step, field: string): number {
  const v = step[field];
  if (typeof v !== "number") throw new Error(`step ${step.op}: field ${field} is not a number`);
  return v;
}

export function str(step: Step, field: string): string {
  const v = step[field];
  if (typeof v !== "string") throw new Error(`step ${step.op}: field ${field} is not a string`);
  return v;
}

export function bytesOf(step: Step, field: string): readonly number[] {
  const v = step[field];
  if (!Array.isArray(v)) throw new Error(`step ${step.op}: field ${field} is not a byte list`);
  return v as readonly number[];
}

export function argsOf(step: Step): readonly number[] {
  return bytesOf(step, "args");
}

// ---------------------------------------------------------------------------------------------
// Arbitraries shared by the targets

/** 32-bit values that break things: zero, one, all ones, the sign bit, and anything. */
export const anyU32 = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff) },
  { weight: 2, arbitrary: fc.nat() },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);

/** Time passing between calls: a character, a frame, a millisecond. */
export const waitStep: fc.Arbitrary<Step> = fc.constantFrom(1_000, 10_000, 100_000, 1_000_000).map((ns) => ({ op: "pause", ns }));

/** A register the driver reads, as a response override may target it. */
export interface RespondTarget {
  readonly region: string;
  readonly register: RegisterInfo;
  readonly block: RegisterBlock;
  /** How often it is picked, relative to the others (registers a driver polls: more). */
  readonly weight: number;
}

/**
 * Response overrides: from the next read of a register (after `skip` reads), `count` reads (0 =
 * all of them) return `value` in the bits of `mask`. Legal overrides change only bits the
 * hardware updates and are repaired to follow the manual's rules; unconstrained ones may change
 * anything (a finding that needs one is labelled an impossible world).
 */
export function respondSteps(targets: readonly RespondTarget[], options: StepOptions): fc.Arbitrary<Step> {
  const legal = targets
    .map((t) => ({ t, hardware: registerLegality(t.block, t.register).hardware }))
    .filter((x) => x.hardware !== 0);
  const timing = fc.record({
    // Most overrides start at once: a poll usually reads its register right after the call
    // begins.
    skip: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 5, max: 64 }) }),
    // 0 = stuck for good: the fault a poll limit is for, but then a correct driver polls to its
    // limit (up to millions of reads), so it stays the less common choice.
    count: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) }),
  });
  const pick = <T extends { weight: number }>(xs: readonly T[]): fc.Arbitrary<T> => fc.oneof(...xs.map((x) => ({ weight: x.weight, arbitrary: fc.constant(x) })));
  // No register the hardware changes, and only legal values wanted: nothing to answer for, so
  // the step lets time pass instead.
  if (legal.length === 0 && (options.legalOnly || targets.length === 0)) return waitStep;
  const legalStep = legal.length === 0 ? undefined : fc.record({
    pick: pick(legal.map((x) => ({ ...x, weight: x.t.weight }))),
    bits: fc.oneof(fc.integer({ min: 0, max: 31 }).map((b) => 2 ** b), fc.integer({ min: 0, max: 0xffffffff })),
    value: fc.integer({ min: 0, max: 0xffffffff }),
    timing,
  }).map(({ pick, bits, value, timing }): Step => ({
    op: "respond", region: pick.t.region, register: pick.t.register.name, skip: timing.skip, count: timing.count,
    // A mask with no hardware bit in it would change nothing: take them all then.
    mask: (bits & pick.hardware) >>> 0 || pick.hardware, value: (value & pick.hardware) >>> 0, legal: true,
  }));
  if (legalStep !== undefined && (options.legalOnly || targets.length === 0)) return legalStep;
  const anyStep = fc.record({
    pick: pick(targets),
    mask: fc.oneof(fc.constant(0xffffffff), fc.integer({ min: 0, max: 31 }).map((b) => 2 ** b), fc.integer({ min: 0, max: 0xffffffff })),
    value: anyU32,
    timing,
  }).map(({ pick, mask, value, timing }): Step => ({
    op: "respond", region: pick.region, register: pick.register.name, skip: timing.skip, count: timing.count,
    mask: mask >>> 0, value: value >>> 0, legal: false,
  }));
  return legalStep === undefined ? anyStep : fc.oneof(legalStep, anyStep);
}

/** The registers of a device the fuzzer may answer for, by name, each with its weight (1 when
 * given as a bare name). */
export function respondTargets(device: { region: string; block: RegisterBlock }, names: readonly (string | readonly [string, number])[]): RespondTarget[] {
  return names.map((entry) => {
    const [name, weight] = typeof entry === "string" ? [entry, 1] : entry;
    const register = device.block.registers.find((r) => r.name === name);
    if (register === undefined) throw new Error(`${device.block.block} has no register ${name}`);
    return { region: device.region, register, block: device.block, weight };
  });
}

/** A short description of a respond or wait step, or null for another op. */
export function describeCommon(step: Step): string | null {
  if (step.op === "respond") {
    const count = num(step, "count");
    const reads = count === 0 ? "every read" : `${count} read${count === 1 ? "" : "s"}`;
    const skip = num(step, "skip");
    return `respond ${str(step, "region")}.${str(step, "register")}: ${reads}${skip > 0 ? ` after ${skip}` : ""} with bits ${hex(num(step, "mask"))} = ${hex(num(step, "value"))}${step["legal"] === true ? " (legal)" : ""}`;
  }
  if (step.op === "pause") return `${num(step, "ns")} ns pass`;
  return null;
}
