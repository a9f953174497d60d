// Behavioural model of the STM32F405/407 DMA controller (DMA1, DMA2: 8 streams, 8 request
// channels per stream), RM0090 §10. Offsets and fields come from registers/stm32f4/dma.json
// through harness/generated/dma.ts.
//
// The model is a bus master (harness/bus.ts BusMaster): it moves data with bus.masterRead and
// masterWrite, so every access it makes is checked, traced with FLAG_DMA and can fault. A master
// access that faults (an unmapped address, a misaligned one, a width the target refuses) sets
// the stream's TEIF and clears EN, as an AHB error response does (RM0090 §10.3.15).
//
// Time: one master access takes `cycleNs` of virtual time (10 ns by default). The bus steps the
// model before the CPU access that reaches the time it asked for; the model then serves, one at a
// time, the stream that wins arbitration: the highest PL, then the lowest stream number (RM0090
// §10.3.4). A stream waiting for its peripheral's request polls the request line at each step,
// because a peripheral model answers dmaRequests() for the present time only.
//
// Transfers (RM0090 §10.3.6-10.3.12):
// - Direct mode (DMDIS = 0): each request moves one item of PSIZE (MSIZE is taken to be PSIZE):
//   a read and a write in one step. For memory to peripheral the item is read when the request
//   comes, not preloaded at enable (the difference is not visible on the bus's order of events
//   for a single stream).
// - FIFO mode (DMDIS = 1, and always for memory to memory): a 16-byte FIFO per stream packs and
//   unpacks between PSIZE on the peripheral port and MSIZE on the memory port. Simplified: the
//   memory side moves one MSIZE item as soon as the FIFO can give (or take) one, whatever FTH
//   says, and bursts are single transfers. Leftover bytes at the end (or when EN is cleared) are
//   written to memory one byte at a time; a memory-to-peripheral transfer drops what the FIFO
//   still holds when NDTR reaches 0.
// - NDTR counts PSIZE items on the peripheral port (the source in memory to memory), and reads
//   back as it counts down. HTIF sets when NDTR reaches half of its start value, TCIF when it
//   reaches 0 and the FIFO is empty; then EN clears, or with CIRC (or DBM, which forces it)
//   NDTR and the addresses reload, and DBM swaps the memory target (CT).
// - Peripheral to memory reads PAR and writes M0AR (M1AR with CT = 1); memory to peripheral the
//   other way; memory to memory reads PAR and writes M0AR, without requests, from EN on.
//   PINC/MINC step the addresses by the item size; PINCOS steps the peripheral address by 4 in
//   FIFO mode.
// - At enable (RM0090 §10.3.8, §10.3.13): in FIFO mode the threshold must be a whole number of
//   memory bursts (RM0090 10.3.13 Table 49: FTH bytes a multiple of MBURST beats x MSIZE, bursts of at most
//   16 bytes), and PBURST x PSIZE = 16 bytes forbids FTH = 3/4; otherwise FEIF sets and EN does
//   not. Memory to memory on DMA1 sets TEIF and leaves EN 0: the RM says only DMA2 can do it
//   (its DMA1 peripheral port is not on the bus matrix) and does not say what DMA1 does, so the
//   error is the model's choice. DIR = 11 (reserved) is treated the same way. NDTR = 0 leaves the
//   stream enabled serving nothing (RM0090 §10.5.6).
// - Clearing EN while the stream runs (RM0090 §10.3.17): EN reads 1 until the item in flight
//   completes (modelled as two master cycles after the write), then the FIFO is flushed to
//   memory, EN clears and TCIF sets. NDTR keeps the items left.
// - Writes while EN = 1 (RM0090 §10.5.5-10.5.10): the protected SxCR fields (all but EN and the
//   four interrupt enables), NDTR, PAR, FCR's DMDIS and FTH keep their values; M0AR and M1AR too,
//   except in double-buffer mode, where the one not in use may be written and writing the one in
//   use sets TEIF and disables the stream. Each such write is recorded (lockedWrites) so that an
//   assertion can report it.
//
// Requests: a board connects a stream's channel to a peripheral's request lines
// (connectRequest; in a board file, "requests" of the stm32f4-dma kind, checked against RM0090
// Tables 43 and 44). The stream follows the channel CHSEL selects.
//
// Not modelled: the peripheral as flow controller (PFCTRL is stored; the DMA always controls the
// flow), DMEIF (never set), FIFO overrun/underrun FEIF, bursts and the 1 KB boundary rule, the
// AHB port arbitration between the two DMAs, and the interrupt lines beyond interruptPending().
import { BusFault, type Bus, type BusMaster, type Device, type VirtualClock } from "../../bus.js";
import type { DmaDirection, DmaRequester, InterruptSource } from "../signals.js";
import {
  DMA_MAP,
  DMA_LISR, DMA_HISR, DMA_LIFCR, DMA_HIFCR,
  DMA_LISR_FEIF0, DMA_LISR_FEIF1, DMA_LISR_FEIF2, DMA_LISR_FEIF3, DMA_LISR_DMEIF0, DMA_LISR_TEIF0, DMA_LISR_HTIF0,
  DMA_LISR_TCIF0,
  DMA_S0CR, DMA_S1CR, DMA_S0NDTR, DMA_S0PAR, DMA_S0M0AR, DMA_S0M1AR, DMA_S0FCR, DMA_S7FCR,
  DMA_S0CR_CHSEL_MASK, DMA_S0CR_CHSEL_SHIFT, DMA_S0CR_MBURST_MASK, DMA_S0CR_MBURST_SHIFT, DMA_S0CR_PBURST_MASK,
  DMA_S0CR_PBURST_SHIFT, DMA_S0CR_CT, DMA_S0CR_DBM, DMA_S0CR_PL_MASK, DMA_S0CR_PL_SHIFT, DMA_S0CR_PINCOS,
  DMA_S0CR_MSIZE_MASK, DMA_S0CR_MSIZE_SHIFT, DMA_S0CR_PSIZE_MASK, DMA_S0CR_PSIZE_SHIFT, DMA_S0CR_MINC, DMA_S0CR_PINC,
  DMA_S0CR_CIRC, DMA_S0CR_DIR_MASK, DMA_S0CR_DIR_SHIFT, DMA_S0CR_TCIE, DMA_S0CR_HTIE, DMA_S0CR_TEIE, DMA_S0CR_DMEIE,
  DMA_S0CR_EN,
  DMA_S0NDTR_NDT_MASK, DMA_S0FCR_FEIE, DMA_S0FCR_FS_MASK, DMA_S0FCR_FS_SHIFT, DMA_S0FCR_DMDIS, DMA_S0FCR_FTH_MASK,
  DMA_S0FCR_FTH_SHIFT,
} from "../../generated/dma.js";
import { fieldsMask, resetOf, shiftOf } from "./common.js";

export const STM32_DMA_STREAM_COUNT = 8;
export const STM32_DMA_CHANNEL_COUNT = 8;
/** Bytes in each stream's FIFO (RM0090 §10.3.12: four words). */
export const STM32_DMA_FIFO_BYTES = 16;
/** Default virtual time of one master access. */
export const STM32_DMA_DEFAULT_CYCLE_NS = 10;

/** Distance between two streams' register groups; stream registers are named by stream 0's. */
const STREAM_STRIDE = DMA_S1CR - DMA_S0CR;
const STREAMS_END = DMA_S7FCR + 4;

/** Where each stream's flags start in LISR/HISR (RM0090 §10.5.1-10.5.2: 0, 6, 16, 22). */
const FLAG_SHIFTS = [DMA_LISR_FEIF0, DMA_LISR_FEIF1, DMA_LISR_FEIF2, DMA_LISR_FEIF3].map(shiftOf);
// A stream's five flags relative to its shift (stream 0's positions).
const FEIF = DMA_LISR_FEIF0;
const DMEIF = DMA_LISR_DMEIF0;
const TEIF = DMA_LISR_TEIF0;
const HTIF = DMA_LISR_HTIF0;
const TCIF = DMA_LISR_TCIF0;
/** All flag bits of LISR (and HISR): what a clear register may clear. */
const FLAG_BITS = fieldsMask(DMA_MAP, "LISR");

const CR_BITS = fieldsMask(DMA_MAP, "S0CR");
/** SxCR bits that may change while EN = 1: EN and the interrupt enables (RM0090 §10.5.5). */
const CR_UNLOCKED = DMA_S0CR_EN | DMA_S0CR_TCIE | DMA_S0CR_HTIE | DMA_S0CR_TEIE | DMA_S0CR_DMEIE;
const FCR_RESET = resetOf(DMA_MAP, "S0FCR");
/** FCR bits software writes (FS is read-only). */
const FCR_WRITABLE = DMA_S0FCR_FEIE | DMA_S0FCR_DMDIS | DMA_S0FCR_FTH_MASK;

/** DIR codes (RM0090 §10.5.5). */
const DIR_P2M = 0;
const DIR_M2P = 1;
const DIR_M2M = 2;
/** Beats per burst by MBURST/PBURST code: single, INCR4, INCR8, INCR16. */
const BURST_BEATS = [1, 4, 8, 16] as const;
/** FS codes (RM0090 §10.5.10): fill in quarters, 100 empty, 101 full. */
const FS_EMPTY = 4;
const FS_FULL = 5;

/** One write the model ignored because its stream was enabled. */
export interface DmaLockedWrite {
  readonly time: number;
  readonly stream: number;
  /** S3CR, S3NDTR, ... */
  readonly register: string;
  readonly value: number;
}

/** The first locked writes kept; later ones are only counted. */
export const LOCKED_WRITES_KEPT = 64;

/** A stream's registers and transfer state, for tests. */
export interface Stm32DmaStreamState {
  readonly cr: number;
  readonly ndtr: number;
  readonly par: number;
  readonly m0ar: number;
  readonly m1ar: number;
  readonly fcr: number;
  readonly fifoBytes: number;
  /** EN = 0 was written and the stream has not stopped yet. */
  readonly stopping: boolean;
}

class Stream {
  cr = 0;
  ndtr = 0;
  par = 0;
  m0ar = 0;
  m1ar = 0;
  fcr = FCR_RESET;
  /** The transfer being run: its addresses, start count and FIFO. */
  peripheralAddress = 0;
  memoryAddress = 0;
  startCount = 0;
  halfSignalled = false;
  stopping = false;
  stopAt = Infinity;
  readonly fifo = new Uint8Array(STM32_DMA_FIFO_BYTES);
  fifoHead = 0;
  fifoCount = 0;
  readonly requesters: (Connection | undefined)[] = new Array<Connection | undefined>(STM32_DMA_CHANNEL_COUNT).fill(undefined);

  get enabled(): boolean {
    return (this.cr & DMA_S0CR_EN) !== 0;
  }

  push(value: number, width: number): void {
    for (let i = 0; i < width; i++) {
      this.fifo[(this.fifoHead + this.fifoCount) % STM32_DMA_FIFO_BYTES] = (value >>> (8 * i)) & 0xff;
      this.fifoCount++;
    }
  }

  pop(width: number): number {
    let value = 0;
    for (let i = 0; i < width; i++) {
      value |= this.fifo[this.fifoHead]! << (8 * i);
      this.fifoHead = (this.fifoHead + 1) % STM32_DMA_FIFO_BYTES;
      this.fifoCount--;
    }
    return value >>> 0;
  }
}

interface Connection {
  readonly requester: DmaRequester;
  readonly direction: DmaDirection;
}

export interface Stm32DmaOptions {
  /** DMA1 or DMA2: only DMA2 does memory to memory (RM0090 §10.3.6). */
  readonly instance: 1 | 2;
  /** Virtual ns per master access (STM32_DMA_DEFAULT_CYCLE_NS by default). */
  readonly cycleNs?: number;
}

export class Stm32DmaModel implements Device, BusMaster, InterruptSource {
  readonly instance: 1 | 2;
  readonly cycleNs: number;
  /** LISR (streams 0-3) and HISR (4-7). */
  readonly isr = new Uint32Array(2);
  /** Writes ignored because their stream was enabled: the first LOCKED_WRITES_KEPT of them. */
  readonly lockedWrites: DmaLockedWrite[] = [];
  lockedWriteCount = 0;
  /** Enables made while the stream still had flags set (RM0090 §10.3.17 step 2 says clear them). */
  enabledWithFlagsSet = 0;

  private readonly streams: Stream[] = Array.from({ length: STM32_DMA_STREAM_COUNT }, () => new Stream());
  /** Virtual time up to which the engine has worked. */
  private time: number;

  /** Attaches itself to `bus` as a master; the board maps it as a device too. */
  constructor(private readonly bus: Bus, readonly clock: VirtualClock, options: Stm32DmaOptions) {
    this.instance = options.instance;
    this.cycleNs = options.cycleNs ?? STM32_DMA_DEFAULT_CYCLE_NS;
    if (!(this.cycleNs > 0)) throw new RangeError(`cycleNs must be positive, got ${this.cycleNs}`);
    this.time = clock.now;
    bus.attachMaster(this);
  }

  /** Reset values (RM0090 §10.5); request connections are kept (board wiring). */
  reset(): void {
    this.isr.fill(0);
    for (const s of this.streams) {
      s.cr = s.ndtr = s.par = s.m0ar = s.m1ar = 0;
      s.fcr = FCR_RESET;
      s.fifoHead = s.fifoCount = 0;
      s.stopping = false;
      s.stopAt = Infinity;
    }
    this.time = this.clock.now;
  }

  /** Connects channel `channel` of stream `stream` to a peripheral's requests: 'tx' for a
   * peripheral written by the DMA (memory to peripheral), 'rx' for one read by it. */
  connectRequest(stream: number, channel: number, requester: DmaRequester, direction: DmaDirection): void {
    const s = this.streamAt(stream);
    if (!Number.isInteger(channel) || channel < 0 || channel >= STM32_DMA_CHANNEL_COUNT) throw new RangeError(`channel ${channel} is none of 0..7`);
    if (s.requesters[channel] !== undefined) throw new Error(`stream ${stream} channel ${channel} is already connected`);
    s.requesters[channel] = { requester, direction };
  }

  /** A stream's registers and state. */
  stream(n: number): Stm32DmaStreamState {
    const s = this.streamAt(n);
    return { cr: s.cr, ndtr: s.ndtr, par: s.par, m0ar: s.m0ar, m1ar: s.m1ar, fcr: this.readFifoControl(s), fifoBytes: s.fifoCount, stopping: s.stopping };
  }

  /** The five flags of stream n, as stream 0's bits (FEIF0, DMEIF0, TEIF0, HTIF0, TCIF0). */
  flagsOf(n: number): number {
    this.streamAt(n);
    return (this.isr[n >>> 2]! >>> FLAG_SHIFTS[n & 3]!) & (FEIF | DMEIF | TEIF | HTIF | TCIF);
  }

  /** One line per locked write, for an assertion's message. */
  describeLockedWrites(): string {
    if (this.lockedWriteCount === 0) return `DMA${this.instance}: no write while its stream was enabled`;
    const shown = this.lockedWrites.slice(0, 5).map((w) => `${w.register} = 0x${w.value.toString(16)} at ${w.time} ns`);
    return `DMA${this.instance}: ${this.lockedWriteCount} write${this.lockedWriteCount === 1 ? "" : "s"} ignored because the stream was enabled (EN = 1): ${shown.join("; ")}${this.lockedWriteCount > 5 ? "; ..." : ""}`;
  }

  /** Any stream with a flag whose interrupt is enabled. */
  interruptPending(): boolean {
    for (let n = 0; n < STM32_DMA_STREAM_COUNT; n++) {
      const s = this.streams[n]!;
      const flags = this.flagsOf(n);
      if (((flags & TCIF) && (s.cr & DMA_S0CR_TCIE)) || ((flags & HTIF) && (s.cr & DMA_S0CR_HTIE)) ||
        ((flags & TEIF) && (s.cr & DMA_S0CR_TEIE)) || ((flags & DMEIF) && (s.cr & DMA_S0CR_DMEIE)) ||
        ((flags & FEIF) && (s.fcr & DMA_S0FCR_FEIE))) return true;
    }
    return false;
  }

  // ---- Device ----

  read(offset: number, _width: number): number {
    if (offset >= DMA_S0CR && offset < STREAMS_END) {
      const s = this.streams[Math.floor((offset - DMA_S0CR) / STREAM_STRIDE)]!;
      switch ((offset - DMA_S0CR) % STREAM_STRIDE + DMA_S0CR) {
        case DMA_S0CR: return s.cr;
        case DMA_S0NDTR: return s.ndtr;
        case DMA_S0PAR: return s.par;
        case DMA_S0M0AR: return s.m0ar;
        case DMA_S0M1AR: return s.m1ar;
        default: return this.readFifoControl(s);
      }
    }
    switch (offset) {
      case DMA_LISR: return this.isr[0]!;
      case DMA_HISR: return this.isr[1]!;
      default: return 0; // LIFCR/HIFCR are write-only; reserved offsets read 0
    }
  }

  write(offset: number, value: number, _width: number): void {
    value >>>= 0;
    if (offset >= DMA_S0CR && offset < STREAMS_END) {
      const n = Math.floor((offset - DMA_S0CR) / STREAM_STRIDE);
      this.writeStream(n, (offset - DMA_S0CR) % STREAM_STRIDE + DMA_S0CR, value);
      return;
    }
    switch (offset) {
      case DMA_LIFCR: this.isr[0] = this.isr[0]! & ~(value & FLAG_BITS); return;
      case DMA_HIFCR: this.isr[1] = this.isr[1]! & ~(value & FLAG_BITS); return;
      default: return; // LISR/HISR are read-only
    }
  }

  // ---- BusMaster ----

  step(now: number): number {
    while (this.time <= now) {
      this.finishStops(this.time);
      const n = this.arbitrate();
      if (n < 0) {
        this.time = now;
        this.finishStops(now);
        return this.nextWake(now);
      }
      this.time += this.serve(n) * this.cycleNs;
    }
    return Math.min(this.time, this.nextStop());
  }

  // ---- Internals: registers ----

  private streamAt(n: number): Stream {
    const s = this.streams[n];
    if (s === undefined) throw new RangeError(`stream ${n} is none of 0..${STM32_DMA_STREAM_COUNT - 1}`);
    return s;
  }

  private readFifoControl(s: Stream): number {
    let fs: number;
    if (s.fifoCount === 0) fs = FS_EMPTY;
    else if (s.fifoCount === STM32_DMA_FIFO_BYTES) fs = FS_FULL;
    else fs = Math.floor(s.fifoCount / (STM32_DMA_FIFO_BYTES / 4));
    return (s.fcr & FCR_WRITABLE) | ((fs << DMA_S0FCR_FS_SHIFT) & DMA_S0FCR_FS_MASK);
  }

  private noteLocked(n: number, register: string, value: number): void {
    this.lockedWriteCount++;
    if (this.lockedWrites.length < LOCKED_WRITES_KEPT) this.lockedWrites.push({ time: this.clock.now, stream: n, register: `S${n}${register}`, value });
  }

  private writeStream(n: number, register: number, value: number): void {
    const s = this.streams[n]!;
    const locked = s.enabled;
    switch (register) {
      case DMA_S0CR: {
        value &= CR_BITS;
        if (locked) {
          if (((value ^ s.cr) & ~CR_UNLOCKED) !== 0) this.noteLocked(n, "CR", value);
          s.cr = (s.cr & ~CR_UNLOCKED) | (value & CR_UNLOCKED);
          // EN stays visible until the stop completes.
          if ((value & DMA_S0CR_EN) === 0) {
            s.cr |= DMA_S0CR_EN;
            if (!s.stopping) this.requestStop(s);
          }
          return;
        }
        s.cr = value & ~DMA_S0CR_EN;
        if ((value & DMA_S0CR_EN) !== 0) this.enable(n);
        return;
      }
      case DMA_S0NDTR:
        if (locked) this.noteLocked(n, "NDTR", value);
        else s.ndtr = value & DMA_S0NDTR_NDT_MASK;
        return;
      case DMA_S0PAR:
        if (locked) this.noteLocked(n, "PAR", value);
        else s.par = value;
        return;
      case DMA_S0M0AR:
      case DMA_S0M1AR: {
        const isM1 = register === DMA_S0M1AR;
        if (!locked) {
          if (isM1) s.m1ar = value; else s.m0ar = value;
          return;
        }
        if ((s.cr & DMA_S0CR_DBM) === 0) {
          this.noteLocked(n, isM1 ? "M1AR" : "M0AR", value);
          return;
        }
        // Double buffer: the target not in use may change; the one in use may not (RM0090
        // §10.3.9): that write is a transfer error.
        const inUseIsM1 = (s.cr & DMA_S0CR_CT) !== 0;
        if (isM1 !== inUseIsM1) {
          if (isM1) s.m1ar = value; else s.m0ar = value;
        } else {
          this.noteLocked(n, isM1 ? "M1AR" : "M0AR", value);
          this.fail(n);
        }
        return;
      }
      default: {
        const next = value & FCR_WRITABLE;
        if (locked) {
          if (((next ^ s.fcr) & ~DMA_S0FCR_FEIE) !== 0) this.noteLocked(n, "FCR", value);
          s.fcr = (s.fcr & ~DMA_S0FCR_FEIE) | (next & DMA_S0FCR_FEIE);
        } else {
          s.fcr = next;
        }
      }
    }
  }

  private setFlag(n: number, flag: number): void {
    this.isr[n >>> 2] = this.isr[n >>> 2]! | (flag << FLAG_SHIFTS[n & 3]!);
  }

  /** EN written 1 with EN = 0: the checks of RM0090 §10.3.8 and §10.3.13, then the start. */
  private enable(n: number): void {
    const s = this.streams[n]!;
    if (this.flagsOf(n) !== 0) this.enabledWithFlagsSet++;
    const dir = (s.cr & DMA_S0CR_DIR_MASK) >>> DMA_S0CR_DIR_SHIFT;
    if (dir > DIR_M2M || (dir === DIR_M2M && this.instance === 1)) {
      this.setFlag(n, TEIF);
      return;
    }
    if (this.fifoMode(s) && !fifoSettingsAllowed(s)) {
      this.setFlag(n, FEIF);
      return;
    }
    s.cr |= DMA_S0CR_EN;
    s.peripheralAddress = s.par;
    s.memoryAddress = (s.cr & DMA_S0CR_CT) !== 0 ? s.m1ar : s.m0ar;
    s.startCount = s.ndtr;
    s.halfSignalled = false;
    s.fifoHead = s.fifoCount = 0;
    s.stopping = false;
    s.stopAt = Infinity;
    this.wakeUp(this.clock.now);
  }

  private fifoMode(s: Stream): boolean {
    // Memory to memory always uses the FIFO (RM0090 §10.3.6: DIR = 10 forces DMDIS = 1).
    return (s.fcr & DMA_S0FCR_DMDIS) !== 0 || ((s.cr & DMA_S0CR_DIR_MASK) >>> DMA_S0CR_DIR_SHIFT) === DIR_M2M;
  }

  private requestStop(s: Stream): void {
    s.stopping = true;
    // The item in flight completes first: a read and a write.
    s.stopAt = this.clock.now + 2 * this.cycleNs;
    this.wakeUp(s.stopAt);
  }

  private wakeUp(at: number): void {
    if (this.time < this.clock.now) this.time = this.clock.now;
    this.bus.wake(Math.max(at, this.time));
  }

  private finishStops(now: number): void {
    for (let n = 0; n < STM32_DMA_STREAM_COUNT; n++) {
      const s = this.streams[n]!;
      if (!s.stopping || s.stopAt > now) continue;
      s.stopping = false;
      s.stopAt = Infinity;
      if (this.flush(n)) {
        s.cr &= ~DMA_S0CR_EN;
        this.setFlag(n, TCIF);
      }
    }
  }

  private nextStop(): number {
    let t = Infinity;
    for (const s of this.streams) if (s.stopping && s.stopAt < t) t = s.stopAt;
    return t;
  }

  private nextWake(now: number): number {
    for (const s of this.streams) if (s.enabled && !s.stopping && s.ndtr > 0) return Math.min(now + this.cycleNs, this.nextStop());
    return this.nextStop();
  }

  // ---- Internals: the engine ----

  /** The stream to serve now: highest PL, then lowest number (RM0090 §10.3.4); -1 for none. */
  private arbitrate(): number {
    let best = -1;
    let bestPriority = -1;
    for (let n = 0; n < STM32_DMA_STREAM_COUNT; n++) {
      const s = this.streams[n]!;
      if (!s.enabled || s.stopping || !this.canProgress(s)) continue;
      const priority = (s.cr & DMA_S0CR_PL_MASK) >>> DMA_S0CR_PL_SHIFT;
      if (priority > bestPriority) {
        best = n;
        bestPriority = priority;
      }
    }
    return best;
  }

  private requested(s: Stream): boolean {
    const connection = s.requesters[(s.cr & DMA_S0CR_CHSEL_MASK) >>> DMA_S0CR_CHSEL_SHIFT];
    return connection !== undefined && connection.requester.dmaRequests(connection.direction) !== 0;
  }

  private canProgress(s: Stream): boolean {
    const dir = (s.cr & DMA_S0CR_DIR_MASK) >>> DMA_S0CR_DIR_SHIFT;
    if (s.ndtr === 0) return s.fifoCount > 0 || s.startCount > 0; // a flush, or the completion
    if (!this.fifoMode(s)) return this.requested(s);
    const pSize = peripheralSize(s);
    const mSize = memorySize(s, true);
    if (dir === DIR_M2P) return (s.fifoCount >= pSize && this.requested(s)) || memoryReadDue(s, mSize);
    if (s.fifoCount >= mSize) return true;
    if (STM32_DMA_FIFO_BYTES - s.fifoCount < pSize) return false;
    return dir === DIR_M2M || this.requested(s);
  }

  /** One step of stream n; returns the master cycles it took. */
  private serve(n: number): number {
    const s = this.streams[n]!;
    if (s.ndtr === 0) {
      if (s.fifoCount > 0 && !this.flush(n)) return 1;
      this.complete(n);
      return 1;
    }
    const dir = (s.cr & DMA_S0CR_DIR_MASK) >>> DMA_S0CR_DIR_SHIFT;
    const fifo = this.fifoMode(s);
    const pSize = peripheralSize(s);
    const mSize = memorySize(s, fifo);
    try {
      if (!fifo) {
        // Direct mode: one item, read and written in the same step.
        const from = dir === DIR_P2M ? s.peripheralAddress : s.memoryAddress;
        const to = dir === DIR_P2M ? s.memoryAddress : s.peripheralAddress;
        this.bus.masterWrite(to, this.bus.masterRead(from, pSize), pSize);
        this.stepPeripheral(s, pSize, false);
        this.stepMemory(s, pSize);
        this.countItem(n);
        return 2;
      }
      if (dir === DIR_M2P) {
        if (s.fifoCount >= pSize && this.requested(s)) {
          this.bus.masterWrite(s.peripheralAddress, s.pop(pSize), pSize);
          this.stepPeripheral(s, pSize, true);
          this.countItem(n);
          if (s.ndtr === 0) s.fifoHead = s.fifoCount = 0; // what is left was never needed
          return 1;
        }
        if (!memoryReadDue(s, mSize)) return 1; // waiting for the peripheral's request
        s.push(this.bus.masterRead(s.memoryAddress, mSize), mSize);
        this.stepMemory(s, mSize);
        return 1;
      }
      // Peripheral (or the source of memory to memory) into the FIFO, the FIFO into memory.
      if (s.fifoCount >= mSize) {
        this.bus.masterWrite(s.memoryAddress, s.pop(mSize), mSize);
        this.stepMemory(s, mSize);
        return 1;
      }
      s.push(this.bus.masterRead(s.peripheralAddress, pSize), pSize);
      this.stepPeripheral(s, pSize, true);
      this.countItem(n);
      return 1;
    } catch (e) {
      if (!(e instanceof BusFault)) throw e;
      this.fail(n);
      return 1;
    }
  }

  private stepPeripheral(s: Stream, size: number, fifo: boolean): void {
    if ((s.cr & DMA_S0CR_PINC) === 0) return;
    // PINCOS: the peripheral address steps by 4 whatever PSIZE (FIFO mode only, RM0090 §10.3.10).
    s.peripheralAddress = (s.peripheralAddress + (fifo && (s.cr & DMA_S0CR_PINCOS) !== 0 ? 4 : size)) >>> 0;
  }

  private stepMemory(s: Stream, size: number): void {
    if ((s.cr & DMA_S0CR_MINC) !== 0) s.memoryAddress = (s.memoryAddress + size) >>> 0;
  }

  /** One peripheral-side item done: NDTR counts down, HTIF at half. */
  private countItem(n: number): void {
    const s = this.streams[n]!;
    s.ndtr--;
    if (!s.halfSignalled && s.ndtr <= Math.floor(s.startCount / 2)) {
      s.halfSignalled = true;
      this.setFlag(n, HTIF);
    }
  }

  /** NDTR reached 0 and the FIFO is empty: TCIF, then stop or reload (RM0090 §10.3.10-10.3.11). */
  private complete(n: number): void {
    const s = this.streams[n]!;
    this.setFlag(n, TCIF);
    if ((s.cr & (DMA_S0CR_CIRC | DMA_S0CR_DBM)) === 0) {
      s.cr &= ~DMA_S0CR_EN;
      s.startCount = 0;
      return;
    }
    if ((s.cr & DMA_S0CR_DBM) !== 0) s.cr ^= DMA_S0CR_CT;
    s.ndtr = s.startCount;
    s.peripheralAddress = s.par;
    s.memoryAddress = (s.cr & DMA_S0CR_CT) !== 0 ? s.m1ar : s.m0ar;
    s.halfSignalled = false;
  }

  /** Writes what the FIFO holds to memory, byte by byte (P->M, M->M); drops it for M->P.
   * Returns false when a write faulted (the stream then failed). */
  private flush(n: number): boolean {
    const s = this.streams[n]!;
    const dir = (s.cr & DMA_S0CR_DIR_MASK) >>> DMA_S0CR_DIR_SHIFT;
    if (dir === DIR_M2P) {
      s.fifoHead = s.fifoCount = 0;
      return true;
    }
    // Whole memory items go out at MSIZE as the transfer would have written them; only a
    // partial item left at the end (or at a stop) is written a byte at a time, the model's choice
    // where RM0090 10.3.12-10.3.13 do not say.
    const item = 1 << ((s.cr & DMA_S0CR_MSIZE_MASK) >>> DMA_S0CR_MSIZE_SHIFT);
    try {
      while (s.fifoCount > 0) {
        const width = s.fifoCount >= item ? item : 1;
        this.bus.masterWrite(s.memoryAddress, s.pop(width), width);
        this.stepMemory(s, width);
      }
    } catch (e) {
      if (!(e instanceof BusFault)) throw e;
      this.fail(n);
      return false;
    }
    return true;
  }

  /** A bus error: TEIF, EN cleared, the FIFO lost (RM0090 §10.3.15). */
  private fail(n: number): void {
    const s = this.streams[n]!;
    this.setFlag(n, TEIF);
    s.cr &= ~DMA_S0CR_EN;
    s.stopping = false;
    s.stopAt = Infinity;
    s.fifoHead = s.fifoCount = 0;
    s.startCount = 0;
  }
}

/** Memory to peripheral in FIFO mode: the FIFO has room for a memory item and the items left
 * still need bytes from memory (nothing is read past the buffer). */
function memoryReadDue(s: Stream, mSize: number): boolean {
  return STM32_DMA_FIFO_BYTES - s.fifoCount >= mSize && s.ndtr * peripheralSize(s) > s.fifoCount;
}

/** The item size on the peripheral port, bytes (PSIZE). */
function peripheralSize(s: Stream): number {
  return 1 << ((s.cr & DMA_S0CR_PSIZE_MASK) >>> DMA_S0CR_PSIZE_SHIFT);
}

/** The item size on the memory port, bytes: MSIZE, or PSIZE in direct mode (RM0090 §10.3.11). */
function memorySize(s: Stream, fifo: boolean): number {
  return fifo ? 1 << ((s.cr & DMA_S0CR_MSIZE_MASK) >>> DMA_S0CR_MSIZE_SHIFT) : peripheralSize(s);
}

/** FIFO threshold against the bursts (RM0090 §10.3.13 Table 49). */
export function fifoSettingsAllowed(s: { cr: number; fcr: number }): boolean {
  const fth = (s.fcr & DMA_S0FCR_FTH_MASK) >>> DMA_S0FCR_FTH_SHIFT;
  const thresholdBytes = (fth + 1) * (STM32_DMA_FIFO_BYTES / 4);
  const msize = 1 << ((s.cr & DMA_S0CR_MSIZE_MASK) >>> DMA_S0CR_MSIZE_SHIFT);
  const psize = 1 << ((s.cr & DMA_S0CR_PSIZE_MASK) >>> DMA_S0CR_PSIZE_SHIFT);
  const memoryBurst = BURST_BEATS[(s.cr & DMA_S0CR_MBURST_MASK) >>> DMA_S0CR_MBURST_SHIFT]! * msize;
  const peripheralBurst = BURST_BEATS[(s.cr & DMA_S0CR_PBURST_MASK) >>> DMA_S0CR_PBURST_SHIFT]! * psize;
  if ((s.cr & DMA_S0CR_MBURST_MASK) !== 0 && (memoryBurst > STM32_DMA_FIFO_BYTES || thresholdBytes % memoryBurst !== 0)) return false;
  // PBURST x PSIZE = 16 bytes with FTH = 3/4 is forbidden too (RM0090 §10.3.13).
  if ((s.cr & DMA_S0CR_PBURST_MASK) !== 0 && peripheralBurst === STM32_DMA_FIFO_BYTES && thresholdBytes === 12) return false;
  return true;
}
