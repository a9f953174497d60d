// `wasm-hal init [DIR] [--name NAME] [--force]`: scaffolds a project that passes `npm test` as
// generated (docs/guide.md), from the templates the package ships in templates/init/: an example
// block (a countdown timer) with its register map, API files, driver, model, board, scenario and
// golden trace, fuzz target and vitest test, the config, asconfig, package.json and a README.
//
// Nothing is overwritten unless --force says so, and nothing is merged silently: init first works
// out every file it would write, refuses (listing them) when any exists, and only then writes.
// package.json is the one file it updates in place (a project often has one already, from
// `npm init` or from installing wasm-hal first): it adds the scripts and devDependencies the
// project needs, keeps the dependencies already there, and names every key it adds or keeps.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { displayPath, packageRoot } from "../project.js";
import { type Command, UsageError } from "./common.js";

/** Template files whose real name npm would not ship (it drops .gitignore from a package). */
const RENAMED: Readonly<Record<string, string>> = { _gitignore: ".gitignore" };

/** The test script `npm init -y` writes: a placeholder, replaced without --force. */
const NPM_PLACEHOLDER_TEST = 'echo "Error: no test specified" && exit 1';

/** npm's rule for package names: lower case, URL-safe, an optional scope, at most 214 characters. */
const PACKAGE_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/** The folder of the templates inside the installed package. */
export function templateDir(): string {
  return join(packageRoot(), "templates", "init");
}

/** A file of the scaffold: its path relative to the project (with `/`) and its text. */
export interface ScaffoldFile {
  readonly path: string;
  readonly text: string;
}

/** What the placeholders of the templates stand for: the project's name and the versions of
 * what it depends on, from this package's own package.json (wasm-hal as installed now, the
 * AssemblyScript and vitest it is built and tested with, its fast-check). */
export function placeholderValues(name: string): Record<string, string> {
  const file = join(packageRoot(), "package.json");
  const pkg = JSON.parse(readFileSync(file, "utf8")) as {
    version?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string>;
  };
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined) throw new Error(`${file} has no ${what}: the templates need it`);
    return value;
  };
  return {
    name,
    wasmHalVersion: `^${need(pkg.version, "version")}`,
    assemblyscriptVersion: need(pkg.devDependencies?.assemblyscript, "devDependencies.assemblyscript"),
    vitestVersion: need(pkg.devDependencies?.vitest, "devDependencies.vitest"),
    fastCheckVersion: need(pkg.dependencies?.["fast-check"], "dependencies.fast-check"),
  };
}

/** The scaffold's files, placeholders (`{{name}}`) replaced. An unknown placeholder is an error:
 * a template with a typo must not produce a project with `{{nmae}}` in it. */
export function renderTemplates(values: Readonly<Record<string, string>>, dir = templateDir()): ScaffoldFile[] {
  if (!existsSync(dir)) throw new Error(`the package has no templates (${dir} is missing): reinstall wasm-hal`);
  const out: ScaffoldFile[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) {
        walk(full);
        continue;
      }
      const rel = relative(dir, full).split("\\").join("/");
      const path = rel.split("/").map((part) => RENAMED[part] ?? part).join("/");
      const text = readFileSync(full, "utf8").replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
        const value = values[key];
        if (value === undefined) throw new Error(`${full}: unknown placeholder {{${key}}} (known: ${Object.keys(values).join(", ")})`);
        return value;
      });
      out.push({ path, text });
    }
  };
  walk(dir);
  return out;
}

/** A name npm accepts, made from a folder's name: `My HAL` -> `my-hal`. */
export function packageNameFrom(folder: string): string {
  const name = folder.toLowerCase().replace(/[^a-z0-9-._~]+/g, "-").replace(/^[-._]+|-+$/g, "");
  return name === "" ? "wasm-hal-project" : name.slice(0, 214);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonRecord = { [key: string]: Json };

const isRecord = (v: Json | undefined): v is JsonRecord => typeof v === "object" && v !== null && !Array.isArray(v);

/** What init does to an existing package.json. */
export interface PackageUpdate {
  /** The new text, or null when nothing changes. */
  readonly text: string | null;
  /** What changed or was kept, for people: `added scripts gen, build`. */
  readonly notes: readonly string[];
  /** Keys whose value differs from the scaffold's and that only --force replaces. */
  readonly conflicts: readonly string[];
}

/**
 * Adds the scaffold's scripts and devDependencies to an existing package.json. A dependency the
 * project already has, in any section, is kept as it is (it may be a local tarball or a newer
 * version); a script that differs is a conflict, replaced only with `force`, except npm's
 * placeholder test script. Other keys are left alone.
 */
export function updatePackageJson(existingText: string, scaffoldText: string, force: boolean): PackageUpdate | { readonly invalid: string } {
  let existing: Json;
  try {
    existing = JSON.parse(existingText) as Json;
  } catch (e) {
    return { invalid: `it is not JSON (${(e as Error).message})` };
  }
  if (!isRecord(existing)) return { invalid: "it does not hold a JSON object" };
  const scaffold = JSON.parse(scaffoldText) as JsonRecord;
  const notes: string[] = [];
  const conflicts: string[] = [];
  let changed = false;

  const wantedScripts = scaffold.scripts as Record<string, string>;
  const scripts = existing.scripts ?? {};
  if (!isRecord(scripts)) return { invalid: "its \"scripts\" is not an object" };
  const added: string[] = [];
  const replaced: string[] = [];
  for (const [key, value] of Object.entries(wantedScripts)) {
    const current = scripts[key];
    if (current === value) continue;
    if (current === undefined) {
      added.push(key);
    } else if (key === "test" && current === NPM_PLACEHOLDER_TEST) {
      replaced.push(`${key} (npm's placeholder)`);
    } else if (force) {
      replaced.push(`${key} (was ${JSON.stringify(current)})`);
    } else {
      conflicts.push(`scripts.${key} is ${JSON.stringify(current)}, the scaffold's is ${JSON.stringify(value)}`);
      continue;
    }
    scripts[key] = value;
    changed = true;
  }
  if (added.length > 0) notes.push(`added scripts ${added.join(", ")}`);
  if (replaced.length > 0) notes.push(`replaced scripts ${replaced.join(", ")}`);
  existing.scripts = scripts;

  const wantedDeps = scaffold.devDependencies as Record<string, string>;
  const sections = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"];
  const devDependencies = existing.devDependencies ?? {};
  if (!isRecord(devDependencies)) return { invalid: "its \"devDependencies\" is not an object" };
  const addedDeps: string[] = [];
  const kept: string[] = [];
  for (const [dep, spec] of Object.entries(wantedDeps)) {
    const section = sections.find((s) => { const o = existing[s]; return isRecord(o) && o[dep] !== undefined; });
    if (section !== undefined) {
      kept.push(`${dep} ${String((existing[section] as JsonRecord)[dep])}`);
      continue;
    }
    devDependencies[dep] = spec;
    addedDeps.push(`${dep} ${spec}`);
    changed = true;
  }
  if (addedDeps.length > 0) {
    // Sorted, as npm keeps them.
    existing.devDependencies = Object.fromEntries(Object.entries(devDependencies).sort(([a], [b]) => a.localeCompare(b)));
    notes.push(`added devDependencies ${addedDeps.join(", ")}`);
  }
  if (kept.length > 0) notes.push(`kept ${kept.join(", ")}`);
  return { text: changed ? JSON.stringify(existing, null, 2) + "\n" : null, notes, conflicts };
}

export interface InitOptions {
  /** The project folder; created when missing. */
  readonly dir: string;
  /** The package name; by default the existing package.json's, else one made from the folder's name. */
  readonly name?: string;
  readonly force?: boolean;
}

export interface InitResult {
  /** What was written, in order: `created   README.md`, `overwrote asconfig.json`, `updated   package.json: ...`. */
  readonly lines: readonly string[];
  readonly name: string;
}

/** What happened to a file, in a column: `created   README.md`. */
const verb = (word: string): string => word.padEnd("overwrote".length + 1);

/** An init that could not be done: what was in the way (nothing was written), or the file that
 * could not be written (and those written before it). */
export class InitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InitError";
  }
}

/** Scaffolds a project in `options.dir`; throws InitError (having written nothing) when files
 * are in the way. */
export function initProject(options: InitOptions): InitResult {
  const dir = resolve(options.dir);
  const force = options.force === true;
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new InitError(`${displayPath(dir)} is a file: expected a folder for the project`);

  const packagePath = join(dir, "package.json");
  let name = options.name;
  if (name === undefined && existsSync(packagePath)) {
    try {
      const existing = JSON.parse(readFileSync(packagePath, "utf8")) as { name?: unknown };
      if (typeof existing.name === "string" && PACKAGE_NAME.test(existing.name)) name = existing.name;
    } catch {
      // An unreadable package.json is reported below, where it would be updated.
    }
  }
  name ??= packageNameFrom(basename(dir));

  const files = renderTemplates(placeholderValues(name));
  const inTheWay: string[] = [];
  const folders: string[] = [];
  let packageUpdate: PackageUpdate | undefined;
  for (const f of files) {
    const target = join(dir, f.path);
    if (!existsSync(target)) continue;
    if (statSync(target).isDirectory()) {
      folders.push(f.path);
      continue;
    }
    if (f.path !== "package.json") {
      inTheWay.push(f.path);
      continue;
    }
    const update = updatePackageJson(readFileSync(target, "utf8"), f.text, force);
    if ("invalid" in update) {
      if (!force) inTheWay.push(`package.json (${update.invalid}, so it cannot be updated)`);
    } else {
      packageUpdate = update;
      inTheWay.push(...update.conflicts.map((c) => `package.json (${c})`));
    }
  }
  if (folders.length > 0) throw new InitError(`${folders.map((p) => displayPath(join(dir, p))).join(", ")} ${folders.length === 1 ? "is a folder" : "are folders"} where the scaffold has a file; nothing was written`);
  if (inTheWay.length > 0 && !force) {
    // package.json may be in the list once per conflicting script: count files, not entries.
    const count = new Set(inTheWay.map((entry) => entry.replace(/ \(.*$/, ""))).size;
    throw new InitError(`${displayPath(dir)} already has ${count === 1 ? "a file" : `${count} files`} the scaffold would overwrite: ${inTheWay.join(", ")}; nothing was written (--force overwrites them)`);
  }

  const lines: string[] = [];
  const written: string[] = [];
  const put = (path: string, text: string): void => {
    try {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    } catch (e) {
      throw new InitError(`cannot write ${displayPath(join(dir, path))}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}${written.length > 0 ? ` (written before it: ${written.join(", ")})` : " (nothing was written)"}`);
    }
    written.push(path);
  };
  for (const f of files) {
    const existed = existsSync(join(dir, f.path));
    if (f.path === "package.json" && existed && packageUpdate !== undefined) {
      if (packageUpdate.text !== null) put(f.path, packageUpdate.text);
      lines.push(`${verb(packageUpdate.text === null ? "kept" : "updated")}package.json${packageUpdate.notes.length > 0 ? `: ${packageUpdate.notes.join("; ")}` : ""}`);
      continue;
    }
    put(f.path, f.text);
    lines.push(`${verb(existed ? "overwrote" : "created")}${f.path}`);
  }
  return { lines, name };
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { name: { type: "string" }, force: { type: "boolean" } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new UsageError(`init takes one folder, got ${positionals.join(" ")}`);
  const name = values.name;
  if (name !== undefined && (!PACKAGE_NAME.test(name) || name.length > 214)) {
    throw new UsageError(`--name "${name}" is not a package name npm accepts: lower-case letters, digits, - . _ ~, optionally @scope/ first (e.g. --name ${packageNameFrom(name)})`);
  }
  const dir = resolve(positionals[0] ?? ".");
  let result: InitResult;
  try {
    result = initProject({ dir, ...(name === undefined ? {} : { name }), force: values.force === true });
  } catch (e) {
    if (!(e instanceof InitError)) throw e;
    process.stderr.write(`wasm-hal: init: ${e.message}\n`);
    return 1;
  }
  const shown = relative(process.cwd(), dir) === "" ? "." : displayPath(dir);
  const out = [
    `wasm-hal init: project ${result.name} in ${shown}/, with an example block (a countdown timer, docs/timer.md)`,
    ...result.lines.map((l) => `  ${l}`),
    "",
    "next:",
    ...(shown === "." ? [] : [`  cd ${shown}`]),
    "  npm install",
    "  npm test",
    "",
    "README.md says what each file is; node_modules/wasm-hal/docs/guide.md takes it from there.",
  ];
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}

export const init: Command = {
  name: "init",
  summary: "scaffold a project (register map, driver, model, board, scenario, fuzz target, test)",
  usage: `  wasm-hal init [DIR]   (default: the working folder; created if missing)
  --name NAME     the package name (default: package.json's, else the folder's name)
  --force         overwrite files the scaffold has; in package.json, replace scripts that differ`,
  run: (argv) => run(argv),
};
