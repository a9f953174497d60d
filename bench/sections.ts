// One section of `npm run bench`, measured in a worker thread of its own (bench/bench.ts starts
// one per section, one after another). A section's code is compiled by V8 from what that
// section alone runs: run in one thread, the fuzz section once ran 4% slower after the core and
// STM32F4 sections (its bus, trace and device call sites had seen their plain Trace and bare
// models before), which no fuzz campaign sees (a campaign's thread or worker runs only the
// fuzzer). Each section's ratios are to floors measured in its own worker.
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { statSync } from "node:fs";
import { Bus, VirtualClock } from "../harness/bus.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { packageProject } from "../harness/project.js";
import { UART, UARTCLK_HZ, instantiate, workload, floorRunner, timeNs, median, round2, type Runner } from "./measure.js";
import { benchDevmem } from "./devmem.js";
import { fuzzBenchmark } from "./fuzz.js";
import { coverageBenchmark } from "./coverage.js";
import { STM32F4_WORKLOAD, stm32Floor, stm32Harness } from "./stm32f4.js";

export const SECTIONS = ["core", "stm32f4", "devmem", "fuzz", "coverage"] as const;
export type Section = (typeof SECTIONS)[number];

/** The full harness: bus with region lookup and checks, the PL011 model on the virtual clock,
 * every access recorded in the trace. Each iteration starts as a fuzz execution does (World.restart):
 * the clock at 0, the model reset and its record of the characters sent emptied (reset() leaves
 * the record to its owner), the trace cleared. The clock matters for the measurement too: left to
 * run on, it passes 2^31 ns within the measured rounds (4,400 ns an iteration), where V8 stops
 * keeping it as a small integer and deoptimizes the bus, once a run, in whichever round that is. */
function harnessRunner(): Runner {
  const clock = new VirtualClock();
  const bus = new Bus({ clock });
  const uart = new Pl011Model({ clock, uartclkHz: UARTCLK_HZ });
  bus.map({ name: "uart0", base: UART, size: PL011_MAP.size, device: uart, map: PL011_MAP });
  const { hal, ptr } = instantiate(bus.imports);
  const once = (): void => {
    clock.now = 0;
    uart.reset();
    uart.clearWire();
    bus.trace.clear();
    workload(hal, ptr);
  };
  once();
  const accesses = bus.trace.length;
  return { run: (n) => { for (let i = 0; i < n; i++) once(); }, accesses };
}

/** How long both sides of a comparison run before it is sized and measured, and how many
 * probes of the floor size it. */
const WARM_UP_MS = 300;
const SIZE_PROBES = 5;

/** Runs each of `runners` in turn, in short bursts, until `ms` have passed. */
function warmUp(runners: readonly Runner[], ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) for (const r of runners) r.run(200);
}

/** Medians over `rounds` of the floor's and the harness's ns per access, and of their ratio. */
function compare(floor: Runner, harness: Runner, rounds: number): { floorNs: number; harnessNs: number; ratio: number; iterations: number } {
  if (floor.accesses !== harness.accesses) {
    throw new Error(`the workload made ${floor.accesses} accesses on the floor but ${harness.accesses} in the harness: they must run the same path`);
  }
  // Size each measurement to about 100 ms of floor time, after a warm-up that lets V8 optimize.
  // The warm-up is timed rather than counted: V8 compiles on another thread, which shares the
  // core when the bench is pinned to one, and a probe of code still being compiled made rounds
  // of anything from 9,941 to 293,332 iterations. Of several probes the fastest is taken, since
  // the machine can slow a probe but not speed it up.
  warmUp([floor, harness], WARM_UP_MS);
  let probe = Infinity;
  for (let k = 0; k < SIZE_PROBES; k++) probe = Math.min(probe, timeNs(floor.run, 2000) / 2000);
  const iterations = Math.max(1000, Math.round(100e6 / probe));
  const floorNs: number[] = [];
  const harnessNs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so that neither side always runs on a warmer machine.
    const order = r % 2 === 0 ? [floor, harness] : [harness, floor];
    const ns = new Map(order.map((x) => [x, timeNs(x.run, iterations) / (iterations * x.accesses)]));
    floorNs.push(ns.get(floor)!);
    harnessNs.push(ns.get(harness)!);
    ratios.push(ns.get(harness)! / ns.get(floor)!);
  }
  return { floorNs: median(floorNs), harnessNs: median(harnessNs), ratio: median(ratios), iterations };
}

/** The numbers of one section. */
export async function measureSection(section: Section, rounds: number): Promise<Record<string, unknown>> {
  switch (section) {
    case "core": {
      const floor = floorRunner();
      const core = compare(floor, harnessRunner(), rounds);
      return {
        workload: "pl011_init + 16-byte pl011_write, fresh device state per iteration",
        accesses_per_iteration: floor.accesses,
        iterations_per_round: core.iterations,
        rounds,
        floor_ns: round2(core.floorNs),
        harness_ns: round2(core.harnessNs),
        ratio: round2(core.ratio),
        harness_accesses_per_second: Math.round(1e9 / core.harnessNs),
        // Each family's release module: a board links only its own.
        module_bytes: Object.fromEntries(packageProject().moduleNames().map((name) => [name, statSync(packageProject().modulePath(name, "release")).size])),
      };
    }
    case "stm32f4": {
      const f = stm32Floor();
      const m = compare(f, stm32Harness(), rounds);
      return { workload: STM32F4_WORKLOAD, accesses_per_iteration: f.accesses, floor_ns: round2(m.floorNs), harness_ns: round2(m.harnessNs), ratio: round2(m.ratio) };
    }
    // The /dev/mem bridge against a file-backed window (docs/devmem.md), and the fuzzer's
    // executions per second (docs/fuzzing.md): each against its own floor.
    case "devmem": return benchDevmem({ rounds: Math.min(rounds, 5) });
    case "fuzz": return fuzzBenchmark({ rounds: Math.min(rounds, 5) });
    // The coverage build against the plain module, same cases.
    case "coverage": return coverageBenchmark({ rounds: Math.min(rounds, 5) });
  }
}

/** What a section's worker is given. */
export interface SectionTask {
  readonly section: Section;
  readonly rounds: number;
}

if (parentPort !== null && (workerData as SectionTask | undefined)?.section !== undefined) {
  const task = workerData as SectionTask;
  parentPort.postMessage(await measureSection(task.section, task.rounds));
}
