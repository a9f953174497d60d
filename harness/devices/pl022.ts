// Behavioural model of the PrimeCell Synchronous Serial Port (PL022), ARM DDI 0194; register
// facts and their sources are collected in docs/primecell.md, PL022 section 2 (where the sources
// disagree: PL022 2.7). Offsets and fields come from registers/pl022.json through
// harness/generated/pl022.ts.
//
// Time: the port shifts one frame at a time on the virtual clock at the programmed bit rate,
// SSPCLK / (CPSDVSR x (1 + SCR)) (TRM 3.3.1). A frame of N data bits takes N bit periods (a
// Microwire frame 8 + 1 + N: command, turnaround, reply). The model is lazy: it keeps the time of
// its next event (a frame completing, the receive timeout) and does the work due only when an
// access or a signal query finds the clock at or past it; each event is handled at its own
// virtual time, so results do not depend on how often the model is looked at.
//
// Slaves: attach() adds a SpiSlave; select()/chipSelect() drive chip selects at model level, as a
// GPIO pin would on a board (chipSelectListener() adapts a pin). A completed frame goes to every
// selected slave that accepts the frame kind; MISO is the AND of their answers (contention on a
// real bus, modelled as wired-AND) and reads all ones when no slave drives it (pulled up). In
// loopback (CR1.LBM) the transmitted frame is received and no slave sees it.
//
// Modelling choices where the TRM is silent (each repeated beside its code):
// - Interrupt levels: TX asserts at 4 or fewer TX entries, RX at 4 or more RX entries (the TRM
//   text as reproduced in ST SPEAr RM0082 13.7, TI-SSI and QEMU). The RP2040 wording of RXIM
//   ("half full or less") disagrees and is not followed. TX is not qualified by SSE.
// - RT latches once the RX FIFO has been non-empty with no frame received for 32 bit periods; it
//   clears when the FIFO is emptied, when a frame arrives, or through ICR.RTIC, and a cleared RT
//   comes back only after the next received frame.
// - An overrun loses the new frame; the FIFO keeps its contents (TRM 3.4, RORINTR).
// - Clearing SSE lets the frame being shifted finish; no new frame starts. The FIFOs keep their
//   contents. BSY reads 1 while the TX FIFO holds data even with SSE = 0 (SR.BSY definition).
// - No frame starts while CPSDVSR < 2 (no SSPCLKOUT) or in slave mode (MS = 1: no external master
//   is modelled); the frames wait in the TX FIFO.
// - A DR read with the RX FIFO empty returns 0. A DR write with the TX FIFO full is lost
//   (counted in txDropped).
// - Reserved DSS values (0..2) shift DSS + 1 bits, as QEMU does. In loopback every format
//   receives the transmitted frame cut to the data size (QEMU does the same for Microwire).
// - DMA requests follow the FIFO levels whatever SSE is: SREQ while TX has room / RX has data,
//   BREQ at the half-full watermark (TX <= 4, RX >= 4; W7500 copy of the TRM, unconfirmed). The
//   DMACLR handshake is not modelled.
// - Not modelled: slave mode, SSPFSSOUT (the frame pulse between TI and Motorola SPH = 0 frames
//   adds no time here), SOD, and integration-test mode (ITCR/ITIP/ITOP/TDR only store values).
import type { Device, VirtualClock } from "../bus.js";
import { DMA_BREQ, DMA_SREQ, type DmaDirection, type DmaRequester, type InterruptSource, type PinListener } from "./signals.js";
import { SPI_ACCEPTS_ANY, SPI_ACCEPTS_MICROWIRE, SPI_ACCEPTS_TI, type SpiSlave } from "./spi.js";
import {
  PL022_MAP,
  PL022_CR0, PL022_CR0_SCR_MASK, PL022_CR0_SCR_SHIFT, PL022_CR0_SPH, PL022_CR0_SPO,
  PL022_CR0_FRF_MASK, PL022_CR0_FRF_SHIFT, PL022_CR0_FRF_TI, PL022_CR0_FRF_MICROWIRE, PL022_CR0_FRF_MOTOROLA,
  PL022_CR0_DSS_MASK, PL022_CR0_DSS_SHIFT,
  PL022_CR1, PL022_CR1_SOD, PL022_CR1_MS, PL022_CR1_SSE, PL022_CR1_LBM,
  PL022_DR, PL022_DR_DATA_MASK,
  PL022_SR, PL022_SR_BSY, PL022_SR_RFF, PL022_SR_RNE, PL022_SR_TNF, PL022_SR_TFE,
  PL022_CPSR, PL022_CPSR_CPSDVSR_MASK,
  PL022_IMSC, PL022_RIS, PL022_RIS_TX, PL022_RIS_RX, PL022_RIS_RT, PL022_RIS_ROR, PL022_MIS,
  PL022_ICR, PL022_ICR_RTIC, PL022_ICR_RORIC,
  PL022_DMACR, PL022_DMACR_TXDMAE, PL022_DMACR_RXDMAE,
  PL022_ITCR, PL022_ITIP, PL022_ITOP, PL022_TDR,
  PL022_PeriphID0, PL022_PeriphID1, PL022_PeriphID2, PL022_PeriphID3,
  PL022_PCellID0, PL022_PCellID1, PL022_PCellID2, PL022_PCellID3,
} from "../generated/pl022.js";

/** The reset value the register map gives for a register. */
function resetOf(name: string): number {
  const reg = PL022_MAP.registers.find((r) => r.name === name);
  if (reg === undefined || reg.reset === null) throw new Error(`registers/pl022.json has no reset value for ${name}`);
  return reg.reset;
}

/** The bits a register stores, from its width in the map. */
function storedBitsOf(name: string): number {
  const reg = PL022_MAP.registers.find((r) => r.name === name);
  if (reg === undefined) throw new Error(`registers/pl022.json has no register ${name}`);
  return reg.bits >= 32 ? 0xffffffff : 2 ** reg.bits - 1;
}

// Reset values (TRM 3.2 summary, through the map).
const RESET_CR0 = resetOf("CR0");
const RESET_CR1 = resetOf("CR1");
const RESET_CPSR = resetOf("CPSR");
const RESET_IMSC = resetOf("IMSC");
const RESET_DMACR = resetOf("DMACR");
const RESET_ITCR = resetOf("ITCR");
const RESET_ITIP = resetOf("ITIP");
const RESET_ITOP = resetOf("ITOP");
// Identification (TRM 3.3.11-12); PeriphID2 may be overridden (Pl022Options.periphId2).
const PERIPH_ID0 = resetOf("PeriphID0");
const PERIPH_ID1 = resetOf("PeriphID1");
const PERIPH_ID2 = resetOf("PeriphID2");
const PERIPH_ID3 = resetOf("PeriphID3");
const PCELL_ID0 = resetOf("PCellID0");
const PCELL_ID1 = resetOf("PCellID1");
const PCELL_ID2 = resetOf("PCellID2");
const PCELL_ID3 = resetOf("PCellID3");

const CR0_BITS = storedBitsOf("CR0");
const CR1_BITS = PL022_CR1_SOD | PL022_CR1_MS | PL022_CR1_SSE | PL022_CR1_LBM;
/** CPSR bit 0 always reads 0 (TRM 3.3.5): the prescaler has only even divisors. */
const CPSR_BITS = PL022_CPSR_CPSDVSR_MASK & ~1;
const INTERRUPT_BITS = PL022_RIS_TX | PL022_RIS_RX | PL022_RIS_RT | PL022_RIS_ROR;
const DMACR_BITS = PL022_DMACR_TXDMAE | PL022_DMACR_RXDMAE;
const ITCR_BITS = storedBitsOf("ITCR");
const ITIP_BITS = storedBitsOf("ITIP");
const ITOP_BITS = storedBitsOf("ITOP");
const TDR_BITS = storedBitsOf("TDR");

/** Entries in each FIFO (docs/primecell.md, PL022 2.4: W7500, Linux vendor_arm, QEMU). */
export const PL022_FIFO_DEPTH = 8;
/** TXRIS while the TX FIFO holds at most this many entries; RXRIS while the RX FIFO holds at
 * least this many (TRM 3.4 as reproduced in ST RM0082 13.7; QEMU; TI-SSI). */
const TX_INTERRUPT_LEVEL = 4;
const RX_INTERRUPT_LEVEL = 4;
/** Bit periods of idle line before RT (TRM 3.4, SSPRTINTR). */
const RECEIVE_TIMEOUT_BITS = 32;
/** A Microwire frame: an 8-bit command, one turnaround bit, then the reply of 4..16 bits, 13..25
 * bits in all (the TRM's National Microwire frame format, as the RP2040 datasheet reproduces it). */
const MICROWIRE_COMMAND_BITS = 8;
const MICROWIRE_TURNAROUND_BITS = 1;
/** Divisors below this give no SSPCLKOUT (CPSDVSR is 2..254, TRM 3.3.5). */
const CPSDVSR_MIN = 2;

export interface Pl022Options {
  clock: VirtualClock;
  /** SSPCLK, the reference clock of the bit-rate generator (TRM 3.3.1). */
  sspclkHz: number;
  /** PeriphID2: revision in [7:4], 4 in [3:0]. 0x34 by default (as RP2040 silicon reads);
   * QEMU reports 0x04. */
  periphId2?: number;
}

export interface Pl022Faults {
  /** The shifter hangs: the frame in progress never completes, no new frame starts, and SR.BSY
   * reads 1 (SSPCLK stopped, for instance). */
  busyStuck: boolean;
}

export class Pl022Model implements Device, DmaRequester, InterruptSource {
  readonly clock: VirtualClock;
  readonly sspclkHz: number;
  readonly periphId2: number;
  /** Fault injection for tests; all off by default. */
  readonly faults: Pl022Faults = { busyStuck: false };

  /** Frames completed on the wire (loopback included). */
  framesShifted = 0;
  /** Frames lost because they completed while the RX FIFO was full. */
  overruns = 0;
  /** DR writes lost because the TX FIFO was full. */
  txDropped = 0;
  /** The most frames ever in flight right after a DR write: TX FIFO + shifter + RX FIFO. A
   * driver that never lets this pass the FIFO depth cannot overrun the RX FIFO. */
  peakInFlight = 0;

  // Registers as written.
  private cr0 = RESET_CR0;
  private cr1 = RESET_CR1;
  private cpsr = RESET_CPSR;
  private imsc = RESET_IMSC;
  private dmacr = RESET_DMACR;
  private itcr = RESET_ITCR;
  private itip = RESET_ITIP;
  private itop = RESET_ITOP;
  private tdr = 0;
  private rorLatched = false;
  private rtLatched = false;

  // FIFOs: rings of 16-bit entries.
  private readonly txFifo = new Uint16Array(PL022_FIFO_DEPTH);
  private txHead = 0;
  private txCount = 0;
  private readonly rxFifo = new Uint16Array(PL022_FIFO_DEPTH);
  private rxHead = 0;
  private rxCount = 0;

  // The shifter: the frame in progress and what it was started with.
  private shifting = false;
  private frameEndAt = Infinity;
  private shiftData = 0;
  private shiftBits = 8;
  private shiftFormat = PL022_CR0_FRF_MOTOROLA;
  private shiftAccepts = 0;
  private shiftLoopback = false;

  // Receive timeout: armed by each received frame, due 32 bit periods after it.
  private timeoutArmed = false;
  private timeoutAt = Infinity;

  /** The earliest pending event; never later than the true next event. */
  private nextEventAt = Infinity;

  private readonly slaves: SpiSlave[] = [];
  private readonly selected: boolean[] = [];

  constructor(options: Pl022Options) {
    if (!(options.sspclkHz > 0)) throw new RangeError(`SSPCLK of ${options.sspclkHz} Hz is not a frequency`);
    this.clock = options.clock;
    this.sspclkHz = options.sspclkHz;
    this.periphId2 = (options.periphId2 ?? PERIPH_ID2) & 0xff;
    this.reset();
  }

  /** Puts every register back to its reset value and empties the FIFOs and the shifter. Slaves,
   * chip selects and counters are kept: they belong to the board, not the SSP. */
  reset(): void {
    this.cr0 = RESET_CR0;
    this.cr1 = RESET_CR1;
    this.cpsr = RESET_CPSR;
    this.imsc = RESET_IMSC;
    this.dmacr = RESET_DMACR;
    this.itcr = RESET_ITCR;
    this.itip = RESET_ITIP;
    this.itop = RESET_ITOP;
    this.tdr = 0;
    this.rorLatched = false;
    this.rtLatched = false;
    this.txHead = this.txCount = 0;
    this.rxHead = this.rxCount = 0;
    this.shifting = false;
    this.frameEndAt = Infinity;
    this.timeoutArmed = false;
    this.timeoutAt = Infinity;
    this.nextEventAt = Infinity;
  }

  // ---- Device: one call per bus access ----

  read(offset: number, _width: number): number {
    if (this.clock.now >= this.nextEventAt) this.catchUp(this.clock.now);
    switch (offset) {
      case PL022_CR0: return this.cr0;
      case PL022_CR1: return this.cr1;
      case PL022_DR: return this.popReceived();
      case PL022_SR: return this.status();
      case PL022_CPSR: return this.cpsr;
      case PL022_IMSC: return this.imsc;
      case PL022_RIS: return this.rawInterrupts();
      case PL022_MIS: return this.rawInterrupts() & this.imsc;
      case PL022_DMACR: return this.dmacr;
      case PL022_ITCR: return this.itcr;
      case PL022_ITIP: return this.itip;
      case PL022_ITOP: return this.itop;
      case PL022_TDR: return this.tdr;
      case PL022_PeriphID0: return PERIPH_ID0;
      case PL022_PeriphID1: return PERIPH_ID1;
      case PL022_PeriphID2: return this.periphId2;
      case PL022_PeriphID3: return PERIPH_ID3;
      case PL022_PCellID0: return PCELL_ID0;
      case PL022_PCellID1: return PCELL_ID1;
      case PL022_PCellID2: return PCELL_ID2;
      case PL022_PCellID3: return PCELL_ID3;
      // ICR (write-only) and reserved offsets.
      default: return 0;
    }
  }

  write(offset: number, value: number, _width: number): void {
    const now = this.clock.now;
    if (now >= this.nextEventAt) this.catchUp(now);
    switch (offset) {
      // A new CR0 or CPSR applies from the next frame; the one being shifted keeps its settings.
      case PL022_CR0: this.cr0 = value & CR0_BITS; break;
      case PL022_CR1: this.cr1 = value & CR1_BITS; break;
      case PL022_DR: this.pushTransmit(value & PL022_DR_DATA_MASK); break;
      case PL022_CPSR: this.cpsr = value & CPSR_BITS; break;
      case PL022_IMSC: this.imsc = value & INTERRUPT_BITS; return;
      case PL022_ICR:
        // Only RT and ROR can be cleared; TX and RX follow the FIFO levels (TRM 3.3.9).
        if (value & PL022_ICR_RORIC) this.rorLatched = false;
        if (value & PL022_ICR_RTIC) this.rtLatched = false;
        return;
      case PL022_DMACR: this.dmacr = value & DMACR_BITS; return;
      case PL022_ITCR: this.itcr = value & ITCR_BITS; return;
      case PL022_ITIP: this.itip = value & ITIP_BITS; return;
      case PL022_ITOP: this.itop = value & ITOP_BITS; return;
      case PL022_TDR: this.tdr = value & TDR_BITS; return;
      // Read-only registers and reserved offsets ignore writes.
      default: return;
    }
    // CR0, CR1, DR and CPSR can each let the next frame start.
    this.startFrame(now);
    this.scheduleNext();
  }

  /** Device.stableUntil: until when a read of `offset` returns what it returned just now. DR
   * pops the RX FIFO (never stable); SR changes only when a frame completes (never, while BUSY is
   * stuck), RIS and MIS at the model's events (a frame, a receive timeout); the other registers
   * only when written. */
  stableUntil(offset: number): number {
    switch (offset) {
      case PL022_DR: return -Infinity;
      case PL022_SR: return this.faults.busyStuck ? Infinity : this.nextEventAt;
      case PL022_RIS: case PL022_MIS: return this.nextEventAt;
      default: return Infinity;
    }
  }

  // ---- Slaves and chip selects ----

  /** Connects a slave to the bus (deselected); returns its chip-select index. */
  attach(slave: SpiSlave): number {
    if (this.slaves.includes(slave)) throw new Error("this slave is already attached");
    this.slaves.push(slave);
    this.selected.push(false);
    return this.slaves.length - 1;
  }

  /** Selects `slave` alone, or none with null: the others are released first. */
  select(slave: SpiSlave | null): void {
    const index = slave === null ? -1 : this.slaves.indexOf(slave);
    if (slave !== null && index < 0) throw new Error("select(): the slave is not attached (call attach first)");
    for (let i = 0; i < this.slaves.length; i++) if (i !== index) this.chipSelect(i, false);
    if (index >= 0) this.chipSelect(index, true);
  }

  /** Drives chip select `index`: true = asserted. Frames due before now complete first, so they
   * reach the slaves that were selected while they were on the wire. */
  chipSelect(index: number, active: boolean): void {
    const slave = this.slaves[index];
    if (slave === undefined) throw new RangeError(`no slave at chip select ${index} (${this.slaves.length} attached)`);
    if (this.selected[index] === active) return;
    const now = this.clock.now;
    if (now >= this.nextEventAt) this.catchUp(now);
    this.selected[index] = active;
    if (active) slave.select?.(now);
    else slave.deselect?.(now);
  }

  /** A PinListener that drives chip select `index` from a GPIO output on the board (for
   * instance the PL061 model's onOutputChange). With `pin` set, changes of other pins are
   * ignored. Active low by default, as SPI chip selects are. */
  chipSelectListener(index: number, options: { pin?: number; activeLow?: boolean } = {}): PinListener {
    const activeLow = options.activeLow ?? true;
    const only = options.pin;
    return (pin, level) => {
      if (only === undefined || pin === only) this.chipSelect(index, activeLow ? !level : level);
    };
  }

  /** True while chip select `index` is asserted. */
  isSelected(index: number): boolean {
    return this.selected[index] === true;
  }

  // ---- Signals ----

  /** SSPINTR: any masked interrupt source (TRM 3.4). */
  interruptPending(): boolean {
    this.update();
    return (this.rawInterrupts() & this.imsc) !== 0;
  }

  /** DMA request lines (TRM 3.3.10; levels as described at the top of this file). */
  dmaRequests(direction: DmaDirection): number {
    this.update();
    if (direction === "tx") {
      if ((this.dmacr & PL022_DMACR_TXDMAE) === 0) return 0;
      return (this.txCount < PL022_FIFO_DEPTH ? DMA_SREQ : 0) | (this.txCount <= TX_INTERRUPT_LEVEL ? DMA_BREQ : 0);
    }
    if ((this.dmacr & PL022_DMACR_RXDMAE) === 0) return 0;
    return (this.rxCount > 0 ? DMA_SREQ : 0) | (this.rxCount >= RX_INTERRUPT_LEVEL ? DMA_BREQ : 0);
  }

  // ---- State for tests ----

  /** Catches up with the clock (the bus does this on every access). */
  update(): void {
    if (this.clock.now >= this.nextEventAt) this.catchUp(this.clock.now);
  }

  /** Entries in the TX FIFO now. */
  get txLevel(): number {
    this.update();
    return this.txCount;
  }

  /** Entries in the RX FIFO now. */
  get rxLevel(): number {
    this.update();
    return this.rxCount;
  }

  /** The bit rate CR0 and CPSR give now, Hz; 0 while CPSDVSR < 2 (no clock). */
  get bitRateHz(): number {
    const divisor = this.cpsr * (1 + this.scr());
    return this.cpsr < CPSDVSR_MIN ? 0 : this.sspclkHz / divisor;
  }

  /** Data bits per frame CR0 gives now. */
  get dataBits(): number {
    return ((this.cr0 & PL022_CR0_DSS_MASK) >>> PL022_CR0_DSS_SHIFT) + 1;
  }

  // ---- Internals ----

  private scr(): number {
    return (this.cr0 & PL022_CR0_SCR_MASK) >>> PL022_CR0_SCR_SHIFT;
  }

  private status(): number {
    const busy = this.shifting || this.txCount > 0 || this.faults.busyStuck;
    return (busy ? PL022_SR_BSY : 0) |
      (this.rxCount === PL022_FIFO_DEPTH ? PL022_SR_RFF : 0) |
      (this.rxCount > 0 ? PL022_SR_RNE : 0) |
      (this.txCount < PL022_FIFO_DEPTH ? PL022_SR_TNF : 0) |
      (this.txCount === 0 ? PL022_SR_TFE : 0);
  }

  private rawInterrupts(): number {
    return (this.txCount <= TX_INTERRUPT_LEVEL ? PL022_RIS_TX : 0) |
      (this.rxCount >= RX_INTERRUPT_LEVEL ? PL022_RIS_RX : 0) |
      (this.rtLatched ? PL022_RIS_RT : 0) |
      (this.rorLatched ? PL022_RIS_ROR : 0);
  }

  private pushTransmit(frame: number): void {
    if (this.txCount === PL022_FIFO_DEPTH) {
      this.txDropped++;
      return;
    }
    this.txFifo[(this.txHead + this.txCount) % PL022_FIFO_DEPTH] = frame;
    this.txCount++;
    const inFlight = this.txCount + (this.shifting ? 1 : 0) + this.rxCount;
    if (inFlight > this.peakInFlight) this.peakInFlight = inFlight;
  }

  private popReceived(): number {
    if (this.rxCount === 0) return 0;
    const frame = this.rxFifo[this.rxHead]!;
    this.rxHead = (this.rxHead + 1) % PL022_FIFO_DEPTH;
    this.rxCount--;
    // RT deasserts when the RX FIFO becomes empty (TRM 3.4, SSPRTINTR).
    if (this.rxCount === 0) this.rtLatched = false;
    return frame;
  }

  /** Starts the next frame from the TX FIFO at `time`, if the port may shift one. */
  private startFrame(time: number): void {
    if (this.shifting || this.txCount === 0 || this.faults.busyStuck) return;
    if ((this.cr1 & PL022_CR1_SSE) === 0 || (this.cr1 & PL022_CR1_MS) !== 0 || this.cpsr < CPSDVSR_MIN) return;
    this.shiftData = this.txFifo[this.txHead]!;
    this.txHead = (this.txHead + 1) % PL022_FIFO_DEPTH;
    this.txCount--;
    const bits = this.dataBits;
    const format = this.cr0 & PL022_CR0_FRF_MASK;
    this.shiftBits = bits;
    this.shiftFormat = format;
    this.shiftLoopback = (this.cr1 & PL022_CR1_LBM) !== 0;
    if (format === PL022_CR0_FRF_TI) this.shiftAccepts = SPI_ACCEPTS_TI;
    else if (format === PL022_CR0_FRF_MICROWIRE) this.shiftAccepts = SPI_ACCEPTS_MICROWIRE;
    else if (format === PL022_CR0_FRF_MOTOROLA) {
      const mode = ((this.cr0 & PL022_CR0_SPO) !== 0 ? 2 : 0) | ((this.cr0 & PL022_CR0_SPH) !== 0 ? 1 : 0);
      this.shiftAccepts = 1 << mode;
    } else {
      this.shiftAccepts = 0; // FRF = 3 is reserved: no slave understands it
    }
    const wireBits = format === PL022_CR0_FRF_MICROWIRE ? MICROWIRE_COMMAND_BITS + MICROWIRE_TURNAROUND_BITS + bits : bits;
    const bitNs = (this.cpsr * (1 + this.scr()) * 1e9) / this.sspclkHz;
    this.shifting = true;
    this.frameEndAt = time + wireBits * bitNs;
  }

  /** The frame being shifted completes at `time`: the receive side gets its frame. */
  private completeFrame(time: number): void {
    this.shifting = false;
    this.framesShifted++;
    const mask = (1 << this.shiftBits) - 1;
    const mosi = this.shiftData & mask;
    const received = this.shiftLoopback ? mosi : this.exchangeWithSlaves(mosi, time) & mask;
    if (this.rxCount === PL022_FIFO_DEPTH) {
      // Overrun: the FIFO keeps its contents, the new frame is lost (TRM 3.4, RORINTR).
      this.rorLatched = true;
      this.overruns++;
    } else {
      this.rxFifo[(this.rxHead + this.rxCount) % PL022_FIFO_DEPTH] = received;
      this.rxCount++;
    }
    // New data deasserts RT and restarts the idle count (TRM 3.4, SSPRTINTR).
    this.rtLatched = false;
    this.timeoutArmed = true;
    this.timeoutAt = time + (RECEIVE_TIMEOUT_BITS * this.cpsr * (1 + this.scr()) * 1e9) / this.sspclkHz;
  }

  /** MISO for one frame: the AND of every selected slave that accepts the frame kind, all ones
   * when none drives the line. */
  private exchangeWithSlaves(mosi: number, time: number): number {
    let miso = 0xffff;
    for (let i = 0; i < this.slaves.length; i++) {
      if (!this.selected[i]) continue;
      const slave = this.slaves[i]!;
      if (((slave.accepts ?? SPI_ACCEPTS_ANY) & this.shiftAccepts) === 0) continue;
      if (this.shiftFormat === PL022_CR0_FRF_MICROWIRE) {
        // Half duplex: the 8-bit command goes out (MISO ignored), then the reply comes in while
        // the master holds its output low.
        slave.exchange(mosi & 0xff, MICROWIRE_COMMAND_BITS, time);
        miso &= slave.exchange(0, this.shiftBits, time);
      } else {
        miso &= slave.exchange(mosi, this.shiftBits, time);
      }
    }
    return miso;
  }

  /** Does the work due by `now`, each event at its own time. */
  private catchUp(now: number): void {
    while (this.shifting && this.frameEndAt <= now && !this.faults.busyStuck) {
      const end = this.frameEndAt;
      this.checkTimeout(end);
      this.completeFrame(end);
      this.startFrame(end);
    }
    this.checkTimeout(now);
    this.scheduleNext();
  }

  private checkTimeout(time: number): void {
    if (this.timeoutArmed && time >= this.timeoutAt) {
      this.timeoutArmed = false;
      if (this.rxCount > 0) this.rtLatched = true;
    }
  }

  private scheduleNext(): void {
    const frame = this.shifting ? this.frameEndAt : Infinity;
    const timeout = this.timeoutArmed ? this.timeoutAt : Infinity;
    this.nextEventAt = Math.min(frame, timeout);
  }
}
