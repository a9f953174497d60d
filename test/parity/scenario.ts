// Scenario files (boards/host/hal_scenario.h): what a C host needs to repeat a Node run with no
// device behind it. The windows are the bus's regions, the steps the ones a RecordingHal saw, and
// the answers the values the CPU's reads returned in Node, in order (DMA accesses are the
// hardware's own work and are left out; a faulted read returned nothing).
//
// With interrupts, the scenario also says how the host delivers them (`interrupts deferred` or
// `interrupts preemptive`, harness/interrupts.ts) and where the C host's scripted ISR raises
// each line whose handler ran inside a call (`raise LINE BOUNDARY`); handlers run between calls
// are `irq` steps (recording-hal.ts). The C host's own delivery rules (boards/wamr/hal_irq.c)
// then decide where each handler runs, and the trace comparison holds them to Node's.
import type { Region } from "../../harness/bus.js";
import type { DeliveryMode } from "../../harness/interrupts.js";
import { ENTER_PREEMPTIVE } from "../../harness/interrupts.js";
import { OP_READ, OP_WRITE, OP_BARRIER, OP_IRQ, FLAG_DMA, FLAG_FAULT, FLAG_IRQ, IRQ_ENTER, type Trace } from "../../harness/trace.js";
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

/** A scripted ISR's raise: `line` becomes pending at access boundary `at` (the number of CPU
 * accesses made before it, handlers' and refused ones included, as the C host counts them). */
export interface Raise {
  readonly line: number;
  readonly at: number;
}

/**
 * Where the C host's scripted ISR raises each line whose handler Node entered inside a call, and
 * which `irq` steps stay steps. Preemptive entries (and any entry inside a handler) are raised at
 * the boundary they ran at: there the host must deliver at once. A deferred entry is raised as
 * early as Node's rules allow without it having run sooner: just after the last wait point of
 * main code before it (a read of the address main code read just before, also a read), or at the
 * call's first access. The C host must then hold it through the boundaries in between, which are
 * no wait points, and deliver it at the same poll as Node. A deferred entry just after a call
 * returned is raised the same way inside that call, when the call made an access after its last
 * wait point, so that the C host holds it to the call's end; otherwise it stays a step.
 */
export function interruptScript(trace: Trace, mode: DeliveryMode, steps: readonly Step[]): { raises: Raise[]; steps: Step[] } {
  const raises: Raise[] = [];
  const afterCall = new Set(steps.flatMap((s) => (s.kind === "irq" && s.afterCall && mode === "deferred" ? [s.seq] : [])));
  const raised = new Set<number>();
  let accesses = 0;
  let lastOp = -1;
  let lastAddr = -1;
  let earliest = 0;
  let call = -1;
  let lastCall = -1;
  /** CPU accesses when the last call returned. */
  let callEnd = 0;
  for (const e of trace.entries()) {
    if (e.call !== call) {
      if (e.call < 0) callEnd = accesses;
      call = e.call;
      if (call >= 0) {
        earliest = accesses;
        lastCall = call;
      }
    }
    if (e.op === OP_IRQ) {
      if (e.width === IRQ_ENTER && e.call >= 0) {
        const immediate = (e.value & ENTER_PREEMPTIVE) !== 0 || (e.flags & FLAG_IRQ) !== 0;
        raises.push({ line: e.addr, at: immediate ? accesses : earliest });
      } else if (e.width === IRQ_ENTER && afterCall.has(e.seq) && lastCall >= 0 && earliest < callEnd) {
        // `earliest` and `accesses` are still those of the call that just returned.
        raises.push({ line: e.addr, at: earliest });
        raised.add(e.seq);
      }
      continue;
    }
    if ((e.flags & FLAG_DMA) !== 0 || (e.op !== OP_READ && e.op !== OP_WRITE && e.op !== OP_BARRIER)) continue;
    accesses++;
    if ((e.flags & FLAG_IRQ) !== 0) continue;
    const addr = e.op === OP_BARRIER ? e.value : e.addr;
    if (e.op === OP_READ && lastOp === OP_READ && addr === lastAddr) earliest = accesses;
    lastOp = e.op;
    lastAddr = addr;
  }
  raises.sort((a, b) => a.at - b.at);
  return { raises, steps: steps.filter((s) => !(s.kind === "irq" && raised.has(s.seq))) };
}

export interface ScenarioInterrupts {
  readonly mode: DeliveryMode;
  readonly raises: readonly Raise[];
}

export function scenarioText(regions: readonly Region[], steps: readonly Step[], answers: readonly [number, number][], interrupts?: ScenarioInterrupts): string {
  const lines = [SCENARIO_HEADER];
  for (const r of [...regions].sort((a, b) => a.base - b.base)) {
    lines.push(`window ${r.name} ${hex8(r.base)} 0x${r.size.toString(16)} ${r.index?.block.block ?? "none"}`);
  }
  if (interrupts !== undefined) {
    lines.push(`interrupts ${interrupts.mode}`);
    for (const r of interrupts.raises) lines.push(`raise ${r.line} ${r.at}`);
  }
  for (const [value, count] of answers) lines.push(`answer ${hex8(value)}${count > 1 ? ` x${count}` : ""}`);
  for (const s of steps) {
    if (s.kind === "call") lines.push(`call ${s.name}${s.args.map((a) => ` ${a >>> 0}`).join("")}`);
    else if (s.kind === "poke") lines.push(`poke ${hex8(s.ptr)} ${hexBytes(s.bytes)}`);
    else if (s.kind === "irq") lines.push(`irq ${s.line}`);
    else lines.push(`peek ${hex8(s.ptr)} ${s.bytes.length}`);
  }
  return lines.join("\n") + "\n";
}
