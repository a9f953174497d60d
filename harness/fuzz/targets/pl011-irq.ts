// Fuzz target: the interrupt-driven PL011 driver (assembly/pl011-irq.ts) against the PL011 model
// behind the harness's interrupt controller, with the interrupts delivered by the harness
// (harness/interrupts.ts). Interrupt timing is a fuzz dimension: the delivery mode (deferred or
// preemptive), when a pending interrupt lands (held for a number of delivery points), spurious
// interrupts, and a line that stays pending with nothing behind it are steps of the case, so a
// failing interleaving shrinks and replays like any other finding.
//
// The simple model: every byte pl011_irq_write accepted leaves TXD exactly once, in order; what
// pl011_irq_read returns is the stream of characters that arrived, in order (good characters as
// data, a parity, framing or break character as its error, once), where characters may be
// missing only right after an ERR_RX_OVERRUN and exactly as many as the UART and the driver lost;
// every slot of the RX ring the handler publishes holds the character it read for it; and the
// trace passes checkInterruptCode (no lost update, no unmasked read-modify-write of a register
// the handler writes, no spurious entry but injected ones).
import fc from "fast-check";
import type { Device } from "../../bus.js";
import { HalError } from "../../hal.js";
import { Pl011Model } from "../../devices/pl011.js";
import { IrqController } from "../../devices/irqc.js";
import { Interrupts, InterruptStorm, type DeliveryMode } from "../../interrupts.js";
import { checkInterruptCode } from "../../interrupt-checks.js";
import { formatAccess } from "../../trace-text.js";
import { OP_IRQ, IRQ_ENTER, FLAG_IRQ } from "../../trace.js";
import { PL011_MAP, PL011_DR } from "../../generated/pl011.js";
import { IRQC_MAP, IRQC_ISER0, IRQC_ICER0, IRQC_ICPR0, IRQC_IPR0 } from "../../generated/irqc.js";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_BUSY, ERR_NO_IRQ_CONTROLLER,
  ERR_RX_OVERRUN, ERR_RX_BREAK, ERR_RX_PARITY, ERR_RX_FRAMING,
  PL011_IRQ_CTX_SIZE, PL011_IRQ_RX_RING, PL011_IRQ_TX_RING,
} from "../../generated/api.js";
import type { World } from "../world.js";
import { FuzzFailure, Session, bytesOf, num, showResult, str, type ExportSpec, type Step, type StepOptions, type Target } from "../target.js";
import { bufferPointer, bufferSteps, describeBuffer, type BufferPlace } from "./buffers.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "./pl011.js";

/** The Versatile board's UART0 and its controller line (fixtures/boards/versatile.json), and the
 * harness's controller at the address of the board's VIC. */
export const PL011_IRQ_FUZZ_BASE = 0x101f1000;
export const IRQC_FUZZ_BASE = 0x10140000;
export const PL011_IRQ_FUZZ_LINE = 12;
const UARTCLK = 24_000_000;
/** Fast enough that a full TX ring drains in 5.5 ms of virtual time (55 000 accesses). */
export const PL011_IRQ_FUZZ_BAUD = 460_800;
const CONFIG_8N1 = 0;

// Poll limits of assembly/pl011.ts and pl011-irq.ts: the budgets below are built from them.
/** pl011_init's two BUSY waits and pl011_irq_flush's FR wait (PL011_IRQ_IDLE_POLL_LIMIT). */
const IDLE_POLL_LIMIT = 2 ** 22;
/** Accesses the handler may add to one call it lands inside: every entry in the call together.
 * One entry is a few accesses per character it moves (FR and DR per received one, FR and DR per
 * sent one) and four or five of its own; a call sees at most the two rings and the FIFOs of
 * characters, and at most STUCK_MAX injected entries per step. */
const HANDLER_ALLOWANCE = 2 ** 16;

const EXPORTS: readonly ExportSpec[] = [
  // Stores two addresses; no register access.
  { name: "hal_irq_controller", statuses: [OK, ERR_INVALID_ARG], budget: () => HANDLER_ALLOWANCE },
  // pl011_init (two BUSY waits and a dozen accesses), the mask, IFLS, IMSC and the unmask.
  { name: "pl011_irq_open", statuses: [OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_NO_IRQ_CONTROLLER, ERR_BUSY], budget: () => 2 * IDLE_POLL_LIMIT + 32 + HANDLER_ALLOWANCE },
  // The mask (ICER, DSB, ISB), FR and DR per byte while the FIFO has room (the ring holds at most
  // PL011_IRQ_TX_RING), the IMSC read-modify-write and the unmask.
  { name: "pl011_irq_write", statuses: [ERR_INVALID_ARG], count: (a) => a[2]! >>> 0, budget: () => 2 * (PL011_IRQ_TX_RING + 1) + 16 + HANDLER_ALLOWANCE },
  // Rings only: no register access of its own.
  { name: "pl011_irq_read", statuses: [ERR_INVALID_ARG, ERR_RX_OVERRUN, ERR_RX_BREAK, ERR_RX_PARITY, ERR_RX_FRAMING], count: (a) => a[2]! >>> 0, budget: () => 4 + HANDLER_ALLOWANCE },
  { name: "pl011_irq_flush", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => IDLE_POLL_LIMIT + 4 + HANDLER_ALLOWANCE },
];

// The context block (docs/drivers/pl011-irq.md): free-running indexes, 16-bit RX entries.
const CTX_RX_HEAD = 8;
const CTX_RX_TAIL = 12;
const CTX_RX_RING = 32;
/** A DR entry without OE (bit 11): the character and its BE, PE and FE bits (TRM 3.3.1). OE is
 * added to the newest entry when a later character is lost, so a slot may gain it afterwards. */
const ENTRY_WITHOUT_OE = 0x7ff;

/** A hold is released after this many accesses even if the driver has passed fewer delivery
 * points: a poll of an unchanging register is one point however long it lasts, and a hold that
 * outlives the poll would starve the driver of its interrupt for good (0.4 ms of virtual time). */
const HOLD_MAX_ACCESSES = 4096;
/** Most delivery points a stuck line stays pending for. */
const STUCK_MAX = 48;

/** What arrives: a good character (0..255) or the error code a bad one must be reported as. */
type Arrival = number;

/**
 * What pl011_irq_read returned, matched against what arrived. The returned stream must be the
 * arrived one with characters left out only right after an ERR_RX_OVERRUN (at least one each
 * time); several ways to match may be open at once (the same byte arriving twice), so the
 * matcher keeps every position in the arrivals that the stream so far can have reached.
 */
class ReceiveStream {
  readonly arrivals: Arrival[] = [];
  /** What pl011_irq_read returned, bytes and error codes, in order. */
  readonly returned: number[] = [];
  /** Positions in `arrivals` the returned stream can have reached, ascending. */
  private positions: number[] = [0];
  private spare: number[] = [];
  /** With an overrun reported last: every position from here on can be reached too. */
  private gapFrom = -1;
  /** Returned elements matched to an arrival (not overrun reports). */
  matched = 0;
  overruns = 0;

  reset(): void {
    this.reason = "";
    this.arrivals.length = 0;
    this.returned.length = 0;
    this.positions.length = 0;
    this.positions.push(0);
    this.gapFrom = -1;
    this.matched = 0;
    this.overruns = 0;
  }

  /** Why the last take() failed, when the matching alone does not say. */
  reason = "";

  /** Takes one returned element; false when no matching of what arrived explains it. */
  take(x: number): boolean {
    const previous = this.returned.length === 0 ? null : this.returned[this.returned.length - 1]!;
    this.returned.push(x);
    const arrivals = this.arrivals;
    this.reason = "";
    if (x === ERR_RX_OVERRUN) {
      // OE marks the newest character stored before the loss, which is returned (or reported)
      // first: an overrun report follows a character or an error, and one loss is one report.
      if (previous === ERR_RX_OVERRUN) {
        this.reason = "ERR_RX_OVERRUN twice in a row, where one loss is one report after the character before it (a parity, framing or break character that carried OE is then reported as an overrun, and its own error never)";
        return false;
      }
      if (previous === null) {
        this.reason = "ERR_RX_OVERRUN before any character, where an overrun follows the character it marks";
        return false;
      }
      let first = this.gapFrom >= 0 ? this.gapFrom : Infinity;
      for (const p of this.positions) if (p < first) first = p;
      // At least one character must have been lost, and it must be one that arrived.
      if (first >= arrivals.length) return false;
      this.positions.length = 0;
      this.gapFrom = first + 1;
      this.overruns++;
      return true;
    }
    const next = this.spare;
    next.length = 0;
    for (const p of this.positions) if (p < arrivals.length && arrivals[p] === x) next.push(p + 1);
    if (this.gapFrom >= 0) {
      for (let p = this.gapFrom; p < arrivals.length; p++) if (arrivals[p] === x && !next.includes(p + 1)) next.push(p + 1);
      next.sort((a, b) => a - b);
      this.gapFrom = -1;
    }
    this.spare = this.positions;
    this.positions = next;
    this.matched++;
    return next.length > 0;
  }

  /** True when the stream can have reached the end of what arrived. */
  get complete(): boolean {
    return this.gapFrom >= 0 || this.positions.includes(this.arrivals.length);
  }

  /** The first arrival not accounted for, for messages. */
  get position(): number {
    let first = this.gapFrom >= 0 ? this.gapFrom : Infinity;
    for (const p of this.positions) if (p < first) first = p;
    return first === Infinity ? this.arrivals.length : first;
  }
}

const showElement = (x: number): string => (x >= 0 ? `0x${x.toString(16).padStart(2, "0")}` : showResult(x));
function showList(xs: readonly number[], from = 0, max = 12): string {
  const start = Math.max(0, Math.min(from, xs.length - max));
  const part = xs.slice(start, start + max).map(showElement).join(", ");
  return `[${start > 0 ? `... (${start}), ` : ""}${part}${start + max < xs.length ? `, ... (${xs.length})` : ""}]`;
}

/** The UART as the bus sees it, telling the session of every RX FIFO entry a handler pops. */
class WatchedUart implements Device {
  constructor(private readonly uart: Pl011Model, private readonly world: World, private readonly onPop: (entry: number) => void) {}

  read(offset: number, width: number): number {
    if (offset === PL011_DR && (this.world.bus.contextFlags & FLAG_IRQ) !== 0 && this.uart.rxFifoLevel > 0) {
      const entry = this.uart.read(offset, width);
      this.onPop(entry);
      return entry;
    }
    return this.uart.read(offset, width);
  }

  write(offset: number, value: number, width: number): void {
    this.uart.write(offset, value, width);
  }
}

export interface Pl011IrqTargetOptions {
  /** Steps predicted to need more accesses than this are skipped. */
  readonly stepAccessLimit?: number;
}

class Pl011IrqSession extends Session {
  readonly uart: Pl011Model;
  readonly controller = new IrqController();
  /** The delivery attached to the world; replaced when a step changes the mode. */
  interrupts: Interrupts;
  private readonly limit: number;
  private readonly memory: DataView;
  private readonly ctx: number;

  private opened = false;
  /** The call running, for failures found at an access boundary. */
  private running: string | null = null;

  // The simple model.
  /** Every byte pl011_irq_write accepted, in order. */
  private readonly accepted: number[] = [];
  private readonly rx = new ReceiveStream();
  /** The end of the characters arriving at wire speed (ns): none arrive at once before it. */
  private wireUntil = 0;
  /** RX FIFO entries the handler popped (without OE), in order, and how many the published ring
   * slots have accounted for. */
  private readonly pops: number[] = [];
  private popsSeen = 0;
  /** Pops that found the RX ring full, which the driver drops. */
  private ringDrops = 0;
  private lastHead = 0;
  /** Where the current hold began (FuzzTrace.seen). */
  private holdStart = 0;
  /** Delivery points the line stays pending for, with nothing behind it. */
  private stuckLeft = 0;
  /** Entries of the delivery when the last spurious interrupt was injected (it is still pending
   * while no entry followed), or -1. */
  private injectedAt = -1;
  /** Handler entries of deliveries replaced by a mode change. */
  private earlierEntries = 0;

  constructor(world: World, target: Target, options: Pl011IrqTargetOptions) {
    super(world, target);
    this.limit = options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT;
    // The interrupt checks and the delivery points of deferred mode read the trace.
    world.alwaysRecord = true;
    this.uart = new Pl011Model({ clock: world.clock, uartclkHz: UARTCLK, revision: "r1p4" });
    world.mapDevice("uart0", PL011_IRQ_FUZZ_BASE, PL011_MAP.size, new WatchedUart(this.uart, world, (entry) => this.popped(entry)), PL011_MAP);
    world.mapDevice("irqc", IRQC_FUZZ_BASE, IRQC_MAP.size, this.controller, IRQC_MAP);
    this.controller.connect(PL011_IRQ_FUZZ_LINE, this.uart, "uart0");
    this.memory = new DataView(world.memory.buffer);
    this.ctx = (world.scratch + world.scratchSize - PL011_IRQ_CTX_SIZE) & ~3;
    this.interrupts = this.attach("deferred");
  }

  private attach(mode: DeliveryMode): Interrupts {
    const interrupts = new Interrupts(this.world, this.controller, { mode });
    interrupts.boundaryChecks.push(this.boundary);
    interrupts.onPoint = this.onPoint;
    return interrupts;
  }

  private u32(offset: number): number {
    return this.memory.getUint32(this.ctx + offset, true);
  }

  /** A handler popped an RX FIFO entry; the driver drops it when the ring is full. */
  private popped(entry: number): void {
    if (this.opened && this.u32(CTX_RX_HEAD) - this.u32(CTX_RX_TAIL) >= PL011_IRQ_RX_RING) this.ringDrops++;
    this.pops.push(entry & ENTRY_WITHOUT_OE);
  }

  /** Before every CPU access: every RX ring slot published since the last access holds the entry
   * the handler read for it; and a hold that outlived HOLD_MAX_ACCESSES ends. */
  private readonly boundary = (): void => {
    const interrupts = this.interrupts;
    // (A poll repeating the read of point holdUntil - 1 is still held: the hold ends at point
    // holdUntil, which an unchanging poll never reaches.)
    if (interrupts.holdUntil !== 0 && this.world.trace.seen - this.holdStart > HOLD_MAX_ACCESSES) interrupts.holdUntil = 0;
    if (!this.opened) return;
    const head = this.u32(CTX_RX_HEAD);
    if (head === this.lastHead) return;
    this.checkPublished(head);
  };

  private checkPublished(head: number): void {
    for (let k = this.lastHead; k !== head; k = (k + 1) >>> 0) {
      const slot = this.memory.getUint16(this.ctx + CTX_RX_RING + (k % PL011_IRQ_RX_RING) * 2, true) & ENTRY_WITHOUT_OE;
      // The next pop this slot can hold: the next one, or a later one when pops were dropped.
      let j = this.popsSeen;
      const last = this.ringDrops > 0 ? this.pops.length : Math.min(this.pops.length, this.popsSeen + 1);
      while (j < last && this.pops[j] !== slot) j++;
      if (j >= last) {
        const what = this.popsSeen >= this.pops.length
          ? `but the handler has read no character from DR for it yet: the ring's index was published before its data`
          : `where the character the handler read for it is 0x${this.pops[this.popsSeen]!.toString(16).padStart(3, "0")}`;
        this.lastHead = head;
        throw new FuzzFailure("interrupt", `RX ring slot ${k} is published (rxHead = ${head}) holding 0x${slot.toString(16).padStart(3, "0")}, ${what}${this.context()}`, this.running);
      }
      this.popsSeen = j + 1;
    }
    this.lastHead = head;
  }

  /** At each delivery point: a stuck line is made pending again. */
  private readonly onPoint = (): void => {
    if (this.stuckLeft > 0) {
      this.stuckLeft--;
      this.inject();
    }
  };

  private inject(): void {
    this.injectedAt = this.interrupts.entries;
    this.interrupts.inject(PL011_IRQ_FUZZ_LINE);
  }

  reset(): void {
    const uart = this.uart;
    uart.reset();
    uart.clearWire();
    uart.txDropped = 0;
    uart.rxLost = 0;
    uart.rxIgnored = 0;
    // A new execution begins deferred, with nothing of the last one pending.
    this.injectedAt = -1;
    this.stuckLeft = 0;
    if (this.interrupts.mode !== "deferred") this.switchMode("deferred");
    this.interrupts.reset();
    // The controller back to power-on through its registers: every line masked, nothing latched,
    // priorities 0 (no handler runs between executions, so none is active).
    const c = this.controller;
    for (let w = 0; w < 8; w++) {
      c.write(IRQC_ICER0 + 4 * w, 0xffffffff, 4);
      c.write(IRQC_ICPR0 + 4 * w, 0xffffffff, 4);
    }
    for (let w = 0; w < 64; w++) c.write(IRQC_IPR0 + 4 * w, 0, 4);
    this.opened = false;
    this.running = null;
    this.accepted.length = 0;
    this.rx.reset();
    this.wireUntil = 0;
    this.pops.length = 0;
    this.popsSeen = 0;
    this.ringDrops = 0;
    this.lastHead = 0;
    this.holdStart = 0;
    this.earlierEntries = 0;
  }

  /** Another delivery mode from the next call on: the pending state carries over (a hold, a
   * spurious interrupt not yet taken). */
  private switchMode(mode: DeliveryMode): void {
    const old = this.interrupts;
    const held = old.holdUntil > old.points ? old.holdUntil - old.points : 0;
    const injectedPending = this.injectedAt >= 0 && old.entries === this.injectedAt;
    this.earlierEntries += old.entries;
    old.detach();
    this.interrupts = this.attach(mode);
    this.interrupts.holdUntil = held;
    if (injectedPending) this.inject();
  }

  check(step: Step): boolean {
    switch (step.op) {
      case "flush": return this.drainAccesses() <= this.limit;
      case "receive":
        // Characters arriving at once while others still arrive at wire speed would land in
        // the FIFO before them: skipped, so that what arrives is in the order of the steps.
        return str(step, "speed") === "wire" || this.world.clock.now >= this.wireUntil;
      default: return true;
    }
  }

  /** Accesses until every accepted byte has left TXD (the transmitter never stops here). */
  private drainAccesses(): number {
    const left = this.accepted.length - this.uart.wireLength;
    if (left <= 0) return 0;
    const frame = this.uart.frameTimeNs();
    return frame === Infinity ? 0 : (left * frame) / this.world.clock.accessNs;
  }

  protected override beforeCall(name: string): void {
    this.running = name;
  }

  /** Every failure names the delivery mode and where the last interrupt landed. */
  protected override call(name: string, args: readonly number[]): number {
    try {
      return super.call(name, args);
    } catch (e) {
      throw this.annotated(e);
    }
  }

  private annotated(e: unknown): unknown {
    if (!(e instanceof FuzzFailure) || e.message.includes(" delivery")) return e;
    return new FuzzFailure(e.property, e.message + this.context(), e.call, e.cause);
  }

  /** "; preemptive delivery, 3 handler entries, the last at #81 in pl011_irq_flush, after
   * R32 uart0+0x018 FR ..." */
  private context(): string {
    const interrupts = this.interrupts;
    const entries = this.earlierEntries + interrupts.entries;
    const head = `; ${interrupts.mode} delivery, ${entries} handler entr${entries === 1 ? "y" : "ies"}`;
    const trace = this.world.trace;
    for (let i = trace.length - 1; i >= 0; i--) {
      const e = trace.entry(i);
      if (e.op !== OP_IRQ || e.width !== IRQ_ENTER) continue;
      const call = trace.callAt(i);
      const inCall = call < 0 ? "between calls" : `in ${trace.calls[call]!.name}`;
      const before = i > 0 ? `, after ${formatAccess({ ...trace.entry(i - 1), repeat: 1 }, this.world.bus.regions, { lineNames: trace.lineNames })}` : "";
      const hold = interrupts.holdUntil > interrupts.points ? `; delivery held until point ${interrupts.holdUntil}` : "";
      return `${head}, the last at trace entry #${i} ${inCall}${before.replace(/\s+/g, " ")}${hold}`;
    }
    return `${head}`;
  }

  private open(): void {
    if (this.opened) return;
    const status = this.call("hal_irq_controller", [IRQC_FUZZ_BASE + IRQC_ISER0, IRQC_FUZZ_BASE + IRQC_ICER0]);
    if (status !== OK) this.fail("hal_irq_controller", `hal_irq_controller(ISER0, ICER0) returned ${showResult(status)}: expected OK${this.context()}`);
    const opened = this.call("pl011_irq_open", [this.ctx, PL011_IRQ_FUZZ_BASE, UARTCLK, PL011_IRQ_FUZZ_BAUD, CONFIG_8N1, PL011_IRQ_FUZZ_LINE]);
    if (opened !== OK) this.fail("pl011_irq_open", `pl011_irq_open(${PL011_IRQ_FUZZ_BAUD} baud 8N1, line ${PL011_IRQ_FUZZ_LINE}) returned ${showResult(opened)}: expected OK${this.context()}`);
    this.opened = true;
    this.lastHead = this.u32(CTX_RX_HEAD);
  }

  run(step: Step): void {
    this.open();
    switch (step.op) {
      case "mode": {
        const mode = str(step, "mode") as DeliveryMode;
        if (mode !== this.interrupts.mode) this.switchMode(mode);
        return;
      }
      case "write": return this.write(step);
      case "read": return this.read(str(step, "at") as BufferPlace, num(step, "cap"));
      case "flush": return this.flush();
      case "receive": return this.receive(bytesOf(step, "data"), str(step, "error"), str(step, "speed") === "wire");
      case "idle": return this.outsideCalls(`${num(step, "ns")} ns of idling`, () => this.interrupts.idle(num(step, "ns")));
      case "pause": {
        this.world.bus.settle(num(step, "ns"));
        return;
      }
      case "hold": {
        const interrupts = this.interrupts;
        interrupts.holdUntil = interrupts.points + num(step, "points");
        this.holdStart = this.world.trace.seen;
        return;
      }
      case "inject": return this.inject();
      case "stuck": {
        this.stuckLeft = num(step, "points");
        return;
      }
      default: throw new Error(`pl011-irq: unknown step ${step.op}`);
    }
  }

  /** Runs `work` outside any call (main code idling): what a handler does there is checked as
   * in a call, and its failures are the driver's. */
  private outsideCalls(what: string, work: () => void): void {
    const bus = this.world.bus;
    this.running = null;
    bus.setAccessBudget(this.world.interruptBudget);
    try {
      work();
    } catch (e) {
      const cause = e instanceof HalError && e.cause !== undefined ? e.cause : e;
      throw this.outsideFailure(what, cause);
    } finally {
      bus.setAccessBudget(Infinity);
    }
  }

  private outsideFailure(what: string, cause: unknown): unknown {
    const interrupts = this.interrupts;
    const where = ` (${interrupts.mode} delivery, at delivery point ${interrupts.points})`;
    const detail = cause instanceof Error ? cause.message : String(cause);
    if (cause instanceof FuzzFailure) return cause;
    if (cause instanceof InterruptStorm) return new FuzzFailure("interrupt", `during ${what}: ${detail}${where}`, null, cause);
    if (cause instanceof WebAssembly.RuntimeError) return new FuzzFailure("trap", `during ${what}: the handler trapped: ${detail}${where}`, null, cause);
    if (cause instanceof Error && cause.name === "AccessBudgetExceeded") return new FuzzFailure("hang", `during ${what}: the handler did not return within ${this.world.interruptBudget} accesses${where}`, null, cause);
    if (cause instanceof Error && cause.name === "BusFault") return new FuzzFailure("bus-fault", `during ${what}, in the handler: ${detail}${where}`, null, cause);
    return cause;
  }

  private write(step: Step): void {
    const data = bytesOf(step, "data");
    const len = data.length;
    const place = str(step, "at") as BufferPlace;
    const ptr = bufferPointer(place, len, this.world);
    const valid = place === "scratch" || place === "end";
    if (valid) this.world.writeBytes(ptr, data);
    // The ring's room before the call: what was accepted and is neither on the wire nor in the
    // UART. An interrupt before the call can only make more.
    const queued = this.uart.txFifoLevel + (this.uart.transmitting ? 1 : 0);
    const inRing = Math.max(0, this.accepted.length - this.uart.wireLength - queued);
    const room = PL011_IRQ_TX_RING - inRing;
    const result = this.call("pl011_irq_write", [this.ctx, ptr, len]);
    if (!valid) {
      if (result !== ERR_INVALID_ARG) this.fail("pl011_irq_write", `pl011_irq_write(${describeBuffer(place, len)}) returned ${showResult(result)}; the buffer lies outside linear memory${this.context()}`);
      return;
    }
    if (result < Math.min(len, room)) this.fail("pl011_irq_write", `pl011_irq_write of ${len} bytes queued ${showResult(result)} with room for ${room} in the TX ring${this.context()}`);
    for (let i = 0; i < result; i++) this.accepted.push(data[i]!);
    this.checkWire("pl011_irq_write", false);
  }

  private read(place: BufferPlace, cap: number): void {
    const ptr = bufferPointer(place, cap, this.world);
    const result = this.call("pl011_irq_read", [this.ctx, ptr, cap]);
    if (place !== "scratch" && place !== "end") {
      if (result !== ERR_INVALID_ARG) this.fail("pl011_irq_read", `pl011_irq_read(${describeBuffer(place, cap)}) returned ${showResult(result)}; the buffer lies outside linear memory${this.context()}`);
      return;
    }
    this.takeRead(cap, ptr, result);
  }

  /** Matches one pl011_irq_read result against what arrived. */
  private takeRead(cap: number, ptr: number, result: number): void {
    const rx = this.rx;
    const before = rx.returned.length;
    const fail = (): never => {
      const got = result < 0 ? showResult(result) : `${result} bytes ${showList(rx.returned, before)}`;
      const at = rx.position;
      this.fail("pl011_irq_read", `pl011_irq_read(cap ${cap}) returned ${got}, which the characters that arrived do not explain${rx.reason === "" ? "" : ` (${rx.reason})`}: ` +
        `returned so far ${showList(rx.returned, Math.max(0, rx.returned.length - 12))}; arrived ${showList(rx.arrivals, Math.max(0, at - 4))} ` +
        `(each good character once, in order, a bad one as its error once, characters missing only after ERR_RX_OVERRUN)${this.context()}`);
    };
    if (result < 0) {
      if (!rx.take(result)) fail();
      return;
    }
    const got = this.world.bytes(ptr, result);
    for (let i = 0; i < result; i++) if (!rx.take(got[i]!)) fail();
  }

  private flush(): void {
    const result = this.call("pl011_irq_flush", [this.ctx]);
    if (result !== OK) this.fail("pl011_irq_flush", `pl011_irq_flush returned ${showResult(result)} with ${this.accepted.length - this.uart.wireLength} accepted bytes not sent${this.context()}`);
    this.checkWire("pl011_irq_flush", true);
  }

  private receive(data: readonly number[], error: string, atWireSpeed: boolean): void {
    const uart = this.uart;
    if (error === "break") {
      uart.receive([], { error: "break" });
      this.rx.arrivals.push(ERR_RX_BREAK);
      return;
    }
    const code = error === "parity" ? ERR_RX_PARITY : error === "framing" ? ERR_RX_FRAMING : -1;
    const options = code === -1 ? {} : { error: error as "parity" | "framing" };
    if (atWireSpeed) {
      uart.receiveAtWireSpeed(data, options);
      this.wireUntil = Math.max(this.wireUntil, this.world.clock.now) + data.length * uart.frameTimeNs();
    } else {
      uart.receive(data, options);
    }
    for (const d of data) this.rx.arrivals.push(code === -1 ? d & 0xff : code);
  }

  /** Every byte that left TXD was accepted, in order, once; with `all`, every accepted one has. */
  private checkWire(call: string | null, all: boolean): void {
    const uart = this.uart;
    const sent = uart.wireLength;
    const expected = this.accepted;
    let same = sent <= expected.length;
    for (let i = 0; same && i < sent; i++) same = uart.wireAt(i) === expected[i];
    if (!same || (all && sent !== expected.length) || uart.txDropped !== 0) {
      const wire = uart.wire;
      const dropped = this.uart.txDropped === 0 ? "" : `; ${this.uart.txDropped} DR writes found the TX FIFO full and were lost`;
      this.fail(call, `TXD carried ${showList(wire)}; the driver accepted ${showList(expected)}: every byte must leave exactly once, in order${dropped}${this.context()}`);
    }
  }

  finish(): void {
    this.open();
    // Every interrupt lands now: no hold, no stuck line.
    this.stuckLeft = 0;
    this.interrupts.holdUntil = 0;
    // Let every character still arriving arrive and time out (32 bit periods), then flush and
    // read until nothing more comes.
    const now = this.world.clock.now;
    const settle = Math.max(0, this.wireUntil - now) + 40 * this.uart.bitTimeNs();
    this.outsideCalls(`${Math.round(settle)} ns of idling at the end`, () => this.interrupts.idle(settle));
    this.flush();
    const ptr = this.world.scratch;
    // Each read returns at most one error: as many reads as characters arrived, and two quiet ones.
    for (let quiet = 0, reads = 0; quiet < 2 && reads < this.rx.arrivals.length + 8; reads++) {
      const result = this.call("pl011_irq_read", [this.ctx, ptr, PL011_IRQ_RX_RING]);
      this.takeRead(PL011_IRQ_RX_RING, ptr, result);
      if (result === 0) {
        quiet++;
        this.outsideCalls("idling at the end", () => this.interrupts.idle(40 * this.uart.bitTimeNs()));
      }
    }
    const rx = this.rx;
    const lost = this.uart.rxLost + this.ringDrops;
    const missing = rx.arrivals.length - rx.matched;
    if (!rx.complete || missing !== lost) {
      const left = this.uart.rxFifoLevel;
      const inRing = this.u32(CTX_RX_HEAD) - this.u32(CTX_RX_TAIL);
      this.fail(null, `at the end pl011_irq_read had returned ${showList(rx.returned, Math.max(0, rx.returned.length - 12))} of the ${rx.arrivals.length} characters that arrived ${showList(rx.arrivals, Math.max(0, rx.position - 4))}: ` +
        `${missing} missing where ${lost} were lost to overruns (${this.uart.rxLost} in the UART, ${this.ringDrops} to a full RX ring)` +
        `${left > 0 ? `; ${left} still in the RX FIFO` : ""}${inRing > 0 ? `; ${inRing} still in the RX ring` : ""}: every character must be returned, or lost behind an ERR_RX_OVERRUN${this.context()}`);
    }
    // The checks walk the whole trace: about 40 % of an execution (docs/fuzzing.md).
    if (this.earlierEntries + this.interrupts.entries === 0) return;
    const problems = checkInterruptCode(this.world.bus);
    if (problems.length > 0) {
      const p = problems[0]!;
      const last = p.entries[p.entries.length - 1]!;
      const call = this.world.trace.callAt(last);
      throw new FuzzFailure("interrupt", `${p.kind}: ${p.message}${this.context()}`, call < 0 ? null : this.world.trace.calls[call]!.name);
    }
  }
}

function steps(_options: StepOptions): fc.Arbitrary<Step> {
  const bytes = (max: number): fc.Arbitrary<number[]> => fc.uint8Array({ maxLength: max, size: "max" }).map((a) => Array.from(a));
  const write = fc.record({
    at: bufferSteps,
    // Mostly short; some more than the 16-deep FIFO holds, some more than the 256-byte ring.
    data: fc.oneof({ weight: 8, arbitrary: bytes(40) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 300 }).map((a) => Array.from(a)) }),
  }).map((w): Step => ({ op: "write", at: w.at, data: w.data }));
  const read = fc.record({
    at: bufferSteps,
    cap: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.constantFrom(1, 16, 17, 256, 1024) }),
  }).map((r): Step => ({ op: "read", at: r.at, cap: r.cap }));
  const receive = fc.record({
    // Some bursts longer than the 16-deep RX FIFO: arriving at once, they overrun it.
    data: fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 16 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 17, maxLength: 40 }) }).map((a) => Array.from(a)),
    error: fc.oneof({ weight: 8, arbitrary: fc.constant("none") }, { weight: 1, arbitrary: fc.constantFrom("parity", "framing", "break") }),
    speed: fc.oneof({ weight: 2, arbitrary: fc.constant("now") }, { weight: 1, arbitrary: fc.constant("wire") }),
  }).map((r): Step => (r.error === "break" ? { op: "receive", data: [], error: "break", speed: "now" } : { op: "receive", data: r.data, error: r.error, speed: r.speed }));
  const ns = fc.constantFrom(10_000, 100_000, 1_000_000);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<DeliveryMode>("preemptive", "deferred").map((mode): Step => ({ op: "mode", mode })) },
    { weight: 5, arbitrary: write },
    { weight: 4, arbitrary: read },
    { weight: 2, arbitrary: fc.constant<Step>({ op: "flush" }) },
    { weight: 5, arbitrary: receive },
    { weight: 2, arbitrary: ns.map((n): Step => ({ op: "idle", ns: n })) },
    { weight: 1, arbitrary: ns.map((n): Step => ({ op: "pause", ns: n })) },
    { weight: 3, arbitrary: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) }, { weight: 1, arbitrary: fc.integer({ min: 9, max: 200 }) }).map((points): Step => ({ op: "hold", points })) },
    { weight: 2, arbitrary: fc.constant<Step>({ op: "inject" }) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: STUCK_MAX }).map((points): Step => ({ op: "stuck", points })) },
  );
}

function describe(step: Step): string {
  switch (step.op) {
    case "mode": return `delivery ${str(step, "mode")} from here on`;
    case "write": {
      const data = bytesOf(step, "data");
      return `pl011_irq_write(${data.length} bytes [${data.slice(0, 8).join(", ")}${data.length > 8 ? ", ..." : ""}], ${describeBuffer(str(step, "at") as BufferPlace, -1)})`;
    }
    case "read": return `pl011_irq_read(cap ${num(step, "cap")}, ${describeBuffer(str(step, "at") as BufferPlace, -1)})`;
    case "flush": return "pl011_irq_flush()";
    case "receive": {
      const data = bytesOf(step, "data");
      const error = str(step, "error");
      if (error === "break") return "a break arrives on RXD";
      return `${data.length} character${data.length === 1 ? "" : "s"}${error === "none" ? "" : ` with ${error} errors`} arrive on RXD ${str(step, "speed") === "wire" ? "at wire speed" : "at once"}`;
    }
    case "idle": return `main code idles ${num(step, "ns")} ns (interrupts taken)`;
    case "pause": return `${num(step, "ns")} ns pass (no interrupt taken)`;
    case "hold": return `interrupts held for the next ${num(step, "points")} delivery points`;
    case "inject": return `a spurious interrupt on line ${PL011_IRQ_FUZZ_LINE}`;
    case "stuck": return `line ${PL011_IRQ_FUZZ_LINE} stays pending with nothing behind it for ${num(step, "points")} delivery points`;
    default: return JSON.stringify(step);
  }
}

export function pl011IrqTarget(options: Pl011IrqTargetOptions = {}): Target {
  const target: Target = {
    name: "pl011-irq",
    title: "PL011 UART, interrupt-driven",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new Pl011IrqSession(world, target, options),
  };
  return target;
}
