// The fuzz world runs every execution of a run on one instance and puts back between them what
// the module may have changed: linear memory, and its mutable globals. A host sees a global only
// if the module exports it, and AssemblyScript makes every module-level `let` a global that it does
// not export: a driver keeping an `initialized` flag or a ring index there would carry it from one
// execution into the next, so that a finding did not replay alone and a shrunk case failed
// otherwise. The world therefore instantiates a copy of the module whose export section also
// exports each mutable global the module defines, under a reserved name; nothing else changes (the
// same code, the same imports, the same accesses in the same order).
import { compileModuleBytes, readModuleFile } from "../hal.js";
import { WasmReader, readModuleSections, skipLimits, uleb, type RawSection } from "../wasm-binary.js";
import { inlineResponder } from "./repeat-responder.js";

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
    const name = new TextEncoder().encode(added[k]!);
    entries.push(...uleb(name.length), ...name, 0x03, ...uleb(g));
  });
  const body = [...uleb(count + toExport.length), ...entries];
  const newSection = Uint8Array.from([7, ...uleb(body.length), ...body]);
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
    for (const value of Object.values(exports)) {
      if (!(value instanceof WebAssembly.Global)) continue;
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
