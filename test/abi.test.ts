import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { abiViolations, readModuleAbi } from "../harness/wasm-abi.js";
import { wasmPath } from "../harness/hal.js";
import { packageProject } from "../harness/project.js";

// Hand-assembled modules, byte by byte, so that the checker is tested against known input.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
function section(id: number, body: number[]): number[] {
  return [id, body.length, ...body];
}
function name(s: string): number[] {
  return [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
}
const I32 = 0x7f;
/** types: 0 (i32,i32)->i32, 1 (i32,i32,i32)->(), 2 (i32)->(), 3 ()->() , 4 (i64)->i32 */
const TYPES = section(1, [5,
  0x60, 2, I32, I32, 1, I32,
  0x60, 3, I32, I32, I32, 0,
  0x60, 1, I32, 0,
  0x60, 0, 0,
  0x60, 1, 0x7e, 1, I32,
]);
function importFn(module: string, field: string, type: number): number[] {
  return [...name(module), ...name(field), 0x00, type];
}
function moduleWith(imports: number[][], exportsBody: number[] = [], functions: number[] = []): Uint8Array {
  const importSec = section(2, [imports.length, ...imports.flat()]);
  const funcSec = functions.length ? section(3, [functions.length, ...functions]) : [];
  const memSec = section(5, [1, 0x00, 1]);
  const exps = [[...name("memory"), 0x02, 0], ...(exportsBody.length ? [exportsBody] : [])];
  return new Uint8Array([...HEADER, ...TYPES, ...importSec, ...funcSec, ...memSec, ...section(7, [exps.length, ...exps.flat()])]);
}
const GOOD_IMPORTS = [importFn("env", "mmio_read", 0), importFn("env", "mmio_write", 1), importFn("env", "barrier", 2)];

describe("the ABI checker", () => {
  it("accepts exactly the three imports with their signatures", () => {
    const abi = readModuleAbi(moduleWith(GOOD_IMPORTS));
    expect(abi.imports.map((i) => `${i.module}.${i.name}${i.signature}`)).toEqual([
      "env.mmio_read(i32,i32)->i32",
      "env.mmio_write(i32,i32,i32)->()",
      "env.barrier(i32)->()",
    ]);
    expect(abiViolations(abi)).toEqual([]);
  });

  it("refuses env.abort, a missing import and a wrong signature", () => {
    const abi = readModuleAbi(moduleWith([importFn("env", "mmio_read", 1), importFn("env", "abort", 3), importFn("env", "barrier", 2)]));
    expect(abiViolations(abi)).toEqual([
      "import env.mmio_read has function (i32,i32,i32)->(), the ABI says function (i32,i32)->i32",
      "import env.abort (function ()->()) is not part of the ABI",
      "import env.mmio_write is missing",
    ]);
  });

  it("refuses a WASI import and an export that takes an i64", () => {
    const wasi = importFn("wasi_snapshot_preview1", "fd_write", 0);
    // Function index 4 is the first defined one, after the four imported functions.
    const abi = readModuleAbi(moduleWith([...GOOD_IMPORTS, wasi], [...name("big"), 0x00, 4], [4]));
    expect(abiViolations(abi)).toEqual([
      "import wasi_snapshot_preview1.fd_write (function (i32,i32)->i32) is not part of the ABI",
      "export big has signature (i64)->i32; exports take and return only i32",
    ]);
  });

  it("names the file and byte offset of a truncated module", () => {
    const bytes = moduleWith(GOOD_IMPORTS).slice(0, 20);
    expect(() => readModuleAbi(bytes, "cut.wasm")).toThrow(/^cut\.wasm: byte \d+: /);
  });
});

// Every module of the package, each family's own (a board links only its family's drivers).
const MODULES = packageProject().moduleNames().flatMap((name) => (["release", "debug"] as const).map((variant) => [name, variant] as const));

describe.each(MODULES)("module %s (%s)", (name, variant) => {
  const path = packageProject().modulePath(name, variant);
  const abi = readModuleAbi(readFileSync(path), path);

  it("imports only env.mmio_read, env.mmio_write and env.barrier, with the ABI's signatures", () => {
    expect(abiViolations(abi)).toEqual([]);
    expect(abi.imports.map((i) => `${i.module}.${i.name}`).sort()).toEqual(["env.barrier", "env.mmio_read", "env.mmio_write"]);
  });

  if (variant === "release") {
    it("keeps its drivers under 8 KiB, the budget a microcontroller board plans for", () => {
      expect(readFileSync(path).length).toBeLessThan(8 * 1024);
    });
  }

  it("exports the contract's version and the scratch buffer as i32 functions", () => {
    const sigs = Object.fromEntries(abi.exports.map((e) => [e.name, e.signature]));
    expect(sigs).toMatchObject({ hal_abi_version: "()->i32", hal_scratch: "()->i32", hal_scratch_size: "()->i32" });
  });
});

describe("the PrimeCell module, build/hal.wasm", () => {
  const abi = readModuleAbi(readFileSync(wasmPath("release")));

  it("exports the PL011 driver as i32 functions", () => {
    const sigs = Object.fromEntries(abi.exports.map((e) => [e.name, e.signature]));
    expect(sigs).toMatchObject({
      pl011_init: "(i32,i32,i32,i32)->i32",
      pl011_write: "(i32,i32,i32)->i32",
      pl011_read: "(i32,i32,i32)->i32",
      pl011_flush: "(i32)->i32",
    });
  });

  it("links no STM32F4 driver, and the STM32F4 module no PrimeCell one", () => {
    const stm32 = readModuleAbi(readFileSync(packageProject().modulePath("stm32f4", "release")));
    expect(abi.exports.filter((e) => e.name.startsWith("stm32_"))).toEqual([]);
    expect(stm32.exports.filter((e) => /^pl0\d\d_/.test(e.name))).toEqual([]);
  });
});
