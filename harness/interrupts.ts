// Interrupt delivery into the module (docs/interrupts.md). The module exports one dispatch
// function, `hal_irq_dispatch(line)`, that runs the handler a driver registered for the line; the
// three imports stay as they are. The host enters it in one of two modes, and every test says
// which:
//
// - deferred (the default; what a WAMR or wasm3 board does, whose runtime cannot be entered from
//   a native ISR while a call runs): the native ISR masks or latches the line, and the pending
//   line is delivered between export calls and where a driver waits. A wait point is a read of
//   the same address as the CPU's access just before it, also a read: a poll. A board's
//   mmio_read native can tell that just as cheaply as the harness.
// - preemptive (what a CPU does, for a module compiled to C and entered from a real ISR): a
//   pending line is delivered between any two accesses, by entering the handler from inside the
//   import call; the interrupted call resumes when it returns. A more urgent line preempts a
//   running handler.
//
// The trace records where each interrupt landed (OP_IRQ entries) and marks the handler's own
// accesses with FLAG_IRQ. What a handler leaves behind is checked as it happens: a line that is
// entered again and again with its source never released is an interrupt storm, and a
// handler's writes that no DSB completed before it returned leave the line asserted in the
// controller's eyes, so that it is entered again with nothing to do (a spurious interrupt,
// found by checkNoSpuriousInterrupts in harness/interrupt-checks.ts).
import type { Bus } from "./bus.js";
import { HalError, TRACE_TAIL_LINES } from "./hal.js";
import { OP_BARRIER, OP_IRQ, OP_READ, OP_WRITE, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN } from "./trace.js";
import { formatTail } from "./trace-text.js";
import { IrqController, THREAD_PRIORITY } from "./devices/irqc.js";

export type DeliveryMode = "deferred" | "preemptive";

/** ENTER event value bits (harness/trace.ts IRQ_ENTER). */
export const ENTER_PREEMPTIVE = 1;
/** The line was taken from its pending latch while its source was not asserted. */
export const ENTER_SOURCE_IDLE = 2;
/** The harness made the line pending on purpose (Interrupts.inject: a spurious interrupt). */
export const ENTER_INJECTED = 4;

/** The export a module handles interrupts with (docs/abi.md 1.3). */
export const DISPATCH_EXPORT = "hal_irq_dispatch";
/** Consecutive entries of one line, each returning with its source still asserted, that make a
 * storm. Linux's PL011 driver gives up after 256 passes (AMBA_ISR_PASS_LIMIT); an entry here is
 * a whole handler call, so fewer are needed. */
export const STORM_LIMIT = 64;

export interface InterruptOptions {
  /** Default "deferred", what a WAMR board does. */
  readonly mode?: DeliveryMode;
  /** The dispatch export (default hal_irq_dispatch). */
  readonly dispatch?: string;
  /** Consecutive unacknowledged entries that make a storm (default STORM_LIMIT). */
  readonly stormLimit?: number;
}

/** A line entered again and again with its source still asserted after every return. */
export class InterruptStorm extends Error {
  constructor(message: string, readonly line: number, readonly entries: number) {
    super(message);
    this.name = "InterruptStorm";
  }
}

/** Where an access boundary is, for a check that runs at each one. The object is reused from one
 * access to the next: read it during the check, do not keep it. */
export interface BoundaryContext {
  /** Index of the next trace entry (the access about to be made). */
  readonly entry: number;
  /** The line whose handler is running, or -1 in main code. */
  readonly line: number;
}

interface Frame {
  readonly line: number;
  readonly priorityBefore: number;
  /** A write was made since the handler's last DSB. */
  posted: boolean;
  /** The line's source level just before the first such write reached the bus. */
  levelBeforePosted: boolean;
}

type Dispatch = (line: number) => number;

/** What delivery needs of the module's host: its bus and exports, and a place to say that this
 * delivery is attached (a Hal has all three; the fuzzer's World gives the same). Its calls must
 * call betweenCalls() before and after each export call. */
export interface InterruptHost {
  readonly bus: Bus;
  readonly exports: { readonly [name: string]: unknown };
  interrupts: Interrupts | null;
}

export class Interrupts {
  readonly mode: DeliveryMode;
  readonly dispatchName: string;
  readonly stormLimit: number;
  /** Delivery points passed so far: in preemptive mode every access boundary of main code and
   * every call boundary; in deferred mode every call boundary and wait point. A boundary right
   * after a poll's repeated read is not a new point: the driver is where it was one read before,
   * only later (an exploration would otherwise try each of a poll's thousands of reads). Pending
   * interrupts are delivered there all the same. */
  points = 0;
  /** Nothing is delivered at the points before this one (an exploration holds an interrupt). */
  holdUntil = 0;
  /** Called at each delivery point with its index, before anything is delivered there: an
   * exploration makes its stimulus happen at one chosen point. */
  onPoint: ((index: number) => void) | null = null;
  /** Run before every CPU access, in main code and in handlers: invariants over shared state
   * (a ring buffer's published slots), which throw to fail the call. */
  readonly boundaryChecks: ((at: BoundaryContext) => void)[] = [];
  /** The one BoundaryContext the checks are given, refilled at each access (no allocation on
   * this path): a check reads it during its call and keeps no reference. */
  private readonly at: { entry: number; line: number } = { entry: 0, line: -1 };
  /** Handler entries so far. */
  entries = 0;

  private readonly dispatch: Dispatch;
  private readonly frames: Frame[] = [];
  private runningPriority = THREAD_PRIORITY;
  private lastMainOp = -1;
  private lastMainAddr = -1;
  private readonly injected = new Set<number>();
  private stormLine = -1;
  private stormCount = 0;

  constructor(readonly hal: InterruptHost, readonly controller: IrqController, options: InterruptOptions = {}) {
    this.mode = options.mode ?? "deferred";
    if (this.mode !== "deferred" && this.mode !== "preemptive") throw new RangeError(`interrupt delivery mode ${String(this.mode)}: expected "deferred" or "preemptive"`);
    this.dispatchName = options.dispatch ?? DISPATCH_EXPORT;
    this.stormLimit = options.stormLimit ?? STORM_LIMIT;
    const fn = hal.exports[this.dispatchName];
    if (typeof fn !== "function") throw new Error(`the module has no export ${this.dispatchName}: a module that handles interrupts exports it (docs/abi.md 1.3)`);
    this.dispatch = fn as Dispatch;
    if (hal.bus.boundaryHook !== null) throw new Error("the bus already has an interrupt delivery attached");
    hal.bus.boundaryHook = this.boundary;
    hal.interrupts = this;
    hal.bus.trace.lineNames = new Map(controller.lines.map((l) => [l.line, l.name]));
  }

  /** Back to a new execution, for a host that reuses one delivery (the fuzzer's World calls it
   * at each restart): no delivery point passed, no hold, no handler running, nothing injected,
   * no storm under way. onPoint, the boundary checks and the controller's state stay: they are
   * the owner's. */
  reset(): void {
    this.points = 0;
    this.holdUntil = 0;
    this.entries = 0;
    this.frames.length = 0;
    this.runningPriority = THREAD_PRIORITY;
    this.lastMainOp = -1;
    this.lastMainAddr = -1;
    this.injected.clear();
    this.stormLine = -1;
    this.stormCount = 0;
    this.hal.bus.contextFlags = 0;
  }

  /** Stops delivering: the bus and the Hal forget this object. */
  detach(): void {
    if (this.hal.bus.boundaryHook === this.boundary) this.hal.bus.boundaryHook = null;
    if (this.hal.interrupts === this) this.hal.interrupts = null;
  }

  /** True while a handler runs. */
  get inHandler(): boolean {
    return this.frames.length > 0;
  }

  /** Makes a line pending with no source behind it: a spurious interrupt, as a glitch on the
   * line or a stale latch gives. It is delivered at the next delivery point. */
  inject(line: number): void {
    this.controller.latch(line);
    this.injected.add(line);
  }

  /** Between two export calls (the Hal calls this before and after each). */
  betweenCalls(): void {
    if (this.frames.length === 0) this.point(false);
  }

  /**
   * Main code sleeping (a main loop in WFI) for `ns` of virtual time: the clock advances in steps
   * of `stepNs` and a pending line is delivered after each, whatever holdUntil says.
   */
  idle(ns: number, stepNs = 1000): void {
    if (!(ns >= 0) || !(stepNs > 0)) throw new RangeError(`idle(${ns}, ${stepNs}): expected ns >= 0 and stepNs > 0`);
    const end = this.hal.bus.clock.now + ns;
    for (;;) {
      this.deliver(false);
      const now = this.hal.bus.clock.now;
      if (now >= end) return;
      this.hal.bus.settle(Math.min(stepNs, end - now));
    }
  }

  private point(preemptive: boolean): void {
    const index = this.points++;
    if (this.onPoint !== null) this.onPoint(index);
    if (index >= this.holdUntil) this.deliver(preemptive);
  }

  /** The bus's hook before every CPU access. */
  private readonly boundary = (op: number, addrOrKind: number): void => {
    const frames = this.frames;
    const checks = this.boundaryChecks;
    if (checks.length !== 0) {
      const at = this.at;
      at.entry = this.hal.bus.trace.length;
      at.line = frames.length === 0 ? -1 : frames[frames.length - 1]!.line;
      for (const check of checks) check(at);
    }
    if (frames.length === 0) {
      let candidate: boolean;
      if (this.mode === "preemptive") {
        candidate = true;
      } else {
        candidate = op === OP_READ && this.lastMainOp === OP_READ && addrOrKind === this.lastMainAddr;
        this.lastMainOp = op;
        this.lastMainAddr = addrOrKind;
      }
      if (!candidate) return;
      const trace = this.hal.bus.trace;
      if (trace.repeatsPrevious(trace.length - 1)) {
        if (this.points > this.holdUntil) this.deliver(this.mode === "preemptive");
      } else {
        this.point(this.mode === "preemptive");
      }
      return;
    }
    const frame = frames[frames.length - 1]!;
    if (op === OP_WRITE) {
      if (!frame.posted) {
        frame.posted = true;
        frame.levelBeforePosted = this.controller.asserted(frame.line);
      }
    } else if (op === OP_BARRIER && addrOrKind === 1) {
      // DSB: every write before it has completed (the ABI's barrier kind 1).
      frame.posted = false;
    }
    // A more urgent line preempts the handler (a CPU nests exceptions by priority).
    if (this.mode === "preemptive") this.deliver(true);
  };

  /** Enters the handler of every line that can be taken now, most urgent first. */
  private deliver(preemptive: boolean): void {
    for (;;) {
      const line = this.controller.next(this.runningPriority);
      if (line < 0) return;
      this.enter(line, preemptive);
    }
  }

  private enter(line: number, preemptive: boolean): void {
    const bus = this.hal.bus;
    const trace = bus.trace;
    const controller = this.controller;
    let how = preemptive ? ENTER_PREEMPTIVE : 0;
    if (!controller.asserted(line)) how |= ENTER_SOURCE_IDLE;
    if (this.injected.delete(line)) how |= ENTER_INJECTED;
    controller.take(line);
    trace.record(OP_IRQ | bus.contextFlags, IRQ_ENTER, line, how, bus.clock.now);
    const frame: Frame = { line, priorityBefore: this.runningPriority, posted: false, levelBeforePosted: false };
    this.frames.push(frame);
    this.runningPriority = controller.priorities[line]!;
    bus.contextFlags = FLAG_IRQ;
    this.entries++;
    let status: number;
    try {
      status = this.dispatch(line);
    } catch (e) {
      this.unwind(frame);
      controller.finish(line, false);
      if (e instanceof HalError || e instanceof InterruptStorm) throw e;
      // Inside an export call the error ends that call, and Hal.call reports it with the trace.
      if (trace.currentCall >= 0) throw e;
      const tail = formatTail(bus, TRACE_TAIL_LINES);
      const what = e instanceof WebAssembly.RuntimeError ? `trap in the module: ${e.message}` : e instanceof Error ? e.message : String(e);
      throw new HalError(`${this.dispatchName}(${line}) for ${controller.lineName(line)} did not return: ${what}\nlast accesses:\n${tail}`, this.dispatchName, [line], e, tail);
    }
    this.unwind(frame);
    const sourceStill = controller.asserted(line);
    // A write still in flight (no DSB after it) has not released the line when the controller
    // samples it at the return: the line stays pending as it was before that write.
    const seenAsserted = sourceStill || (frame.posted && frame.levelBeforePosted);
    controller.finish(line, seenAsserted && !sourceStill);
    trace.record(OP_IRQ | bus.contextFlags, IRQ_RETURN, line, status >>> 0, bus.clock.now);
    if (sourceStill && line === this.stormLine) {
      if (++this.stormCount >= this.stormLimit) {
        const cause = controller.lines.find((l) => l.line === line)?.source.describeInterrupt?.();
        throw new InterruptStorm(
          `interrupt storm: ${controller.lineName(line)} (line ${line}) was entered ${this.stormCount} times in a row and its source was still asserted after every return${cause === undefined ? "" : ` (${cause})`}: the handler does not acknowledge what it serves`,
          line, this.stormCount);
      }
    } else {
      this.stormLine = sourceStill ? line : -1;
      this.stormCount = sourceStill ? 1 : 0;
    }
  }

  private unwind(frame: Frame): void {
    this.frames.pop();
    this.runningPriority = frame.priorityBefore;
    this.hal.bus.contextFlags = this.frames.length > 0 ? FLAG_IRQ : 0;
  }
}

/** Reads an IRQ_ENTER event's value. */
export function enterKind(value: number): { preemptive: boolean; sourceIdle: boolean; injected: boolean } {
  return { preemptive: (value & ENTER_PREEMPTIVE) !== 0, sourceIdle: (value & ENTER_SOURCE_IDLE) !== 0, injected: (value & ENTER_INJECTED) !== 0 };
}
