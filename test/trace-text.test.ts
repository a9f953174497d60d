import { describe, expect, it } from "vitest";
import { Bus, BusFault } from "../harness/bus.js";
import { OP_READ, OP_WRITE, OP_BARRIER, FLAG_DMA, FLAG_FAULT } from "../harness/trace.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import {
  formatTrace, formatTail, parseTrace, diffTraces, expandAccesses, TraceParseError, type ParsedTrace,
} from "../harness/trace-text.js";
import { RegisterFile as Registers } from "../harness/devices/register-file.js";

// Expected text in this file is written by hand from docs/trace-format.md: op padded to 3
// characters, place to 11, register to 9, one space after each, then the value.


const UART0 = 0x10009000;
const RAM = 0x20000000;
const CR = 0x030, FR = 0x018, IBRD = 0x024, FBRD = 0x028, LCR_H = 0x02c, ECR = 0x004, DR = 0x000;

function board(): { bus: Bus; uart: Registers; ram: Registers } {
  const bus = new Bus();
  const uart = new Registers();
  const ram = new Registers();
  bus.map({ name: "uart0", base: UART0, size: 0x1000, device: uart, map: PL011_MAP });
  bus.map({ name: "ram", base: RAM, size: 0x10000, device: ram });
  return { bus, uart, ram };
}

/** Runs an access the bus refuses; the refusal is recorded in the trace. */
function refused(access: () => unknown): void {
  expect(access).toThrow(BusFault);
}

/** The PL011 TRM 3.3.6 example (4 MHz, 230400 baud: IBRD 1, FBRD 5) as a driver would program
 * it, waiting on FR.BUSY while the last character leaves: `busyReads` reads see BUSY set. */
function initSequence(bus: Bus, uart: Registers, busyReads: number): void {
  uart.upcoming.set(FR, new Array<number>(busyReads).fill(0x98));
  uart.values.set(FR, 0x90);
  const call = bus.trace.beginCall("pl011_init", [UART0, 4_000_000, 230_400, 0]);
  bus.write(UART0 + CR, 0, 4);
  for (let i = 0; i <= busyReads; i++) bus.read(UART0 + FR, 4);
  bus.write(UART0 + IBRD, 1, 4);
  bus.write(UART0 + FBRD, 5, 4);
  bus.write(UART0 + LCR_H, 0x70, 4);
  bus.write(UART0 + ECR, 0, 4);
  bus.barrier(1);
  bus.write(UART0 + CR, 0x301, 4);
  bus.trace.endCall(call, 0);
}

/** A traced call that moves a byte by DMA, whose write to FR faults (FR takes words only). */
function faultingDmaCall(bus: Bus, ram: Registers): void {
  ram.values.set(0x400, 0x41);
  const call = bus.trace.beginCall("pl011_write", [UART0, RAM + 0x400, 2]);
  bus.masterRead(RAM + 0x400, 1);
  refused(() => bus.masterWrite(UART0 + FR, 0x41, 1));
  bus.trace.endCall(call, undefined);
}

describe("formatTrace", () => {
  it("writes a PL011 init one access per line, with register names and decoded fields", () => {
    const { bus, uart } = board();
    initSequence(bus, uart, 3);
    expect(formatTrace(bus.trace, bus.regions)).toBe(
      "wasm-hal-trace 1\n" +
      "region uart0 0x10009000 0x1000 pl011\n" +
      "region ram 0x20000000 0x10000 none\n" +
      "\n" +
      "call pl011_init(0x10009000, 4000000, 230400, 0x0)\n" +
      "  W32 uart0+0x030 CR        0x00000000\n" +
      "  R32 uart0+0x018 FR        0x00000098 x3  ; TXFE RXFE BUSY\n" +
      "  R32 uart0+0x018 FR        0x00000090  ; TXFE RXFE\n" +
      "  W32 uart0+0x024 IBRD      0x00000001  ; DIVINT=0x1\n" +
      "  W32 uart0+0x028 FBRD      0x00000005  ; DIVFRAC=5\n" +
      "  W32 uart0+0x02c LCR_H     0x00000070  ; WLEN=8BIT FEN\n" +
      "  W32 uart0+0x004 ECR       0x00000000\n" +
      "  DSB\n" +
      "  W32 uart0+0x030 CR        0x00000301  ; RXE TXE UARTEN\n" +
      "return 0\n",
    );
  });

  it("collapses a 900-read poll of FR into one line with its count", () => {
    const { bus, uart } = board();
    initSequence(bus, uart, 899);
    const lines = formatTrace(bus.trace, bus.regions).split("\n");
    expect(lines).toContain("  R32 uart0+0x018 FR        0x00000098 x899  ; TXFE RXFE BUSY");
    expect(lines).toContain("  R32 uart0+0x018 FR        0x00000090  ; TXFE RXFE");
    expect(lines.filter((l) => l.includes(" FR "))).toHaveLength(2);
  });

  it("writes every read of a poll on its own line when collapsing is off", () => {
    const { bus, uart } = board();
    initSequence(bus, uart, 3);
    const lines = formatTrace(bus.trace, bus.regions, { collapse: false }).split("\n");
    expect(lines.filter((l) => l === "  R32 uart0+0x018 FR        0x00000098  ; TXFE RXFE BUSY")).toHaveLength(3);
  });

  it("marks DMA and faulted accesses, a call that threw, and faults outside every region", () => {
    const { bus, ram } = board();
    faultingDmaCall(bus, ram);
    refused(() => bus.read(0x40000000, 4));
    refused(() => bus.barrier(7));
    expect(formatTrace(bus.trace, bus.regions, { header: false })).toBe(
      "call pl011_write(0x10009000, 0x20000400, 2)\n" +
      "  dma R8  ram+0x400             0x41\n" +
      "  dma fault W8  uart0+0x018 FR        0x41\n" +
      "threw\n" +
      "\n" +
      "fault R32 0x40000000            0x00000000\n" +
      "fault barrier 7\n",
    );
  });

  it("names negative status codes on return lines, not counts, and shows calls that made no access", () => {
    const { bus } = board();
    const t = bus.trace;
    t.endCall(t.beginCall("pl011_init", [UART0, 0, 115200, 0]), -1);
    let c = t.beginCall("pl011_write", [UART0, RAM, 5]);
    bus.read(UART0 + FR, 4);
    t.endCall(c, 5);
    c = t.beginCall("pl011_flush", [UART0]);
    bus.read(UART0 + FR, 4);
    t.endCall(c, -3);
    bus.write(UART0 + ECR, 0xff, 4);
    expect(formatTrace(t, bus.regions, { header: false })).toBe(
      "call pl011_init(0x10009000, 0, 115200, 0x0)\n" +
      "return -1 ERR_INVALID_ARG\n" +
      "\n" +
      "call pl011_write(0x10009000, 0x20000000, 5)\n" +
      "  R32 uart0+0x018 FR        0x00000000\n" +
      "return 5\n" +
      "\n" +
      "call pl011_flush(0x10009000)\n" +
      "  R32 uart0+0x018 FR        0x00000000\n" +
      "return -3 ERR_TIMEOUT\n" +
      "\n" +
      "W32 uart0+0x004 ECR       0x000000ff\n",
    );
  });

  it("does not merge identical reads across a call boundary", () => {
    const { bus } = board();
    const t = bus.trace;
    bus.read(UART0 + FR, 4);
    t.endCall(t.beginCall("pl011_init", [UART0, 0, 115200, 0]), -1);
    bus.read(UART0 + FR, 4);
    expect(formatTrace(t, bus.regions, { header: false })).toBe(
      "R32 uart0+0x018 FR        0x00000000\n" +
      "call pl011_init(0x10009000, 0, 115200, 0x0)\n" +
      "return -1 ERR_INVALID_ARG\n" +
      "\n" +
      "R32 uart0+0x018 FR        0x00000000\n",
    );
  });

  it("shows the call line of a call begun before the range, and leaves a running call open", () => {
    const { bus, uart } = board();
    initSequence(bus, uart, 3);
    const c = bus.trace.beginCall("pl011_write", [UART0, RAM, 1]);
    bus.write(UART0 + DR, 0x41, 4);
    // Entries: 0 CR, 1-4 FR, 5 IBRD, 6 FBRD, 7 LCR_H, 8 ECR, 9 DSB, 10 CR, 11 DR.
    expect(formatTrace(bus.trace, bus.regions, { header: false, from: 7, to: 9 })).toBe(
      "call pl011_init(0x10009000, 4000000, 230400, 0x0)\n" +
      "  W32 uart0+0x02c LCR_H     0x00000070  ; WLEN=8BIT FEN\n" +
      "  W32 uart0+0x004 ECR       0x00000000\n",
    );
    expect(formatTrace(bus.trace, bus.regions, { header: false, from: 10 })).toBe(
      "call pl011_init(0x10009000, 4000000, 230400, 0x0)\n" +
      "  W32 uart0+0x030 CR        0x00000301  ; RXE TXE UARTEN\n" +
      "return 0\n" +
      "\n" +
      "call pl011_write(0x10009000, 0x20000000, 1)\n" +
      "  W32 uart0+0x000 DR        0x00000041  ; DATA=0x41\n",
    );
    bus.trace.endCall(c, 1);
  });

  it("changes exactly one line when one access is inserted", () => {
    const a = board();
    const b = board();
    for (const { bus } of [a, b]) {
      bus.write(UART0 + IBRD, 1, 4);
      bus.write(UART0 + FBRD, 5, 4);
      if (bus === b.bus) bus.write(RAM + 0x10, 0xdeadbeef, 4);
      bus.write(UART0 + LCR_H, 0x70, 4);
    }
    const before = formatTrace(a.bus.trace, a.bus.regions).split("\n");
    const after = formatTrace(b.bus.trace, b.bus.regions).split("\n");
    const inserted = after.findIndex((l, i) => l !== before[i]);
    expect(after[inserted]).toBe("W32 ram+0x010             0xdeadbeef");
    expect([...after.slice(0, inserted), ...after.slice(inserted + 1)]).toEqual(before);
  });
});

describe("formatTail", () => {
  it("gives the last lines with the running call's line, a poll counting as one line", () => {
    const { bus, uart, ram } = board();
    initSequence(bus, uart, 899);
    faultingDmaCall(bus, ram);
    expect(formatTail(bus, 1)).toBe(
      "call pl011_write(0x10009000, 0x20000400, 2)\n" +
      "  dma fault W8  uart0+0x018 FR        0x41\n" +
      "threw",
    );
    expect(formatTail(bus, 5)).toBe(
      "call pl011_init(0x10009000, 4000000, 230400, 0x0)\n" +
      "  W32 uart0+0x004 ECR       0x00000000\n" +
      "  DSB\n" +
      "  W32 uart0+0x030 CR        0x00000301  ; RXE TXE UARTEN\n" +
      "return 0\n" +
      "\n" +
      "call pl011_write(0x10009000, 0x20000400, 2)\n" +
      "  dma R8  ram+0x400             0x41\n" +
      "  dma fault W8  uart0+0x018 FR        0x41\n" +
      "threw",
    );
    // Eleven lines back from the end: the 899 reads with BUSY set are one of them.
    expect(formatTail(bus, 11).split("\n")[2]).toBe("  R32 uart0+0x018 FR        0x00000098 x899  ; TXFE RXFE BUSY");
  });

  it("is empty for an empty trace", () => {
    expect(formatTail(board().bus, 12)).toBe("");
  });
});

// The example of docs/trace-format.md, line numbers on the right.
const GOLDEN = [
  "wasm-hal-trace 1", //                                                           1
  "region uart0 0x10009000 0x1000 pl011", //                                       2
  "region ram 0x20000000 0x10000 none", //                                         3
  "", //                                                                           4
  "call pl011_init(0x10009000, 4000000, 230400, 0x0)", //                            5
  "  W32 uart0+0x030 CR        0x00000000", //                                     6  entry 0
  "  R32 uart0+0x018 FR        0x00000098 x868  ; TXFE RXFE BUSY", //              7  1..868
  "  R32 uart0+0x018 FR        0x00000090  ; TXFE RXFE", //                        8  869
  "  W32 uart0+0x024 IBRD      0x00000001  ; DIVINT=0x1", //                       9  870
  "  W32 uart0+0x028 FBRD      0x00000005  ; DIVFRAC=5", //                       10  871
  "  W32 uart0+0x02c LCR_H     0x00000070  ; WLEN=8BIT FEN", //                   11  872
  "  DSB", //                                                                     12  873
  "  W32 uart0+0x030 CR        0x00000301  ; RXE TXE UARTEN", //                  13  874
  "return 0", //                                                                  14
  "", //                                                                          15
  "call pl011_write(0x10009000, 0x400, 1)", //                                     16
  "  dma R8  ram+0x400             0x41", //                                      17  875
  "  dma fault W8  uart0+0x018 FR        0x41", //                                18  876
  "threw", //                                                                     19
].join("\n") + "\n";

describe("parseTrace", () => {
  it("reads regions, calls, polls, barriers and flags from hand-written text", () => {
    const t = parseTrace(GOLDEN, "golden.trace");
    expect(t.version).toBe(1);
    expect(t.regions).toEqual([
      { name: "uart0", base: 0x10009000, size: 0x1000, block: "pl011", line: 2 },
      { name: "ram", base: 0x20000000, size: 0x10000, block: null, line: 3 },
    ]);
    expect(t.calls).toEqual([
      { name: "pl011_init", args: [0x10009000, 4000000, 230400, 0], start: 0, end: 875, result: 0, outcome: "returned", line: 5, endLine: 14 },
      { name: "pl011_write", args: [0x10009000, 1024, 1], start: 875, end: 877, result: undefined, outcome: "threw", line: 16, endLine: 19 },
    ]);
    expect(t.length).toBe(877);
    expect(t.accesses).toHaveLength(10);
    expect(t.accesses[1]).toEqual({ op: OP_READ, flags: 0, width: 4, addr: 0x10009018, value: 0x98, repeat: 868, seq: 1, call: 0, line: 7 });
    expect(t.accesses[2]!.seq).toBe(869);
    expect(t.accesses[6]).toEqual({ op: OP_BARRIER, flags: 0, width: 0, addr: 0, value: 1, repeat: 1, seq: 873, call: 0, line: 12 });
    expect(t.accesses[8]).toEqual({ op: OP_READ, flags: FLAG_DMA, width: 1, addr: 0x20000400, value: 0x41, repeat: 1, seq: 875, call: 1, line: 17 });
    expect(t.accesses[9]).toEqual({ op: OP_WRITE, flags: FLAG_DMA | FLAG_FAULT, width: 1, addr: 0x10009018, value: 0x41, repeat: 1, seq: 876, call: 1, line: 18 });
  });

  it("ignores comments, blank lines, indentation and the decoded fields", () => {
    const t = parseTrace("wasm-hal-trace 1\n# a comment\nregion u 0x10009000 0x1000 pl011\n\n   W32   u+0x30 CR 0x1 ; anything at all\r\nR32 u+0x18 0x90\n", "c.trace");
    expect(t.accesses.map((a) => [a.op, a.addr, a.value, a.line])).toEqual([[OP_WRITE, 0x10009030, 1, 5], [OP_READ, 0x10009018, 0x90, 6]]);
    expect(t.calls).toEqual([]);
  });

  it("gives a call with no end line the outcome running", () => {
    const t = parseTrace("wasm-hal-trace 1\nregion u 0x10009000 0x1000 pl011\ncall pl011_flush(0x10009000)\n  R32 u+0x018 FR 0x00000098 x5\n", "r.trace");
    expect(t.calls).toEqual([{ name: "pl011_flush", args: [0x10009000], start: 0, end: 5, result: undefined, outcome: "running", line: 3, endLine: -1 }]);
  });

  const header = "wasm-hal-trace 1\nregion uart0 0x10009000 0x1000 pl011\nregion ram 0x20000000 0x10000 none\n";
  /** The error for a file made of the header (lines 1-3) and `body` from line 4. */
  function rejection(body: string, text = header + body): TraceParseError {
    try {
      parseTrace(text, "bad.trace");
    } catch (e) {
      if (e instanceof TraceParseError) return e;
      throw e;
    }
    throw new Error(`parseTrace accepted:\n${text}`);
  }

  it.each([
    ["a missing header", "region uart0 0x10009000 0x1000 pl011\n", 1,
      'bad.trace:1: missing header: expected "wasm-hal-trace 1" on the first line\n    region uart0 0x10009000 0x1000 pl011'],
    ["another format version", "wasm-hal-trace 2\n", 1,
      'bad.trace:1: unsupported header "wasm-hal-trace 2": expected "wasm-hal-trace 1" (this parser reads format version 1 only)\n    wasm-hal-trace 2'],
    ["an empty file", "", 1,
      'bad.trace:1: missing header: expected "wasm-hal-trace 1" on the first line\n    '],
  ])("refuses %s", (_what, text, line, message) => {
    const e = rejection("", text);
    expect(e.line).toBe(line);
    expect(e.fileName).toBe("bad.trace");
    expect(e.message).toBe(message);
  });

  it.each([
    ["an unknown line kind", "  Q32 uart0+0x018 FR 0x00000090",
      'unknown line kind "Q32": expected region, call, return, threw, an access (R32 ..., W8 ...), a barrier (DMB, DSB, ISB) or an interrupt (irq enter, irq return)'],
    ["bad hex in a value", "  R32 uart0+0x018 FR 0x9g",
      'bad hex value "0x9g": expected 0x followed by 1 to 8 hex digits'],
    ["bad hex in an offset", "  R32 uart0+0x01z FR 0x00000090",
      'bad hex offset "0x01z": expected 0x followed by 1 to 8 hex digits'],
    ["a value in decimal", "  W32 ram+0x000 65",
      'bad register name or value "65": expected a register name or a 0x-prefixed hex value'],
    ["a width that is not 8, 16 or 32", "  R24 uart0+0x018 FR 0x000090",
      "bad access width R24: expected R8, R16 or R32"],
    ["an unknown region", "  R32 uart1+0x018 FR 0x00000090",
      'unknown region "uart1": expected one of the declared regions (uart0, ram)'],
    ["a register name that does not match the offset", "  R32 uart0+0x018 CR 0x00000090",
      "register name CR does not match uart0+0x018: expected FR (pl011 read at 0x018)"],
    ["the read-side name on a write", "  W32 uart0+0x004 RSR 0x00000000",
      "register name RSR does not match uart0+0x004: expected ECR (pl011 write at 0x004)"],
    ["a register name at a reserved offset", "  R32 uart0+0x050 FR 0x00000000",
      "register name FR at uart0+0x050, a reserved offset in pl011: expected no name"],
    ["a register name in plain memory", "  R32 ram+0x018 FR 0x00000000",
      "register name FR in region ram, which has no register map (block none): expected no name"],
    ["a value wider than the access", "  W8  ram+0x001 0x100",
      "value 0x100 is wider than the 8-bit access: expected at most 0xff"],
    ["a repeat count on a write", "  W32 uart0+0x000 DR 0x00000041 x2",
      "repeat count x2 on a write: expected counts on reads only (only polls are collapsed)"],
    ["a repeat count of zero", "  R32 uart0+0x018 FR 0x00000090 x0",
      "bad repeat count x0: expected x1 to x4294967295 (no poll is longer than that)"],
    ["a repeat count on a barrier", "  DSB x2",
      'unexpected "x2" after the barrier: expected nothing (a barrier takes no repeat count)'],
    ["words after the value", "  R32 uart0+0x018 FR 0x00000090 TXFE",
      'unexpected "TXFE" after the value: expected a repeat count xN, or ";" before decoded fields'],
    ["an absolute address inside a region", "  R32 0x10009018 0x00000090",
      "address 0x10009018 lies in region uart0: expected uart0+0x018"],
    ["an offset past the region", "  R32 uart0+0xffe 0x00000000",
      "offset 0xffe with 4 bytes lies outside region uart0 (size 0x1000): expected an offset of at most 0xffc"],
    ["an unaligned access that did not fault", "  R16 ram+0x001 0x0000",
      "R16 at ram+0x001 is not aligned to 2 bytes: expected an address that is a multiple of 2"],
    ["overlapping regions", "region uart1 0x10009800 0x1000 pl011",
      "region uart1 overlaps region uart0 (declared on line 2): expected disjoint regions"],
    ["return outside a call", "return 0",
      '"return" outside any call: expected a "call" line before it'],
    ["a status name that does not match", "call pl011_flush(0x10009000)\nreturn -3 ERR_BUSY",
      "status name ERR_BUSY does not match -3: expected ERR_TIMEOUT"],
  ])("refuses %s, naming the file, the line and what was expected", (_what, body, problem) => {
    const e = rejection(body + "\n");
    const lastLine = body.split("\n").length + 3;
    expect(e.line).toBe(lastLine);
    expect(e.message).toBe(`bad.trace:${lastLine}: ${problem}\n    ${body.split("\n").at(-1)}`);
  });

  it("refuses an unknown register block, listing the known ones", () => {
    const e = rejection("region spi0 0x10010000 0x1000 pl099\n");
    expect(e.line).toBe(4);
    expect(e.message).toMatch(/^bad\.trace:4: unknown register block "pl099": expected one of dma, gpio, irqc, pl011, .*none\n {4}region spi0 0x10010000 0x1000 pl099$/);
  });

  it("refuses a call before the previous call ended, and a region after the first access", () => {
    expect(rejection("call pl011_init(1, 2, 3, 4)\ncall pl011_flush(0x10009000)\n").message).toBe(
      'bad.trace:5: call pl011_flush while pl011_init (line 4) has not ended: expected "return N" or "threw" first\n    call pl011_flush(0x10009000)');
    expect(rejection("DMB\nregion gpio0 0x10010000 0x1000 none\n").message).toBe(
      "bad.trace:5: region declared after the first call or access: expected every region line right after the header\n    region gpio0 0x10010000 0x1000 none");
  });

  it("accepts on a faulted line the width and alignment that made the access fault", () => {
    const t = parseTrace(header + "fault R24 uart0+0x019 FR 0x000000\nfault W32 uart0+0xffe 0x00000000\n", "f.trace");
    expect(t.accesses.map((a) => [a.width, a.addr])).toEqual([[3, 0x10009019], [4, 0x10009ffe]]);
  });
});

describe("round trip", () => {
  function sameAsTrace(bus: Bus, parsed: ParsedTrace): void {
    const entries = [...bus.trace.entries()].map((e) => ({ op: e.op, flags: e.flags, width: e.width, addr: e.addr, value: e.value, repeat: 1 }));
    expect(expandAccesses(parsed)).toEqual(entries);
    expect(parsed.calls.map((c) => ({ name: c.name, args: c.args, start: c.start, end: c.end, result: c.result })))
      .toEqual(bus.trace.calls.map((c) => ({ name: c.name, args: c.args, start: c.start, end: c.end, result: c.result })));
  }

  it("gives back every entry and call: polls, barriers, DMA, faults, status codes", () => {
    const { bus, uart, ram } = board();
    initSequence(bus, uart, 899);
    faultingDmaCall(bus, ram);
    bus.barrier(0);
    bus.barrier(2);
    refused(() => bus.barrier(9));
    refused(() => bus.read(UART0 + 0x1a, 4));
    refused(() => bus.write(0x30000000, 1, 2));
    bus.write(RAM + 0xfffc, 0xffffffff, 4);
    bus.write(RAM + 0x2, 0xbeef, 2);
    bus.trace.endCall(bus.trace.beginCall("pl011_init", [UART0, -1, 2 ** 32 - 1, 0]), -2);
    const text = formatTrace(bus.trace, bus.regions);
    sameAsTrace(bus, parseTrace(text, "round.trace"));
    sameAsTrace(bus, parseTrace(formatTrace(bus.trace, bus.regions, { collapse: false }), "flat.trace"));
  });

  it("keeps a running call open", () => {
    const { bus } = board();
    bus.trace.beginCall("pl011_flush", [UART0]);
    bus.read(UART0 + FR, 4);
    const parsed = parseTrace(formatTrace(bus.trace, bus.regions), "running.trace");
    expect(parsed.calls[0]!.outcome).toBe("running");
    expect(expandAccesses(parsed)).toEqual([{ op: OP_READ, flags: 0, width: 4, addr: UART0 + FR, value: 0, repeat: 1 }]);
  });
});

describe("diffTraces", () => {
  const golden = parseTrace(GOLDEN, "golden.trace");
  const variant = (from: string, to: string): ParsedTrace => {
    expect(GOLDEN).toContain(from);
    return parseTrace(GOLDEN.replace(from, to), "actual.trace");
  };

  it("finds nothing between equal traces, whatever the regions are called", () => {
    expect(diffTraces(golden, parseTrace(GOLDEN, "copy.trace"))).toBeNull();
    const renamed = GOLDEN.replace("region ram ", "region sram ").replace("  dma R8  ram+0x400  ", "  dma R8  sram+0x400 ");
    expect(renamed).toContain("sram+0x400");
    expect(diffTraces(golden, parseTrace(renamed, "renamed.trace"))).toBeNull();
  });

  it("finds nothing between a collapsed poll and the same reads written out", () => {
    const flat = GOLDEN.replace("  R32 uart0+0x018 FR        0x00000098 x868  ; TXFE RXFE BUSY\n",
      "  R32 uart0+0x018 FR        0x00000098\n".repeat(868));
    expect(diffTraces(golden, parseTrace(flat, "flat.trace"))).toBeNull();
  });

  it("reports a different value with its entry, both lines, context and the running call", () => {
    const d = diffTraces(golden, variant("FBRD      0x00000005  ; DIVFRAC=5", "FBRD      0x00000004  ; DIVFRAC=4"));
    expect(d).not.toBeNull();
    expect(d!.accessIndex).toBe(871);
    expect(d!.expected).toEqual({ line: 10, text: "  W32 uart0+0x028 FBRD      0x00000005  ; DIVFRAC=5" });
    expect(d!.actual).toEqual({ line: 10, text: "  W32 uart0+0x028 FBRD      0x00000004  ; DIVFRAC=4" });
    expect(d!.call).toBe("call pl011_init(0x10009000, 4000000, 230400, 0x0)");
    expect(d!.text).toBe(
      "traces differ at entry #871 during call pl011_init(0x10009000, 4000000, 230400, 0x0)\n" +
      "      R32 uart0+0x018 FR        0x00000098 x868  ; TXFE RXFE BUSY\n" +
      "      R32 uart0+0x018 FR        0x00000090  ; TXFE RXFE\n" +
      "      W32 uart0+0x024 IBRD      0x00000001  ; DIVINT=0x1\n" +
      "  - golden.trace:10\n" +
      "      W32 uart0+0x028 FBRD      0x00000005  ; DIVFRAC=5\n" +
      "  + actual.trace:10\n" +
      "      W32 uart0+0x028 FBRD      0x00000004  ; DIVFRAC=4",
    );
  });

  it("places a longer poll's difference after the shorter count", () => {
    const d = diffTraces(golden, variant("0x00000098 x868", "0x00000098 x869"), { context: 1 });
    expect(d!.accessIndex).toBe(869);
    expect(d!.context).toEqual(["  W32 uart0+0x030 CR        0x00000000"]);
    expect(d!.actual.text).toBe("  R32 uart0+0x018 FR        0x00000098 x869  ; TXFE RXFE BUSY");
  });

  it("reports a trace that ends early and a different return value", () => {
    const short = parseTrace(GOLDEN.split("\n").slice(0, 12).join("\n") + "\n", "short.trace");
    const d = diffTraces(golden, short)!;
    expect(d.accessIndex).toBe(874);
    expect(d.expected.line).toBe(13);
    expect(d.actual).toEqual({ line: null, text: null });
    expect(d.text).toContain("  + short.trace: end of trace");

    const r = diffTraces(golden, variant("return 0", "return -3 ERR_TIMEOUT"))!;
    expect(r.accessIndex).toBe(875);
    expect(r.expected).toEqual({ line: 14, text: "return 0" });
    expect(r.actual).toEqual({ line: 14, text: "return -3 ERR_TIMEOUT" });
    expect(r.call).toBe("call pl011_init(0x10009000, 4000000, 230400, 0x0)");
  });

  it("reports different call arguments and a DMA access that lost its flag", () => {
    const a = diffTraces(golden, variant("call pl011_write(0x10009000, 0x400, 1)", "call pl011_write(0x10009000, 0x400, 2)"))!;
    expect(a.expected.text).toBe("call pl011_write(0x10009000, 0x400, 1)");
    expect(a.call).toBeNull();
    const b = diffTraces(golden, variant("  dma R8  ram+0x400", "  R8  ram+0x400"))!;
    expect(b.accessIndex).toBe(875);
    expect(b.actual.text).toBe("  R8  ram+0x400             0x41");
  });
});
