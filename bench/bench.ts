// `npm run bench`: the cost of one register access through the harness, against the floor of an
// import that does nothing, measured in the same run and reported as a ratio (the machines are
// shared and noisy: absolute numbers move, the ratio much less). Each section runs in a worker
// thread of its own, one after another (bench/sections.ts).
//
//   npm run bench                    a table
//   npm run bench -- --json          {"floor_ns", "harness_ns", "ratio", ..., "devmem": {...}, "fuzz": {...}}
//   npm run bench -- --only core     only the harness against its floor (also: stm32f4, devmem, fuzz,
//                                    coverage: the coverage build's slowdown, docs/fuzzing.md#coverage)
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { SECTIONS, type Section, type SectionTask } from "./sections.js";

/** Runs one section in a worker thread of its own (bench/sections.ts says why) and returns its
 * numbers. */
function inWorker(section: Section, rounds: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const task: SectionTask = { section, rounds };
    const worker = new Worker(new URL("./sections.js", import.meta.url), { workerData: task });
    let result: Record<string, unknown> | undefined;
    worker.on("message", (message: Record<string, unknown>) => { result = message; });
    worker.on("error", reject);
    worker.on("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`the ${section} section's worker exited with code ${code} and no result`));
    });
  });
}

/** Prints named numbers as aligned lines under a heading. */
function section(title: string, numbers: Record<string, number>): string[] {
  const width = Math.max(...Object.keys(numbers).map((k) => k.length));
  return ["", title, ...Object.entries(numbers).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, rounds: { type: "string" }, only: { type: "string" } }, strict: true });
  const rounds = values.rounds === undefined ? 9 : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds expects a positive integer, got ${values.rounds}`);
  const only = (values.only ?? SECTIONS.join(",")).split(",");
  for (const name of only) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only takes ${SECTIONS.join(", ")} (comma-separated), got ${name}`);
  }
  const wanted = (name: Section): boolean => only.includes(name);

  // One section after another, each in its own worker thread: the core section always (the
  // table's first lines), the others as asked.
  const report = (await inWorker("core", rounds)) as { workload: string; accesses_per_iteration: number; iterations_per_round: number; floor_ns: number; harness_ns: number; ratio: number; harness_accesses_per_second: number; module_bytes: Record<string, number> };
  const iterations = report.iterations_per_round;
  const stm32f4 = wanted("stm32f4") ? (await inWorker("stm32f4", rounds)) as Record<string, number | string> : undefined;
  const devmem = wanted("devmem") ? (await inWorker("devmem", rounds)) as Record<string, number> : undefined;
  const fuzz = wanted("fuzz") ? (await inWorker("fuzz", rounds)) as Record<string, number> : undefined;
  const coverage = wanted("coverage") ? (await inWorker("coverage", rounds)) as Record<string, number> : undefined;
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
