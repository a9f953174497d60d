// The repeat responder inlined in the fuzz world's copy of a module (harness/fuzz/repeat-responder.ts):
// the copy imports and calls what the module does, answers the armed read's repeats itself, and
// a module the inlining cannot decode gets the standalone responder, with the same counts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { World } from "../harness/fuzz/world.js";
import { INLINED_ARM, INLINED_TAKE, inlineResponder, inlinedAnswers } from "../harness/fuzz/repeat-responder.js";
import { readModuleAbi } from "../harness/wasm-abi.js";
import { nameBytes, section, sized, vector } from "../harness/wasm-binary.js";
import { wasmPath } from "../harness/hal.js";
import { prebuiltCoveragePath } from "../harness/coverage/build.js";

const I32 = 0x7f;


/**
 * A driver in the ABI's shape: poll(addr, limit) reads `addr` (width 4) until bit 0 is set or
 * `limit` reads were made, and returns the reads made. `simd` adds a v128.const the inlining
 * does not decode; `readAs` renames the read import.
 */
function pollModule(options: { simd?: boolean; readAs?: string } = {}): Uint8Array<ArrayBuffer> {
  const types = vector([
    [0x60, 2, I32, I32, 1, I32], // mmio_read
    [0x60, 3, I32, I32, I32, 0], // mmio_write
    [0x60, 1, I32, 0], //           barrier
  ]);
  const imports = vector([
    [...nameBytes("env"), ...nameBytes(options.readAs ?? "mmio_read"), 0x00, 0],
    [...nameBytes("env"), ...nameBytes("mmio_write"), 0x00, 1],
    [...nameBytes("env"), ...nameBytes("barrier"), 0x00, 2],
  ]);
  const simd = options.simd === true ? [0xfd, 12, ...new Array<number>(16).fill(0), 0x1a] : []; // v128.const 0, drop
  const body = [1, 1, I32, // one local: n, the reads made (poll has mmio_read's type, 0)
    ...simd,
    0x02, 0x40, 0x03, 0x40, //                                     block loop
    0x20, 2, 0x20, 1, 0x4f, 0x0d, 1, //                            br_if 1 (n >= limit, unsigned)
    0x20, 2, 0x41, 1, 0x6a, 0x21, 2, //                            n += 1
    0x20, 0, 0x41, 4, 0x10, 0, 0x41, 1, 0x71, 0x0d, 1, //          br_if 1 (mmio_read(addr, 4) & 1)
    0x0c, 0, 0x0b, 0x0b, //                                        br 0, end loop, end block
    0x20, 2, 0x0b];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, imports), ...section(3, vector([[0]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(7, vector([[...nameBytes("memory"), 0x02, 0], [...nameBytes("poll"), 0x00, 3]])),
    ...section(10, vector([sized(body)])),
  ]);
}

/** Instantiates a module with a read import that counts its calls and answers `value`. */
function instantiate(bytes: Uint8Array<ArrayBuffer>, value = 0): { exports: WebAssembly.Exports; reads: () => number } {
  let reads = 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: { mmio_read: () => (reads++, value), mmio_write: () => {}, barrier: () => {} },
  });
  return { exports: instance.exports, reads: () => reads };
}

const ADDR = 0x4000_0018;

describe("the inlined repeat responder", () => {
  it("adds two exports, keeps every import, and answers the armed read's repeats without calling the import", () => {
    const plain = pollModule();
    const inlined = inlineResponder(plain, "poll.wasm");
    expect(inlined).not.toBeNull();
    const before = readModuleAbi(plain);
    const after = readModuleAbi(inlined!);
    expect(after.imports).toEqual(before.imports);
    expect(after.exports.map((e) => e.name)).toEqual([...before.exports.map((e) => e.name), INLINED_ARM, INLINED_TAKE]);

    // Not armed: every read calls the import, as in the plain module.
    const reference = instantiate(plain);
    const { exports, reads } = instantiate(inlined!);
    const poll = exports["poll"] as (addr: number, limit: number) => number;
    expect(poll(ADDR, 100)).toBe((reference.exports["poll"] as typeof poll)(ADDR, 100));
    expect(reads()).toBe(reference.reads());
    expect(reads()).toBe(100);

    const answers = inlinedAnswers(exports)!;
    // Armed for 5: the first 5 reads are answered, the other 95 go to the import.
    answers.arm(ADDR, 4, 0, 5);
    expect(poll(ADDR, 100)).toBe(100);
    expect(reads()).toBe(100 + 95);
    expect(answers.take()).toBe(0);
    // Armed for 1000: none of 100 reach the import, 900 are left to take, and taking disarms.
    answers.arm(ADDR, 4, 0, 1000);
    expect(poll(ADDR, 100)).toBe(100);
    expect(reads()).toBe(195);
    expect(answers.take()).toBe(900);
    expect(poll(ADDR, 10)).toBe(10);
    expect(reads()).toBe(205);
    // The armed value is what the driver sees: bit 0 set ends the poll at the first read.
    answers.arm(ADDR, 4, 1, 1000);
    expect(poll(ADDR, 100)).toBe(1);
    expect(answers.take()).toBe(999);
    // Another address, or the same at another width, goes to the import.
    answers.arm(ADDR + 4, 4, 1, 1000);
    expect(poll(ADDR, 3)).toBe(3);
    answers.arm(ADDR, 2, 1, 1000);
    expect(poll(ADDR, 3)).toBe(3);
    expect(reads()).toBe(211);
  });

  it("leaves alone a module it cannot decode, or one without an env.mmio_read import", () => {
    expect(inlineResponder(pollModule({ simd: true }))).toBeNull();
    expect(inlineResponder(pollModule({ readAs: "read" }))).toBeNull();
  });

  it("inlines into every module the package fuzzes: release, STM32F4 and coverage builds", () => {
    for (const path of [wasmPath("release"), wasmPath("release").replace(/hal\.wasm$/, "stm32f4.wasm"), prebuiltCoveragePath(wasmPath("release"))!]) {
      const bytes = new Uint8Array(readFileSync(path));
      const inlined = inlineResponder(bytes, path);
      expect(inlined, path).not.toBeNull();
      expect(readModuleAbi(inlined!).imports, path).toEqual(readModuleAbi(bytes).imports);
    }
  });
});

const folder = mkdtempSync(join(tmpdir(), "wasm-hal-responder-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe("the fuzz world's repeated reads, inlined or standalone", () => {
  it("a poll of a register stable for good makes the same accesses in both forms, and the device sees only the first reads", () => {
    const outcomes: { result: number | undefined; seen: number; accesses: number; clock: number; deviceReads: number }[] = [];
    for (const simd of [false, true]) {
      const path = join(folder, `poll-${simd ? "simd" : "plain"}.wasm`);
      writeFileSync(path, pollModule({ simd }));
      const world = new World(path);
      let deviceReads = 0;
      world.mapPlain("dev", 0x4000_0000, 0x1000, { read: () => (deviceReads++, 0), write: () => {}, stableUntil: () => Infinity });
      world.restart();
      const out = world.call("poll", [ADDR, 100_000], 1_000_000);
      outcomes.push({ result: out.result, seen: world.trace.seen, accesses: out.accesses, clock: world.clock.now, deviceReads });
    }
    expect(outcomes[0]!.result).toBe(100_000);
    expect(outcomes[0]!.accesses).toBe(100_000);
    expect(outcomes[0]!.deviceReads).toBeLessThanOrEqual(2);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });
});
