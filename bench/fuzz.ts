// Fuzzing throughput: executions per second for each target, one execution being one driver call
// sequence against fresh device state (models reset, linear memory restored, trace cleared), with
// every property checked as the fuzzer checks it. The floor is the same call sequence against
// imports that return constants, measured in the same run; the ratio is what the models, the bus,
// the lint tap and the checks cost.
//
// `fuzzBenchmark()` returns named numbers; bench/bench.ts prints them. Run alone with
//   node dist/bench/fuzz.js [--json]
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { compileModule, wasmPath } from "../harness/hal.js";
import { Fuzzer, type FuzzCase } from "../harness/fuzz/engine.js";
import { targetByName } from "../harness/fuzz/targets/index.js";
import { fuzzTarget } from "../harness/fuzz/runner.js";
import { openFindings } from "../harness/fuzz/regression.js";
import { TARGET_NAMES, type Step, type PrimeCellTargetName, type TargetName } from "../harness/fuzz/target.js";
import { PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK } from "../harness/fuzz/targets/pl011.js";
import { PL022_FUZZ_BASE, PL022_FUZZ_SSPCLK } from "../harness/fuzz/targets/pl022.js";
import { PL061_FUZZ_BASE } from "../harness/fuzz/targets/pl061.js";
import { PL080_FUZZ_BASE } from "../harness/fuzz/targets/pl080.js";
import { median, ratePerSecond } from "./measure.js";

const MESSAGE = Array.from(Buffer.from("0123456789abcdef", "latin1")); // 16 bytes

/** Cases of the fuzz-loop measurement (seed 1), after warm-up loops from other seeds: a
 * campaign runs for seconds to hours, so what it gets is the loop's rate once V8 has compiled it,
 * which a first short loop mostly does not show (pl061's first 2,000 cases run at about a third
 * of the rate of the next 2,000; a 400-case pl022 loop still ran 2.5 times faster in its eighth
 * repetition than in its second). */
const FUZZ_LOOP_RUNS: Readonly<Record<PrimeCellTargetName, number>> = { pl011: 400, pl022: 400, pl061: 10_000, pl080: 1000 };
const WARM_UP_SEED = 2;
/** Warm-up: loops from seeds 2, 3, ... until this much wall time has gone, and at least one. */
const WARM_UP_MS = 1000;
/** The measured loop runs this many times; its rate is the median. Five, not three: on a shared
 * machine the same 10,000-case PL061 loop, twelve times in a row in one process, took 45 to
 * 110 ms, the slow ones in runs of two or three (no deoptimization in them, and no more
 * collection than in the fast ones). */
const LOOP_ROUNDS = 5;

/** Cases per second of a seeded fuzz loop of `runs` cases, after the warm-up (median of
 * LOOP_ROUNDS repetitions of the same loop). */
function loopRate(target: TargetName, runs: number, options: { pollLatency?: boolean } = {}): number {
  // Read once, as a campaign reads them: the loop is the search, not the regression folder.
  const known = openFindings();
  const warmStart = performance.now();
  for (let seed = WARM_UP_SEED; seed === WARM_UP_SEED || performance.now() - warmStart < WARM_UP_MS; seed++) {
    fuzzTarget(target, { runs, seed, known, ...options });
  }
  const rates: number[] = [];
  for (let round = 0; round < LOOP_ROUNDS; round++) {
    const started = performance.now();
    const loop = fuzzTarget(target, { runs, seed: 1, known, ...options });
    rates.push((loop.runs * 1000) / (performance.now() - started));
  }
  return Math.round(median(rates));
}

/** A fixed, typical call sequence per target: what one execution does in the benchmark. */
const WORKLOADS: Readonly<Record<PrimeCellTargetName, { label: string; steps: Step[]; floor: (call: (name: string, ...args: number[]) => number, scratch: number) => void }>> = {
  pl011: {
    label: "pl011_init + 16-byte pl011_write",
    steps: [
      { op: "init", args: [PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK, 115200, 0] },
      { op: "write", base: PL011_FUZZ_BASE, at: "scratch", data: MESSAGE, big: false },
    ],
    floor: (call, scratch) => {
      call("pl011_init", PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK, 115200, 0);
      call("pl011_write", PL011_FUZZ_BASE, scratch, MESSAGE.length);
    },
  },
  pl022: {
    label: "pl022_init + 16-frame pl022_transfer",
    steps: [
      { op: "init", args: [PL022_FUZZ_BASE, PL022_FUZZ_SSPCLK, 12_000_000, 0] },
      { op: "transfer", base: PL022_FUZZ_BASE, at: "scratch", frames: MESSAGE, tx: true, rx: true },
    ],
    // Constant imports: SR reads 0 (nothing received), so the floor stops at the drain; it
    // runs the same init and the transfer's first accesses.
    floor: (call, scratch) => {
      call("pl022_init", PL022_FUZZ_BASE, PL022_FUZZ_SSPCLK, 12_000_000, 0);
      call("pl022_transfer", PL022_FUZZ_BASE, scratch, scratch + 2048, MESSAGE.length);
    },
  },
  pl061: {
    label: "pl061_set_direction + pl061_write + pl061_read + pl061_irq_config",
    steps: [
      { op: "set_direction", base: PL061_FUZZ_BASE, mask: 0x0f, value: 0x0f },
      { op: "write", base: PL061_FUZZ_BASE, mask: 0x0f, value: 0x05 },
      { op: "read", base: PL061_FUZZ_BASE, mask: 0xff },
      { op: "irq_config", base: PL061_FUZZ_BASE, mask: 0xf0, value: 0x1 },
    ],
    floor: (call) => {
      call("pl061_set_direction", PL061_FUZZ_BASE, 0x0f, 0x0f);
      call("pl061_write", PL061_FUZZ_BASE, 0x0f, 0x05);
      call("pl061_read", PL061_FUZZ_BASE, 0xff);
      call("pl061_irq_config", PL061_FUZZ_BASE, 0xf0, 0x1);
    },
  },
  pl080: {
    label: "pl080_init + 256-byte pl080_memcpy + pl080_wait",
    steps: [
      { op: "init", base: PL080_FUZZ_BASE },
      { op: "memcpy", base: PL080_FUZZ_BASE, channel: 0, config: 0, len: 256, srcSpace: "ram", src: 0, dstSpace: "ram", dst: 0 },
      { op: "wait", base: PL080_FUZZ_BASE, channel: 0 },
    ],
    floor: (call) => {
      call("pl080_set_memory_address", 0x80000000);
      call("pl080_init", PL080_FUZZ_BASE);
      call("pl080_memcpy", PL080_FUZZ_BASE, 0, 0x20000000, 0x20008000, 256, 0);
      call("pl080_wait", PL080_FUZZ_BASE, 0);
    },
  },
};

/** Executions per second of one target's workload, through the fuzzer and on the floor. */
function measure(target: PrimeCellTargetName, rounds: number, roundMs: number): Record<string, number> {
  const workload = WORKLOADS[target];
  const fuzzer = new Fuzzer(targetByName(target));
  const fuzzCase: FuzzCase = { target, steps: workload.steps };
  const check = fuzzer.runCase(fuzzCase);
  if (check.failure !== null) throw new Error(`the ${target} benchmark case fails: ${check.failure.message}`);
  if (check.ran.length !== workload.steps.length) throw new Error(`the ${target} benchmark case skipped steps`);
  // Each execution as a search runs it (Fuzzer.runSteps): runCase() also lists the steps that
  // ran, for a report.
  const steps = workload.steps;
  const executeCase = (n: number): void => {
    for (let i = 0; i < n; i++) fuzzer.runSteps(steps);
  };

  const instance = new WebAssembly.Instance(compileModule(wasmPath("release")), {
    env: { mmio_read: () => 0, mmio_write: () => {}, barrier: () => {} },
  });
  const exports = instance.exports as Record<string, unknown>;
  const call = (name: string, ...args: number[]): number => (exports[name] as (...a: number[]) => number)(...args);
  const scratch = call("hal_scratch");
  new Uint8Array((exports["memory"] as WebAssembly.Memory).buffer).set(MESSAGE, scratch);
  const floor = (n: number): void => {
    for (let i = 0; i < n; i++) workload.floor(call, scratch);
  };

  executeCase(2000);
  floor(2000);
  const fuzz: number[] = [];
  const floors: number[] = [];
  for (let r = 0; r < rounds; r++) {
    fuzz.push(ratePerSecond(executeCase, roundMs));
    floors.push(ratePerSecond(floor, roundMs));
  }
  const executions = median(fuzz);
  const floorRate = median(floors);
  // A real fuzz run for comparison: generated cases, shrinking, and the rare case that polls a
  // stuck register to the driver's limit (millions of reads, answered inside WebAssembly by the
  // world's repeat responder), which still takes most of its time. Its polls of a stable
  // register take the stretched latency (docs/fuzzing.md#poll-latency).
  const loop = loopRate(target, FUZZ_LOOP_RUNS[target]);
  // The same run at the fixed bus latency (docs/fuzzing.md#poll-latency): what the poll latency
  // adds to the loop, against what the rest of the harness does.
  const fixedLoop = loopRate(target, FUZZ_LOOP_RUNS[target], { pollLatency: false });
  return {
    [`${target}_executions_per_second`]: Math.round(executions),
    [`${target}_floor_executions_per_second`]: Math.round(floorRate),
    [`${target}_ratio_to_floor`]: Number((floorRate / executions).toFixed(1)),
    [`${target}_accesses_per_execution`]: fuzzer.world.trace.seen,
    [`${target}_fuzz_loop_runs_per_second`]: loop,
    [`${target}_fuzz_loop_fixed_latency_runs_per_second`]: fixedLoop,
  };
}

/** The interrupt-driven PL011 (pl011-irq): a fixed case (40 bytes written, 8 characters
 * arriving, an idle, a read and a flush, then the target's end checks) in each delivery mode, and
 * a seeded fuzz loop. The target records every access (its interrupt checks read the trace). */
function measureIrq(rounds: number, roundMs: number): Record<string, number> {
  const fuzzer = new Fuzzer(targetByName("pl011-irq"));
  const out: Record<string, number> = {};
  for (const mode of ["deferred", "preemptive"]) {
    const fuzzCase: FuzzCase = {
      target: "pl011-irq",
      steps: [
        { op: "mode", mode },
        { op: "write", at: "scratch", data: [...MESSAGE, ...MESSAGE, ...MESSAGE.slice(0, 8)] },
        { op: "receive", data: MESSAGE.slice(0, 8), error: "none", speed: "now" },
        { op: "idle", ns: 100_000 },
        { op: "read", at: "scratch", cap: 16 },
        { op: "flush" },
      ],
    };
    const check = fuzzer.runCase(fuzzCase);
    if (check.failure !== null) throw new Error(`the pl011-irq benchmark case fails (${mode}): ${check.failure.message}`);
    const executeCase = (n: number): void => {
      for (let i = 0; i < n; i++) fuzzer.runSteps(fuzzCase.steps);
    };
    executeCase(200);
    const rates: number[] = [];
    for (let r = 0; r < rounds; r++) rates.push(ratePerSecond(executeCase, roundMs));
    out[`pl011_irq_${mode}_executions_per_second`] = Math.round(median(rates));
    out[`pl011_irq_${mode}_accesses_per_execution`] = fuzzer.world.trace.seen;
  }
  out["pl011_irq_fuzz_loop_runs_per_second"] = loopRate("pl011-irq", 1000);
  return out;
}

/**
 * Executions per second for each target's typical case on one core, the floor of the same calls
 * against constant imports, and the ratio (floor rate / fuzzer rate). The PL011 workload is
 * "pl011_init + 16-byte pl011_write".
 */
export async function fuzzBenchmark(options: { rounds?: number; roundMs?: number; targets?: readonly PrimeCellTargetName[] } = {}): Promise<Record<string, number>> {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 200;
  const out: Record<string, number> = {};
  for (const t of options.targets ?? TARGET_NAMES) Object.assign(out, measure(t, rounds, roundMs));
  if (options.targets === undefined) Object.assign(out, measureIrq(rounds, roundMs));
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await fuzzBenchmark();
  if (process.argv.includes("--json")) {
    process.stdout.write(JSON.stringify(result) + "\n");
  } else {
    for (const t of TARGET_NAMES) {
      process.stdout.write(`${WORKLOADS[t].label.padEnd(64)} ${String(result[`${t}_executions_per_second`]).padStart(9)} exec/s   floor ${String(result[`${t}_floor_executions_per_second`]).padStart(9)} exec/s   ratio ${result[`${t}_ratio_to_floor`]}   fuzz loop ${result[`${t}_fuzz_loop_runs_per_second`]} runs/s\n`);
    }
    process.stdout.write(`${"pl011-irq: write, receive, idle, read, flush (deferred / preemptive)".padEnd(64)} ${String(result["pl011_irq_deferred_executions_per_second"]).padStart(9)} / ${result["pl011_irq_preemptive_executions_per_second"]} exec/s   fuzz loop ${result["pl011_irq_fuzz_loop_runs_per_second"]} runs/s\n`);
  }
}
