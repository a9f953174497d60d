// `wasm-hal vcd`: a trace file (docs/trace-format.md) as a VCD waveform (docs/vcd.md).
import { parseArgs } from "node:util";
import { parseTrace, TraceParseError } from "../trace-text.js";
import { traceToVcd, VcdTooLarge, VCD_MAX_ENTRIES } from "../vcd.js";
import { type Command, type CommandContext, UsageError, positiveInteger, readInputFile, writeOutputFile } from "./common.js";

async function run(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      output: { type: "string", short: "o" },
      "access-ns": { type: "string" },
      "max-entries": { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  const [file, ...extra] = positionals;
  if (file === undefined) throw new UsageError("vcd: missing the trace file (wasm-hal vcd <trace-file> [-o out.vcd])");
  if (extra.length > 0) throw new UsageError(`vcd: one trace file only, got also ${extra.join(" ")}`);
  const accessNs = positiveInteger("access-ns", values["access-ns"], 100);
  const maxEntries = positiveInteger("max-entries", values["max-entries"], VCD_MAX_ENTRIES);
  const text = readInputFile(file, "trace file");
  let vcd: string;
  try {
    const registry = (await context.projectOrPackage()).registry;
    vcd = traceToVcd(parseTrace(text, file, { registry }), undefined, { accessNs, maxEntries });
  } catch (e) {
    if (!(e instanceof TraceParseError) && !(e instanceof VcdTooLarge)) throw e;
    process.stderr.write(`wasm-hal: ${e.message}\n`);
    return 1;
  }
  if (values.output === undefined) process.stdout.write(vcd);
  else writeOutputFile(values.output, vcd);
  return 0;
}

export const vcd: Command = {
  name: "vcd",
  summary: "turn a trace file into a VCD waveform for GTKWave or Surfer",
  usage: `  <trace-file>     a trace in the text form (docs/trace-format.md)
  -o, --output F   write the VCD to F (default: standard output)
  --access-ns N    virtual ns per trace entry (default 100, the bus's): trace files hold no times
  --max-entries N  refuse a trace of more entries (default ${VCD_MAX_ENTRIES}: every access is a strobe)`,
  run,
};
