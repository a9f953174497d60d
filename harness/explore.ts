// Exploring interleavings (docs/interrupts.md): the same driver code run once per place an
// interrupt can land. A first run counts the delivery points (every access boundary of main code
// in preemptive mode; every call boundary and poll in deferred mode); then each point in turn gets
// the stimulus that raises the interrupt (a character arriving, a pin changing), so the handler
// runs exactly there. Every run is checked by the scenario's own properties and by the interrupt
// checks of harness/interrupt-checks.ts. A failing run names its point: the accesses on each side
// of where the interrupt landed, and the call they were in.
import type { Bus } from "./bus.js";
import type { DeliveryMode, Interrupts } from "./interrupts.js";
import { checkInterruptCode } from "./interrupt-checks.js";
import { formatAccess, formatCallLine } from "./trace-text.js";

/** What a run needs: a fresh board with interrupts delivered in the exploration's mode. */
export interface ExplorationWorld {
  readonly bus: Bus;
  readonly interrupts: Interrupts;
}

export interface InterleavingScenario<W extends ExplorationWorld> {
  readonly name: string;
  readonly mode: DeliveryMode;
  /** A fresh world for each run: board built, module instantiated, interrupts attached. */
  setup(): W;
  /** The main code: driver calls. Throwing fails the run. */
  run(world: W): void;
  /** What the outside world does at the delivery point under test (raise the interrupt). */
  stimulus(world: W): void;
  /** Properties checked after the run (no byte lost, every error reported); throwing fails it. */
  check(world: W): void;
}

export interface Interleaving {
  /** The delivery point where the stimulus happened. */
  readonly point: number;
  /** Index of the trace entry just after the point (the access the interrupt came before). */
  readonly entry: number;
  /** Where that is, for a person: the call and the accesses on each side. */
  readonly where: string;
  /** What failed, or null. */
  readonly failure: string | null;
  /** Handler entries during the run. */
  readonly handlerEntries: number;
}

export interface ExplorationResult {
  readonly scenario: string;
  readonly mode: DeliveryMode;
  /** Delivery points of the run without stimulus. */
  readonly points: number;
  /** Runs made: one per point, at most `limit`. */
  readonly tried: number;
  readonly failures: readonly Interleaving[];
  /** Every run, in point order. */
  readonly runs: readonly Interleaving[];
}

/** Describes the place of a delivery point: the call, and the accesses before and after it. */
function placeOf(bus: Bus, entry: number): string {
  const trace = bus.trace;
  const show = (seq: number): string => {
    const e = trace.entry(seq);
    return `#${seq} ${formatAccess({ ...e, repeat: 1 }, bus.regions, { lineNames: trace.lineNames })}`;
  };
  const call = trace.callAt(Math.min(entry, trace.length - 1));
  const inCall = call < 0 ? "between calls" : `in ${formatCallLine(trace.calls[call]!.name, trace.calls[call]!.args, bus.regions, trace.registry).slice("call ".length)}`;
  const before = entry > 0 ? `after ${show(entry - 1)}` : "at the start";
  const after = entry < trace.length ? `, before ${show(entry)}` : "";
  return `${inCall}, ${before}${after}`;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs `scenario` once to count its delivery points, then once per point with the stimulus at
 * that point (up to `limit` runs), and reports every run that failed.
 */
export function exploreInterleavings<W extends ExplorationWorld>(scenario: InterleavingScenario<W>, options: { limit?: number } = {}): ExplorationResult {
  const baseline = scenario.setup();
  if (baseline.interrupts.mode !== scenario.mode) throw new Error(`${scenario.name}: setup() attached ${baseline.interrupts.mode} delivery, the exploration is ${scenario.mode}`);
  // Points are counted from the end of setup: the stimulus lands in run(), not before it.
  const baselineStart = baseline.interrupts.points;
  scenario.run(baseline);
  const points = baseline.interrupts.points - baselineStart;
  const limit = Math.min(points, options.limit ?? Infinity);
  const runs: Interleaving[] = [];
  for (let point = 0; point < limit; point++) {
    const world = scenario.setup();
    const start = world.interrupts.points;
    let entry = -1;
    world.interrupts.onPoint = (index) => {
      if (index - start !== point) return;
      entry = world.bus.trace.length;
      scenario.stimulus(world);
    };
    let failure: string | null = null;
    try {
      scenario.run(world);
      scenario.check(world);
      const problems = checkInterruptCode(world.bus);
      if (problems.length > 0) failure = problems.map((p) => p.message).join("\n");
    } catch (e) {
      failure = messageOf(e);
    }
    const where = entry < 0 ? "the point was not reached (the run took another path)" : placeOf(world.bus, entry);
    runs.push({ point, entry, where, failure: failure === null ? null : `interrupt at point ${point}, ${where}:\n${failure}`, handlerEntries: world.interrupts.entries });
  }
  return { scenario: scenario.name, mode: scenario.mode, points, tried: runs.length, failures: runs.filter((r) => r.failure !== null), runs };
}
