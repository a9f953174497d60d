// Fuzz target: the PL011 UART driver against the PL011 model. The simple model keeps what a test
// would write down by hand: the bytes accepted so far (each must leave TXD exactly once, in
// order), the characters that arrived and the error the driver owes the next read.
import fc from "fast-check";
import { Pl011Model } from "../../devices/pl011.js";
import * as pl011Map from "../../generated/pl011.js";
import * as api from "../../generated/api.js";
import type { World } from "../world.js";
import type { FuzzDevice } from "../device.js";
import {
  FuzzFailure, Session, anyU32, argsOf, bytesOf, describeCommon, num, respondSteps, respondTargets, showResult, str, waitStep,
  type ExportSpec, type Step, type StepOptions, type Target,
} from "../target.js";
import { bufferPointer, bufferSteps, describeBuffer, type BufferPlace } from "./buffers.js";

// The map's and the API's constants as this module's own, folded into the code that uses them (an
// imported binding is loaded from its cell and checked at every use: watchWrite runs per write).
const { PL011_MAP, PL011_LCR_H, PL011_IBRD, PL011_FBRD, PL011_CR, PL011_CR_UARTEN, PL011_CR_TXE, PL011_CR_RXE, PL011_IMSC, PL011_DR, PL011_DR_OE, PL011_DR_BE, PL011_DR_PE, PL011_DR_FE } = pl011Map;
const {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_RX_OVERRUN, ERR_RX_BREAK, ERR_RX_PARITY, ERR_RX_FRAMING,
  PL011_CONFIG_VALID_MASK, PL011_CONFIG_PARITY_MASK, PL011_CONFIG_PARITY_SPACE, PL011_CONFIG_DATA_MASK,
  PL011_CONFIG_STOP_2, PL011_CONFIG_FIFO_OFF,
} = api;

/** Where the board puts the UART (ARM Versatile) and its reference clock. */
export const PL011_FUZZ_BASE = 0x101f1000;
export const PL011_FUZZ_UARTCLK = 24_000_000;

// Poll limits of assembly/pl011.ts, in FR reads: the budgets below are built from them.
const TX_POLL_LIMIT = 2 ** 20;
const IDLE_POLL_LIMIT = 2 ** 22;

const EXPORTS: readonly ExportSpec[] = [
  // CR read, two idle waits, nine writes and a DSB (assembly/pl011.ts pl011_init).
  { name: "pl011_init", statuses: [OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT], budget: () => 2 * IDLE_POLL_LIMIT + 16 },
  // Per byte: a bounded wait for room, then the DR write.
  { name: "pl011_write", statuses: [ERR_INVALID_ARG, ERR_TIMEOUT], count: (a) => a[2]! >>> 0, budget: (a) => (a[2]! >>> 0) * (TX_POLL_LIMIT + 1) + 4 },
  // Per byte: FR and DR reads; an error adds the ECR write. No waiting.
  { name: "pl011_read", statuses: [ERR_INVALID_ARG, ERR_RX_OVERRUN, ERR_RX_BREAK, ERR_RX_PARITY, ERR_RX_FRAMING], count: (a) => a[2]! >>> 0, budget: (a) => 2 * (a[2]! >>> 0) + 4 },
  { name: "pl011_flush", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => IDLE_POLL_LIMIT + 4 },
];

/** The largest and smallest divisor, TRM 3.3.6. */
const IBRD_MAX = 0xffff;

/** What pl011_init should do with these arguments, by the TRM alone (3.3.6, Table 3-11). */
function initVerdict(args: readonly number[]): { status: number; ibrd: number; fbrd: number } {
  const base = args[0]! >>> 0, clk = args[1]! >>> 0, baud = args[2]! >>> 0, config = args[3]! >>> 0;
  const invalid = { status: ERR_INVALID_ARG, ibrd: 0, fbrd: 0 };
  if ((base & 3) !== 0 || clk === 0 || baud === 0) return invalid;
  if ((config & ~PL011_CONFIG_VALID_MASK) !== 0 || (config & PL011_CONFIG_PARITY_MASK) > PL011_CONFIG_PARITY_SPACE) return invalid;
  // BAUDDIV = UARTCLK / (16 x baud); FBRD is the fraction in 64ths, rounded to nearest.
  const sixtyFourths = Math.round((4 * clk) / baud);
  const ibrd = Math.floor(sixtyFourths / 64);
  const fbrd = sixtyFourths % 64;
  if (ibrd < 1 || ibrd > IBRD_MAX || (ibrd === IBRD_MAX && fbrd !== 0)) return { status: ERR_UNREACHABLE_RATE, ibrd, fbrd };
  return { status: OK, ibrd, fbrd };
}

const PARITY_NAMES = ["none", "odd", "even", "one", "zero"] as const;

type UartFault = "busyStuck" | "txFullStuck" | "rxEmptyStuck";
const FAULTS: readonly UartFault[] = ["busyStuck", "txFullStuck", "rxEmptyStuck"];

/** One received character as the simple model keeps it. */
interface Arrived {
  data: number;
  errors: number;
}

export interface Pl011TargetOptions {
  /** Steps predicted to need more accesses than this are skipped (a slow baud rate, a long
   * write): they are correct but would make a run crawl. */
  readonly stepAccessLimit?: number;
}

class Pl011Session extends Session {
  readonly uart: Pl011Model;
  readonly device: FuzzDevice;
  private readonly limit: number;

  // The simple model.
  private enabled = false;
  private dataBits = 8;
  /** FEN as the driver last set it; LCR_H resets to 0 (FIFOs off). */
  private fifos = false;
  private capacity = 1;
  /** The bytes owed to TXD: the first `expectedCount` entries (counted, not emptied: a reset
   * per execution allocates nothing). */
  private readonly expectedWire: number[] = [];
  private expectedCount = 0;
  private readonly arrived: Arrived[] = [];
  private pending = OK;
  private readonly faults = new Set<UartFault>();

  constructor(world: World, target: Target, options: Pl011TargetOptions) {
    super(world, target);
    this.limit = options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT;
    this.uart = new Pl011Model({ clock: world.clock, uartclkHz: PL011_FUZZ_UARTCLK });
    this.device = world.mapDevice("uart0", PL011_FUZZ_BASE, PL011_MAP.size, this.uart, PL011_MAP);
    this.device.onWrite = (offset, value) => this.watchWrite(offset, value);
  }

  /** Bytes the driver wrote to DR during the current call. */
  private readonly drWrites: number[] = [];
  /** Entries of drWrites made in the current call. */
  private drCount = 0;

  /** TRM 3.3.7 note (docs/primecell.md 1.6 item 2): LCR_H, IBRD and FBRD are not changed while the UART
   * is enabled, nor while a character is still completing after a disable. */
  private watchWrite(offset: number, value: number): void {
    if (offset === PL011_DR) {
      this.drWrites[this.drCount++] = value;
      return;
    }
    if (offset !== PL011_LCR_H && offset !== PL011_IBRD && offset !== PL011_FBRD) return;
    const name = offset === PL011_LCR_H ? "LCR_H" : offset === PL011_IBRD ? "IBRD" : "FBRD";
    if ((this.uart.read(PL011_CR, 4) & PL011_CR_UARTEN) !== 0) this.violate(`${name} written while UARTEN is set (TRM 3.3.7: disable the UART first)`);
    // Only while the model's state is what the driver saw: a replaced FR read may hide BUSY.
    else if (this.consistent && this.uart.transmitting) this.violate(`${name} written while a character is still being sent (TRM 3.3.7: wait for BUSY to clear)`);
  }

  reset(): void {
    const uart = this.uart;
    uart.reset();
    uart.clearWire();
    uart.txDropped = 0;
    uart.rxLost = 0;
    uart.rxIgnored = 0;
    uart.faults.busyStuck = uart.faults.txFullStuck = uart.faults.rxEmptyStuck = false;
    this.enabled = false;
    this.dataBits = 8;
    this.fifos = false;
    this.capacity = 1;
    this.expectedCount = 0;
    if (this.arrived.length !== 0) this.arrived.length = 0;
    this.pending = OK;
    if (this.faults.size !== 0) this.faults.clear();
  }

  /** The model's state still tells what the driver saw (no read was replaced). */
  private get consistent(): boolean {
    return !this.world.overridden;
  }

  /** Characters still to leave TXD, and how long each takes; Infinity while nothing moves. */
  private drainAccesses(extra: number): number {
    const queued = this.uart.txFifoLevel + (this.uart.transmitting ? 1 : 0) + extra;
    if (queued === 0) return 0;
    const frame = this.uart.frameTimeNs();
    if (!this.transmitterRuns()) return Infinity;
    return (queued * frame) / this.world.clock.accessNs;
  }

  /** The transmitter shifts characters out: the driver enabled it with a valid divisor. */
  private transmitterRuns(): boolean {
    return this.enabled && this.uart.frameTimeNs() !== Infinity;
  }

  check(step: Step): boolean {
    switch (step.op) {
      case "write": {
        const len = writeLength(step, dataOf(step), this.world);
        // A running transmitter takes the first byte into its shift register at once.
        const shifter = this.transmitterRuns() && !this.uart.transmitting ? 1 : 0;
        const room = this.capacity + shifter - this.uart.txFifoLevel;
        const waits = Math.max(0, len - room);
        return waits === 0 || this.drainAccesses(waits) <= this.limit;
      }
      case "flush":
        return this.drainAccesses(0) <= this.limit;
      case "init": {
        // With the UART enabled the driver first waits for the transmitter to drain; disabled,
        // characters left in the FIFO keep BUSY set and the wait runs to its limit.
        const verdict = initVerdict(initArgsOf(step));
        if (verdict.status !== OK) return true;
        const queued = this.uart.txFifoLevel + (this.uart.transmitting ? 1 : 0);
        if (queued === 0) return true;
        // Disabled with characters queued, BUSY never clears and the wait runs to its limit.
        return (this.enabled ? this.drainAccesses(0) : IDLE_POLL_LIMIT) <= this.limit;
      }
      default:
        return true;
    }
  }

  run(step: Step): void {
    if (this.runCommon(step)) return;
    switch (step.op) {
      case "init": return this.init(initArgsOf(step));
      case "write": return this.write(step);
      case "read": return this.read(step);
      case "flush": return this.flush(num(step, "base"));
      case "receive": return this.receive(bytesOf(step, "data"), str(step, "error"));
      case "fault": return this.fault(str(step, "fault") as UartFault, step["on"] === true);
      default: throw new Error(`pl011: unknown step ${step.op}`);
    }
  }

  private init(args: readonly number[]): void {
    const verdict = initVerdict(args);
    const wasEnabled = this.enabled;
    // Characters queued while the transmitter was stopped (written before any pl011_init) can
    // never leave: pl011_init flushes them (TRM 3.3.8 step 3), so they are not owed to the wire.
    const stoppedAt = this.enabled ? null : this.uart.wireLength;
    const result = this.call("pl011_init", args);
    if (verdict.status !== OK) {
      if (result !== verdict.status) this.fail("pl011_init", `pl011_init(${args.join(", ")}) returned ${showResult(result)}; the arguments call for ${showResult(verdict.status)} (TRM 3.3.6)`);
      return;
    }
    if (!this.consistent) return;
    if (result === ERR_TIMEOUT) {
      if (!this.faults.has("busyStuck")) this.fail("pl011_init", `pl011_init returned ERR_TIMEOUT with no fault holding BUSY (${this.uart.txFifoLevel} characters queued, transmitter ${this.transmitterRuns() ? "running" : "stopped"})`);
      // The first wait comes before the disable; the second after it.
      if (!wasEnabled) this.enabled = false;
      return;
    }
    if (result !== OK) this.fail("pl011_init", `pl011_init returned ${showResult(result)} for valid arguments`);
    const config = args[3]! >>> 0;
    const latched = this.uart.latchedDivisor;
    if (latched.ibrd !== verdict.ibrd || latched.fbrd !== verdict.fbrd) {
      this.fail("pl011_init", `the UART latched IBRD=${latched.ibrd} FBRD=${latched.fbrd}; TRM 3.3.6 gives IBRD=${verdict.ibrd} FBRD=${verdict.fbrd} for ${args[1]} Hz and ${args[2]} baud`);
    }
    const format = this.uart.frameFormat;
    const dataBits = 8 - (config & PL011_CONFIG_DATA_MASK);
    const parity = PARITY_NAMES[(config & PL011_CONFIG_PARITY_MASK) >>> 2]!;
    const stopBits = (config & PL011_CONFIG_STOP_2) !== 0 ? 2 : 1;
    const fifos = (config & PL011_CONFIG_FIFO_OFF) === 0;
    if (format.dataBits !== dataBits || format.parity !== parity || format.stopBits !== stopBits || format.fifos !== fifos || format.sendBreak) {
      this.fail("pl011_init", `config 0x${config.toString(16)} asks for ${dataBits} data bits, ${parity} parity, ${stopBits} stop bits, FIFOs ${fifos ? "on" : "off"}; LCR_H says ${format.dataBits}, ${format.parity}, ${format.stopBits}, FIFOs ${format.fifos ? "on" : "off"}${format.sendBreak ? ", BRK" : ""}`);
    }
    const cr = this.uart.read(PL011_CR, 4);
    const enables = PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE;
    if ((cr & enables) !== enables) this.fail("pl011_init", `after pl011_init CR is 0x${cr.toString(16)}: UARTEN, TXE and RXE must be set`);
    // The driver polls (its header): every interrupt source masked.
    const imsc = this.uart.read(PL011_IMSC, 4);
    if (imsc !== 0) this.fail("pl011_init", `after pl011_init IMSC is 0x${imsc.toString(16)}; a polled UART has every interrupt masked (IMSC 0)`);
    // The enable may still be in flight on a posted bus when the call returns: the driver ends with
    // a DSB so that the caller, or a DMA controller it starts next, finds the UART enabled.
    if (!this.callMadeDsb) throw new FuzzFailure("protocol", "pl011_init enabled the UART and returned without a DSB: on a posted bus the enable may not have reached the UART when the caller (or a DMA controller it starts next) relies on it", "pl011_init");
    // Clearing FEN flushed both FIFOs (TRM 3.3.8); with FEN already clear nothing was flushed,
    // unless the transmitter was stopped with characters queued: then the driver sets and clears
    // FEN to flush them.
    if (this.fifos && this.arrived.length !== 0) this.arrived.length = 0;
    if (stoppedAt !== null && this.expectedCount > stoppedAt) {
      this.expectedCount = stoppedAt;
      this.arrived.length = 0;
    }
    this.enabled = true;
    this.dataBits = dataBits;
    this.fifos = fifos;
    this.capacity = fifos ? this.uart.fifoDepth : 1;
    this.checkWire("pl011_init", true);
  }

  /** pl011_write's arguments, reused: the world copies what it keeps of them (Trace.beginCall). */
  private readonly writeArgs = [0, 0, 0];

  private write(step: Step): void {
    const given = dataOf(step);
    const len = writeLength(step, given, this.world);
    const data = writeData(given, len);
    const at = step["at"], b = step["base"];
    const place = (typeof at === "string" ? at : str(step, "at")) as BufferPlace;
    const base = typeof b === "number" ? b : num(step, "base");
    const ptr = bufferPointer(place, len, this.world);
    if (place === "scratch" || place === "end") this.world.writeBytes(ptr, data);
    this.drCount = 0;
    const args = this.writeArgs;
    args[0] = base;
    args[1] = ptr;
    args[2] = len;
    const result = this.call("pl011_write", args);
    const valid = (base & 3) === 0 && (place === "scratch" || place === "end");
    if (!valid) {
      if (result !== ERR_INVALID_ARG) this.fail("pl011_write", `pl011_write(${describeBuffer(place, len)}) returned ${showResult(result)}; the buffer lies outside linear memory`);
      return;
    }
    // Whatever the device said, the driver wrote exactly the bytes it counts, in order.
    const accepted = result === ERR_TIMEOUT ? 0 : result;
    const written = this.drWrites;
    const count = this.drCount;
    let same = count === accepted;
    for (let i = 0; same && i < accepted; i++) same = written[i] === data[i];
    if (!same) {
      this.fail("pl011_write", `pl011_write returned ${showResult(result)} but wrote ${count} bytes to DR [${written.slice(0, Math.min(count, 8)).join(", ")}${count > 8 ? ", ..." : ""}]; it must write the first ${accepted} bytes of the buffer, once each, in order`);
    }
    if (!this.consistent) return;
    const stuck = this.faults.has("txFullStuck");
    const expected = stuck ? (len === 0 ? 0 : ERR_TIMEOUT) : len;
    if (result !== expected) this.fail("pl011_write", `pl011_write of ${len} bytes returned ${showResult(result)}; expected ${showResult(expected)}${stuck ? " (TXFF stuck)" : ""}`);
    const mask = (1 << this.dataBits) - 1;
    for (let i = 0; i < accepted; i++) this.expectedWire[this.expectedCount++] = data[i]! & mask;
    if (this.uart.txDropped !== 0) this.fail("pl011_write", `${this.uart.txDropped} DR writes found the TX FIFO full and were lost`);
  }

  private read(step: Step): void {
    const cap = num(step, "cap");
    const place = str(step, "at") as BufferPlace;
    const base = num(step, "base");
    const ptr = bufferPointer(place, cap, this.world);
    const result = this.call("pl011_read", [base, ptr, cap]);
    const valid = (base & 3) === 0 && (place === "scratch" || place === "end");
    if (!valid) {
      if (result !== ERR_INVALID_ARG) this.fail("pl011_read", `pl011_read(${describeBuffer(place, cap)}) returned ${showResult(result)}; the buffer lies outside linear memory`);
      return;
    }
    if (!this.consistent) return;
    // What the driver should return (its header comment): bytes up to the first error, the
    // error itself by the next call; an overrun entry still carries a good byte.
    let expected: number;
    const bytes: number[] = [];
    if (this.pending !== OK) {
      expected = this.pending;
      this.pending = OK;
    } else if (this.faults.has("rxEmptyStuck")) {
      expected = 0;
    } else {
      let error: number | null = null;
      while (bytes.length < cap && this.arrived.length > 0) {
        const c = this.arrived.shift()!;
        if (c.errors === 0 || c.errors === PL011_DR_OE) bytes.push(c.data);
        if (c.errors === 0) continue;
        error = (c.errors & PL011_DR_BE) !== 0 ? ERR_RX_BREAK : (c.errors & PL011_DR_OE) !== 0 ? ERR_RX_OVERRUN
          : (c.errors & PL011_DR_PE) !== 0 ? ERR_RX_PARITY : ERR_RX_FRAMING;
        break;
      }
      if (error !== null && bytes.length > 0) this.pending = error;
      expected = error !== null && bytes.length === 0 ? error : bytes.length;
    }
    if (result !== expected) this.fail("pl011_read", `pl011_read(cap ${cap}) returned ${showResult(result)}; the characters received call for ${showResult(expected)}`);
    if (result > 0) {
      const got = this.world.bytes(ptr, result);
      for (let i = 0; i < result; i++) {
        if (got[i] !== bytes[i]) this.fail("pl011_read", `pl011_read stored [${Array.from(got).join(", ")}]; the line carried [${bytes.join(", ")}]`);
      }
    }
  }

  private flush(base: number): void {
    const result = this.call("pl011_flush", [base]);
    if ((base & 3) !== 0) {
      if (result !== ERR_INVALID_ARG) this.fail("pl011_flush", `pl011_flush(${base}) returned ${showResult(result)} for an unaligned base`);
      return;
    }
    if (!this.consistent) return;
    const expected = this.faults.has("busyStuck") ? ERR_TIMEOUT : OK;
    if (result !== expected) this.fail("pl011_flush", `pl011_flush returned ${showResult(result)}; expected ${showResult(expected)}`);
    if (result === OK) this.checkWire("pl011_flush", true);
  }

  private receive(data: readonly number[], error: string): void {
    const before = this.uart.rxIgnored;
    if (error === "break") this.uart.receive([], { error: "break" });
    else if (error === "none") this.uart.receive(data);
    else this.uart.receive(data, { error: error as "parity" | "framing" });
    if (!this.consistent) return;
    if (!this.enabled) {
      if (this.uart.rxIgnored === before) this.fail(null, `the UART took in characters before it was enabled`);
      return;
    }
    const mask = (1 << this.dataBits) - 1;
    const chars: Arrived[] = error === "break" ? [{ data: 0, errors: PL011_DR_BE | PL011_DR_FE }]
      : data.map((d) => ({ data: d & mask, errors: error === "parity" ? PL011_DR_PE : error === "framing" ? PL011_DR_FE : 0 }));
    for (const c of chars) {
      if (this.arrived.length >= this.capacity) {
        // Overrun: the character is lost, the newest entry carries OE (the model's choice,
        // harness/devices/pl011.ts).
        this.arrived[this.arrived.length - 1]!.errors |= PL011_DR_OE;
      } else {
        this.arrived.push({ ...c });
      }
    }
  }

  private fault(fault: UartFault, on: boolean): void {
    this.uart.faults[fault] = on;
    if (on) this.faults.add(fault);
    else this.faults.delete(fault);
  }

  /** Every accepted byte left TXD exactly once, in order; with `all`, every one has left. */
  private checkWire(call: string | null, all: boolean): void {
    const uart = this.uart;
    // The level and the shift register first: asking for them brings the model up to now.
    const queued = uart.txFifoLevel + (uart.transmitting ? 1 : 0);
    const sent = uart.wireLength;
    const expected = this.expectedWire;
    const owed = this.expectedCount;
    const complete = all ? sent === owed : sent + queued === owed;
    let same = sent <= owed;
    for (let i = 0; same && i < sent; i++) same = uart.wireAt(i) === expected[i];
    if (!complete || !same) {
      const wire = uart.wire;
      const show = (xs: readonly number[]): string => `[${xs.slice(0, 12).join(", ")}${xs.length > 12 ? `, ... (${xs.length})` : ""}]`;
      this.fail(call, `TXD carried ${show(wire)}${queued > 0 ? ` with ${queued} still queued` : ""}; the driver accepted ${show(expected.slice(0, owed))}: every byte must leave exactly once, in order`);
    }
  }

  finish(): void {
    if (!this.consistent) return;
    const drain = this.drainAccesses(0);
    if (drain > 0 && drain !== Infinity) this.world.bus.settle(drain * this.world.clock.accessNs + 1);
    this.checkWire(null, drain !== Infinity);
    if (this.uart.txDropped !== 0) this.fail(null, `${this.uart.txDropped} DR writes found the TX FIFO full and were lost`);
  }
}

/** Steps predicted to take longer than this many accesses are skipped (about 20 ms of virtual
 * time at 100 ns per access). */
export const DEFAULT_STEP_ACCESS_LIMIT = 200_000;

// The fields of the steps run per execution are read at sites of their own (dataOf, initArgsOf,
// write()): num(), str() and bytesOf() load by a key they are passed, a load that sees every
// field of every target's steps, and each costs a lookup in V8's megamorphic cache. A saved case
// edited by hand still gets their message.

/** A write step's data. */
function dataOf(step: Step): readonly number[] {
  const data = step["data"];
  return Array.isArray(data) ? (data as readonly number[]) : bytesOf(step, "data");
}

/** An init step's arguments. */
function initArgsOf(step: Step): readonly number[] {
  const args = step["args"];
  return Array.isArray(args) ? (args as readonly number[]) : argsOf(step);
}

function writeLength(step: Step, data: readonly number[], world: World): number {
  return step["big"] === true ? world.scratchSize : data.length;
}

/** The bytes of a write step (its data): repeated to fill a big write. */
function writeData(data: readonly number[], len: number): readonly number[] {
  if (data.length === len) return data;
  const out: number[] = new Array<number>(len);
  for (let i = 0; i < len; i++) out[i] = data.length === 0 ? i & 0xff : data[i % data.length]!;
  return out;
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const base = fc.oneof({ weight: 15, arbitrary: fc.constant(PL011_FUZZ_BASE) }, { weight: 1, arbitrary: fc.constantFrom(PL011_FUZZ_BASE + 1, PL011_FUZZ_BASE + 2) });
  const clock = fc.oneof(
    { weight: 8, arbitrary: fc.constant(PL011_FUZZ_UARTCLK) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1, 3_686_400, 7_372_800, 48_000_000, 0xffffffff) },
    { weight: 1, arbitrary: anyU32 },
  );
  const baud = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(38400, 57600, 115200, 230400, 460800, 921600, 1_500_000) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1, 110, 9600, 1_500_001, 0xffffffff) },
    { weight: 1, arbitrary: anyU32 },
  );
  const config = fc.oneof(
    { weight: 8, arbitrary: fc.record({ data: fc.integer({ min: 0, max: 3 }), parity: fc.integer({ min: 0, max: 4 }), stop2: fc.boolean(), fifoOff: fc.boolean() })
      .map((c) => c.data | (c.parity << 2) | (c.stop2 ? PL011_CONFIG_STOP_2 : 0) | (c.fifoOff ? PL011_CONFIG_FIFO_OFF : 0)) },
    { weight: 1, arbitrary: anyU32 },
  );
  const init = fc.tuple(base, clock, baud, config).map(([b, c, r, f]): Step => ({ op: "init", args: [b, c, r, f] }));
  const write = fc.record({
    base, at: bufferSteps, data: fc.uint8Array({ maxLength: 40, size: "max" }).map((a) => Array.from(a)),
    big: fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  }).map((w): Step => ({ op: "write", base: w.base, at: w.at, data: w.data, big: w.big }));
  const read = fc.record({
    base, at: bufferSteps,
    cap: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 16, 17, 32, 4096) }),
  }).map((r): Step => ({ op: "read", base: r.base, at: r.at, cap: r.cap }));
  const flush = base.map((b): Step => ({ op: "flush", base: b }));
  const receive = fc.record({
    data: fc.uint8Array({ minLength: 1, maxLength: 40, size: "max" }).map((a) => Array.from(a)),
    error: fc.oneof({ weight: 6, arbitrary: fc.constant("none") }, { weight: 1, arbitrary: fc.constantFrom("parity", "framing", "break") }),
  }).map((r): Step => ({ op: "receive", data: r.error === "break" ? [] : r.data, error: r.error }));
  const fault = fc.record({ fault: fc.constantFrom(...FAULTS), on: fc.boolean() }).map((f): Step => ({ op: "fault", fault: f.fault, on: f.on }));
  const respond = respondSteps(respondTargets({ region: "uart0", block: PL011_MAP }, [["FR", 4], ["DR", 2], ["CR", 1], ["RIS", 1]]), options);
  return fc.oneof(
    { weight: 4, arbitrary: init },
    { weight: 5, arbitrary: write },
    { weight: 3, arbitrary: read },
    { weight: 2, arbitrary: flush },
    { weight: 3, arbitrary: receive },
    { weight: 1, arbitrary: fault },
    { weight: 3, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step);
  if (common !== null) return common;
  const baseNote = (b: number): string => (b === PL011_FUZZ_BASE ? "" : ` at base 0x${b.toString(16)}`);
  switch (step.op) {
    case "init": {
      const [b, clk, baud, config] = argsOf(step);
      return `pl011_init(clock ${clk}, ${baud} baud, config 0x${(config! >>> 0).toString(16)})${baseNote(b!)}`;
    }
    case "write": {
      const data = bytesOf(step, "data");
      const text = step["big"] === true ? `a full scratch buffer` : `${data.length} bytes [${data.slice(0, 8).join(", ")}${data.length > 8 ? ", ..." : ""}]`;
      return `pl011_write(${text}, ${describeBuffer(str(step, "at") as BufferPlace, -1)})${baseNote(num(step, "base"))}`;
    }
    case "read": return `pl011_read(cap ${num(step, "cap")}, ${describeBuffer(str(step, "at") as BufferPlace, -1)})${baseNote(num(step, "base"))}`;
    case "flush": return `pl011_flush()${baseNote(num(step, "base"))}`;
    case "receive": {
      const data = bytesOf(step, "data");
      const count = `${data.length} character${data.length === 1 ? "" : "s"}`;
      return `line delivers ${str(step, "error") === "break" ? "a break" : `${count}${str(step, "error") === "none" ? "" : ` with ${str(step, "error")} errors`}`}`;
    }
    case "fault": return `fault: ${str(step, "fault")} ${step["on"] === true ? "on" : "off"}`;
    default: return JSON.stringify(step);
  }
}

export function pl011Target(options: Pl011TargetOptions = {}): Target {
  const target: Target = {
    name: "pl011",
    title: "PL011 UART",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new Pl011Session(world, target, options),
  };
  return target;
}
