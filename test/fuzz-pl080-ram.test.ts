// The pl080 target's RAM check: nothing outside the destinations of transfers may change RAM.
// The target restores and compares only what changed since its reset (the RAM device's written
// range and its own expected copy's), so a stray write anywhere must still be caught, in every
// execution, and a clean execution after one must pass.
import { describe, expect, it } from "vitest";
import { Fuzzer, type FuzzCase } from "../harness/fuzz/engine.js";
import { targetByName } from "../harness/fuzz/targets/index.js";
import { PL080_FUZZ_BASE } from "../harness/fuzz/targets/pl080.js";
import type { Step } from "../harness/fuzz/target.js";

const copyAndWait: FuzzCase = {
  target: "pl080",
  steps: [
    { op: "init", base: PL080_FUZZ_BASE },
    // 256 bytes from the first half of RAM (+0x0000) to the second (+0x8000): the rest of the
    // 64 KiB must not change.
    { op: "memcpy", base: PL080_FUZZ_BASE, channel: 0, config: 0, len: 256, srcSpace: "ram", src: 0, dstSpace: "ram", dst: 0 },
    { op: "wait", base: PL080_FUZZ_BASE, channel: 0 },
  ] as Step[],
};

describe("the pl080 target's RAM check", () => {
  const fuzzer = new Fuzzer(targetByName("pl080"));
  const ram = fuzzer.world.bus.region("ram").device;
  /** Calls of copyAndWait: 0 is the reset's pl080_set_memory_address, 3 the wait. */
  const strayBeforeWait = (offset: number) => (index: number): void => {
    if (index === 3) ram.write(offset, 0xdeadbeef, 4);
  };

  it("catches a write outside every destination, anywhere in RAM, in every execution", () => {
    for (const offset of [0x1000, 0xfffc, 0x0100, 0x8100, 0x7ffc]) {
      const { failure } = fuzzer.runCase(copyAndWait, { onCall: strayBeforeWait(offset) });
      expect(failure?.message, `stray write at RAM +0x${offset.toString(16)}`).toMatch(new RegExp(`RAM byte 0x${(0x20000000 + offset).toString(16)} changed to 0x[0-9a-f]+ .*outside every transfer's destination`));
    }
  });

  it("takes a write inside the destination as the transfer's (the check's control)", () => {
    expect(fuzzer.runCase(copyAndWait, { onCall: strayBeforeWait(0x80fc) }).failure).toBeNull();
  });

  it("passes the same case without the stray write, after executions that had one (RAM put back)", () => {
    fuzzer.runCase(copyAndWait, { onCall: strayBeforeWait(0x4000) });
    expect(fuzzer.runCase(copyAndWait).failure).toBeNull();
    expect(fuzzer.runCase(copyAndWait).failure).toBeNull();
  });
});
