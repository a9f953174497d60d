// Fuzz campaigns past one machine (docs/ci.md): `--shard i/n` runs every n-th part of a campaign
// (a target in a job), `--findings-out` keeps what a shard found, and `wasm-hal fuzz merge` puts
// the shards back together, de-duplicated by finding identity. Two shards plus a merge must give
// the findings of one campaign over the same seed, runs and jobs.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../harness/hal.js";
import { fuzz, planJobs, type CampaignOptions } from "../harness/fuzz/campaign.js";
import { campaignFindingsFile, findingIdentity, findingsFileText, mergeFindings, parseFindingsFile, type FindingsFile } from "../harness/fuzz/merge.js";
import { TARGET_NAMES } from "../harness/fuzz/target.js";
import "../harness/fuzz/targets/index.js";
import { TempFolders } from "./temp-folders.js";

const root = packageRoot();
const cli = join(root, "dist", "harness", "cli.js");
// A driver of the bug zoo that writes LCR_H before the divisor: pl011 finds it at once, and the
// other targets run their (correct) drivers in the same module.
const ZOO_MODULE = join(root, "build", "zoo", "pl011-lcrh-before-divisor.wasm");
const haveZoo = existsSync(ZOO_MODULE);

function run(args: string[]) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\``);
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, timeout: 120_000 });
}

const folders = new TempFolders();
afterAll(() => folders.removeAll());
const tmp = (): string => folders.make("wasm-hal-shard-");
const info = { targets: [] as string[], runs: 30, module: null, legalOnly: false, maxSteps: 12, stepAccessLimit: 200_000, timeMs: null };

describe("planJobs with --shard", () => {
  const parts = (options: CampaignOptions): string[] =>
    planJobs(options).flatMap((p) => p.targets.map((t) => `${t} job ${p.job} seed ${p.options.seed} runs ${p.options.runs}`));

  it.each([
    [1, 1], [1, 2], [2, 2], [3, 2], [4, 3], [2, 5], [1, 7],
  ])("%i job(s), %i shards: the shards are disjoint and together are the whole campaign", (jobs, count) => {
    const options = { targets: TARGET_NAMES.slice(0, 4), runs: 1001, seed: 7, jobs };
    const whole = parts(options);
    expect(whole).toHaveLength(4 * jobs);
    const shards = Array.from({ length: count }, (_, i) => parts({ ...options, shard: { index: i + 1, count } }));
    const union = shards.flat();
    // Disjoint: no part twice; complete: every part of the unsharded campaign, with its seed and
    // its share of the runs unchanged.
    expect(new Set(union).size).toBe(union.length);
    expect([...union].sort()).toEqual([...whole].sort());
    // Balanced: shard sizes differ by at most one part.
    const sizes = shards.map((s) => s.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it("splits one target's runs when the campaign has several jobs (its seed space), and its targets when it has several targets", () => {
    const one = { targets: ["pl011"], runs: 100, seed: 1, jobs: 2 };
    expect(parts({ ...one, shard: { index: 1, count: 2 } })).toEqual([expect.stringMatching(/^pl011 job 0 .* runs 50$/)]);
    expect(parts({ ...one, shard: { index: 2, count: 2 } })).toEqual([expect.stringMatching(/^pl011 job 1 .* runs 50$/)]);
    const two = { targets: ["pl011", "pl061"], runs: 100, seed: 1, jobs: 1 };
    expect(parts({ ...two, shard: { index: 1, count: 2 } })).toEqual([expect.stringMatching(/^pl011 job 0 seed 1 runs 100$/)]);
    expect(parts({ ...two, shard: { index: 2, count: 2 } })).toEqual([expect.stringMatching(/^pl061 job 0 seed 1 runs 100$/)]);
    // More shards than parts: the extra shards have nothing to run.
    expect(parts({ ...two, shard: { index: 3, count: 3 } })).toEqual([]);
  });
});

describe.skipIf(!haveZoo)("two shards and a merge", () => {
  it("give the same findings as one campaign over the same seed (jobs in this thread, unbounded shrinking)", async () => {
    const options = {
      // Three jobs, two shards: shard 1 runs jobs 1 and 3, shard 2 job 2 (each a sub-seed).
      targets: ["pl011"], runs: 45, seed: 1, jobs: 3, modulePath: ZOO_MODULE, inThread: true,
      // Shrinking is bounded by time only as a guard: without the bound, a busy machine shrinks
      // as far as an idle one, and the findings do not depend on the machine's speed.
      shrinkMs: 600_000,
    };
    const whole = await fuzz(options);
    expect(whole.findings.length).toBeGreaterThan(0);
    const shards = [await fuzz({ ...options, shard: { index: 1, count: 2 } }), await fuzz({ ...options, shard: { index: 2, count: 2 } })];
    expect(shards.map((s) => s.parts.map((p) => p.job))).toEqual([[0, 2], [1]]);
    // Through the file format, as CI does: written, read back, merged.
    const file = (r: typeof whole): FindingsFile => parseFindingsFile(findingsFileText(campaignFindingsFile(r, { ...info, targets: options.targets })), "shard.json");
    const merged = mergeFindings(shards.map(file));
    const reference = file(whole);
    // The same findings, shrunk cases, seeds and paths included.
    expect(merged.merged.findings).toEqual(reference.findings);
    expect(merged.merged.findings.map((r) => findingIdentity(r.finding)).sort()).toEqual(whole.findings.map(findingIdentity).sort());
    expect(merged.merged.findings.map((r) => r.finding)).toEqual(whole.findings);
    // Every job found the variant's bug; shard 1 kept one of its two, the merge one of the two
    // shards'.
    expect(whole.parts.map((p) => p.findings.length)).toEqual([1, 1, 1]);
    expect(merged.read).toBe(2);
    expect(merged.duplicates).toBe(1);
    // The same cases: every part with the same runs and executions.
    const partsOf = (f: FindingsFile) => f.shards.flatMap((s) => s.parts).map((p) => [p.part, p.target, p.job, p.runs, p.executions]).sort();
    expect(partsOf(merged.merged)).toEqual(partsOf(reference));
    expect(merged.campaigns).toHaveLength(1);
    expect(merged.campaigns[0]!.missingParts).toEqual([]);
    expect(merged.campaigns[0]!.shards).toEqual(["1/2", "2/2"]);
  }, 120_000);

  it("from the CLI, with the target's runs split over two jobs: the merged findings are the campaign's", () => {
    const dir = tmp();
    const common = ["fuzz", "pl011", "--module", ZOO_MODULE, "--runs", "40", "--seed", "1", "--jobs", "2", "--no-save"];
    const whole = run([...common, "--findings-out", join(dir, "whole.json")]);
    expect(whole.status, whole.stderr).toBe(1);
    const outs = [1, 2].map((i) => run([...common, "--shard", `${i}/2`, "--findings-out", join(dir, "shards", `shard-${i}`, "findings.json")]));
    for (const [i, r] of outs.entries()) {
      expect(r.status, r.stderr).toBe(1);
      // Which shard ran, which part and how many cases.
      expect(r.stdout).toContain(`\nshard ${i + 1}/2: 1 of 2 parts (1 target x 2 jobs): pl011 job ${i + 1}; 20 of 40 cases\n`);
    }
    const merge = run(["fuzz", "merge", join(dir, "shards"), "-o", join(dir, "merged.json")]);
    expect(merge.stderr).toBe("");
    expect(merge.status).toBe(1); // the merged results hold a finding, as the campaign's did
    const read = (f: string): FindingsFile => parseFindingsFile(readFileSync(join(dir, f), "utf8"), f);
    const a = read("whole.json");
    const m = read("merged.json");
    expect(a.findings.length).toBeGreaterThan(0);
    // Identity of every finding, and the parts that ran (the cases): the shrunk cases themselves
    // are compared by the test above, where shrinking has no time limit.
    expect(m.findings.map((r) => `${r.part} ${findingIdentity(r.finding)}`)).toEqual(a.findings.map((r) => `${r.part} ${findingIdentity(r.finding)}`));
    const parts = (f: FindingsFile) => f.shards.flatMap((s) => s.parts).map((p) => `${p.part} ${p.target} job ${p.job}: ${p.runs} runs`).sort();
    expect(parts(m)).toEqual(parts(a));
    const n = m.findings.length;
    const read2 = a.findings.length; // each shard found it too
    expect(merge.stdout).toMatch(new RegExp(`^wasm-hal fuzz merge: 2 inputs, \\d+ findings? read: ${n} unique, \\d+ duplicates?\\n`));
    expect(read2).toBe(n);
    expect(merge.stdout).toContain("shards 1/2, 2/2: all 2 parts");
  }, 120_000);
});

describe("wasm-hal fuzz --shard: bad values", () => {
  it("wasm-hal help lists the options and the merge", () => {
    const r = run(["help"]);
    expect(r.status).toBe(0);
    for (const text of ["  --shard i/n ", "  --findings-out FILE ", "  --junit FILE    write a JUnit XML report", "  wasm-hal fuzz merge <DIR|FILE>... [-o FILE] [--junit FILE] [--save DIR]", "  --junit FILE    also write a JUnit XML report"]) {
      expect(r.stdout).toContain(text);
    }
  });


  it.each(["0/2", "3/2", "a/b", "1/0", "2", "1/2/3", "-1/2"])("refuses --shard %s with one line and exit status 2", (value) => {
    const r = run(["fuzz", "pl011", "--seed", "1", "--runs", "1", "--shard", value]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`wasm-hal: --shard expects i/n, shard i of n shards with 1 <= i <= n (1/3 is the first of three), got "${value}"`);
  });

  it("needs --seed: a random seed would differ from shard to shard", () => {
    const r = run(["fuzz", "pl011", "--runs", "1", "--shard", "1/2"]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("wasm-hal: --shard needs --seed S, the same on every shard (a random seed would differ from shard to shard)");
  });

  it("a shard with no part to run says so, writes an empty findings file, and exits 0", () => {
    const dir = tmp();
    const r = run(["fuzz", "pl061", "--seed", "1", "--runs", "5", "--shard", "2/2", "--no-save", "--findings-out", join(dir, "f.json")]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("shard 2/2: 0 of 1 part (1 target x 1 job): nothing to run; --jobs J splits each target's cases into J parts");
    const f = parseFindingsFile(readFileSync(join(dir, "f.json"), "utf8"), "f.json");
    expect(f.findings).toEqual([]);
    expect(f.shards[0]!.parts).toEqual([]);
    expect(f.shards[0]!.shard).toEqual({ index: 2, count: 2 });
  });
});

describe.skipIf(!haveZoo)("wasm-hal fuzz merge", () => {
  // One shard's findings file, made once.
  const dir = tmp();
  const shardFile = join(dir, "shard-1.json");
  const made = haveZoo ? run(["fuzz", "pl011", "--module", ZOO_MODULE, "--runs", "20", "--seed", "3", "--jobs", "2", "--shard", "1/2", "--no-save", "--findings-out", shardFile]) : null;

  it("de-duplicates the same findings given twice, and says which shard is missing", () => {
    expect(made?.status, made?.stderr).toBe(1);
    const shard = parseFindingsFile(readFileSync(shardFile, "utf8"), shardFile);
    const n = shard.findings.length;
    expect(n).toBeGreaterThan(0);
    const r = run(["fuzz", "merge", shardFile, shardFile, "-o", join(dir, "m.json")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`wasm-hal fuzz merge: 2 inputs, ${2 * n} findings read: ${n} unique, ${n} duplicate${n === 1 ? "" : "s"}\n`);
    expect(r.stdout).toContain("shards 1/2, 1/2: 1 of 2 parts; missing pl011 job 2 (shard 2/2); given more than once: pl011 job 1");
    const m = parseFindingsFile(readFileSync(join(dir, "m.json"), "utf8"), "m.json");
    expect(m.findings).toEqual(shard.findings);
    // The shard's record once: merging the merged file again changes nothing.
    expect(m.shards).toHaveLength(1);
    expect(mergeFindings([m, m]).merged).toEqual(m);
  });

  const corrupt: [string, (text: string) => string, RegExp][] = [
    ["truncated JSON", (t) => t.slice(0, t.length / 2), /bad\.json: line \d+, column \d+: invalid JSON/],
    ["another JSON file", () => JSON.stringify({ name: "package" }), /bad\.json: format: expected "wasm-hal-fuzz-findings" \(a file written by wasm-hal fuzz --findings-out or fuzz merge -o\), got nothing/],
    ["a finding without its world", (t) => {
      const o = JSON.parse(t) as { findings: { finding: Record<string, unknown> }[] };
      delete o.findings[0]!.finding.world;
      return JSON.stringify(o);
    }, /bad\.json: findings\[0\]\.finding\.world: expected "legal" or "impossible", got nothing/],
    ["a part of another campaign size", (t) => t.replace(/"parts": 2\b/, '"parts": 0'), /bad\.json: shards\[0\]\.parts\[0\]\.part: expected a part below campaign\.parts \(0\), got 0/],
  ];
  it.each(corrupt)("reports a corrupt input (%s) by its file name and writes nothing", (_what, spoil, message) => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, spoil(readFileSync(shardFile, "utf8")));
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}.json`);
    const r = run(["fuzz", "merge", shardFile, bad, "-o", out]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a missing input and a folder without findings files", () => {
    const empty = tmp();
    const none = run(["fuzz", "merge", join(dir, "no-such-folder")]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("no-such-folder: no such file or folder");
    const r = run(["fuzz", "merge", empty]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(": a folder with no .json findings file in it");
    const usage = run(["fuzz", "merge"]);
    expect(usage.status).toBe(2);
  });
});
