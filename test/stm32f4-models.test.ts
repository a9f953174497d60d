// The STM32F4 models (harness/devices/stm32f4/) driven straight through a Bus, no WebAssembly:
// expected values come from RM0090 (sections cited beside each), worked out by hand here.
import { describe, expect, it } from "vitest";
import { Bus, BusFault, VirtualClock, type Device } from "../harness/bus.js";
import { BoardFileError, buildBoard, loadBoard, loadBoardFile, parseBoardFile, type Json } from "../harness/board-file.js";
import { Ram } from "../harness/devices/ram.js";
import { SpiNorFlash, type SpiSlave } from "../harness/devices/spi.js";
import { Stm32DmaModel } from "../harness/devices/stm32f4/dma.js";
import { Stm32GpioModel, type Stm32GpioPort } from "../harness/devices/stm32f4/gpio.js";
import { Stm32RccModel } from "../harness/devices/stm32f4/rcc.js";
import { Stm32SpiModel } from "../harness/devices/stm32f4/spi.js";
import { Stm32UsartModel } from "../harness/devices/stm32f4/usart.js";
import { DMA_MAP } from "../harness/generated/dma.js";
import { GPIO_MAP } from "../harness/generated/gpio.js";
import { SPI_MAP } from "../harness/generated/spi.js";
import { USART_MAP } from "../harness/generated/usart.js";
import type { RegisterBlock } from "../harness/regmap.js";

// Register offsets, RM0090 §7.3.24 (RCC), §8.4.11 (GPIO), §30.6.8 (USART), §28.5.10 (SPI),
// §10.5.11 (DMA) register maps.
const RCC = { CR: 0x00, PLLCFGR: 0x04, CFGR: 0x08, AHB1RSTR: 0x10, AHB1ENR: 0x30, APB2ENR: 0x44 };
const GPIO = { MODER: 0x00, OTYPER: 0x04, OSPEEDR: 0x08, PUPDR: 0x0c, IDR: 0x10, ODR: 0x14, BSRR: 0x18, LCKR: 0x1c, AFRL: 0x20, AFRH: 0x24 };
const USART = { SR: 0x00, DR: 0x04, BRR: 0x08, CR1: 0x0c, CR2: 0x10, CR3: 0x14 };
const SPI = { CR1: 0x00, CR2: 0x04, SR: 0x08, DR: 0x0c };
const DMA = { LISR: 0x00, HISR: 0x04, LIFCR: 0x08, HIFCR: 0x0c };
const stream = (n: number) => {
  const base = 0x10 + 0x18 * n;
  return { CR: base, NDTR: base + 4, PAR: base + 8, M0AR: base + 12, M1AR: base + 16, FCR: base + 20 };
};

// Bits used below, RM0090 §30.6.1 (USART SR), §30.6.4 (CR1), §30.6.6 (CR3).
const SR_PE = 1 << 0, SR_FE = 1 << 1, SR_ORE = 1 << 3, SR_IDLE = 1 << 4, SR_RXNE = 1 << 5, SR_TC = 1 << 6, SR_TXE = 1 << 7;
const CR1_RE = 1 << 2, CR1_TE = 1 << 3, CR1_UE = 1 << 13;
const CR3_DMAT = 1 << 7;
// SPI CR1 / SR, RM0090 §28.5.1, §28.5.3.
const SPI_MSTR = 1 << 2, SPI_SPE = 1 << 6, SPI_SSI = 1 << 8, SPI_SSM = 1 << 9, SPI_DFF = 1 << 11;
const SPI_RXNE = 1 << 0, SPI_TXE = 1 << 1, SPI_MODF = 1 << 5, SPI_OVR = 1 << 6, SPI_BSY = 1 << 7;
// DMA SxCR, RM0090 §10.5.5.
const EN = 1 << 0, TCIE = 1 << 4, MINC = 1 << 10, PINC = 1 << 9, DIR_M2P = 1 << 6, DIR_M2M = 2 << 6;
const PSIZE_HALF = 1 << 11, MSIZE_HALF = 1 << 13, PSIZE_WORD = 2 << 11, MSIZE_WORD = 2 << 13, MBURST_INCR4 = 1 << 23, CHSEL = (ch: number) => ch << 25;
// DMA SxFCR: DMDIS bit 2, FTH bits 1:0, RM0090 §10.5.10.
const DMDIS = 1 << 2;

const PERIPH = 0x40000000;

/** Lets time pass so that the next CPU access lands at virtual time `t` (every access takes
 * accessNs, which the bus adds before the device sees it). */
function nextAccessAt(bus: Bus, t: number): void {
  bus.settle(t - bus.clock.accessNs - bus.clock.now);
}

function busWith(name: string, device: Device, map: RegisterBlock, clock = new VirtualClock()): Bus {
  const bus = new Bus({ clock });
  bus.map({ name, base: PERIPH, size: 0x400, device, map });
  return bus;
}

// ---------------------------------------------------------------------------------------------

describe("GPIO (RM0090 §8)", () => {
  const port = (p: Stm32GpioPort) => {
    const clock = new VirtualClock();
    const gpio = new Stm32GpioModel({ clock, port: p });
    return { gpio, bus: busWith("gpio", gpio, GPIO_MAP, clock) };
  };

  it.each<[Stm32GpioPort, number, number, number]>([
    // RM0090 §8.4.1 MODER, §8.4.3 OSPEEDR (port A: 0x0C00_0000, not the SVD's 0), §8.4.4 PUPDR.
    ["A", 0xa800_0000, 0x0c00_0000, 0x6400_0000],
    ["B", 0x0000_0280, 0x0000_00c0, 0x0000_0100],
    ["C", 0, 0, 0],
  ])("port %s resets MODER 0x%s, OSPEEDR and PUPDR as RM0090 §8.4 says", (p, moder, ospeedr, pupdr) => {
    const { bus } = port(p);
    expect(bus.read(PERIPH + GPIO.MODER, 4) >>> 0).toBe(moder);
    expect(bus.read(PERIPH + GPIO.OSPEEDR, 4) >>> 0).toBe(ospeedr);
    expect(bus.read(PERIPH + GPIO.PUPDR, 4) >>> 0).toBe(pupdr);
    for (const r of [GPIO.OTYPER, GPIO.ODR, GPIO.BSRR, GPIO.LCKR, GPIO.AFRL, GPIO.AFRH]) expect(bus.read(PERIPH + r, 4)).toBe(0);
  });

  it("BSRR: a pin with both BSy and BRy set ends set (RM0090 §8.3.5); BSRR reads 0", () => {
    const { bus } = port("C");
    bus.write(PERIPH + GPIO.ODR, 0x00f0, 4);
    bus.write(PERIPH + GPIO.BSRR, (0x0011 << 16) | 0x0001, 4); // pin 0 both, pin 4 reset only
    expect(bus.read(PERIPH + GPIO.ODR, 4)).toBe(0x00e1);
    expect(bus.read(PERIPH + GPIO.BSRR, 4)).toBe(0);
  });

  it("BSRR: a half-word write at 0x1A reaches only the reset half, at 0x18 only the set half", () => {
    const { bus } = port("C");
    bus.write(PERIPH + GPIO.ODR, 0xffff, 4);
    bus.write(PERIPH + GPIO.BSRR + 2, 0x8001, 2); // BR15, BR0
    expect(bus.read(PERIPH + GPIO.ODR, 4)).toBe(0x7ffe);
    bus.write(PERIPH + GPIO.BSRR, 0x8000, 2); // BS15
    expect(bus.read(PERIPH + GPIO.ODR, 4)).toBe(0xfffe);
    bus.write(PERIPH + GPIO.BSRR + 3, 0x40, 1); // byte 3, bit 6 = BR14
    expect(bus.read(PERIPH + GPIO.ODR, 2)).toBe(0xbffe);
  });

  it("byte writes to MODER change only their lane", () => {
    const { bus } = port("A");
    bus.write(PERIPH + GPIO.MODER, 0x55, 1); // pins 0-3 output
    expect(bus.read(PERIPH + GPIO.MODER, 4) >>> 0).toBe(0xa800_0055);
    expect(bus.read(PERIPH + GPIO.MODER + 3, 1)).toBe(0xa8);
  });

  it("IDR: outputs read back, inputs follow outside drive, pulls and floating pins", () => {
    const { gpio, bus } = port("C");
    bus.write(PERIPH + GPIO.MODER, 0b01, 4); // pin 0 output, the rest input
    bus.write(PERIPH + GPIO.PUPDR, (0b01 << 2) | (0b10 << 4), 4); // pin 1 pull-up, pin 2 pull-down
    bus.write(PERIPH + GPIO.ODR, 1, 4);
    expect(bus.read(PERIPH + GPIO.IDR, 4)).toBe(0b0011);
    gpio.drive(3, true);
    gpio.drive(1, false);
    expect(bus.read(PERIPH + GPIO.IDR, 4)).toBe(0b1001);
    gpio.drive(0, false); // a push-pull output keeps its own level
    expect(gpio.pinLevel(0)).toBe(true);
    gpio.drive(1, null);
    expect(gpio.pinLevel(1)).toBe(true); // released: the pull-up again
    bus.write(PERIPH + GPIO.MODER, 0b11 << 6, 4); // pin 3 analog: IDR reads 0 (RM0090 §8.3.12)
    expect(bus.read(PERIPH + GPIO.IDR, 4) & 0b1000).toBe(0);
  });

  it("records each pin change with its virtual time and tells the listeners", () => {
    const { gpio, bus } = port("C");
    const seen: string[] = [];
    gpio.onPinChange((pin, level) => seen.push(`${pin}=${level ? 1 : 0}`));
    bus.write(PERIPH + GPIO.MODER, 0b01 << 8, 4); // pin 4 output, ODR 0: no change
    bus.write(PERIPH + GPIO.BSRR, 1 << 4, 4); // at 200 ns
    bus.write(PERIPH + GPIO.BSRR, 1 << 20, 4); // at 300 ns
    expect(seen).toEqual(["4=1", "4=0"]);
    expect(gpio.historyOf(4)).toEqual([{ time: 200, pin: 4, level: true }, { time: 300, pin: 4, level: false }]);
  });

  const LCKK = 1 << 16;
  it("LCKR: the RM0090 §8.3.6 sequence locks the masked pins' configuration until reset", () => {
    const { gpio, bus } = port("C");
    const mask = 0x0003;
    bus.write(PERIPH + GPIO.LCKR, LCKK | mask, 4);
    bus.write(PERIPH + GPIO.LCKR, mask, 4);
    bus.write(PERIPH + GPIO.LCKR, LCKK | mask, 4);
    expect(bus.read(PERIPH + GPIO.LCKR, 4)).toBe(LCKK | mask);
    expect(bus.read(PERIPH + GPIO.LCKR, 4)).toBe(LCKK | mask); // the optional second read confirms
    expect(gpio.locked).toBe(true);
    bus.write(PERIPH + GPIO.MODER, 0x5555_5555, 4);
    expect(bus.read(PERIPH + GPIO.MODER, 4) >>> 0).toBe(0x5555_5550); // pins 0 and 1 frozen
    bus.write(PERIPH + GPIO.AFRL, 0xffff_ffff, 4);
    expect(bus.read(PERIPH + GPIO.AFRL, 4) >>> 0).toBe(0xffff_ff00);
    bus.write(PERIPH + GPIO.ODR, 0x3, 4); // ODR is not frozen
    expect(bus.read(PERIPH + GPIO.ODR, 4)).toBe(0x3);
    bus.write(PERIPH + GPIO.LCKR, 0, 4); // LCKR is frozen too
    expect(bus.read(PERIPH + GPIO.LCKR, 4)).toBe(LCKK | mask);
    expect(gpio.lockedWrites).toBe(2);
    gpio.reset();
    expect(bus.read(PERIPH + GPIO.LCKR, 4)).toBe(0);
    bus.write(PERIPH + GPIO.MODER, 0x5, 4);
    expect(bus.read(PERIPH + GPIO.MODER, 4)).toBe(0x5);
  });

  it.each<[string, number[]]>([
    ["LCKK = 1 at step 2", [LCKK | 1, LCKK | 1, LCKK | 1]],
    ["another mask at step 2", [LCKK | 1, 3, LCKK | 1]],
    ["LCKK = 0 at step 3", [LCKK | 1, 1, 1]],
    ["another mask at step 3", [LCKK | 1, 1, LCKK | 3]],
    ["a write where the read was due", [LCKK | 1, 1, LCKK | 1, LCKK | 1]],
  ])("LCKR: %s aborts the sequence", (_what, writes) => {
    const { gpio, bus } = port("C");
    for (const w of writes) bus.write(PERIPH + GPIO.LCKR, w, 4);
    expect(bus.read(PERIPH + GPIO.LCKR, 4) & LCKK).toBe(0);
    expect(gpio.locked).toBe(false);
    expect(gpio.lockAborts).toBe(1);
  });

  it("LCKR takes only word accesses: the bus refuses a half-word from the map's widths", () => {
    const { bus } = port("C");
    expect(() => bus.write(PERIPH + GPIO.LCKR, 1, 2)).toThrow(BusFault);
  });
});

// ---------------------------------------------------------------------------------------------

describe("USART (RM0090 §30)", () => {
  /** 16 MHz, BRR 0x8B (USARTDIV 8.6875: 115200 baud, RM0090 §30.3.4 Table 136). */
  const PCLK = 16_000_000;
  const BRR_115200 = 0x8b;
  const BIT_NS = (16 * 8.6875 * 1e9) / PCLK; // 8687.5 ns
  const FRAME_NS = 10 * BIT_NS; // 8N1: start, 8 data, 1 stop

  const usart = () => {
    const clock = new VirtualClock();
    const model = new Stm32UsartModel({ clock, pclkHz: PCLK });
    const bus = busWith("usart", model, USART_MAP, clock);
    return { model, bus, clock };
  };
  const sr = (bus: Bus) => bus.read(PERIPH + USART.SR, 4);

  it("resets SR to 0xC0 (TXE, TC), not the heading's 0x00C0_0000", () => {
    const { bus } = usart();
    expect(sr(bus)).toBe(0xc0);
  });

  it("TE sends an idle frame first; TXE and TC follow the 10-bit frame time of BRR 0x8B at 16 MHz", () => {
    const { model, bus, clock } = usart();
    bus.write(PERIPH + USART.BRR, BRR_115200, 4);
    expect(model.frameNs()).toBeCloseTo(86_875, 6);
    bus.write(PERIPH + USART.SR, ~SR_TC & 0xffff, 4); // W0C: clears TC only
    expect(sr(bus)).toBe(SR_TXE);
    bus.write(PERIPH + USART.CR1, CR1_UE | CR1_TE, 4);
    const teAt = clock.now;
    bus.write(PERIPH + USART.DR, 0x41, 4); // waits in TDR behind the idle frame
    expect(sr(bus) & SR_TXE).toBe(0);
    nextAccessAt(bus, teAt + FRAME_NS - 100);
    expect(sr(bus) & SR_TXE).toBe(0);
    nextAccessAt(bus, teAt + FRAME_NS);
    expect(sr(bus) & (SR_TXE | SR_TC)).toBe(SR_TXE); // 0x41 in the shift register
    nextAccessAt(bus, teAt + 2 * FRAME_NS - 100);
    expect(sr(bus) & SR_TC).toBe(0);
    nextAccessAt(bus, teAt + 2 * FRAME_NS);
    expect(sr(bus) & SR_TC).toBe(SR_TC);
    expect(model.wire).toEqual([0x41]);
    expect(model.wireEnds[0]).toBeCloseTo(teAt + 2 * FRAME_NS, 6);
    expect(model.idleFrameEnds).toHaveLength(1);
  });

  it("W0C: writing ~TC clears only TC; writing 1s clears nothing; TXE ignores writes", () => {
    const { bus } = usart();
    bus.write(PERIPH + USART.SR, 0xffff, 4);
    expect(sr(bus)).toBe(0xc0);
    bus.write(PERIPH + USART.SR, 0, 4);
    expect(sr(bus)).toBe(SR_TXE);
  });

  it("TC is cleared by an SR read that saw it, then a DR write", () => {
    const { bus } = usart();
    bus.write(PERIPH + USART.BRR, BRR_115200, 4);
    bus.write(PERIPH + USART.DR, 0x55, 4); // no SR read before: TC stays (UE = 0, so nothing shifts)
    expect(sr(bus) & SR_TC).toBe(SR_TC);
    bus.write(PERIPH + USART.DR, 0x55, 4); // after that SR read: TC clears
    expect(sr(bus) & SR_TC).toBe(0);
  });

  it("receives injected bytes at the baud rate: RXNE after one frame, cleared by a DR read", () => {
    const { model, bus, clock } = usart();
    bus.write(PERIPH + USART.BRR, BRR_115200, 4);
    bus.write(PERIPH + USART.CR1, CR1_UE | CR1_RE, 4);
    const start = clock.now;
    model.receive([0x31, 0x32]);
    nextAccessAt(bus, start + FRAME_NS - 100);
    expect(sr(bus) & SR_RXNE).toBe(0);
    nextAccessAt(bus, start + FRAME_NS);
    expect(sr(bus) & SR_RXNE).toBe(SR_RXNE);
    expect(bus.read(PERIPH + USART.DR, 4)).toBe(0x31);
    expect(sr(bus) & SR_RXNE).toBe(0);
    nextAccessAt(bus, start + 2 * FRAME_NS);
    expect(sr(bus) & SR_RXNE).toBe(SR_RXNE);
    expect(bus.read(PERIPH + USART.DR, 4)).toBe(0x32);
    // The line stays idle one frame after the last byte: IDLE (RM0090 §30.6.1).
    nextAccessAt(bus, start + 3 * FRAME_NS - 100);
    expect(sr(bus) & SR_IDLE).toBe(0);
    nextAccessAt(bus, start + 3 * FRAME_NS);
    expect(sr(bus) & SR_IDLE).toBe(SR_IDLE);
  });

  it("ORE: a byte completing while RXNE = 1 is lost and RDR keeps the older one", () => {
    const { model, bus } = usart();
    bus.write(PERIPH + USART.BRR, BRR_115200, 4);
    bus.write(PERIPH + USART.CR1, CR1_UE | CR1_RE, 4);
    model.receive([0xa1, 0xa2]);
    bus.settle(3 * FRAME_NS);
    expect(sr(bus) & (SR_RXNE | SR_ORE)).toBe(SR_RXNE | SR_ORE);
    expect(bus.read(PERIPH + USART.DR, 4)).toBe(0xa1); // this read followed an SR read: ORE clears
    expect(sr(bus) & (SR_RXNE | SR_ORE)).toBe(0);
    expect(model.rxLost).toBe(1);
  });

  it("PE/FE/ORE/IDLE clear only by SR read then DR read: a DR read alone leaves them", () => {
    const { model, bus, clock } = usart();
    bus.write(PERIPH + USART.BRR, BRR_115200, 4);
    bus.write(PERIPH + USART.CR1, CR1_UE | CR1_RE, 4);
    model.receive([0x7e], { error: "framing" });
    clock.advance(FRAME_NS);
    expect(bus.read(PERIPH + USART.DR, 4)).toBe(0x7e); // no SR read since the byte: FE stays
    expect(sr(bus) & (SR_FE | SR_RXNE)).toBe(SR_FE);
    bus.read(PERIPH + USART.DR, 4); // follows that SR read: FE clears
    expect(sr(bus) & SR_FE).toBe(0);
    model.receive([0x11], { error: "parity" });
    bus.settle(FRAME_NS);
    expect(sr(bus) & (SR_PE | SR_RXNE)).toBe(SR_PE | SR_RXNE);
    bus.read(PERIPH + USART.DR, 4);
    expect(sr(bus) & SR_PE).toBe(0);
  });

  it("RXNE is rc_w0: writing 0 clears it, 1 does not", () => {
    const { model, bus } = usart();
    bus.write(PERIPH + USART.BRR, BRR_115200, 4);
    bus.write(PERIPH + USART.CR1, CR1_UE | CR1_RE, 4);
    model.receive([1]);
    bus.settle(FRAME_NS);
    bus.write(PERIPH + USART.SR, 0xffff, 4);
    expect(sr(bus) & SR_RXNE).toBe(SR_RXNE);
    bus.write(PERIPH + USART.SR, ~SR_RXNE & 0xffff, 4);
    expect(sr(bus) & SR_RXNE).toBe(0);
  });

  it("OVER8 = 1: BRR 0x113 at 16 MHz is USARTDIV 17.375, the same 115200 baud (RM0090 §30.3.4)", () => {
    const { model, bus } = usart();
    bus.write(PERIPH + USART.CR1, 1 << 15, 4);
    bus.write(PERIPH + USART.BRR, 0x113, 4);
    expect(model.bitNs()).toBeCloseTo((8 * 17.375 * 1e9) / PCLK, 6);
  });

  it("USART registers take half-words and words only: the bus refuses a byte (RM0090 §30.6)", () => {
    const { bus } = usart();
    expect(() => bus.read(PERIPH + USART.SR, 1)).toThrow(BusFault);
  });
});

// ---------------------------------------------------------------------------------------------

describe("SPI (RM0090 §28)", () => {
  const PCLK = 16_000_000;
  /** BR = 001: f_PCLK / 4, so one SPI clock is 250 ns and an 8-bit frame 2 us. */
  const BR_DIV4 = 1 << 3;
  const FRAME_NS = 8 * 4 * (1e9 / PCLK);

  /** A slave that answers each frame with its complement. */
  class Inverter implements SpiSlave {
    exchange(mosi: number, bits: number): number {
      return ~mosi & ((1 << bits) - 1);
    }
  }

  const spi = () => {
    const clock = new VirtualClock();
    const model = new Stm32SpiModel({ clock, pclkHz: PCLK });
    const bus = busWith("spi", model, SPI_MAP, clock);
    const index = model.attach(new Inverter());
    model.chipSelect(index, true);
    return { model, bus, clock };
  };
  const sr = (bus: Bus) => bus.read(PERIPH + SPI.SR, 4);
  const master = SPI_MSTR | SPI_SPE | SPI_SSM | SPI_SSI | BR_DIV4;

  it("a frame takes 8 SPI clocks: TXE at once, BSY during the frame, RXNE at its end", () => {
    const { bus, clock } = spi();
    bus.write(PERIPH + SPI.CR1, master, 4);
    bus.write(PERIPH + SPI.DR, 0x5a, 4);
    const start = clock.now;
    expect(sr(bus) & (SPI_TXE | SPI_BSY | SPI_RXNE)).toBe(SPI_TXE | SPI_BSY);
    nextAccessAt(bus, start + FRAME_NS - 100);
    expect(sr(bus) & (SPI_BSY | SPI_RXNE)).toBe(SPI_BSY);
    nextAccessAt(bus, start + FRAME_NS);
    expect(sr(bus) & (SPI_BSY | SPI_RXNE)).toBe(SPI_RXNE);
    expect(bus.read(PERIPH + SPI.DR, 4)).toBe(0xa5);
  });

  it("back-to-back frames keep BSY high; DFF = 1 shifts 16 bits", () => {
    const { bus, clock } = spi();
    bus.write(PERIPH + SPI.CR1, master | SPI_DFF, 4);
    bus.write(PERIPH + SPI.DR, 0x1234, 4);
    const start = clock.now;
    bus.write(PERIPH + SPI.DR, 0x5678, 4); // into the TX buffer: TXE 0 until frame 1 ends
    expect(sr(bus) & SPI_TXE).toBe(0);
    nextAccessAt(bus, start + 2 * FRAME_NS); // frame 1's end (16 bits): frame 2 starts
    expect(sr(bus) & (SPI_BSY | SPI_TXE | SPI_RXNE)).toBe(SPI_BSY | SPI_TXE | SPI_RXNE);
    expect(bus.read(PERIPH + SPI.DR, 4)).toBe(0xedcb);
  });

  it("OVR: a frame completing while RXNE = 1 is lost; DR read then SR read clears OVR", () => {
    const { model, bus } = spi();
    bus.write(PERIPH + SPI.CR1, master, 4);
    bus.write(PERIPH + SPI.DR, 0x01, 4);
    bus.write(PERIPH + SPI.DR, 0x02, 4);
    bus.settle(3 * FRAME_NS);
    expect(sr(bus) & (SPI_OVR | SPI_RXNE)).toBe(SPI_OVR | SPI_RXNE);
    expect(bus.read(PERIPH + SPI.DR, 4)).toBe(0xfe); // the older frame
    expect(sr(bus) & SPI_OVR).toBe(SPI_OVR); // this SR read clears it
    expect(sr(bus) & SPI_OVR).toBe(0);
    expect(model.overruns).toBe(1);
  });

  it("MODF: a master with SSM = 1 and SSI = 0 faults, and SPE and MSTR clear", () => {
    const { bus } = spi();
    bus.write(PERIPH + SPI.CR1, SPI_MSTR | SPI_SPE | SPI_SSM | BR_DIV4, 4);
    expect(bus.read(PERIPH + SPI.CR1, 4) & (SPI_MSTR | SPI_SPE)).toBe(0);
    expect(sr(bus) & SPI_MODF).toBe(SPI_MODF); // the SR access of the clearing sequence
    bus.write(PERIPH + SPI.CR1, BR_DIV4, 4); // then a CR1 write
    expect(sr(bus) & SPI_MODF).toBe(0);
    bus.write(PERIPH + SPI.CR1, master, 4);
    expect(bus.read(PERIPH + SPI.CR1, 4) & (SPI_MSTR | SPI_SPE)).toBe(SPI_MSTR | SPI_SPE);
  });

  it("counts configuration changes while a frame is on the wire", () => {
    const { model, bus } = spi();
    bus.write(PERIPH + SPI.CR1, master, 4);
    bus.write(PERIPH + SPI.DR, 0x01, 4);
    bus.write(PERIPH + SPI.CR1, master | SPI_DFF, 4);
    expect(model.busyConfigWrites).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------

describe("DMA (RM0090 §10)", () => {
  const RAM = 0x20000000;
  const dma = (instance: 1 | 2, cycleNs = 10) => {
    const clock = new VirtualClock();
    const bus = new Bus({ clock });
    const model = new Stm32DmaModel(bus, clock, { instance, cycleNs });
    bus.map({ name: "dma", base: PERIPH, size: 0x400, device: model, map: DMA_MAP });
    const ram = new Ram(0x1000);
    bus.map({ name: "ram", base: RAM, size: 0x1000, device: ram });
    return { model, bus, ram, clock };
  };

  it("puts each stream's flags at RM0090 §10.5.1-10.5.2's irregular positions, cleared by LIFCR/HIFCR", () => {
    // TEIF (shift + 3) of each stream, from a DMA1 memory-to-memory enable (refused: TEIF).
    const expected = [1 << 3, 1 << 9, 1 << 19, 1 << 25];
    for (let n = 0; n < 8; n++) {
      const { bus } = dma(1);
      bus.write(PERIPH + stream(n).CR, DIR_M2M | EN, 4);
      const isr = n < 4 ? DMA.LISR : DMA.HISR;
      expect(bus.read(PERIPH + isr, 4), `stream ${n}`).toBe(expected[n % 4]);
      expect(bus.read(PERIPH + (n < 4 ? DMA.HISR : DMA.LISR), 4)).toBe(0);
      bus.write(PERIPH + (n < 4 ? DMA.LIFCR : DMA.HIFCR), 0x3f << [0, 6, 16, 22][n % 4]!, 4);
      expect(bus.read(PERIPH + isr, 4)).toBe(0);
      expect(bus.read(PERIPH + DMA.LIFCR, 4)).toBe(0); // write-only: reads 0
    }
  });

  it("resets FCR to 0x21 (FTH 1/2, FS empty)", () => {
    const { bus } = dma(2);
    for (let n = 0; n < 8; n++) expect(bus.read(PERIPH + stream(n).FCR, 4)).toBe(0x21);
  });

  it("copies memory to memory on DMA2: NDTR counts down, TCIF and HTIF set, EN clears", () => {
    const { model, bus, ram } = dma(2);
    for (let i = 0; i < 256; i++) ram.bytes[i] = i;
    const s = stream(0);
    bus.write(PERIPH + s.PAR, RAM, 4);
    bus.write(PERIPH + s.M0AR, RAM + 0x200, 4);
    bus.write(PERIPH + s.NDTR, 64, 4);
    bus.write(PERIPH + s.CR, DIR_M2M | PINC | MINC | PSIZE_WORD | MSIZE_WORD | EN, 4);
    // 100 ns later the engine has had the cycles at 0, 10, ... 100 ns after the enable (the one
    // due at the read's own time goes first): 11 accesses, reads and writes in turn, 6 reads.
    expect(bus.read(PERIPH + s.NDTR, 4)).toBe(58);
    expect(bus.read(PERIPH + s.CR, 4) & EN).toBe(EN);
    expect(bus.read(PERIPH + DMA.LISR, 4)).toBe(0);
    bus.settle(10_000);
    expect(bus.read(PERIPH + s.NDTR, 4)).toBe(0);
    expect(bus.read(PERIPH + s.CR, 4) & EN).toBe(0);
    expect(bus.read(PERIPH + DMA.LISR, 4)).toBe((1 << 5) | (1 << 4)); // TCIF0, HTIF0
    expect(Array.from(ram.bytes.subarray(0x200, 0x300))).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(model.flagsOf(0)).toBe((1 << 5) | (1 << 4));
  });

  it("sets TEIF and clears EN on an access to an unmapped address", () => {
    const { bus } = dma(2);
    const s = stream(1);
    bus.write(PERIPH + s.PAR, 0x30000000, 4); // nothing there
    bus.write(PERIPH + s.M0AR, RAM, 4);
    bus.write(PERIPH + s.NDTR, 1, 4);
    bus.write(PERIPH + s.CR, DIR_M2M | PSIZE_WORD | MSIZE_WORD | EN, 4);
    bus.settle(100);
    expect(bus.read(PERIPH + s.CR, 4) & EN).toBe(0);
    expect(bus.read(PERIPH + DMA.LISR, 4)).toBe(1 << 9); // TEIF1
  });

  it("sets FEIF and does not enable with FTH 1/4 and word INCR4 bursts (forbidden pair)", () => {
    const { bus } = dma(2);
    const s = stream(2);
    bus.write(PERIPH + s.FCR, DMDIS | 0b00, 4); // FIFO mode, FTH 1/4 = 4 bytes < 16-byte burst
    bus.write(PERIPH + s.NDTR, 4, 4);
    bus.write(PERIPH + s.CR, PSIZE_WORD | MSIZE_WORD | MBURST_INCR4 | EN, 4);
    expect(bus.read(PERIPH + s.CR, 4) & EN).toBe(0);
    expect(bus.read(PERIPH + DMA.LISR, 4)).toBe(1 << 16); // FEIF2
  });

  it("ignores configuration writes while EN = 1 and records them; EN = 0 stops with TCIF", () => {
    // A slow engine (100 ns per master access) so that EN can be seen at 1 after EN = 0.
    const { model, bus } = dma(2, 100);
    const s = stream(4);
    bus.write(PERIPH + s.PAR, PERIPH + 0x3f0, 4);
    bus.write(PERIPH + s.M0AR, RAM, 4);
    bus.write(PERIPH + s.NDTR, 10, 4);
    bus.write(PERIPH + s.CR, DIR_M2P | CHSEL(3) | EN, 4); // no request wired: it waits
    bus.write(PERIPH + s.NDTR, 99, 4);
    bus.write(PERIPH + s.M0AR, RAM + 4, 4);
    bus.write(PERIPH + s.CR, DIR_M2P | CHSEL(5) | EN | TCIE, 4); // CHSEL locked, TCIE not
    expect(bus.read(PERIPH + s.NDTR, 4)).toBe(10);
    expect(bus.read(PERIPH + s.M0AR, 4)).toBe(RAM);
    expect(bus.read(PERIPH + s.CR, 4)).toBe(DIR_M2P | CHSEL(3) | EN | TCIE);
    expect(model.lockedWriteCount).toBe(3);
    expect(model.lockedWrites.map((w) => w.register)).toEqual(["S4NDTR", "S4M0AR", "S4CR"]);
    bus.write(PERIPH + s.CR, DIR_M2P | CHSEL(3) | TCIE, 4); // EN = 0
    expect(bus.read(PERIPH + s.CR, 4) & EN).toBe(EN); // until the item in flight completes
    bus.settle(1000);
    expect(bus.read(PERIPH + s.CR, 4) & EN).toBe(0);
    expect(bus.read(PERIPH + DMA.HISR, 4)).toBe(1 << 5); // TCIF4
    expect(bus.read(PERIPH + s.NDTR, 4)).toBe(10);
  });
});

// ---------------------------------------------------------------------------------------------

describe("fixtures/boards/stm32f405.json", () => {
  const board = () => loadBoard("stm32f405");

  it("loads with the RM0090 Table 1 addresses and the models behind them", () => {
    const b = board();
    const at = (name: string) => b.base(name);
    expect([at("rcc"), at("gpioa"), at("gpiob"), at("gpioc"), at("usart1"), at("usart2"), at("spi1"), at("dma1"), at("dma2"), at("sram")])
      .toEqual([0x40023800, 0x40020000, 0x40020400, 0x40020800, 0x40011000, 0x40004400, 0x40013000, 0x40026000, 0x40026400, 0x20000000]);
    expect(b.region("sram").size).toBe(128 * 1024);
    expect(b.model("gpioa", Stm32GpioModel).port).toBe("A");
    expect(b.model("dma2", Stm32DmaModel).instance).toBe(2);
    expect(b.part("flash0", SpiNorFlash).jedecId).toEqual([0xef, 0x40, 0x14]);
    expect(b.chipSelectOf("flash0")).toEqual({ gpio: "gpioa", pin: 4, activeLow: true, ssp: "spi1", index: 0 });
    expect(b.model("spi1", Stm32SpiModel).isSelected(0)).toBe(false); // PA4 pulled up on the board
    expect(b.bus.trace.length).toBe(0);
  });

  it("gates a peripheral's clock: reads 0 and writes ignored while its enable bit is 0, and counts them", () => {
    const b = board();
    const usart1 = b.base("usart1");
    const gate = b.clockGate("usart1")!;
    expect(b.bus.read(usart1 + USART.SR, 4)).toBe(0); // 0xC0 behind the gate
    b.bus.write(usart1 + USART.BRR, 0x8b, 4);
    expect(gate.count).toBe(2);
    expect(gate.lostWrites).toBe(1);
    expect(gate.describe()).toContain("APB2ENR.USART1EN");
    b.bus.write(b.base("rcc") + RCC.APB2ENR, 1 << 4, 4); // USART1EN
    b.bus.barrier(1); // DSB: the erratum's window closes (ES0182 §2.1.13)
    expect(b.bus.read(usart1 + USART.SR, 4)).toBe(0xc0);
    expect(b.bus.read(usart1 + USART.BRR, 4)).toBe(0); // the gated write never arrived
    expect(b.clockGate("gpioa")!.count).toBe(0);
  });

  it("models the enable-delay erratum: a write right after the enable is lost unless a DSB came between", () => {
    const b = board();
    const rcc = b.base("rcc");
    const usart1 = b.base("usart1");
    b.bus.write(rcc + RCC.APB2ENR, 1 << 4, 4);
    b.bus.write(usart1 + USART.BRR, 0x8b, 4); // 100 ns later: within 2 AHB cycles of 16 MHz (125 ns)
    expect(b.clockGate("usart1")!.accesses[0]!.reason).toBe("enable-delay");
    expect(b.bus.read(usart1 + USART.BRR, 4)).toBe(0);
    b.bus.write(rcc + RCC.APB2ENR, 0, 4);
    b.bus.write(rcc + RCC.APB2ENR, 1 << 4, 4);
    b.bus.barrier(1);
    b.bus.write(usart1 + USART.BRR, 0x8b, 4);
    expect(b.bus.read(usart1 + USART.BRR, 4)).toBe(0x8b);
  });

  it("resets a GPIO port through AHB1RSTR, which also undoes its lock", () => {
    const b = board();
    const rcc = b.base("rcc");
    const gpioc = b.base("gpioc");
    b.bus.write(rcc + RCC.AHB1ENR, (1 << 2) | (1 << 20), 4);
    b.bus.barrier(1);
    b.bus.write(gpioc + GPIO.MODER, 0x5, 4);
    b.bus.write(rcc + RCC.AHB1RSTR, 1 << 2, 4);
    expect(b.bus.read(gpioc + GPIO.MODER, 4)).toBe(0); // held in reset: reads 0
    b.bus.write(rcc + RCC.AHB1RSTR, 0, 4);
    expect(b.bus.read(gpioc + GPIO.MODER, 4)).toBe(0); // back at its reset value
    expect(b.clockGate("gpioc")!.accesses.map((a) => a.reason)).toEqual(["in-reset"]);
  });

  it("RCC: reset values; HSERDY and PLLRDY some time after their ON bits; SWS follows SW", () => {
    const b = board();
    const rcc = b.base("rcc");
    const model = b.model("rcc", Stm32RccModel);
    expect(b.bus.read(rcc + RCC.CR, 4)).toBe(0x83); // HSION, HSIRDY, HSITRIM 16 (RM0090 §7.3.1)
    expect(b.bus.read(rcc + RCC.PLLCFGR, 4)).toBe(0x2400_3010); // RM0090 §7.3.2
    expect(b.bus.read(rcc + RCC.AHB1ENR, 4)).toBe(0x0010_0000); // CCMDATARAMEN (RM0090 §7.3.10)
    b.bus.write(rcc + RCC.CR, 0x83 | (1 << 16), 4); // HSEON
    expect(b.bus.read(rcc + RCC.CR, 4) & (1 << 17)).toBe(0);
    b.bus.settle(model.hseStartupNs);
    expect(b.bus.read(rcc + RCC.CR, 4) & (1 << 17)).toBe(1 << 17);
    b.bus.write(rcc + RCC.CFGR, 0b01, 4); // SW = HSE
    expect(b.bus.read(rcc + RCC.CFGR, 4) & 0b1100).toBe(0b0100);
    expect(model.sysclkHz()).toBe(8_000_000);
    expect(model.pclk2Hz()).toBe(8_000_000);
    b.bus.write(rcc + RCC.CFGR, 0b01 | (0b100 << 13), 4); // PPRE2 /2
    expect(model.pclk2Hz()).toBe(4_000_000);
  });

  it("feeds USART1's DR from SRAM by its TX request on DMA2 stream 7 channel 4 (RM0090 Table 44)", () => {
    const b = board();
    const rcc = b.base("rcc");
    const usart1 = b.base("usart1");
    const dma2 = b.base("dma2");
    b.bus.write(rcc + RCC.AHB1ENR, (1 << 22) | (1 << 20), 4); // DMA2EN
    b.bus.write(rcc + RCC.APB2ENR, 1 << 4, 4); // USART1EN
    b.bus.barrier(1);
    // Half-word items: the USART map takes only half-word and word accesses to DR (RM0090 §30.6),
    // so a byte-wide peripheral port would be a bus error here.
    b.model("sram", Ram).bytes.set([0x48, 0x00, 0x69, 0x00], 0);
    b.bus.write(usart1 + USART.BRR, 0x8b, 4);
    b.bus.write(usart1 + USART.CR3, CR3_DMAT, 4);
    b.bus.write(usart1 + USART.CR1, CR1_UE | CR1_TE, 4);
    const s = stream(7);
    b.bus.write(dma2 + s.PAR, usart1 + USART.DR, 4);
    b.bus.write(dma2 + s.M0AR, 0x20000000, 4);
    b.bus.write(dma2 + s.NDTR, 2, 4);
    b.bus.write(dma2 + s.CR, CHSEL(4) | DIR_M2P | MINC | PSIZE_HALF | MSIZE_HALF | EN, 4);
    b.bus.settle(1_000_000); // three frames of 86.875 us: the idle frame and two bytes
    expect(b.model("usart1", Stm32UsartModel).sentBytes).toEqual([0x48, 0x69]);
    expect(b.bus.read(dma2 + DMA.HISR, 4) & (1 << 27)).toBe(1 << 27); // TCIF7
    expect(b.clockGate("usart1")!.count).toBe(0);
  });

  it("drives the flash's chip select from PA4: RDID through SPI1 gives EF 40 14", () => {
    const b = board();
    const rcc = b.base("rcc");
    const gpioa = b.base("gpioa");
    const spi1 = b.base("spi1");
    b.bus.write(rcc + RCC.AHB1ENR, (1 << 0) | (1 << 20), 4);
    b.bus.write(rcc + RCC.APB2ENR, 1 << 12, 4);
    b.bus.barrier(1);
    b.bus.write(gpioa + GPIO.BSRR, 1 << 4, 4); // PA4 high before it becomes an output
    b.bus.write(gpioa + GPIO.MODER, 0xa800_0000 | (0b01 << 8), 4);
    b.bus.write(spi1 + SPI.CR1, SPI_MSTR | SPI_SPE | SPI_SSM | SPI_SSI | (1 << 3), 4);
    b.bus.write(gpioa + GPIO.BSRR, 1 << 20, 4); // PA4 low: selected
    expect(b.model("spi1", Stm32SpiModel).isSelected(0)).toBe(true);
    const rx: number[] = [];
    for (const tx of [0x9f, 0xff, 0xff, 0xff]) {
      b.bus.write(spi1 + SPI.DR, tx, 4);
      b.bus.settle(10_000);
      expect(b.bus.read(spi1 + SPI.SR, 4) & SPI_RXNE).toBe(SPI_RXNE);
      rx.push(b.bus.read(spi1 + SPI.DR, 4));
    }
    b.bus.write(gpioa + GPIO.BSRR, 1 << 4, 4);
    expect(rx.slice(1)).toEqual([0xef, 0x40, 0x14]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("board-file errors for the STM32F4 keys name the file and the JSON path", () => {
  const base = loadBoardFile("stm32f405");
  const json = (): { regions: { [key: string]: Json }[] } => JSON.parse(JSON.stringify({
    name: base.name,
    regions: base.regions.map((r) => ({
      name: r.name, base: r.base, size: r.size, block: r.block, device: r.device.options,
      ...(r.clock === undefined ? {} : { clock: { rcc: r.clock.rcc, enable: `${r.clock.register}.${r.clock.field}` } }),
    })),
  })) as { regions: { [key: string]: Json }[] };
  const index = (name: string) => base.regions.findIndex((r) => r.name === name);
  const errorOf = (edit: (b: { regions: { [key: string]: Json }[] }) => void): string => {
    const b = json();
    edit(b);
    try {
      buildBoard(parseBoardFile(JSON.stringify(b), "f4.json"));
    } catch (e) {
      expect(e).toBeInstanceOf(BoardFileError);
      return (e as Error).message;
    }
    throw new Error("the board file was accepted");
  };
  const usart1 = index("usart1");
  const dma2 = index("dma2");

  it.each<[string, (b: { regions: { [key: string]: Json }[] }) => void, string]>([
    ["an enable register that does not exist", (b) => { b.regions[usart1]!.clock = { rcc: "rcc", enable: "APB3ENR.USART1EN" }; }, `f4.json: regions[${usart1}].clock.enable: block rcc has no register APB3ENR: expected one of AHB1ENR`],
    ["an enable field that does not exist", (b) => { b.regions[usart1]!.clock = { rcc: "rcc", enable: "APB2ENR.USART9EN" }; }, `f4.json: regions[${usart1}].clock.enable: APB2ENR has no field USART9EN`],
    ["a register that is not an enable register", (b) => { b.regions[usart1]!.clock = { rcc: "rcc", enable: "CFGR.SW0" }; }, `regions[${usart1}].clock.enable: CFGR is not a peripheral clock enable register`],
    ["an RCC region that does not exist", (b) => { b.regions[usart1]!.clock = { rcc: "rcc2", enable: "APB2ENR.USART1EN" }; }, `regions[${usart1}].clock.rcc: no region named rcc2`],
    ["a gate on a non-RCC region", (b) => { b.regions[usart1]!.clock = { rcc: "usart2", enable: "APB2ENR.USART1EN" }; }, `regions[${usart1}].clock.enable: block usart has no register APB2ENR`],
    ["a misspelt enable key", (b) => { b.regions[usart1]!.clock = { rcc: "rcc", enabel: "APB2ENR.USART1EN" }; }, `regions[${usart1}].clock.enabel: unknown key`],
    ["a request on the wrong stream", (b) => { ((b.regions[dma2]!.device as { requests: { [key: string]: Json }[] }).requests[3]!).stream = 6; }, `regions[${dma2}].device.requests[3].request: USART1_TX is not on DMA2 stream 6 channel 4: RM0090 Table 44 has it on stream 7 channel 4`],
    ["a request DMA2 does not have", (b) => { ((b.regions[dma2]!.device as { requests: { [key: string]: Json }[] }).requests[3]!).request = "USART2_TX"; }, `regions[${dma2}].device.requests[3].request: DMA2 has no request USART2_TX`],
    ["a GPIO without its port", (b) => { delete (b.regions[index("gpioa")]!.device as { [key: string]: Json }).port; }, `regions[${index("gpioa")}].device.port: missing`],
    ["a chip-select pin a port lacks", (b) => { (((b.regions[index("spi1")]!.device as { slaves: { [key: string]: Json }[] }).slaves[0]!).chipSelect as { [key: string]: Json }).pin = 16; }, `regions[${index("spi1")}].device.slaves[0].chipSelect.pin: 16 (0x10) is out of range: expected 0..15`],
  ])("%s", (_what, edit, words) => {
    expect(errorOf(edit)).toContain(words);
  });
});

