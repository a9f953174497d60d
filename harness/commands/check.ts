// `wasm-hal check`: runs the scenarios and compares each trace with its golden file in
// fixtures/golden/ (docs/scenarios.md). Drift is shown as the first differing line of both
// traces, with register names and the fields whose values changed. `--update` rewrites the
// golden files (and is the only thing that ever writes them); `--coverage` reports which
// registers the scenarios read and wrote.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { packageProject, displayPath, type Project } from "../project.js";
import { prepareProject } from "../project-modules.js";
import type { RegisterInfo } from "../regmap.js";
import { fieldValue } from "../regmap.js";
import { OP_BARRIER, OP_IRQ, OP_READ, OP_WRITE, FLAG_FAULT, type Trace } from "../trace.js";
import {
  diffTraces, parseTrace, traceRegions, formatAccess, TraceParseError,
  type ParsedTrace, type TraceDifference, type TraceRegion, type AccessGroup,
} from "../trace-text.js";
import { formatScenarioTrace, runScenario, type Scenario, type ScenarioRun } from "../scenario.js";
import { type Command, type CommandContext, InputFileError, UsageError, isReportedError, writeOutputFile } from "./common.js";
import { junitXml, type JUnitCase, type JUnitSuite } from "../junit.js";

// ---------------------------------------------------------------------------------------------
// Golden files

/** The folder of the golden traces of a project (the package's own by default). */
export function defaultGoldenDir(project: Project = packageProject()): string {
  return project.goldenDir;
}

export function goldenPath(scenario: string, dir = defaultGoldenDir()): string {
  return join(dir, `${scenario}.trace`);
}

export type CheckStatus =
  /** The trace matches its golden file. */
  | "ok"
  /** The trace differs from its golden file (calls, results or accesses). */
  | "drift"
  /** There is no golden file. */
  | "missing"
  /** The scenario did not run to its end (a failed check, a call that did not return), or the
   * golden file cannot be read. */
  | "error"
  /** --update: the golden file was written for the first time. */
  | "created"
  /** --update: the golden file was rewritten (it drifted, or only its comments changed). */
  | "updated"
  /** --update: the golden file already held exactly this text. */
  | "unchanged";

export interface CheckResult {
  readonly scenario: string;
  /** The golden file. */
  readonly file: string;
  readonly status: CheckStatus;
  /** What went wrong, or what changed, for a person; "" when nothing did. */
  readonly detail: string;
  /** Status "ok": the golden file's text differs from a fresh recording only in comments or
   * decoded fields (parseTrace ignores both); `--update` refreshes it. */
  readonly staleText: boolean;
  /** The run, when the scenario ran to its end. */
  readonly run: ScenarioRun | undefined;
}

export interface CheckOptions {
  /** The project: its boards, module, registry and golden folder (the package's by default). */
  project?: Project;
  /** Where the golden files are (the project's golden folder by default). */
  goldenDir?: string;
  /** Rewrite the golden files instead of comparing. */
  update?: boolean;
  /** Lines of shared context shown before a difference. */
  context?: number;
}

/** Errors a scenario run reports as its own (everything else is a bug and keeps its stack). */
function problemOf(e: unknown): string {
  if (isReportedError(e)) return e.message;
  if (e instanceof Error) return e.constructor === Error ? e.message : (e.stack ?? e.message);
  return String(e);
}

/** Runs one scenario and compares its trace with the golden file (or rewrites it). */
export function checkScenario(scenario: Scenario, options: CheckOptions = {}): CheckResult {
  const project = options.project ?? packageProject();
  const file = goldenPath(scenario.name, options.goldenDir ?? project.goldenDir);
  const result = (status: CheckStatus, detail: string, run: ScenarioRun | undefined, staleText = false): CheckResult =>
    ({ scenario: scenario.name, file, status, detail, staleText, run });

  let run: ScenarioRun;
  let text: string;
  try {
    run = runScenario(scenario, { project });
    text = formatScenarioTrace(run);
  } catch (e) {
    return result("error", problemOf(e), undefined);
  }
  let golden: string | undefined;
  try {
    golden = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  } catch (e) {
    return result("error", `${displayPath(file)}: cannot read the golden file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, run);
  }

  if (options.update) {
    if (golden === text) return result("unchanged", "", run);
    // A file that cannot be written is this scenario's error; the other scenarios go on, and the
    // summary says which files were written and which not.
    try {
      mkdirSync(resolve(file, ".."), { recursive: true });
      writeOutputFile(file, text);
    } catch (e) {
      const why = e instanceof InputFileError ? e.message : `${displayPath(file)}: cannot write it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      return result("error", `not written: ${why}`, run);
    }
    return result(golden === undefined ? "created" : "updated", golden === undefined ? "" : changeSummary(golden, text, file, scenario.name, project), run);
  }
  if (golden === undefined) {
    return result("missing", `no golden file ${displayPath(file)}: record it with \`wasm-hal check --update ${scenario.name}\``, run);
  }
  let expected: ParsedTrace;
  try {
    expected = parseTrace(golden, displayPath(file), { registry: project.registry });
  } catch (e) {
    if (e instanceof TraceParseError) return result("error", `the golden file does not parse: ${e.message}`, run);
    throw e;
  }
  const actual = parseTrace(text, `${scenario.name} (recorded now)`, { registry: project.registry });
  const difference = diffTraces(expected, actual, { context: options.context ?? 3 });
  if (difference !== null) return result("drift", describeDifference(expected, actual, difference), run);
  return result("ok", "", run, golden !== text);
}

/** What --update changed in a golden file: drift (with the first difference) or comments only. */
function changeSummary(golden: string, text: string, file: string, scenario: string, project: Project): string {
  try {
    const registry = project.registry;
    const difference = diffTraces(parseTrace(golden, displayPath(file), { registry }), parseTrace(text, `${scenario} (recorded now)`, { registry }));
    return difference === null ? "comments or decoded fields only" : `the trace drifted: ${difference.text.split("\n")[0]}`;
  } catch (e) {
    if (e instanceof TraceParseError) return "the old file did not parse";
    throw e;
  }
}

/** Runs the named scenarios (all by default) in the order the project lists them. Unknown
 * names are refused before anything runs. */
export function checkScenarios(scenarios: readonly Scenario[], names: readonly string[] = [], options: CheckOptions = {}): CheckResult[] {
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length > 0) throw new UsageError(`no scenario named ${unknown.map((n) => `"${n}"`).join(", ")} (scenarios: ${scenarios.map((s) => s.name).join(", ") || "none: the config's \"scenarios\" names no module with one"})`);
  const chosen = names.length === 0 ? scenarios : scenarios.filter((s) => names.includes(s.name));
  return chosen.map((s) => checkScenario(s, options));
}

// ---------------------------------------------------------------------------------------------
// Describing a difference

/** The difference as diffTraces words it, followed by what changed in the register's fields
 * when both lines access the same register. */
export function describeDifference(expected: ParsedTrace, actual: ParsedTrace, difference: TraceDifference): string {
  const lines = [difference.text];
  const x = expected.accesses.find((a) => a.line === difference.expected.line);
  const y = actual.accesses.find((a) => a.line === difference.actual.line);
  if (x !== undefined && y !== undefined) {
    const regions = traceRegions(expected.regions, expected.registry);
    const change = accessChange(x, y, regions);
    if (change !== "") lines.push(`  ${change}`);
  }
  return lines.join("\n");
}

function registerAt(regions: readonly TraceRegion[], addr: number): { region: TraceRegion; reg: RegisterInfo | undefined } | undefined {
  const region = regions.find((r) => addr >= r.base && addr < r.end);
  return region === undefined ? undefined : { region, reg: region.index?.at(addr - region.base) };
}

const hexOf = (n: number): string => "0x" + (n >>> 0).toString(16);

function fieldText(field: RegisterInfo["fields"][number], value: number): string {
  const v = fieldValue(field, value);
  const named = field.values === undefined ? undefined : Object.entries(field.values).find(([, n]) => n === v)?.[0];
  return named ?? (field.msb - field.lsb >= 7 ? hexOf(v) : String(v));
}

/** One line on how two accesses differ: the fields of the same register, a poll's count, or a
 * different access altogether. */
function accessChange(x: AccessGroup, y: AccessGroup, regions: readonly TraceRegion[]): string {
  const place = registerAt(regions, x.addr);
  const name = place === undefined ? hexOf(x.addr) : `${place.reg?.name ?? "memory"} at ${place.region.name}+0x${(x.addr - place.region.base).toString(16).padStart(3, "0")}`;
  if (x.op !== y.op || x.addr !== y.addr || x.width !== y.width || x.flags !== y.flags || x.op === OP_BARRIER || x.op === OP_IRQ) {
    // An interrupt event is no register access: its `addr` is the controller's line.
    const what = x.op === OP_IRQ || y.op === OP_IRQ ? "a different entry" : "a different access";
    return `${what}: expected ${formatAccess({ ...x, repeat: 1 }, regions).split("  ;")[0]!.trim()}, got ${formatAccess({ ...y, repeat: 1 }, regions).split("  ;")[0]!.trim()}`;
  }
  const verb = x.op === OP_WRITE ? "written" : "read";
  if (x.value === y.value && x.repeat !== y.repeat) return `${name}: the same value ${verb} ${x.repeat} times in a row in the golden trace, ${y.repeat} now (a poll that took longer or shorter)`;
  const reg = place?.reg;
  if (reg !== undefined && reg.fields.length > 0) {
    const changed = reg.fields
      .filter((f) => fieldValue(f, x.value) !== fieldValue(f, y.value))
      .map((f) => `${f.name} ${fieldText(f, x.value)} -> ${fieldText(f, y.value)}`);
    if (changed.length > 0) return `${name} ${verb}: ${changed.join(", ")}`;
  }
  return `${name} ${verb}: ${hexOf(x.value)} -> ${hexOf(y.value)}`;
}

// ---------------------------------------------------------------------------------------------
// Register coverage

/** How often one register was read and written. */
export interface RegisterUse {
  /** `RSR/ECR` for a register with a write-side name. */
  readonly name: string;
  readonly offset: number;
  reads: number;
  writes: number;
}

/** The registers of one region with a register map. */
export interface RegionCoverage {
  readonly region: string;
  readonly block: string;
  /** Every register of the block, in offset order. */
  readonly registers: RegisterUse[];
}

/** A recorded trace with the regions to name its addresses (a bus has both). */
export interface TraceSource {
  readonly trace: Trace;
  readonly regions: readonly TraceRegion[];
}

function emptyCoverage(region: TraceRegion): RegionCoverage | undefined {
  const index = region.index;
  if (index === undefined) return undefined;
  const registers = [...index.block.registers]
    .sort((a, b) => a.offset - b.offset)
    .map((r) => ({ name: r.writeName === null ? r.name : `${r.name}/${r.writeName}`, offset: r.offset, reads: 0, writes: 0 }));
  return { region: region.name, block: index.block.block, registers };
}

/**
 * Which registers of each region (with a register map) a trace read and wrote, CPU and DMA
 * accesses alike, counting every access of a collapsed poll; faulted accesses reached no
 * register and are not counted. Takes a parsed trace file, or a Trace with its regions.
 */
export function registerCoverage(source: ParsedTrace | TraceSource): RegionCoverage[] {
  const regions = "trace" in source ? source.regions : traceRegions(source.regions, source.registry);
  const byRegion = new Map<TraceRegion, RegionCoverage>();
  for (const r of [...regions].sort((a, b) => a.base - b.base)) {
    const c = emptyCoverage(r);
    if (c !== undefined) byRegion.set(r, c);
  }
  const count = (op: number, flags: number, addr: number, repeat: number): void => {
    // Barriers and interrupt events (whose `addr` is a controller line) reach no register.
    if ((op !== OP_READ && op !== OP_WRITE) || (flags & FLAG_FAULT) !== 0) return;
    const region = regions.find((r) => addr >= r.base && addr < r.end);
    if (region === undefined) return;
    const coverage = byRegion.get(region);
    const reg = region.index?.at(addr - region.base);
    if (coverage === undefined || reg === undefined) return;
    const use = coverage.registers.find((u) => u.offset === reg.offset)!;
    if (op === OP_WRITE) use.writes += repeat;
    else use.reads += repeat;
  };
  if ("trace" in source) {
    for (const e of source.trace.entries()) count(e.op, e.flags, e.addr, 1);
  } else {
    for (const a of source.accesses) count(a.op, a.flags, a.addr, a.repeat);
  }
  return [...byRegion.values()];
}

/** The coverage of a scenario run. */
export function scenarioCoverage(run: ScenarioRun): RegionCoverage[] {
  return registerCoverage({ trace: run.board.bus.trace, regions: run.board.bus.regions });
}

/** Adds up coverages of several traces, region by region (by name and block). */
export function mergeCoverage(all: readonly (readonly RegionCoverage[])[]): RegionCoverage[] {
  const merged = new Map<string, RegionCoverage>();
  for (const coverage of all) {
    for (const c of coverage) {
      const key = `${c.region} ${c.block}`;
      const into = merged.get(key);
      if (into === undefined) {
        merged.set(key, { region: c.region, block: c.block, registers: c.registers.map((u) => ({ ...u })) });
        continue;
      }
      for (const u of c.registers) {
        const target = into.registers.find((t) => t.offset === u.offset)!;
        target.reads += u.reads;
        target.writes += u.writes;
      }
    }
  }
  return [...merged.values()];
}

/** Words wrapped into lines of at most `width` characters, each after `indent`. */
function wrap(label: string, words: readonly string[], width = 100): string[] {
  const indent = " ".repeat(label.length);
  const lines: string[] = [];
  let line = label;
  for (const w of words) {
    if (line.length > label.length && line.length + 1 + w.length > width) {
      lines.push(line);
      line = indent;
    }
    line += (line.length > indent.length ? " " : "") + w;
  }
  lines.push(line);
  return lines;
}

/** The coverage as text: per region, the registers read and written, read only, written only
 * and never touched. */
export function formatCoverage(coverage: readonly RegionCoverage[]): string {
  const out: string[] = [];
  for (const c of coverage) {
    const touched = c.registers.filter((u) => u.reads + u.writes > 0).length;
    out.push(`${c.region} (${c.block}): ${touched} of ${c.registers.length} registers touched`);
    const groups: [string, RegisterUse[]][] = [
      ["read and written ", c.registers.filter((u) => u.reads > 0 && u.writes > 0)],
      ["read only        ", c.registers.filter((u) => u.reads > 0 && u.writes === 0)],
      ["written only     ", c.registers.filter((u) => u.reads === 0 && u.writes > 0)],
      ["never touched    ", c.registers.filter((u) => u.reads === 0 && u.writes === 0)],
    ];
    for (const [label, uses] of groups) {
      if (uses.length > 0) out.push(...wrap(`  ${label}`, uses.map((u) => u.name)));
    }
  }
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// The command

function printResult(r: CheckResult, out: string[]): void {
  const file = displayPath(r.file);
  const indent = (text: string): string => text.split("\n").map((l) => `  ${l}`).join("\n");
  switch (r.status) {
    case "ok":
      out.push(`ok       ${r.scenario}${r.staleText ? ` (${file} differs only in comments or decoded fields: --update refreshes it)` : ""}`);
      return;
    case "drift":
      out.push(`DRIFT    ${r.scenario}: the trace differs from ${file}`, indent(r.detail), `  to accept the new trace: wasm-hal check --update ${r.scenario}`);
      return;
    case "missing":
      out.push(`MISSING  ${r.scenario}: ${r.detail}`);
      return;
    case "error":
      out.push(`ERROR    ${r.scenario}:`, indent(r.detail));
      return;
    case "created":
      out.push(`created  ${file}`);
      return;
    case "updated":
      out.push(`updated  ${file} (${r.detail})`);
      return;
    case "unchanged":
      return;
  }
}

/** The JUnit suite of a check (`--junit`): a test case per scenario; drift and a missing golden
 * file are failures whose message is the first line of the difference, a scenario that did not
 * run (or a golden file that cannot be read or written) an error. */
export function checkJUnit(results: readonly CheckResult[], elapsedMs = 0, update = false): JUnitSuite {
  const cases = results.map((r): JUnitCase => {
    const base = { classname: "wasm-hal.check", name: r.scenario, time: 0 };
    const first = r.detail.split("\n")[0] ?? "";
    switch (r.status) {
      case "drift": {
        // The first line of the difference, and what changed in the register's fields when
        // describeDifference found it (its last line, indented by two).
        const change = r.detail.split("\n").slice(1).filter((l) => /^ {2}[^ +-]/.test(l)).at(-1)?.trim();
        const message = `the trace differs from ${displayPath(r.file)}: ${first}${change === undefined ? "" : `: ${change}`}`;
        return { ...base, outcome: { kind: "failure", type: "drift", message, text: `${r.detail}\nto accept the new trace: wasm-hal check --update ${r.scenario}` } };
      }
      case "missing":
        return { ...base, outcome: { kind: "failure", type: "missing", message: first } };
      case "error":
        return { ...base, outcome: { kind: "error", type: "error", message: first, text: r.detail } };
      default:
        return { ...base, outcome: { kind: "passed" }, ...(r.status === "ok" || r.status === "unchanged" ? {} : { output: `${r.status} ${displayPath(r.file)}${r.detail === "" ? "" : ` (${r.detail})`}` }) };
    }
  });
  return { name: update ? "wasm-hal check --update" : "wasm-hal check", time: elapsedMs / 1000, cases };
}

async function run(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      update: { type: "boolean" },
      coverage: { type: "boolean" },
      golden: { type: "string" },
      junit: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  const { project, scenarios } = await prepareProject(await context.project());
  if (values.golden !== undefined && existsSync(values.golden) && !statSync(values.golden).isDirectory()) {
    throw new UsageError(`--golden ${values.golden}: is a file: expected the folder of the golden traces`);
  }
  const options: CheckOptions = { project, update: values.update === true, ...(values.golden === undefined ? {} : { goldenDir: resolve(values.golden) }) };
  const started = Date.now();
  const results = checkScenarios(scenarios, positionals, options);
  const elapsedMs = Date.now() - started;
  const out: string[] = [];
  for (const r of results) printResult(r, out);
  const count = (s: CheckStatus): number => results.filter((r) => r.status === s).length;
  if (options.update) {
    const unchanged = count("unchanged");
    out.push(`${results.length} scenario${results.length === 1 ? "" : "s"}: ${count("created")} created, ${count("updated")} updated, ${unchanged} unchanged${count("error") > 0 ? `, ${count("error")} failed (not written)` : ""}`);
  } else {
    const parts = [`${count("ok")} ok`];
    if (count("drift") > 0) parts.push(`${count("drift")} drifted`);
    if (count("missing") > 0) parts.push(`${count("missing")} missing`);
    if (count("error") > 0) parts.push(`${count("error")} failed`);
    out.push(`${results.length} scenario${results.length === 1 ? "" : "s"}: ${parts.join(", ")}`);
  }
  if (values.coverage) {
    const runs = results.flatMap((r) => (r.run === undefined ? [] : [r.run]));
    out.push("", `register coverage over ${runs.length} scenario${runs.length === 1 ? "" : "s"} (CPU and DMA accesses):`, formatCoverage(mergeCoverage(runs.map(scenarioCoverage))).trimEnd());
  }
  process.stdout.write(out.join("\n") + "\n");
  if (values.junit !== undefined) {
    const report = resolve(values.junit);
    // Its folder is made (reports/check.xml in a CI step); writeOutputFile names what else fails.
    if (!existsSync(dirname(report))) mkdirSync(dirname(report), { recursive: true });
    writeOutputFile(report, junitXml([checkJUnit(results, elapsedMs, options.update)]));
  }
  const failed = options.update ? count("error") > 0 : results.some((r) => r.status !== "ok");
  return failed ? 1 : 0;
}

export const check: Command = {
  name: "check",
  summary: "run the project's scenarios and compare their traces with the golden files",
  usage: `  [SCENARIO...]   the scenarios to check (default: all; \`wasm-hal record --list\` lists them)
  --update        rewrite the golden files from fresh recordings and say which changed
  --coverage      also print which registers of each region were read, written or never touched
  --golden DIR    golden files in DIR instead of the config's "golden" folder
  --junit FILE    also write a JUnit XML report: a test case per scenario, drift a failure`,
  run,
};
