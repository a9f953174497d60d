// Fuzz target: the STM32F4 RCC driver (assembly/stm32f4/rcc.ts) on the RCC of the STM32F405
// board, with GPIOB behind its clock gate (to see a reset land). The clock tree is set by
// firmware steps (CFGR prescalers, HSE and the PLL started and selected directly in the model),
// as the code before the drivers would. The simple model: each enable register's bits as the
// calls left them, and the bus frequencies computed from RM0090 §7.2 / §7.3.2-7.3.3.
import fc from "fast-check";
import { Stm32GpioModel } from "../../devices/stm32f4/gpio.js";
import { GPIO_MAP, GPIO_ODR } from "../../generated/gpio.js";
import {
  RCC_MAP, RCC_CR, RCC_CR_HSEON, RCC_CR_PLLON, RCC_PLLCFGR, RCC_CFGR, RCC_AHB1ENR, RCC_AHB2ENR, RCC_AHB3ENR,
  RCC_APB1ENR, RCC_APB2ENR,
} from "../../generated/rcc.js";
import {
  OK, ERR_INVALID_ARG, ERR_CLOCK_CONFIG, STM32_BUS_AHB, STM32_BUS_APB1, STM32_BUS_APB2, STM32_HSI_HZ,
  STM32_CLOCK_GPIOA, STM32_CLOCK_GPIOB, STM32_CLOCK_DMA2, STM32_CLOCK_USART2, STM32_CLOCK_USART1, STM32_CLOCK_SPI1,
  STM32_CLOCK_SYSCFG, STM32_CLOCK_REGISTER_SHIFT, STM32_CLOCK_BIT_MASK,
} from "../../generated/api.js";
import type { World } from "../world.js";
import { anyU32, describeCommon, num, respondSteps, respondTargets, showResult, waitStep, type ExportSpec, type Step, type StepOptions, type Target } from "../target.js";
import { RCC_EXPORTS, Stm32Session, clockTreeStep, describeClockStep, regionOf, stm32f4Module, type GatedRegion } from "./stm32f4-board.js";

const RCC_BASE = regionOf("rcc").base;
const ENABLE_REGISTERS = [RCC_AHB1ENR, RCC_AHB2ENR, RCC_AHB3ENR, RCC_APB1ENR, RCC_APB2ENR] as const;

const EXPORTS: readonly ExportSpec[] = [
  ...RCC_EXPORTS,
  { name: "stm32_rcc_bus_clock_hz", statuses: [ERR_INVALID_ARG, ERR_CLOCK_CONFIG], count: () => 0x7fffffff, budget: () => 2 },
];

/** The named bits of an enable register: the bits a clock id may name (RM0090 §7.3.10-7.3.14). */
function namedBits(offset: number): number {
  const reg = RCC_MAP.registers.find((r) => r.offset === offset);
  let bits = 0;
  for (const f of reg?.fields ?? []) if (f.msb === f.lsb) bits |= 2 ** f.lsb;
  return bits >>> 0;
}

/** The reset register's named bits, for the enable register at `offset` (0x20 below it). */
function resetBits(offset: number): number {
  return namedBits(offset - 0x20);
}

/** What RM0090 §7.2 and §7.3.2-7.3.3 give for a bus from CFGR and PLLCFGR, in whole Hz (the
 * driver's integer arithmetic: floor of the exact value), or ERR_CLOCK_CONFIG. */
export function busClockFromRegisters(cfgr: number, pllcfgr: number, hseHz: number, bus: number): number {
  const sws = (cfgr >>> 2) & 3;
  let numerator: number;
  let denominator = 1;
  if (sws === 0) numerator = STM32_HSI_HZ;
  else if (sws === 1) {
    if (hseHz === 0) return ERR_CLOCK_CONFIG;
    numerator = hseHz;
  } else if (sws === 2) {
    const fromHse = ((pllcfgr >>> 22) & 1) === 1;
    if (fromHse && hseHz === 0) return ERR_CLOCK_CONFIG;
    const m = pllcfgr & 0x3f;
    const n = (pllcfgr >>> 6) & 0x1ff;
    const p = (((pllcfgr >>> 16) & 3) + 1) * 2;
    if (m === 0 || n === 0) return ERR_CLOCK_CONFIG;
    numerator = (fromHse ? hseHz : STM32_HSI_HZ) * n;
    denominator = m * p;
  } else return ERR_CLOCK_CONFIG;
  const hpre = (cfgr >>> 4) & 0xf;
  denominator *= hpre < 8 ? 1 : [2, 4, 8, 16, 64, 128, 256, 512][hpre - 8]!;
  const ppre = bus === STM32_BUS_APB1 ? (cfgr >>> 10) & 7 : bus === STM32_BUS_APB2 ? (cfgr >>> 13) & 7 : 0;
  denominator *= ppre < 4 ? 1 : [2, 4, 8, 16][ppre - 4]!;
  const hz = Math.floor(numerator / denominator);
  return hz > 0x7fffffff ? ERR_CLOCK_CONFIG : hz;
}

/** PLL settings firmware might leave: 8 MHz HSE / 8 x 336 / 2 = 168 MHz, HSI / 16 x 192 / 4,
 * and some a driver must survive (PLLM = 0, PLLN = 0, a result above 2^31 Hz). */
const PLLS = [
  (1 << 22) | 8 | (336 << 6),
  16 | (192 << 6) | (1 << 16),
  (1 << 22) | 4 | (432 << 6),
  0 | (336 << 6),
  8 | (0 << 6),
  (1 << 22) | 2 | (511 << 6),
] as const;

class RccSession extends Stm32Session {
  private readonly gpio: Stm32GpioModel;
  private readonly region: GatedRegion;

  constructor(world: World, target: Target) {
    super(world, target);
    this.gpio = new Stm32GpioModel({ clock: world.clock, port: "B" });
    this.region = this.board.map("gpiob", this.gpio, GPIO_MAP);
    // The case starts without a setup call: the RCC has no clock of its own to enable.
    this.setUp = true;
  }

  protected get block(): GatedRegion {
    return this.region;
  }

  protected resetBlock(): void {
    this.gpio.reset();
    this.setUp = true;
  }

  protected onBlockReset(): void {}

  check(): boolean {
    return true;
  }

  run(step: Step): void {
    if (this.runCommon(step) || this.runClock(step)) return;
    const rcc = this.board.rcc;
    switch (step.op) {
      case "pll": {
        // Firmware: HSE on, the PLL configured and started, then selected once locked.
        rcc.write(RCC_CR, rcc.read(RCC_CR, 4) | RCC_CR_HSEON | RCC_CR_PLLON, 4);
        rcc.write(RCC_PLLCFGR, PLLS[num(step, "pll")]!, 4);
        this.world.bus.settle(rcc.pllLockNs + rcc.hseStartupNs);
        rcc.write(RCC_CFGR, (rcc.read(RCC_CFGR, 4) & ~3) | num(step, "sw"), 4);
        return;
      }
      case "enable": case "disable": case "reset": return this.change(step.op, num(step, "clock"));
      case "bus": return this.bus(num(step, "hse"), num(step, "bus"));
      case "enable-use": {
        // What firmware does: enable the port's clock, then touch it at once. The first access
        // must land: the enable-delay erratum (ES0182 2.1.13) is the driver's to cover (a DSB).
        this.change("enable", STM32_CLOCK_GPIOB);
        const gate = this.region.gate;
        const reason = this.board.rcc.blockedReason(gate);
        this.region.device.write(GPIO_ODR, num(step, "value"), 4);
        if (reason === "enable-delay" && !this.world.overridden) {
          this.fail("stm32_rcc_enable", `firmware's first write to GPIOB (ODR) right after stm32_rcc_enable(GPIOB) returned was lost: the port was not usable yet (the enable-delay erratum, ES0182 2.1.13), so stm32_rcc_enable must end with a DSB`);
        }
        return;
      }
      case "poke": {
        // Firmware touches a pin of GPIOB: it lands only while the port's clock is on.
        this.region.device.write(GPIO_ODR, num(step, "value"), 4);
        return;
      }
      default: throw new Error(`stm32f4-rcc: unknown step ${step.op}`);
    }
  }

  private change(action: "enable" | "disable" | "reset", clock: number): void {
    const name = `stm32_rcc_${action}`;
    const rcc = this.board.rcc;
    const before = ENABLE_REGISTERS.map((o) => rcc.read(o, 4));
    const resetsBefore = ENABLE_REGISTERS.map((o) => rcc.read(o - 0x20, 4));
    const odrBefore = this.gpio.odr;
    const result = this.call(name, [RCC_BASE, clock]);
    const offset = (clock >>> STM32_CLOCK_REGISTER_SHIFT) >>> 0;
    const index = ENABLE_REGISTERS.indexOf(offset as (typeof ENABLE_REGISTERS)[number]);
    const bit = 2 ** (clock & STM32_CLOCK_BIT_MASK);
    const reservedBits = (clock & ~((0xff << STM32_CLOCK_REGISTER_SHIFT) | STM32_CLOCK_BIT_MASK)) >>> 0;
    const valid = reservedBits === 0 && index >= 0 && (namedBits(offset) & bit) !== 0 && (action !== "reset" || (resetBits(offset) & bit) !== 0);
    if (!valid) {
      if (result !== ERR_INVALID_ARG) this.fail(name, `${name}(0x${(clock >>> 0).toString(16)}) returned ${showResult(result)}; the id names no ${action === "reset" ? "reset" : "enable"} bit (RM0090 §7.3.5-7.3.14): expected ERR_INVALID_ARG`);
      return;
    }
    if (this.world.overridden) return;
    if (result !== OK) this.fail(name, `${name}(0x${clock.toString(16)}) returned ${showResult(result)}`);
    const after = ENABLE_REGISTERS.map((o) => rcc.read(o, 4));
    const resetsAfter = ENABLE_REGISTERS.map((o) => rcc.read(o - 0x20, 4));
    const want = before.slice();
    if (action === "enable") want[index] = (want[index]! | bit) >>> 0;
    if (action === "disable") want[index] = (want[index]! & ~bit) >>> 0;
    for (let i = 0; i < ENABLE_REGISTERS.length; i++) {
      if (after[i] !== want[i]) this.fail(name, `${name}(0x${clock.toString(16)}) left the enable register at +0x${ENABLE_REGISTERS[i]!.toString(16)} = 0x${after[i]!.toString(16)}; expected 0x${want[i]!.toString(16)}: only the id's bit may change`);
      if (resetsAfter[i] !== resetsBefore[i]) this.fail(name, `${name} left the reset register at +0x${(ENABLE_REGISTERS[i]! - 0x20).toString(16)} = 0x${resetsAfter[i]!.toString(16)}, was 0x${resetsBefore[i]!.toString(16)}: a reset must release the block again`);
    }
    if (action === "reset" && clock === STM32_CLOCK_GPIOB && this.gpio.odr !== 0) this.fail(name, `GPIOB's ODR is 0x${this.gpio.odr.toString(16)} after its reset (was 0x${odrBefore.toString(16)}): the reset bit was not pulsed (RM0090 §7.3.5)`);
  }

  private bus(hse: number, bus: number): void {
    const rcc = this.board.rcc;
    const result = this.call("stm32_rcc_bus_clock_hz", [RCC_BASE, hse, bus]);
    if ((bus >>> 0) > STM32_BUS_APB2) {
      if (result !== ERR_INVALID_ARG) this.fail("stm32_rcc_bus_clock_hz", `bus ${bus >>> 0} is none of AHB, APB1, APB2; stm32_rcc_bus_clock_hz returned ${showResult(result)}`);
      return;
    }
    if (this.world.overridden) return;
    const want = busClockFromRegisters(rcc.read(RCC_CFGR, 4), rcc.read(RCC_PLLCFGR, 4), hse >>> 0, bus);
    if (result !== want) this.fail("stm32_rcc_bus_clock_hz", `stm32_rcc_bus_clock_hz(HSE ${hse >>> 0} Hz, bus ${["AHB", "APB1", "APB2"][bus]}) returned ${showResult(result)}; CFGR 0x${rcc.read(RCC_CFGR, 4).toString(16)} and PLLCFGR 0x${rcc.read(RCC_PLLCFGR, 4).toString(16)} give ${showResult(want)} (RM0090 §7.2, §7.3.2-7.3.3)`);
    // The model's own clock tree agrees when the driver was told the board's HSE.
    const model = rcc.busClockHz(bus === STM32_BUS_AHB ? "ahb" : bus === STM32_BUS_APB1 ? "apb1" : "apb2");
    if (hse === rcc.hseHz && want > 0 && model >= 1 && Math.abs(model - want) >= 1) this.fail("stm32_rcc_bus_clock_hz", `the RCC model runs this bus at ${model} Hz; the registers give ${want} Hz`);
  }

  finish(): void {}
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const known = [STM32_CLOCK_GPIOA, STM32_CLOCK_GPIOB, STM32_CLOCK_DMA2, STM32_CLOCK_USART2, STM32_CLOCK_USART1, STM32_CLOCK_SPI1, STM32_CLOCK_SYSCFG];
  const clock = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    // Any bit of any of the five enable registers: named ones are accepted, the others refused.
    { weight: 4, arbitrary: fc.record({ r: fc.constantFrom(...ENABLE_REGISTERS), bit: fc.integer({ min: 0, max: 31 }) }).map(({ r, bit }) => (r << STM32_CLOCK_REGISTER_SHIFT) | bit) },
    { weight: 1, arbitrary: fc.constantFrom(0, 0x3020, 0x4800, 0x13000, 0x10 << STM32_CLOCK_REGISTER_SHIFT) },
    { weight: 1, arbitrary: anyU32 },
  );
  const change = fc.record({ op: fc.constantFrom("enable", "disable", "reset"), clock }).map((c): Step => ({ op: c.op, clock: c.clock }));
  const bus = fc.record({
    hse: fc.oneof({ weight: 6, arbitrary: fc.constant(8_000_000) }, { weight: 2, arbitrary: fc.constantFrom(0, 25_000_000, 0xffffffff) }, { weight: 1, arbitrary: anyU32 }),
    bus: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 1, arbitrary: fc.constantFrom(3, 0xffffffff) }),
  }).map((b): Step => ({ op: "bus", ...b }));
  const pll = fc.record({ pll: fc.integer({ min: 0, max: PLLS.length - 1 }), sw: fc.integer({ min: 0, max: 2 }) }).map((p): Step => ({ op: "pll", ...p }));
  const respond = respondSteps(respondTargets({ region: "rcc", block: RCC_MAP }, [["CFGR", 3], ["CR", 1], ["PLLCFGR", 1], ["AHB1ENR", 1], ["APB1ENR", 1]]), options);
  return fc.oneof(
    { weight: 6, arbitrary: change },
    { weight: 4, arbitrary: bus },
    { weight: 2, arbitrary: pll },
    { weight: 2, arbitrary: clockTreeStep },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((value): Step => ({ op: "poke", value })) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((value): Step => ({ op: "enable-use", value })) },
    { weight: 2, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step) ?? describeClockStep(step);
  if (common !== null) return common;
  switch (step.op) {
    case "enable": case "disable": case "reset": return `stm32_rcc_${step.op}(clock 0x${(num(step, "clock") >>> 0).toString(16)})`;
    case "bus": return `stm32_rcc_bus_clock_hz(HSE ${num(step, "hse") >>> 0} Hz, bus ${num(step, "bus") >>> 0})`;
    case "pll": return `firmware starts HSE and PLLCFGR 0x${PLLS[num(step, "pll")]!.toString(16)}, SW = ${num(step, "sw")}`;
    case "poke": return `firmware writes GPIOB ODR = 0x${num(step, "value").toString(16)}`;
    case "enable-use": return `stm32_rcc_enable(GPIOB), then firmware writes GPIOB ODR = 0x${num(step, "value").toString(16)} at once`;
    default: return JSON.stringify(step);
  }
}

export function stm32f4RccTarget(): Target {
  const target: Target = {
    name: "stm32f4-rcc",
    title: "STM32F4 RCC (clock enables, resets, bus clocks)",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new RccSession(world, target),
    module: stm32f4Module(),
  };
  return target;
}
