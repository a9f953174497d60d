// `wasm-hal demo`: the project's demo scenarios (config key "demo", else all) against its fake
// devices; the first with its whole trace, the others summarized. Without a project config it
// runs the package's own project: the four PrimeCell drivers on the Versatile board.
import { parseArgs } from "node:util";
import { formatTrace } from "../trace-text.js";
import { lintTrace, lintReport } from "../lint.js";
import { FLAG_DMA, FLAG_IRQ, OP_IRQ, IRQ_ENTER } from "../trace.js";
import { ENTER_PREEMPTIVE } from "../interrupts.js";
import { runScenario, type ScenarioRun } from "../scenario.js";
import { displayPath } from "../project.js";
import { prepareProject } from "../project-modules.js";
import { type Command, type CommandContext, UsageError, result } from "./common.js";

/** Up to this many calls are listed one by one; a longer scenario is summarized per export. */
const MAX_LISTED_CALLS = 12;

/** What a scenario did: its own phase comments, then its calls (or their count per export). */
function scenarioLines(run: ScenarioRun): string[] {
  const lines = run.notes.map((n) => `  # ${n.text}`);
  const calls = run.board.bus.trace.calls;
  const registry = run.board.hal.registry;
  if (calls.length <= MAX_LISTED_CALLS) {
    for (const c of calls) {
      lines.push(`  ${registry.formatCall(c.name, c.args, run.board.bus.regions)} = ${c.result === undefined ? "did not return" : result(c.result, c.name, registry)}`);
    }
    return lines;
  }
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  const failed = calls.filter((c) => c.result === undefined || c.result < 0).length;
  lines.push(`  ${calls.length} calls: ${[...counts].map(([name, n]) => `${name} x${n}`).join(", ")}; ${failed === 0 ? "none returned an error" : `${failed} returned an error`}`);
  return lines;
}

/** The summary of a scenario's run: accesses, DMA share, virtual time, lint. */
function outcomeLine(run: ScenarioRun): { line: string; lintErrors: number } {
  const bus = run.board.bus;
  const errors = lintTrace(bus.trace, bus.regions).filter((f) => f.severity === "error");
  const entries = [...bus.trace.entries()];
  const dma = entries.filter((e) => (e.flags & FLAG_DMA) !== 0).length;
  const handlers = entries.filter((e) => e.op === OP_IRQ && e.width === IRQ_ENTER);
  const inHandlers = entries.filter((e) => (e.flags & FLAG_IRQ) !== 0 && e.op !== OP_IRQ).length;
  const preemptive = handlers.filter((e) => (e.value & ENTER_PREEMPTIVE) !== 0).length;
  const accesses = bus.trace.length - 2 * handlers.length;
  const shares = [
    ...(dma > 0 ? [`${dma} by another bus master`] : []),
    ...(handlers.length > 0 ? [`${inHandlers} in ${handlers.length} interrupt handler runs, ${preemptive} of them preemptive`] : []),
  ];
  const line = `ok: ${accesses} accesses${shares.length > 0 ? ` (${shares.join("; ")})` : ""}, ${(bus.clock.now / 1e6).toFixed(3)} ms of virtual time, lint ${errors.length === 0 ? "clean" : `${errors.length} errors`}`;
  return { line, lintErrors: errors.length };
}

async function run(argv: string[], context: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "no-trace": { type: "boolean" },
      "no-collapse": { type: "boolean" },
      only: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const { project, scenarios } = await prepareProject(await context.projectOrPackage());
  const names = values.only !== undefined ? [values.only] : project.config.demo ?? scenarios.map((s) => s.name);
  const chosen = names.map((name) => {
    const s = scenarios.find((x) => x.name === name);
    if (s === undefined) throw new UsageError(`no scenario named "${name}" (scenarios: ${scenarios.map((x) => x.name).join(", ") || "none"})`);
    return s;
  });
  if (chosen.length === 0) throw new UsageError(`${project.configFile === null ? "the project" : displayPath(project.configFile)} names no scenario to run: add a scenario module to "scenarios"`);
  const out: string[] = [];
  const where = project.configFile === null ? "" : ` (${displayPath(project.configFile)})`;
  out.push(`wasm-hal demo: ${chosen.length} scenario${chosen.length === 1 ? "" : "s"} of the project${where} against its fake devices`);
  let ok = true;
  chosen.forEach((scenario, i) => {
    out.push("", `${scenario.name}: ${scenario.summary}`);
    try {
      const run = runScenario(scenario, { project });
      const bus = run.board.bus;
      out.push(...scenarioLines(run));
      if (i === 0 && !values["no-trace"]) {
        out.push("", `trace: ${bus.trace.length} accesses${values["no-collapse"] ? "" : ", identical consecutive reads collapsed (xN)"}`);
        out.push(formatTrace(bus.trace, bus.regions, { collapse: !values["no-collapse"] }).trimEnd(), "");
        const findings = lintTrace(bus.trace, bus.regions);
        if (findings.length > 0) out.push(`lint:\n${lintReport(findings)}`);
      }
      const { line, lintErrors } = outcomeLine(run);
      out.push(`  ${line}`);
      if (lintErrors > 0) ok = false;
    } catch (e) {
      out.push(`  FAILED: ${e instanceof Error ? e.message : String(e)}`);
      ok = false;
    }
  });
  if (chosen.length > 1) out.push("", `\`wasm-hal record <name>\` prints the whole trace of each; \`wasm-hal check\` compares them with the golden files.`);
  process.stdout.write(out.join("\n") + "\n");
  return ok ? 0 : 1;
}

export const demo: Command = {
  name: "demo",
  summary: "run the project's demo scenarios against its fake devices, the first with its whole trace",
  usage: `  --only NAME     run only this scenario (with its trace)
  --no-trace      do not print the first scenario's trace
  --no-collapse   print every poll read on its own line`,
  run,
};
