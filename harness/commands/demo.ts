// `wasm-hal demo`: the drivers against the default board's fake devices, with the trace.
import { parseArgs } from "node:util";
import { versatileBoard, VERSATILE } from "../board.js";
import { formatTrace } from "../trace-text.js";
import { lintTrace, lintReport } from "../lint.js";
import { FLAG_DMA } from "../trace.js";
import { SCENARIOS, runScenario, type ScenarioRun } from "../scenarios.js";
import { type Command, UsageError, positiveInteger, quote, result } from "./common.js";

/** The scenarios the demo runs after the PL011 part: one per other block, so a newcomer sees
 * each driver work. Their full traces are what `wasm-hal record <name>` prints. */
const OTHER_BLOCKS = ["pl022-flash-id-erase-program-read", "pl061-pin-toggle-edge-irq", "pl080-memcpy", "pl080-uart-tx"];

/** Up to this many calls are listed one by one; a longer scenario is summarized per export. */
const MAX_LISTED_CALLS = 12;

/** What a scenario did: its own phase comments, then its calls (or their count per export). */
function scenarioLines(run: ScenarioRun): string[] {
  const lines = run.notes.map((n) => `  # ${n.text}`);
  const calls = run.board.bus.trace.calls;
  if (calls.length <= MAX_LISTED_CALLS) {
    for (const c of calls) {
      const args = c.args.map((a) => (a > 0xffff ? "0x" + a.toString(16) : String(a))).join(", ");
      lines.push(`  ${c.name}(${args}) = ${c.result === undefined ? "did not return" : result(c.result)}`);
    }
    return lines;
  }
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  const failed = calls.filter((c) => c.result === undefined || c.result < 0).length;
  lines.push(`  ${calls.length} calls: ${[...counts].map(([name, n]) => `${name} x${n}`).join(", ")}; ${failed === 0 ? "none returned an error" : `${failed} returned an error`}`);
  return lines;
}

function otherBlocks(out: string[]): boolean {
  out.push("", "the other blocks, on the full board (fixtures/boards/versatile.json); `wasm-hal record <name>` prints each trace:");
  let ok = true;
  for (const name of OTHER_BLOCKS) {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (scenario === undefined) throw new Error(`the demo names scenario ${name}, which harness/scenarios.ts does not have`);
    out.push("", `${name}: ${scenario.summary}`);
    try {
      const run = runScenario(scenario);
      const bus = run.board.bus;
      out.push(...scenarioLines(run));
      const errors = lintTrace(bus.trace, bus.regions).filter((f) => f.severity === "error");
      const dma = [...bus.trace.entries()].filter((e) => (e.flags & FLAG_DMA) !== 0).length;
      out.push(`  ok: ${bus.trace.length} accesses${dma > 0 ? ` (${dma} by the DMA controller)` : ""}, ${(bus.clock.now / 1e6).toFixed(3)} ms of virtual time, lint ${errors.length === 0 ? "clean" : `${errors.length} errors`}`);
      if (errors.length > 0) ok = false;
    } catch (e) {
      out.push(`  FAILED: ${e instanceof Error ? e.message : String(e)}`);
      ok = false;
    }
  }
  return ok;
}

function run(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      baud: { type: "string" },
      clock: { type: "string" },
      text: { type: "string" },
      receive: { type: "string" },
      "no-trace": { type: "boolean" },
      "no-collapse": { type: "boolean" },
      "uart-only": { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  const baud = positiveInteger("baud", values.baud, 115200);
  const uartclkHz = positiveInteger("clock", values.clock, VERSATILE.uartclkHz);
  const text = Buffer.from((values.text ?? "Hello from wasm-hal!\r\n").replace(/\\r/g, "\r").replace(/\\n/g, "\n"), "latin1");
  const incoming = Buffer.from(values.receive ?? "ping", "latin1");

  const { bus, hal, uart0 } = versatileBoard({ uartclkHz });
  if (text.length > hal.scratchSize) throw new UsageError(`--text is ${text.length} bytes; the scratch buffer holds ${hal.scratchSize}`);
  const out: string[] = [];
  out.push(`wasm-hal demo: PL011 UART "uart0" at 0x${VERSATILE.uart0.toString(16)} (ARM Versatile), UARTCLK ${uartclkHz} Hz`);
  out.push("");

  const init = hal.call("pl011_init", VERSATILE.uart0, uartclkHz, baud, 0);
  out.push(`pl011_init(0x${VERSATILE.uart0.toString(16)}, ${uartclkHz}, ${baud}, 0) = ${result(init)}`);
  if (init < 0) {
    out.push(`  the driver refused: ${baud} baud cannot be made from ${uartclkHz} Hz (TRM 3.3.6: IBRD 1..65535)`);
    process.stdout.write(out.join("\n") + "\n");
    return 1;
  }
  const divisor = uart0.latchedDivisor;
  const actual = uartclkHz / (16 * (divisor.ibrd + divisor.fbrd / 64));
  out.push(`  divisor latched by the model: IBRD=${divisor.ibrd} FBRD=${divisor.fbrd}, ${actual.toFixed(1)} baud (${(((actual - baud) / baud) * 100).toFixed(3)} % off)`);

  hal.writeBytes(text);
  const written = hal.call("pl011_write", VERSATILE.uart0, hal.scratch, text.length);
  out.push(`pl011_write(${quote(text)}) = ${result(written)}`);
  const flushed = hal.call("pl011_flush", VERSATILE.uart0);
  out.push(`pl011_flush() = ${result(flushed)}`);

  uart0.receive(incoming);
  out.push(`model: ${quote(incoming)} arrives on the receive line`);
  const cap = 64;
  const got = hal.call("pl011_read", VERSATILE.uart0, hal.scratch, cap);
  out.push(`pl011_read(cap ${cap}) = ${result(got)}${got > 0 ? ` ${quote(hal.readBytes(hal.scratch, got))}` : ""}`);

  if (!values["no-trace"]) {
    out.push("");
    out.push(`trace: ${bus.trace.length} accesses${values["no-collapse"] ? "" : ", identical consecutive reads collapsed (xN)"}`);
    out.push(formatTrace(bus.trace, bus.regions, { collapse: !values["no-collapse"] }).trimEnd());
  }
  const findings = lintTrace(bus.trace, bus.regions);
  out.push("");
  out.push(findings.length === 0 ? "lint: clean (every access matches the register map)" : `lint:\n${lintReport(findings)}`);
  out.push("");
  const ms = bus.clock.now / 1e6;
  out.push(`wire (TXD): ${quote(uart0.wire)} — ${uart0.wire.length} bytes in ${ms.toFixed(3)} ms of virtual time`);
  const othersOk = values["uart-only"] ? true : otherBlocks(out);
  process.stdout.write(out.join("\n") + "\n");
  return written === text.length && flushed === 0 && got === incoming.length && othersOk ? 0 : 1;
}

export const demo: Command = {
  name: "demo",
  summary: "drive the drivers against the default board's fake devices: the UART with its trace, then SPI flash, GPIO and DMA",
  usage: `  --baud N        baud rate (default 115200)
  --clock HZ      UARTCLK in Hz (default 24000000, the Versatile's)
  --text S        what to send (default "Hello from wasm-hal!\\r\\n"; \\r and \\n are understood)
  --receive S     bytes injected on the receive line (default "ping")
  --no-trace      do not print the trace
  --no-collapse   print every poll read on its own line
  --uart-only     leave out the SPI flash, GPIO and DMA scenarios that follow the UART`,
  run,
};
