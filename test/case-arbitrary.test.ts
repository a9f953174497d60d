// The blind search's case arbitrary (harness/fuzz/case-arbitrary.ts): steps drawn from a pool the
// round's seed makes, some made afresh; cases that a seed and a path replay; shrinking that
// removes steps and shrinks the values of pooled steps as well as fresh ones.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CaseArbitrary, FRESH_ONE_IN, POOL_STEPS } from "../harness/fuzz/case-arbitrary.js";
import { fuzzTarget, replayCounterexample } from "../harness/fuzz/runner.js";
import { zooVariants } from "../harness/fuzz/variants.js";
import type { Step } from "../harness/fuzz/target.js";

/** A step arbitrary that counts the steps it makes. */
function counted(): { arb: fc.Arbitrary<Step>; made: () => number } {
  let made = 0;
  const inner = fc.record({ op: fc.constantFrom("a", "b", "c"), mask: fc.integer({ min: 0, max: 0xff }) });
  const arb = inner.chain((s) => {
    made++;
    return fc.constant<Step>({ op: s.op, mask: s.mask });
  });
  return { arb, made: () => made };
}

const STEP = fc.record({ op: fc.constantFrom("read", "write", "drive"), mask: fc.integer({ min: 0, max: 0xff }), value: fc.integer({ min: 0, max: 0xffff }) }).map((r): Step => ({ ...r }));

describe("CaseArbitrary", () => {
  it("the same seed gives the same cases, another seed other ones", () => {
    const sample = (poolSeed: number, seed: number) => fc.sample(new CaseArbitrary(STEP, 12, poolSeed), { seed, numRuns: 200 });
    expect(JSON.stringify(sample(5, 1))).toBe(JSON.stringify(sample(5, 1)));
    expect(JSON.stringify(sample(6, 1))).not.toBe(JSON.stringify(sample(5, 1)));
  });

  it("a pool step depends on its seed and index only, not on which cases came first", () => {
    // Two arbitraries of one pool seed, sampled from different run seeds: every step either
    // makes that is in both pools must be the same step (pool entries are pure).
    const a = fc.sample(new CaseArbitrary(STEP, 12, 9), { seed: 1, numRuns: 3000 }).flat();
    const b = fc.sample(new CaseArbitrary(STEP, 12, 9), { seed: 2, numRuns: 3000 }).flat();
    const key = (s: Step) => JSON.stringify(s);
    const inB = new Set(b.map(key));
    const shared = a.filter((s) => inB.has(key(s)));
    // With 4,096 pool steps and about 11,000 pooled draws on each side, most pool steps are drawn
    // by both; fresh steps (random 24-bit values) almost never coincide.
    expect(shared.length).toBeGreaterThan(a.length / 2);
  });

  it("cases have 0 to 10 steps, or fewer when the most is lower, about one step in FRESH_ONE_IN made afresh", () => {
    const { arb, made } = counted();
    const cases = fc.sample(new CaseArbitrary(arb, 12, 3), { seed: 4, numRuns: 20_000 });
    const lengths = new Set(cases.map((c) => c.length));
    expect([...lengths].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const steps = cases.reduce((n, c) => n + c.length, 0);
    // Pool steps are made once each (at most POOL_STEPS); the rest of what was made is fresh.
    const fresh = made() - POOL_STEPS;
    expect(fresh / steps).toBeGreaterThan(1 / FRESH_ONE_IN - 0.03);
    expect(fresh / steps).toBeLessThan(1 / FRESH_ONE_IN + 0.03);
    const short = fc.sample(new CaseArbitrary(STEP, 3, 3), { seed: 4, numRuns: 2000 });
    expect(Math.max(...short.map((c) => c.length))).toBe(3);
  });

  it("shrinks by removing steps and by shrinking the values of pooled and fresh steps", () => {
    // Fails when some step writes with a mask of 0x10 or more: the smallest such case is one
    // write step with mask 0x10 and value 0.
    const failing = (steps: Step[]) => steps.some((s) => s.op === "write" && (s["mask"] as number) >= 0x10);
    for (const seed of [1, 2, 3]) {
      const details = fc.check(fc.property(new CaseArbitrary(STEP, 12, seed), (steps) => !failing(steps)), { seed });
      expect(details.failed).toBe(true);
      expect(details.counterexample![0]).toEqual([{ op: "write", mask: 0x10, value: 0 }]);
    }
  });

  it("refuses a most number of steps that is not a positive integer", () => {
    expect(() => new CaseArbitrary(STEP, 0, 1)).toThrow(/positive integer, got 0/);
  });
});

describe("the blind search with the case arbitrary", () => {
  it("a finding's seed and path replay its shrunk case", () => {
    const variant = zooVariants().find((v) => v.name === "pl061-data-read-modify-write");
    expect(variant).toBeDefined();
    const result = fuzzTarget("pl061", { runs: 2000, seed: 11, maxFindings: 1, modulePath: variant!.path });
    expect(result.findings.length).toBe(1);
    const f = result.findings[0]!;
    expect(f.replayPath).toBe("");
    const replayed = replayCounterexample("pl061", { seed: f.seed, path: f.path, modulePath: variant!.path, ...f.generation });
    expect(replayed?.steps).toEqual(f.case.steps);
  });

  it("a finding made by fast-check's commands (with a replay path) does not replay from its seed", () => {
    expect(replayCounterexample("pl061", { seed: 1, path: "0", replayPath: "AFF:F" })).toBeNull();
  });
});
