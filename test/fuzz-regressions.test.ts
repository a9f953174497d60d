// Every failure the fuzzer saved under fixtures/fuzz/ runs again here (docs/fuzzing.md):
// - found in one of the package's modules (build/hal.wasm, build/stm32f4.wasm): the case must
//   pass now; a file still marked "open" is a known bug, expected to fail until it is mended (then
//   mark it "fixed");
// - found in a broken variant (the bug zoo): the variant must still fail the same way, give the
//   recorded trace, and make the recorded accesses when fed the recorded reads; the real driver
//   must pass the case where it did when the file was saved.
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { wasmPath } from "../harness/hal.js";
import { moduleLabel, modulePathFrom } from "../harness/fuzz/engine.js";
import { listRegressions, readRegression, rerunRegression, replayRecordedReads } from "../harness/fuzz/regression.js";
import { addFuzzTargets } from "../harness/fuzz/target-table.js";
import STM32F4_TARGETS from "../harness/fuzz/targets/stm32f4.js";
import { packageProject } from "../harness/project.js";

// The STM32F4 targets come from the package's config (fuzz.targets), which the CLI loads.
addFuzzTargets(STM32F4_TARGETS, null);
const files = listRegressions();
const release = moduleLabel(wasmPath("release"));
const packageModules = new Set([release, moduleLabel(packageProject().modulePath("stm32f4", "release"))]);

describe("fuzz regressions (fixtures/fuzz/)", () => {
  it("every file is a trace in the documented format with its case", () => {
    for (const file of files) {
      const r = readRegression(file);
      expect(r.meta.case.steps.length, file).toBeGreaterThan(0);
      expect(r.trace.calls.length, file).toBeGreaterThan(0);
    }
  });

  for (const file of files) {
    const r = readRegression(file);
    const m = r.meta;
    const name = `${basename(file)}: [${m.world}] ${m.property} in ${m.call ?? "the end checks"}`;
    const present = existsSync(modulePathFrom(m.module));

    if (packageModules.has(m.module)) {
      if (m.status === "open") {
        it(`${name}: still fails (an open bug of the driver; mark the file fixed once it passes)`, () => {
          const rerun = rerunRegression(r);
          expect(rerun.failure?.property, "the case passes now: change fuzz-status to fixed").toBe(m.property);
          expect(rerun.traceDifference).toBeNull();
          expect(replayRecordedReads(r)).toBeNull();
        });
      } else {
        it(`${name}: passes now`, () => {
          expect(rerunRegression(r).failure?.message ?? null).toBeNull();
        });
      }
      continue;
    }

    it.skipIf(!present)(`${name}: the variant ${m.module} still fails the same way, with the recorded trace`, () => {
      const rerun = rerunRegression(r);
      expect(rerun.failure?.property).toBe(m.property);
      expect(rerun.failure?.call ?? null).toBe(m.call);
      expect(rerun.traceDifference).toBeNull();
      expect(replayRecordedReads(r)).toBeNull();
    });

    it.skipIf(m.release !== "passes")(`${name}: build/hal.wasm passes the same case`, () => {
      expect(rerunRegression(r, wasmPath("release")).failure?.message ?? null).toBeNull();
    });
  }
});
