// `npm run bench`: the cost of one register access through the harness, against the floor of an
// import that does nothing, measured in the same run and reported as a ratio (the machines are
// shared and noisy: absolute numbers move, the ratio much less).
//
//   npm run bench                    a table
//   npm run bench -- --json          {"floor_ns", "harness_ns", "ratio", ..., "devmem": {...}, "fuzz": {...}}
//   npm run bench -- --only core     only the harness against its floor (also: stm32f4, devmem, fuzz,
//                                    coverage: the coverage build's slowdown, docs/fuzzing.md#coverage)
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { Bus, VirtualClock } from "../harness/bus.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { UART, UARTCLK_HZ, instantiate, workload, floorRunner, timeNs, median, round2, type Runner } from "./measure.js";
import { benchDevmem } from "./devmem.js";
import { fuzzBenchmark } from "./fuzz.js";
import { coverageBenchmark } from "./coverage.js";
import { STM32F4_WORKLOAD, stm32Floor, stm32Harness } from "./stm32f4.js";
import { statSync } from "node:fs";
import { packageProject } from "../harness/project.js";

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

/** Prints named numbers as aligned lines under a heading. */
function section(title: string, numbers: Record<string, number>): string[] {
  const width = Math.max(...Object.keys(numbers).map((k) => k.length));
  return ["", title, ...Object.entries(numbers).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
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

const SECTIONS = ["core", "stm32f4", "devmem", "fuzz", "coverage"] as const;
type Section = (typeof SECTIONS)[number];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, rounds: { type: "string" }, only: { type: "string" } }, strict: true });
  const rounds = values.rounds === undefined ? 9 : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds expects a positive integer, got ${values.rounds}`);
  const only = (values.only ?? SECTIONS.join(",")).split(",");
  for (const name of only) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only takes ${SECTIONS.join(", ")} (comma-separated), got ${name}`);
  }
  const wanted = (name: Section): boolean => only.includes(name);

  const floor = floorRunner();
  const harness = harnessRunner();
  const core = compare(floor, harness, rounds);
  const iterations = core.iterations;
  const report = {
    workload: "pl011_init + 16-byte pl011_write, fresh device state per iteration",
    accesses_per_iteration: floor.accesses,
    iterations_per_round: iterations,
    rounds,
    floor_ns: round2(core.floorNs),
    harness_ns: round2(core.harnessNs),
    ratio: round2(core.ratio),
    harness_accesses_per_second: Math.round(1e9 / core.harnessNs),
    // Each family's release module: a board links only its own.
    module_bytes: Object.fromEntries(packageProject().moduleNames().map((name) => [name, statSync(packageProject().modulePath(name, "release")).size])),
  };
  let stm32f4: Record<string, number | string> | undefined;
  if (wanted("stm32f4")) {
    const f = stm32Floor();
    const m = compare(f, stm32Harness(), rounds);
    stm32f4 = { workload: STM32F4_WORKLOAD, accesses_per_iteration: f.accesses, floor_ns: round2(m.floorNs), harness_ns: round2(m.harnessNs), ratio: round2(m.ratio) };
  }
  // The /dev/mem bridge against a file-backed window (docs/devmem.md), and the fuzzer's
  // executions per second (docs/fuzzing.md): each against its own floor, in this same run.
  const devmem = wanted("devmem") ? await benchDevmem({ rounds: Math.min(rounds, 5) }) : undefined;
  const fuzz = wanted("fuzz") ? await fuzzBenchmark({ rounds: Math.min(rounds, 5) }) : undefined;
  // The coverage build against the plain module, same cases, same run.
  const coverage = wanted("coverage") ? await coverageBenchmark({ rounds: Math.min(rounds, 5) }) : undefined;
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...report, ...(stm32f4 && { stm32f4 }), ...(devmem && { devmem }), ...(fuzz && { fuzz }), ...(coverage && { coverage }) }, null, 2) + "\n");
    return;
  }
  const lines = [
    `workload: ${report.workload} (${report.accesses_per_iteration} accesses; ${rounds} rounds of ${iterations} iterations)`,
    `floor   (empty imports)                      ${report.floor_ns.toFixed(2).padStart(8)} ns per access`,
    `harness (bus + PL011 model + trace record)   ${report.harness_ns.toFixed(2).padStart(8)} ns per access`,
    `ratio   harness / floor (median of rounds)   ${report.ratio.toFixed(2).padStart(8)}`,
    `        ${report.harness_accesses_per_second.toLocaleString("en-US")} harness accesses per second`,
    "",
    "module sizes (release builds, bytes)",
    ...Object.entries(report.module_bytes).map(([name, bytes]) => `  ${name.padEnd(8)}  ${bytes}`),
  ];
  if (stm32f4 !== undefined) {
    lines.push("", `STM32F4 module: ${stm32f4["workload"]} (${stm32f4["accesses_per_iteration"]} accesses)`,
      `  floor ${Number(stm32f4["floor_ns"]).toFixed(2)} ns, harness (bus + RCC and GPIO models + trace) ${Number(stm32f4["harness_ns"]).toFixed(2)} ns per access, ratio ${Number(stm32f4["ratio"]).toFixed(2)}`);
  }
  if (devmem !== undefined) {
    lines.push(...(devmem["bridge_available"] === 1
      ? section("/dev/mem bridge through a file-backed window (ns per access; ratios to its own floor, same run)", devmem)
      : ["", "/dev/mem bridge: not built on this machine (see harness/devmem/build/unavailable.txt)"]));
  }
  if (fuzz !== undefined) lines.push(...section("fuzzing: executions per second on one core (one execution = one call sequence on fresh device state)", fuzz));
  if (coverage !== undefined) lines.push(...section("coverage build: executions per second of the same case on build/hal.wasm and on build/coverage/hal.wasm, slowdown = plain / coverage (target: under 1.5)", coverage));
  process.stdout.write(lines.join("\n") + "\n");
}

await main();
