// The PL022 SSP: the behavioural model driven through the bus, and the driver (hal.wasm) against
// it. Expected values come from the PL022 TRM (ARM DDI 0194) as collected in docs/primecell.md,
// PL022 section 2; divisor pairs and frame times are worked out here from the TRM's bit-rate
// formula, bit rate = SSPCLK / (CPSDVSR x (1 + SCR)), never taken from the code under test.
import { describe, expect, it } from "vitest";
import { Bus } from "../harness/bus.js";
import { Hal } from "../harness/hal.js";
import { OP_BARRIER, OP_READ, OP_WRITE } from "../harness/trace.js";
import { Pl022Model } from "../harness/devices/pl022.js";
import { DMA_BREQ, DMA_SREQ } from "../harness/devices/signals.js";
import { SPI_ACCEPTS_MODE_0, SPI_ACCEPTS_TI, SPI_ACCEPTS_MICROWIRE, type SpiSlave } from "../harness/devices/spi.js";
import {
  PL022_MAP, PL022_CR0, PL022_CR1, PL022_DR, PL022_SR, PL022_CPSR, PL022_IMSC, PL022_RIS, PL022_MIS,
  PL022_ICR, PL022_DMACR, PL022_CR1_SSE, PL022_CR1_LBM, PL022_CR1_MS,
  PL022_SR_BSY, PL022_SR_RFF, PL022_SR_RNE, PL022_SR_TNF, PL022_SR_TFE,
  PL022_RIS_TX, PL022_RIS_RX, PL022_RIS_RT, PL022_RIS_ROR, PL022_ICR_RORIC, PL022_ICR_RTIC,
  PL022_DMACR_TXDMAE, PL022_DMACR_RXDMAE,
  PL022_PeriphID0, PL022_PeriphID1, PL022_PeriphID2, PL022_PeriphID3,
  PL022_PCellID0, PL022_PCellID1, PL022_PCellID2, PL022_PCellID3,
} from "../harness/generated/pl022.js";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_RX_OVERRUN,
  PL022_CONFIG_MODE_1, PL022_CONFIG_MODE_2, PL022_CONFIG_MODE_3, PL022_CONFIG_CPOL, PL022_CONFIG_CPHA,
  PL022_CONFIG_FORMAT_TI, PL022_CONFIG_FORMAT_MICROWIRE, PL022_CONFIG_FORMAT_MASK, PL022_CONFIG_LOOPBACK,
} from "../harness/generated/api.js";

const BASE = 0x10005000;
const SSPCLK = 24_000_000;
/** 24 MHz / (2 x (1 + 11)) = 1 MHz: one bit per microsecond. */
const CPSDVSR_1MHZ = 2;
const SCR_1MHZ = 11;
const BIT_NS = 1000;
/** Checks land one bus access (100 ns) before or after an expected edge. */
const ONE_ACCESS = 100;

function setup(sspclkHz = SSPCLK) {
  const bus = new Bus();
  const ssp = new Pl022Model({ clock: bus.clock, sspclkHz });
  bus.map({ name: "ssp0", base: BASE, size: 0x1000, device: ssp, map: PL022_MAP });
  const rd = (offset: number): number => bus.read(BASE + offset, 4);
  const wr = (offset: number, value: number): void => bus.write(BASE + offset, value, 4);
  /** Reads a register with the access landing exactly at virtual time `time`. */
  const readAt = (time: number, offset: number): number => {
    bus.clock.advance(time - bus.clock.now - bus.clock.accessNs);
    return rd(offset);
  };
  /** TRM configuration order by hand: disabled, CPSR and CR0, then CR1 with SSE. */
  const configure = (cr0: number, cr1: number, cpsr = CPSDVSR_1MHZ): void => {
    wr(PL022_CR1, 0);
    wr(PL022_CPSR, cpsr);
    wr(PL022_CR0, cr0);
    wr(PL022_CR1, cr1);
  };
  return { bus, ssp, rd, wr, readAt, configure };
}

/** CR0 for 1 MHz at 24 MHz with `bits` data bits, Motorola mode 0. */
const cr0For = (bits: number): number => (SCR_1MHZ << 8) | (bits - 1);

class RecordingSlave implements SpiSlave {
  readonly frames: { mosi: number; bits: number; time: number }[] = [];
  readonly events: string[] = [];
  constructor(readonly reply: (mosi: number, bits: number) => number = () => 0, readonly accepts?: number) {}
  select(time: number): void {
    this.events.push(`select@${time}`);
  }
  deselect(time: number): void {
    this.events.push(`deselect@${time}`);
  }
  exchange(mosi: number, bits: number, time: number): number {
    this.frames.push({ mosi, bits, time });
    return this.reply(mosi, bits);
  }
}

describe("PL022 reset state and identification", () => {
  it("every register reads its TRM reset value", () => {
    const { rd } = setup();
    expect(rd(PL022_CR0)).toBe(0x0000);
    expect(rd(PL022_CR1)).toBe(0x0);
    expect(rd(PL022_SR)).toBe(0x03); // TFE and TNF
    expect(rd(PL022_CPSR)).toBe(0x00);
    expect(rd(PL022_IMSC)).toBe(0x0);
    expect(rd(PL022_RIS)).toBe(0x8); // TX: the empty TX FIFO is at or below the half mark
    expect(rd(PL022_MIS)).toBe(0x0);
    expect(rd(PL022_DMACR)).toBe(0x0);
  });

  it("the ID registers identify an ARM PL022 PrimeCell", () => {
    const { rd } = setup();
    const ids = [PL022_PeriphID0, PL022_PeriphID1, PL022_PeriphID2, PL022_PeriphID3].map(rd);
    expect(ids).toEqual([0x22, 0x10, 0x34, 0x00]);
    const periphId = (ids[0]! | (ids[1]! << 8) | (ids[2]! << 16) | (ids[3]! << 24)) >>> 0;
    // Linux matches 0x00041022 under mask 0x000fffff (part 0x022, designer 0x41 'A').
    expect(periphId & 0x000fffff).toBe(0x00041022);
    const cells = [PL022_PCellID0, PL022_PCellID1, PL022_PCellID2, PL022_PCellID3].map(rd);
    expect((cells[0]! | (cells[1]! << 8) | (cells[2]! << 16) | (cells[3]! << 24)) >>> 0).toBe(0xb105f00d);
  });

  it("CPSR bit 0 always reads 0: the prescaler has only even divisors", () => {
    const { rd, wr } = setup();
    wr(PL022_CPSR, 0x03);
    expect(rd(PL022_CPSR)).toBe(0x02);
    wr(PL022_CPSR, 0xff);
    expect(rd(PL022_CPSR)).toBe(0xfe);
  });
});

describe("PL022 model: FIFOs and status flags on the virtual clock", () => {
  it("an 8-bit frame at 1 MHz keeps BSY set for 8 us, then lands in the RX FIFO", () => {
    const { bus, rd, wr, readAt, configure } = setup();
    configure(cr0For(8), PL022_CR1_SSE | PL022_CR1_LBM);
    wr(PL022_DR, 0x5a);
    const start = bus.clock.now;
    // The frame left the TX FIFO for the shifter at once.
    expect(rd(PL022_SR)).toBe(PL022_SR_BSY | PL022_SR_TNF | PL022_SR_TFE);
    expect(readAt(start + 8 * BIT_NS - ONE_ACCESS, PL022_SR) & PL022_SR_BSY).toBe(PL022_SR_BSY);
    expect(readAt(start + 8 * BIT_NS, PL022_SR)).toBe(PL022_SR_RNE | PL022_SR_TNF | PL022_SR_TFE);
    expect(rd(PL022_DR)).toBe(0x5a);
    expect(rd(PL022_SR)).toBe(PL022_SR_TNF | PL022_SR_TFE);
  });

  it("a 16-bit frame takes 16 bit periods and a Microwire frame 8 + 1 + N", () => {
    const { bus, wr, readAt, configure } = setup();
    configure(cr0For(16), PL022_CR1_SSE | PL022_CR1_LBM);
    wr(PL022_DR, 0xbeef);
    let start = bus.clock.now;
    expect(readAt(start + 16 * BIT_NS - ONE_ACCESS, PL022_SR) & PL022_SR_RNE).toBe(0);
    expect(readAt(start + 16 * BIT_NS, PL022_SR) & PL022_SR_RNE).toBe(PL022_SR_RNE);
    expect(readAt(bus.clock.now + 100 * BIT_NS, PL022_DR)).toBe(0xbeef);

    // Microwire (FRF = 2), 12-bit reply: 8 command bits, 1 turnaround, 12 reply bits = 21.
    configure(cr0For(12) | (2 << 4), PL022_CR1_SSE | PL022_CR1_LBM);
    wr(PL022_DR, 0x0a5);
    start = bus.clock.now;
    expect(readAt(start + 21 * BIT_NS - ONE_ACCESS, PL022_SR) & PL022_SR_RNE).toBe(0);
    expect(readAt(start + 21 * BIT_NS, PL022_SR) & PL022_SR_RNE).toBe(PL022_SR_RNE);
  });

  it("the TX FIFO holds 8 frames while the port is disabled; a 9th write is lost", () => {
    const { ssp, rd, wr } = setup();
    for (let i = 0; i < 7; i++) wr(PL022_DR, i);
    expect(rd(PL022_SR)).toBe(PL022_SR_BSY | PL022_SR_TNF); // BSY: the TX FIFO is not empty
    wr(PL022_DR, 7);
    expect(rd(PL022_SR)).toBe(PL022_SR_BSY);
    wr(PL022_DR, 8);
    expect(ssp.txDropped).toBe(1);
    expect(ssp.txLevel).toBe(8);
  });

  it("frames wait in the TX FIFO while CPSDVSR is 0 or the port is a slave", () => {
    const { ssp, wr, bus, configure } = setup();
    configure(cr0For(8), PL022_CR1_SSE | PL022_CR1_LBM, 0);
    wr(PL022_DR, 1);
    bus.clock.advance(1_000_000);
    expect(ssp.txLevel).toBe(1);
    configure(cr0For(8), PL022_CR1_SSE | PL022_CR1_LBM | PL022_CR1_MS);
    bus.clock.advance(1_000_000);
    expect(ssp.txLevel).toBe(1);
    expect(ssp.framesShifted).toBe(0);
  });

  it("a frame that completes into a full RX FIFO is lost and sets ROR; the FIFO keeps its 8 frames", () => {
    const { ssp, bus, rd, wr, configure } = setup();
    configure(cr0For(8), PL022_CR1_SSE | PL022_CR1_LBM);
    for (let i = 0; i < 9; i++) wr(PL022_DR, 0x10 + i); // one in the shifter, eight queued
    bus.clock.advance(9 * 8 * BIT_NS);
    expect(rd(PL022_SR) & (PL022_SR_RFF | PL022_SR_RNE | PL022_SR_BSY)).toBe(PL022_SR_RFF | PL022_SR_RNE);
    expect(rd(PL022_RIS) & PL022_RIS_ROR).toBe(PL022_RIS_ROR);
    expect(ssp.overruns).toBe(1);
    const got = Array.from({ length: 8 }, () => rd(PL022_DR));
    expect(got).toEqual([0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]);
    // ROR is sticky until ICR.RORIC.
    expect(rd(PL022_RIS) & PL022_RIS_ROR).toBe(PL022_RIS_ROR);
    wr(PL022_ICR, PL022_ICR_RORIC);
    expect(rd(PL022_RIS) & PL022_RIS_ROR).toBe(0);
  });
});

describe("PL022 model: interrupts (TRM 3.4) and DMA requests", () => {
  it("TX is raised at 4 or fewer TX entries, RX at 4 or more RX entries; MIS = RIS AND IMSC", () => {
    const { bus, rd, wr, configure } = setup();
    for (let i = 0; i < 4; i++) wr(PL022_DR, i); // disabled: they stay in the TX FIFO
    expect(rd(PL022_RIS) & PL022_RIS_TX).toBe(PL022_RIS_TX);
    wr(PL022_DR, 4);
    expect(rd(PL022_RIS) & PL022_RIS_TX).toBe(0);
    // ICR cannot clear the level-driven TX and RX sources.
    wr(PL022_ICR, 0xf);
    configure(cr0For(8), PL022_CR1_SSE | PL022_CR1_LBM);
    bus.clock.advance(3 * 8 * BIT_NS);
    expect(rd(PL022_RIS) & PL022_RIS_RX).toBe(0); // 3 received
    bus.clock.advance(8 * BIT_NS);
    expect(rd(PL022_RIS) & (PL022_RIS_RX | PL022_RIS_TX)).toBe(PL022_RIS_RX | PL022_RIS_TX); // 4 received, 1 left
    wr(PL022_IMSC, PL022_RIS_RX);
    expect(rd(PL022_MIS)).toBe(PL022_RIS_RX);
    wr(PL022_IMSC, PL022_RIS_ROR);
    expect(rd(PL022_MIS)).toBe(0);
  });

  it("RT rises after 32 idle bit periods with data waiting and falls when the FIFO empties or through RTIC", () => {
    const { ssp, bus, rd, wr, readAt, configure } = setup();
    configure(cr0For(8), PL022_CR1_SSE | PL022_CR1_LBM);
    wr(PL022_IMSC, PL022_RIS_RT);
    wr(PL022_DR, 0x42);
    wr(PL022_DR, 0x43);
    const arrived = bus.clock.now - ONE_ACCESS + 16 * BIT_NS; // the second frame completes
    expect(readAt(arrived + 32 * BIT_NS - ONE_ACCESS, PL022_RIS) & PL022_RIS_RT).toBe(0);
    expect(readAt(arrived + 32 * BIT_NS, PL022_RIS) & PL022_RIS_RT).toBe(PL022_RIS_RT);
    expect(ssp.interruptPending()).toBe(true);
    rd(PL022_DR); // one frame left: RT stays
    expect(rd(PL022_RIS) & PL022_RIS_RT).toBe(PL022_RIS_RT);
    rd(PL022_DR); // empty
    expect(rd(PL022_RIS) & PL022_RIS_RT).toBe(0);
    expect(ssp.interruptPending()).toBe(false);

    wr(PL022_DR, 0x44);
    bus.clock.advance(8 * BIT_NS + 32 * BIT_NS);
    expect(rd(PL022_RIS) & PL022_RIS_RT).toBe(PL022_RIS_RT);
    wr(PL022_ICR, PL022_ICR_RTIC);
    bus.clock.advance(100 * BIT_NS);
    expect(rd(PL022_RIS) & PL022_RIS_RT).toBe(0);
  });

  it("DMA requests follow the FIFO levels once DMACR enables them", () => {
    const { ssp, bus, wr, configure } = setup();
    expect(ssp.dmaRequests("tx")).toBe(0);
    wr(PL022_DMACR, PL022_DMACR_TXDMAE | PL022_DMACR_RXDMAE);
    expect(ssp.dmaRequests("tx")).toBe(DMA_SREQ | DMA_BREQ); // empty
    expect(ssp.dmaRequests("rx")).toBe(0);
    for (let i = 0; i < 5; i++) wr(PL022_DR, i);
    expect(ssp.dmaRequests("tx")).toBe(DMA_SREQ); // above the half mark, still room
    for (let i = 0; i < 3; i++) wr(PL022_DR, i);
    expect(ssp.dmaRequests("tx")).toBe(0); // full
    configure(cr0For(8), PL022_CR1_SSE | PL022_CR1_LBM);
    bus.clock.advance(8 * BIT_NS);
    expect(ssp.dmaRequests("rx")).toBe(DMA_SREQ);
    bus.clock.advance(3 * 8 * BIT_NS);
    expect(ssp.dmaRequests("rx")).toBe(DMA_SREQ | DMA_BREQ);
  });
});

describe("PL022 model: slaves and chip selects", () => {
  it("a selected slave sees each frame MSB-first at its completion time and answers on MISO", () => {
    const { ssp, bus, rd, wr, configure } = setup();
    const slave = new RecordingSlave((mosi) => mosi ^ 0xff);
    const cs = ssp.attach(slave);
    configure(cr0For(8), PL022_CR1_SSE);
    ssp.chipSelect(cs, true);
    wr(PL022_DR, 0x3c);
    const start = bus.clock.now;
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0xc3);
    expect(slave.frames).toEqual([{ mosi: 0x3c, bits: 8, time: start + 8 * BIT_NS }]);
    ssp.chipSelect(cs, false);
    expect(slave.events).toEqual([`select@${start - ONE_ACCESS}`, `deselect@${bus.clock.now}`]);
  });

  it("with no slave selected MISO reads all ones; in loopback a selected slave is not driven", () => {
    const { ssp, bus, rd, wr, configure } = setup();
    const slave = new RecordingSlave(() => 0);
    ssp.attach(slave);
    configure(cr0For(12), PL022_CR1_SSE);
    wr(PL022_DR, 0x123);
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0xfff);
    ssp.select(slave);
    configure(cr0For(12), PL022_CR1_SSE | PL022_CR1_LBM);
    wr(PL022_DR, 0x456);
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0x456);
    expect(slave.frames).toEqual([]);
  });

  it("a chip select wired to an active-low GPIO pin follows that pin and no other", () => {
    const { ssp } = setup();
    const slave = new RecordingSlave();
    const pinChanged = ssp.chipSelectListener(ssp.attach(slave), { pin: 3 });
    pinChanged(3, false);
    expect(ssp.isSelected(0)).toBe(true);
    pinChanged(2, true);
    expect(ssp.isSelected(0)).toBe(true);
    pinChanged(3, true);
    expect(ssp.isSelected(0)).toBe(false);
    expect(slave.events.length).toBe(2);
    const activeHigh = ssp.chipSelectListener(0, { activeLow: false });
    activeHigh(7, true);
    expect(ssp.isSelected(0)).toBe(true);
  });

  it("a slave that samples in mode 0 does not see mode 3, TI or Microwire frames", () => {
    const { ssp, bus, rd, wr, configure } = setup();
    const mode0 = new RecordingSlave(() => 0x00, SPI_ACCEPTS_MODE_0);
    ssp.attach(mode0);
    ssp.select(mode0);
    configure(cr0For(8) | 0xc0, PL022_CR1_SSE); // SPO = SPH = 1: mode 3
    wr(PL022_DR, 0x11);
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0xff);
    configure(cr0For(8) | (1 << 4), PL022_CR1_SSE); // TI
    wr(PL022_DR, 0x22);
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0xff);
    configure(cr0For(8) | (2 << 4), PL022_CR1_SSE); // Microwire
    wr(PL022_DR, 0x33);
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0xff);
    expect(mode0.frames).toEqual([]);
    // The same slave answers once the port runs in mode 0.
    configure(cr0For(8), PL022_CR1_SSE);
    wr(PL022_DR, 0x44);
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0x00);
    expect(mode0.frames.map((f) => f.mosi)).toEqual([0x44]);
  });

  it("TI frames reach a TI slave; a Microwire frame sends the 8-bit command, then clocks in the reply", () => {
    const { ssp, bus, rd, wr, configure } = setup();
    const ti = new RecordingSlave(() => 0x5, SPI_ACCEPTS_TI);
    ssp.attach(ti);
    ssp.select(ti);
    configure(cr0For(4) | (1 << 4), PL022_CR1_SSE);
    wr(PL022_DR, 0xa);
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0x5);
    expect(ti.frames.map((f) => [f.mosi, f.bits])).toEqual([[0xa, 4]]);

    const microwire = new RecordingSlave((_mosi, bits) => (bits === 16 ? 0xcafe : 0), SPI_ACCEPTS_MICROWIRE);
    ssp.attach(microwire);
    ssp.select(microwire);
    configure(cr0For(16) | (2 << 4), PL022_CR1_SSE);
    wr(PL022_DR, 0x1c3);
    bus.clock.advance(40 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0xcafe);
    expect(microwire.frames.map((f) => [f.mosi, f.bits])).toEqual([[0xc3, 8], [0, 16]]);
  });

  it("two selected slaves drive MISO together: the line reads the AND of their answers", () => {
    const { ssp, bus, rd, wr, configure } = setup();
    ssp.chipSelect(ssp.attach(new RecordingSlave(() => 0xf0)), true);
    ssp.chipSelect(ssp.attach(new RecordingSlave(() => 0x3c)), true);
    configure(cr0For(8), PL022_CR1_SSE);
    wr(PL022_DR, 0);
    bus.clock.advance(20 * BIT_NS);
    expect(rd(PL022_DR)).toBe(0x30);
  });
});

// ---- The driver ----

function setupHal(sspclkHz = SSPCLK) {
  const parts = setup(sspclkHz);
  const hal = new Hal(parts.bus);
  return { ...parts, hal };
}

/** Every write the trace holds, as [offset, value] pairs relative to BASE. */
function registerWrites(bus: Bus, from = 0): [number, number][] {
  const out: [number, number][] = [];
  for (const e of bus.trace.entries(from)) if (e.op === OP_WRITE) out.push([e.addr - BASE, e.value]);
  return out;
}

/** The highest bit rate SSPCLK / (CPSDVSR x (1 + SCR)) not above `request`, by trying every
 * pair the TRM allows (CPSDVSR even 2..254, SCR 0..255). */
function bestRateByExhaustion(sspclkHz: number, request: number): number {
  let best = 0;
  for (let cpsdvsr = 2; cpsdvsr <= 254; cpsdvsr += 2) {
    for (let scr = 0; scr <= 255; scr++) {
      const rate = sspclkHz / (cpsdvsr * (1 + scr));
      if (rate <= request && rate > best) best = rate;
    }
  }
  return best;
}

describe("pl022_init: clock divisors (bit rate = SSPCLK / (CPSDVSR x (1 + SCR)))", () => {
  // [SSPCLK, request, CPSDVSR, SCR, actual rate]: each pair worked out by hand from the formula.
  const cases: [string, number, number, number, number, number][] = [
    // 24 MHz / 1 MHz = 24 = 2 x 12: exact.
    ["24 MHz to 1 MHz exactly: CPSDVSR 2, SCR 11", 24_000_000, 1_000_000, 2, 11, 1_000_000],
    // The TRM worked example: 3.6864 MHz with CPSDVSR 2 spans 1.8432 MHz (SCR 0) to 7.2 kHz (SCR 255).
    ["3.6864 MHz to 1.8432 MHz: CPSDVSR 2, SCR 0", 3_686_400, 1_843_200, 2, 0, 1_843_200],
    ["3.6864 MHz to 7.2 kHz: CPSDVSR 2, SCR 255", 3_686_400, 7_200, 2, 255, 7_200],
    // Above SSPCLK / 2 the fastest pair is the answer: 24 MHz / 2 = 12 MHz.
    ["24 MHz asked for 20 MHz gives 12 MHz", 24_000_000, 20_000_000, 2, 0, 12_000_000],
    // 25 MHz / 10 MHz = 2.5: total divisors are even, so 4 (6.25 MHz), never 3 (8.33 MHz).
    ["25 MHz asked for 10 MHz gives 6.25 MHz: CPSDVSR 2, SCR 1", 25_000_000, 10_000_000, 2, 1, 6_250_000],
    // 48 MHz / 50 kHz = 960: CPSDVSR 2 would need SCR 479, so 4 x 240.
    ["48 MHz to 50 kHz: CPSDVSR 4, SCR 239", 48_000_000, 50_000, 4, 239, 50_000],
    // 100 MHz / 97 kHz = 1030.9: at least 1031, even: 1032 = 6 x 172 = 8 x 129 = 12 x 86 = ...
    // (2 x 516 and 4 x 258 need SCR > 255). The smallest CPSDVSR of the tie wins.
    ["100 MHz asked for 97 kHz: 1032 = 6 x 172, smallest CPSDVSR of the tie", 100_000_000, 97_000, 6, 171, 100_000_000 / 1032],
    // The slowest rate: 254 x 256 = 65024; 100 MHz / 65024 = 1537.9 Hz.
    ["100 MHz to 1538 Hz needs the largest divisor: CPSDVSR 254, SCR 255", 100_000_000, 1538, 254, 255, 100_000_000 / 65024],
  ];

  for (const [name, sspclk, request, cpsdvsr, scr, actual] of cases) {
    it(name, () => {
      const { ssp, hal, rd } = setupHal(sspclk);
      expect(hal.call("pl022_init", BASE, sspclk, request, 0)).toBe(OK);
      expect(rd(PL022_CPSR)).toBe(cpsdvsr);
      expect(rd(PL022_CR0)).toBe((scr << 8) | 0x07);
      expect(ssp.bitRateHz).toBeCloseTo(actual, 6);
      expect(actual).toBeLessThanOrEqual(request);
    });
  }

  it("24 MHz to 1 MHz programs CR0 = 0x0B07 (SCR 11, 8-bit Motorola mode 0), CPSR = 2, CR1 = SSE", () => {
    const { hal, rd } = setupHal();
    expect(hal.call("pl022_init", BASE, 24_000_000, 1_000_000, 0)).toBe(OK);
    expect(rd(PL022_CR0)).toBe(0x0b07);
    expect(rd(PL022_CPSR)).toBe(0x02);
    expect(rd(PL022_CR1)).toBe(PL022_CR1_SSE);
    expect(rd(PL022_IMSC)).toBe(0);
    expect(rd(PL022_DMACR)).toBe(0);
  });

  it("the chosen rate is the highest one not above the request, for awkward requests", () => {
    const requests: [number, number][] = [
      [24_000_000, 333_333], [50_000_000, 97_000], [12_345_678, 12_345], [48_000_000, 2_999_999],
      [100_000_000, 400_000], [7_372_800, 115_200], [133_000_000, 1_000_001],
    ];
    for (const [sspclk, request] of requests) {
      const { ssp, hal } = setupHal(sspclk);
      expect(hal.call("pl022_init", BASE, sspclk, request, 0)).toBe(OK);
      expect(ssp.bitRateHz, `${sspclk} Hz asked for ${request} Hz`).toBeCloseTo(bestRateByExhaustion(sspclk, request), 6);
    }
  });

  it("a rate below SSPCLK / 65024 is unreachable and touches no register", () => {
    const { bus, hal } = setupHal(100_000_000);
    expect(hal.call("pl022_init", BASE, 100_000_000, 1537, 0)).toBe(ERR_UNREACHABLE_RATE);
    expect(bus.trace.length).toBe(0);
  });
});

describe("pl022_init: config word", () => {
  const cases: [string, number, number, number][] = [
    // [name, config, CR0 low byte (SPH, SPO, FRF, DSS), CR1]
    ["0 is 8-bit Motorola SPI mode 0", 0, 0x07, PL022_CR1_SSE],
    ["4-bit frames: DSS 3", 4, 0x03, PL022_CR1_SSE],
    ["16-bit frames, mode 3: SPH, SPO, DSS 15", 16 | PL022_CONFIG_MODE_3, 0xcf, PL022_CR1_SSE],
    ["mode 1: SPH only", PL022_CONFIG_MODE_1, 0x87, PL022_CR1_SSE],
    ["mode 2: SPO only", PL022_CONFIG_MODE_2, 0x47, PL022_CR1_SSE],
    ["TI synchronous serial: FRF 1", PL022_CONFIG_FORMAT_TI, 0x17, PL022_CR1_SSE],
    ["Microwire with a 12-bit reply: FRF 2, DSS 11", PL022_CONFIG_FORMAT_MICROWIRE | 12, 0x2b, PL022_CR1_SSE],
    ["loopback sets CR1.LBM", PL022_CONFIG_LOOPBACK, 0x07, PL022_CR1_SSE | PL022_CR1_LBM],
  ];
  for (const [name, config, cr0, cr1] of cases) {
    it(name, () => {
      const { hal, rd } = setupHal();
      expect(hal.call("pl022_init", BASE, SSPCLK, 1_000_000, config)).toBe(OK);
      expect(rd(PL022_CR0)).toBe((SCR_1MHZ << 8) | cr0);
      expect(rd(PL022_CR1)).toBe(cr1);
    });
  }

  const invalid: [string, number, number, number, number][] = [
    ["a zero SSPCLK", BASE, 0, 1_000_000, 0],
    ["a zero bit rate", BASE, SSPCLK, 0, 0],
    ["an unaligned base", BASE + 2, SSPCLK, 1_000_000, 0],
    ["1-bit frames", BASE, SSPCLK, 1_000_000, 1],
    ["3-bit frames", BASE, SSPCLK, 1_000_000, 3],
    ["17-bit frames", BASE, SSPCLK, 1_000_000, 17],
    ["31-bit frames", BASE, SSPCLK, 1_000_000, 31],
    ["the reserved frame format 3", BASE, SSPCLK, 1_000_000, PL022_CONFIG_FORMAT_MASK],
    ["a reserved config bit", BASE, SSPCLK, 1_000_000, 0x400],
    ["the top config bit", BASE, SSPCLK, 1_000_000, 0x80000000 | 0],
    ["clock polarity with TI frames", BASE, SSPCLK, 1_000_000, PL022_CONFIG_FORMAT_TI | PL022_CONFIG_CPOL],
    ["clock phase with Microwire frames", BASE, SSPCLK, 1_000_000, PL022_CONFIG_FORMAT_MICROWIRE | PL022_CONFIG_CPHA],
  ];
  for (const [name, base, clk, rate, config] of invalid) {
    it(`refuses ${name} with ERR_INVALID_ARG before any register access`, () => {
      const { bus, hal } = setupHal();
      expect(hal.call("pl022_init", base, clk, rate, config)).toBe(ERR_INVALID_ARG);
      expect(bus.trace.length).toBe(0);
    });
  }
});

describe("pl022_init: TRM programming order (docs/primecell.md 2.5)", () => {
  it("clears SSE first, programs CPSR and CR0 while disabled, sets SSE last, then DSB", () => {
    const { bus, hal, wr } = setupHal();
    // A port left enabled, in slave mode, with loopback.
    wr(PL022_CR1, PL022_CR1_SSE | PL022_CR1_MS | PL022_CR1_LBM);
    const from = bus.trace.length;
    expect(hal.call("pl022_init", BASE, SSPCLK, 1_000_000, 0)).toBe(OK);
    const writes = registerWrites(bus, from);
    // Only SSE is cleared at first: MS may change only while SSE = 0.
    expect(writes[0]).toEqual([PL022_CR1, PL022_CR1_MS | PL022_CR1_LBM]);
    let enabled = false;
    for (const [offset, value] of writes) {
      if (offset === PL022_CR0 || offset === PL022_CPSR) expect(enabled, "CR0/CPSR written while SSE = 1").toBe(false);
      if (offset === PL022_CR1) {
        // MS changes only in a write with SSE = 0 that follows one with SSE = 0.
        enabled = (value & PL022_CR1_SSE) !== 0;
      }
    }
    expect(writes.filter(([o]) => o === PL022_CPSR)).toEqual([[PL022_CPSR, 2]]);
    expect(writes.filter(([o]) => o === PL022_CR0)).toEqual([[PL022_CR0, 0x0b07]]);
    expect(writes.slice(-2)).toEqual([[PL022_CR1, 0], [PL022_CR1, PL022_CR1_SSE]]);
    const last = bus.trace.entry(bus.trace.length - 1);
    expect([last.op, last.value]).toEqual([OP_BARRIER, 1]); // DSB after the enable
  });
});

describe("pl022_transfer", () => {
  function initLoopback(hal: Hal, bits = 8): void {
    expect(hal.call("pl022_init", BASE, SSPCLK, 1_000_000, bits | PL022_CONFIG_LOOPBACK)).toBe(OK);
  }

  it("loops 8-bit frames back byte for byte", () => {
    const { hal } = setupHal();
    initLoopback(hal);
    const tx = [0x00, 0x01, 0x7f, 0x80, 0xa5, 0x5a, 0xfe, 0xff];
    const txPtr = hal.writeBytes(tx);
    const rxPtr = txPtr + 256;
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, tx.length)).toBe(tx.length);
    expect(Array.from(hal.readBytes(rxPtr, tx.length))).toEqual(tx);
  });

  it("loops 16-bit frames back as little-endian pairs", () => {
    const { ssp, hal } = setupHal();
    initLoopback(hal, 16);
    const tx = [0x34, 0x12, 0xcd, 0xab, 0xff, 0x00];
    const txPtr = hal.writeBytes(tx);
    const rxPtr = txPtr + 256;
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, 3)).toBe(3);
    expect(Array.from(hal.readBytes(rxPtr, 6))).toEqual(tx);
    expect(ssp.framesShifted).toBe(3);
  });

  it("frames narrower than their bytes come back right-justified: unused bits are not sent", () => {
    const { hal } = setupHal();
    initLoopback(hal, 12);
    const txPtr = hal.writeBytes([0xbc, 0xfa, 0x34, 0x12]); // 0xFABC, 0x1234
    const rxPtr = txPtr + 256;
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, 2)).toBe(2);
    expect(Array.from(hal.readBytes(rxPtr, 4))).toEqual([0xbc, 0x0a, 0x34, 0x02]);
  });

  it("300 frames keep the TX FIFO fed and never more than 8 in flight: no overrun, no gap", () => {
    const { bus, ssp, hal, rd } = setupHal();
    initLoopback(hal);
    const tx = Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff);
    const txPtr = hal.writeBytes(tx);
    const rxPtr = txPtr + 512;
    const start = bus.clock.now;
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, tx.length)).toBe(300);
    const elapsed = bus.clock.now - start;
    expect(Array.from(hal.readBytes(rxPtr, 300))).toEqual(tx);
    expect(ssp.overruns).toBe(0);
    expect(rd(PL022_RIS) & PL022_RIS_ROR).toBe(0);
    expect(ssp.peakInFlight).toBeLessThanOrEqual(8);
    // 300 frames of 8 bits at 1 MHz are 2.4 ms on the wire; a starved shifter would add gaps.
    expect(elapsed).toBeGreaterThanOrEqual(300 * 8 * BIT_NS);
    expect(elapsed).toBeLessThan(300 * 8 * BIT_NS + 20 * BIT_NS);
  });

  it("tx_ptr 0 sends all-ones frames, cut to the frame size", () => {
    const { hal } = setupHal();
    initLoopback(hal, 12);
    const rxPtr = hal.scratch;
    expect(hal.call("pl022_transfer", BASE, 0, rxPtr, 2)).toBe(2);
    expect(Array.from(hal.readBytes(rxPtr, 4))).toEqual([0xff, 0x0f, 0xff, 0x0f]);
  });

  it("rx_ptr 0 discards what comes back and leaves memory alone", () => {
    const { ssp, hal } = setupHal();
    initLoopback(hal);
    const txPtr = hal.writeBytes([1, 2, 3, 4]);
    hal.writeBytes(new Array(16).fill(0xaa), txPtr + 4);
    expect(hal.call("pl022_transfer", BASE, txPtr, 0, 4)).toBe(4);
    expect(ssp.framesShifted).toBe(4);
    expect(Array.from(hal.readBytes(txPtr, 20))).toEqual([1, 2, 3, 4, ...new Array(16).fill(0xaa)]);
  });

  it("a zero-length transfer returns 0 without touching the port", () => {
    const { bus, hal } = setupHal();
    expect(hal.call("pl022_transfer", BASE, hal.scratch, hal.scratch, 0)).toBe(0);
    expect(bus.trace.length).toBe(0);
  });

  it("refuses an unaligned base or a buffer outside linear memory before any register access", () => {
    const { bus, hal } = setupHal();
    const end = hal.memory.buffer.byteLength;
    expect(hal.call("pl022_transfer", BASE + 1, hal.scratch, hal.scratch, 4)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl022_transfer", BASE, end - 2, 0, 4)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl022_transfer", BASE, 0, end - 2, 4)).toBe(ERR_INVALID_ARG);
    expect(bus.trace.length).toBe(0);
  });

  it("a buffer that fits 8-bit frames but not 16-bit ones is refused after reading CR0, before any other access", () => {
    const { bus, hal } = setupHal();
    initLoopback(hal, 16);
    const from = bus.trace.length;
    const end = hal.memory.buffer.byteLength;
    expect(hal.call("pl022_transfer", BASE, end - 6, 0, 4)).toBe(ERR_INVALID_ARG);
    const accesses = [...bus.trace.entries(from)].map((e) => [e.op, e.addr - BASE]);
    expect(accesses).toEqual([[OP_READ, PL022_CR0]]);
  });

  it("a port never configured (reserved data size in CR0) is refused", () => {
    const { hal } = setupHal();
    expect(hal.call("pl022_transfer", BASE, hal.scratch, hal.scratch, 1)).toBe(ERR_INVALID_ARG);
  });

  it("reports an overrun from frames left in flight, clears ROR, and the next transfer is clean", () => {
    const { bus, ssp, hal, rd, wr } = setupHal();
    initLoopback(hal);
    // Someone else filled the port: nine frames, one more than the RX FIFO holds.
    for (let i = 0; i < 9; i++) wr(PL022_DR, 0xe0 + i);
    bus.clock.advance(10 * 8 * BIT_NS);
    expect(rd(PL022_RIS) & PL022_RIS_ROR).toBe(PL022_RIS_ROR);
    const txPtr = hal.writeBytes([0x11, 0x22, 0x33, 0x44]);
    const rxPtr = txPtr + 64;
    const from = bus.trace.length;
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, 4)).toBe(ERR_RX_OVERRUN);
    expect(registerWrites(bus, from).at(-1)).toEqual([PL022_ICR, PL022_ICR_RORIC]);
    expect(rd(PL022_RIS) & PL022_RIS_ROR).toBe(0);
    expect(ssp.rxLevel).toBe(0);
    // The stale frames were drained, so this transfer's frames line up.
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, 4)).toBe(4);
    expect(Array.from(hal.readBytes(rxPtr, 4))).toEqual([0x11, 0x22, 0x33, 0x44]);
  });

  it("gives up with ERR_TIMEOUT when BSY is stuck, after a bounded number of polls", () => {
    const { bus, ssp, hal } = setupHal();
    initLoopback(hal);
    ssp.faults.busyStuck = true;
    const from = bus.trace.length;
    expect(hal.call("pl022_transfer", BASE, hal.scratch, hal.scratch, 4)).toBe(ERR_TIMEOUT);
    const polls = [...bus.trace.entries(from)].filter((e) => e.op === OP_READ && e.addr === BASE + PL022_SR).length;
    expect(polls).toBeGreaterThan(1000);
    expect(polls).toBeLessThanOrEqual(1 << 20);
  });

  it("gives up with ERR_TIMEOUT when the port was disabled behind the driver's back", () => {
    const { ssp, hal, wr } = setupHal();
    initLoopback(hal);
    wr(PL022_CR1, PL022_CR1_LBM); // SSE = 0
    expect(hal.call("pl022_transfer", BASE, hal.scratch, hal.scratch, 12)).toBe(ERR_TIMEOUT);
    expect(ssp.txLevel).toBe(8); // it filled the FIFO, never more than 8 in flight
    expect(ssp.framesShifted).toBe(0);
  });

  it("a transfer that timed out leaves frames in flight; the next one drains them first", () => {
    const { ssp, hal, wr } = setupHal();
    initLoopback(hal);
    wr(PL022_CR1, PL022_CR1_LBM);
    hal.writeBytes([9, 9, 9, 9, 9, 9, 9, 9]);
    expect(hal.call("pl022_transfer", BASE, hal.scratch, 0, 8)).toBe(ERR_TIMEOUT);
    wr(PL022_CR1, PL022_CR1_LBM | PL022_CR1_SSE);
    const txPtr = hal.writeBytes([1, 2, 3]);
    const rxPtr = txPtr + 64;
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, 3)).toBe(3);
    expect(Array.from(hal.readBytes(rxPtr, 3))).toEqual([1, 2, 3]);
    expect(ssp.framesShifted).toBe(11);
  });

  it("without loopback and with no slave selected every received byte is 0xFF", () => {
    const { hal } = setupHal();
    expect(hal.call("pl022_init", BASE, SSPCLK, 1_000_000, 0)).toBe(OK);
    const txPtr = hal.writeBytes([0, 0, 0]);
    const rxPtr = txPtr + 64;
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, 3)).toBe(3);
    expect(Array.from(hal.readBytes(rxPtr, 3))).toEqual([0xff, 0xff, 0xff]);
  });

  it("full duplex with a slave: each received byte is the slave's answer to the byte sent", () => {
    const { ssp, hal } = setupHal();
    const slave = new RecordingSlave((mosi) => (mosi + 1) & 0xff);
    ssp.attach(slave);
    ssp.select(slave);
    expect(hal.call("pl022_init", BASE, SSPCLK, 1_000_000, 0)).toBe(OK);
    const tx = Array.from({ length: 20 }, (_, i) => i * 13);
    const txPtr = hal.writeBytes(tx);
    const rxPtr = txPtr + 64;
    expect(hal.call("pl022_transfer", BASE, txPtr, rxPtr, 20)).toBe(20);
    expect(Array.from(hal.readBytes(rxPtr, 20))).toEqual(tx.map((b) => (b + 1) & 0xff));
    expect(slave.frames.map((f) => f.mosi)).toEqual(tx);
  });
});

describe("pl022_transfer against a port whose RX FIFO never empties", () => {
  it("drains at most the frames an aborted transfer can leave (2 FIFOs + the shifter), then times out", () => {
    // SR reads RNE | TNF forever: a receive FIFO that never empties (legal flags, broken port).
    // Before the bound, the stale-frame drain read DR forever and the call never returned.
    const port = {
      read: (offset: number): number => (offset === PL022_CR0 ? 0x07 /* DSS: 8-bit */ : offset === PL022_SR ? PL022_SR_RNE | PL022_SR_TNF : 0),
      write: (): void => {},
    };
    const bus = new Bus();
    bus.map({ name: "ssp0", base: BASE, size: 0x1000, device: port, map: PL022_MAP });
    const hal = new Hal(bus);
    bus.setAccessBudget(10_000);
    expect(hal.call("pl022_transfer", BASE, hal.scratch, hal.scratch + 64, 4)).toBe(ERR_TIMEOUT);
    const drReads = [...bus.trace.entries()].filter((e) => e.op === OP_READ && e.addr === BASE + PL022_DR).length;
    expect(drReads).toBe(2 * 8 + 1);
  });
});
