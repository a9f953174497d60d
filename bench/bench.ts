// `npm run bench`: the cost of one register access through the harness, against the floor of an
// import that does nothing, measured in the same run and reported as a ratio (the machines are
// shared and noisy: absolute numbers move, the ratio much less).
//
//   npm run bench            a table
//   npm run bench -- --json  {"floor_ns", "harness_ns", "ratio", ...}
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { Bus, VirtualClock } from "../harness/bus.js";
import { compileModule, wasmPath } from "../harness/hal.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { benchDevmem } from "./devmem.js";

const UART = 0x101f1000;
const UARTCLK_HZ = 24_000_000;
const BAUD = 115_200;
const MESSAGE = Buffer.from("0123456789abcdef", "latin1"); // 16 bytes

interface Pl011Exports {
  memory: WebAssembly.Memory;
  hal_scratch(): number;
  pl011_init(base: number, clk: number, baud: number, config: number): number;
  pl011_write(base: number, ptr: number, len: number): number;
}

/** The workload: one "PL011 init + 16-byte write", as a fresh device would see it. */
function workload(hal: Pl011Exports, ptr: number): void {
  if (hal.pl011_init(UART, UARTCLK_HZ, BAUD, 0) !== 0) throw new Error("pl011_init failed in the benchmark");
  if (hal.pl011_write(UART, ptr, MESSAGE.length) !== MESSAGE.length) throw new Error("pl011_write failed in the benchmark");
}

function instantiate(imports: WebAssembly.Imports): { hal: Pl011Exports; ptr: number } {
  const hal = new WebAssembly.Instance(compileModule(wasmPath("release")), imports).exports as unknown as Pl011Exports;
  const ptr = hal.hal_scratch();
  new Uint8Array(hal.memory.buffer).set(MESSAGE, ptr);
  return { hal, ptr };
}

/** Imports that do nothing: reads return 0, which a PL011 driver takes as "FIFO not full, not
 * busy", so it runs the same path without ever waiting. */
function floorRunner(): { run: (n: number) => void; accesses: number } {
  let count = 0;
  const counting = instantiate({ env: { mmio_read: () => { count++; return 0; }, mmio_write: () => { count++; }, barrier: () => { count++; } } });
  workload(counting.hal, counting.ptr);
  const accesses = count;
  const { hal, ptr } = instantiate({ env: { mmio_read: () => 0, mmio_write: () => {}, barrier: () => {} } });
  return { run: (n) => { for (let i = 0; i < n; i++) workload(hal, ptr); }, accesses };
}

/** The full harness: bus with region lookup and checks, the PL011 model on the virtual clock,
 * every access recorded in the trace. The model is reset and the trace cleared per iteration. */
function harnessRunner(): { run: (n: number) => void; accesses: number } {
  const clock = new VirtualClock();
  const bus = new Bus({ clock });
  const uart = new Pl011Model({ clock, uartclkHz: UARTCLK_HZ });
  bus.map({ name: "uart0", base: UART, size: PL011_MAP.size, device: uart, map: PL011_MAP });
  const { hal, ptr } = instantiate(bus.imports);
  const once = (): void => {
    uart.reset();
    bus.trace.clear();
    workload(hal, ptr);
  };
  once();
  const accesses = bus.trace.length;
  return { run: (n) => { for (let i = 0; i < n; i++) once(); }, accesses };
}

function timeNs(run: (n: number) => void, iterations: number): number {
  const start = performance.now();
  run(iterations);
  return (performance.now() - start) * 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Prints named numbers as aligned lines under a heading. */
function section(title: string, numbers: Record<string, number>): string[] {
  const width = Math.max(...Object.keys(numbers).map((k) => k.length));
  return ["", title, ...Object.entries(numbers).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, rounds: { type: "string" } }, strict: true });
  const rounds = values.rounds === undefined ? 9 : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds expects a positive integer, got ${values.rounds}`);

  const floor = floorRunner();
  const harness = harnessRunner();
  if (floor.accesses !== harness.accesses) {
    throw new Error(`the workload made ${floor.accesses} accesses on the floor but ${harness.accesses} in the harness: they must run the same path`);
  }
  // Size each measurement to about 100 ms of floor time, after a warm-up that lets V8 optimize.
  floor.run(2000);
  harness.run(2000);
  const probe = timeNs(floor.run, 2000) / 2000;
  const iterations = Math.max(1000, Math.round(100e6 / probe));

  const floorNs: number[] = [];
  const harnessNs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so that neither side always runs on a warmer machine.
    const f = r % 2 === 0 ? timeNs(floor.run, iterations) : NaN;
    const h = timeNs(harness.run, iterations);
    const f2 = r % 2 === 0 ? f : timeNs(floor.run, iterations);
    const perFloor = f2 / (iterations * floor.accesses);
    const perHarness = h / (iterations * harness.accesses);
    floorNs.push(perFloor);
    harnessNs.push(perHarness);
    ratios.push(perHarness / perFloor);
  }
  const report = {
    workload: "pl011_init + 16-byte pl011_write, fresh device state per iteration",
    accesses_per_iteration: floor.accesses,
    iterations_per_round: iterations,
    rounds,
    floor_ns: Number(median(floorNs).toFixed(2)),
    harness_ns: Number(median(harnessNs).toFixed(2)),
    ratio: Number(median(ratios).toFixed(2)),
    harness_accesses_per_second: Math.round(1e9 / median(harnessNs)),
  };
  // The /dev/mem bridge against a file-backed window (docs/devmem.md); its own floor, same run.
  const devmem = await benchDevmem({ rounds: Math.min(rounds, 5) });
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...report, devmem }, null, 2) + "\n");
    return;
  }
  const lines = [
    `workload: ${report.workload} (${report.accesses_per_iteration} accesses; ${rounds} rounds of ${iterations} iterations)`,
    `floor   (empty imports)                      ${report.floor_ns.toFixed(2).padStart(8)} ns per access`,
    `harness (bus + PL011 model + trace record)   ${report.harness_ns.toFixed(2).padStart(8)} ns per access`,
    `ratio   harness / floor (median of rounds)   ${report.ratio.toFixed(2).padStart(8)}`,
    `        ${report.harness_accesses_per_second.toLocaleString("en-US")} harness accesses per second`,
    ...(devmem["bridge_available"] === 1
      ? section("/dev/mem bridge through a file-backed window (ns per access; ratios to its own floor, same run)", devmem)
      : ["", "/dev/mem bridge: not built on this machine (see harness/devmem/build/unavailable.txt)"]),
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

await main();
