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
    join(boards, "wamr", "hal_natives.c"), join(boards, "wamr", "hal_irq.c"), join(boards, "host", "hal_scenario.c"), join(boards, "wasm2c", "hal_w2c_run.c"),
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

/**
 * Compiles the board C code that no parity host links, so that CI notices when it breaks: the
 * WAMR glue (boards/wamr/hal_wamr.c, hal_wamr_native_lib.c) and hal-run (boards/linux/hal_run.c)
 * against test/parity/wamr-api/wasm_export.h, a stand-in that declares the part of WAMR's API
 * they use (CI has no WAMR checkout), and the natives, interrupt and scenario cores with the
 * compile-time options a small board sets. Syntax and types only (-fsyntax-only): WAMR itself is
 * built and run by hand (docs/deploy.md). Returns the commands run.
 */
export function checkBoardSources(tools: Toolchain): string[] {
  const root = packageRoot();
  const boards = join(root, "boards");
  const includes = [`-I${join(root, "test", "parity", "wamr-api")}`, `-I${join(boards, "wamr")}`, `-I${join(boards, "host")}`];
  const strict = ["-std=gnu99", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"];
  const checks: [string[], string][] = [
    [[join(boards, "wamr", "hal_wamr.c")], "the WAMR natives"],
    [[join(boards, "wamr", "hal_wamr_native_lib.c")], "the natives for wamrc --native-lib"],
    [[join(boards, "linux", "hal_run.c")], "hal-run"],
    [["-std=c99", "-pedantic", join(boards, "wamr", "hal_irq.c")], "the interrupt core"],
    [["-std=c99", "-pedantic", "-DHAL_IRQ_MAX_LINES=32", "-DHAL_IRQ_MAX_DEPTH=2", join(boards, "wamr", "hal_irq.c")], "the interrupt core, small"],
    [["-std=c99", "-pedantic", "-DHAL_NATIVES_TRACE=0", join(boards, "wamr", "hal_natives.c")], "the natives without the trace writer"],
  ];
  const commands: string[] = [];
  for (const [files, what] of checks) {
    const args = [...strict, ...includes, ...files];
    run(tools.cc, args, `compiling ${what}`);
    commands.push(`${tools.cc} ${args.join(" ")}`);
  }
  return commands;
}

/** Builds the interrupt core's self-test (boards/host/hal_irq_test.c). */
export function buildIrqTest(tools: Toolchain): string {
  const root = packageRoot();
  const dir = join(root, "build", "c");
  mkdirSync(dir, { recursive: true });
  const boards = join(root, "boards");
  const program = join(dir, "hal-irq-test");
  run(tools.cc, [
    "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror",
    `-I${join(boards, "wamr")}`,
    join(boards, "wamr", "hal_irq.c"), join(boards, "wamr", "hal_natives.c"), join(boards, "host", "hal_irq_test.c"),
    "-o", program,
  ], "compiling the interrupt core's self-test");
  return program;
}
