// Behavioural model of the PrimeCell UART (PL011), ARM DDI 0183G (TRM r1p5); register facts and
// their sources are collected in docs/primecell.md, PL011 section 1, and where the sources
// disagree the model follows the choices of PL011 1.8 there. Offsets and fields come from
// registers/pl011.json through harness/generated/pl011.ts.
//
// Time: the transmitter shifts characters out on the virtual clock at the latched baud rate. The
// model is lazy: it keeps the time of its next event (a character completing, a receive timeout,
// a character arriving at wire speed) and does the work due only when an access, a test helper
// or a signal query finds the clock at or past that time. Every event is handled at its own
// virtual time, so the result does not depend on how often the model is looked at.
//
// Modelling choices where the TRM is silent (each repeated beside its code):
// - An overrun sets DR.OE on the newest entry in the RX FIFO, the last character that did fit:
//   the entry stays valid data and the loss happened after it (Linux and assembly/pl011.ts read
//   it that way). RSR.OE is set at once when the overrun happens.
// - A DR read replaces RSR's BE, PE and FE with those of the character read; OE is left alone.
// - A character that arrives while UARTEN or RXE is clear is ignored (counted in rxIgnored).
// - A DR read with the RX FIFO empty returns 0 and leaves RSR alone.
// - The transmitter does not start a character while the latched IBRD is 0 (TRM 3.3.6: invalid)
//   or while LCR_H.BRK holds TXD low; the characters wait in the FIFO.
// - Received characters keep only the WLEN data bits of the current frame format.
// - Reserved IFLS codes (101-111) act as 1/2.
// - Not modelled: IrDA (SIREN/SIRLP), the RTS output of hardware flow control (RTSEn), a break
//   sent with LCR_H.BRK (TXD is only held idle), integration-test mode (ITCR/ITIP/ITOP/TDR
//   only store their values), and the DMACLR handshake (requests follow the fill levels).
import type { Device, VirtualClock } from "../bus.js";
import { decodeFields } from "../regmap.js";
import { DMA_BREQ, DMA_SREQ, type DmaDirection, type DmaRequester, type InterruptSource } from "./signals.js";
import * as pl011 from "../generated/pl011.js";

// The register map's constants as this module's own: V8 folds a module-level const into the code
// that uses it, but reloads a binding imported from another module (and checks it is initialised)
// at every use, which is every case compared on the access path.
const {
  PL011_MAP,
  PL011_DR, PL011_DR_OE, PL011_DR_BE, PL011_DR_PE, PL011_DR_FE, PL011_DR_DATA_MASK,
  PL011_RSR, PL011_ECR, PL011_RSR_OE, PL011_RSR_BE, PL011_RSR_PE, PL011_RSR_FE,
  PL011_FR, PL011_FR_RI, PL011_FR_TXFE, PL011_FR_RXFF, PL011_FR_TXFF, PL011_FR_RXFE, PL011_FR_BUSY,
  PL011_FR_DCD, PL011_FR_DSR, PL011_FR_CTS,
  PL011_ILPR, PL011_ILPR_ILPDVSR_MASK,
  PL011_IBRD, PL011_IBRD_DIVINT_MASK, PL011_FBRD, PL011_FBRD_DIVFRAC_MASK,
  PL011_LCR_H, PL011_LCR_H_SPS, PL011_LCR_H_WLEN_MASK, PL011_LCR_H_WLEN_SHIFT, PL011_LCR_H_FEN,
  PL011_LCR_H_STP2, PL011_LCR_H_EPS, PL011_LCR_H_PEN, PL011_LCR_H_BRK,
  PL011_CR, PL011_CR_CTSEN, PL011_CR_RTSEN, PL011_CR_OUT2, PL011_CR_OUT1, PL011_CR_RTS, PL011_CR_DTR,
  PL011_CR_RXE, PL011_CR_TXE, PL011_CR_LBE, PL011_CR_SIRLP, PL011_CR_SIREN, PL011_CR_UARTEN,
  PL011_IFLS, PL011_IFLS_RXIFLSEL_MASK, PL011_IFLS_RXIFLSEL_SHIFT, PL011_IFLS_TXIFLSEL_MASK,
  PL011_IFLS_TXIFLSEL_SHIFT,
  PL011_IMSC, PL011_IMSC_OE, PL011_IMSC_BE, PL011_IMSC_PE, PL011_IMSC_FE, PL011_IMSC_RT, PL011_IMSC_TX,
  PL011_IMSC_RX, PL011_IMSC_DSRM, PL011_IMSC_DCDM, PL011_IMSC_CTSM, PL011_IMSC_RIM,
  PL011_RIS, PL011_RIS_OE, PL011_RIS_BE, PL011_RIS_PE, PL011_RIS_FE, PL011_RIS_RT, PL011_RIS_TX,
  PL011_RIS_RX, PL011_RIS_DSRM, PL011_RIS_DCDM, PL011_RIS_CTSM, PL011_RIS_RIM,
  PL011_MIS, PL011_ICR,
  PL011_DMACR, PL011_DMACR_DMAONERR, PL011_DMACR_TXDMAE, PL011_DMACR_RXDMAE,
  PL011_ITCR, PL011_ITIP, PL011_ITOP, PL011_TDR,
  PL011_PeriphID0, PL011_PeriphID1, PL011_PeriphID2, PL011_PeriphID3,
  PL011_PCellID0, PL011_PCellID1, PL011_PCellID2, PL011_PCellID3,
} = pl011;

export type Pl011Revision = "r1p4" | "r1p5";

/** What differs between revisions (docs/primecell.md, PL011 1.3 and 1.4): FIFO depth and the
 * revision nibble of PeriphID2 (TRM 3.3.15, Table 3-21: r1p3/r1p4 read 2, r1p5 reads 3). */
const REVISIONS: Readonly<Record<Pl011Revision, { readonly fifoDepth: number; readonly periphId2: number }>> = {
  r1p4: { fifoDepth: 16, periphId2: 0x24 },
  r1p5: { fifoDepth: 32, periphId2: 0x34 },
};

/** The reset value the register map gives for a register. */
function resetOf(name: string): number {
  const reg = PL011_MAP.registers.find((r) => r.name === name);
  if (reg === undefined || reg.reset === null) throw new Error(`registers/pl011.json has no reset value for ${name}`);
  return reg.reset;
}

/** The bits a register without fields stores, from its width in the map. */
function storedBitsOf(name: string): number {
  const reg = PL011_MAP.registers.find((r) => r.name === name);
  if (reg === undefined) throw new Error(`registers/pl011.json has no register ${name}`);
  return reg.bits >= 32 ? 0xffffffff : 2 ** reg.bits - 1;
}

// Reset values, TRM Table 3-1 (through the map).
const RESET_RSR = resetOf("RSR");
const RESET_ILPR = resetOf("ILPR");
const RESET_IBRD = resetOf("IBRD");
const RESET_FBRD = resetOf("FBRD");
const RESET_LCR_H = resetOf("LCR_H");
const RESET_CR = resetOf("CR");
const RESET_IFLS = resetOf("IFLS");
const RESET_IMSC = resetOf("IMSC");
const RESET_RIS = resetOf("RIS");
const RESET_DMACR = resetOf("DMACR");
const RESET_ITCR = resetOf("ITCR");
const RESET_ITIP = resetOf("ITIP");
const RESET_ITOP = resetOf("ITOP");
const RESET_TDR = resetOf("TDR");
// Identification, TRM 3.3.15-16; PeriphID2 depends on the revision (REVISIONS).
const PERIPH_ID0 = resetOf("PeriphID0");
const PERIPH_ID1 = resetOf("PeriphID1");
const PERIPH_ID3 = resetOf("PeriphID3");
const PCELL_ID0 = resetOf("PCellID0");
const PCELL_ID1 = resetOf("PCellID1");
const PCELL_ID2 = resetOf("PCellID2");
const PCELL_ID3 = resetOf("PCellID3");

// The bits each register stores; bits outside them read 0 (reserved bits, docs/primecell.md 0.2).
const LCR_H_BITS = PL011_LCR_H_SPS | PL011_LCR_H_WLEN_MASK | PL011_LCR_H_FEN | PL011_LCR_H_STP2 |
  PL011_LCR_H_EPS | PL011_LCR_H_PEN | PL011_LCR_H_BRK;
/** CR bits 6:3 are reserved on ARM parts (TRM 3.3.8). */
const CR_BITS = PL011_CR_CTSEN | PL011_CR_RTSEN | PL011_CR_OUT2 | PL011_CR_OUT1 | PL011_CR_RTS |
  PL011_CR_DTR | PL011_CR_RXE | PL011_CR_TXE | PL011_CR_LBE | PL011_CR_SIRLP | PL011_CR_SIREN | PL011_CR_UARTEN;
const IFLS_BITS = PL011_IFLS_RXIFLSEL_MASK | PL011_IFLS_TXIFLSEL_MASK;
/** IMSC, RIS, MIS and ICR share one layout (TRM 3.3.10-13). */
const INTERRUPT_BITS = PL011_IMSC_OE | PL011_IMSC_BE | PL011_IMSC_PE | PL011_IMSC_FE | PL011_IMSC_RT |
  PL011_IMSC_TX | PL011_IMSC_RX | PL011_IMSC_DSRM | PL011_IMSC_DCDM | PL011_IMSC_CTSM | PL011_IMSC_RIM;
/** The sources of UARTEINTR (docs/primecell.md, PL011 1.2). */
const ERROR_INTERRUPTS = PL011_RIS_OE | PL011_RIS_BE | PL011_RIS_PE | PL011_RIS_FE;
const DMACR_BITS = PL011_DMACR_DMAONERR | PL011_DMACR_TXDMAE | PL011_DMACR_RXDMAE;
const ITCR_BITS = storedBitsOf("ITCR");
const ITIP_BITS = storedBitsOf("ITIP");
const ITOP_BITS = storedBitsOf("ITOP");
const TDR_BITS = storedBitsOf("TDR");

const TX_ENABLED = PL011_CR_UARTEN | PL011_CR_TXE;
const RX_ENABLED = PL011_CR_UARTEN | PL011_CR_RXE;

/** FIFO trigger levels in eighths of the depth, by IFLS code (TRM 3.3.9, Table 2-4). Codes
 * 101-111 are reserved; the model treats them as 1/2. */
const TRIGGER_EIGHTHS: readonly number[] = [1, 2, 4, 6, 7, 4, 4, 4];

/** The receive timeout: RX FIFO not empty and no new character for 32 bit periods (TRM 2.8). */
const RECEIVE_TIMEOUT_BITS = 32;

/** Baud16 ticks per bit: the divisor counts UARTCLK periods of one Baud16 tick (TRM 3.3.6). */
const BAUD16_PER_BIT = 16;
/** FBRD counts sixty-fourths of the divisor (TRM 3.3.6). */
const FBRD_STEPS = 64;

/** Levels of the active-low modem input pins; true = HIGH = inactive (TRM 3.3.3). */
export interface ModemPins {
  /** nUARTCTS */
  cts?: boolean;
  /** nUARTDSR */
  dsr?: boolean;
  /** nUARTDCD */
  dcd?: boolean;
  /** nUARTRI */
  ri?: boolean;
}

/** Levels of the active-low modem output pins; false = LOW = asserted (CR bit set). */
export interface ModemOutputs {
  rts: boolean;
  dtr: boolean;
  out1: boolean;
  out2: boolean;
}

export type ReceiveError = "break" | "parity" | "framing";

export interface ReceiveOptions {
  /** The characters arrive with this error (TRM 3.3.1). A break is one 0 character. */
  error?: ReceiveError;
}

/** The latched divisor: the IBRD and FBRD values loaded by the last LCR_H write. */
export interface BaudDivisor {
  ibrd: number;
  fbrd: number;
}

/** LCR_H decoded (TRM 3.3.7, Table 3-11 for the parity). */
export interface FrameFormat {
  dataBits: number;
  parity: "none" | "odd" | "even" | "one" | "zero";
  stopBits: number;
  /** Start, data, parity and stop bits: one frame on the wire. */
  bitsPerFrame: number;
  fifos: boolean;
  sendBreak: boolean;
}

/** One character as it left TXD. */
export interface WireFrame {
  data: number;
  /** Virtual time at the end of its last stop bit, ns. */
  end: number;
  /** LCR_H when it was sent. */
  lineControl: number;
  divisor: BaudDivisor;
}

export interface Pl011Faults {
  /** FR.BUSY reads 1 whatever the transmitter does. */
  busyStuck: boolean;
  /** FR.TXFF reads 1 whatever the TX FIFO holds. */
  txFullStuck: boolean;
  /** FR.RXFE reads 1 whatever the RX FIFO holds. */
  rxEmptyStuck: boolean;
}

export interface Pl011Options {
  clock: VirtualClock;
  /** UARTCLK, the reference clock of the baud generator (TRM 3.3.6). */
  uartclkHz: number;
  /** r1p4 (16-deep FIFOs) by default; r1p5 has 32-deep FIFOs. */
  revision?: Pl011Revision;
}

export class Pl011Model implements Device, DmaRequester, InterruptSource {
  readonly clock: VirtualClock;
  readonly uartclkHz: number;
  readonly revision: Pl011Revision;
  readonly fifoDepth: number;

  // What left TXD, one column per field, kept in typed arrays that grow and are emptied in place
  // (a fuzz execution sends and forgets a few characters: no allocation per execution). The
  // arrays of the `wire*` getters are built from them when asked for.
  private sentCount = 0;
  private sentData = new Uint16Array(64);
  private sentEnds = new Float64Array(64);
  private sentLineControl = new Uint16Array(64);
  private sentDivisors = new Uint32Array(64);
  /** The `wire*` arrays last built, valid while sentVersion is unchanged. */
  private sentVersion = 0;
  private readonly sentViews: { version: number; data: number[]; ends: number[]; lineControl: number[]; divisors: number[] } =
    { version: -1, data: [], ends: [], lineControl: [], divisors: [] };

  /** DR writes lost because the TX FIFO (or holding register) was full. */
  txDropped = 0;
  /** Characters lost to an RX overrun. */
  rxLost = 0;
  /** Characters that arrived while UARTEN or RXE was clear. */
  rxIgnored = 0;
  /** Forced FR bits, for tests and fuzzing; all off by default. */
  readonly faults: Pl011Faults = { busyStuck: false, txFullStuck: false, rxEmptyStuck: false };

  private readonly periphId2: number;
  private readonly fifoIndexMask: number;
  /** FIFO trigger levels in entries, by IFLS code (TRIGGER_EIGHTHS of this depth). */
  private readonly triggerLevels: readonly number[];

  // Registers as written.
  private rsr = RESET_RSR;
  private ilpr = RESET_ILPR;
  private ibrd = RESET_IBRD;
  private fbrd = RESET_FBRD;
  private lcrh = RESET_LCR_H;
  private cr = RESET_CR;
  private ifls = RESET_IFLS;
  private imsc = RESET_IMSC;
  private ris = RESET_RIS;
  private dmacr = RESET_DMACR;
  private itcr = RESET_ITCR;
  private itip = RESET_ITIP;
  private itop = RESET_ITOP;
  private tdr = RESET_TDR;

  // The 30-bit register of TRM 3.3.7: IBRD and FBRD as loaded by the last LCR_H write (LCR_H
  // itself is `lcrh`), and what follows from it.
  private latchedIbrd = RESET_IBRD;
  private latchedFbrd = RESET_FBRD;
  private bitNs = Infinity;
  private frameNs = Infinity;
  private dataMask = 0;
  /** Entries each FIFO holds: the depth, or 1 with FEN = 0 (TRM 3.3.7). */
  private capacity = 1;
  /** TXRIS sets when the TX level falls from above this to it or below (TRM 2.8). */
  private txTrigger = 0;
  /** RXRIS sets when the RX level rises from below this to it or above (TRM 2.8). */
  private rxTrigger = 1;

  // Transmitter: the TX FIFO as a ring, and the shift register.
  private readonly txFifo: Uint8Array;
  private txHead = 0;
  private txCount = 0;
  private txShifting = false;
  private txShiftData = 0;
  private txShiftLineControl = 0;
  private txShiftDivisor = 0;
  private txEndAt = Infinity;

  // Receiver: the RX FIFO of 12-bit entries as a ring, the timeout, the wire-speed queue.
  private readonly rxFifo: Uint16Array;
  private rxHead = 0;
  private rxCount = 0;
  private timeoutAt = Infinity;
  private wireQueue: number[] = [];
  private wireQueueNext = 0;
  private wireArrivalAt = Infinity;
  private wireArrivalNs = 0;

  // Modem inputs: the FR bits the pins give, as setModemInputs last set them (all pins start
  // HIGH, inactive), and FR's modem bits, which are the pins' outside loopback.
  private pinFlags = 0;
  private modemFlags = 0;

  /** The earliest pending event; never later than the true next event. */
  private nextEventAt = Infinity;

  constructor(options: Pl011Options) {
    if (!(options.uartclkHz > 0)) throw new RangeError(`UARTCLK of ${options.uartclkHz} Hz is not a frequency`);
    this.clock = options.clock;
    this.uartclkHz = options.uartclkHz;
    this.revision = options.revision ?? "r1p4";
    const variant = REVISIONS[this.revision];
    this.fifoDepth = variant.fifoDepth;
    this.periphId2 = variant.periphId2;
    this.fifoIndexMask = this.fifoDepth - 1;
    this.triggerLevels = TRIGGER_EIGHTHS.map((eighths) => (this.fifoDepth * eighths) / 8);
    this.txFifo = new Uint8Array(this.fifoDepth);
    this.rxFifo = new Uint16Array(this.fifoDepth);
    this.reset();
  }

  /** Puts every register back to its reset value and empties the FIFOs. The wire record and the
   * counters are kept: they describe the outside world, not the UART. */
  reset(): void {
    this.rsr = RESET_RSR;
    this.ilpr = RESET_ILPR;
    this.ibrd = RESET_IBRD;
    this.fbrd = RESET_FBRD;
    this.lcrh = RESET_LCR_H;
    this.cr = RESET_CR;
    this.ifls = RESET_IFLS;
    this.imsc = RESET_IMSC;
    this.ris = RESET_RIS;
    this.dmacr = RESET_DMACR;
    this.itcr = RESET_ITCR;
    this.itip = RESET_ITIP;
    this.itop = RESET_ITOP;
    this.tdr = RESET_TDR;
    this.txHead = this.txCount = 0;
    this.txShifting = false;
    this.txEndAt = Infinity;
    this.rxHead = this.rxCount = 0;
    this.timeoutAt = Infinity;
    // Emptied in place: a reset per fuzz execution allocates nothing.
    if (this.wireQueue.length !== 0) this.wireQueue.length = 0;
    this.wireQueueNext = 0;
    this.wireArrivalAt = Infinity;
    // The register LCR_H loads the divisor into resets with it (TRM 3.3.7): no rate until the
    // next LCR_H write.
    this.latchedIbrd = RESET_IBRD;
    this.latchedFbrd = RESET_FBRD;
    this.latchLineControl();
    // The modem bits of RIS reset undefined (TRM 3.3.11); the model starts them at 0.
    this.modemFlags = this.modemInputFlags();
    this.nextEventAt = Infinity;
  }

  // ---- Device: one call per bus access ----
  //
  // read() and write() answer the accesses a driver makes in its loops (FR polled, DR read or
  // written) and leave every other register to readRegister() and writeRegister(): kept this
  // small, they are inlined into Bus.read and Bus.write, where a call per access would cost more
  // than the model's work.

  read(offset: number, _width: number): number {
    const now = this.clock.now;
    if (now >= this.nextEventAt) this.catchUp(now);
    if (offset === PL011_FR) return this.flags();
    if (offset === PL011_DR) return this.popReceived();
    return this.readRegister(offset);
  }

  write(offset: number, value: number, _width: number): void {
    const now = this.clock.now;
    if (now >= this.nextEventAt) this.catchUp(now);
    if (offset === PL011_DR) this.pushTransmit(value & PL011_DR_DATA_MASK);
    else this.writeRegister(offset, value);
  }

  /** A read of any register but DR and FR, with the model caught up. */
  private readRegister(offset: number): number {
    switch (offset) {
      case PL011_RSR: return this.rsr;
      case PL011_ILPR: return this.ilpr;
      case PL011_IBRD: return this.ibrd;
      case PL011_FBRD: return this.fbrd;
      case PL011_LCR_H: return this.lcrh;
      case PL011_CR: return this.cr;
      case PL011_IFLS: return this.ifls;
      case PL011_IMSC: return this.imsc;
      case PL011_RIS: return this.ris;
      case PL011_MIS: return this.ris & this.imsc;
      case PL011_DMACR: return this.dmacr;
      case PL011_ITCR: return this.itcr;
      case PL011_ITIP: return this.itip;
      case PL011_ITOP: return this.itop;
      case PL011_TDR: return this.tdr;
      case PL011_PeriphID0: return PERIPH_ID0;
      case PL011_PeriphID1: return PERIPH_ID1;
      case PL011_PeriphID2: return this.periphId2;
      case PL011_PeriphID3: return PERIPH_ID3;
      case PL011_PCellID0: return PCELL_ID0;
      case PL011_PCellID1: return PCELL_ID1;
      case PL011_PCellID2: return PCELL_ID2;
      case PL011_PCellID3: return PCELL_ID3;
      // ICR (write-only) and reserved offsets.
      default: return 0;
    }
  }

  /** A write to any register but DR, with the model caught up. */
  private writeRegister(offset: number, value: number): void {
    switch (offset) {
      // Any write to ECR clears OE, BE, PE and FE (TRM 3.3.2).
      case PL011_ECR: this.rsr = 0; return;
      case PL011_ILPR: this.ilpr = value & PL011_ILPR_ILPDVSR_MASK; return;
      // IBRD and FBRD take effect at the next LCR_H write only (TRM 3.3.7).
      case PL011_IBRD: this.ibrd = value & PL011_IBRD_DIVINT_MASK; return;
      case PL011_FBRD: this.fbrd = value & PL011_FBRD_DIVFRAC_MASK; return;
      case PL011_LCR_H: this.writeLineControl(value & LCR_H_BITS); return;
      case PL011_CR: this.writeControl(value & CR_BITS); return;
      case PL011_IFLS: this.ifls = value & IFLS_BITS; this.updateLevels(); return;
      case PL011_IMSC: this.writeMask(value & INTERRUPT_BITS); return;
      case PL011_ICR: this.clearInterrupts(value & INTERRUPT_BITS); return;
      case PL011_DMACR: this.dmacr = value & DMACR_BITS; return;
      case PL011_ITCR: this.itcr = value & ITCR_BITS; return;
      case PL011_ITIP: this.itip = value & ITIP_BITS; return;
      case PL011_ITOP: this.itop = value & ITOP_BITS; return;
      case PL011_TDR: this.tdr = value & TDR_BITS; return;
      // Read-only registers and reserved offsets ignore writes.
      default: return;
    }
  }

  /** Device.stableUntil: until when a read of `offset` returns what it returned just now. DR
   * pops the RX FIFO (never stable); FR, RIS and MIS change only at the model's events (a
   * character leaving the shift register or arriving, a receive timeout); every other register
   * changes only when written. */
  stableUntil(offset: number): number {
    switch (offset) {
      case PL011_DR: return -Infinity;
      case PL011_FR: case PL011_RIS: case PL011_MIS: return this.nextEventAt;
      default: return Infinity;
    }
  }

  // ---- Signals ----

  /** UARTINTR: any masked interrupt source (TRM 2.8). */
  interruptPending(): boolean {
    this.update();
    return (this.ris & this.imsc) !== 0;
  }

  /** The asserted sources for messages: `MIS 0x100 (PE)`. */
  describeInterrupt(): string {
    this.update();
    const mis = this.ris & this.imsc;
    const reg = PL011_MAP.registers.find((r) => r.name === "MIS")!;
    return `MIS 0x${mis.toString(16).padStart(3, "0")}${mis === 0 ? "" : ` (${decodeFields(reg, mis)})`}`;
  }

  /** The DMA request lines (TRM 2.7; docs/primecell.md, PL011 1.6 item 6). SREQ: TX has a free
   * location / RX holds a character. BREQ: the TX level is at or below its trigger level / the RX
   * level at or above it; FIFO mode only. Nothing while UARTEN or the direction's DMA enable is
   * clear, and no RX request while DMAONERR is set and UARTEINTR is asserted. */
  dmaRequests(direction: DmaDirection): number {
    this.update();
    if ((this.cr & PL011_CR_UARTEN) === 0) return 0;
    const fifos = (this.lcrh & PL011_LCR_H_FEN) !== 0;
    if (direction === "tx") {
      if ((this.dmacr & PL011_DMACR_TXDMAE) === 0 || this.txCount >= this.capacity) return 0;
      return fifos && this.txCount <= this.txTrigger ? DMA_SREQ | DMA_BREQ : DMA_SREQ;
    }
    if ((this.dmacr & PL011_DMACR_RXDMAE) === 0 || this.rxCount === 0) return 0;
    if ((this.dmacr & PL011_DMACR_DMAONERR) !== 0 && (this.ris & this.imsc & ERROR_INTERRUPTS) !== 0) return 0;
    return fifos && this.rxCount >= this.rxTrigger ? DMA_SREQ | DMA_BREQ : DMA_SREQ;
  }

  /** Sets the levels of the modem input pins (true = HIGH = inactive); a change of the FR bit
   * raises its modem interrupt. In loopback the pins are not looked at (TRM 3.3.8, LBE). */
  setModemInputs(pins: ModemPins): void {
    this.update();
    // A pin's FR bit is 1 while the pin is LOW.
    let flags = this.pinFlags;
    if (pins.cts !== undefined) flags = pins.cts ? flags & ~PL011_FR_CTS : flags | PL011_FR_CTS;
    if (pins.dsr !== undefined) flags = pins.dsr ? flags & ~PL011_FR_DSR : flags | PL011_FR_DSR;
    if (pins.dcd !== undefined) flags = pins.dcd ? flags & ~PL011_FR_DCD : flags | PL011_FR_DCD;
    if (pins.ri !== undefined) flags = pins.ri ? flags & ~PL011_FR_RI : flags | PL011_FR_RI;
    this.pinFlags = flags;
    this.updateModemFlags();
    // CTS hardware flow control may release the transmitter.
    this.startCharacter(this.clock.now);
    this.schedule();
  }

  /** Levels of the active-low modem outputs: a CR bit set drives its pin LOW (TRM 3.3.8). */
  modemOutputs(): ModemOutputs {
    return {
      rts: (this.cr & PL011_CR_RTS) === 0,
      dtr: (this.cr & PL011_CR_DTR) === 0,
      out1: (this.cr & PL011_CR_OUT1) === 0,
      out2: (this.cr & PL011_CR_OUT2) === 0,
    };
  }

  // ---- Receiving from outside ----

  /**
   * Characters that have just arrived on RXD, all now, in order. With error "break" the line was
   * held low: one 0 character is loaded with BE and FE (TRM 3.3.1), and `data` must be empty.
   * "parity" and "framing" mark every character. Nothing arrives while UARTEN or RXE is clear.
   */
  receive(data: ArrayLike<number>, options: ReceiveOptions = {}): void {
    this.update();
    const now = this.clock.now;
    if (options.error === "break") {
      if (data.length !== 0) throw new RangeError("a break is one 0 character: pass no data with it");
      this.arrive(PL011_DR_BE | PL011_DR_FE, now);
    } else {
      const errors = options.error === "parity" ? PL011_DR_PE : options.error === "framing" ? PL011_DR_FE : 0;
      for (let i = 0; i < data.length; i++) this.arrive((data[i]! & this.dataMask) | errors, now);
    }
    this.schedule();
  }

  /** Characters sent by a remote UART at the latched rate and frame format: the first completes
   * one frame time from now, the next one frame later, after any still queued. */
  receiveAtWireSpeed(data: ArrayLike<number>, options: ReceiveOptions = {}): void {
    this.update();
    if (this.frameNs === Infinity) throw new RangeError("no baud rate is latched (IBRD = 0): write IBRD, FBRD, then LCR_H");
    if (options.error === "break") throw new RangeError("receiveAtWireSpeed does not send breaks: use receive([], { error: \"break\" })");
    const errors = options.error === "parity" ? PL011_DR_PE : options.error === "framing" ? PL011_DR_FE : 0;
    if (this.wireQueueNext === this.wireQueue.length) {
      this.wireQueue = [];
      this.wireQueueNext = 0;
    }
    for (let i = 0; i < data.length; i++) this.wireQueue.push((data[i]! & PL011_DR_DATA_MASK) | errors);
    if (this.wireArrivalAt === Infinity && this.wireQueueNext < this.wireQueue.length) {
      this.wireArrivalNs = this.frameNs;
      this.wireArrivalAt = this.clock.now + this.wireArrivalNs;
    }
    this.schedule();
  }

  // ---- Inspection for tests ----

  /** Does the work due by clock.now. */
  update(): void {
    if (this.clock.now >= this.nextEventAt) this.catchUp(this.clock.now);
  }

  get txFifoLevel(): number {
    this.update();
    return this.txCount;
  }

  get rxFifoLevel(): number {
    this.update();
    return this.rxCount;
  }

  /** True while a character is in the shift register. */
  get transmitting(): boolean {
    this.update();
    return this.txShifting;
  }

  get latchedDivisor(): BaudDivisor {
    return { ibrd: this.latchedIbrd, fbrd: this.latchedFbrd };
  }

  get frameFormat(): FrameFormat {
    return frameFormatOf(this.lcrh);
  }

  /** One bit period at the latched divisor: 16 x (IBRD + FBRD/64) / UARTCLK; Infinity while the
   * latched IBRD is 0. */
  bitTimeNs(): number {
    return this.bitNs;
  }

  /** One frame at the latched divisor and the current format. */
  frameTimeNs(): number {
    return this.frameNs;
  }

  /** Characters that left TXD, in order (only the WLEN data bits they were sent with). In
   * loopback they are recorded too: the TRM says TXD feeds RXD, not that the pin stops. A
   * snapshot: the array is built anew once more characters have left, and is not to be changed. */
  get wire(): readonly number[] {
    return this.views().data;
  }

  /** For each character of `wire`: the time its last stop bit ended (ns). */
  get wireEnds(): readonly number[] {
    return this.views().ends;
  }

  /** For each character of `wire`: LCR_H when it was sent. */
  get wireLineControl(): readonly number[] {
    return this.views().lineControl;
  }

  /** For each character of `wire`: the latched divisor in 1/64ths (IBRD x 64 + FBRD). */
  get wireDivisors(): readonly number[] {
    return this.views().divisors;
  }

  /** Characters that left TXD: `wire.length`, without building `wire`. */
  get wireLength(): number {
    return this.sentCount;
  }

  /** Character `index` of `wire`, without building it (undefined past the end). */
  wireAt(index: number): number | undefined {
    return index >= 0 && index < this.sentCount ? this.sentData[index]! : undefined;
  }

  wireFrame(index: number): WireFrame {
    if (!(Number.isInteger(index) && index >= 0 && index < this.sentCount)) throw new RangeError(`no character ${index} on the wire (${this.sentCount} sent)`);
    const divisor = this.sentDivisors[index]!;
    return {
      data: this.sentData[index]!,
      end: this.sentEnds[index]!,
      lineControl: this.sentLineControl[index]!,
      divisor: { ibrd: Math.floor(divisor / FBRD_STEPS), fbrd: divisor % FBRD_STEPS },
    };
  }

  /** Forgets the characters recorded on the wire (a long fuzzing run keeps memory flat). */
  clearWire(): void {
    if (this.sentCount === 0) return;
    this.sentCount = 0;
    this.sentVersion++;
  }

  private views(): { data: number[]; ends: number[]; lineControl: number[]; divisors: number[] } {
    const v = this.sentViews;
    if (v.version !== this.sentVersion) {
      const n = this.sentCount;
      v.data = Array.from(this.sentData.subarray(0, n));
      v.ends = Array.from(this.sentEnds.subarray(0, n));
      v.lineControl = Array.from(this.sentLineControl.subarray(0, n));
      v.divisors = Array.from(this.sentDivisors.subarray(0, n));
      v.version = this.sentVersion;
    }
    return v;
  }

  /** Records a character that left TXD at time `t`. */
  private recordSent(data: number, t: number, lineControl: number, divisor: number): void {
    const i = this.sentCount;
    if (i === this.sentData.length) this.reserveSent(i + 1);
    this.sentData[i] = data;
    this.sentEnds[i] = t;
    this.sentLineControl[i] = lineControl;
    this.sentDivisors[i] = divisor;
    this.sentCount = i + 1;
    this.sentVersion++;
  }

  /** The latched baud divisor in 64ths (BAUDDIV x 64 = IBRD x 64 + FBRD, TRM 3.3.6), as the record
   * of characters sent keeps it. */
  private latchedSixtyFourths(): number {
    return this.latchedIbrd * FBRD_STEPS + this.latchedFbrd;
  }

  /** Grows the record of characters sent to hold at least `n` (doubling). */
  private reserveSent(n: number): void {
    let size = this.sentData.length;
    if (n <= size) return;
    while (size < n) size *= 2;
    const grow = <T extends Uint16Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.sentData = grow(this.sentData, (k) => new Uint16Array(k));
    this.sentEnds = grow(this.sentEnds, (k) => new Float64Array(k));
    this.sentLineControl = grow(this.sentLineControl, (k) => new Uint16Array(k));
    this.sentDivisors = grow(this.sentDivisors, (k) => new Uint32Array(k));
  }

  // ---- Time ----

  /** Handles, in time order, every event due by `now`. */
  private catchUp(now: number): void {
    for (;;) {
      const txEnd = this.txEndAt;
      const arrival = this.wireArrivalAt;
      const timeout = this.timeoutAt;
      let t = txEnd;
      if (arrival < t) t = arrival;
      if (timeout < t) t = timeout;
      if (t > now) break;
      // At equal times a character lands before the timeout looks at the FIFO.
      if (t === txEnd) {
        // Without loopback, characters leaving TXD touch nothing the receiver's events depend
        // on: every frame that ends by now, and before the next arrival or timeout, goes in one
        // loop (a FIFO drained at the end of a fuzz execution sends 16 in a row).
        if ((this.cr & PL011_CR_LBE) === 0) this.shiftOut(Math.min(now, arrival, timeout));
        else this.finishCharacter(t);
      }
      else if (t === arrival) this.arriveFromWire(t);
      else this.receiveTimeout();
    }
    this.schedule();
  }

  private schedule(): void {
    let t = this.txEndAt;
    if (this.wireArrivalAt < t) t = this.wireArrivalAt;
    if (this.timeoutAt < t) t = this.timeoutAt;
    this.nextEventAt = t;
  }

  // ---- Transmitter ----

  private pushTransmit(byte: number): void {
    if (this.txCount >= this.capacity) {
      this.txDropped++;
      return;
    }
    this.txFifo[(this.txHead + this.txCount) & this.fifoIndexMask] = byte;
    this.txCount++;
    // Writing data above the trigger level clears the TX interrupt (TRM 2.8).
    if (this.txCount > this.txTrigger) this.ris &= ~PL011_RIS_TX;
    if (this.txShifting === false) {
      this.startCharacter(this.clock.now);
      this.schedule();
    }
  }

  private transmitterRuns(): boolean {
    const cr = this.cr;
    return (cr & TX_ENABLED) === TX_ENABLED &&
      (this.lcrh & PL011_LCR_H_BRK) === 0 &&
      this.latchedIbrd !== 0 &&
      ((cr & PL011_CR_CTSEN) === 0 || (this.modemFlags & PL011_FR_CTS) !== 0);
  }

  /** Moves the next character from the TX FIFO into the shift register at time `t`. The caller
   * reschedules. */
  private startCharacter(t: number): void {
    if (this.txShifting === true || this.txCount === 0 || !this.transmitterRuns()) return;
    const data = this.txFifo[this.txHead]!;
    this.txHead = (this.txHead + 1) & this.fifoIndexMask;
    const before = this.txCount--;
    // The TX interrupt fires as the level passes down through the trigger level, not because
    // the FIFO is at or below it (TRM 2.8; docs/primecell.md, PL011 1.6 item 5).
    if (before > this.txTrigger && this.txCount <= this.txTrigger) this.ris |= PL011_RIS_TX;
    this.txShifting = true;
    this.txShiftData = data & this.dataMask;
    this.txShiftLineControl = this.lcrh;
    this.txShiftDivisor = this.latchedSixtyFourths();
    this.txEndAt = t + this.frameNs;
  }

  /** The last stop bit of the character in the shift register has left, at time `t`. */
  private finishCharacter(t: number): void {
    this.txShifting = false;
    this.txEndAt = Infinity;
    this.recordSent(this.txShiftData, t, this.txShiftLineControl, this.txShiftDivisor);
    // Loopback: TXD feeds RXD (TRM 3.3.8, LBE).
    if ((this.cr & PL011_CR_LBE) !== 0) this.arrive(this.txShiftData & this.dataMask, t);
    this.startCharacter(t);
  }

  /**
   * finishCharacter() then startCharacter(), again and again, for each character whose last stop
   * bit ends by `until`, without loopback (the caller checks LBE): the same state at the end,
   * each character recorded with the time, LCR_H and divisor it was sent with, and the TX
   * interrupt set as the level passes down through the trigger level. Nothing in the loop changes
   * what decides whether the transmitter runs (CR, LCR_H, the latched divisor, CTS), nor the
   * frame time, so both are read once.
   */
  private shiftOut(until: number): void {
    const runs = this.transmitterRuns();
    const frame = this.frameNs;
    const mask = this.fifoIndexMask;
    const trigger = this.txTrigger;
    const dataMask = this.dataMask;
    const fifo = this.txFifo;
    const nextLineControl = this.lcrh;
    const nextDivisor = this.latchedSixtyFourths();
    // Room for every character the loop can record (the one shifting and those queued), so
    // that it stores through the arrays as they are now.
    this.reserveSent(this.sentCount + this.txCount + 1);
    const sentData = this.sentData;
    const sentEnds = this.sentEnds;
    const sentLineControl = this.sentLineControl;
    const sentDivisors = this.sentDivisors;
    let n = this.sentCount;
    let t = this.txEndAt;
    let head = this.txHead;
    let count = this.txCount;
    let ris = this.ris;
    let data = this.txShiftData;
    let lineControl = this.txShiftLineControl;
    let divisor = this.txShiftDivisor;
    for (;;) {
      sentData[n] = data;
      sentEnds[n] = t;
      sentLineControl[n] = lineControl;
      sentDivisors[n] = divisor;
      n++;
      if (count === 0 || !runs) {
        this.txShifting = false;
        this.txEndAt = Infinity;
        break;
      }
      data = fifo[head]! & dataMask;
      head = (head + 1) & mask;
      // The TX interrupt fires as the level passes down through the trigger level (TRM 2.8).
      if (count-- > trigger && count <= trigger) ris |= PL011_RIS_TX;
      lineControl = nextLineControl;
      divisor = nextDivisor;
      t += frame;
      if (t > until) {
        this.txEndAt = t;
        break;
      }
    }
    this.sentCount = n;
    this.sentVersion++;
    this.txShiftData = data;
    this.txShiftLineControl = lineControl;
    this.txShiftDivisor = divisor;
    this.txHead = head;
    this.txCount = count;
    this.ris = ris;
  }

  // ---- Receiver ----

  /** A 12-bit entry (data and error bits) reaches the RX FIFO at time `t`. */
  private arrive(entry: number, t: number): void {
    // Receiving needs UARTEN and RXE (TRM 3.3.8); otherwise the character is not taken in.
    if ((this.cr & RX_ENABLED) !== RX_ENABLED) {
      this.rxIgnored++;
      return;
    }
    if (this.rxCount >= this.capacity) {
      // Overrun (TRM 3.3.1-2): the character is lost, the FIFO keeps its contents, RSR.OE sets
      // at once. DR.OE goes on the newest entry, which stays valid data: the loss follows it.
      this.rxLost++;
      this.rsr |= PL011_RSR_OE;
      this.ris |= PL011_RIS_OE;
      const newest = (this.rxHead + this.rxCount - 1) & this.fifoIndexMask;
      this.rxFifo[newest] = this.rxFifo[newest]! | PL011_DR_OE;
    } else {
      this.rxFifo[(this.rxHead + this.rxCount) & this.fifoIndexMask] = entry;
      const before = this.rxCount++;
      // The RX interrupt fires as the level passes up through the trigger level (TRM 2.8).
      if (before < this.rxTrigger && this.rxCount >= this.rxTrigger) this.ris |= PL011_RIS_RX;
      // Error interrupts set with the errored character (TRM 3.3.11). A break also carries FE.
      if ((entry & PL011_DR_BE) !== 0) this.ris |= PL011_RIS_BE;
      if ((entry & PL011_DR_PE) !== 0) this.ris |= PL011_RIS_PE;
      if ((entry & PL011_DR_FE) !== 0) this.ris |= PL011_RIS_FE;
    }
    // New data restarts the receive timeout; RTIM also gates the timeout logic (TRM Table 3-15).
    if ((this.imsc & PL011_IMSC_RT) !== 0) this.timeoutAt = t + RECEIVE_TIMEOUT_BITS * this.bitNs;
  }

  private arriveFromWire(t: number): void {
    const entry = this.wireQueue[this.wireQueueNext++]!;
    const errors = entry & (PL011_DR_PE | PL011_DR_FE);
    this.arrive((entry & this.dataMask) | errors, t);
    this.wireArrivalAt = this.wireQueueNext < this.wireQueue.length ? t + this.wireArrivalNs : Infinity;
  }

  private receiveTimeout(): void {
    this.timeoutAt = Infinity;
    if (this.rxCount > 0 && (this.imsc & PL011_IMSC_RT) !== 0) this.ris |= PL011_RIS_RT;
  }

  /** A DR read: pops one entry and updates RSR (TRM 3.3.1-2). */
  private popReceived(): number {
    // Reading an empty FIFO: the model returns 0 and leaves RSR alone.
    if (this.rxCount === 0) return 0;
    const entry = this.rxFifo[this.rxHead]!;
    this.rxHead = (this.rxHead + 1) & this.fifoIndexMask;
    this.rxCount--;
    // RSR's BE, PE and FE describe the character just read; OE was set when the overrun happened.
    let status = this.rsr & PL011_RSR_OE;
    if ((entry & PL011_DR_BE) !== 0) status |= PL011_RSR_BE;
    if ((entry & PL011_DR_PE) !== 0) status |= PL011_RSR_PE;
    if ((entry & PL011_DR_FE) !== 0) status |= PL011_RSR_FE;
    this.rsr = status;
    // RX clears once the FIFO is read below the trigger level; RT once it is empty (TRM 2.8).
    if (this.rxCount < this.rxTrigger) this.ris &= ~PL011_RIS_RX;
    if (this.rxCount === 0) {
      this.ris &= ~PL011_RIS_RT;
      this.timeoutAt = Infinity;
    }
    return entry;
  }

  // ---- Control registers ----

  private flags(): number {
    let fr = this.modemFlags;
    // BUSY: set while the TX FIFO holds data, even with UARTEN = 0, and until the last stop bit
    // has left the shift register (TRM 3.3.3). TXFE does not cover the shift register.
    if (this.txCount === 0) fr |= PL011_FR_TXFE;
    else fr |= PL011_FR_BUSY;
    // `=== true` rather than a truthiness test: V8 compiles it to one comparison (this is every
    // FR read).
    if (this.txShifting === true) fr |= PL011_FR_BUSY;
    if (this.txCount >= this.capacity) fr |= PL011_FR_TXFF;
    if (this.rxCount === 0) fr |= PL011_FR_RXFE;
    if (this.rxCount >= this.capacity) fr |= PL011_FR_RXFF;
    const faults = this.faults;
    if (faults.busyStuck === true) fr |= PL011_FR_BUSY;
    if (faults.txFullStuck === true) fr |= PL011_FR_TXFF;
    if (faults.rxEmptyStuck === true) fr |= PL011_FR_RXFE;
    return fr;
  }

  private writeLineControl(value: number): void {
    const fifosBefore = (this.lcrh & PL011_LCR_H_FEN) !== 0;
    this.lcrh = value;
    // LCR_H, IBRD and FBRD form one 30-bit register loaded by the LCR_H write (TRM 3.3.7). A
    // character already in the shift register keeps the rate it started with.
    this.latchedIbrd = this.ibrd;
    this.latchedFbrd = this.fbrd;
    this.latchLineControl();
    if (fifosBefore && (value & PL011_LCR_H_FEN) === 0) {
      // Clearing FEN flushes the FIFOs (TRM 3.3.8 note, step 3). An empty RX FIFO clears RX and RT.
      this.txHead = this.txCount = 0;
      this.rxHead = this.rxCount = 0;
      this.ris &= ~(PL011_RIS_RX | PL011_RIS_RT);
      this.timeoutAt = Infinity;
    }
    // A divisor that became valid, or a break that ended, lets the transmitter go on.
    this.startCharacter(this.clock.now);
    this.schedule();
  }

  /** Derives the rate, the frame and the FIFO levels from the latched register. */
  private latchLineControl(): void {
    // Computed from the bits, not through frameFormatOf(): this runs on every LCR_H write and
    // allocates nothing.
    const lcrh = this.lcrh;
    const dataBits = 5 + ((lcrh & PL011_LCR_H_WLEN_MASK) >>> PL011_LCR_H_WLEN_SHIFT);
    const bitsPerFrame = 1 + dataBits + ((lcrh & PL011_LCR_H_PEN) !== 0 ? 1 : 0) + ((lcrh & PL011_LCR_H_STP2) !== 0 ? 2 : 1);
    this.dataMask = (1 << dataBits) - 1;
    this.bitNs = this.latchedIbrd === 0
      ? Infinity
      : (BAUD16_PER_BIT * this.latchedSixtyFourths() * 1e9) / (FBRD_STEPS * this.uartclkHz);
    this.frameNs = bitsPerFrame * this.bitNs;
    this.updateLevels();
  }

  private updateLevels(): void {
    if ((this.lcrh & PL011_LCR_H_FEN) !== 0) {
      this.capacity = this.fifoDepth;
      const txCode = (this.ifls & PL011_IFLS_TXIFLSEL_MASK) >>> PL011_IFLS_TXIFLSEL_SHIFT;
      const rxCode = (this.ifls & PL011_IFLS_RXIFLSEL_MASK) >>> PL011_IFLS_RXIFLSEL_SHIFT;
      this.txTrigger = this.triggerLevels[txCode]!;
      this.rxTrigger = this.triggerLevels[rxCode]!;
    } else {
      // Character mode: TX fires when the holding register empties, RX on one character
      // (TRM 2.8).
      this.capacity = 1;
      this.txTrigger = 0;
      this.rxTrigger = 1;
    }
  }

  private writeControl(value: number): void {
    this.cr = value;
    // In loopback the modem outputs feed the modem inputs, so CR can change FR's modem bits.
    this.updateModemFlags();
    // Disabling lets the character in the shift register complete (TRM 3.3.8): only the start
    // of the next one depends on the enables.
    this.startCharacter(this.clock.now);
    this.schedule();
  }

  private writeMask(value: number): void {
    const before = this.imsc;
    this.imsc = value;
    // RTIM gates the timeout counter (TRM Table 3-15 note a): it counts from the moment it is
    // enabled and stops when it is masked.
    if ((value & PL011_IMSC_RT) === 0) {
      this.timeoutAt = Infinity;
    } else if ((before & PL011_IMSC_RT) === 0 && this.rxCount > 0) {
      this.timeoutAt = this.clock.now + RECEIVE_TIMEOUT_BITS * this.bitNs;
      this.schedule();
    }
  }

  private clearInterrupts(bits: number): void {
    this.ris &= ~bits;
  }

  // ---- Modem inputs ----

  /** FR's modem bits: 1 while the active-low input is LOW. In loopback RTS feeds CTS, DTR feeds
   * DSR, Out1 feeds DCD and Out2 feeds RI (TRM 3.3.8, LBE). */
  private modemInputFlags(): number {
    const cr = this.cr;
    if ((cr & PL011_CR_LBE) !== 0) {
      return ((cr & PL011_CR_RTS) !== 0 ? PL011_FR_CTS : 0) |
        ((cr & PL011_CR_DTR) !== 0 ? PL011_FR_DSR : 0) |
        ((cr & PL011_CR_OUT1) !== 0 ? PL011_FR_DCD : 0) |
        ((cr & PL011_CR_OUT2) !== 0 ? PL011_FR_RI : 0);
    }
    return this.pinFlags;
  }

  /** Any change of a modem input raises its modem interrupt (TRM 2.8, UARTMSINTR). */
  private updateModemFlags(): void {
    const flags = this.modemInputFlags();
    const changed = flags ^ this.modemFlags;
    this.modemFlags = flags;
    if (changed === 0) return;
    if ((changed & PL011_FR_CTS) !== 0) this.ris |= PL011_RIS_CTSM;
    if ((changed & PL011_FR_DSR) !== 0) this.ris |= PL011_RIS_DSRM;
    if ((changed & PL011_FR_DCD) !== 0) this.ris |= PL011_RIS_DCDM;
    if ((changed & PL011_FR_RI) !== 0) this.ris |= PL011_RIS_RIM;
  }
}

/** LCR_H decoded: WLEN counts from 5 data bits; parity per TRM Table 3-11. */
export function frameFormatOf(lineControl: number): FrameFormat {
  const dataBits = 5 + ((lineControl & PL011_LCR_H_WLEN_MASK) >>> PL011_LCR_H_WLEN_SHIFT);
  let parity: FrameFormat["parity"] = "none";
  if ((lineControl & PL011_LCR_H_PEN) !== 0) {
    const even = (lineControl & PL011_LCR_H_EPS) !== 0;
    if ((lineControl & PL011_LCR_H_SPS) !== 0) parity = even ? "zero" : "one";
    else parity = even ? "even" : "odd";
  }
  const stopBits = (lineControl & PL011_LCR_H_STP2) !== 0 ? 2 : 1;
  return {
    dataBits,
    parity,
    stopBits,
    bitsPerFrame: 1 + dataBits + (parity === "none" ? 0 : 1) + stopBits,
    fifos: (lineControl & PL011_LCR_H_FEN) !== 0,
    sendBreak: (lineControl & PL011_LCR_H_BRK) !== 0,
  };
}
