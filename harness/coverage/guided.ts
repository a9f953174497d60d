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
//
// The search's state (corpus, counts, generator, findings) lives in a GuidedSearch, which runs in
// slices: fuzzGuided runs one; fair time (harness/fuzz/campaign.ts) keeps one per target for the
// whole job and runs a slice of it each turn.
import fc from "fast-check";
import { threadId } from "node:worker_threads";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { wasmPath } from "../hal.js";
import { Fuzzer, FindingTally, findingKey, type FuzzCase, type Generation } from "../fuzz/engine.js";
import { targetByName } from "../fuzz/target-table.js";
import { deriveSeed, DEFAULT_MAX_STEPS, type RunOptions, type TargetResult } from "../fuzz/runner.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "../fuzz/targets/pl011.js";
import { Mulberry32 } from "../fuzz/mulberry32.js";
import type { FuzzFailure, Step, Target, TargetName } from "../fuzz/target.js";
import { coverageBuild, type CoverageBuild } from "./build.js";
import { CoverageAccumulator, CoverageCounters, type CoverageCounts } from "./counters.js";

export interface CoverageRunOptions {
  /** A folder where each search writes what it covered (`<target>-<seed>-<pid>-<thread>.json`)
   * once, at its end (fair time: each target's, at the end of the job), for the caller to merge
   * (the CLI's report and --lcov). */
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

/** Numbers in [0, 1) from mulberry32 (the guided search's own choices): the same seed gives the
 * same run. */
class Rng {
  private readonly bits: Mulberry32;
  constructor(seed: number) {
    this.bits = new Mulberry32(seed | 0);
  }
  next(): number {
    return (this.bits.next() >>> 0) / 4294967296;
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

/** What a GuidedSearch takes: a run's options, without the runs and the time limit, which each
 * slice is given. */
export type GuidedOptions = Omit<RunOptions, "runs" | "timeMs">;

/** What one slice of a GuidedSearch did, alone: its runs, executions, time, the findings new in
 * it (firstFailureRun counted from the slice's start), and what the coverage gained. */
export interface GuidedSlice extends TargetResult {
  /** Edges that ran for the first time. */
  readonly newEdges: number;
  /** (edge, hit-count class) pairs seen for the first time; a new edge's first class is one. */
  readonly features: number;
}

/**
 * A coverage-guided search of one target that can be run in slices (fair time gives each target
 * one for the whole job, harness/fuzz/campaign.ts): the corpus, the counts, the generator and the
 * findings carry over from one slice to the next, so slices of a and b runs make the same cases as
 * one slice of a + b (unless the deadline, or reaching the most findings, ends one early).
 */
export class GuidedSearch {
  readonly modulePath: string;
  private readonly target: Target;
  private readonly build: CoverageBuild;
  private readonly fuzzer: Fuzzer;
  /** The plain module judges and records what the search finds. */
  private plain: Fuzzer | null = null;
  private readonly view: Uint8Array;
  private readonly accumulated: CoverageAccumulator;
  private readonly generation: Generation;
  private readonly mutateShare: number;
  private readonly stepArb: fc.Arbitrary<Step>;
  private readonly rng: Rng;
  /** Steps the generator made, taken from the end; refilled POOL_BATCH at a time. */
  private pool: Step[] = [];
  private poolRound = 0;
  private readonly corpus: Entry[] = [];
  private readonly tally: FindingTally;
  private readonly maxFindings: number;
  /** Runs of the search so far, over every slice. */
  private runsSoFar = 0;
  /** Runs at the last failure investigated: a finding says how many runs it took since then. */
  private runsBefore = 0;
  private elapsedMs = 0;
  private interrupted = false;
  private sliceStarted = 0;
  private lastProgress = Date.now();

  constructor(readonly name: TargetName, private readonly options: GuidedOptions) {
    const target = (this.target = targetByName(name, options));
    this.modulePath = options.modulePath ?? target.module ?? wasmPath("release");
    this.build = coverageBuild(this.modulePath);
    this.fuzzer = new Fuzzer(target, this.build.path);
    this.fuzzer.world.pollLatency = options.pollLatency ?? true;
    this.view = new CoverageCounters(this.fuzzer.world.memory, this.build.map).view();
    this.accumulated = new CoverageAccumulator(this.build.map);
    const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    this.generation = { legalOnly: options.legalOnly ?? false, maxSteps, stepAccessLimit: options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT };
    this.mutateShare = Math.min(1, Math.max(0, options.coverage?.mutate ?? 0.5));
    this.stepArb = target.steps(this.generation);
    this.rng = new Rng(deriveSeed(options.seed, 0x30000));
    this.tally = new FindingTally(options.known, options.accept);
    this.maxFindings = options.maxFindings ?? 5;
  }

  /** Executions so far, shrinking and the plain module's investigations included. */
  get executions(): number {
    return this.fuzzer.executions + (this.plain?.executions ?? 0);
  }

  /**
   * Runs `runs` more cases, or fewer when the search reaches its most findings or `deadline`
   * (a Date.now() time) passes; returns what this slice did.
   */
  run(runs: number, deadline = Infinity): GuidedSlice {
    const started = Date.now();
    this.sliceStarted = started;
    const tally = this.tally;
    const findings = tally.findings;
    const before = { executions: this.executions, repeats: tally.repeats, rejected: tally.rejected, findings: findings.size };
    const progressMs = this.options.progressMs ?? 500;
    const shrinkMs = this.options.shrinkMs ?? 3000;
    let ran = 0;
    let newEdges = 0;
    let features = 0;
    let firstFailureRun: number | null = null;
    let interrupted = false;
    while (ran < runs && findings.size < this.maxFindings) {
      // Before every run, not every few: one case can take over a second (stm32f4-usart's
      // longest), and the corpus keeps such a case when it reaches a new edge, and mutates it.
      if (Date.now() >= deadline) {
        interrupted = true;
        break;
      }
      ran++;
      const total = ++this.runsSoFar;
      if (this.options.onProgress !== undefined && (total & 63) === 0) {
        const now = Date.now();
        if (now - this.lastProgress >= progressMs) {
          this.lastProgress = now;
          this.report();
        }
      }
      const steps = this.corpus.length > 0 && this.rng.next() < this.mutateShare ? this.mutate() : this.freshCase();
      const { failure, ran: stepsRun } = this.fuzzer.runCase({ target: this.name, steps });
      const gain = this.accumulated.add(this.view);
      newEdges += gain.newEdges;
      features += gain.features;
      if (failure === null || tally.known.has(this.keyOf(failure))) {
        if (failure !== null) tally.repeats++;
        const cost = this.fuzzer.world.trace.seen;
        if (stepsRun.length > 0 && (gain.newEdges > 0 || (gain.features > 0 && cost <= COSTLY))) this.corpus.push({ steps: stepsRun, cost });
        continue;
      }
      // A new way to fail: shrink it, then investigate it on the plain module.
      const key = this.keyOf(failure);
      const shrunk = shrink(this.fuzzer, this.name, stepsRun, key, (f) => this.keyOf(f), Math.min(deadline, Date.now() + shrinkMs));
      tally.known.add(key);
      if (this.plain === null) {
        this.plain = new Fuzzer(this.target, this.modulePath);
        this.plain.world.pollLatency = this.fuzzer.world.pollLatency;
      }
      const finding = this.plain.investigate({ target: this.name, steps: shrunk.steps }, { seed: this.options.seed, path: "", replayPath: "", generation: this.generation, runs: total - this.runsBefore, shrinks: shrunk.shrinks });
      this.runsBefore = total;
      if (finding === null) continue;
      tally.add(finding, total);
      if (findings.size > before.findings) firstFailureRun ??= ran;
    }
    const elapsedMs = Date.now() - started;
    this.elapsedMs += elapsedMs;
    this.interrupted ||= interrupted;
    this.report();
    const found = [...findings.values()].slice(before.findings);
    return {
      target: this.name,
      module: this.modulePath,
      seed: this.options.seed,
      runs: ran,
      executions: this.executions - before.executions,
      elapsedMs,
      findings: found,
      failures: found.length,
      repeats: tally.repeats - before.repeats,
      rejected: tally.rejected - before.rejected,
      firstFailureRun,
      interrupted,
      newEdges,
      features,
    };
  }

  /** What the search did over all its slices, and what it covered. */
  result(): GuidedResult {
    const file = this.coverageFile();
    return {
      target: this.name,
      module: this.modulePath,
      seed: this.options.seed,
      runs: this.runsSoFar,
      executions: this.executions,
      elapsedMs: this.elapsedMs,
      findings: [...this.tally.findings.values()],
      failures: this.tally.findings.size,
      repeats: this.tally.repeats,
      rejected: this.tally.rejected,
      firstFailureRun: this.tally.firstFailureRun,
      interrupted: this.interrupted,
      coverage: { ...file, covered: this.accumulated.covered, edges: this.build.map.count },
    };
  }

  /** What the search covered so far, as a file of CoverageRunOptions.dir holds it. */
  coverageFile(): CoverageFile {
    return { ...this.accumulated.toJSON(), target: this.name, build: this.build.path, corpus: this.corpus.length };
  }

  /** Writes coverageFile() into `dir` (`<target>-<seed>-<pid>-<thread>.json`), once per search:
   * a second file of the same search would count its executions twice. */
  writeCoverage(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${this.name}-${this.options.seed >>> 0}-${process.pid}-${threadId}.json`), JSON.stringify(this.coverageFile()));
  }

  private report(): void {
    this.options.onProgress?.({ target: this.name, runs: this.runsSoFar, executions: this.executions, failures: this.tally.findings.size, elapsedMs: this.elapsedMs + (Date.now() - this.sliceStarted) });
  }

  private keyOf(failure: FuzzFailure): string {
    return findingKey({ target: this.name, property: failure.property, call: failure.call, world: this.fuzzer.world.replacedReads().illegal > 0 ? "impossible" : "legal" });
  }

  /** A step from the target's generator. */
  private fresh(): Step {
    if (this.pool.length === 0) this.pool = fc.sample(this.stepArb, { seed: deriveSeed(this.options.seed, 0x20000 + this.poolRound++), numRuns: POOL_BATCH });
    return this.pool.pop()!;
  }

  /** A step of the same kind as `step` (another from the generator), or a fresh one. */
  private sameKind(step: Step): Step {
    for (let tries = 0; tries < 64; tries++) {
      const s = this.fresh();
      if (s.op === step.op && (s["region"] ?? null) === (step["region"] ?? null)) return s;
    }
    return this.fresh();
  }

  /** A corpus entry: two drawn (half the time among the 16 newest), the cheaper one kept. */
  private pick(): Entry {
    const corpus = this.corpus;
    const rng = this.rng;
    const draw = (): Entry => (rng.next() < 0.5 && corpus.length > 16 ? corpus[corpus.length - 1 - rng.below(16)]! : corpus[rng.below(corpus.length)]!);
    const a = draw();
    const b = draw();
    return a.cost <= b.cost ? a : b;
  }

  private freshCase(): Step[] {
    return Array.from({ length: 1 + this.rng.below(this.generation.maxSteps) }, () => this.fresh());
  }

  private mutate(): Step[] {
    const rng = this.rng;
    const maxSteps = this.generation.maxSteps;
    let steps = this.pick().steps.slice();
    const rounds = 1 + rng.below(MAX_STACKED);
    for (let m = 0; m < rounds; m++) {
      const at = rng.below(steps.length + 1);
      switch (rng.below(7)) {
        case 0: // insert a fresh step
          if (steps.length < maxSteps) steps.splice(at, 0, this.fresh());
          break;
        case 1: // delete one
          if (steps.length > 1) steps.splice(Math.min(at, steps.length - 1), 1);
          break;
        case 2: // replace one
          if (steps.length > 0) steps[Math.min(at, steps.length - 1)] = this.fresh();
          break;
        case 3: { // splice with another entry: this one's head, the other's tail
          const other = this.pick().steps;
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
            steps[i] = this.sameKind(steps[i]!);
          }
      }
    }
    return steps.length === 0 ? [this.fresh()] : steps;
  }
}

/** Fuzzes one target guided by coverage, as one slice of a GuidedSearch; returns what the blind
 * fuzzer returns, and the coverage. */
export function fuzzGuided(name: TargetName, options: RunOptions): GuidedResult {
  const search = new GuidedSearch(name, options);
  search.run(options.runs, options.timeMs === undefined ? Infinity : Date.now() + options.timeMs);
  if (options.coverage?.dir !== undefined) search.writeCoverage(options.coverage.dir);
  return search.result();
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
