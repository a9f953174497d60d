// Proof that the fuzzer finds bugs: every variant of the bug zoo (harness/zoo.ts, built into
// build/zoo/; the interrupt variants on the pl011-irq target) is fuzzed from a fixed seed, with a bound on runs (never on time: a loaded machine
// must give the same verdict as an idle one), and must be found: a
// finding that the real driver (build/hal.wasm) does not share. Prints found/seeded and the runs
// each took.
import { describe, expect, it } from "vitest";
import { compiledHarnessIsFresh } from "../harness/fuzz/campaign.js";
import { fuzzVariants, variantReport, zooVariants } from "../harness/fuzz/variants.js";
// The STM32F4 variants are fuzzed on their family's targets, in this thread too when the
// compiled harness is stale (one job).
import "../harness/fuzz/targets/stm32f4.js";

const SEED = 1;
const variants = zooVariants();
const JOBS = compiledHarnessIsFresh() ? 2 : 1;

describe("the fuzzer against the bug zoo", () => {
  it.skipIf(variants.length === 0)(`finds every seeded bug from seed ${SEED}`, async () => {
    // At most 3000 runs per variant; each is found in far fewer from this seed. Shrinking a
    // finding takes well under a second here; its limit only guards against a shrinker that
    // never ends, so a busy machine shrinks as far as an idle one.
    const results = await fuzzVariants(variants, { seed: SEED, runs: 3000, jobs: JOBS, shrinkMs: 60_000 });
    console.log(variantReport(results, SEED));
    const missed = results.filter((r) => r.finding === null).map((r) => `${r.variant.name}: ${r.variant.defect ?? ""}`);
    expect(missed).toEqual([]);
    // Every finding is the variant's own: the real driver passes its case (checked by the run),
    // and none needed a value the hardware never produces.
    expect(results.filter((r) => r.finding?.world === "impossible").map((r) => r.variant.name)).toEqual([]);
  }, 600_000);
});
