// What a coverage-guided campaign covered, merged from the files its runs wrote (one per target
// and job, harness/coverage/guided.ts), as the text report and an lcov file.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { packageRoot } from "../project.js";
import { CoverageError } from "./instrument.js";
import { readCoverageMap } from "./build.js";
import { CoverageAccumulator, coverageByFile, coverageLcov, coverageText, shortFile } from "./counters.js";
import type { CoverageFile } from "./guided.js";

/** Per coverage build, the merged counts of every run that wrote into `dir`. */
export function mergeCoverageFiles(dir: string): CoverageAccumulator[] {
  const byBuild = new Map<string, { acc: CoverageAccumulator; executions: number }>();
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  } catch {
    return [];
  }
  for (const name of names) {
    const path = join(dir, name);
    let file: CoverageFile;
    try {
      file = JSON.parse(readFileSync(path, "utf8")) as CoverageFile;
    } catch (e) {
      throw new CoverageError(`${path}: not JSON (${(e as Error).message}): expected the counts a coverage run writes`);
    }
    const key = `${file.build}@${file.moduleSha256}`;
    let entry = byBuild.get(key);
    if (entry === undefined) {
      const map = readCoverageMap(file.build);
      if (map === null) throw new CoverageError(`${file.build}: not a coverage build, though ${path} names it`);
      entry = { acc: new CoverageAccumulator(map), executions: 0 };
      byBuild.set(key, entry);
    }
    entry.acc.merge(file.counts);
    entry.acc.executions += file.executions;
  }
  return [...byBuild.values()].map((e) => e.acc);
}

/**
 * The report lines of a campaign's coverage: per module, the files its runs reached in detail
 * and the others in one line; with `lcovFile`, the lcov file written (source paths resolved
 * against `root`, the package's folder by default: asc names sources relative to where it ran).
 * Removes `dir` afterwards unless `keep`.
 */
export function campaignCoverage(dir: string, options: { lcovFile?: string; root?: string; keep?: boolean } = {}): string[] {
  const merged = mergeCoverageFiles(dir);
  const lines: string[] = [];
  const lcov: string[] = [];
  for (const acc of merged) {
    const map = acc.map;
    const files = coverageByFile(map, acc.counts);
    const reached = new Set(files.filter((f) => f.covered > 0).map((f) => f.file));
    // The text report of the files the campaign reached; the rest in one line.
    const text = coverageText(map, acc.counts).split("\n").filter((l) => l !== "");
    const out: string[] = [text[0]!.replace(/^coverage of /, `coverage (${acc.executions} executions) of `)];
    let keepBlock = false;
    for (const line of text.slice(1)) {
      const file = /^ {2}(\S.*?): \d+\/\d+ edges/.exec(line);
      if (file !== null) keepBlock = files.some((f) => reached.has(f.file) && shortFile(f.file) === file[1]);
      if (keepBlock) out.push(line);
    }
    const unreached = files.filter((f) => !reached.has(f.file)).map((f) => shortFile(f.file));
    if (unreached.length > 0) out.push(`  not reached: ${unreached.join(", ")}`);
    lines.push(...out);
    if (options.lcovFile !== undefined) lcov.push(coverageLcov(map, acc.counts, { root: options.root ?? packageRoot(), testName: map.module }));
  }
  if (merged.length === 0) lines.push("coverage: no run wrote its counts");
  if (options.lcovFile !== undefined) {
    mkdirSync(dirname(options.lcovFile), { recursive: true });
    writeFileSync(options.lcovFile, lcov.join(""));
    lines.push(`lcov: ${options.lcovFile}`);
  }
  if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
  return lines;
}
