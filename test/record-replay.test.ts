// Record on the board, replay in CI, through the documented commands (docs/devmem.md,
// docs/replay.md): `wasm-hal record` runs a package scenario on a board whose UART is "hardware"
// (a file-backed window of the /dev/mem bridge, played by a second process), writes the trace,
// and the same scenario then runs in CI on a replay board made from that trace, without the
// hardware. A changed driver fails the replay with a divergence naming the register; a scenario
// that needs models is refused before the window is touched.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../harness/project.js";
import { addonPath, bridgeStatus } from "../harness/devmem/devmem.js";
import { parseTrace, diffTraces } from "../harness/trace-text.js";
import { OP_WRITE } from "../harness/trace.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const root = packageRoot();
const cli = join(root, "dist", "harness", "cli.js");
const UART = 0x3f201000;
// PL011 TRM (ARM DDI 0183G) Table 3-1 offsets and 3.3.3 / 3.3.8 bits.
const DR = 0x000, FR = 0x018, CR = 0x030;
const FR_BUSY = 1 << 3, FR_RXFE = 1 << 4, FR_TXFF = 1 << 5;
const CR_ENABLED = 0x301;
const SENTINEL = 0xffffffff; // test/devmem/uart-peer.mjs: DR "empty"

const wasmHal = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { cwd, encoding: "utf8", timeout: 120_000 });

describe.runIf(bridgeStatus().available)("record on a board, replay in CI", () => {
  let dir: string;
  let device: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wasm-hal-record-replay-"));
    device = join(dir, "uart0.bin");
    const registers = Buffer.alloc(0x1000);
    // Left by a boot loader: enabled, a character still shifting out, TX FIFO full, RX empty.
    registers.writeUInt32LE(CR_ENABLED, CR);
    registers.writeUInt32LE(FR_BUSY | FR_TXFF | FR_RXFE, FR);
    registers.writeUInt32LE(SENTINEL, DR);
    writeFileSync(device, registers);
    // The board a user writes for their hardware: the UART's clock is a fact of the board.
    writeFileSync(join(dir, "hardware.json"), JSON.stringify({
      name: "file-backed-uart",
      regions: [{
        name: "uart0", base: `0x${UART.toString(16)}`, size: "0x1000", block: "pl011",
        facts: { uartclkHz: 24_000_000 },
        device: { kind: "devmem", path: "uart0.bin", offset: 0 },
      }],
    }, null, 2));
    // The board CI uses: the same region, answered by the recording.
    writeFileSync(join(dir, "ci.json"), JSON.stringify({
      name: "replay-of-the-board",
      regions: [{
        name: "uart0", base: `0x${UART.toString(16)}`, size: "0x1000", block: "pl011",
        facts: { uartclkHz: 24_000_000 },
        device: { kind: "replay", trace: "pl011-hello.trace" },
      }],
    }, null, 2));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a scenario that stimulates models before it opens the window", () => {
    const before = readFileSync(device);
    const r = wasmHal(root, "record", "pl011-receive-errors", "--board", join(dir, "hardware.json"));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("wasm-hal: scenario pl011-receive-errors cannot run on board file-backed-uart: 6 of its steps need a model the board does not have (model \"the Pl011Model of uart0\", stimulus \"uart0: \\\"ok\\\" arrives on RXD\"");
    expect(readFileSync(device).equals(before)).toBe(true);
  });

  it("records pl011-hello on the hardware, then replays it in CI; a changed driver diverges", async () => {
    const peer = spawn(process.execPath, [join(HERE, "devmem", "uart-peer.mjs"), addonPath(), device, "line"]);
    let peerOut = "";
    let peerErr = "";
    peer.stdout.on("data", (d: Buffer) => { peerOut += d.toString(); });
    peer.stderr.on("data", (d: Buffer) => { peerErr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => peer.on("exit", resolve));
    try {
      // 1. On the board: `wasm-hal record` with the hardware board file.
      const recorded = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [cli, "record", "pl011-hello", "--board", join(dir, "hardware.json"), "-o", join(dir, "pl011-hello.trace")], { cwd: root });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
        child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
        child.on("exit", (status) => resolve({ status, stdout, stderr }));
      });
      expect(recorded.stderr).toBe("");
      expect(recorded.status).toBe(0);
      expect(recorded.stdout).toMatch(/^wrote .*pl011-hello\.trace: pl011-hello, \d+ lines\n$/);
      expect(await exited).toBe(0);
      expect(peerErr).toBe("");
      // The other process saw the line end; the bytes themselves are in the driver's trace.
      expect(peerOut).toMatch(/^ready\n(tx [0-9a-f]+\n)*tx a\ndone\n$/);
      const text = readFileSync(join(dir, "pl011-hello.trace"), "utf8");
      const written = parseTrace(text, "pl011-hello.trace").accesses.filter((a) => a.op === OP_WRITE && a.addr === UART + DR).map((a) => String.fromCharCode(a.value));
      expect(written.join("")).toBe("Hello from wasm-hal!\r\n");
      expect(text).toContain("# board file-backed-uart (");
      expect(text).toContain("# not checked on this board (the Pl011Model of uart0: region uart0 has no model on this board): the bytes on TXD");
      expect(text).toContain("call pl011_write(0x3f201000, 0x400, 22)\n");
    } finally {
      peer.kill();
    }

    // 2. In CI, without the hardware: the same scenario on the replay board passes, and its
    // trace is the recording's.
    const replayed = wasmHal(root, "record", "pl011-hello", "--board", join(dir, "ci.json"));
    expect(replayed.stderr).toBe("");
    expect(replayed.status).toBe(0);
    const recording = parseTrace(readFileSync(join(dir, "pl011-hello.trace"), "utf8"), "pl011-hello.trace");
    expect(diffTraces(recording, parseTrace(replayed.stdout, "replayed"))).toBeNull();

    // 3. A changed driver (the bug zoo's LCR_H written before the divisor) fails, naming the
    // register, both values and the recorded line.
    const zoo = join(root, "build", "zoo", "pl011-lcrh-before-divisor.wasm");
    const changed = wasmHal(root, "record", "pl011-hello", "--board", join(dir, "ci.json"), "--module", zoo);
    expect(changed.status).toBe(1);
    expect(changed.stdout).toBe("");
    expect(changed.stderr).toMatch(/^wasm-hal: pl011_init\(0x3f201000, 24000000, 115200, 0x0\) did not return: ReplayDivergence: replay of pl011-hello\.trace diverged at entry #\d+ \(pl011-hello\.trace:\d+\), during call pl011_init/);
    expect(changed.stderr).toContain("\n  uart0+0x02c LCR_H where the recording has uart0+0x024 IBRD\n");
    expect(changed.stderr).toContain("\n  actual:   W32 uart0+0x02c LCR_H     0x00000070  ; WLEN=8BIT FEN\n");
  }, 180_000);
});
