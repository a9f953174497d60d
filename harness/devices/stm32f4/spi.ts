// Behavioural model of the STM32F405/407 SPI in SPI mode (SPI1/2/3), RM0090 §28. Offsets and
// fields come from registers/stm32f4/spi.json through harness/generated/spi.ts.
//
// Time: a master shifts one frame of 8 or 16 bits (CR1.DFF) at f_PCLK / 2^(BR + 1) (RM0090
// §28.5.1), so a frame takes bits x 2^(BR + 1) kernel clock periods. The kernel clock is PCLK2
// (SPI1) or PCLK1 (SPI2/3): a number from the board, or the RCC model's, read at each frame
// start. The model is lazy, like the USART's: the frame end is an event handled at its own time.
//
// Transfers (RM0090 §28.3.5, §28.3.7): a DR write fills the TX buffer and clears TXE; with SPE and
// MSTR set the buffer moves to the shift register as soon as it is free, which sets TXE and BSY.
// At the end of a frame the received frame goes to the RX buffer and sets RXNE, or, with RXNE
// still 1, sets OVR and is lost (the RX buffer keeps the older frame). If the TX buffer holds the
// next frame it starts at once and BSY stays 1 (a continuous transfer); otherwise BSY clears.
// BSY rises at the DR write itself (the RM's "2 APB clocks later" for discontinuous transfers is
// not modelled). Clearing SPE lets the frame in progress finish; no new one starts.
//
// Flags (RM0090 §28.4, §28.5.3): OVR is cleared by a DR read followed by an SR read; MODF by an SR
// access while it is set followed by a CR1 write; CRCERR is rc_w0 (the map's w0c field).
// MODF: a CR1 value with MSTR = 1, SSM = 1 and SSI = 0 (NSS low in software) sets MODF and
// clears SPE and MSTR (RM0090 §28.3.10); while MODF = 1, writes cannot set SPE or MSTR. With
// SSM = 0 the NSS pin is taken as held high (the model has no NSS input), so no MODF.
// Changing BR, CPOL, CPHA, DFF, LSBFIRST or MSTR while SPE = 1 and a frame is in progress is
// forbidden (RM0090 §28.3.3; the lint reports it): the model applies the new value from the next
// frame and counts the write in busyConfigWrites.
//
// Slaves: attach() adds a SpiSlave (harness/devices/spi.ts); chip selects are driven at model
// level or from a GPIO pin (chipSelectListener()). A frame reaches each selected slave that
// accepts the mode (CPOL x 2 + CPHA) MSB first (a LSBFIRST frame is bit-reversed on the way out
// and back); MISO is the AND of their answers, all ones when nobody drives it.
//
// DMA (RM0090 §28.3.9): the TX request is asserted while TXDMAEN = 1 and TXE = 1, the RX request
// while RXDMAEN = 1 and RXNE = 1.
//
// Not modelled: slave mode (MSTR = 0 shifts nothing), bidirectional and receive-only modes
// (BIDIMODE, RXONLY are stored), TI frame format (FRF stored; FRE never sets), the hardware CRC
// (CRCEN and CRCNEXT are stored; RXCRCR and TXCRCR read 0), NSS output (SSOE), I2S (I2SCFGR and
// I2SPR are stored only).
import type { Device, VirtualClock } from "../../bus.js";
import { DMA_SREQ, type DmaDirection, type DmaRequester, type InterruptSource, type PinListener } from "../signals.js";
import { SPI_ACCEPTS_ANY, type SpiSlave } from "../spi.js";
import {
  SPI_MAP,
  SPI_CR1, SPI_CR1_DFF, SPI_CR1_SSM, SPI_CR1_SSI, SPI_CR1_LSBFIRST, SPI_CR1_SPE, SPI_CR1_BR_MASK, SPI_CR1_BR_SHIFT,
  SPI_CR1_MSTR, SPI_CR1_CPOL, SPI_CR1_CPHA,
  SPI_CR2, SPI_CR2_TXDMAEN, SPI_CR2_RXDMAEN, SPI_CR2_TXEIE, SPI_CR2_RXNEIE, SPI_CR2_ERRIE,
  SPI_SR, SPI_SR_BSY, SPI_SR_OVR, SPI_SR_MODF, SPI_SR_CRCERR, SPI_SR_TXE, SPI_SR_RXNE,
  SPI_DR, SPI_DR_DR_MASK, SPI_CRCPR, SPI_RXCRCR, SPI_TXCRCR, SPI_I2SCFGR, SPI_I2SPR,
} from "../../generated/spi.js";
import { fieldsMask, fieldsWithWrite, kernelClock, resetOf } from "./common.js";

const CR1_BITS = fieldsMask(SPI_MAP, "CR1");
const CR2_BITS = fieldsMask(SPI_MAP, "CR2");
const SR_W0C = fieldsWithWrite(SPI_MAP, "SR", "w0c");
const CRCPR_BITS = fieldsMask(SPI_MAP, "CRCPR");
const I2SCFGR_BITS = fieldsMask(SPI_MAP, "I2SCFGR");
const I2SPR_BITS = fieldsMask(SPI_MAP, "I2SPR");
/** The CR1 fields not to change while a transfer runs (RM0090 §28.3.3, §28.5.1). */
const BUSY_LOCKED = SPI_CR1_BR_MASK | SPI_CR1_CPOL | SPI_CR1_CPHA | SPI_CR1_DFF | SPI_CR1_LSBFIRST | SPI_CR1_MSTR;
/** An 8-bit frame uses DR[7:0] (RM0090 §28.5.4). */
const EIGHT_BIT_FRAME = SPI_DR_DR_MASK >>> 8;

export interface Stm32SpiOptions {
  clock: VirtualClock;
  /** The kernel clock (PCLK1 or PCLK2), Hz, or a function giving it now (the RCC model's). */
  pclkHz: number | (() => number);
}

export class Stm32SpiModel implements Device, DmaRequester, InterruptSource {
  readonly clock: VirtualClock;
  private readonly kernelHz: () => number;

  cr1 = resetOf(SPI_MAP, "CR1");
  cr2 = resetOf(SPI_MAP, "CR2");
  sr = resetOf(SPI_MAP, "SR");
  crcpr = resetOf(SPI_MAP, "CRCPR");
  i2scfgr = resetOf(SPI_MAP, "I2SCFGR");
  i2spr = resetOf(SPI_MAP, "I2SPR");

  /** Frames completed on the bus. */
  framesShifted = 0;
  /** Frames lost to OVR. */
  overruns = 0;
  /** CR1 writes that changed BR, CPOL, CPHA, DFF, LSBFIRST or MSTR during a transfer. */
  busyConfigWrites = 0;
  /** Every MOSI frame sent, in order (for tests that look at the bus without a slave). */
  readonly mosi: number[] = [];

  private txBuffer = 0;
  private rxBuffer = 0;
  private shifting = false;
  private shiftData = 0;
  private shiftBits = 8;
  private shiftMode = 0;
  private shiftLsbFirst = false;
  private frameEndAt = Infinity;
  /** A DR read happened while OVR = 1: the next SR read clears it. */
  private ovrDataRead = false;
  /** An SR access happened while MODF = 1: the next CR1 write clears it. */
  private modfStatusSeen = false;

  private readonly slaves: SpiSlave[] = [];
  private readonly selected: boolean[] = [];

  constructor(options: Stm32SpiOptions) {
    this.clock = options.clock;
    this.kernelHz = kernelClock(options.pclkHz);
  }

  /** Reset values (RM0090 §28.5); slaves and chip selects are kept. */
  reset(): void {
    this.cr1 = resetOf(SPI_MAP, "CR1");
    this.cr2 = resetOf(SPI_MAP, "CR2");
    this.sr = resetOf(SPI_MAP, "SR");
    this.crcpr = resetOf(SPI_MAP, "CRCPR");
    this.i2scfgr = resetOf(SPI_MAP, "I2SCFGR");
    this.i2spr = resetOf(SPI_MAP, "I2SPR");
    this.txBuffer = this.rxBuffer = 0;
    this.shifting = false;
    this.frameEndAt = Infinity;
    this.ovrDataRead = this.modfStatusSeen = false;
  }

  // ---- Device ----

  /** Device.stableUntil: until when a read of `offset` returns what it returned just now. DR
   * takes the received frame and clears RXNE (never stable); SR changes when a frame completes,
   * and at once after the DR read of the OVR clearing sequence (the SR read that follows clears
   * OVR); the other registers only when written. */
  stableUntil(offset: number): number {
    switch (offset) {
      case SPI_DR: return -Infinity;
      case SPI_SR: return this.ovrDataRead ? -Infinity : this.frameEndAt;
      default: return Infinity;
    }
  }

  read(offset: number, _width: number): number {
    if (this.clock.now >= this.frameEndAt) this.catchUp(this.clock.now);
    switch (offset) {
      case SPI_CR1: return this.cr1;
      case SPI_CR2: return this.cr2;
      case SPI_SR: {
        const sr = this.sr;
        if (this.ovrDataRead) {
          this.sr &= ~SPI_SR_OVR;
          this.ovrDataRead = false;
        }
        if ((sr & SPI_SR_MODF) !== 0) this.modfStatusSeen = true;
        return sr;
      }
      case SPI_DR: {
        if ((this.sr & SPI_SR_OVR) !== 0) this.ovrDataRead = true;
        this.sr &= ~SPI_SR_RXNE;
        return this.rxBuffer;
      }
      case SPI_CRCPR: return this.crcpr;
      case SPI_RXCRCR: return 0;
      case SPI_TXCRCR: return 0;
      case SPI_I2SCFGR: return this.i2scfgr;
      case SPI_I2SPR: return this.i2spr;
      default: return 0;
    }
  }

  write(offset: number, value: number, _width: number): void {
    const now = this.clock.now;
    if (now >= this.frameEndAt) this.catchUp(now);
    switch (offset) {
      case SPI_CR1: this.writeControl1(value & CR1_BITS); break;
      case SPI_CR2: this.cr2 = value & CR2_BITS; return;
      case SPI_SR:
        // Only CRCERR takes a write (rc_w0); an SR access while MODF = 1 is step 1 of its clearing.
        if ((this.sr & SPI_SR_MODF) !== 0) this.modfStatusSeen = true;
        this.sr &= value | ~SR_W0C;
        return;
      case SPI_DR:
        this.txBuffer = (this.cr1 & SPI_CR1_DFF) !== 0 ? value & SPI_DR_DR_MASK : value & EIGHT_BIT_FRAME;
        this.sr &= ~SPI_SR_TXE;
        break;
      case SPI_CRCPR: this.crcpr = value & CRCPR_BITS; return;
      case SPI_I2SCFGR: this.i2scfgr = value & I2SCFGR_BITS; return;
      case SPI_I2SPR: this.i2spr = value & I2SPR_BITS; return;
      default: return; // RXCRCR, TXCRCR are read-only; reserved offsets ignore writes
    }
    this.startFrame(now);
  }

  // ---- Slaves and chip selects ----

  /** Connects a slave (deselected); returns its chip-select index. */
  attach(slave: SpiSlave): number {
    if (this.slaves.includes(slave)) throw new Error("this slave is already attached");
    this.slaves.push(slave);
    this.selected.push(false);
    return this.slaves.length - 1;
  }

  /** Drives chip select `index` (true = asserted). Frames due before now complete first. */
  chipSelect(index: number, active: boolean): void {
    const slave = this.slaves[index];
    if (slave === undefined) throw new RangeError(`no slave at chip select ${index} (${this.slaves.length} attached)`);
    if (this.selected[index] === active) return;
    this.update();
    this.selected[index] = active;
    if (active) slave.select?.(this.clock.now);
    else slave.deselect?.(this.clock.now);
  }

  /** A PinListener that drives chip select `index` from a GPIO pin (active low by default). */
  chipSelectListener(index: number, options: { pin?: number; activeLow?: boolean } = {}): PinListener {
    const activeLow = options.activeLow ?? true;
    const only = options.pin;
    return (pin, level) => {
      if (only === undefined || pin === only) this.chipSelect(index, activeLow ? !level : level);
    };
  }

  isSelected(index: number): boolean {
    return this.selected[index] === true;
  }

  // ---- Signals and state ----

  update(): void {
    if (this.clock.now >= this.frameEndAt) this.catchUp(this.clock.now);
  }

  dmaRequests(direction: DmaDirection): number {
    this.update();
    if (direction === "tx") return (this.cr2 & SPI_CR2_TXDMAEN) !== 0 && (this.sr & SPI_SR_TXE) !== 0 ? DMA_SREQ : 0;
    return (this.cr2 & SPI_CR2_RXDMAEN) !== 0 && (this.sr & SPI_SR_RXNE) !== 0 ? DMA_SREQ : 0;
  }

  /** The SPI's interrupt line (RM0090 §28.4, Table 127). */
  interruptPending(): boolean {
    this.update();
    const sr = this.sr;
    const cr2 = this.cr2;
    return ((cr2 & SPI_CR2_TXEIE) !== 0 && (sr & SPI_SR_TXE) !== 0) ||
      ((cr2 & SPI_CR2_RXNEIE) !== 0 && (sr & SPI_SR_RXNE) !== 0) ||
      ((cr2 & SPI_CR2_ERRIE) !== 0 && (sr & (SPI_SR_OVR | SPI_SR_MODF | SPI_SR_CRCERR)) !== 0);
  }

  /** One SPI clock period at the current BR and kernel clock, ns. */
  bitNs(): number {
    const divider = 2 ** (((this.cr1 & SPI_CR1_BR_MASK) >>> SPI_CR1_BR_SHIFT) + 1);
    return (divider * 1e9) / this.kernelHz();
  }

  /** One frame at the current settings, ns. */
  frameNs(): number {
    return ((this.cr1 & SPI_CR1_DFF) !== 0 ? 16 : 8) * this.bitNs();
  }

  // ---- Internals ----

  private writeControl1(value: number): void {
    const before = this.cr1;
    // After MODF, the clearing sequence's CR1 write clears it; until then SPE and MSTR stay 0.
    if ((this.sr & SPI_SR_MODF) !== 0) {
      if (this.modfStatusSeen) {
        this.sr &= ~SPI_SR_MODF;
        this.modfStatusSeen = false;
      }
      value &= ~(SPI_CR1_SPE | SPI_CR1_MSTR);
    }
    if (this.shifting && (before & SPI_CR1_SPE) !== 0 && ((before ^ value) & BUSY_LOCKED) !== 0) this.busyConfigWrites++;
    // NSS low in software on a master: mode fault (RM0090 §28.3.10).
    if ((value & (SPI_CR1_MSTR | SPI_CR1_SSM | SPI_CR1_SSI)) === (SPI_CR1_MSTR | SPI_CR1_SSM)) {
      this.sr |= SPI_SR_MODF;
      this.modfStatusSeen = false;
      value &= ~(SPI_CR1_SPE | SPI_CR1_MSTR);
    }
    this.cr1 = value;
  }

  private runs(): boolean {
    return (this.cr1 & (SPI_CR1_SPE | SPI_CR1_MSTR)) === (SPI_CR1_SPE | SPI_CR1_MSTR);
  }

  /** Moves the TX buffer to the shift register at `t` if the master may start a frame. */
  private startFrame(t: number): void {
    if (this.shifting || (this.sr & SPI_SR_TXE) !== 0 || !this.runs()) return;
    const hz = this.kernelHz();
    if (!(hz > 0)) return;
    this.shifting = true;
    this.shiftData = this.txBuffer;
    this.shiftBits = (this.cr1 & SPI_CR1_DFF) !== 0 ? 16 : 8;
    this.shiftMode = ((this.cr1 & SPI_CR1_CPOL) !== 0 ? 2 : 0) | ((this.cr1 & SPI_CR1_CPHA) !== 0 ? 1 : 0);
    this.shiftLsbFirst = (this.cr1 & SPI_CR1_LSBFIRST) !== 0;
    this.sr |= SPI_SR_TXE | SPI_SR_BSY;
    this.frameEndAt = t + this.frameNs();
  }

  private completeFrame(t: number): void {
    this.shifting = false;
    this.frameEndAt = Infinity;
    this.framesShifted++;
    this.mosi.push(this.shiftData);
    const bits = this.shiftBits;
    const out = this.shiftLsbFirst ? reverseBits(this.shiftData, bits) : this.shiftData;
    let miso = (1 << bits) - 1;
    for (let i = 0; i < this.slaves.length; i++) {
      if (!this.selected[i]) continue;
      const slave = this.slaves[i]!;
      if (((slave.accepts ?? SPI_ACCEPTS_ANY) & (1 << this.shiftMode)) === 0) continue;
      miso &= slave.exchange(out, bits, t);
    }
    miso &= (1 << bits) - 1;
    const received = this.shiftLsbFirst ? reverseBits(miso, bits) : miso;
    if ((this.sr & SPI_SR_RXNE) !== 0) {
      this.sr |= SPI_SR_OVR;
      this.overruns++;
    } else {
      this.rxBuffer = received;
      this.sr |= SPI_SR_RXNE;
    }
    this.sr &= ~SPI_SR_BSY;
    this.startFrame(t);
  }

  private catchUp(now: number): void {
    while (this.frameEndAt <= now) this.completeFrame(this.frameEndAt);
  }
}

function reverseBits(value: number, bits: number): number {
  let out = 0;
  for (let i = 0; i < bits; i++) out = (out << 1) | ((value >>> i) & 1);
  return out;
}
