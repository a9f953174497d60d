// The fuzz world runs every execution of a run on one instance and puts back between them what
// the module may have changed: linear memory, and its mutable globals. A host sees a global only
// if the module exports it, and AssemblyScript makes every module-level `let` a global that it does
// not export: a driver keeping an `initialized` flag or a ring index there would carry it from one
// execution into the next, so that a finding did not replay alone and a shrunk case failed
// otherwise. The world therefore instantiates a copy of the module whose export section also
// exports each mutable global the module defines, under a reserved name; nothing else changes (the
// same code, the same imports, the same accesses in the same order).
//
// Linear memory is 64 KiB or more, of which an execution writes a few dozen bytes (a buffer the
// host fills, what the driver stores in it): copying all of it back took an eighth of a PL011
// execution. The copy also keeps, in two globals, the lowest and the highest address any store
// instruction of the module wrote (trackStores), so that the world puts back only that range and
// the bytes its host wrote itself.
import { compileModuleBytes, readModuleFile } from "../hal.js";
import { LIMITS_64, WasmReader, assembleModule, readImports, sized, nameBytes, readModuleSections, section, sectionEntries, skipImmediates, skipLimits, skipValType, sleb32, uleb, type RawSection } from "../wasm-binary.js";
import { inlineResponder } from "./repeat-responder.js";
import { COVERAGE_SECTION, counterStoreReach } from "../coverage/instrument.js";

/** Exported as `${GLOBAL_EXPORT_PREFIX}${index}`, index in the module's global index space. */
export const GLOBAL_EXPORT_PREFIX = "__wasm_hal_global_";

/** Value types a host can read and write through WebAssembly.Global. */
const HOST_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c]); // i32, i64, f32, f64

/** A constant expression up to its `end` (WebAssembly 3.0 constant instructions). */
function skipConstExpr(r: WasmReader): void {
  for (;;) {
    const op = r.byte();
    switch (op) {
      case 0x0b: return; // end
      case 0x41: r.sleb(32); break; // i32.const
      case 0x42: r.sleb(64); break; // i64.const
      case 0x43: r.skip(4); break; // f32.const
      case 0x44: r.skip(8); break; // f64.const
      case 0x23: case 0xd2: r.u32(); break; // global.get, ref.func
      case 0xd0: r.sleb(33); break; // ref.null heaptype
      case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e: break; // extended constants
      case 0xfd: // v128.const
        if (r.u32() !== 12) r.fail("a constant expression with a SIMD instruction other than v128.const");
        r.skip(16);
        break;
      default: r.fail(`opcode 0x${op.toString(16)} in a constant expression`);
    }
  }
}

/**
 * The module with every mutable global it defines (of a type a host can read: i32, i64, f32,
 * f64) and does not export already exported as `${GLOBAL_EXPORT_PREFIX}${index}`, and the names
 * added; the module itself and no names when there is none.
 */
export function exportMutableGlobals(bytes: Uint8Array<ArrayBuffer>, what = "module"): { bytes: Uint8Array<ArrayBuffer>; added: string[] } {
  const all = readModuleSections(bytes, what);
  let importedGlobals = 0;
  const mutable: number[] = [];
  const exported = new Set<number>();
  let exportSection: RawSection | undefined;
  let globalSection: RawSection | undefined;
  for (const s of all) {
    const r = new WasmReader(bytes, what, s.start, s.end);
    if (s.id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) r.u32();
        else if (kind === 1) { r.sleb(33); skipLimits(r); }
        else if (kind === 2) skipLimits(r);
        else if (kind === 3) { r.byte(); r.byte(); importedGlobals++; }
        else if (kind === 4) { r.byte(); r.u32(); }
        else r.fail(`import kind ${kind}`);
      }
    } else if (s.id === 6) {
      globalSection = s;
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const type = r.byte();
        const isMutable = r.byte() === 1;
        skipConstExpr(r);
        if (isMutable && HOST_TYPES.has(type)) mutable.push(importedGlobals + i);
      }
    } else if (s.id === 7) {
      exportSection = s;
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        const kind = r.byte();
        const index = r.u32();
        if (kind === 3) exported.add(index);
      }
    }
  }
  const toExport = mutable.filter((g) => !exported.has(g));
  if (toExport.length === 0 || globalSection === undefined) return { bytes, added: [] };

  const added = toExport.map((g) => `${GLOBAL_EXPORT_PREFIX}${g}`);
  const entries: number[] = [];
  let count = 0;
  if (exportSection !== undefined) {
    const r = new WasmReader(bytes, what, exportSection.start, exportSection.end);
    count = r.u32();
    entries.push(...bytes.subarray(r.pos, exportSection.end));
  }
  toExport.forEach((g, k) => {
    entries.push(...nameBytes(added[k]!), 0x03, ...uleb(g));
  });
  const body = [...uleb(count + toExport.length), ...entries];
  const newSection = Uint8Array.from(section(7, body));
  // In place of the export section, or right after the global section (the export section
  // follows it in the module's section order).
  const cutFrom = exportSection?.header ?? globalSection.end;
  const cutTo = exportSection?.end ?? globalSection.end;
  const out = new Uint8Array(bytes.length - (cutTo - cutFrom) + newSection.length);
  out.set(bytes.subarray(0, cutFrom), 0);
  out.set(newSection, cutFrom);
  out.set(bytes.subarray(cutTo), cutFrom + newSection.length);
  return { bytes: out, added };
}

const compiled = new Map<string, WebAssembly.Module>();

/** The world's copy of a module file: its mutable globals exported (exportMutableGlobals) and
 * the repeat responder inlined where it can be (repeat-responder.ts inlineResponder), read and
 * compiled once per process; compileModule's checks and messages for a missing or broken file. */
export function compileForWorld(path: string): WebAssembly.Module {
  let module = compiled.get(path);
  if (module === undefined) {
    const bytes = readModuleFile(path);
    let rewritten: Uint8Array<ArrayBuffer>;
    try {
      rewritten = exportMutableGlobals(bytes, path).bytes;
    } catch (e) {
      // A module that is not valid is reported as compileModule reports it.
      compileModuleBytes(path, bytes);
      throw e;
    }
    // The globals the responder adds are its own: the world arms and takes them, and they are
    // not exported to be put back.
    rewritten = inlineResponder(rewritten, path) ?? rewritten;
    // Last, so that the stores of every function (the responder's have none) are tracked.
    rewritten = trackStores(rewritten, path) ?? rewritten;
    module = compileModuleBytes(path, rewritten);
    compiled.set(path, module);
  }
  return module;
}

/** The instance's mutable globals (those exported by the module or by exportMutableGlobals),
 * with the values they had when it was made, ready to be put back. */
export class GlobalSnapshot {
  private readonly globals: WebAssembly.Global[] = [];
  private readonly values: unknown[] = [];

  constructor(exports: WebAssembly.Exports) {
    for (const [name, value] of Object.entries(exports)) {
      // The written range is the world's to reset (restart), not a global of the driver's.
      if (!(value instanceof WebAssembly.Global) || name === WRITTEN_LOW || name === WRITTEN_HIGH) continue;
      const initial: unknown = value.value;
      // An immutable global refuses the write (the JS API has no way to ask).
      try {
        value.value = initial;
      } catch {
        continue;
      }
      this.globals.push(value);
      this.values.push(initial);
    }
  }

  get size(): number {
    return this.globals.length;
  }

  restore(): void {
    const globals = this.globals;
    for (let i = 0; i < globals.length; i++) {
      const g = globals[i]!;
      const v = this.values[i];
      if (g.value !== v) g.value = v;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Store tracking

/** Exported by trackStores's copy: the lowest address a store wrote since the host last reset
 * it (to WRITTEN_NONE_LOW), and the highest (reset to 0); i32, read unsigned. Nothing was
 * written while the lowest is above the highest. */
export const WRITTEN_LOW = "__wasm_hal_written_low";
export const WRITTEN_HIGH = "__wasm_hal_written_high";
/** WRITTEN_LOW while nothing was written: above every address. */
export const WRITTEN_NONE_LOW = 0xffffffff;

// Opcodes the tracking code uses (WebAssembly core specification 2.0, 5.4).
const END = 0x0b, IF = 0x04, EMPTY = 0x40, CALL = 0x10, LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22;
const GLOBAL_GET = 0x23, GLOBAL_SET = 0x24, I32_CONST = 0x41, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_LT_U = 0x49, I32_GT_U = 0x4b;
const BULK = 0xfc, MEMORY_INIT = 8, MEMORY_COPY = 10, MEMORY_FILL = 11;
const FUNC = 0x60, I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

/** The stores (opcodes 0x36 to 0x3e): the type of the value stored and the bytes written. */
const STORES: Readonly<Record<number, { readonly type: number; readonly bytes: number }>> = {
  0x36: { type: I32, bytes: 4 }, 0x37: { type: I64, bytes: 8 }, 0x38: { type: F32, bytes: 4 }, 0x39: { type: F64, bytes: 8 },
  0x3a: { type: I32, bytes: 1 }, 0x3b: { type: I32, bytes: 2 },
  0x3c: { type: I64, bytes: 1 }, 0x3d: { type: I64, bytes: 2 }, 0x3e: { type: I64, bytes: 4 },
};

/** A function that widens the written range and then runs one instruction of the module. */
interface Helper {
  /** (address, value) of a store; (destination, value or source, length) of a bulk op. */
  readonly params: readonly number[];
  readonly body: readonly number[];
}

/**
 * The module with every instruction that writes linear memory (the nine stores, memory.fill,
 * memory.copy, memory.init) replaced by a call of a function added for it, which widens the
 * written range (two mutable i32 globals, exported as WRITTEN_LOW and WRITTEN_HIGH) by the bytes
 * the instruction writes and then runs it, immediates unchanged:
 *
 *     (func $i32.store_offset=8 (param $addr i32) (param $value i32) (local $at i32)
 *       (local.set $at (i32.add (local.get $addr) (i32.const 8)))
 *       (if (i32.lt_u (local.get $at) (global.get $low)) (then (global.set $low (local.get $at))))
 *       (if (i32.gt_u (local.tee $at (i32.add (local.get $at) (i32.const 3))) (global.get $high))
 *         (then (global.set $high (local.get $at))))
 *       (i32.store offset=8 (local.get $addr) (local.get $value)))
 *
 * The sums are i32: one wraps only for an instruction that then traps and writes nothing (its
 * last byte would lie at 2^32 or above), and a wrapped sum only lowers the low end or leaves the
 * high one, so the range never misses a byte written. A bulk op of length 0 may widen it by a
 * byte it does not write. One function per distinct instruction (opcode and immediates); nothing
 * else changes: the same imports, calls and accesses, and the same traps (an instruction traps
 * inside its function). Null when the module holds what the decoder does not know (as
 * inlineResponder: SIMD, atomics, exceptions), more than one memory or a 64-bit one, or the
 * reserved names are taken: the world then puts back all of linear memory.
 */
export function trackStores(bytes: Uint8Array<ArrayBuffer>, what = "module"): Uint8Array<ArrayBuffer> | null {
  const sections = readModuleSections(bytes, what);
  const byId = (id: number): RawSection | undefined => sections.find((s) => s.id === id);
  const codeSec = byId(10);
  if (codeSec === undefined) return null;
  const count = (s: RawSection | undefined): number => (s === undefined ? 0 : new WasmReader(bytes, what, s.start, s.end).u32());

  const imports = readImports(bytes, what, byId(2));
  if (imports === null || imports.some((m) => m.kind === 2 && m.memory64)) return null;
  const importedFunctions = imports.filter((m) => m.kind === 0).length;
  const importedGlobals = imports.filter((m) => m.kind === 3).length;
  let memories = imports.filter((m) => m.kind === 2).length;
  const memSec = byId(5);
  if (memSec !== undefined) {
    const r = new WasmReader(bytes, what, memSec.start, memSec.end);
    for (let n = r.u32(); n > 0; n--) {
      if ((r.bytes[r.pos]! & LIMITS_64) !== 0) return null;
      skipLimits(r);
      memories++;
    }
  }
  if (memories > 1) return null;

  const typeSec = byId(1), funcSec = byId(3), globalSec = byId(6), exportSec = byId(7);
  const types = count(typeSec);
  const definedFunctions = count(funcSec);
  const definedGlobals = count(globalSec);
  const exportCount = count(exportSec);
  if (exportSec !== undefined) {
    const r = new WasmReader(bytes, what, exportSec.start, exportSec.end);
    for (let n = r.u32(); n > 0; n--) {
      const name = r.name();
      if (name === WRITTEN_LOW || name === WRITTEN_HIGH) return null;
      r.byte();
      r.u32();
    }
  }

  const low = importedGlobals + definedGlobals;
  const high = low + 1;
  /** Widens the range by the bytes from local `at` on, the last one `pushLast` (code that adds
   * to the value on the stack) further; `at` ends holding the last. */
  const widen = (at: number, pushLast: readonly number[]): number[] => [
    LOCAL_GET, ...uleb(at), GLOBAL_GET, ...uleb(low), I32_LT_U, IF, EMPTY, LOCAL_GET, ...uleb(at), GLOBAL_SET, ...uleb(low), END,
    LOCAL_GET, ...uleb(at), ...pushLast, LOCAL_TEE, ...uleb(at),
    GLOBAL_GET, ...uleb(high), I32_GT_U, IF, EMPTY, LOCAL_GET, ...uleb(at), GLOBAL_SET, ...uleb(high), END,
  ];
  const storeHelper = (instruction: readonly number[], offset: number, store: { type: number; bytes: number }): Helper => ({
    params: [I32, store.type],
    // Locals: 0 the address, 1 the value, 2 $at.
    body: [
      LOCAL_GET, 0, I32_CONST, ...sleb32(offset), I32_ADD, LOCAL_SET, 2,
      ...widen(2, [I32_CONST, ...sleb32(store.bytes - 1), I32_ADD]),
      LOCAL_GET, 0, LOCAL_GET, 1, ...instruction,
    ],
  });
  const bulkHelper = (instruction: readonly number[]): Helper => ({
    params: [I32, I32, I32],
    // Locals: 0 the destination, 1 the value (fill) or the source, 2 the length, 3 $at.
    body: [
      LOCAL_GET, 0, LOCAL_SET, 3,
      ...widen(3, [LOCAL_GET, 2, I32_ADD, I32_CONST, 1, I32_SUB]),
      LOCAL_GET, 0, LOCAL_GET, 1, LOCAL_GET, 2, ...instruction,
    ],
  });
  const helpers: Helper[] = [];
  const helperIndex = new Map<string, number>();
  /** The function index of the helper of an instruction (its bytes), made the first time. */
  const helperFor = (instruction: readonly number[], make: () => Helper): number => {
    const key = instruction.join(" ");
    let k = helperIndex.get(key);
    if (k === undefined) {
      k = helpers.push(make()) - 1;
      helperIndex.set(key, k);
    }
    return importedFunctions + definedFunctions + k;
  };

  // A coverage build's counter increments are left as they are: the world zeroes the counters
  // itself after every execution (world.ts restoreMemory), and tracking them widened the range
  // to the counters' region at every edge, costing a third of an execution (docs/fuzzing.md,
  // Coverage). Only the stores the pass emits, recognised by their instructions
  // (counterStoreReach), and only inside the region its map declares.
  const coverage = sections.find((s) => s.id === 0 && s.customName === COVERAGE_SECTION);
  let counters: { start: number; end: number } | null = null;
  if (coverage !== undefined) {
    const r = new WasmReader(bytes, what, coverage.start, coverage.end);
    r.name();
    const map = JSON.parse(new TextDecoder().decode(bytes.subarray(r.pos, coverage.end))) as { base?: unknown; count?: unknown };
    if (typeof map.base === "number" && typeof map.count === "number") counters = { start: map.base, end: map.base + map.count };
  }
  /** The start of each instruction of the body being read, for counterStoreReach. */
  const starts: number[] = [];

  const bodies: number[][] = [];
  {
    const r = new WasmReader(bytes, what, codeSec.start, codeSec.end);
    const n = r.u32();
    if (n !== definedFunctions) r.fail(`the code section has ${n} bodies, the function section ${definedFunctions} functions: expected as many`);
    for (let f = 0; f < n; f++) {
      const size = r.u32();
      const end = r.pos + size;
      let copied = r.pos;
      const body: number[] = [];
      /** The instruction [at, r.pos) becomes a call of `func`. */
      const replace = (at: number, func: number): void => {
        for (let i = copied; i < at; i++) body.push(bytes[i]!);
        body.push(CALL, ...uleb(func));
        copied = r.pos;
      };
      // The local declarations: no instruction there.
      for (let g = r.u32(); g > 0; g--) {
        r.u32();
        skipValType(r);
      }
      starts.length = 0;
      while (r.pos < end) {
        const at = r.pos;
        if (counters !== null) starts.push(at);
        const op = r.byte();
        const store = STORES[op];
        if (store !== undefined) {
          if ((r.u32() & 0x40) !== 0) return null; // the alignment flags a memory index
          const offset = r.u32();
          if (counters !== null && op === 0x3a) {
            const reach = counterStoreReach(bytes, starts, r.pos);
            if (reach !== null && reach.first >= counters.start && reach.last < counters.end) continue;
          }
          const instruction = Array.from(bytes.subarray(at, r.pos));
          replace(at, helperFor(instruction, () => storeHelper(instruction, offset, store)));
          continue;
        }
        if (op === BULK) {
          const sub = r.u32();
          if (sub === MEMORY_INIT || sub === MEMORY_COPY || sub === MEMORY_FILL) {
            if (sub === MEMORY_INIT) r.u32(); // the data segment
            if (r.u32() !== 0 || (sub === MEMORY_COPY && r.u32() !== 0)) return null; // another memory
            const instruction = Array.from(bytes.subarray(at, r.pos));
            replace(at, helperFor(instruction, () => bulkHelper(instruction)));
            continue;
          }
          r.pos = at + 1;
        }
        if (!skipImmediates(r, op)) return null;
      }
      for (let i = copied; i < end; i++) body.push(bytes[i]!);
      bodies.push(body);
    }
  }

  // The helpers' types, one per parameter list, after the module's.
  const helperTypes: string[] = [];
  const typeOf = (params: readonly number[]): number => {
    const key = params.join(" ");
    const t = helperTypes.indexOf(key);
    return types + (t >= 0 ? t : helperTypes.push(key) - 1);
  };
  const helperTypeIndices = helpers.map((h) => typeOf(h.params));
  const typeEntries = helperTypes.flatMap((key) => {
    const params = key.split(" ").map(Number);
    return [FUNC, ...sized(params), 0];
  });
  const helperBodies = helpers.flatMap((h) => sized([1, 1, I32, ...h.body, END])); // one group of locals: the i32 $at
  const replaced = new Map<number, number[]>([
    [1, section(1, [...uleb(types + helperTypes.length), ...sectionEntries(bytes, what, typeSec), ...typeEntries])],
    [3, section(3, [...uleb(definedFunctions + helpers.length), ...sectionEntries(bytes, what, funcSec), ...helperTypeIndices.flatMap((t) => uleb(t))])],
    [6, section(6, [...uleb(definedGlobals + 2), ...sectionEntries(bytes, what, globalSec),
      I32, 1, I32_CONST, ...sleb32(WRITTEN_NONE_LOW), END, I32, 1, I32_CONST, 0, END])],
    [7, section(7, [...uleb(exportCount + 2), ...sectionEntries(bytes, what, exportSec),
      ...nameBytes(WRITTEN_LOW), 0x03, ...uleb(low), ...nameBytes(WRITTEN_HIGH), 0x03, ...uleb(high)])],
    [10, section(10, [...uleb(bodies.length + helpers.length), ...bodies.flatMap(sized), ...helperBodies])],
  ]);
  const binary = assembleModule(bytes, sections, replaced);
  if (!WebAssembly.validate(binary)) throw new Error(`${what}: the world's copy with its stores tracked does not validate (a bug in harness/fuzz/module-globals.ts)`);
  return binary;
}
