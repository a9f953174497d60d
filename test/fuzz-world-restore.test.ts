// The fuzz world puts back only the bytes of linear memory an execution wrote: its copy of the
// module keeps the lowest and highest address every store wrote (harness/fuzz/module-globals.ts
// trackStores), and the host's writes are marked (World.writeBytes, bytes, markWritten and the
// linear-memory bus device). A write the world is not told of would carry into the next
// execution; World.checkRestore compares all of memory after each restart, and every target runs
// here with it on.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { TempFolders } from "./temp-folders.js";
import { UNMARKED_CHECK_EVERY, UNMARKED_CHECK_FIRST, World } from "../harness/fuzz/world.js";
import { coverageBuild } from "../harness/coverage/build.js";
import { CoverageCounters } from "../harness/coverage/counters.js";
import { counterStoreReach } from "../harness/coverage/instrument.js";
import { Fuzzer } from "../harness/fuzz/engine.js";
import { FuzzFailure } from "../harness/fuzz/target.js";
import { targetByName, targetNames } from "../harness/fuzz/target-table.js";
import { zooVariants } from "../harness/fuzz/variants.js";
import { WRITTEN_HIGH, WRITTEN_LOW, compileForWorld, trackStores } from "../harness/fuzz/module-globals.js";
import { nameBytes, section, sized, vector } from "../harness/wasm-binary.js";
import { wasmPath } from "../harness/hal.js";
import "../harness/fuzz/targets/index.js";
import "../harness/fuzz/targets/stm32f4.js";

const I32 = 0x7f, I64 = 0x7e;
const get = (n: number): number[] => [0x20, n];

/** Two pages (128 KiB) and an export for each kind of write: store8(addr, v), store64(addr, v)
 * (i64.store offset=8), storef64(addr) (f64.store of 1.5), fill(dst, v, n), copy(dst, src, n);
 * `simd` adds a v128.const the decoder does not know. */
function writerModule(options: { simd?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const types = vector([
    [0x60, 2, I32, I32, 0], //      store8
    [0x60, 2, I32, I64, 0], //      store64
    [0x60, 1, I32, 0], //           storef64
    [0x60, 3, I32, I32, I32, 0], // fill, copy
  ]);
  const simd = options.simd === true ? [0xfd, 12, ...new Array<number>(16).fill(0), 0x1a] : []; // v128.const 0, drop
  const bodies = [
    [0, ...simd, ...get(0), ...get(1), 0x3a, 0, 0, 0x0b], //                               i32.store8
    [0, ...get(0), ...get(1), 0x37, 3, 8, 0x0b], //                                        i64.store offset=8
    [0, ...get(0), 0x44, ...new Uint8Array(new Float64Array([1.5]).buffer), 0x39, 3, 0, 0x0b], // f64.store
    [0, ...get(0), ...get(1), ...get(2), 0xfc, 11, 0, 0x0b], //                              memory.fill
    [0, ...get(0), ...get(1), ...get(2), 0xfc, 10, 0, 0, 0x0b], //                           memory.copy
  ];
  const names = ["store8", "store64", "storef64", "fill", "copy"];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(3, vector([[0], [1], [2], [3], [3]])),
    ...section(5, vector([[0x00, 2]])),
    ...section(7, vector([[...nameBytes("memory"), 0x02, 0], ...names.map((n, i) => [...nameBytes(n), 0x00, i])])),
    ...section(10, vector(bodies.map((b) => sized(b)))),
  ]);
}

const folders = new TempFolders();
afterAll(() => folders.removeAll());
const folder = folders.make("wasm-hal-restore-");
let files = 0;

function worldOf(bytes: Uint8Array): World {
  const path = join(folder, `writer-${files++}.wasm`);
  writeFileSync(path, bytes);
  const world = new World(path);
  world.checkRestore = true;
  return world;
}

/** The byte of linear memory at `addr`. */
const at = (world: World, addr: number): number => new Uint8Array(world.memory.buffer)[addr]!;

describe("the fuzz world's copy tracks the stores of the module", () => {
  it("puts back a store far above the usual range, and its memory checks see it", () => {
    const world = worldOf(writerModule());
    const far = 0x1fff0; // near the end of the second page; buffers sit in the first
    const cases: { name: string; args: unknown[]; first: number; last: number }[] = [
      { name: "store8", args: [far, 0xaa], first: far, last: far },
      { name: "store64", args: [far - 16, -1n], first: far - 8, last: far - 1 },
      // 1.5 is 0x3ff8000000000000: its first six bytes are 0.
      { name: "storef64", args: [far - 32], first: far - 26, last: far - 25 },
      { name: "fill", args: [0x18000, 0x55, 16], first: 0x18000, last: 0x1800f },
      // From bytes the same execution stored (store8 below, before the mark).
      { name: "copy", args: [0x10000, far, 1], first: 0x10000, last: 0x10000 },
    ];
    for (const { name, args, first, last } of cases) {
      world.restart();
      const exports = world.instance.exports as Record<string, (...a: unknown[]) => void>;
      if (name === "copy") exports["store8"]!(far, 0xcc);
      world.markMemory();
      exports[name]!(...args);
      expect(world.changedSinceMark(), name).toBe(first);
      expect(at(world, last), name).not.toBe(0);
      // checkRestore: restart throws when a byte differs from the pristine copy afterwards.
      world.restart();
      expect([at(world, first), at(world, last), at(world, far)], name).toEqual([0, 0, 0]);
    }
  });

  it("takes a store that traps out of bounds, and a fill of nothing, without losing a byte", () => {
    const world = worldOf(writerModule());
    world.restart();
    const exports = world.instance.exports as Record<string, (...a: unknown[]) => void>;
    exports["store8"]!(100, 1);
    expect(() => exports["store64"]!(0xfffffff8, 1n)).toThrow(WebAssembly.RuntimeError);
    expect(() => exports["fill"]!(0x1fffe, 1, 4)).toThrow(WebAssembly.RuntimeError);
    exports["fill"]!(0x8000, 7, 0);
    world.markMemory();
    exports["store8"]!(0x1ffff, 2);
    expect(world.changedSinceMark()).toBe(0x1ffff);
    world.restart();
    expect([at(world, 100), at(world, 0x1ffff)]).toEqual([0, 0]);
  });

  it("gives the copy of every built module the two globals; a module it cannot decode keeps the full restore", () => {
    for (const path of [wasmPath("release"), wasmPath("debug")]) {
      const names = WebAssembly.Module.exports(compileForWorld(path)).map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining([WRITTEN_LOW, WRITTEN_HIGH]));
    }
    expect(trackStores(writerModule({ simd: true }))).toBeNull();
    const world = worldOf(writerModule({ simd: true }));
    expect(Object.keys(world.instance.exports)).not.toContain(WRITTEN_LOW);
    world.restart();
    // Not tracked: even a write nobody marked is put back.
    new Uint8Array(world.memory.buffer)[0x1234] = 9;
    world.restart();
    expect(at(world, 0x1234)).toBe(0);
  });
});

describe("the host's writes to linear memory", () => {
  it("are put back when marked: writeBytes, bytes, markWritten, the linear-memory device", () => {
    const world = worldOf(writerModule());
    world.restart();
    world.writeBytes(0x9000, [1, 2, 3]);
    world.bytes(0x9100, 4).fill(4);
    new Uint8Array(world.memory.buffer)[0x9200] = 5;
    world.markWritten(0x9200, 1);
    world.linearMemoryDevice().write(0x9300, 0x06070809, 4);
    world.restart();
    expect([0x9000, 0x9002, 0x9100, 0x9103, 0x9200, 0x9300, 0x9303].map((a) => at(world, a))).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it("are caught by checkRestore when nobody marked them, and would carry into the next execution", () => {
    const world = worldOf(writerModule());
    // Past the first restarts, which look for an unmarked write anyway (the test below).
    for (let i = 0; i <= UNMARKED_CHECK_FIRST; i++) world.restart();
    new Uint8Array(world.memory.buffer)[0x9000] = 0x5a;
    expect(() => world.restart()).toThrow(/linear memory at 0x9000 is 0x5a after restart, 0x0 as instantiated/);
    world.checkRestore = false;
    world.restart();
    expect(at(world, 0x9000)).toBe(0x5a);
  });
});

describe("a host write nobody marked, without checkRestore", () => {
  it("is caught by the first restarts and then within every UNMARKED_CHECK_EVERY executions, naming the address and the fix", () => {
    expect(UNMARKED_CHECK_EVERY & (UNMARKED_CHECK_EVERY - 1)).toBe(0);
    // An unmarked write in execution `e` (the restarts before it done), caught at the restart
    // that ends it or at a later one: never more than UNMARKED_CHECK_EVERY later.
    for (const e of [0, 1, UNMARKED_CHECK_FIRST - 1, UNMARKED_CHECK_FIRST, 300, UNMARKED_CHECK_EVERY * 3 - 1, UNMARKED_CHECK_EVERY * 3]) {
      const world = worldOf(writerModule());
      world.checkRestore = false;
      for (let i = 0; i < e; i++) world.restart();
      new Uint8Array(world.memory.buffer)[0xa123] = 0x77;
      let caught: Error | null = null;
      let later = 0;
      for (; later <= UNMARKED_CHECK_EVERY && caught === null; later++) {
        try {
          world.restart();
        } catch (err) {
          caught = err as Error;
        }
      }
      expect(caught, `written in execution ${e}`).not.toBeNull();
      expect(later, `written in execution ${e}`).toBeLessThanOrEqual(e < UNMARKED_CHECK_FIRST ? 1 : UNMARKED_CHECK_EVERY);
      expect(caught!.message).toMatch(/^linear memory at 0xa123 changed during the execution but was not marked as written/);
      expect(caught!.message).toMatch(/world\.markWritten\(ptr, length\)/);
      expect(caught!.message).toMatch(/world\.writeBytes/);
      expect(caught!.message).toMatch(/world\.bytes/);
      expect(caught!.message).toMatch(/docs\/fuzzing\.md, "Your own target"/);
    }
  });

  it("is not raised by marked writes, the module's stores or a coverage build's counters", () => {
    const world = worldOf(writerModule());
    world.checkRestore = false;
    const exports = world.instance.exports as Record<string, (...a: unknown[]) => void>;
    for (let i = 0; i < UNMARKED_CHECK_EVERY * 2 + 1; i++) {
      world.restart();
      world.writeBytes(0x9000 + (i & 0xff), [i & 0xff, 1]);
      exports["store8"]!(0x1fff0 - (i & 0xff), 0xaa);
    }
    world.restart();
  });
});

describe("a coverage build in the fuzz world", () => {
  it("leaves the counter increments untracked, and starts every execution with the counters as instantiated", () => {
    const build = coverageBuild(wasmPath("release"));
    const fuzzer = new Fuzzer(targetByName("pl011"), build.path);
    const world = fuzzer.world;
    const counters = new CoverageCounters(world.memory, build.map);
    const written = world.instance.exports[WRITTEN_LOW] as WebAssembly.Global;
    let hitSomewhere = 0;
    fc.assert(fc.property(fuzzer.cases({ legalOnly: false, maxSteps: 12 }, 11), (steps) => {
      fuzzer.runCase({ target: "pl011", steps });
      hitSomewhere += counters.hit().length > 0 ? 1 : 0;
      // The counters lie below the driver's statics; their stores do not widen the range.
      expect(written.value >>> 0).toBeGreaterThanOrEqual(build.map.base + build.map.count);
      world.restart();
      // Zero but for the entries of the two calls the world makes once, when it is made.
      const names = counters.hit().map((e) => build.map.functions[build.map.edges[e]!.func]!.name);
      expect(names.sort()).toEqual(["assembly/abi/hal_scratch", "assembly/abi/hal_scratch_size"]);
    }), { numRuns: 60, seed: 11 });
    expect(hitSomewhere).toBe(60);
  });

  it("tells the pass's counter stores from a driver's store at the same offset", () => {
    // i32.const 0, i32.const 0, i32.load8_u offset=1000, local.tee 0, local.get 0, i32.const 255,
    // i32.ne, i32.add, i32.store8 offset=1000: as bumpConst emits it.
    const counter = [0x41, 0, 0x41, 0, 0x2d, 0, 0xe8, 0x07, 0x22, 0, 0x20, 0, 0x41, 0xff, 0x01, 0x47, 0x6a, 0x3a, 0, 0xe8, 0x07];
    const starts = [0, 2, 4, 8, 10, 12, 15, 16, 17];
    expect(counterStoreReach(new Uint8Array(counter), starts, counter.length)).toEqual({ first: 1000, last: 1000 });
    // The same store, its address a local (a driver's ptr + 1000): tracked.
    const driver = [0x20, 1, ...counter.slice(2)];
    expect(counterStoreReach(new Uint8Array(driver), starts, driver.length)).toBeNull();
  });
});

describe("every target, and every zoo variant, with checkRestore on", () => {
  /** Runs `runs` generated cases on a fuzzer whose world checks every restart; returns the
   * cases run. Findings are the target's business: only a restart that finds memory changed
   * fails here. */
  function runChecked(fuzzer: Fuzzer, runs: number, seed: number): number {
    fuzzer.world.checkRestore = true;
    let ran = 0;
    fc.assert(fc.property(fuzzer.cases({ legalOnly: false, maxSteps: 12 }, seed), (steps) => {
      ran++;
      try {
        fuzzer.runSteps(steps);
      } catch (e) {
        if (!(e instanceof FuzzFailure)) throw e;
      }
    }), { numRuns: runs, seed });
    fuzzer.world.restart();
    return ran;
  }

  it("finds no write the world was not told of in the package's targets", () => {
    const names = targetNames();
    expect(names).toEqual(expect.arrayContaining(["pl011", "pl022", "pl061", "pl080", "pl011-irq", "stm32f4-dma", "stm32f4-spi", "stm32f4-usart"]));
    for (const name of names) expect(runChecked(new Fuzzer(targetByName(name)), 200, 7), name).toBe(200);
  }, 120_000);

  it("finds none in the zoo variants either", () => {
    const variants = zooVariants();
    expect(variants.length).toBeGreaterThanOrEqual(19);
    for (const v of variants) {
      // zooVariants() names the driver of every variant it lists.
      expect(v.target, v.name).toBeDefined();
      expect(runChecked(new Fuzzer(targetByName(v.target!), v.path), 40, 3), v.name).toBe(40);
    }
  }, 120_000);
});
