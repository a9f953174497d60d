// The PL011 driver (assembly/pl011.ts, built into build/hal.wasm) against the PL011 model on the
// default board. Expected register values come from the PL011 TRM (ARM DDI 0183G) and are worked
// out by hand in the comments, never computed by the code under test.
import { describe, expect, it } from "vitest";
import { versatileBoard, VERSATILE } from "../harness/board.js";
import { OP_BARRIER, OP_READ, OP_WRITE, type TraceEntry } from "../harness/trace.js";
import { HalError } from "../harness/hal.js";
import { lintTrace } from "../harness/lint.js";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_RX_BREAK, ERR_RX_FRAMING, ERR_RX_OVERRUN, ERR_RX_PARITY,
  PL011_CONFIG_7_BITS, PL011_CONFIG_6_BITS, PL011_CONFIG_5_BITS, PL011_CONFIG_PARITY_ODD, PL011_CONFIG_PARITY_EVEN,
  PL011_CONFIG_PARITY_MARK, PL011_CONFIG_PARITY_SPACE, PL011_CONFIG_STOP_2, PL011_CONFIG_FIFO_OFF,
} from "../harness/generated/api.js";
import { PL011_CR, PL011_FR, PL011_RSR, PL011_MAP } from "../harness/generated/pl011.js";

const UART = VERSATILE.uart0;
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
/** Poll limits of assembly/pl011.ts, as documented there: FR reads per wait. */
const TX_POLL_LIMIT = 1 << 20;
const IDLE_POLL_LIMIT = 1 << 22;

function board(uartclkHz = 4_000_000) {
  const b = versatileBoard({ uartclkHz });
  return { ...b, trace: b.bus.trace };
}

/** One line per access of a call, as "W IBRD 0x1", polls collapsed to "R FR 0x90 x3". */
function accessesOf(b: ReturnType<typeof board>, callIndex = b.trace.calls.length - 1): string[] {
  const call = b.trace.calls[callIndex]!;
  const index = b.bus.regions[0]!.index!;
  const lines: string[] = [];
  let last = "";
  let repeat = 0;
  const flush = (): void => {
    if (last) lines.push(repeat > 1 ? `${last} x${repeat}` : last);
  };
  for (const e of b.trace.entries(call.start, call.end)) {
    const line = describeEntry(e, index.nameAt(e.addr - UART, e.op === OP_WRITE) ?? "?");
    if (line === last && e.op === OP_READ) {
      repeat++;
      continue;
    }
    flush();
    last = line;
    repeat = 1;
  }
  flush();
  return lines;
}
function describeEntry(e: TraceEntry, name: string): string {
  if (e.op === OP_BARRIER) return ["DMB", "DSB", "ISB"][e.value]!;
  return `${e.op === OP_WRITE ? "W" : "R"} ${name} 0x${e.value.toString(16)}`;
}
function writesTo(b: ReturnType<typeof board>, name: string): number[] {
  const reg = PL011_MAP.registers.find((r) => r.name === name || r.writeName === name)!;
  return [...b.trace.entries()].filter((e) => e.op === OP_WRITE && e.addr === UART + reg.offset).map((e) => e.value);
}

describe("pl011_init: baud divisor, TRM 3.3.6", () => {
  // TRM Table 3-9 (UARTCLK 4 MHz): the fractional divisor for each standard rate.
  it.each([
    [230400, 0x1, 0x5], // Example 3-1: 4e6/(16 x 230400) = 1.085; 0.085 x 64 + 0.5 = 5.9 -> 5
    [115200, 0x2, 0xb],
    [76800, 0x3, 0x10],
    [38400, 0x6, 0x21],
    [14400, 0x11, 0x17],
    [2400, 0x68, 0xb],
    [110, 0x8e0, 0x2f],
  ])("4 MHz, %i baud: IBRD %i, FBRD %i (Table 3-9)", (baud, ibrd, fbrd) => {
    const b = board(4_000_000);
    expect(b.hal.call("pl011_init", UART, 4_000_000, baud, 0)).toBe(OK);
    expect(writesTo(b, "IBRD")).toEqual([ibrd]);
    expect(writesTo(b, "FBRD")).toEqual([fbrd]);
    expect(b.uart0.latchedDivisor).toEqual({ ibrd, fbrd });
  });

  // TRM Table 3-8 (UARTCLK 7.3728 MHz): rates that divide exactly, FBRD 0.
  it.each([
    [460800, 0x1], [230400, 0x2], [115200, 0x4], [57600, 0x8], [38400, 0xc], [19200, 0x18], [9600, 0x30],
  ])("7.3728 MHz, %i baud: IBRD %i, FBRD 0 (Table 3-8)", (baud, ibrd) => {
    const b = board(7_372_800);
    expect(b.hal.call("pl011_init", UART, 7_372_800, baud, 0)).toBe(OK);
    expect(b.uart0.latchedDivisor).toEqual({ ibrd, fbrd: 0 });
  });

  it("7.3728 MHz, 110 baud: IBRD 0x105D as in Table 3-8, and the fraction the table leaves out", () => {
    // 7372800 / (16 x 110) = 4189.0909: IBRD 4189 = 0x105D; 0.0909 x 64 + 0.5 = 6.3 -> FBRD 6.
    // Table 3-8 lists integer divisors only; the driver uses the fractional divisor too.
    const b = board(7_372_800);
    expect(b.hal.call("pl011_init", UART, 7_372_800, 110, 0)).toBe(OK);
    expect(b.uart0.latchedDivisor).toEqual({ ibrd: 0x105d, fbrd: 6 });
  });

  it("the largest divisor, IBRD 0xFFFF, is accepted only with FBRD 0", () => {
    // 4 x 4194240 / 4 = 4194240 = 0xFFFF x 64 + 0; one more Hz gives FBRD 1, which TRM 3.3.6 forbids.
    const ok = board();
    expect(ok.hal.call("pl011_init", UART, 4_194_240, 4, 0)).toBe(OK);
    expect(ok.uart0.latchedDivisor).toEqual({ ibrd: 0xffff, fbrd: 0 });
    const over = board();
    expect(over.hal.call("pl011_init", UART, 4_194_241, 4, 0)).toBe(ERR_UNREACHABLE_RATE);
    expect(over.trace.length).toBe(0);
  });
});

describe("pl011_init: the TRM 3.3.8 reprogramming sequence", () => {
  it("disables, waits for BUSY, flushes with FEN clear, writes IBRD and FBRD before LCR_H, enables last", () => {
    const b = board();
    expect(b.hal.call("pl011_init", UART, 4_000_000, 230400, 0)).toBe(OK);
    expect(accessesOf(b)).toEqual([
      "R CR 0x300", // reset value: TXE and RXE set, UARTEN clear, so nothing is transmitting
      "W CR 0x0", // 1. disable
      "R FR 0x90", // 2. BUSY clear: the current character is done
      "W LCR_H 0x0", // 3. FEN clear flushes the FIFOs
      "W IBRD 0x1", // 4. divisor...
      "W FBRD 0x5",
      "W LCR_H 0x70", // ...latched by LCR_H: WLEN 8 bits (0x60) | FEN (0x10)
      "W IMSC 0x0", // polled driver: every interrupt masked
      "W ICR 0x7ff", // stale interrupts cleared
      "W ECR 0x0", // stale receive errors cleared
      "W CR 0x301", // 5. UARTEN | TXE | RXE
      "DSB", // the enable has reached the UART before the call returns
    ]);
  });

  it("lets queued characters leave before it disables a running UART", () => {
    const b = board();
    b.hal.call("pl011_init", UART, 4_000_000, 115200, 0);
    const ptr = b.hal.writeBytes(ascii("queued"));
    expect(b.hal.call("pl011_write", UART, ptr, 6)).toBe(6);
    expect(b.uart0.wire).toEqual([]);
    expect(b.hal.call("pl011_init", UART, 4_000_000, 9600, 0)).toBe(OK);
    // All six left at the old rate before CR was written.
    expect(b.uart0.wire).toEqual(ascii("queued"));
    const lines = accessesOf(b);
    expect(lines[0]).toBe("R CR 0x301");
    expect(lines[1]).toMatch(/^R FR 0x18 x\d+$/); // RXFE | BUSY while the FIFO drains
    expect(lines.indexOf("W CR 0x0")).toBeGreaterThan(1);
    expect(b.uart0.wireFrame(5).divisor).toEqual({ ibrd: 2, fbrd: 0xb });
  });

  it.each([
    ["8N1 with FIFOs (config 0)", 0, 0x70],
    ["7 data bits", PL011_CONFIG_7_BITS, 0x50],
    ["6 data bits", PL011_CONFIG_6_BITS, 0x30],
    ["5 data bits", PL011_CONFIG_5_BITS, 0x10],
    ["odd parity: PEN", PL011_CONFIG_PARITY_ODD, 0x72],
    ["even parity: PEN | EPS", PL011_CONFIG_PARITY_EVEN, 0x76],
    ["mark (stick 1): PEN | SPS", PL011_CONFIG_PARITY_MARK, 0xf2],
    ["space (stick 0): PEN | EPS | SPS", PL011_CONFIG_PARITY_SPACE, 0xf6],
    ["two stop bits: STP2", PL011_CONFIG_STOP_2, 0x78],
    ["FIFOs off: FEN clear", PL011_CONFIG_FIFO_OFF, 0x60],
    ["7E2", PL011_CONFIG_7_BITS | PL011_CONFIG_PARITY_EVEN | PL011_CONFIG_STOP_2, 0x5e],
  ])("%s (TRM 3.3.7, Table 3-11)", (_what, config, lcrh) => {
    const b = board();
    expect(b.hal.call("pl011_init", UART, 4_000_000, 115200, config)).toBe(OK);
    expect(writesTo(b, "LCR_H")).toEqual([0, lcrh]);
  });
});

describe("invalid arguments are refused before any register access", () => {
  it.each([
    ["pl011_init with UARTCLK 0", "pl011_init", [UART, 0, 115200, 0], ERR_INVALID_ARG],
    ["pl011_init with baud 0", "pl011_init", [UART, 4_000_000, 0, 0], ERR_INVALID_ARG],
    ["pl011_init with an unaligned base", "pl011_init", [UART + 2, 4_000_000, 115200, 0], ERR_INVALID_ARG],
    ["pl011_init with a reserved config bit", "pl011_init", [UART, 4_000_000, 115200, 0x80], ERR_INVALID_ARG],
    ["pl011_init with parity code 5", "pl011_init", [UART, 4_000_000, 115200, 5 << 2], ERR_INVALID_ARG],
    // 4 x 4e6 / 460800 = 34.7 -> 35 sixty-fourths: IBRD 0 is invalid (the rate is above UARTCLK/16).
    ["pl011_init above UARTCLK/16", "pl011_init", [UART, 4_000_000, 460800, 0], ERR_UNREACHABLE_RATE],
    // 4 x 24e6 / 22 = 4363636 sixty-fourths: IBRD 68181 does not fit 16 bits.
    ["pl011_init below the 16-bit divisor", "pl011_init", [UART, 24_000_000, 22, 0], ERR_UNREACHABLE_RATE],
    ["pl011_write past the end of linear memory", "pl011_write", [UART, 65530, 10], ERR_INVALID_ARG],
    ["pl011_write of 2^31 bytes", "pl011_write", [UART, 0, 0x80000000], ERR_INVALID_ARG],
    ["pl011_write with an unaligned base", "pl011_write", [UART + 1, 0, 1], ERR_INVALID_ARG],
    ["pl011_read past the end of linear memory", "pl011_read", [UART, 65535, 2], ERR_INVALID_ARG],
    ["pl011_flush with an unaligned base", "pl011_flush", [UART + 3], ERR_INVALID_ARG],
  ] as const)("%s", (_what, fn, args, status) => {
    const b = board();
    expect(b.hal.call(fn, ...args)).toBe(status);
    expect(b.trace.length).toBe(0);
  });
});

describe("pl011_write and pl011_flush", () => {
  it("every byte reaches the wire once, in order, the poll reading FR before each DR write", () => {
    const b = board();
    b.hal.call("pl011_init", UART, 4_000_000, 115200, 0);
    const text = ascii("The quick brown fox jumps over the lazy dog\r\n"); // 45 bytes: more than 16
    const ptr = b.hal.writeBytes(text);
    expect(b.hal.call("pl011_write", UART, ptr, text.length)).toBe(text.length);
    expect(b.hal.call("pl011_flush", UART)).toBe(OK);
    expect(b.uart0.wire).toEqual(text);
    const write = b.trace.calls[1]!;
    const entries = [...b.trace.entries(write.start, write.end)];
    const drWrites = entries.filter((e) => e.op === OP_WRITE && e.addr === UART);
    expect(drWrites.map((e) => e.value)).toEqual(text);
    // Each DR write follows an FR read that showed TXFF clear.
    for (const w of drWrites) {
      const before = entries[entries.indexOf(w) - 1]!;
      expect(before.addr).toBe(UART + PL011_FR);
      expect(before.value & 0x20).toBe(0);
    }
    expect(b.uart0.txDropped).toBe(0);
    expect(lintTrace(b.trace, b.bus.regions)).toEqual([]);
  });

  it("with FIFOs off the driver waits on the 1-byte holding register", () => {
    const b = board();
    b.hal.call("pl011_init", UART, 4_000_000, 115200, PL011_CONFIG_FIFO_OFF);
    const ptr = b.hal.writeBytes(ascii("abc"));
    expect(b.hal.call("pl011_write", UART, ptr, 3)).toBe(3);
    expect(b.hal.call("pl011_flush", UART)).toBe(OK);
    expect(b.uart0.wire).toEqual(ascii("abc"));
    expect(b.uart0.txDropped).toBe(0);
  });

  it("a TX FIFO that never drains: a short count, then ERR_TIMEOUT after PL011_TX_POLL_LIMIT FR reads", () => {
    const b = board();
    b.hal.call("pl011_init", UART, 4_000_000, 115200, 0);
    b.bus.write(UART + PL011_CR, 0x001, 4); // UARTEN without TXE: nothing leaves the FIFO
    const ptr = b.hal.writeBytes(new Array(20).fill(0x55));
    expect(b.hal.call("pl011_write", UART, ptr, 20)).toBe(16);
    const start = b.trace.length;
    expect(b.hal.call("pl011_write", UART, ptr, 4)).toBe(ERR_TIMEOUT);
    expect(b.trace.length - start).toBe(TX_POLL_LIMIT);
    expect(accessesOf(b)).toEqual([`R FR 0x38 x${TX_POLL_LIMIT}`]); // TXFF | RXFE | BUSY, every read real
  });

  it("pl011_flush returns OK once BUSY clears, ERR_TIMEOUT after PL011_IDLE_POLL_LIMIT reads if it never does", () => {
    const b = board();
    b.hal.call("pl011_init", UART, 4_000_000, 115200, 0);
    expect(b.hal.call("pl011_flush", UART)).toBe(OK);
    expect(accessesOf(b)).toEqual(["R FR 0x90"]);
    b.uart0.faults.busyStuck = true;
    expect(b.hal.call("pl011_flush", UART)).toBe(ERR_TIMEOUT);
    expect(accessesOf(b)).toEqual([`R FR 0x98 x${IDLE_POLL_LIMIT}`]);
  });

  it("pl011_init gives up with ERR_TIMEOUT, before touching the divisor, when BUSY never clears", () => {
    const b = board();
    b.uart0.faults.busyStuck = true;
    expect(b.hal.call("pl011_init", UART, 4_000_000, 115200, 0)).toBe(ERR_TIMEOUT);
    // The transmitter was not running (reset CR), so the FIFO is flushed (FEN set, then cleared)
    // before the wait.
    expect(accessesOf(b)).toEqual([
      "R CR 0x300", "W CR 0x0", "R FR 0x98", "W LCR_H 0x10", "W LCR_H 0x0", `R FR 0x98 x${IDLE_POLL_LIMIT}`,
    ]);
  });

  it("pl011_init flushes characters a disabled UART holds, which BUSY would otherwise wait for forever", () => {
    const b = board();
    // Written while UARTEN is clear and the FIFOs are off (the reset state): the first sits in
    // the 1-byte holding register with BUSY set (TRM 3.3.3) and can never leave.
    for (const byte of ascii("stale")) b.bus.write(UART, byte, 4);
    expect(b.hal.call("pl011_init", UART, 4_000_000, 115200, 0)).toBe(OK);
    expect(accessesOf(b).slice(0, 7)).toEqual([
      "R CR 0x300", "W CR 0x0", "R FR 0x38", // TXFF | RXFE | BUSY: the holding register is full, nothing shifting
      "W LCR_H 0x10", "W LCR_H 0x0", // FEN set, then cleared: the flush
      "R FR 0x90", // TXFE | RXFE, BUSY clear
      "W LCR_H 0x0",
    ]);
    expect(b.uart0.wire).toEqual([]);
    expect(b.uart0.txFifoLevel).toBe(0);
  });
});

describe("pl011_read and the receive errors of TRM 3.3.1/3.3.2", () => {
  function ready() {
    const b = board();
    b.hal.call("pl011_init", UART, 4_000_000, 115200, 0);
    return b;
  }

  it("returns 0 with a single FR read when nothing has arrived", () => {
    const b = ready();
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 64)).toBe(0);
    expect(accessesOf(b)).toEqual(["R FR 0x90"]);
  });

  it("reads at most cap bytes and leaves the rest in the FIFO", () => {
    const b = ready();
    b.uart0.receive(ascii("abcdef"));
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 4)).toBe(4);
    expect(Array.from(b.hal.readBytes(b.hal.scratch, 4))).toEqual(ascii("abcd"));
    expect(b.uart0.rxFifoLevel).toBe(2);
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 4)).toBe(2);
  });

  it.each([
    ["a break", "break", ERR_RX_BREAK],
    ["a parity error", "parity", ERR_RX_PARITY],
    ["a framing error", "framing", ERR_RX_FRAMING],
  ] as const)("%s in the first character is returned at once and cleared through ECR", (_what, error, status) => {
    const b = ready();
    b.uart0.receive(error === "break" ? [] : [0x41], { error });
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 8)).toBe(status);
    const lines = accessesOf(b);
    expect(lines[lines.length - 1]).toBe("W ECR 0x0");
    expect(b.bus.read(UART + PL011_RSR, 4)).toBe(0);
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 8)).toBe(0);
  });

  it("a parity error after good bytes: the bytes first, the error on the next call with no access", () => {
    const b = ready();
    b.uart0.receive(ascii("ok"));
    b.uart0.receive([0x3f], { error: "parity" });
    b.uart0.receive(ascii("!"));
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 8)).toBe(2);
    expect(Array.from(b.hal.readBytes(b.hal.scratch, 2))).toEqual(ascii("ok"));
    const before = b.trace.length;
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 8)).toBe(ERR_RX_PARITY);
    expect(b.trace.length).toBe(before);
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 8)).toBe(1);
    expect(b.hal.readBytes(b.hal.scratch, 1)[0]).toBe(0x21);
  });

  it("an overrun keeps the 16 characters that fit, reports ERR_RX_OVERRUN once, and goes on", () => {
    const b = ready();
    const sent = Array.from({ length: 20 }, (_, i) => 0x61 + i); // 'a'..'t': four arrive into a full FIFO
    b.uart0.receive(sent);
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 64)).toBe(16);
    expect(Array.from(b.hal.readBytes(b.hal.scratch, 16))).toEqual(sent.slice(0, 16));
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 64)).toBe(ERR_RX_OVERRUN);
    b.uart0.receive(ascii("z"));
    expect(b.hal.call("pl011_read", UART, b.hal.scratch, 64)).toBe(1);
  });
});

describe("faults inside a call", () => {
  it("a driver call on an address no region maps ends in a HalError naming the access, with the trace tail", () => {
    const b = board();
    let error: unknown;
    try {
      b.hal.call("pl011_init", 0x20000000, 4_000_000, 115200, 0);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HalError);
    const message = (error as HalError).message;
    expect(message).toContain("pl011_init(0x20000000, 4000000, 115200, 0x0) did not return");
    expect(message).toContain("bus fault: read of 4 bytes at 0x20000030: no region maps this address");
    expect((error as HalError).traceTail).toContain("fault R32 0x20000030");
    // The call is closed in the trace, with no result.
    expect(b.trace.calls[0]).toMatchObject({ name: "pl011_init", result: undefined });
  });
});

