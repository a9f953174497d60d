// The pl011-irq fuzz target (harness/fuzz/targets/pl011-irq.ts, docs/fuzzing.md): interrupt
// timing as a fuzz dimension. The real driver passes generated cases in both delivery modes; the
// bug zoo's five interrupt variants are found from a fixed seed within a bound on runs (never on
// time); a saved finding replays with the same failure and trace; the same seed gives the same
// run.
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { packageRoot, wasmPath } from "../harness/hal.js";
import { Fuzzer } from "../harness/fuzz/engine.js";
import { fuzzTarget } from "../harness/fuzz/runner.js";
import { fuzzVariant, zooVariants } from "../harness/fuzz/variants.js";
import { readRegression, rerunRegression, replayRecordedReads, saveRegression } from "../harness/fuzz/regression.js";
import { targetByName } from "../harness/fuzz/targets/index.js";
import type { Step } from "../harness/fuzz/target.js";

const SEED = 1;
const zoo = (name: string): string => join(packageRoot(), "build", "zoo", `${name}.wasm`);

/** Each interrupt variant, the property that finds it, and the most runs it may take from SEED. */
const VARIANTS: readonly { name: string; property: string; runs: number }[] = [
  { name: "pl011-irq-ack-before-read", property: "postcondition", runs: 50 },
  { name: "pl011-irq-index-before-data", property: "interrupt", runs: 50 },
  { name: "pl011-irq-imsc-rmw-unmasked", property: "interrupt", runs: 50 },
  { name: "pl011-irq-source-never-acked", property: "interrupt", runs: 50 },
  { name: "pl011-irq-ack-no-dsb", property: "interrupt", runs: 50 },
];

describe("pl011-irq fuzz target", () => {
  const target = targetByName("pl011-irq");

  it("the real driver passes generated cases in each delivery mode", () => {
    const fuzzer = new Fuzzer(target, wasmPath("release"));
    // Cases as the fuzzer makes them, each run once wholly deferred and once wholly preemptive.
    const cases = fc.sample(fc.array(target.steps({ legalOnly: false }), { maxLength: 12 }), { seed: SEED, numRuns: 150 });
    const failures: string[] = [];
    for (const mode of ["deferred", "preemptive"] as const) {
      for (const steps of cases) {
        const plain = steps.filter((s) => s.op !== "mode");
        const { failure } = fuzzer.runCase({ target: "pl011-irq", steps: [{ op: "mode", mode }, ...plain] });
        if (failure === null) continue;
        failures.push(`${mode}: [${failure.property}] ${failure.message.split("\n")[0]}\n  ${JSON.stringify(plain)}`);
      }
    }
    console.log(`pl011-irq: ${2 * cases.length} cases on build/hal.wasm`);
    expect(failures).toEqual([]);
  }, 120_000);

  it("interrupts injected alone, or a line left pending with nothing behind it, are not the driver's fault", () => {
    const fuzzer = new Fuzzer(target, wasmPath("release"));
    for (const mode of ["deferred", "preemptive"] as const) {
      const steps: Step[] = [
        { op: "mode", mode },
        { op: "stuck", points: 48 },
        { op: "write", at: "scratch", data: Array.from({ length: 40 }, (_, i) => 0x30 + i) },
        { op: "inject" },
        { op: "receive", data: [0x41, 0x42, 0x43], error: "none", speed: "now" },
        { op: "hold", points: 5 },
        { op: "flush" },
        { op: "inject" },
        { op: "read", at: "scratch", cap: 16 },
      ];
      expect(fuzzer.runCase({ target: "pl011-irq", steps }).failure?.message ?? null, mode).toBeNull();
    }
  });

  it("finds the zoo's interrupt variants, and the zoo run fuzzes them on this target", () => {
    const fuzzed = zooVariants().filter((v) => v.name.startsWith("pl011-irq-"));
    expect(fuzzed.map((v) => v.target)).toEqual(fuzzed.map(() => "pl011-irq"));
    for (const v of VARIANTS) {
      if (!existsSync(zoo(v.name))) continue;
      const result = fuzzVariant({ name: v.name, path: zoo(v.name), target: "pl011-irq" }, { seed: SEED, runs: 3000, shrinkMs: 60_000 });
      const f = result.finding;
      console.log(`${v.name}: ${f === null ? "missed" : `found after ${result.runs} runs: ${f.property} in ${f.call ?? "the end checks"}`}`);
      expect(f, v.name).not.toBeNull();
      expect(result.runs, v.name).toBeLessThanOrEqual(v.runs);
      expect(f!.property, v.name).toBe(v.property);
      expect(f!.world, v.name).toBe("legal");
      // The message names the delivery mode.
      expect(f!.message, v.name).toMatch(/(deferred|preemptive) delivery/);
    }
  }, 300_000);

  it.skipIf(!existsSync(zoo("pl011-irq-source-never-acked")))("a saved finding replays: same failure, same trace with its irq lines, the recorded reads", () => {
    const result = fuzzVariant({ name: "pl011-irq-source-never-acked", path: zoo("pl011-irq-source-never-acked"), target: "pl011-irq" }, { seed: SEED, runs: 500, shrinkMs: 60_000 });
    const finding = result.finding!;
    const dir = mkdtempSync(join(tmpdir(), "wasm-hal-fuzz-irq-"));
    try {
      const file = saveRegression(finding, dir);
      const text = readFileSync(file, "utf8");
      expect(text).toMatch(/^irq enter 12/m);
      expect(text).toMatch(/^ {2}isr R32 uart0\+0x040 MIS/m);
      const regression = readRegression(file);
      expect(regression.meta.target).toBe("pl011-irq");
      expect(regression.meta.release).toBe("passes");
      const rerun = rerunRegression(regression);
      expect(rerun.failure?.property).toBe(finding.property);
      expect(rerun.failure?.message).toBe(finding.message);
      expect(rerun.traceDifference).toBeNull();
      expect(replayRecordedReads(regression)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("the same seed gives the same run", () => {
    const options = { runs: 150, seed: 7, maxFindings: 2, shrinkMs: 60_000 };
    const a = fuzzTarget("pl011-irq", options);
    const b = fuzzTarget("pl011-irq", options);
    expect(b.runs).toBe(a.runs);
    expect(b.executions).toBe(a.executions);
    expect(b.findings.map((f) => [f.property, f.call, f.message, JSON.stringify(f.case)])).toEqual(a.findings.map((f) => [f.property, f.call, f.message, JSON.stringify(f.case)]));
    expect(b.findings.map((f) => f.trace)).toEqual(a.findings.map((f) => f.trace));
  }, 120_000);
});
