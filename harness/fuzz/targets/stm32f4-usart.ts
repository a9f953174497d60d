// Fuzz target: the STM32F4 USART driver (assembly/stm32f4/usart.ts) on USART2 of the STM32F405
// board, behind its RCC clock gate. The simple model keeps the bytes the driver accepted (each
// must leave TX exactly once, in order) and the frames injected on RX (each must be read back in
// order, or be accounted for: its error reported, lost to an overrun that is reported, or dropped
// while the receiver was off).
import fc from "fast-check";
import { Stm32UsartModel, type UsartReceiveError } from "../../devices/stm32f4/usart.js";
import {
  USART_MAP, USART_DR, USART_SR_TC, USART_SR_TXE, USART_SR_PE, USART_SR_RXNE, USART_SR_ORE, USART_CR1_UE, USART_CR1_TE, USART_CR1_RE, USART_CR1_M,
  USART_CR1_PCE, USART_CR1_PS, USART_CR1_OVER8, USART_CR2_STOP_SHIFT, USART_CR2_STOP_MASK, USART_CR3_DMAT, USART_CR3_DMAR,
} from "../../generated/usart.js";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_RX_OVERRUN, ERR_RX_PARITY, ERR_RX_FRAMING, ERR_RX_NOISE,
  STM32_USART_CONFIG_9_BITS, STM32_USART_CONFIG_PARITY_MASK, STM32_USART_CONFIG_PARITY_EVEN, STM32_USART_CONFIG_PARITY_ODD,
  STM32_USART_CONFIG_STOP_MASK, STM32_USART_CONFIG_STOP_SHIFT, STM32_USART_CONFIG_OVER8, STM32_USART_CONFIG_VALID_MASK,
  STM32_USART_RATE_TOLERANCE_PPM, STM32_USART_DMA_TX, STM32_USART_DMA_RX,
} from "../../generated/api.js";
import type { World } from "../world.js";
import {
  anyU32, bytesOf, describeCommon, num, respondSteps, respondTargets, showResult, str, waitStep,
  type ExportSpec, type Step, type StepOptions, type Target,
} from "../target.js";
import type { TargetOptions } from "../target-table.js";
import { bufferPointer, bufferSteps, bufferIsValid, describeBuffer, type BufferPlace } from "./buffers.js";
import { RCC_EXPORTS, Stm32Session, clockSteps, clockTreeStep, describeClockStep, regionOf, stm32f4Module, type GatedRegion } from "./stm32f4-board.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "./pl011.js";

const REGION = "usart2";
const BASE = regionOf(REGION).base;

// Poll limits of assembly/stm32f4/usart.ts, in SR reads.
const TXE_POLL_LIMIT = 2 ** 21;
const TC_POLL_LIMIT = 2 ** 22;

const EXPORTS: readonly ExportSpec[] = [
  ...RCC_EXPORTS,
  // CR1 read, the TC wait, seven writes and a DSB.
  { name: "stm32_usart_init", statuses: [OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT], budget: () => TC_POLL_LIMIT + 16 },
  { name: "stm32_usart_write", statuses: [ERR_INVALID_ARG, ERR_TIMEOUT], count: (a) => a[2]! >>> 0, budget: (a) => (a[2]! >>> 0) * (TXE_POLL_LIMIT + 1) + 4 },
  // SR and DR per byte, and the SR read that finds nothing.
  { name: "stm32_usart_read", statuses: [ERR_INVALID_ARG, ERR_RX_FRAMING, ERR_RX_PARITY, ERR_RX_NOISE, ERR_RX_OVERRUN], count: (a) => a[2]! >>> 0, budget: (a) => 2 * (a[2]! >>> 0) + 4 },
  { name: "stm32_usart_flush", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => TC_POLL_LIMIT + 2 },
  { name: "stm32_usart_set_dma", statuses: [OK, ERR_INVALID_ARG], budget: () => 16 },
];

/** What stm32_usart_init must do with these arguments (RM0090 §30.3.4 and the driver's 1 %
 * tolerance, docs/drivers/stm32f4.md "Baud rate"): the status and the BRR value. */
export function usartInitVerdict(base: number, pclk: number, baud: number, config: number): { status: number; brr: number } {
  const invalid = { status: ERR_INVALID_ARG, brr: 0 };
  if ((base & 3) !== 0 || pclk === 0 || baud === 0) return invalid;
  if ((config & ~STM32_USART_CONFIG_VALID_MASK) !== 0) return invalid;
  if ((config & STM32_USART_CONFIG_PARITY_MASK) === (STM32_USART_CONFIG_PARITY_EVEN | STM32_USART_CONFIG_PARITY_ODD)) return invalid;
  // USARTDIV in 16ths (OVER8 = 0) or 8ths (OVER8 = 1) is f_PCLK / baud, rounded to nearest.
  const d = Math.floor((pclk + Math.floor(baud / 2)) / baud);
  const fractionBits = (config & STM32_USART_CONFIG_OVER8) !== 0 ? 3 : 4;
  const mantissa = Math.floor(d / 2 ** fractionBits);
  const unreachable = { status: ERR_UNREACHABLE_RATE, brr: 0 };
  if (mantissa === 0 || mantissa > 0xfff) return unreachable;
  if (Math.abs(pclk - d * baud) * 1e6 > STM32_USART_RATE_TOLERANCE_PPM * d * baud) return unreachable;
  return { status: OK, brr: mantissa * 16 + (d % 2 ** fractionBits) };
}

type RxKind = "none" | UsartReceiveError;
interface RxEntry {
  readonly data: number;
  readonly kind: RxKind;
}

const ERROR_KIND: Readonly<Record<number, RxKind>> = { [ERR_RX_FRAMING]: "framing", [ERR_RX_PARITY]: "parity", [ERR_RX_NOISE]: "noise" };

class UsartSession extends Stm32Session {
  readonly usart: Stm32UsartModel;
  private readonly region: GatedRegion;
  private readonly limit: number;

  // The simple model: bytes owed to the wire (with the data bits that count), frames injected.
  private readonly expectedWire: { byte: number; mask: number }[] = [];
  private dataMask = 0xff;
  private readonly rx: RxEntry[] = [];
  private rxNext = 0;
  /** Entries skipped by the reads so far and not yet explained by an error. */
  private readonly rxSkipped: RxEntry[] = [];
  private overrunsReported = 0;
  /** Frames the model's reset threw away (an RCC reset of the block). */
  private rxDiscarded = 0;
  private readonly drWrites: number[] = [];
  /** A DR write of the current call found a received character with PE waiting. */
  private peAtDrWrite = false;

  constructor(world: World, target: Target, options: TargetOptions) {
    super(world, target);
    this.limit = options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT;
    const rcc = this.board.rcc;
    this.usart = new Stm32UsartModel({ clock: world.clock, pclkHz: () => rcc.busClockHz("apb1") });
    this.region = this.board.map(REGION, this.usart, USART_MAP);
    this.region.device.onWrite = (offset, value) => {
      if (offset !== USART_DR) return;
      this.drWrites.push(value);
      // A DR write right after an SR read that saw PE clears PE (RM0090 §30.6.1).
      if ((this.srNow() & (USART_SR_PE | USART_SR_RXNE)) === (USART_SR_PE | USART_SR_RXNE)) this.peAtDrWrite = true;
    };
  }

  protected get block(): GatedRegion {
    return this.region;
  }

  protected resetBlock(): void {
    const u = this.usart;
    u.reset();
    u.clearWire();
    u.rxLost = 0;
    u.rxIgnored = 0;
    this.expectedWire.length = 0;
    this.dataMask = 0xff;
    this.rx.length = 0;
    this.rxNext = 0;
    this.rxSkipped.length = 0;
    this.overrunsReported = 0;
    this.rxDiscarded = 0;
    this.overrunOwed = false;
  }

  protected onBlockReset(): void {
    // The model went back to reset: frames in flight and queued are gone.
    this.expectedWire.length = Math.min(this.expectedWire.length, this.usart.wire.length);
    this.rxDiscarded += this.rx.length - this.rxNext;
    for (let i = this.rxNext; i < this.rx.length; i++) this.rxSkipped.push(this.rx[i]!);
    this.rxNext = this.rx.length;
  }

  /** SR as the model has it now (the model catches up lazily). */
  private srNow(): number {
    this.usart.update();
    return this.usart.sr;
  }

  /** The transmitter shifts frames out: UE and TE set, a divisor and a kernel clock. */
  private transmitterRuns(): boolean {
    return (this.usart.cr1 & (USART_CR1_UE | USART_CR1_TE)) === (USART_CR1_UE | USART_CR1_TE) && this.usart.frameNs() !== Infinity;
  }

  /** Accesses until TC is set, or Infinity when it never will be. */
  private accessesUntilTc(): number {
    const u = this.usart;
    if (!this.gateOpens) return Infinity;
    if ((this.srNow() & USART_SR_TC) !== 0) return 0;
    if (!this.transmitterRuns()) return Infinity;
    const frames = (u.transmitting ? 1 : 0) + ((this.srNow() & USART_SR_TXE) === 0 ? 1 : 0);
    return frames === 0 ? Infinity : (frames * u.frameNs()) / this.world.clock.accessNs;
  }

  check(step: Step): boolean {
    switch (step.op) {
      case "write": {
        const len = bytesOf(step, "data").length;
        if (len === 0) return true;
        if (!this.gateOpens) return false;
        const runs = this.transmitterRuns();
        // Stopped: TDR takes one byte if it is empty; any other waits out the TXE limit.
        if (!runs) return len <= 1 && (this.srNow() & USART_SR_TXE) !== 0;
        return ((len + 1) * this.usart.frameNs()) / this.world.clock.accessNs <= this.limit;
      }
      case "flush":
        return this.accessesUntilTc() <= this.limit;
      case "init": {
        const u = this.usart;
        if ((u.cr1 & (USART_CR1_UE | USART_CR1_TE)) !== (USART_CR1_UE | USART_CR1_TE)) return true;
        return this.accessesUntilTc() <= this.limit;
      }
      case "receive":
        return this.usart.frameNs() !== Infinity;
      default:
        return true;
    }
  }

  run(step: Step): void {
    if (this.runCommon(step) || this.runClock(step)) return;
    if (step.op === "receive") return this.receive(bytesOf(step, "data"), str(step, "error") as RxKind);
    this.setup();
    switch (step.op) {
      case "init": return this.init(step);
      case "write": return this.write(step);
      case "read": return this.read(step);
      case "flush": return this.flush(num(step, "base"));
      case "dma": return this.setDma(num(step, "base"), num(step, "flags"));
      default: throw new Error(`stm32f4-usart: unknown step ${step.op}`);
    }
  }

  private init(step: Step): void {
    const base = num(step, "base");
    const pclk = num(step, "pclk") === -1 ? this.board.rcc.busClockHz("apb1") : num(step, "pclk");
    const baud = num(step, "baud");
    const config = num(step, "config");
    const verdict = usartInitVerdict(base, pclk >>> 0, baud >>> 0, config >>> 0);
    const wasRunning = this.transmitterRuns();
    const ignoredBefore = this.usart.rxIgnored;
    const result = this.callBlock("stm32_usart_init", [base, pclk, baud, config]);
    if (verdict.status !== OK) {
      if (result !== verdict.status) this.fail("stm32_usart_init", `stm32_usart_init(pclk ${pclk >>> 0}, ${baud >>> 0} baud, config 0x${(config >>> 0).toString(16)}) returned ${showResult(result)}; RM0090 §30.3.4 and the 1 % tolerance call for ${showResult(verdict.status)}`);
      return;
    }
    if (!this.judged) return;
    if (result !== OK) this.fail("stm32_usart_init", `stm32_usart_init returned ${showResult(result)} for valid arguments`);
    const u = this.usart;
    if (u.brr !== verdict.brr) this.fail("stm32_usart_init", `BRR = 0x${u.brr.toString(16)}; ${pclk} Hz and ${baud} baud give 0x${verdict.brr.toString(16)} (RM0090 §30.3.4)`);
    const parity = config & STM32_USART_CONFIG_PARITY_MASK;
    const cr1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | ((config & STM32_USART_CONFIG_9_BITS) !== 0 ? USART_CR1_M : 0)
      | (parity !== 0 ? USART_CR1_PCE : 0) | (parity === STM32_USART_CONFIG_PARITY_ODD ? USART_CR1_PS : 0) | ((config & STM32_USART_CONFIG_OVER8) !== 0 ? USART_CR1_OVER8 : 0);
    const stop = ((config & STM32_USART_CONFIG_STOP_MASK) >>> STM32_USART_CONFIG_STOP_SHIFT) << USART_CR2_STOP_SHIFT;
    if (u.cr1 !== cr1 || (u.cr2 & USART_CR2_STOP_MASK) !== stop || u.cr2 !== stop || u.cr3 !== 0) {
      this.fail("stm32_usart_init", `config 0x${config.toString(16)} calls for CR1 0x${cr1.toString(16)}, CR2 0x${stop.toString(16)}, CR3 0; the USART has CR1 0x${u.cr1.toString(16)}, CR2 0x${u.cr2.toString(16)}, CR3 0x${u.cr3.toString(16)}`);
    }
    // Waiting for TC before the reconfiguration: every byte accepted has left.
    if (wasRunning) this.checkWire("stm32_usart_init", true);
    // 8 data bits with parity carry 7; 9 with parity, 8 (RM0090 §30.3.7).
    this.dataMask = (config & STM32_USART_CONFIG_9_BITS) === 0 && parity !== 0 ? 0x7f : 0xff;
    for (let i = u.wire.length; i < this.expectedWire.length; i++) this.expectedWire[i]!.mask &= this.dataMask;
    // Frames that came while CR1 was 0 were dropped by the USART.
    this.rxDiscarded += u.rxIgnored - ignoredBefore;
  }

  private write(step: Step): void {
    const data = bytesOf(step, "data");
    const len = data.length;
    const place = str(step, "at") as BufferPlace;
    const base = num(step, "base");
    const ptr = bufferPointer(place, len, this.world);
    if (bufferIsValid(place)) this.world.writeBytes(ptr, data);
    this.drWrites.length = 0;
    const runs = this.transmitterRuns();
    const tdrFree = (this.srNow() & USART_SR_TXE) !== 0;
    this.peAtDrWrite = false;
    const result = this.callBlock("stm32_usart_write", [base, ptr, len]);
    // PE is cleared by an SR read followed by a DR read *or write* (RM0090 §30.6.1): a write that
    // polls SR and writes DR while a received character waits with a parity error erases the
    // error, which the driver must then keep for the next read to report.
    if (this.judged && this.peAtDrWrite && (this.srNow() & USART_SR_PE) === 0) this.parityOwed = true;
    if ((base & 3) !== 0 || !bufferIsValid(place)) {
      if (result !== ERR_INVALID_ARG) this.fail("stm32_usart_write", `stm32_usart_write(${describeBuffer(place, len)}${(base & 3) !== 0 ? ", unaligned base" : ""}) returned ${showResult(result)}; expected ERR_INVALID_ARG`);
      return;
    }
    // Whatever the device said: exactly the bytes counted went to DR, once each, in order.
    const accepted = result === ERR_TIMEOUT ? 0 : result;
    const written = this.drWrites;
    if (written.length !== accepted || written.some((b, i) => b !== data[i])) {
      this.fail("stm32_usart_write", `stm32_usart_write returned ${showResult(result)} but wrote ${written.length} bytes to DR [${written.slice(0, 8).join(", ")}${written.length > 8 ? ", ..." : ""}]; it must write the first ${accepted} bytes of the buffer, once each, in order`);
    }
    if (!this.judged) return;
    // A stopped transmitter takes one byte into TDR; the next never gets TXE.
    const expected = runs ? len : len === 0 ? 0 : tdrFree ? 1 : ERR_TIMEOUT;
    if (result !== expected) this.fail("stm32_usart_write", `stm32_usart_write of ${len} bytes returned ${showResult(result)}; the transmitter ${runs ? "runs" : "is stopped"}: expected ${expected}`);
    for (let i = 0; i < accepted; i++) this.expectedWire.push({ byte: data[i]!, mask: this.dataMask });
  }

  private read(step: Step): void {
    const cap = num(step, "cap");
    const place = str(step, "at") as BufferPlace;
    const base = num(step, "base");
    const ptr = bufferPointer(place, cap, this.world);
    const result = this.readChecked(base, ptr, cap);
    if ((base & 3) !== 0 || !bufferIsValid(place)) {
      if (result !== ERR_INVALID_ARG) this.fail("stm32_usart_read", `stm32_usart_read(${describeBuffer(place, cap)}) returned ${showResult(result)}; expected ERR_INVALID_ARG`);
      return;
    }
    this.account("stm32_usart_read", result, result > 0 ? Array.from(this.world.bytes(ptr, result)) : []);
  }

  /** An overrun whose ORE a read cleared, still to be reported by a later read. */
  private overrunOwed = false;
  /** A parity error whose PE a write cleared, still to be reported by the next read. */
  private parityOwed = false;

  /**
   * stm32_usart_read, and the rule that a read which clears ORE (its SR-then-DR sequence,
   * RM0090 §30.6.1) reports ERR_RX_OVERRUN, at once or, after bytes, by the next read: else a
   * lost character goes unreported.
   */
  private readChecked(base: number, ptr: number, cap: number): number {
    const u = this.usart;
    const lostBefore = u.rxLost;
    const oreBefore = (this.srNow() & USART_SR_ORE) !== 0;
    const owed = this.overrunOwed;
    const result = this.callBlock("stm32_usart_read", [base, ptr, cap]);
    if (!this.judged || result === ERR_INVALID_ARG) return result;
    const consumed = (oreBefore || u.rxLost > lostBefore) && (this.srNow() & USART_SR_ORE) === 0;
    // Another receive error may come first (one error per call, framing before parity before
    // noise before overrun); a count or 0 while an overrun is owed loses it.
    const otherError = result === ERR_RX_FRAMING || result === ERR_RX_PARITY || result === ERR_RX_NOISE;
    if (this.parityOwed) {
      this.parityOwed = false;
      if (result !== ERR_RX_PARITY && result !== ERR_RX_FRAMING) {
        this.protocol("stm32_usart_read", `an earlier stm32_usart_write cleared PE of a received character (SR read, then DR write: RM0090 §30.6.1); this read returned ${showResult(result)}, not the ERR_RX_PARITY owed`);
      }
    }
    if (owed && result !== ERR_RX_OVERRUN && !otherError) {
      this.protocol("stm32_usart_read", `an earlier stm32_usart_read cleared ORE; this one returned ${showResult(result)}, not the ERR_RX_OVERRUN owed (RM0090 §30.6.1: the lost character goes unreported)`);
    } else if (!owed && consumed && result === 0) {
      this.protocol("stm32_usart_read", `stm32_usart_read cleared ORE (SR then DR, RM0090 §30.6.1) and returned ${showResult(result)}: the character lost to the overrun is never reported`);
    }
    this.overrunOwed = (owed || consumed) && result !== ERR_RX_OVERRUN && result !== 0;
    return result;
  }

  /** Matches what a read returned against the frames injected (file header). */
  private account(call: string, result: number, bytes: readonly number[]): void {
    if (!this.judged) return;
    for (const b of bytes) {
      let found = false;
      while (this.rxNext < this.rx.length) {
        const e = this.rx[this.rxNext++]!;
        if (e.kind === "none" && (e.data & 0xff) === b) {
          found = true;
          break;
        }
        this.rxSkipped.push(e);
      }
      if (!found) this.fail(call, `${call} returned byte ${b}, which is not the next of the frames injected [${this.rx.map((e) => (e.kind === "none" ? String(e.data) : `${e.data}:${e.kind}`)).join(", ")}]: a byte duplicated, invented or out of order`);
    }
    if (result === ERR_RX_OVERRUN) {
      this.overrunsReported++;
      if (this.usart.rxLost === 0) this.fail(call, `${call} returned ERR_RX_OVERRUN but no frame was lost to an overrun`);
    } else if (result < 0 && ERROR_KIND[result] !== undefined) {
      const kind = ERROR_KIND[result]!;
      const pooled = this.rxSkipped.findIndex((e) => e.kind === kind);
      if (pooled >= 0) this.rxSkipped.splice(pooled, 1);
      else {
        let found = false;
        while (this.rxNext < this.rx.length) {
          const e = this.rx[this.rxNext++]!;
          if (e.kind === kind) {
            found = true;
            break;
          }
          this.rxSkipped.push(e);
        }
        if (!found) this.fail(call, `${call} returned ${showResult(result)} but no frame with a ${kind} error was injected`);
      }
    }
  }

  private flush(base: number): void {
    const result = this.callBlock("stm32_usart_flush", [base]);
    if ((base & 3) !== 0) {
      if (result !== ERR_INVALID_ARG) this.fail("stm32_usart_flush", `stm32_usart_flush(unaligned base) returned ${showResult(result)}`);
      return;
    }
    if (!this.judged) return;
    if (result !== OK) this.fail("stm32_usart_flush", `stm32_usart_flush returned ${showResult(result)}; TC comes ${this.accessesUntilTc().toFixed(0)} accesses on`);
    this.checkWire("stm32_usart_flush", true);
  }

  private setDma(base: number, flags: number): void {
    const before = this.usart.cr3;
    const result = this.callBlock("stm32_usart_set_dma", [base, flags]);
    const valid = (base & 3) === 0 && (flags & ~(STM32_USART_DMA_TX | STM32_USART_DMA_RX)) === 0;
    if (!valid) {
      if (result !== ERR_INVALID_ARG) this.fail("stm32_usart_set_dma", `stm32_usart_set_dma(flags 0x${(flags >>> 0).toString(16)}) returned ${showResult(result)}; expected ERR_INVALID_ARG`);
      return;
    }
    if (!this.judged) return;
    const want = ((flags & STM32_USART_DMA_TX) !== 0 ? USART_CR3_DMAT : 0) | ((flags & STM32_USART_DMA_RX) !== 0 ? USART_CR3_DMAR : 0);
    const expected = (before & ~(USART_CR3_DMAT | USART_CR3_DMAR)) | want;
    if (result !== OK || this.usart.cr3 !== expected) this.fail("stm32_usart_set_dma", `stm32_usart_set_dma(flags ${flags}) returned ${showResult(result)} with CR3 0x${this.usart.cr3.toString(16)}; expected OK and 0x${expected.toString(16)}`);
  }

  private receive(data: readonly number[], kind: RxKind): void {
    if (kind === "none") this.usart.receive(data);
    else this.usart.receive(data, { error: kind });
    for (const d of data) this.rx.push({ data: d, kind });
  }

  /** Every accepted byte left TX exactly once, in order (its data bits); with `all`, every one has. */
  private checkWire(call: string | null, all: boolean): void {
    if (this.world.overridden) return;
    this.usart.update();
    const wire = this.usart.wire;
    const expected = this.expectedWire;
    let same = wire.length <= expected.length && (!all || wire.length === expected.length);
    for (let i = 0; same && i < wire.length; i++) same = (wire[i]! & expected[i]!.mask) === (expected[i]!.byte & expected[i]!.mask);
    if (!same) {
      const show = (xs: readonly number[]): string => `[${xs.slice(0, 12).join(", ")}${xs.length > 12 ? `, ... (${xs.length})` : ""}]`;
      this.fail(call, `TX carried ${show(wire)}; the driver accepted ${show(expected.map((e) => e.byte))}: every byte must leave exactly once, in order`);
    }
  }

  finish(): void {
    if (this.world.overridden) return;
    const u = this.usart;
    // Let every frame queued leave and every frame injected arrive.
    const frame = u.frameNs();
    // Frames injected keep the rate of when they were sent; wait until each has arrived.
    if (frame !== Infinity) {
      // A frame started at an earlier rate (an idle frame of the first init, before a second
      // init changed BRR) ends at that rate: wait for it first.
      const shiftEnd = u.shiftEndsAt;
      if (shiftEnd !== Infinity && shiftEnd > this.world.clock.now) this.world.bus.settle(shiftEnd - this.world.clock.now);
      this.world.bus.settle((this.expectedWire.length - u.wire.length + 3) * frame);
      for (let i = 0; i < 64 && u.rxPending > 0; i++) this.world.bus.settle(Math.max(frame, 10_000_000));
      this.world.bus.settle(2 * frame);
    }
    if (this.transmitterRuns()) this.checkWire(null, true);
    if (!this.judged || frame === Infinity) return;
    // Take what is still waiting, and any error owed, then account for every frame.
    for (let i = 0; i < 4; i++) {
      const ptr = this.world.scratch;
      const result = this.readChecked(this.region.base, ptr, 64);
      this.account("stm32_usart_read", result, result > 0 ? Array.from(this.world.bytes(ptr, result)) : []);
      if (result === 0) break;
    }
    if (this.world.overridden) return;
    const unexplained = this.rxSkipped.length + (this.rx.length - this.rxNext);
    const allowed = u.rxLost + u.rxIgnored + this.rxDiscarded;
    if (unexplained > allowed) {
      this.fail(null, `${unexplained} of the ${this.rx.length} frames injected were neither read back nor reported by an error (${u.rxLost} lost to overruns, ${u.rxIgnored + this.rxDiscarded} dropped with the receiver off)`);
    }
    if (u.rxLost > 0 && this.overrunsReported === 0) this.fail(null, `${u.rxLost} frame(s) were lost to an overrun (ORE) and no read returned ERR_RX_OVERRUN`);
  }
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const base = fc.oneof({ weight: 20, arbitrary: fc.constant(BASE) }, { weight: 1, arbitrary: fc.constantFrom(BASE + 1, BASE + 2) });
  const pclk = fc.oneof(
    // -1: the bus clock, as stm32_rcc_bus_clock_hz gives it.
    { weight: 10, arbitrary: fc.constant(-1) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1, 8_000_000, 42_000_000, 84_000_000, 0xffffffff) },
    { weight: 1, arbitrary: anyU32 },
  );
  const baud = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(115200, 230400, 460800, 921600, 1_000_000, 2_000_000) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1, 110, 9600, 57600, 1_500_000, 4_000_000, 0xffffffff) },
    { weight: 1, arbitrary: anyU32 },
  );
  const config = fc.oneof(
    { weight: 10, arbitrary: fc.record({ nine: fc.boolean(), parity: fc.constantFrom(0, STM32_USART_CONFIG_PARITY_EVEN, STM32_USART_CONFIG_PARITY_ODD), stop: fc.integer({ min: 0, max: 3 }), over8: fc.boolean() })
      .map((c) => (c.nine ? STM32_USART_CONFIG_9_BITS : 0) | c.parity | (c.stop << STM32_USART_CONFIG_STOP_SHIFT) | (c.over8 ? STM32_USART_CONFIG_OVER8 : 0)) },
    { weight: 1, arbitrary: fc.constantFrom(STM32_USART_CONFIG_PARITY_MASK, STM32_USART_CONFIG_VALID_MASK + 1, 0x80000000) },
    { weight: 1, arbitrary: anyU32 },
  );
  const init = fc.record({ base, pclk, baud, config }).map((i): Step => ({ op: "init", ...i }));
  const data = fc.uint8Array({ maxLength: 24, size: "max" }).map((a) => Array.from(a));
  const write = fc.record({ base, at: bufferSteps, data }).map((w): Step => ({ op: "write", ...w }));
  const read = fc.record({
    base, at: bufferSteps,
    cap: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 24 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 64, 4096) }),
  }).map((r): Step => ({ op: "read", ...r }));
  const flush = base.map((b): Step => ({ op: "flush", base: b }));
  const dma = fc.record({ base, flags: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: anyU32 }) }).map((d): Step => ({ op: "dma", ...d }));
  const receive = fc.record({
    data: fc.uint8Array({ minLength: 1, maxLength: 12, size: "max" }).map((a) => Array.from(a)),
    error: fc.oneof({ weight: 6, arbitrary: fc.constant("none") }, { weight: 1, arbitrary: fc.constantFrom("parity", "framing", "noise") }),
  }).map((r): Step => ({ op: "receive", data: r.data, error: r.error }));
  const respond = respondSteps(respondTargets({ region: REGION, block: USART_MAP }, [["SR", 4], ["DR", 2], ["CR1", 1]]), options);
  return fc.oneof(
    { weight: 4, arbitrary: init },
    { weight: 5, arbitrary: write },
    { weight: 4, arbitrary: read },
    { weight: 2, arbitrary: flush },
    { weight: 1, arbitrary: dma },
    { weight: 4, arbitrary: receive },
    { weight: 2, arbitrary: clockSteps },
    { weight: 1, arbitrary: clockTreeStep },
    { weight: 2, arbitrary: respond },
    { weight: 2, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step) ?? describeClockStep(step);
  if (common !== null) return common;
  const at = (b: number): string => (b === BASE ? "" : ` at base 0x${(b >>> 0).toString(16)}`);
  switch (step.op) {
    case "init": {
      const pclk = num(step, "pclk");
      return `stm32_usart_init(${pclk === -1 ? "the bus clock" : `${pclk >>> 0} Hz`}, ${num(step, "baud") >>> 0} baud, config 0x${(num(step, "config") >>> 0).toString(16)})${at(num(step, "base"))}`;
    }
    case "write": {
      const data = bytesOf(step, "data");
      return `stm32_usart_write(${data.length} bytes [${data.slice(0, 8).join(", ")}${data.length > 8 ? ", ..." : ""}], ${describeBuffer(str(step, "at") as BufferPlace, -1)})${at(num(step, "base"))}`;
    }
    case "read": return `stm32_usart_read(cap ${num(step, "cap")}, ${describeBuffer(str(step, "at") as BufferPlace, -1)})${at(num(step, "base"))}`;
    case "flush": return `stm32_usart_flush()${at(num(step, "base"))}`;
    case "dma": return `stm32_usart_set_dma(flags 0x${(num(step, "flags") >>> 0).toString(16)})${at(num(step, "base"))}`;
    case "receive": {
      const data = bytesOf(step, "data");
      const error = str(step, "error");
      return `the line delivers ${data.length} frame${data.length === 1 ? "" : "s"} [${data.slice(0, 8).join(", ")}${data.length > 8 ? ", ..." : ""}]${error === "none" ? "" : ` with ${error} errors`}`;
    }
    default: return JSON.stringify(step);
  }
}

export function stm32f4UsartTarget(options: TargetOptions = {}): Target {
  const target: Target = {
    name: "stm32f4-usart",
    title: "STM32F4 USART (USART2 of the STM32F405 board)",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new UsartSession(world, target, options),
    module: stm32f4Module(),
  };
  return target;
}
