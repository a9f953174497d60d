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
  it("runs the package's demo scenarios, the first (the UART greeting) with its whole trace", () => {
    const r = run(cli, ["demo"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toContain("wasm-hal demo: 9 scenarios of the project (wasm-hal.config.json) against its fake devices");
    expect(out).toContain("\npl011-hello: the PL011 sends a 22-byte greeting");
    // Arguments by the export's signature: base and buffer in hex, rates and counts in decimal;
    // a status result with its name, a count without one.
    expect(out).toContain("  pl011_init(0x101f1000, 24000000, 115200, 0x0) = 0 (OK)\n");
    expect(out).toContain("  pl011_write(0x101f1000, 0x400, 22) = 22\n");
    expect(out).toContain("region uart0 0x101f1000 0x1000 pl011");
    // 24 MHz / (16 x 115200) = 13.02: IBRD 13, round(0.0208 x 64) = FBRD 1 (TRM 3.3.6).
    expect(out).toContain("W32 uart0+0x024 IBRD      0x0000000d  ; DIVINT=0xd");
    expect(out).toMatch(/R32 uart0\+0x018 FR +0x00000038 x\d+ +; TXFF RXFE BUSY/);
    expect(out.match(/^wasm-hal-trace 1$/gm)).toHaveLength(1);
  });

  it("then runs the SPI flash, GPIO and DMA scenarios on the full board, three STM32F4 ones and the interrupt-driven UART, each passing its checks", () => {
    const r = run(cli, ["demo", "--no-trace"]);
    expect(r.status).toBe(0);
    for (const name of [
      "pl011-hello", "pl022-flash-id-erase-program-read", "pl061-pin-toggle-edge-irq", "pl080-memcpy", "pl080-uart-tx",
      "stm32f4-gpio-blink-lock", "stm32f4-usart-hello", "stm32f4-dma-usart-tx", "pl011-irq-preemptive",
    ]) {
      expect(r.stdout).toContain(`\n${name}: `);
    }
    expect(r.stdout.match(/^  ok: \d+ accesses.*lint clean$/gm)).toHaveLength(9);
    // The STM32F4 scenarios run their own module, build/stm32f4.wasm.
    expect(r.stdout).toContain("  stm32_usart_init(0x40011000, 16000000, 115200, 0x0) = 0 (OK)\n");
    expect(r.stdout).toMatch(/pl080-memcpy[\s\S]*\(52 by another bus master\)/);
    // A pin level is not a status: no "(OK)" beside it.
    expect(r.stdout).toContain("  pl061_read(0x101e4000, 0x4) = 0x4\n");
    expect(r.stdout).toContain("  pl061_read(0x101e4000, 0x4) = 0x0\n");
    expect(r.stdout).not.toContain("wasm-hal-trace 1");
    expect(r.stdout).not.toContain("FAILED");
  });

  it("runs one scenario with --only", () => {
    const r = run(cli, ["demo", "--only", "pl080-memcpy"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("wasm-hal demo: 1 scenario of the project");
    expect(r.stdout).toContain("call pl080_memcpy(0x10130000, 0, 0x80000400, 0x20000100, 64, 0x0)");
    expect(r.stdout).not.toContain("pl011-hello");
  });

  it.each([
    [["demo", "--only", "pl011-helo"], 'wasm-hal: no scenario named "pl011-helo" (scenarios: pl011-init-115200, pl011-hello,'],
    [["demo", "--colour"], "wasm-hal: demo: unknown option --colour (options: --only, --no-trace, --no-collapse;"],
    [["check", "--updat"], "wasm-hal: check: unknown option --updat (did you mean --update?)"],
    [["fuzz", "pl011", "--runs", "-5"], 'wasm-hal: --runs expects a positive integer, got "-5"'],
    [["fuzz", "pl011", "--seed", "99999999999999999999"], "wasm-hal: --seed must be a 32-bit integer (-2147483648 to 4294967295), got 99999999999999999999"],
    [["fuzz", "pl011", "--jobs", "4294967295"], "wasm-hal: --jobs must be at most 64, got 4294967295"],
    [["frobnicate"], 'wasm-hal: unknown command "frobnicate"'],
    [["demp"], 'wasm-hal: unknown command "demp" (did you mean demo?)'],
    [[], "wasm-hal: missing command"],
    [["--config"], "wasm-hal: --config needs the path of a wasm-hal.config.json"],
  ])("refuses %j with one line on stderr and exit status 2", (args, message) => {
    const r = run(cli, args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  it("exits 1 with one line naming the file when --config names a broken config", () => {
    const r = run(cli, ["--config", join(root, "registers", "pl011.json"), "demo"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/registers\/pl011\.json: block: unknown key: expected one of registers, svd, api/);
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
