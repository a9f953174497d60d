// Fuzz target: the PL022 SSP driver against the PL022 model with one slave on the bus. The slave
// answers every frame with the next value of a pseudo-random stream and logs what it received,
// so the simple model knows what a transfer must bring back: the slave's answers, in order.
import fc from "fast-check";
import { Pl022Model } from "../../devices/pl022.js";
import { SPI_ACCEPTS_ANY, type SpiSlave } from "../../devices/spi.js";
import {
  PL022_MAP, PL022_CR0, PL022_CR0_SCR_MASK, PL022_CR0_SCR_SHIFT, PL022_CR0_FRF_MASK, PL022_CR0_FRF_SHIFT,
  PL022_CR0_SPO, PL022_CR0_SPH, PL022_CR1, PL022_CR1_SSE, PL022_CR1_LBM, PL022_CR1_MS, PL022_CPSR,
  PL022_IMSC, PL022_RIS, PL022_RIS_ROR, PL022_DMACR,
} from "../../generated/pl022.js";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_RX_OVERRUN,
  PL022_CONFIG_BITS_MASK, PL022_CONFIG_CPHA, PL022_CONFIG_CPOL, PL022_CONFIG_MODE_MASK, PL022_CONFIG_FORMAT_MASK,
  PL022_CONFIG_FORMAT_SHIFT, PL022_CONFIG_FORMAT_MICROWIRE, PL022_CONFIG_LOOPBACK, PL022_CONFIG_VALID_MASK, PL022_FILL_FRAME,
} from "../../generated/api.js";
import type { World } from "../world.js";
import {
  FuzzFailure, Session, anyU32, argsOf, bytesOf, describeCommon, num, respondSteps, respondTargets, showResult, str, waitStep,
  type ExportSpec, type Step, type StepOptions, type Target,
} from "../target.js";
import { bufferIsValid, bufferPointer, bufferSteps, describeBuffer, type BufferPlace } from "./buffers.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "./pl011.js";

/** Where the board puts the SSP (ARM Versatile) and its reference clock. */
export const PL022_FUZZ_BASE = 0x101f4000;
export const PL022_FUZZ_SSPCLK = 24_000_000;

// Limits of assembly/pl022.ts.
const FRAME_POLL_LIMIT = 2 ** 18;
const FIFO_DEPTH = 8;
/** CPSDVSR is even, 2..254; SCR 0..255 (TRM 3.3.1, 3.3.5). */
const CPSDVSR_MIN = 2;
const CPSDVSR_MAX = 254;
const SCR_MAX = 255;

const EXPORTS: readonly ExportSpec[] = [
  // A read-modify-write of CR1, six writes and a DSB.
  { name: "pl022_init", statuses: [OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE], budget: () => 16 },
  // CR0, the drain (its idle polls, and two accesses per frame left in flight), then per frame at
  // most FRAME_POLL_LIMIT idle SR reads, the SR read, the DR write and the DR read; RIS and ICR.
  {
    name: "pl022_transfer", statuses: [ERR_INVALID_ARG, ERR_TIMEOUT, ERR_RX_OVERRUN], count: (a) => a[3]! >>> 0,
    budget: (a) => 1 + (FRAME_POLL_LIMIT + 4 * FIFO_DEPTH) + (a[3]! >>> 0) * (FRAME_POLL_LIMIT + 4) + 4,
    refusalAccesses: 1,
  },
];

/** A slave that answers each frame with the next value of a seeded stream (xorshift32). */
class StreamSlave implements SpiSlave {
  readonly accepts = SPI_ACCEPTS_ANY;
  /** Every exchange: what came in on MOSI, how many bits, what went out on MISO. */
  readonly log: { mosi: number; bits: number; miso: number }[] = [];
  private state = 1;

  restart(seed: number): void {
    this.state = (seed >>> 0) || 1;
    this.log.length = 0;
  }

  exchange(mosi: number, bits: number, _time: number): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    const miso = this.state & ((1 << bits) - 1);
    this.log.push({ mosi: mosi & ((1 << bits) - 1), bits, miso });
    return miso;
  }
}

/** What pl022_init should do with these arguments, from the TRM's rules alone (3.3.1, 3.3.5). */
function initVerdict(args: readonly number[]): { status: number; divisor: number; bits: number } {
  const [base, clk, rate, config] = args.map((a) => a >>> 0) as [number, number, number, number];
  const invalid = { status: ERR_INVALID_ARG, divisor: 0, bits: 0 };
  if ((base & 3) !== 0 || clk === 0 || rate === 0 || (config & ~PL022_CONFIG_VALID_MASK) !== 0) return invalid;
  const bits = (config & PL022_CONFIG_BITS_MASK) === 0 ? 8 : config & PL022_CONFIG_BITS_MASK;
  if (bits < 4 || bits > 16) return invalid;
  const format = (config & PL022_CONFIG_FORMAT_MASK) >>> PL022_CONFIG_FORMAT_SHIFT;
  if (format === 3 || (format !== 0 && (config & PL022_CONFIG_MODE_MASK) !== 0)) return invalid;
  // The highest rate not above the request: the smallest divisor CPSDVSR x (1 + SCR) that is at
  // least SSPCLK / rate, over every even prescaler.
  const needed = Math.ceil(clk / rate);
  let best = Infinity;
  for (let p = CPSDVSR_MIN; p <= CPSDVSR_MAX; p += 2) {
    const r = Math.max(1, Math.ceil(needed / p));
    if (r <= SCR_MAX + 1) best = Math.min(best, p * r);
  }
  if (best === Infinity) return { status: ERR_UNREACHABLE_RATE, divisor: 0, bits };
  return { status: OK, divisor: best, bits };
}

class Pl022Session extends Session {
  readonly ssp: Pl022Model;
  readonly slave = new StreamSlave();
  private readonly limit: number;

  // The simple model: the frame format of the last successful init.
  private configured = false;
  private bits = 8;
  private format = 0;
  private loopback = false;
  private busyStuck = false;
  private slaveSeed = 1;

  constructor(world: World, target: Target, options: { stepAccessLimit?: number }) {
    super(world, target);
    this.limit = options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT;
    this.ssp = new Pl022Model({ clock: world.clock, sspclkHz: PL022_FUZZ_SSPCLK });
    const device = world.mapDevice("ssp0", PL022_FUZZ_BASE, PL022_MAP.size, this.ssp, PL022_MAP);
    device.onWrite = (offset, value) => this.watchWrite(offset, value);
    this.ssp.attach(this.slave);
    this.ssp.select(this.slave);
  }

  /** docs/primecell.md 2.5, TRM configuration order: CR0 and CPSR are programmed with SSE = 0, and MS
   * changes only while SSE = 0. */
  private watchWrite(offset: number, value: number): void {
    if (offset !== PL022_CR0 && offset !== PL022_CPSR && offset !== PL022_CR1) return;
    const cr1 = this.ssp.read(PL022_CR1, 4);
    if ((cr1 & PL022_CR1_SSE) === 0) return;
    if (offset === PL022_CR1) {
      if (((cr1 ^ value) & PL022_CR1_MS) !== 0) this.violate(`CR1.MS changed while SSE is set (MS may change only while SSE = 0)`);
      return;
    }
    this.violate(`${offset === PL022_CR0 ? "CR0" : "CPSR"} written while SSE is set (program the port with SSE = 0, then enable it)`);
  }

  reset(): void {
    this.ssp.reset();
    this.ssp.faults.busyStuck = false;
    this.ssp.framesShifted = this.ssp.overruns = this.ssp.txDropped = this.ssp.peakInFlight = 0;
    this.slaveSeed = 1;
    this.slave.restart(this.slaveSeed);
    this.configured = false;
    this.bits = 8;
    this.format = 0;
    this.loopback = false;
    this.busyStuck = false;
  }

  private get consistent(): boolean {
    return !this.world.overridden;
  }

  check(step: Step): boolean {
    if (step.op !== "transfer" || !this.configured) return true;
    // A slow bit rate makes a long transfer crawl: skip what would exceed the step limit.
    const rate = this.ssp.bitRateHz;
    if (rate === 0) return true;
    const wireBits = this.format === 2 ? 9 + this.bits : this.bits;
    const ns = ((transferLength(step) + 1) * wireBits * 1e9) / rate;
    return ns / this.world.clock.accessNs <= this.limit;
  }

  run(step: Step): void {
    if (this.runCommon(step)) return;
    switch (step.op) {
      case "init": return this.init(argsOf(step));
      case "transfer": return this.transfer(step);
      case "fault":
        this.busyStuck = step["on"] === true;
        this.ssp.faults.busyStuck = this.busyStuck;
        return;
      case "slave":
        this.slaveSeed = num(step, "seed");
        this.slave.restart(this.slaveSeed);
        return;
      default: throw new Error(`pl022: unknown step ${step.op}`);
    }
  }

  private init(args: readonly number[]): void {
    const verdict = initVerdict(args);
    const result = this.call("pl022_init", args);
    if (result !== verdict.status) this.fail("pl022_init", `pl022_init(${args.join(", ")}) returned ${showResult(result)}; the arguments call for ${showResult(verdict.status)}`);
    if (result !== OK || !this.consistent) return;
    const config = args[3]! >>> 0;
    const cr0 = this.ssp.read(PL022_CR0, 4);
    const cr1 = this.ssp.read(PL022_CR1, 4);
    const cpsr = this.ssp.read(PL022_CPSR, 4);
    const divisor = cpsr * (1 + ((cr0 & PL022_CR0_SCR_MASK) >>> PL022_CR0_SCR_SHIFT));
    if (divisor !== verdict.divisor) {
      this.fail("pl022_init", `CPSDVSR ${cpsr} x (1 + SCR) = ${divisor}; the highest rate not above ${args[2]} Hz from ${args[1]} Hz needs ${verdict.divisor} (TRM 3.3.1)`);
    }
    const format = (config & PL022_CONFIG_FORMAT_MASK) >>> PL022_CONFIG_FORMAT_SHIFT;
    const wantCr0Mode = ((config & PL022_CONFIG_CPOL) !== 0 ? PL022_CR0_SPO : 0) | ((config & PL022_CONFIG_CPHA) !== 0 ? PL022_CR0_SPH : 0);
    const loopback = (config & PL022_CONFIG_LOOPBACK) !== 0;
    const problems: string[] = [];
    if (this.ssp.dataBits !== verdict.bits) problems.push(`${this.ssp.dataBits} data bits instead of ${verdict.bits}`);
    if ((cr0 & PL022_CR0_FRF_MASK) >>> PL022_CR0_FRF_SHIFT !== format) problems.push(`frame format ${(cr0 & PL022_CR0_FRF_MASK) >>> PL022_CR0_FRF_SHIFT} instead of ${format}`);
    if ((cr0 & (PL022_CR0_SPO | PL022_CR0_SPH)) !== wantCr0Mode) problems.push(`SPO/SPH 0x${(cr0 & (PL022_CR0_SPO | PL022_CR0_SPH)).toString(16)} instead of 0x${wantCr0Mode.toString(16)}`);
    if ((cr1 & PL022_CR1_SSE) === 0) problems.push("SSE clear");
    if ((cr1 & PL022_CR1_MS) !== 0) problems.push("slave mode");
    if (((cr1 & PL022_CR1_LBM) !== 0) !== loopback) problems.push(`loopback ${loopback ? "off" : "on"}`);
    // The driver polls (its comment): every interrupt masked, a stale overrun cleared (ROR is
    // sticky until ICR clears it, TRM 3.3.9; no frame can overrun in the accesses after the
    // clear), the DMA request lines released.
    const imsc = this.ssp.read(PL022_IMSC, 4);
    if (imsc !== 0) problems.push(`IMSC 0x${imsc.toString(16)} instead of 0 (every interrupt masked)`);
    if ((this.ssp.read(PL022_RIS, 4) & PL022_RIS_ROR) !== 0) problems.push("RIS.ROR still set (a stale overrun not cleared through ICR)");
    const dmacr = this.ssp.read(PL022_DMACR, 4);
    if (dmacr !== 0) problems.push(`DMACR 0x${dmacr.toString(16)} instead of 0`);
    if (problems.length > 0) this.fail("pl022_init", `after pl022_init(config 0x${config.toString(16)}): ${problems.join(", ")}`);
    // The enable may still be in flight on a posted bus (the driver's comment): a DSB before the
    // caller drives a chip select.
    if (!this.callMadeDsb) throw new FuzzFailure("protocol", "pl022_init enabled the SSP and returned without a DSB: on a posted bus the enable may not have reached the SSP when the caller drives a chip select and starts a transfer", "pl022_init");
    this.configured = true;
    this.bits = verdict.bits;
    this.format = format;
    this.loopback = loopback;
  }

  private transfer(step: Step): void {
    const frames = transferFrames(step);
    const len = frames.length;
    const base = num(step, "base");
    const hasTx = step["tx"] === true;
    const hasRx = step["rx"] === true;
    const place = str(step, "at") as BufferPlace;
    const wide = this.bits > 8;
    const bytes = wide ? 2 * len : len;
    // The place applies to the transmit buffer, or to the receive buffer when there is none.
    const placed = bufferPointer(place, bytes, this.world);
    const half = this.world.scratch + (this.world.scratchSize >>> 1);
    const txPtr = hasTx ? placed : 0;
    const rxPtr = hasRx ? (hasTx ? half : placed) : 0;
    if (hasTx && bufferIsValid(place)) {
      const out = this.world.bytes(txPtr, bytes);
      for (let i = 0; i < len; i++) {
        if (wide) {
          out[2 * i] = frames[i]! & 0xff;
          out[2 * i + 1] = frames[i]! >>> 8;
        } else {
          out[i] = frames[i]! & 0xff;
        }
      }
    }
    const logBefore = this.slave.log.length;
    this.world.markMemory();
    const result = this.call("pl022_transfer", [base, txPtr, rxPtr, len]);
    // Whatever the SSP answered, the driver stores received frames in the rx buffer (up to two
    // bytes a frame) and nowhere else; with rx_ptr 0 it drops them.
    this.checkWroteOnlyRx("pl022_transfer", `pl022_transfer(${len} frames)`, rxPtr, Math.min(this.world.memorySize, rxPtr + 2 * len));
    // The base and a buffer of one byte per frame are checked before any access; the frame size
    // (and with it a buffer of two bytes per frame) only once CR0 has been read.
    const narrowPlace = wide && place === "past" && len > 0 ? "end" : place;
    const refusedFirst = (base & 3) !== 0 || ((hasTx || hasRx) && !bufferIsValid(narrowPlace as BufferPlace));
    const refusedAfterCr0 = ((hasTx || hasRx) && !bufferIsValid(place)) || (!this.configured && len > 0);
    if (refusedFirst || (this.consistent && refusedAfterCr0)) {
      if (result !== ERR_INVALID_ARG) this.fail("pl022_transfer", `pl022_transfer(${len} frames, ${describeBuffer(place, bytes)}${this.configured ? "" : ", port never configured"}) returned ${showResult(result)}; expected ERR_INVALID_ARG`);
      return;
    }
    if (!this.consistent) return;
    const expected = len === 0 ? 0 : this.busyStuck ? ERR_TIMEOUT : len;
    if (result !== expected) this.fail("pl022_transfer", `pl022_transfer of ${len} frames returned ${showResult(result)}; expected ${showResult(expected)}`);
    if (this.ssp.overruns !== 0) this.fail("pl022_transfer", `the RX FIFO overran ${this.ssp.overruns} times: more frames were in flight than it holds`);
    if (this.ssp.txDropped !== 0) this.fail("pl022_transfer", `${this.ssp.txDropped} DR writes found the TX FIFO full and were lost`);
    if (result !== len || len === 0) return;
    const mask = 2 ** this.bits - 1;
    const sent = frames.map((f) => (hasTx ? f : PL022_FILL_FRAME) & mask);
    let answers: number[];
    if (this.loopback) {
      answers = sent;
      if (this.slave.log.length !== logBefore) this.fail("pl022_transfer", `in loopback the slave saw ${this.slave.log.length - logBefore} exchanges`);
    } else {
      const log = this.slave.log.slice(logBefore);
      // A Microwire frame is two exchanges: the 8-bit command, then the reply (PL022 TRM 2.x).
      const microwire = this.format === PL022_CONFIG_FORMAT_MICROWIRE >>> PL022_CONFIG_FORMAT_SHIFT;
      const perFrame = microwire ? 2 : 1;
      if (log.length !== len * perFrame) this.fail("pl022_transfer", `the slave saw ${log.length} exchanges for ${len} frames`);
      const got = log.filter((_, i) => i % perFrame === 0).map((e) => e.mosi);
      const want = sent.map((f) => (microwire ? f & 0xff : f));
      if (got.some((v, i) => v !== want[i])) this.fail("pl022_transfer", `the slave received [${got.join(", ")}]; the driver was given [${want.join(", ")}]`);
      answers = log.filter((_, i) => i % perFrame === perFrame - 1).map((e) => e.miso & mask);
    }
    if (!hasRx) return;
    const rx = this.world.bytes(rxPtr, bytes);
    const received: number[] = [];
    for (let i = 0; i < len; i++) received.push(wide ? rx[2 * i]! | (rx[2 * i + 1]! << 8) : rx[i]!);
    if (received.some((v, i) => v !== answers[i])) {
      this.fail("pl022_transfer", `pl022_transfer stored [${received.join(", ")}]; the slave answered [${answers.join(", ")}]`);
    }
  }

  finish(): void {
    if (!this.consistent) return;
    if (this.ssp.overruns !== 0) this.fail(null, `the RX FIFO overran ${this.ssp.overruns} times`);
  }
}

function transferFrames(step: Step): readonly number[] {
  return bytesOf(step, "frames");
}

function transferLength(step: Step): number {
  return transferFrames(step).length;
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const base = fc.oneof({ weight: 15, arbitrary: fc.constant(PL022_FUZZ_BASE) }, { weight: 1, arbitrary: fc.constantFrom(PL022_FUZZ_BASE + 2) });
  const clock = fc.oneof({ weight: 8, arbitrary: fc.constant(PL022_FUZZ_SSPCLK) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 2, 0xffffffff) }, { weight: 1, arbitrary: anyU32 });
  const rate = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(100_000, 400_000, 1_000_000, 4_000_000, 12_000_000, 24_000_000) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1, 368, 369, 1000, 0xffffffff) },
    { weight: 1, arbitrary: anyU32 },
  );
  const config = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({ bits: fc.constantFrom(0, 4, 7, 8, 9, 12, 16), mode: fc.integer({ min: 0, max: 3 }), format: fc.integer({ min: 0, max: 2 }), loopback: fc.boolean() })
        .map((c) => c.bits | (c.format === 0 ? c.mode << 5 : 0) | (c.format << PL022_CONFIG_FORMAT_SHIFT) | (c.loopback ? PL022_CONFIG_LOOPBACK : 0)),
    },
    { weight: 1, arbitrary: fc.constantFrom(1, 3, 17, 31, 0x180, 0x80 | PL022_CONFIG_CPHA, 0x400) },
    { weight: 1, arbitrary: anyU32 },
  );
  const init = fc.tuple(base, clock, rate, config).map(([b, c, r, f]): Step => ({ op: "init", args: [b, c, r, f] }));
  const transfer = fc.record({
    base, at: bufferSteps,
    frames: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 24, size: "max" }),
    tx: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rx: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  }).map((t): Step => ({ op: "transfer", base: t.base, at: t.at, frames: t.frames, tx: t.tx, rx: t.rx }));
  const fault = fc.boolean().map((on): Step => ({ op: "fault", fault: "busyStuck", on }));
  const slave = fc.integer({ min: 1, max: 0xffffffff }).map((seed): Step => ({ op: "slave", seed }));
  const respond = respondSteps(respondTargets({ region: "ssp0", block: PL022_MAP }, [["SR", 4], ["DR", 2], ["RIS", 2], ["CR0", 1], ["CR1", 1]]), options);
  return fc.oneof(
    { weight: 4, arbitrary: init },
    { weight: 6, arbitrary: transfer },
    { weight: 1, arbitrary: fault },
    { weight: 1, arbitrary: slave },
    { weight: 3, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step);
  if (common !== null) return common;
  const baseNote = (b: number): string => (b === PL022_FUZZ_BASE ? "" : ` at base 0x${b.toString(16)}`);
  switch (step.op) {
    case "init": {
      const [b, clk, rate, config] = argsOf(step);
      return `pl022_init(clock ${clk}, ${rate} Hz, config 0x${(config! >>> 0).toString(16)})${baseNote(b!)}`;
    }
    case "transfer": {
      const frames = transferFrames(step);
      return `pl022_transfer(${frames.length} frame${frames.length === 1 ? "" : "s"} [${frames.slice(0, 6).join(", ")}${frames.length > 6 ? ", ..." : ""}]${step["tx"] === true ? "" : ", no tx buffer"}${step["rx"] === true ? "" : ", no rx buffer"}, ${describeBuffer(str(step, "at") as BufferPlace, -1)})${baseNote(num(step, "base"))}`;
    }
    case "fault": return `fault: SSP shifter ${step["on"] === true ? "hangs (BSY stuck)" : "works again"}`;
    case "slave": return `slave answers from seed ${num(step, "seed")}`;
    default: return JSON.stringify(step);
  }
}

export function pl022Target(options: { stepAccessLimit?: number } = {}): Target {
  const target: Target = {
    name: "pl022",
    title: "PL022 SSP (SPI master)",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new Pl022Session(world, target, options),
  };
  return target;
}
