// Loads build/hal.wasm (or the debug build) against a Bus and calls its exports. Every call is
// marked in the trace; a trap or a bus fault inside the module becomes a HalError that carries
// the export, its arguments and the tail of the trace. Nothing is swallowed.
import { readFileSync, existsSync, statSync } from "node:fs";
import { Bus, BusFault } from "./bus.js";
import type { Registry } from "./registry.js";
import { packageProject, packageRegistry, packageRoot } from "./project.js";
import { formatTail } from "./trace-text.js";
import type { Interrupts } from "./interrupts.js";

export { packageRoot };

export type HalVariant = "release" | "debug";

/** The exported API of hal.wasm (docs/api.md). Every function takes and returns i32/u32. */
export interface HalExports {
  readonly memory: WebAssembly.Memory;
  hal_abi_version(): number;
  hal_scratch(): number;
  hal_scratch_size(): number;
  [name: string]: unknown;
}

/** The package's own module (build/hal.wasm, or the debug build): the default module of its
 * wasm-hal.config.json. */
export function wasmPath(variant: HalVariant = "release"): string {
  return packageProject().modulePath(undefined, variant);
}

/** A module file that is missing or is not a WebAssembly module. */
export class ModuleFileError extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(`${path}: ${problem}`);
    this.name = "ModuleFileError";
  }
}

const compiled = new Map<string, WebAssembly.Module>();

/** A module file's bytes: the file exists, is not a folder and starts with the WebAssembly
 * header. `buildHint` says how to make a missing file. */
export function readModuleFile(path: string, buildHint = "run `npm run build` first"): Uint8Array<ArrayBuffer> {
  if (!existsSync(path)) throw new ModuleFileError(path, `does not exist: ${buildHint}`);
  if (statSync(path).isDirectory()) throw new ModuleFileError(path, "is a folder: expected a .wasm file");
  const bytes = new Uint8Array(readFileSync(path));
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new ModuleFileError(path, "is not a WebAssembly module (no \\0asm header): expected a .wasm file built by asc");
  return bytes;
}

/** Compiles the bytes of the module file `path`, naming the file when they are not valid. */
export function compileModuleBytes(path: string, bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes);
  } catch (e) {
    throw new ModuleFileError(path, `is not a valid WebAssembly module: ${(e as Error).message}`);
  }
}

/** Compiles a module file once per process. `buildHint` says how to make a missing file. */
export function compileModule(path: string, buildHint = "run `npm run build` first"): WebAssembly.Module {
  let module = compiled.get(path);
  if (module === undefined) {
    module = compileModuleBytes(path, readModuleFile(path, buildHint));
    compiled.set(path, module);
  }
  return module;
}


/** A module call that did not return: a trap in the module or a bus fault. */
export class HalError extends Error {
  constructor(
    message: string,
    readonly exportName: string,
    readonly args: readonly number[],
    override readonly cause: unknown,
    readonly traceTail: string,
  ) {
    super(message);
    this.name = "HalError";
  }
}

/** Lines of trace shown with an error: a collapsed poll counts as one. */
export const TRACE_TAIL_LINES = 12;

export interface HalOptions {
  /** The registry of the module's project (its status codes and export signatures). */
  readonly registry?: Registry;
  /** What to do when the module file is missing (`npm run build:wasm`). */
  readonly buildHint?: string;
}

export class Hal {
  /**
   * When set to an array, every Hal constructed is added to it. The test suite's setup file
   * (test/setup.ts) uses this to lint the trace of every Hal a test made against the register
   * maps after the test, so the lint is on by default in tests.
   */
  static created: Hal[] | null = null;

  readonly instance: WebAssembly.Instance;
  readonly exports: HalExports;
  /** False for a Hal whose trace breaks register rules on purpose (a broken driver, a fuzzer
   * feeding impossible values): the test suite then skips its lint. */
  lintInTests = true;

  /** How calls and results print, and which status codes exist: the module's project's. */
  readonly registry: Registry;

  /** The interrupt delivery attached to this Hal (new Interrupts(hal, controller)), or null:
   * pending lines are then delivered before and after every call. */
  interrupts: Interrupts | null = null;

  constructor(readonly bus: Bus, readonly variant: HalVariant = "release", modulePath = wasmPath(variant), options: HalOptions = {}) {
    this.instance = new WebAssembly.Instance(compileModule(modulePath, options.buildHint), bus.imports);
    this.exports = this.instance.exports as unknown as HalExports;
    this.registry = options.registry ?? bus.trace.registry ?? packageRegistry();
    bus.trace.registry = this.registry;
    Hal.created?.push(this);
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
  }

  get scratch(): number {
    return this.exports.hal_scratch();
  }

  get scratchSize(): number {
    return this.exports.hal_scratch_size();
  }

  /** Calls an export with integer arguments; returns its i32 result. */
  call(name: string, ...args: number[]): number {
    const fn = this.exports[name];
    if (typeof fn !== "function") {
      const names = Object.keys(this.exports).filter((k) => typeof this.exports[k] === "function");
      throw new Error(`the module has no export ${name} (exports: ${names.join(", ")})`);
    }
    const expected = (fn as (...a: number[]) => number).length;
    if (args.length !== expected) throw new RangeError(`${name} takes ${expected} argument${expected === 1 ? "" : "s"}, got ${args.length}`);
    for (const a of args) {
      if (!Number.isInteger(a) || a < -(2 ** 31) || a >= 2 ** 32) throw new RangeError(`${name}: argument ${a} is not a 32-bit integer`);
    }
    const trace = this.bus.trace;
    const interrupts = this.interrupts;
    if (interrupts !== null) interrupts.betweenCalls();
    const index = trace.beginCall(name, args);
    let result: number;
    try {
      result = (fn as (...a: number[]) => number)(...args);
    } catch (e) {
      trace.endCall(index, undefined);
      const tail = formatTail(this.bus, TRACE_TAIL_LINES);
      const what = e instanceof BusFault ? e.message : e instanceof WebAssembly.RuntimeError ? `trap in the module: ${e.message}` : String(e);
      throw new HalError(`${this.registry.formatCall(name, args, this.bus.regions)} did not return: ${what}\nlast accesses:\n${tail}`, name, args, e, tail);
    }
    trace.endCall(index, result);
    if (interrupts !== null) interrupts.betweenCalls();
    return result;
  }

  /** Copies bytes into linear memory at `ptr` (the scratch buffer by default). */
  writeBytes(bytes: ArrayLike<number>, ptr = this.scratch): number {
    const mem = new Uint8Array(this.memory.buffer);
    if (!Number.isInteger(ptr) || ptr < 0 || ptr + bytes.length > mem.length) throw new RangeError(`${bytes.length} bytes at ${ptr} do not fit linear memory (${mem.length} bytes)`);
    mem.set(Array.from(bytes), ptr);
    return ptr;
  }

  /** A copy of `length` bytes of linear memory at `ptr`. */
  readBytes(ptr: number, length: number): Uint8Array {
    const mem = new Uint8Array(this.memory.buffer);
    if (!Number.isInteger(ptr) || !Number.isInteger(length) || ptr < 0 || length < 0 || ptr + length > mem.length) throw new RangeError(`${length} bytes at ${ptr} lie outside linear memory (${mem.length} bytes)`);
    return mem.slice(ptr, ptr + length);
  }
}
