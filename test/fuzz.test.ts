// The fuzzer (harness/fuzz/, docs/fuzzing.md): what it checks, how it labels and reports what it
// finds, and a bounded fuzz run of every driver. Runs use worker threads on the compiled harness
// when dist/ is up to date (`npm test` builds first), else this thread.
import { afterAll, describe, expect, it } from "vitest";
import { writeFileSync, readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { lintTrace } from "../harness/lint.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { PL022_MAP } from "../harness/generated/pl022.js";
import { PL061_MAP } from "../harness/generated/pl061.js";
import { PL080_MAP } from "../harness/generated/pl080.js";
import { fuzz, compiledHarnessIsFresh } from "../harness/fuzz/campaign.js";
import { fuzzTarget } from "../harness/fuzz/runner.js";
import { Fuzzer, findingKey, type Finding } from "../harness/fuzz/engine.js";
import { targetByName } from "../harness/fuzz/targets/index.js";
import { TARGET_NAMES, type Step, type TargetName, type PrimeCellTargetName } from "../harness/fuzz/target.js";
import { registerLegality, illegality, legalize } from "../harness/fuzz/legal.js";
import { findLoop } from "../harness/fuzz/poll.js";
import { openFindings, readRegression, rerunRegression, replayRecordedReads, saveRegression } from "../harness/fuzz/regression.js";
import { zooVariants } from "../harness/fuzz/variants.js";
import { PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK } from "../harness/fuzz/targets/pl011.js";
import { PL022_FUZZ_BASE, PL022_FUZZ_SSPCLK } from "../harness/fuzz/targets/pl022.js";
import { PL061_FUZZ_BASE } from "../harness/fuzz/targets/pl061.js";
import { PL080_FUZZ_BASE } from "../harness/fuzz/targets/pl080.js";
import { TempFolders } from "./temp-folders.js";

const folders = new TempFolders();
afterAll(() => folders.removeAll());
const tempDir = (prefix: string): string => folders.make(prefix);

const SEED = 20240607;
const JOBS = compiledHarnessIsFresh() ? 2 : 1;
const MAPS = { pl011: PL011_MAP, pl022: PL022_MAP, pl061: PL061_MAP, pl080: PL080_MAP } as const;
const reg = (block: keyof typeof MAPS, name: string) => {
  const r = MAPS[block].registers.find((x) => x.name === name);
  if (r === undefined) throw new Error(`no ${name} in ${block}`);
  return registerLegality(MAPS[block], r);
};
const show = (f: Finding): string => `[${f.world}] ${f.target} ${f.property} in ${f.call}: ${f.message}\n  ${f.story.join("\n  ")}`;

// ---------------------------------------------------------------------------------------------
// Legal values: the register map and the manuals' flag rules

describe("values the hardware could produce (response fuzzing's legal set)", () => {
  const FR = 0x018;
  it("PL011 FR: a FIFO is never empty and full at once, and BUSY is set while the TX FIFO holds data (TRM 3.3.3)", () => {
    const fr = reg("pl011", "FR");
    expect(illegality(fr, FR, 0x90, 0x98)).toBeNull(); // TXFE RXFE BUSY
    expect(illegality(fr, FR, 0x90, 0xa8)).toMatch(/empty and full/); // TXFE and TXFF
    expect(illegality(fr, FR, 0x90, 0x50)).toMatch(/empty and full/); // RXFF and RXFE
    expect(illegality(fr, FR, 0x90, 0x30)).toMatch(/BUSY/); // TX FIFO not empty, BUSY clear
    expect(illegality(fr, FR, 0x90, 0x290)).toMatch(/reserved bits 0x200/); // bit 9 is reserved
  });

  it("a control register returns only what was written to it: any other value is impossible", () => {
    const cr = reg("pl011", "CR");
    expect(cr.hardware).toBe(0);
    expect(illegality(cr, 0x030, 0x301, 0x301)).toBeNull();
    expect(illegality(cr, 0x030, 0x301, 0x300)).toMatch(/only returns what was written/);
  });

  it("PL061 DATA reads 0 for the pins its address does not select (TRM 3.3.1)", () => {
    const data = reg("pl061", "DATA");
    expect(illegality(data, 0x3 << 2, 0, 0x03)).toBeNull();
    expect(illegality(data, 0x3 << 2, 0, 0x07)).toMatch(/does not select/);
  });

  it("PL022 SR: an empty TX FIFO is not full, a full RX FIFO is not empty (TRM 3.3.4)", () => {
    const sr = reg("pl022", "SR");
    expect(illegality(sr, 0x00c, 0x03, 0x01)).toMatch(/not full/); // TFE without TNF
    expect(illegality(sr, 0x00c, 0x03, 0x1b)).toMatch(/not empty/); // RFF without RNE
  });

  it("the PL080's enable bit is status (drivers poll it), its endianness bits are not", () => {
    const cfg = reg("pl080", "Configuration");
    expect(illegality(cfg, 0x030, 0x1, 0x0)).toBeNull();
    expect(illegality(cfg, 0x030, 0x1, 0x3)).toMatch(/not updated by the hardware/);
  });

  it("legalize() repairs a value towards the rules and keeps the bits it was asked to force", () => {
    const fr = reg("pl011", "FR");
    // TXFF forced on while the model says TXFE: TXFE goes, and BUSY comes with a non-empty FIFO.
    const v = legalize(fr, FR, 0x90, 0x90 | 0x20, 0x20);
    expect(v & 0x20).toBe(0x20);
    expect(illegality(fr, FR, 0x90, v)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Polling loops

describe("recognising a polling loop from the end of a trace", () => {
  const read = (addr: number, value: number) => ({ op: 0, width: 4, addr, value });
  it("finds the period and counts whole iterations", () => {
    const entries = [{ op: 1, width: 4, addr: 0x10, value: 1 }, read(0x18, 0x98), read(0x18, 0x98), read(0x18, 0x98), read(0x18, 0x98)];
    expect(findLoop(entries)).toEqual({ period: 1, iterations: 4, start: 1 });
    const two = [read(0x1c, 1), read(0x110, 1), read(0x1c, 1), read(0x110, 1), read(0x1c, 1), read(0x110, 1)];
    expect(findLoop(two)).toEqual({ period: 2, iterations: 3, start: 0 });
  });
  it("does not call a trace that ends with a write a poll", () => {
    expect(findLoop([read(0x18, 0), read(0x18, 0), read(0x18, 0), { op: 1, width: 4, addr: 0, value: 0 }])).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// The properties, on modules built to break them

/** A module with the hal's ABI whose exports misbehave on purpose (hand-assembled wasm). */
function misbehavingModule(): string {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    for (;;) {
      const byte = n & 0x7f;
      n >>= 7;
      const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
      out.push(done ? byte : byte | 0x80);
      if (done) return out;
    }
  };
  const str = (s: string): number[] => [s.length, ...Buffer.from(s)];
  const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
  const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
  const I32 = 0x7f;
  const types = [[0x60, 0, 1, I32], [0x60, 1, I32, 1, I32], [0x60, 2, I32, I32, 1, I32], [0x60, 3, I32, I32, I32, 1, I32]];
  const body = (code: number[]): number[] => { const b = [0, ...code, 0x0b]; return [...leb(b.length), ...b]; };
  const functions: [string, number, number[]][] = [
    ["hal_scratch", 0, [0x41, ...leb(1024)]],
    ["hal_scratch_size", 0, [0x41, ...leb(4096)]],
    // Returns a value no status table lists.
    ["pl061_irq_status", 1, [0x41, ...leb(-42)]],
    // Polls DATA for ever: loop { mmio_read(base, 4) } then unreachable.
    ["pl061_read", 2, [0x03, 0x40, 0x20, 0, 0x41, 4, 0x10, 0, 0x1a, 0x0c, 0, 0x0b, 0x00]],
    // Traps.
    ["pl061_write", 3, [0x00]],
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec(types)),
    ...section(2, vec([[...str("env"), ...str("mmio_read"), 0, 2]])),
    ...section(3, vec(functions.map(([, t]) => leb(t)))),
    ...section(5, vec([[0, 1]])),
    ...section(7, vec([[...str("memory"), 2, 0], ...functions.map(([name], i) => [...str(name), 0, ...leb(i + 1)])])),
    ...section(10, vec(functions.map(([, , code]) => body(code)))),
  ];
  const dir = tempDir("wasm-hal-fuzz-");
  const path = join(dir, "misbehaving.wasm");
  writeFileSync(path, Uint8Array.from(bytes));
  return path;
}

describe("the properties checked after every call", () => {
  const module = misbehavingModule();
  const fuzzer = new Fuzzer(targetByName("pl061"), module);
  const base = PL061_FUZZ_BASE;

  it("a result the documentation does not list fails 'status'", () => {
    const { failure } = fuzzer.runCase({ target: "pl061", steps: [{ op: "irq_status", base }] });
    expect(failure?.property).toBe("status");
    expect(failure?.message).toMatch(/returned -42; documented: ERR_INVALID_ARG, or a count 0\.\.255/);
  });

  it("a trap fails 'trap'", () => {
    const { failure } = fuzzer.runCase({ target: "pl061", steps: [{ op: "write", base, mask: 1, value: 1 }] });
    expect(failure?.property).toBe("trap");
  });

  it("a driver that never returns is stopped by its access budget and reported as stuck in its poll", () => {
    const fuzzCase = { target: "pl061" as const, steps: [{ op: "read", base, mask: 1 }] };
    const { failure } = fuzzer.runCase(fuzzCase);
    expect(failure?.property).toBe("hang");
    const finding = fuzzer.investigate(fuzzCase, { seed: 0, path: "", runs: 1, shrinks: 0 })!;
    expect(finding.poll).toMatch(/pl061_read is stuck polling gpio0\+0x000 DATA = 0x00000000: 2 identical polls when the host stopped it after 2 accesses/);
    // The saved trace ends with the poll, collapsed to one line.
    expect(finding.trace).toMatch(/R32 gpio0\+0x000 DATA +0x00000000 x\d+\nthrew/);
  });

  it("a saved failure replays: the case fails again, the trace is the recorded one, the recorded reads give the same accesses", () => {
    const fuzzCase = { target: "pl061" as const, steps: [{ op: "read", base, mask: 1 }] };
    const finding = fuzzer.investigate(fuzzCase, { seed: 7, path: "0:1", runs: 1, shrinks: 0 })!;
    const dir = tempDir("wasm-hal-fuzz-save-");
    const file = saveRegression(finding, dir);
    const saved = readRegression(file);
    expect(saved.meta).toMatchObject({ target: "pl061", property: "hang", call: "pl061_read", world: "legal", seed: 7, path: "0:1", release: "passes" });
    const rerun = rerunRegression(saved);
    expect(rerun.failure?.property).toBe("hang");
    expect(rerun.traceDifference).toBeNull();
    expect(replayRecordedReads(saved)).toBeNull();
    // A recording that does not match the module no longer replays: here its reads move to
    // another DATA alias.
    writeFileSync(file, readFileSync(file, "utf8").replaceAll("gpio0+0x000 DATA", "gpio0+0x004 DATA"));
    expect(replayRecordedReads(readRegression(file))).toMatch(/access #0: recorded R32 0x101e4004 = 0x0, replayed R32 0x101e4000 = 0x0/);
  });
});

describe("what the fuzzer does between executions", () => {
  it("every execution starts from power-on: module memory, models and time are put back", () => {
    // A parity error after good bytes leaves an error pending in the driver's static memory:
    // the next execution must not see it.
    const init: Step = { op: "init", args: [PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK, 115200, 0] };
    const leaves: Step[] = [init, { op: "receive", data: [0x41], error: "none" }, { op: "receive", data: [0x42], error: "parity" }, { op: "read", base: PL011_FUZZ_BASE, at: "scratch", cap: 8 }];
    const probe: Step[] = [init, { op: "receive", data: [0x43], error: "none" }, { op: "read", base: PL011_FUZZ_BASE, at: "scratch", cap: 8 }];
    const fresh = new Fuzzer(targetByName("pl011"));
    expect(fresh.runCase({ target: "pl011", steps: probe }, { mode: "report" }).failure).toBeNull();
    const expected = fresh.world.trace.length;
    const used = new Fuzzer(targetByName("pl011"));
    expect(used.runCase({ target: "pl011", steps: leaves }).failure).toBeNull();
    expect(used.runCase({ target: "pl011", steps: probe }, { mode: "report" }).failure).toBeNull();
    expect(used.world.trace.length).toBe(expected);
    expect(used.world.trace.calls.map((c) => c.result)).toEqual([0, 1]);
  });

  for (const target of TARGET_NAMES) {
    it(`${target}: the lint tap of fast runs agrees with lintTrace on the full trace`, () => {
      const fuzzer = new Fuzzer(targetByName(target));
      const cases = fc.sample(fc.array(fuzzer.target.steps({ legalOnly: false }), { maxLength: 8 }), { seed: SEED, numRuns: 120 });
      let withFindings = 0;
      for (const steps of cases) {
        fuzzer.runCase({ target, steps }, { mode: "report" });
        const tap = fuzzer.world.trace.finding;
        const full = lintTrace(fuzzer.world.trace, fuzzer.world.bus.regions);
        // The tap keeps the first finding; lintTrace lists them all.
        expect(tap === null ? [] : [tap.rule]).toEqual(full.slice(0, 1).map((f) => f.rule));
        if (tap !== null) withFindings++;
      }
      expect(withFindings).toBeLessThan(cases.length);
    });

    it(`${target}: --legal-only never returns a value the hardware could not produce`, () => {
      const fuzzer = new Fuzzer(targetByName(target));
      const cases = fc.sample(fc.array(fuzzer.target.steps({ legalOnly: true }), { maxLength: 8 }), { seed: SEED, numRuns: 150 });
      let replaced = 0;
      for (const steps of cases) {
        fuzzer.runCase({ target, steps });
        const reads = fuzzer.world.replacedReads();
        expect(reads.kept.filter((r) => r.illegal !== null)).toEqual([]);
        replaced += reads.count;
      }
      expect(replaced).toBeGreaterThan(0);
    });
  }

  it("a finding that needs a value the hardware never produces is labelled an impossible world", () => {
    // CR is a control register: a read that disagrees with what was written cannot happen. The
    // driver writes back what it read, reserved bits included.
    const steps: Step[] = [{ op: "respond", region: "ssp0", register: "CR1", skip: 0, count: 1, mask: 0x10, value: 0x10, legal: false }, { op: "init", args: [PL022_FUZZ_BASE, PL022_FUZZ_SSPCLK, 1_000_000, 0] }];
    const fuzzer = new Fuzzer(targetByName("pl022"));
    const finding = fuzzer.investigate({ target: "pl022", steps }, { seed: 0, path: "", runs: 1, shrinks: 0 })!;
    expect(finding).toMatchObject({ property: "lint", world: "impossible" });
    expect(finding.replaced[0]?.illegal).toMatch(/reserved bits 0x10 of CR1/);
  });

  it("a failure found with unconstrained values that legal ones reproduce is labelled legal", () => {
    // The zoo's PL080 init polls Configuration.E with no limit. An unconstrained Configuration
    // (E clear, reserved bits set) finds the hang; the same override made legal (E clear, reserved
    // bits zero) still does, so the finding is labelled legal.
    const variant = zooVariants().find((v) => v.name === "pl080-enable-poll-unbounded");
    expect(variant, "build/zoo/pl080-enable-poll-unbounded.wasm (npm run build)").toBeDefined();
    const steps: Step[] = [
      { op: "respond", region: "dmac", register: "Configuration", skip: 0, count: 0, mask: 0xffffffff, value: 0xfffffff8, legal: false },
      { op: "init", base: 0x10130000 },
    ];
    const fuzzer = new Fuzzer(targetByName("pl080"), variant!.path);
    const finding = fuzzer.investigate({ target: "pl080", steps }, { seed: 0, path: "", runs: 1, shrinks: 0 })!;
    expect(finding).toMatchObject({ property: "hang", call: "pl080_init", world: "legal" });
    expect(finding.poll).toMatch(/waits for E of dmac\+0x030 Configuration to be set/);
  });

  it("the same seed gives the same run: runs, findings and their shrunk cases", () => {
    const variant = zooVariants().find((v) => v.name === "pl011-fr-read-hoisted");
    const modulePath = variant?.path;
    const once = () => fuzzTarget("pl011", { runs: 300, seed: SEED, maxFindings: 1, ...(modulePath === undefined ? {} : { modulePath }) });
    const a = once();
    const b = once();
    expect(b.runs).toBe(a.runs);
    expect(b.findings.map((f) => [findingKey(f), JSON.stringify(f.case), f.seed, f.path])).toEqual(a.findings.map((f) => [findingKey(f), JSON.stringify(f.case), f.seed, f.path]));
    if (modulePath !== undefined) expect(a.findings.length).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Every driver, fuzzed: legal responses, faults and call sequences find nothing beyond the open
// bugs that fixtures/fuzz/ records; unconstrained responses find nothing a legal world reaches.

describe("fuzzing the drivers of build/hal.wasm", () => {
  const known = openFindings();
  const budget: Record<PrimeCellTargetName, number> = { pl011: 400, pl022: 300, pl061: 1500, pl080: 800 };

  it("with legal device responses and faults, only the open bugs of fixtures/fuzz/ are found", async () => {
    const results: Awaited<ReturnType<typeof fuzz>>[] = [];
    for (const t of TARGET_NAMES) results.push(await fuzz({ targets: [t], runs: budget[t], seed: SEED, jobs: JOBS, legalOnly: true, known, shrinkMs: 60_000 }));
    const findings = results.flatMap((r) => r.findings);
    expect(findings.map(show)).toEqual([]);
    for (const r of results) expect(r.runs).toBeGreaterThan(0);
  }, 120_000);

  it("with unconstrained responses too, every new finding needs a value the hardware never produces", async () => {
    const result = await fuzz({ targets: TARGET_NAMES, runs: 300, seed: SEED + 1, jobs: JOBS, known, shrinkMs: 60_000 });
    const legal = result.findings.filter((f) => f.world === "legal");
    expect(legal.map(show)).toEqual([]);
    if (result.findings.length > 0) console.log(`impossible-world findings (expected: the drivers trust control registers):\n${result.findings.map(show).join("\n")}`);
  }, 120_000);
});

describe("the fuzz command", () => {
  it.skipIf(!existsSync(join(process.cwd(), "dist", "harness", "cli.js")) || !compiledHarnessIsFresh())("fuzzes, prints a summary with its seed, and exits 0 when nothing is found", async () => {
    const { spawnSync } = await import("node:child_process");
    const cli = join(process.cwd(), "dist", "harness", "cli.js");
    const ok = spawnSync(process.execPath, [cli, "fuzz", "pl061", "--runs", "300", "--seed", "5", "--jobs", "2", "--no-save"], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/seed 5, 2 jobs, legal and unconstrained values: 300 runs/);
    expect(ok.stdout).toMatch(/no findings/);
    const bad = spawnSync(process.execPath, [cli, "fuzz", "pl999"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown target "pl999"/);
    const timed = spawnSync(process.execPath, [cli, "fuzz", "pl011", "--time", "1s", "--seed", "1", "--no-save", "--legal-only"], { encoding: "utf8" });
    expect(timed.stdout).toMatch(/stopped by --time/);
  }, 60_000);

  const variantBuilt = existsSync(join(process.cwd(), "build", "zoo", "pl011-fr-byte-read.wasm"));
  it.skipIf(!existsSync(join(process.cwd(), "dist", "harness", "cli.js")) || !compiledHarnessIsFresh() || !variantBuilt)("--fixed-latency fuzzes at the clock's fixed access time, says so, and saves findings that replay with it", async () => {
    const { spawnSync } = await import("node:child_process");
    const cli = join(process.cwd(), "dist", "harness", "cli.js");
    const variant = join(process.cwd(), "build", "zoo", "pl011-fr-byte-read.wasm");
    const generationOf = (flags: string[]): { stdout: string; generation: string } => {
      const dir = tempDir("wasm-hal-fuzz-latency-");
      const r = spawnSync(process.execPath, [cli, "fuzz", "pl011", "--module", variant, "--runs", "300", "--seed", "1", "--save", dir, ...flags], { encoding: "utf8" });
      const files = readdirSync(dir);
      expect(files.length, r.stdout + r.stderr).toBe(1);
      const line = readFileSync(join(dir, files[0]!), "utf8").split("\n").find((l) => l.includes("fuzz-generation:"));
      return { stdout: r.stdout, generation: line ?? "" };
    };
    const fixed = generationOf(["--fixed-latency"]);
    expect(fixed.stdout).toMatch(/seed 1, 1 job, legal and unconstrained values, fixed bus latency: 300 runs/);
    expect(fixed.generation).toMatch(/max-steps=12 step-limit=200000$/);
    const stretched = generationOf([]);
    expect(stretched.stdout).not.toMatch(/fixed bus latency/);
    expect(stretched.generation).toMatch(/poll-latency=stretched$/);
  }, 60_000);
});
