// The `wasm-hal` command as a newcomer runs it: the compiled CLI in dist/ (built by `npm ci`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../harness/hal.js";

const root = packageRoot();
const cli = join(root, "dist", "harness", "cli.js");
const bench = join(root, "dist", "bench", "bench.js");

function run(script: string, args: string[]) {
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\``);
  return spawnSync(process.execPath, [script, ...args], { encoding: "utf8", timeout: 60_000 });
}

describe("wasm-hal demo", () => {
  it("initializes the UART, writes the greeting, reads back the injected bytes and prints the trace", () => {
    const r = run(cli, ["demo"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = r.stdout;
    // 24 MHz / (16 x 115200) = 13.02: IBRD 13, round(0.0208 x 64) = FBRD 1 (TRM 3.3.6).
    expect(out).toContain("pl011_init(0x101f1000, 24000000, 115200, 0) = 0 (OK)");
    expect(out).toContain("IBRD=13 FBRD=1");
    expect(out).toContain('pl011_write("Hello from wasm-hal!\\r\\n") = 22');
    expect(out).toContain('pl011_read(cap 64) = 4 "ping"');
    expect(out).toContain("region uart0 0x101f1000 0x1000 pl011");
    expect(out).toMatch(/R32 uart0\+0x018 FR +0x00000038 x\d+ +; TXFF RXFE BUSY/);
    expect(out).toContain("lint: clean");
    expect(out).toContain('wire (TXD): "Hello from wasm-hal!\\r\\n" — 22 bytes');
  });

  it("then runs the SPI flash, GPIO and DMA scenarios on the full board, each passing its checks", () => {
    const r = run(cli, ["demo", "--no-trace"]);
    expect(r.status).toBe(0);
    for (const name of ["pl022-flash-id-erase-program-read", "pl061-pin-toggle-edge-irq", "pl080-memcpy", "pl080-uart-tx"]) {
      expect(r.stdout).toContain(`\n${name}: `);
    }
    expect(r.stdout.match(/^  ok: \d+ accesses.*lint clean$/gm)).toHaveLength(4);
    expect(r.stdout).toMatch(/pl080-memcpy[\s\S]*by the DMA controller/);
    expect(r.stdout).not.toContain("FAILED");
  });

  it("takes the baud rate, clock and text from the command line", () => {
    const r = run(cli, ["demo", "--baud", "9600", "--clock", "7372800", "--text", "AT\\r", "--no-trace", "--uart-only"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("IBRD=48 FBRD=0"); // TRM Table 3-8: 7.3728 MHz, 9600 baud -> 0x30
    expect(r.stdout).toContain('wire (TXD): "AT\\r"');
    expect(r.stdout).not.toContain("wasm-hal-trace 1");
    expect(r.stdout).not.toContain("pl080-memcpy");
  });

  it.each([
    [["demo", "--baud", "fast"], 'wasm-hal: --baud expects a positive integer, got "fast"'],
    [["demo", "--baud", "0"], "wasm-hal: --baud must be between 1 and 4294967295, got 0"],
    [["demo", "--colour"], "wasm-hal: Unknown option '--colour'"],
    [["frobnicate"], 'wasm-hal: unknown command "frobnicate"'],
    [[], "wasm-hal: missing command"],
  ])("refuses %j with one line on stderr and exit status 2", (args, message) => {
    const r = run(cli, args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  it("exits 1 and says why when the driver refuses the baud rate", () => {
    const r = run(cli, ["demo", "--baud", "3000000"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("= -2 (ERR_UNREACHABLE_RATE)");
  });
});

describe("npm run bench -- --json", () => {
  it("prints floor_ns, harness_ns and their ratio from one run", () => {
    const r = run(bench, ["--json", "--rounds", "1", "--only", "core"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toEqual(expect.objectContaining({
      floor_ns: expect.any(Number), harness_ns: expect.any(Number), ratio: expect.any(Number),
    }));
    const { floor_ns, harness_ns, ratio } = report as { floor_ns: number; harness_ns: number; ratio: number };
    expect(floor_ns).toBeGreaterThan(0);
    expect(harness_ns).toBeGreaterThan(0);
    // The ratio is the median of per-round ratios; with one round it is that round's quotient.
    expect(ratio).toBeCloseTo(harness_ns / floor_ns, 1);
  });
});
