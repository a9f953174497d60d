// Behavioural model of the PrimeCell DMA controller (PL080), ARM DDI 0196G: eight channels, two AHB
// masters (one bus here), sixteen request lines. Register facts and their sources:
// registers/pl080.json and docs/primecell.md, PL080 section 4.
//
// The model is a bus master: it moves data with bus.masterRead/masterWrite, so every access it
// makes is checked, recorded in the trace with FLAG_DMA and can fault. A master access that
// faults (an address in no region, unaligned, a width the target refuses) sets the channel's
// error status and disables it, as an AHB error response does.
//
// Time: one master access (one AHB data beat, or one word of an LLI fetch) takes `cycleNs` of
// virtual time (10 ns, a 100 MHz HCLK, unless told otherwise). The bus steps the model before the
// CPU access that reaches the time it asked for; the model then does the work due by that time,
// one burst at a time, channel 0 first (docs/primecell.md, PL080 4.2: channel 0 has the highest
// priority). The arbiter chooses again after every burst. A channel waiting for a request line
// polls it at each step, because a peripheral model answers dmaRequests() for the current time
// only.
//
// Modelling choices where the sources leave room:
// - Each channel has a 16-byte (four-word) FIFO. The source side reads up to a source burst
//   (SBSize) or what fits the FIFO, the destination side writes up to a destination burst
//   (DBSize) or what the FIFO holds; a write burst goes first whenever there is data for it.
//   Source and destination widths may differ: the FIFO packs and unpacks bytes. Bytes left over
//   at the end of an item that do not fill a destination transfer are written one byte at a time.
// - TransferSize counts down the source transfers still to do (Linux, QEMU, MUTEKH; the NXP text
//   says "completed", docs/primecell.md, PL080 4.8). With a peripheral as flow controller it is
//   left as written.
// - Requests (docs/primecell.md, PL080 4.6, 4.7 and 4.8): with the DMAC as flow controller a
//   burst request serves up to a burst and a single request one transfer, both capped by what is
//   left; last requests are ignored (Linux reports the PL08x honours both BREQ and SREQ in this
//   mode). With a peripheral as flow controller, LBREQ and LSREQ serve a burst or a single
//   transfer and end the item.
//   When the transfers a request asked for are done, the model clears the line: it calls
//   dmaClear() (DMACCLR) and drops the line's software request bits.
// - The source of a memory-to-peripheral channel reads only what the destination request being
//   served still needs, so nothing is read from memory ahead of a request.
// - H stops the source side of every flow type (memory included), so a halted channel only
//   drains; A reads 1 while the FIFO holds data.
// - Clearing E by a register write stops the channel at once and discards its FIFO.
// - A reserved width code (3 to 7) makes the channel fail with an error, as a bus error would.
// - Not modelled: big-endian masters (M1/M2 are stored, transfers are little-endian), the two
//   masters as separate buses (S, D and LM are ignored), locked transfers (L), protection bits,
//   the request synchronizers (Sync is stored), integration-test mode (ITCR/ITOP only store).
import { BusFault, type Bus, type BusMaster, type Device, type VirtualClock } from "../bus.js";
import { DMA_BREQ, DMA_LBREQ, DMA_LSREQ, DMA_SREQ, type DmaDirection, type DmaRequester, type InterruptSource } from "./signals.js";
import {
  PL080_MAP,
  PL080_IntStatus, PL080_IntTCStatus, PL080_IntTCClear, PL080_IntErrorStatus, PL080_IntErrClr,
  PL080_RawIntTCStatus, PL080_RawIntErrorStatus, PL080_EnbldChns,
  PL080_SoftBReq, PL080_SoftSReq, PL080_SoftLBReq, PL080_SoftLSReq,
  PL080_Configuration, PL080_Configuration_E, PL080_Configuration_M1, PL080_Configuration_M2, PL080_Sync,
  PL080_C0SrcAddr, PL080_C1SrcAddr, PL080_C0DestAddr, PL080_C0LLI, PL080_C0Control, PL080_C0Configuration,
  PL080_C7Configuration,
  PL080_C0LLI_LLI_MASK, PL080_C0LLI_LM,
  PL080_C0Control_I, PL080_C0Control_SI, PL080_C0Control_DI,
  PL080_C0Control_SWidth_MASK, PL080_C0Control_SWidth_SHIFT, PL080_C0Control_DWidth_MASK, PL080_C0Control_DWidth_SHIFT,
  PL080_C0Control_SBSize_MASK, PL080_C0Control_SBSize_SHIFT, PL080_C0Control_DBSize_MASK, PL080_C0Control_DBSize_SHIFT,
  PL080_C0Control_TransferSize_MASK,
  PL080_C0Configuration_H, PL080_C0Configuration_A, PL080_C0Configuration_L, PL080_C0Configuration_ITC,
  PL080_C0Configuration_IE, PL080_C0Configuration_FlowCntrl_MASK, PL080_C0Configuration_FlowCntrl_SHIFT,
  PL080_C0Configuration_DestPeripheral_MASK, PL080_C0Configuration_DestPeripheral_SHIFT,
  PL080_C0Configuration_SrcPeripheral_MASK, PL080_C0Configuration_SrcPeripheral_SHIFT, PL080_C0Configuration_E,
  PL080_ITCR, PL080_ITOP1, PL080_ITOP2, PL080_ITOP3,
} from "../generated/pl080.js";

/** Channels of a PL080 (docs/primecell.md, PL080 4.5). */
export const PL080_CHANNEL_COUNT = 8;
/** DMA request lines of a PL080 (docs/primecell.md, PL080 4.5). */
export const PL080_REQUEST_LINE_COUNT = 16;
/** Bytes in each channel's FIFO (a modelling choice, see the file header). */
export const PL080_FIFO_BYTES = 16;
/** Default virtual time of one master access: a 100 MHz HCLK. */
export const PL080_DEFAULT_CYCLE_NS = 10;

/** Distance between two channels' register groups; channel registers are named by channel 0's. */
const CHANNEL_STRIDE = PL080_C1SrcAddr - PL080_C0SrcAddr;
const CHANNELS_END = PL080_C7Configuration + 4;
const ALL_CHANNELS = (1 << PL080_CHANNEL_COUNT) - 1;
const ALL_LINES = (1 << PL080_REQUEST_LINE_COUNT) - 1;
/** Bits of a channel Configuration that a write stores: all 19 but A (read-only) and the
 * reserved bits 10 and 5 (the gaps between the fields). */
const CONFIGURATION_WRITABLE = (PL080_C0Configuration_H | PL080_C0Configuration_L | PL080_C0Configuration_ITC
  | PL080_C0Configuration_IE | PL080_C0Configuration_FlowCntrl_MASK | PL080_C0Configuration_DestPeripheral_MASK
  | PL080_C0Configuration_SrcPeripheral_MASK | PL080_C0Configuration_E) >>> 0;
/** Bits of a channel LLI register that a write stores: bit 1 is reserved. */
const LLI_WRITABLE = (PL080_C0LLI_LLI_MASK | PL080_C0LLI_LM) >>> 0;
/** Words of a linked-list item in memory: SrcAddr, DestAddr, LLI, Control (docs/primecell.md,
 * PL080 4.4). */
const LLI_WORDS = 4;

/** Burst sizes of the SBSize/DBSize encoding (docs/primecell.md, PL080 4.3). */
const BURST_TRANSFERS = [1, 4, 8, 16, 32, 64, 128, 256] as const;

/** Who ends an item (docs/primecell.md, PL080 4.3, FlowCntrl). */
const enum FlowController { Dmac, Source, Destination }

interface Flow {
  readonly sourceIsPeripheral: boolean;
  readonly destinationIsPeripheral: boolean;
  readonly controller: FlowController;
}

/** FlowCntrl 000..111 (docs/primecell.md, PL080 4.3). */
const FLOWS: readonly Flow[] = [
  { sourceIsPeripheral: false, destinationIsPeripheral: false, controller: FlowController.Dmac },
  { sourceIsPeripheral: false, destinationIsPeripheral: true, controller: FlowController.Dmac },
  { sourceIsPeripheral: true, destinationIsPeripheral: false, controller: FlowController.Dmac },
  { sourceIsPeripheral: true, destinationIsPeripheral: true, controller: FlowController.Dmac },
  { sourceIsPeripheral: true, destinationIsPeripheral: true, controller: FlowController.Destination },
  { sourceIsPeripheral: false, destinationIsPeripheral: true, controller: FlowController.Destination },
  { sourceIsPeripheral: true, destinationIsPeripheral: false, controller: FlowController.Source },
  { sourceIsPeripheral: true, destinationIsPeripheral: true, controller: FlowController.Source },
];

/** The ID registers (0xFE0..0xFFC) by offset, from the register map's reset values. */
const ID_WORDS: ReadonlyMap<number, number> = new Map(
  PL080_MAP.registers.filter((r) => r.offset >= 0xfe0 && r.reset !== null).map((r) => [r.offset, r.reset ?? 0]),
);

/** The stored bits of a register without fields, from its width in the map. */
function storedBitsOf(offset: number): number {
  const reg = PL080_MAP.registers.find((r) => r.offset === offset);
  if (reg === undefined) throw new Error(`registers/pl080.json has no register at 0x${offset.toString(16)}`);
  return reg.bits >= 32 ? 0xffffffff : 2 ** reg.bits - 1;
}

/** One side of a channel's current item, as a peripheral request left it. */
interface RequestState {
  /** Transfers the request being served still allows on this side; 0 = ask again. */
  budget: number;
  /** The request being served is a last request (peripheral flow control). */
  last: boolean;
  /** A last request has been served: the flow controller ended the item. */
  finished: boolean;
}

/** A channel's registers and the state of the item it is running, for tests to inspect. */
export interface Pl080ChannelState {
  readonly src: number;
  readonly dest: number;
  readonly lli: number;
  readonly control: number;
  /** Configuration as a read returns it (A included). */
  readonly configuration: number;
  /** Bytes in the channel FIFO. */
  readonly fifoBytes: number;
}

class Channel {
  src = 0;
  dest = 0;
  lli = 0;
  control = 0;
  /** Stored Configuration bits (A is computed from the FIFO). */
  configuration = 0;
  readonly fifo = new Uint8Array(PL080_FIFO_BYTES);
  fifoHead = 0;
  fifoCount = 0;
  readonly source: RequestState = { budget: 0, last: false, finished: false };
  readonly destination: RequestState = { budget: 0, last: false, finished: false };

  get enabled(): boolean {
    return (this.configuration & PL080_C0Configuration_E) !== 0;
  }

  /** Forgets the FIFO and the requests: a new item, a start, or a stop. */
  resetItem(discardFifo: boolean): void {
    if (discardFifo) {
      this.fifoHead = 0;
      this.fifoCount = 0;
    }
    for (const side of [this.source, this.destination]) {
      side.budget = 0;
      side.last = false;
      side.finished = false;
    }
  }

  push(value: number, width: number): void {
    for (let i = 0; i < width; i++) {
      this.fifo[(this.fifoHead + this.fifoCount) % PL080_FIFO_BYTES] = (value >>> (8 * i)) & 0xff;
      this.fifoCount++;
    }
  }

  pop(width: number): number {
    let value = 0;
    for (let i = 0; i < width; i++) {
      value |= this.fifo[this.fifoHead]! << (8 * i);
      this.fifoHead = (this.fifoHead + 1) % PL080_FIFO_BYTES;
      this.fifoCount--;
    }
    return value >>> 0;
  }
}

interface Connection {
  readonly requester: DmaRequester;
  readonly direction: DmaDirection;
}

export interface Pl080Options {
  /** Virtual ns per master access (default PL080_DEFAULT_CYCLE_NS). */
  readonly cycleNs?: number;
}

export class Pl080Model implements Device, BusMaster, InterruptSource {
  readonly cycleNs: number;
  /** Configuration (0x030): E, M1, M2. */
  configuration = 0;
  /** Sync (0x034): stored only. */
  sync = 0;
  /** Terminal-count and error status before masking, one bit per channel. */
  rawTc = 0;
  rawError = 0;
  /** Software request bits, one per line, as written to SoftBReq/SReq/LBReq/LSReq. */
  softBurst = 0;
  softSingle = 0;
  softLastBurst = 0;
  softLastSingle = 0;
  /** Integration-test registers: stored only. */
  itcr = 0;
  readonly itop = [0, 0, 0];

  private readonly channels: Channel[] = Array.from({ length: PL080_CHANNEL_COUNT }, () => new Channel());
  private readonly lines: (Connection | undefined)[] = new Array<Connection | undefined>(PL080_REQUEST_LINE_COUNT).fill(undefined);
  /** Virtual time up to which the engine has worked. */
  private time: number;

  /** Attaches itself to `bus` as a master; the board maps it as a device too. */
  constructor(private readonly bus: Bus, readonly clock: VirtualClock, options: Pl080Options = {}) {
    this.cycleNs = options.cycleNs ?? PL080_DEFAULT_CYCLE_NS;
    if (!(this.cycleNs > 0)) throw new RangeError(`cycleNs must be positive, got ${this.cycleNs}`);
    this.time = clock.now;
    bus.attachMaster(this);
  }

  /** Puts every register back to its reset value (all zero, TRM 3.3) and empties the channel
   * FIFOs; the request-line connections are kept (they are the board's wiring). The engine
   * restarts from the clock's present time. */
  reset(): void {
    this.configuration = 0;
    this.sync = 0;
    this.rawTc = 0;
    this.rawError = 0;
    this.softBurst = this.softSingle = this.softLastBurst = this.softLastSingle = 0;
    this.itcr = 0;
    this.itop.fill(0);
    for (const c of this.channels) {
      c.src = c.dest = c.lli = c.control = c.configuration = 0;
      c.resetItem(true);
    }
    this.time = this.clock.now;
  }

  /** Connects request line `line` to a peripheral's requests for `direction` ('tx': the
   * peripheral is a destination, 'rx': a source). */
  connectRequest(line: number, requester: DmaRequester, direction: DmaDirection): void {
    if (!Number.isInteger(line) || line < 0 || line >= PL080_REQUEST_LINE_COUNT) throw new RangeError(`request line ${line} is none of 0..${PL080_REQUEST_LINE_COUNT - 1}`);
    if (this.lines[line] !== undefined) throw new Error(`request line ${line} is already connected`);
    this.lines[line] = { requester, direction };
  }

  /** A channel's registers and FIFO fill, for tests. */
  channel(n: number): Pl080ChannelState {
    const c = this.channels[n];
    if (c === undefined) throw new RangeError(`channel ${n} is none of 0..${PL080_CHANNEL_COUNT - 1}`);
    return { src: c.src, dest: c.dest, lli: c.lli, control: c.control, configuration: this.readChannelConfiguration(c), fifoBytes: c.fifoCount };
  }

  /** EnbldChns: the channels whose E is set. */
  get enabledChannels(): number {
    let bits = 0;
    for (let n = 0; n < PL080_CHANNEL_COUNT; n++) if (this.channels[n]!.enabled) bits |= 1 << n;
    return bits;
  }

  /** IntTCStatus: raw terminal-count status passed by each channel's ITC. */
  get tcStatus(): number {
    return this.rawTc & this.maskBits(PL080_C0Configuration_ITC);
  }

  /** IntErrorStatus: raw error status passed by each channel's IE. */
  get errorStatus(): number {
    return this.rawError & this.maskBits(PL080_C0Configuration_IE);
  }

  /** DMACINTR, the combined interrupt output. */
  interruptPending(): boolean {
    return (this.tcStatus | this.errorStatus) !== 0;
  }

  /** DMACINTTC, the terminal-count interrupt output. */
  tcInterruptPending(): boolean {
    return this.tcStatus !== 0;
  }

  /** DMACINTERR, the error interrupt output. */
  errorInterruptPending(): boolean {
    return this.errorStatus !== 0;
  }

  read(offset: number, _width: number): number {
    if (offset >= PL080_C0SrcAddr && offset < CHANNELS_END) return this.readChannel(offset);
    switch (offset) {
      case PL080_IntStatus: return this.tcStatus | this.errorStatus;
      case PL080_IntTCStatus: return this.tcStatus;
      case PL080_IntErrorStatus: return this.errorStatus;
      case PL080_RawIntTCStatus: return this.rawTc;
      case PL080_RawIntErrorStatus: return this.rawError;
      case PL080_EnbldChns: return this.enabledChannels;
      case PL080_SoftBReq: return this.softBurst | this.hardwareRequests(DMA_BREQ);
      case PL080_SoftSReq: return this.softSingle | this.hardwareRequests(DMA_SREQ);
      case PL080_SoftLBReq: return this.softLastBurst | this.hardwareRequests(DMA_LBREQ);
      case PL080_SoftLSReq: return this.softLastSingle | this.hardwareRequests(DMA_LSREQ);
      case PL080_Configuration: return this.configuration;
      case PL080_Sync: return this.sync;
      case PL080_ITCR: return this.itcr;
      case PL080_ITOP1: return this.itop[0]!;
      case PL080_ITOP2: return this.itop[1]!;
      case PL080_ITOP3: return this.itop[2]!;
      default: return ID_WORDS.get(offset) ?? 0; // write-only and reserved offsets read 0
    }
  }

  /** Device.stableUntil: until when a read of `offset` returns what it returned just now. The
   * engine changes registers only in step(), which the bus runs at the time it asked for (a host
   * that stretches a read stops at Bus.nextMasterTime), so every register is stable until
   * written, except the software request registers, which show the peripherals' request lines. */
  stableUntil(offset: number): number {
    switch (offset) {
      case PL080_SoftBReq: case PL080_SoftSReq: case PL080_SoftLBReq: case PL080_SoftLSReq: return -Infinity;
      default: return Infinity;
    }
  }

  write(offset: number, value: number, _width: number): void {
    if (offset >= PL080_C0SrcAddr && offset < CHANNELS_END) {
      this.writeChannel(offset, value >>> 0);
      return;
    }
    switch (offset) {
      case PL080_IntTCClear: this.rawTc &= ~value & ALL_CHANNELS; return;
      case PL080_IntErrClr: this.rawError &= ~value & ALL_CHANNELS; return;
      // Writing 1 asks for a transfer; 0 has no effect (TRM 3.4, software request registers).
      case PL080_SoftBReq: this.softBurst |= value & ALL_LINES; this.wakeUp(); return;
      case PL080_SoftSReq: this.softSingle |= value & ALL_LINES; this.wakeUp(); return;
      case PL080_SoftLBReq: this.softLastBurst |= value & ALL_LINES; this.wakeUp(); return;
      case PL080_SoftLSReq: this.softLastSingle |= value & ALL_LINES; this.wakeUp(); return;
      case PL080_Configuration:
        this.configuration = value & (PL080_Configuration_E | PL080_Configuration_M1 | PL080_Configuration_M2);
        this.wakeUp();
        return;
      case PL080_Sync: this.sync = value & storedBitsOf(PL080_Sync); return;
      case PL080_ITCR: this.itcr = value & storedBitsOf(PL080_ITCR); return;
      case PL080_ITOP1: this.itop[0] = value & storedBitsOf(PL080_ITOP1); return;
      case PL080_ITOP2: this.itop[1] = value & storedBitsOf(PL080_ITOP2); return;
      case PL080_ITOP3: this.itop[2] = value & storedBitsOf(PL080_ITOP3); return;
      default: return; // read-only, ID and reserved offsets ignore writes
    }
  }

  /** BusMaster: does the work due by `now`, one burst at a time. */
  step(now: number): number {
    while (this.time <= now) {
      const cycles = this.arbitrate();
      if (cycles === 0) {
        // Nothing can move. A channel that is enabled waits for a request line: look again at
        // the next access. Otherwise sleep until a register write wakes the engine.
        this.time = now;
        return this.anyChannelRunnable() ? now + this.cycleNs : Infinity;
      }
      this.time += cycles * this.cycleNs;
    }
    return this.time;
  }

  /** Gives the bus a chance to step the engine from now on (a channel or request appeared). */
  private wakeUp(): void {
    if (this.time < this.clock.now) this.time = this.clock.now;
    this.bus.wake(this.time);
  }

  private anyChannelRunnable(): boolean {
    return (this.configuration & PL080_Configuration_E) !== 0 && this.enabledChannels !== 0;
  }

  /** Runs one step of the highest-priority channel that can make progress; returns the master
   * accesses (cycles) it took, 0 when no channel can move. */
  private arbitrate(): number {
    if ((this.configuration & PL080_Configuration_E) === 0) return 0;
    for (let n = 0; n < PL080_CHANNEL_COUNT; n++) {
      if (!this.channels[n]!.enabled) continue;
      const cycles = this.advance(n);
      if (cycles > 0) return cycles;
    }
    return 0;
  }

  /** One step of channel n: finish the item, write a burst, or read a burst. Returns cycles. */
  private advance(n: number): number {
    const c = this.channels[n]!;
    const flow = FLOWS[(c.configuration & PL080_C0Configuration_FlowCntrl_MASK) >>> PL080_C0Configuration_FlowCntrl_SHIFT]!;
    const sourceCode = (c.control & PL080_C0Control_SWidth_MASK) >>> PL080_C0Control_SWidth_SHIFT;
    const destinationCode = (c.control & PL080_C0Control_DWidth_MASK) >>> PL080_C0Control_DWidth_SHIFT;
    if (sourceCode > 2 || destinationCode > 2) return this.fail(n);
    const sourceWidth = 1 << sourceCode;
    const destinationWidth = 1 << destinationCode;
    const remaining = c.control & PL080_C0Control_TransferSize_MASK;

    const sourceExhausted = flow.controller === FlowController.Dmac ? remaining === 0
      : flow.controller === FlowController.Source ? c.source.finished : c.destination.finished;
    const itemDone = flow.controller === FlowController.Destination ? c.destination.finished : sourceExhausted && c.fifoCount === 0;
    if (itemDone) return this.completeItem(n);

    // Destination: write what the FIFO holds, up to a burst or the request being served.
    const writeWidth = c.fifoCount >= destinationWidth ? destinationWidth : sourceExhausted && c.fifoCount > 0 ? 1 : 0;
    if (writeWidth > 0) {
      let limit: number = BURST_TRANSFERS[(c.control & PL080_C0Control_DBSize_MASK) >>> PL080_C0Control_DBSize_SHIFT]!;
      let ready = true;
      if (flow.destinationIsPeripheral) {
        const left = Math.ceil((remaining * sourceWidth + c.fifoCount) / destinationWidth);
        ready = c.destination.budget > 0 || this.acquire(c.destination, this.destinationLine(c), limit, flow.controller === FlowController.Destination, left);
        limit = c.destination.budget;
      }
      if (ready) {
        let done = 0;
        while (done < limit && c.fifoCount >= writeWidth) {
          const value = c.pop(writeWidth);
          try {
            this.bus.masterWrite(c.dest, value, writeWidth);
          } catch (e) {
            if (e instanceof BusFault) return done + this.fail(n);
            throw e;
          }
          if (c.control & PL080_C0Control_DI) c.dest = (c.dest + writeWidth) >>> 0;
          done++;
        }
        if (flow.destinationIsPeripheral) this.served(c.destination, this.destinationLine(c), done);
        return done;
      }
    }

    // Source: read into the FIFO, up to a burst, the room left, or what the requests allow.
    if (sourceExhausted || (c.configuration & PL080_C0Configuration_H) !== 0) return 0;
    let limit: number = BURST_TRANSFERS[(c.control & PL080_C0Control_SBSize_MASK) >>> PL080_C0Control_SBSize_SHIFT]!;
    if (flow.sourceIsPeripheral) {
      if (c.source.budget === 0 && !this.acquire(c.source, this.sourceLine(c), limit, flow.controller === FlowController.Source, remaining)) return 0;
      limit = c.source.budget;
    } else if (flow.destinationIsPeripheral) {
      // Memory feeding a peripheral: read only what the destination request still needs.
      const destinationBurst = BURST_TRANSFERS[(c.control & PL080_C0Control_DBSize_MASK) >>> PL080_C0Control_DBSize_SHIFT]!;
      const left = Math.ceil((remaining * sourceWidth + c.fifoCount) / destinationWidth);
      if (c.destination.budget === 0 && !this.acquire(c.destination, this.destinationLine(c), destinationBurst, flow.controller === FlowController.Destination, left)) return 0;
      limit = Math.ceil((c.destination.budget * destinationWidth - c.fifoCount) / sourceWidth);
    }
    if (flow.controller === FlowController.Dmac) limit = Math.min(limit, remaining);
    limit = Math.min(limit, Math.floor((PL080_FIFO_BYTES - c.fifoCount) / sourceWidth));
    let done = 0;
    while (done < limit) {
      let value: number;
      try {
        value = this.bus.masterRead(c.src, sourceWidth);
      } catch (e) {
        if (e instanceof BusFault) return done + this.fail(n);
        throw e;
      }
      c.push(value, sourceWidth);
      if (c.control & PL080_C0Control_SI) c.src = (c.src + sourceWidth) >>> 0;
      if (flow.controller === FlowController.Dmac) c.control = (c.control & ~PL080_C0Control_TransferSize_MASK) | (remaining - done - 1);
      done++;
    }
    if (flow.sourceIsPeripheral) this.served(c.source, this.sourceLine(c), done);
    return done;
  }

  /**
   * Takes the request on `line`, if any, for one side of a channel: how many transfers it
   * allows (`burst` for a burst request, 1 for a single one), capped by `left` when the DMAC
   * controls the flow. Returns false when the line is not requesting.
   */
  private acquire(side: RequestState, line: number, burst: number, sideControlsFlow: boolean, left: number): boolean {
    const requests = this.requestsOn(line);
    let transfers: number;
    let last = false;
    if (sideControlsFlow) {
      if (requests & DMA_LBREQ) { transfers = burst; last = true; }
      else if (requests & DMA_LSREQ) { transfers = 1; last = true; }
      else if (requests & DMA_BREQ) transfers = burst;
      else if (requests & DMA_SREQ) transfers = 1;
      else return false;
    } else {
      if (requests & DMA_BREQ) transfers = Math.min(burst, left);
      else if (requests & DMA_SREQ) transfers = Math.min(1, left);
      else return false;
      if (transfers === 0) return false;
    }
    side.budget = transfers;
    side.last = last;
    return true;
  }

  /** Counts `done` transfers against the request being served; clears the line once it is
   * done (DMACCLR) and ends the item after a last request. */
  private served(side: RequestState, line: number, done: number): void {
    side.budget -= done;
    if (side.budget > 0) return;
    side.budget = 0;
    if (side.last) side.finished = true;
    side.last = false;
    const bit = 1 << line;
    this.softBurst &= ~bit;
    this.softSingle &= ~bit;
    this.softLastBurst &= ~bit;
    this.softLastSingle &= ~bit;
    const connection = this.lines[line];
    connection?.requester.dmaClear?.(connection.direction);
  }

  /** End of an item: terminal-count status when Control.I asks, then the next item from the
   * LLI address, or the channel stops (docs/primecell.md, PL080 4.4). Returns cycles. */
  private completeItem(n: number): number {
    const c = this.channels[n]!;
    if (c.control & PL080_C0Control_I) this.rawTc |= 1 << n;
    const next = (c.lli & PL080_C0LLI_LLI_MASK) >>> 0;
    if (next === 0) {
      c.configuration &= ~PL080_C0Configuration_E;
      c.resetItem(true);
      return 1;
    }
    const words: number[] = [];
    try {
      for (let i = 0; i < LLI_WORDS; i++) words.push(this.bus.masterRead(next + 4 * i, 4));
    } catch (e) {
      if (e instanceof BusFault) return words.length + this.fail(n);
      throw e;
    }
    c.src = words[0]!;
    c.dest = words[1]!;
    c.lli = words[2]! & LLI_WRITABLE;
    c.control = words[3]!;
    c.resetItem(true);
    return LLI_WORDS;
  }

  /** An error response: error status, channel disabled, FIFO lost. Returns one cycle. */
  private fail(n: number): number {
    const c = this.channels[n]!;
    this.rawError |= 1 << n;
    c.configuration &= ~PL080_C0Configuration_E;
    c.resetItem(true);
    return 1;
  }

  private sourceLine(c: Channel): number {
    return (c.configuration & PL080_C0Configuration_SrcPeripheral_MASK) >>> PL080_C0Configuration_SrcPeripheral_SHIFT;
  }

  private destinationLine(c: Channel): number {
    return (c.configuration & PL080_C0Configuration_DestPeripheral_MASK) >>> PL080_C0Configuration_DestPeripheral_SHIFT;
  }

  /** DMA_* bits now asserted on a line: the peripheral's and the software's. */
  private requestsOn(line: number): number {
    const bit = 1 << line;
    const connection = this.lines[line];
    let requests = connection === undefined ? 0 : connection.requester.dmaRequests(connection.direction);
    if (this.softBurst & bit) requests |= DMA_BREQ;
    if (this.softSingle & bit) requests |= DMA_SREQ;
    if (this.softLastBurst & bit) requests |= DMA_LBREQ;
    if (this.softLastSingle & bit) requests |= DMA_LSREQ;
    return requests;
  }

  /** One bit per line whose peripheral asserts `request` now. */
  private hardwareRequests(request: number): number {
    let bits = 0;
    this.lines.forEach((connection, line) => {
      if (connection !== undefined && (connection.requester.dmaRequests(connection.direction) & request) !== 0) bits |= 1 << line;
    });
    return bits;
  }

  /** One bit per channel whose Configuration has `maskBit` (ITC or IE) set. */
  private maskBits(maskBit: number): number {
    let bits = 0;
    for (let n = 0; n < PL080_CHANNEL_COUNT; n++) if (this.channels[n]!.configuration & maskBit) bits |= 1 << n;
    return bits;
  }

  private readChannelConfiguration(c: Channel): number {
    return c.configuration | (c.fifoCount > 0 ? PL080_C0Configuration_A : 0);
  }

  private readChannel(offset: number): number {
    const c = this.channels[Math.floor((offset - PL080_C0SrcAddr) / CHANNEL_STRIDE)]!;
    switch ((offset - PL080_C0SrcAddr) % CHANNEL_STRIDE + PL080_C0SrcAddr) {
      case PL080_C0SrcAddr: return c.src;
      case PL080_C0DestAddr: return c.dest;
      case PL080_C0LLI: return c.lli;
      case PL080_C0Control: return c.control >>> 0;
      case PL080_C0Configuration: return this.readChannelConfiguration(c);
      default: return 0; // the three reserved words after each channel's registers
    }
  }

  private writeChannel(offset: number, value: number): void {
    const c = this.channels[Math.floor((offset - PL080_C0SrcAddr) / CHANNEL_STRIDE)]!;
    switch ((offset - PL080_C0SrcAddr) % CHANNEL_STRIDE + PL080_C0SrcAddr) {
      case PL080_C0SrcAddr: c.src = value; return;
      case PL080_C0DestAddr: c.dest = value; return;
      case PL080_C0LLI: c.lli = value & LLI_WRITABLE; return;
      case PL080_C0Control: c.control = value; return;
      case PL080_C0Configuration: {
        const wasEnabled = c.enabled;
        c.configuration = value & CONFIGURATION_WRITABLE;
        if (c.enabled && !wasEnabled) {
          // A start: the registers hold the first item.
          c.resetItem(true);
          this.wakeUp();
        } else if (!c.enabled && wasEnabled) {
          // Clearing E stops the channel at once and loses the FIFO (docs/primecell.md, PL080 4.6
          // "Stop").
          c.resetItem(true);
        } else if (c.enabled) {
          this.wakeUp(); // H cleared, or masks changed: let the engine look again
        }
        return;
      }
      default: return;
    }
  }
}
