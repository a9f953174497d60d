// Bad input, through the CLI and the library: each is one line that names the file, the line or
// the JSON path and says what was expected; no Node stack trace, exit 2 for usage, 1 for failure;
// and no input makes the harness hang or run out of memory: each limit is stated.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../harness/project.js";
import { parseBoardFile } from "../harness/board-file.js";
import { parseTrace, TraceParseError, MAX_REPEAT } from "../harness/trace-text.js";
import { traceToVcd } from "../harness/vcd.js";
import { loadBoard } from "../harness/board-file.js";

const root = packageRoot();
const cli = join(root, "dist", "harness", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "wasm-hal-bad-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const wasmHal = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });

/** One line on stderr, no stack, the given status. */
function expectOneLine(r: ReturnType<typeof wasmHal>, status: number, text: string | RegExp): void {
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  if (typeof text === "string") expect(r.stderr).toContain(text);
  else expect(r.stderr).toMatch(text);
  expect(r.status).toBe(status);
}

const UART_REGION = { name: "uart0", base: "0x101f1000", size: "0x1000", block: "pl011", device: { kind: "pl011", uartclkHz: 24_000_000 } };

describe("trace files", () => {
  it("a file with CR-only line ends is read line by line, and an error quotes a short excerpt", () => {
    const text = ["wasm-hal-trace 1", "region ram 0x20000000 0x100 none", "", "R32 ram+0x000 0x00000000", `R32 ram+0x004 ${"Z".repeat(10_000)}`, ""].join("\r");
    let error: unknown;
    try {
      parseTrace(text, "old-mac.trace");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TraceParseError);
    expect((error as TraceParseError).line).toBe(5);
    expect((error as Error).message.length).toBeLessThan(700);
    expect((error as Error).message).toMatch(/^old-mac\.trace:5: register name Z+…/);
  });

  it("a repeat count beyond 2^32 - 1 is refused with the limit", () => {
    const text = `wasm-hal-trace 1\nregion ram 0x20000000 0x100 none\n\nR32 ram+0x000 0x00000000 x9007199254740991\n`;
    expect(() => parseTrace(text, "long.trace")).toThrow(`long.trace:4: bad repeat count x9007199254740991: expected x1 to x${MAX_REPEAT}`);
  });

  it("a block named like an inherited property is an unknown block, not a crash", () => {
    for (const block of ["constructor", "toString", "__proto__"]) {
      const text = `wasm-hal-trace 1\nregion odd 0x20000000 0x100 ${block}\n`;
      expect(() => parseTrace(text, "odd.trace")).toThrow(`odd.trace:2: unknown register block "${block}": expected one of dma, gpio, irqc, pl011, pl022, pl061, pl080, rcc, spi, usart, none`);
    }
  });

  it("more than 4096 regions are refused with the limit", () => {
    const lines = ["wasm-hal-trace 1", ...Array.from({ length: 4097 }, (_, i) => `region r${i} 0x${(0x10000000 + i * 0x1000).toString(16)} 0x1000 none`)];
    expect(() => parseTrace(lines.join("\n") + "\n", "many.trace")).toThrow("many.trace:4098: more than 4096 regions: expected at most 4096");
  });

  it("a VCD of a trace longer than its limit is refused before anything is written", () => {
    const parsed = parseTrace(`wasm-hal-trace 1\nregion ram 0x20000000 0x100 none\n\nR32 ram+0x000 0x00000000 x200000000\n`, "poll.trace");
    expect(() => traceToVcd(parsed)).toThrow("the trace has 200000000 entries (repeat counts expanded), more than the 10000000 a VCD is written for");
  });
});

describe("board files", () => {
  it("accepts a byte-order mark", () => {
    const text = "\ufeff" + JSON.stringify({ regions: [UART_REGION] });
    expect(parseBoardFile(text, "bom.json").regions[0]!.name).toBe("uart0");
  });

  it("places invalid JSON by line and column", () => {
    expect(() => parseBoardFile('{\n  "regions": [\n    { "name": "uart0", }\n  ]\n}', "bad.json")).toThrow(/^bad\.json: line 3, column 24: invalid JSON/);
  });

  it("names a misspelt key as the unknown key it is", () => {
    const text = JSON.stringify({ regions: [{ ...UART_REGION, device: { kind: "pl011", uartClkHz: 24_000_000 } }] });
    expect(() => loadBoard(file("misspelt.json", text))).toThrow("regions[0].device.uartClkHz: unknown key (did you mean uartclkHz?)");
  });

  it("a block named like an inherited property is an unknown block", () => {
    for (const block of ["constructor", "toString", "__proto__"]) {
      const text = JSON.stringify({ regions: [{ ...UART_REGION, block }] });
      expect(() => parseBoardFile(text, "odd.json")).toThrow(`odd.json: regions[0].block: unknown register block "${block}"`);
    }
  });

  it("more than 4096 regions are refused with the limit, at once", () => {
    const regions = Array.from({ length: 200_001 }, (_, i) => ({ name: `r${i}`, base: 0x1000 * i, size: 0x1000, block: null, device: { kind: "ram" } }));
    expect(() => parseBoardFile(JSON.stringify({ regions }), "huge.json")).toThrow("huge.json: regions: 200001 regions: expected at most 4096");
  });
});

describe("the module's calls", () => {
  it("refuses a call with the wrong number of arguments and a buffer at NaN", () => {
    const { hal } = loadBoard("versatile");
    expect(() => hal.call("pl011_flush")).toThrow("pl011_flush takes 1 argument, got 0");
    expect(() => hal.call("pl011_init", 0x101f1000, 24_000_000)).toThrow("pl011_init takes 4 arguments, got 2");
    expect(() => hal.writeBytes([1, 2, 3], Number.NaN)).toThrow("3 bytes at NaN do not fit linear memory");
  });
});

describe("the CLI", () => {
  it("reads a missing file the same way in show and vcd", () => {
    const missing = join(dir, "absent.trace");
    expectOneLine(wasmHal("show", missing), 1, `wasm-hal: ${missing}: cannot read it: no such trace file`);
    expectOneLine(wasmHal("vcd", missing), 1, `wasm-hal: ${missing}: cannot read it: no such trace file`);
  });

  it("says why an output file cannot be written", () => {
    expectOneLine(wasmHal("record", "pl011-init-115200", "-o", join(dir, "no", "such", "out.trace")), 1, `the folder ${join(dir, "no", "such")} does not exist`);
    expectOneLine(wasmHal("record", "pl011-init-115200", "-o", dir), 1, `${dir}: cannot write it: is a folder: expected a file name`);
    const trace = file("t.trace", "wasm-hal-trace 1\nregion ram 0x20000000 0x100 none\n\nR32 ram+0x000 0x00000000\n");
    expectOneLine(wasmHal("vcd", trace, "-o", join(dir, "nowhere", "t.vcd")), 1, "cannot write it: the folder");
  });

  it("refuses --golden naming a file", () => {
    const golden = join(root, "fixtures", "golden", "pl011-hello.trace");
    expectOneLine(wasmHal("check", "--golden", golden), 2, "is a file: expected the folder of the golden traces");
  });

  it("check --update writes what it can and names what it could not", () => {
    const golden = join(dir, "golden");
    mkdirSync(join(golden, "pl011-hello.trace"), { recursive: true }); // a folder where a file goes
    const r = wasmHal("check", "--update", "--golden", golden, "pl011-init-115200", "pl011-hello", "pl061-pin-toggle-edge-irq");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`created  ${join(golden, "pl011-init-115200.trace")}`);
    expect(r.stdout).toContain(`created  ${join(golden, "pl061-pin-toggle-edge-irq.trace")}`);
    expect(r.stdout).toMatch(/ERROR +pl011-hello:\n .*pl011-hello\.trace: cannot read the golden file: EISDIR/);
    expect(r.stdout).toContain("3 scenarios: 2 created, 0 updated, 0 unchanged, 1 failed (not written)");
  });

  it("fuzz --replay and --module name what is wrong with the file", () => {
    expectOneLine(wasmHal("fuzz", "--replay", join(dir, "absent.trace")), 1, "absent.trace: no such file");
    const plain = file("plain.trace", "wasm-hal-trace 1\nregion ram 0x20000000 0x100 none\n");
    expectOneLine(wasmHal("fuzz", "--replay", plain), 1, 'plain.trace: no "# fuzz-target:" line');
    const notWasm = file("not.wasm", "this is text");
    expectOneLine(wasmHal("fuzz", "pl061", "--runs", "1", "--module", notWasm), 1, "not.wasm: is not a WebAssembly module");
    expectOneLine(wasmHal("fuzz", "pl061", "--runs", "1", "--module", dir), 1, `${dir}: is a folder: expected a .wasm file`);
  });

  it("ends quietly when its output is piped into head", () => {
    const r = spawnSync("sh", ["-c", `node "${cli}" record pl011-hello | head -1`], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(r.stdout).toBe("wasm-hal-trace 1\n");
    expect(r.stderr).toBe("");
  });
});
