#!/usr/bin/env node
// Runs `npm run build` only when the outputs are missing or older than their sources, so that
// `npm run demo` or `bench` after a build (`npm test`'s pretest, `npm pack`'s prepack) starts at
// once instead of rebuilding for half a minute, and right after `npm ci` builds once. `npm test`
// does not use it: its pretest always builds in full, since the tests must test fresh builds.
//
// A full build ends with `node scripts/ensure-built.mjs --record`, which writes build/.built; the
// build is fresh when that file and every output exist and no source is newer than the file. A
// build that failed halfway never writes it, so the next run builds again (tsc, for one, emits
// its JavaScript even when the types are wrong: fresh-looking outputs prove nothing).
//
//   node scripts/ensure-built.mjs            build if needed, saying why (on stderr)
//   node scripts/ensure-built.mjs --fresh    remove dist/ and build in full whatever the times say
//                                            (`prepack`: no output of a deleted source is packed)
//   node scripts/ensure-built.mjs --record   note that a full build has just succeeded
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const stamp = join(root, "build", ".built");

/** What `npm run build` makes; one missing means a build is due whatever the times say. */
const OUTPUTS = ["build/hal.wasm", "build/hal.debug.wasm", "build/stm32f4.wasm", "build/stm32f4.debug.wasm", "build/coverage/hal.wasm", "build/coverage/stm32f4.wasm", "dist/harness/cli.js", "dist/bench/bench.js"];

/** What the build reads: folders are walked (skipping node_modules and build folders, such as
 * the native bridge's harness/devmem/build), files taken as they are. */
const SOURCES = [
  "assembly", "registers", "harness", "zoo", "bench", "scripts",
  "asconfig.json", "tsconfig.json", "tsconfig.gen.json", "wasm-hal.config.json", "package.json",
];
const SKIPPED_FOLDERS = new Set(["node_modules", "build"]);

/** The most recently modified file at or under `path`, or undefined if there is none. */
function newest(path) {
  if (!existsSync(path)) return undefined;
  const stat = statSync(path);
  if (!stat.isDirectory()) return { path, mtimeMs: stat.mtimeMs };
  let found;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory() && SKIPPED_FOLDERS.has(entry.name)) continue;
    const candidate = newest(join(path, entry.name));
    if (candidate !== undefined && (found === undefined || candidate.mtimeMs > found.mtimeMs)) found = candidate;
  }
  return found;
}

/** Why a build is needed, or undefined when the last full build is still fresh. */
function reasonToBuild() {
  const missing = OUTPUTS.find((output) => !existsSync(join(root, output)));
  if (missing !== undefined) return `${missing} is missing`;
  if (!existsSync(stamp)) return "no full build has been recorded here (build/.built)";
  const built = statSync(stamp).mtimeMs;
  for (const source of SOURCES) {
    const changed = newest(join(root, source));
    if (changed !== undefined && changed.mtimeMs > built) return `${relative(root, changed.path)} changed after the last full build`;
  }
  return undefined;
}

if (process.argv.includes("--record")) {
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `last full build: ${new Date().toISOString()}\n`);
  process.exit(0);
}

let reason;
if (process.argv.includes("--fresh")) {
  // tsc never deletes what it emitted for a source that is gone; asc rewrites build/ in full.
  rmSync(join(root, "dist"), { recursive: true, force: true });
  reason = "a fresh build was asked for (dist/ removed)";
} else {
  reason = reasonToBuild();
  if (reason === undefined) process.exit(0);
}
process.stderr.write(`wasm-hal: building first (npm run build), since ${reason}\n`);
// The npm that runs this script, else the one on PATH. The build's output goes to stderr, so
// that what the caller prints next (`npm run -s bench -- --json`) stays alone on stdout.
const npm = process.env.npm_execpath;
const build = npm !== undefined && npm.endsWith(".js")
  ? spawnSync(process.execPath, [npm, "run", "build"], { cwd: root, stdio: ["ignore", 2, 2] })
  : spawnSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", 2, 2], shell: process.platform === "win32" });
if (build.error !== undefined) {
  process.stderr.write(`wasm-hal: could not run npm run build: ${build.error.message}\n`);
  process.exit(1);
}
process.exit(build.status ?? 1);
