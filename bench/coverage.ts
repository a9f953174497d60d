// The coverage build (docs/fuzzing.md#coverage): what it costs, and what it buys.
//
// `coverageBenchmark()` (a section of `npm run bench`): executions per second of the same fixed
// case per target on the plain module and on its coverage build, in the same run, and their
// ratio; and the same with the counters read after every execution, as the guided fuzzer does.
//
// `node dist/bench/coverage.js --compare [--time S] [--runs N] [--seed S] [--json]`: coverage-
// guided against blind fuzzing over the bug zoo with the same budget per variant (wall time with
// --time, default 2 s; runs with --runs), and the edges each reaches on the real targets in the
// same time. Not part of `npm run bench` (it takes minutes).
import { performance } from "node:perf_hooks";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Fuzzer, type FuzzCase } from "../harness/fuzz/engine.js";
import { targetByName } from "../harness/fuzz/targets/index.js";
import "../harness/fuzz/targets/stm32f4.js";
import { fuzzVariant, zooVariants, type VariantResult } from "../harness/fuzz/variants.js";
import { fuzzTarget } from "../harness/fuzz/runner.js";
import { openFindings } from "../harness/fuzz/regression.js";
import { TARGET_NAMES, type PrimeCellTargetName, type Step } from "../harness/fuzz/target.js";
import { PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK } from "../harness/fuzz/targets/pl011.js";
import { PL022_FUZZ_BASE, PL022_FUZZ_SSPCLK } from "../harness/fuzz/targets/pl022.js";
import { PL061_FUZZ_BASE } from "../harness/fuzz/targets/pl061.js";
import { PL080_FUZZ_BASE } from "../harness/fuzz/targets/pl080.js";
import { wasmPath } from "../harness/hal.js";
import { coverageBuild } from "../harness/coverage/build.js";
import { CoverageAccumulator, CoverageCounters } from "../harness/coverage/counters.js";
import type { GuidedResult } from "../harness/coverage/guided.js";
import { median, ratePerSecond } from "./measure.js";

const MESSAGE = Array.from(Buffer.from("0123456789abcdef", "latin1"));

/** The fixed cases of bench/fuzz.ts: one typical call sequence per target. */
const CASES: Readonly<Record<PrimeCellTargetName, Step[]>> = {
  pl011: [
    { op: "init", args: [PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK, 115200, 0] },
    { op: "write", base: PL011_FUZZ_BASE, at: "scratch", data: MESSAGE, big: false },
  ],
  pl022: [
    { op: "init", args: [PL022_FUZZ_BASE, PL022_FUZZ_SSPCLK, 12_000_000, 0] },
    { op: "transfer", base: PL022_FUZZ_BASE, at: "scratch", frames: MESSAGE, tx: true, rx: true },
  ],
  pl061: [
    { op: "set_direction", base: PL061_FUZZ_BASE, mask: 0x0f, value: 0x0f },
    { op: "write", base: PL061_FUZZ_BASE, mask: 0x0f, value: 0x05 },
    { op: "read", base: PL061_FUZZ_BASE, mask: 0xff },
    { op: "irq_config", base: PL061_FUZZ_BASE, mask: 0xf0, value: 0x1 },
  ],
  pl080: [
    { op: "init", base: PL080_FUZZ_BASE },
    { op: "memcpy", base: PL080_FUZZ_BASE, channel: 0, config: 0, len: 256, srcSpace: "ram", src: 0, dstSpace: "ram", dst: 0 },
    { op: "wait", base: PL080_FUZZ_BASE, channel: 0 },
  ],
};

/** Plain against coverage build for one target's fixed case, rounds alternating. */
function slowdown(target: PrimeCellTargetName, rounds: number, roundMs: number): Record<string, number> {
  const fuzzCase: FuzzCase = { target, steps: CASES[target] };
  const plain = new Fuzzer(targetByName(target), wasmPath("release"));
  const build = coverageBuild(wasmPath("release"));
  const covered = new Fuzzer(targetByName(target), build.path);
  const counters = new CoverageCounters(covered.world.memory, build.map);
  const view = counters.view();
  const accumulated = new CoverageAccumulator(build.map);
  for (const f of [plain, covered]) {
    const check = f.runCase(fuzzCase);
    if (check.failure !== null) throw new Error(`the ${target} coverage benchmark case fails on ${f.modulePath}: ${check.failure.message}`);
  }
  if (counters.hit().length === 0) throw new Error(`the ${target} case ran no counted edge on ${build.path}`);
  const runPlain = (n: number): void => {
    for (let i = 0; i < n; i++) plain.runCase(fuzzCase);
  };
  const runCovered = (n: number): void => {
    for (let i = 0; i < n; i++) covered.runCase(fuzzCase);
  };
  const runGuided = (n: number): void => {
    for (let i = 0; i < n; i++) {
      covered.runCase(fuzzCase);
      accumulated.add(view);
    }
  };
  runPlain(2000);
  runCovered(2000);
  runGuided(2000);
  const plains: number[] = [];
  const covers: number[] = [];
  const guideds: number[] = [];
  const ratios: number[] = [];
  const guidedRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const p = ratePerSecond(runPlain, roundMs);
    const c = ratePerSecond(runCovered, roundMs);
    const g = ratePerSecond(runGuided, roundMs);
    plains.push(p);
    covers.push(c);
    guideds.push(g);
    ratios.push(p / c);
    guidedRatios.push(p / g);
  }
  return {
    [`${target}_plain_executions_per_second`]: Math.round(median(plains)),
    [`${target}_coverage_executions_per_second`]: Math.round(median(covers)),
    [`${target}_slowdown`]: Number(median(ratios).toFixed(2)),
    [`${target}_with_counter_read_executions_per_second`]: Math.round(median(guideds)),
    [`${target}_slowdown_with_counter_read`]: Number(median(guidedRatios).toFixed(2)),
  };
}

/** The module alone: pl011_init + a 16-byte pl011_write against imports that return constants,
 * plain against coverage build. The worst case: nothing else takes time. */
function floorSlowdown(rounds: number, roundMs: number): Record<string, number> {
  const make = (path: string): (() => void) => {
    const exports = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), { env: { mmio_read: () => 0, mmio_write: () => {}, barrier: () => {} } }).exports as Record<string, (...a: number[]) => number>;
    const scratch = exports["hal_scratch"]!();
    new Uint8Array((exports["memory"] as unknown as WebAssembly.Memory).buffer).set(MESSAGE, scratch);
    return () => {
      exports["pl011_init"]!(PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK, 115200, 0);
      exports["pl011_write"]!(PL011_FUZZ_BASE, scratch, MESSAGE.length);
    };
  };
  const plain = make(wasmPath("release"));
  const covered = make(coverageBuild(wasmPath("release")).path);
  const runPlain = (n: number): void => { for (let i = 0; i < n; i++) plain(); };
  const runCovered = (n: number): void => { for (let i = 0; i < n; i++) covered(); };
  runPlain(5000);
  runCovered(5000);
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) ratios.push(ratePerSecond(runPlain, roundMs) / ratePerSecond(runCovered, roundMs));
  return { floor_pl011_slowdown: Number(median(ratios).toFixed(2)) };
}

/**
 * Per PrimeCell target: executions per second of its fixed case on build/hal.wasm and on its
 * coverage build (the same fuzzer, world and checks), the slowdown (plain rate / coverage rate,
 * median of the rounds' ratios), and the same with the counters read after every execution.
 * `slowdown_max` is the largest of the targets' slowdowns.
 */
export async function coverageBenchmark(options: { rounds?: number; roundMs?: number } = {}): Promise<Record<string, number>> {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 150;
  const out: Record<string, number> = {};
  for (const t of TARGET_NAMES) Object.assign(out, slowdown(t, rounds, roundMs));
  Object.assign(out, floorSlowdown(rounds, roundMs));
  out["edges_hal"] = coverageBuild(wasmPath("release")).map.count;
  out["slowdown_max"] = Math.max(...TARGET_NAMES.map((t) => out[`${t}_slowdown`]!));
  out["slowdown_with_counter_read_max"] = Math.max(...TARGET_NAMES.map((t) => out[`${t}_slowdown_with_counter_read`]!));
  return out;
}

interface ModeResult {
  readonly found: number;
  readonly variants: readonly { name: string; found: boolean; runs: number; ms: number }[];
}

function zooMode(budget: { timeMs?: number; runs: number }, seed: number, guided: boolean): ModeResult {
  const variants = zooVariants().map((v): { name: string; found: boolean; runs: number; ms: number } => {
    const r: VariantResult = fuzzVariant(v, {
      runs: budget.runs, seed, ...(budget.timeMs === undefined ? {} : { timeMs: budget.timeMs }),
      ...(guided ? { coverage: {} } : {}),
    });
    return { name: v.name, found: r.finding !== null, runs: r.runs, ms: r.elapsedMs };
  });
  return { found: variants.filter((v) => v.found).length, variants };
}

async function compare(): Promise<void> {
  const { values } = parseArgs({ options: { compare: { type: "boolean" }, time: { type: "string" }, runs: { type: "string" }, seed: { type: "string" }, seeds: { type: "string" }, json: { type: "boolean" } }, strict: true });
  const seed = Number(values.seed ?? 1);
  const seeds = Number(values.seeds ?? 1);
  const budget = values.runs !== undefined ? { runs: Number(values.runs) } : { runs: Infinity, timeMs: 1000 * Number(values.time ?? 2) };
  const blind = zooMode(budget, seed, false);
  const guided = zooMode(budget, seed, true);
  // More seeds: how many variants each mode finds in all, seed by seed (the same budget each).
  const perSeed: { seed: number; blind: number; guided: number }[] = [{ seed, blind: blind.found, guided: guided.found }];
  for (let s = seed + 1; s < seed + seeds; s++) perSeed.push({ seed: s, blind: zooMode(budget, s, false).found, guided: zooMode(budget, s, true).found });
  // Edges reached on the real targets in the same budget: blind generation through the guided
  // loop (mutate 0) against guided.
  const reach: Record<string, { blind: number; guided: number; edges: number }> = {};
  for (const t of [...TARGET_NAMES, "stm32f4-usart", "stm32f4-dma"]) {
    const run = (mutate: number): GuidedResult => fuzzTarget(t, { runs: budget.runs, seed, known: openFindings(), ...(budget.timeMs === undefined ? {} : { timeMs: budget.timeMs }), coverage: { mutate } }) as GuidedResult;
    const b = run(0);
    const g = run(0.5);
    reach[t] = { blind: b.coverage.covered, guided: g.coverage.covered, edges: g.coverage.edges };
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ seed, budget, blind, guided, perSeed, reach }, null, 2) + "\n");
    return;
  }
  const what = budget.timeMs === undefined ? `${budget.runs} runs` : `${budget.timeMs / 1000} s`;
  const lines = [`bug zoo, seed ${seed}, ${what} per variant: blind found ${blind.found}/${blind.variants.length}, coverage-guided ${guided.found}/${guided.variants.length}`];
  blind.variants.forEach((b, i) => {
    const g = guided.variants[i]!;
    const show = (x: typeof b): string => (x.found ? `found after ${x.runs} runs, ${(x.ms / 1000).toFixed(2)} s` : `missed (${x.runs} runs)`);
    lines.push(`  ${b.name.padEnd(36)} blind: ${show(b).padEnd(34)} guided: ${show(g)}`);
  });
  if (perSeed.length > 1) {
    lines.push("", `seeds ${seed}..${seed + seeds - 1}, ${what} per variant: found ${perSeed.map((p) => `${p.blind}/${p.guided}`).join(", ")} (blind/guided); in all blind ${perSeed.reduce((a, p) => a + p.blind, 0)}, guided ${perSeed.reduce((a, p) => a + p.guided, 0)} of ${perSeed.length * blind.variants.length}`);
  }
  lines.push("", `edges reached in ${what} (blind generation / guided, of the module's edges):`);
  for (const [t, r] of Object.entries(reach)) lines.push(`  ${t.padEnd(14)} ${String(r.blind).padStart(4)} / ${String(r.guided).padStart(4)} of ${r.edges}`);
  process.stdout.write(lines.join("\n") + "\n");
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes("--compare")) await compare();
  else process.stdout.write(JSON.stringify(await coverageBenchmark(), null, 2) + "\n");
}
