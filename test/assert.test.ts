// The order-of-access assertions (harness/assert.ts) and their vitest matchers (harness/matchers.ts),
// on traces of the real drivers and on short traces made by hand on the bus. Register values are
// the TRM's: PL011 TRM Example 3-1 (4 MHz, 230400 baud: IBRD = 1, FBRD = 5), LCR_H 8N1 with FIFOs
// = WLEN 0b11 << 5 | FEN (bit 4) = 0x70, CR enabled = RXE | TXE | UARTEN = 0x301.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import "../harness/matchers.js";
import { Bus, type Device } from "../harness/bus.js";
import { versatileBoard, VERSATILE } from "../harness/board.js";
import { Hal, packageRoot, wasmPath } from "../harness/hal.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { PL061_MAP } from "../harness/generated/pl061.js";
import { PL080_MAP } from "../harness/generated/pl080.js";
import { OK } from "../harness/generated/api.js";
import {
  within, eachCall, phase, beginPhase, endPhase, phasesOf, inOrder, anyOrder, named, parseStep,
  checkAccessesInOrder, checkBarrierBetween, checkPolls, checkWrites, checkWidths, checkNeverTouches,
  checkLintClean, checkReturnsWithin, countReads, describeEntry, captureSites,
  expectAccessesInOrder, TraceAssertionError, pl011Reprogramming, pl011DivisorThenLineControl,
} from "../harness/assert.js";
import { RegisterFile as Registers } from "../harness/devices/register-file.js";

const UART = VERSATILE.uart0;
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** The default board at 4 MHz with the real driver, initialized at 230400 baud 8N1. */
function initialized(options: { variant?: "release" | "debug" } = {}) {
  const b = versatileBoard({ uartclkHz: 4_000_000, ...options });
  expect(b.hal.call("pl011_init", UART, 4_000_000, 230400, 0)).toBe(OK);
  return b;
}


/** A bus with plain registers behind the PL011, PL061 and PL080 maps, for traces made by hand. */
function handBoard() {
  const bus = new Bus();
  const uart = new Registers();
  bus.map({ name: "uart0", base: UART, size: 0x1000, device: uart, map: PL011_MAP });
  bus.map({ name: "gpio0", base: 0x101e4000, size: 0x1000, device: new Registers(), map: PL061_MAP });
  bus.map({ name: "dmac", base: 0x10130000, size: 0x1000, device: new Registers(), map: PL080_MAP });
  const w = (offset: number, value: number, width = 4): void => bus.write(UART + offset, value, width);
  const r = (offset: number, width = 4): number => bus.read(UART + offset, width);
  return { bus, uart, w, r };
}

// PL011 offsets, TRM Table 3-1.
const DR = 0x000, FR = 0x018, IBRD = 0x024, FBRD = 0x028, LCR_H = 0x02c, CR = 0x030, ICR = 0x044;

describe("names resolve through the register maps", () => {
  it("takes a region, a register, a write name, a glob, fields by name and by value name", () => {
    const b = initialized();
    const init = within(b.bus, { call: "pl011_init" });
    expect(init).toContainAccessesInOrder("W uart0.ECR", "W uart0.CR 0x301");
    expect(init).toContainAccessesInOrder({ write: "uart0.LCR_H", fields: { WLEN: "8BIT", FEN: 1 } });
    expect(init).toContainAccessesInOrder("W uart0.*BRD", "W uart0.*BRD", "W uart0.LCR_H");
    expect(init).toContainAccessesInOrder({ access: "uart0" });
  });

  it("refuses names that do not exist, listing what does", () => {
    const b = initialized();
    expect(() => checkAccessesInOrder(b.bus, "W uart1.CR")).toThrow("no region named in \"uart1.CR\" (regions: uart0)");
    expect(() => checkAccessesInOrder(b.bus, "W uart0.LCRH")).toThrow(/pl011 has no register LCRH \(registers: DR, RSR, FR/);
    expect(() => checkAccessesInOrder(b.bus, "W uart0.LCR_H FIFO=1")).toThrow("LCR_H has no field FIFO (fields: SPS, WLEN, FEN, STP2, EPS, PEN, BRK)");
    expect(() => checkAccessesInOrder(b.bus, { write: "uart0.LCR_H", fields: { WLEN: "9BIT" } })).toThrow("field WLEN has no value named 9BIT (values: 5BIT, 6BIT, 7BIT, 8BIT)");
    expect(() => checkAccessesInOrder(b.bus, { write: "uart0.LCR_H", fields: { WLEN: 4 } })).toThrow("4 does not fit the 2-bit field WLEN");
    expect(() => checkAccessesInOrder(b.bus, "X uart0.CR")).toThrow(/expected "R\|W\|RW region.REGISTER/);
  });

  it("reads the short form of a step", () => {
    expect(parseStep("W uart0.CR 0x301")).toEqual({ write: "uart0.CR", value: 0x301 });
    expect(parseStep("R uart0.FR TXFF=0 BUSY=0")).toEqual({ read: "uart0.FR", fields: { TXFF: 0, BUSY: 0 } });
    expect(parseStep("RW uart0.LCR_H 0x10 mask=0x10")).toEqual({ access: "uart0.LCR_H", value: 0x10, mask: 0x10 });
    expect(parseStep("W uart0.LCR_H WLEN=8BIT")).toEqual({ write: "uart0.LCR_H", fields: { WLEN: "8BIT" } });
    expect(parseStep("DSB")).toEqual({ barrier: "DSB" });
    expect(parseStep("barrier")).toEqual({ barrier: "any" });
  });
});

describe("scopes: a call, a phase, a range", () => {
  it("picks a call by name, asks which when there are several, or takes nth or an index", () => {
    const b = initialized();
    b.hal.call("pl011_init", UART, 4_000_000, 115200, 0);
    expect(() => within(b.bus, { call: "pl011_init" })).toThrow("the trace has 2 call of pl011_inits; say which with nth");
    // TRM Table 3-9 at 4 MHz: 230400 is IBRD 1 / FBRD 5, 115200 is IBRD 2 / FBRD 0xB.
    expect(within(b.bus, { call: "pl011_init", nth: 0 })).toWriteExactly("uart0.IBRD", [1]);
    expect(within(b.bus, { call: "pl011_init", nth: -1 })).toWriteExactly("uart0.IBRD", [2]);
    expect(within(b.bus, { call: 1 })).toWriteExactly("uart0.FBRD", [0xb]);
    expect(eachCall(b.bus, "pl011_init").map((v) => countReads(v, "uart0.CR"))).toEqual([1, 1]);
    expect(() => within(b.bus, { call: "pl011_flush" })).toThrow("the trace has no call of pl011_flush");
  });

  it("marks phases beside the trace and scopes to them, nested or not", () => {
    const b = versatileBoard({ uartclkHz: 4_000_000 });
    phase(b.bus, "bring-up", () => {
      b.hal.call("pl011_init", UART, 4_000_000, 230400, 0);
      beginPhase(b.bus, "greeting");
      b.hal.call("pl011_write", UART, b.hal.writeBytes(ascii("hi")), 2);
      endPhase(b.bus);
    });
    expect(phasesOf(b.bus).map((p) => [p.name, p.start, p.end])).toEqual([
      ["bring-up", 0, b.bus.trace.length],
      ["greeting", b.bus.trace.calls[1]!.start, b.bus.trace.length],
    ]);
    expect(within(b.bus, { phase: "greeting" })).toNeverTouch("uart0.IBRD");
    expect(within(b.bus, { phase: "bring-up" })).not.toNeverTouch("uart0.IBRD");
    expect(() => endPhase(b.bus)).toThrow("no phase is open");
  });

  it("scopes to a range, and a scope inside a scope keeps to both", () => {
    const b = initialized();
    const init = b.bus.trace.calls[0]!;
    // The first four accesses of the 3.3.8 sequence: R CR, W CR 0, R FR, W LCR_H 0.
    const head = within(b.bus, { from: init.start, to: init.start + 4 });
    expect(head).toContainAccessesInOrder("R uart0.CR", "W uart0.CR 0", "R uart0.FR", "W uart0.LCR_H 0");
    expect(head).toNeverTouch("uart0.IBRD");
    const inner = within(head, { call: "pl011_init" });
    expect(inner.from).toBe(init.start);
    expect(inner.to).toBe(init.start + 4);
  });

  it("names the scope and the export of each access in messages", () => {
    const b = initialized();
    const outcome = checkNeverTouches(within(b.bus, { call: "pl011_init" }), "uart0.IBRD");
    expect(outcome.pass).toBe(false);
    expect(outcome.message).toBe([
      "expected pl011_init(0x101f1000, 4000000, 230400, 0x0) never to touch uart0.IBRD, but it does 1 time:",
      "  #4 W32 uart0+0x024 IBRD 0x00000001 (DIVINT=0x1) in pl011_init(0x101f1000, 4000000, 230400, 0x0)",
    ].join("\n"));
  });
});

describe("accesses in order", () => {
  it("finds the TRM 3.3.8 reprogramming sequence in the real pl011_init", () => {
    const b = initialized();
    const init = within(b.bus, { call: "pl011_init" });
    expect(init).toContainAccessesInOrder(pl011Reprogramming("uart0"));
    expect(init).toContainAccessesInOrder("W uart0.IBRD 1", "W uart0.FBRD 5", { write: "uart0.LCR_H", value: 0x70, mask: 0x70 }, "W uart0.CR UARTEN=1", "DSB");
    expect(init).not.toContainAccessesInOrder("W uart0.CR UARTEN=1", "W uart0.IBRD");
  });

  it("says which step is missing and why each near miss does not match", () => {
    const b = initialized();
    const outcome = checkAccessesInOrder(within(b.bus, { call: "pl011_init" }), "W uart0.IBRD", "W uart0.FBRD", "W uart0.LCR_H FEN=0");
    expect(outcome.pass).toBe(false);
    expect(outcome.message).toBe([
      "expected pl011_init(0x101f1000, 4000000, 230400, 0x0) to contain, in order:",
      "  W uart0.IBRD",
      "  W uart0.FBRD",
      "  W uart0.LCR_H FEN=0",
      "steps 1..2 matched, ending at #5; step 3 of 3 is missing:",
      "  W uart0.LCR_H FEN=0: none after #5; the accesses it could have been:",
      "    #3 W32 uart0+0x02c LCR_H 0x00000000 (WLEN=5BIT) in pl011_init(0x101f1000, 4000000, 230400, 0x0): too early",
      "    #6 W32 uart0+0x02c LCR_H 0x00000070 (WLEN=8BIT FEN) in pl011_init(0x101f1000, 4000000, 230400, 0x0): value 0x70 differs in bits 0x10 (FEN): expected FEN=0",
    ].join("\n"));
    // The texts a diff shows: the pattern, and the accesses it is about.
    expect(outcome.expected).toBe("W uart0.IBRD\nW uart0.FBRD\nW uart0.LCR_H FEN=0");
    expect(outcome.actual).toContain("#6 W32 uart0+0x02c LCR_H 0x00000070 (WLEN=8BIT FEN)");
  });

  it("matches any-order groups, nested groups and named sub-sequences", () => {
    const { bus, w } = handBoard();
    // TRM 3.3.7 allows FBRD before IBRD.
    w(FBRD, 5);
    w(IBRD, 1);
    w(LCR_H, 0x70);
    expect(bus).toContainAccessesInOrder(pl011DivisorThenLineControl("uart0"));
    expect(bus).not.toContainAccessesInOrder("W uart0.IBRD", "W uart0.FBRD", "W uart0.LCR_H");
    expect(bus).toContainAccessesInAnyOrder("W uart0.LCR_H", "W uart0.IBRD");
    // Two in-order groups in any order, each whole.
    w(CR, 0);
    w(CR, 0x301);
    expect(bus).toContainAccessesInOrder(anyOrder(inOrder("W uart0.CR 0", "W uart0.CR 0x301"), inOrder("W uart0.FBRD", "W uart0.LCR_H")));
    expect(bus).not.toContainAccessesInOrder(anyOrder(inOrder("W uart0.CR 0x301", "W uart0.CR 0"), "W uart0.IBRD"));
  });

  it("explains a missing step inside a named group", () => {
    const { bus, w } = handBoard();
    w(LCR_H, 0x70);
    w(IBRD, 1);
    const outcome = checkAccessesInOrder(bus, named("divisor first", inOrder(anyOrder("W uart0.IBRD", "W uart0.FBRD"), "W uart0.LCR_H")));
    expect(outcome.message).toBe([
      "expected the trace to contain, in order:",
      "  divisor first (in order):",
      "    in any order:",
      "      W uart0.IBRD",
      "      W uart0.FBRD",
      "    W uart0.LCR_H",
      "divisor first: its first step is missing:",
      "  1 of the 2 steps of {W uart0.IBRD, W uart0.FBRD} in any order are missing in the trace:",
      "    W uart0.FBRD: no such access anywhere in the trace",
    ].join("\n"));
  });

  it("throws a TraceAssertionError from the expect form", () => {
    const { bus, w } = handBoard();
    w(IBRD, 1);
    expect(() => expectAccessesInOrder(bus, "W uart0.IBRD")).not.toThrow();
    expect(() => expectAccessesInOrder(bus, "W uart0.FBRD")).toThrow(TraceAssertionError);
  });
});

describe("a barrier between two accesses", () => {
  it("needs the barrier between every B and the last A before it", () => {
    const { bus, w } = handBoard();
    w(LCR_H, 0x70);
    bus.barrier(1);
    w(CR, 0x301);
    expect(bus).toHaveBarrierBetween("DSB", "W uart0.LCR_H", "W uart0.CR");
    w(LCR_H, 0x60);
    w(CR, 0x301);
    const outcome = checkBarrierBetween(bus, "DSB", "W uart0.LCR_H", "W uart0.CR");
    expect(outcome.pass).toBe(false);
    expect(outcome.message).toBe([
      "expected a DSB between W uart0.LCR_H and W uart0.CR in the trace; there is none between",
      "  #3 W32 uart0+0x02c LCR_H 0x00000060 (WLEN=8BIT) outside any export call",
      "  #4 W32 uart0+0x030 CR 0x00000301 (RXE TXE UARTEN) outside any export call",
      "which follow each other directly",
    ].join("\n"));
  });

  it("takes a DSB where a DMB is asked for, unless exact; an ISB is no DMB", () => {
    const { bus, w } = handBoard();
    w(IBRD, 1);
    bus.barrier(1);
    w(FBRD, 5);
    expect(bus).toHaveBarrierBetween("DMB", "W uart0.IBRD", "W uart0.FBRD");
    expect(bus).not.toHaveBarrierBetween("DMB", "W uart0.IBRD", "W uart0.FBRD", { exact: true });
    expect(bus).toHaveBarrierBetween("any", "W uart0.IBRD", "W uart0.FBRD");
    const isb = handBoard();
    isb.w(IBRD, 1);
    isb.bus.barrier(2);
    isb.w(FBRD, 5);
    expect(checkBarrierBetween(isb.bus, "DMB", "W uart0.IBRD", "W uart0.FBRD").message).toContain("where only other barriers stand:\n  #1 ISB outside any export call");
  });

  it("fails when there is no pair to look at", () => {
    const { bus, w } = handBoard();
    w(CR, 0x301);
    expect(checkBarrierBetween(bus, "DSB", "W uart0.LCR_H", "W uart0.CR").message).toBe("expected a DSB between W uart0.LCR_H and W uart0.CR in the trace, but no W uart0.LCR_H comes before any W uart0.CR there");
    expect(checkBarrierBetween(bus, "DSB", "W uart0.LCR_H", "W uart0.IBRD").message).toContain("there is no W uart0.IBRD there");
  });

  it("finds the DSB the real pl011_init puts after enabling, and none between writes to the UART", () => {
    const b = initialized();
    b.hal.call("pl011_write", UART, b.hal.writeBytes(ascii("ok")), 2);
    // The enable has reached the UART before anything relies on it (assembly/pl011.ts).
    expect(b.bus).toHaveBarrierBetween("DSB", "W uart0.CR UARTEN=1", "W uart0.DR");
    // Accesses to one peripheral keep program order: no barrier is needed between them.
    expect(within(b.bus, { call: "pl011_init" })).not.toHaveBarrierBetween("any", "W uart0.IBRD", "W uart0.LCR_H");
  });
});

describe("polls", () => {
  it("the real pl011_write reads FR again before every byte, and waits for TXFF to clear", () => {
    const b = initialized();
    // 45 bytes: more than the 32-entry FIFO, so the driver waits for room.
    const text = ascii("The quick brown fox jumps over the lazy dog\r\n");
    expect(b.hal.call("pl011_write", UART, b.hal.writeBytes(text), text.length)).toBe(text.length);
    const write = within(b.bus, { call: "pl011_write" });
    expect(write).toPollEveryIteration({ read: "uart0.FR", each: "W uart0.DR", until: { fields: { TXFF: 0 } } });
    expect(countReads(write, "uart0.FR")).toBeGreaterThan(text.length);
  });

  it("counts the reads against what the device needed", () => {
    // A UART that says BUSY for its first 5 FR reads: pl011_flush needs 6 reads, no fewer.
    const uart = new Registers();
    let busyReads = 5;
    const device: Device = {
      read: (offset) => (offset === FR ? (busyReads-- > 0 ? 0x08 : 0x90) : uart.read(offset)),
      write: (offset, value) => uart.write(offset, value),
    };
    const bus = new Bus();
    bus.map({ name: "uart0", base: UART, size: 0x1000, device, map: PL011_MAP });
    const hal = new Hal(bus);
    expect(hal.call("pl011_flush", UART)).toBe(OK);
    expect(within(bus, { call: "pl011_flush" })).toPollEveryIteration({ read: "uart0.FR", times: 6 });
    const outcome = checkPolls(within(bus, { call: "pl011_flush" }), { read: "uart0.FR", times: 7 });
    expect(outcome.message.split("\n")[0]).toBe("uart0.FR was read 6 times in pl011_flush(0x101f1000); the device needed 7 (1 missing)");
    expect([outcome.actual, outcome.expected]).toEqual(["6", "7"]);
  });

  it("reports an iteration without a read, and one that went ahead on the wrong status", () => {
    const { bus, w, r } = handBoard();
    r(FR);
    w(DR, 0x41);
    w(DR, 0x42);
    const missing = checkPolls(bus, { read: "uart0.FR", each: "W uart0.DR" });
    expect(missing.message).toBe([
      "uart0.FR is not read on every iteration of the trace: iteration 2 of 2,",
      "  #2 W32 uart0+0x000 DR 0x00000042 (DATA=0x42) outside any export call",
      "has no read of uart0.FR since the previous one, #1: the status was read once and not again (a read hoisted out of the loop?)",
      "the last read was #0 R32 uart0+0x018 FR 0x00000000 outside any export call",
    ].join("\n"));
    const full = handBoard();
    full.uart.values.set(FR, 0x20); // TXFF
    full.r(FR);
    full.w(DR, 0x41);
    expect(checkPolls(full.bus, { read: "uart0.FR", each: "W uart0.DR", until: { fields: { TXFF: 0 } } }).message).toBe([
      "iteration 1 of 1 in the trace,",
      "  #1 W32 uart0+0x000 DR 0x00000041 (DATA=0x41) outside any export call",
      "went ahead although the last read of uart0.FR did not show TXFF=0:",
      "  #0 R32 uart0+0x018 FR 0x00000020 (TXFF) outside any export call",
    ].join("\n"));
    expect(checkPolls(handBoard().bus, { read: "uart0.FR", each: "W uart0.DR" }).message).toBe("no W uart0.DR in the trace: the poll has no iteration to check");
    expect(() => checkPolls(bus, { read: "uart0.FR" })).toThrow("a poll check needs times, each, or both");
  });
});

describe("writes that must all reach the bus", () => {
  it("the real pl011_init writes LCR_H twice: 0 to flush the FIFOs, then the frame format", () => {
    const b = initialized();
    const init = within(b.bus, { call: "pl011_init" });
    expect(init).toWriteExactly("uart0.LCR_H", [0x00, 0x70]);
    expect(init).toWriteExactly("uart0.LCR_H", [{ fields: { FEN: 0 } }, { fields: { FEN: 1, WLEN: "8BIT" } }]);
    expect(init).toWriteExactly("uart0.CR", [0x000, 0x301]);
  });

  it("tells a missing write, an extra one, a changed one and a reordered pair apart", () => {
    const { bus, w } = handBoard();
    w(LCR_H, 0x70);
    expect(checkWrites(bus, "uart0.LCR_H", [0x00, 0x70]).message).toBe([
      "expected the writes to uart0.LCR_H in the trace to be [0x0, 0x70] (2), got 1: 1 write is missing: merged into another write, or dropped",
      "  #0 W32 uart0+0x02c LCR_H 0x00000070 (WLEN=8BIT FEN) outside any export call",
    ].join("\n"));
    expect(checkWrites(bus, "uart0.LCR_H", []).message).toContain("got 1: 1 more than expected");
    expect(checkWrites(bus, "uart0.LCR_H", [0x60]).message).toContain("write 1 differs: expected 0x60");
    w(LCR_H, 0x00);
    expect(checkWrites(bus, "uart0.LCR_H", [0x00, 0x70]).message).toContain("the same values in another order: reordered (first difference at write 1)");
    const outcome = checkWrites(bus, "uart0.LCR_H", [0x00, 0x70]);
    expect(outcome.expected).toBe("W uart0.LCR_H 0x0\nW uart0.LCR_H 0x70");
    expect(outcome.actual).toBe("W uart0.LCR_H 0x70\nW uart0.LCR_H 0x0");
    expect(checkWrites(bus, "uart0.LCR_H", [{ fields: { FEN: 0 } }]).actual).toBe("W32 uart0+0x02c LCR_H 0x00000070 (WLEN=8BIT FEN)\nW32 uart0+0x02c LCR_H 0x00000000 (WLEN=5BIT)");
  });
});

describe("widths and places never touched", () => {
  it("every access of the real PL011 driver is 32-bit; pl011_write never touches the divisor", () => {
    const b = initialized();
    b.hal.call("pl011_write", UART, b.hal.writeBytes(ascii("ok")), 2);
    expect(b.bus).toUseWidth("uart0", 4);
    expect(b.bus).toUseWidth("uart0.DR", [4], { op: "write" });
    const write = within(b.bus, { call: "pl011_write" });
    expect(write).toNeverTouch("uart0.*BRD");
    expect(write).toNeverTouch("uart0.CR", { op: "write" });
    expect(write).not.toNeverTouch("uart0.DR");
  });

  it("names each access of the wrong width", () => {
    const { bus } = handBoard();
    bus.write(0x101e4000 + 0x3fc, 0x0f, 1);
    bus.write(0x101e4000 + 0x400, 0x0f, 4);
    const outcome = checkWidths(bus, "gpio0", 4);
    expect(outcome.message).toBe([
      "expected every access to gpio0 in the trace to be 32-bit; 1 of 2 is not:",
      "  #0 W8 gpio0+0x3fc DATA 0x0f (PIN3 PIN2 PIN1 PIN0) outside any export call",
    ].join("\n"));
    expect([outcome.actual, outcome.expected]).toEqual(["8-bit", "32-bit"]);
    expect(bus).toUseWidth("gpio0.DIR", 4);
  });

  it("counts DMA accesses only when asked", () => {
    const { bus } = handBoard();
    bus.masterRead(UART + DR, 4);
    expect(bus).toNeverTouch("uart0.DR");
    expect(bus).not.toNeverTouch("uart0.DR", { dma: true });
  });
});

describe("the lint, scoped", () => {
  it("passes a session of the real driver and names each finding's export", () => {
    const b = initialized();
    expect(b.bus).toBeLintClean();
    // A read of the write-only ICR, on purpose: the suite's own lint leaves this Hal alone.
    b.hal.lintInTests = false;
    b.bus.read(UART + ICR, 4);
    const outcome = checkLintClean(b.bus);
    expect(outcome.message).toBe([
      "expected the trace to keep every register rule; 1 finding:",
      `#${b.bus.trace.length - 1} error read-of-write-only: R32 uart0+0x044 ICR 0x00000000: ICR is write-only, the value read is not defined (pl011 3.3.13)`,
      "    outside any export call",
    ].join("\n"));
    expect(within(b.bus, { call: "pl011_init" })).toBeLintClean();
  });
});

describe("hangs: a call that does not return within a budget of accesses", () => {
  it("returns the result when the call returns, and names the poll when it does not", () => {
    const b = initialized();
    expect(b.hal).toReturnWithin(100, "pl011_flush", UART);
    b.uart0.faults.busyStuck = true;
    const outcome = checkReturnsWithin(b.hal, 500, "pl011_flush", UART);
    expect(outcome.pass).toBe(false);
    expect(outcome.message).toBe([
      "pl011_flush(0x101f1000) did not return within 500 bus accesses: a wait without a limit?",
      "in its last 125 accesses it was repeating:",
      `  125 times: #${b.bus.trace.length - 125} R32 uart0+0x018 FR 0x00000098 (TXFE RXFE BUSY) in pl011_flush(0x101f1000)`,
    ].join("\n"));
    // The budget is lifted afterwards.
    b.uart0.faults.busyStuck = false;
    expect(b.hal.call("pl011_flush", UART)).toBe(OK);
  });
});

describe("source sites from the debug build", () => {
  const source = readFileSync(join(packageRoot(), "assembly", "pl011.ts"), "utf8").split("\n");
  /** The 1-based number of the first line at or after line `after` that holds `text`. */
  const lineOf = (text: string, after = 0): number => source.findIndex((l, i) => i >= after && l.includes(text)) + 1;

  it("names the AssemblyScript line of each access, through the inlined accessors", () => {
    const b = versatileBoard({ uartclkHz: 4_000_000, variant: "debug" });
    const capture = captureSites(b.bus, `${wasmPath("debug")}.map`);
    b.hal.call("pl011_init", UART, 4_000_000, 230400, 0);
    // #3 is the FIFO flush, #6 the frame format: both LCR_H writes of pl011_init.
    const step3 = lineOf("write32(base + PL011_LCR_H, 0);", lineOf("// 3. flush the FIFOs"));
    expect(describeEntry(b.bus, 3)).toBe(`#3 W32 uart0+0x02c LCR_H 0x00000000 (WLEN=5BIT) in pl011_init(0x101f1000, 4000000, 230400, 0x0) at assembly/pl011.ts:${step3} (pl011_init)`);
    expect(capture.sitesOf(6)[0]).toMatchObject({ file: "assembly/pl011.ts", line: lineOf("write32(base + PL011_LCR_H, lineControlFor(config));") });
    // #2 is the look at BUSY after the disable (TRM 3.3.8 step 2), made in pl011_init itself.
    expect(capture.siteText(2)).toBe(`assembly/pl011.ts:${lineOf("if (read32(base + PL011_FR) & PL011_FR_BUSY)")} (pl011_init)`);
    // A poll inside a helper names the helper first, then its caller.
    const first = b.bus.trace.length;
    b.hal.call("pl011_flush", UART);
    const poll = lineOf("if ((read32(base + PL011_FR) & bits) == 0)");
    const wait = lineOf("return waitFlagsClear(base, PL011_FR_BUSY");
    expect(capture.siteText(first)).toBe(`assembly/pl011.ts:${poll} (waitFlagsClear) < assembly/pl011.ts:${wait} (pl011_flush)`);
    capture.stop();
    expect(Object.hasOwn(b.bus.trace, "record")).toBe(false);
    b.hal.call("pl011_flush", UART);
    expect(describeEntry(b.bus, b.bus.trace.length - 1)).not.toContain(" at ");
  });

  it("gives nothing for a release build, which has no source map", () => {
    const b = initialized();
    expect(describeEntry(b.bus, 0)).toBe("#0 R32 uart0+0x030 CR 0x00000300 (RXE TXE) in pl011_init(0x101f1000, 4000000, 230400, 0x0)");
  });
});
