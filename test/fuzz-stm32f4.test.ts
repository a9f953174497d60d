// The STM32F4 fuzz targets (harness/fuzz/targets/stm32f4*.ts, docs/fuzzing.md "The STM32F4
// targets"): they fuzz build/stm32f4.wasm on the STM32F405 board's addresses and clock gates, the
// legality rules they rely on hold, the open driver findings they made are reproduced case by
// case, and a fixed-seed run of each finds nothing else.
import { describe, expect, it } from "vitest";
import { addFuzzTargets, targetByName, targetModule } from "../harness/fuzz/target-table.js";
import { fuzzTarget } from "../harness/fuzz/runner.js";
import { Fuzzer, findingKey, type Finding } from "../harness/fuzz/engine.js";
import type { Step } from "../harness/fuzz/target.js";
import { registerLegality, illegality } from "../harness/fuzz/legal.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { DMA_MAP } from "../harness/generated/dma.js";
import { GPIO_MAP } from "../harness/generated/gpio.js";
import STM32F4_TARGETS, { STM32F4_TARGET_NAMES } from "../harness/fuzz/targets/stm32f4.js";
import { spiBaudCode } from "../harness/fuzz/targets/stm32f4-spi.js";
import { usartInitVerdict } from "../harness/fuzz/targets/stm32f4-usart.js";
import { memcpyRefusal } from "../harness/fuzz/targets/stm32f4-dma.js";
import { busClockFromRegisters } from "../harness/fuzz/targets/stm32f4-rcc.js";
import { OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_CLOCK_CONFIG, STM32_BUS_APB1 } from "../harness/generated/api.js";

addFuzzTargets(STM32F4_TARGETS, null);

const SEED = 20240611;
const USART2 = 0x4000_4400;
const SPI1 = 0x4001_3000;
const show = (f: Finding): string => `[${f.world}] ${f.target} ${f.property} in ${f.call}: ${f.message}\n  ${f.story.join("\n  ")}`;

/** Runs one case of a target on build/stm32f4.wasm; the failure, or null. */
function runCase(target: string, steps: Step[]) {
  const t = targetByName(target);
  return new Fuzzer(t, t.module).runCase({ target, steps }).failure;
}

describe("the STM32F4 targets", () => {
  it("fuzz the family's own module, build/stm32f4.wasm", () => {
    for (const name of STM32F4_TARGET_NAMES) expect(targetModule(name)).toMatch(/build[\\/]stm32f4\.wasm$/);
  });

  it("start each case with the block's clock enabled, and judge nothing the gate kept away when it is left off", () => {
    const init: Step = { op: "init", base: USART2, pclk: -1, baud: 115200, config: 0 };
    expect(runCase("stm32f4-usart", [init, { op: "read", base: USART2, at: "scratch", cap: 4 }])).toBeNull();
    expect(runCase("stm32f4-usart", [{ op: "clock", action: "off" }, init, { op: "read", base: USART2, at: "scratch", cap: 4 }])).toBeNull();
  });
});

describe("the simple models, from RM0090's own numbers", () => {
  it("USART BRR (RM0090 §30.3.4 at 16 MHz): 115200 baud is 0x8B, 0x113 with OVER8; 16 MHz at 1.5 Mbaud with OVER8 is off by 3 %", () => {
    expect(usartInitVerdict(USART2, 16_000_000, 115200, 0)).toEqual({ status: OK, brr: 0x8b });
    expect(usartInitVerdict(USART2, 16_000_000, 115200, 0x20)).toEqual({ status: OK, brr: 0x113 });
    expect(usartInitVerdict(USART2, 16_000_000, 1_500_000, 0x20).status).toBe(ERR_UNREACHABLE_RATE);
    expect(usartInitVerdict(USART2, 16_000_000, 115200, 0x06).status).toBe(ERR_INVALID_ARG);
  });

  it("SPI BR (RM0090 §28.5.1): the fastest f_PCLK / 2^(BR+1) not above max_hz, compared exactly", () => {
    expect(spiBaudCode(16_000_000, 1_000_000)).toBe(3);
    expect(spiBaudCode(84_000_000, 10_000_000)).toBe(3);
    expect(spiBaudCode(255, 127)).toBe(1); // 127.5 Hz is above 127
    expect(spiBaudCode(16_000_000, 62_499)).toBeNull();
  });

  it("DMA memory to memory refusals (RM0090 §10.3.9-10.3.13, Table 49)", () => {
    expect(memcpyRefusal(0, 0x2000_1000, 0x2000_0000, 64, 0)).toBeNull();
    expect(memcpyRefusal(0, 0x2000_1000, 0x2000_0000, 64, 0x2000)).toMatch(/circular/);
    // Word items, INCR8 memory bursts: 32 bytes, more than the FIFO.
    expect(memcpyRefusal(0, 0x2000_1000, 0x2000_0000, 64, 0x2 | 0x8 | (2 << 6) | 0x1800)).toMatch(/burst/);
    expect(memcpyRefusal(0, 0x2000_1001, 0x2000_0000, 64, 0x8)).toMatch(/aligned/);
  });

  it("bus clocks (RM0090 §7.2, §7.3.2-7.3.3): 8 MHz HSE / 8 x 336 / 2 = 168 MHz, APB1 / 4 = 42 MHz", () => {
    const pll = (1 << 22) | 8 | (336 << 6);
    const cfgr = (2 << 2) | (0b101 << 10) | (0b100 << 13);
    expect(busClockFromRegisters(cfgr, pll, 8_000_000, STM32_BUS_APB1)).toBe(42_000_000);
    expect(busClockFromRegisters(3 << 2, 0, 8_000_000, STM32_BUS_APB1)).toBe(ERR_CLOCK_CONFIG);
  });
});

describe("legal values for the STM32F4 blocks", () => {
  const reg = (map: typeof DMA_MAP, name: string) => registerLegality(map, map.registers.find((r) => r.name === name)!);

  it("a DMA stream clears EN and counts NDTR itself (RM0090 §10.5.5, §10.5.6); its addresses are storage", () => {
    expect(reg(DMA_MAP, "S3CR").hardware & 1).toBe(1);
    expect(reg(DMA_MAP, "S5NDTR").hardware).toBe(0xffff);
    expect(reg(DMA_MAP, "S2PAR").hardware).toBe(0);
    expect(illegality(reg(DMA_MAP, "S2PAR"), 0x40, 0x2000_0000, 0x2000_0004)).toMatch(/only returns what was written/);
  });

  it("GPIO LCKK is set by the lock sequence (RM0090 §8.4.8), IDR follows the pins", () => {
    expect(reg(GPIO_MAP, "LCKR").hardware).toBe(1 << 16);
    expect(reg(GPIO_MAP, "IDR").hardware).toBe(0xffff);
  });

  it("the PrimeCell tables still apply to their blocks", () => {
    const fr = registerLegality(PL011_MAP, PL011_MAP.registers.find((r) => r.name === "FR")!);
    expect(fr.rules.length).toBeGreaterThan(0);
  });
});

// What the targets found in the drivers, kept as regressions: each case failed on the driver as
// first written (against RM0090) and passes on the fixed one.
describe("findings in the STM32F4 drivers, fixed", () => {
  const init: Step = { op: "init", base: USART2, pclk: -1, baud: 115200, config: 0 };
  const read: Step = { op: "read", base: USART2, at: "scratch", cap: 4 };

  it("stm32_usart_set_dma clears TC by SR = ~TC, the rc_w0 idiom (RM0090 §30.6.1), which the fuzzer's lint takes as it", () => {
    expect(runCase("stm32f4-usart", [{ op: "dma", base: USART2, flags: 1 }])).toBeNull();
  });

  it("stm32_usart_read with a parity error and an overrun behind it reports both, one call each (RM0090 §30.6.1)", () => {
    const steps: Step[] = [init, { op: "receive", data: [1, 2], error: "parity" }, { op: "pause", ns: 1_000_000 }, read, read, read];
    expect(runCase("stm32f4-usart", steps)).toBeNull();
  });

  it("a parity error that stm32_usart_write's SR poll and DR write clear (RM0090 §30.6.1: PE clears on a DR write too) is reported by the next read", () => {
    const steps: Step[] = [init, { op: "receive", data: [1], error: "parity" }, { op: "pause", ns: 100_000 }, { op: "write", base: USART2, at: "scratch", data: [7] }, read, read];
    expect(runCase("stm32f4-usart", steps)).toBeNull();
  });

  it("stm32_spi_init never picks a rate above max_hz: 255 Hz and at most 127 Hz gives 63.75 Hz (BR 1), not 127.5 Hz (RM0090 §28.5.1)", () => {
    expect(runCase("stm32f4-spi", [{ op: "init", base: SPI1, pclk: 255, max: 127, config: 0 }])).toBeNull();
  });

  it("stm32_spi_transfer on an SPI that is off sends nothing and returns ERR_DISABLED, so the next init starts with an empty TX buffer", () => {
    const steps: Step[] = [
      { op: "transfer", base: SPI1, at: "scratch", tx: false, rx: false, len: 1, data: [] },
      { op: "init", base: SPI1, pclk: -1, max: 1_000_000, config: 0 },
    ];
    expect(runCase("stm32f4-spi", steps)).toBeNull();
  });
});

/** Findings the fuzz runs below know of and do not count: none is open. */
const OPEN: string[] = [];

describe("fuzzing the drivers of build/stm32f4.wasm", () => {
  const runs: Record<(typeof STM32F4_TARGET_NAMES)[number], number> = {
    "stm32f4-rcc": 600, "stm32f4-gpio": 600, "stm32f4-usart": 400, "stm32f4-spi": 250, "stm32f4-dma": 600,
  };
  for (const name of STM32F4_TARGET_NAMES) {
    it(`${name}: with legal device responses, no finding`, () => {
      const result = fuzzTarget(name, { runs: runs[name], seed: SEED, legalOnly: true, known: OPEN, shrinkMs: 60_000 });
      expect(result.findings.map(show)).toEqual([]);
      expect(result.runs).toBe(runs[name]);
      expect(result.findings.every((f) => !OPEN.includes(findingKey(f)))).toBe(true);
    }, 60_000);
  }
});
