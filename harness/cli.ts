#!/usr/bin/env node
// The `wasm-hal` command: finds the project (--config, else the nearest wasm-hal.config.* at or
// above the working folder) and dispatches to the commands in harness/commands/. A mistake in
// the command line exits with 2, a failure with 1; either is one line on stderr.
import { ConfigError, loadProject, loadProjectFile, packageProject, type Project } from "./project.js";
import { suggest } from "./near-miss.js";
import { type Command, type CommandContext, UsageError, isReportedError } from "./commands/common.js";
import { demo } from "./commands/demo.js";
import { record } from "./commands/record.js";
import { check } from "./commands/check.js";
import { show } from "./commands/show.js";
import { vcd } from "./commands/vcd.js";
import { fuzzCommand } from "./commands/fuzz.js";
import { gen } from "./commands/gen.js";
import { svdCommand } from "./commands/svd.js";
import { init } from "./commands/init.js";
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

const COMMANDS: readonly Command[] = [init, demo, record, check, show, vcd, fuzzCommand, gen, svdCommand];

function usage(): string {
  const lines = ["usage: wasm-hal [--config FILE] <command> [options]", "", "commands:"];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(10)}${c.summary}`);
  lines.push(`  ${"help".padEnd(10)}print this text`);
  lines.push("", "--config FILE   the project config (default: the nearest wasm-hal.config.json, .mjs or .js");
  lines.push("                at or above the working folder)");
  for (const c of COMMANDS) lines.push("", `${c.name} options:`, c.usage);
  return lines.join("\n");
}


/** `--runs -5` as `--runs=-5`: for node:util's parseArgs a token that starts with - is an
 * option, so a negative value would be refused as ambiguous instead of reaching the check that
 * says what is allowed. No command takes a negative number as a positional argument. */
function negativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (/^--[a-z][a-z-]*$/.test(a) && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** parseArgs's complaint in this CLI's words: an unknown option with the nearest known one. */
function argumentError(e: TypeError, command: Command | undefined): string {
  const unknown = /^Unknown option '([^']+)'/.exec(e.message)?.[1];
  if (unknown !== undefined && command !== undefined) {
    const known = [...new Set([...command.usage.matchAll(/^\s+(?:-[a-zA-Z], )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!))];
    return `${command.name}: unknown option ${unknown}${suggest(unknown, known)} (options: ${known.join(", ") || "none"}; \`wasm-hal help\` explains them)`;
  }
  return `${command === undefined ? "" : `${command.name}: `}${e.message.replace(/\. To specify a positional argument starting with a '-'.*$/, "").replace(/\s*$/, "")}`;
}

export async function main(argv: string[]): Promise<number> {
  let used: Command | undefined;
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
    used = command;
    return await command.run(negativeValues(args), contextFor(config));
  } catch (e) {
    if (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`wasm-hal: ${argumentError(e, used)}\n`);
      return 2;
    }
    if (e instanceof UsageError) {
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
