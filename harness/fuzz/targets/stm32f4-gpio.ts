// Fuzz target: the STM32F4 GPIO driver (assembly/stm32f4/gpio.ts) on GPIOA of the STM32F405
// board (the debug pins' reset values, the board's pull-up on PA4), behind its RCC clock gate.
// The simple model: each pin's configuration fields as the calls asked for them (unless the pin
// is locked), the output latch as BSRR writes leave it, and the lock.
import fc from "fast-check";
import { Stm32GpioModel, type Stm32GpioPort } from "../../devices/stm32f4/gpio.js";
import { GPIO_MAP, GPIO_MODER, GPIO_OTYPER, GPIO_OSPEEDR, GPIO_PUPDR, GPIO_BSRR, GPIO_AFRL, GPIO_AFRH } from "../../generated/gpio.js";
import {
  OK, ERR_INVALID_ARG, ERR_LOCK_FAILED,
  STM32_GPIO_PINS_MASK, STM32_GPIO_PIN_MAX, STM32_GPIO_MODE_MASK, STM32_GPIO_MODE_AF, STM32_GPIO_OPEN_DRAIN,
  STM32_GPIO_SPEED_MASK, STM32_GPIO_SPEED_SHIFT, STM32_GPIO_PULL_MASK, STM32_GPIO_PULL_SHIFT, STM32_GPIO_AF_MASK,
  STM32_GPIO_AF_SHIFT, STM32_GPIO_CONFIG_VALID_MASK,
} from "../../generated/api.js";
import type { World } from "../world.js";
import { anyU32, describeCommon, num, respondSteps, respondTargets, showResult, waitStep, type ExportSpec, type Step, type StepOptions, type Target } from "../target.js";
import { RCC_EXPORTS, Stm32Session, clockSteps, describeClockStep, optionOf, regionOf, stm32f4Module, type GatedRegion } from "./stm32f4-board.js";

const REGION = "gpioa";
const BASE = regionOf(REGION).base;

const EXPORTS: readonly ExportSpec[] = [
  ...RCC_EXPORTS,
  // Five read-modify-writes.
  { name: "stm32_gpio_configure", statuses: [OK, ERR_INVALID_ARG], budget: () => 10 },
  { name: "stm32_gpio_write", statuses: [OK, ERR_INVALID_ARG], budget: () => 1 },
  { name: "stm32_gpio_toggle", statuses: [OK, ERR_INVALID_ARG], budget: () => 2 },
  { name: "stm32_gpio_read", statuses: [ERR_INVALID_ARG], count: () => STM32_GPIO_PINS_MASK, budget: () => 1 },
  { name: "stm32_gpio_lock", statuses: [OK, ERR_INVALID_ARG, ERR_LOCK_FAILED], budget: () => 5 },
];

/** Why a configure call must be refused, or null (the config table of docs/drivers/stm32f4.md). */
function configRefusal(pin: number, config: number): string | null {
  if (pin > STM32_GPIO_PIN_MAX) return `pin ${pin} > 15`;
  if ((config & ~STM32_GPIO_CONFIG_VALID_MASK) !== 0) return "reserved config bits";
  if (((config & STM32_GPIO_PULL_MASK) >>> STM32_GPIO_PULL_SHIFT) === 3) return "pull code 3 (reserved, RM0090 §8.4.4)";
  if ((config & STM32_GPIO_AF_MASK) !== 0 && (config & STM32_GPIO_MODE_MASK) !== STM32_GPIO_MODE_AF) return "an alternate function without the AF mode";
  return null;
}

/** The configuration registers, the order the driver must leave MODER to (last). */
const CONFIG_REGISTERS = new Set([GPIO_OTYPER, GPIO_OSPEEDR, GPIO_PUPDR, GPIO_AFRL, GPIO_AFRH]);

class GpioSession extends Stm32Session {
  readonly gpio: Stm32GpioModel;
  private readonly region: GatedRegion;
  /** Writes of the current call: offset and value. */
  private readonly writes: [number, number][] = [];

  constructor(world: World, target: Target) {
    super(world, target);
    const r = regionOf(REGION);
    const port = String((r.device.options as Record<string, unknown>)["port"] ?? "A") as Stm32GpioPort;
    const pullUps = optionOf(r, "boardPullUps");
    this.gpio = new Stm32GpioModel({ clock: world.clock, port, boardPullUps: typeof pullUps === "number" ? pullUps : 0 });
    this.region = this.board.map(REGION, this.gpio, GPIO_MAP);
    this.region.device.onWrite = (offset, value) => this.writes.push([offset, value >>> 0]);
  }

  protected get block(): GatedRegion {
    return this.region;
  }

  protected resetBlock(): void {
    this.gpio.reset();
    for (let pin = 0; pin <= STM32_GPIO_PIN_MAX; pin++) this.gpio.drive(pin, null);
    this.gpio.pinEvents.length = 0;
    this.gpio.lockedWrites = 0;
    this.gpio.lockAborts = 0;
  }

  protected onBlockReset(): void {}

  protected override beforeCall(name: string): void {
    super.beforeCall(name);
    this.writes.length = 0;
  }

  check(): boolean {
    return true;
  }

  run(step: Step): void {
    if (this.runCommon(step) || this.runClock(step)) return;
    if (step.op === "drive") {
      this.gpio.driveInputs(num(step, "mask") & STM32_GPIO_PINS_MASK, num(step, "levels"));
      return;
    }
    this.setup();
    const base = num(step, "base");
    const unaligned = (base & 3) !== 0;
    switch (step.op) {
      case "configure": return this.configure(base, num(step, "pin"), num(step, "config"));
      case "write": return this.write(base, num(step, "mask"), num(step, "value"));
      case "toggle": return this.toggle(base, num(step, "mask"));
      case "read": {
        const result = this.callBlock("stm32_gpio_read", [base]);
        if (unaligned) return this.refused("stm32_gpio_read", result, "an unaligned base");
        if (this.judged && result !== this.gpio.pins) this.fail("stm32_gpio_read", `stm32_gpio_read returned 0x${(result >>> 0).toString(16)}; the pins are at 0x${this.gpio.pins.toString(16)}`);
        return;
      }
      case "lock": return this.lock(base, num(step, "mask"));
      default: throw new Error(`stm32f4-gpio: unknown step ${step.op}`);
    }
  }

  private refused(call: string, result: number, why: string): void {
    if (result !== ERR_INVALID_ARG) this.fail(call, `${call} with ${why} returned ${showResult(result)}; expected ERR_INVALID_ARG`);
  }

  private configure(base: number, pin: number, config: number): void {
    const g = this.gpio;
    const before = { moder: g.moder, otyper: g.otyper, ospeedr: g.ospeedr, pupdr: g.pupdr, afrl: g.afrl, afrh: g.afrh };
    const result = this.callBlock("stm32_gpio_configure", [base, pin, config]);
    const refusal = (base & 3) !== 0 ? "an unaligned base" : configRefusal(pin >>> 0, config >>> 0);
    if (refusal !== null) return this.refused("stm32_gpio_configure", result, refusal);
    // MODER last: until then the pin keeps its old mode (docs/drivers/stm32f4.md, RM0090 §8.3.2).
    const moderAt = this.writes.findIndex(([o]) => o === GPIO_MODER);
    if (moderAt >= 0 && this.writes.slice(moderAt + 1).some(([o]) => CONFIG_REGISTERS.has(o))) {
      this.protocol("stm32_gpio_configure", `stm32_gpio_configure wrote ${this.writes.slice(moderAt + 1).map(([o]) => `+0x${o.toString(16)}`).join(", ")} after MODER: the pin ran with half of its new configuration`);
    }
    if (!this.judged) return;
    if (result !== OK) this.fail("stm32_gpio_configure", `stm32_gpio_configure returned ${showResult(result)} for a valid config`);
    const locked = g.locked && ((g.lckr >>> pin) & 1) !== 0;
    const two = 3 * 4 ** pin;
    const field2 = (v: number): number => ((v & 3) * 4 ** pin) >>> 0;
    const four = pin < 8 ? 0xf * 16 ** pin : 0xf * 16 ** (pin - 8);
    const field4 = (v: number): number => ((v & 0xf) * (pin < 8 ? 16 ** pin : 16 ** (pin - 8))) >>> 0;
    const want = locked ? before : {
      moder: ((before.moder & ~two) | field2(config & STM32_GPIO_MODE_MASK)) >>> 0,
      otyper: ((before.otyper & ~(1 << pin)) | ((config & STM32_GPIO_OPEN_DRAIN) !== 0 ? 1 << pin : 0)) >>> 0,
      ospeedr: ((before.ospeedr & ~two) | field2((config & STM32_GPIO_SPEED_MASK) >>> STM32_GPIO_SPEED_SHIFT)) >>> 0,
      pupdr: ((before.pupdr & ~two) | field2((config & STM32_GPIO_PULL_MASK) >>> STM32_GPIO_PULL_SHIFT)) >>> 0,
      afrl: pin < 8 ? ((before.afrl & ~four) | field4((config & STM32_GPIO_AF_MASK) >>> STM32_GPIO_AF_SHIFT)) >>> 0 : before.afrl,
      afrh: pin >= 8 ? ((before.afrh & ~four) | field4((config & STM32_GPIO_AF_MASK) >>> STM32_GPIO_AF_SHIFT)) >>> 0 : before.afrh,
    };
    const now = { moder: g.moder, otyper: g.otyper, ospeedr: g.ospeedr, pupdr: g.pupdr, afrl: g.afrl, afrh: g.afrh };
    for (const k of Object.keys(want) as (keyof typeof want)[]) {
      if (now[k] !== want[k]) this.fail("stm32_gpio_configure", `stm32_gpio_configure(pin ${pin}, config 0x${config.toString(16)}) left ${k.toUpperCase()} = 0x${now[k].toString(16)}; expected 0x${want[k].toString(16)}${locked ? " (the pin is locked)" : ""}: only that pin's fields may change`);
    }
  }

  private write(base: number, mask: number, value: number): void {
    const odr = this.gpio.odr;
    const result = this.callBlock("stm32_gpio_write", [base, mask, value]);
    if ((base & 3) !== 0 || (mask & ~STM32_GPIO_PINS_MASK) !== 0 || (value & ~STM32_GPIO_PINS_MASK) !== 0) return this.refused("stm32_gpio_write", result, "bits above 15 or an unaligned base");
    // Exactly one BSRR write: the pins to set in 15:0, those to clear in 31:16 (RM0090 §8.4.7).
    const bsrr = ((mask & value) | ((mask & ~value & STM32_GPIO_PINS_MASK) << 16)) >>> 0;
    if (this.writes.length !== 1 || this.writes[0]![0] !== GPIO_BSRR || this.writes[0]![1] !== bsrr) {
      this.fail("stm32_gpio_write", `stm32_gpio_write(mask 0x${mask.toString(16)}, value 0x${value.toString(16)}) wrote ${this.shownWrites()}; expected exactly one BSRR write of 0x${bsrr.toString(16)}`);
    }
    if (!this.judged) return;
    const want = ((odr & ~mask) | (value & mask)) & STM32_GPIO_PINS_MASK;
    if (result !== OK || this.gpio.odr !== want) this.fail("stm32_gpio_write", `after stm32_gpio_write ODR = 0x${this.gpio.odr.toString(16)}; expected 0x${want.toString(16)}`);
  }

  private toggle(base: number, mask: number): void {
    const odr = this.gpio.odr;
    const result = this.callBlock("stm32_gpio_toggle", [base, mask]);
    if ((base & 3) !== 0 || (mask & ~STM32_GPIO_PINS_MASK) !== 0) return this.refused("stm32_gpio_toggle", result, "bits above 15 or an unaligned base");
    if (this.writes.length !== 1 || this.writes[0]![0] !== GPIO_BSRR) this.fail("stm32_gpio_toggle", `stm32_gpio_toggle wrote ${this.shownWrites()}; expected one BSRR write (ODR is never written)`);
    if (!this.judged) return;
    const want = (odr ^ mask) & STM32_GPIO_PINS_MASK;
    if (result !== OK || this.gpio.odr !== want) this.fail("stm32_gpio_toggle", `after stm32_gpio_toggle(0x${mask.toString(16)}) ODR = 0x${this.gpio.odr.toString(16)}; expected 0x${want.toString(16)}`);
  }

  private lock(base: number, mask: number): void {
    const wasLocked = this.gpio.locked;
    const result = this.callBlock("stm32_gpio_lock", [base, mask]);
    if ((base & 3) !== 0 || (mask & ~STM32_GPIO_PINS_MASK) !== 0) return this.refused("stm32_gpio_lock", result, "bits above 15 or an unaligned base");
    if (!this.judged) return;
    // A locked port takes no second key sequence (RM0090 §8.4.8) but LCKK still reads 1.
    if (!this.gpio.locked || result !== OK) this.fail("stm32_gpio_lock", `stm32_gpio_lock(0x${mask.toString(16)}) returned ${showResult(result)} and the port is ${this.gpio.locked ? "" : "not "}locked${wasLocked ? " (it was already)" : ""}: the key sequence of RM0090 §8.4.8 locks it`);
    if (!wasLocked && (this.gpio.lckr & STM32_GPIO_PINS_MASK) !== mask) this.fail("stm32_gpio_lock", `LCKR holds 0x${this.gpio.lckr.toString(16)}; the lock asked for 0x${mask.toString(16)}`);
  }

  private shownWrites(): string {
    return this.writes.length === 0 ? "nothing" : this.writes.map(([o, v]) => `+0x${o.toString(16)} = 0x${v.toString(16)}`).join(", ");
  }

  finish(): void {}
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const base = fc.oneof({ weight: 20, arbitrary: fc.constant(BASE) }, { weight: 1, arbitrary: fc.constantFrom(BASE + 1, BASE + 2) });
  const mask = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: STM32_GPIO_PINS_MASK }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: STM32_GPIO_PIN_MAX }).map((p) => 1 << p) },
    { weight: 1, arbitrary: fc.constantFrom(0, STM32_GPIO_PINS_MASK, 0x10000, 0xffffffff) },
  );
  const pin = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: STM32_GPIO_PIN_MAX }) }, { weight: 1, arbitrary: fc.constantFrom(16, 31, 0xffffffff) });
  const config = fc.oneof(
    { weight: 8, arbitrary: fc.record({ mode: fc.integer({ min: 0, max: 3 }), od: fc.boolean(), speed: fc.integer({ min: 0, max: 3 }), pull: fc.integer({ min: 0, max: 2 }), af: fc.integer({ min: 0, max: 15 }) })
      .map((c) => c.mode | (c.od ? STM32_GPIO_OPEN_DRAIN : 0) | (c.speed << STM32_GPIO_SPEED_SHIFT) | (c.pull << STM32_GPIO_PULL_SHIFT) | (c.mode === STM32_GPIO_MODE_AF ? c.af << STM32_GPIO_AF_SHIFT : 0)) },
    // Refused: pull code 3, an AF number without the AF mode, reserved bits.
    { weight: 1, arbitrary: fc.constantFrom(STM32_GPIO_PULL_MASK, 1 << STM32_GPIO_AF_SHIFT, STM32_GPIO_CONFIG_VALID_MASK + 1) },
    { weight: 1, arbitrary: anyU32 },
  );
  const respond = respondSteps(respondTargets({ region: REGION, block: GPIO_MAP }, [["IDR", 2], ["ODR", 2], ["LCKR", 2], "MODER"]), options);
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ base, pin, config }).map((c): Step => ({ op: "configure", ...c })) },
    { weight: 5, arbitrary: fc.record({ base, mask, value: mask }).map((w): Step => ({ op: "write", ...w })) },
    { weight: 3, arbitrary: fc.record({ base, mask }).map((t): Step => ({ op: "toggle", ...t })) },
    { weight: 3, arbitrary: base.map((b): Step => ({ op: "read", base: b })) },
    { weight: 1, arbitrary: fc.record({ base, mask }).map((l): Step => ({ op: "lock", ...l })) },
    { weight: 3, arbitrary: fc.record({ mask: fc.integer({ min: 0, max: STM32_GPIO_PINS_MASK }), levels: fc.integer({ min: 0, max: STM32_GPIO_PINS_MASK }) }).map((d): Step => ({ op: "drive", ...d })) },
    { weight: 2, arbitrary: clockSteps },
    { weight: 2, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step) ?? describeClockStep(step);
  if (common !== null) return common;
  const h = (f: string): string => `0x${(num(step, f) >>> 0).toString(16)}`;
  const at = step["base"] === undefined || step["base"] === BASE ? "" : ` at base ${h("base")}`;
  switch (step.op) {
    case "configure": return `stm32_gpio_configure(pin ${num(step, "pin") >>> 0}, config ${h("config")})${at}`;
    case "write": return `stm32_gpio_write(mask ${h("mask")}, value ${h("value")})${at}`;
    case "toggle": return `stm32_gpio_toggle(mask ${h("mask")})${at}`;
    case "read": return `stm32_gpio_read()${at}`;
    case "lock": return `stm32_gpio_lock(mask ${h("mask")})${at}`;
    case "drive": return `outside, pins ${h("mask")} driven to ${h("levels")}`;
    default: return JSON.stringify(step);
  }
}

export function stm32f4GpioTarget(): Target {
  const target: Target = {
    name: "stm32f4-gpio",
    title: "STM32F4 GPIO (GPIOA of the STM32F405 board)",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new GpioSession(world, target),
    module: stm32f4Module(),
  };
  return target;
}
