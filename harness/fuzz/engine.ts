// One target on one world: runs executions for fast-check, and investigates a failing case (run
// again with the full trace, the legal/impossible label, the polling loop of a hang and the bits
// it waits for).
import fc from "fast-check";
import { formatTrace } from "../trace-text.js";
import { DMA_RECORD_LIMIT } from "./tap.js";
import { lintTrace, lintReport } from "../lint.js";
import { packageRoot, wasmPath } from "../hal.js";
import { existsSync } from "node:fs";
import { relative, isAbsolute, resolve } from "node:path";
import { World } from "./world.js";
import { CaseArbitrary } from "./case-arbitrary.js";
import { FuzzFailure, type PropertyName, type Session, type Step, type StepOptions, type Target, type TargetName } from "./target.js";
import { fieldBits } from "./legal.js";
import { pollLoopIn, pollLoopInTail, sameLoop, describeLoop, type AwaitedBits, type PollLoop } from "./poll.js";
import type { ReplacedRead } from "./device.js";
import type { RegisterInfo } from "../regmap.js";
import { OP_READ, FLAG_DMA } from "../trace.js";

/** A case: what one execution does, as JSON. */
export interface FuzzCase {
  readonly target: TargetName;
  readonly steps: readonly Step[];
  /** Stops call number `call` (0-based, in the execution) after `accesses` accesses: a hang is
   * reported and saved from a shortened run, so that its trace stays small. */
  readonly hangCap?: { readonly call: number; readonly accesses: number };
}

/** Whether a finding needed a value the hardware can never produce. */
export type WorldLabel = "legal" | "impossible";

/** A property that failed, as investigated. */
export interface Finding {
  readonly target: TargetName;
  readonly property: PropertyName;
  /** The export during which it failed, or null (end of the execution, an event). */
  readonly call: string | null;
  /** "legal": reachable with values the hardware could produce; "impossible": needs a value it
   * never produces (a reserved bit set, a control register not returning what was written). */
  readonly world: WorldLabel;
  readonly message: string;
  /** The polling loop of a hang, in words, or null. */
  readonly poll: string | null;
  /** The lint report for a lint failure, or null. */
  readonly lint: string | null;
  /** Reads whose values the fuzzer replaced, with why a value was illegal. */
  readonly replaced: readonly ReplacedRead[];
  /** The shrunk case, and its steps in words. */
  readonly case: FuzzCase;
  readonly story: readonly string[];
  /** The trace of the case in the text format (docs/trace-format.md). */
  readonly trace: string;
  /** The module it was found in, relative to the package root where possible. */
  readonly module: string;
  /** fast-check seed and path that reproduce the counterexample (with the same options, when
   * the shrinking was not cut short by its time limit). The commands replay path is kept for
   * findings made with fast-check's commands, before the search's own case arbitrary
   * (case-arbitrary.ts): empty now. */
  readonly seed: number;
  readonly path: string;
  readonly replayPath: string;
  /** The generation options of the run, which the replay needs too. */
  readonly generation: Generation;
  /** Runs of the search before the failure, and shrink steps after. */
  readonly runs: number;
  readonly shrinks: number;
}

/** Options that shape the generated cases. */
export interface Generation {
  readonly legalOnly: boolean;
  readonly maxSteps: number;
  readonly stepAccessLimit: number;
  /** The bus latency the case ran with (World.pollLatency, docs/fuzzing.md#poll-latency): true,
   * repeated reads of a stable register stretched; false or absent (files saved before it
   * existed), the fixed latency. */
  readonly pollLatency?: boolean;
}

/** Stable identity of a finding, to tell the same bug found twice. */
export function findingKey(f: Pick<Finding, "target" | "property" | "call" | "world">): string {
  return `${f.target}:${f.property}:${f.call ?? "-"}:${f.world}`;
}

/**
 * What a search keeps of its findings (runner.ts fuzzTarget, coverage/guided.ts fuzzGuided): the
 * keys a failing case counts as a repeat of (given ones, open bugs for instance, and those found
 * or rejected since), the findings kept, and the counts of the result.
 */
export class FindingTally {
  readonly known: Set<string>;
  readonly findings = new Map<string, Finding>();
  /** Search runs that failed in a way already known. */
  repeats = 0;
  /** Findings `accept` rejected. */
  rejected = 0;
  /** Runs of the search until the first finding kept, or null. */
  firstFailureRun: number | null = null;
  private readonly given: ReadonlySet<string>;

  constructor(given: readonly string[] = [], private readonly accept?: (finding: Finding) => boolean) {
    this.given = new Set(given);
    this.known = new Set(given);
  }

  /** An investigated finding, made after `runs` runs of the search: a repeat of a given one
   * (found with other values first, an open bug is still that bug), rejected by `accept`, or
   * kept. From now on a case failing its way is a repeat. */
  add(finding: Finding, runs: number): void {
    const key = findingKey(finding);
    if (this.given.has(key)) {
      this.repeats++;
      return;
    }
    this.known.add(key);
    if (this.accept !== undefined && !this.accept(finding)) {
      this.rejected++;
      return;
    }
    this.firstFailureRun ??= runs;
    if (!this.findings.has(key)) this.findings.set(key, finding);
  }
}

/** First report run of a hang: at most this many accesses of the hanging call are recorded. */
const HANG_REPORT_CAP = 2 ** 16;
const HANG_REPORT_CAP_MAX = 2 ** 21;
/** Iterations of a hang's polling loop kept in its saved trace. */
const SAVED_LOOP_ITERATIONS = 8;
/** Bit probes give up when reaching the loop takes more accesses than this. */
const PROBE_REACH_LIMIT = 2 ** 20;

/** How a finding names its module: relative to the working folder (the project's, when the
 * CLI runs) when inside it, else to the package, else the absolute path. */
/** How a report says a finding replays: from fast-check's seed and paths, or, for a finding
 * of the coverage-guided search (which fast-check did not generate: no path), from its case. */
export function replayText(f: Finding): string {
  if (f.path === "" && f.replayPath === "") return "replay: its saved case (found by the coverage-guided search: no fast-check path)";
  // A replay path: a finding made before the search drew its steps from a pool (case-arbitrary.ts).
  return f.replayPath === "" ? `replay: seed ${f.seed}, path ${f.path}` : `replay: seed ${f.seed}, path ${f.path}, replay path ${f.replayPath}`;
}

export function moduleLabel(path: string): string {
  for (const root of [process.cwd(), packageRoot()]) {
    const rel = relative(root, path);
    if (!rel.startsWith("..") && !isAbsolute(rel)) return rel.split("\\").join("/");
  }
  return path;
}

/** The module file a label names (moduleLabel's inverse). */
export function modulePathFrom(label: string): string {
  if (isAbsolute(label)) return label;
  const here = resolve(process.cwd(), label);
  return existsSync(here) ? here : resolve(packageRoot(), label);
}

/** How runCase() runs a case. */
export interface RunOptions {
  /** "report" records every access and call (the trace a finding shows); "fast" (the default)
   * only what the checks need. */
  readonly mode?: "fast" | "report";
  /** Called before each export call with its index in the execution. */
  readonly onCall?: (index: number) => void;
  /** Runs every step, even those check() refuses (a replay). */
  readonly runAll?: boolean;
}

const NO_RUN_OPTIONS: RunOptions = {};

export interface FuzzerOptions extends StepOptions {
  readonly maxSteps: number;
}

export class Fuzzer {
  readonly world: World;
  readonly session: Session;
  /** Executions run (fast-check runs and shrink steps). */
  executions = 0;

  constructor(readonly target: Target, readonly modulePath: string = target.module ?? wasmPath("release")) {
    this.world = new World(modulePath, target.registry);
    this.session = target.open(this.world);
  }

  /** The fast-check arbitrary of a round's cases (case-arbitrary.ts): `seed`, the round's, makes
   * its pool of steps, so that the round's seed and a path replay a counterexample. */
  cases(options: FuzzerOptions, seed: number): fc.Arbitrary<Step[]> {
    return new CaseArbitrary(this.target.steps(options), options.maxSteps, seed);
  }

  /** One execution of generated steps on fresh device state; throws its FuzzFailure. */
  runSteps(steps: readonly Step[]): void {
    const failure = this.execute(steps, undefined, NO_RUN_OPTIONS, null);
    if (failure !== null) throw failure;
  }

  /**
   * One execution of a case's steps; returns the failure (null when every property held) and the
   * steps that ran. Steps whose check() refuses are skipped, as fast-check skips them, unless
   * `runAll`.
   */
  runCase(fuzzCase: FuzzCase, options: RunOptions = NO_RUN_OPTIONS): { failure: FuzzFailure | null; ran: Step[] } {
    const ran: Step[] = [];
    const failure = this.execute(fuzzCase.steps, fuzzCase.hangCap, options, ran);
    return { failure, ran };
  }

  /** runCase() and runSteps(): the steps that ran go to `ran` unless it is null (a search's
   * execution, which needs only the failure: nothing is allocated for it here). */
  private execute(steps: readonly Step[], hangCap: FuzzCase["hangCap"], options: RunOptions, ran: Step[] | null): FuzzFailure | null {
    this.executions++;
    const world = this.world;
    world.setMode(options.mode ?? "fast");
    world.restart();
    world.capCall = hangCap?.call ?? -1;
    world.budgetCap = hangCap?.accesses ?? Infinity;
    world.onCall = options.onCall ?? null;
    const session = this.session;
    const runAll = options.runAll === true;
    let failure: FuzzFailure | null = null;
    try {
      // A target's reset may call the module (the pl080 target tells the driver where linear
      // memory is): a failure there is the case's.
      session.reset();
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!;
        // A replay runs every step: its case holds only steps that ran, and the simple model that
        // check() consults is not kept while a recording answers the reads.
        if (!runAll && !session.check(step)) continue;
        if (ran !== null) ran.push(step);
        session.run(step);
      }
      session.finish();
    } catch (e) {
      failure = asFailure(e);
    } finally {
      world.capCall = -1;
      world.budgetCap = Infinity;
      world.onCall = null;
      world.setMode("fast");
    }
    return failure;
  }

  /** The steps of a counterexample that actually run, as a case. */
  caseOf(steps: readonly Step[]): FuzzCase {
    // Keep only what runs: a refused step changes nothing.
    const { ran } = this.runCase({ target: this.target.name, steps });
    return { target: this.target.name, steps: ran };
  }

  /**
   * Investigates a failing case: runs it again with the full trace (a hang with a shortened
   * budget), labels it legal or impossible (trying the same case with every response override
   * made legal first), describes a polling loop, and formats everything for the report.
   */
  investigate(failing: FuzzCase, found: { seed: number; path: string; replayPath?: string; generation?: Generation; runs: number; shrinks: number }): Finding | null {
    let fuzzCase = failing;
    let first = this.runCase(fuzzCase);
    if (first.failure === null) return null;
    // An impossible world may not be needed: try the same responses made legal.
    if (this.world.replacedReads().illegal > 0) {
      const legalized: FuzzCase = { ...fuzzCase, steps: fuzzCase.steps.map((s) => (s.op === "respond" ? { ...s, legal: true } : s)) };
      const again = this.runCase(legalized);
      if (again.failure !== null && again.failure.property === first.failure.property && this.world.replacedReads().illegal === 0) {
        fuzzCase = legalized;
        first = again;
      } else {
        this.runCase(fuzzCase);
      }
    }
    const failure = first.failure!;
    const replacedFast = this.world.replacedReads();
    const label: WorldLabel = replacedFast.illegal > 0 ? "impossible" : "legal";
    const hangCall = this.world.calls - 1;
    let poll: string | null = null;

    if (failure.property === "hang") {
      const fastLoop = pollLoopInTail(this.world.trace.tail(), this.world.bus);
      const budget = (failure.cause as { budget?: number } | undefined)?.budget ?? null;
      // Record the hanging call with a smaller budget, growing it until the report run ends in
      // the same loop as the fuzzing run.
      for (let cap = HANG_REPORT_CAP; ; cap *= 8) {
        fuzzCase = { ...fuzzCase, hangCap: { call: hangCall, accesses: cap } };
        const report = this.runCase(fuzzCase, { mode: "report" });
        const loop = this.loopOfLastCall();
        const same = report.failure?.property === "hang" && loop !== null && (fastLoop === null || sameLoop(loop, fastLoop));
        if (!same && cap < HANG_REPORT_CAP_MAX) continue;
        if (loop === null) break;
        const call = this.world.trace.calls[this.world.trace.calls.length - 1]!;
        const before = loop.start - call.start;
        const period = loop.reads.length;
        const awaited = this.awaitedBits(fuzzCase, hangCall, loop);
        // The saved trace stops a few iterations into the loop: enough to see it, small to keep.
        fuzzCase = { ...fuzzCase, hangCap: { call: hangCall, accesses: before + SAVED_LOOP_ITERATIONS * period } };
        const polls = budget === null ? loop.iterations : Math.floor((budget - before) / period);
        poll = describeLoop(failure.call ?? "the driver", { ...loop, iterations: polls }, awaited, budget);
        break;
      }
    }

    const report = this.runCase(fuzzCase, { mode: "report" });
    const trace = this.world.trace;
    const regions = this.world.bus.regions;
    const text = formatTrace(trace, regions);
    const lint = failure.property === "lint" ? lintReport(lintTrace(trace, regions)) || null : null;
    const reportFailure = report.failure ?? failure;
    return {
      target: this.target.name,
      property: reportFailure.property,
      call: reportFailure.call,
      world: label,
      // A hang's report run stops early on purpose; the fuzzing run's message has its real budget.
      message: (failure.property === "hang" ? failure.message : reportFailure.message)
        + (trace.dmaUnrecorded > 0 ? ` (the trace keeps the first ${DMA_RECORD_LIMIT} DMA accesses; ${trace.dmaUnrecorded} more were made)` : ""),
      poll,
      lint,
      replaced: this.world.replacedReads().kept,
      case: fuzzCase,
      story: fuzzCase.steps.map((s) => this.target.describe(s)),
      trace: text,
      module: moduleLabel(this.modulePath),
      seed: found.seed,
      path: found.path,
      replayPath: found.replayPath ?? "",
      // The latency it was found and recorded with, whoever ran the search.
      generation: { ...(found.generation ?? { legalOnly: false, maxSteps: 12, stepAccessLimit: 200_000 }), pollLatency: this.world.pollLatency },
      runs: found.runs,
      shrinks: found.shrinks,
    };
  }

  /** The polling loop at the end of the last call of the trace just recorded. */
  private loopOfLastCall(): PollLoop | null {
    const trace = this.world.trace;
    const call = trace.calls[trace.calls.length - 1];
    if (call === undefined) return null;
    return pollLoopIn(trace, this.world.bus, call.start, call.end);
  }

  /**
   * Which bits of the polled registers end the loop when flipped: re-runs of the case in which,
   * a few iterations into the loop, every read of one register has one bit inverted.
   */
  private awaitedBits(fuzzCase: FuzzCase, callIndex: number, loop: PollLoop): AwaitedBits[] | null {
    const trace = this.world.trace;
    const call = trace.calls[trace.calls.length - 1];
    if (call === undefined || loop.start < 0 || loop.start > PROBE_REACH_LIMIT) return null;
    const period = loop.reads.length;
    const probeAt = loop.start + 2 * period;
    const probeCap = { call: callIndex, accesses: probeAt - call.start + 32 * period + 64 };
    // Reads of each polled register made in the call before the probe starts, counted before the
    // probe runs replace the trace.
    const registers: { read: PollLoop["reads"][number]; reg: RegisterInfo; region: string; skip: number }[] = [];
    for (const read of loop.reads) {
      if (registers.some((r) => r.read.addr === read.addr)) continue;
      const region = this.world.bus.regionAt(read.addr);
      const reg = region?.index?.at(read.addr - region.base);
      if (region === undefined || reg === undefined) continue;
      let skip = 0;
      for (let i = call.start; i < probeAt; i++) {
        const e = trace.entry(i);
        if (e.op !== OP_READ || (e.flags & FLAG_DMA) !== 0 || e.addr < region.base || e.addr >= region.end) continue;
        if (region.index!.at(e.addr - region.base) === reg) skip++;
      }
      registers.push({ read, reg, region: region.name, skip });
    }
    const out: AwaitedBits[] = [];
    for (const { read, reg, region, skip } of registers) {
      const device = this.world.device(region);
      const toSet: string[] = [];
      const toClear: string[] = [];
      const bits = fieldBits(reg);
      for (let b = 0; b < 32; b++) {
        const bit = 2 ** b;
        if ((bits & bit) === 0) continue;
        const { failure } = this.runCase({ ...fuzzCase, hangCap: probeCap }, {
          onCall: (index) => device.setProbe(index === callIndex ? { reg, skip, xor: bit } : null),
        });
        device.setProbe(null);
        if (failure?.property === "hang" && failure.call === call.name && this.stillInLoop(loop)) continue;
        const name = bitName(reg.fields, b);
        if ((read.value & bit) !== 0) toClear.push(name);
        else toSet.push(name);
      }
      out.push({ place: read.place, toSet, toClear });
    }
    return out;
  }

  /** The probe run ended polling the same registers (whatever values the flip left in them). */
  private stillInLoop(loop: PollLoop): boolean {
    const now = pollLoopInTail(this.world.trace.tail(), this.world.bus);
    return now !== null && sameLoop(now, loop, true);
  }
}

function bitName(fields: readonly { name: string; msb: number; lsb: number }[], bit: number): string {
  const f = fields.find((x) => bit >= x.lsb && bit <= x.msb);
  if (f === undefined) return `bit ${bit}`;
  return f.msb === f.lsb ? f.name : `${f.name}[${bit - f.lsb}]`;
}

function asFailure(e: unknown): FuzzFailure {
  if (e instanceof FuzzFailure) return e;
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new FuzzFailure("harness", `the harness threw ${message}`, null, e);
}
