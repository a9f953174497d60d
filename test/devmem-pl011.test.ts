// The unchanged PL011 driver on "hardware" through the /dev/mem bridge: the UART's registers are a
// file-backed window, described in a board file with the devmem device kind, and a second process
// (test/devmem/uart-peer.mjs) plays the UART in them: it clears BUSY after a character from
// before has gone, and takes each byte written to DR while holding TXFF and BUSY. The session is
// recorded as on a board, and the recording then replays in CI without the "hardware".
//
// Register facts: PL011 TRM (ARM DDI 0183G) Table 3-1 offsets, 3.3.3 FR bits, 3.3.6 divisors
// (Table 3-9: 4 MHz UARTCLK and 115200 baud give IBRD 0x2, FBRD 0xB), 3.3.7 LCR_H.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hal } from "../harness/hal.js";
import { loadBoard, BoardFileError } from "../harness/board-file.js";
import { formatTrace, parseTrace } from "../harness/trace-text.js";
import { replayBus } from "../harness/devices/replay.js";
import { OP_READ } from "../harness/trace.js";
import { DevmemDevice, addonPath, bridgeStatus } from "../harness/devmem/devmem.js";
import "../harness/devmem/board-kind.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const UART = 0x3f201000; // where a Raspberry Pi 2/3 has its PL011 (BCM2836/7 peripherals at 0x3f000000)
const UARTCLK = 4_000_000;
const BAUD = 115200;
const SENT = Array.from("Hi\r\n", (c) => c.charCodeAt(0));

// TRM Table 3-1 offsets, 3.3.3 flag bits.
const DR = 0x000, FR = 0x018, IBRD = 0x024, FBRD = 0x028, LCR_H = 0x02c, CR = 0x030, IMSC = 0x038, ICR = 0x044;
const FR_BUSY = 1 << 3, FR_RXFE = 1 << 4, FR_TXFF = 1 << 5;
const CR_UARTEN = 1 << 0, CR_TXE = 1 << 8, CR_RXE = 1 << 9;
const SENTINEL = 0xffffffff; // test/devmem/uart-peer.mjs: DR "empty"

/** The peer's stdout, line by line, each awaited with a bound. */
class Lines {
  private readonly seen: string[] = [];
  private readonly waiting: ((line: string) => void)[] = [];
  stderr = "";

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    let partial = "";
    child.stdout.on("data", (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        const waiter = this.waiting.shift();
        if (waiter !== undefined) waiter(line);
        else this.seen.push(line);
      }
    });
    child.stderr.on("data", (d: Buffer) => { this.stderr += d.toString(); });
  }

  next(what: string, ms = 10_000): Promise<string> {
    const line = this.seen.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`uart-peer: no line (${what}) within ${ms} ms; stderr: ${this.stderr}`)), ms);
      this.waiting.push((l) => { clearTimeout(timer); resolve(l); });
    });
  }

  exit(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }
}

const bridge = bridgeStatus();

describe.runIf(bridge.available)("the PL011 driver on a file-backed UART played by another process", () => {
  let dir: string;
  let device: string;
  let boardFile: string;
  let recording = "";
  let results: number[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wasm-hal-devmem-uart-"));
    device = join(dir, "uart0.bin");
    const registers = Buffer.alloc(0x1000);
    // Left by a boot loader: enabled, a character still shifting out, TX FIFO full, RX empty.
    registers.writeUInt32LE(CR_UARTEN | CR_TXE | CR_RXE, CR);
    registers.writeUInt32LE(FR_BUSY | FR_TXFF | FR_RXFE, FR);
    registers.writeUInt32LE(SENTINEL, DR);
    writeFileSync(device, registers);
    boardFile = join(dir, "board.json");
    writeFileSync(boardFile, JSON.stringify({
      name: "file-backed-uart",
      regions: [{ name: "uart0", base: `0x${UART.toString(16)}`, size: "0x1000", block: "pl011", device: { kind: "devmem", path: "uart0.bin", offset: 0, uartclkHz: UARTCLK } }],
    }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("initializes, writes and flushes through the bridge, waiting on the flags the other process changes", async () => {
    const board = loadBoard(boardFile);
    const window = board.device("uart0");
    expect(window).toBeInstanceOf(DevmemDevice);
    const peer = new Lines(spawn(process.execPath, [join(HERE, "devmem", "uart-peer.mjs"), addonPath(), device, String(SENT.length)]));
    try {
      expect(await peer.next("ready")).toBe("ready");
      const { hal, bus } = board;

      // The UART's clock is a fact of the board file, as scenarios read it.
      expect(board.deviceInteger("uart0", "uartclkHz")).toBe(UARTCLK);
      results.push(hal.call("pl011_init", UART, UARTCLK, BAUD, 0));
      expect(results[0]).toBe(0);
      const file = readFileSync(device);
      expect(file.readUInt32LE(IBRD)).toBe(0x2);
      expect(file.readUInt32LE(FBRD)).toBe(0xb);
      expect(file.readUInt32LE(LCR_H)).toBe(0x70); // WLEN 0b11 (8 bits) << 5, FEN
      expect(file.readUInt32LE(IMSC)).toBe(0);
      expect(file.readUInt32LE(ICR)).toBe(0x7ff);
      expect(file.readUInt32LE(CR)).toBe(CR_UARTEN | CR_TXE | CR_RXE);
      // The driver saw BUSY set, polled, and went on once the other process cleared it.
      const frReads = [...bus.trace.entries()].filter((e) => e.op === OP_READ && e.addr === UART + FR).map((e) => e.value);
      expect(frReads[0]! & FR_BUSY).toBe(FR_BUSY);
      expect(frReads.at(-1)! & FR_BUSY).toBe(0);

      for (const byte of SENT) {
        hal.writeBytes([byte]);
        const written = hal.call("pl011_write", UART, hal.scratch, 1);
        results.push(written);
        expect(written).toBe(1);
        expect(await peer.next(`byte 0x${byte.toString(16)}`)).toBe(`tx ${byte.toString(16)}`);
      }
      results.push(hal.call("pl011_flush", UART));
      expect(results.at(-1)).toBe(0);
      expect(await peer.next("done")).toBe("done");
      expect(await peer.exit()).toBe(0);

      // After the first byte, each write waited while the peer held TXFF.
      const txffSet = [...bus.trace.entries()].filter((e) => e.op === OP_READ && e.addr === UART + FR && (e.value & FR_TXFF) !== 0);
      expect(txffSet.length).toBeGreaterThan(0);
      recording = formatTrace(bus.trace, bus.regions);
    } finally {
      peer.child.kill();
      (window as DevmemDevice).close();
    }
  });

  it("replays the recording made through the bridge, without the hardware", () => {
    expect(recording).not.toBe("");
    const parsed = parseTrace(recording, "uart0-on-hardware.trace");
    expect(parsed.regions.map((r) => [r.name, r.base, r.size, r.block])).toEqual([["uart0", UART, 0x1000, "pl011"]]);
    const { bus, replay } = replayBus(parsed);
    const hal = new Hal(bus);
    const replayed = [hal.call("pl011_init", UART, UARTCLK, BAUD, 0)];
    for (const byte of SENT) {
      hal.writeBytes([byte]);
      replayed.push(hal.call("pl011_write", UART, hal.scratch, 1));
    }
    replayed.push(hal.call("pl011_flush", UART));
    replay.finish();
    expect(replayed).toEqual(results);
    expect(replay.remaining).toBe(0);
  });

  it("names the board file entry when the devmem window cannot be opened", () => {
    const bad = join(dir, "missing-device.json");
    writeFileSync(bad, JSON.stringify({
      regions: [{ name: "uart0", base: "0x101f1000", size: "0x1000", block: "pl011", device: { kind: "devmem", path: "no-such-file.bin", offset: 0 } }],
    }));
    expect(() => loadBoard(bad)).toThrow(BoardFileError);
    expect(() => loadBoard(bad)).toThrow(`${bad}: regions[0].device: region uart0: ${join(dir, "no-such-file.bin")} 0x0..0xfff: no such file`);
    const typo = join(dir, "typo.json");
    writeFileSync(typo, JSON.stringify({
      regions: [{ name: "uart0", base: "0x101f1000", size: "0x1000", block: "pl011", device: { kind: "devmem", path: "uart0.bin", offset: 0, locked: false } }],
    }));
    expect(() => loadBoard(typo)).toThrow(/regions\[0\]\.device\.locked: unknown key "locked"/);
  });
});
