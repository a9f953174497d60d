// `wasm-hal fuzz`: fuzzes the drivers' register access sequences (docs/fuzzing.md) and saves what
// it finds under fixtures/fuzz/ as replayable regression traces. `--shard i/n` runs one part of a
// campaign, `--findings-out` and `--junit` write what it found for CI, and `wasm-hal fuzz merge`
// puts shards' findings back together (docs/ci.md).
import { parseArgs } from "node:util";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve, relative } from "node:path";
import { junitXml, suiteCounts } from "../junit.js";
import { compileModule, wasmPath } from "../hal.js";
import { displayPath } from "../project.js";
import { loadDeviceKinds } from "../project-modules.js";
import { importFuzzTargets, targetModule } from "../fuzz/target-table.js";
import { fuzz, planJobs, inShard, type CampaignProgress, type CampaignResult, type Shard } from "../fuzz/campaign.js";
import {
  campaignFindingsFile, findingsFileText, findingsInputs, findingsJUnit, mergeFindings, parseFindingsFile, zooFindingsFile,
  type CampaignInfo, type FindingsFile,
} from "../fuzz/merge.js";
import { findingKey, moduleLabel, replayText, type Finding } from "../fuzz/engine.js";
import { listRegressions, readRegression, saveRegression, rerunRegression, replayRecordedReads, replaysFromSeed } from "../fuzz/regression.js";
import { fuzzVariants, variantReport, zooVariants } from "../fuzz/variants.js";
import { TARGET_NAMES, type TargetName } from "../fuzz/target.js";
import "../fuzz/targets/index.js";
import { campaignCoverage } from "../coverage/report.js";
import { CoverageError, coverageBuild } from "../coverage/build.js";
import { mkdtempSync, rmSync as removeFolder } from "node:fs";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { DEFAULT_STEP_ACCESS_LIMIT } from "../fuzz/targets/pl011.js";
import { type Command, type CommandContext, UsageError, positiveInteger, readInputFile, writeOutputFile } from "./common.js";

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

/** `--shard i/n`: shard i (from 1) of n. */
export function parseShard(text: string | undefined): Shard | undefined {
  if (text === undefined) return undefined;
  const m = /^([0-9]+)\/([0-9]+)$/.exec(text);
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(count) && index >= 1 && index <= count)) {
    throw new UsageError(`--shard expects i/n, shard i of n shards with 1 <= i <= n (1/3 is the first of three), got "${text}"`);
  }
  return { index, count };
}

const plural = (n: number, word: string): string => `${number(n)} ${word}${n === 1 ? "" : "s"}`;

/** Writes a report, making its folder first (a CI step names findings/shard-1.json before the
 * folder exists); a file that cannot be written is one line naming it. */
function writeReport(file: string, text: string): void {
  const path = resolve(file);
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch {
    // writeOutputFile says what is wrong with the path.
  }
  writeOutputFile(path, text);
}

/** Writes the findings file and the JUnit report a run was asked for. */
function writeReports(file: FindingsFile, findingsOut: string | undefined, junit: string | undefined, suite: string): void {
  if (findingsOut !== undefined) writeReport(findingsOut, findingsFileText(file));
  if (junit !== undefined) writeReport(junit, junitXml([findingsJUnit(file, suite)]));
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
  lines.push(`     ${replayText(f)}`);
  return lines;
}

function summary(result: CampaignResult, legalOnly: boolean, pollLatency: boolean): string[] {
  const rate = result.elapsedMs > 0 ? (result.executions * 1000) / result.elapsedMs : 0;
  const out = [
    `seed ${result.seed}, ${result.jobs} job${result.jobs === 1 ? "" : "s"}, ${legalOnly ? "legal values only" : "legal and unconstrained values"}${pollLatency ? "" : ", fixed bus latency"}: ${number(result.runs)} runs (${number(result.executions)} executions) in ${(result.elapsedMs / 1000).toFixed(1)} s, ${number(rate)} exec/s`,
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
  if (argv[0] === "merge") return merge(argv.slice(1), context);
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string" },
      seed: { type: "string" },
      time: { type: "string" },
      jobs: { type: "string" },
      "legal-only": { type: "boolean" },
      "fixed-latency": { type: "boolean" },
      "max-steps": { type: "string" },
      "step-limit": { type: "string" },
      module: { type: "string" },
      zoo: { type: "boolean" },
      save: { type: "string" },
      "no-save": { type: "boolean" },
      replay: { type: "string" },
      coverage: { type: "boolean" },
      lcov: { type: "string" },
      shard: { type: "string" },
      "findings-out": { type: "string" },
      junit: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  const shard = parseShard(values.shard);
  if (shard !== undefined && values.seed === undefined) throw new UsageError("--shard needs --seed S, the same on every shard (a random seed would differ from shard to shard)");
  if (values.replay !== undefined) {
    const campaignOnly = (["shard", "findings-out", "junit"] as const).find((o) => values[o] !== undefined);
    if (campaignOnly !== undefined) throw new UsageError(`--${campaignOnly} is for a campaign: leave it out with --replay`);
  }

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
  // Every access at the clock's fixed time, as in golden scenarios (docs/fuzzing.md#poll-latency).
  const pollLatency = values["fixed-latency"] !== true;
  const maxSteps = positiveInteger("max-steps", values["max-steps"], 12);
  const stepAccessLimit = positiveInteger("step-limit", values["step-limit"], DEFAULT_STEP_ACCESS_LIMIT);
  const saveDir = values["no-save"] === true ? null : resolve(values.save ?? project.regressionDir);
  if (values.lcov !== undefined && values.coverage !== true) throw new UsageError("--lcov writes what a coverage-guided run covered: add --coverage");
  if (values.lcov !== undefined && values.zoo === true) throw new UsageError("--lcov reports the coverage of one campaign: leave out --zoo");
  // Coverage-guided runs write what they covered here (one file per target and job).
  const coverageDir = values.coverage === true && values.zoo !== true ? mkdtempSync(joinPath(tmpdir(), "wasm-hal-fuzz-coverage-")) : undefined;
  let modulePath: string | undefined;
  if (values.module !== undefined) {
    modulePath = resolve(values.module);
    if (!existsSync(modulePath)) throw new UsageError(`--module ${values.module}: no such file`);
  }

  if (values.zoo === true) {
    if (modulePath !== undefined) throw new UsageError("--zoo fuzzes the zoo's modules: leave out --module");
    // The zoo's variants name the target that fuzzes them (harness/zoo.ts): any of those goes.
    const zooTargets = [...new Set(zooVariants().map((v) => v.target))];
    const notZoo = targets.filter((t) => !zooTargets.includes(t));
    if (notZoo.length > 0) throw new UsageError(`--zoo holds broken copies of the package's drivers only (targets ${zooTargets.join(", ")}), not ${notZoo.join(", ")}`);
    return zoo(targets, { runs, seed, timeMs, legalOnly, pollLatency, maxSteps, jobs, saveDir, stepAccessLimit, shard, findingsOut: values["findings-out"], junit: values.junit, coverage: values.coverage === true });
  }

  // The module is checked before any worker starts: a missing or broken file is one line.
  compileModule(modulePath ?? targetModule(targets[0]!) ?? wasmPath("release"), `run \`${project.buildHint()}\` first`);
  // And, guided, every module it fuzzes can be instrumented: a module that cannot is one line too.
  try {
    if (coverageDir !== undefined) for (const t of targets) coverageBuild(modulePath ?? targetModule(t) ?? wasmPath("release"));
  } catch (e) {
    if (!(e instanceof CoverageError)) throw e;
    process.stderr.write(`wasm-hal: --coverage: ${e.message}\n`);
    if (coverageDir !== undefined) removeFolder(coverageDir, { recursive: true, force: true });
    return 1;
  }
  const label = `wasm-hal fuzz ${which}`;
  const campaignOptions = {
    targets, runs, seed, jobs, legalOnly, maxSteps, stepAccessLimit,
    ...(pollLatency ? {} : { pollLatency }),
    ...(timeMs === undefined ? {} : { timeMs }),
    ...(modulePath === undefined ? {} : { modulePath }),
    ...(shard === undefined ? {} : { shard }),
    ...(coverageDir === undefined ? {} : { coverage: { dir: coverageDir } }),
  };
  const shardLine = shard === undefined ? null : describeShard(shard, campaignOptions);
  const progress = progressPrinter(shard === undefined ? label : `${label} shard ${shard.index}/${shard.count}`);
  let result: CampaignResult;
  try {
    result = await fuzz({ ...campaignOptions, onProgress: progress.update });
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
  const out = [`${label} (${moduleLabel(fuzzed)}):`, ...(shardLine === null ? [] : [shardLine]), ...(result.parts.length === 0 ? [] : summary(result, legalOnly, pollLatency))];
  if (result.findings.length > 0) {
    out.push("", `findings (${result.findings.filter((f) => f.world === "legal").length} reachable with legal values, ${result.findings.filter((f) => f.world === "impossible").length} needing values the hardware never produces):`);
    result.findings.forEach((f, i) => out.push(...describeFinding(f, i + 1)));
  } else {
    out.push("", "no findings");
  }
  if (coverageDir !== undefined) out.push("", ...campaignCoverage(coverageDir, values.lcov === undefined ? {} : { lcovFile: resolve(values.lcov) }));
  // The campaign's findings are printed before anything is saved: a folder that cannot be
  // written loses no finding.
  process.stdout.write(out.join("\n") + "\n");
  const info: Omit<CampaignInfo, "kind" | "parts" | "seed" | "jobs"> = {
    targets, runs: runs === Infinity ? null : runs, module: modulePath === undefined ? null : moduleLabel(modulePath),
    legalOnly, maxSteps, stepAccessLimit, timeMs: timeMs ?? null,
  };
  writeReports(campaignFindingsFile(result, info), values["findings-out"], values.junit, shard === undefined ? label : `${label} shard ${shard.index}/${shard.count}`);
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

/** Which parts a shard runs and how many cases, in one line. */
function describeShard(shard: Shard, options: Parameters<typeof planJobs>[0]): string {
  const plans = planJobs(options);
  const jobs = Math.max(1, options.jobs ?? 1);
  const total = options.targets.length * jobs;
  const parts = plans.flatMap((p) => p.targets.map((t) => (jobs === 1 ? t : `${t} job ${p.job + 1}`)));
  const head = `shard ${shard.index}/${shard.count}: ${parts.length} of ${plural(total, "part")} (${options.targets.length} target${options.targets.length === 1 ? "" : "s"} x ${plural(jobs, "job")})`;
  if (parts.length === 0) return `${head}: nothing to run${jobs * options.targets.length < shard.count ? `; --jobs J splits each target's cases into J parts (the same J on every shard)` : ""}`;
  const cases = options.runs === Infinity ? "cases until --time" : `${number(plans.reduce((a, p) => a + p.options.runs * p.targets.length, 0))} of ${number(options.runs * options.targets.length)} cases`;
  return `${head}: ${parts.join(", ")}; ${cases}`;
}

async function zoo(targets: readonly TargetName[], options: { runs: number; seed: number; timeMs: number | undefined; legalOnly: boolean; pollLatency: boolean; maxSteps: number; jobs: number; saveDir: string | null; stepAccessLimit: number; shard: Shard | undefined; findingsOut: string | undefined; junit: string | undefined; coverage?: boolean }): Promise<number> {
  const all = zooVariants().filter((v) => v.target !== undefined && targets.includes(v.target));
  if (all.length === 0) throw new UsageError("no zoo module is built (build/zoo/*.wasm): run `npm run build:zoo`");
  // A shard takes every n-th variant: each variant is fuzzed alike wherever it runs.
  const variants = all.filter((_, i) => inShard(i, options.shard));
  const shard = options.shard;
  const shardLine = shard === undefined ? null : `shard ${shard.index}/${shard.count}: ${variants.length} of ${plural(all.length, "variant")}${variants.length === 0 ? ": nothing to run" : `, at most ${options.runs === Infinity ? "unlimited" : number(options.runs)} runs each`}`;
  if (variants.length > 0) process.stderr.write(`fuzzing ${variants.length} broken variants${options.jobs > 1 ? ` on ${options.jobs} threads` : ""} ...\n`);
  const started = Date.now();
  const results = variants.length === 0 ? [] : await fuzzVariants(variants, {
    jobs: options.jobs, runs: options.runs, seed: options.seed, legalOnly: options.legalOnly, maxSteps: options.maxSteps, stepAccessLimit: options.stepAccessLimit,
    ...(options.pollLatency ? {} : { pollLatency: false }),
    ...(options.coverage === true ? { coverage: {} } : {}),
    // A time limit is shared out between the variants (each job takes its share of them).
    ...(options.timeMs === undefined ? {} : { timeMs: (options.timeMs * Math.min(options.jobs, variants.length)) / variants.length }),
  });
  const elapsed = ((Date.now() - started) / 1000).toFixed(1);
  const lines = [`wasm-hal fuzz --zoo: ${variants.length} broken variants, seed ${options.seed}, ${elapsed} s`, ...(shardLine === null ? [] : [shardLine]), ...(results.length === 0 ? [] : [variantReport(results, options.seed)])];
  const found = results.flatMap((r) => (r.finding === null ? [] : [r.finding]));
  const file = zooFindingsFile(results.map((r) => ({
    part: all.findIndex((v) => v.name === r.variant.name), target: r.target, variant: r.variant.name, module: moduleLabel(r.variant.path),
    finding: r.finding, runs: r.runs, executions: r.executions, elapsedMs: r.elapsedMs,
  })), {
    targets, seed: options.seed, runs: options.runs === Infinity ? null : options.runs, legalOnly: options.legalOnly, maxSteps: options.maxSteps,
    stepAccessLimit: options.stepAccessLimit, timeMs: options.timeMs ?? null, parts: all.length,
  }, shard ?? null);
  writeReports(file, options.findingsOut, options.junit, `wasm-hal fuzz --zoo${shard === undefined ? "" : ` shard ${shard.index}/${shard.count}`}`);
  if (options.saveDir !== null && found.length > 0) {
    const saved = save(found, options.saveDir);
    lines.push("saved:", ...found.map((f) => `  ${saved.get(f)}`));
  }
  process.stdout.write(lines.join("\n") + "\n");
  return results.every((r) => r.finding !== null) ? 0 : 1;
}

/** `wasm-hal fuzz merge`: findings files of shards (or of any runs) into one, de-duplicated. */
async function merge(argv: string[], context: CommandContext): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        output: { type: "string", short: "o" },
        junit: { type: "string" },
        save: { type: "string" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    // In the merge's own words: the fuzz command's options are not the merge's.
    const unknown = e instanceof TypeError ? /^Unknown option '([^']+)'/.exec(e.message)?.[1] : undefined;
    if (unknown !== undefined) throw new UsageError(`fuzz merge: unknown option ${unknown} (options: -o FILE, --junit FILE, --save DIR)`);
    throw e;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError("fuzz merge needs the findings files (or folders of them) to merge: wasm-hal fuzz merge DIR|FILE... [-o FILE]");
  // Every input is read and checked before anything is written: a corrupt file stops the merge.
  const inputs = findingsInputs(positionals);
  const files = inputs.map((file) => parseFindingsFile(readInputFile(file, "findings file"), displayPath(resolve(file))));
  const merged = mergeFindings(files);
  const out = [`wasm-hal fuzz merge: ${plural(merged.inputs, "input")}, ${plural(merged.read, "finding")} read: ${merged.unique} unique, ${plural(merged.duplicates, "duplicate")}`];
  for (const c of merged.campaigns) {
    const info = c.campaign;
    const what = info.kind === "zoo" ? `zoo of ${info.targets.join(", ")}` : `${info.targets.join(", ")}${info.module === null ? "" : ` (${info.module})`}`;
    const runs = info.runs === null ? "runs until --time" : `${plural(info.runs, "run")}${info.kind === "zoo" ? " per variant" : " per target"}`;
    const unit = info.kind === "zoo" ? "variant" : "part";
    const have = info.parts - c.missingParts.length;
    const counts = [...new Set(c.shards.map((x) => Number(x.split("/")[1])))];
    const missingShards = counts.length === 1 ? [...new Set(c.missingParts.map((p) => `${(p % counts[0]!) + 1}/${counts[0]}`))] : [];
    // A part in words: the target and job (as --shard prints them), or the zoo variant's number.
    const name = (p: number): string => info.kind === "zoo" ? `#${p + 1}` : `${info.targets[p % info.targets.length]}${info.jobs === 1 ? "" : ` job ${Math.floor(p / info.targets.length) + 1}`}`;
    const coverage = c.missingParts.length === 0 ? `all ${plural(info.parts, unit)}`
      : `${have} of ${plural(info.parts, unit)}; missing ${c.missingParts.map(name).join(", ")}${missingShards.length === 0 ? "" : ` (shard${missingShards.length === 1 ? "" : "s"} ${missingShards.join(", ")})`}`;
    out.push(`  ${what}: seed ${info.seed}, ${runs}, ${plural(info.jobs, "job")}; shard${c.shards.length === 1 ? "" : "s"} ${c.shards.join(", ")}: ${coverage}${c.repeatedParts.length === 0 ? "" : `; given more than once: ${c.repeatedParts.map(name).join(", ")}`}`);
  }
  const findings = merged.merged.findings.map((r) => r.finding);
  if (findings.length > 0) {
    out.push("", `findings (${findings.filter((f) => f.world === "legal").length} reachable with legal values, ${findings.filter((f) => f.world === "impossible").length} needing values the hardware never produces):`);
    findings.forEach((f, i) => out.push(...describeFinding(f, i + 1)));
  } else {
    out.push("", "no findings");
  }
  process.stdout.write(out.join("\n") + "\n");
  const written: string[] = [];
  if (values.output !== undefined) {
    writeReport(values.output, findingsFileText(merged.merged));
    written.push(`wrote ${values.output}`);
  }
  const suite = findingsJUnit(merged.merged, "wasm-hal fuzz merge");
  if (values.junit !== undefined) {
    writeReport(values.junit, junitXml([suite]));
    written.push(`wrote ${values.junit}`);
  }
  if (written.length > 0) process.stdout.write(written.join("\n") + "\n");
  if (values.save !== undefined && findings.length > 0) {
    // Saving a regression runs its case on the real driver: the project's targets are needed.
    const project = await context.project();
    await loadDeviceKinds(project);
    await importFuzzTargets(project.moduleFiles("fuzz.targets"), project.moduleNames().length > 0 ? project.modulePath() : null, project);
    const saved = save(findings, resolve(values.save));
    process.stdout.write(["", "saved:", ...findings.map((f) => `  ${saved.get(f)}`)].join("\n") + "\n");
  }
  // As the runs themselves: 1 when the merged results hold a failure (a finding; in a zoo run, a
  // variant not found).
  const counts = suiteCounts(suite);
  return counts.failures + counts.errors > 0 ? 1 : 0;
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
  --fixed-latency every access takes the clock's fixed time, repeated polls too (default: a poll
                  of a register that cannot change yet takes until it can; docs/fuzzing.md)
  --max-steps N   most steps in a case (default 12)
  --step-limit N  skip steps predicted to take more accesses (default ${DEFAULT_STEP_ACCESS_LIMIT}: a slow
                  baud rate, a long write); raise it to fuzz slow paths too
  --module PATH   fuzz another .wasm with the same ABI (a broken variant)
  --zoo           fuzz every built bug-zoo variant of the target(s) and report found/seeded
  --save DIR      where findings are saved (default: the config's fuzz.regressions)
  --no-save       do not save findings
  --replay FILE   re-run a saved regression and replay its recorded reads
  --coverage      coverage-guided: run the module's coverage build, keep the cases that reach
                  new edges and mutate them; print what ran per file and function
  --lcov FILE     with --coverage, also write the coverage as an lcov file (genhtml FILE)
  --shard i/n     run shard i of n (1/3 is the first of three): every n-th part of the campaign
                  (a target in a job; a variant with --zoo); needs --seed; give every shard the
                  same target, --seed, --runs and --jobs (docs/ci.md)
  --findings-out FILE  write what was found (and which parts ran) as JSON, for fuzz merge
  --junit FILE    write a JUnit XML report: a test case per target (--zoo: per variant)
  wasm-hal fuzz merge <DIR|FILE>... [-o FILE] [--junit FILE] [--save DIR]
                  merge findings files (a folder: its .json files at any depth), one per
                  finding identity; -o writes the merged file, --save the regression traces`,
  run,
};
