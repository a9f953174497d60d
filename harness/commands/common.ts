// Pieces every `wasm-hal` command shares: argument errors, the project, number parsing, byte
// quoting.
import { packageRegistry, type Project } from "../project.js";
import type { Registry } from "../registry.js";

/** A command-line mistake: the CLI prints one line on stderr and exits with status 2. */
export class UsageError extends Error {}

/** Errors that report the user's input or the run of their driver, not a bug of the harness:
 * the CLI prints the message (no stack) and exits with status 1. */
const REPORTED = new Set([
  "HalError", "ScenarioFailure", "ScenarioCannotRun", "ModelUnavailable", "ReplayDivergence", "BoardFileError",
  "ConfigError", "RegisterMapError", "JsonFileError", "ModuleFileError", "SvdError", "TraceParseError", "AccessBudgetExceeded",
]);

export function isReportedError(e: unknown): e is Error {
  return e instanceof Error && REPORTED.has(e.name);
}

/** A command: takes the arguments after its name, returns the exit status. */
export interface Command {
  readonly name: string;
  /** One line for `wasm-hal help`. */
  readonly summary: string;
  /** Options, one per line, for `wasm-hal help`. */
  readonly usage: string;
  run(argv: string[], context: CommandContext): number | Promise<number>;
}

/** What the CLI hands a command besides its arguments. */
export interface CommandContext {
  /** The project the command runs in: --config, else the nearest wasm-hal.config.* at or above
   * the working folder. Fails (ConfigError) when there is none. */
  project(): Promise<Project>;
  /** The same, or the package's own project when there is no config (for commands that work
   * anywhere: demo, show, vcd). */
  projectOrPackage(): Promise<Project>;
}

export function positiveInteger(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`--${option} expects a positive integer, got "${text}"`);
  const n = Number(text);
  if (n <= 0 || n > 0xffffffff) throw new UsageError(`--${option} must be between 1 and 4294967295, got ${text}`);
  return n;
}

/** A byte string as people read it: printable ASCII, escapes for the rest. */
export function quote(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0d) s += "\\r";
    else if (b === 0x0a) s += "\\n";
    else if (b === 0x22 || b === 0x5c) s += "\\" + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += "\\x" + b.toString(16).padStart(2, "0");
  }
  return `"${s}"`;
}

/** A driver's return value as the registry prints it for that export (a status with its name,
 * a count or a pin set without one). */
export function result(value: number, exportName = "", registry: Registry = packageRegistry()): string {
  return registry.formatResult(exportName, value);
}
