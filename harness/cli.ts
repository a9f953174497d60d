#!/usr/bin/env node
// The `wasm-hal` command: dispatches to the commands in harness/commands/.
import { HalError } from "./hal.js";
import { type Command, UsageError } from "./commands/common.js";
import { demo } from "./commands/demo.js";
import { record } from "./commands/record.js";
import { check } from "./commands/check.js";
import { show } from "./commands/show.js";
import { vcd } from "./commands/vcd.js";
import { fuzzCommand } from "./commands/fuzz.js";
// Device kinds that board files may name besides the models: each module registers its kind.
import "./devices/replay.js";
import "./devmem/board-kind.js";

const COMMANDS: readonly Command[] = [demo, record, check, show, vcd, fuzzCommand];

function usage(): string {
  const lines = ["usage: wasm-hal <command> [options]", "", "commands:"];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(10)}${c.summary}`);
  lines.push(`  ${"help".padEnd(10)}print this text`);
  for (const c of COMMANDS) lines.push("", `${c.name} options:`, c.usage);
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === "help" || name === "--help" || name === "-h") {
      process.stdout.write(usage() + "\n");
      return 0;
    }
    if (name === undefined) throw new UsageError("missing command (try `wasm-hal demo`, or `wasm-hal help`)");
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(", ")}, help)`);
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`wasm-hal: ${e.message}\n`);
      return 2;
    }
    if (e instanceof HalError) {
      process.stderr.write(`wasm-hal: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
