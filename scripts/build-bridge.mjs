#!/usr/bin/env node
// Builds the native /dev/mem bridge (harness/devmem/devmem.cc) with node-gyp. The bridge is
// optional, so a build that cannot work here (no compiler, no make, no python3, not Linux) prints
// one warning, exits 0 and leaves the reason in harness/devmem/build/unavailable.txt, which the
// bridge quotes when someone tries to use it; so does an error of this script's own. Everything
// else in the package works without the bridge.
//
// In this repository `npm test` runs it (the `pretest` script). The published package has no
// install script at all, so installing it never runs, waits for or fails on a compiler, whatever
// npm's policy on dependencies' install scripts (allowScripts, --ignore-scripts, pnpm, bun): a
// user who wants the bridge runs `node node_modules/wasm-hal/scripts/build-bridge.mjs`, which the
// bridge's own error message spells out. It needs only Node, the node-gyp that comes with npm and
// the node-addon-api dependency: no devDependency.
//
//   node scripts/build-bridge.mjs              build; warn and exit 0 on failure
//   node scripts/build-bridge.mjs --strict     build; exit 1 on failure (for a board that needs it)
//   node scripts/build-bridge.mjs --if-needed  build unless a loadable addon newer than its sources is there
//   WASM_HAL_SKIP_BRIDGE=1                     skip the build (the bridge then says so)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const directory = join(root, "harness", "devmem");
const addon = join(directory, "build", "Release", "devmem.node");
const note = join(directory, "build", "unavailable.txt");
const strict = process.argv.includes("--strict");

/** This script as a command to type where npm was run (INIT_CWD), which in a user's project is
 * `node node_modules/wasm-hal/scripts/build-bridge.mjs`. */
function rerunCommand() {
  const script = join(root, "scripts", "build-bridge.mjs");
  const from = process.env.INIT_CWD || process.cwd();
  const near = relative(from, script);
  const shown = near === "" || near.startsWith("..") || isAbsolute(near) ? script : near;
  return `node ${/\s/.test(shown) ? JSON.stringify(shown) : shown}`;
}

function fail(reason, log = "") {
  // No stale addon from an earlier build: after this step there is either a working one or a note.
  // The note is best effort: a read-only package folder must not turn a warning into a failure.
  let where = "";
  try {
    rmSync(addon, { force: true });
    mkdirSync(dirname(note), { recursive: true });
    writeFileSync(note, reason + "\n");
    if (log !== "") {
      writeFileSync(join(directory, "build", "build.log"), log);
      where = ` (node-gyp output: ${join("harness", "devmem", "build", "build.log")})`;
    }
  } catch {
    // The warning below still says why.
  }
  process.stderr.write(`wasm-hal: warning: the native /dev/mem bridge was not built: ${reason}${where}. ` +
    `Everything else works; to build it later: ${rerunCommand()}\n`);
  process.exit(strict ? 1 : 0);
}

/** node-gyp: the copy npm points its scripts at, else the one bundled with the npm beside node or
 * on PATH (when run by hand, outside npm), else node_modules. */
function findNodeGyp() {
  const bundled = (npmRoot) => join(npmRoot, "node_modules", "node-gyp", "bin", "node-gyp.js");
  const candidates = [
    process.env.npm_config_node_gyp,
    bundled(join(dirname(process.execPath), "..", "lib", "node_modules", "npm")),
  ];
  const npm = whereOnPath("npm");
  if (npm !== undefined) {
    // PATH's npm is usually a link to <npm>/bin/npm-cli.js.
    try {
      candidates.push(bundled(join(dirname(realpathSync(npm)), "..")));
    } catch {
      // A shell function or an alias, not a file: no node-gyp to find beside it.
    }
  }
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return createRequire(join(root, "package.json")).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    return undefined;
  }
}

/** Where the shell finds command `name`, or undefined. */
function whereOnPath(name) {
  const found = spawnSync("sh", ["-c", 'command -v -- "$1"', "sh", name], { encoding: "utf8" });
  return found.status === 0 && found.stdout.trim() !== "" ? found.stdout.trim() : undefined;
}

/** The first of `names` found on PATH. */
function onPath(names) {
  return names.find((name) => whereOnPath(name) !== undefined);
}

/** Whether the addon is there, newer than what it is built from, and loads in this node. */
function isUpToDate() {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  if (["devmem.cc", "binding.gyp"].some((source) => statSync(join(directory, source)).mtimeMs > built)) return false;
  return spawnSync(process.execPath, ["-e", `require(${JSON.stringify(addon)})`]).status === 0;
}

// An error of this script's own (a missing shell, a file it cannot read) is still only a warning.
process.on("uncaughtException", (e) => fail(`the build step itself failed: ${e instanceof Error ? e.message : String(e)}`));

if (process.env.WASM_HAL_SKIP_BRIDGE) fail("WASM_HAL_SKIP_BRIDGE is set, so the build was skipped");
if (process.argv.includes("--if-needed") && isUpToDate()) {
  process.stdout.write(`wasm-hal: the native /dev/mem bridge is up to date (${join("harness", "devmem", "build", "Release", "devmem.node")})\n`);
  process.exit(0);
}
if (process.platform !== "linux") fail(`the bridge runs on Linux only (this is ${process.platform})`);

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) fail("node-gyp was not found (it comes with npm; is npm installed beside node?)");
// Say plainly what is missing before node-gyp says it in forty lines.
const compiler = process.env.CXX ? process.env.CXX.split(/\s+/)[0] : onPath(["g++", "c++", "clang++"]);
if (compiler === undefined || onPath([compiler]) === undefined) fail(`no C++ compiler (${process.env.CXX ? `CXX=${process.env.CXX} is not runnable` : "g++, c++ or clang++"}) on PATH`);
if (onPath(["make"]) === undefined) fail("make is not on PATH");
if (!process.env.PYTHON && onPath(["python3", "python"]) === undefined) fail("python3 (which node-gyp runs) is not on PATH");

const args = [nodeGyp, "rebuild", `--directory=${directory}`];
// Node's own headers, when they sit beside the binary (distribution packages, official tarballs):
// node-gyp would otherwise try to download them. npm passes its own nodedir setting through
// npm_config_nodedir, which node-gyp reads by itself.
const prefix = join(dirname(process.execPath), "..");
if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);

const build = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: process.env });
const log = `${build.stdout ?? ""}${build.stderr ?? ""}`;
if (build.error !== undefined || build.status !== 0 || !existsSync(addon)) {
  // The most telling line: the compiler's own error, else node-gyp's summary, else any error.
  const lines = log.split("\n").map((line) => line.trim());
  const telling = lines.find((l) => /: (fatal )?error: /.test(l)) ??
    lines.find((l) => l.startsWith("gyp ERR! stack Error: "))?.slice("gyp ERR! stack ".length) ??
    lines.find((l) => /error/i.test(l) && !l.startsWith("gyp info")) ??
    build.error?.message ?? `node-gyp exited with status ${build.status}`;
  fail(`node-gyp could not build it with ${compiler}: ${telling}`, log);
}

// The addon must load in this very node (same ABI); a build that produced something unloadable is
// a failure too.
const check = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(addon)})`], { encoding: "utf8" });
if (check.status !== 0) {
  rmSync(addon, { force: true });
  fail(`the built addon does not load: ${(check.stderr.split("\n").find((l) => /Error/.test(l)) ?? "").trim()}`, log);
}
rmSync(note, { force: true });
process.stdout.write(`wasm-hal: built the native /dev/mem bridge (${join("harness", "devmem", "build", "Release", "devmem.node")})\n`);
