// The register-map format (docs/register-maps.md): one JSON file per register block, and API
// files with a module's status codes, constants and export signatures. This file is the one
// reader and checker of that format. The registry (harness/registry.ts) loads a project's maps
// through it at run time, and `wasm-hal gen` (harness/gen.ts) writes AssemblyScript constants and
// TypeScript metadata from the same parsed maps, so the module and the harness cannot disagree.
//
// Every error names the file and the JSON path of the bad entry and says what was expected.
import type { BlockSequenceRules, EnableRule, FieldInfo, FieldReadKind, FieldWriteKind, ReadKind, RegisterBlock, RegisterInfo, WriteKind } from "./regmap.js";
import { excerpt, type Json } from "./json-text.js";

export const READ_KINDS: readonly ReadKind[] = ["value", "consumes", "undefined"];
export const WRITE_KINDS: readonly WriteKind[] = ["value", "w1c", "clears", "ignored"];
export const FIELD_READ_KINDS: readonly FieldReadKind[] = ["value", "consumes", "undefined"];
export const FIELD_WRITE_KINDS: readonly FieldWriteKind[] = ["value", "ignored", "w1c", "w0c", "w1s", "w0s", "w1t", "w0t", "clears", "sets"];

/** Register, field and constant names: identifiers in AssemblyScript and TypeScript. */
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Block names: lower case, they prefix the constants (`usart1` -> `USART1_SR`). */
export const BLOCK_NAME = /^[a-z][a-z0-9_]*$/;

/** A register map or API file that does not follow the format. */
export class RegisterMapError extends Error {
  constructor(readonly fileName: string, readonly path: string, readonly problem: string) {
    super(`${fileName}: ${path === "" ? "" : `${path}: `}${problem}`);
    this.name = "RegisterMapError";
  }
}

type JsonRecord = { readonly [key: string]: Json };

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (isRecord(value)) return "an object";
  return excerpt(JSON.stringify(value) ?? String(value), 40);
}

/** Reads one JSON object key by key; refuses keys it does not know so that a misspelt key is
 * named rather than ignored. */
class Reader {
  constructor(readonly file: string, readonly path: string, readonly value: JsonRecord, known: readonly string[]) {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.fail(key, `unknown key: expected one of ${known.join(", ")}`);
    }
  }

  at(key: string | number): string {
    if (typeof key === "number") return `${this.path}[${key}]`;
    return this.path === "" ? key : `${this.path}.${key}`;
  }

  fail(key: string | number | null, problem: string): never {
    throw new RegisterMapError(this.file, key === null ? this.path : this.at(key), problem);
  }

  get(key: string): Json | undefined {
    return Object.prototype.hasOwnProperty.call(this.value, key) ? this.value[key] : undefined;
  }

  string(key: string, fallback?: string): string {
    const v = this.get(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "string") this.fail(key, `${shown(v)}: expected a string`);
    return v;
  }

  integer(key: string, fallback?: number): number {
    const v = this.get(key);
    if (v === undefined && fallback !== undefined) return fallback;
    return integerOf(v, (problem) => this.fail(key, problem));
  }

  oneOf<T extends string>(key: string, kinds: readonly T[], fallback?: T): T {
    const v = this.get(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "string" || !(kinds as readonly string[]).includes(v)) this.fail(key, `${shown(v)}: expected one of ${kinds.join(", ")}`);
    return v as T;
  }

  widths(key: string, fallback: readonly number[]): readonly number[] {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || v.length === 0 || !v.every((w) => w === 1 || w === 2 || w === 4)) this.fail(key, `${shown(v)}: expected a list of access widths in bytes (1, 2, 4)`);
    return [...new Set(v as number[])].sort((a, b) => a - b);
  }

  record(key: string): Reader["value"] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!isRecord(v)) this.fail(key, `${shown(v)}: expected an object`);
    return v;
  }

  list(key: string): readonly Json[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, `${shown(v)}: expected an array`);
    return v;
  }
}

/** An integer written as a JSON number, a decimal string or a 0x-prefixed hex string. */
function integerOf(v: Json | undefined, fail: (problem: string) => never): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === "string" && /^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/.test(v)) {
    const n = Number(v);
    if (n <= 0xffffffff) return n;
  }
  fail(`${shown(v)}: expected an integer 0..0xFFFFFFFF (a number, or a string such as "0x1000")`);
}

/** "N" or "MSB:LSB". */
function bitsOf(text: Json | undefined, fail: (problem: string) => never): { msb: number; lsb: number } {
  const m = /^(\d{1,2})(?::(\d{1,2}))?$/.exec(typeof text === "string" ? text : typeof text === "number" ? String(text) : "");
  if (m === null) fail(`${shown(text)}: expected "N" or "MSB:LSB"`);
  const msb = Number(m[1]);
  const lsb = m[2] === undefined ? msb : Number(m[2]);
  if (lsb > msb || msb > 31) fail(`bits ${String(text)} are not MSB:LSB within 31:0`);
  return { msb, lsb };
}

const BLOCK_KEYS = ["block", "title", "manual", "size", "widths", "notes", "source", "registers", "layouts", "rules"];
const REGISTER_KEYS = ["name", "writeName", "offset", "span", "repeat", "bits", "widths", "read", "write", "reset", "test", "section", "doc", "fields", "layout"];
const FIELD_KEYS = ["name", "bits", "doc", "values", "read", "write"];

/**
 * Parses and checks one register map (a file's JSON value). `source` names it in errors (the
 * file's path). Registers come out in offset order; a repeated group (`"repeat"`) comes out as
 * one register per instance with `instance` set.
 */
export function parseRegisterMap(raw: unknown, source: string): RegisterBlock {
  if (!isRecord(raw)) throw new RegisterMapError(source, "", `${shown(raw)}: expected a register map object (docs/register-maps.md)`);
  const top = new Reader(source, "", raw, BLOCK_KEYS);
  const block = top.string("block");
  if (!BLOCK_NAME.test(block)) top.fail("block", `"${excerpt(block, 40)}": expected a lower-case name (letters, digits, _; starting with a letter)`);
  const size = top.integer("size");
  if (size === 0 || size % 4 !== 0) top.fail("size", `0x${size.toString(16)}: expected a positive multiple of 4 bytes`);
  const widths = top.widths("widths", [4]);
  const layouts = top.record("layouts") ?? {};
  const registers: RegisterInfo[] = [];
  const owner = new Map<number, string>();
  top.list("registers").forEach((entry, i) => {
    const path = top.at("registers") + `[${i}]`;
    if (!isRecord(entry)) throw new RegisterMapError(source, path, `${shown(entry)}: expected a register object`);
    const r = new Reader(source, path, entry, REGISTER_KEYS);
    for (const instance of expandRepeat(r)) {
      const info = parseRegister(r, instance, widths, size, layouts);
      for (let word = info.offset; word < info.offset + info.span; word += 4) {
        const taken = owner.get(word);
        if (taken !== undefined) r.fail("offset", `offset 0x${word.toString(16)} of ${info.name} is taken by ${taken}`);
        owner.set(word, info.name);
      }
      registers.push(info);
    }
  });
  registers.sort((a, b) => a.offset - b.offset);
  const rulesRaw = top.record("rules");
  const rules = rulesRaw === undefined ? undefined : parseRules(new Reader(source, "rules", rulesRaw, ["consumingReads", "enableGuards", "setReset"]), registers);
  return {
    block,
    title: top.string("title", block),
    manual: top.string("manual", ""),
    size,
    widths,
    registers,
    ...(rules === undefined ? {} : { rules }),
  };
}

/**
 * The block's rules over sequences of accesses (docs/register-maps.md, "Rules"): consuming reads
 * and the status read that must come first; registers written only while an enable bit is clear.
 * Every register and field they name must be in the map.
 */
function parseRules(r: Reader, registers: readonly RegisterInfo[]): BlockSequenceRules {
  const register = (rr: Reader, key: string, name: Json | undefined): RegisterInfo => {
    if (typeof name !== "string") rr.fail(key, `${shown(name)}: expected a register name`);
    const reg = registers.find((x) => x.name === name || x.writeName === name);
    if (reg === undefined) rr.fail(key, `no register ${excerpt(name, 40)} in this map (registers: ${registers.map((x) => x.name).join(", ")})`);
    return reg;
  };
  const field = (rr: Reader, key: string, reg: RegisterInfo, name: Json | undefined): string => {
    if (typeof name !== "string" || !reg.fields.some((f) => f.name === name)) rr.fail(key, `${shown(name)}: expected a field of ${reg.name} (${reg.fields.map((f) => f.name).join(", ") || "it has none"})`);
    return name;
  };
  const object = (parent: Reader, key: string | number, value: Json | undefined, keys: readonly string[]): Reader => {
    if (!isRecord(value)) parent.fail(key, `${shown(value)}: expected an object`);
    return new Reader(parent.file, parent.at(key), value, keys);
  };
  const consumingReads = r.list("consumingReads").map((entry, i) => {
    const c = object(new Reader(r.file, r.at("consumingReads"), {}, []), i, entry, ["register", "guard", "orWhen", "section"]);
    const consumed = register(c, "register", c.get("register"));
    if (consumed.read !== "consumes") c.fail("register", `${consumed.name} has read kind ${consumed.read}: a consuming-read rule is for a register whose read consumes`);
    const g = object(c, "guard", c.get("guard"), ["register", "field", "value"]);
    const guard = register(g, "register", g.get("register"));
    const rule = { register: consumed.name, guard: { register: guard.name, field: field(g, "field", guard, g.get("field")), value: g.integer("value") }, section: c.string("section", "") };
    if (c.get("orWhen") === undefined) return rule;
    const orWhen = c.list("orWhen").map((alt, j) => {
      const a = object(new Reader(c.file, c.at("orWhen"), {}, []), j, alt, ["field", "value"]);
      return { field: field(a, "field", guard, a.get("field")), value: a.integer("value") };
    });
    return { ...rule, orWhen };
  });
  const enableGuards = r.list("enableGuards").map((entry, i) => {
    const e = object(new Reader(r.file, r.at("enableGuards"), {}, []), i, entry, ["registers", "fields", "enable", "severity", "section"]);
    const names = e.list("registers");
    if (names.length === 0) e.fail("registers", "empty: expected the registers the rule guards");
    const guarded = names.map((n, j) => register(e, `registers[${j}]`, n).name);
    const en = object(e, "enable", e.get("enable"), ["register", "field"]);
    const enable = register(en, "register", en.get("register"));
    const fieldsRaw = e.get("fields");
    const rule: { -readonly [K in keyof EnableRule]: EnableRule[K] } = {
      registers: guarded,
      enable: { register: enable.name, field: field(en, "field", enable, en.get("field")) },
      severity: e.oneOf("severity", ["error", "warning"] as const, "error"),
      section: e.string("section", ""),
    };
    if (fieldsRaw !== undefined) {
      const regs = guarded.map((n) => registers.find((x) => x.name === n)!);
      rule.fields = e.list("fields").map((f, j) => {
        if (typeof f !== "string" || !regs.some((reg) => reg.fields.some((x) => x.name === f))) e.fail(`fields[${j}]`, `${shown(f)}: expected a field of ${guarded.join(" or ")}`);
        return f as string;
      });
    }
    return rule;
  });
  if (r.get("setReset") === undefined) return { consumingReads, enableGuards };
  const setReset = r.list("setReset").map((entry, i) => {
    const s = object(new Reader(r.file, r.at("setReset"), {}, []), i, entry, ["register", "through", "section"]);
    const reg = register(s, "register", s.get("register"));
    const through = register(s, "through", s.get("through"));
    if (through === reg) s.fail("through", `${reg.name} cannot be its own set/reset register`);
    return { register: reg.name, through: through.name, section: s.string("section", "") };
  });
  return { consumingReads, enableGuards, setReset };
}

interface Instance {
  readonly index: number;
  readonly name: string;
  readonly doc: string;
  readonly offset: number;
}

/** The instances of a register entry: itself, or `repeat.count` copies `repeat.stride` apart
 * with `{n}` in the name and doc replaced by the instance number. */
function expandRepeat(r: Reader): Instance[] {
  const name = r.string("name");
  const doc = r.string("doc", "");
  const offset = r.integer("offset");
  const repeat = r.record("repeat");
  if (repeat === undefined) {
    if (name.includes("{n}")) r.fail("name", `"${name}" has {n} but no "repeat"`);
    return [{ index: 0, name, doc, offset }];
  }
  const rr = new Reader(r.file, r.at("repeat"), repeat, ["count", "stride"]);
  const count = rr.integer("count");
  const stride = rr.integer("stride");
  if (count < 1 || count > 4096) rr.fail("count", `${count}: expected 1..4096`);
  if (stride < 4 || stride % 4 !== 0) rr.fail("stride", `${stride}: expected a positive multiple of 4`);
  if (!name.includes("{n}")) r.fail("name", `a repeated register needs {n} in its name, got "${name}"`);
  const out: Instance[] = [];
  for (let n = 0; n < count; n++) {
    out.push({ index: n, name: name.replaceAll("{n}", String(n)), doc: doc.replaceAll("{n}", String(n)), offset: offset + n * stride });
  }
  return out;
}

function parseRegister(r: Reader, at: Instance, defaultWidths: readonly number[], size: number, layouts: JsonRecord): RegisterInfo {
  if (!NAME.test(at.name)) r.fail("name", `"${excerpt(at.name, 40)}": expected an identifier (a letter, then letters, digits, _)`);
  const writeName = r.get("writeName") === undefined ? null : r.string("writeName");
  if (writeName !== null && !NAME.test(writeName)) r.fail("writeName", `"${excerpt(writeName, 40)}": expected an identifier`);
  const span = r.get("span") === undefined ? 4 : r.integer("span");
  if (at.offset % 4 !== 0) r.fail("offset", `0x${at.offset.toString(16)} is not word-aligned`);
  if (span < 4 || span % 4 !== 0) r.fail("span", `0x${span.toString(16)}: expected a positive multiple of 4`);
  if (at.offset + span > size) r.fail("offset", `0x${at.offset.toString(16)} (+0x${span.toString(16)}) of ${at.name} lies beyond the block size 0x${size.toString(16)}`);
  const bits = r.integer("bits");
  if (bits < 1 || bits > 32) r.fail("bits", `${bits}: expected 1..32 significant bits`);
  const read = r.oneOf("read", READ_KINDS);
  const write = r.oneOf("write", WRITE_KINDS);
  const resetRaw = r.get("reset");
  const reset = resetRaw === undefined || resetRaw === null ? null : r.integer("reset");
  if (reset !== null && bits < 32 && reset >= 2 ** bits) r.fail("reset", `0x${reset.toString(16)} does not fit in ${bits} bits`);
  const testRaw = r.get("test");
  if (testRaw !== undefined && typeof testRaw !== "boolean") r.fail("test", `${shown(testRaw)}: expected true or false`);
  let fieldList: readonly Json[];
  let fieldsPath: string;
  const layout = r.get("layout");
  if (layout !== undefined) {
    if (r.get("fields") !== undefined) r.fail("layout", `a register has "fields" or a "layout", not both`);
    if (typeof layout !== "string" || !Object.prototype.hasOwnProperty.call(layouts, layout)) r.fail("layout", `${shown(layout)} is not defined under "layouts" (have: ${Object.keys(layouts).join(", ") || "none"})`);
    const list = layouts[layout];
    if (!Array.isArray(list)) throw new RegisterMapError(r.file, `layouts.${layout}`, `${shown(list)}: expected an array of fields`);
    fieldList = list;
    fieldsPath = `layouts.${layout}`;
  } else {
    fieldList = r.list("fields");
    fieldsPath = r.at("fields");
  }
  const fields: FieldInfo[] = [];
  let used = 0;
  fieldList.forEach((entry, i) => {
    const path = `${fieldsPath}[${i}]`;
    if (!isRecord(entry)) throw new RegisterMapError(r.file, path, `${shown(entry)}: expected a field object`);
    const f: Reader = new Reader(r.file, path, entry, FIELD_KEYS);
    const name = f.string("name");
    if (!NAME.test(name)) f.fail("name", `"${excerpt(name, 40)}": expected an identifier`);
    const { msb, lsb } = bitsOf(f.get("bits"), (problem) => f.fail("bits", problem));
    if (msb >= bits) f.fail("bits", `bit ${msb} of ${name} is above the register's ${bits} bits`);
    const mask = ((2 ** (msb - lsb + 1) - 1) * 2 ** lsb) >>> 0;
    if ((used & mask) !== 0) f.fail("bits", `${name} (${msb}:${lsb}) overlaps another field of ${at.name}`);
    used = (used | mask) >>> 0;
    const valuesRaw = f.record("values");
    let values: Record<string, number> | undefined;
    if (valuesRaw !== undefined) {
      values = {};
      for (const [vn, vv] of Object.entries(valuesRaw)) {
        if (!/^[A-Za-z0-9_]+$/.test(vn)) f.fail("values", `value name "${excerpt(vn, 40)}": expected letters, digits and _`);
        if (typeof vv !== "number" || !Number.isInteger(vv) || vv < 0 || vv >= 2 ** (msb - lsb + 1)) f.fail("values", `${vn} = ${shown(vv)} does not fit the ${msb - lsb + 1}-bit field`);
        values[vn] = vv as number;
      }
    }
    const field: { -readonly [K in keyof FieldInfo]: FieldInfo[K] } = { name, msb, lsb, doc: f.string("doc", "") };
    if (values !== undefined && Object.keys(values).length > 0) field.values = values;
    if (f.get("read") !== undefined) field.read = f.oneOf("read", FIELD_READ_KINDS);
    if (f.get("write") !== undefined) field.write = f.oneOf("write", FIELD_WRITE_KINDS);
    fields.push(field);
  });
  const info: { -readonly [K in keyof RegisterInfo]: RegisterInfo[K] } = {
    name: at.name,
    writeName,
    offset: at.offset,
    span,
    bits,
    widths: r.widths("widths", defaultWidths),
    read,
    write,
    reset,
    test: testRaw === true,
    section: r.string("section", ""),
    doc: at.doc,
    fields,
  };
  if (r.get("repeat") !== undefined) info.instance = at.index;
  return info;
}

// ---------------------------------------------------------------------------------------------
// API files: status codes, constants, export signatures

export interface StatusCode {
  readonly name: string;
  readonly value: number;
  readonly doc: string;
}

export interface ApiConstant {
  readonly name: string;
  readonly value: number;
  readonly doc: string;
}

/** How an argument or a result is printed: an address in hex, a count or a rate in decimal, a
 * bit pattern (a mask, a config word) in hex. */
export type ValueKind = "address" | "decimal" | "hex";
export const VALUE_KINDS: readonly ValueKind[] = ["address", "decimal", "hex"];

/** What an export returns: a status code (0 or a negative code), a count or value that is
 * non-negative on success (a negative value is a status code), or a plain value. */
export type ReturnKind = "status" | "count" | "bits" | "value";
export const RETURN_KINDS: readonly ReturnKind[] = ["status", "count", "bits", "value"];

export interface ExportArgument {
  readonly name: string;
  readonly kind: ValueKind;
}

export interface ExportSignature {
  readonly name: string;
  readonly args: readonly ExportArgument[];
  readonly returns: ReturnKind;
  readonly doc: string;
}

export interface ApiMap {
  readonly doc: string;
  /** Sorted from OK down. */
  readonly status: readonly StatusCode[];
  readonly constants: readonly ApiConstant[];
  readonly exports: readonly ExportSignature[];
}

const API_KEYS = ["doc", "status", "constants", "exports"];

/** Parses and checks one API file. */
export function parseApiMap(raw: unknown, source: string): ApiMap {
  if (!isRecord(raw)) throw new RegisterMapError(source, "", `${shown(raw)}: expected an API object with "status", "constants" and "exports"`);
  const top = new Reader(source, "", raw, API_KEYS);
  const seen = new Set<string>();
  const named = (r: Reader): string => {
    const name = r.string("name");
    if (!NAME.test(name)) r.fail("name", `"${excerpt(name, 40)}": expected an identifier`);
    if (seen.has(name)) r.fail("name", `${name} is defined twice`);
    seen.add(name);
    return name;
  };
  const status = top.list("status").map((entry, i) => {
    const r = new Reader(source, `status[${i}]`, isRecord(entry) ? entry : top.fail(`status`, `[${i}] is ${shown(entry)}: expected an object`), ["name", "value", "doc"]);
    const name = named(r);
    const value = r.get("value");
    if (typeof value !== "number" || !Number.isInteger(value) || value > 0 || value < -(2 ** 31)) r.fail("value", `${shown(value)}: expected 0 or a negative integer`);
    return { name, value: value as number, doc: r.string("doc", "") };
  });
  const constants = top.list("constants").map((entry, i) => {
    const r = new Reader(source, `constants[${i}]`, isRecord(entry) ? entry : top.fail("constants", `[${i}] is ${shown(entry)}: expected an object`), ["name", "value", "doc"]);
    return { name: named(r), value: r.integer("value"), doc: r.string("doc", "") };
  });
  const exports = top.list("exports").map((entry, i) => {
    const r = new Reader(source, `exports[${i}]`, isRecord(entry) ? entry : top.fail("exports", `[${i}] is ${shown(entry)}: expected an object`), ["name", "args", "returns", "doc"]);
    const name = r.string("name");
    if (!NAME.test(name)) r.fail("name", `"${excerpt(name, 40)}": expected an identifier`);
    const args = r.list("args").map((a, j) => {
      // "base:address", "baud", "config:hex": a name and how to print it (decimal by default).
      if (typeof a !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?$/.test(a)) r.fail("args", `[${j}] is ${shown(a)}: expected "name" or "name:kind" (kinds: ${VALUE_KINDS.join(", ")})`);
      const [argName, kind = "decimal"] = (a as string).split(":") as [string, string?];
      if (!(VALUE_KINDS as readonly string[]).includes(kind)) r.fail("args", `[${j}] "${a}": unknown kind ${kind} (kinds: ${VALUE_KINDS.join(", ")})`);
      return { name: argName, kind: kind as ValueKind };
    });
    return { name, args, returns: r.oneOf("returns", RETURN_KINDS, "status"), doc: r.string("doc", "") };
  });
  return { doc: top.string("doc", ""), status, constants, exports };
}

/** Several API files as one: names unique across all, status values unique. */
export function mergeApiMaps(parts: readonly { readonly api: ApiMap; readonly source: string }[]): ApiMap {
  const owner = new Map<string, string>();
  const status: StatusCode[] = [];
  const constants: ApiConstant[] = [];
  const exports: ExportSignature[] = [];
  const docs: string[] = [];
  for (const { api, source } of parts) {
    if (api.doc !== "") docs.push(api.doc);
    for (const item of [...api.status, ...api.constants]) {
      const first = owner.get(item.name);
      if (first !== undefined) throw new RegisterMapError(source, item.name, `already defined in ${first}`);
      owner.set(item.name, source);
    }
    for (const c of api.status) {
      const clash = status.find((x) => x.value === c.value);
      if (clash !== undefined) throw new RegisterMapError(source, `status ${c.name}`, `value ${c.value} is taken by ${clash.name}`);
      status.push(c);
    }
    constants.push(...api.constants);
    for (const e of api.exports) {
      const first = owner.get(`export ${e.name}`);
      if (first !== undefined) throw new RegisterMapError(source, `exports ${e.name}`, `already described in ${first}`);
      owner.set(`export ${e.name}`, source);
      exports.push(e);
    }
  }
  status.sort((a, b) => b.value - a.value);
  return { doc: docs.join("\n"), status, constants, exports };
}
