// `wasm-hal record`: runs one scenario and prints its trace in the text form of
// docs/trace-format.md (what a golden file holds), or writes it to a file.
import { parseArgs } from "node:util";
import { formatScenarioTrace, runScenario, type Scenario } from "../scenario.js";
import { prepareProject } from "../project-modules.js";
import { resolve } from "node:path";
import { type Command, type CommandContext, UsageError, isReportedError, writeOutputFile } from "./common.js";

/** A problem with the scenario, its board or a call, reported as a message; a bug (TypeError
 * and the like) keeps its stack and is rethrown. */
export function reportRunError(e: unknown): number {
  if (isReportedError(e) || (e instanceof Error && e.constructor === Error)) {
    process.stderr.write(`wasm-hal: ${e.message}\n`);
    return 1;
  }
  throw e;
}

function list(scenarios: readonly Scenario[]): string {
  if (scenarios.length === 0) return "";
  const width = Math.max(...scenarios.map((s) => s.name.length));
  return scenarios.map((s) => `${s.name.padEnd(width)}  ${s.summary}`).join("\n") + "\n";
}

async function run(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      output: { type: "string", short: "o" },
      board: { type: "string" },
      list: { type: "boolean" },
      module: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  const { project, scenarios } = await prepareProject(await context.project());
  if (values.list) {
    process.stdout.write(list(scenarios));
    return 0;
  }
  const names = scenarios.map((s) => s.name).join(", ") || "none";
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `record needs a scenario name (scenarios: ${names})` : `record takes one scenario, got ${positionals.length}`);
  const scenario = scenarios.find((s) => s.name === positionals[0]);
  if (scenario === undefined) throw new UsageError(`no scenario named "${positionals[0]}" (scenarios: ${names})`);
  let text: string;
  try {
    const run = runScenario(scenario, {
      project,
      ...(values.board === undefined ? {} : { board: values.board }),
      ...(values.module === undefined ? {} : { modulePath: resolve(values.module) }),
    });
    try {
      text = formatScenarioTrace(run);
    } finally {
      run.board.close(); // unmaps and unlocks /dev/mem windows at once
    }
  } catch (e) {
    return reportRunError(e);
  }
  if (values.output === undefined) {
    process.stdout.write(text);
  } else {
    writeOutputFile(values.output, text);
    process.stdout.write(`wrote ${values.output}: ${scenario.name}, ${text.split("\n").length - 1} lines\n`);
  }
  return 0;
}

export const record: Command = {
  name: "record",
  summary: "run a scenario and print its trace (what a golden file holds)",
  usage: `  SCENARIO        the scenario to run (--list lists them)
  -o, --output F  write the trace to F instead of stdout
  --board B       run it on board B (a board's name or a board file) instead of its own: real
                  hardware (devmem) or a replay of a recording runs its driver calls, skips its
                  inspections, and refuses, before touching anything, a scenario that stimulates models
  --module F      run another .wasm with the same exports (a changed driver) instead of the project's
  --list          list the scenarios with one line each`,
  run,
};
