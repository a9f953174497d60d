// Findings files: what a fuzz run (a whole campaign, a shard of one, a zoo run) found, as JSON
// (`wasm-hal fuzz --findings-out FILE`), and merging several of them back into one (`wasm-hal
// fuzz merge`), de-duplicated by a finding's identity: its target, property, call and world
// (findingKey) and the module it was found in, as saved regressions are. Of two findings with
// one identity the one with fewer steps is kept, then the one of the lower part: the rule the
// campaign itself applies across its jobs (campaign.ts, combine), so that the shards of a
// campaign merged give the findings of the campaign run on one machine (docs/ci.md).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { JsonFileError, parseJsonText } from "../json-text.js";
import type { JUnitCase, JUnitSuite } from "../junit.js";
import { findingKey, moduleLabel, replayText, type Finding } from "./engine.js";
import type { CampaignResult, Shard } from "./campaign.js";
import { PROPERTY_NAMES } from "./target.js";

export const FINDINGS_FORMAT = "wasm-hal-fuzz-findings";
export const FINDINGS_VERSION = 1;

/** What a run was asked to do: shards of one campaign have the same. */
export interface CampaignInfo {
  /** "campaign": targets x jobs; "zoo": the bug zoo's variants (`--zoo`). */
  readonly kind: "campaign" | "zoo";
  readonly targets: readonly string[];
  readonly seed: number;
  /** Cases per target, or null for unlimited (`--time` alone). */
  readonly runs: number | null;
  /** Jobs of the campaign (a zoo run's results do not depend on them: 1). */
  readonly jobs: number;
  /** `--module`, or null. */
  readonly module: string | null;
  readonly legalOnly: boolean;
  readonly maxSteps: number;
  readonly stepAccessLimit: number;
  /** `--time` in ms, or null. */
  readonly timeMs: number | null;
  /** Parts of the whole campaign: targets x jobs, or zoo variants. */
  readonly parts: number;
}

/** One part that ran: a target in a job, or a zoo variant. */
export interface PartRecord {
  readonly part: number;
  readonly target: string;
  readonly job: number;
  /** The module fuzzed (its label, as findings name it). */
  readonly module: string;
  /** The zoo variant, or null. */
  readonly variant: string | null;
  readonly runs: number;
  readonly executions: number;
  /** Distinct findings of the part (a zoo variant: 1 when found). */
  readonly findings: number;
  readonly repeats: number;
  readonly interrupted: boolean;
  readonly elapsedMs: number;
}

/** One run of `wasm-hal fuzz`: the campaign, which shard of it (1/1 for all of it), its parts. */
export interface ShardRecord {
  readonly campaign: CampaignInfo;
  readonly shard: Shard;
  readonly parts: readonly PartRecord[];
}

export interface FindingRecord {
  /** The part that found it. */
  readonly part: number;
  readonly finding: Finding;
}

export interface FindingsFile {
  readonly format: typeof FINDINGS_FORMAT;
  readonly version: typeof FINDINGS_VERSION;
  /** The runs whose findings the file holds: one for a run, several once merged. */
  readonly shards: readonly ShardRecord[];
  /** De-duplicated by identity, in part order. */
  readonly findings: readonly FindingRecord[];
}

/** The identity of a finding: the same bug found twice has the same one. */
export function findingIdentity(f: Finding): string {
  return `${findingKey(f)}@${f.module}`;
}

/** A finding on one line: label, property, call and the first line of its message. */
export function findingSummary(f: Finding): string {
  return `[${f.world}] ${f.property} in ${f.call ?? "the end-of-run checks"}: ${f.message.split("\n")[0] ?? ""}`;
}

/** The findings kept of several lists: one per identity (fewest steps, then lowest part, then
 * first given), in part order, then identity. Returns them with how many were duplicates. */
export function dedupeFindings(records: readonly FindingRecord[]): { kept: FindingRecord[]; duplicates: number } {
  const best = new Map<string, FindingRecord>();
  for (const r of records) {
    const id = findingIdentity(r.finding);
    const known = best.get(id);
    if (known === undefined) {
      best.set(id, r);
      continue;
    }
    const a = r.finding.case.steps.length;
    const b = known.finding.case.steps.length;
    if (a < b || (a === b && r.part < known.part)) best.set(id, r);
  }
  const kept = [...best.values()].sort((x, y) => x.part - y.part || compare(findingIdentity(x.finding), findingIdentity(y.finding)));
  return { kept, duplicates: records.length - kept.length };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The findings file of a campaign run (all of it, or a shard). */
export function campaignFindingsFile(result: CampaignResult, campaign: Omit<CampaignInfo, "kind" | "parts" | "seed" | "jobs">): FindingsFile {
  const parts: PartRecord[] = result.parts.map((p) => ({
    part: p.part, target: p.target, job: p.job, module: moduleLabel(p.module), variant: null,
    runs: p.runs, executions: p.executions, findings: p.findings.length, repeats: p.repeats, interrupted: p.interrupted, elapsedMs: p.elapsedMs,
  }));
  const records = result.parts.flatMap((p) => p.findings.map((finding) => ({ part: p.part, finding })));
  return {
    format: FINDINGS_FORMAT,
    version: FINDINGS_VERSION,
    shards: [{
      campaign: { kind: "campaign", ...campaign, seed: result.seed, jobs: result.jobs, parts: result.totalParts },
      shard: result.shard ?? { index: 1, count: 1 },
      parts,
    }],
    findings: dedupeFindings(records).kept,
  };
}

/** One zoo variant's result, as the findings file keeps it. */
export interface ZooPart {
  readonly part: number;
  readonly target: string;
  readonly variant: string;
  readonly module: string;
  readonly finding: Finding | null;
  readonly runs: number;
  readonly executions: number;
  readonly elapsedMs: number;
}

/** The findings file of a zoo run (all variants, or a shard's share). */
export function zooFindingsFile(parts: readonly ZooPart[], campaign: Omit<CampaignInfo, "kind" | "jobs" | "module">, shard: Shard | null): FindingsFile {
  return {
    format: FINDINGS_FORMAT,
    version: FINDINGS_VERSION,
    shards: [{
      campaign: { kind: "zoo", ...campaign, jobs: 1, module: null },
      shard: shard ?? { index: 1, count: 1 },
      parts: parts.map((p) => ({
        part: p.part, target: p.target, job: 0, module: p.finding?.module ?? p.module, variant: p.variant,
        runs: p.runs, executions: p.executions, findings: p.finding === null ? 0 : 1, repeats: 0, interrupted: false, elapsedMs: p.elapsedMs,
      })),
    }],
    findings: dedupeFindings(parts.flatMap((p) => (p.finding === null ? [] : [{ part: p.part, finding: p.finding }]))).kept,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Checks a parsed value piece by piece; the first mismatch is a JsonFileError naming the file,
 * where in it, and what was expected. */
class Checker {
  constructor(readonly file: string) {}

  fail(where: string, expected: string, got: unknown): never {
    const shown = got === undefined ? "nothing" : typeof got === "string" ? JSON.stringify(got.length > 40 ? got.slice(0, 39) + "…" : got) : Array.isArray(got) ? "an array" : got === null ? "null" : typeof got === "object" ? "an object" : String(got);
    throw new JsonFileError(this.file, where, `expected ${expected}, got ${shown}`);
  }

  object(v: unknown, where: string): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(where, "an object", v);
    return v as Record<string, unknown>;
  }

  array(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.fail(where, "an array", v);
    return v;
  }

  string(v: unknown, where: string): string {
    if (typeof v !== "string") this.fail(where, "a string", v);
    return v;
  }

  stringOrNull(v: unknown, where: string): string | null {
    if (v !== null && typeof v !== "string") this.fail(where, "a string or null", v);
    return v;
  }

  number(v: unknown, where: string): number {
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(where, "a number", v);
    return v;
  }

  integer(v: unknown, where: string, min = 0): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) this.fail(where, `an integer of at least ${min}`, v);
    return v;
  }

  boolean(v: unknown, where: string): boolean {
    if (typeof v !== "boolean") this.fail(where, "true or false", v);
    return v;
  }

  oneOf<T extends string>(v: unknown, where: string, values: readonly T[]): T {
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) this.fail(where, values.map((x) => JSON.stringify(x)).join(" or "), v);
    return v as T;
  }
}

function checkCampaign(c: Checker, v: unknown, where: string): CampaignInfo {
  const o = c.object(v, where);
  const runs = o.runs === null ? null : c.integer(o.runs, `${where}.runs`, 1);
  return {
    kind: c.oneOf(o.kind, `${where}.kind`, ["campaign", "zoo"] as const),
    targets: c.array(o.targets, `${where}.targets`).map((t, i) => c.string(t, `${where}.targets[${i}]`)),
    seed: c.integer(o.seed, `${where}.seed`, -(2 ** 31)),
    runs,
    jobs: c.integer(o.jobs, `${where}.jobs`, 1),
    module: c.stringOrNull(o.module, `${where}.module`),
    legalOnly: c.boolean(o.legalOnly, `${where}.legalOnly`),
    maxSteps: c.integer(o.maxSteps, `${where}.maxSteps`, 1),
    stepAccessLimit: c.integer(o.stepAccessLimit, `${where}.stepAccessLimit`, 1),
    timeMs: o.timeMs === null ? null : c.number(o.timeMs, `${where}.timeMs`),
    parts: c.integer(o.parts, `${where}.parts`, 0),
  };
}

function checkPart(c: Checker, v: unknown, where: string): PartRecord {
  const o = c.object(v, where);
  return {
    part: c.integer(o.part, `${where}.part`),
    target: c.string(o.target, `${where}.target`),
    job: c.integer(o.job, `${where}.job`),
    module: c.string(o.module, `${where}.module`),
    variant: c.stringOrNull(o.variant, `${where}.variant`),
    runs: c.integer(o.runs, `${where}.runs`),
    executions: c.integer(o.executions, `${where}.executions`),
    findings: c.integer(o.findings, `${where}.findings`),
    repeats: c.integer(o.repeats, `${where}.repeats`),
    interrupted: c.boolean(o.interrupted, `${where}.interrupted`),
    elapsedMs: c.number(o.elapsedMs, `${where}.elapsedMs`),
  };
}

function checkShard(c: Checker, v: unknown, where: string): ShardRecord {
  const o = c.object(v, where);
  const campaign = checkCampaign(c, o.campaign, `${where}.campaign`);
  const s = c.object(o.shard, `${where}.shard`);
  const count = c.integer(s.count, `${where}.shard.count`, 1);
  const index = c.integer(s.index, `${where}.shard.index`, 1);
  if (index > count) c.fail(`${where}.shard.index`, `at most shard.count (${count})`, index);
  const parts = c.array(o.parts, `${where}.parts`).map((p, i) => checkPart(c, p, `${where}.parts[${i}]`));
  for (const [i, p] of parts.entries()) {
    if (p.part >= campaign.parts) c.fail(`${where}.parts[${i}].part`, `a part below campaign.parts (${campaign.parts})`, p.part);
  }
  return { campaign, shard: { index, count }, parts };
}

function checkFinding(c: Checker, v: unknown, where: string): Finding {
  const o = c.object(v, where);
  const fc = c.object(o.case, `${where}.case`);
  const steps = c.array(fc.steps, `${where}.case.steps`);
  steps.forEach((s, i) => c.string(c.object(s, `${where}.case.steps[${i}]`).op, `${where}.case.steps[${i}].op`));
  c.string(fc.target, `${where}.case.target`);
  if (fc.hangCap !== undefined) {
    const h = c.object(fc.hangCap, `${where}.case.hangCap`);
    c.integer(h.call, `${where}.case.hangCap.call`);
    c.integer(h.accesses, `${where}.case.hangCap.accesses`);
  }
  c.array(o.replaced, `${where}.replaced`).forEach((r, i) => {
    const w = `${where}.replaced[${i}]`;
    const x = c.object(r, w);
    c.string(x.region, `${w}.region`);
    c.string(x.reg, `${w}.reg`);
    c.number(x.offset, `${w}.offset`);
    c.number(x.truth, `${w}.truth`);
    c.number(x.value, `${w}.value`);
    c.stringOrNull(x.illegal, `${w}.illegal`);
    c.integer(x.count, `${w}.count`);
  });
  c.array(o.story, `${where}.story`).forEach((s, i) => c.string(s, `${where}.story[${i}]`));
  const g = c.object(o.generation, `${where}.generation`);
  c.boolean(g.legalOnly, `${where}.generation.legalOnly`);
  c.integer(g.maxSteps, `${where}.generation.maxSteps`, 1);
  c.integer(g.stepAccessLimit, `${where}.generation.stepAccessLimit`, 1);
  // Absent in files written before the poll latency existed (docs/fuzzing.md#poll-latency).
  if (g.pollLatency !== undefined) c.boolean(g.pollLatency, `${where}.generation.pollLatency`);
  c.string(o.target, `${where}.target`);
  c.oneOf(o.property, `${where}.property`, PROPERTY_NAMES);
  c.stringOrNull(o.call, `${where}.call`);
  c.oneOf(o.world, `${where}.world`, ["legal", "impossible"] as const);
  c.string(o.message, `${where}.message`);
  c.stringOrNull(o.poll, `${where}.poll`);
  c.stringOrNull(o.lint, `${where}.lint`);
  c.string(o.trace, `${where}.trace`);
  c.string(o.module, `${where}.module`);
  c.integer(o.seed, `${where}.seed`, -(2 ** 31));
  c.string(o.path, `${where}.path`);
  c.string(o.replayPath, `${where}.replayPath`);
  c.integer(o.runs, `${where}.runs`);
  c.integer(o.shrinks, `${where}.shrinks`);
  return o as unknown as Finding;
}

/** Parses the text of a findings file; throws a JsonFileError naming the file and the place. */
export function parseFindingsFile(text: string, file: string): FindingsFile {
  const c = new Checker(file);
  const root = c.object(parseJsonText(text, file), "");
  if (root.format !== FINDINGS_FORMAT) c.fail("format", `"${FINDINGS_FORMAT}" (a file written by wasm-hal fuzz --findings-out or fuzz merge -o)`, root.format);
  if (root.version !== FINDINGS_VERSION) c.fail("version", String(FINDINGS_VERSION), root.version);
  const shards = c.array(root.shards, "shards").map((s, i) => checkShard(c, s, `shards[${i}]`));
  const findings = c.array(root.findings, "findings").map((f, i) => {
    const o = c.object(f, `findings[${i}]`);
    return { part: c.integer(o.part, `findings[${i}].part`), finding: checkFinding(c, o.finding, `findings[${i}].finding`) };
  });
  return { format: FINDINGS_FORMAT, version: FINDINGS_VERSION, shards, findings };
}

/** The text of a findings file. */
export function findingsFileText(file: FindingsFile): string {
  return JSON.stringify(file, null, 1) + "\n";
}

/** The files a merge reads from its arguments: a file as it is, a folder's `*.json` files at
 * any depth (artifacts download into one folder each), sorted. A folder with none is an error:
 * an artifact that did not arrive is not merged silently away. */
export function findingsInputs(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => compare(a.name, b.name))
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".json") ? [join(dir, e.name)] : []));
  for (const p of paths) {
    if (!existsSync(p)) throw new JsonFileError(p, "", "no such file or folder");
    if (statSync(p).isDirectory()) {
      const found = walk(p);
      if (found.length === 0) throw new JsonFileError(p, "", "a folder with no .json findings file in it");
      out.push(...found);
    } else {
      out.push(p);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Merging

/** One campaign among the merged inputs: which of its shards and parts arrived. */
export interface CampaignCoverage {
  readonly campaign: CampaignInfo;
  /** The shards given, as i/n, in order. */
  readonly shards: readonly string[];
  /** Parts given more than once (the same shard twice, or overlapping shard counts). */
  readonly repeatedParts: readonly number[];
  /** Parts of the campaign no input holds. */
  readonly missingParts: readonly number[];
}

export interface MergeResult {
  readonly merged: FindingsFile;
  readonly inputs: number;
  /** Finding records read from every input. */
  readonly read: number;
  readonly unique: number;
  readonly duplicates: number;
  readonly campaigns: readonly CampaignCoverage[];
}

/** A campaign's identity: shards of one campaign have the same. */
export function campaignIdentity(c: CampaignInfo): string {
  return JSON.stringify([c.kind, c.targets, c.seed, c.runs, c.jobs, c.module, c.legalOnly, c.maxSteps, c.stepAccessLimit, c.timeMs, c.parts]);
}

/** The runs a part of a campaign was given (campaign.ts, planJobs): fewer runs than jobs leave
 * the last jobs none, and a part without runs does not run. */
function plannedRuns(c: CampaignInfo, part: number): number {
  if (c.kind === "zoo" || c.runs === null) return Infinity;
  const job = Math.floor(part / Math.max(1, c.targets.length));
  return Math.floor(c.runs / c.jobs) + (job < c.runs % c.jobs ? 1 : 0);
}

/** Merges findings files: their shard records (one record per campaign and shard), their
 * findings de-duplicated by identity, and what each campaign is missing or has twice. */
export function mergeFindings(files: readonly FindingsFile[]): MergeResult {
  const shards: ShardRecord[] = [];
  const seen = new Set<string>();
  const byCampaign = new Map<string, { campaign: CampaignInfo; shards: Shard[]; parts: Map<number, number> }>();
  for (const file of files) {
    for (const s of file.shards) {
      const id = campaignIdentity(s.campaign);
      const entry = byCampaign.get(id) ?? { campaign: s.campaign, shards: [], parts: new Map<number, number>() };
      byCampaign.set(id, entry);
      entry.shards.push(s.shard);
      for (const p of s.parts) entry.parts.set(p.part, (entry.parts.get(p.part) ?? 0) + 1);
      // The same shard of the same campaign twice (a file given twice): its record once.
      const key = `${id}#${s.shard.index}/${s.shard.count}#${JSON.stringify(s.parts)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      shards.push(s);
    }
  }
  const all = files.flatMap((f) => f.findings);
  const { kept, duplicates } = dedupeFindings(all);
  const campaigns: CampaignCoverage[] = [...byCampaign.values()].map((e) => ({
    campaign: e.campaign,
    shards: e.shards.map((s) => `${s.index}/${s.count}`).sort((a, b) => compare(a.padStart(12), b.padStart(12))),
    repeatedParts: [...e.parts].filter(([, n]) => n > 1).map(([p]) => p).sort((a, b) => a - b),
    missingParts: Array.from({ length: e.campaign.parts }, (_, p) => p).filter((p) => !e.parts.has(p) && plannedRuns(e.campaign, p) > 0),
  }));
  return {
    merged: { format: FINDINGS_FORMAT, version: FINDINGS_VERSION, shards, findings: kept },
    inputs: files.length,
    read: all.length,
    unique: kept.length,
    duplicates,
    campaigns,
  };
}

// ---------------------------------------------------------------------------------------------
// JUnit

/** The JUnit suite of a findings file: a test case per target (a zoo run: per target and
 * variant). A target with findings fails, its message the finding's summary (or the count and
 * each summary); a zoo variant fails when its seeded bug was not found, as `--zoo` exits 1
 * then. Counts are those of the parts the file holds. */
export function findingsJUnit(file: FindingsFile, suiteName: string): JUnitSuite {
  const cases: JUnitCase[] = [];
  const parts = file.shards.flatMap((s) => s.parts.map((p) => ({ ...p, kind: s.campaign.kind })));
  const done = new Set<string>();
  for (const p of parts) {
    if (p.kind === "zoo") {
      const key = `zoo:${p.variant ?? p.module}`;
      if (done.has(key)) continue;
      done.add(key);
      const same = parts.filter((q) => q.kind === "zoo" && q.variant === p.variant && q.module === p.module);
      const finding = file.findings.find((r) => r.finding.module === p.module && r.finding.target === p.target)?.finding;
      const runs = Math.max(...same.map((q) => q.runs));
      cases.push({
        classname: `wasm-hal.fuzz.zoo.${p.target}`,
        name: p.variant ?? p.module,
        time: Math.max(...same.map((q) => q.elapsedMs)) / 1000,
        outcome: finding === undefined
          ? { kind: "failure", type: "missed", message: `the seeded bug of ${p.variant ?? p.module} was not found in ${runs} runs` }
          : { kind: "passed" },
        output: finding === undefined ? `${runs} runs, ${same[0]!.executions} executions` : `found after ${finding.runs} runs: ${findingSummary(finding)}`,
      });
      continue;
    }
    const key = `target:${p.target}`;
    if (done.has(key)) continue;
    done.add(key);
    const same = parts.filter((q) => q.kind === "campaign" && q.target === p.target);
    const findings = file.findings.filter((r) => r.finding.target === p.target && !parts.some((q) => q.kind === "zoo" && q.module === r.finding.module)).map((r) => r.finding);
    const runs = same.reduce((a, q) => a + q.runs, 0);
    const executions = same.reduce((a, q) => a + q.executions, 0);
    const summaries = findings.map(findingSummary);
    cases.push({
      classname: "wasm-hal.fuzz",
      name: p.target,
      time: same.reduce((a, q) => a + q.elapsedMs, 0) / 1000,
      outcome: findings.length === 0
        ? { kind: "passed" }
        : {
          kind: "failure",
          type: findings.length === 1 ? findings[0]!.property : "findings",
          message: findings.length === 1 ? summaries[0]! : `${findings.length} findings: ${summaries.join("; ")}`,
          text: findings.map((f, i) => [`${i + 1}. ${summaries[i]}`, ...f.message.split("\n").slice(1).map((l) => `   ${l}`), ...f.story.map((s, k) => `   step ${k + 1}. ${s}`), `   module ${f.module}; ${replayText(f)}`].join("\n")).join("\n"),
        },
      output: `${runs} runs, ${executions} executions in ${same.length} part${same.length === 1 ? "" : "s"}`,
    });
  }
  const seeds = [...new Set(file.shards.map((s) => s.campaign.seed))];
  const shardNames = file.shards.map((s) => `${s.shard.index}/${s.shard.count}`);
  return {
    name: suiteName,
    time: parts.reduce((a, p) => Math.max(a, p.elapsedMs), 0) / 1000,
    cases,
    properties: [["seed", seeds.join(" ")], ["shards", shardNames.join(" ")]],
  };
}
