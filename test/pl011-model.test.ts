// The PL011 behavioural model, driven through the bus the way the module drives it. Expected
// values come from the PL011 TRM (ARM DDI 0183G) as collected in docs/primecell.md, PL011
// section 1; times are computed here from the TRM's baud-rate formula, not taken from the model.
import { describe, expect, it } from "vitest";
import { Bus } from "../harness/bus.js";
import { Hal } from "../harness/hal.js";
import { Pl011Model, type Pl011Revision } from "../harness/devices/pl011.js";
import { DMA_BREQ, DMA_SREQ } from "../harness/devices/signals.js";
import {
  PL011_MAP, PL011_DR, PL011_DR_OE, PL011_DR_BE, PL011_DR_PE, PL011_DR_FE, PL011_RSR, PL011_ECR,
  PL011_RSR_OE, PL011_RSR_BE, PL011_RSR_PE, PL011_RSR_FE,
  PL011_FR, PL011_FR_TXFE, PL011_FR_TXFF, PL011_FR_RXFE, PL011_FR_RXFF, PL011_FR_BUSY, PL011_FR_CTS,
  PL011_FR_DSR, PL011_FR_DCD, PL011_FR_RI, PL011_ILPR, PL011_IBRD, PL011_FBRD, PL011_LCR_H,
  PL011_LCR_H_WLEN_8BIT, PL011_LCR_H_WLEN_7BIT, PL011_LCR_H_FEN, PL011_LCR_H_PEN, PL011_LCR_H_STP2, PL011_LCR_H_BRK,
  PL011_CR, PL011_CR_UARTEN, PL011_CR_TXE, PL011_CR_RXE, PL011_CR_LBE, PL011_CR_CTSEN, PL011_CR_RTS,
  PL011_CR_DTR, PL011_CR_OUT1, PL011_CR_OUT2,
  PL011_IFLS, PL011_IMSC, PL011_IMSC_TX, PL011_IMSC_RX, PL011_IMSC_RT, PL011_IMSC_BE, PL011_IMSC_CTSM,
  PL011_RIS, PL011_RIS_TX, PL011_RIS_RX, PL011_RIS_RT, PL011_RIS_OE, PL011_RIS_BE, PL011_RIS_PE, PL011_RIS_FE,
  PL011_RIS_CTSM, PL011_RIS_DSRM, PL011_RIS_DCDM, PL011_RIS_RIM,
  PL011_MIS, PL011_ICR, PL011_DMACR, PL011_DMACR_TXDMAE, PL011_DMACR_RXDMAE, PL011_DMACR_DMAONERR,
  PL011_ITCR, PL011_ITIP, PL011_ITOP, PL011_TDR,
  PL011_PeriphID0, PL011_PeriphID1, PL011_PeriphID2, PL011_PeriphID3,
  PL011_PCellID0, PL011_PCellID1, PL011_PCellID2, PL011_PCellID3,
} from "../harness/generated/pl011.js";
import { OK, ERR_RX_BREAK, ERR_RX_OVERRUN, ERR_RX_PARITY, ERR_TIMEOUT } from "../harness/generated/api.js";

const BASE = 0x101f1000;
const UARTCLK = 4_000_000;
const ENABLED = PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE;
const LINE_8N1_FIFO = PL011_LCR_H_WLEN_8BIT | PL011_LCR_H_FEN;

/** TRM 3.3.6: baud = UARTCLK / (16 x (IBRD + FBRD/64)). One frame of `bits` bits, in ns. */
function frameNs(uartclkHz: number, ibrd: number, fbrd: number, bits: number): number {
  const baud = uartclkHz / (16 * (ibrd + fbrd / 64));
  return (bits / baud) * 1e9;
}

/** TRM Table 3-9, 4 MHz: 115200 baud is IBRD 0x2, FBRD 0xB; 8N1 has 10 bits per frame. */
const FRAME_115200 = frameNs(UARTCLK, 0x2, 0xb, 10);
const BIT_115200 = frameNs(UARTCLK, 0x2, 0xb, 1);
/** Checks land one bus access (100 ns) before or after an expected edge. */
const ONE_ACCESS = 100;

function setup(revision?: Pl011Revision) {
  const bus = new Bus();
  const uart = new Pl011Model({ clock: bus.clock, uartclkHz: UARTCLK, ...(revision === undefined ? {} : { revision }) });
  bus.map({ name: "uart0", base: BASE, size: 0x1000, device: uart, map: PL011_MAP });
  const rd = (offset: number): number => bus.read(BASE + offset, 4);
  const wr = (offset: number, value: number): void => bus.write(BASE + offset, value, 4);
  /** Reads a register with the access landing exactly at virtual time `time`. */
  const readAt = (time: number, offset: number): number => {
    bus.clock.advance(time - bus.clock.now - bus.clock.accessNs);
    return rd(offset);
  };
  /** The TRM 3.3.8 sequence: disable, divisor, LCR_H (which latches it), enable. */
  const configure = (ibrd: number, fbrd: number, lcrh: number, cr = ENABLED): void => {
    wr(PL011_CR, 0);
    wr(PL011_IBRD, ibrd);
    wr(PL011_FBRD, fbrd);
    wr(PL011_LCR_H, lcrh);
    wr(PL011_CR, cr);
  };
  const writeBytes = (bytes: ArrayLike<number>): void => {
    for (let i = 0; i < bytes.length; i++) wr(PL011_DR, bytes[i]!);
  };
  return { bus, uart, rd, wr, readAt, configure, writeBytes };
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

describe("PL011 reset state and identification", () => {
  it("every register reads its TRM Table 3-1 reset value", () => {
    const { rd } = setup();
    expect(rd(PL011_RSR)).toBe(0x0);
    expect(rd(PL011_FR)).toBe(0x90); // TXFE and RXFE, modem inputs inactive
    expect(rd(PL011_ILPR)).toBe(0x00);
    expect(rd(PL011_IBRD)).toBe(0x0000);
    expect(rd(PL011_FBRD)).toBe(0x00);
    expect(rd(PL011_LCR_H)).toBe(0x00);
    expect(rd(PL011_CR)).toBe(0x0300); // TXE and RXE set, UARTEN clear
    expect(rd(PL011_IFLS)).toBe(0x12); // both levels at 1/2
    expect(rd(PL011_IMSC)).toBe(0x000);
    expect(rd(PL011_RIS)).toBe(0x000);
    expect(rd(PL011_MIS)).toBe(0x000);
    expect(rd(PL011_DMACR)).toBe(0x00);
  });

  it("reset() is power-on: the divisor latched by an LCR_H write is gone, and nothing is sent until a new one is", () => {
    const { uart, rd, wr, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    expect(uart.latchedDivisor).toEqual({ ibrd: 0x2, fbrd: 0xb });
    uart.reset();
    // TRM 3.3.7: IBRD, FBRD and LCR_H form one register, 0 at reset; a zero divisor sends nothing.
    expect(uart.latchedDivisor).toEqual({ ibrd: 0, fbrd: 0 });
    expect(uart.frameTimeNs()).toBe(Infinity);
    // Enabled without a divisor (only IBRD written, never latched by LCR_H): the byte stays queued.
    wr(PL011_IBRD, 0x2);
    wr(PL011_CR, ENABLED);
    writeBytes([0x41]);
    for (let i = 0; i < 100; i++) rd(PL011_FR);
    expect(uart.wire).toEqual([]);
  });

  const idWord = (rd: (o: number) => number, first: number): number =>
    (rd(first) | (rd(first + 4) << 8) | (rd(first + 8) << 16) | (rd(first + 12) << 24)) >>> 0;

  it("r1p4 identifies as part 0x011 by ARM, revision 2, PrimeCell 0xB105F00D", () => {
    const { rd } = setup("r1p4");
    expect([rd(PL011_PeriphID0), rd(PL011_PeriphID1), rd(PL011_PeriphID2), rd(PL011_PeriphID3)]).toEqual([0x11, 0x10, 0x24, 0x00]);
    expect(idWord(rd, PL011_PeriphID0)).toBe(0x00241011);
    expect(idWord(rd, PL011_PCellID0)).toBe(0xb105f00d);
  });

  it("r1p5 reads revision 3 in PeriphID2 (0x34), as the RP2040 does", () => {
    const { rd } = setup("r1p5");
    expect(rd(PL011_PeriphID2)).toBe(0x34);
    expect(idWord(rd, PL011_PeriphID0)).toBe(0x00341011);
    expect([rd(PL011_PCellID0), rd(PL011_PCellID1), rd(PL011_PCellID2), rd(PL011_PCellID3)]).toEqual([0x0d, 0xf0, 0x05, 0xb1]);
  });

  it("ICR and reserved offsets read 0; writes to read-only and reserved offsets change nothing", () => {
    const { rd, wr } = setup();
    wr(PL011_ICR, 0x7ff);
    expect(rd(PL011_ICR)).toBe(0);
    for (const reserved of [0x008, 0x00c, 0x010, 0x014, 0x01c, 0x04c, 0x07c, 0x090, 0x800, 0xfdc]) {
      wr(reserved, 0xffffffff);
      expect(rd(reserved)).toBe(0);
    }
    wr(PL011_FR, 0);
    wr(PL011_RIS, 0x7ff);
    wr(PL011_MIS, 0x7ff);
    wr(PL011_PeriphID0, 0);
    wr(PL011_PCellID3, 0);
    expect(rd(PL011_FR)).toBe(0x90);
    expect(rd(PL011_RIS)).toBe(0);
    expect(rd(PL011_PeriphID0)).toBe(0x11);
    expect(rd(PL011_PCellID3)).toBe(0xb1);
  });

  it("registers keep only their defined bits: IBRD 16, FBRD 6, CR without 6:3, IMSC 11", () => {
    const { rd, wr } = setup();
    wr(PL011_IBRD, 0xffffffff);
    wr(PL011_FBRD, 0xffffffff);
    wr(PL011_ILPR, 0xffffffff);
    wr(PL011_IFLS, 0xffffffff);
    wr(PL011_IMSC, 0xffffffff);
    wr(PL011_DMACR, 0xffffffff);
    expect(rd(PL011_IBRD)).toBe(0xffff);
    expect(rd(PL011_FBRD)).toBe(0x3f);
    expect(rd(PL011_ILPR)).toBe(0xff);
    expect(rd(PL011_IFLS)).toBe(0x3f);
    expect(rd(PL011_IMSC)).toBe(0x7ff);
    expect(rd(PL011_DMACR)).toBe(0x7);
    wr(PL011_CR, 0xffff & ~PL011_CR_LBE);
    expect(rd(PL011_CR)).toBe(0xff07);
  });

  it("integration-test registers store what is written, within their widths", () => {
    const { rd, wr } = setup();
    wr(PL011_ITCR, 0xffffffff);
    wr(PL011_ITIP, 0xa5);
    wr(PL011_ITOP, 0x1234);
    wr(PL011_TDR, 0x7ff);
    expect([rd(PL011_ITCR), rd(PL011_ITIP), rd(PL011_ITOP), rd(PL011_TDR)]).toEqual([0x7, 0xa5, 0x1234, 0x7ff]);
  });
});

describe("PL011 transmitter timing", () => {
  it("115200 baud from 4 MHz is IBRD 2, FBRD 11, 115101 baud (TRM Table 3-9)", () => {
    const { uart, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    expect(uart.latchedDivisor).toEqual({ ibrd: 2, fbrd: 11 });
    // The table's actual rates divide by the divider rounded to three decimals (2.172 here), so
    // they sit within 0.01 % of the exact 4 MHz / (16 x 2.171875).
    expect(Math.abs(1e9 / uart.bitTimeNs() - 115101) / 115101).toBeLessThan(1e-4);
    expect(uart.frameTimeNs()).toBeCloseTo(FRAME_115200, 6);
  });

  it("FR follows the 16-deep TX FIFO as it fills and drains one frame per character", () => {
    const { bus, uart, rd, readAt, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    const data = Array.from({ length: 17 }, (_, i) => 0x41 + i);
    writeBytes(data.slice(0, 1));
    const t0 = bus.clock.now; // the first character starts shifting at its DR write
    writeBytes(data.slice(1));
    // One character in the shift register, 16 in the FIFO: full.
    const full = rd(PL011_FR);
    expect(full & PL011_FR_TXFF).toBeTruthy();
    expect(full & PL011_FR_TXFE).toBe(0);
    expect(full & PL011_FR_BUSY).toBeTruthy();
    expect(uart.txFifoLevel).toBe(16);
    writeBytes([0x7a]); // no room: lost
    expect(uart.txDropped).toBe(1);

    expect(readAt(t0 + FRAME_115200 - ONE_ACCESS, PL011_FR) & PL011_FR_TXFF).toBeTruthy();
    expect(uart.wire).toEqual([]);
    expect(readAt(t0 + FRAME_115200 + ONE_ACCESS, PL011_FR) & PL011_FR_TXFF).toBe(0);
    expect(uart.wire).toEqual([0x41]);

    // The FIFO empties when the 17th character moves to the shift register, after 16 frames.
    expect(readAt(t0 + 16 * FRAME_115200 - ONE_ACCESS, PL011_FR) & PL011_FR_TXFE).toBe(0);
    const drained = readAt(t0 + 16 * FRAME_115200 + ONE_ACCESS, PL011_FR);
    expect(drained & PL011_FR_TXFE).toBeTruthy();
    expect(drained & PL011_FR_BUSY).toBeTruthy(); // TXFE does not cover the shift register

    // BUSY clears with the last stop bit, 17 frames after the start.
    expect(readAt(t0 + 17 * FRAME_115200 - ONE_ACCESS, PL011_FR) & PL011_FR_BUSY).toBeTruthy();
    expect(readAt(t0 + 17 * FRAME_115200 + ONE_ACCESS, PL011_FR) & PL011_FR_BUSY).toBe(0);
    expect(uart.wire).toEqual(data);
    expect(uart.wireEnds[16]).toBeCloseTo(t0 + 17 * FRAME_115200, 3);
    expect(uart.wireFrame(16)).toMatchObject({ data: 0x51, lineControl: LINE_8N1_FIFO, divisor: { ibrd: 2, fbrd: 11 } });
  });

  it("a frame counts start, data, parity and stop bits: 7 data, parity, 2 stop is 11 bits", () => {
    const { bus, uart, configure, writeBytes } = setup();
    configure(0x2, 0xb, PL011_LCR_H_WLEN_7BIT | PL011_LCR_H_PEN | PL011_LCR_H_STP2 | PL011_LCR_H_FEN);
    writeBytes([0xff, 0x01]);
    const t0 = bus.clock.now - bus.clock.accessNs;
    bus.clock.advance(3 * FRAME_115200);
    uart.update();
    expect(uart.wire).toEqual([0x7f, 0x01]); // only the 7 data bits leave
    expect(uart.wireEnds[0]).toBeCloseTo(t0 + frameNs(UARTCLK, 2, 11, 11), 3);
    expect(uart.wireEnds[1]! - uart.wireEnds[0]!).toBeCloseTo(frameNs(UARTCLK, 2, 11, 11), 3);
  });

  it("IBRD and FBRD take effect only when LCR_H is written (the 30-bit latch, TRM 3.3.7)", () => {
    const { bus, uart, rd, wr, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    // 38400 baud from 4 MHz is IBRD 0x6, FBRD 0x21 (Table 3-9), written without LCR_H.
    wr(PL011_IBRD, 0x6);
    wr(PL011_FBRD, 0x21);
    expect(rd(PL011_IBRD)).toBe(0x6);
    expect(uart.latchedDivisor).toEqual({ ibrd: 2, fbrd: 11 });
    writeBytes([0x55]);
    let start = bus.clock.now;
    bus.clock.advance(5 * FRAME_115200);
    uart.update();
    expect(uart.wireEnds[0]).toBeCloseTo(start + FRAME_115200, 3);

    wr(PL011_LCR_H, LINE_8N1_FIFO);
    expect(uart.latchedDivisor).toEqual({ ibrd: 6, fbrd: 0x21 });
    writeBytes([0xaa]);
    start = bus.clock.now;
    bus.clock.advance(frameNs(UARTCLK, 6, 0x21, 10) * 2);
    uart.update();
    expect(uart.wireEnds[1]).toBeCloseTo(start + frameNs(UARTCLK, 6, 0x21, 10), 3);
    expect(uart.wireFrame(1).divisor).toEqual({ ibrd: 6, fbrd: 0x21 });
  });

  it("BUSY is set while the TX FIFO holds data even with UARTEN clear, and nothing is sent", () => {
    const { bus, uart, rd, wr, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO, PL011_CR_TXE | PL011_CR_RXE);
    writeBytes([1, 2, 3]);
    bus.clock.advance(1e6);
    const fr = rd(PL011_FR);
    expect(fr & PL011_FR_BUSY).toBeTruthy();
    expect(fr & PL011_FR_TXFE).toBe(0);
    expect(uart.wire).toEqual([]);
    wr(PL011_CR, ENABLED);
    bus.clock.advance(3 * FRAME_115200 + 1000);
    expect(rd(PL011_FR) & PL011_FR_BUSY).toBe(0);
    expect(uart.wire).toEqual([1, 2, 3]);
  });

  it("disabling in the middle of a character lets that character complete, and no more", () => {
    const { bus, uart, rd, wr, readAt, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    writeBytes([0x31]);
    const t0 = bus.clock.now;
    writeBytes([0x32]);
    bus.clock.advance(FRAME_115200 / 2);
    wr(PL011_CR, 0);
    expect(readAt(t0 + FRAME_115200 + ONE_ACCESS, PL011_FR) & PL011_FR_BUSY).toBeTruthy(); // 0x32 still queued
    expect(uart.wire).toEqual([0x31]);
    bus.clock.advance(10 * FRAME_115200);
    expect(rd(PL011_FR) & PL011_FR_BUSY).toBeTruthy();
    expect(uart.wire).toEqual([0x31]);
  });

  it("TXE clear holds characters in the FIFO; a latched IBRD of 0 sends nothing", () => {
    const { bus, uart, wr, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO, PL011_CR_UARTEN | PL011_CR_RXE);
    writeBytes([9]);
    bus.clock.advance(5 * FRAME_115200);
    expect(uart.wire).toEqual([]);
    wr(PL011_CR, 0);
    wr(PL011_IBRD, 0);
    wr(PL011_LCR_H, LINE_8N1_FIFO);
    wr(PL011_CR, ENABLED);
    bus.clock.advance(5 * FRAME_115200);
    expect(uart.wire).toEqual([]);
    expect(uart.bitTimeNs()).toBe(Infinity);
  });

  it("with FEN clear the FIFOs are 1-byte holding registers", () => {
    const { bus, uart, rd, configure, writeBytes } = setup();
    configure(0x2, 0xb, PL011_LCR_H_WLEN_8BIT);
    writeBytes([0x10]); // straight into the shift register
    expect(rd(PL011_FR) & (PL011_FR_TXFE | PL011_FR_TXFF)).toBe(PL011_FR_TXFE);
    writeBytes([0x11]); // fills the holding register
    expect(rd(PL011_FR) & (PL011_FR_TXFE | PL011_FR_TXFF)).toBe(PL011_FR_TXFF);
    writeBytes([0x12]);
    expect(uart.txDropped).toBe(1);

    uart.receive([0x20]);
    expect(rd(PL011_FR) & (PL011_FR_RXFE | PL011_FR_RXFF)).toBe(PL011_FR_RXFF);
    uart.receive([0x21]);
    expect(rd(PL011_RSR) & PL011_RSR_OE).toBeTruthy();
    expect(rd(PL011_DR)).toBe(PL011_DR_OE | 0x20);
    expect(rd(PL011_FR) & PL011_FR_RXFE).toBeTruthy();

    bus.clock.advance(3 * FRAME_115200);
    uart.update();
    expect(uart.wire).toEqual([0x10, 0x11]);
  });

  it("clearing FEN flushes both FIFOs", () => {
    const { uart, rd, wr, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    uart.receive([1, 2, 3]);
    wr(PL011_CR, PL011_CR_UARTEN | PL011_CR_RXE); // transmitter off: the bytes stay queued
    writeBytes([4, 5, 6, 7]);
    expect([uart.txFifoLevel, uart.rxFifoLevel]).toEqual([4, 3]);
    wr(PL011_LCR_H, PL011_LCR_H_WLEN_8BIT);
    expect([uart.txFifoLevel, uart.rxFifoLevel]).toEqual([0, 0]);
    const fr = rd(PL011_FR);
    expect(fr & (PL011_FR_TXFE | PL011_FR_RXFE | PL011_FR_BUSY)).toBe(PL011_FR_TXFE | PL011_FR_RXFE);
  });

  it("r1p5 has a 32-deep TX FIFO", () => {
    const { uart, rd, configure, writeBytes } = setup("r1p5");
    configure(0x2, 0xb, LINE_8N1_FIFO);
    writeBytes(Array.from({ length: 32 }, (_, i) => i));
    expect(rd(PL011_FR) & PL011_FR_TXFF).toBe(0); // one is in the shift register
    writeBytes([32]);
    expect(rd(PL011_FR) & PL011_FR_TXFF).toBeTruthy();
    expect(uart.txFifoLevel).toBe(32);
    writeBytes([33]);
    expect(uart.txDropped).toBe(1);
  });
});

describe("PL011 receiver and receive errors", () => {
  it("received characters are read from DR in order with no error bits", () => {
    const { uart, rd, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    uart.receive(ascii("ok!"));
    expect(rd(PL011_FR) & PL011_FR_RXFE).toBe(0);
    expect([rd(PL011_DR), rd(PL011_DR), rd(PL011_DR)]).toEqual(ascii("ok!"));
    expect(rd(PL011_FR) & PL011_FR_RXFE).toBeTruthy();
    expect(rd(PL011_RSR)).toBe(0);
  });

  it("a character arriving with UARTEN or RXE clear is not taken in", () => {
    const { uart, rd, wr, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO, PL011_CR_UARTEN | PL011_CR_TXE);
    uart.receive([1]);
    wr(PL011_CR, PL011_CR_RXE | PL011_CR_TXE);
    uart.receive([2]);
    expect(rd(PL011_FR) & PL011_FR_RXFE).toBeTruthy();
    expect(uart.rxIgnored).toBe(2);
  });

  it("a break loads one 0 character with BE and FE; RSR shows them after the DR read; ECR clears RSR", () => {
    const { uart, rd, wr, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    uart.receive([], { error: "break" });
    expect(uart.rxFifoLevel).toBe(1);
    expect(rd(PL011_RSR)).toBe(0); // RSR follows DR reads only
    expect(rd(PL011_DR)).toBe(PL011_DR_BE | PL011_DR_FE | 0x00);
    expect(rd(PL011_RSR)).toBe(PL011_RSR_BE | PL011_RSR_FE);
    expect(rd(PL011_RIS) & (PL011_RIS_BE | PL011_RIS_FE)).toBe(PL011_RIS_BE | PL011_RIS_FE);
    wr(PL011_ECR, 0);
    expect(rd(PL011_RSR)).toBe(0);
    expect(() => uart.receive([1], { error: "break" })).toThrow(RangeError);
  });

  it("a parity error marks the character with PE; a framing error with FE", () => {
    const { uart, rd, wr, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    uart.receive([0x55], { error: "parity" });
    uart.receive([0xaa], { error: "framing" });
    uart.receive([0x0f]);
    expect(rd(PL011_DR)).toBe(PL011_DR_PE | 0x55);
    expect(rd(PL011_RSR)).toBe(PL011_RSR_PE);
    expect(rd(PL011_DR)).toBe(PL011_DR_FE | 0xaa);
    expect(rd(PL011_RSR)).toBe(PL011_RSR_FE);
    expect(rd(PL011_DR)).toBe(0x0f);
    expect(rd(PL011_RSR)).toBe(0); // BE, PE and FE describe the character last read
    expect(rd(PL011_RIS) & (PL011_RIS_PE | PL011_RIS_FE)).toBe(PL011_RIS_PE | PL011_RIS_FE);
    wr(PL011_ECR, 0xffffffff);
    expect(rd(PL011_RSR)).toBe(0);
  });

  it("an overrun sets RSR.OE at once, loses the character and marks the newest entry with OE", () => {
    const { uart, rd, wr, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    const data = Array.from({ length: 16 }, (_, i) => 0x60 + i);
    uart.receive(data);
    expect(rd(PL011_FR) & PL011_FR_RXFF).toBeTruthy();
    expect(rd(PL011_RSR)).toBe(0);
    uart.receive([0xee, 0xef]);
    expect(rd(PL011_RSR)).toBe(PL011_RSR_OE);
    expect(rd(PL011_RIS) & PL011_RIS_OE).toBeTruthy();
    expect(uart.rxLost).toBe(2);
    const entries = Array.from({ length: 16 }, () => rd(PL011_DR));
    expect(entries.slice(0, 15)).toEqual(data.slice(0, 15));
    expect(entries[15]).toBe(PL011_DR_OE | 0x6f);
    expect(rd(PL011_FR) & PL011_FR_RXFE).toBeTruthy();
    expect(rd(PL011_RSR) & PL011_RSR_OE).toBeTruthy();
    wr(PL011_ECR, 0);
    expect(rd(PL011_RSR)).toBe(0);
  });

  it("received characters keep only the WLEN data bits", () => {
    const { uart, rd, configure } = setup();
    configure(0x2, 0xb, PL011_LCR_H_WLEN_7BIT | PL011_LCR_H_FEN);
    uart.receive([0xc1]);
    expect(rd(PL011_DR)).toBe(0x41);
  });

  it("characters sent at wire speed arrive one frame apart", () => {
    const { bus, uart, readAt, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    const t0 = bus.clock.now;
    uart.receiveAtWireSpeed([7, 8, 9]);
    expect(readAt(t0 + FRAME_115200 - ONE_ACCESS, PL011_FR) & PL011_FR_RXFE).toBeTruthy();
    readAt(t0 + FRAME_115200 + ONE_ACCESS, PL011_FR);
    expect(uart.rxFifoLevel).toBe(1);
    readAt(t0 + 3 * FRAME_115200 + ONE_ACCESS, PL011_FR);
    expect(uart.rxFifoLevel).toBe(3);
  });
});

describe("PL011 interrupts", () => {
  it("TXRIS sets when the TX level falls through the trigger level, not because the FIFO starts empty", () => {
    const { bus, uart, rd, wr, readAt, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO); // IFLS reset: TX at 1/2 of 16 = 8 characters
    wr(PL011_IMSC, PL011_IMSC_TX);
    bus.clock.advance(10 * FRAME_115200);
    expect(rd(PL011_RIS) & PL011_RIS_TX).toBe(0);
    writeBytes([0]); // never above the level
    bus.clock.advance(2 * FRAME_115200);
    expect(rd(PL011_RIS) & PL011_RIS_TX).toBe(0);

    writeBytes([1]);
    const t0 = bus.clock.now;
    writeBytes([2, 3, 4, 5, 6, 7, 8, 9, 10]); // 9 in the FIFO: above the level
    expect(readAt(t0 + FRAME_115200 - ONE_ACCESS, PL011_RIS) & PL011_RIS_TX).toBe(0);
    expect(readAt(t0 + FRAME_115200 + ONE_ACCESS, PL011_RIS) & PL011_RIS_TX).toBeTruthy(); // 9 -> 8
    expect(rd(PL011_MIS)).toBe(PL011_RIS_TX);
    expect(uart.interruptPending()).toBe(true);
    writeBytes([11]); // above the level again: cleared
    expect(rd(PL011_RIS) & PL011_RIS_TX).toBe(0);
    bus.clock.advance(2 * FRAME_115200);
    expect(rd(PL011_RIS) & PL011_RIS_TX).toBeTruthy();
    wr(PL011_ICR, PL011_RIS_TX);
    expect(rd(PL011_RIS) & PL011_RIS_TX).toBe(0);
    expect(uart.interruptPending()).toBe(false);
  });

  it("with FEN clear TXRIS sets when the holding register empties", () => {
    const { rd, configure, writeBytes } = setup();
    configure(0x2, 0xb, PL011_LCR_H_WLEN_8BIT);
    expect(rd(PL011_RIS) & PL011_RIS_TX).toBe(0);
    writeBytes([0x42]);
    expect(rd(PL011_RIS) & PL011_RIS_TX).toBeTruthy();
    writeBytes([0x43]);
    expect(rd(PL011_RIS) & PL011_RIS_TX).toBe(0);
  });

  it("RXRIS sets as the RX level rises to the trigger level and clears when read below it", () => {
    const { uart, rd, wr, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    wr(PL011_IFLS, 0b001_000); // RX at 1/4 of 16 = 4 characters, TX at 1/8
    wr(PL011_IMSC, PL011_IMSC_RX);
    uart.receive([1, 2, 3]);
    expect(rd(PL011_RIS) & PL011_RIS_RX).toBe(0);
    uart.receive([4]);
    expect(rd(PL011_RIS) & PL011_RIS_RX).toBeTruthy();
    expect(uart.interruptPending()).toBe(true);
    rd(PL011_DR); // 3 left: below the level
    expect(rd(PL011_RIS) & PL011_RIS_RX).toBe(0);
    uart.receive([5]);
    expect(rd(PL011_RIS) & PL011_RIS_RX).toBeTruthy();
    // Cleared by ICR above the level, it stays clear until the level is passed again.
    wr(PL011_ICR, PL011_RIS_RX);
    uart.receive([6, 7]);
    expect(rd(PL011_RIS) & PL011_RIS_RX).toBe(0);
  });

  it("RT sets after 32 bit periods without new data, restarts on new data, clears when the FIFO empties", () => {
    const { bus, uart, rd, wr, readAt, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    wr(PL011_IMSC, PL011_IMSC_RT);
    let t = bus.clock.now;
    uart.receive([0x61]);
    expect(readAt(t + 20 * BIT_115200, PL011_RIS) & PL011_RIS_RT).toBe(0);
    t = bus.clock.now;
    uart.receive([0x62]); // restarts the count
    expect(readAt(t + 32 * BIT_115200 - ONE_ACCESS, PL011_RIS) & PL011_RIS_RT).toBe(0);
    expect(readAt(t + 32 * BIT_115200 + ONE_ACCESS, PL011_RIS) & PL011_RIS_RT).toBeTruthy();
    expect(uart.interruptPending()).toBe(true);
    rd(PL011_DR);
    expect(rd(PL011_RIS) & PL011_RIS_RT).toBeTruthy(); // one left
    rd(PL011_DR);
    expect(rd(PL011_RIS) & PL011_RIS_RT).toBe(0);
  });

  it("RT is cleared by ICR.RTIC, and cannot set while RTIM is clear", () => {
    const { bus, uart, rd, wr, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    uart.receive([1]);
    bus.clock.advance(100 * BIT_115200);
    expect(rd(PL011_RIS) & PL011_RIS_RT).toBe(0);
    wr(PL011_IMSC, PL011_IMSC_RT); // the count starts now
    bus.clock.advance(32 * BIT_115200 + 100);
    expect(rd(PL011_RIS) & PL011_RIS_RT).toBeTruthy();
    wr(PL011_ICR, PL011_RIS_RT);
    expect(rd(PL011_RIS) & PL011_RIS_RT).toBe(0);
    expect(uart.rxFifoLevel).toBe(1);
  });

  it("error interrupts stay set after DR reads and ECR, and clear only through ICR", () => {
    const { uart, rd, wr, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    uart.receive([], { error: "break" });
    uart.receive([3], { error: "parity" });
    rd(PL011_DR);
    rd(PL011_DR);
    wr(PL011_ECR, 0);
    const errors = PL011_RIS_BE | PL011_RIS_PE | PL011_RIS_FE;
    expect(rd(PL011_RIS) & errors).toBe(errors);
    expect(uart.interruptPending()).toBe(false); // all masked
    wr(PL011_IMSC, PL011_IMSC_BE);
    expect(rd(PL011_MIS)).toBe(PL011_RIS_BE);
    expect(uart.interruptPending()).toBe(true);
    wr(PL011_ICR, PL011_RIS_BE);
    expect(rd(PL011_RIS) & errors).toBe(PL011_RIS_PE | PL011_RIS_FE);
    expect(uart.interruptPending()).toBe(false);
  });

  it("modem inputs show in FR inverted from their pins, and every change raises its interrupt", () => {
    const { uart, rd, wr } = setup();
    wr(PL011_IMSC, PL011_IMSC_CTSM);
    uart.setModemInputs({ cts: false });
    expect(rd(PL011_FR) & PL011_FR_CTS).toBeTruthy();
    expect(rd(PL011_RIS)).toBe(PL011_RIS_CTSM);
    expect(uart.interruptPending()).toBe(true);
    wr(PL011_ICR, PL011_RIS_CTSM);
    expect(uart.interruptPending()).toBe(false);
    uart.setModemInputs({ cts: true }); // released: a change too
    expect(rd(PL011_FR) & PL011_FR_CTS).toBe(0);
    expect(rd(PL011_RIS)).toBe(PL011_RIS_CTSM);
    wr(PL011_ICR, 0x7ff);
    uart.setModemInputs({ dsr: false, dcd: false, ri: false });
    expect(rd(PL011_FR) & (PL011_FR_DSR | PL011_FR_DCD | PL011_FR_RI)).toBe(PL011_FR_DSR | PL011_FR_DCD | PL011_FR_RI);
    expect(rd(PL011_RIS)).toBe(PL011_RIS_DSRM | PL011_RIS_DCDM | PL011_RIS_RIM);
    wr(PL011_ICR, 0x7ff);
    uart.setModemInputs({ dsr: false }); // no change: no interrupt
    expect(rd(PL011_RIS)).toBe(0);
  });

  it("with CTSEn the transmitter waits for nUARTCTS to be asserted", () => {
    const { bus, uart, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO, ENABLED | PL011_CR_CTSEN);
    writeBytes([0x51]);
    bus.clock.advance(5 * FRAME_115200);
    uart.update();
    expect(uart.wire).toEqual([]);
    uart.setModemInputs({ cts: false });
    bus.clock.advance(FRAME_115200 + 1);
    uart.update();
    expect(uart.wire).toEqual([0x51]);
  });
});

describe("PL011 loopback", () => {
  it("transmitted characters enter the receiver as they complete", () => {
    const { bus, uart, rd, readAt, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO, ENABLED | PL011_CR_LBE);
    writeBytes(ascii("o"));
    const t0 = bus.clock.now;
    writeBytes(ascii("k"));
    expect(readAt(t0 + FRAME_115200 - ONE_ACCESS, PL011_FR) & PL011_FR_RXFE).toBeTruthy();
    expect(readAt(t0 + FRAME_115200 + ONE_ACCESS, PL011_FR) & PL011_FR_RXFE).toBe(0);
    bus.clock.advance(FRAME_115200);
    expect([rd(PL011_DR), rd(PL011_DR)]).toEqual(ascii("ok"));
    expect(uart.wire).toEqual(ascii("ok"));
  });

  it("the modem outputs feed the modem inputs: RTS to CTS, DTR to DSR, Out1 to DCD, Out2 to RI", () => {
    const { uart, rd, wr } = setup();
    wr(PL011_CR, PL011_CR_LBE | PL011_CR_RTS | PL011_CR_OUT2);
    expect(rd(PL011_FR) & (PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD | PL011_FR_RI)).toBe(PL011_FR_CTS | PL011_FR_RI);
    expect(rd(PL011_RIS)).toBe(PL011_RIS_CTSM | PL011_RIS_RIM);
    wr(PL011_CR, PL011_CR_LBE | PL011_CR_DTR | PL011_CR_OUT1);
    expect(rd(PL011_FR) & (PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD | PL011_FR_RI)).toBe(PL011_FR_DSR | PL011_FR_DCD);
    expect(uart.modemOutputs()).toEqual({ rts: true, dtr: false, out1: false, out2: true });
  });
});

describe("PL011 DMA request lines", () => {
  it("TX: SREQ while there is room, BREQ while the level is at or below the trigger level", () => {
    const { uart, wr, configure, writeBytes } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO, PL011_CR_UARTEN | PL011_CR_RXE); // TX held: the FIFO fills
    expect(uart.dmaRequests("tx")).toBe(0); // TXDMAE clear
    wr(PL011_DMACR, PL011_DMACR_TXDMAE);
    expect(uart.dmaRequests("tx")).toBe(DMA_SREQ | DMA_BREQ);
    writeBytes(Array.from({ length: 8 }, (_, i) => i));
    expect(uart.dmaRequests("tx")).toBe(DMA_SREQ | DMA_BREQ);
    writeBytes([8]);
    expect(uart.dmaRequests("tx")).toBe(DMA_SREQ);
    writeBytes(Array.from({ length: 7 }, (_, i) => 9 + i));
    expect(uart.dmaRequests("tx")).toBe(0); // full
    wr(PL011_LCR_H, LINE_8N1_FIFO & ~PL011_LCR_H_FEN); // flushed, character mode
    expect(uart.dmaRequests("tx")).toBe(DMA_SREQ);
    wr(PL011_CR, 0);
    expect(uart.dmaRequests("tx")).toBe(0); // disabled
  });

  it("RX: SREQ with one character, BREQ at the trigger level, nothing on error with DMAONERR", () => {
    const { uart, rd, wr, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    uart.receive([1]);
    expect(uart.dmaRequests("rx")).toBe(0);
    wr(PL011_DMACR, PL011_DMACR_RXDMAE);
    expect(uart.dmaRequests("rx")).toBe(DMA_SREQ);
    uart.receive([2, 3, 4, 5, 6, 7, 8]);
    expect(uart.dmaRequests("rx")).toBe(DMA_SREQ | DMA_BREQ); // 8 = 1/2 of 16
    rd(PL011_DR);
    expect(uart.dmaRequests("rx")).toBe(DMA_SREQ);
    uart.receive([9], { error: "parity" });
    wr(PL011_DMACR, PL011_DMACR_RXDMAE | PL011_DMACR_DMAONERR);
    expect(uart.dmaRequests("rx")).not.toBe(0); // the PE interrupt is masked: UARTEINTR low
    wr(PL011_IMSC, PL011_RIS_PE);
    expect(uart.dmaRequests("rx")).toBe(0);
    wr(PL011_ICR, PL011_RIS_PE);
    expect(uart.dmaRequests("rx")).toBe(DMA_SREQ | DMA_BREQ);
  });
});

describe("PL011 fault injection", () => {
  it("stuck flags read set whatever the FIFOs hold", () => {
    const { uart, rd, configure } = setup();
    configure(0x2, 0xb, LINE_8N1_FIFO);
    uart.receive([1]);
    uart.faults.busyStuck = true;
    uart.faults.txFullStuck = true;
    uart.faults.rxEmptyStuck = true;
    const fr = rd(PL011_FR);
    expect(fr & (PL011_FR_BUSY | PL011_FR_TXFF | PL011_FR_RXFE)).toBe(PL011_FR_BUSY | PL011_FR_TXFF | PL011_FR_RXFE);
    uart.faults.busyStuck = uart.faults.txFullStuck = uart.faults.rxEmptyStuck = false;
    expect(rd(PL011_FR) & (PL011_FR_BUSY | PL011_FR_TXFF | PL011_FR_RXFE)).toBe(0);
  });
});

describe("PL011 model under the real driver (build/hal.wasm)", () => {
  function withDriver() {
    const parts = setup();
    const hal = new Hal(parts.bus);
    return { ...parts, hal };
  }

  it("pl011_init at 4 MHz / 230400 latches IBRD 1, FBRD 5 (TRM Example 3-1)", () => {
    const { uart, rd, hal } = withDriver();
    expect(hal.call("pl011_init", BASE, UARTCLK, 230400, 0)).toBe(OK);
    expect(uart.latchedDivisor).toEqual({ ibrd: 1, fbrd: 5 });
    expect(rd(PL011_LCR_H)).toBe(PL011_LCR_H_WLEN_8BIT | PL011_LCR_H_FEN);
    expect(rd(PL011_CR)).toBe(ENABLED);
    expect(uart.frameFormat).toMatchObject({ dataBits: 8, parity: "none", stopBits: 1, fifos: true });
  });

  it("pl011_write of \"Hi\" leaves on the wire one 8N1 frame at 231911 baud apart; pl011_flush waits for it", () => {
    const { bus, uart, hal } = withDriver();
    hal.call("pl011_init", BASE, UARTCLK, 230400, 0);
    const ptr = hal.writeBytes(ascii("Hi"));
    expect(hal.call("pl011_write", BASE, ptr, 2)).toBe(2);
    expect(hal.call("pl011_flush", BASE)).toBe(OK);
    expect(uart.wire).toEqual(ascii("Hi"));
    expect(bus.clock.now).toBeGreaterThanOrEqual(uart.wireEnds[1]!);
    expect(uart.wireEnds[1]! - uart.wireEnds[0]!).toBeCloseTo(frameNs(UARTCLK, 1, 5, 10), 3);
  });

  it("pl011_read returns received bytes, then reports a break, parity error and overrun", () => {
    const { uart, hal } = withDriver();
    hal.call("pl011_init", BASE, UARTCLK, 115200, 0);
    const ptr = hal.scratch;
    uart.receive(ascii("abc"));
    expect(hal.call("pl011_read", BASE, ptr, 64)).toBe(3);
    expect(Array.from(hal.readBytes(ptr, 3))).toEqual(ascii("abc"));

    uart.receive([], { error: "break" });
    expect(hal.call("pl011_read", BASE, ptr, 64)).toBe(ERR_RX_BREAK);
    uart.receive([0x70], { error: "parity" });
    expect(hal.call("pl011_read", BASE, ptr, 64)).toBe(ERR_RX_PARITY);

    // 18 characters into 16 entries: the 16th carries OE and is still data.
    const data = Array.from({ length: 18 }, (_, i) => 0x30 + i);
    uart.receive(data);
    expect(hal.call("pl011_read", BASE, ptr, 64)).toBe(16);
    expect(Array.from(hal.readBytes(ptr, 16))).toEqual(data.slice(0, 16));
    expect(hal.call("pl011_read", BASE, ptr, 64)).toBe(ERR_RX_OVERRUN);
    expect(hal.call("pl011_read", BASE, ptr, 64)).toBe(0);
  });

  it("pl011_write times out when TXFF is stuck", () => {
    const { uart, hal } = withDriver();
    hal.call("pl011_init", BASE, UARTCLK, 115200, 0);
    uart.faults.txFullStuck = true;
    const ptr = hal.writeBytes([1]);
    expect(hal.call("pl011_write", BASE, ptr, 1)).toBe(ERR_TIMEOUT);
    expect(uart.wire).toEqual([]);
  });
});
