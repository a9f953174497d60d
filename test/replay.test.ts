// Replay of a recorded trace (harness/devices/replay.ts, docs/replay.md). A session is recorded
// against the PL011 model on the default board, turned into text and parsed back, as a golden file
// or a recording from a board would be; then the driver runs against the replay, without a model.
// Divisor values are worked out by hand from PL011 TRM 3.3.6: BAUDDIV = UARTCLK / (16 x baud).
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import asc from "assemblyscript/asc";
import { Bus, BusFault, VirtualClock } from "../harness/bus.js";
import { Hal, HalError } from "../harness/hal.js";
import { versatileBoard, VERSATILE } from "../harness/board.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { formatTrace, parseTrace, type ParsedTrace } from "../harness/trace-text.js";
import { Replay, ReplayDivergence, replayBus, type PollMode } from "../harness/devices/replay.js";
import { loadBoard, BoardFileError } from "../harness/board-file.js";
import { PL011_MAP } from "../harness/generated/pl011.js";

const UART = VERSATILE.uart0;
const CLOCK = 24_000_000;
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const SENT = ascii("Hi\r\n");
const RECEIVED = ascii("ok");

interface Results {
  init: number;
  write: number;
  flush: number;
  read: number;
  bytes: number[];
}

/** The session: init at 115200 baud, write "Hi\r\n", wait until it has left, read what came in.
 * `beforeRead` delivers the incoming bytes when a model is there to receive them. */
function session(hal: Hal, options: { baud?: number; stopAfterFlush?: boolean; beforeRead?: () => void } = {}): Results {
  const init = hal.call("pl011_init", UART, CLOCK, options.baud ?? 115200, 0);
  hal.writeBytes(SENT);
  const write = hal.call("pl011_write", UART, hal.scratch, SENT.length);
  const flush = hal.call("pl011_flush", UART);
  if (options.stopAfterFlush) return { init, write, flush, read: NaN, bytes: [] };
  options.beforeRead?.();
  const read = hal.call("pl011_read", UART, hal.scratch, 16);
  return { init, write, flush, read, bytes: read > 0 ? Array.from(hal.readBytes(hal.scratch, read)) : [] };
}

/** The session against the PL011 model, as text: what a golden file holds. */
function record(accessNs = 100): string {
  const { bus, hal, uart0 } = versatileBoard({ accessNs });
  const results = session(hal, { beforeRead: () => uart0.receive(RECEIVED) });
  expect(results).toEqual({ init: 0, write: 4, flush: 0, read: 2, bytes: RECEIVED });
  return formatTrace(bus.trace, bus.regions);
}

const RECORDING = record();
const parse = (text: string): ParsedTrace => parseTrace(text, "golden/pl011-session.trace");

function replayOf(text: string, polls: PollMode = "tolerant") {
  const { bus, replay } = replayBus(parse(text), { polls });
  return { bus, replay, hal: new Hal(bus, "release") };
}

/** The divergence a call ended with. */
function divergenceOf(run: () => unknown): { error: HalError; divergence: ReplayDivergence } {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(HalError);
    const error = e as HalError;
    expect(error.cause).toBeInstanceOf(ReplayDivergence);
    return { error, divergence: error.cause as ReplayDivergence };
  }
  throw new Error("the call did not diverge");
}

/** Replaces one line of a recording (found by its start, indentation aside). */
function edit(text: string, startsWith: string, replacement: (line: string) => string): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.trimStart().startsWith(startsWith));
  expect(at, `no line starts with ${startsWith}`).toBeGreaterThanOrEqual(0);
  lines[at] = replacement(lines[at]!);
  return lines.join("\n");
}

describe("the recording", () => {
  it("has the regions of the recorded bus and the polls the model made the driver wait through", () => {
    const parsed = parse(RECORDING);
    expect(parsed.regions.map((r) => [r.name, r.base, r.size, r.block])).toEqual([["uart0", UART, 0x1000, "pl011"]]);
    // pl011_flush waits for BUSY to clear: four characters of 10 bits at 115200 baud take about
    // 347 us, i.e. thousands of FR reads at 100 ns each, collapsed into a few lines.
    const flushPolls = parsed.accesses.filter((a) => a.call === 2);
    expect(flushPolls.length).toBeLessThan(5);
    expect(flushPolls.reduce((n, a) => n + a.repeat, 0)).toBeGreaterThan(3000);
  });
});

describe("the unchanged driver against the replay (no model)", () => {
  it.each<PollMode>(["tolerant", "strict"])("passes with %s polls, answered from the recording", (polls) => {
    const { bus, replay, hal } = replayOf(RECORDING, polls);
    const results = session(hal);
    // "ok" was never received by anything: DR reads were answered from the recording.
    expect(results).toEqual({ init: 0, write: 4, flush: 0, read: 2, bytes: RECEIVED });
    replay.finish();
    expect(replay.remaining).toBe(0);
    // The replayed session made exactly the recorded accesses, poll counts included.
    expect(formatTrace(bus.trace, bus.regions)).toBe(RECORDING);
  });

  it("maps the recording's regions with their register maps, so widths are refused as recorded", () => {
    const { bus } = replayBus(parse(RECORDING));
    expect(bus.regions.map((r) => [r.name, r.base, r.size, r.index?.block])).toEqual([["uart0", UART, 0x1000, PL011_MAP]]);
    // FR takes 32-bit accesses only (registers/pl011.json).
    expect(() => bus.read(UART + 0x018, 1)).toThrow(BusFault);
  });
});

describe("poll counts that differ from the recording", () => {
  // The model checked live against the recording: reads are answered by the model, whose clock
  // runs at 40 ns per access instead of 100, so the driver polls FR 2.5 times as often while the
  // characters leave; every write and every value still follows the recording.
  function liveRun(polls: PollMode) {
    const clock = new VirtualClock(40);
    const uart0 = new Pl011Model({ clock, uartclkHz: CLOCK });
    const { bus, replay } = replayBus(parse(RECORDING), { polls, clock, live: { uart0 } });
    const hal = new Hal(bus, "release");
    return { bus, replay, hal, uart0 };
  }

  it("a faster bus makes the driver poll FR more often than recorded", () => {
    const slow = versatileBoard({ accessNs: 100 });
    const fast = versatileBoard({ accessNs: 40 });
    session(slow.hal, { stopAfterFlush: true });
    session(fast.hal, { stopAfterFlush: true });
    const flushReads = (b: typeof slow) => b.bus.trace.calls[2]!.end - b.bus.trace.calls[2]!.start;
    expect(flushReads(fast)).toBeGreaterThan(2 * flushReads(slow));
  });

  it("tolerant: passes, each recorded poll matching the longer poll", () => {
    const { bus, replay, hal, uart0 } = liveRun("tolerant");
    expect(session(hal, { beforeRead: () => uart0.receive(RECEIVED) })).toEqual({ init: 0, write: 4, flush: 0, read: 2, bytes: RECEIVED });
    replay.finish();
    expect(bus.trace.length).toBeGreaterThan(parse(RECORDING).length);
    expect(uart0.wire).toEqual(SENT);
  });

  it("strict: stops in pl011_flush at the first FR read past the recorded count", () => {
    const { hal } = liveRun("strict");
    hal.call("pl011_init", UART, CLOCK, 115200, 0);
    hal.writeBytes(SENT);
    hal.call("pl011_write", UART, hal.scratch, SENT.length);
    const recordedPoll = parse(RECORDING).accesses.find((a) => a.call === 2)!;
    const { error, divergence } = divergenceOf(() => hal.call("pl011_flush", UART));
    expect(error.exportName).toBe("pl011_flush");
    expect(divergence.reason).toBe(
      `uart0+0x018 FR: the driver read 0x00000018 (RXFE BUSY) at least ${recordedPoll.repeat + 1} times; ` +
      `the recording reads it ${recordedPoll.repeat} times (strict poll counts)`);
    expect(divergence.call).toBe("call pl011_flush(0x101f1000)");
    expect(divergence.line).toBe(recordedPoll.line);
  });

  // A recording made by an older driver that read CR three times before disabling the UART: the
  // current driver reads it once. The replay answers from the recording alone (no model).
  const threeCrReads = edit(RECORDING, "R32 uart0+0x030 CR", (l) => l.replace("0x00000300", "0x00000300 x3"));

  it("tolerant: a recorded poll of 3 CR reads matches the driver's single read", () => {
    const { replay, hal } = replayOf(threeCrReads, "tolerant");
    expect(session(hal).read).toBe(2);
    replay.finish();
  });

  it("strict: the single CR read is reported with both counts", () => {
    const { hal } = replayOf(threeCrReads, "strict");
    const { divergence } = divergenceOf(() => hal.call("pl011_init", UART, CLOCK, 115200, 0));
    expect(divergence.reason).toBe(
      "uart0+0x030 CR: the driver read 0x00000300 (RXE TXE) 1 time, then made another access; the recording reads it 3 times (strict poll counts)");
    expect(divergence.actual).toMatch(/^W32 uart0\+0x030 CR +0x00000000$/);
  });
});

describe("the poll rule on a hand-written recording", () => {
  // A driver (here the test itself, on the bus) waits for FR.BUSY to clear, then sends "A".
  const text = [
    "wasm-hal-trace 1",
    "region uart0 0x101f1000 0x1000 pl011",
    "R32 uart0+0x018 FR 0x00000098 x3",
    "R32 uart0+0x018 FR 0x00000090",
    "W32 uart0+0x000 DR 0x00000041",
    "R32 uart0+0x000 DR 0x00000042 x2",
    "",
  ].join("\n");
  const FR = UART + 0x018;
  const DR = UART + 0x000;

  /** Reads FR until BUSY (bit 3) clears; returns the values read. */
  function waitIdle(bus: Bus): number[] {
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(bus.read(FR, 4));
      if ((seen[seen.length - 1]! & 0x8) === 0) break;
    }
    return seen;
  }

  it("answers the poll value as many times as recorded, then the value the driver waits for", () => {
    const { bus, replay } = replayBus(parse(text), { polls: "tolerant" });
    expect(waitIdle(bus)).toEqual([0x98, 0x98, 0x98, 0x90]);
    bus.write(DR, 0x41, 4);
    expect([bus.read(DR, 4), bus.read(DR, 4)]).toEqual([0x42, 0x42]);
    replay.finish();
  });

  it("tolerant: extra reads of the last poll value pass (the driver checks FR twice before writing)", () => {
    const { bus, replay } = replayBus(parse(text), { polls: "tolerant" });
    waitIdle(bus);
    expect(bus.read(FR, 4)).toBe(0x90);
    // Left: the DR write and the two DR reads; the extra FR read took nothing from them.
    expect(replay.remaining).toBe(3);
    bus.write(DR, 0x41, 4);
    bus.read(DR, 4);
    bus.read(DR, 4);
    replay.finish();
  });

  it("strict: the same extra read is refused", () => {
    const { bus } = replayBus(parse(text), { polls: "strict" });
    waitIdle(bus);
    let error: unknown;
    try {
      bus.read(FR, 4);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReplayDivergence);
    expect((error as ReplayDivergence).reason).toBe(
      "a 32-bit read (uart0+0x018 FR) where the recording has a 32-bit write (uart0+0x000 DR); it follows 1 read of uart0+0x018 FR, as many as recorded (strict poll counts)");
  });

  it("a read that consumes (DR pops the RX FIFO) keeps its count even when tolerant", () => {
    const { bus, replay } = replayBus(parse(text), { polls: "tolerant" });
    waitIdle(bus);
    bus.write(DR, 0x41, 4);
    bus.read(DR, 4);
    expect(() => replay.finish()).toThrow(/uart0\+0x000 DR: the driver read 0x00000042 \(DATA=0x42\) 1 time, then stopped; the recording reads it 2 times \(its reads have side effects, so every one counts\)/);
  });

  it("a refused access is matched against the recording's fault line", () => {
    // FR takes 32-bit accesses only: the recorded byte read was refused by the bus.
    const faulting = ["wasm-hal-trace 1", "region uart0 0x101f1000 0x1000 pl011", "fault R8 uart0+0x018 FR 0x00", ""].join("\n");
    const { bus, replay } = replayBus(parse(faulting));
    expect(() => bus.read(FR, 1)).toThrow(BusFault);
    replay.finish();
    const { bus: other, replay: otherReplay } = replayBus(parse(faulting));
    expect(() => other.read(FR, 4)).toThrow(ReplayDivergence);
    expect(otherReplay.divergence?.reason).toBe("uart0+0x018 FR: a 32-bit read where the recording has a 8-bit read");
  });
});

describe("a driver that differs from the recording", () => {
  it("pl011_init at 9600 baud stops at IBRD, naming both values, the export and the recorded call", () => {
    const { hal, replay } = replayOf(RECORDING);
    const { error, divergence } = divergenceOf(() => hal.call("pl011_init", UART, CLOCK, 9600, 0));
    // 24 MHz / (16 x 115200) = 13.02: IBRD 13 (0xd). 24 MHz / (16 x 9600) = 156.25: IBRD 156 (0x9c).
    expect(divergence.reason).toBe("uart0+0x024 IBRD: the driver wrote 0x0000009c (DIVINT=0x9c), the recording has 0x0000000d (DIVINT=0xd)");
    expect(divergence.expected).toMatch(/^W32 uart0\+0x024 IBRD +0x0000000d  ; DIVINT=0xd$/);
    expect(divergence.actual).toMatch(/^W32 uart0\+0x024 IBRD +0x0000009c  ; DIVINT=0x9c$/);
    expect(divergence.call).toBe("call pl011_init(0x101f1000, 24000000, 9600, 0x0)");
    expect(divergence.recordedCall).toBe("call pl011_init(0x101f1000, 24000000, 115200, 0x0) (line 4)");
    // IBRD is the 5th access of the call (CR, CR, FR, LCR_H, IBRD), on line 4 + 5.
    expect(divergence.entry).toBe(4);
    expect(divergence.line).toBe(9);
    expect(divergence.context.filter((l) => l.startsWith(">"))).toEqual([expect.stringMatching(/^>\s+9 \|   W32 uart0\+0x024 IBRD/)]);
    expect(divergence.context.some((l) => /^ +6 \| +W32 uart0\+0x030 CR/.test(l))).toBe(true);
    expect(divergence.context.some((l) => /^ +12 \| +W32 uart0\+0x038 IMSC/.test(l))).toBe(true);
    // The HalError carries all of it.
    expect(error.message).toContain("pl011_init(0x101f1000, 24000000, 9600, 0x0) did not return");
    expect(error.message).toContain(divergence.reason);
    // Once diverged, the replay stays stopped.
    expect(() => hal.call("pl011_flush", UART)).toThrow(HalError);
    expect(() => replay.finish()).toThrow(divergence.message);
  });

  describe("a build of pl011_init that writes LCR_H before IBRD and FBRD", () => {
    // TRM 3.3.7: LCR_H, IBRD and FBRD form one register updated by the LCR_H write, so LCR_H must
    // come last. This variant is compiled here from AssemblyScript and loaded as the module.
    const source = `
      @external("env", "mmio_read") declare function mmio_read(addr: u32, width: u32): u32;
      @external("env", "mmio_write") declare function mmio_write(addr: u32, value: u32, width: u32): void;
      @external("env", "barrier") declare function barrier(kind: u32): void;
      export function pl011_init(base: u32, clk: u32, baud: u32, config: u32): i32 {
        mmio_read(base + 0x30, 4);
        mmio_write(base + 0x30, 0, 4);
        for (let i = 0; i < 100; i++) if ((mmio_read(base + 0x18, 4) & 0x8) == 0) break;
        mmio_write(base + 0x2c, 0, 4);
        mmio_write(base + 0x2c, 0x70, 4);
        mmio_write(base + 0x24, 13, 4);
        mmio_write(base + 0x28, 1, 4);
        barrier(1);
        return 0;
      }`;
    const dir = mkdtempSync(join(tmpdir(), "wasm-hal-replay-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("is stopped at the early LCR_H write, where the recording has IBRD", async () => {
      const { error: compileError, stderr, binary } = await asc.compileString({ "lcrh-first.ts": source }, { runtime: "stub", use: ["abort="] });
      expect(compileError, stderr.toString()).toBeNull();
      const path = join(dir, "lcrh-first.wasm");
      writeFileSync(path, binary!);
      const { bus } = replayBus(parse(RECORDING));
      const hal = new Hal(bus, "release", path);
      const { divergence } = divergenceOf(() => hal.call("pl011_init", UART, CLOCK, 115200, 0));
      expect(divergence.reason).toBe("uart0+0x02c LCR_H where the recording has uart0+0x024 IBRD");
      expect(divergence.expected).toMatch(/^W32 uart0\+0x024 IBRD +0x0000000d/);
      expect(divergence.actual).toMatch(/^W32 uart0\+0x02c LCR_H +0x00000070  ; WLEN=8BIT FEN$/);
    }, 20_000);
  });

  it("a DMB where the recording has a DSB is reported at the next access", () => {
    const { hal } = replayOf(edit(RECORDING, "DSB", (l) => l.replace("DSB", "DMB")));
    hal.call("pl011_init", UART, CLOCK, 115200, 0);
    hal.writeBytes(SENT);
    const { error, divergence } = divergenceOf(() => hal.call("pl011_write", UART, hal.scratch, SENT.length));
    expect(error.exportName).toBe("pl011_write");
    expect(divergence.reason).toBe("DSB where the recording has DMB");
  });

  it("a barrier the recording has and the driver omits is reported when its call returns", () => {
    const { hal } = replayOf(edit(RECORDING, "DSB", (l) => `${l}\n  ISB`));
    hal.call("pl011_init", UART, CLOCK, 115200, 0);
    const { divergence } = divergenceOf(() => hal.call("pl011_flush", UART));
    expect(divergence.reason).toBe("pl011_init returned 0, but the recording has more in this call");
    expect(divergence.expected).toBe("ISB");
    expect(divergence.call).toBe("call pl011_init(0x101f1000, 24000000, 115200, 0x0)");
  });

  it("a different return value is reported", () => {
    const { hal, replay } = replayOf(edit(RECORDING, "return 4", () => "return 3"));
    hal.call("pl011_init", UART, CLOCK, 115200, 0);
    hal.writeBytes(SENT);
    hal.call("pl011_write", UART, hal.scratch, SENT.length);
    expect(() => replay.finish()).toThrow(/pl011_write ended with "return 4", the recording has "return 3" \(line \d+\)/);
  });

  it("calls in another order: pl011_flush first is stopped at its first FR read", () => {
    const { hal } = replayOf(RECORDING);
    const { divergence } = divergenceOf(() => hal.call("pl011_flush", UART));
    expect(divergence.reason).toBe("uart0+0x018 FR where the recording has uart0+0x030 CR");
    expect(divergence.recordedCall).toBe("call pl011_init(0x101f1000, 24000000, 115200, 0x0) (line 4)");
  });
});

describe("calls", () => {
  it("an access made outside any call where the recording made it in pl011_init", () => {
    const { bus, replay } = replayBus(parse(RECORDING));
    expect(() => bus.read(UART + 0x030, 4)).toThrow(ReplayDivergence);
    expect(replay.divergence?.reason).toBe("the driver made the access outside any call, the recording during call #1 pl011_init");
  });
});

describe("the end of the replay", () => {
  it("finish() reports what the recording has left: the pl011_read the driver never made", () => {
    const { hal, replay } = replayOf(RECORDING);
    session(hal, { stopAfterFlush: true });
    expect(replay.remaining).toBe(5);
    let error: unknown;
    try {
      replay.finish();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReplayDivergence);
    const divergence = error as ReplayDivergence;
    // pl011_read: FR, DR, FR, DR, FR.
    expect(divergence.reason).toBe("the recording has 5 more entries (5 lines) the driver did not make");
    expect(divergence.expected).toMatch(/^R32 uart0\+0x018 FR +0x00000080  ; TXFE$/);
    expect(divergence.recordedCall).toMatch(/^call pl011_read\(0x101f1000, 0x400, 16\) \(line \d+\)$/);
    expect(divergence.actual).toBeNull();
  });

  it("a call the recording does not have is stopped at its first access", () => {
    const { hal } = replayOf(RECORDING);
    session(hal);
    const { divergence } = divergenceOf(() => hal.call("pl011_flush", UART));
    expect(divergence.reason).toMatch(/^the recording has ended \(after \d+ entries\), the driver made one more access$/);
    expect(divergence.expected).toBeNull();
  });

  it("without a bus, a Replay device still answers and checks its own accesses", () => {
    const replay = new Replay(parse(RECORDING));
    const device = replay.device("uart0");
    expect(device.read(0x030, 4)).toBe(0x300);
    device.write(0x030, 0, 4);
    expect(() => device.write(0x030, 1, 4)).toThrow(ReplayDivergence);
  });
});

describe("the replay device kind of board files", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasm-hal-replay-board-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "session.trace"), RECORDING);

  function boardFile(device: Record<string, unknown>, base = "0x101f1000"): string {
    const path = join(dir, `board-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify({
      name: "replayed",
      regions: [{ name: "uart0", base, size: "0x1000", block: "pl011", device: { kind: "replay", ...device } }],
    }));
    return path;
  }

  it("a board whose uart0 is the recording runs the session, the Replay a part of the board", () => {
    const board = loadBoard(boardFile({ trace: "session.trace", polls: "strict" }));
    expect(session(board.hal)).toEqual({ init: 0, write: 4, flush: 0, read: 2, bytes: RECEIVED });
    const replay = board.part("replay", Replay);
    expect(replay.tolerant).toBe(false);
    replay.finish();
  });

  it("refuses a region the recording puts elsewhere, and a trace file that is not one", () => {
    expect(() => loadBoard(boardFile({ trace: "session.trace" }, "0x10009000"))).toThrow(BoardFileError);
    expect(() => loadBoard(boardFile({ trace: "session.trace" }, "0x10009000"))).toThrow(/declares uart0 at 0x101f1000 size 0x1000, the board region is at 0x10009000/);
    writeFileSync(join(dir, "broken.trace"), "not a trace\n");
    expect(() => loadBoard(boardFile({ trace: "broken.trace" }))).toThrow(/device\.trace: broken\.trace:1: missing header/);
  });
});
