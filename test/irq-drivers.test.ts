// The interrupt-driven PL061, PL080 and PL022 (assembly/pl061-irq.ts, pl080-irq.ts,
// pl022-irq.ts; docs/drivers/*-irq.md) on the Versatile board, in both delivery modes
// (harness/interrupts.ts): every event, outcome and byte reaches main code once, handlers end
// with a DSB after their last write, and they are entered exactly as often as their sources ask
// (no spurious entry, no storm). Everything runs on the virtual clock.
import { describe, expect, it } from "vitest";
import { loadBoard, type Board } from "../harness/board-file.js";
import { OP_BARRIER, OP_IRQ, OP_WRITE, FLAG_DMA, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN, type Trace, type TraceEntry } from "../harness/trace.js";
import { ENTER_SOURCE_IDLE, type Interrupts } from "../harness/interrupts.js";
import { checkInterruptCode } from "../harness/interrupt-checks.js";
import { Pl061Model } from "../harness/devices/pl061.js";
import { Pl022Model } from "../harness/devices/pl022.js";
import { SpiNorFlash } from "../harness/devices/spi.js";
import { Ram } from "../harness/devices/ram.js";
import {
  OK, ERR_BUSY, ERR_DMA, ERR_INVALID_ARG,
  PL061_IRQ_EDGE_RISING, PL061_IRQ_EDGE_FALLING, PL061_IRQ_EDGE_BOTH, PL061_IRQ_LEVEL_HIGH,
  PL080_CONFIG_IRQ, PL061_IRQ_CTX_SIZE, PL080_IRQ_CTX_SIZE, PL022_IRQ_CTX_SIZE,
} from "../harness/generated/api.js";

const MODES = ["deferred", "preemptive"] as const;
type Mode = (typeof MODES)[number];

/** barrier() kind of a DSB (docs/abi.md 1.2). */
const DSB = 1;

/** The versatile board delivering interrupts in `mode`, the controller known to the module, and a
 * context block of `ctxSize` bytes at the end of the scratch buffer. */
function open(mode: Mode, ctxSize: number): { board: Board; interrupts: Interrupts; ctx: number; line: (region: string) => number } {
  const board = loadBoard("versatile");
  const interrupts = board.deliverInterrupts({ mode });
  const { hal } = board;
  const irqc = board.base("irqc");
  // NVIC layout (fixtures/boards/versatile.json): ISER0 at +0x000, ICER0 at +0x080.
  expect(hal.call("hal_irq_controller", irqc, irqc + 0x080)).toBe(OK);
  const controller = board.interruptController();
  const line = (region: string): number => {
    const n = controller.lineOf(region);
    expect(n, `the board wires ${region} to a line`).toBeGreaterThanOrEqual(0);
    return n;
  };
  return { board, interrupts, ctx: hal.scratch + hal.scratchSize - ctxSize, line };
}

interface HandlerRun {
  readonly line: number;
  readonly enterValue: number;
  /** The handler's own CPU accesses and barriers, in order. */
  readonly entries: TraceEntry[];
}

/** Every handler call in the trace, with what it did. */
function handlerRuns(trace: Trace): HandlerRun[] {
  const runs: HandlerRun[] = [];
  let current: HandlerRun | null = null;
  for (const e of trace.entries()) {
    if (e.op === OP_IRQ && e.width === IRQ_ENTER) {
      expect(current, "no handler preempts another here: every line has the same priority").toBeNull();
      current = { line: e.addr, enterValue: e.value, entries: [] };
    } else if (e.op === OP_IRQ && e.width === IRQ_RETURN) {
      expect(current?.line).toBe(e.addr);
      runs.push(current!);
      current = null;
    } else if (current !== null && (e.flags & FLAG_IRQ) !== 0 && (e.flags & FLAG_DMA) === 0) {
      current.entries.push(e);
    }
  }
  expect(current, "every handler returned").toBeNull();
  return runs;
}

/** What every handler run must show: a source behind it (not entered for nothing), the access
 * that acknowledges it (`acknowledges`: a clear, a mask, or for a FIFO level the read that
 * lowers it), and a DSB as its last access, after its last write. Then the trace checks of
 * harness/interrupt-checks.ts: no lost update, no unmasked read-modify-write of a register a
 * handler writes, no spurious entry. */
function expectWellBehavedHandlers(board: Board, runs: HandlerRun[], line: number, acknowledges: (e: TraceEntry) => boolean): void {
  for (const [i, run] of runs.entries()) {
    expect(run.line, `run ${i}`).toBe(line);
    expect(run.enterValue & ENTER_SOURCE_IDLE, `run ${i} was entered with its source idle (a spurious entry)`).toBe(0);
    expect(run.entries.some(acknowledges), `run ${i} acknowledged nothing`).toBe(true);
    const last = run.entries.at(-1)!;
    expect([last.op, last.value], `run ${i} does not end with a DSB`).toEqual([OP_BARRIER, DSB]);
    expect(run.entries.map((e) => e.op).lastIndexOf(OP_WRITE)).toBeLessThan(run.entries.length - 1);
  }
  expect(checkInterruptCode(board.bus).map((p) => p.message)).toEqual([]);
}

/** A write to `offset` of the region at `base`, or a read of it with `read`. */
const accessTo = (base: number, offset: number, read = false) => (e: TraceEntry): boolean =>
  e.addr === base + offset && (e.op === OP_WRITE) !== read && e.op !== OP_BARRIER && e.op !== OP_IRQ;

describe("PL061 by interrupt: pl061_irq_watch, pl061_irq_take", () => {
  const PIN_RISING = 1;
  const PIN_BOTH = 2;
  const PIN_FALLING = 3;
  const PIN_LEVEL = 4;
  const bit = (pin: number): number => 1 << pin;
  /** IC (0x41C) for an edge, IE (0x410) for a level. */
  const gpioAck = (board: Board) => (e: TraceEntry): boolean =>
    accessTo(board.base("gpio0"), 0x41c)(e) || accessTo(board.base("gpio0"), 0x410)(e);

  function openGpio(mode: Mode) {
    const o = open(mode, PL061_IRQ_CTX_SIZE);
    const { hal } = o.board;
    const gpio = o.board.model("gpio0", Pl061Model);
    const line = o.line("gpio0");
    expect(hal.call("pl061_irq_open", o.ctx, o.board.base("gpio0"), line)).toBe(OK);
    expect(hal.call("pl061_irq_watch", o.ctx, bit(PIN_RISING), PL061_IRQ_EDGE_RISING)).toBe(OK);
    expect(hal.call("pl061_irq_watch", o.ctx, bit(PIN_BOTH), PL061_IRQ_EDGE_BOTH)).toBe(OK);
    expect(hal.call("pl061_irq_watch", o.ctx, bit(PIN_FALLING), PL061_IRQ_EDGE_FALLING)).toBe(OK);
    expect(hal.call("pl061_irq_watch", o.ctx, bit(PIN_LEVEL), PL061_IRQ_LEVEL_HIGH)).toBe(OK);
    const take = (mask = 0xff): number => hal.call("pl061_irq_take", o.ctx, mask);
    return { ...o, hal, gpio, gpioLine: line, take };
  }

  it.each(MODES)("%s: edges driven from outside are each reported once, levels fire once per take and never storm", (mode) => {
    const { board, interrupts, gpio, gpioLine, take } = openGpio(mode);
    board.bus.trace.clear();
    expect(take()).toBe(0);

    // One rising edge; the falling edge after it is not watched on that pin.
    gpio.drive(PIN_RISING, true);
    expect(take()).toBe(bit(PIN_RISING));
    gpio.drive(PIN_RISING, false);
    expect(take()).toBe(0);
    // Three edges on two pins before anyone looks: one handler run, both pins, each once.
    gpio.drive(PIN_BOTH, true);
    gpio.drive(PIN_BOTH, false);
    gpio.drive(PIN_RISING, true);
    expect(take(bit(PIN_BOTH))).toBe(bit(PIN_BOTH));
    expect(take()).toBe(bit(PIN_RISING));
    expect(take()).toBe(0);
    // The falling-edge pin: the rise is not an event, the fall is.
    gpio.drive(PIN_FALLING, true);
    expect(take()).toBe(0);
    gpio.drive(PIN_FALLING, false);
    expect(take()).toBe(bit(PIN_FALLING));
    // Time passes with nothing new: nothing is reported.
    interrupts.idle(50_000);
    expect(take()).toBe(0);

    // A high level: the handler masks the pin, so a level that holds for 200 us is one entry.
    const before = interrupts.entries;
    gpio.drive(PIN_LEVEL, true);
    interrupts.idle(200_000);
    expect(interrupts.entries - before).toBe(1);
    // Each take hands it over and unmasks it; while it holds it fires again, once.
    expect(take()).toBe(bit(PIN_LEVEL));
    interrupts.idle(200_000);
    expect(interrupts.entries - before).toBe(2);
    gpio.drive(PIN_LEVEL, false);
    // The event recorded while the level held is still owed, then nothing more.
    expect(take()).toBe(bit(PIN_LEVEL));
    interrupts.idle(200_000);
    expect(take()).toBe(0);
    expect(interrupts.entries - before).toBe(2);

    // Entries: the rising edge, the three edges together, the falling edge, the level twice.
    const runs = handlerRuns(board.bus.trace);
    expect(runs.length).toBe(5);
    expect(interrupts.entries).toBe(5);
    expectWellBehavedHandlers(board, runs, gpioLine, gpioAck(board));
  });

  it("preemptive: an edge that lands at any access of pl061_irq_take is reported exactly once", () => {
    // How many delivery points one take passes, measured on a run of its own.
    const probe = openGpio("preemptive");
    const from = probe.interrupts.points;
    probe.take();
    const span = probe.interrupts.points - from;
    expect(span).toBeGreaterThan(3);
    for (let k = 0; k <= span + 1; k++) {
      const { board, interrupts, gpio, gpioLine, take } = openGpio("preemptive");
      board.bus.trace.clear();
      const at = interrupts.points + k;
      interrupts.onPoint = (index) => {
        if (index === at) gpio.drive(PIN_RISING, true);
      };
      const first = take();
      const second = take();
      const third = take();
      expect({ k, first, second, third, both: first & second }).toMatchObject({ both: 0 });
      expect((first | second | third) & bit(PIN_RISING), `edge at point ${k} of the take was lost`).toBe(bit(PIN_RISING));
      expect(third, `edge at point ${k} reported twice`).toBe(0);
      const runs = handlerRuns(board.bus.trace);
      expect(runs.length).toBe(1);
      expectWellBehavedHandlers(board, runs, gpioLine, gpioAck(board));
    }
  });

  it("refuses bad arguments before any register access", () => {
    const { board, hal, ctx } = openGpio("deferred");
    const trace = board.bus.trace;
    trace.clear();
    expect(hal.call("pl061_irq_watch", ctx, 0x100, PL061_IRQ_EDGE_RISING)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl061_irq_watch", ctx, 0x01, 3)).toBe(ERR_INVALID_ARG); // IBE with IEV
    expect(hal.call("pl061_irq_watch", ctx, 0x01, 6)).toBe(ERR_INVALID_ARG); // IBE with IS
    expect(hal.call("pl061_irq_take", ctx + 4, 0xff)).toBe(ERR_INVALID_ARG); // not an open context
    expect(hal.call("pl061_irq_open", hal.scratch, board.base("gpio0"), 6)).toBe(ERR_BUSY); // line 6 is ctx's
    expect(hal.call("pl061_irq_open", hal.scratch + 2, board.base("gpio0"), 7)).toBe(ERR_INVALID_ARG);
    expect([...trace.entries()].filter((e) => e.op !== OP_IRQ)).toEqual([]);
    // Closed, the context is no longer accepted, and the pins stay masked.
    expect(hal.call("pl061_irq_close", ctx)).toBe(OK);
    expect(hal.call("pl061_irq_take", ctx, 0xff)).toBe(ERR_INVALID_ARG);
    expect(board.model("gpio0", Pl061Model).ie).toBe(0);
  });
});

describe("PL080 by interrupt: completion and error, pl080_irq_status", () => {
  function openDmac(mode: Mode) {
    const o = open(mode, PL080_IRQ_CTX_SIZE);
    const { hal } = o.board;
    const dmac = o.board.base("dmac");
    const line = o.line("dmac");
    expect(hal.call("pl080_init", dmac)).toBe(OK);
    expect(hal.call("pl080_irq_open", o.ctx, dmac, line)).toBe(OK);
    /** pl080_irq_status until it reports, the CPU sleeping 1 us between looks (bounded). */
    const outcome = (channel: number): { status: number; looks: number } => {
      for (let looks = 1; looks <= 1000; looks++) {
        const status = hal.call("pl080_irq_status", o.ctx, channel);
        if (status !== ERR_BUSY) return { status, looks };
        o.interrupts.idle(1000);
      }
      return { status: ERR_BUSY, looks: 1000 };
    };
    return { ...o, hal, dmac, dmacLine: line, outcome };
  }

  it.each(MODES)("%s: a memcpy completes by interrupt (OK, once), one from an unmapped address fails (ERR_DMA, once)", (mode) => {
    const { board, hal, dmac, dmacLine, interrupts, outcome, ctx } = openDmac(mode);
    const ram = board.base("ram");
    const linear = board.base("linear");
    board.bus.trace.clear();
    const data = Uint8Array.from({ length: 64 }, (_, i) => (i * 5 + 1) & 0xff);
    hal.writeBytes(data);
    expect(hal.call("pl080_irq_status", ctx, 0)).toBe(ERR_BUSY); // nothing to report yet
    expect(hal.call("pl080_memcpy", dmac, 0, linear + hal.scratch, ram + 0x100, data.length, PL080_CONFIG_IRQ)).toBe(OK);
    const copied = outcome(0);
    expect(copied.status).toBe(OK);
    expect(copied.looks).toBeGreaterThan(1); // it did not finish before the first look
    expect(board.model("ram", Ram).bytes.subarray(0x100, 0x140)).toEqual(data);
    expect(hal.call("pl080_irq_status", ctx, 0)).toBe(ERR_BUSY); // reported once

    // Nothing is mapped at 0x30000000: the source read gets an error response.
    expect(hal.call("pl080_memcpy", dmac, 1, 0x3000_0000, ram + 0x200, 64, PL080_CONFIG_IRQ)).toBe(OK);
    expect(outcome(1).status).toBe(ERR_DMA);
    expect(hal.call("pl080_irq_status", ctx, 1)).toBe(ERR_BUSY);
    expect(hal.call("pl080_irq_status", ctx, 0)).toBe(ERR_BUSY);

    // Two channels at once: both outcomes, each once, whichever entry served them.
    expect(hal.call("pl080_memcpy", dmac, 2, linear + hal.scratch, ram + 0x400, 64, PL080_CONFIG_IRQ)).toBe(OK);
    expect(hal.call("pl080_memcpy", dmac, 3, 0x3000_0000, ram + 0x500, 64, PL080_CONFIG_IRQ)).toBe(OK);
    interrupts.idle(100_000);
    expect([outcome(2).status, outcome(3).status]).toEqual([OK, ERR_DMA]);
    expect([hal.call("pl080_irq_status", ctx, 2), hal.call("pl080_irq_status", ctx, 3)]).toEqual([ERR_BUSY, ERR_BUSY]);
    expect(board.model("ram", Ram).bytes.subarray(0x400, 0x440)).toEqual(data);

    const runs = handlerRuns(board.bus.trace);
    // One entry per outcome for the first two; the last two finished within one idle step of
    // each other, and are served by one entry or two.
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.length).toBeLessThanOrEqual(4);
    expect(interrupts.entries).toBe(runs.length);
    // IntTCClear (0x008) or IntErrClr (0x010).
    expectWellBehavedHandlers(board, runs, dmacLine, (e) => accessTo(dmac, 0x008)(e) || accessTo(dmac, 0x010)(e));
    // The handler read the status before it cleared it, every time.
    for (const run of runs) {
      const ops = run.entries.map((e) => `${e.op === OP_WRITE ? "W" : "R"}${(e.addr - dmac).toString(16)}`);
      expect(ops.slice(0, 2)).toEqual(["R4", "Rc"]);
    }
  });

  it("refuses bad arguments before any register access", () => {
    const { board, hal, ctx, dmac } = openDmac("deferred");
    board.bus.trace.clear();
    expect(hal.call("pl080_irq_status", ctx, 8)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl080_irq_status", ctx + 8, 0)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl080_irq_open", ctx, dmac + 2, 17)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl080_irq_open", ctx, dmac, 256)).toBe(ERR_INVALID_ARG);
    expect([...board.bus.trace.entries()].filter((e) => e.op !== OP_IRQ)).toEqual([]);
    expect(hal.call("pl080_irq_close", ctx)).toBe(OK);
    expect(hal.call("pl080_irq_status", ctx, 0)).toBe(ERR_INVALID_ARG);
  });
});

describe("PL022 by interrupt: long transfers from the RX FIFO interrupt", () => {
  function openSsp(mode: Mode) {
    const o = open(mode, PL022_IRQ_CTX_SIZE);
    const { hal } = o.board;
    const flash = o.board.part("flash0", SpiNorFlash);
    const wiring = o.board.chipSelectOf("flash0")!;
    const gpio = o.board.base(wiring.gpio);
    const ssp = o.board.base(wiring.ssp);
    const pin = 1 << wiring.pin;
    const select = (active: boolean): void => {
      expect(hal.call("pl061_write", gpio, pin, active === wiring.activeLow ? 0 : pin)).toBe(OK);
    };
    // As the pl022 scenario does (harness/scenarios.ts): the level before and after the pin
    // becomes an output, then the SSP at 12 MHz, 8-bit Motorola SPI mode 0.
    select(false);
    expect(hal.call("pl061_set_direction", gpio, pin, pin)).toBe(OK);
    select(false);
    expect(hal.call("pl022_init", ssp, 24_000_000, 12_000_000, 0)).toBe(OK);
    const line = o.line(wiring.ssp);
    expect(hal.call("pl022_irq_open", o.ctx, ssp, line)).toBe(OK);
    const tx = hal.scratch;
    const rx = hal.scratch + 512;
    /** One transaction with chip select around it: start, wait, the bytes received. */
    const transaction = (bytes: Uint8Array): { started: number; result: number; received: Uint8Array } => {
      hal.writeBytes(bytes, tx);
      select(true);
      const started = hal.call("pl022_irq_transfer", o.ctx, tx, rx, bytes.length);
      const result = hal.call("pl022_irq_wait", o.ctx);
      select(false);
      return { started, result, received: hal.readBytes(rx, bytes.length) };
    };
    return { ...o, hal, flash, ssp, sspLine: line, transaction, model: o.board.model(wiring.ssp, Pl022Model) };
  }

  it.each(MODES)("%s: a 64-byte READ of programmed data gets every byte, never more than 8 frames in flight", (mode) => {
    const { board, flash, transaction, model, sspLine, interrupts } = openSsp(mode);
    const data = Uint8Array.from({ length: 60 }, (_, i) => (i * 7 + 3) & 0xff);
    flash.memory.set(data, 0x2000);
    board.bus.trace.clear();
    // READ (03) + a 24-bit address, then 60 frames clocking the data out (harness/devices/spi.ts).
    const command = new Uint8Array(64);
    command.set([0x03, 0x00, 0x20, 0x00]);
    const { started, result, received } = transaction(command);
    expect(started).toBe(OK);
    expect(result).toBe(64);
    expect([...received.subarray(4)]).toEqual([...data]);
    expect(model.overruns).toBe(0);
    expect(model.peakInFlight).toBeLessThanOrEqual(8);
    expect(model.framesShifted).toBe(64);
    const runs = handlerRuns(board.bus.trace);
    // 56 frames after the 8 primed, taken a few at a time as RX asserts at 4 entries: at the
    // virtual clock's timing, 10 entries in either mode; each took at least one frame.
    expect(runs.length).toBe(10);
    expect(interrupts.entries).toBe(10);
    // RX lowers as DR (0x008) is read; RT and ROR clear through ICR (0x020).
    expectWellBehavedHandlers(board, runs, sspLine, accessTo(board.base("ssp0"), 0x008, true));
    // The transfer ended with SSP interrupts masked: the line is quiet.
    expect(board.interruptController().asserted(sspLine)).toBe(false);
  });

  it.each(MODES)("%s: a transfer shorter than the RX level (3 frames of the JEDEC ID) ends on the receive timeout", (mode) => {
    const { board, flash, transaction, sspLine } = openSsp(mode);
    const ssp = board.base("ssp0");
    board.bus.trace.clear();
    // RDID (9F), then two frames for the manufacturer and memory type bytes.
    const { result, received } = transaction(Uint8Array.from([0x9f, 0, 0]));
    expect(result).toBe(3);
    expect([...received.subarray(1)]).toEqual([...flash.jedecId.slice(0, 2)]);
    const runs = handlerRuns(board.bus.trace);
    expect(runs.length).toBe(1);
    // Fewer than 4 entries never raise RX: RT (MIS bit 1) was what the handler saw, and it
    // cleared it through ICR (RTIC, bit 1) before taking the frames.
    const entries = runs[0]!.entries;
    expect(entries.find(accessTo(ssp, 0x01c, true))!.value).toBe(0x2);
    expect(entries.findIndex((e) => accessTo(ssp, 0x020)(e) && e.value === 0x2)).toBeLessThan(entries.findIndex(accessTo(ssp, 0x008, true)));
    expectWellBehavedHandlers(board, runs, sspLine, accessTo(ssp, 0x020));
  });

  it.each(MODES)("%s: the whole JEDEC ID (4 frames, the RX level) ends on RX", (mode) => {
    const { board, flash, transaction, sspLine } = openSsp(mode);
    const ssp = board.base("ssp0");
    board.bus.trace.clear();
    const { result, received } = transaction(Uint8Array.from([0x9f, 0, 0, 0]));
    expect(result).toBe(4);
    expect([...received.subarray(1)]).toEqual([...flash.jedecId]);
    const runs = handlerRuns(board.bus.trace);
    expect(runs.length).toBe(1);
    expect(runs[0]!.entries.find(accessTo(ssp, 0x01c, true))!.value).toBe(0x4);
    expectWellBehavedHandlers(board, runs, sspLine, accessTo(ssp, 0x008, true));
  });

  it("refuses a second transfer while one runs, and bad arguments before any register access", () => {
    const { board, hal, ctx, ssp } = openSsp("deferred");
    const trace = board.bus.trace;
    trace.clear();
    expect(hal.call("pl022_irq_transfer", ctx, 0, hal.scratch, 4)).toBe(ERR_INVALID_ARG); // no TX buffer
    expect(hal.call("pl022_irq_transfer", ctx, hal.scratch, hal.scratch, 0x10000)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl022_irq_wait", ctx + 4)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl022_irq_open", ctx, ssp + 1, 11)).toBe(ERR_INVALID_ARG);
    expect([...trace.entries()].filter((e) => e.op !== OP_IRQ)).toEqual([]);
    expect(hal.call("pl022_irq_wait", ctx)).toBe(0); // nothing started: 0 frames
    expect(hal.call("pl022_irq_transfer", ctx, hal.scratch, 0, 32)).toBe(OK);
    const accesses = trace.length;
    expect(hal.call("pl022_irq_transfer", ctx, hal.scratch, 0, 32)).toBe(ERR_BUSY);
    // Refused from the context alone (the deferred host may deliver between the calls).
    expect([...trace.entries(accesses)].filter((e) => (e.flags & FLAG_IRQ) === 0 && e.op !== OP_IRQ)).toEqual([]);
    expect(hal.call("pl022_irq_wait", ctx)).toBe(32);
    expect(hal.call("pl022_irq_close", ctx)).toBe(OK);
    expect(hal.call("pl022_irq_wait", ctx)).toBe(ERR_INVALID_ARG);
  });
});

describe("PL022 by interrupt, on an SSP that never raises RT (QEMU's PL022 model has no receive timeout)", () => {
  const RT = 1 << 1;
  /** The versatile board's SSP with RT taken out of RIS, MIS and its interrupt output. */
  function withoutReceiveTimeout(board: Board): void {
    const model = board.model("ssp0", Pl022Model);
    const read = model.read.bind(model);
    model.read = (offset: number, width: number): number => {
      const value = read(offset, width);
      return offset === 0x018 || offset === 0x01c ? value & ~RT : value;
    };
    model.interruptPending = (): boolean => (read(0x01c, 4) & ~RT) !== 0;
  }

  it.each(MODES)("%s: the frames below the RX level are taken by pl022_irq_wait once the port has stayed idle", (mode) => {
    const o = open(mode, PL022_IRQ_CTX_SIZE);
    const { board, ctx } = o;
    const { hal } = board;
    withoutReceiveTimeout(board);
    const flash = board.part("flash0", SpiNorFlash);
    const wiring = board.chipSelectOf("flash0")!;
    const gpio = board.base(wiring.gpio);
    const pin = 1 << wiring.pin;
    const ssp = board.base(wiring.ssp);
    expect(hal.call("pl061_write", gpio, pin, pin)).toBe(OK);
    expect(hal.call("pl061_set_direction", gpio, pin, pin)).toBe(OK);
    expect(hal.call("pl061_write", gpio, pin, pin)).toBe(OK);
    expect(hal.call("pl022_init", ssp, 24_000_000, 12_000_000, 0)).toBe(OK);
    expect(hal.call("pl022_irq_open", ctx, ssp, o.line("ssp0"))).toBe(OK);
    // RDID and six frames: 4 come back through the RX interrupt, the last 3 never raise one.
    const command = Uint8Array.from([0x9f, 0, 0, 0, 0, 0, 0]);
    hal.writeBytes(command, hal.scratch);
    expect(hal.call("pl061_write", gpio, pin, 0)).toBe(OK);
    expect(hal.call("pl022_irq_transfer", ctx, hal.scratch, hal.scratch + 512, command.length)).toBe(OK);
    expect(hal.call("pl022_irq_wait", ctx)).toBe(command.length);
    expect(hal.call("pl061_write", gpio, pin, pin)).toBe(OK);
    expect([...hal.readBytes(hal.scratch + 513, 3)]).toEqual([...flash.jedecId]);
    // The wait masked the line around the frames it took: no race with the handler.
    expect(checkInterruptCode(board.bus)).toEqual([]);
  });
});
