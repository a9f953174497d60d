// Builds the wasm2c parity host: build/hal.wasm -> C (wasm2c) -> linked with the natives core,
// the scenario player and the glue generated from wasm2c's header -> build/c/hal-w2c-run.
// Everything it writes goes to build/c/.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { packageRoot, wasmPath } from "../../harness/hal.js";

export interface Toolchain {
  readonly wasm2c: string;
  readonly cc: string;
  /** Folder with wasm-rt-impl.c (and wasm-rt-impl.h): wasm2c's runtime. */
  readonly runtime: string;
}

/** Where distributions put wasm2c's runtime sources (Debian's wabt: /usr/share/wabt/wasm2c). */
const RUNTIME_DIRS = ["/usr/share/wabt/wasm2c", "/usr/src/wasm2c", "/usr/local/share/wabt/wasm2c", "/usr/local/src/wasm2c"];

function runs(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { encoding: "utf8" });
  return r.error === undefined && r.status === 0;
}

/** The tools, or the reason they cannot be had. WASM2C, CC and WASM2C_RUNTIME override. */
export function findToolchain(): Toolchain | string {
  const wasm2c = process.env.WASM2C ?? "wasm2c";
  const cc = process.env.CC ?? "cc";
  const missing: string[] = [];
  if (!runs(wasm2c, ["--version"])) missing.push(`${wasm2c} (Debian: apt-get install wabt)`);
  if (!runs(cc, ["--version"])) missing.push(`a C compiler ${cc} (Debian: apt-get install gcc)`);
  const candidates = process.env.WASM2C_RUNTIME !== undefined ? [process.env.WASM2C_RUNTIME] : RUNTIME_DIRS;
  const runtime = candidates.find((d) => existsSync(join(d, "wasm-rt-impl.c")));
  if (runtime === undefined) missing.push(`wasm2c's runtime wasm-rt-impl.c (looked in ${candidates.join(", ")}; set WASM2C_RUNTIME)`);
  if (missing.length > 0) return `missing: ${missing.join("; ")}`;
  return { wasm2c, cc, runtime: runtime! };
}

function run(command: string, args: string[], what: string): void {
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 16 << 20 });
  if (r.error !== undefined) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n$ ${command} ${args.join(" ")}\n${r.stdout}${r.stderr}`);
}

export interface ParityHost {
  /** The host program: `hal-w2c-run [--trace FILE] SCENARIO`. */
  readonly program: string;
  /** The folder it was built in, for scenario and trace files. */
  readonly dir: string;
}

/** Translates a module with wasm2c and builds the host for it, in build/c/ (or build/c/<folder>/
 * for another family's module, so that test files running side by side keep apart). */
export function buildParityHost(tools: Toolchain, module = wasmPath("release"), folder = ""): ParityHost {
  const root = packageRoot();
  const dir = join(root, "build", "c", folder);
  mkdirSync(dir, { recursive: true });
  const boards = join(root, "boards");
  run(tools.wasm2c, [module, "-n", "hal", "-o", join(dir, "hal.c")], "wasm2c");
  run(process.execPath, [join(boards, "wasm2c", "gen-glue.mjs"), join(dir, "hal.h"), "-o", join(dir, "hal_glue.c")], "gen-glue");
  const program = join(dir, "hal-w2c-run");
  run(tools.cc, [
    "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror=implicit-function-declaration",
    // wasm2c's own code warns about unused parameters and traps in expressions: not ours.
    "-Wno-unused-parameter", "-Wno-unused-value", "-Wno-unused-function",
    `-I${dir}`, `-I${tools.runtime}`, `-I${join(boards, "wamr")}`, `-I${join(boards, "host")}`, `-I${join(boards, "wasm2c")}`,
    join(dir, "hal.c"), join(dir, "hal_glue.c"), join(tools.runtime, "wasm-rt-impl.c"),
    join(boards, "wamr", "hal_natives.c"), join(boards, "host", "hal_scenario.c"), join(boards, "wasm2c", "hal_w2c_run.c"),
    "-o", program, "-lm",
  ], "compiling the wasm2c host");
  return { program, dir };
}

/** Builds a C program of the natives core with its self-test. */
export function buildNativesTest(tools: Toolchain): string {
  const root = packageRoot();
  const dir = join(root, "build", "c");
  mkdirSync(dir, { recursive: true });
  const boards = join(root, "boards");
  const program = join(dir, "hal-natives-test");
  run(tools.cc, [
    "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror",
    `-I${join(boards, "wamr")}`,
    join(boards, "wamr", "hal_natives.c"), join(boards, "host", "hal_natives_test.c"),
    "-o", program,
  ], "compiling the natives self-test");
  return program;
}
