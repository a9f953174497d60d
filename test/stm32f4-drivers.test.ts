// The STM32F4 drivers (assembly/stm32f4/) run through build/stm32f4.wasm against small scripted
// fake devices: register files that start from the reset values of the register maps and answer
// the flags a test sets. Expected values come from RM0090 (and, for the USART, the same IP's
// RM0041 §23), written out here: offsets, bit positions, the manual's worked BRR examples, the
// flag positions of the DMA streams, the request mapping of Tables 43 and 44. They are never
// computed by the code under test, nor taken from the generated constants.
import { describe, expect, it } from "vitest";
import { Bus, type Device } from "../harness/bus.js";
import { Hal } from "../harness/hal.js";
import { packageProject, packageRegistry } from "../harness/project.js";
import { OP_READ, OP_WRITE, OP_BARRIER, type TraceEntry } from "../harness/trace.js";
import type { RegisterBlock } from "../harness/regmap.js";
import { RCC_MAP } from "../harness/generated/rcc.js";
import { GPIO_MAP } from "../harness/generated/gpio.js";
import { USART_MAP } from "../harness/generated/usart.js";
import { SPI_MAP } from "../harness/generated/spi.js";
import { DMA_MAP } from "../harness/generated/dma.js";
import * as API from "../harness/generated/api.js";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_DMA, ERR_DMA_FIFO, ERR_LOCK_FAILED,
  ERR_RX_OVERRUN, ERR_RX_FRAMING, ERR_RX_PARITY, ERR_RX_NOISE, ERR_CLOCK_CONFIG,
  STM32_CLOCK_GPIOA, STM32_CLOCK_GPIOI, STM32_CLOCK_USART1, STM32_CLOCK_USART2, STM32_CLOCK_SPI1,
  STM32_CLOCK_DMA1, STM32_CLOCK_DMA2, STM32_CLOCK_SYSCFG,
  STM32_BUS_AHB, STM32_BUS_APB1, STM32_BUS_APB2,
  STM32_GPIO_MODE_OUTPUT, STM32_GPIO_MODE_AF, STM32_GPIO_MODE_INPUT, STM32_GPIO_OPEN_DRAIN,
  STM32_GPIO_SPEED_VERY_HIGH, STM32_GPIO_PULL_UP, STM32_GPIO_AF_SHIFT,
  STM32_USART_CONFIG_OVER8, STM32_USART_CONFIG_9_BITS, STM32_USART_CONFIG_PARITY_ODD, STM32_USART_CONFIG_STOP_2,
  STM32_USART_DMA_TX,
  STM32_SPI_CONFIG_MODE_3, STM32_SPI_CONFIG_16_BIT, STM32_SPI_CONFIG_LSB_FIRST,
  STM32_DMA_CONFIG_PSIZE_WORD, STM32_DMA_CONFIG_MSIZE_WORD, STM32_DMA_CONFIG_MSIZE_HALFWORD,
  STM32_DMA_CONFIG_FIFO, STM32_DMA_CONFIG_FTH_FULL, STM32_DMA_CONFIG_FTH_HALF, STM32_DMA_CONFIG_FTH_3_QUARTERS,
  STM32_DMA_CONFIG_MBURST_SHIFT, STM32_DMA_CONFIG_PBURST_SHIFT, STM32_DMA_CONFIG_BURST_INCR4,
  STM32_DMA_CONFIG_BURST_INCR8, STM32_DMA_CONFIG_BURST_INCR16, STM32_DMA_CONFIG_CIRCULAR,
  STM32_DMA_CONFIG_PRIORITY_SHIFT,
} from "../harness/generated/api.js";

// ---------------------------------------------------------------------------------------------
// The board: STM32F405 base addresses (RM0090 Table 1 / 2.3).

const RCC = 0x4002_3800;
const GPIOA = 0x4002_0000;
const USART1 = 0x4001_1000;
const SPI1 = 0x4001_3000;
const DMA2 = 0x4002_6400;
const RAM = 0x2000_0000;

// Register offsets and bits, RM0090 §7.3, §8.4, §28.5, §10.5 and RM0041 §23.6.
const R = {
  CR: 0x00, PLLCFGR: 0x04, CFGR: 0x08, AHB1RSTR: 0x10, APB1RSTR: 0x20, APB2RSTR: 0x24, AHB1ENR: 0x30, APB1ENR: 0x40, APB2ENR: 0x44,
};
const G = { MODER: 0x00, OTYPER: 0x04, OSPEEDR: 0x08, PUPDR: 0x0c, IDR: 0x10, ODR: 0x14, BSRR: 0x18, LCKR: 0x1c, AFRL: 0x20, AFRH: 0x24 };
const U = { SR: 0x00, DR: 0x04, BRR: 0x08, CR1: 0x0c, CR2: 0x10, CR3: 0x14 };
const SR_TXE = 1 << 7, SR_TC = 1 << 6, SR_RXNE = 1 << 5, SR_ORE = 1 << 3, SR_NF = 1 << 2, SR_FE = 1 << 1, SR_PE = 1 << 0;
const CR1_OVER8 = 1 << 15, CR1_UE = 1 << 13, CR1_M = 1 << 12, CR1_PCE = 1 << 10, CR1_PS = 1 << 9, CR1_TE = 1 << 3, CR1_RE = 1 << 2;
const S = { CR1: 0x00, CR2: 0x04, SR: 0x08, DR: 0x0c };
const SPI_BSY = 1 << 7, SPI_OVR = 1 << 6, SPI_TXE = 1 << 1, SPI_RXNE = 1 << 0;
const SPI_SSM = 1 << 9, SPI_SSI = 1 << 8, SPI_SPE = 1 << 6, SPI_MSTR = 1 << 2, SPI_DFF = 1 << 11, SPI_LSBFIRST = 1 << 7;
const D = { LISR: 0x00, HISR: 0x04, LIFCR: 0x08, HIFCR: 0x0c };
const SxCR = (x: number): number => 0x10 + 0x18 * x;
const SxNDTR = (x: number): number => 0x14 + 0x18 * x;
const SxPAR = (x: number): number => 0x18 + 0x18 * x;
const SxM0AR = (x: number): number => 0x1c + 0x18 * x;
const SxFCR = (x: number): number => 0x24 + 0x18 * x;
const EN = 1;
/** RM0090 §10.5.1 to 10.5.4: each stream's FEIF, DMEIF, TEIF, HTIF, TCIF bits. */
const FLAG_BITS: Record<number, { FEIF: number; DMEIF: number; TEIF: number; HTIF: number; TCIF: number }> = {
  0: { FEIF: 0, DMEIF: 2, TEIF: 3, HTIF: 4, TCIF: 5 },
  1: { FEIF: 6, DMEIF: 8, TEIF: 9, HTIF: 10, TCIF: 11 },
  2: { FEIF: 16, DMEIF: 18, TEIF: 19, HTIF: 20, TCIF: 21 },
  3: { FEIF: 22, DMEIF: 24, TEIF: 25, HTIF: 26, TCIF: 27 },
};
const flagsOf = (stream: number) => FLAG_BITS[stream % 4]!;
const allFlags = (stream: number): number => {
  const f = flagsOf(stream);
  return ((1 << f.FEIF) | (1 << f.DMEIF) | (1 << f.TEIF) | (1 << f.HTIF) | (1 << f.TCIF)) >>> 0;
};

// ---------------------------------------------------------------------------------------------
// Fake devices

/** A register file that starts from the reset values of `map`, with scripted answers: a queue
 * of values per offset, and hooks a test uses to make a flag appear after some access. */
class Fake implements Device {
  readonly values = new Map<number, number>();
  readonly upcoming = new Map<number, number[]>();
  onRead: ((offset: number) => number | undefined) | undefined;
  onWrite: ((offset: number, value: number) => void) | undefined;

  constructor(map: RegisterBlock) {
    for (const r of map.registers) this.values.set(r.offset, r.reset ?? 0);
  }

  get(offset: number): number {
    return this.values.get(offset) ?? 0;
  }

  set(offset: number, value: number): void {
    this.values.set(offset, value >>> 0);
  }

  read(offset: number): number {
    const queue = this.upcoming.get(offset);
    if (queue !== undefined && queue.length > 0) return queue.shift()!;
    const hooked = this.onRead?.(offset);
    return hooked ?? this.get(offset);
  }

  write(offset: number, value: number): void {
    this.set(offset, value);
    this.onWrite?.(offset, value);
  }
}

interface Board {
  bus: Bus;
  hal: Hal;
  rcc: Fake;
  gpio: Fake;
  usart: Fake;
  spi: Fake;
  dma: Fake;
}

function board(): Board {
  const bus = new Bus();
  const rcc = new Fake(RCC_MAP);
  const gpio = new Fake(GPIO_MAP);
  const usart = new Fake(USART_MAP);
  const spi = new Fake(SPI_MAP);
  const dma = new Fake(DMA_MAP);
  bus.map({ name: "rcc", base: RCC, size: 0x400, device: rcc, map: RCC_MAP });
  bus.map({ name: "gpioa", base: GPIOA, size: 0x400, device: gpio, map: GPIO_MAP });
  bus.map({ name: "usart1", base: USART1, size: 0x400, device: usart, map: USART_MAP });
  bus.map({ name: "spi1", base: SPI1, size: 0x400, device: spi, map: SPI_MAP });
  bus.map({ name: "dma2", base: DMA2, size: 0x400, device: dma, map: DMA_MAP });
  const hal = new Hal(bus, "release", packageProject().modulePath("stm32f4", "release"), { registry: packageRegistry() });
  return { bus, hal, rcc, gpio, usart, spi, dma };
}

/** The accesses made by the last export call. */
function lastCall(bus: Bus): TraceEntry[] {
  const call = bus.trace.calls[bus.trace.calls.length - 1]!;
  return [...bus.trace.entries(call.start, call.end)];
}

type Access = ["R" | "W", number, number?] | ["DSB"] | ["DMB"];
/** Accesses as short tuples: ["R", address], ["W", address, value], ["DSB"]. */
function accesses(entries: TraceEntry[]): Access[] {
  return entries.map((e): Access => {
    if (e.op === OP_BARRIER) return e.value === 1 ? ["DSB"] : ["DMB"];
    if (e.op === OP_READ) return ["R", e.addr >>> 0];
    return ["W", e.addr >>> 0, e.value >>> 0];
  });
}
const writesOf = (entries: TraceEntry[]): Array<[number, number]> =>
  entries.filter((e) => e.op === OP_WRITE).map((e) => [e.addr >>> 0, e.value >>> 0]);

const hex = (n: number): string => "0x" + (n >>> 0).toString(16);

// ---------------------------------------------------------------------------------------------

describe("RCC (RM0090 §7)", () => {
  it("clock ids name the enable register and bit of RM0090 §7.3.10-7.3.14", () => {
    // [offset, bit]: AHB1ENR 0x30 GPIOAEN 0, GPIOIEN 8, DMA1EN 21, DMA2EN 22; APB1ENR 0x40 USART2EN 17;
    // APB2ENR 0x44 USART1EN 4, SPI1EN 12, SYSCFGEN 14.
    const ids: Array<[number, number, number]> = [
      [STM32_CLOCK_GPIOA, 0x30, 0], [STM32_CLOCK_GPIOI, 0x30, 8], [STM32_CLOCK_DMA1, 0x30, 21], [STM32_CLOCK_DMA2, 0x30, 22],
      [STM32_CLOCK_USART2, 0x40, 17], [STM32_CLOCK_USART1, 0x44, 4], [STM32_CLOCK_SPI1, 0x44, 12], [STM32_CLOCK_SYSCFG, 0x44, 14],
    ];
    for (const [id, offset, bit] of ids) expect(id, hex(id)).toBe((offset << 8) | bit);
  });

  it("enable: one read-modify-write of the enable register, then a DSB (erratum ES0182 2.1.13)", () => {
    const b = board();
    expect(b.hal.call("stm32_rcc_enable", RCC, STM32_CLOCK_USART1)).toBe(OK);
    expect(accesses(lastCall(b.bus))).toEqual([["R", RCC + R.APB2ENR], ["W", RCC + R.APB2ENR, 1 << 4], ["DSB"]]);
    // AHB1ENR resets to 0x0010_0000 (CCMDATARAMEN): kept.
    expect(b.hal.call("stm32_rcc_enable", RCC, STM32_CLOCK_DMA2)).toBe(OK);
    expect(b.rcc.get(R.AHB1ENR)).toBe(0x0010_0000 | (1 << 22));
    expect(b.hal.call("stm32_rcc_disable", RCC, STM32_CLOCK_DMA2)).toBe(OK);
    expect(b.rcc.get(R.AHB1ENR)).toBe(0x0010_0000);
  });

  it("reset: sets then clears the same bit of the reset register 0x20 below", () => {
    const b = board();
    expect(b.hal.call("stm32_rcc_reset", RCC, STM32_CLOCK_GPIOA)).toBe(OK);
    expect(accesses(lastCall(b.bus))).toEqual([
      ["R", RCC + R.AHB1RSTR], ["W", RCC + R.AHB1RSTR, 1], ["R", RCC + R.AHB1RSTR], ["W", RCC + R.AHB1RSTR, 0], ["DSB"],
    ]);
    expect(b.hal.call("stm32_rcc_reset", RCC, STM32_CLOCK_USART2)).toBe(OK);
    expect(writesOf(lastCall(b.bus))).toEqual([[RCC + R.APB1RSTR, 1 << 17], [RCC + R.APB1RSTR, 0]]);
  });

  it("refuses unknown clock ids without touching a register", () => {
    const b = board();
    const bad = [
      0x3000 | 9, // AHB1ENR bit 9: reserved
      (0x3c << 8) | 0, // no enable register at 0x3C
      (0x44 << 8) | 31, // APB2ENR bit 31: reserved
      STM32_CLOCK_USART1 | 0x20, // bits 7:5 must be 0
      STM32_CLOCK_USART1 | 0x10000,
    ];
    for (const id of bad) {
      expect(b.hal.call("stm32_rcc_enable", RCC, id), hex(id)).toBe(ERR_INVALID_ARG);
      expect(b.hal.call("stm32_rcc_disable", RCC, id), hex(id)).toBe(ERR_INVALID_ARG);
    }
    // CCMDATARAMEN (AHB1ENR bit 20) has an enable bit but no reset bit; ADC2 (APB2ENR bit 9) shares ADCRST.
    expect(b.hal.call("stm32_rcc_reset", RCC, 0x3014)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_rcc_reset", RCC, 0x4409)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_rcc_enable", RCC + 2, STM32_CLOCK_USART1)).toBe(ERR_INVALID_ARG);
    expect(b.bus.trace.length).toBe(0);
  });

  it("bus clocks: 16 MHz HSI after reset on every bus", () => {
    const b = board();
    for (const bus of [STM32_BUS_AHB, STM32_BUS_APB1, STM32_BUS_APB2]) expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 0, bus)).toBe(16_000_000);
    expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 0, 3)).toBe(ERR_INVALID_ARG);
  });

  it("bus clocks: 168 MHz from an 8 MHz HSE through the PLL, AHB /1, APB1 /4, APB2 /2", () => {
    const b = board();
    // PLLCFGR: PLLM = 8 (bits 5:0), PLLN = 336 (14:6), PLLP = 2 (code 00, bits 17:16), PLLSRC = HSE (bit 22).
    b.rcc.set(R.PLLCFGR, (1 << 22) | (0 << 16) | (336 << 6) | 8);
    // CFGR: SWS = 10 PLL (bits 3:2), HPRE = 0, PPRE1 = 101 /4 (12:10), PPRE2 = 100 /2 (15:13).
    b.rcc.set(R.CFGR, (0b10 << 2) | (0b101 << 10) | (0b100 << 13));
    expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 8_000_000, STM32_BUS_AHB)).toBe(168_000_000);
    expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 8_000_000, STM32_BUS_APB1)).toBe(42_000_000);
    expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 8_000_000, STM32_BUS_APB2)).toBe(84_000_000);
    // HSE unknown while the PLL runs from it.
    expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 0, STM32_BUS_AHB)).toBe(ERR_CLOCK_CONFIG);
    // PLLP code 11 = /8, from HSI: 16 MHz / 16 x 192 / 8 = 24 MHz.
    b.rcc.set(R.PLLCFGR, (0b11 << 16) | (192 << 6) | 16);
    b.rcc.set(R.CFGR, 0b10 << 2);
    expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 0, STM32_BUS_AHB)).toBe(24_000_000);
  });

  it("bus clocks: the HPRE codes skip /32 (RM0090 §7.3.3), SWS = 11 is refused", () => {
    const b = board();
    const hpre: Array<[number, number]> = [[0b0111, 1], [0b1000, 2], [0b1011, 16], [0b1100, 64], [0b1111, 512]];
    for (const [code, div] of hpre) {
      b.rcc.set(R.CFGR, code << 4);
      expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 0, STM32_BUS_AHB), `HPRE ${code.toString(2)}`).toBe(16_000_000 / div);
    }
    b.rcc.set(R.CFGR, (0b01 << 2) | (0b111 << 13)); // HSE, PPRE2 /16
    expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 25_000_000, STM32_BUS_APB2)).toBe(1_562_500);
    b.rcc.set(R.CFGR, 0b11 << 2);
    expect(b.hal.call("stm32_rcc_bus_clock_hz", RCC, 8_000_000, STM32_BUS_AHB)).toBe(ERR_CLOCK_CONFIG);
  });
});

describe("GPIO (RM0090 §8)", () => {
  it("configure: PUPDR, OTYPER, OSPEEDR, AFR, and MODER last, each a read-modify-write of one field", () => {
    const b = board();
    // PA9 as USART1_TX: AF7, push-pull, very high speed, pull-up.
    const config = STM32_GPIO_MODE_AF | STM32_GPIO_SPEED_VERY_HIGH | STM32_GPIO_PULL_UP | (7 << STM32_GPIO_AF_SHIFT);
    expect(b.hal.call("stm32_gpio_configure", GPIOA, 9, config)).toBe(OK);
    const writes = writesOf(lastCall(b.bus)).map(([addr]) => addr - GPIOA);
    expect(writes).toEqual([G.PUPDR, G.OTYPER, G.OSPEEDR, G.AFRH, G.MODER]);
    // Port A reset values (RM0090 §8.4): MODER 0xA800_0000, OSPEEDR 0x0C00_0000, PUPDR 0x6400_0000 (SVD: OSPEEDR 0).
    expect(b.gpio.get(G.MODER)).toBe((0xa800_0000 | (0b10 << 18)) >>> 0);
    expect(b.gpio.get(G.PUPDR)).toBe((0x6400_0000 | (0b01 << 18)) >>> 0);
    expect(b.gpio.get(G.OSPEEDR) & (0b11 << 18)).toBe(0b11 << 18);
    expect(b.gpio.get(G.AFRH)).toBe(7 << 4);
    // PA2 open-drain output: AFRL field 2 written 0, OTYPER bit 2.
    expect(b.hal.call("stm32_gpio_configure", GPIOA, 2, STM32_GPIO_MODE_OUTPUT | STM32_GPIO_OPEN_DRAIN)).toBe(OK);
    expect(writesOf(lastCall(b.bus)).map(([addr]) => addr - GPIOA)).toEqual([G.PUPDR, G.OTYPER, G.OSPEEDR, G.AFRL, G.MODER]);
    expect(b.gpio.get(G.OTYPER)).toBe(1 << 2);
    expect(b.gpio.get(G.MODER)).toBe((0xa800_0000 | (0b10 << 18) | (0b01 << 4)) >>> 0);
  });

  it("configure refuses pin 16, pull code 11, reserved bits and an AF number without AF mode, touching nothing", () => {
    const b = board();
    expect(b.hal.call("stm32_gpio_configure", GPIOA, 16, STM32_GPIO_MODE_OUTPUT)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_gpio_configure", GPIOA, 1, 0b11 << 5)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_gpio_configure", GPIOA, 1, 1 << 11)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_gpio_configure", GPIOA, 1, STM32_GPIO_MODE_INPUT | (5 << STM32_GPIO_AF_SHIFT))).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_gpio_write", GPIOA, 0x1_0000, 0)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_gpio_write", GPIOA, 1, 0x1_0000)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_gpio_toggle", GPIOA, 0x1_0000)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_gpio_lock", GPIOA, 0x1_0000)).toBe(ERR_INVALID_ARG);
    expect(b.bus.trace.length).toBe(0);
  });

  it("write: exactly one BSRR write, set bits in 15:0 and reset bits in 31:16, no ODR access", () => {
    const b = board();
    expect(b.hal.call("stm32_gpio_write", GPIOA, 0b1111, 0b0101)).toBe(OK);
    expect(accesses(lastCall(b.bus))).toEqual([["W", GPIOA + G.BSRR, (0b1010 << 16) | 0b0101]]);
    expect(b.hal.call("stm32_gpio_write", GPIOA, 0x8000, 0x8000)).toBe(OK);
    expect(accesses(lastCall(b.bus))).toEqual([["W", GPIOA + G.BSRR, 0x8000]]);
    expect(b.hal.call("stm32_gpio_write", GPIOA, 0x8001, 0)).toBe(OK);
    expect(accesses(lastCall(b.bus))).toEqual([["W", GPIOA + G.BSRR, 0x8001_0000]]);
  });

  it("toggle: reads ODR, then one BSRR write; ODR is never written", () => {
    const b = board();
    b.gpio.set(G.ODR, 0b0110);
    expect(b.hal.call("stm32_gpio_toggle", GPIOA, 0b0011)).toBe(OK);
    // pin 1 was 1: reset (bit 17); pin 0 was 0: set (bit 0).
    expect(accesses(lastCall(b.bus))).toEqual([["R", GPIOA + G.ODR], ["W", GPIOA + G.BSRR, (1 << 17) | 1]]);
  });

  it("read: IDR, the 16 pin levels", () => {
    const b = board();
    b.gpio.set(G.IDR, 0xa5c3);
    expect(b.hal.call("stm32_gpio_read", GPIOA)).toBe(0xa5c3);
    expect(accesses(lastCall(b.bus))).toEqual([["R", GPIOA + G.IDR]]);
  });

  it("lock: the LCKR key sequence of RM0090 §8.4.8, then LCKK confirmed", () => {
    const b = board();
    // A fake LCKR that implements the key: 1, 0, 1 with the same LCK bits, then a read, locks.
    let step = 0;
    let keyMask = 0;
    b.gpio.onWrite = (offset, value) => {
      if (offset !== G.LCKR) return;
      const lckk = (value >>> 16) & 1;
      const lck = value & 0xffff;
      if (step === 0 && lckk === 1) { keyMask = lck; step = 1; }
      else if (step === 1 && lckk === 0 && lck === keyMask) step = 2;
      else if (step === 2 && lckk === 1 && lck === keyMask) step = 3;
      else step = 0;
      b.gpio.set(G.LCKR, lck);
    };
    b.gpio.onRead = (offset) => {
      if (offset === G.LCKR && step === 3) { step = 4; b.gpio.set(G.LCKR, (1 << 16) | keyMask); }
      return undefined;
    };
    expect(b.hal.call("stm32_gpio_lock", GPIOA, 0x0300)).toBe(OK);
    const entries = lastCall(b.bus);
    expect(accesses(entries)).toEqual([
      ["W", GPIOA + G.LCKR, 0x0001_0300], ["W", GPIOA + G.LCKR, 0x0000_0300], ["W", GPIOA + G.LCKR, 0x0001_0300],
      ["R", GPIOA + G.LCKR], ["R", GPIOA + G.LCKR],
    ]);
    expect(entries.every((e) => e.width === 4)).toBe(true);
  });

  it("lock: ERR_LOCK_FAILED when LCKK does not read 1 (QEMU's unimplemented GPIO reads 0)", () => {
    const b = board();
    b.gpio.onWrite = (offset) => { if (offset === G.LCKR) b.gpio.set(G.LCKR, 0); };
    expect(b.hal.call("stm32_gpio_lock", GPIOA, 0x0001)).toBe(ERR_LOCK_FAILED);
  });
});

describe("USART (RM0090 §30, RM0041 §23)", () => {
  /** BRR written by stm32_usart_init. */
  function brrFor(pclk: number, baud: number, config = 0): number {
    const b = board();
    expect(b.hal.call("stm32_usart_init", USART1, pclk, baud, config)).toBe(OK);
    return b.usart.get(U.BRR);
  }

  it("BRR from the manual's worked examples, oversampling by 16 (USARTDIV 27.75, 25.62, 50.99)", () => {
    // f_PCLK / baud = 16 x USARTDIV.
    expect(hex(brrFor(444 * 100, 100))).toBe("0x1bc"); // 27.75: mantissa 27, fraction 12
    expect(hex(brrFor(40_992, 100))).toBe("0x19a"); // 25.62: fraction 9.92 rounds to 10
    expect(hex(brrFor(81_584, 100))).toBe("0x330"); // 50.99: fraction 15.84 rounds to 16, carries: 51.0
  });

  it("BRR from the manual's worked examples, oversampling by 8 (BRR[3] = 0)", () => {
    // f_PCLK / baud = 8 x USARTDIV.
    expect(hex(brrFor(22_200, 100, STM32_USART_CONFIG_OVER8))).toBe("0x1b6"); // 27.75: mantissa 27, fraction 6
    expect(hex(brrFor(20_496, 100, STM32_USART_CONFIG_OVER8))).toBe("0x195"); // 25.62: 4.96 rounds to 5
    expect(hex(brrFor(40_792, 100, STM32_USART_CONFIG_OVER8))).toBe("0x330"); // 50.99: 7.92 rounds to 8, carries
  });

  it("BRR at the reset clock (16 MHz): 115200 -> 0x8B, OVER8 -> 0x113; 9600 -> 0x683", () => {
    expect(hex(brrFor(16_000_000, 115_200))).toBe("0x8b");
    expect(hex(brrFor(16_000_000, 115_200, STM32_USART_CONFIG_OVER8))).toBe("0x113");
    expect(hex(brrFor(16_000_000, 9_600))).toBe("0x683");
  });

  it("refuses unreachable rates before touching a register", () => {
    const b = board();
    // USARTDIV < 1: 16 MHz / (16 x 1.1 Mbaud) = 0.9.
    expect(b.hal.call("stm32_usart_init", USART1, 16_000_000, 1_100_000, 0)).toBe(ERR_UNREACHABLE_RATE);
    // Mantissa > 0xFFF: 84 MHz / (16 x 1200) = 4375.
    expect(b.hal.call("stm32_usart_init", USART1, 84_000_000, 1_200, 0)).toBe(ERR_UNREACHABLE_RATE);
    // 16 MHz, 1 Mbaud with OVER8: D = 16 exactly, fine; 1.5 Mbaud: D = round(10.67) = 11, 1.45 Mbaud, -3 %.
    expect(b.hal.call("stm32_usart_init", USART1, 16_000_000, 1_500_000, STM32_USART_CONFIG_OVER8)).toBe(ERR_UNREACHABLE_RATE);
    expect(b.hal.call("stm32_usart_init", USART1, 0, 9600, 0)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_usart_init", USART1, 16_000_000, 9600, 0x40)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_usart_init", USART1, 16_000_000, 9600, 0x06)).toBe(ERR_INVALID_ARG); // parity code 3
    expect(b.bus.trace.length).toBe(0);
    expect(b.hal.call("stm32_usart_init", USART1, 16_000_000, 1_000_000, STM32_USART_CONFIG_OVER8)).toBe(OK);
  });

  it("init follows RM0041 §23.3.2: UE, then M (and parity, OVER8), STOP, BRR, then TE/RE", () => {
    const b = board();
    const config = STM32_USART_CONFIG_9_BITS | STM32_USART_CONFIG_PARITY_ODD | STM32_USART_CONFIG_STOP_2;
    expect(b.hal.call("stm32_usart_init", USART1, 16_000_000, 115_200, config)).toBe(OK);
    const frame = CR1_UE | CR1_M | CR1_PCE | CR1_PS;
    expect(accesses(lastCall(b.bus))).toEqual([
      ["R", USART1 + U.CR1],
      ["W", USART1 + U.CR1, CR1_UE],
      ["W", USART1 + U.CR1, frame],
      ["W", USART1 + U.CR2, 0b10 << 12],
      ["W", USART1 + U.CR3, 0],
      ["W", USART1 + U.BRR, 0x8b],
      ["W", USART1 + U.CR1, frame | CR1_TE | CR1_RE],
      ["DSB"],
    ]);
  });

  it("re-init of a running transmitter waits for TC, then disables before reprogramming", () => {
    const b = board();
    b.usart.set(U.CR1, CR1_UE | CR1_TE | CR1_RE);
    b.usart.set(U.SR, SR_TXE);
    b.usart.upcoming.set(U.SR, [SR_TXE, SR_TXE, SR_TXE | SR_TC]);
    expect(b.hal.call("stm32_usart_init", USART1, 16_000_000, 115_200, STM32_USART_CONFIG_OVER8)).toBe(OK);
    expect(accesses(lastCall(b.bus)).slice(0, 6)).toEqual([
      ["R", USART1 + U.CR1], ["R", USART1 + U.SR], ["R", USART1 + U.SR], ["R", USART1 + U.SR],
      ["W", USART1 + U.CR1, 0], ["W", USART1 + U.CR1, CR1_UE],
    ]);
    expect(b.usart.get(U.CR1)).toBe(CR1_UE | CR1_OVER8 | CR1_TE | CR1_RE);
  });

  it("re-init gives ERR_TIMEOUT when TC never comes", () => {
    const b = board();
    b.usart.set(U.CR1, CR1_UE | CR1_TE);
    b.usart.set(U.SR, SR_TXE);
    expect(b.hal.call("stm32_usart_init", USART1, 16_000_000, 115_200, 0)).toBe(ERR_TIMEOUT);
    expect(writesOf(lastCall(b.bus))).toEqual([]);
  });

  it("write waits for TXE before each DR write", () => {
    const b = board();
    const p = b.hal.scratch;
    new Uint8Array(b.hal.memory.buffer).set([0x48, 0x69], p);
    b.usart.upcoming.set(U.SR, [0, SR_TXE, 0, 0, SR_TXE]);
    expect(b.hal.call("stm32_usart_write", USART1, p, 2)).toBe(2);
    expect(accesses(lastCall(b.bus))).toEqual([
      ["R", USART1 + U.SR], ["R", USART1 + U.SR], ["W", USART1 + U.DR, 0x48],
      ["R", USART1 + U.SR], ["R", USART1 + U.SR], ["R", USART1 + U.SR], ["W", USART1 + U.DR, 0x69],
    ]);
  });

  it("write and flush are bounded: ERR_TIMEOUT when TXE or TC never sets", () => {
    const b = board();
    b.usart.set(U.SR, 0);
    b.bus.clock.accessNs = 0;
    expect(b.hal.call("stm32_usart_write", USART1, b.hal.scratch, 1)).toBe(ERR_TIMEOUT);
    expect(b.hal.call("stm32_usart_flush", USART1)).toBe(ERR_TIMEOUT);
    b.usart.set(U.SR, SR_TC | SR_TXE);
    expect(b.hal.call("stm32_usart_flush", USART1)).toBe(OK);
  });

  /** A receiver: each SR read shows the next character's flags until DR is read. */
  function receiver(b: Board, chars: Array<{ data: number; flags?: number }>): void {
    b.usart.onRead = (offset) => {
      const next = chars[0];
      if (offset === U.SR) return next === undefined ? SR_TXE | SR_TC : SR_TXE | SR_TC | (next.flags ?? SR_RXNE);
      if (offset === U.DR) { chars.shift(); return next?.data ?? 0; }
      return undefined;
    };
  }

  it("read takes what has arrived, SR then DR each, without waiting", () => {
    const b = board();
    receiver(b, [{ data: 0x41 }, { data: 0x42 }]);
    const p = b.hal.scratch;
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(2);
    expect([...new Uint8Array(b.hal.memory.buffer, p, 2)]).toEqual([0x41, 0x42]);
    expect(accesses(lastCall(b.bus))).toEqual([
      ["R", USART1 + U.SR], ["R", USART1 + U.DR], ["R", USART1 + U.SR], ["R", USART1 + U.DR], ["R", USART1 + U.SR],
    ]);
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(0);
  });

  it("read: bytes before an error first, then the error; an overrun's byte is kept, a framing error's dropped", () => {
    const b = board();
    receiver(b, [
      { data: 0x31 }, { data: 0x32, flags: SR_RXNE | SR_ORE }, { data: 0x33 },
      { data: 0xee, flags: SR_RXNE | SR_FE }, { data: 0xee, flags: SR_RXNE | SR_PE }, { data: 0xee, flags: SR_RXNE | SR_NF },
      { data: 0x34 },
    ]);
    const p = b.hal.scratch;
    const mem = (): number[] => [...new Uint8Array(b.hal.memory.buffer, p, 2)];
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(2);
    expect(mem()).toEqual([0x31, 0x32]);
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(ERR_RX_OVERRUN);
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(1);
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(ERR_RX_FRAMING);
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(ERR_RX_PARITY);
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(ERR_RX_NOISE);
    expect(b.hal.call("stm32_usart_read", USART1, p, 16)).toBe(1);
    expect(mem()[0]).toBe(0x34);
    // SR is never written by read (no read-modify-write of a W0C register).
    expect(b.bus.trace.calls.every((c) => [...b.bus.trace.entries(c.start, c.end)].every((e) => e.op !== OP_WRITE))).toBe(true);
  });

  it("set_dma sets CR3.DMAT and clears TC by writing ~TC, never by read-modify-write of SR", () => {
    const b = board();
    expect(b.hal.call("stm32_usart_set_dma", USART1, STM32_USART_DMA_TX)).toBe(OK);
    expect(accesses(lastCall(b.bus))).toEqual([
      ["R", USART1 + U.CR3], ["W", USART1 + U.CR3, 1 << 7], ["W", USART1 + U.SR, ~SR_TC >>> 0], ["DSB"],
    ]);
    expect(b.hal.call("stm32_usart_set_dma", USART1, 4)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_usart_set_dma", USART1, API.STM32_USART_DMA_RX)).toBe(OK);
    expect(writesOf(lastCall(b.bus))).toEqual([[USART1 + U.CR3, 1 << 6]]);
  });
});

describe("SPI (RM0090 §28)", () => {
  it("BR: the highest rate not above max_hz, f_PCLK / 2^(BR+1)", () => {
    const cases: Array<[number, number, number]> = [
      [84_000_000, 42_000_000, 0], // /2
      [84_000_000, 41_999_999, 1], // /4 = 21 MHz
      [84_000_000, 10_000_000, 3], // /16 = 5.25 MHz (/8 = 10.5 MHz is too fast)
      [16_000_000, 1_000_000, 3], // /16 = 1 MHz exactly
      [16_000_000, 62_500, 7], // /256
    ];
    for (const [pclk, max, br] of cases) {
      const b = board();
      expect(b.hal.call("stm32_spi_init", SPI1, pclk, max, 0)).toBe(OK);
      expect((b.spi.get(S.CR1) >> 3) & 7, `${pclk} / ${max}`).toBe(br);
    }
    const b = board();
    expect(b.hal.call("stm32_spi_init", SPI1, 16_000_000, 62_499, 0)).toBe(ERR_UNREACHABLE_RATE);
    expect(b.hal.call("stm32_spi_init", SPI1, 16_000_000, 0, 0)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_spi_init", SPI1, 16_000_000, 1_000_000, 0x10)).toBe(ERR_INVALID_ARG);
    expect(b.bus.trace.length).toBe(0);
  });

  it("init: configuration with SPE = 0 and SSM = SSI = 1, CR2 = 0, then MSTR and SPE", () => {
    const b = board();
    const config = STM32_SPI_CONFIG_MODE_3 | STM32_SPI_CONFIG_16_BIT | STM32_SPI_CONFIG_LSB_FIRST;
    expect(b.hal.call("stm32_spi_init", SPI1, 16_000_000, 1_000_000, config)).toBe(OK);
    const cr1 = (3 << 3) | 0b11 | SPI_DFF | SPI_LSBFIRST | SPI_SSM | SPI_SSI;
    expect(accesses(lastCall(b.bus))).toEqual([
      ["R", SPI1 + S.CR1], ["R", SPI1 + S.SR],
      ["W", SPI1 + S.CR1, cr1], ["W", SPI1 + S.CR2, 0], ["W", SPI1 + S.CR1, cr1 | SPI_MSTR | SPI_SPE], ["DSB"],
    ]);
  });

  it("init of an enabled SPI runs the disable procedure first (TXE = 1, BSY = 0, SPE = 0)", () => {
    const b = board();
    b.spi.set(S.CR1, SPI_MSTR | SPI_SPE | SPI_SSM | SPI_SSI);
    b.spi.set(S.SR, SPI_TXE);
    b.spi.upcoming.set(S.SR, [SPI_TXE | SPI_BSY, SPI_TXE | SPI_BSY, SPI_TXE | SPI_RXNE | SPI_BSY, SPI_TXE | SPI_BSY, SPI_TXE | SPI_BSY]);
    expect(b.hal.call("stm32_spi_init", SPI1, 16_000_000, 1_000_000, 0)).toBe(OK);
    const seq = accesses(lastCall(b.bus));
    expect(seq.slice(0, 9)).toEqual([
      ["R", SPI1 + S.CR1],
      ["R", SPI1 + S.SR], // BSY: a frame is on its way
      ["R", SPI1 + S.SR], ["R", SPI1 + S.SR], // wait RXNE
      ["R", SPI1 + S.DR], // read the last frame
      ["R", SPI1 + S.SR], // TXE
      ["R", SPI1 + S.SR], ["R", SPI1 + S.SR], // BSY = 0
      ["W", SPI1 + S.CR1, SPI_MSTR | SPI_SSM | SPI_SSI], // SPE = 0
    ]);
  });

  it("transfer: full duplex, every received frame read, tx 0 sends 0xFF, rx 0 discards", () => {
    const b = board();
    b.spi.set(S.CR1, SPI_MSTR | SPI_SPE);
    // A loopback: each DR write is received as the next RXNE.
    const rx: number[] = [];
    b.spi.onWrite = (offset, value) => { if (offset === S.DR) rx.push(value ^ 0xff); };
    b.spi.onRead = (offset) => {
      if (offset === S.SR) return SPI_TXE | (rx.length > 0 ? SPI_RXNE : 0);
      if (offset === S.DR) return rx.shift() ?? 0;
      return undefined;
    };
    const tx = b.hal.scratch;
    const out = tx + 64;
    new Uint8Array(b.hal.memory.buffer).set([0x9f, 0x00, 0x01], tx);
    expect(b.hal.call("stm32_spi_transfer", SPI1, tx, out, 3)).toBe(3);
    expect([...new Uint8Array(b.hal.memory.buffer, out, 3)]).toEqual([0x60, 0xff, 0xfe]);
    const dr = writesOf(lastCall(b.bus)).filter(([a]) => a === SPI1 + S.DR).map(([, v]) => v);
    expect(dr).toEqual([0x9f, 0x00, 0x01]);
    expect(lastCall(b.bus).filter((e) => e.op === OP_READ && e.addr === SPI1 + S.DR)).toHaveLength(3);
    expect(b.hal.call("stm32_spi_transfer", SPI1, 0, 0, 2)).toBe(2);
    expect(writesOf(lastCall(b.bus)).map(([, v]) => v)).toEqual([0xff, 0xff]);
    expect(lastCall(b.bus).filter((e) => e.op === OP_READ && e.addr === SPI1 + S.DR)).toHaveLength(2);
  });

  it("transfer with 16-bit frames moves little-endian half-words; an odd length is refused", () => {
    const b = board();
    b.spi.set(S.CR1, SPI_MSTR | SPI_SPE | SPI_DFF);
    const rx: number[] = [];
    b.spi.onWrite = (offset, value) => { if (offset === S.DR) rx.push(value); };
    b.spi.onRead = (offset) => {
      if (offset === S.SR) return SPI_TXE | (rx.length > 0 ? SPI_RXNE : 0);
      if (offset === S.DR) return rx.shift() ?? 0;
      return undefined;
    };
    const tx = b.hal.scratch;
    new Uint8Array(b.hal.memory.buffer).set([0x34, 0x12, 0x78, 0x56], tx);
    expect(b.hal.call("stm32_spi_transfer", SPI1, tx, tx + 16, 4)).toBe(4);
    expect(writesOf(lastCall(b.bus)).map(([, v]) => v)).toEqual([0x1234, 0x5678]);
    expect([...new Uint8Array(b.hal.memory.buffer, tx + 16, 4)]).toEqual([0x34, 0x12, 0x78, 0x56]);
    expect(b.hal.call("stm32_spi_transfer", SPI1, tx, 0, 3)).toBe(ERR_INVALID_ARG);
    expect(accesses(lastCall(b.bus))).toEqual([["R", SPI1 + S.CR1]]);
  });

  it("transfer is bounded: ERR_TIMEOUT when RXNE never sets", () => {
    const b = board();
    b.bus.clock.accessNs = 0;
    b.spi.set(S.CR1, SPI_MSTR | SPI_SPE);
    expect(b.hal.call("stm32_spi_transfer", SPI1, 0, 0, 1)).toBe(ERR_TIMEOUT);
  });

  it("disable waits for BSY = 0 (bounded) and leaves SPE set when it never clears", () => {
    const b = board();
    b.bus.clock.accessNs = 0;
    b.spi.set(S.CR1, SPI_MSTR | SPI_SPE);
    b.spi.set(S.SR, SPI_TXE | SPI_BSY | SPI_RXNE);
    expect(b.hal.call("stm32_spi_disable", SPI1)).toBe(ERR_TIMEOUT);
    expect(b.spi.get(S.CR1) & SPI_SPE).toBe(SPI_SPE);
    b.spi.set(S.SR, SPI_TXE);
    expect(b.hal.call("stm32_spi_disable", SPI1)).toBe(OK);
    expect(b.spi.get(S.CR1)).toBe(SPI_MSTR);
  });

  it("init clears a frame or an overrun left from earlier use: DR, then SR (RM0090 §28.3.10)", () => {
    const b = board();
    b.spi.set(S.SR, SPI_TXE | SPI_OVR | SPI_RXNE);
    expect(b.hal.call("stm32_spi_init", SPI1, 16_000_000, 1_000_000, 0)).toBe(OK);
    expect(accesses(lastCall(b.bus)).slice(0, 4)).toEqual([["R", SPI1 + S.CR1], ["R", SPI1 + S.SR], ["R", SPI1 + S.DR], ["R", SPI1 + S.SR]]);
  });
});

describe("DMA streams (RM0090 §10)", () => {
  const WORDS = STM32_DMA_CONFIG_PSIZE_WORD | STM32_DMA_CONFIG_MSIZE_WORD;

  it("request mapping constants match RM0090 Tables 43 and 44", () => {
    // [request, stream, channel], from the tables.
    const dma1: Array<[string, number, number]> = [
      ["SPI3_RX", 0, 0], ["SPI3_TX", 5, 0], ["SPI2_RX", 3, 0], ["SPI2_TX", 4, 0],
      ["USART2_RX", 5, 4], ["USART2_TX", 6, 4], ["USART3_RX", 1, 4], ["USART3_TX", 3, 4],
      ["UART4_RX", 2, 4], ["UART4_TX", 4, 4], ["UART5_RX", 0, 4], ["UART5_TX", 7, 4],
    ];
    const dma2: Array<[string, number, number]> = [
      ["SPI1_RX", 0, 3], ["SPI1_TX", 3, 3], ["USART1_RX", 2, 4], ["USART1_TX", 7, 4], ["USART6_RX", 1, 5], ["USART6_TX", 6, 5],
    ];
    const constants = API as unknown as Record<string, number>;
    for (const [dma, rows] of [["DMA1", dma1], ["DMA2", dma2]] as const) {
      for (const [request, stream, channel] of rows) {
        expect(constants[`STM32_${dma}_${request}_STREAM`], `${dma} ${request}`).toBe(stream);
        expect(constants[`STM32_${dma}_${request}_CHANNEL`], `${dma} ${request}`).toBe(channel);
      }
    }
  });

  it("start order (RM0090 §10.3.17): EN read, flags cleared, PAR, M0AR, NDTR, CR, FCR, DSB, EN", () => {
    const b = board();
    const config = WORDS | STM32_DMA_CONFIG_FIFO | STM32_DMA_CONFIG_FTH_FULL | (STM32_DMA_CONFIG_BURST_INCR4 << STM32_DMA_CONFIG_MBURST_SHIFT) | (2 << STM32_DMA_CONFIG_PRIORITY_SHIFT);
    expect(b.hal.call("stm32_dma_memcpy", DMA2, 1, RAM + 0x100, RAM, 64, config)).toBe(OK);
    // CR: MBURST INCR4 (bits 24:23 = 01), PL 2 (17:16), MSIZE word (14:13 = 10), PSIZE word (12:11 = 10),
    // MINC (10), PINC (9), DIR memory to memory (7:6 = 10).
    const cr = (1 << 23) | (2 << 16) | (2 << 13) | (2 << 11) | (1 << 10) | (1 << 9) | (2 << 6);
    expect(accesses(lastCall(b.bus))).toEqual([
      ["R", DMA2 + SxCR(1)],
      ["W", DMA2 + D.LIFCR, allFlags(1)],
      ["W", DMA2 + SxPAR(1), RAM],
      ["W", DMA2 + SxM0AR(1), RAM + 0x100],
      ["W", DMA2 + SxNDTR(1), 16],
      ["W", DMA2 + SxCR(1), cr >>> 0],
      ["W", DMA2 + SxFCR(1), (1 << 2) | 0b11], // DMDIS, FTH full
      ["DSB"],
      ["W", DMA2 + SxCR(1), (cr | EN) >>> 0],
    ]);
  });

  it("a running stream is disabled and EN read back as 0 before anything else is written", () => {
    const b = board();
    b.dma.set(SxCR(6), EN | (4 << 25));
    b.dma.upcoming.set(SxCR(6), [EN | (4 << 25), EN, EN, 0]);
    expect(b.hal.call("stm32_dma_mem_to_periph", DMA2, 6, 5, USART1 + U.DR, RAM, 10, 0)).toBe(OK);
    const seq = accesses(lastCall(b.bus));
    expect(seq.slice(0, 6)).toEqual([
      ["R", DMA2 + SxCR(6)], ["W", DMA2 + SxCR(6), 4 << 25], ["R", DMA2 + SxCR(6)], ["R", DMA2 + SxCR(6)], ["R", DMA2 + SxCR(6)],
      ["W", DMA2 + D.HIFCR, allFlags(6)],
    ]);
    // Channel 5, DIR memory to peripheral, MINC, bytes, direct mode (FCR = 0).
    expect(b.dma.get(SxCR(6))).toBe(((5 << 25) | (1 << 10) | (1 << 6) | EN) >>> 0);
    expect(b.dma.get(SxFCR(6))).toBe(0);
    expect(b.dma.get(SxPAR(6))).toBe(USART1 + U.DR);
  });

  it("peripheral to memory: CHSEL, DIR 00, PSIZE/MSIZE, FIFO with threshold, interrupt enables", () => {
    const b = board();
    // SPI1_RX on DMA2 (Table 44): byte items from DR into half-words of memory (packing, NDTR even),
    // FIFO half full, interrupts on.
    const config = STM32_DMA_CONFIG_MSIZE_HALFWORD | STM32_DMA_CONFIG_FIFO | STM32_DMA_CONFIG_FTH_HALF | API.STM32_DMA_CONFIG_IRQ;
    expect(b.hal.call("stm32_dma_periph_to_mem", DMA2, API.STM32_DMA2_SPI1_RX_STREAM, API.STM32_DMA2_SPI1_RX_CHANNEL, SPI1 + S.DR, RAM + 2, 8, config)).toBe(OK);
    // CHSEL 3 (27:25), MSIZE half-word (14:13 = 01), MINC (10), DIR 00, TCIE (4), TEIE (2), DMEIE (1), EN.
    expect(b.dma.get(SxCR(0))).toBe(((3 << 25) | (1 << 13) | (1 << 10) | (1 << 4) | (1 << 2) | (1 << 1) | EN) >>> 0);
    // FEIE (7), DMDIS (2), FTH 01.
    expect(b.dma.get(SxFCR(0))).toBe((1 << 7) | (1 << 2) | 0b01);
    expect([b.dma.get(SxPAR(0)), b.dma.get(SxM0AR(0)), b.dma.get(SxNDTR(0))]).toEqual([SPI1 + S.DR, RAM + 2, 8]);
  });

  it("refuses a memory range that runs past the end of the bus", () => {
    const b = board();
    expect(b.hal.call("stm32_dma_mem_to_periph", DMA2, 7, 4, USART1 + U.DR, 0xffff_fff0, 32, 0)).toBe(ERR_INVALID_ARG);
    expect(b.hal.call("stm32_dma_memcpy", DMA2, 0, 0xffff_fff0, RAM, 32, 0)).toBe(ERR_INVALID_ARG);
    expect(b.bus.trace.length).toBe(0);
  });

  it("stop gives ERR_TIMEOUT when EN stays 1", () => {
    const b = board();
    b.bus.clock.accessNs = 0;
    b.dma.set(SxCR(2), EN);
    b.dma.onWrite = (offset) => { if (offset === SxCR(2)) b.dma.set(SxCR(2), EN); };
    expect(b.hal.call("stm32_dma_stop", DMA2, 2)).toBe(ERR_TIMEOUT);
    expect(b.hal.call("stm32_dma_memcpy", DMA2, 2, RAM, RAM + 64, 64, WORDS)).toBe(ERR_TIMEOUT);
    expect(writesOf(lastCall(b.bus))).toEqual([[DMA2 + SxCR(2), 0]]);
  });

  it("clears each stream's own flags: LIFCR for 0-3, HIFCR for 4-7, at shifts 0, 6, 16, 22", () => {
    const expected: Array<[number, number]> = [
      [D.LIFCR, 0x0000_003d], [D.LIFCR, 0x0000_0f40], [D.LIFCR, 0x003d_0000], [D.LIFCR, 0x0f40_0000],
      [D.HIFCR, 0x0000_003d], [D.HIFCR, 0x0000_0f40], [D.HIFCR, 0x003d_0000], [D.HIFCR, 0x0f40_0000],
    ];
    for (let stream = 0; stream < 8; stream++) {
      const b = board();
      expect(b.hal.call("stm32_dma_stop", DMA2, stream)).toBe(OK);
      expect(writesOf(lastCall(b.bus)), `stream ${stream}`).toEqual([[DMA2 + expected[stream]![0], expected[stream]![1]]]);
      expect(expected[stream]![1], `stream ${stream}`).toBe(allFlags(stream));
    }
  });

  it("wait: OK on TCIF, ERR_DMA on TEIF, ERR_DMA_FIFO on DMEIF or on FEIF with the stream stopped; flags cleared", () => {
    for (let stream = 0; stream < 8; stream++) {
      const status = stream < 4 ? D.LISR : D.HISR;
      const clear = stream < 4 ? D.LIFCR : D.HIFCR;
      const f = flagsOf(stream);
      const cases: Array<[number, number, number]> = [
        [1 << f.TCIF, 0, OK], [(1 << f.TEIF) | (1 << f.TCIF), 0, ERR_DMA], [1 << f.DMEIF, EN, ERR_DMA_FIFO],
        [1 << f.FEIF, 0, ERR_DMA_FIFO], [(1 << f.FEIF) | (1 << f.TCIF), 0, OK],
      ];
      for (const [flags, cr, result] of cases) {
        const b = board();
        b.dma.set(status, flags >>> 0);
        b.dma.set(SxCR(stream), cr);
        expect(b.hal.call("stm32_dma_wait", DMA2, stream), `stream ${stream} flags ${hex(flags)}`).toBe(result);
        expect(writesOf(lastCall(b.bus))).toEqual([[DMA2 + clear, allFlags(stream)]]);
      }
    }
  });

  it("wait is bounded: ERR_TIMEOUT when no flag comes (QEMU: nothing moves); flags left alone", () => {
    const b = board();
    b.bus.clock.accessNs = 0;
    b.dma.set(SxCR(3), EN);
    expect(b.hal.call("stm32_dma_wait", DMA2, 3)).toBe(ERR_TIMEOUT);
    expect(writesOf(lastCall(b.bus))).toEqual([]);
  });

  it("wait: FEIF while the stream runs is no error; the transfer's TCIF decides", () => {
    const b = board();
    b.dma.set(SxCR(3), EN);
    let reads = 0;
    b.dma.onRead = (offset) => {
      if (offset !== D.LISR) return undefined;
      reads++;
      return reads < 5 ? 1 << 22 : (1 << 22) | (1 << 27); // stream 3 FEIF, then TCIF too
    };
    expect(b.hal.call("stm32_dma_wait", DMA2, 3)).toBe(OK);
    expect(writesOf(lastCall(b.bus))).toEqual([[DMA2 + D.LIFCR, 0x0f40_0000]]);
  });

  it("remaining reads NDTR", () => {
    const b = board();
    b.dma.set(SxNDTR(7), 1234);
    expect(b.hal.call("stm32_dma_remaining", DMA2, 7)).toBe(1234);
    expect(accesses(lastCall(b.bus))).toEqual([["R", DMA2 + SxNDTR(7)]]);
  });

  it("refuses what RM0090 §10.3 forbids, touching no register", () => {
    const b = board();
    const burst = (m: number, p = 0): number => (m << STM32_DMA_CONFIG_MBURST_SHIFT) | (p << STM32_DMA_CONFIG_PBURST_SHIFT);
    const refused: Array<[string, () => number]> = [
      ["stream 8", () => b.hal.call("stm32_dma_memcpy", DMA2, 8, RAM, RAM + 64, 64, 0)],
      ["channel 8", () => b.hal.call("stm32_dma_mem_to_periph", DMA2, 7, 8, USART1 + U.DR, RAM, 1, 0)],
      ["NDTR 0", () => b.hal.call("stm32_dma_mem_to_periph", DMA2, 7, 4, USART1 + U.DR, RAM, 0, 0)],
      ["NDTR 65536", () => b.hal.call("stm32_dma_mem_to_periph", DMA2, 7, 4, USART1 + U.DR, RAM, 65536, 0)],
      ["memcpy of 65536 words", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM, 65536 * 4, WORDS)],
      ["unaligned word source", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 2, 64, WORDS)],
      ["unaligned half-word memory", () => b.hal.call("stm32_dma_periph_to_mem", DMA2, 0, 3, SPI1 + S.DR, RAM + 1, 2, STM32_DMA_CONFIG_FIFO | STM32_DMA_CONFIG_MSIZE_HALFWORD | STM32_DMA_CONFIG_FTH_FULL)],
      ["direct mode with a burst", () => b.hal.call("stm32_dma_mem_to_periph", DMA2, 7, 4, USART1 + U.DR, RAM, 16, burst(STM32_DMA_CONFIG_BURST_INCR4))],
      ["direct mode with PSIZE != MSIZE", () => b.hal.call("stm32_dma_mem_to_periph", DMA2, 7, 4, USART1 + U.DR, RAM, 16, STM32_DMA_CONFIG_MSIZE_WORD)],
      ["circular memcpy", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, STM32_DMA_CONFIG_CIRCULAR)],
      ["byte to word packing, NDTR 6", () => b.hal.call("stm32_dma_periph_to_mem", DMA2, 2, 4, USART1 + U.DR, RAM, 6, STM32_DMA_CONFIG_FIFO | STM32_DMA_CONFIG_MSIZE_WORD | STM32_DMA_CONFIG_FTH_FULL)],
      // Table 49: half-word INCR4 (8 bytes) with FTH 3/4 (12 bytes); word INCR8; half-word INCR16.
      ["half-word INCR4, FTH 3/4", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, STM32_DMA_CONFIG_MSIZE_HALFWORD | STM32_DMA_CONFIG_FTH_3_QUARTERS | burst(STM32_DMA_CONFIG_BURST_INCR4))],
      ["word INCR8", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, WORDS | STM32_DMA_CONFIG_FTH_FULL | burst(STM32_DMA_CONFIG_BURST_INCR8))],
      ["half-word INCR16", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, STM32_DMA_CONFIG_MSIZE_HALFWORD | STM32_DMA_CONFIG_FTH_FULL | burst(STM32_DMA_CONFIG_BURST_INCR16))],
      ["byte INCR8, FTH 1/4", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, burst(STM32_DMA_CONFIG_BURST_INCR8))],
      ["PBURST x PSIZE = 16 bytes with FTH 3/4", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, WORDS | STM32_DMA_CONFIG_FTH_3_QUARTERS | burst(0, STM32_DMA_CONFIG_BURST_INCR4))],
      ["size code 3", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, 3)],
      ["reserved config bit", () => b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, 1 << 17)],
    ];
    for (const [what, call] of refused) expect(call(), what).toBe(ERR_INVALID_ARG);
    expect(b.bus.trace.length).toBe(0);
    // Allowed pairs of the same table: byte INCR8 with FTH 1/2, byte INCR16 with full, half-word INCR8 with full.
    expect(b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, STM32_DMA_CONFIG_FTH_HALF | burst(STM32_DMA_CONFIG_BURST_INCR8))).toBe(OK);
    expect(b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, STM32_DMA_CONFIG_FTH_FULL | burst(STM32_DMA_CONFIG_BURST_INCR16))).toBe(OK);
    expect(b.hal.call("stm32_dma_memcpy", DMA2, 0, RAM, RAM + 64, 64, STM32_DMA_CONFIG_MSIZE_HALFWORD | STM32_DMA_CONFIG_FTH_FULL | burst(STM32_DMA_CONFIG_BURST_INCR8))).toBe(OK);
  });
});

describe("every export refuses a misaligned base before touching a register", () => {
  it.each([
    ["stm32_rcc_enable", [STM32_CLOCK_GPIOA]], ["stm32_rcc_bus_clock_hz", [0, STM32_BUS_AHB]],
    ["stm32_gpio_configure", [0, 0]], ["stm32_gpio_read", []], ["stm32_gpio_lock", [1]],
    ["stm32_usart_init", [16_000_000, 9600, 0]], ["stm32_usart_write", [0, 0]], ["stm32_usart_read", [0, 0]], ["stm32_usart_flush", []],
    ["stm32_spi_init", [16_000_000, 1_000_000, 0]], ["stm32_spi_transfer", [0, 0, 1]], ["stm32_spi_disable", []],
    ["stm32_dma_wait", [0]], ["stm32_dma_stop", [0]], ["stm32_dma_remaining", [0]],
  ] as Array<[string, number[]]>)("%s", (name, rest) => {
    const b = board();
    expect(b.hal.call(name, 0x4000_0002, ...rest)).toBe(ERR_INVALID_ARG);
    expect(b.bus.trace.length).toBe(0);
  });
});
