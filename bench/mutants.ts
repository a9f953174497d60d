// Mutation testing of the fuzzer: coverage-guided against blind fuzzing, with the same time budget,
// on bugs nobody here wrote. The bug zoo (zoo/*.ts) was written by the people who wrote the
// fuzzer, so it is biased towards what they already knew to look for; here the broken variants
// are made mechanically (bench/mutants-gen.ts: one relational operator, integer literal, & or |,
// && or ||, deleted call statement or returned constant changed per variant) from the shipped
// drivers. Each variant is built like the real module, fuzzed blind and guided for the same wall
// time, and counted as killed by a mode when that mode reports a finding the real driver does not
// share (fuzzVariant, harness/fuzz/variants.ts). The variants neither mode kills are the output
// that matters: each is a change to a driver the fuzzer does not notice.
//
//   node dist/bench/mutants.js [--files pl011,stm32f4-usart,...] [--max N] [--time S] [--seed K]
//                              [--jobs J] [--json] [--out DIR] [--list] [--only IDS]
//
// --files    the drivers to mutate, by fuzz target name (default: all nine)
// --max N    fuzz N of the candidates, chosen by a shuffle seeded with --seed (default: all)
// --time S   seconds of fuzzing per mutant and mode (default 1)
// --seed K   the fuzz seed, and the seed of the choice of mutants (default 1)
// --jobs J   worker threads fuzzing at once (default 1); the building is always one at a time
// --json     the report as JSON on stdout
// --out DIR  build in DIR and keep it: DIR/src, the copy of assembly/ the mutants are built in,
//            and DIR/wasm, each mutant's .wasm, .wat and mutated driver file (<id>.ts); without
//            it a folder under the system's temporary folder is used and removed
// --list     print the chosen mutants and stop (nothing is built)
// --only IDS only the mutants named (pl080-093,...), to look at some again; --max still applies
//
// Not part of `npm run bench`: it takes minutes (about 1 s of building and 2 x --time of fuzzing
// per mutant). Progress goes to stderr.
//
// The fuzzing runs in worker threads (bench/mutants-worker.ts), even with one job, each with a
// heap limit and each mutant with a time limit: a mutant can break the fuzzer itself (one that
// linked a PL080 item to itself once ran the harness out of memory, recording millions of DMA
// accesses), and that must cost one verdict, not the run.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { packageRoot } from "../harness/hal.js";
import "../harness/fuzz/targets/index.js";
import "../harness/fuzz/targets/stm32f4.js";
import type { Variant, VariantOptions } from "../harness/fuzz/variants.js";
import { openFindings } from "../harness/fuzz/regression.js";
import type { TargetName } from "../harness/fuzz/target.js";
import { coverageBuild } from "../harness/coverage/build.js";
import { failedOutcome, type FuzzReply, type FuzzRequest, type ModeOutcome } from "./mutants-worker.js";
import { MUTATION_OPERATORS, applyMutation, mutationSnippet, mutationsOf, pickMutants, type Mutation } from "./mutants-gen.js";

/** A driver source the mutants are made from: its file under assembly/, the entry of the module
 * that compiles it (under assembly/), and the fuzz target of its driver. */
interface DriverFile {
  readonly target: TargetName;
  readonly file: string;
  readonly entry: string;
  /** The real module of its family, under build/: the unmutated copy must build to it. */
  readonly module: string;
}

// pl011.ts also gives pl011-irq its pl011_init, and pl061.ts gives pl061-irq its
// pl061_irq_config; their mutants are fuzzed on their own driver's target only.
const DRIVER_FILES: readonly DriverFile[] = [
  { target: "pl011", file: "pl011.ts", entry: "index.ts", module: "hal.wasm" },
  { target: "pl022", file: "pl022.ts", entry: "index.ts", module: "hal.wasm" },
  { target: "pl061", file: "pl061.ts", entry: "index.ts", module: "hal.wasm" },
  { target: "pl080", file: "pl080.ts", entry: "index.ts", module: "hal.wasm" },
  { target: "stm32f4-usart", file: "stm32f4/usart.ts", entry: "stm32f4/index.ts", module: "stm32f4.wasm" },
  { target: "stm32f4-spi", file: "stm32f4/spi.ts", entry: "stm32f4/index.ts", module: "stm32f4.wasm" },
  { target: "stm32f4-dma", file: "stm32f4/dma.ts", entry: "stm32f4/index.ts", module: "stm32f4.wasm" },
  { target: "stm32f4-gpio", file: "stm32f4/gpio.ts", entry: "stm32f4/index.ts", module: "stm32f4.wasm" },
  { target: "stm32f4-rcc", file: "stm32f4/rcc.ts", entry: "stm32f4/index.ts", module: "stm32f4.wasm" },
];

/** One mutation of one driver file, named `<target>-<n>`: its n-th mutation in file order, so that
 * a name means the same change whatever --files and --max choose. */
interface Mutant extends Mutation {
  readonly id: string;
  readonly driver: DriverFile;
  /** The changed line before and after, for the report. */
  readonly snippet: { readonly before: string; readonly after: string };
}

type BuildStatus = "fuzzed" | "not-compiling" | "equivalent";

interface MutantResult {
  readonly mutant: Mutant;
  readonly status: BuildStatus;
  /** The compiler's first error, for a mutant that does not compile. */
  readonly compileError: string | null;
  readonly blind: ModeOutcome | null;
  readonly guided: ModeOutcome | null;
}

interface OperatorTally {
  fuzzed: number;
  blind: number;
  guided: number;
  survived: number;
}

interface Totals {
  readonly candidates: number;
  readonly selected: number;
  readonly compiled: number;
  readonly notCompiling: number;
  readonly equivalent: number;
  readonly fuzzed: number;
  readonly killedBlind: number;
  readonly killedGuided: number;
  readonly killedBoth: number;
  readonly blindOnly: readonly string[];
  readonly guidedOnly: readonly string[];
  readonly survivedBoth: readonly string[];
  /** Mutants a mode could not judge (fuzzer or coverage-build error). */
  readonly errors: readonly string[];
  readonly byOperator: Readonly<Record<string, OperatorTally>>;
  readonly byDriver: Readonly<Record<string, OperatorTally>>;
}

interface Options {
  readonly drivers: readonly DriverFile[];
  readonly max: number;
  readonly timeMs: number;
  readonly seed: number;
  readonly jobs: number;
  readonly json: boolean;
  readonly out: string | null;
  readonly list: boolean;
  /** Only these mutants (by id), to look at one again. */
  readonly only: readonly string[] | null;
}

class UsageError extends Error {}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      files: { type: "string" }, max: { type: "string" }, time: { type: "string" }, seed: { type: "string" },
      jobs: { type: "string" }, json: { type: "boolean" }, out: { type: "string" }, list: { type: "boolean" }, only: { type: "string" },
    },
    strict: true,
  });
  const drivers = values.files === undefined ? DRIVER_FILES : values.files.split(",").map((name) => {
    const driver = DRIVER_FILES.find((d) => d.target === name.trim());
    if (driver === undefined) throw new UsageError(`--files: no driver "${name}" (one of ${DRIVER_FILES.map((d) => d.target).join(", ")})`);
    return driver;
  });
  const max = values.max === undefined ? Infinity : Number(values.max);
  if (!(max === Infinity || (Number.isInteger(max) && max > 0))) throw new UsageError(`--max: a positive whole number, not ${values.max}`);
  const time = Number(values.time ?? 1);
  if (!(time > 0 && Number.isFinite(time))) throw new UsageError(`--time: seconds above 0, not ${values.time}`);
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(seed) || seed < -0x8000_0000 || seed > 0xffff_ffff) throw new UsageError(`--seed: a 32-bit integer, not ${values.seed}`);
  const jobs = Number(values.jobs ?? 1);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs: 1 to 64, not ${values.jobs}`);
  const only = values.only === undefined ? null : values.only.split(",").map((id) => id.trim()).filter((id) => id !== "");
  return {
    drivers, max, timeMs: Math.round(time * 1000), seed, jobs, json: values.json ?? false,
    out: values.out === undefined ? null : resolve(values.out), list: values.list ?? false, only,
  };
}

/** Every mutant of the given driver files, in file, line and column order. */
function enumerateMutants(drivers: readonly DriverFile[], root: string): Mutant[] {
  const mutants: Mutant[] = [];
  for (const driver of drivers) {
    const source = readFileSync(join(root, "assembly", driver.file), "utf8");
    mutationsOf(source).forEach((mutation, i) => {
      mutants.push({ ...mutation, id: `${driver.target}-${String(i + 1).padStart(3, "0")}`, driver, snippet: mutationSnippet(source, mutation) });
    });
  }
  return mutants;
}

function describeMutant(m: Mutant): string {
  return `${m.id.padEnd(18)} ${`${m.driver.file}:${m.line}:${m.column}`.padEnd(24)} ${m.operator.padEnd(11)}  ${m.snippet.before} → ${m.snippet.after}`;
}

const progress = (line: string): void => {
  process.stderr.write(`mutants: ${line}\n`);
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// Building

type Asc = (typeof import("assemblyscript/asc"))["default"];

/** A copy of assembly/ and asconfig.json to build mutants in, and a folder for their modules. */
interface Workspace {
  readonly dir: string;
  /** The copy's root: asc's base folder, holding asconfig.json and assembly/. */
  readonly src: string;
  readonly wasm: string;
  readonly keep: boolean;
}

function makeWorkspace(root: string, out: string | null): Workspace {
  const dir = out ?? mkdtempSync(join(tmpdir(), "wasm-hal-mutants-"));
  const src = join(dir, "src");
  const wasm = join(dir, "wasm");
  rmSync(src, { recursive: true, force: true });
  mkdirSync(wasm, { recursive: true });
  // The whole of assembly/, generated/ included, so that every relative import resolves in the
  // copy as it does in the package; asconfig.json beside it, as asc finds it in its base folder.
  cpSync(join(root, "assembly"), join(src, "assembly"), { recursive: true });
  copyFileSync(join(root, "asconfig.json"), join(src, "asconfig.json"));
  return { dir, src, wasm, keep: out !== null };
}

const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * Compiles `entry` (under assembly/) of the workspace's copy to `<name>.wasm` and `.wat`, as
 * scripts/build-zoo.mjs builds the zoo: asconfig.json's release target and shared options, only
 * the output files named here. Returns the module's bytes, or the compiler's first error.
 */
async function compile(asc: Asc, workspace: Workspace, entry: string, name: string): Promise<{ bytes: Buffer; path: string } | { error: string }> {
  const path = join(workspace.wasm, `${name}.wasm`);
  const stdout = asc.createMemoryStream();
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(
    [join("assembly", entry), "--target", "release", "--baseDir", workspace.src, "--outFile", path, "--textFile", join(workspace.wasm, `${name}.wat`)],
    { stdout, stderr },
  );
  if (error !== null) {
    const text = stderr.toString().replace(ANSI, "");
    const first = text.split("\n").find((l) => /\bERROR\b/.test(l))?.trim() ?? error.message;
    return { error: first };
  }
  return { bytes: readFileSync(path), path };
}

/** Builds every mutant, one at a time in the workspace's copy, each against the unmutated build
 * of its module entry: a mutant whose binary is the same is equivalent after optimization. */
async function buildMutants(mutants: readonly Mutant[], workspace: Workspace, root: string): Promise<{ built: Map<string, string>; results: Map<string, MutantResult> }> {
  const asc = (await import("assemblyscript/asc")).default;
  const baselines = new Map<string, Buffer>();
  for (const entry of new Set(mutants.map((m) => m.driver.entry))) {
    const driver = mutants.find((m) => m.driver.entry === entry)!.driver;
    progress(`building the unmutated ${driver.module} from the copy`);
    const built = await compile(asc, workspace, entry, `unmutated-${driver.module.replace(/\.wasm$/, "")}`);
    if ("error" in built) throw new Error(`the unmutated copy of assembly/${entry} does not compile: ${built.error}`);
    const shipped = join(root, "build", driver.module);
    if (!existsSync(shipped) || !readFileSync(shipped).equals(built.bytes)) {
      progress(`warning: the copy of assembly/ builds to another ${driver.module} than build/${driver.module}; run \`npm run build\` first, or the mutants are judged against a stale real driver`);
    }
    baselines.set(entry, built.bytes);
  }
  const built = new Map<string, string>();
  const results = new Map<string, MutantResult>();
  const sources = new Map<string, string>();
  for (const [i, m] of mutants.entries()) {
    const file = join(workspace.src, "assembly", m.driver.file);
    const original = sources.get(m.driver.file) ?? readFileSync(file, "utf8");
    sources.set(m.driver.file, original);
    const started = Date.now();
    const mutated = applyMutation(original, m);
    writeFileSync(file, mutated);
    // Kept beside its module, so that a mutant of a kept folder can be read and rebuilt.
    if (workspace.keep) writeFileSync(join(workspace.wasm, `${m.id}.ts`), mutated);
    let outcome: Awaited<ReturnType<typeof compile>>;
    try {
      outcome = await compile(asc, workspace, m.driver.entry, m.id);
    } finally {
      writeFileSync(file, original);
    }
    const head = `[${String(i + 1).padStart(String(mutants.length).length)}/${mutants.length}] ${m.id} build`;
    if ("error" in outcome) {
      results.set(m.id, { mutant: m, status: "not-compiling", compileError: outcome.error, blind: null, guided: null });
      progress(`${head}: does not compile (${outcome.error})`);
    } else if (outcome.bytes.equals(baselines.get(m.driver.entry)!)) {
      results.set(m.id, { mutant: m, status: "equivalent", compileError: null, blind: null, guided: null });
      progress(`${head}: equivalent, the same binary as the unmutated build (${seconds(Date.now() - started)})`);
    } else {
      built.set(m.id, outcome.path);
      progress(`${head}: ${outcome.bytes.length} bytes (${seconds(Date.now() - started)})`);
    }
  }
  return { built, results };
}

// ---------------------------------------------------------------------------------------------
// Fuzzing

const runsText = (runs: number): string => `${runs} run${runs === 1 ? "" : "s"}`;

function showOutcome(o: ModeOutcome): string {
  if (o.error !== null) return `error: ${o.error}`;
  if (o.finding === null) return `survived (${runsText(o.runs)})`;
  return `killed after ${runsText(o.runs)} (${o.finding.property} in ${o.finding.call ?? "the end checks"})`;
}

/** The heap a fuzzing worker may use: ordinary mutants need a few hundred MB at most. */
const WORKER_HEAP_MB = 1024;

/** How long one mutant may take in one mode before its worker is stopped: the fuzz budget itself
 * ends the search, so this only catches a fuzzer that does not return. */
function watchdogMs(timeMs: number): number {
  return 60_000 + 20 * timeMs;
}

/**
 * One worker thread (bench/mutants-worker.ts) fuzzing one mutant at a time. A worker that runs out
 * of memory, exits, or passes the watchdog is stopped, that mutant gets an error instead of a
 * verdict, and the next request starts a new worker.
 */
class FuzzLane {
  private worker: Worker | null = null;

  constructor(private readonly limitMs: number) {}

  run(request: FuzzRequest): Promise<ModeOutcome> {
    const worker = (this.worker ??= new Worker(new URL("./mutants-worker.js", import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } }));
    const started = Date.now();
    return new Promise((resolve) => {
      const settle = (outcome: ModeOutcome, broken: boolean): void => {
        clearTimeout(timer);
        worker.removeListener("message", onMessage);
        worker.removeListener("error", onError);
        worker.removeListener("exit", onExit);
        if (broken) {
          this.worker = null;
          void worker.terminate();
        }
        resolve(outcome);
      };
      const onMessage = (reply: FuzzReply): void => settle(reply.outcome, false);
      const onError = (e: Error & { code?: string }): void => {
        const why = e.code === "ERR_WORKER_OUT_OF_MEMORY" ? `the fuzzer ran out of memory (its worker's ${WORKER_HEAP_MB} MB heap)` : `the fuzzing worker failed: ${e.message}`;
        settle(failedOutcome(why, Date.now() - started), true);
      };
      const onExit = (code: number): void => settle(failedOutcome(`the fuzzing worker exited (code ${code})`, Date.now() - started), true);
      const timer = setTimeout(() => settle(failedOutcome(`the fuzzer did not return within ${seconds(this.limitMs)}`, Date.now() - started), true), this.limitMs);
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}

/** Fuzzes the variants in one mode over `jobs` worker threads (lanes), each taking the next
 * mutant when it is done with one; a line of progress per mutant. */
async function fuzzMode(variants: readonly Variant[], options: VariantOptions, jobs: number, mode: string): Promise<Map<string, ModeOutcome>> {
  const outcomes = new Map<string, ModeOutcome>();
  const width = String(variants.length).length;
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    const worker = new FuzzLane(watchdogMs(options.timeMs ?? 0));
    try {
      while (next < variants.length) {
        const variant = variants[next++]!;
        const outcome = await worker.run({ variant, options });
        outcomes.set(variant.name, outcome);
        done++;
        progress(`[${String(done).padStart(width)}/${variants.length}] ${variant.name} ${mode}: ${showOutcome(outcome)}, ${seconds(outcome.elapsedMs)}`);
      }
    } finally {
      await worker.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, variants.length) }, lane));
  return outcomes;
}

/**
 * The coverage build of each variant, made here once so that a module the instrumentation pass
 * refuses is one mutant's error rather than the end of the run; the paths it made under the
 * system's temporary folder (the harness caches on-the-fly builds there) are returned to be
 * removed at the end.
 */
function prepareCoverage(variants: readonly Variant[]): { ready: Variant[]; refused: Map<string, ModeOutcome>; made: string[] } {
  const ready: Variant[] = [];
  const refused = new Map<string, ModeOutcome>();
  const cache = join(tmpdir(), "wasm-hal-coverage");
  const cacheExisted = existsSync(cache);
  const made: string[] = [];
  for (const v of variants) {
    try {
      const build = coverageBuild(v.path);
      if (build.path.startsWith(cache)) made.push(build.path);
      ready.push(v);
    } catch (e) {
      refused.set(v.name, failedOutcome(e));
    }
  }
  // The cache folder itself goes too, last, when this run made it (and only if left empty).
  if (!cacheExisted) made.push(cache);
  return { ready, refused, made };
}

// ---------------------------------------------------------------------------------------------
// What else the verdicts depend on

/** The inputs of a run besides the mutants, as they were when it started: the real modules
 * (fuzzVariant compares every finding against build/<module>), the driver sources (the mutants'
 * ids number their mutations), and the time, to tell whether the compiled harness the workers
 * load (dist/) was rebuilt since. */
interface RunInputs {
  readonly startedMs: number;
  readonly files: ReadonlyMap<string, Buffer | null>;
}

function snapshotInputs(root: string, drivers: readonly DriverFile[], startedMs: number): RunInputs {
  const files = new Map<string, Buffer | null>();
  for (const d of drivers) {
    for (const rel of [join("build", d.module), join("assembly", d.file)]) {
      const path = join(root, rel);
      files.set(rel, existsSync(path) ? readFileSync(path) : null);
    }
  }
  return { startedMs, files };
}

/** The newest modification time of the files under `dir`, or 0. */
function newestUnder(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * What changed in the package while the run went on: a rebuilt real module or compiled harness,
 * or an edited driver. Any of them makes some verdicts of the run answers to another question
 * (a finding judged against another real driver, by another fuzzer), so the report says so.
 */
function changesDuringRun(root: string, inputs: RunInputs): string[] {
  const changes: string[] = [];
  for (const [rel, before] of inputs.files) {
    const path = join(root, rel);
    const now = existsSync(path) ? readFileSync(path) : null;
    if (before === null ? now !== null : now === null || !before.equals(now)) changes.push(`${rel} changed during the run`);
  }
  for (const rel of [join("dist", "harness"), join("dist", "bench")]) {
    if (newestUnder(join(root, rel)) > inputs.startedMs) changes.push(`${rel}/ was rebuilt during the run`);
  }
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Report

function tallyOf(): OperatorTally {
  return { fuzzed: 0, blind: 0, guided: 0, survived: 0 };
}

const judged = (o: ModeOutcome | null): o is ModeOutcome => o !== null && o.error === null;

function totalsOf(results: readonly MutantResult[], candidates: number): Totals {
  const fuzzed = results.filter((r) => r.status === "fuzzed");
  const killedBy = (r: MutantResult, mode: "blind" | "guided"): boolean => r[mode]?.killed === true;
  const complete = fuzzed.filter((r) => judged(r.blind) && judged(r.guided));
  const byOperator: Record<string, OperatorTally> = Object.fromEntries(MUTATION_OPERATORS.map((op) => [op, tallyOf()]));
  const byDriver: Record<string, OperatorTally> = {};
  for (const r of complete) {
    for (const tally of [byOperator[r.mutant.operator]!, (byDriver[r.mutant.driver.target] ??= tallyOf())]) {
      tally.fuzzed++;
      if (killedBy(r, "blind")) tally.blind++;
      if (killedBy(r, "guided")) tally.guided++;
      if (!killedBy(r, "blind") && !killedBy(r, "guided")) tally.survived++;
    }
  }
  return {
    candidates,
    selected: results.length,
    compiled: results.filter((r) => r.status !== "not-compiling").length,
    notCompiling: results.filter((r) => r.status === "not-compiling").length,
    equivalent: results.filter((r) => r.status === "equivalent").length,
    fuzzed: fuzzed.length,
    killedBlind: fuzzed.filter((r) => killedBy(r, "blind")).length,
    killedGuided: fuzzed.filter((r) => killedBy(r, "guided")).length,
    killedBoth: fuzzed.filter((r) => killedBy(r, "blind") && killedBy(r, "guided")).length,
    blindOnly: complete.filter((r) => killedBy(r, "blind") && !killedBy(r, "guided")).map((r) => r.mutant.id),
    guidedOnly: complete.filter((r) => !killedBy(r, "blind") && killedBy(r, "guided")).map((r) => r.mutant.id),
    survivedBoth: complete.filter((r) => !killedBy(r, "blind") && !killedBy(r, "guided")).map((r) => r.mutant.id),
    errors: fuzzed.filter((r) => !judged(r.blind) || !judged(r.guided)).map((r) => r.mutant.id),
    byOperator,
    byDriver,
  };
}

function textReport(results: readonly MutantResult[], totals: Totals, options: Options, times: { buildMs: number; fuzzMs: number; totalMs: number }, changed: readonly string[]): string {
  const byId = new Map(results.map((r) => [r.mutant.id, r]));
  const lines = [
    `mutation testing: ${totals.selected} of ${totals.candidates} mutants (seed ${options.seed}), ${options.timeMs / 1000} s of fuzzing per mutant and mode, ${options.jobs} job${options.jobs === 1 ? "" : "s"}`,
    "",
  ];
  for (const r of results) {
    lines.push(describeMutant(r.mutant));
    if (r.status === "not-compiling") lines.push(`${" ".repeat(19)}does not compile: ${r.compileError}`);
    else if (r.status === "equivalent") lines.push(`${" ".repeat(19)}equivalent: the same binary as the unmutated build`);
    else lines.push(`${" ".repeat(19)}blind: ${showOutcome(r.blind!).padEnd(56)} guided: ${showOutcome(r.guided!)}`);
  }
  const list = (ids: readonly string[]): string => (ids.length === 0 ? "" : `: ${ids.join(", ")}`);
  lines.push(
    "",
    "totals:",
    `  mutants ${totals.selected}: compiled ${totals.compiled} (equivalent ${totals.equivalent}, fuzzed ${totals.fuzzed}), not compiling ${totals.notCompiling}`,
    `  killed of ${totals.fuzzed} fuzzed: blind ${totals.killedBlind}, guided ${totals.killedGuided}, both ${totals.killedBoth}`,
    `  killed by blind only ${totals.blindOnly.length}${list(totals.blindOnly)}`,
    `  killed by guided only ${totals.guidedOnly.length}${list(totals.guidedOnly)}`,
  );
  if (totals.errors.length > 0) lines.push(`  no verdict (fuzzer or coverage-build error) ${totals.errors.length}${list(totals.errors)}`);
  lines.push(`  survived both ${totals.survivedBoth.length} (the fuzzer's blind spots)${totals.survivedBoth.length === 0 ? "" : ":"}`);
  for (const id of totals.survivedBoth) lines.push(`    ${describeMutant(byId.get(id)!.mutant)}`);
  const table = (title: string, tallies: Readonly<Record<string, OperatorTally>>): void => {
    lines.push(`  ${title} (fuzzed: killed blind / guided, survived both):`);
    for (const [name, t] of Object.entries(tallies)) {
      if (t.fuzzed > 0) lines.push(`    ${name.padEnd(14)} ${String(t.fuzzed).padStart(4)}: ${t.blind} / ${t.guided}, ${t.survived}`);
    }
  };
  table("by operator", totals.byOperator);
  table("by driver", totals.byDriver);
  lines.push("", `time: building ${seconds(times.buildMs)}, fuzzing ${seconds(times.fuzzMs)}, in all ${seconds(times.totalMs)}`);
  for (const change of changed) lines.push(`warning: ${change}; verdicts from before and after it are not comparable`);
  return lines.join("\n") + "\n";
}

function jsonReport(results: readonly MutantResult[], totals: Totals, options: Options, times: { buildMs: number; fuzzMs: number; totalMs: number }, changed: readonly string[]): string {
  return JSON.stringify({
    seed: options.seed,
    timeMs: options.timeMs,
    jobs: options.jobs,
    files: options.drivers.map((d) => d.target),
    mutants: results.map((r) => ({
      id: r.mutant.id,
      target: r.mutant.driver.target,
      file: `assembly/${r.mutant.driver.file}`,
      line: r.mutant.line,
      column: r.mutant.column,
      operator: r.mutant.operator,
      before: r.mutant.before,
      after: r.mutant.after,
      snippet: r.mutant.snippet,
      status: r.status,
      compileError: r.compileError,
      blind: r.blind,
      guided: r.guided,
    })),
    totals,
    times,
    changedDuringRun: changed,
  }, null, 2) + "\n";
}

// ---------------------------------------------------------------------------------------------

async function main(argv: readonly string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`mutants: ${(e as Error).message}\n`);
    return 2;
  }
  const root = packageRoot();
  const started = Date.now();
  const candidates = enumerateMutants(options.drivers, root);
  const unknown = options.only?.filter((id) => !candidates.some((m) => m.id === id)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`mutants: --only: no mutant ${unknown.join(", ")} in the files chosen (--list names them)\n`);
    return 2;
  }
  const wanted = options.only === null ? candidates : candidates.filter((m) => options.only!.includes(m.id));
  const chosen = pickMutants(wanted, options.max, options.seed);
  if (options.list) {
    process.stdout.write(chosen.map(describeMutant).join("\n") + `\n${chosen.length} of ${candidates.length} mutants\n`);
    return 0;
  }

  const inputs = snapshotInputs(root, options.drivers, started);
  const workspace = makeWorkspace(root, options.out);
  let coverageFiles: string[] = [];
  const cleanUp = (): void => {
    for (const path of coverageFiles) {
      if (!existsSync(path)) continue;
      if (!statSync(path).isDirectory()) rmSync(path, { force: true });
      else if (readdirSync(path).length === 0) rmdirSync(path);
    }
    if (!workspace.keep) rmSync(workspace.dir, { recursive: true, force: true });
  };
  const interrupted = (): void => {
    cleanUp();
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  try {
    progress(`${chosen.length} of ${candidates.length} mutants, building in ${workspace.dir}`);
    const { built, results: buildResults } = await buildMutants(chosen, workspace, root);
    const buildMs = Date.now() - started;

    const fuzzStarted = Date.now();
    const variants: Variant[] = chosen.filter((m) => built.has(m.id)).map((m) => ({ name: m.id, path: built.get(m.id)!, target: m.driver.target }));
    const base: VariantOptions = { runs: Infinity, timeMs: options.timeMs, seed: options.seed, known: openFindings() };
    const blind = await fuzzMode(variants, base, options.jobs, "blind");
    const coverage = prepareCoverage(variants);
    coverageFiles = coverage.made;
    const guided = await fuzzMode(coverage.ready, { ...base, coverage: {} }, options.jobs, "guided");
    for (const [name, outcome] of coverage.refused) guided.set(name, outcome);
    const fuzzMs = Date.now() - fuzzStarted;

    const results: MutantResult[] = chosen.map((m) => buildResults.get(m.id) ?? {
      mutant: m, status: "fuzzed", compileError: null, blind: blind.get(m.id) ?? null, guided: guided.get(m.id) ?? null,
    });
    const totals = totalsOf(results, candidates.length);
    const times = { buildMs, fuzzMs, totalMs: Date.now() - started };
    const changed = changesDuringRun(root, inputs);
    for (const change of changed) progress(`warning: ${change}; verdicts from before and after it are not comparable`);
    process.stdout.write(options.json ? jsonReport(results, totals, options, times, changed) : textReport(results, totals, options, times, changed));
    if (workspace.keep) progress(`kept the mutated copy and the mutants' modules in ${workspace.dir}`);
    return 0;
  } finally {
    process.removeListener("SIGINT", interrupted);
    cleanUp();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
