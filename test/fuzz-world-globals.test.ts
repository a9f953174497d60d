// The fuzz world puts a module's mutable globals back between executions, as it does linear
// memory (harness/fuzz/module-globals.ts): a driver that keeps state in a module-level `let`
// starts every execution as instantiated.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TempFolders } from "./temp-folders.js";
import { World } from "../harness/fuzz/world.js";
import { GLOBAL_EXPORT_PREFIX, exportMutableGlobals } from "../harness/fuzz/module-globals.js";
import { readModuleAbi } from "../harness/wasm-abi.js";
import { nameBytes, section, sized, vector } from "../harness/wasm-binary.js";

const I32 = 0x7f;


/**
 * A driver in the ABI's shape that counts its calls in a global it does not export:
 * bump(base) adds one to the count, writes it to `base` and returns it. It also has an immutable
 * global (7) and, with `importGlobal`, imports one, which shifts the index of its own.
 */
function counterModule(options: { exportCount?: boolean; importGlobal?: boolean; noExports?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const types = vector([
    [0x60, 2, I32, I32, 1, I32], // mmio_read
    [0x60, 3, I32, I32, I32, 0], // mmio_write
    [0x60, 1, I32, 0], //           barrier
    [0x60, 1, I32, 1, I32], //      bump
  ]);
  const importList = [
    [...nameBytes("env"), ...nameBytes("mmio_read"), 0x00, 0],
    [...nameBytes("env"), ...nameBytes("mmio_write"), 0x00, 1],
    [...nameBytes("env"), ...nameBytes("barrier"), 0x00, 2],
  ];
  if (options.importGlobal === true) importList.push([...nameBytes("env"), ...nameBytes("limit"), 0x03, I32, 0]);
  const own = options.importGlobal === true ? 1 : 0; // index of the counter
  const globals = vector([
    [I32, 1, 0x41, 0, 0x0b], //   the counter, mutable, 0
    [I32, 0, 0x41, 7, 0x0b], //   immutable 7
  ]);
  const exportList = options.noExports === true ? [] : [[...nameBytes("memory"), 0x02, 0], [...nameBytes("bump"), 0x00, 3]];
  if (options.exportCount === true) exportList.push([...nameBytes("count"), 0x03, own]);
  const bump = [0,
    0x23, own, 0x41, 1, 0x6a, 0x24, own, //        count += 1
    0x20, 0, 0x23, own, 0x41, 4, 0x10, 1, //        mmio_write(base, count, 4)
    0x23, own, 0x0b];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(2, vector(importList)), ...section(3, vector([[3]])),
    ...section(5, vector([[0x00, 1]])), ...section(6, globals),
    ...(exportList.length === 0 ? [] : section(7, vector(exportList))),
    ...section(10, vector([sized(bump)])),
  ]);
}

const folders = new TempFolders();
afterAll(() => folders.removeAll());
const folder = folders.make("wasm-hal-globals-");
let files = 0;

function moduleFile(bytes: Uint8Array): string {
  const path = join(folder, `counter-${files++}.wasm`);
  writeFileSync(path, bytes);
  return path;
}

const BASE = 0x4000_0000;

function counterWorld(bytes: Uint8Array): { world: World; written: number[] } {
  const world = new World(moduleFile(bytes));
  const written: number[] = [];
  world.mapPlain("dev", BASE, 0x1000, { read: () => 0, write: (_offset, value) => { written.push(value); } });
  return { world, written };
}

describe("the fuzz world's module globals", () => {
  it("a count kept in an unexported global starts from its initial value in every execution", () => {
    const { world, written } = counterWorld(counterModule());
    for (let execution = 0; execution < 3; execution++) {
      world.restart();
      expect(world.call("bump", [BASE], 100).result).toBe(1);
      expect(world.call("bump", [BASE], 100).result).toBe(2);
    }
    expect(written).toEqual([1, 2, 1, 2, 1, 2]);
  });

  it("a global the module exports itself is put back too", () => {
    const { world } = counterWorld(counterModule({ exportCount: true }));
    world.call("bump", [BASE], 100);
    world.restart();
    expect(world.call("bump", [BASE], 100).result).toBe(1);
  });

  it("the rewrite adds one export per mutable global it defines and does not export, and changes nothing else", () => {
    const plain = counterModule();
    const { bytes, added } = exportMutableGlobals(plain);
    expect(added).toEqual([`${GLOBAL_EXPORT_PREFIX}0`]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const before = readModuleAbi(plain);
    const after = readModuleAbi(bytes);
    expect(after.imports).toEqual(before.imports);
    expect(after.exports.map((e) => e.name)).toEqual([...before.exports.map((e) => e.name), `${GLOBAL_EXPORT_PREFIX}0`]);
    // The code section, last in the module (id, size 0x15, 21 bytes), is the same bytes.
    const tail = (b: Uint8Array): string => Buffer.from(b.subarray(b.length - 23)).toString("hex");
    expect(tail(plain).slice(0, 4)).toBe("0a15");
    expect(tail(bytes)).toBe(tail(plain));
  });

  it("indexes globals after the imported ones, creates an export section where there is none, and leaves a module without mutable globals alone", () => {
    expect(exportMutableGlobals(counterModule({ importGlobal: true })).added).toEqual([`${GLOBAL_EXPORT_PREFIX}1`]);
    const bare = exportMutableGlobals(counterModule({ noExports: true }));
    expect(WebAssembly.validate(bare.bytes)).toBe(true);
    expect(readModuleAbi(bare.bytes).exports.map((e) => `${e.kind} ${e.name}`)).toEqual([`global ${GLOBAL_EXPORT_PREFIX}0`]);
    const exportedAlready = counterModule({ exportCount: true });
    const same = exportMutableGlobals(exportedAlready);
    expect(same.added).toEqual([]);
    expect(same.bytes).toBe(exportedAlready);
  });
});
