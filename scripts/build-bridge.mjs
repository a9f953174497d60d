#!/usr/bin/env node
// Builds the native /dev/mem bridge (harness/devmem/devmem.cc) with node-gyp. It is the package's
// install step, so `npm ci` runs it; the bridge is optional, so a build that cannot work here (no
// compiler, no make, no python3, not Linux) prints one warning and leaves the reason in
// harness/devmem/build/unavailable.txt, which the bridge quotes when someone tries to use it.
// Everything else in the package works without it.
//
//   node scripts/build-bridge.mjs            build; warn and exit 0 on failure
//   node scripts/build-bridge.mjs --strict   build; exit 1 on failure (for a board that needs it)
//   WASM_HAL_SKIP_BRIDGE=1                   skip the build (the bridge then says so)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const directory = join(root, "harness", "devmem");
const addon = join(directory, "build", "Release", "devmem.node");
const note = join(directory, "build", "unavailable.txt");
const strict = process.argv.includes("--strict");

function fail(reason, log = "") {
  // No stale addon from an earlier build: after this step there is either a working one or a note.
  rmSync(addon, { force: true });
  mkdirSync(dirname(note), { recursive: true });
  writeFileSync(note, reason + "\n");
  if (log !== "") writeFileSync(join(directory, "build", "build.log"), log);
  const where = log === "" ? "" : ` (node-gyp output: ${join("harness", "devmem", "build", "build.log")})`;
  process.stderr.write(`wasm-hal: warning: the native /dev/mem bridge was not built: ${reason}${where}. ` +
    "Everything else works; the bridge says why it is missing when used.\n");
  process.exit(strict ? 1 : 0);
}

/** node-gyp: the copy npm points its scripts at, else the one bundled with npm, else node_modules. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return createRequire(join(root, "package.json")).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    return undefined;
  }
}

/** The first of `names` found on PATH. */
function onPath(names) {
  for (const name of names) {
    const found = spawnSync("sh", ["-c", 'command -v -- "$1"', "sh", name], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim() !== "") return name;
  }
  return undefined;
}

if (process.env.WASM_HAL_SKIP_BRIDGE) fail("WASM_HAL_SKIP_BRIDGE is set, so the install step skipped it");
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
