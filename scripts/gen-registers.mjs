#!/usr/bin/env node
// Generates the AssemblyScript constants and the TypeScript metadata from the register maps in
// registers/*.json, the single source for both (STYLE.md, example 2).
//
//   node scripts/gen-registers.mjs           write the generated files
//   node scripts/gen-registers.mjs --check   exit 1 and name every generated file that is stale
import { readFileSync, writeFileSync, readdirSync, mkdirSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const registersDir = join(root, "registers");
const asOut = join(root, "assembly", "generated");
const tsOut = join(root, "harness", "generated");

const READ_KINDS = ["value", "consumes", "undefined"];
const WRITE_KINDS = ["value", "w1c", "clears", "ignored"];
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

class MapError extends Error {}

function fail(file, where, message) {
  throw new MapError(`${file}: ${where}: ${message}`);
}

function parseNumber(file, where, text) {
  if (typeof text === "number" && Number.isInteger(text)) return text;
  if (typeof text !== "string" || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) {
    fail(file, where, `expected an integer or a 0x-prefixed hex string, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function parseBits(file, where, text) {
  const m = /^(\d+)(?::(\d+))?$/.exec(String(text));
  if (!m) fail(file, where, `bits must be "N" or "MSB:LSB", got ${JSON.stringify(text)}`);
  const msb = Number(m[1]);
  const lsb = m[2] === undefined ? msb : Number(m[2]);
  if (lsb > msb || msb > 31) fail(file, where, `bits ${text} are not MSB:LSB within 31:0`);
  return { msb, lsb };
}

/** Reads and checks one register map; every error names the file and the register. */
function loadBlock(file) {
  let raw;
  try {
    raw = JSON.parse(readFileSync(join(registersDir, file), "utf8"));
  } catch (e) {
    fail(file, "JSON", e.message);
  }
  const block = raw.block;
  if (typeof block !== "string" || !/^[a-z][a-z0-9]*$/.test(block)) fail(file, "block", "lower-case block name expected");
  const size = parseNumber(file, "size", raw.size);
  const widths = raw.widths ?? [4];
  const registers = [];
  const seenOffsets = new Map();
  // A register group that repeats (the PL080's channels): one entry with "{n}" in its name and
  // doc and "repeat": { "count", "stride" } stands for count registers, n = 0..count-1. Every
  // instance gets its own offset constant and metadata; field constants are emitted for
  // instance 0 only, since they are the same for all.
  const expanded = [];
  for (const [i, r] of (raw.registers ?? []).entries()) {
    if (r.repeat === undefined) {
      expanded.push([i, r, 0]);
      continue;
    }
    const where = `register ${r.name ?? `#${i}`}`;
    const count = parseNumber(file, `${where} repeat.count`, r.repeat.count);
    const stride = parseNumber(file, `${where} repeat.stride`, r.repeat.stride);
    if (!String(r.name).includes("{n}")) fail(file, where, "a repeated register needs {n} in its name");
    if (count < 1 || stride < 4 || stride % 4 !== 0) fail(file, where, "repeat needs count >= 1 and a stride that is a positive multiple of 4");
    const first = parseNumber(file, `${where} offset`, r.offset);
    for (let n = 0; n < count; n++) {
      const { repeat: _repeat, ...rest } = r;
      expanded.push([i, { ...rest, name: r.name.replaceAll("{n}", String(n)), doc: (r.doc ?? "").replaceAll("{n}", String(n)), offset: first + n * stride }, n]);
    }
  }
  for (const [i, r, instance] of expanded) {
    const where = `register ${r.name ?? `#${i}`}`;
    if (!NAME.test(r.name ?? "")) fail(file, where, "name must be an identifier");
    const offset = parseNumber(file, `${where} offset`, r.offset);
    const regWidths = r.widths ?? widths;
    // A register may answer at a range of offsets (the PL061's address-masked DATA): "span" bytes.
    const span = r.span === undefined ? 4 : parseNumber(file, `${where} span`, r.span);
    if (offset % 4 !== 0) fail(file, where, `offset 0x${offset.toString(16)} is not word-aligned`);
    if (span < 4 || span % 4 !== 0) fail(file, where, `span 0x${span.toString(16)} is not a positive multiple of 4`);
    if (offset + span > size) fail(file, where, `offset 0x${offset.toString(16)} (+0x${span.toString(16)}) lies beyond the block size 0x${size.toString(16)}`);
    for (let word = offset; word < offset + span; word += 4) {
      if (seenOffsets.has(word)) fail(file, where, `offset 0x${word.toString(16)} is taken by ${seenOffsets.get(word)}`);
      seenOffsets.set(word, r.name);
    }
    if (!READ_KINDS.includes(r.read)) fail(file, where, `read must be one of ${READ_KINDS.join(", ")}`);
    if (!WRITE_KINDS.includes(r.write)) fail(file, where, `write must be one of ${WRITE_KINDS.join(", ")}`);
    const bits = r.bits;
    if (!Number.isInteger(bits) || bits < 1 || bits > 32) fail(file, where, "bits must be 1..32");
    const reset = r.reset === null || r.reset === undefined ? null : parseNumber(file, `${where} reset`, r.reset);
    let rawFields = r.fields ?? [];
    if (r.layout !== undefined) {
      rawFields = raw.layouts?.[r.layout];
      if (!rawFields) fail(file, where, `layout ${r.layout} is not defined under "layouts"`);
    }
    const fields = [];
    let used = 0;
    for (const f of rawFields) {
      const fw = `${where} field ${f.name}`;
      if (!NAME.test(f.name ?? "")) fail(file, fw, "name must be an identifier");
      const { msb, lsb } = parseBits(file, fw, f.bits);
      if (msb >= bits) fail(file, fw, `bit ${msb} is above the register's ${bits} bits`);
      const mask = (((2 ** (msb - lsb + 1)) - 1) * 2 ** lsb) >>> 0;
      if ((used & mask) !== 0) fail(file, fw, "overlaps another field");
      used = (used | mask) >>> 0;
      const values = f.values ?? {};
      for (const [vn, vv] of Object.entries(values)) {
        if (!/^[A-Za-z0-9_]+$/.test(vn)) fail(file, `${fw} value ${vn}`, "name must be letters, digits and _");
        if (!Number.isInteger(vv) || vv < 0 || vv >= 2 ** (msb - lsb + 1)) fail(file, `${fw} value ${vn}`, "does not fit the field");
      }
      fields.push({ name: f.name, msb, lsb, mask, doc: f.doc ?? "", values });
    }
    registers.push({
      instance,
      name: r.name, writeName: r.writeName ?? null, offset, span, bits, widths: regWidths,
      read: r.read, write: r.write, reset, test: r.test === true,
      section: r.section ?? "", doc: r.doc ?? "", fields,
    });
  }
  registers.sort((a, b) => a.offset - b.offset);
  return { file, block, title: raw.title ?? block, manual: raw.manual ?? "", size, widths, registers };
}

/** Reads registers/api.json and every registers/api-<block>.json (one per driver, for its own
 * config constants and status codes), merged in file-name order. */
function loadApi() {
  const files = readdirSync(registersDir).filter((f) => f === "api.json" || /^api-[a-z0-9]+\.json$/.test(f)).sort();
  const merged = { doc: "", status: [], constants: [] };
  const names = new Map();
  for (const file of files) {
    const part = loadApiFile(file);
    if (file === "api.json") merged.doc = part.doc;
    for (const item of [...part.status, ...part.constants]) {
      if (names.has(item.name)) fail(file, item.name, `already defined in ${names.get(item.name)}`);
      names.set(item.name, file);
    }
    for (const c of part.status) {
      const clash = merged.status.find((x) => x.value === c.value);
      if (clash) fail(file, `status ${c.name}`, `value ${c.value} is taken by ${clash.name}`);
      merged.status.push(c);
    }
    merged.constants.push(...part.constants);
  }
  merged.status.sort((a, b) => b.value - a.value);
  return merged;
}

function loadApiFile(file) {
  let raw;
  try {
    raw = JSON.parse(readFileSync(join(registersDir, file), "utf8"));
  } catch (e) {
    fail(file, "JSON", e.message);
  }
  const seen = new Set();
  const status = (raw.status ?? []).map((c) => {
    if (!NAME.test(c.name ?? "")) fail(file, `status ${c.name}`, "name must be an identifier");
    if (!Number.isInteger(c.value) || c.value > 0) fail(file, `status ${c.name}`, "value must be 0 or negative");
    if (seen.has(c.value)) fail(file, `status ${c.name}`, `value ${c.value} is used twice`);
    seen.add(c.value);
    return { name: c.name, value: c.value, doc: c.doc ?? "" };
  });
  const constants = (raw.constants ?? []).map((c) => {
    if (!NAME.test(c.name ?? "")) fail(file, `constant ${c.name}`, "name must be an identifier");
    return { name: c.name, value: parseNumber(file, `constant ${c.name}`, c.value), doc: c.doc ?? "" };
  });
  return { doc: raw.doc ?? "", status, constants };
}

const hex = (n, digits) => "0x" + n.toString(16).toUpperCase().padStart(digits, "0");
const HEADER = (src) => `// Generated by scripts/gen-registers.mjs from registers/${src}. Do not edit: edit the JSON and run \`npm run gen\`.\n`;

function constantLines(b, emit) {
  const P = b.block.toUpperCase();
  const out = [];
  out.push(emit(`${P}_BLOCK_SIZE`, hex(b.size, 3), `${b.title}: decoded window`));
  for (const r of b.registers) {
    const names = r.writeName ? `${r.name} / ${r.writeName}` : r.name;
    out.push("");
    out.push(emit(`${P}_${r.name}`, hex(r.offset, 3), `${names}: ${r.doc} (TRM ${r.section})`));
    if (r.span !== 4) out.push(emit(`${P}_${r.name}_SPAN`, hex(r.span, 3), `${r.name} answers at every word of ${hex(r.offset, 3)}..${hex(r.offset + r.span - 4, 3)}`));
    if (r.writeName) out.push(emit(`${P}_${r.writeName}`, hex(r.offset, 3), `${r.writeName}: write side of ${r.name}`));
    if (r.instance > 0) continue;
    for (const f of r.fields) {
      const base = `${P}_${r.name}_${f.name}`;
      if (f.msb === f.lsb) {
        out.push(emit(base, `1 << ${f.lsb}`, f.doc));
      } else {
        out.push(emit(`${base}_SHIFT`, String(f.lsb), f.doc));
        out.push(emit(`${base}_MASK`, hex(f.mask, 8), `${f.name} = bits ${f.msb}:${f.lsb}`));
        for (const [vn, vv] of Object.entries(f.values)) out.push(emit(`${base}_${vn}`, `${vv} << ${f.lsb}`, `${f.name} = ${vv}`));
      }
    }
  }
  return out;
}

function assemblyFor(b) {
  const emit = (name, value, doc) => `/** ${doc} */\n@inline export const ${name}: u32 = ${value};`;
  return `${HEADER(b.file)}// ${b.title} — ${b.manual}\n\n${constantLines(b, emit).join("\n")}\n`;
}

function typescriptFor(b) {
  const P = b.block.toUpperCase();
  const emit = (name, value, doc) => `/** ${doc} */\nexport const ${name} = ${value};`;
  const regs = b.registers.map((r) => {
    const fields = r.fields.map((f) => {
      const values = Object.keys(f.values).length ? `, values: ${JSON.stringify(f.values)}` : "";
      return `        { name: ${JSON.stringify(f.name)}, msb: ${f.msb}, lsb: ${f.lsb}, doc: ${JSON.stringify(f.doc)}${values} },`;
    });
    return [
      "    {",
      `      name: ${JSON.stringify(r.name)}, writeName: ${JSON.stringify(r.writeName)}, offset: ${hex(r.offset, 3)}, span: ${hex(r.span, 1)}, bits: ${r.bits},`,
      `      widths: ${JSON.stringify(r.widths)}, read: ${JSON.stringify(r.read)}, write: ${JSON.stringify(r.write)},`,
      `      reset: ${r.reset === null ? "null" : hex(r.reset, 2)}, test: ${r.test}, section: ${JSON.stringify(r.section)},`,
      `      doc: ${JSON.stringify(r.doc)},`,
      `      fields: [${fields.length ? "\n" + fields.join("\n") + "\n      " : ""}],`,
      "    },",
    ].join("\n");
  });
  return `${HEADER(b.file)}import type { RegisterBlock } from "../regmap.js";

/** ${b.title} — ${b.manual} */
export const ${P}_MAP: RegisterBlock = {
  block: ${JSON.stringify(b.block)},
  title: ${JSON.stringify(b.title)},
  manual: ${JSON.stringify(b.manual)},
  size: ${hex(b.size, 3)},
  widths: ${JSON.stringify(b.widths)},
  registers: [
${regs.join("\n")}
  ],
};

${constantLines(b, emit).join("\n")}
`;
}

function apiFiles(api) {
  const asStatus = api.status.map((c) => `/** ${c.doc} */\n@inline export const ${c.name}: i32 = ${c.value};`);
  const asConsts = api.constants.map((c) => `/** ${c.doc} */\n@inline export const ${c.name}: u32 = ${hex(c.value, 2)};`);
  const tsRows = api.status.map((c) => `  { name: ${JSON.stringify(c.name)}, value: ${c.value}, doc: ${JSON.stringify(c.doc)} },`);
  const tsStatus = api.status.map((c) => `/** ${c.doc} */\nexport const ${c.name} = ${c.value};`);
  const tsConsts = api.constants.map((c) => `/** ${c.doc} */\nexport const ${c.name} = ${hex(c.value, 2)};`);
  return {
    as: `${HEADER("api*.json")}// ${api.doc}\n\n${asStatus.join("\n")}\n\n${asConsts.join("\n")}\n`,
    ts: `${HEADER("api*.json")}// ${api.doc}\n\nexport interface StatusCode {\n  readonly name: string;\n  readonly value: number;\n  readonly doc: string;\n}\n\nexport const STATUS_CODES: readonly StatusCode[] = [\n${tsRows.join("\n")}\n];\n\n${tsStatus.join("\n")}\n\n${tsConsts.join("\n")}\n`,
  };
}

/** harness/generated/blocks.ts: every register map by block name, for parsers and the CLI. */
function blocksIndex(names) {
  const imports = names.map((n) => `import { ${n.toUpperCase()}_MAP } from "./${n}.js";`);
  const rows = names.map((n) => `  ${n}: ${n.toUpperCase()}_MAP,`);
  return `// Generated by scripts/gen-registers.mjs from registers/*.json. Do not edit.
import type { RegisterBlock } from "../regmap.js";
${imports.join("\n")}

export const BLOCKS: Readonly<Record<string, RegisterBlock>> = {
${rows.join("\n")}
};
`;
}

function render() {
  const files = new Map();
  const blocks = readdirSync(registersDir).filter((f) => f.endsWith(".json") && !/^api(-[a-z0-9]+)?\.json$/.test(f)).sort();
  for (const file of blocks) {
    const b = loadBlock(file);
    files.set(join(asOut, `${b.block}.ts`), assemblyFor(b));
    files.set(join(tsOut, `${b.block}.ts`), typescriptFor(b));
  }
  const names = [...files.keys()].filter((f) => f.startsWith(tsOut)).map((f) => f.slice(tsOut.length + 1, -3)).sort();
  files.set(join(tsOut, "blocks.ts"), blocksIndex(names));
  const api = apiFiles(loadApi());
  files.set(join(asOut, "api.ts"), api.as);
  files.set(join(tsOut, "api.ts"), api.ts);
  return files;
}

function main() {
  const check = process.argv.includes("--check");
  let files;
  try {
    files = render();
  } catch (e) {
    if (e instanceof MapError) {
      console.error(`gen-registers: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const stale = [];
  for (const [path, text] of files) {
    const current = existsSync(path) ? readFileSync(path, "utf8") : null;
    if (current === text) continue;
    if (check) {
      stale.push(path.slice(root.length + 1));
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  }
  if (check && stale.length) {
    console.error(`gen-registers: out of date (run \`npm run gen\`): ${stale.join(", ")}`);
    process.exit(1);
  }
  if (!check) console.log(`gen-registers: ${files.size} files up to date`);
}

main();
