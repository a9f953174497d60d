// A fuzz campaign: one or more targets, in this thread or split over worker threads (each with its
// own module instance and a sub-seed derived from the seed), with the results combined. The same
// seed, runs and jobs give the same campaign. Its parts (one target in one job) are independent,
// so a shard (`--shard i/n`) runs every n-th part and shards on other machines run the rest.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { packageRoot } from "../hal.js";
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
 * sub-seed derived from it. A time limit is shared out between the targets of a job. With a
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
        ...(options.timeMs === undefined ? {} : { timeMs: options.timeMs / targets.length }),
      },
    });
  }
  return plans;
}

/** The parts of a job's results, numbered. */
function partsOf(all: readonly TargetName[], plan: JobPlan, results: readonly TargetResult[]): PartResult[] {
  return results.map((r) => ({ ...r, job: plan.job, part: partIndex(all.length, all.indexOf(r.target), plan.job) }));
}

/** Runs one job's plan in this thread. */
export function runJob(plan: JobPlan, onProgress?: (target: TargetName, p: Progress) => void): TargetResult[] {
  const results: TargetResult[] = [];
  for (const target of plan.targets) {
    if (plan.options.runs === 0) continue;
    results.push(fuzzTarget(target, { ...plan.options, ...(onProgress === undefined ? {} : { onProgress: (p: Progress) => onProgress(target, p) }) }));
  }
  return results;
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
  let base = { runs: 0, executions: 0, failures: 0 };
  let last = { runs: 0, executions: 0, failures: 0 };
  let current: TargetName | null = null;
  return (target, p) => {
    if (current !== null && current !== target) base = { runs: base.runs + last.runs, executions: base.executions + last.executions, failures: base.failures + last.failures };
    current = target;
    last = { runs: p.runs, executions: p.executions, failures: p.failures };
    onProgress(target, { ...p, runs: base.runs + p.runs, executions: base.executions + p.executions, failures: base.failures + p.failures });
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
