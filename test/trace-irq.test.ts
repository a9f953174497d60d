// Interrupt entries (OP_IRQ, FLAG_IRQ) in every consumer of traces: the text form's round trip
// and diff, the parser's errors, the VCD, `wasm-hal show`, the assertions' own entry text, the
// replay (which refuses them), register coverage and the lint. The traces come from the
// interrupt-driven PL011 driver on the versatile board, delivered deferred and preemptive; all
// times are virtual, so nothing here depends on the machine's speed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bus } from "../harness/bus.js";
import { loadBoard, BoardFileError, type Board } from "../harness/board-file.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { RegisterFile } from "../harness/devices/register-file.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import type { DeliveryMode } from "../harness/interrupts.js";
import { OP_IRQ, OP_READ, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN } from "../harness/trace.js";
import { diffTraces, expandAccesses, formatTrace, parseTrace, traceRegions, TraceParseError, type ParsedAccess, type ParsedTrace } from "../harness/trace-text.js";
import { traceToVcd, parseVcd, vcdValues } from "../harness/vcd.js";
import { vcd as vcdCommand } from "../harness/commands/vcd.js";
import { renderTrace } from "../harness/commands/show.js";
import { describeDifference, registerCoverage } from "../harness/commands/check.js";
import { checkBarrierBetween, checkNeverTouches, checkWidths, countReads, describeEntry, expectNeverTouches } from "../harness/assert.js";
import { Replay, ReplayDivergence, ReplayUnsupported, replayBus } from "../harness/devices/replay.js";
import { lintParsedTrace, lintTrace } from "../harness/lint.js";
import { PACKAGE_CONTEXT } from "./context.js";
import { rebuildTrace } from "./rebuild-trace.js";

const MESSAGE = "Hello from interrupts, twenty-something bytes!\r\n";

/** A session of the interrupt-driven PL011: open, write 48 bytes (TX interrupts),
 * four bytes received (an RX interrupt), flush, read. */
function session(mode: DeliveryMode): Board {
  const board = loadBoard("versatile");
  const hal = board.hal;
  board.deliverInterrupts({ mode });
  const irqc = board.base("irqc");
  expect(hal.call("hal_irq_controller", irqc, irqc + 0x80)).toBe(0);
  const ctx = hal.scratch + 2048;
  const uart = board.model("uart0", Pl011Model);
  expect(hal.call("pl011_irq_open", ctx, board.base("uart0"), 24_000_000, 115_200, 0, 12)).toBe(0);
  hal.writeBytes(new TextEncoder().encode(MESSAGE));
  expect(hal.call("pl011_irq_write", ctx, hal.scratch, MESSAGE.length)).toBe(MESSAGE.length);
  uart.receive([0x41, 0x42, 0x43, 0x44]);
  expect(hal.call("pl011_irq_flush", ctx)).toBe(0);
  expect(hal.call("pl011_irq_read", ctx, hal.scratch + 1024, 64)).toBe(4);
  expect(new TextDecoder().decode(Uint8Array.from(uart.wire))).toBe(MESSAGE);
  return board;
}

const BOARDS = { deferred: session("deferred"), preemptive: session("preemptive") };
const TEXTS = { deferred: formatTrace(BOARDS.deferred.bus.trace, BOARDS.deferred.bus.regions), preemptive: formatTrace(BOARDS.preemptive.bus.trace, BOARDS.preemptive.bus.regions) };

function interruptLines(parsed: ParsedTrace): ParsedAccess[] {
  return parsed.accesses.filter((a) => a.op === OP_IRQ);
}


/** A hand-written trace whose region `low` sits at address 0, so that an interrupt line's
 * number (kept in `addr`) is also an address in it: line 24 is offset 0x018, the PL011's FR.
 * Handler 12 preempts nothing; inside it, line 6 preempts it. */
const COLLIDING = `wasm-hal-trace 1
region low 0x00000000 0x1000 pl011
region uart0 0x101f1000 0x1000 pl011

call step(0x0)
  R32 low+0x030   CR        0x00000000
  irq enter 24 preemptive  ; uart0
    isr R32 uart0+0x040 MIS       0x00000010  ; RX
    isr irq enter 6 preemptive  ; gpio0
      isr R32 uart0+0x038 IMSC      0x00000000
    isr irq return 6 0  ; gpio0
    isr W32 uart0+0x044 ICR       0x00000010  ; RX
  irq return 24 0  ; uart0
  W32 low+0x030   CR        0x00000001  ; UARTEN
return 0
`;

describe("the text form of interrupts", () => {
  for (const mode of ["deferred", "preemptive"] as const) {
    it(`round-trips a ${mode} session: format, parse, format gives the same text`, () => {
      const trace = BOARDS[mode].bus.trace;
      const text = TEXTS[mode];
      const parsed = parseTrace(text, `${mode}.trace`);
      expect(parsed.length).toBe(trace.length);
      const irqs = interruptLines(parsed);
      expect(irqs.length).toBe(10);
      expect(irqs.filter((a) => a.width === IRQ_ENTER).length).toBe(5);
      // Every parsed entry is the recorded one, flags included.
      const entries = expandAccesses(parsed);
      for (let i = 0; i < trace.length; i++) {
        const e = trace.entry(i);
        const p = entries[i]!;
        if (p.op !== e.op || p.flags !== e.flags || p.width !== e.width || p.addr !== e.addr || p.value !== e.value) throw new Error(`entry #${i} differs`);
      }
      expect(parsed.lineNames?.get(12)).toBe("uart0");
      expect(text).toContain(mode === "preemptive" ? "\n  irq enter 12 preemptive  ; uart0\n    isr R32 uart0+0x040 MIS " : "\n  irq enter 12  ; uart0\n    isr R32 uart0+0x040 MIS ");
      // A handler between calls is not indented, and is set apart like a call.
      expect(text).toContain("return 48\n\nirq enter 12  ; uart0\n  isr R32 uart0+0x040 MIS ");
      expect(text).toContain("\nirq return 12 0  ; uart0\n\ncall pl011_irq_flush(0xc00)\n");
      const again = formatTrace(rebuildTrace(parsed), traceRegions(parsed.regions, parsed.registry));
      expect(again).toBe(text);
    });
  }

  it("round-trips nested handlers and keeps the first name a line is given", () => {
    const parsed = parseTrace(COLLIDING, "nested.trace");
    expect(parsed.lineNames).toEqual(new Map([[24, "uart0"], [6, "gpio0"]]));
    expect(formatTrace(rebuildTrace(parsed), traceRegions(parsed.regions, parsed.registry))).toBe(COLLIDING.replace(/^ {6}/m, "    "));
  });

  it("diffTraces sees an interrupt that moved by one access", () => {
    const lines = TEXTS.preemptive.split("\n");
    // The first preemptive handler, moved in front of the poll it interrupted.
    const enter = lines.findIndex((l) => l.startsWith("  irq enter 12 preemptive"));
    const ret = lines.findIndex((l, i) => i > enter && l.startsWith("  irq return 12"));
    const poll = lines[enter - 1]!;
    expect(poll).toMatch(/^ {2}R32 uart0\+0x018 FR +0x00000018 x\d+/);
    const moved = [...lines.slice(0, enter - 1), ...lines.slice(enter, ret + 1), poll, ...lines.slice(ret + 1)].join("\n");
    const expected = parseTrace(TEXTS.preemptive, "golden.trace");
    const actual = parseTrace(moved, "actual.trace");
    expect(actual.length).toBe(expected.length);
    const d = diffTraces(expected, actual);
    expect(d).not.toBeNull();
    const pollSeq = expected.accesses.find((a) => a.line === enter)!.seq;
    expect(d!.accessIndex).toBe(pollSeq);
    expect(d!.expected).toEqual({ line: enter, text: expect.stringMatching(/^ {2}R32 uart0\+0x018 FR/) as unknown as string });
    expect(d!.actual).toEqual({ line: enter, text: "  irq enter 12 preemptive  ; uart0" });
    expect(d!.call).toBe("call pl011_irq_flush(0xc00)");
    // Moved back, no difference.
    expect(diffTraces(expected, parseTrace(TEXTS.preemptive, "again.trace"))).toBeNull();
  });

  it("diffTraces and check tell a deferred entry from a preemptive one", () => {
    const deferred = parseTrace(TEXTS.deferred, "deferred.trace");
    const preemptive = parseTrace(TEXTS.preemptive, "preemptive.trace");
    const d = diffTraces(deferred, preemptive)!;
    expect(d.expected.text).toBe("  irq enter 12  ; uart0");
    expect(d.actual.text).toBe("  irq enter 12 preemptive  ; uart0");
    const described = describeDifference(deferred, preemptive, d);
    expect(described.split("\n").at(-1)).toBe("  a different entry: expected irq enter 12, got irq enter 12 preemptive");
  });

  it("refuses bad interrupt lines with file:line and what was expected", () => {
    const parse = (line: string, before = ""): TraceParseError => {
      try {
        parseTrace(`wasm-hal-trace 1\nregion uart0 0x101f1000 0x1000 pl011\n${before}${line}\n`, "bad.trace");
      } catch (e) {
        if (e instanceof TraceParseError) return e;
        throw e;
      }
      throw new Error(`parsed: ${line}`);
    };
    expect(parse("irq enter 300").message).toMatch(/^bad\.trace:3: interrupt line 300: expected 0\.\.255\n {4}irq enter 300$/);
    expect(parse("irq return 12 0").message).toMatch(/^bad\.trace:3: irq return 12 with no handler entered: expected an "irq enter" line before it/);
    expect(parse("irq enter 12 preemptive later").message).toMatch(/^bad\.trace:3: unexpected "later" in an irq enter line: expected preemptive, source-idle, injected/);
    expect(parse("irq leave 12").message).toMatch(/^bad\.trace:3: unknown interrupt line "irq leave"/);
    expect(parse("irq return 6 0", "irq enter 12\n").message).toMatch(/^bad\.trace:4: irq return 6 while the handler of line 12 runs: expected "irq return 12" first/);
    expect(parse("irq return 12", "irq enter 12\n").message).toMatch(/^bad\.trace:4: an irq return line has 1 fields: expected "irq return LINE STATUS"/);
    expect(parse("dma irq enter 12").message).toMatch(/^bad\.trace:3: an interrupt line marked dma or fault/);
    expect(parse("irq return 12 -3 ERR_BUSY", "irq enter 12\n").message).toMatch(/^bad\.trace:4: status name ERR_BUSY does not match -3: expected ERR_TIMEOUT/);
  });
});

describe("interrupts in the VCD", () => {
  const DATE = "Thu, 01 Jan 2026 00:00:00 GMT";

  it("has a wire per interrupt line and an isr wire, high from each entry to its return", () => {
    const parsed = parseTrace(TEXTS.preemptive, "preemptive.trace");
    const vcd = parseVcd(traceToVcd(parsed, undefined, { date: DATE }));
    expect(vcd.variables.filter((v) => v.path.startsWith("trace.irq.")).map((v) => v.path)).toEqual(["trace.irq.line12_uart0"]);
    // Entry n of a trace file is at (n + 1) x 100 ns.
    const expected = [{ time: 0, value: 0 }];
    for (const a of interruptLines(parsed)) expected.push({ time: (a.seq + 1) * 100, value: a.width === IRQ_ENTER ? 1 : 0 });
    expect(expected.length).toBe(11);
    expect(vcdValues(vcd, "trace.irq.line12_uart0")).toEqual(expected);
    expect(vcdValues(vcd, "trace.isr")).toEqual(expected);
    expect(vcd.comment).toContain(`${parsed.length} entries (5 interrupts entered)`);
    // Interrupt events are neither reads nor writes: uart0's read strobe pulses once per read.
    const reads = expandAccesses(parsed).filter((a) => a.op === OP_READ && a.addr >= 0x101f1000 && a.addr < 0x101f2000).length;
    expect(vcdValues(vcd, "trace.uart0.read").filter((c) => c.value === 1).length).toBe(reads);
  });

  it("keeps nested handlers apart, and never takes a line number for an address", () => {
    const parsed = parseTrace(COLLIDING, "nested.trace");
    const vcd = parseVcd(traceToVcd(parsed, undefined, { date: DATE }));
    const at = (line: number): number => (parsed.accesses.find((a) => a.line === line)!.seq + 1) * 100;
    expect(vcdValues(vcd, "trace.irq.line24_uart0")).toEqual([{ time: 0, value: 0 }, { time: at(7), value: 1 }, { time: at(13), value: 0 }]);
    expect(vcdValues(vcd, "trace.irq.line6_gpio0")).toEqual([{ time: 0, value: 0 }, { time: at(9), value: 1 }, { time: at(11), value: 0 }]);
    // The isr wire stays high across the nested return.
    expect(vcdValues(vcd, "trace.isr")).toEqual([{ time: 0, value: 0 }, { time: at(7), value: 1 }, { time: at(13), value: 0 }]);
    // Line 24 is offset 0x018 of `low` (FR): no FR signal, and low's read strobe pulses once (CR).
    const low = vcd.variables.filter((v) => v.path.startsWith("trace.low.")).map((v) => v.name);
    expect(low).toEqual(["read", "write", "CR"]);
    expect(vcdValues(vcd, "trace.low.read").filter((c) => c.value === 1).map((c) => c.time)).toEqual([at(6)]);
  });

  it("puts a live trace's level changes after the strobe of the access they share a time with", () => {
    const bus = BOARDS.preemptive.bus;
    const vcd = parseVcd(traceToVcd(bus.trace, bus.regions, { date: DATE }));
    const expected = [{ time: 0, value: 0 }];
    for (let i = 0; i < bus.trace.length; i++) {
      const e = bus.trace.entry(i);
      if (e.op !== OP_IRQ) continue;
      // The bus records an interrupt event at the time of the access before it.
      const shared = i > 0 && bus.trace.entry(i - 1).time === e.time && bus.trace.entry(i - 1).op !== OP_IRQ;
      expect(shared).toBe(true);
      expected.push({ time: e.time + 1, value: e.width === IRQ_ENTER ? 1 : 0 });
    }
    expect(vcdValues(vcd, "trace.irq.line12_uart0")).toEqual(expected);
    // Every handler access lies inside the isr window, every main-code access outside it.
    const isr = vcdValues(vcd, "trace.isr");
    const inside = (t: number): boolean => {
      let v = 0;
      for (const c of isr) if (c.time <= t) v = c.value ?? 0;
      return v === 1;
    };
    for (let i = 0; i < bus.trace.length; i += 97) {
      const e = bus.trace.entry(i);
      if (e.op === OP_IRQ) continue;
      expect(inside(e.time)).toBe((e.flags & FLAG_IRQ) !== 0);
    }
  });

  it("wasm-hal vcd writes the interrupt wire of a trace file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasm-hal-vcd-irq-"));
    try {
      writeFileSync(join(dir, "irq.trace"), TEXTS.deferred);
      expect(await vcdCommand.run([join(dir, "irq.trace"), "-o", join(dir, "irq.vcd")], PACKAGE_CONTEXT)).toBe(0);
      const vcd = parseVcd(readFileSync(join(dir, "irq.vcd"), "utf8"));
      expect(vcdValues(vcd, "trace.irq.line12_uart0").filter((c) => c.value === 1).length).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("wasm-hal show with interrupts", () => {
  const text = TEXTS.preemptive;
  const parsed = parseTrace(text, "irq.trace");
  const enters = interruptLines(parsed).filter((a) => a.width === IRQ_ENTER);

  it("lists irq and isr lines with their file line and entry index, indented as the text form", () => {
    const listing = renderTrace(text, "irq.trace").split("\n");
    const lines = text.split("\n");
    const numberWidth = String(lines.length).length;
    const seqWidth = String(parsed.length - 1).length + 1;
    let checked = 0;
    for (const a of parsed.accesses) {
      if (a.op !== OP_IRQ && (a.flags & FLAG_IRQ) === 0) continue;
      const gutter = `${String(a.line).padStart(numberWidth)} ${`#${a.seq}`.padEnd(seqWidth)} `;
      expect(listing).toContain(gutter + lines[a.line - 1]!);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("colours irq lines and the isr word blue, an error status red", () => {
    const listing = renderTrace(text, "irq.trace", { color: true });
    expect(listing).toContain("\x1b[1m\x1b[34mirq enter 12 preemptive\x1b[0m\x1b[0m\x1b[2m  ; uart0\x1b[0m");
    expect(listing).toContain("\x1b[34misr\x1b[0m \x1b[33mW32 uart0+0x044 ICR ");
    expect(listing).toContain("\x1b[34misr\x1b[0m R32 uart0+0x040 MIS ");
    const failed = renderTrace("wasm-hal-trace 1\nirq enter 3\nirq return 3 -3 ERR_TIMEOUT\n", "e.trace", { color: true });
    expect(failed).toContain("\x1b[1m\x1b[31mirq return 3 -3 ERR_TIMEOUT\x1b[0m\x1b[0m");
  });

  it("a filter keeps the enter and return lines of the handlers whose accesses it keeps", () => {
    const mis = renderTrace(text, "irq.trace", { register: "MIS" });
    expect(mis.match(/irq enter 12/g)?.length).toBe(5);
    expect(mis.match(/irq return 12 0/g)?.length).toBe(5);
    expect(mis).not.toContain("ICR");
    expect(mis).toContain(`shown: 10 of ${parsed.accesses.length - 10} access lines, 10 of 10 interrupt lines`);
    // No handler writes IBRD: no interrupt line.
    const ibrd = renderTrace(text, "irq.trace", { register: "IBRD" });
    expect(ibrd).not.toContain("irq ");
    expect(ibrd).toContain("shown: 1 of");
    // A region no handler touches.
    expect(renderTrace(text, "irq.trace", { region: "ssp0" })).not.toContain("irq ");
    expect(enters.length).toBe(5);
  });

  it("keeps an outer handler's lines for a nested one's access, and takes no line number for an address", () => {
    const imsc = renderTrace(COLLIDING, "nested.trace", { register: "IMSC" });
    expect(imsc.split("\n").filter((l) => / #\d+ /.test(l)).map((l) => l.replace(/^ *\d+ #\d+ +/, ""))).toEqual([
      "irq enter 24 preemptive  ; uart0",
      "isr irq enter 6 preemptive  ; gpio0",
      "isr R32 uart0+0x038 IMSC      0x00000000",
      "isr irq return 6 0  ; gpio0",
      "irq return 24 0  ; uart0",
    ]);
    // Line 24 is FR's offset in `low`: neither --region low nor --register FR shows it.
    const low = renderTrace(COLLIDING, "nested.trace", { region: "low" });
    expect(low).not.toContain("irq ");
    expect(low).toContain("shown: 2 of 5 access lines, 0 of 4 interrupt lines");
    expect(renderTrace(COLLIDING, "nested.trace", { register: "FR" })).not.toContain("irq ");
  });
});

describe("the assertions and interrupt entries", () => {
  const board = BOARDS.preemptive;
  const trace = board.bus.trace;
  const seqs = (kind: number): number[] => [...trace.entries()].filter((e) => e.op === OP_IRQ && e.width === kind).map((e) => e.seq);

  it("describe an interrupt event as its trace line does, a handler's access with isr", () => {
    const enter = seqs(IRQ_ENTER)[1]!;
    expect(describeEntry(board.bus, enter)).toBe(`#${enter} irq enter 12 preemptive (uart0) in pl011_irq_flush(0xc00)`);
    const ret = seqs(IRQ_RETURN)[1]!;
    expect(describeEntry(board.bus, ret)).toBe(`#${ret} irq return 12 0 (uart0) in pl011_irq_flush(0xc00)`);
    expect(describeEntry(board.bus, enter + 1)).toBe(`#${enter + 1} isr R32 uart0+0x040 MIS 0x00000020 (TX) in pl011_irq_flush(0xc00)`);
    const first = seqs(IRQ_ENTER)[0]!;
    expect(describeEntry(BOARDS.deferred.bus, first)).toBe(`#${first} irq enter 12 (uart0) outside any export call`);
  });

  it("count a handler's accesses as the CPU's, and no interrupt event as an access", () => {
    const mis = [...trace.entries()].filter((e) => e.op === OP_READ && e.addr === board.base("uart0") + 0x040).length;
    expect(mis).toBe(10);
    expect(countReads(board.bus, "uart0.MIS")).toBe(mis);
    // A bus whose region sits at 0, where the event of line 24 has `addr` 0x018 (FR).
    const bus = new Bus();
    bus.map({ name: "low", base: 0, size: 0x1000, device: new RegisterFile(), map: PL011_MAP });
    bus.read(0x030, 4);
    bus.trace.record(OP_IRQ, IRQ_ENTER, 24, 1, bus.clock.now);
    bus.contextFlags = FLAG_IRQ;
    bus.read(0x040, 4);
    bus.contextFlags = 0;
    bus.trace.record(OP_IRQ, IRQ_RETURN, 24, 0, bus.clock.now);
    bus.write(0x030, 1, 4);
    expect(countReads(bus, "low.FR")).toBe(0);
    expectNeverTouches(bus, "low.FR");
    expect(checkNeverTouches(bus, "low.FR").pass).toBe(true);
    expect(checkWidths(bus, "low", 4).pass).toBe(true);
    const between = checkBarrierBetween(bus, "DSB", "R low.CR", "W low.CR");
    expect(between.pass).toBe(false);
    // One access stands between them (the handler's), not three entries.
    expect(between.message).toContain("where 1 access but no barrier stand between them:\n  #2 isr R32 low+0x040 MIS 0x00000000 outside any export call");
    expect(between.message).not.toContain("irq");
    expect(between.actual).toBe("isr R32 low+0x040 MIS 0x00000000");
  });
});

describe("replay and interrupts", () => {
  it("refuses a recording with interrupts in one line naming the file and line", () => {
    const parsed = parseTrace(TEXTS.deferred, "irq.trace");
    const first = interruptLines(parsed)[0]!;
    let error: unknown;
    try {
      replayBus(parsed);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReplayUnsupported);
    const message = (error as Error).message;
    expect(message).toBe(`irq.trace:${first.line}: irq enter 12: the recording has interrupts, and interrupts are not replayed yet (docs/replay.md): expected a recording made without interrupt delivery`);
    expect(message).not.toContain("\n");
    // An isr access alone is refused too.
    const isrOnly = parseTrace("wasm-hal-trace 1\nregion uart0 0x101f1000 0x1000 pl011\nisr R32 uart0+0x018 FR 0x00000090\n", "isr.trace");
    expect(() => new Replay(isrOnly)).toThrow(/^isr\.trace:3: isr R32 uart0\+0x018 FR +0x00000090: the recording has interrupts/);
  });

  it("the replay device kind of a board file says so as a board file error", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasm-hal-replay-irq-"));
    try {
      writeFileSync(join(dir, "irq.trace"), TEXTS.deferred);
      const board = join(dir, "board.json");
      writeFileSync(board, JSON.stringify({ name: "replayed", regions: [{ name: "uart0", base: "0x101f1000", size: "0x1000", block: "pl011", device: { kind: "replay", trace: "irq.trace" } }] }));
      expect(() => loadBoard(board)).toThrow(BoardFileError);
      expect(() => loadBoard(board)).toThrow(/device\.trace: irq\.trace:\d+: irq enter 12: the recording has interrupts, and interrupts are not replayed yet/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an interrupt delivered on the replaying bus is a divergence, not a mismatched access", () => {
    const recording = parseTrace("wasm-hal-trace 1\nregion uart0 0x101f1000 0x1000 pl011\n\ncall step()\n  R32 uart0+0x018 FR        0x00000090\n  R32 uart0+0x030 CR        0x00000301\nreturn 0\n", "session.trace");
    const { bus, replay } = replayBus(recording);
    bus.trace.lineNames = new Map([[12, "uart0"]]);
    const call = bus.trace.beginCall("step", []);
    expect(bus.read(0x101f1018, 4)).toBe(0x90);
    bus.trace.record(OP_IRQ, IRQ_ENTER, 12, 1, bus.clock.now);
    bus.contextFlags = FLAG_IRQ;
    let error: unknown;
    try {
      bus.read(0x101f1040, 4);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReplayDivergence);
    const d = error as ReplayDivergence;
    expect(d.reason).toBe("the handler of interrupt line 12 (uart0) was entered on the replaying bus: interrupts are not replayed yet (docs/replay.md), replay without interrupt delivery");
    expect(d.actual).toBe("irq enter 12 preemptive");
    expect(d.expected).toMatch(/^R32 uart0\+0x030 CR/);
    expect(d.line).toBe(6);
    expect(replay.divergence).toBe(d);
    bus.trace.endCall(call, 0);
  });
});

describe("register coverage and the lint with interrupts", () => {
  it("coverage counts a handler's accesses and no interrupt event", () => {
    const parsed = parseTrace(COLLIDING, "nested.trace");
    const coverage = registerCoverage(parsed);
    const use = (region: string, name: string): { reads: number; writes: number } => {
      const u = coverage.find((c) => c.region === region)!.registers.find((r) => r.name === name)!;
      return { reads: u.reads, writes: u.writes };
    };
    // Line 24's events would be FR reads of `low`, line 6's reads of 0x006 (inside RSR's word).
    expect(use("low", "FR")).toEqual({ reads: 0, writes: 0 });
    expect(use("low", "RSR/ECR")).toEqual({ reads: 0, writes: 0 });
    expect(use("low", "CR")).toEqual({ reads: 1, writes: 1 });
    expect(use("uart0", "MIS")).toEqual({ reads: 1, writes: 0 });
    expect(use("uart0", "ICR")).toEqual({ reads: 0, writes: 1 });
    // A Trace with its regions, the same.
    const live = BOARDS.preemptive.bus;
    const fromTrace = registerCoverage({ trace: live.trace, regions: live.regions });
    const fromFile = registerCoverage(parseTrace(TEXTS.preemptive, "p.trace"));
    expect(fromTrace).toEqual(fromFile);
    expect(fromTrace.find((c) => c.region === "uart0")!.registers.find((r) => r.name === "MIS")!.reads).toBe(10);
  });

  it("the lint checks a handler's accesses and skips interrupt events", () => {
    const text = COLLIDING.replace("isr R32 uart0+0x038 IMSC      0x00000000", "isr W32 uart0+0x018 FR        0x00000000");
    const findings = lintParsedTrace(parseTrace(text, "lint.trace"));
    expect(findings.map((f) => `${f.rule} ${f.message.split(":")[0]}`)).toEqual(["write-to-read-only W32 uart0+0x018 FR 0x00000000"]);
    // No finding at any interrupt event of the live traces (line 12 is a reserved offset of a
    // region at 0, were it taken for an address).
    for (const board of Object.values(BOARDS)) {
      const t = board.bus.trace;
      for (const f of lintTrace(t, board.bus.regions)) expect(t.entry(f.seq).op).not.toBe(OP_IRQ);
    }
  });
});
