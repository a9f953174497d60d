// `wasm-hal demo`: the drivers against the default board's fake devices, with the trace.
import { parseArgs } from "node:util";
import { versatileBoard, VERSATILE } from "../board.js";
import { formatTrace } from "../trace-text.js";
import { lintTrace, lintReport } from "../lint.js";
import { type Command, UsageError, positiveInteger, quote, result } from "./common.js";

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
  process.stdout.write(out.join("\n") + "\n");
  return written === text.length && flushed === 0 && got === incoming.length ? 0 : 1;
}

export const demo: Command = {
  name: "demo",
  summary: "drive the PL011 driver against the default board's fake UART and print the trace",
  usage: `  --baud N        baud rate (default 115200)
  --clock HZ      UARTCLK in Hz (default 24000000, the Versatile's)
  --text S        what to send (default "Hello from wasm-hal!\\r\\n"; \\r and \\n are understood)
  --receive S     bytes injected on the receive line (default "ping")
  --no-trace      do not print the trace
  --no-collapse   print every poll read on its own line`,
  run,
};
