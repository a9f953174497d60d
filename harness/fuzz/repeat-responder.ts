// The fuzz world's repeated-read responder. While the world has armed it with a read that
// repeats for good (a register its device declared stable forever: a stuck flag, a FIFO that
// never fills), it answers the repeats itself, so that a poll running to its driver's limit (up
// to four million reads) stays inside WebAssembly instead of crossing into JavaScript on every
// read; everything else goes on to the world's mmio_read.
//
// It comes in two forms. Inlined (inlineResponder): the world's copy of the driver module checks
// the armed read at each of its calls of env.mmio_read, with four globals of its own, so that a
// repeat costs a few instructions and no call. Standalone (repeatResponder), for a module the
// inlining cannot decode (SIMD, atomics, exceptions): a module of 172 bytes whose mmio_read the
// driver module imports as env.mmio_read (a host may satisfy an import with a function of another
// module), a call per repeat. Either way the driver module imports and calls what the ABI says,
// in the same order, with the same arguments.
//
// The world takes the count of answered repeats back (take) before any other access, at the end
// of every call and whenever the responder passes a read on, and accounts for them as its own
// repeated-read path does (bus budget, trace counts, clock), so nothing it records changes.

import { WasmReader, assembleModule, readImports, sized, localsWithGroup, nameBytes, readBodyLocals, readModuleSections, section, sectionEntries, skipImmediates, skipValType, uleb } from "../wasm-binary.js";

/** What the world arms and takes back, in either form. */
export interface RepeatAnswers {
  /** Answers up to `repeats` reads of `addr` at `width` with `value`. */
  readonly arm: (addr: number, width: number, value: number, repeats: number) => void;
  /** The repeats not answered, and disarms. */
  readonly take: () => number;
}

/** The standalone responder's exports. */
export interface RepeatResponder extends RepeatAnswers {
  /** The driver's mmio_read: a repeat of the armed read while repeats are left, else `read`. */
  readonly mmio_read: (addr: number, width: number) => number;
}

// Opcodes used below (WebAssembly core specification 1.0, 5.4).
const BLOCK = 0x02, END = 0x0b, BR_IF = 0x0d, RETURN = 0x0f, CALL = 0x10;
const LOCAL_GET = 0x20, GLOBAL_GET = 0x23, GLOBAL_SET = 0x24, I32_CONST = 0x41;
const BR = 0x0c, LOCAL_SET = 0x21;
const I32_EQZ = 0x45, I32_NE = 0x47, I32_SUB = 0x6b;
const I32 = 0x7f, EMPTY = 0x40, FUNC = 0x60;

/** Globals of the responder, by index. */
const G_ADDR = 0, G_WIDTH = 1, G_VALUE = 2, G_LEFT = 3;

function body(code: number[]): number[] {
  return sized([0, ...code, END]); // no locals
}

function encode(): Uint8Array<ArrayBuffer> {
  const types = [3,
    FUNC, 2, I32, I32, 1, I32, //         0: (addr, width) -> value
    FUNC, 4, I32, I32, I32, I32, 0, //    1: arm
    FUNC, 0, 1, I32]; //                  2: take
  const imports = [1, ...nameBytes("host"), ...nameBytes("read"), 0x00, 0];
  const functions = [3, 0, 1, 2];
  const globals = [4, ...[0, 1, 2, 3].flatMap(() => [I32, 1, I32_CONST, 0, END])];
  const exports = [3, ...nameBytes("mmio_read"), 0x00, 1, ...nameBytes("arm"), 0x00, 2, ...nameBytes("take"), 0x00, 3];
  const mmioRead = body([
    BLOCK, EMPTY,
    LOCAL_GET, 0, GLOBAL_GET, G_ADDR, I32_NE, BR_IF, 0,
    LOCAL_GET, 1, GLOBAL_GET, G_WIDTH, I32_NE, BR_IF, 0,
    GLOBAL_GET, G_LEFT, I32_EQZ, BR_IF, 0,
    GLOBAL_GET, G_LEFT, I32_CONST, 1, I32_SUB, GLOBAL_SET, G_LEFT,
    GLOBAL_GET, G_VALUE, RETURN,
    END,
    LOCAL_GET, 0, LOCAL_GET, 1, CALL, 0,
  ]);
  const arm = body([LOCAL_GET, 0, GLOBAL_SET, G_ADDR, LOCAL_GET, 1, GLOBAL_SET, G_WIDTH, LOCAL_GET, 2, GLOBAL_SET, G_VALUE, LOCAL_GET, 3, GLOBAL_SET, G_LEFT]);
  const take = body([GLOBAL_GET, G_LEFT, I32_CONST, 0, GLOBAL_SET, G_LEFT]);
  const code = [3, ...mmioRead, ...arm, ...take];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(2, imports), ...section(3, functions),
    ...section(6, globals), ...section(7, exports), ...section(10, code),
  ]);
}

let compiled: WebAssembly.Module | null = null;

/** A responder whose passed-on reads go to `read`. */
export function repeatResponder(read: (addr: number, width: number) => number): RepeatResponder {
  compiled ??= new WebAssembly.Module(encode());
  return new WebAssembly.Instance(compiled, { host: { read } }).exports as unknown as RepeatResponder;
}

/** Most repeats one arm hands over (the responder counts in an i32). */
export const RESPONDER_MAX_REPEATS = 2 ** 30;

/** The exports an inlined responder adds to the world's copy of a module (reserved names, as
 * module-globals.ts's are). */
export const INLINED_ARM = "__wasm_hal_repeat_arm";
export const INLINED_TAKE = "__wasm_hal_repeat_take";

/** Whether a compiled module carries the inlined responder (inlineResponder made it). */
export function hasInlinedResponder(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.exports(module).some((e) => e.name === INLINED_ARM);
}

/** The arm and take of an instance of a module inlineResponder made, or null. */
export function inlinedAnswers(exports: WebAssembly.Exports): RepeatAnswers | null {
  const arm = exports[INLINED_ARM];
  const take = exports[INLINED_TAKE];
  if (typeof arm !== "function" || typeof take !== "function") return null;
  return { arm: arm as RepeatAnswers["arm"], take: take as RepeatAnswers["take"] };
}

/**
 * The module with the responder inlined: four mutable i32 globals (the armed address, width and
 * value, and the repeats left), two exports that arm and take as the standalone responder's do,
 * and each `call` of the env.mmio_read import replaced by
 *
 *     (local.set $width) (local.set $addr)
 *     (block (result i32)
 *       (block
 *         (br_if 0 (i32.eqz (global.get $left)))
 *         (br_if 0 (i32.ne (local.get $addr) (global.get $addr)))
 *         (br_if 0 (i32.ne (local.get $width) (global.get $width)))
 *         (global.set $left (i32.sub (global.get $left) (i32.const 1)))
 *         (br 1 (global.get $value)))
 *       (call $mmio_read (local.get $addr) (local.get $width)))
 *
 * with two i32 locals added to each function that reads. Nothing else changes: the same imports,
 * the same calls of them in the same order; the code offsets move, so a source map URL is left
 * out. Null when there is nothing to inline or the module holds what this decoder does not know
 * (an opcode beyond MVP, sign extension, saturating truncation, bulk memory and reference types;
 * a type that is not a function type; the reserved export names already taken).
 */
export function inlineResponder(bytes: Uint8Array<ArrayBuffer>, what = "module"): Uint8Array<ArrayBuffer> | null {
  const sections = readModuleSections(bytes, what);
  const byId = (id: number) => sections.find((s) => s.id === id);
  const typeSec = byId(1);
  const codeSec = byId(10);
  if (typeSec === undefined || codeSec === undefined) return null;

  // Types: the number of parameters of each, and which is (i32, i32) -> i32.
  const params: number[] = [];
  const readType: boolean[] = [];
  {
    const r = new WasmReader(bytes, what, typeSec.start, typeSec.end);
    for (let n = r.u32(); n > 0; n--) {
      if (r.byte() !== FUNC) return null;
      const from = r.pos;
      const p = r.u32();
      for (let i = 0; i < p; i++) skipValType(r);
      const results = r.u32();
      for (let i = 0; i < results; i++) skipValType(r);
      params.push(p);
      const t = bytes.subarray(from, r.pos);
      readType.push(t.length === 5 && t[0] === 2 && t[1] === I32 && t[2] === I32 && t[3] === 1 && t[4] === I32);
    }
  }

  // Imports: the mmio_read function's index, and how many functions and globals come first.
  const imports = readImports(bytes, what, byId(2));
  if (imports === null) return null;
  const functionImports = imports.filter((m) => m.kind === 0);
  const importedFunctions = functionImports.length;
  const importedGlobals = imports.filter((m) => m.kind === 3).length;
  const mmioRead = functionImports.findIndex((m) => m.module === "env" && m.name === "mmio_read" && readType[m.type] === true);
  if (mmioRead < 0) return null;

  const funcTypes: number[] = [];
  const funcSec = byId(3);
  if (funcSec !== undefined) {
    const r = new WasmReader(bytes, what, funcSec.start, funcSec.end);
    for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
  }
  const globalSec = byId(6);
  const definedGlobals = globalSec === undefined ? 0 : new WasmReader(bytes, what, globalSec.start, globalSec.end).u32();
  const exportSec = byId(7);
  let exportCount = 0;
  if (exportSec !== undefined) {
    const r = new WasmReader(bytes, what, exportSec.start, exportSec.end);
    exportCount = r.u32();
    for (let i = 0; i < exportCount; i++) {
      const name = r.name();
      if (name === INLINED_ARM || name === INLINED_TAKE) return null;
      r.byte();
      r.u32();
    }
  }

  const gAddr = importedGlobals + definedGlobals;
  const gWidth = gAddr + 1, gValue = gAddr + 2, gLeft = gAddr + 3;
  const bodies: number[][] = [];
  let calls = 0;
  {
    const r = new WasmReader(bytes, what, codeSec.start, codeSec.end);
    const n = r.u32();
    if (n !== funcTypes.length) r.fail(`the code section has ${n} bodies, the function section ${funcTypes.length} functions: expected as many`);
    for (let f = 0; f < n; f++) {
      const size = r.u32();
      const start = r.pos;
      const end = start + size;
      const locals = readBodyLocals(r);
      const sites: { at: number; end: number }[] = [];
      while (r.pos < end) {
        const at = r.pos;
        const op = r.byte();
        if (op === CALL) {
          if (r.u32() === mmioRead) sites.push({ at, end: r.pos });
        } else if (!skipImmediates(r, op)) {
          return null;
        }
      }
      if (sites.length === 0) {
        bodies.push(Array.from(bytes.subarray(start, end)));
        continue;
      }
      calls += sites.length;
      const addr = params[funcTypes[f]!]! + locals.count;
      const width = addr + 1;
      const check = [
        LOCAL_SET, ...uleb(width), LOCAL_SET, ...uleb(addr),
        BLOCK, I32,
        BLOCK, EMPTY,
        GLOBAL_GET, ...uleb(gLeft), I32_EQZ, BR_IF, 0,
        LOCAL_GET, ...uleb(addr), GLOBAL_GET, ...uleb(gAddr), I32_NE, BR_IF, 0,
        LOCAL_GET, ...uleb(width), GLOBAL_GET, ...uleb(gWidth), I32_NE, BR_IF, 0,
        GLOBAL_GET, ...uleb(gLeft), I32_CONST, 1, I32_SUB, GLOBAL_SET, ...uleb(gLeft),
        GLOBAL_GET, ...uleb(gValue), BR, 1,
        END,
        LOCAL_GET, ...uleb(addr), LOCAL_GET, ...uleb(width), CALL, ...uleb(mmioRead),
        END,
      ];
      const out = localsWithGroup(bytes, locals, 2, I32);
      let pos = locals.code;
      for (const site of sites) {
        out.push(...bytes.subarray(pos, site.at), ...check);
        pos = site.end;
      }
      out.push(...bytes.subarray(pos, end));
      bodies.push(out);
    }
  }
  if (calls === 0) return null;

  // Two new types and functions, four globals, two exports.
  const typeCount = params.length;
  const armType = typeCount, takeType = typeCount + 1;
  const armFunc = importedFunctions + funcTypes.length, takeFunc = armFunc + 1;
  const armBody = body([LOCAL_GET, 0, GLOBAL_SET, ...uleb(gAddr), LOCAL_GET, 1, GLOBAL_SET, ...uleb(gWidth), LOCAL_GET, 2, GLOBAL_SET, ...uleb(gValue), LOCAL_GET, 3, GLOBAL_SET, ...uleb(gLeft)]);
  const takeBody = body([GLOBAL_GET, ...uleb(gLeft), I32_CONST, 0, GLOBAL_SET, ...uleb(gLeft)]);
  const tail = (s: { start: number; end: number } | undefined): number[] => sectionEntries(bytes, what, s);
  const replaced = new Map<number, number[]>([
    [1, section(1, [...uleb(typeCount + 2), ...tail(typeSec), FUNC, 4, I32, I32, I32, I32, 0, FUNC, 0, 1, I32])],
    [3, section(3, [...uleb(funcTypes.length + 2), ...funcTypes.flatMap((t) => uleb(t)), ...uleb(armType), ...uleb(takeType)])],
    [6, section(6, [...uleb(definedGlobals + 4), ...tail(globalSec), ...[0, 1, 2, 3].flatMap(() => [I32, 1, I32_CONST, 0, END])])],
    [7, section(7, [...uleb(exportCount + 2), ...tail(exportSec), ...nameBytes(INLINED_ARM), 0x00, ...uleb(armFunc), ...nameBytes(INLINED_TAKE), 0x00, ...uleb(takeFunc)])],
    [10, section(10, [...uleb(bodies.length + 2), ...bodies.flatMap(sized), ...armBody, ...takeBody])],
  ]);
  // Sections in the module's order; a global or export section the module lacks goes where the
  // order puts it.
  const binary = assembleModule(bytes, sections, replaced);
  if (!WebAssembly.validate(binary)) throw new Error(`${what}: the world's copy with the repeat responder inlined does not validate (a bug in harness/fuzz/repeat-responder.ts)`);
  return binary;
}
