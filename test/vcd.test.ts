// VCD export (harness/vcd.ts, docs/vcd.md): a trace written as a VCD and read back. Expected times
// are worked out from the bus's rule (the clock advances 100 ns before each CPU access is recorded;
// a DMA access and a refused access take no time) and the 1 ns pulse width.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bus, BusFault } from "../harness/bus.js";
import { OP_WRITE, OP_READ } from "../harness/trace.js";
import { versatileBoard, VERSATILE } from "../harness/board.js";
import { formatTrace, parseTrace } from "../harness/trace-text.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { traceToVcd, parseVcd, vcdValues, type ParsedVcd } from "../harness/vcd.js";
import { vcd as vcdCommand } from "../harness/commands/vcd.js";
import { UsageError } from "../harness/commands/common.js";
import { PACKAGE_CONTEXT } from "./context.js";
import { RegisterFile as Registers } from "../harness/devices/register-file.js";


const UART0 = 0x10009000;
const RAM = 0x20000000;
const DATE = "Thu, 01 Jan 2026 00:00:00 GMT";

/** The PL011 TRM 3.3.6 example (4 MHz, 230400 baud: IBRD 1, FBRD 5) after a short BUSY wait, a
 * DSB, a DMA controller reading a byte of RAM, and an access to nowhere that the bus refuses. */
function knownTrace(): Bus {
  const bus = new Bus();
  const uart = new Registers();
  const ram = new Registers();
  bus.map({ name: "uart0", base: UART0, size: 0x1000, device: uart, map: PL011_MAP });
  bus.map({ name: "ram", base: RAM, size: 0x10000, device: ram });
  uart.upcoming.set(0x018, [0x98, 0x98]);
  uart.values.set(0x018, 0x90);
  ram.values.set(0x400, 0x41);
  const call = bus.trace.beginCall("pl011_init", [UART0, 4_000_000, 230_400, 0]);
  bus.write(UART0 + 0x030, 0, 4); //    100 ns  CR
  bus.read(UART0 + 0x018, 4); //        200 ns  FR 0x98
  bus.read(UART0 + 0x018, 4); //        300 ns  FR 0x98
  bus.read(UART0 + 0x018, 4); //        400 ns  FR 0x90
  bus.write(UART0 + 0x024, 1, 4); //    500 ns  IBRD
  bus.write(UART0 + 0x028, 5, 4); //    600 ns  FBRD
  bus.write(UART0 + 0x02c, 0x70, 4); // 700 ns  LCR_H
  bus.barrier(1); //                    800 ns  DSB
  bus.masterRead(RAM + 0x400, 1); //    800 ns  DMA, no time of its own
  bus.write(UART0 + 0x004, 0, 4); //    900 ns  ECR (the write side of RSR)
  bus.trace.endCall(call, 0);
  expect(() => bus.read(0x40000000, 4)).toThrow(BusFault); // 900 ns, refused before any time passes
  return bus;
}

describe("traceToVcd on a known trace", () => {
  const bus = knownTrace();
  const text = traceToVcd(bus.trace, bus.regions, { date: DATE });
  const vcd = parseVcd(text);
  const values = (path: string) => vcdValues(vcd, path);

  it("has the header a viewer needs: date, version, a 1 ns timescale, a scope per region", () => {
    expect(vcd.date).toBe(DATE);
    expect(vcd.version).toContain("wasm-hal");
    expect(vcd.timescale).toBe("1ns");
    expect(vcd.comment).toContain("call 1 = call pl011_init(0x10009000, 4000000, 230400, 0x0) -> return 0");
    expect(vcd.variables.map((v) => `${v.path}:${v.size}`)).toEqual([
      "trace.call:32", "trace.DMB:1", "trace.DSB:1", "trace.ISB:1", "trace.dma:1", "trace.fault:1",
      // uart0: the strobes, then the registers touched in offset order.
      "trace.uart0.read:1", "trace.uart0.write:1", "trace.uart0.RSR_ECR:32", "trace.uart0.FR:32",
      "trace.uart0.IBRD:32", "trace.uart0.FBRD:32", "trace.uart0.LCR_H:32", "trace.uart0.CR:32",
      "trace.ram.read:1", "trace.ram.write:1", "trace.ram.at_0x400:32",
    ]);
    expect(new Set(vcd.variables.map((v) => v.id)).size).toBe(vcd.variables.length);
    // Identifier codes avoid # and $, which readers may take for a time or a keyword.
    expect(vcd.variables.filter((v) => /[#$]/.test(v.id))).toEqual([]);
  });

  it("registers are unknown until touched, then hold the value of the last access", () => {
    expect(values("trace.uart0.CR")).toEqual([{ time: 0, value: null }, { time: 100, value: 0 }]);
    // The two BUSY reads are one change: the value did not change between them.
    expect(values("trace.uart0.FR")).toEqual([{ time: 0, value: null }, { time: 200, value: 0x98 }, { time: 400, value: 0x90 }]);
    expect(values("trace.uart0.IBRD")).toEqual([{ time: 0, value: null }, { time: 500, value: 1 }]);
    expect(values("trace.uart0.FBRD")).toEqual([{ time: 0, value: null }, { time: 600, value: 5 }]);
    expect(values("trace.uart0.LCR_H")).toEqual([{ time: 0, value: null }, { time: 700, value: 0x70 }]);
    expect(values("trace.uart0.RSR_ECR")).toEqual([{ time: 0, value: null }, { time: 900, value: 0 }]);
    expect(values("trace.ram.at_0x400")).toEqual([{ time: 0, value: null }, { time: 800, value: 0x41 }]);
  });

  it("barriers, DMA accesses and refused accesses are 1 ns pulses", () => {
    const pulse = (t: number) => [{ time: t, value: 1 }, { time: t + 1, value: 0 }];
    expect(values("trace.DSB")).toEqual([{ time: 0, value: 0 }, ...pulse(800)]);
    expect(values("trace.DMB")).toEqual([{ time: 0, value: 0 }]);
    expect(values("trace.dma")).toEqual([{ time: 0, value: 0 }, ...pulse(800)]);
    expect(values("trace.fault")).toEqual([{ time: 0, value: 0 }, ...pulse(900)]);
    expect(values("trace.uart0.read")).toEqual([{ time: 0, value: 0 }, ...pulse(200), ...pulse(300), ...pulse(400)]);
    expect(values("trace.uart0.write")).toEqual([{ time: 0, value: 0 }, ...[100, 500, 600, 700, 900].flatMap(pulse)]);
    expect(values("trace.ram.read")).toEqual([{ time: 0, value: 0 }, ...pulse(800)]);
  });

  it("the call signal numbers the running export from 1, 0 outside any call", () => {
    expect(values("trace.call")).toEqual([{ time: 0, value: 0 }, { time: 100, value: 1 }, { time: 900, value: 0 }]);
  });

  it("times only increase through the file", () => {
    const stamps = text.split("\n").filter((l) => l.startsWith("#")).map((l) => Number(l.slice(1)));
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(new Set(stamps).size).toBe(stamps.length);
  });
});

describe("traceToVcd on a recorded PL011 session", () => {
  const { bus, hal, uart0 } = versatileBoard();
  hal.call("pl011_init", VERSATILE.uart0, VERSATILE.uartclkHz, 115200, 0);
  hal.writeBytes([0x48, 0x69]);
  hal.call("pl011_write", VERSATILE.uart0, hal.scratch, 2);
  hal.call("pl011_flush", VERSATILE.uart0);
  uart0.receive([0x6f]);
  hal.call("pl011_read", VERSATILE.uart0, hal.scratch, 4);
  const fromTrace = parseVcd(traceToVcd(bus.trace, bus.regions, { date: DATE }));

  /** The value of a variable at time t: the last change at or before t. */
  function valueAt(vcd: ParsedVcd, path: string, t: number): number | null | undefined {
    let value: number | null | undefined;
    for (const c of vcdValues(vcd, path)) if (c.time <= t) value = c.value;
    return value;
  }

  it("after every access its register holds the value written or read, at the access's time", () => {
    const index = bus.regions[0]!.index!;
    let checked = 0;
    for (const e of bus.trace.entries()) {
      if (e.op !== OP_READ && e.op !== OP_WRITE) continue;
      const reg = index.at(e.addr - VERSATILE.uart0)!;
      const name = reg.writeName === null ? reg.name : `${reg.name}_${reg.writeName}`;
      expect(valueAt(fromTrace, `trace.uart0.${name}`, e.time)).toBe(e.value);
      checked++;
    }
    expect(checked).toBe(bus.trace.length - 1); // every entry but the DSB
  });

  it("the text form parsed back gives the same waveform (entry n at (n + 1) x 100 ns)", () => {
    const parsed = parseTrace(formatTrace(bus.trace, bus.regions), "session.trace");
    const fromText = parseVcd(traceToVcd(parsed, undefined, { date: DATE }));
    expect(fromText.variables).toEqual(fromTrace.variables);
    expect(fromText.changes).toEqual(fromTrace.changes);
    // 50 ns per entry halves every time.
    const faster = parseVcd(traceToVcd(parsed, undefined, { date: DATE, accessNs: 50 }));
    const lastWrite = (v: ParsedVcd) => vcdValues(v, "trace.uart0.CR").at(-1)!.time;
    expect(lastWrite(faster) * 2).toBe(lastWrite(fromTrace));
  });
});

describe("GTKWave's own reader", () => {
  // vcd2fst and fst2vcd come with GTKWave (Debian package gtkwave); skipped where it is absent.
  const available = spawnSync("vcd2fst", ["--help"]).error === undefined && spawnSync("fst2vcd", ["--help"]).error === undefined;
  const dir = mkdtempSync(join(tmpdir(), "wasm-hal-gtkwave-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!available)("converts the VCD to FST and back to the same value changes", () => {
    const bus = knownTrace();
    const original = traceToVcd(bus.trace, bus.regions, { date: DATE });
    writeFileSync(join(dir, "known.vcd"), original);
    const toFst = spawnSync("vcd2fst", [join(dir, "known.vcd"), join(dir, "known.fst")], { encoding: "utf8" });
    expect(toFst.status, toFst.stderr).toBe(0);
    const back = spawnSync("fst2vcd", [join(dir, "known.fst")], { encoding: "utf8" });
    expect(back.status, back.stderr).toBe(0);
    const ours = parseVcd(original);
    const theirs = parseVcd(back.stdout);
    expect(theirs.variables.map((v) => `${v.path}:${v.size}`).sort()).toEqual(ours.variables.map((v) => `${v.path}:${v.size}`).sort());
    for (const v of ours.variables) expect(vcdValues(theirs, v.path), v.path).toEqual(vcdValues(ours, v.path));
  });
});

describe("wasm-hal vcd", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasm-hal-vcd-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bus = knownTrace();
  const traceFile = join(dir, "known.trace");
  writeFileSync(traceFile, formatTrace(bus.trace, bus.regions));

  it("writes the VCD of a trace file with -o", async () => {
    const out = join(dir, "known.vcd");
    expect(await vcdCommand.run([traceFile, "-o", out], PACKAGE_CONTEXT)).toBe(0);
    const vcd = parseVcd(readFileSync(out, "utf8"));
    expect(vcdValues(vcd, "trace.uart0.IBRD")).toEqual([{ time: 0, value: null }, { time: 500, value: 1 }]);
  });

  it("refuses a missing file argument and a bad --access-ns", async () => {
    await expect(vcdCommand.run([], PACKAGE_CONTEXT)).rejects.toThrow(UsageError);
    await expect(vcdCommand.run([traceFile, "--access-ns", "0"], PACKAGE_CONTEXT)).rejects.toThrow(UsageError);
    await expect(vcdCommand.run([join(dir, "absent.trace")], PACKAGE_CONTEXT)).rejects.toThrow(/cannot read/);
  });
});

describe("parseVcd", () => {
  it("refuses a change for an identifier no $var declared", () => {
    expect(() => parseVcd("$timescale 1ns $end\n$enddefinitions $end\n#0\n1!\n")).toThrow(/undeclared identifier !/);
  });
});
