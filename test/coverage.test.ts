// The coverage build (harness/coverage/): it keeps the ABI, its traces are the plain module's,
// its counters say what ran, its reports name what never did, and coverage-guided fuzzing finds
// the zoo's bugs (a bound on runs, never on time).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { abiViolations, readModuleAbi } from "../harness/wasm-abi.js";
import { Hal, wasmPath } from "../harness/hal.js";
import { packageProject } from "../harness/project.js";
import { Bus, VirtualClock } from "../harness/bus.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { formatTrace } from "../harness/trace-text.js";
import { SCENARIOS, formatScenarioTrace, runScenario, type Scenario } from "../harness/scenarios.js";
import { STM32F4_SCENARIOS } from "../harness/scenarios-stm32f4.js";
import { Fuzzer } from "../harness/fuzz/engine.js";
import { targetByName, targetNames } from "../harness/fuzz/target-table.js";
import "../harness/fuzz/targets/index.js";
import "../harness/fuzz/targets/stm32f4.js";
import { fuzzTarget } from "../harness/fuzz/runner.js";
import { fuzzVariant, zooVariants } from "../harness/fuzz/variants.js";
import { CoverageError, instrument, COVERAGE_LIMIT } from "../harness/coverage/instrument.js";
import { coverageBuild, readCoverageMap } from "../harness/coverage/build.js";
import { CoverageAccumulator, CoverageCounters, coverageByFile, coverageLcov, coverageText } from "../harness/coverage/counters.js";
import { campaignCoverage } from "../harness/coverage/report.js";
import type { GuidedResult } from "../harness/coverage/guided.js";

const temp = mkdtempSync(join(tmpdir(), "wasm-hal-coverage-test-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const project = packageProject();
const MODULES = project.moduleNames();

describe.each(MODULES)("the coverage build of %s", (name) => {
  const plainPath = project.modulePath(name, "release");
  const build = coverageBuild(plainPath);

  it("imports only env.mmio_read, env.mmio_write and env.barrier, and exports only i32 functions and the memory", () => {
    const abi = readModuleAbi(readFileSync(build.path), build.path);
    expect(abiViolations(abi)).toEqual([]);
    expect(abi.imports.map((i) => `${i.module}.${i.name}`).sort()).toEqual(["env.barrier", "env.mmio_read", "env.mmio_write"]);
  });

  it("exports what the plain module exports, with the same signatures, and __cov_base and __cov_count", () => {
    const plain = readModuleAbi(readFileSync(plainPath), plainPath);
    const covered = readModuleAbi(readFileSync(build.path), build.path);
    const sigs = (a: typeof plain): Record<string, string | null> => Object.fromEntries(a.exports.map((e) => [e.name, e.signature]));
    expect(sigs(covered)).toEqual({ ...sigs(plain), __cov_base: "()->i32", __cov_count: "()->i32" });
  });

  it("keeps its counters in the memory below 1024 that the module never uses, the memory's size unchanged", () => {
    const plainMemory = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(plainPath))).length;
    expect(plainMemory).toBeGreaterThan(0);
    expect(build.map.base + build.map.count).toBeLessThanOrEqual(COVERAGE_LIMIT);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(build.path)), { env: { mmio_read: () => 0, mmio_write: () => {}, barrier: () => {} } });
    const plainInstance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(plainPath)), { env: { mmio_read: () => 0, mmio_write: () => {}, barrier: () => {} } });
    const memory = (i: WebAssembly.Instance): WebAssembly.Memory => i.exports["memory"] as WebAssembly.Memory;
    expect(memory(instance).buffer.byteLength).toBe(memory(plainInstance).buffer.byteLength);
    expect((instance.exports["hal_scratch"] as () => number)()).toBeGreaterThanOrEqual(COVERAGE_LIMIT);
    expect((instance.exports["__cov_count"] as () => number)()).toBe(build.map.count);
  });

  it("counts every function's entry, and each edge belongs to one function", () => {
    const entries = build.map.edges.filter((e) => e.kind === "entry");
    expect(entries.length).toBe(build.map.functions.filter((f) => f.edgeCount > 0).length);
    for (const f of build.map.functions) {
      for (let i = f.firstEdge; i < f.firstEdge + f.edgeCount; i++) expect(build.map.edges[i]!.func).toBe(f.index);
    }
  });
});

describe("the package's coverage builds (build/coverage/, scripts/build-coverage.mjs)", () => {
  // `npm run build` makes them; after a bare build:wasm they are stale, and made on the fly instead.
  it.for(MODULES)("build/coverage/%s.wasm carries source lines when it belongs to the module", (name, ctx) => {
    {
      const build = coverageBuild(project.modulePath(name, "release"));
      if (build.path !== join(project.root, "build", "coverage", `${name}.wasm`)) ctx.skip();
      expect(build.map.lines, `build/coverage/${name}.wasm has no source lines: its module was not built from the current sources (npm run build)`).toBe(true);
      expect(build.map.edges.filter((e) => e.line !== null).length).toBeGreaterThan(build.map.count * 0.9);
      expect(readCoverageMap(build.path)).toEqual(build.map);
    }
  });
});

describe("the pass refuses what it cannot instrument, naming the file", () => {
  it("a file that is not a module", () => {
    expect(() => instrument(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), { name: "junk.wasm" })).toThrow(/^junk\.wasm: not a WebAssembly module/);
  });

  it("a debug build, whose statics lie in the counters' region", () => {
    const debug = project.modulePath("hal", "debug");
    expect(() => instrument(readFileSync(debug), { name: "build/hal.debug.wasm" })).toThrow(CoverageError);
    expect(() => instrument(readFileSync(debug), { name: "build/hal.debug.wasm" })).toThrow(/^build\/hal\.debug\.wasm: .*inside the counters' region 0\.\.1024: expected an optimized asc build/);
  });

  it("a coverage build", () => {
    const build = coverageBuild(wasmPath("release"));
    expect(() => instrument(readFileSync(build.path), { name: "again.wasm" })).toThrow(/^again\.wasm: already exports __cov_base/);
  });
});

/** Scenario traces on the plain module and on the coverage build. */
function scenarioTraces(scenario: Scenario): [string, string] {
  const plain = formatScenarioTrace(runScenario(scenario));
  const covered = formatScenarioTrace(runScenario(scenario, { modulePath: coverageBuild(project.modulePath(scenario.module)).path }));
  return [plain, covered];
}

describe("the coverage build's traces are the plain module's", () => {
  it.each([...SCENARIOS, ...STM32F4_SCENARIOS].map((s) => [s.name, s] as const))("scenario %s", (_name, scenario) => {
    const [plain, covered] = scenarioTraces(scenario);
    expect(covered).toBe(plain);
  });

  // Fuzz cases of every target, seeded, on both modules: the same outcome, the same accesses, and
  // (where the trace stays small) the same recorded trace.
  it.each(targetNames().map((t) => [t] as const))("40 fuzz cases of target %s", (name) => {
    const target = targetByName(name);
    const plainPath = target.module ?? wasmPath("release");
    const plain = new Fuzzer(target, plainPath);
    const covered = new Fuzzer(target, coverageBuild(plainPath).path);
    const steps = fc.sample(fc.array(target.steps({ legalOnly: false }), { minLength: 1, maxLength: 8 }), { seed: 7, numRuns: 40 });
    let compared = 0;
    for (const s of steps) {
      const fuzzCase = { target: name, steps: s };
      const a = plain.runCase(fuzzCase);
      const b = covered.runCase(fuzzCase);
      expect(b.ran).toEqual(a.ran);
      expect(b.failure?.property ?? null).toBe(a.failure?.property ?? null);
      expect(b.failure?.message ?? null).toBe(a.failure?.message ?? null);
      expect(covered.world.trace.seen).toBe(plain.world.trace.seen);
      if (plain.world.trace.seen > 50_000) continue;
      // The report runs record every access.
      plain.runCase(fuzzCase, { mode: "report" });
      covered.runCase(fuzzCase, { mode: "report" });
      expect(formatTrace(covered.world.trace, covered.world.bus.regions)).toBe(formatTrace(plain.world.trace, plain.world.bus.regions));
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });
});

/** A Hal on the coverage build with a PL011 model, as a test would make one. */
function pl011Hal(): { hal: Hal; counters: CoverageCounters; base: number } {
  const clock = new VirtualClock();
  const bus = new Bus({ clock });
  const base = 0x101f1000;
  bus.map({ name: "uart0", base, size: PL011_MAP.size, device: new Pl011Model({ clock, uartclkHz: 24_000_000 }), map: PL011_MAP });
  const build = coverageBuild(wasmPath("release"));
  const hal = new Hal(bus, "release", build.path);
  return { hal, counters: CoverageCounters.of(hal, build.map), base };
}

describe("the counters", () => {
  it("are zero after a reset and count the functions that ran", () => {
    const { hal, counters, base } = pl011Hal();
    counters.reset();
    expect(counters.hit()).toEqual([]);
    expect(hal.call("pl011_init", base, 24_000_000, 115200, 0)).toBe(0);
    const map = counters.map;
    const fn = (short: string) => map.functions.find((f) => f.name.endsWith(`/${short}`))!;
    const init = fn("pl011_init");
    const write = fn("pl011_write");
    const values = counters.read();
    expect(values[init.firstEdge]).toBe(1);
    expect(values[write.firstEdge]).toBe(0);
    // Called three more times: the entry counts 4.
    for (let i = 0; i < 3; i++) hal.call("pl011_init", base, 24_000_000, 115200, 0);
    expect(counters.read()[init.firstEdge]).toBe(4);
    counters.reset();
    expect(counters.read().every((c) => c === 0)).toBe(true);
  });

  it("saturate at 255", () => {
    const { hal, counters, base } = pl011Hal();
    counters.reset();
    for (let i = 0; i < 300; i++) hal.call("pl011_flush", base);
    const flush = counters.map.functions.find((f) => f.name.endsWith("/pl011_flush"))!;
    expect(counters.read()[flush.firstEdge]).toBe(255);
  });

  it("are refused for a Hal on the plain module", () => {
    const bus = new Bus({ clock: new VirtualClock() });
    const hal = new Hal(bus, "release", wasmPath("release"));
    expect(() => CoverageCounters.of(hal, coverageBuild(wasmPath("release")).map)).toThrow(/no __cov_base\/__cov_count exports: expected a coverage build/);
  });
});

describe("the reports", () => {
  // pl011_init alone, with valid arguments: its refusal branch and every other function never run.
  const { hal, counters, base } = pl011Hal();
  counters.reset();
  hal.call("pl011_init", base, 24_000_000, 115200, 0);
  const map = counters.map;
  const counts = counters.read();

  it("name per file and per function the edges that never ran", () => {
    const text = coverageText(map, counts);
    expect(text).toMatch(/^coverage of build\/hal\.wasm: \d+\/\d+ edges \(\d+\.\d%\)( \(no source lines: the module had no source map\))?\n/);
    expect(text).toMatch(/\n {2}pl011\.ts: \d+\/\d+ edges \(\d+\.\d%\)\n/);
    expect(text).toMatch(/\n {4}pl011_write: 0\/\d+ edges; never called\n/);
    expect(text).toMatch(/\n {2}pl022\.ts: 0\/\d+ edges \(0\.0%\)\n/);
    const init = coverageByFile(map, counts).flatMap((f) => f.functions).find((f) => f.func.name.endsWith("/pl011_init"))!;
    expect(init.calls).toBe(1);
    expect(init.covered).toBeGreaterThan(0);
    expect(init.missed.length).toBeGreaterThan(0);
    // The first if of pl011_init refuses bad arguments: with good ones its then arm never ran.
    const refusal = init.missed.find((e) => e.kind === "if" && e.ordinal === 1 && e.arm === "then");
    expect(refusal).toBeDefined();
    // With source lines (the build's twin compiled with a source map), each edge names its place.
    const place = map.lines ? ` \\(pl011\\.ts:${refusal!.line}\\)` : "";
    if (map.lines) expect(refusal!.file).toBe("assembly/pl011.ts");
    const line = text.split("\n").find((l) => l.startsWith("    pl011_init: "))!;
    expect(line).toMatch(new RegExp(`^ {4}pl011_init: ${init.covered}/${init.edges} edges; never ran: .*\\bif#1 then${place}`));
  });

  /** The lcov records, checked line by line against geninfo's format. */
  function checkLcov(text: string): { files: string[] } {
    expect(text.endsWith("end_of_record\n")).toBe(true);
    const records = text.trimEnd().split("end_of_record").map((r) => r.trim()).filter((r) => r !== "");
    const files: string[] = [];
    for (const record of records) {
      const lines = record.split("\n");
      expect(lines[0]).toMatch(/^TN:\S+$/);
      expect(lines[1]).toMatch(/^SF:\//);
      const file = lines[1]!.slice(3);
      expect(existsSync(file)).toBe(true);
      files.push(file);
      const source = readFileSync(file, "utf8").split("\n").length;
      const fn = lines.filter((l) => l.startsWith("FN:")).map((l) => /^FN:(\d+),(\S+)$/.exec(l)!);
      const fnda = lines.filter((l) => l.startsWith("FNDA:")).map((l) => /^FNDA:(\d+),(\S+)$/.exec(l)!);
      expect(fn.every((m) => m !== null && Number(m[1]) >= 1 && Number(m[1]) <= source)).toBe(true);
      expect(fnda.map((m) => m[2])).toEqual(fn.map((m) => m[2]));
      expect(new Set(fn.map((m) => m[2])).size).toBe(fn.length);
      expect(lines).toContain(`FNF:${fn.length}`);
      expect(lines).toContain(`FNH:${fnda.filter((m) => Number(m[1]) > 0).length}`);
      const brda = lines.filter((l) => l.startsWith("BRDA:")).map((l) => /^BRDA:(\d+),(\d+),(\d+),(-|\d+)$/.exec(l)!);
      expect(brda.every((m) => m !== null && Number(m[1]) <= source)).toBe(true);
      expect(lines).toContain(`BRF:${brda.length}`);
      expect(lines).toContain(`BRH:${brda.filter((m) => m[4] !== "-" && Number(m[4]) > 0).length}`);
      const da = lines.filter((l) => l.startsWith("DA:")).map((l) => /^DA:(\d+),(\d+)$/.exec(l)!);
      expect(da.every((m) => m !== null && Number(m[1]) >= 1 && Number(m[1]) <= source)).toBe(true);
      expect(new Set(da.map((m) => m[1])).size).toBe(da.length);
      expect(lines).toContain(`LF:${da.length}`);
      expect(lines).toContain(`LH:${da.filter((m) => Number(m[2]) > 0).length}`);
      const known = /^(TN|SF|FN|FNDA|FNF|FNH|BRDA|BRF|BRH|DA|LF|LH):/;
      expect(lines.filter((l) => !known.test(l))).toEqual([]);
    }
    return { files };
  }

  it("as lcov: a record per source file on disk, with functions, branches and lines", () => {
    const lcov = coverageLcov(map, counts, { root: project.root });
    const { files } = checkLcov(lcov);
    expect(files).toContain(join(project.root, "assembly", "pl011.ts"));
    expect(files.some((f) => f.includes("~lib"))).toBe(false);
    const pl011 = lcov.split("end_of_record").find((r) => r.includes("SF:" + join(project.root, "assembly", "pl011.ts")))!;
    expect(pl011).toMatch(/\nFNDA:1,pl011_init\n/);
    expect(pl011).toMatch(/\nFNDA:0,pl011_write\n/);
    expect(pl011).toMatch(/\nBRDA:\d+,\d+,\d+,-\n/); // a branch in a function that never ran
  });

  const genhtml = spawnSync("genhtml", ["--version"], { encoding: "utf8" });
  it.skipIf(genhtml.error !== undefined || genhtml.status !== 0)("as lcov that genhtml reads (skipped where Debian's lcov is not installed)", () => {
    const file = join(temp, "hal.lcov");
    writeFileSync(file, coverageLcov(map, counts, { root: project.root }));
    const out = join(temp, "html");
    const run = spawnSync("genhtml", ["--branch-coverage", "--quiet", "-o", out, file], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(existsSync(join(out, "index.html"))).toBe(true);
  });
});

describe("coverage-guided fuzzing", () => {
  it("gives the same run from the same seed, and reports what it covered", () => {
    const dir = join(temp, "runs");
    const a = fuzzTarget("pl061", { runs: 300, seed: 5, coverage: { dir } }) as GuidedResult;
    const b = fuzzTarget("pl061", { runs: 300, seed: 5, coverage: {} }) as GuidedResult;
    expect(b.coverage.counts).toEqual(a.coverage.counts);
    expect(b.coverage.corpus).toBe(a.coverage.corpus);
    expect(a.coverage.covered).toBeGreaterThan(10);
    expect(a.coverage.corpus).toBeGreaterThan(0);
    const lines = campaignCoverage(dir, { lcovFile: join(temp, "pl061.lcov") });
    expect(lines[0]).toMatch(/^coverage \(300 executions\) of build\/hal\.wasm: \d+\/\d+ edges/);
    expect(lines.join("\n")).toMatch(/\n {2}pl061\.ts: \d+\/\d+ edges/);
    expect(lines.join("\n")).toMatch(/\n {2}not reached: .*pl011\.ts/);
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync(join(temp, "pl061.lcov"), "utf8")).toContain("SF:" + join(project.root, "assembly", "pl061.ts"));
  });

  it("accumulates edges and hit-count classes", () => {
    const map = coverageBuild(wasmPath("release")).map;
    const acc = new CoverageAccumulator(map);
    const c = new Uint8Array(map.count);
    c[0] = 1;
    expect(acc.add(c)).toEqual({ features: 1, newEdges: 1 });
    expect(acc.add(c)).toEqual({ features: 0, newEdges: 0 });
    c[0] = 9;
    expect(acc.add(c)).toEqual({ features: 1, newEdges: 0 });
    expect(acc.covered).toBe(1);
    expect(acc.counts[0]).toBe(11);
  });

  it("counts every edge of the counters, in words, in the bytes past the last word, and through an unaligned view", () => {
    const map = coverageBuild(wasmPath("release")).map;
    const n = map.count;
    // The edges at each byte of a word, the last whole word and what follows it (one edge, the
    // last, when the count is a multiple of four: the Set keeps it once).
    const edges = [...new Set([1, 2, 3, 4, 7, (n & ~3) - 1, n - 1])];
    const aligned = new Uint8Array(new ArrayBuffer(n + 8), 4, n);
    const unaligned = new Uint8Array(new ArrayBuffer(n + 8), 1, n);
    for (const view of [aligned, unaligned]) {
      const acc = new CoverageAccumulator(map);
      for (const e of edges) view[e] = 1;
      expect(acc.add(view)).toEqual({ features: edges.length, newEdges: edges.length });
      // The same view with other contents: read again, not remembered.
      view.fill(0);
      view[n - 1] = 2;
      view[5] = 1;
      expect(acc.add(view)).toEqual({ features: 2, newEdges: 1 });
      expect(acc.covered).toBe(edges.length + 1);
      expect(acc.counts[n - 1]).toBe(3);
      expect(acc.counts[5]).toBe(1);
      expect(acc.counts[0]).toBe(0);
    }
  });

  // The zoo, guided, from seed 1 with a bound on runs (never on time): the same verdicts as
  // test/fuzz-zoo.test.ts gives blind fuzzing. The numbers behind "guided against blind" with the
  // same time budget: `node dist/bench/coverage.js --compare` (docs/fuzzing.md#coverage).
  it("finds every seeded bug of the zoo within 3000 runs per variant", () => {
    const variants = zooVariants();
    expect(variants.length).toBeGreaterThanOrEqual(18);
    const missed: string[] = [];
    for (const v of variants) {
      const r = fuzzVariant(v, { runs: 3000, seed: 1, shrinkMs: 60_000, coverage: {} });
      if (r.finding === null) missed.push(v.name);
    }
    expect(missed).toEqual([]);
  }, 600_000);
});

describe("coverage builds made on the fly", () => {
  it("name the module by its own path, when the same bytes elsewhere were instrumented first", () => {
    const source = readFileSync(join(packageProject().root, "build", "zoo", "pl011-fr-read-hoisted.wasm"));
    const first = join(temp, "first", "driver.wasm");
    const second = join(temp, "second", "driver.wasm");
    for (const path of [first, second]) {
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, source);
    }
    // The map in the build file is what a campaign's report reads (harness/coverage/report.ts).
    expect(coverageBuild(first).map.module).toBe(first);
    expect(readCoverageMap(coverageBuild(first).path)!.module).toBe(first);
    const again = coverageBuild(second);
    expect(again.map.module).toBe(second);
    expect(readCoverageMap(again.path)!.module).toBe(second);
  });
});
