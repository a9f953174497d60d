// Behavioural model of the STM32F405/407 USART (USART1/2/3/6; UART4/5 are the same block without
// the synchronous, smartcard and flow-control parts), RM0090 §30 (its text is the same IP as
// RM0041 §23). Offsets and fields come from registers/stm32f4/usart.json through
// harness/generated/usart.ts. SR resets to 0xC0 (TXE = TC = 1): the RM's register heading says
// 0x00C0_0000, a typo that its own bit table contradicts; the map and the model follow 0xC0.
//
// Time: frames shift on the virtual clock. One bit lasts USARTDIV x 8 x (2 - OVER8) kernel clock
// periods (RM0090 §30.3.4), where USARTDIV is BRR / 16 with OVER8 = 0 (12.4 fixed point) and
// mantissa + BRR[2:0] / 8 with OVER8 = 1. The kernel clock is PCLK2 (USART1/6) or PCLK1: a fixed
// number from the board, or read from the RCC model at the start of each frame. A frame is one
// start bit, 8 or 9 data bits (M; with PCE the last of them is the parity bit) and 1, 0.5, 2 or
// 1.5 stop bits (CR2.STOP). The model is lazy: it keeps the time of its next event (a frame
// leaving TX, a frame arriving on RX, the idle line) and does the work due, each event at its own
// time, when an access or a query finds the clock at or past it.
//
// Transmit (RM0090 §30.3.2): setting TE (with UE = 1) sends an idle frame first; a DR write puts
// the data in TDR and clears TXE; TDR moves to the shift register as soon as it is free, which
// sets TXE again; TC sets when a frame ends with TXE = 1. Frames that left TX are recorded in
// `wire` with their end times: the peer side. Clearing TE or UE lets the frame in the shift
// register finish (the RM says it is corrupted; the model records it whole) and starts no new one.
//
// Receive (RM0090 §30.3.3): the scenario injects frames (receive()), which arrive back to back
// at the current rate while UE = RE = 1 (otherwise they are dropped and counted in rxIgnored).
// A frame completing while RXNE = 0 goes to RDR and sets RXNE, with PE, FE or NF if it was
// injected with that error; a frame completing while RXNE = 1 sets ORE and is lost (RDR keeps
// the older byte; with both an overrun and a framing error only ORE sets). IDLE sets one frame
// time after the last frame of a burst, once per idle period (not again until RXNE has set).
//
// Clearing (RM0090 §30.6.1): CTS, LBD, TC and RXNE are rc_w0 (writing 0 clears, 1 has no effect;
// the map's w0c fields); TXE and the error flags ignore SR writes. PE, FE, NF, ORE and IDLE are
// cleared by a read of SR followed by a read of DR: the DR read clears those the SR read saw set
// (a flag that set in between stays). A DR read without that SR read clears only RXNE. TC is
// cleared by a read of SR that saw it set followed by a DR write. Accesses to other registers do
// not break either sequence (the model's choice). PE is also cleared by SR read then DR write.
//
// DMA: the TX request is asserted while DMAT = 1 and TXE = 1, the RX request while DMAR = 1 and
// RXNE = 1 (RM0090 §30.3.13).
//
// Not modelled: synchronous mode (CK), LIN, smartcard, IrDA, hardware flow control (CTS stays 0),
// multiprocessor mute mode (RWU, WAKE and ADD are stored), noise detection by sampling (NF only
// by injection), and the break character of SBK (SBK is cleared one frame after it is set, nothing
// is recorded on the wire). Interrupt flags are reported by interruptPending() only.
import type { Device, VirtualClock } from "../../bus.js";
import { DMA_SREQ, type DmaDirection, type DmaRequester, type InterruptSource } from "../signals.js";
import {
  USART_MAP,
  USART_SR, USART_SR_TXE, USART_SR_TC, USART_SR_RXNE, USART_SR_IDLE, USART_SR_ORE, USART_SR_NF, USART_SR_FE,
  USART_SR_PE,
  USART_DR, USART_DR_DR_MASK, USART_BRR, USART_CR1, USART_CR1_OVER8, USART_CR1_UE, USART_CR1_M, USART_CR1_PCE,
  USART_CR1_PS, USART_CR1_TE, USART_CR1_RE, USART_CR1_SBK, USART_CR1_TXEIE, USART_CR1_TCIE, USART_CR1_RXNEIE,
  USART_CR1_IDLEIE, USART_CR1_PEIE,
  USART_CR2, USART_CR2_STOP_MASK, USART_CR2_STOP_SHIFT, USART_CR3, USART_CR3_DMAT, USART_CR3_DMAR, USART_CR3_EIE,
  USART_GTPR,
} from "../../generated/usart.js";
import { fieldsMask, fieldsWithWrite, kernelClock, resetOf, shiftOf } from "./common.js";

const RESET_SR = resetOf(USART_MAP, "SR");
/** SR bits cleared by writing 0 (the map's w0c fields: CTS, LBD, TC, RXNE). */
const SR_W0C = fieldsWithWrite(USART_MAP, "SR", "w0c");
/** The flags the SR-then-DR sequence clears. */
const SEQUENCE_FLAGS = USART_SR_PE | USART_SR_FE | USART_SR_NF | USART_SR_ORE | USART_SR_IDLE;
const BRR_BITS = fieldsMask(USART_MAP, "BRR");
const CR1_BITS = fieldsMask(USART_MAP, "CR1");
const CR2_BITS = fieldsMask(USART_MAP, "CR2");
const CR3_BITS = fieldsMask(USART_MAP, "CR3");
const GTPR_BITS = fieldsMask(USART_MAP, "GTPR");
/** BRR[15:4] DIV_Mantissa and BRR[3:0] DIV_Fraction (RM0090 §30.6.3). */
const MANTISSA_MASK = fieldsMask(USART_MAP, "BRR", /^DIV_Mantissa$/);
const FRACTION_MASK = fieldsMask(USART_MAP, "BRR", /^DIV_Fraction$/);
/** With OVER8 = 1 the fraction has three bits, BRR[2:0], in eighths (RM0090 §30.3.4). */
const FRACTION_EIGHTHS_MASK = FRACTION_MASK >>> 1;

/** The data bits of a frame: 9 with M = 1 (DR[8:0]), else 8. */
const NINE_DATA_BITS = USART_DR_DR_MASK;
const EIGHT_DATA_BITS = USART_DR_DR_MASK >>> 1;

/** Stop bits by CR2.STOP code 00, 01, 10, 11 (RM0090 §30.6.5). */
const STOP_BITS = [1, 0.5, 2, 1.5] as const;

const ENABLED_TX = USART_CR1_UE | USART_CR1_TE;
const ENABLED_RX = USART_CR1_UE | USART_CR1_RE;

/** An error a received frame carries (RM0090 §30.3.3): parity, framing (a break too), noise. */
export type UsartReceiveError = "parity" | "framing" | "noise";

export interface UsartReceiveOptions {
  /** Every frame of this call arrives with this error. */
  error?: UsartReceiveError;
}

export interface Stm32UsartOptions {
  clock: VirtualClock;
  /** The kernel clock (PCLK1 or PCLK2), Hz, or a function that gives it now (the RCC model's). */
  pclkHz: number | (() => number);
}

export class Stm32UsartModel implements Device, DmaRequester, InterruptSource {
  readonly clock: VirtualClock;
  private readonly kernelHz: () => number;

  /** Frames that left TX, in order: the data bits as sent (8 or 9, the parity bit included). */
  readonly wire: number[] = [];
  /** For each frame of `wire`: the virtual time its last stop bit ended, ns. */
  readonly wireEnds: number[] = [];
  /** Idle frames sent when TE was set: their end times. */
  readonly idleFrameEnds: number[] = [];
  /** Frames that completed while RXNE = 1 and were lost (ORE). */
  rxLost = 0;
  /** Frames that arrived while UE or RE was 0. */
  rxIgnored = 0;

  // Registers.
  sr = RESET_SR;
  brr = resetOf(USART_MAP, "BRR");
  cr1 = resetOf(USART_MAP, "CR1");
  cr2 = resetOf(USART_MAP, "CR2");
  cr3 = resetOf(USART_MAP, "CR3");
  gtpr = resetOf(USART_MAP, "GTPR");
  /** RDR: the last frame received. */
  private rdr = 0;
  /** TDR and whether it holds data (TXE = 0). */
  private tdr = 0;
  /** The flags the last SR read saw set, for the clearing sequences. */
  private seenBySrRead = 0;

  // Transmitter: the shift register.
  private shifting = false;
  private shiftingIdle = false;
  private shiftData = 0;
  private txEndAt = Infinity;
  private sbkClearAt = Infinity;

  // Receiver: frames waiting to arrive, as data | error bits << 16.
  private rxQueue: number[] = [];
  private rxNext = 0;
  private rxArrivalAt = Infinity;
  private idleAt = Infinity;
  /** IDLE may set again only after RXNE has set (RM0090 §30.6.1). */
  private idleArmed = false;

  private nextEventAt = Infinity;

  constructor(options: Stm32UsartOptions) {
    this.clock = options.clock;
    this.kernelHz = kernelClock(options.pclkHz);
  }

  /** Every register to its reset value; the shift registers and queued input are emptied. The
   * wire record and the counters are kept (they describe the outside world). */
  reset(): void {
    this.sr = RESET_SR;
    this.brr = resetOf(USART_MAP, "BRR");
    this.cr1 = resetOf(USART_MAP, "CR1");
    this.cr2 = resetOf(USART_MAP, "CR2");
    this.cr3 = resetOf(USART_MAP, "CR3");
    this.gtpr = resetOf(USART_MAP, "GTPR");
    this.rdr = this.tdr = this.seenBySrRead = 0;
    this.shifting = this.shiftingIdle = false;
    this.txEndAt = this.sbkClearAt = Infinity;
    this.rxQueue = [];
    this.rxNext = 0;
    this.rxArrivalAt = this.idleAt = Infinity;
    this.idleArmed = false;
    this.nextEventAt = Infinity;
  }

  // ---- Device ----

  read(offset: number, _width: number): number {
    if (this.clock.now >= this.nextEventAt) this.catchUp(this.clock.now);
    switch (offset) {
      case USART_SR:
        this.seenBySrRead = this.sr;
        return this.sr;
      case USART_DR: return this.readData();
      case USART_BRR: return this.brr;
      case USART_CR1: return this.cr1;
      case USART_CR2: return this.cr2;
      case USART_CR3: return this.cr3;
      case USART_GTPR: return this.gtpr;
      default: return 0;
    }
  }

  write(offset: number, value: number, _width: number): void {
    const now = this.clock.now;
    if (now >= this.nextEventAt) this.catchUp(now);
    switch (offset) {
      case USART_SR:
        // rc_w0 bits: a 0 clears, a 1 keeps; the other bits ignore writes.
        this.sr &= value | ~SR_W0C;
        return;
      case USART_DR: this.writeData(value & USART_DR_DR_MASK, now); break;
      case USART_BRR: this.brr = value & BRR_BITS; return; // takes effect from the next frame
      case USART_CR1: this.writeControl1(value & CR1_BITS, now); break;
      case USART_CR2: this.cr2 = value & CR2_BITS; return;
      case USART_CR3: this.cr3 = value & CR3_BITS; return;
      case USART_GTPR: this.gtpr = value & GTPR_BITS; return;
      default: return;
    }
    this.schedule();
  }

  /** Device.stableUntil: until when a read of `offset` returns what it returned just now. DR
   * takes the received frame and clears RXNE (never stable); SR changes only at the model's
   * events (a frame leaving the shift register or arriving, the line going idle), and so does
   * CR1 (SBK clears when the break has been sent); the other registers only when written. A
   * repeated SR read marks the same flags as seen again, which changes nothing. */
  stableUntil(offset: number): number {
    switch (offset) {
      case USART_DR: return -Infinity;
      case USART_SR: case USART_CR1: return this.nextEventAt;
      default: return Infinity;
    }
  }

  // ---- The peer side ----

  /**
   * Frames sent by the far end at the current rate and format: the first completes one frame
   * time from now (or after the frames still queued), the next one frame later. Each value is
   * the frame's data bits as on the wire (8, or 9 with M = 1).
   */
  receive(data: ArrayLike<number>, options: UsartReceiveOptions = {}): void {
    this.update();
    const frame = this.frameNs();
    if (frame === Infinity) throw new RangeError("no baud rate: BRR is 0 or the kernel clock is stopped (write BRR first)");
    const errors = options.error === "parity" ? USART_SR_PE : options.error === "framing" ? USART_SR_FE : options.error === "noise" ? USART_SR_NF : 0;
    if (this.rxNext === this.rxQueue.length) {
      this.rxQueue = [];
      this.rxNext = 0;
    }
    for (let i = 0; i < data.length; i++) this.rxQueue.push((data[i]! & USART_DR_DR_MASK) | (errors << 16));
    if (this.rxArrivalAt === Infinity && this.rxNext < this.rxQueue.length) {
      this.rxArrivalAt = this.clock.now + frame;
      this.idleAt = Infinity;
    }
    this.schedule();
  }

  /** The frames that left TX, as bytes (the low 8 bits of each). */
  get sentBytes(): number[] {
    this.update();
    return this.wire.map((d) => d & 0xff);
  }

  /** Forgets the frames recorded on the wire. */
  clearWire(): void {
    this.wire.length = 0;
    this.wireEnds.length = 0;
    this.idleFrameEnds.length = 0;
  }

  /** Frames injected and not yet arrived. */
  get rxPending(): number {
    this.update();
    return this.rxQueue.length - this.rxNext;
  }

  /** True while a frame (or the idle frame) is in the shift register. */
  get transmitting(): boolean {
    this.update();
    return this.shifting;
  }

  /** When the frame in the shift register ends (Infinity while none is): at the rate it started
   * with, which a BRR written since (with UE cleared and set again) does not change. */
  get shiftEndsAt(): number {
    this.update();
    return this.shifting ? this.txEndAt : Infinity;
  }

  /** Does the work due by clock.now. */
  update(): void {
    if (this.clock.now >= this.nextEventAt) this.catchUp(this.clock.now);
  }

  /** One bit at the current BRR, OVER8 and kernel clock, ns; Infinity while BRR = 0. */
  bitNs(): number {
    const mantissa = (this.brr & MANTISSA_MASK) >>> shiftOf(MANTISSA_MASK);
    const over8 = (this.cr1 & USART_CR1_OVER8) !== 0;
    const fraction = over8 ? (this.brr & FRACTION_EIGHTHS_MASK) / 8 : (this.brr & FRACTION_MASK) / 16;
    const usartdiv = mantissa + fraction;
    const hz = this.kernelHz();
    if (usartdiv === 0 || !(hz > 0)) return Infinity;
    return (usartdiv * 8 * (over8 ? 1 : 2) * 1e9) / hz;
  }

  /** Bits of one frame: start, 8 or 9 data bits, stop bits. */
  frameBits(): number {
    const dataBits = (this.cr1 & USART_CR1_M) !== 0 ? 9 : 8;
    return 1 + dataBits + STOP_BITS[(this.cr2 & USART_CR2_STOP_MASK) >>> USART_CR2_STOP_SHIFT]!;
  }

  /** One frame at the current settings, ns. */
  frameNs(): number {
    return this.frameBits() * this.bitNs();
  }

  // ---- Signals ----

  dmaRequests(direction: DmaDirection): number {
    this.update();
    if (direction === "tx") return (this.cr3 & USART_CR3_DMAT) !== 0 && (this.sr & USART_SR_TXE) !== 0 ? DMA_SREQ : 0;
    return (this.cr3 & USART_CR3_DMAR) !== 0 && (this.sr & USART_SR_RXNE) !== 0 ? DMA_SREQ : 0;
  }

  /** The USART's interrupt line (RM0090 §30.4, Table 148). */
  interruptPending(): boolean {
    this.update();
    const sr = this.sr;
    const cr1 = this.cr1;
    return ((cr1 & USART_CR1_TXEIE) !== 0 && (sr & USART_SR_TXE) !== 0) ||
      ((cr1 & USART_CR1_TCIE) !== 0 && (sr & USART_SR_TC) !== 0) ||
      ((cr1 & USART_CR1_RXNEIE) !== 0 && (sr & (USART_SR_RXNE | USART_SR_ORE)) !== 0) ||
      ((cr1 & USART_CR1_IDLEIE) !== 0 && (sr & USART_SR_IDLE) !== 0) ||
      ((cr1 & USART_CR1_PEIE) !== 0 && (sr & USART_SR_PE) !== 0) ||
      ((this.cr3 & (USART_CR3_EIE | USART_CR3_DMAR)) === (USART_CR3_EIE | USART_CR3_DMAR) && (sr & (USART_SR_FE | USART_SR_ORE | USART_SR_NF)) !== 0);
  }

  // ---- Internals ----

  private readData(): number {
    // The SR-then-DR sequence clears the flags that SR read saw (RM0090 §30.6.1).
    this.sr &= ~(this.seenBySrRead & SEQUENCE_FLAGS);
    this.seenBySrRead = 0;
    this.sr &= ~USART_SR_RXNE;
    return this.rdr;
  }

  private writeData(value: number, now: number): void {
    // TC: cleared by an SR read that saw it, then this write; PE too (RM0090 §30.6.1).
    this.sr &= ~(this.seenBySrRead & (USART_SR_TC | USART_SR_PE));
    this.seenBySrRead = 0;
    this.tdr = value;
    this.sr &= ~USART_SR_TXE;
    this.loadShifter(now);
  }

  private writeControl1(value: number, now: number): void {
    const before = this.cr1;
    this.cr1 = value;
    const txNow = (value & ENABLED_TX) === ENABLED_TX;
    const txBefore = (before & ENABLED_TX) === ENABLED_TX;
    if (txNow && !txBefore && !this.shifting) {
      // TE set: an idle frame goes out first (RM0090 §30.3.2 step 6).
      const frame = this.frameNs();
      if (frame !== Infinity) {
        this.shifting = true;
        this.shiftingIdle = true;
        this.txEndAt = now + frame;
      }
    }
    if ((value & USART_CR1_SBK) !== 0 && (before & USART_CR1_SBK) === 0) this.sbkClearAt = now + this.frameNs();
    if ((value & ENABLED_RX) !== ENABLED_RX) this.idleAt = Infinity;
    this.loadShifter(now);
  }

  /** Moves TDR into the shift register when it is free and the transmitter runs. */
  private loadShifter(t: number): void {
    if (this.shifting || (this.sr & USART_SR_TXE) !== 0 || (this.cr1 & ENABLED_TX) !== ENABLED_TX) return;
    const frame = this.frameNs();
    if (frame === Infinity) return;
    this.shifting = true;
    this.shiftingIdle = false;
    this.shiftData = this.withParity(this.tdr);
    this.sr |= USART_SR_TXE;
    this.txEndAt = t + frame;
  }

  /** The data bits as sent: with PCE the top data bit is the parity bit (RM0090 §30.3.7). */
  private withParity(data: number): number {
    const nine = (this.cr1 & USART_CR1_M) !== 0;
    const mask = nine ? NINE_DATA_BITS : EIGHT_DATA_BITS;
    if ((this.cr1 & USART_CR1_PCE) === 0) return data & mask;
    const top = nine ? 8 : 7;
    let ones = 0;
    for (let bit = 0; bit < top; bit++) ones += (data >>> bit) & 1;
    const odd = (this.cr1 & USART_CR1_PS) !== 0;
    const parity = (ones & 1) ^ (odd ? 1 : 0);
    return (data & ((1 << top) - 1)) | (parity << top);
  }

  private finishFrame(t: number): void {
    this.shifting = false;
    this.txEndAt = Infinity;
    if (this.shiftingIdle) this.idleFrameEnds.push(t);
    else {
      this.wire.push(this.shiftData);
      this.wireEnds.push(t);
    }
    this.shiftingIdle = false;
    this.loadShifter(t);
    // TC: a frame ended and nothing waits in TDR (RM0090 §30.3.2).
    if (!this.shifting && (this.sr & USART_SR_TXE) !== 0) this.sr |= USART_SR_TC;
  }

  private arrive(t: number): void {
    const entry = this.rxQueue[this.rxNext++]!;
    const frame = this.frameNs();
    this.rxArrivalAt = this.rxNext < this.rxQueue.length ? t + frame : Infinity;
    if ((this.cr1 & ENABLED_RX) !== ENABLED_RX) {
      this.rxIgnored++;
      return;
    }
    if ((this.sr & USART_SR_RXNE) !== 0) {
      // Overrun: RDR keeps the older frame; this one is lost; only ORE reports it.
      this.sr |= USART_SR_ORE;
      this.rxLost++;
    } else {
      const mask = (this.cr1 & USART_CR1_M) !== 0 ? NINE_DATA_BITS : EIGHT_DATA_BITS;
      this.rdr = entry & mask;
      this.sr |= USART_SR_RXNE | ((entry >>> 16) & (USART_SR_PE | USART_SR_FE | USART_SR_NF));
      this.idleArmed = true;
    }
    if (this.rxArrivalAt === Infinity && this.idleArmed) this.idleAt = t + frame;
  }

  private lineIdle(): void {
    this.idleAt = Infinity;
    if (!this.idleArmed || (this.cr1 & ENABLED_RX) !== ENABLED_RX) return;
    this.idleArmed = false;
    this.sr |= USART_SR_IDLE;
  }

  private catchUp(now: number): void {
    for (;;) {
      const t = Math.min(this.txEndAt, this.rxArrivalAt, this.idleAt, this.sbkClearAt);
      if (t > now) break;
      if (t === this.txEndAt) this.finishFrame(t);
      else if (t === this.rxArrivalAt) this.arrive(t);
      else if (t === this.idleAt) this.lineIdle();
      else {
        this.sbkClearAt = Infinity;
        this.cr1 &= ~USART_CR1_SBK;
      }
    }
    this.schedule();
  }

  private schedule(): void {
    this.nextEventAt = Math.min(this.txEndAt, this.rxArrivalAt, this.idleAt, this.sbkClearAt);
  }
}
