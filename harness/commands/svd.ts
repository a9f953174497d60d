// `wasm-hal svd`: a CMSIS-SVD file (with an overlay that corrects it) into register maps in the
// project's format (docs/svd.md).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type SvdImport, SvdError, formatRegisterMap, importSvdFile } from "../svd.js";
import { JsonFileError } from "../json-text.js";
import { type Command, UsageError } from "./common.js";

const USAGE = "wasm-hal svd FILE.svd [--overlay O.json] [--peripherals A,B,...] [-o DIR] [--list]";

function run(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      overlay: { type: "string" },
      peripherals: { type: "string" },
      output: { type: "string", short: "o" },
      list: { type: "boolean" },
    },
    strict: true,
    allowPositionals: true,
  });
  const [file, ...extra] = positionals;
  if (file === undefined) throw new UsageError(`svd: missing the SVD file (${USAGE})`);
  if (extra.length > 0) throw new UsageError(`svd: one SVD file only, got also ${extra.join(" ")}`);
  let peripherals: string[] | undefined;
  if (values.peripherals !== undefined) {
    peripherals = values.peripherals.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (peripherals.length === 0) throw new UsageError("svd: --peripherals expects names separated by commas (USART1,GPIO*)");
  }
  if (values.output === "") throw new UsageError("svd: -o expects a folder");

  let imported: SvdImport;
  try {
    imported = importSvdFile(file, { ...(values.overlay === undefined ? {} : { overlayPath: values.overlay }), ...(peripherals === undefined ? {} : { peripherals }) });
  } catch (e) {
    if (e instanceof SvdError || e instanceof JsonFileError) {
      process.stderr.write(`wasm-hal: ${e.message}\n`);
      return 1;
    }
    // A file that cannot be read: the path the user typed is the mistake.
    if (e instanceof Error && "code" in e && typeof e.code === "string" && "path" in e) {
      throw new UsageError(`svd: cannot read ${String(e.path)}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    }
    throw e;
  }

  const out: string[] = [];
  if (values.list === true) out.push(...listing(imported));
  if (values.output !== undefined) {
    mkdirSync(values.output, { recursive: true });
    for (const b of imported.blocks) {
      const path = join(values.output, `${b.block}.json`);
      writeFileSync(path, formatRegisterMap(b));
      const users = imported.peripherals.filter((p) => p.block === b.block).map((p) => p.name);
      out.push(`wrote ${path}: ${count(b.registers.length, "register")}, ${count(fieldCount(b), "field")} (${users.join(", ")})`);
    }
  }
  if (values.list !== true && values.output === undefined) {
    out.push(`${summary(imported)}: use -o DIR to write the maps, --list to list the peripherals`);
  } else if (values.output !== undefined) {
    out.push(summary(imported));
  }
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function fieldCount(block: SvdImport["blocks"][number]): number {
  return block.registers.reduce((n, r) => n + r.fields.length, 0);
}

function summary(imported: SvdImport): string {
  const registers = imported.blocks.reduce((n, b) => n + b.registers.length, 0);
  const fields = imported.blocks.reduce((n, b) => n + fieldCount(b), 0);
  return `${imported.device.name}: ${count(imported.peripherals.length, "peripheral")} in ${count(imported.blocks.length, "register map")}, ${count(registers, "register")}, ${count(fields, "field")}`;
}

/** One line per peripheral: name, base, block, register and field counts, derived-from. */
function listing(imported: SvdImport): string[] {
  const byBlock = new Map(imported.blocks.map((b) => [b.block, b]));
  const rows = imported.peripherals.map((p) => {
    const b = byBlock.get(p.block)!;
    return [p.name, "0x" + p.base.toString(16).toUpperCase().padStart(8, "0"), p.block, String(b.registers.length), String(fieldCount(b)), p.derivedFrom ?? ""];
  });
  const width = (i: number): number => Math.max(...rows.map((r) => r[i]!.length));
  const [name, base, block, registers, fields] = [0, 1, 2, 3, 4].map(width) as [number, number, number, number, number];
  return rows.map(([n, a, b, r, f, d]) =>
    [n!.padEnd(name), a!.padEnd(base), b!.padEnd(block), `${r!.padStart(registers)} registers`, `${f!.padStart(fields)} fields`, d === "" ? "" : `derived from ${d}`].join("  ").trimEnd());
}

export const svdCommand: Command = {
  name: "svd",
  summary: "import a CMSIS-SVD file (and an overlay that corrects it) as register maps",
  usage: `  FILE.svd            the vendor's SVD file, kept unmodified
  --overlay O.json    corrections and additions applied after the import (docs/svd.md)
  --peripherals A,B   only these peripherals (names or * patterns) and what they derive from
  -o, --output DIR    write one <block>.json per register map into DIR
  --list              one line per peripheral: base, map, registers, fields, derived-from`,
  run,
};
