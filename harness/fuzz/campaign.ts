// A fuzz campaign: one or more targets, in this thread or split over worker threads (each with its
// own module instance and a sub-seed derived from the seed), with the results combined. The same
// seed, runs and jobs give the same campaign. Its parts (one target in one job) are independent,
// so a shard (`--shard i/n`) runs every n-th part and shards on other machines run the rest.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { packageRoot } from "../hal.js";
import { GuidedSearch } from "../coverage/guided.js";
import { findingKey, type Finding } from "./engine.js";
import { deriveSeed, fuzzTarget, type Progress, type RunOptions, type TargetResult } from "./runner.js";
import type { TargetName } from "./target.js";
import { targetImports, type TargetImport } from "./target-table.js";
import type { VariantResult } from "./variants.js";

export interface CampaignOptions extends Omit<RunOptions, "onProgress" | "runs"> {
  readonly targets: readonly TargetName[];
  /** Cases per target, over all jobs (Infinity with a time limit). */
  readonly runs: number;
  /** Worker threads; 1 runs in this thread. */
  readonly jobs?: number;
  /** Called about every progressMs with the counts of every job, summed. */
  readonly onProgress?: (progress: CampaignProgress) => void;
  /** Run only this shard's parts of the campaign (planJobs). */
  readonly shard?: Shard;
  /** Run the jobs one after another in this thread instead of in worker threads: the same
   * results, without the compiled harness that workers load. */
  readonly inThread?: boolean;
}

/** Shard `index` (from 1) of `count`: every count-th part of a campaign, from part index - 1. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/**
 * The number of a part of a campaign: target `t` (its place in the campaign's list) in job `j`
 * of a campaign of `targets` targets. Parts are numbered job by job, so that consecutive parts
 * (and so the parts of one shard) spread over both the targets and the jobs' sub-seeds.
 */
export function partIndex(targets: number, t: number, job: number): number {
  return job * targets + t;
}

/** Whether part `part` belongs to a shard (every part does without one). */
export function inShard(part: number, shard: Shard | undefined): boolean {
  return shard === undefined || part % shard.count === shard.index - 1;
}

/** One target in one job, as it ran: the unit that shards split and that findings files keep. */
export interface PartResult extends TargetResult {
  /** partIndex of the target and job. */
  readonly part: number;
  readonly job: number;
}

export interface CampaignProgress {
  readonly runs: number;
  readonly executions: number;
  readonly failures: number;
  readonly elapsedMs: number;
  /** The target each job is on. */
  readonly current: readonly TargetName[];
}

export interface CampaignResult {
  readonly seed: number;
  readonly jobs: number;
  /** Per target, every job's counts summed and their findings merged. */
  readonly targets: readonly TargetResult[];
  readonly findings: readonly Finding[];
  readonly runs: number;
  readonly executions: number;
  readonly failures: number;
  readonly elapsedMs: number;
  /** The parts that ran (every target of every job, or a shard's share), in part order. */
  readonly parts: readonly PartResult[];
  /** Parts of the whole campaign: targets x jobs. */
  readonly totalParts: number;
  readonly shard: Shard | null;
}

/** What one job runs: the targets in order, each with its share of the runs. */
export interface JobPlan {
  readonly job: number;
  readonly targets: readonly TargetName[];
  /** The target modules a worker thread imports before it starts (a project's targets). */
  readonly imports: readonly TargetImport[];
  readonly options: Omit<RunOptions, "onProgress">;
}

/** The jobs of a campaign. With one job the seed is used as it is; job j of several gets a
 * sub-seed derived from it. A time limit is the job's: runJob shares it out between the job's
 * targets by executions (fair time), not by equal slices of wall-clock time. With a
 * shard, each job keeps only the shard's targets (partIndex), and jobs left with none are
 * dropped: the seeds and run shares stay those of the whole campaign, so that a part runs the
 * same cases in whichever shard it falls. */
export function planJobs(options: CampaignOptions): JobPlan[] {
  const jobs = Math.max(1, Math.floor(options.jobs ?? 1));
  const { targets: _targets, jobs: _jobs, onProgress: _onProgress, shard, inThread: _inThread, ...rest } = options;
  const plans: JobPlan[] = [];
  for (let j = 0; j < jobs; j++) {
    const share = options.runs === Infinity ? Infinity : Math.floor(options.runs / jobs) + (j < options.runs % jobs ? 1 : 0);
    const targets = options.targets.filter((_, t) => inShard(partIndex(options.targets.length, t, j), shard));
    if (targets.length === 0) continue;
    plans.push({
      job: j,
      targets,
      imports: targetImports(targets),
      options: {
        ...rest,
        runs: share,
        seed: jobs === 1 ? options.seed : deriveSeed(options.seed, 0x10000 + j),
      },
    });
  }
  return plans;
}

/** The parts of a job's results, numbered. */
function partsOf(all: readonly TargetName[], plan: JobPlan, results: readonly TargetResult[]): PartResult[] {
  return results.map((r) => ({ ...r, job: plan.job, part: partIndex(all.length, all.indexOf(r.target), plan.job) }));
}

/** Runs one job's plan in this thread: its targets one after another, or, with a time limit
 * and several targets, in turns (fairTime) that give each the same number of runs, or with
 * --coverage more to those whose coverage still grows. */
export function runJob(plan: JobPlan, onProgress?: (target: TargetName, p: Progress) => void): TargetResult[] {
  if (plan.options.runs === 0) return [];
  if (plan.options.timeMs !== undefined && plan.targets.length > 1) return fairTime(plan, onProgress);
  return plan.targets.map((target) => fuzzTarget(target, { ...plan.options, ...(onProgress === undefined ? {} : { onProgress: (p: Progress) => onProgress(target, p) }) }));
}

/** Runs of every target in the first turn of fairTime, which measures what a run of each costs. */
export const FAIR_FIRST_TURN_RUNS = 16;
/** A turn (one slice per target) is sized to about this fraction of the time left, so that the
 * last turn, which the deadline cuts, leaves the targets at most that far apart. */
const FAIR_TURN_FRACTION = 0.1;
/** A run is taken to cost at least this (ms) when sizing turns: a cheap target's first slice may
 * take less time than the clock shows. */
const FAIR_MIN_MS_PER_RUN = 1e-3;

/** The runs each target gets in a turn of fairTime: the turn (one slice per target, at `msPerRun`
 * each) takes about FAIR_TURN_FRACTION of the `leftMs` still to go, and never fewer runs than the
 * first turn's. */
export function fairTurnRuns(msPerRun: readonly number[], leftMs: number): number {
  const turnCost = msPerRun.reduce((sum, ms) => sum + ms, 0);
  return Math.max(FAIR_FIRST_TURN_RUNS, Math.floor((Math.max(0, leftMs) * FAIR_TURN_FRACTION) / Math.max(turnCost, FAIR_MIN_MS_PER_RUN)));
}

/** What one slice of a coverage-guided target gained: its runs, and its new edges plus its new
 * features (so a new edge counts twice: as an edge and as its first hit-count class). */
export interface SliceGrowth {
  readonly runs: number;
  readonly gain: number;
}

/** The slices of a target, newest first, that a coverage-weighted turn looks at: for its growth
 * rate (each slice counting half as much as the one after it) and for what its runs cost. */
export const FAIR_WINDOW = 3;
/** The share of the even share that a coverage-guided target gets in a turn however little its
 * coverage grows (and never fewer than FAIR_FIRST_TURN_RUNS runs). */
export const FAIR_FLOOR_SHARE = 0.25;

/** How fast a target's coverage grows: gain per run over its last FAIR_WINDOW slices
 * (`history` oldest first), the newest slice weighing 1, the one before 1/2, then 1/4. Per run,
 * not per slice: a target given more runs finds more by that alone, and its weight would feed
 * itself. 0 without history. */
export function growthRate(history: readonly SliceGrowth[]): number {
  let gain = 0;
  let runs = 0;
  for (let k = 0; k < FAIR_WINDOW && k < history.length; k++) {
    const slice = history[history.length - 1 - k]!;
    const weight = 2 ** -k;
    gain += weight * slice.gain;
    runs += weight * slice.runs;
  }
  return runs === 0 ? 0 : gain / runs;
}

/**
 * The runs each target gets in a turn of a coverage-guided fairTime, from what a run of each costs
 * (`msPerRun`) and what its slices gained (`growth`, per target, oldest first). The turn takes
 * about FAIR_TURN_FRACTION of `leftMs`, as fairTurnRuns's even share does. Every target gets a
 * floor, FAIR_FLOOR_SHARE of the even share (at least FAIR_FIRST_TURN_RUNS runs), so that a target
 * whose coverage stopped growing is still searched; the time left in the turn buys runs shared in
 * proportion to each target's growthRate. Runs, not time, are shared: two targets growing as fast
 * get the same runs whatever each costs, and with the same rate everywhere (none growing, for
 * instance) the turn is the even share.
 */
export function coverageTurnRuns(msPerRun: readonly number[], growth: readonly (readonly SliceGrowth[])[], leftMs: number): number[] {
  const even = fairTurnRuns(msPerRun, leftMs);
  const rates = growth.map(growthRate);
  if (rates.every((r) => r === rates[0])) return msPerRun.map(() => even);
  const costs = msPerRun.map((ms) => Math.max(ms, FAIR_MIN_MS_PER_RUN));
  const floor = Math.max(FAIR_FIRST_TURN_RUNS, Math.floor(even * FAIR_FLOOR_SHARE));
  const turnMs = Math.max(0, leftMs) * FAIR_TURN_FRACTION;
  const spareMs = Math.max(0, turnMs - floor * costs.reduce((sum, ms) => sum + ms, 0));
  // spareMs buys runs r_i = k * rate_i with sum(r_i * cost_i) = spareMs.
  const perRate = spareMs / rates.reduce((sum, rate, i) => sum + rate * costs[i]!, 0);
  return rates.map((rate) => floor + Math.floor(rate * perRate));
}

/** A slice of a coverage-guided target in fairTime: what it gained, and the time it took (by the
 * high-resolution clock: a slice of a cheap target takes less than the millisecond clock shows). */
interface GuidedSliceCost extends SliceGrowth {
  readonly ms: number;
}

/** What a run of a coverage-guided target cost over its last FAIR_WINDOW slices: its cost drifts
 * as its corpus does (mutants of a case that polls a stuck flag to the limit cost as much). */
function recentMsPerRun(slices: readonly GuidedSliceCost[]): number {
  const recent = slices.slice(-FAIR_WINDOW);
  return recent.reduce((sum, s) => sum + s.ms, 0) / Math.max(1, recent.reduce((sum, s) => sum + s.runs, 0));
}

/** One target's slices in a fairTime job so far, summed. */
interface FairState {
  readonly target: TargetName;
  /** With --coverage, the target's one search for the whole job: its corpus and counts carry
   * over from turn to turn. */
  readonly search: GuidedSearch | null;
  /** The search's slices, oldest first. */
  readonly slices: GuidedSliceCost[];
  readonly findings: Map<string, Finding>;
  module: string;
  runs: number;
  executions: number;
  elapsedMs: number;
  repeats: number;
  rejected: number;
  firstFailureRun: number | null;
  interrupted: boolean;
  done: boolean;
}

/**
 * Fair time (docs/fuzzing.md): the job's time limit shared out by executions, not by wall clock.
 * The targets take turns, each turn sized from what a run of each cost so far so that it takes
 * about a tenth of the time left. Blind, every target still searching gets the same number of runs
 * in a turn: a target that costs a thousand times more per run than another (pl011 against pl061)
 * gets a thousand times more time, and both about the same number of cases. Each slice is a
 * fuzzTarget run with a seed derived from the turn; what earlier slices found counts as known, so
 * a later slice looks for other bugs. With --coverage, each target keeps one GuidedSearch for the
 * whole job, a slice of which runs each turn, and the runs of a turn go more to the targets whose
 * coverage still grows (coverageTurnRuns), costed at what their recent slices cost.
 */
function fairTime(plan: JobPlan, onProgress?: (target: TargetName, p: Progress) => void): TargetResult[] {
  const options = plan.options;
  const deadline = Date.now() + options.timeMs!;
  const maxFindings = options.maxFindings ?? 5;
  const states = plan.targets.map((target): FairState => ({
    target,
    // The search reports its own counts, which run over the whole job.
    search: options.coverage === undefined ? null : new GuidedSearch(target, { ...options, ...(onProgress === undefined ? {} : { onProgress: (p: Progress) => onProgress(target, p) }) }),
    slices: [], findings: new Map(), module: "", runs: 0, executions: 0, elapsedMs: 0, repeats: 0, rejected: 0,
    firstFailureRun: null, interrupted: false, done: false,
  }));
  for (let turn = 0; states.some((s) => !s.done); turn++) {
    const active = states.filter((s) => !s.done);
    let sizes: number[];
    if (turn === 0) {
      sizes = active.map(() => FAIR_FIRST_TURN_RUNS);
    } else if (options.coverage === undefined) {
      const size = fairTurnRuns(active.map((s) => s.elapsedMs / Math.max(1, s.runs)), deadline - Date.now());
      sizes = active.map(() => size);
    } else {
      sizes = coverageTurnRuns(active.map((s) => recentMsPerRun(s.slices)), active.map((s) => s.slices), deadline - Date.now());
    }
    for (const [k, s] of active.entries()) {
      const left = deadline - Date.now();
      const runs = Math.min(sizes[k]!, options.runs - s.runs);
      if (left <= 0 || runs <= 0) {
        s.done = true;
        s.interrupted ||= left <= 0;
        continue;
      }
      let r: TargetResult;
      if (s.search !== null) {
        const started = performance.now();
        const slice = s.search.run(runs, deadline);
        s.slices.push({ runs: slice.runs, gain: slice.newEdges + slice.features, ms: performance.now() - started });
        r = slice;
      } else {
        r = fuzzTarget(s.target, {
          ...options,
          runs,
          seed: deriveSeed(options.seed, 0x20000 + turn),
          timeMs: left,
          maxFindings: maxFindings - s.findings.size,
          known: [...(options.known ?? []), ...s.findings.keys()],
          ...(onProgress === undefined ? {} : {
            onProgress: (p: Progress) => onProgress(s.target, { ...p, runs: s.runs + p.runs, executions: s.executions + p.executions, failures: s.findings.size + p.failures }),
          }),
        });
      }
      if (r.firstFailureRun !== null) s.firstFailureRun ??= s.runs + r.firstFailureRun;
      s.module = r.module;
      s.runs += r.runs;
      s.executions += r.executions;
      s.elapsedMs += r.elapsedMs;
      s.repeats += r.repeats;
      s.rejected += r.rejected;
      s.interrupted ||= r.interrupted;
      for (const f of r.findings) if (!s.findings.has(findingKey(f))) s.findings.set(findingKey(f), f);
      if (s.findings.size >= maxFindings || s.runs >= options.runs || r.interrupted) s.done = true;
    }
  }
  // One coverage file per target: every slice of its search counted once.
  const dir = options.coverage?.dir;
  if (dir !== undefined) for (const s of states) s.search?.writeCoverage(dir);
  return states.map((s): TargetResult => ({
    target: s.target, module: s.module, seed: options.seed, runs: s.runs, executions: s.executions, elapsedMs: s.elapsedMs,
    findings: [...s.findings.values()], failures: s.findings.size, repeats: s.repeats, rejected: s.rejected,
    firstFailureRun: s.firstFailureRun, interrupted: s.interrupted,
  }));
}

/** Merges the per-target results of several jobs. */
export function combine(seed: number, jobs: number, perJob: readonly (readonly TargetResult[])[], elapsedMs: number): Omit<CampaignResult, "parts" | "totalParts" | "shard"> {
  const byTarget = new Map<TargetName, TargetResult[]>();
  for (const results of perJob) for (const r of results) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  const targets: TargetResult[] = [];
  for (const [target, rs] of byTarget) {
    const findings = new Map<string, Finding>();
    for (const r of rs) {
      for (const f of r.findings) {
        const key = findingKey(f);
        const known = findings.get(key);
        if (known === undefined || f.case.steps.length < known.case.steps.length) findings.set(key, f);
      }
    }
    const firsts = rs.map((r) => r.firstFailureRun).filter((x): x is number => x !== null);
    targets.push({
      target,
      module: rs[0]!.module,
      seed,
      runs: rs.reduce((a, r) => a + r.runs, 0),
      executions: rs.reduce((a, r) => a + r.executions, 0),
      elapsedMs: Math.max(...rs.map((r) => r.elapsedMs)),
      findings: [...findings.values()],
      failures: findings.size,
      repeats: rs.reduce((a, r) => a + r.repeats, 0),
      rejected: rs.reduce((a, r) => a + r.rejected, 0),
      firstFailureRun: firsts.length === 0 ? null : Math.min(...firsts),
      interrupted: rs.some((r) => r.interrupted),
    });
  }
  return {
    seed,
    jobs,
    targets,
    findings: targets.flatMap((t) => t.findings),
    runs: targets.reduce((a, t) => a + t.runs, 0),
    executions: targets.reduce((a, t) => a + t.executions, 0),
    failures: targets.reduce((a, t) => a + t.failures, 0),
    elapsedMs,
  };
}

/** Turns per-target progress (which starts from 0 for each target) into counts over the job. */
export function cumulativeProgress(onProgress: (target: TargetName, p: Progress) => void): (target: TargetName, p: Progress) => void {
  // Each target reports its own counts so far (fairTime's slices included); the job's are the
  // sum of every target's latest report.
  const latest = new Map<TargetName, { runs: number; executions: number; failures: number }>();
  return (target, p) => {
    latest.set(target, { runs: p.runs, executions: p.executions, failures: p.failures });
    let runs = 0;
    let executions = 0;
    let failures = 0;
    for (const c of latest.values()) {
      runs += c.runs;
      executions += c.executions;
      failures += c.failures;
    }
    onProgress(target, { ...p, runs, executions, failures });
  };
}

/** Messages from a worker. */
export type WorkerMessage =
  | { readonly kind: "progress"; readonly target: TargetName; readonly progress: Progress }
  | { readonly kind: "result"; readonly results: TargetResult[] }
  | { readonly kind: "variants"; readonly results: VariantResult[] }
  | { readonly kind: "error"; readonly message: string };

/**
 * Runs one worker thread of the fuzz script to its result. `take` picks the result out of the
 * message that carries it (undefined for any other); `onOther` sees the other messages (progress).
 * An error message, a thread error, or an exit before the result rejects, naming the job.
 */
export function runWorker<T>(script: URL, workerData: unknown, job: number, take: (message: WorkerMessage) => T | undefined, onOther?: (message: WorkerMessage) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(script, { workerData });
    let settled = false;
    worker.on("message", (message: WorkerMessage) => {
      if (message.kind === "error") {
        settled = true;
        reject(new Error(`fuzz job ${job}: ${message.message}`));
        return;
      }
      const result = take(message);
      if (result !== undefined) {
        settled = true;
        resolve(result);
      } else {
        onOther?.(message);
      }
    });
    worker.on("error", (e) => {
      settled = true;
      reject(e);
    });
    worker.on("exit", (code) => {
      if (!settled) reject(new Error(`fuzz job ${job} exited with code ${code} before reporting`));
    });
  });
}

/** The compiled worker script, next to this file when it runs compiled, else under dist/. */
export function workerScript(): URL | null {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".js")) return new URL("./worker.js", import.meta.url);
  const dist = join(packageRoot(), "dist", "harness", "fuzz", "worker.js");
  return existsSync(dist) ? pathToFileURL(dist) : null;
}

/** True when dist/ holds a compiled harness at least as new as every harness source. */
export function compiledHarnessIsFresh(): boolean {
  const script = workerScript();
  if (script === null) return false;
  const built = statSync(fileURLToPath(script)).mtimeMs;
  const newest = (dir: string): number => {
    let t = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) t = Math.max(t, newest(path));
      else if (entry.name.endsWith(".ts")) t = Math.max(t, statSync(path).mtimeMs);
    }
    return t;
  };
  return newest(join(packageRoot(), "harness")) <= built;
}

/** Runs a campaign: in this thread with one job, in worker threads with more (a shard: with
 * more than one job left). */
export async function fuzz(options: CampaignOptions): Promise<CampaignResult> {
  const started = Date.now();
  const plans = planJobs(options);
  const campaignJobs = Math.max(1, Math.floor(options.jobs ?? 1));
  const whole = { totalParts: options.targets.length * campaignJobs, shard: options.shard ?? null };
  const finish = (perJob: readonly (readonly TargetResult[])[]): CampaignResult => ({
    ...combine(options.seed, campaignJobs, perJob, Date.now() - started),
    parts: plans.flatMap((plan, k) => partsOf(options.targets, plan, perJob[k] ?? [])).sort((a, b) => a.part - b.part),
    ...whole,
  });
  const jobs = plans.length;
  if (jobs === 0) return finish([]);
  const progressMs = options.progressMs ?? 500;
  const latest: { runs: number; executions: number; failures: number; current: TargetName }[] =
    plans.map((p) => ({ runs: 0, executions: 0, failures: 0, current: p.targets[0]! }));
  const report = (): void => {
    options.onProgress?.({
      runs: latest.reduce((a, l) => a + l.runs, 0),
      executions: latest.reduce((a, l) => a + l.executions, 0),
      failures: latest.reduce((a, l) => a + l.failures, 0),
      elapsedMs: Date.now() - started,
      current: latest.map((l) => l.current),
    });
  };

  if (jobs === 1 || options.inThread === true) {
    const perJob = plans.map((plan, k) => runJob({ ...plan, options: { ...plan.options, progressMs } }, cumulativeProgress((target, p) => {
      latest[k] = { runs: p.runs, executions: p.executions, failures: p.failures, current: target };
      report();
    })));
    return finish(perJob);
  }

  const script = workerScript();
  if (script === null) throw new Error("--jobs needs the compiled harness (dist/harness/fuzz/worker.js): run `npm run build:ts` first");
  const perJob = await Promise.all(plans.map((plan, j) => runWorker<TargetResult[]>(
    script,
    { kind: "job", plan: { ...plan, options: { ...plan.options, progressMs } } },
    j,
    (message) => (message.kind === "result" ? message.results : undefined),
    (message) => {
      if (message.kind !== "progress") return;
      const p = message.progress;
      latest[j] = { runs: p.runs, executions: p.executions, failures: p.failures, current: message.target };
      report();
    },
  )));
  report();
  return finish(perJob);
}
