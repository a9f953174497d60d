// Where a module's coverage build is: build/coverage/ for the package's modules and its bug zoo
// (scripts/build-coverage.mjs writes them, with source lines), or made on the fly, without source
// lines unless the module has a source map beside it, in a cache folder under the system's
// temporary folder. A coverage build belongs to the module whose SHA-256 its map records; one
// that no longer matches (the module was rebuilt) is not used.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, isAbsolute, resolve } from "node:path";
import { packageRoot } from "../project.js";
import { COVERAGE_PASS_REVISION, CoverageError, coverageMapOf, functionNamesFromWat, instrument, type CoverageMap } from "./instrument.js";

export { CoverageError };

export interface CoverageBuild {
  /** The instrumented module file. */
  readonly path: string;
  /** The plain module it was made from. */
  readonly original: string;
  readonly map: CoverageMap;
}

/** Where scripts/build-coverage.mjs puts the coverage build of a module under the package's
 * build/ (build/hal.wasm: build/coverage/hal.wasm), or null for a module elsewhere. */
export function prebuiltCoveragePath(modulePath: string, root: string = packageRoot()): string | null {
  const build = join(root, "build");
  const rel = relative(build, resolve(modulePath));
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel) || rel.startsWith("coverage")) return null;
  return join(build, "coverage", rel);
}

/** The side file of a coverage build: build/coverage/hal.wasm has build/coverage/hal.cov.json. */
export function coverageJsonPath(coveragePath: string): string {
  return coveragePath.replace(/\.wasm$/, "") + ".cov.json";
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** The map of a coverage build file, or null when the file is not one. */
export function readCoverageMap(path: string): CoverageMap | null {
  const bytes = readFileSync(path);
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (e) {
    throw new CoverageError(`${path}: not a valid WebAssembly module (${(e as Error).message}): expected a coverage build`);
  }
  return coverageMapOf(module, path);
}

const made = new Map<string, CoverageBuild>();

/** A coverage build's map belongs to the module of this hash and to the pass as it is now (a
 * build by an earlier revision has its counters elsewhere). */
export function isCurrent(map: CoverageMap, moduleSha256: string): boolean {
  return map.moduleSha256 === moduleSha256 && (map.revision ?? 1) === COVERAGE_PASS_REVISION;
}

/** Options of the pass that the sibling files of a module give: names from its .wat, lines from
 * its source map (`<module>.wasm.map`), when there. */
export function siblingInputs(modulePath: string): { functionNames?: Map<number, string>; sourceMap?: string } {
  const wat = modulePath.replace(/\.wasm$/, ".wat");
  const map = `${modulePath}.map`;
  return {
    ...(wat !== modulePath && existsSync(wat) ? { functionNames: functionNamesFromWat(readFileSync(wat, "utf8")) } : {}),
    ...(existsSync(map) ? { sourceMap: readFileSync(map, "utf8") } : {}),
  };
}

/**
 * The coverage build of a module: the prebuilt one when it belongs to the module as it is now,
 * else one made now (cached per process, and on disk by the module's hash). Throws
 * CoverageError when the module cannot be instrumented.
 */
export function coverageBuild(modulePath: string): CoverageBuild {
  const original = resolve(modulePath);
  if (!existsSync(original)) throw new CoverageError(`${modulePath}: does not exist: expected a .wasm module to instrument`);
  const bytes = readFileSync(original);
  const hash = sha256(bytes);
  const key = `${original}@${hash}`;
  const known = made.get(key);
  if (known !== undefined) return known;
  let build: CoverageBuild | null = null;
  const prebuilt = prebuiltCoveragePath(original);
  if (prebuilt !== null && existsSync(prebuilt)) {
    const map = readCoverageMap(prebuilt);
    if (map !== null && isCurrent(map, hash)) build = { path: prebuilt, original, map };
  }
  if (build === null) {
    const dir = join(tmpdir(), "wasm-hal-coverage");
    // By the module's bytes and its path: the map inside names the module, and the same bytes in
    // another project (a second project from one template) are another module to report.
    const path = join(dir, `${basename(original, ".wasm")}-${hash.slice(0, 16)}-${sha256(Buffer.from(original)).slice(0, 8)}.wasm`);
    let map = existsSync(path) ? readCoverageMap(path) : null;
    if (map === null || !isCurrent(map, hash)) {
      const result = instrument(bytes, { name: displayName(original), ...siblingInputs(original) });
      mkdirSync(dir, { recursive: true });
      // Written whole and renamed: another process (a worker thread) may read it at once.
      const partial = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
      writeFileSync(partial, result.binary);
      renameSync(partial, path);
      map = result.map;
    }
    build = { path, original, map };
  }
  made.set(key, build);
  return build;
}

/** A module's path as maps name it: relative to the package when inside it. */
export function displayName(path: string): string {
  const rel = relative(packageRoot(), path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel.split("\\").join("/");
}
