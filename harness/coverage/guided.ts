// Coverage-guided fuzzing (`wasm-hal fuzz --coverage`): the target's steps run on the module's
// coverage build (harness/coverage/instrument.ts); after every execution the counters are read
// (the world puts linear memory back before the next one, which zeroes them), and a case that
// made an edge run for the first time, or an edge run a number of times of a class not seen before
// (AFL's 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+), joins the corpus. Half of the cases are then
// made by mutating corpus entries: steps inserted, deleted, replaced, duplicated, swapped, or
// replaced by another of the same kind, and splices of two entries. Every step is one the target's
// own generator made, so a mutated case is one the blind fuzzer could have generated, only more
// likely.
//
// A failing case is shrunk by removing steps (chunks, then single steps) while it fails the same
// way, and investigated on the plain module, whose trace is the one saved: findings, regressions
// and the zoo's verdicts are those of the plain module.
import fc from "fast-check";
import { threadId } from "node:worker_threads";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { wasmPath } from "../hal.js";
import { Fuzzer, FindingTally, findingKey, type FuzzCase } from "../fuzz/engine.js";
import { targetByName } from "../fuzz/target-table.js";
import { deriveSeed, DEFAULT_MAX_STEPS, type RunOptions, type TargetResult } from "../fuzz/runner.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "../fuzz/targets/pl011.js";
import type { FuzzFailure, Step, TargetName } from "../fuzz/target.js";
import { coverageBuild } from "./build.js";
import { CoverageAccumulator, CoverageCounters, type CoverageCounts } from "./counters.js";

export interface CoverageRunOptions {
  /** A folder where each run writes what it covered (`<target>-<seed>-<pid>-<thread>.json`),
   * for the caller to merge (the CLI's report and --lcov). */
  readonly dir?: string;
  /** Share of cases made by mutating the corpus once it has entries, 0 to 1 (default 0.5); 0
   * generates every case afresh, as the blind fuzzer does, through the same loop (to measure what
   * blind fuzzing covers). */
  readonly mutate?: number;
}

/** What a coverage run covered, in a file of CoverageRunOptions.dir. */
export interface CoverageFile extends CoverageCounts {
  readonly target: TargetName;
  /** The coverage build the counts belong to. */
  readonly build: string;
  readonly corpus: number;
}

export interface GuidedResult extends TargetResult {
  readonly coverage: CoverageFile & { readonly covered: number; readonly edges: number };
}

/** A small seeded generator (mulberry32): the same seed gives the same run. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed | 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

interface Entry {
  readonly steps: readonly Step[];
  /** Accesses its execution made: cheap entries are mutated more often. */
  readonly cost: number;
}

/** A case that takes more accesses than this joins the corpus only for a new edge (not for a new
 * hit-count class): a stuck poll runs to millions of reads, and its mutants would too. */
const COSTLY = 2 ** 18;

const POOL_BATCH = 512;
/** Mutated cases are built from at most this many mutations stacked. */
const MAX_STACKED = 4;

/** Fuzzes one target guided by coverage; returns what the blind fuzzer returns, and the coverage. */
export function fuzzGuided(name: TargetName, options: RunOptions): GuidedResult {
  const target = targetByName(name, options);
  const modulePath = options.modulePath ?? target.module ?? wasmPath("release");
  const build = coverageBuild(modulePath);
  const fuzzer = new Fuzzer(target, build.path);
  // The plain module judges and records what the search finds.
  let plain: Fuzzer | null = null;
  const plainFuzzer = (): Fuzzer => (plain ??= new Fuzzer(target, modulePath));
  const counters = new CoverageCounters(fuzzer.world.memory, build.map);
  const view = counters.view();
  const accumulated = new CoverageAccumulator(build.map);

  const legalOnly = options.legalOnly ?? false;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const generation = { legalOnly, maxSteps, stepAccessLimit: options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT };
  const mutateShare = Math.min(1, Math.max(0, options.coverage?.mutate ?? 0.5));
  const stepArb = target.steps(generation);
  const rng = new Rng(deriveSeed(options.seed, 0x30000));
  let pool: Step[] = [];
  let poolRound = 0;
  const fresh = (): Step => {
    if (pool.length === 0) pool = fc.sample(stepArb, { seed: deriveSeed(options.seed, 0x20000 + poolRound++), numRuns: POOL_BATCH });
    return pool.pop()!;
  };
  /** A step of the same kind as `step` (another from the generator), or a fresh one. */
  const sameKind = (step: Step): Step => {
    for (let tries = 0; tries < 64; tries++) {
      const s = fresh();
      if (s.op === step.op && (s["region"] ?? null) === (step["region"] ?? null)) return s;
    }
    return fresh();
  };

  const corpus: Entry[] = [];
  // Two entries drawn (half the time among the 16 newest), the cheaper one kept.
  const draw = (): Entry => (rng.next() < 0.5 && corpus.length > 16 ? corpus[corpus.length - 1 - rng.below(16)]! : corpus[rng.below(corpus.length)]!);
  const pick = (): Entry => {
    const a = draw();
    const b = draw();
    return a.cost <= b.cost ? a : b;
  };
  const freshCase = (): Step[] => Array.from({ length: 1 + rng.below(maxSteps) }, fresh);
  const mutate = (): Step[] => {
    let steps = pick().steps.slice();
    const rounds = 1 + rng.below(MAX_STACKED);
    for (let m = 0; m < rounds; m++) {
      const at = rng.below(steps.length + 1);
      switch (rng.below(7)) {
        case 0: // insert a fresh step
          if (steps.length < maxSteps) steps.splice(at, 0, fresh());
          break;
        case 1: // delete one
          if (steps.length > 1) steps.splice(Math.min(at, steps.length - 1), 1);
          break;
        case 2: // replace one
          if (steps.length > 0) steps[Math.min(at, steps.length - 1)] = fresh();
          break;
        case 3: { // splice with another entry: this one's head, the other's tail
          const other = pick().steps;
          const cut = rng.below(other.length + 1);
          steps = [...steps.slice(0, at), ...other.slice(cut)].slice(0, maxSteps);
          break;
        }
        case 4: // repeat a step
          if (steps.length > 0 && steps.length < maxSteps) {
            const i = Math.min(at, steps.length - 1);
            steps.splice(i, 0, steps[i]!);
          }
          break;
        case 5: // swap two neighbours
          if (steps.length > 1) {
            const i = Math.min(at, steps.length - 2);
            [steps[i], steps[i + 1]] = [steps[i + 1]!, steps[i]!];
          }
          break;
        default: // the same kind of step with other values
          if (steps.length > 0) {
            const i = Math.min(at, steps.length - 1);
            steps[i] = sameKind(steps[i]!);
          }
      }
    }
    return steps.length === 0 ? [fresh()] : steps;
  };

  const started = Date.now();
  const deadline = options.timeMs === undefined ? Infinity : started + options.timeMs;
  const progressMs = options.progressMs ?? 500;
  const maxFindings = options.maxFindings ?? 5;
  const shrinkMs = options.shrinkMs ?? 3000;
  const tally = new FindingTally(options.known, options.accept);
  const known = tally.known;
  const findings = tally.findings;
  const executions = (): number => fuzzer.executions + (plain?.executions ?? 0);
  let runs = 0;
  let interrupted = false;
  let runsBefore = 0;
  let lastProgress = started;
  const report = (): void => {
    options.onProgress?.({ target: name, runs, executions: executions(), failures: findings.size, elapsedMs: Date.now() - started });
  };
  const keyOf = (failure: FuzzFailure): string => findingKey({ target: name, property: failure.property, call: failure.call, world: fuzzer.world.replacedReads().illegal > 0 ? "impossible" : "legal" });

  while (runs < options.runs && findings.size < maxFindings) {
    if ((runs & 15) === 0 && Date.now() >= deadline) {
      interrupted = true;
      break;
    }
    runs++;
    if (options.onProgress !== undefined && (runs & 63) === 0) {
      const now = Date.now();
      if (now - lastProgress >= progressMs) {
        lastProgress = now;
        report();
      }
    }
    const steps = corpus.length > 0 && rng.next() < mutateShare ? mutate() : freshCase();
    const { failure, ran } = fuzzer.runCase({ target: name, steps });
    const gain = accumulated.add(view);
    if (failure === null || known.has(keyOf(failure))) {
      if (failure !== null) tally.repeats++;
      const cost = fuzzer.world.trace.seen;
      if (ran.length > 0 && (gain.newEdges > 0 || (gain.features > 0 && cost <= COSTLY))) corpus.push({ steps: ran, cost });
      continue;
    }
    // A new way to fail: shrink it, then investigate it on the plain module.
    const key = keyOf(failure);
    const shrunk = shrink(fuzzer, name, ran, key, keyOf, Math.min(deadline, Date.now() + shrinkMs));
    known.add(key);
    const finding = plainFuzzer().investigate({ target: name, steps: shrunk.steps }, { seed: options.seed, path: "", replayPath: "", generation, runs: runs - runsBefore, shrinks: shrunk.shrinks });
    runsBefore = runs;
    if (finding !== null) tally.add(finding, runs);
  }
  report();
  const file: CoverageFile = { ...accumulated.toJSON(), target: name, build: build.path, corpus: corpus.length };
  if (options.coverage?.dir !== undefined) {
    mkdirSync(options.coverage.dir, { recursive: true });
    writeFileSync(join(options.coverage.dir, `${name}-${options.seed >>> 0}-${process.pid}-${threadId}.json`), JSON.stringify(file));
  }
  return {
    target: name,
    module: modulePath,
    seed: options.seed,
    runs,
    executions: executions(),
    elapsedMs: Date.now() - started,
    findings: [...findings.values()],
    failures: findings.size,
    repeats: tally.repeats,
    rejected: tally.rejected,
    firstFailureRun: tally.firstFailureRun,
    interrupted,
    coverage: { ...file, covered: accumulated.covered, edges: build.map.count },
  };
}

/**
 * The fewest steps that still fail the same way (property, call and world): chunks of steps
 * removed, halving the chunk down to single steps, until nothing more can go or the time is up.
 */
function shrink(fuzzer: Fuzzer, name: TargetName, steps: readonly Step[], key: string, keyOf: (f: FuzzFailure) => string, until: number): { steps: Step[]; shrinks: number } {
  let best = steps.slice();
  let shrinks = 0;
  const fails = (candidate: Step[]): Step[] | null => {
    const c: FuzzCase = { target: name, steps: candidate };
    const { failure, ran } = fuzzer.runCase(c);
    return failure !== null && keyOf(failure) === key ? ran : null;
  };
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1; chunk = chunk === 1 ? 0 : Math.max(1, chunk >> 1)) {
    let removed = true;
    while (removed) {
      removed = false;
      for (let at = 0; at + chunk <= best.length; ) {
        if (Date.now() > until) return { steps: best, shrinks };
        const candidate = [...best.slice(0, at), ...best.slice(at + chunk)];
        const ran = candidate.length === 0 ? null : fails(candidate);
        if (ran !== null) {
          best = ran;
          shrinks++;
          removed = true;
        } else {
          at += chunk;
        }
      }
    }
  }
  return { steps: best, shrinks };
}
