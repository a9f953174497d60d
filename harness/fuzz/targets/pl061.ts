// Fuzz target: the PL061 GPIO driver against the PL061 model, with the outside world driving the
// input pins between calls. The simple model is the GPIO's promise: a call given a mask changes
// the pins (and the interrupt settings) of that mask and nothing else.
import fc from "fast-check";
import { Pl061Model, PL061_DATA_SPAN } from "../../devices/pl061.js";
import { PL061_MAP } from "../../generated/pl061.js";
import {
  OK, ERR_INVALID_ARG, PL061_IRQ_MODE_IS, PL061_IRQ_MODE_IBE, PL061_IRQ_MODE_IEV,
} from "../../generated/api.js";
import type { World } from "../world.js";
import {
  FuzzFailure, Session, describeCommon, num, respondSteps, respondTargets, showResult, waitStep,
  type ExportSpec, type Step, type StepOptions, type Target,
} from "../target.js";

/** Where the board puts the GPIO (ARM Versatile GPIO0). */
export const PL061_FUZZ_BASE = 0x101e4000;
const PINS = 0xff;

const EXPORTS: readonly ExportSpec[] = [
  { name: "pl061_set_direction", statuses: [OK, ERR_INVALID_ARG], budget: () => 4 },
  { name: "pl061_write", statuses: [OK, ERR_INVALID_ARG], budget: () => 2 },
  { name: "pl061_read", statuses: [ERR_INVALID_ARG], count: (a) => a[1]! & PINS, budget: () => 2 },
  // Four read-modify-writes and the IC write, then the unmasking read-modify-write.
  { name: "pl061_irq_config", statuses: [OK, ERR_INVALID_ARG], budget: () => 12 },
  { name: "pl061_irq_disable", statuses: [OK, ERR_INVALID_ARG], budget: () => 4 },
  { name: "pl061_irq_status", statuses: [ERR_INVALID_ARG], count: () => PINS, budget: () => 2 },
  { name: "pl061_irq_clear", statuses: [OK, ERR_INVALID_ARG], budget: () => 3 },
];

/** Valid interrupt modes (registers/api-pl061.json): falling, rising, both edges, low, high. */
const VALID_MODES = [0x0, 0x1, 0x2, 0x4, 0x5] as const;

/** What a call's checks compare before and after it, by index (K_*). */
const STATE = ["pins", "dir", "latch", "is", "ibe", "iev", "ie", "edges"] as const;
const K_PINS = 0, K_DIR = 1, K_LATCH = 2, K_IS = 3, K_IBE = 4, K_IEV = 5, K_IE = 6, K_EDGES = 7;
// What each call keeps (run() says why), in the order the checks look.
const KEEP_SET_DIRECTION = [K_LATCH, K_IS, K_IBE, K_IEV, K_IE];
const KEEP_WRITE = [K_DIR, K_IS, K_IBE, K_IEV, K_IE];
const OUTSIDE_WRITE = [K_PINS, K_LATCH];
const KEEP_READ = [K_DIR, K_LATCH, K_IS, K_IBE, K_IEV, K_IE, K_PINS, K_EDGES];
const KEEP_IRQ_CONFIG = [K_DIR, K_LATCH, K_PINS];
const OUTSIDE_IRQ_CONFIG = [K_IS, K_IBE, K_IEV, K_IE, K_EDGES];
const KEEP_IRQ_DISABLE = [K_DIR, K_LATCH, K_PINS, K_IS, K_IBE, K_IEV, K_EDGES];
const KEEP_IRQ_CLEAR = [K_DIR, K_LATCH, K_PINS, K_IS, K_IBE, K_IEV, K_IE];
const OUTSIDE_SET_DIRECTION = [K_DIR];
const OUTSIDE_IRQ_DISABLE = [K_IE];
const OUTSIDE_IRQ_CLEAR = [K_EDGES];
const NONE: readonly number[] = [];

/** A call being checked, for the checks and their messages: one per session, filled in for each
 * call (run() runs per step; with the argument lists it allocated per call, run() made 657 of a
 * loop case's 3,417 bytes). */
interface CheckedCall {
  name: string;
  mask: number;
  arg: number;
  /** Arguments passed: 3 when `arg` is one of them. */
  argc: number;
  result: number;
}

/** A checked call as a message shows it. */
function shown(call: CheckedCall): string {
  return `${call.name}(mask 0x${call.mask.toString(16)}${call.argc > 2 ? `, 0x${call.arg.toString(16)}` : ""})`;
}

function snapshot(g: Pl061Model, out: Uint32Array): void {
  out[K_PINS] = g.pins;
  out[K_DIR] = g.dir;
  out[K_LATCH] = g.outputLatch;
  out[K_IS] = g.is;
  out[K_IBE] = g.ibe;
  out[K_IEV] = g.iev;
  out[K_IE] = g.ie;
  out[K_EDGES] = g.edgeLatch;
}

/** What a call step passes: (base), (base, mask) or (base, mask, value). */
interface CallPlan {
  readonly name: string;
  readonly masked: boolean;
  readonly value: boolean;
}

const plan = (op: string, masked: boolean, value: boolean): CallPlan => ({ name: `pl061_${op}`, masked, value });
const SET_DIRECTION = plan("set_direction", true, true);
const WRITE = plan("write", true, true);
const READ = plan("read", true, false);
const IRQ_CONFIG = plan("irq_config", true, true);
const IRQ_DISABLE = plan("irq_disable", true, false);
const IRQ_STATUS = plan("irq_status", false, false);
const IRQ_CLEAR = plan("irq_clear", true, false);

/** The call a step makes (a switch: it runs per step, and compares interned strings). */
function planOf(op: string): CallPlan {
  switch (op) {
    case "set_direction": return SET_DIRECTION;
    case "write": return WRITE;
    case "read": return READ;
    case "irq_config": return IRQ_CONFIG;
    case "irq_disable": return IRQ_DISABLE;
    case "irq_status": return IRQ_STATUS;
    case "irq_clear": return IRQ_CLEAR;
    default: throw new Error(`pl061: unknown step ${op}`);
  }
}

class Pl061Session extends Session {
  readonly gpio: Pl061Model;

  constructor(world: World, target: Target) {
    super(world, target);
    this.gpio = new Pl061Model({ clock: world.clock });
    const device = world.mapDevice("gpio0", PL061_FUZZ_BASE, PL061_MAP.size, this.gpio, PL061_MAP);
    device.onWrite = (offset) => {
      // A DATA write changes the pins its address selects (TRM 3.3.1): never more than the
      // caller's mask.
      if (offset >= PL061_DATA_SPAN) return;
      const pins = (offset >>> 2) & PINS;
      if ((pins & ~this.callMask) !== 0) this.violate(`DATA written through the alias of pins 0x${pins.toString(16)}, beyond the call's mask 0x${this.callMask.toString(16)}`);
    };
  }

  /** The mask of the call being made (0 for a call without one). */
  private callMask = 0;
  /** The model's state (STATE) before and after the call being checked, reused. */
  private readonly before = new Uint32Array(STATE.length);
  private readonly after = new Uint32Array(STATE.length);
  private readonly args1 = [0];
  private readonly args2 = [0, 0];
  private readonly args3 = [0, 0, 0];
  private readonly checked: CheckedCall = { name: "", mask: 0, arg: 0, argc: 0, result: 0 };

  reset(): void {
    const gpio = this.gpio;
    gpio.external = 0;
    gpio.reset();
    // reset() runs the edge detector on the pins it changes; power-on has no history.
    gpio.edgeLatch = 0;
  }

  private get consistent(): boolean {
    return !this.world.overridden;
  }

  check(_step: Step): boolean {
    return true;
  }

  run(step: Step): void {
    if (this.runCommon(step)) return;
    const op = step.op;
    if (op === "drive") {
      this.gpio.driveInputs(PINS, num(step, "levels") & PINS);
      return;
    }
    const calls = planOf(op);
    const name = calls.name;
    // The fields are read here, by name, rather than through num(): a load at a site of its own
    // sees this target's few step shapes, where num()'s keyed load saw every field of every
    // target (num() was 3.9% of a PL061 loop's profile). A saved case edited by hand still gets
    // num()'s message.
    const b = step["base"], m = step["mask"], v = step["value"];
    const base = typeof b === "number" ? b : num(step, "base");
    const mask = !calls.masked ? 0 : typeof m === "number" ? m >>> 0 : num(step, "mask");
    const arg = !calls.value ? 0 : typeof v === "number" ? v >>> 0 : num(step, "value");
    // The argument lists are reused: the world copies what it keeps of them (Trace.beginCall).
    const args = calls.value ? this.args3 : calls.masked ? this.args2 : this.args1;
    args[0] = base;
    if (calls.masked) args[1] = mask;
    if (calls.value) args[2] = arg;
    const invalid = (base & 3) !== 0 || (mask & ~PINS) !== 0 || (op === "irq_config" && !(VALID_MODES as readonly number[]).includes(arg));
    const g = this.gpio;
    const before = this.before;
    const after = this.after;
    snapshot(g, before);
    this.callMask = mask;
    const result = this.call(name, args);
    if (invalid) {
      if (result !== ERR_INVALID_ARG) this.fail(name, `${name}(${args.map((a) => "0x" + (a >>> 0).toString(16)).join(", ")}) returned ${showResult(result)}; the arguments are invalid`);
      return;
    }
    if (!this.consistent) return;
    snapshot(g, after);
    // The checks are methods, not closures over the call: this runs per call.
    const call = this.checked;
    call.name = name;
    call.mask = mask;
    call.arg = arg;
    call.argc = args.length;
    call.result = result;
    switch (op) {
      case "set_direction":
        this.expectOk(call);
        this.keep(call, KEEP_SET_DIRECTION, OUTSIDE_SET_DIRECTION);
        this.expectBits(call, K_DIR, arg);
        return;
      case "write":
        this.expectOk(call);
        // Only the masked pins may change, and of those only the outputs (TRM 3.3.1).
        this.keep(call, KEEP_WRITE, OUTSIDE_WRITE);
        this.expectBits(call, K_PINS, (arg & before[K_DIR]!) | (before[K_PINS]! & ~before[K_DIR]!));
        return;
      case "read":
        if (result !== (before[K_PINS]! & mask)) this.fail(name, `${shown(call)} returned ${showResult(result)}; the pins read 0x${before[K_PINS]!.toString(16)}`);
        this.keep(call, KEEP_READ, NONE);
        return;
      case "irq_config":
        this.expectOk(call);
        this.keep(call, KEEP_IRQ_CONFIG, OUTSIDE_IRQ_CONFIG);
        this.expectBits(call, K_IS, (arg & PL061_IRQ_MODE_IS) !== 0 ? PINS : 0);
        this.expectBits(call, K_IBE, (arg & PL061_IRQ_MODE_IBE) !== 0 ? PINS : 0);
        this.expectBits(call, K_IEV, (arg & PL061_IRQ_MODE_IEV) !== 0 ? PINS : 0);
        this.expectBits(call, K_IE, PINS);
        // Edges latched before the call are discarded (the driver's header).
        this.expectBits(call, K_EDGES, 0);
        return;
      case "irq_disable":
        this.expectOk(call);
        this.keep(call, KEEP_IRQ_DISABLE, OUTSIDE_IRQ_DISABLE);
        this.expectBits(call, K_IE, 0);
        return;
      case "irq_status":
        if (result !== g.mis) this.fail(name, `pl061_irq_status returned ${showResult(result)}; MIS is 0x${g.mis.toString(16)}`);
        return;
      case "irq_clear":
        this.expectOk(call);
        this.keep(call, KEEP_IRQ_CLEAR, OUTSIDE_IRQ_CLEAR);
        this.expectBits(call, K_EDGES, 0);
        // Called from a handler before it returns (the driver's header): without a DSB after the
        // IC write, GPIOINTR may still be high when the interrupt controller samples it again.
        if (!this.callMadeDsb) throw new FuzzFailure("protocol", `${shown(call)} returned without a DSB after its IC write: from a handler, GPIOINTR may still be asserted when the interrupt controller samples it again (a spurious interrupt)`, name);
        return;
    }
  }

  private expectOk(call: CheckedCall): void {
    if (call.result !== OK) this.fail(call.name, `${shown(call)} returned ${showResult(call.result)}; expected OK`);
  }

  /** Registers that must not change at all (`same`), and those whose bits outside the mask
   * must not (`outside`), checked in that order: STATE indices. */
  private keep(call: CheckedCall, same: readonly number[], outside: readonly number[]): void {
    const before = this.before;
    const after = this.after;
    for (let i = 0; i < same.length; i++) {
      const k = same[i]!;
      if (after[k] !== before[k]) this.fail(call.name, `${shown(call)} changed ${STATE[k]} from 0x${before[k]!.toString(16)} to 0x${after[k]!.toString(16)}`);
    }
    for (let i = 0; i < outside.length; i++) {
      const k = outside[i]!;
      const changed = (after[k]! ^ before[k]!) & ~call.mask & PINS;
      if (changed !== 0) this.fail(call.name, `${shown(call)} changed ${STATE[k]} bits 0x${changed.toString(16)}, outside its mask (0x${before[k]!.toString(16)} -> 0x${after[k]!.toString(16)})`);
    }
  }

  private expectBits(call: CheckedCall, k: number, want: number): void {
    const got = this.after[k]! & call.mask;
    if (got !== (want & call.mask)) this.fail(call.name, `${shown(call)}: ${STATE[k]} & mask is 0x${got.toString(16)}, expected 0x${(want & call.mask).toString(16)}`);
  }

  finish(): void {}
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const base = fc.oneof({ weight: 15, arbitrary: fc.constant(PL061_FUZZ_BASE) }, { weight: 1, arbitrary: fc.constantFrom(PL061_FUZZ_BASE + 1, PL061_FUZZ_BASE + 2) });
  const mask = fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 0, max: PINS }) },
    { weight: 1, arbitrary: fc.constantFrom(0, PINS, 0x100, 0x1ff, 0x80000000, 0xffffffff) },
  );
  const value = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: PINS }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) });
  const mode = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...VALID_MODES) }, { weight: 1, arbitrary: fc.constantFrom(0x3, 0x6, 0x7, 0x8, 0xffffffff) });
  // Tuples, not records: the same values from the same random stream, without the record's
  // object and map between them and the step.
  const masked = (op: string, weight: number) => ({ weight, arbitrary: fc.tuple(base, mask).map(([b, m]): Step => ({ op, base: b, mask: m })) });
  const withValue = (op: string, weight: number, v: fc.Arbitrary<number>) => ({ weight, arbitrary: fc.tuple(base, mask, v).map(([b, m, x]): Step => ({ op, base: b, mask: m, value: x })) });
  const respond = respondSteps(respondTargets({ region: "gpio0", block: PL061_MAP }, [["DATA", 4], ["MIS", 2], "DIR", "IS", "IBE", "IEV", "IE"]), options);
  return fc.oneof(
    withValue("set_direction", 3, value),
    withValue("write", 4, value),
    masked("read", 3),
    withValue("irq_config", 3, mode),
    masked("irq_disable", 1),
    { weight: 2, arbitrary: base.map((b): Step => ({ op: "irq_status", base: b })) },
    masked("irq_clear", 2),
    { weight: 3, arbitrary: fc.integer({ min: 0, max: PINS }).map((levels): Step => ({ op: "drive", levels })) },
    { weight: 3, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step);
  if (common !== null) return common;
  if (step.op === "drive") return `outside drives the pins to 0x${num(step, "levels").toString(16)}`;
  const parts: string[] = [];
  if (planOf(step.op).masked) parts.push(`mask 0x${(num(step, "mask") >>> 0).toString(16)}`);
  if (typeof step["value"] === "number") parts.push(`${step.op === "irq_config" ? "mode" : "value"} 0x${(num(step, "value") >>> 0).toString(16)}`);
  const base = num(step, "base");
  return `pl061_${step.op}(${parts.join(", ")})${base === PL061_FUZZ_BASE ? "" : ` at base 0x${base.toString(16)}`}`;
}

export function pl061Target(): Target {
  const target: Target = {
    name: "pl061",
    title: "PL061 GPIO",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new Pl061Session(world, target),
  };
  return target;
}
