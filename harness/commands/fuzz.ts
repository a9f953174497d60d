// `wasm-hal fuzz`: fuzzes the drivers' register access sequences (docs/fuzzing.md) and saves what
// it finds under fixtures/fuzz/ as replayable regression traces.
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { resolve, relative } from "node:path";
import { compileModule, wasmPath } from "../hal.js";
import { displayPath } from "../project.js";
import { loadDeviceKinds } from "../project-modules.js";
import { importFuzzTargets, targetModule } from "../fuzz/target-table.js";
import { fuzz, type CampaignProgress, type CampaignResult } from "../fuzz/campaign.js";
import { findingKey, moduleLabel, type Finding } from "../fuzz/engine.js";
import { listRegressions, readRegression, saveRegression, rerunRegression, replayRecordedReads, replaysFromSeed } from "../fuzz/regression.js";
import { fuzzVariants, variantReport, zooVariants } from "../fuzz/variants.js";
import { TARGET_NAMES, type TargetName } from "../fuzz/target.js";
import "../fuzz/targets/index.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "../fuzz/targets/pl011.js";
import { type Command, type CommandContext, UsageError, positiveInteger } from "./common.js";

const DEFAULT_RUNS = 1000;

/** Seconds, written 30, 30s, 1.5s or 2m. */
function seconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(s|m)?$/.exec(text);
  if (m === null) throw new UsageError(`--time expects seconds (30, 30s, 2m), got "${text}"`);
  const n = Number(m[1]) * (m[2] === "m" ? 60 : 1);
  if (!(n > 0)) throw new UsageError(`--time must be more than 0, got "${text}"`);
  return n * 1000;
}

function seedOf(text: string | undefined): number {
  if (text === undefined) return (Date.now() ^ (process.pid << 16)) | 0;
  if (!/^-?[0-9]+$/.test(text)) throw new UsageError(`--seed expects an integer, got "${text}"`);
  const n = Number(text);
  // fast-check seeds are 32-bit: a larger number would silently become another seed.
  if (!Number.isSafeInteger(n) || n < -(2 ** 31) || n > 2 ** 32 - 1) throw new UsageError(`--seed must be a 32-bit integer (-2147483648 to 4294967295), got ${text}`);
  return n | 0;
}

/** Worker threads beyond this buy nothing on any machine this runs on, and each costs a module
 * instance and its memory. */
const MAX_JOBS = 64;

const number = (n: number): string => Math.round(n).toLocaleString("en-US");

/** The live line on a terminal, plain periodic lines otherwise. */
function progressPrinter(label: string): { update: (p: CampaignProgress) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastPlain = 0;
  let shown = false;
  return {
    update(p) {
      const rate = p.elapsedMs > 0 ? (p.executions * 1000) / p.elapsedMs : 0;
      const line = `${label} [${[...new Set(p.current)].join(",")}] ${number(p.runs)} runs, ${number(rate)} exec/s, ${p.failures} failure${p.failures === 1 ? "" : "s"}, ${(p.elapsedMs / 1000).toFixed(1)} s`;
      if (tty) {
        process.stderr.write(`\r\x1b[2K${line}`);
        shown = true;
      } else if (p.elapsedMs - lastPlain >= 5000) {
        lastPlain = p.elapsedMs;
        process.stderr.write(line + "\n");
      }
    },
    done() {
      if (tty && shown) process.stderr.write("\r\x1b[2K");
    },
  };
}

function describeFinding(f: Finding, index: number): string[] {
  const lines = [`  ${index}. [${f.world}] ${f.property} in ${f.call ?? "the end-of-run checks"} (${f.target}, ${f.module}; found after ${f.runs} runs, shrunk in ${f.shrinks} step${f.shrinks === 1 ? "" : "s"})`];
  lines.push(...f.message.split("\n").map((l) => `     ${l}`));
  if (f.poll !== null) lines.push(`     ${f.poll}`);
  if (f.lint !== null) lines.push(...f.lint.split("\n").map((l) => `     ${l}`));
  for (const r of f.replaced) {
    lines.push(`     ${r.region}.${r.reg} read 0x${r.value.toString(16)} instead of 0x${r.truth.toString(16)}${r.count > 1 ? ` (x${r.count})` : ""}${r.illegal === null ? "" : ` -- impossible: ${r.illegal}`}`);
  }
  lines.push("     steps:", ...f.story.map((s, i) => `       ${i + 1}. ${s}`));
  lines.push(`     replay: seed ${f.seed}, path ${f.path}, replay path ${f.replayPath}`);
  return lines;
}

function summary(result: CampaignResult, legalOnly: boolean): string[] {
  const rate = result.elapsedMs > 0 ? (result.executions * 1000) / result.elapsedMs : 0;
  const out = [
    `seed ${result.seed}, ${result.jobs} job${result.jobs === 1 ? "" : "s"}, ${legalOnly ? "legal values only" : "legal and unconstrained values"}: ${number(result.runs)} runs (${number(result.executions)} executions) in ${(result.elapsedMs / 1000).toFixed(1)} s, ${number(rate)} exec/s`,
  ];
  for (const t of result.targets) {
    const extra = [t.repeats > 0 ? `${t.repeats} repeat${t.repeats === 1 ? "" : "s"} of known findings` : "", t.interrupted ? "stopped by --time" : ""].filter((x) => x !== "").join(", ");
    out.push(`  ${t.target.padEnd(6)} ${number(t.runs).padStart(9)} runs ${number(t.executions).padStart(10)} executions  ${t.findings.length} finding${t.findings.length === 1 ? "" : "s"}${extra === "" ? "" : ` (${extra})`}`);
  }
  return out;
}

/** Saves new findings; one file per finding unless one with the same identity and module exists. */
function save(findings: readonly Finding[], dir: string): Map<Finding, string> {
  const existing = new Map<string, string>();
  for (const file of listRegressions(dir)) {
    try {
      const r = readRegression(file);
      existing.set(`${findingKey(r.meta)}@${r.meta.module}`, file);
    } catch {
      // Not a regression file: leave it alone.
    }
  }
  const saved = new Map<Finding, string>();
  for (const f of findings) {
    const key = `${findingKey(f)}@${f.module}`;
    const known = existing.get(key);
    saved.set(f, known !== undefined ? `${relative(process.cwd(), known)} (already saved)` : relative(process.cwd(), saveRegression(f, dir)));
  }
  return saved;
}

async function run(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string" },
      seed: { type: "string" },
      time: { type: "string" },
      jobs: { type: "string" },
      "legal-only": { type: "boolean" },
      "max-steps": { type: "string" },
      "step-limit": { type: "string" },
      module: { type: "string" },
      zoo: { type: "boolean" },
      save: { type: "string" },
      "no-save": { type: "boolean" },
      replay: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });

  // The project's targets (fuzz.targets), fuzzing its default module unless --module says other.
  const project = await context.project();
  await loadDeviceKinds(project);
  const files = project.moduleFiles("fuzz.targets");
  let names: string[];
  try {
    names = await importFuzzTargets(files, project.moduleNames().length > 0 ? project.modulePath() : null, project);
  } catch (e) {
    process.stderr.write(`wasm-hal: ${(e as Error).message.split("\n")[0]}\n`);
    return 1;
  }
  if (values.replay !== undefined) return replay(values.replay);

  const [which, ...extra] = positionals;
  if (names.length === 0) throw new UsageError(`the project has no fuzz targets: name a target module in the config's fuzz.targets (docs/fuzzing.md)`);
  if (which === undefined) throw new UsageError(`name a target: ${[...names, "all"].join(", ")}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (which !== "all" && !names.includes(which)) throw new UsageError(`unknown target "${which}": expected one of ${[...names, "all"].join(", ")}`);
  const targets: readonly TargetName[] = which === "all" ? names : [which];
  const timeMs = seconds(values.time);
  const runs = values.runs === undefined ? (timeMs === undefined ? DEFAULT_RUNS : Infinity) : positiveInteger("runs", values.runs, DEFAULT_RUNS);
  const seed = seedOf(values.seed);
  const jobs = positiveInteger("jobs", values.jobs, 1);
  if (jobs > MAX_JOBS) throw new UsageError(`--jobs must be at most ${MAX_JOBS}, got ${jobs}`);
  const legalOnly = values["legal-only"] === true;
  const maxSteps = positiveInteger("max-steps", values["max-steps"], 12);
  const stepAccessLimit = positiveInteger("step-limit", values["step-limit"], DEFAULT_STEP_ACCESS_LIMIT);
  const saveDir = values["no-save"] === true ? null : resolve(values.save ?? project.regressionDir);
  let modulePath: string | undefined;
  if (values.module !== undefined) {
    modulePath = resolve(values.module);
    if (!existsSync(modulePath)) throw new UsageError(`--module ${values.module}: no such file`);
  }

  if (values.zoo === true) {
    if (modulePath !== undefined) throw new UsageError("--zoo fuzzes the zoo's modules: leave out --module");
    const notZoo = targets.filter((t) => !(TARGET_NAMES as readonly string[]).includes(t));
    if (notZoo.length > 0) throw new UsageError(`--zoo holds broken copies of the package's drivers only (${TARGET_NAMES.join(", ")}), not ${notZoo.join(", ")}`);
    return zoo(targets, { runs, seed, timeMs, legalOnly, maxSteps, jobs, saveDir, stepAccessLimit });
  }

  // The module is checked before any worker starts: a missing or broken file is one line.
  compileModule(modulePath ?? targetModule(targets[0]!) ?? wasmPath("release"), `run \`${project.buildHint()}\` first`);
  const label = `wasm-hal fuzz ${which}`;
  const progress = progressPrinter(label);
  let result: CampaignResult;
  try {
    result = await fuzz({
    targets, runs, seed, jobs, legalOnly, maxSteps, stepAccessLimit,
    ...(timeMs === undefined ? {} : { timeMs }),
    ...(modulePath === undefined ? {} : { modulePath }),
    onProgress: progress.update,
    });
  } catch (e) {
    progress.done();
    // A worker thread's failure arrives as an Error naming the job: its message, on one line.
    if (e instanceof Error && e.constructor === Error) {
      process.stderr.write(`wasm-hal: ${e.message.split("\n")[0]}\n`);
      return 1;
    }
    throw e;
  }
  progress.done();
  const fuzzed = modulePath ?? targetModule(targets[0]!) ?? wasmPath("release");
  const out = [`${label} (${moduleLabel(fuzzed)}):`, ...summary(result, legalOnly)];
  if (result.findings.length > 0) {
    out.push("", `findings (${result.findings.filter((f) => f.world === "legal").length} reachable with legal values, ${result.findings.filter((f) => f.world === "impossible").length} needing values the hardware never produces):`);
    result.findings.forEach((f, i) => out.push(...describeFinding(f, i + 1)));
  } else {
    out.push("", "no findings");
  }
  // The campaign's findings are printed before anything is saved: a folder that cannot be
  // written loses no finding.
  process.stdout.write(out.join("\n") + "\n");
  if (result.findings.length > 0 && saveDir !== null) {
    try {
      const saved = save(result.findings, saveDir);
      process.stdout.write(["", "saved:", ...result.findings.map((f) => `  ${saved.get(f)}`)].join("\n") + "\n");
    } catch (e) {
      process.stderr.write(`wasm-hal: could not save the findings in ${displayPath(saveDir)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (they are printed above; --save DIR picks another folder)\n`);
    }
  }
  return result.findings.length > 0 ? 1 : 0;
}

async function zoo(targets: readonly TargetName[], options: { runs: number; seed: number; timeMs: number | undefined; legalOnly: boolean; maxSteps: number; jobs: number; saveDir: string | null; stepAccessLimit: number }): Promise<number> {
  const variants = zooVariants().filter((v) => v.target !== undefined && targets.includes(v.target));
  if (variants.length === 0) throw new UsageError("no zoo module is built (build/zoo/*.wasm): run `npm run build:zoo`");
  process.stderr.write(`fuzzing ${variants.length} broken variants${options.jobs > 1 ? ` on ${options.jobs} threads` : ""} ...\n`);
  const started = Date.now();
  const results = await fuzzVariants(variants, {
    jobs: options.jobs, runs: options.runs, seed: options.seed, legalOnly: options.legalOnly, maxSteps: options.maxSteps, stepAccessLimit: options.stepAccessLimit,
    // A time limit is shared out between the variants (each job takes its share of them).
    ...(options.timeMs === undefined ? {} : { timeMs: (options.timeMs * Math.min(options.jobs, variants.length)) / variants.length }),
  });
  const elapsed = ((Date.now() - started) / 1000).toFixed(1);
  const lines = [`wasm-hal fuzz --zoo: ${variants.length} broken variants, seed ${options.seed}, ${elapsed} s`, variantReport(results, options.seed)];
  const found = results.flatMap((r) => (r.finding === null ? [] : [r.finding]));
  if (options.saveDir !== null && found.length > 0) {
    const saved = save(found, options.saveDir);
    lines.push("saved:", ...found.map((f) => `  ${saved.get(f)}`));
  }
  process.stdout.write(lines.join("\n") + "\n");
  return results.every((r) => r.finding !== null) ? 0 : 1;
}

/** Replays one regression file: re-runs its case, then feeds the module its recorded reads. */
function replay(file: string): number {
  let regression;
  try {
    regression = readRegression(resolve(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    process.stderr.write(`wasm-hal: ${code === "ENOENT" ? `${file}: no such file` : code === "EISDIR" ? `${file}: is a folder: expected a regression .trace file` : (e as Error).message.split("\n")[0]}\n`);
    return 1;
  }
  const m = regression.meta;
  const out = [`${file}: ${m.target}, ${m.module}, [${m.world}] ${m.property} in ${m.call ?? "the end checks"}`];
  const rerun = rerunRegression(regression);
  out.push(rerun.failure === null ? "  re-run: every property holds now" : `  re-run: ${rerun.failure.property}: ${rerun.failure.message.split("\n")[0]}`);
  out.push(rerun.traceDifference === null ? "  trace: identical to the recording" : `  trace: differs from the recording\n${rerun.traceDifference.split("\n").map((l) => `    ${l}`).join("\n")}`);
  out.push(replaysFromSeed(regression) ? `  seed ${m.seed}, path ${m.path}: fast-check finds the same case again` : `  seed ${m.seed}, path ${m.path}: no longer lead to this case (the generators changed); the saved case is what runs`);
  const replayed = replayRecordedReads(regression);
  out.push(replayed === null ? "  recorded reads: the module makes the recorded accesses and returns the recorded results" : `  recorded reads: ${replayed}`);
  process.stdout.write(out.join("\n") + "\n");
  return rerun.failure === null ? 0 : 1;
}

export const fuzzCommand: Command = {
  name: "fuzz",
  summary: "fuzz the drivers' register accesses: device responses, faults and call sequences",
  usage: `  wasm-hal fuzz <TARGET|all> [options]   (targets: the config's fuzz.targets; the package's are ${TARGET_NAMES.join(", ")})
  --runs N        cases per target (default ${DEFAULT_RUNS}; unlimited with --time alone)
  --seed S        seed (default: random, printed); the same seed, runs and jobs give the same run
  --time T        stop after T (30, 30s, 2m), shared between the targets
  --jobs J        worker threads, each with its own module and a sub-seed (default 1)
  --legal-only    respond only with values the hardware could produce
  --max-steps N   most steps in a case (default 12)
  --step-limit N  skip steps predicted to take more accesses (default ${DEFAULT_STEP_ACCESS_LIMIT}: a slow
                  baud rate, a long write); raise it to fuzz slow paths too
  --module PATH   fuzz another .wasm with the same ABI (a broken variant)
  --zoo           fuzz every built bug-zoo variant of the target(s) and report found/seeded
  --save DIR      where findings are saved (default: the config's fuzz.regressions)
  --no-save       do not save findings
  --replay FILE   re-run a saved regression and replay its recorded reads`,
  run,
};
