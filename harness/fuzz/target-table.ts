// The fuzz targets a process knows, by name: the project's target modules (config key
// fuzz.targets) add theirs when loaded; each module default-exports a list of definitions
// (docs/fuzzing.md, "Your own target"). The package's four PrimeCell targets are one such module
// (targets/index.ts).
import { pathToFileURL } from "node:url";
import type { Target, TargetName } from "./target.js";
import type { Registry } from "../registry.js";
import type { Project } from "../project.js";

export interface TargetOptions {
  /** Steps predicted to need more accesses than this are skipped (default 200 000). */
  readonly stepAccessLimit?: number;
}

/** A fuzz target as a module exports it. */
export interface FuzzTargetDefinition {
  /** What `wasm-hal fuzz NAME` and regression files call it: lower-case letters, digits, -. */
  readonly name: TargetName;
  /** The target, for the options of a run. */
  create(options: TargetOptions): Target;
}

/** Types a target definition in a project's fuzz module. */
export function defineFuzzTarget(definition: FuzzTargetDefinition): FuzzTargetDefinition {
  return definition;
}

interface Entry {
  readonly definition: FuzzTargetDefinition;
  /** The registry of the project that loaded it. */
  readonly registry: Registry | null;
  /** That project's config file (workers load the project again from it). */
  readonly configFile: string | null;
  /** The module file that defined it (workers import it again). */
  readonly file: string | null;
  /** The module the target fuzzes by default (its project's default module). */
  readonly modulePath: string | null;
}

const TABLE = new Map<string, Entry>();

/** Adds definitions; the same definition object again is a no-op, another of the same name an
 * error naming both files. */
export function addFuzzTargets(definitions: readonly FuzzTargetDefinition[], file: string | null, modulePath: string | null = null, project: Project | null = null): void {
  for (const d of definitions) {
    if (d === null || typeof d !== "object" || typeof d.name !== "string" || typeof d.create !== "function") {
      throw new Error(`${file ?? "a fuzz target"}: expected { name, create(options) } (defineFuzzTarget)`);
    }
    if (!/^[a-z][a-z0-9-]*$/.test(d.name)) throw new Error(`${file ?? "a fuzz target"}: target name "${d.name}": expected lower-case letters, digits and -`);
    const known = TABLE.get(d.name);
    if (known !== undefined) {
      if (known.definition === d) {
        if (modulePath !== null && known.modulePath === null) TABLE.set(d.name, { ...known, modulePath, registry: project?.registry ?? null, configFile: project?.configFile ?? null });
        continue;
      }
      throw new Error(`fuzz target ${d.name} is defined twice: in ${known.file ?? "the harness"} and in ${file ?? "the harness"}`);
    }
    TABLE.set(d.name, { definition: d, file, modulePath, registry: project?.registry ?? null, configFile: project?.configFile ?? null });
  }
}

/** The known target names, in the order they were added. */
export function targetNames(): string[] {
  return [...TABLE.keys()];
}

/** The registry of the project that loaded a target, or null for the package's own. */
export function targetRegistry(name: TargetName): Registry | null {
  return TABLE.get(name)?.registry ?? null;
}

/** The module a target fuzzes when no other is given, or null for the package's own: the one
 * the target names itself (a family's own module, build/stm32f4.wasm), else its project's
 * default. */
export function targetModule(name: TargetName): string | null {
  const entry = TABLE.get(name);
  if (entry === undefined) return null;
  return entry.definition.create({}).module ?? entry.modulePath;
}

/** What a worker thread must import to know these targets: their module files, with the
 * module each fuzzes by default. */
export interface TargetImport {
  readonly file: string;
  readonly modulePath: string | null;
  readonly configFile: string | null;
}

export function targetImports(names: readonly TargetName[]): TargetImport[] {
  const out = new Map<string, TargetImport>();
  for (const n of names) {
    const e = TABLE.get(n);
    if (e !== undefined && e.file !== null) out.set(e.file, { file: e.file, modulePath: e.modulePath, configFile: e.configFile });
  }
  return [...out.values()];
}

export function targetByName(name: TargetName, options: TargetOptions = {}): Target {
  const entry = TABLE.get(name);
  if (entry === undefined) throw new Error(`unknown fuzz target "${name}": expected one of ${targetNames().join(", ") || "none (the config's fuzz.targets names no module)"}`);
  const target = entry.definition.create(options);
  return {
    ...target,
    ...(entry.modulePath === null || target.module !== undefined ? {} : { module: entry.modulePath }),
    ...(entry.registry === null || target.registry !== undefined ? {} : { registry: entry.registry }),
  };
}

/** Imports target modules (default export: a definition or a list); returns the names they
 * define. */
export async function importFuzzTargets(files: readonly string[], modulePath: string | null = null, project: Project | null = null): Promise<string[]> {
  const names: string[] = [];
  for (const file of files) {
    const loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
    if (loaded.default === undefined) throw new Error(`${file}: has no default export: expected \`export default [defineFuzzTarget({ ... })]\``);
    const list = (Array.isArray(loaded.default) ? loaded.default : [loaded.default]) as FuzzTargetDefinition[];
    addFuzzTargets(list, file, modulePath, project);
    names.push(...list.map((d) => d.name));
  }
  return names;
}
