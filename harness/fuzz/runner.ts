// The fuzz loop: fast-check generates cases (sequences of driver calls, device events and
// response overrides), runs each on fresh device state, shrinks a failing one, and the loop goes
// on with a seed derived from the first until the runs or the time are used up. The same seed and
// run count give the same run.
import fc from "fast-check";
import { wasmPath } from "../hal.js";
import { Fuzzer, FindingTally, findingKey, type Finding, type FuzzCase } from "./engine.js";
import { targetByName, type TargetOptions } from "./target-table.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "./targets/pl011.js";
import type { FuzzFailure, Step, TargetName } from "./target.js";
import { fuzzGuided, type CoverageRunOptions } from "../coverage/guided.js";

export interface RunOptions extends TargetOptions {
  /** Cases to generate (fast-check runs); Infinity with a time limit. */
  readonly runs: number;
  readonly seed: number;
  /** Wall-clock limit in ms (the search and the shrinking of what it found). */
  readonly timeMs?: number;
  /** Response overrides produce only values the hardware could produce. */
  readonly legalOnly?: boolean;
  /** Most steps in a case. */
  readonly maxSteps?: number;
  /** The module to fuzz (build/hal.wasm by default). */
  readonly modulePath?: string;
  /** Time spent shrinking one failing case, in ms (then the smallest failing case so far is
   * kept). Default 3000. */
  readonly shrinkMs?: number;
  /** Stop after this many distinct findings (default 5). */
  readonly maxFindings?: number;
  /** Findings (findingKey) already known, open bugs for instance: a case failing one of these
   * ways is counted as a repeat and the search goes on. */
  readonly known?: readonly string[];
  /** Keeps a finding, or rejects it (it then counts as known); all are kept by default. A zoo
   * run rejects findings the real driver shares. */
  readonly accept?: (finding: Finding) => boolean;
  /** Called about every progressMs with the counts so far. */
  readonly onProgress?: (progress: Progress) => void;
  readonly progressMs?: number;
  /** Stretch the bus latency of repeated reads of a stable register (World.pollLatency,
   * docs/fuzzing.md#poll-latency). Default true; false fuzzes at the fixed latency. */
  readonly pollLatency?: boolean;
  /** Coverage-guided: run the module's coverage build, keep the cases that reach new edges and
   * mutate them (harness/coverage/guided.ts, docs/fuzzing.md#coverage). */
  readonly coverage?: CoverageRunOptions;
}

export interface Progress {
  readonly target: TargetName;
  readonly runs: number;
  readonly executions: number;
  readonly failures: number;
  readonly elapsedMs: number;
}

export interface TargetResult {
  readonly target: TargetName;
  readonly module: string;
  readonly seed: number;
  /** Cases generated and run by the search. */
  readonly runs: number;
  /** Executions in all, shrinking included. */
  readonly executions: number;
  readonly elapsedMs: number;
  /** Distinct findings (by target, property, call and world). */
  readonly findings: readonly Finding[];
  /** Distinct findings kept. */
  readonly failures: number;
  /** Search runs that failed in a way already known. */
  readonly repeats: number;
  /** Findings the `accept` option rejected. */
  readonly rejected: number;
  /** Runs of the search until the first failure, or null. */
  readonly firstFailureRun: number | null;
  readonly interrupted: boolean;
}

export const DEFAULT_MAX_STEPS = 12;
const DEFAULT_PROGRESS_MS = 500;

/** A 32-bit seed derived from another and an index (splitmix32). */
export function deriveSeed(seed: number, index: number): number {
  let z = (seed + Math.imul(index + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/**
 * The counterexample that a seed and a path (from a finding or a regression file) lead to, as a
 * case: fast-check replays the search and the shrinking steps. Exact when the options are those
 * of the run and its shrinking was not cut by the time limit. A finding with a commands replay
 * path was made by fast-check's commands, which the search no longer uses: null.
 */
export function replayCounterexample(name: TargetName, options: { seed: number; path: string; replayPath?: string; modulePath?: string; legalOnly?: boolean; maxSteps?: number; stepAccessLimit?: number; pollLatency?: boolean }): FuzzCase | null {
  if (options.replayPath !== undefined && options.replayPath !== "") return null;
  const target = targetByName(name, options);
  const fuzzer = new Fuzzer(target, options.modulePath ?? target.module ?? wasmPath("release"));
  fuzzer.world.pollLatency = options.pollLatency ?? true;
  const cases = fuzzer.cases({ legalOnly: options.legalOnly ?? false, maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS }, options.seed);
  const details = fc.check(fc.property(cases, (steps) => fuzzer.runSteps(steps)), { seed: options.seed, path: options.path });
  return details.failed && details.counterexample !== null ? fuzzer.caseOf(details.counterexample[0]) : null;
}

/** Fuzzes one target; returns what it found. */
export function fuzzTarget(name: TargetName, options: RunOptions): TargetResult {
  if (options.coverage !== undefined) return fuzzGuided(name, options);
  const target = targetByName(name, options);
  const modulePath = options.modulePath ?? target.module ?? wasmPath("release");
  const fuzzer = new Fuzzer(target, modulePath);
  fuzzer.world.pollLatency = options.pollLatency ?? true;
  const legalOnly = options.legalOnly ?? false;
  const generation = { legalOnly, maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS, stepAccessLimit: options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT, pollLatency: fuzzer.world.pollLatency };
  const started = Date.now();
  const deadline = options.timeMs === undefined ? Infinity : started + options.timeMs;
  const progressMs = options.progressMs ?? DEFAULT_PROGRESS_MS;
  const maxFindings = options.maxFindings ?? 5;
  const shrinkMs = options.shrinkMs ?? 3000;
  // Findings already known (given, found, or rejected): a case failing the same way counts as
  // a repeat and passes, so that the search goes on to other bugs.
  const tally = new FindingTally(options.known, options.accept);
  const known = tally.known;
  const findings = tally.findings;

  let runs = 0;
  let searching = true;
  let failedAt = 0;
  let lastProgress = started;
  const report = (): void => {
    options.onProgress?.({ target: name, runs, executions: fuzzer.executions, failures: findings.size, elapsedMs: Date.now() - started });
  };
  const check = (steps: Step[]): void => {
    if (searching) runs++;
    // Out of shrinking time: every further candidate passes, so the smallest failing case found
    // so far is the counterexample.
    else if (Date.now() - failedAt > shrinkMs) return;
    if (options.onProgress !== undefined && (fuzzer.executions & 63) === 0) {
      const now = Date.now();
      if (now - lastProgress >= progressMs) {
        lastProgress = now;
        report();
      }
    }
    try {
      fuzzer.runSteps(steps);
    } catch (e) {
      const failure = e as FuzzFailure;
      const world = fuzzer.world.replacedReads().illegal > 0 ? "impossible" : "legal";
      if (known.has(findingKey({ target: name, property: failure.property, call: failure.call, world }))) {
        if (searching) tally.repeats++;
        return;
      }
      // The first failure of a round ends its search; what follows is shrinking.
      if (searching) failedAt = Date.now();
      searching = false;
      throw e;
    }
  };

  let interrupted = false;
  for (let round = 0; runs < options.runs && findings.size < maxFindings; round++) {
    const left = deadline - Date.now();
    if (left <= 0) {
      interrupted = true;
      break;
    }
    const seed = deriveSeed(options.seed, round);
    searching = true;
    const runsBefore = runs;
    const details = fc.check(fc.property(fuzzer.cases(generation, seed), check), {
      seed,
      numRuns: Math.min(options.runs - runs, 0x7fffffff),
      ...(left === Infinity ? {} : { interruptAfterTimeLimit: left }),
    });
    if (details.interrupted) interrupted = true;
    if (!details.failed || details.counterexample === null) break;
    const error = details.errorInstance as FuzzFailure | null;
    const rawKey = error === null ? null : findingKey({ target: name, property: error.property, call: error.call, world: fuzzer.world.replacedReads().illegal > 0 ? "impossible" : "legal" });
    const failing = fuzzer.caseOf(details.counterexample[0]);
    const finding = fuzzer.investigate(failing, { seed, path: details.counterexamplePath ?? "", generation, runs: runs - runsBefore, shrinks: details.numShrinks });
    if (rawKey !== null) known.add(rawKey);
    if (finding !== null) tally.add(finding, runs);
  }
  report();
  return {
    target: name,
    module: modulePath,
    seed: options.seed,
    runs,
    executions: fuzzer.executions,
    elapsedMs: Date.now() - started,
    findings: [...findings.values()],
    failures: findings.size,
    repeats: tally.repeats,
    rejected: tally.rejected,
    firstFailureRun: tally.firstFailureRun,
    interrupted,
  };
}
