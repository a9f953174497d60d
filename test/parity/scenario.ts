// Scenario files (boards/host/hal_scenario.h): what a C host needs to repeat a Node run with no
// device behind it. The windows are the bus's regions, the steps the ones a RecordingHal saw, and
// the answers the values the CPU's reads returned in Node, in order (DMA accesses are the
// hardware's own work and are left out; a faulted read returned nothing).
import type { Region } from "../../harness/bus.js";
import { OP_READ, FLAG_DMA, FLAG_FAULT, type Trace } from "../../harness/trace.js";
import { hexBytes, type Step } from "./recording-hal.js";

export const SCENARIO_HEADER = "wasm-hal-scenario 1";

const hex8 = (n: number): string => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** The values of the CPU's reads, in order, consecutive equal values as one [value, count]. */
export function cpuReadAnswers(trace: Trace): [number, number][] {
  const answers: [number, number][] = [];
  for (const e of trace.entries()) {
    if (e.op !== OP_READ || (e.flags & (FLAG_DMA | FLAG_FAULT)) !== 0) continue;
    const last = answers[answers.length - 1];
    if (last !== undefined && last[0] === e.value) last[1]++;
    else answers.push([e.value, 1]);
  }
  return answers;
}

export function scenarioText(regions: readonly Region[], steps: readonly Step[], answers: readonly [number, number][]): string {
  const lines = [SCENARIO_HEADER];
  for (const r of [...regions].sort((a, b) => a.base - b.base)) {
    lines.push(`window ${r.name} ${hex8(r.base)} 0x${r.size.toString(16)} ${r.index?.block.block ?? "none"}`);
  }
  for (const [value, count] of answers) lines.push(`answer ${hex8(value)}${count > 1 ? ` x${count}` : ""}`);
  for (const s of steps) {
    if (s.kind === "call") lines.push(`call ${s.name}${s.args.map((a) => ` ${a >>> 0}`).join("")}`);
    else if (s.kind === "poke") lines.push(`poke ${hex8(s.ptr)} ${hexBytes(s.bytes)}`);
    else lines.push(`peek ${hex8(s.ptr)} ${s.bytes.length}`);
  }
  return lines.join("\n") + "\n";
}
