// The coverage pass: rewrites a compiled module so that every branch edge bumps a one-byte
// saturating counter in linear memory, with no new import and no call (docs/fuzzing.md,
// Coverage). It works on the binary itself: the function bodies are decoded instruction by
// instruction and counter code is spliced in, so the byte offset of every branch in the original
// module is known and a source map of that module gives each edge its file and line.
//
// Where the counters live: the first 1024 bytes of linear memory. asc's optimizing builds
// (optimizeLevel 2 and more, no --memoryBase) place their statics from 1024 up and tell binaryen
// that the memory below is never accessed ("low memory unused"), and no host puts a buffer there
// (the scratch buffer is above it). The region is part of the memory the module already has, so
// its size, memory.size and every address the drivers or the host compute are those of the plain
// module, and a host that puts linear memory back between executions (the fuzzer's World) resets
// the counters with it. The counters sit at the top of the region, ending at 1024: a stray write
// through a null pointer (address 0 and up, the commonest stray write) lands below them, in memory
// the module never uses, where the fuzzer's memory checks see it on the coverage build too
// (World.changedSinceMark leaves out only the counters).
//
// The edges, in function order and, inside a function, in the order of their instructions:
//   entry      the function was called
//   if         then / else (an else arm is added to an if that has none)
//   br_if      taken / not taken
//   br_table   one per target, the last being the default
//   loop       the loop body ran (once per iteration)
//   select     true / false (asc turns many source `if`s and `?:`s into selects)
// The start function, if any, is left alone (it runs at instantiation, before any counter is read).
//
// The module gains two exports that take nothing and return i32, as the ABI wants of every export
// (docs/abi.md 1.3): __cov_base() and __cov_count(), and a custom section "wasm-hal.coverage"
// holding the CoverageMap as JSON.
import { createHash } from "node:crypto";
import { WasmReader, localsWithGroup, readImports, sized, nameBytes, readBodyLocals, readModuleSections, section, sectionRank, skipBlockType, skipImmediates, skipMemarg, skipValType, sleb32, uleb, type RawSection } from "../wasm-binary.js";

/** The end of the region the counters may use; they end there (they start at COVERAGE_LIMIT minus
 * the number of edges). */
export const COVERAGE_LIMIT = 1024;
/** The pass's revision: a build cached by an earlier one (counters elsewhere) is made again. 2:
 * the counters end at COVERAGE_LIMIT instead of starting at 0. */
export const COVERAGE_PASS_REVISION = 2;
/** The custom section that carries the map. */
export const COVERAGE_SECTION = "wasm-hal.coverage";
export const COVERAGE_EXPORTS = ["__cov_base", "__cov_count"] as const;

export type EdgeKind = "entry" | "if" | "br_if" | "br_table" | "loop" | "select";

/** One counter. */
export interface CoverageEdge {
  readonly index: number;
  /** Index into CoverageMap.functions. */
  readonly func: number;
  readonly kind: EdgeKind;
  /** Which way: "entry", "then", "else", "taken", "not taken", "target N", "default", "body",
   * "true", "false". */
  readonly arm: string;
  /** The branch instruction's number among those of its kind in the function, from 1 (0 for entry):
   * "if#3 else" is the else arm of the function's third if. */
  readonly ordinal: number;
  /** Byte offset of the instruction in the original module. */
  readonly offset: number;
  /** Source location from the module's source map, or null. */
  readonly file: string | null;
  readonly line: number | null;
}

export interface CoverageFunction {
  /** Position in CoverageMap.functions. */
  readonly index: number;
  /** The function's index in the module (imports included). */
  readonly wasmIndex: number;
  /** Its name: the name section's, the .wat's, the export's, or func#N. */
  readonly name: string;
  /** The source file it belongs to (from its name, else its entry's source location), or null. */
  readonly file: string | null;
  readonly line: number | null;
  readonly firstEdge: number;
  readonly edgeCount: number;
}

export interface CoverageMap {
  readonly version: 1;
  /** The pass that made it (COVERAGE_PASS_REVISION; absent in builds of revision 1). */
  readonly revision?: number;
  /** SHA-256 of the original module, hex: tells whether a coverage build belongs to a module. */
  readonly moduleSha256: string;
  /** How the original module was named when it was instrumented. */
  readonly module: string;
  readonly base: number;
  readonly count: number;
  /** Whether edges carry source lines (a source map was given). */
  readonly lines: boolean;
  /** Whether select conditions are counted (left out of a module too large to count them). */
  readonly selects: boolean;
  readonly functions: readonly CoverageFunction[];
  readonly edges: readonly CoverageEdge[];
}

export interface InstrumentOptions {
  /** How errors and the map name the module (its path). */
  readonly name?: string;
  /** The module's source map (JSON text): its generated columns are byte offsets in the module. */
  readonly sourceMap?: string | null;
  /** Function names by function index (imports included), when the module has no name section:
   * `functionNamesFromWat` reads them from asc's .wat. */
  readonly functionNames?: ReadonlyMap<number, string>;
  /** Count select conditions (default: when the counters' region holds them all). */
  readonly selects?: boolean;
}

export interface Instrumented {
  readonly binary: Uint8Array;
  readonly map: CoverageMap;
}

/** A module the pass cannot instrument, naming the file and what was expected. */
export class CoverageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CoverageError";
  }
}

// ---------------------------------------------------------------------------------------------
// Reading and writing the binary format.

/** The pass's reader: a malformed module is a CoverageError naming the file and the byte. */
class Reader extends WasmReader {
  constructor(bytes: Uint8Array, what: string, start = 0, end = bytes.length) {
    super(bytes, what, start, end, (message) => new CoverageError(message));
  }
}

function readSections(bytes: Uint8Array, what: string): RawSection[] {
  return readModuleSections(bytes, what, (message) => new CoverageError(message));
}

// ---------------------------------------------------------------------------------------------
// Source maps (version 3; for WebAssembly the generated column is the byte offset in the module).

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

interface Mapping {
  readonly offset: number;
  readonly source: number;
  readonly line: number;
}

/** The mappings of a source map, by generated column, and its sources. */
export function readSourceMap(text: string, what = "source map"): { mappings: Mapping[]; sources: string[] } {
  let json: { version?: unknown; sources?: unknown; mappings?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (e) {
    throw new CoverageError(`${what}: not JSON (${(e as Error).message}): expected a version 3 source map`);
  }
  if (json.version !== 3 || !Array.isArray(json.sources) || typeof json.mappings !== "string") {
    throw new CoverageError(`${what}: expected a version 3 source map with "sources" and "mappings"`);
  }
  const sources = json.sources.map((s) => String(s));
  const mappings: Mapping[] = [];
  const fields = [0, 0, 0, 0, 0];
  let column = 0;
  const text2 = json.mappings;
  let i = 0;
  while (i < text2.length) {
    const c = text2[i]!;
    if (c === ";") {
      column = 0;
      i++;
      continue;
    }
    if (c === ",") {
      i++;
      continue;
    }
    // One segment: up to five VLQ fields.
    let n = 0;
    const seg: number[] = [];
    while (i < text2.length && text2[i] !== "," && text2[i] !== ";") {
      let value = 0;
      let shift = 0;
      for (;;) {
        const digit = BASE64.indexOf(text2[i++]!);
        if (digit < 0) throw new CoverageError(`${what}: mappings: bad base64 character at ${i - 1}`);
        value += (digit & 31) * 2 ** shift;
        shift += 5;
        if ((digit & 32) === 0) break;
      }
      seg.push(value % 2 === 1 ? -Math.floor(value / 2) : value / 2);
      n++;
    }
    column += seg[0] ?? 0;
    if (seg.length >= 4) {
      fields[1]! += seg[1]!;
      fields[2]! += seg[2]!;
      fields[3]! += seg[3]!;
      mappings.push({ offset: column, source: fields[1]!, line: fields[2]! + 1 });
    }
  }
  mappings.sort((a, b) => a.offset - b.offset);
  return { mappings, sources };
}

function locate(mappings: readonly Mapping[], offset: number, from: number): Mapping | null {
  // The last mapping at or before `offset`, but not before the function's first byte.
  let lo = 0;
  let hi = mappings.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (mappings[mid]!.offset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found < 0 || mappings[found]!.offset < from) {
    // Nothing before it in the function: the first mapping inside the function, if any.
    const next = mappings[found + 1];
    return next !== undefined && next.offset >= from ? next : null;
  }
  return mappings[found]!;
}

// ---------------------------------------------------------------------------------------------
// Names.

/**
 * Function names by index from the .wat asc writes beside a module (`--textFile`): its
 * `(import ... (func $name` and `(func $name` lines, in index order.
 */
export function functionNamesFromWat(wat: string): Map<number, string> {
  const names = new Map<number, string>();
  let index = 0;
  for (const line of wat.split("\n")) {
    const m = /^\s*\((?:import\s+"[^"]*"\s+"[^"]*"\s+)?\(?func\s+\$("(?:[^"\\]|\\.)*"|\S+)/.exec(line);
    if (m === null) continue;
    let name = m[1]!;
    if (name.startsWith('"')) name = name.slice(1, -1);
    names.set(index++, name);
  }
  return names;
}

/** binaryen's prefix for a piece several functions share after merging (merge-similar-functions). */
const SHARED = /^byn\$mgfn-shared\$/;

/** The source file a function's name places it in (asc names functions `assembly/pl011/pl011_init`). */
export function fileOfName(name: string): string | null {
  const m = /^((?:~lib\/)?[A-Za-z0-9_.@-]+(?:\/[A-Za-z0-9_.@-]+)*)\/[^/]+$/.exec(name.replace(SHARED, ""));
  return m === null ? null : `${m[1]!}.ts`;
}

/** The function's name without its path: `assembly/pl011/pl011_init` is `pl011_init`; a part
 * binaryen split off to share is `pl011_init (shared part)`. */
export function shortName(name: string): string {
  const plain = name.replace(SHARED, "");
  const slash = plain.lastIndexOf("/");
  const short = slash < 0 ? plain : plain.slice(slash + 1);
  return plain === name ? short : `${short} (shared part)`;
}

// ---------------------------------------------------------------------------------------------
// The pass.

interface FuncType {
  readonly params: number;
  readonly results: number;
  readonly bytes: Uint8Array;
}

const I32 = 0x7f;

/** Counter code: the saturating increment of the byte at `addr`, with `v` a scratch local. */
function bumpConst(addr: number, v: number): number[] {
  return [
    0x41, 0x00, // i32.const 0 (the store's address)
    0x41, 0x00, // i32.const 0
    0x2d, 0x00, ...uleb(addr), // i32.load8_u offset=addr
    0x22, ...uleb(v), // local.tee v
    0x20, ...uleb(v), // local.get v
    0x41, ...sleb32(255), // i32.const 255
    0x47, // i32.ne
    0x6a, // i32.add
    0x3a, 0x00, ...uleb(addr), // i32.store8 offset=addr
  ];
}

/** Counter code: the saturating increment of the byte at `first` + min(t, n) (a br_table's
 * target t, n its default), with `a` and `v` scratch locals. */
function bumpIndexed(first: number, n: number, t: number, a: number, v: number): number[] {
  return [
    0x20, ...uleb(t), 0x41, ...sleb32(n), 0x20, ...uleb(t), 0x41, ...sleb32(n), 0x49, 0x1b, // select(t, n, t <u n)
    0x22, ...uleb(a), 0x20, ...uleb(a), // local.tee a, local.get a
    0x2d, 0x00, ...uleb(first), // i32.load8_u offset=first
    0x22, ...uleb(v), 0x20, ...uleb(v), 0x41, ...sleb32(255), 0x47, 0x6a, // saturating + 1
    0x3a, 0x00, ...uleb(first), // i32.store8 offset=first
  ];
}

/**
 * The counters an i32.store8 may write when it ends a counter increment this pass emits
 * (bumpConst, bumpIndexed), as [first, last]; null for any other store. `starts` holds the start
 * of each instruction of the body up to the store's (the last), `end` is where the store ends.
 * The world's copy of a coverage build leaves these stores untracked (harness/fuzz/
 * module-globals.ts trackStores) and zeroes the counters itself: the test is the instructions
 * the pass emits, byte for byte, whose address is then known (a constant, or a br_table index
 * clamped to its default), not the store's offset alone, which a driver's store may share.
 */
export function counterStoreReach(bytes: Uint8Array, starts: readonly number[], end: number): { first: number; last: number } | null {
  const i = starts.length - 1;
  const store = starts[i]!;
  if (bytes[store] !== 0x3a || bytes[store + 1] !== 0x00) return null;
  const r = new Reader(bytes, "module", store + 2, end);
  const first = r.u32();
  /** The local index of an instruction `op local` k instructions before the store, or -1. */
  const localAt = (k: number, op: number): number => {
    const at = starts[i - k];
    if (at === undefined || bytes[at] !== op) return -1;
    return new Reader(bytes, "module", at + 1, end).u32();
  };
  const same = (from: number, expected: readonly number[]): boolean => {
    if (from < 0 || end - from !== expected.length) return false;
    for (let k = 0; k < expected.length; k++) if (bytes[from + k] !== expected[k]) return false;
    return true;
  };
  const v = localAt(5, 0x22);
  if (v < 0) return null;
  if (i >= 8 && same(starts[i - 8]!, bumpConst(first, v))) return { first, last: first };
  const t = localAt(14, 0x20);
  const a = localAt(8, 0x22);
  const nAt = starts[i - 13];
  if (t < 0 || a < 0 || nAt === undefined || bytes[nAt] !== 0x41) return null;
  const n = new Reader(bytes, "module", nAt + 1, end).sleb(32);
  if (n >= 0 && same(starts[i - 14]!, bumpIndexed(first, n, t, a, v))) return { first, last: first + n };
  return null;
}

interface Planned {
  kind: EdgeKind;
  arm: string;
  ordinal: number;
  offset: number;
}

/**
 * Instruments a module. Throws CoverageError, naming the module and what was expected, for a
 * module it cannot instrument: not version 1, an opcode outside MVP, sign extension, saturating
 * truncation, bulk memory and reference types, no memory, a data segment or a constant address
 * in the counters' region, more edges than the region holds, or exports of the pass's names.
 */
export function instrument(bytes: Uint8Array, options: InstrumentOptions = {}): Instrumented {
  const what = options.name ?? "module";
  const countSelects = options.selects ?? true;
  const sections = readSections(bytes, what);
  const byId = (id: number): RawSection | undefined => sections.find((s) => s.id === id);

  // Types.
  const types: FuncType[] = [];
  const typeSec = byId(1);
  if (typeSec !== undefined) {
    const r: Reader = new Reader(bytes, what, typeSec.start, typeSec.end);
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const start = r.pos;
      const form = r.byte();
      if (form !== 0x60) r.fail(`type ${i} has form 0x${form.toString(16)}: expected a function type (0x60)`);
      const params = r.u32();
      for (let j = 0; j < params; j++) skipValType(r);
      const results = r.u32();
      for (let j = 0; j < results; j++) skipValType(r);
      types.push({ params, results, bytes: bytes.slice(start, r.pos) });
    }
  }

  // Imports: how many functions come before the defined ones.
  const imports = readImports(bytes, what, byId(2), (message) => new CoverageError(message));
  if (imports === null) throw new CoverageError(`${what}: an import of a kind other than function, table, memory or global`);
  const importedFunctions = imports.filter((m) => m.kind === 0).length;
  const memoryImported = imports.some((m) => m.kind === 2);

  // Defined functions' types.
  const funcTypes: number[] = [];
  const funcSec = byId(3);
  if (funcSec !== undefined) {
    const r: Reader = new Reader(bytes, what, funcSec.start, funcSec.end);
    const n = r.u32();
    for (let i = 0; i < n; i++) funcTypes.push(r.u32());
  }

  // Memory.
  const memSec = byId(5);
  if (memSec === undefined && !memoryImported) throw new CoverageError(`${what}: the module has no linear memory: expected one (the counters live in it)`);
  if (memSec !== undefined) {
    const r: Reader = new Reader(bytes, what, memSec.start, memSec.end);
    if (r.u32() < 1) throw new CoverageError(`${what}: the module has no linear memory: expected one (the counters live in it)`);
    const flags = r.byte();
    const initial = r.u32();
    if ((flags & 1) !== 0) r.u32();
    if (initial < 1) throw new CoverageError(`${what}: the memory starts with 0 pages: expected at least one (the counters live in its first ${COVERAGE_LIMIT} bytes)`);
  }

  // Exports: names, and the pass's names must be free.
  const exportNames = new Map<number, string>();
  const exportSec = byId(7);
  const exportList: { name: string; kind: number; index: number }[] = [];
  if (exportSec !== undefined) {
    const r: Reader = new Reader(bytes, what, exportSec.start, exportSec.end);
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const name = r.name();
      const kind = r.byte();
      const index = r.u32();
      exportList.push({ name, kind, index });
      if (kind === 0 && !exportNames.has(index)) exportNames.set(index, name);
    }
  }
  for (const name of COVERAGE_EXPORTS) {
    if (exportList.some((e) => e.name === name)) throw new CoverageError(`${what}: already exports ${name}: expected a module that is not a coverage build`);
  }
  if (sections.some((s) => s.customName === COVERAGE_SECTION)) throw new CoverageError(`${what}: already has a ${COVERAGE_SECTION} section: expected a module that is not a coverage build`);

  // The start function is not instrumented.
  let start = -1;
  const startSec = byId(8);
  if (startSec !== undefined) start = new Reader(bytes, what, startSec.start, startSec.end).u32();

  // Data segments must stay out of the counters' region.
  const dataSec = byId(11);
  if (dataSec !== undefined) {
    const r: Reader = new Reader(bytes, what, dataSec.start, dataSec.end);
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const flags = r.u32();
      if (flags === 1) {
        r.skip(r.u32());
        continue;
      }
      if (flags === 2) r.u32();
      let offset: number | null = null;
      if (r.bytes[r.pos] === 0x41) {
        r.pos++;
        offset = r.sleb(32) >>> 0;
        if (r.byte() !== 0x0b) offset = null;
      }
      if (offset === null) r.fail(`data segment ${i} has an offset that is not an i32.const: expected a fixed offset, to keep the counters' region free`);
      const len = r.u32();
      r.skip(len);
      if (len > 0 && offset < COVERAGE_LIMIT) throw new CoverageError(`${what}: data segment ${i} lies at ${offset}..${offset + len}, inside the counters' region 0..${COVERAGE_LIMIT}: expected an optimized asc build (statics from 1024 up)`);
    }
  }

  // Names: the name section, then the caller's, then exports.
  const names = new Map<number, string>(options.functionNames ?? []);
  const nameSec = sections.find((s) => s.customName === "name");
  if (nameSec !== undefined) {
    try {
      const r: Reader = new Reader(bytes, what, nameSec.start, nameSec.end);
      r.name();
      while (r.pos < nameSec.end) {
        const id = r.byte();
        const size = r.u32();
        const end = r.pos + size;
        if (id === 1) {
          const n = r.u32();
          for (let i = 0; i < n; i++) {
            const index = r.u32();
            names.set(index, r.name());
          }
        }
        r.pos = end;
      }
    } catch {
      // A malformed name section only costs the names.
    }
  }

  const sourceMap = options.sourceMap === undefined || options.sourceMap === null ? null : readSourceMap(options.sourceMap, `${what}'s source map`);

  // Code.
  const codeSec = byId(10);
  const functions: CoverageFunction[] = [];
  const edges: CoverageEdge[] = [];
  /** Each body's instrumented code, made once the number of edges, hence the counters' base, is
   * known. */
  const bodies: { code: (first: number) => number[]; firstEdge: number }[] = [];
  if (codeSec !== undefined) {
    const r: Reader = new Reader(bytes, what, codeSec.start, codeSec.end);
    const n = r.u32();
    if (n !== funcTypes.length) r.fail(`the code section has ${n} bodies, the function section ${funcTypes.length} functions: expected as many`);
    for (let i = 0; i < n; i++) {
      const size = r.u32();
      const bodyStart = r.pos;
      const bodyEnd = bodyStart + size;
      const wasmIndex = importedFunctions + i;
      const type = types[funcTypes[i]!];
      if (type === undefined) r.fail(`function ${wasmIndex} has type ${funcTypes[i]}, which the type section does not define`);
      const name = names.get(wasmIndex) ?? exportNames.get(wasmIndex) ?? `func#${wasmIndex}`;
      const body = instrumentBody(bytes, what, bodyStart, bodyEnd, type.params, wasmIndex === start ? null : { countSelects });
      const firstEdge = edges.length;
      const located = (offset: number): { file: string | null; line: number | null } => {
        if (sourceMap === null) return { file: null, line: null };
        const m = locate(sourceMap.mappings, offset, bodyStart);
        if (m === null || m.offset >= bodyEnd) return { file: null, line: null };
        return { file: sourceMap.sources[m.source] ?? null, line: m.line };
      };
      const funcIndex = functions.length;
      for (const p of body.planned) {
        const loc = located(p.offset);
        edges.push({ index: edges.length, func: funcIndex, kind: p.kind, arm: p.arm, ordinal: p.ordinal, offset: p.offset, file: loc.file, line: loc.line });
      }
      const entry = located(bodyStart);
      // A body with no mapping at its start (a part binaryen split off) takes its first edge's place.
      const placed = entry.line !== null ? entry : edges.slice(firstEdge).find((e) => e.line !== null) ?? entry;
      functions.push({ index: funcIndex, wasmIndex, name, file: fileOfName(name) ?? placed.file, line: placed.line, firstEdge, edgeCount: edges.length - firstEdge });
      bodies.push({ code: body.code, firstEdge });
      r.pos = bodyEnd;
    }
  }
  if (edges.length > COVERAGE_LIMIT) {
    // Selects are the edges a module can best spare.
    if (options.selects === undefined) return instrument(bytes, { ...options, selects: false });
    throw new CoverageError(`${what}: ${edges.length} branch edges, but the counters' region holds ${COVERAGE_LIMIT} one-byte counters: expected a smaller module${countSelects ? " (or leave select conditions out)" : ""}`);
  }
  const counterBase = COVERAGE_LIMIT - edges.length;
  const newBodies = bodies.map((b) => b.code(counterBase + b.firstEdge));
  // Constant addresses in the region: a module that uses low memory cannot take the counters.
  const low = lowMemoryUse(bytes, what, codeSec, importedFunctions, names);
  if (low !== null) throw new CoverageError(`${what}: ${low}, inside the counters' region 0..${COVERAGE_LIMIT}: expected an optimized asc build (statics from 1024 up)`);

  // The two exports: one type ()->i32, two functions.
  let typeIndex = types.findIndex((t) => t.params === 0 && t.results === 1 && t.bytes.length === 4 && t.bytes[3] === I32);
  const newTypes = types.map((t) => Array.from(t.bytes));
  if (typeIndex < 0) {
    typeIndex = types.length;
    newTypes.push([0x60, 0, 1, I32]);
  }
  const definedCount = funcTypes.length;
  const baseIndex = importedFunctions + definedCount;
  const constBody = (value: number): number[] => sized([0x00, 0x41, ...sleb32(value), 0x0b]);
  const hash = createHash("sha256").update(bytes).digest("hex");
  const map: CoverageMap = { version: 1, revision: COVERAGE_PASS_REVISION, moduleSha256: hash, module: what, base: counterBase, count: edges.length, lines: sourceMap !== null, selects: countSelects, functions, edges };

  // Reassemble: every section as it was, apart from the ones the pass changes; the source map's
  // URL goes (its offsets no longer hold), the map's section comes last.
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const copy = (s: RawSection): void => {
    for (let i = s.header; i < s.end; i++) out.push(bytes[i]!);
  };
  const ensure = (id: number): void => {
    // Sections the pass adds to when the module has none, in their place in the order.
    if (byId(id) === undefined) {
      if (id === 1) out.push(...section(1, [...uleb(newTypes.length), ...newTypes.flat()]));
      if (id === 3) out.push(...section(3, [...uleb(2), ...uleb(typeIndex), ...uleb(typeIndex)]));
      if (id === 7) out.push(...section(7, [...uleb(2), ...COVERAGE_EXPORTS.flatMap((e, i) => [...nameBytes(e), 0x00, ...uleb(baseIndex + i)])]));
      if (id === 10) out.push(...section(10, [...uleb(2), ...constBody(counterBase), ...constBody(edges.length)]));
    }
  };
  const pending = [1, 3, 7, 10];
  const flushBefore = (id: number): void => {
    while (pending.length > 0 && (id === -1 || sectionRank(pending[0]!) < sectionRank(id))) ensure(pending.shift()!);
  };
  for (const s of sections) {
    if (s.id === 0) {
      if (s.customName === "sourceMappingURL") continue;
      copy(s);
      continue;
    }
    flushBefore(s.id);
    if (pending[0] === s.id) pending.shift();
    switch (s.id) {
      case 1:
        out.push(...section(1, [...uleb(newTypes.length), ...newTypes.flat()]));
        break;
      case 3:
        out.push(...section(3, [...uleb(definedCount + 2), ...funcTypes.flatMap((t) => uleb(t)), ...uleb(typeIndex), ...uleb(typeIndex)]));
        break;
      case 7: {
        const body: number[] = [...uleb(exportList.length + 2)];
        for (const e of exportList) body.push(...nameBytes(e.name), e.kind, ...uleb(e.index));
        COVERAGE_EXPORTS.forEach((e, i) => body.push(...nameBytes(e), 0x00, ...uleb(baseIndex + i)));
        out.push(...section(7, body));
        break;
      }
      case 10: {
        const body: number[] = [...uleb(definedCount + 2)];
        for (const b of newBodies) body.push(...sized(b));
        body.push(...constBody(counterBase), ...constBody(edges.length));
        out.push(...section(10, body));
        break;
      }
      default:
        copy(s);
    }
  }
  flushBefore(-1);
  out.push(...section(0, [...nameBytes(COVERAGE_SECTION), ...new TextEncoder().encode(JSON.stringify(map))]));
  const binary = new Uint8Array(out);
  if (!WebAssembly.validate(binary)) throw new CoverageError(`${what}: the instrumented module does not validate (a bug in the coverage pass)`);
  return { binary, map };
}

/**
 * One function body: decodes it, plans its edges, and returns the code with counters for a given
 * first counter address. `plan` null leaves the body as it is (the start function).
 */
function instrumentBody(bytes: Uint8Array, what: string, start: number, end: number, params: number, plan: { countSelects: boolean } | null): { planned: Planned[]; code: (first: number) => number[] } {
  const r: Reader = new Reader(bytes, `${what} (function body at byte ${start})`, start, end);
  const declared = readBodyLocals(r);
  const locals = declared.count;
  const localsEnd = declared.code;
  if (plan === null) {
    const original = Array.from(bytes.subarray(start, end));
    return { planned: [], code: () => original };
  }
  // Scratch locals: t (a condition or an index), a (a counter's address), v (its value).
  const t = params + locals;
  const a = t + 1;
  const v = t + 2;

  // Insertions: at a byte offset of the original body, code made from the counters' addresses.
  type Insert = { at: number; make: (edge: (k: number) => number) => number[] };
  const inserts: Insert[] = [];
  const planned: Planned[] = [];
  const ordinals = new Map<EdgeKind, number>();
  const next = (kind: EdgeKind): number => {
    const n = (ordinals.get(kind) ?? 0) + 1;
    ordinals.set(kind, n);
    return n;
  };
  const edge = (kind: EdgeKind, arm: string, ordinal: number, offset: number): number => {
    planned.push({ kind, arm, ordinal, offset });
    return planned.length - 1;
  };
  // Entry.
  const entry = edge("entry", "entry", 0, start);
  inserts.push({ at: localsEnd, make: (e) => bumpConst(e(entry), v) });
  /** Counts both ways of the i32 condition on the stack, leaving it there. */
  const twoWay = (yes: number, no: number) => (e: (k: number) => number): number[] => [
    0x22, ...uleb(t), // local.tee t
    0x04, 0x40, ...bumpConst(e(yes), v), // if: the condition holds
    0x05, ...bumpConst(e(no), v), // else
    0x0b,
    0x20, ...uleb(t), // local.get t
  ];

  // Control stack: for each open if, its else edge and whether an else was seen.
  const stack: { kind: "block" | "loop" | "if"; elseEdge: number; hasElse: boolean }[] = [];
  while (r.pos < end) {
    const at = r.pos;
    const op = r.byte();
    switch (op) {
      case 0x00: case 0x01: case 0x0f: case 0x1a: case 0xd1: case 0xd3: case 0xd4:
        break;
      case 0x02:
        skipBlockType(r);
        stack.push({ kind: "block", elseEdge: -1, hasElse: false });
        break;
      case 0x03: {
        skipBlockType(r);
        const k = edge("loop", "body", next("loop"), at);
        inserts.push({ at: r.pos, make: (e) => bumpConst(e(k), v) });
        stack.push({ kind: "loop", elseEdge: -1, hasElse: false });
        break;
      }
      case 0x04: {
        skipBlockType(r);
        const ordinal = next("if");
        const yes = edge("if", "then", ordinal, at);
        const no = edge("if", "else", ordinal, at);
        inserts.push({ at: r.pos, make: (e) => bumpConst(e(yes), v) });
        stack.push({ kind: "if", elseEdge: no, hasElse: false });
        break;
      }
      case 0x05: {
        const top = stack[stack.length - 1];
        if (top === undefined || top.kind !== "if") r.fail("else outside an if", at);
        top.hasElse = true;
        const no = top.elseEdge;
        inserts.push({ at: r.pos, make: (e) => bumpConst(e(no), v) });
        break;
      }
      case 0x0b: {
        const top = stack.pop();
        if (top === undefined) {
          if (r.pos !== end) r.fail("the function's final end before the end of its body", at);
          break;
        }
        if (top.kind === "if" && !top.hasElse) {
          const no = top.elseEdge;
          // An else arm that only counts, before the if's end.
          inserts.push({ at, make: (e) => [0x05, ...bumpConst(e(no), v)] });
        }
        break;
      }
      case 0x0c: case 0xd5: case 0xd6:
        r.u32();
        break;
      case 0x0d: {
        const ordinal = next("br_if");
        const yes = edge("br_if", "taken", ordinal, at);
        const no = edge("br_if", "not taken", ordinal, at);
        inserts.push({ at, make: twoWay(yes, no) });
        r.u32();
        break;
      }
      case 0x0e: {
        const n = r.u32();
        for (let i = 0; i <= n; i++) r.u32();
        const ordinal = next("br_table");
        const first = planned.length;
        for (let i = 0; i < n; i++) edge("br_table", `target ${i}`, ordinal, at);
        edge("br_table", "default", ordinal, at);
        inserts.push({
          at,
          make: (e) => [
            0x22, ...uleb(t), // local.tee t
            ...bumpIndexed(e(first), n, t, a, v),
            0x20, ...uleb(t), // local.get t
          ],
        });
        break;
      }
      case 0x10: case 0x12: case 0x14: case 0x15:
        r.u32();
        break;
      case 0x11: case 0x13:
        r.u32();
        r.u32();
        break;
      case 0x1b: case 0x1c: {
        if (op === 0x1c) {
          const n = r.u32();
          for (let i = 0; i < n; i++) skipValType(r);
        }
        if (plan.countSelects) {
          const ordinal = next("select");
          const yes = edge("select", "true", ordinal, at);
          const no = edge("select", "false", ordinal, at);
          inserts.push({ at, make: twoWay(yes, no) });
        }
        break;
      }
      case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2:
        r.u32();
        break;
      case 0x3f: case 0x40:
        r.u32();
        break;
      case 0x41:
        r.sleb(32);
        break;
      case 0x42:
        r.sleb(64);
        break;
      case 0x43:
        r.skip(4);
        break;
      case 0x44:
        r.skip(8);
        break;
      case 0xd0:
        r.sleb(33);
        break;
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) break;
        if (sub === 8) { r.u32(); r.u32(); break; }
        if (sub === 9 || sub === 11 || sub === 13 || sub === 15 || sub === 16 || sub === 17) { r.u32(); break; }
        if (sub === 10 || sub === 12 || sub === 14) { r.u32(); r.u32(); break; }
        r.fail(`instruction 0xfc ${sub}: expected a saturating truncation, bulk memory or table instruction`, at);
        break;
      }
      default:
        if (op >= 0x28 && op <= 0x3e) {
          skipMemarg(r);
        } else if (op >= 0x45 && op <= 0xc4) {
          // Numeric instructions (sign extension included) take no immediates.
        } else {
          r.fail(`opcode 0x${op.toString(16)}: expected an MVP, sign-extension, bulk-memory or reference-types instruction (exceptions, SIMD, atomics and GC are not instrumented)`, at);
        }
    }
  }
  if (stack.length !== 0) r.fail("the function body ends inside a block", end);

  return {
    planned,
    code: (first) => {
      const e = (k: number): number => first + k;
      const out: number[] = [];
      // Locals: the original groups and one more of three i32s.
      out.push(...localsWithGroup(bytes, declared, 3, I32));
      let pos = localsEnd;
      const sorted = inserts.slice().sort((x, y) => x.at - y.at);
      for (const ins of sorted) {
        for (; pos < ins.at; pos++) out.push(bytes[pos]!);
        out.push(...ins.make(e));
      }
      for (; pos < end; pos++) out.push(bytes[pos]!);
      return out;
    },
  };
}

/** The first load or store at a constant address below the counters' region's end, in words. */
function lowMemoryUse(bytes: Uint8Array, what: string, codeSec: RawSection | undefined, importedFunctions: number, names: ReadonlyMap<number, string>): string | null {
  if (codeSec === undefined) return null;
  const r: Reader = new Reader(bytes, what, codeSec.start, codeSec.end);
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const size = r.u32();
    const end = r.pos + size;
    readBodyLocals(r);
    let lastConst: number | null = null;
    while (r.pos < end) {
      const op = r.byte();
      let constant: number | null = null;
      if (op === 0x41) {
        constant = r.sleb(32) >>> 0;
      } else if (op >= 0x28 && op <= 0x3e) {
        const offset = skipMemarg(r);
        // A load's address is the operand just before it (a store's is under its value).
        if (op <= 0x35 && lastConst !== null && lastConst + offset < COVERAGE_LIMIT) {
          const name = names.get(importedFunctions + i) ?? `func#${importedFunctions + i}`;
          return `${name} reads address ${lastConst + offset}`;
        }
      } else {
        skipImmediates(r, op);
      }
      lastConst = constant;
    }
    r.pos = end;
  }
  return null;
}

/** The map a coverage build carries in its custom section, or null for a plain module. */
export function coverageMapOf(module: WebAssembly.Module, what = "module"): CoverageMap | null {
  const sections = WebAssembly.Module.customSections(module, COVERAGE_SECTION);
  if (sections.length === 0) return null;
  let map: CoverageMap;
  try {
    map = JSON.parse(new TextDecoder().decode(sections[0]!)) as CoverageMap;
  } catch (e) {
    throw new CoverageError(`${what}: its ${COVERAGE_SECTION} section is not JSON (${(e as Error).message}): expected the map the coverage pass writes`);
  }
  if (map.version !== 1 || !Array.isArray(map.edges) || !Array.isArray(map.functions) || map.edges.length !== map.count) {
    throw new CoverageError(`${what}: its ${COVERAGE_SECTION} section is not a version 1 coverage map with one edge per counter`);
  }
  return map;
}
