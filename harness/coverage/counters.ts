// Reading a coverage build's counters (harness/coverage/instrument.ts) and reporting what ran:
// per driver (source file) and per function, as text, and as lcov for CI tools (genhtml,
// Codecov, ...).
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Hal } from "../hal.js";
import { CoverageError, shortName, type CoverageEdge, type CoverageFunction, type CoverageMap } from "./instrument.js";

/** The counters of one module instance: a view of its linear memory. */
export class CoverageCounters {
  constructor(readonly memory: WebAssembly.Memory, readonly map: CoverageMap) {
    if (map.base + map.count > memory.buffer.byteLength) throw new CoverageError(`${map.module}: the counters ${map.base}..${map.base + map.count} lie outside linear memory (${memory.buffer.byteLength} bytes)`);
  }

  /**
   * The counters of a Hal made on a coverage build. The map is the build's (`coverageBuild(path).map`
   * or `readCoverageMap(path)`); its base and count must be what the module's __cov_base and
   * __cov_count exports say.
   */
  static of(hal: Hal, map: CoverageMap): CoverageCounters {
    const base = hal.exports["__cov_base"];
    const count = hal.exports["__cov_count"];
    if (typeof base !== "function" || typeof count !== "function") throw new CoverageError(`${map.module}: the Hal's module has no __cov_base/__cov_count exports: expected a coverage build (build/coverage/...)`);
    const b = (base as () => number)();
    const c = (count as () => number)();
    if (b !== map.base || c !== map.count) throw new CoverageError(`${map.module}: the module's counters are at ${b} (${c}), the map says ${map.base} (${map.count}): expected the map of this build`);
    return new CoverageCounters(hal.memory, map);
  }

  /** The live counters (valid until memory grows; the modules never grow it). */
  view(): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.map.base, this.map.count);
  }

  /** A copy of the counters. */
  read(): Uint8Array {
    return this.view().slice();
  }

  reset(): void {
    this.view().fill(0);
  }

  /** Indices of the edges that ran since the last reset. */
  hit(): number[] {
    const v = this.view();
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) out.push(i);
    return out;
  }
}

/** AFL's hit-count classes: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128-255, as one bit each. */
const BUCKET = new Uint8Array(256);
for (let n = 1; n < 256; n++) BUCKET[n] = n === 1 ? 1 : n === 2 ? 2 : n === 3 ? 4 : n < 8 ? 8 : n < 16 ? 16 : n < 32 ? 32 : n < 128 ? 64 : 128;

/** What a coverage run saw: per edge, the sum over executions of its (saturated) counts. */
export class CoverageAccumulator {
  readonly counts: Float64Array;
  /** Per edge, the hit-count classes seen: new ones tell an execution that did something new. */
  private readonly classes: Uint8Array;
  /** Edges that ran at least once. */
  covered = 0;
  executions = 0;
  /** The counters as words, and the view they were made from. */
  private words: Uint32Array | null = null;
  private wordsOf: Uint8Array | null = null;
  /** What the execution being added found so far (add() returns them). */
  private features = 0;
  private newEdges = 0;

  constructor(readonly map: CoverageMap) {
    this.counts = new Float64Array(map.count);
    this.classes = new Uint8Array(map.count);
  }

  /**
   * Adds one execution's counters; returns how many (edge, hit-count class) pairs were new, and
   * in `newEdges` of the result how many edges ran for the first time.
   */
  add(counters: Uint8Array): { features: number; newEdges: number } {
    this.executions++;
    this.features = 0;
    this.newEdges = 0;
    const n = this.map.count;
    // Most counters of an execution are zero: words of four are skipped at once. The word view
    // is made again only for another counters view: reading a view's buffer and offset at every
    // execution took longer than the loop (a view stays valid while the module's memory does
    // not grow, and a grown memory needs a new view anyway).
    let words = this.words;
    if (words === null || counters !== this.wordsOf) {
      words = counters.byteOffset % 4 === 0 ? new Uint32Array(counters.buffer, counters.byteOffset, n >>> 2) : new Uint32Array(0);
      this.words = words;
      this.wordsOf = counters;
    }
    const whole = words.length;
    for (let w = 0; w < whole; w++) {
      if (words[w] === 0) continue;
      const end = (w << 2) + 4;
      for (let i = w << 2; i < end; i++) {
        const c = counters[i]!;
        if (c !== 0) this.count(i, c);
      }
    }
    for (let i = whole << 2; i < n; i++) {
      const c = counters[i]!;
      if (c !== 0) this.count(i, c);
    }
    return { features: this.features, newEdges: this.newEdges };
  }

  /** One edge that ran `c` times in the execution being added. */
  private count(i: number, c: number): void {
    this.counts[i]! += c;
    const bit = BUCKET[c]!;
    const seen = this.classes[i]!;
    if ((seen & bit) === 0) {
      if (seen === 0) {
        this.newEdges++;
        this.covered++;
      }
      this.classes[i] = seen | bit;
      this.features++;
    }
  }

  /** Adds another run's counts (another worker's, read from a file). */
  merge(counts: ArrayLike<number>): void {
    if (counts.length !== this.map.count) throw new CoverageError(`${this.map.module}: ${counts.length} counts to merge, the map has ${this.map.count} edges: expected counts of the same build`);
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i]!;
      if (c <= 0) continue;
      if (this.counts[i] === 0) this.covered++;
      this.counts[i]! += c;
      this.classes[i]! |= BUCKET[Math.min(255, c)]!;
    }
  }

  toJSON(): CoverageCounts {
    return { moduleSha256: this.map.moduleSha256, module: this.map.module, executions: this.executions, counts: Array.from(this.counts) };
  }
}

/** Counts as a file carries them between worker threads and processes. */
export interface CoverageCounts {
  readonly moduleSha256: string;
  readonly module: string;
  readonly executions: number;
  readonly counts: readonly number[];
}

// ---------------------------------------------------------------------------------------------
// Reports.

export interface FunctionCoverage {
  readonly func: CoverageFunction;
  readonly edges: number;
  readonly covered: number;
  readonly missed: readonly CoverageEdge[];
  readonly calls: number;
}

export interface FileCoverage {
  /** The source file, as the map names it (assembly/pl011.ts), or "(unknown)". */
  readonly file: string;
  readonly edges: number;
  readonly covered: number;
  readonly functions: readonly FunctionCoverage[];
}

/** Per source file (a driver), then per function, what ran. */
export function coverageByFile(map: CoverageMap, counts: ArrayLike<number>): FileCoverage[] {
  const files = new Map<string, FunctionCoverage[]>();
  for (const f of map.functions) {
    if (f.edgeCount === 0) continue;
    const missed: CoverageEdge[] = [];
    for (let i = f.firstEdge; i < f.firstEdge + f.edgeCount; i++) if ((counts[i] ?? 0) === 0) missed.push(map.edges[i]!);
    const fc: FunctionCoverage = { func: f, edges: f.edgeCount, covered: f.edgeCount - missed.length, missed, calls: counts[f.firstEdge] ?? 0 };
    const file = f.file ?? "(unknown)";
    files.set(file, [...(files.get(file) ?? []), fc]);
  }
  return [...files.entries()]
    .map(([file, functions]) => ({ file, functions, edges: functions.reduce((a, f) => a + f.edges, 0), covered: functions.reduce((a, f) => a + f.covered, 0) }))
    .sort((a, b) => a.file.localeCompare(b.file));
}

/** An edge in words: `if#3 else`, `br_if#1 taken`, `entry`, with its place when known. */
export function describeEdge(e: CoverageEdge, withPlace = true): string {
  const what = e.kind === "entry" ? "entry" : `${e.kind}#${e.ordinal} ${e.arm}`;
  return withPlace && e.file !== null && e.line !== null ? `${what} (${shortFile(e.file)}:${e.line})` : what;
}

/** A source file as reports name it: without the leading assembly/. */
export function shortFile(file: string): string {
  return file.startsWith("assembly/") ? file.slice("assembly/".length) : file;
}

const percent = (covered: number, edges: number): string => (edges === 0 ? "100.0" : ((100 * covered) / edges).toFixed(1));

export interface TextReportOptions {
  /** One line per function under its file, with the edges that never ran (default true). */
  readonly functions?: boolean;
  /** At most this many never-run edges listed per function (default: all). */
  readonly maxMissed?: number;
}

/**
 * The text report: one line per source file ("pl011.ts: 87/120 edges (72.5%)"), then, per
 * function, "pl011_write: 10/12 edges; never ran: if#3 else (pl011.ts:142), ...".
 */
export function coverageText(map: CoverageMap, counts: ArrayLike<number>, options: TextReportOptions = {}): string {
  const files = coverageByFile(map, counts);
  const total = files.reduce((a, f) => a + f.edges, 0);
  const covered = files.reduce((a, f) => a + f.covered, 0);
  const lines = [`coverage of ${map.module}: ${covered}/${total} edges (${percent(covered, total)}%)${map.lines ? "" : " (no source lines: the module had no source map)"}`];
  for (const f of files) {
    lines.push(`  ${shortFile(f.file)}: ${f.covered}/${f.edges} edges (${percent(f.covered, f.edges)}%)`);
    if (options.functions === false) continue;
    for (const fn of f.functions) {
      let line = `    ${shortName(fn.func.name)}: ${fn.covered}/${fn.edges} edges`;
      if (fn.calls === 0) line += "; never called";
      else if (fn.missed.length > 0) {
        const max = options.maxMissed ?? Infinity;
        const shown = fn.missed.slice(0, max).map((e) => describeEdge(e));
        line += `; never ran: ${shown.join(", ")}${fn.missed.length > max ? `, and ${fn.missed.length - max} more` : ""}`;
      }
      lines.push(line);
    }
  }
  return lines.join("\n") + "\n";
}

export interface LcovOptions {
  /** TN: the test's name (default the module's). */
  readonly testName?: string;
  /** The folder source paths are relative to (the project's, where asc ran); default the working folder. */
  readonly root?: string;
}

/**
 * The counts as an lcov tracefile (geninfo's format: TN, SF, FN, FNDA, FNF, FNH, BRDA, BRF, BRH,
 * DA, LF, LH, end_of_record), which genhtml reads. Edges in sources that are not files on disk
 * (asc's ~lib/) are counted at their function's line; a function without a line (a map without
 * source lines) at line 1.
 */
export function coverageLcov(map: CoverageMap, counts: ArrayLike<number>, options: LcovOptions = {}): string {
  const root = options.root ?? process.cwd();
  const onDisk = new Map<string, boolean>();
  const real = (file: string | null): boolean => {
    if (file === null || file.startsWith("~lib/")) return false;
    let known = onDisk.get(file);
    if (known === undefined) onDisk.set(file, (known = existsSync(isAbsolute(file) ? file : join(root, file))));
    return known;
  };
  const sanitize = (s: string): string => s.replace(/[\s,]/g, "_");

  interface FileRecord {
    functions: { name: string; line: number; count: number }[];
    branches: Map<string, { line: number; arms: { arm: number; count: number }[] }>;
    lines: Map<number, number>;
  }
  const records = new Map<string, FileRecord>();
  const record = (file: string): FileRecord => {
    let r = records.get(file);
    if (r === undefined) records.set(file, (r = { functions: [], branches: new Map(), lines: new Map() }));
    return r;
  };
  for (const f of map.functions) {
    if (f.edgeCount === 0) continue;
    const home = real(f.file) ? f.file! : null;
    const homeLine = f.line ?? 1;
    // Functions whose file is unknown or not on disk have no place in an lcov file.
    if (home !== null) {
      const r = record(home);
      const used = new Set(r.functions.map((x) => x.name));
      let name = sanitize(shortName(f.name));
      if (used.has(name)) name = sanitize(f.name);
      r.functions.push({ name, line: homeLine, count: counts[f.firstEdge] ?? 0 });
    }
    for (let i = f.firstEdge; i < f.firstEdge + f.edgeCount; i++) {
      const e = map.edges[i]!;
      const placed = real(e.file) && e.line !== null ? { file: e.file!, line: e.line } : home !== null ? { file: home, line: homeLine } : null;
      if (placed === null) continue;
      const r = record(placed.file);
      const count = counts[i] ?? 0;
      if (e.kind === "entry" || e.kind === "loop") {
        r.lines.set(placed.line, Math.max(r.lines.get(placed.line) ?? 0, count));
        continue;
      }
      const key = `${f.index}:${e.kind}:${e.ordinal}`;
      let b = r.branches.get(key);
      if (b === undefined) r.branches.set(key, (b = { line: placed.line, arms: [] }));
      b.arms.push({ arm: b.arms.length, count });
    }
  }
  // A branch's line ran as often as its arms together.
  for (const r of records.values()) {
    for (const b of r.branches.values()) {
      const total = b.arms.reduce((a, x) => a + x.count, 0);
      r.lines.set(b.line, Math.max(r.lines.get(b.line) ?? 0, total));
    }
  }
  const out: string[] = [];
  const files = [...records.keys()].sort();
  for (const file of files) {
    const r = records.get(file)!;
    out.push(`TN:${(options.testName ?? map.module).replace(/[^A-Za-z0-9_]/g, "_")}`);
    out.push(`SF:${isAbsolute(file) ? file : join(root, file)}`);
    for (const fn of r.functions) out.push(`FN:${fn.line},${fn.name}`);
    for (const fn of r.functions) out.push(`FNDA:${fn.count},${fn.name}`);
    out.push(`FNF:${r.functions.length}`, `FNH:${r.functions.filter((x) => x.count > 0).length}`);
    let block = 0;
    let brf = 0;
    let brh = 0;
    const branches = [...r.branches.values()].sort((a, b) => a.line - b.line);
    for (const b of branches) {
      const total = b.arms.reduce((a, x) => a + x.count, 0);
      for (const arm of b.arms) {
        out.push(`BRDA:${b.line},${block},${arm.arm},${total === 0 ? "-" : arm.count}`);
        brf++;
        if (arm.count > 0) brh++;
      }
      block++;
    }
    out.push(`BRF:${brf}`, `BRH:${brh}`);
    const lines = [...r.lines.entries()].sort((a, b) => a[0] - b[0]);
    for (const [line, count] of lines) out.push(`DA:${line},${count}`);
    out.push(`LF:${lines.length}`, `LH:${lines.filter(([, c]) => c > 0).length}`);
    out.push("end_of_record");
  }
  return out.join("\n") + "\n";
}
