// Interrupts (docs/interrupts.md): the controller model's registers, delivery into the module in
// both modes, the checks of interrupt code, and the exhaustive exploration of the
// interrupt-driven PL011 that issue 12 asks for.
import { describe, expect, it } from "vitest";
import { Bus, type Device } from "../harness/bus.js";
import { Trace, OP_READ, OP_WRITE, OP_BARRIER, OP_IRQ, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN } from "../harness/trace.js";
import { IrqController, THREAD_PRIORITY } from "../harness/devices/irqc.js";
import { IRQC_MAP } from "../harness/generated/irqc.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { loadBoard } from "../harness/board-file.js";
import { ENTER_PREEMPTIVE, ENTER_SOURCE_IDLE, ENTER_INJECTED } from "../harness/interrupts.js";
import { findInterruptRaces, checkMaskedReadModifyWrite, checkNoSpuriousInterrupts, checkInterruptCode } from "../harness/interrupt-checks.js";
import { exploreInterleavings } from "../harness/explore.js";
import { pl011IrqExploration, IRQ_GREETING, IRQ_ARRIVALS, UART0_LINE } from "../harness/scenarios-irq.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { Pl061Model } from "../harness/devices/pl061.js";
import { OK, PL011_IRQ_CTX_SIZE, ERR_NO_HANDLER, ERR_NO_IRQ_CONTROLLER, PL061_IRQ_EDGE_RISING } from "../harness/generated/api.js";

const IRQC = 0x10140000;
const ISER0 = IRQC + 0x000;
const ICER0 = IRQC + 0x080;
const ISPR0 = IRQC + 0x100;
const ICPR0 = IRQC + 0x180;
const IPR0 = IRQC + 0x300;

/** A source whose level a test sets. */
class Level {
  on = false;
  interruptPending(): boolean {
    return this.on;
  }
}

describe("the controller model (NVIC register layout, DDI 0403E B3.4)", () => {
  const setup = (): { bus: Bus; irqc: IrqController; a: Level; b: Level } => {
    const bus = new Bus();
    const irqc = new IrqController();
    bus.map({ name: "irqc", base: IRQC, size: IRQC_MAP.size, device: irqc, map: IRQC_MAP });
    const a = new Level();
    const b = new Level();
    irqc.connect(3, a, "a");
    irqc.connect(40, b, "b");
    return { bus, irqc, a, b };
  };

  it("enables through ISER, masks through ICER, and both read the enabled lines", () => {
    const { bus, irqc } = setup();
    bus.write(ISER0, 1 << 3, 4);
    bus.write(ISER0 + 4, 1 << 8, 4);
    expect(bus.read(ISER0, 4)).toBe(1 << 3);
    expect(bus.read(ICER0 + 4, 4)).toBe(1 << 8);
    expect(irqc.isEnabled(40)).toBe(true);
    bus.write(ICER0, 1 << 3, 4);
    expect(irqc.isEnabled(3)).toBe(false);
    expect(irqc.isEnabled(40)).toBe(true);
  });

  it("shows an asserted source and a set-pending write in ISPR; ICPR clears only the latch", () => {
    const { bus, irqc, a } = setup();
    a.on = true;
    expect(bus.read(ISPR0, 4)).toBe(1 << 3);
    bus.write(ISPR0, 1 << 5, 4);
    expect(bus.read(ICPR0, 4)).toBe((1 << 3) | (1 << 5));
    bus.write(ICPR0, (1 << 3) | (1 << 5), 4);
    // The source still asserts line 3: it stays pending.
    expect(bus.read(ISPR0, 4)).toBe(1 << 3);
    expect(irqc.isPending(5)).toBe(false);
  });

  it("takes the most urgent enabled pending line that is not active, lower line first on a tie", () => {
    const { bus, irqc, a, b } = setup();
    a.on = true;
    b.on = true;
    expect(irqc.next(THREAD_PRIORITY)).toBe(-1);
    irqc.setEnabled(3, true);
    irqc.setEnabled(40, true);
    expect(irqc.next(THREAD_PRIORITY)).toBe(3);
    // IPR bytes: line 40 more urgent (0x10) than line 3 (0x80).
    bus.write(IPR0 + 3, 0x80, 1);
    bus.write(IPR0 + 40, 0x10, 1);
    expect(bus.read(IPR0, 4)).toBe(0x80000000);
    expect(irqc.next(THREAD_PRIORITY)).toBe(40);
    irqc.take(40);
    expect(bus.read(IRQC + 0x200 + 4, 4)).toBe(1 << 8);
    // While 40 runs (priority 0x10), line 3 (0x80) cannot preempt it.
    expect(irqc.next(0x10)).toBe(-1);
    irqc.finish(40, false);
    b.on = false;
    expect(irqc.next(THREAD_PRIORITY)).toBe(3);
  });

  it("refuses a line outside 0..255 and a line connected twice", () => {
    const { irqc } = setup();
    expect(() => irqc.connect(256, new Level(), "x")).toThrow("interrupt line 256 is outside 0..255");
    expect(() => irqc.connect(3, new Level(), "x")).toThrow("interrupt line 3 is already connected to a");
  });
});

/** The versatile board with the interrupt-driven PL011 open on uart0, line 12. */
function openUart(mode: "deferred" | "preemptive") {
  const board = loadBoard("versatile");
  const interrupts = board.deliverInterrupts({ mode });
  const { hal } = board;
  const ctx = hal.scratch + hal.scratchSize - PL011_IRQ_CTX_SIZE;
  expect(hal.call("hal_irq_controller", ISER0, ICER0)).toBe(OK);
  expect(hal.call("pl011_irq_open", ctx, board.base("uart0"), 24_000_000, 115200, 0, UART0_LINE)).toBe(OK);
  return { board, hal, interrupts, ctx, uart: board.model("uart0", Pl011Model) };
}

const events = (trace: Trace): { kind: string; line: number; value: number; call: number }[] => {
  const out = [];
  for (const e of trace.entries()) if (e.op === OP_IRQ) out.push({ kind: e.width === IRQ_ENTER ? "enter" : "return", line: e.addr, value: e.value, call: e.call });
  return out;
};

describe("delivery into the module", () => {
  it("refuses to open a driver before the controller is known, and dispatch of an unserved line", () => {
    const board = loadBoard("versatile");
    const { hal } = board;
    expect(hal.call("pl011_irq_open", hal.scratch, board.base("uart0"), 24_000_000, 115200, 0, 12)).toBe(ERR_NO_IRQ_CONTROLLER);
    expect(board.bus.trace.length).toBe(0);
    expect(hal.call("hal_irq_dispatch", 7)).toBe(ERR_NO_HANDLER);
  });

  it("deferred: a pending line waits for the end of the call, or for a poll", () => {
    const { board, hal, ctx, uart } = openUart("deferred");
    const trace = board.bus.trace;
    trace.clear();
    // Characters arrive; nothing is delivered until a delivery point.
    uart.receive([0x41, 0x42, 0x43]);
    expect(events(trace)).toEqual([]);
    // pl011_irq_read makes no register access: the interrupt comes before it, between calls.
    expect(hal.call("pl011_irq_read", ctx, hal.scratch, 16)).toBe(3);
    const first = events(trace);
    expect(first.map((e) => e.kind)).toEqual(["enter", "return"]);
    expect(first[0]).toMatchObject({ line: 12, value: 0, call: -1 });
    // A handler's accesses carry FLAG_IRQ; main code's do not.
    const flagged = [...trace.entries()].filter((e) => (e.flags & FLAG_IRQ) !== 0 && e.op !== OP_IRQ);
    expect(flagged.length).toBeGreaterThan(4);
    expect(flagged.every((e) => e.call === -1)).toBe(true);
    // During pl011_irq_flush (FR polls) the TX interrupt comes at a poll, inside the call.
    trace.clear();
    const text = Uint8Array.from(IRQ_GREETING, (c) => c.charCodeAt(0));
    hal.writeBytes(text);
    expect(hal.call("pl011_irq_write", ctx, hal.scratch, text.length)).toBe(text.length);
    const writeEntries = trace.length;
    expect(events(trace)).toEqual([]);
    expect(hal.call("pl011_irq_flush", ctx)).toBe(OK);
    const atPolls = events(trace).filter((e) => e.kind === "enter");
    expect(atPolls.length).toBeGreaterThanOrEqual(2);
    for (const e of atPolls) expect(trace.calls[e.call]?.name).toBe("pl011_irq_flush");
    // Each landed right after a repeated FR read, never in the middle of pl011_irq_write.
    for (let i = 0; i < trace.length; i++) {
      const e = trace.entry(i);
      if (e.op !== OP_IRQ || e.width !== IRQ_ENTER) continue;
      expect(i).toBeGreaterThan(writeEntries);
      const before = trace.entry(i - 1);
      expect([before.op, before.addr]).toEqual([OP_READ, board.base("uart0") + 0x018]);
    }
    expect(String.fromCharCode(...uart.wire)).toBe(IRQ_GREETING);
  });

  it("preemptive: the interrupt lands between two accesses of the running call, which then resumes", () => {
    const { board, hal, ctx, uart } = openUart("preemptive");
    const trace = board.bus.trace;
    trace.clear();
    const text = Uint8Array.from(IRQ_GREETING, (c) => c.charCodeAt(0));
    hal.writeBytes(text);
    expect(hal.call("pl011_irq_write", ctx, hal.scratch, text.length)).toBe(text.length);
    expect(hal.call("pl011_irq_flush", ctx)).toBe(OK);
    const enters = events(trace).filter((e) => e.kind === "enter");
    expect(enters.length).toBeGreaterThanOrEqual(2);
    for (const e of enters) {
      expect(e.value & ENTER_PREEMPTIVE).toBe(ENTER_PREEMPTIVE);
      expect(trace.calls[e.call]?.name).toBe("pl011_irq_flush");
    }
    expect(trace.calls.map((c) => c.result)).toEqual([text.length, OK]);
    expect(String.fromCharCode(...uart.wire)).toBe(IRQ_GREETING);
  });

  it("an injected interrupt is entered once, marked injected and source-idle, and the handler finds nothing", () => {
    const { board, hal, interrupts, ctx } = openUart("deferred");
    const trace = board.bus.trace;
    trace.clear();
    interrupts.inject(UART0_LINE);
    expect(hal.call("pl011_irq_read", ctx, hal.scratch, 16)).toBe(0);
    const [enter, ret] = events(trace);
    expect(enter!.value).toBe(ENTER_SOURCE_IDLE | ENTER_INJECTED);
    expect(ret).toMatchObject({ kind: "return", value: OK });
    // Injected: not reported as the driver's fault.
    expect(checkNoSpuriousInterrupts(board.bus)).toEqual([]);
  });

  it("the correct driver leaves no spurious entry, race or unmasked read-modify-write in either mode", () => {
    for (const mode of ["deferred", "preemptive"] as const) {
      const { board, hal, interrupts, ctx, uart } = openUart(mode);
      const text = Uint8Array.from(IRQ_GREETING, (c) => c.charCodeAt(0));
      hal.writeBytes(text);
      hal.call("pl011_irq_write", ctx, hal.scratch, text.length);
      uart.receive([1, 2, 3, 4, 5]);
      hal.call("pl011_irq_flush", ctx);
      interrupts.idle(500_000);
      expect(hal.call("pl011_irq_read", ctx, hal.scratch + 512, 64)).toBe(5);
      expect(interrupts.entries).toBeGreaterThanOrEqual(3);
      expect(checkNoSpuriousInterrupts(board.bus)).toEqual([]);
      expect(findInterruptRaces(board.bus)).toEqual([]);
      expect(checkMaskedReadModifyWrite(board.bus)).toEqual([]);
    }
  });
});

describe("the checks, on traces made by hand", () => {
  /** A bus with a PL011 map at 0x1000 (a plain register file) and the controller. */
  const handMade = (): { bus: Bus; t: Trace } => {
    const bus = new Bus();
    const registers = new Uint32Array(0x1000 / 4);
    const device: Device = { read: (o) => registers[o >>> 2]!, write: (o, v) => { registers[o >>> 2] = v; } };
    bus.map({ name: "uart0", base: 0x1000, size: PL011_MAP.size, device, map: PL011_MAP });
    bus.map({ name: "irqc", base: IRQC, size: IRQC_MAP.size, device: new IrqController(), map: IRQC_MAP });
    bus.trace.lineNames = new Map([[12, "uart0"]]);
    return { bus, t: bus.trace };
  };
  const IMSC = 0x1038;

  it("finds a lost update: main read, handler write, main write of the same register", () => {
    const { bus, t } = handMade();
    t.beginCall("pl011_irq_write", [0, 0, 1]);
    t.record(OP_READ, 4, IMSC, 0x7d0, 0);
    t.record(OP_IRQ, IRQ_ENTER, 12, ENTER_PREEMPTIVE, 1);
    t.record(OP_WRITE | FLAG_IRQ, 4, IMSC, 0x7d0, 2);
    t.record(OP_BARRIER | FLAG_IRQ, 0, 0, 1, 3);
    t.record(OP_IRQ, IRQ_RETURN, 12, 0, 4);
    t.record(OP_WRITE, 4, IMSC, 0x7f0, 5);
    t.endCall(0, 1);
    const [race, ...more] = findInterruptRaces(bus);
    expect(more).toEqual([]);
    expect(race!.entries).toEqual([0, 2, 5]);
    expect(race!.message).toContain("lost update of uart0+0x038 IMSC: main code read it, the uart0 (line 12) handler wrote it");
    expect(race!.message).toContain("#1 irq enter 12 preemptive");
    expect(race!.message).toContain("#5 W32 uart0+0x038 IMSC      0x000007f0");
    // The same read-modify-write with the line masked is not a race finder's business, but the
    // unmasked-rmw check sees the first one and not a masked one.
    expect(checkMaskedReadModifyWrite(bus).map((p) => p.entries)).toEqual([[0, 5]]);
  });

  it("accepts a read-modify-write made with the handler's line masked at the controller", () => {
    const { bus, t } = handMade();
    t.record(OP_WRITE, 4, ISER0, 1 << 12, 0);
    t.record(OP_IRQ, IRQ_ENTER, 12, 0, 1);
    t.record(OP_WRITE | FLAG_IRQ, 4, IMSC, 0x7d0, 2);
    t.record(OP_IRQ, IRQ_RETURN, 12, 0, 3);
    t.beginCall("pl011_irq_write", [0, 0, 1]);
    t.record(OP_WRITE, 4, ICER0, 1 << 12, 4);
    t.record(OP_READ, 4, IMSC, 0x7d0, 5);
    t.record(OP_WRITE, 4, IMSC, 0x7f0, 6);
    t.record(OP_WRITE, 4, ISER0, 1 << 12, 7);
    t.endCall(0, 1);
    expect(checkMaskedReadModifyWrite(bus)).toEqual([]);
    // Without the ICER write it is reported.
    const { bus: bus2, t: t2 } = handMade();
    for (const e of [...t.entries()].filter((x) => x.addr !== ICER0)) t2.record(e.op | e.flags, e.width, e.addr, e.value, e.time);
    expect(checkMaskedReadModifyWrite(bus2)).toHaveLength(1);
  });

  it("names the write with no DSB after it behind a spurious entry", () => {
    const { bus, t } = handMade();
    t.record(OP_IRQ, IRQ_ENTER, 12, 0, 0);
    t.record(OP_READ | FLAG_IRQ, 4, 0x1040, 0x10, 1);
    t.record(OP_WRITE | FLAG_IRQ, 4, 0x1044, 0x10, 2);
    t.record(OP_IRQ, IRQ_RETURN, 12, 0, 3);
    t.record(OP_IRQ, IRQ_ENTER, 12, ENTER_SOURCE_IDLE, 4);
    t.record(OP_READ | FLAG_IRQ, 4, 0x1040, 0, 5);
    t.record(OP_IRQ, IRQ_RETURN, 12, 0, 6);
    const [problem] = checkNoSpuriousInterrupts(bus);
    expect(problem!.entries).toEqual([2, 3, 4]);
    expect(problem!.message).toContain("spurious interrupt: the uart0 (line 12) handler was entered at #4 with its source idle");
    expect(problem!.message).toContain("#2 isr W32 uart0+0x044 ICR");
  });
});

describe("exhaustive exploration of the interrupt-driven PL011 (issue 12)", () => {
  it.each(["preemptive", "deferred"] as const)("%s: the receive interrupt at every delivery point in turn, no property failing", (mode) => {
    const result = exploreInterleavings(pl011IrqExploration(mode));
    console.log(`pl011-irq ${mode}: ${result.tried} interleavings tried (${result.points} delivery points), ${result.failures.length} failing`);
    expect(result.failures.map((f) => f.failure)).toEqual([]);
    expect(result.tried).toBe(result.points);
    // Preemptive delivery has a point at every access boundary of main code (a poll's repeats
    // aside); deferred only at call boundaries and polls: far fewer.
    expect(result.points).toBeGreaterThan(mode === "preemptive" ? 40 : 10);
    // Every run reached its point, and the points are distinct places in the trace.
    expect(result.runs.every((r) => r.entry >= 0)).toBe(true);
    expect(new Set(result.runs.map((r) => `${r.entry}`)).size).toBeGreaterThan(result.points / 2);
    // The stimulus was served in each run: "ping" and the parity error came through.
    expect(result.runs.every((r) => r.handlerEntries >= 2)).toBe(true);
    expect(IRQ_ARRIVALS).toBe("ping");
  });
});

describe("nesting by priority (preemptive delivery)", () => {
  it("a more urgent line preempts a running handler, which resumes; an equal or less urgent one waits for its return", () => {
    const { board, hal, ctx, uart } = openUart("preemptive");
    const gpioCtx = hal.scratch + 1024;
    const gpio = board.model("gpio0", Pl061Model);
    expect(hal.call("pl061_irq_open", gpioCtx, board.base("gpio0"), 6)).toBe(OK);
    expect(hal.call("pl061_irq_watch", gpioCtx, 1 << 3, PL061_IRQ_EDGE_RISING)).toBe(OK);
    const controller = board.interruptController();
    // IPR bytes: GPIO0 (line 6) at 0x20 is more urgent than UART0 (line 12) at 0x80.
    board.bus.write(IPR0 + 6, 0x20, 1);
    board.bus.write(IPR0 + 12, 0x80, 1);
    expect(controller.priorities[6]).toBe(0x20);
    const trace = board.bus.trace;
    const interrupts = hal.interrupts!;
    // A rising edge on pin 3 at the third access of the first UART handler run.
    let inUart = 0;
    interrupts.boundaryChecks.push((at) => {
      if (at.line === 12 && ++inUart === 3) gpio.drive(3, true);
    });
    trace.clear();
    uart.receive([0x61, 0x62, 0x63]);
    expect(hal.call("pl011_irq_read", ctx, hal.scratch + 512, 16)).toBe(3);
    const irq = [...trace.entries()].filter((e) => e.op === OP_IRQ).map((e) => `${e.width === IRQ_ENTER ? "enter" : "return"} ${e.addr}${(e.flags & FLAG_IRQ) !== 0 ? " nested" : ""}`);
    expect(irq).toEqual(["enter 12", "enter 6 nested", "return 6 nested", "return 12"]);
    expect(hal.call("pl061_irq_take", gpioCtx, 0xff)).toBe(1 << 3);

    // The other way round: GPIO0 less urgent, so its edge waits for the UART handler to return.
    board.bus.write(IPR0 + 6, 0xc0, 1);
    gpio.drive(3, false);
    inUart = 0;
    trace.clear();
    uart.receive([0x64, 0x65]);
    expect(hal.call("pl011_irq_read", ctx, hal.scratch + 512, 16)).toBe(2);
    const second = [...trace.entries()].filter((e) => e.op === OP_IRQ).map((e) => `${e.width === IRQ_ENTER ? "enter" : "return"} ${e.addr}${(e.flags & FLAG_IRQ) !== 0 ? " nested" : ""}`);
    expect(second).toEqual(["enter 12", "return 12", "enter 6", "return 6"]);
    expect(checkInterruptCode(board.bus)).toEqual([]);
  });
});
