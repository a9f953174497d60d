// Failures become regressions: a shrunk failing case is saved under fixtures/fuzz/ as a trace in
// the documented text format (docs/trace-format.md) whose comment lines carry what is needed to
// run it again (target, module, seed and path, the case as JSON). test/fuzz-regressions.test.ts
// replays every file: the case is run again on its module, and the module is fed the recorded
// read values.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { wasmPath } from "../hal.js";
import { packageProject } from "../project.js";
import { parseTrace, diffTraces, formatTrace, TRACE_HEADER, type ParsedTrace } from "../trace-text.js";
import { FLAG_DMA } from "../trace.js";
import { Fuzzer, findingKey, moduleLabel, modulePathFrom, type Finding, type FuzzCase, type Generation, type WorldLabel } from "./engine.js";
import { targetByName, targetNames, targetModule, targetRegistry } from "./target-table.js";
import { ReadScript } from "./replay.js";
// Regression files of the package's own targets read without loading a project.
import "./targets/index.js";
import { replayCounterexample } from "./runner.js";
import { type FuzzFailure, type PropertyName, type TargetName } from "./target.js";

/** The folder the package's own regression files live in; a project's: Project.regressionDir. */
export function regressionDir(): string {
  return packageProject().regressionDir;
}

/** The label of the module a target fuzzes by default (its project's, or build/hal.wasm). */
function defaultModuleLabel(target: TargetName): string {
  return moduleLabel(targetModule(target) ?? wasmPath("release"));
}

const KEY_PREFIX = "# fuzz-";

/** What a regression file says about its case. */
export interface RegressionMeta {
  readonly target: TargetName;
  /** The module it failed in, relative to the package root. */
  readonly module: string;
  readonly property: PropertyName;
  readonly call: string | null;
  readonly world: WorldLabel;
  readonly seed: number;
  readonly path: string;
  readonly replayPath: string;
  readonly generation: Generation;
  /** What build/hal.wasm did with the case when it was saved: a case found in a broken variant
   * should pass on the real driver. */
  readonly release: "passes" | "fails";
  /** For a finding in build/hal.wasm: "open" while the driver still has the bug (the regression
   * test then expects the case to fail, and goes red once it passes: mark it "fixed"), "fixed"
   * once it is mended (the test then expects every property to hold). */
  readonly status: "open" | "fixed";
  readonly case: FuzzCase;
}

export interface Regression {
  readonly file: string;
  readonly meta: RegressionMeta;
  readonly trace: ParsedTrace;
  readonly text: string;
}

/** A short stable hash of a string (FNV-1a, 32 bits), for file names. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The text of a regression file for a finding. */
export function regressionText(finding: Finding, release: "passes" | "fails"): string {
  const lines = finding.trace.split("\n");
  // The comment block goes after the header and region lines, before the first call.
  let at = 1;
  while (at < lines.length && lines[at]!.startsWith("region ")) at++;
  const comments = [
    "# wasm-hal fuzz regression (docs/fuzzing.md): the case below failed; its trace follows.",
    `${KEY_PREFIX}target: ${finding.target}`,
    `${KEY_PREFIX}module: ${finding.module}`,
    `${KEY_PREFIX}property: ${finding.property}`,
    `${KEY_PREFIX}call: ${finding.call ?? "-"}`,
    `${KEY_PREFIX}world: ${finding.world}`,
    `${KEY_PREFIX}seed: ${finding.seed}`,
    `${KEY_PREFIX}path: ${finding.path}`,
    `${KEY_PREFIX}replay-path: ${finding.replayPath}`,
    `${KEY_PREFIX}generation: legal-only=${finding.generation.legalOnly} max-steps=${finding.generation.maxSteps} step-limit=${finding.generation.stepAccessLimit}${finding.generation.pollLatency === true ? " poll-latency=stretched" : ""}`,
    `${KEY_PREFIX}release: ${release}`,
    // A bug of the real driver is open when found; the line is edited to "fixed" once mended.
    ...(finding.module === defaultModuleLabel(finding.target) ? [`${KEY_PREFIX}status: open`] : []),
    `${KEY_PREFIX}case: ${JSON.stringify(finding.case)}`,
    "#",
    ...finding.message.split("\n").map((l) => `# ${l}`),
    ...(finding.poll === null ? [] : [`# ${finding.poll}`]),
    ...finding.replaced.map((r) => `#   ${r.region}.${r.reg} read 0x${r.value.toString(16)} instead of 0x${r.truth.toString(16)}${r.count > 1 ? ` (x${r.count})` : ""}${r.illegal === null ? "" : `: impossible, ${r.illegal}`}`),
    "# steps:",
    ...finding.story.map((s, i) => `#   ${i + 1}. ${s}`),
  ];
  return [...lines.slice(0, at), "", ...comments, ...lines.slice(at)].join("\n").replace(/\n{3,}/g, "\n\n");
}

/** Writes a finding under `dir` (fixtures/fuzz/ by default); returns the file's path. A file for
 * the same case is overwritten. */
export function saveRegression(finding: Finding, dir = regressionDir()): string {
  const release = finding.module === defaultModuleLabel(finding.target) ? "fails" : releaseVerdict(finding.case, finding.generation);
  // A finding in a broken variant is named after the variant's module.
  const owner = finding.module === defaultModuleLabel(finding.target) ? finding.target : basename(finding.module, ".wasm");
  const name = `${owner}-${finding.property}-${finding.call ?? "end"}-${hash(finding.module + JSON.stringify(finding.case))}.trace`;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, regressionText(finding, release));
  return file;
}

/** Whether build/hal.wasm passes a case. */
function releaseVerdict(fuzzCase: FuzzCase, generation: Generation): "passes" | "fails" {
  const fuzzer = fuzzerFor(fuzzCase.target, generation);
  // Without the shortened budget a hang's saved trace has: that budget is the other module's.
  return fuzzer.runCase({ target: fuzzCase.target, steps: fuzzCase.steps }).failure === null ? "passes" : "fails";
}

function parseGeneration(text: string | undefined): Generation {
  const field = (name: string): string | undefined => new RegExp(`${name}=(\\S+)`).exec(text ?? "")?.[1];
  return {
    legalOnly: field("legal-only") === "true",
    maxSteps: Number(field("max-steps") ?? 12),
    stepAccessLimit: Number(field("step-limit") ?? 200_000),
    // Absent in files saved before the poll latency existed: they ran at the fixed latency.
    pollLatency: field("poll-latency") === "stretched",
  };
}

/** A fuzzer for a regression's case, on the bus latency it was recorded with. */
function fuzzerFor(target: string, generation: Generation, modulePath?: string): Fuzzer {
  const fuzzer = modulePath === undefined ? new Fuzzer(targetByName(target, generation)) : new Fuzzer(targetByName(target, generation), modulePath);
  fuzzer.world.pollLatency = generation.pollLatency === true;
  return fuzzer;
}

/** Reads a regression file; throws naming the file when it is not one. */
export function readRegression(file: string): Regression {
  const text = readFileSync(file, "utf8");
  if (!text.startsWith(TRACE_HEADER)) throw new Error(`${file}: not a trace file (expected "${TRACE_HEADER}" first)`);
  const keys = headerKeys(text);
  // The blocks the trace names are those of the project whose target made it.
  const registry = targetRegistry(keys.get("target") ?? "") ?? undefined;
  const trace = parseTrace(text, file, registry === undefined ? {} : { registry });
  const need = (key: string): string => {
    const v = keys.get(key);
    if (v === undefined) throw new Error(`${file}: no "${KEY_PREFIX}${key}:" line`);
    return v;
  };
  const target = need("target") as TargetName;
  if (!targetNames().includes(target)) throw new Error(`${file}: unknown fuzz target ${target} (targets: ${targetNames().join(", ") || "none"}): load the project's fuzz.targets first`);
  const fuzzCase = JSON.parse(need("case")) as FuzzCase;
  const call = need("call");
  const meta: RegressionMeta = {
    target,
    module: need("module"),
    property: need("property") as PropertyName,
    call: call === "-" ? null : call,
    world: need("world") as WorldLabel,
    seed: Number(need("seed")),
    path: need("path"),
    replayPath: keys.get("replay-path") ?? "",
    generation: parseGeneration(keys.get("generation")),
    release: need("release") === "passes" ? "passes" : "fails",
    status: keys.get("status") === "open" ? "open" : "fixed",
    case: fuzzCase,
  };
  return { file, meta, trace, text };
}

/** The `# fuzz-key: value` lines of a regression file. */
function headerKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(KEY_PREFIX)) continue;
    const colon = line.indexOf(":");
    keys.set(line.slice(KEY_PREFIX.length, colon), line.slice(colon + 1).trim());
  }
  return keys;
}

/** Findings of a target's own module that regression files mark open (findingKey): known bugs
 * a fuzz run counts as repeats instead of reporting them again. Only the files' headers are read,
 * and files of targets this process has not loaded are passed over (no run here fuzzes them). */
export function openFindings(dir = regressionDir()): string[] {
  const keys: string[] = [];
  const loaded = new Set(targetNames());
  for (const file of listRegressions(dir)) {
    const text = readFileSync(file, "utf8");
    if (!text.startsWith(TRACE_HEADER)) throw new Error(`${file}: not a trace file (expected "${TRACE_HEADER}" first)`);
    const h = headerKeys(text);
    const target = h.get("target");
    if (h.get("status") !== "open" || target === undefined || !loaded.has(target) || h.get("module") !== defaultModuleLabel(target)) continue;
    const call = h.get("call");
    keys.push(findingKey({ target, property: h.get("property") as PropertyName, call: call === undefined || call === "-" ? null : call, world: h.get("world") as WorldLabel }));
  }
  return keys;
}

/** Every regression file under `dir`, sorted by name. */
export function listRegressions(dir = regressionDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".trace")).sort().map((f) => join(dir, f));
}

export interface RerunResult {
  /** The first property that fails with the case run as found (full access budgets), or null:
   * a fixed driver passes. */
  readonly failure: FuzzFailure | null;
  /** The saved trace against the trace of the case run again as saved (a hang with the
   * shortened budget of its trace): null when they agree. */
  readonly traceDifference: string | null;
  readonly trace: string;
}

/** Runs a regression's case again on `modulePath` (its own module by default). */
export function rerunRegression(regression: Regression, modulePath = modulePathFrom(regression.meta.module)): RerunResult {
  const fuzzer = fuzzerFor(regression.meta.target, regression.meta.generation, modulePath);
  const fuzzCase = regression.meta.case;
  const { failure } = fuzzer.runCase({ target: fuzzCase.target, steps: fuzzCase.steps });
  fuzzer.runCase(fuzzCase, { mode: "report" });
  const trace = formatTrace(fuzzer.world.trace, fuzzer.world.bus.regions);
  const difference = diffTraces(regression.trace, parseTrace(trace, "re-run", { registry: regression.trace.registry }));
  return { failure, traceDifference: difference === null ? null : difference.text, trace };
}

/** Whether the saved seed, path and replay path still lead fast-check to the saved case (they
 * do not once the generators change; the case itself stays authoritative). */
export function replaysFromSeed(regression: Regression): boolean {
  const m = regression.meta;
  try {
    const found = replayCounterexample(m.target, { seed: m.seed, path: m.path, replayPath: m.replayPath, modulePath: modulePathFrom(m.module), ...m.generation });
    return found !== null && JSON.stringify(found.steps) === JSON.stringify(m.case.steps);
  } catch {
    return false;
  }
}

/**
 * Feeds the module the read values of the recording: its accesses and call results must be the
 * recorded ones. Returns null when they are, or the first difference.
 */
export function replayRecordedReads(regression: Regression, modulePath = modulePathFrom(regression.meta.module)): string | null {
  // Polls stay one group with a count: a recording may hold millions of identical reads.
  const accesses = regression.trace.accesses
    .filter((a) => (a.flags & FLAG_DMA) === 0)
    .map((a) => ({ op: a.op | a.flags, width: a.width, addr: a.addr, value: a.value, repeat: a.repeat }));
  const fuzzer = fuzzerFor(regression.meta.target, regression.meta.generation, modulePath);
  const script = new ReadScript(accesses);
  fuzzer.world.setScript(script);
  try {
    fuzzer.runCase(regression.meta.case, { mode: "report", runAll: true });
  } finally {
    fuzzer.world.setScript(null);
  }
  const verdict = script.verdict();
  if (verdict !== null) return verdict;
  const recorded = regression.trace.calls;
  const replayed = fuzzer.world.trace.calls;
  for (let i = 0; i < Math.max(recorded.length, replayed.length); i++) {
    const r = recorded[i];
    const p = replayed[i];
    if (r === undefined || p === undefined || r.name !== p.name || r.result !== p.result) {
      return `call #${i}: recorded ${r === undefined ? "nothing" : `${r.name} -> ${r.result ?? "threw"}`}, replayed ${p === undefined ? "nothing" : `${p.name} -> ${p.result ?? "threw"}`}`;
    }
  }
  return null;
}
