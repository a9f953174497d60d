// Fair time (issue 14 item 3; harness/fuzz/campaign.ts): a job's time limit is shared out between
// its targets by executions, in turns of equal runs, not in equal slices of wall-clock time. The
// tests here never let the clock decide: the turn sizes are a pure function of measured costs,
// and the round robin is checked with a time limit far beyond what the runs need.
import { describe, expect, it } from "vitest";
import { fairTurnRuns, FAIR_FIRST_TURN_RUNS, planJobs, runJob } from "../harness/fuzz/campaign.js";
// The package's targets register themselves when their module is loaded.
import { findingKey } from "../harness/fuzz/engine.js";
import "../harness/fuzz/targets/index.js";

describe("fair time", () => {
  it("sizes a turn to a tenth of the time left, whatever each target costs per run", () => {
    // pl011 at 10 ms a run, pl061 at 0.01 ms: a turn of n runs each costs 10.01 n ms.
    expect(fairTurnRuns([10, 0.01], 60_000)).toBe(Math.floor(6000 / 10.01));
    // The cheap target gets as many runs as the dear one: its time share is a thousand times less.
    expect(fairTurnRuns([0.01, 0.01], 60_000)).toBe(300_000);
    // Never below the first turn's runs, even with no time left.
    expect(fairTurnRuns([10, 10], 0)).toBe(FAIR_FIRST_TURN_RUNS);
    expect(fairTurnRuns([10, 10], -5)).toBe(FAIR_FIRST_TURN_RUNS);
  });

  it("hands the whole time limit to the job, not a share per target", () => {
    const [plan] = planJobs({ targets: ["pl061", "pl080"], runs: Infinity, seed: 7, timeMs: 4000 });
    expect(plan!.options.timeMs).toBe(4000);
  });

  it("takes turns: each target gets its runs, counted once, with the findings merged", () => {
    const [plan] = planJobs({ targets: ["pl061", "pl080"], runs: 40, seed: 7, timeMs: 600_000 });
    const seen: string[] = [];
    const results = runJob(plan!, (target) => { if (seen.at(-1) !== target) seen.push(target); });
    expect(results.map((r) => [r.target, r.runs])).toEqual([["pl061", 40], ["pl080", 40]]);
    // Findings of every turn of a target in one list, each once (which ones a seed reaches depends
    // on the generators: pl080's impossible-world lint finding may be among them).
    for (const r of results) {
      expect(r.failures).toBe(r.findings.length);
      expect(new Set(r.findings.map((f) => findingKey(f))).size).toBe(r.findings.length);
    }
    expect(results.every((r) => r.executions >= r.runs && !r.interrupted)).toBe(true);
    // The first turn gives each FAIR_FIRST_TURN_RUNS, then the rest: the targets alternate.
    expect(seen.slice(0, 3)).toEqual(["pl061", "pl080", "pl061"]);
  });
});
