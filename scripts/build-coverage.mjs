#!/usr/bin/env node
// Builds the coverage builds (docs/fuzzing.md#coverage): every module of the package's config
// (build/hal.wasm, build/stm32f4.wasm) to build/coverage/<name>.wasm with its map beside it
// (build/coverage/<name>.cov.json), and every bug-zoo module (build/zoo/<name>.wasm) to
// build/coverage/zoo/<name>.wasm. Run after build:wasm, build:ts and build:zoo (`npm run build`
// does); it needs the compiled harness (dist/harness/coverage/).
//
// Source lines: the release builds have no source map, so the package's modules are compiled once
// more by asc with the same options and --sourceMap, into a temporary folder; when that twin is
// byte for byte the release module (a source map changes nothing but a custom section at the
// end), its map gives every edge its file and line. The zoo's builds get names only (from their
// .wat). A coverage build whose map records the SHA-256 of the module as it is now is left alone;
// --force rebuilds all.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const force = process.argv.includes("--force");
const dist = join(root, "dist", "harness");
if (!existsSync(join(dist, "coverage", "instrument.js"))) {
  console.error("build-coverage: dist/harness/coverage/instrument.js is missing: run `npm run build:ts` first");
  process.exit(1);
}
const { instrument, functionNamesFromWat } = await import(join(dist, "coverage", "instrument.js"));
const { prebuiltCoveragePath, coverageJsonPath, readCoverageMap, isCurrent } = await import(join(dist, "coverage", "build.js"));
const { packageProject } = await import(join(dist, "project.js"));

/** The asc entry of each of the package's modules (as package.json's build:wasm compiles them). */
const ENTRIES = { hal: "assembly/index.ts", stm32f4: "assembly/stm32f4/index.ts" };

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const rel = (p) => relative(root, p).split("\\").join("/");

function upToDate(out, bytes) {
  if (force || !existsSync(out)) return false;
  try {
    const map = readCoverageMap(out);
    return map !== null && isCurrent(map, sha256(bytes));
  } catch {
    return false;
  }
}

let asc;
let scratch;
/** The source map of a release module, from a twin compiled with --sourceMap, or null. */
async function twinSourceMap(entry, release) {
  asc ??= (await import("assemblyscript/asc")).default;
  scratch ??= mkdtempSync(join(tmpdir(), "wasm-hal-coverage-"));
  const out = join(scratch, `${basename(release, ".wasm")}.wasm`);
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const { error } = await asc.main([entry, "--target", "release", "--outFile", out, "--textFile", out.replace(/\.wasm$/, ".wat"), "--sourceMap"], {
      stdout: { write() {} }, stderr: { write() {} },
    });
    if (error) {
      console.error(`build-coverage: ${entry} with --sourceMap failed (${error.message}: does it still compile?); ${rel(release)} gets no source lines`);
      return null;
    }
  } finally {
    process.chdir(cwd);
  }
  const plain = readFileSync(release);
  const twin = readFileSync(out);
  // The twin must be the release module plus custom sections after it.
  if (twin.length < plain.length || !twin.subarray(0, plain.length).equals(plain) || (twin.length > plain.length && twin[plain.length] !== 0)) {
    console.error(`build-coverage: ${entry} compiled with --sourceMap differs from ${rel(release)} (was it built from other sources?); its coverage build gets no source lines`);
    return null;
  }
  return readFileSync(`${out}.map`, "utf8");
}

function write(out, result) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, result.binary);
  writeFileSync(coverageJsonPath(out), JSON.stringify(result.map, null, 1) + "\n");
}

function watNames(modulePath) {
  const wat = modulePath.replace(/\.wasm$/, ".wat");
  return existsSync(wat) ? functionNamesFromWat(readFileSync(wat, "utf8")) : undefined;
}

let built = 0;
let kept = 0;
const project = packageProject();
for (const name of project.moduleNames()) {
  const release = project.modulePath(name, "release");
  const out = prebuiltCoveragePath(release);
  if (out === null || !existsSync(release)) continue;
  const bytes = readFileSync(release);
  if (upToDate(out, bytes)) {
    kept++;
    continue;
  }
  const entry = ENTRIES[name];
  const sourceMap = entry === undefined ? null : await twinSourceMap(entry, release);
  const functionNames = watNames(release);
  write(out, instrument(bytes, { name: rel(release), sourceMap, ...(functionNames === undefined ? {} : { functionNames }) }));
  built++;
}

const zooDir = join(root, "build", "zoo");
const zooOut = join(root, "build", "coverage", "zoo");
const zoo = existsSync(zooDir) ? readdirSync(zooDir).filter((f) => f.endsWith(".wasm") && !f.endsWith(".debug.wasm")) : [];
for (const file of zoo) {
  const path = join(zooDir, file);
  const out = join(zooOut, file);
  const bytes = readFileSync(path);
  if (upToDate(out, bytes)) {
    kept++;
    continue;
  }
  const functionNames = watNames(path);
  write(out, instrument(bytes, { name: rel(path), ...(functionNames === undefined ? {} : { functionNames }) }));
  built++;
}
// Coverage builds of zoo modules that are gone.
if (existsSync(zooOut)) {
  for (const file of readdirSync(zooOut)) {
    const wasm = file.replace(/\.cov\.json$/, ".wasm");
    if (!zoo.includes(wasm)) rmSync(join(zooOut, file));
  }
}
if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
console.log(`build-coverage: ${built + kept} coverage builds in build/coverage (${built} rebuilt)`);
