// The fuzz world's memory check (World.markMemory / changedSinceMark): a target that knows which
// bytes a call may write (its rx buffer) asks for the first other byte that changed. On a
// coverage build the counters change on every call and are left out; they end at 1024, so a
// stray write through a null pointer (address 0 and up) is still seen there. And a recorded
// execution keeps a bounded number of DMA accesses (a chain that never ends ran a report out of
// memory).
import { describe, expect, it } from "vitest";
import { World } from "../harness/fuzz/world.js";
import { wasmPath } from "../harness/hal.js";
import { coverageBuild } from "../harness/coverage/build.js";
import { COVERAGE_LIMIT } from "../harness/coverage/instrument.js";
import { Fuzzer, type FuzzCase } from "../harness/fuzz/engine.js";
import { targetByName } from "../harness/fuzz/targets/index.js";
import { FuzzTrace, DMA_RECORD_LIMIT } from "../harness/fuzz/tap.js";
import { OP_READ, OP_WRITE, FLAG_DMA } from "../harness/trace.js";

describe("World.changedSinceMark", () => {
  it("finds the lowest changed byte outside the buffer, and nothing when only the buffer changed", () => {
    const world = new World(wasmPath("release"));
    const buffer = world.scratch + 64;
    world.markMemory();
    expect(world.changedSinceMark(buffer, buffer + 16)).toBe(-1);
    world.writeBytes(buffer, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(world.changedSinceMark(buffer, buffer + 16)).toBe(-1);
    // One byte past the buffer, and one far below it: the lower one is reported.
    world.writeBytes(buffer + 16, [0xee]);
    expect(world.changedSinceMark(buffer, buffer + 16)).toBe(buffer + 16);
    world.writeBytes(3, [0x5a]);
    expect(world.changedSinceMark(buffer, buffer + 16)).toBe(3);
    // No buffer: every change counts.
    expect(world.changedSinceMark()).toBe(3);
  });

  it("takes a buffer that lies partly or wholly outside linear memory", () => {
    const world = new World(wasmPath("release"));
    world.markMemory();
    world.writeBytes(world.memorySize - 1, [0x77]);
    expect(world.changedSinceMark(world.memorySize - 4, world.memorySize + 4)).toBe(-1);
    expect(world.changedSinceMark(0xffffff00, 0xffffff00 + 0x100)).toBe(world.memorySize - 1);
  });

  it("leaves out a coverage build's counters, which end at 1024, and sees a write below them", () => {
    const build = coverageBuild(wasmPath("release"));
    expect(build.map.base + build.map.count).toBe(COVERAGE_LIMIT);
    expect(build.map.base).toBeGreaterThan(0);
    const world = new World(build.path);
    world.markMemory();
    world.writeBytes(build.map.base, new Array<number>(build.map.count).fill(1));
    expect(world.changedSinceMark()).toBe(-1);
    world.writeBytes(0, [1]);
    expect(world.changedSinceMark()).toBe(0);
  });

  const PL022_CASE = (rx: boolean): FuzzCase => ({
    target: "pl022",
    steps: [
      { op: "init", args: [0x101f4000, 24_000_000, 1_000_000, 0] },
      { op: "transfer", base: 0x101f4000, at: "scratch", frames: [1, 2, 3, 4], tx: true, rx },
    ],
  });

  it("does not flag what the package's pl022_transfer writes, with rx stored or dropped", () => {
    for (const rx of [false, true]) {
      const result = new Fuzzer(targetByName("pl022")).runCase(PL022_CASE(rx));
      expect(result.failure?.message ?? null).toBeNull();
    }
  });

  it("makes the pl022 target report a byte written outside the rx buffer during the transfer", () => {
    for (const rx of [false, true]) {
      const fuzzer = new Fuzzer(targetByName("pl022"));
      // A stray store during the transfer call (its index is 1): the world's call hook runs
      // after the target marked memory and before the export.
      const onCall = (index: number): void => {
        if (index === 1) fuzzer.world.writeBytes(5, [0xa5]);
      };
      const result = fuzzer.runCase(PL022_CASE(rx), { onCall });
      expect(result.failure?.message).toContain("pl022_transfer(4 frames) wrote linear memory at 0x5, outside");
    }
  });
});

describe("a recorded fuzz execution keeps a bounded number of DMA accesses", () => {
  it("records the first DMA_RECORD_LIMIT DMA accesses, counts the rest, and records every CPU access", () => {
    const trace = new FuzzTrace();
    trace.enabled = true;
    trace.restart();
    for (let i = 0; i < DMA_RECORD_LIMIT + 10; i++) trace.record(OP_WRITE | FLAG_DMA, 4, 0x2000_0000 + 4 * (i & 0xff), i, i);
    trace.record(OP_READ, 4, 0x1013_001c, 0, DMA_RECORD_LIMIT + 10);
    expect(trace.length).toBe(DMA_RECORD_LIMIT + 1);
    expect(trace.dmaUnrecorded).toBe(10);
    expect(trace.entry(DMA_RECORD_LIMIT).op).toBe(OP_READ);
    // The next execution starts counting again.
    trace.restart();
    expect(trace.dmaUnrecorded).toBe(0);
    trace.record(OP_WRITE | FLAG_DMA, 4, 0x2000_0000, 1, 0);
    expect(trace.length).toBe(1);
  });
});
