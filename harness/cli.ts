#!/usr/bin/env node
// The `wasm-hal` command: finds the project (--config, else the nearest wasm-hal.config.* at or
// above the working folder) and dispatches to the commands in harness/commands/. A mistake in
// the command line exits with 2, a failure with 1; either is one line on stderr.
import { ConfigError, loadProject, loadProjectFile, packageProject, suggest, type Project } from "./project.js";
import { type Command, type CommandContext, UsageError, isReportedError } from "./commands/common.js";
import { demo } from "./commands/demo.js";
import { record } from "./commands/record.js";
import { check } from "./commands/check.js";
import { show } from "./commands/show.js";
import { vcd } from "./commands/vcd.js";
import { fuzzCommand } from "./commands/fuzz.js";
import { gen } from "./commands/gen.js";
import { svdCommand } from "./commands/svd.js";
// Device kinds that board files may name besides the models: each module registers its kind.
import "./devices/replay.js";
import "./devmem/board-kind.js";

/** The --config option, taken out of the arguments wherever it stands. */
function takeConfig(argv: string[]): { config: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === "--config" || a === "-c") {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith("-")) throw new UsageError(`${a} needs the path of a wasm-hal.config.json (or .mjs)`);
      config = value;
      i++;
    } else if (a.startsWith("--config=")) {
      config = a.slice("--config=".length);
    } else {
      rest.push(a);
    }
  }
  return { config, rest };
}

function contextFor(config: string | undefined): CommandContext {
  let loaded: Promise<Project> | undefined;
  const project = (): Promise<Project> => (loaded ??= config === undefined ? loadProject() : loadProjectFile(config));
  return {
    project,
    projectOrPackage: async () => {
      try {
        return await project();
      } catch (e) {
        // Only "no config here" falls back; a broken config is reported.
        if (config === undefined && e instanceof ConfigError && e.problem.startsWith("no wasm-hal.config")) return packageProject();
        throw e;
      }
    },
  };
}

const COMMANDS: readonly Command[] = [demo, record, check, show, vcd, fuzzCommand, gen, svdCommand];

function usage(): string {
  const lines = ["usage: wasm-hal [--config FILE] <command> [options]", "", "commands:"];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(10)}${c.summary}`);
  lines.push(`  ${"help".padEnd(10)}print this text`);
  lines.push("", "--config FILE   the project config (default: the nearest wasm-hal.config.json, .mjs or .js");
  lines.push("                at or above the working folder)");
  for (const c of COMMANDS) lines.push("", `${c.name} options:`, c.usage);
  return lines.join("\n");
}


export async function main(argv: string[]): Promise<number> {
  try {
    const { config, rest } = takeConfig(argv);
    const [name, ...args] = rest;
    if (name === "help" || name === "--help" || name === "-h") {
      process.stdout.write(usage() + "\n");
      return 0;
    }
    if (name === undefined) throw new UsageError("missing command (try `wasm-hal demo`, or `wasm-hal help`)");
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) throw new UsageError(`unknown command "${name}"${suggest(name, COMMANDS.map((c) => c.name))} (commands: ${COMMANDS.map((c) => c.name).join(", ")}, help)`);
    return await command.run(args, contextFor(config));
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`wasm-hal: ${e.message}\n`);
      return 2;
    }
    if (isReportedError(e)) {
      process.stderr.write(`wasm-hal: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

// Output piped into `head` ends quietly: a closed stdout is not an error of ours.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
