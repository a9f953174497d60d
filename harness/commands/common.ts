// Pieces every `wasm-hal` command shares: argument errors, the project, files, number parsing,
// byte quoting.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { packageRegistry, type Project } from "../project.js";
import type { Registry } from "../registry.js";

/** A command-line mistake: the CLI prints one line on stderr and exits with status 2. */
export class UsageError extends Error {}

/** Errors that report the user's input or the run of their driver, not a bug of the harness:
 * the CLI prints the message (no stack) and exits with status 1. */
const REPORTED = new Set([
  "HalError", "ScenarioFailure", "ScenarioCannotRun", "ModelUnavailable", "ReplayDivergence", "BoardFileError",
  "ConfigError", "RegisterMapError", "JsonFileError", "ModuleFileError", "SvdError", "TraceParseError", "AccessBudgetExceeded",
  "InputFileError",
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

/** The text of an input file, or a one-line error naming it: the same words for every command. */
export function readInputFile(file: string, what = "file"): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? `no such ${what}` : code === "EISDIR" ? `is a folder: expected a ${what}` : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new InputFileError(`${file}: cannot read it: ${why}`);
  }
}

/** Writes an output file, or fails with one line naming it and why (a missing folder, a folder
 * given as the file, no permission, a full disk). */
export function writeOutputFile(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? `the folder ${dirname(file)} does not exist`
      : code === "EISDIR" ? "is a folder: expected a file name"
      : code === "EACCES" || code === "EPERM" ? "permission denied"
      : code === "EROFS" ? "the file system is read-only"
      : code === "ENOSPC" ? "no space left on the device"
      : code === "ENOTDIR" ? `a part of the path is not a folder`
      : (e as Error).message;
    throw new InputFileError(`${file}: cannot write it: ${why}`);
  }
}

/** An input or output file that cannot be used: the CLI prints the line and exits with 1. */
export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputFileError";
  }
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

