// A project: the folder with a wasm-hal.config.json (or .mjs / .js) that names its modules,
// register maps, SVD imports, API files, boards, device kinds, scenarios, golden traces and fuzz
// targets (docs/config.md). Every `wasm-hal` command runs from one. The package's own
// repository is such a project: its wasm-hal.config.json names the four PrimeCell drivers, and
// nothing in the harness treats them differently from a user's.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { JsonFileError, parseJsonText, type Json } from "./json-text.js";
import { Registry, loadRegistry } from "./registry.js";
import type { RegisterBlock } from "./regmap.js";
import { parseRegisterMap } from "./regmap-json.js";
import { suggest } from "./near-miss.js";

export const CONFIG_NAMES = ["wasm-hal.config.json", "wasm-hal.config.mjs", "wasm-hal.config.js"] as const;

/** One WebAssembly module of the project. */
export interface ModuleConfig {
  /** The release build, relative to the project. */
  readonly release: string;
  /** The debug build (source maps: failures name the AssemblyScript line). */
  readonly debug?: string;
  /** The command that builds it, shown when the file is missing (`npm run build:wasm`). */
  readonly build?: string;
}

/** An SVD file to import, with the overlay that corrects it. */
export interface SvdConfig {
  readonly file: string;
  readonly overlay?: string;
  /** Only these peripherals (and what they derive from); all by default. */
  readonly peripherals?: readonly string[];
}

/** The config file as written (paths relative to its folder). */
export interface ProjectConfig {
  /** Register maps in the project's JSON format: paths, or `dir/*.json` patterns. */
  readonly registers?: readonly string[];
  /** CMSIS-SVD imports. */
  readonly svd?: readonly SvdConfig[];
  /** API files: status codes, constants and export signatures. */
  readonly api?: readonly string[];
  /** Where `wasm-hal gen` writes: AssemblyScript constants, and TypeScript metadata (optional). */
  readonly generate?: { readonly assembly?: string; readonly typescript?: string; readonly typesFrom?: string };
  /** The modules by name; the first is the default. */
  readonly modules?: { readonly [name: string]: ModuleConfig };
  /** The folder of board files: a board named `b` is `<boards>/b.json`. */
  readonly boards?: string;
  /** Modules that add device kinds (docs/models.md): each default-exports a list of kinds. */
  readonly devices?: readonly string[];
  /** Modules of scenarios: each default-exports a scenario or a list of them. */
  readonly scenarios?: readonly string[];
  /** The folder of golden traces. */
  readonly golden?: string;
  readonly fuzz?: {
    /** Modules of fuzz targets: each default-exports a target or a list of them. */
    readonly targets?: readonly string[];
    /** Where shrunk findings are saved as regressions. */
    readonly regressions?: string;
  };
  /** Scenarios `wasm-hal demo` runs, the first shown with its whole trace; all by default. */
  readonly demo?: readonly string[];
}

/** Types a config written in JavaScript: `export default defineConfig({ ... })`. */
export function defineConfig(config: ProjectConfig): ProjectConfig {
  return config;
}

/** A config file that is missing, unreadable or wrong: the file, the key, what was expected. */
export class ConfigError extends Error {
  constructor(readonly fileName: string, readonly key: string, readonly problem: string) {
    super(`${fileName}: ${key === "" ? "" : `${key}: `}${problem}`);
    this.name = "ConfigError";
  }
}

const TOP_KEYS = ["$schema", "registers", "svd", "api", "generate", "modules", "boards", "devices", "scenarios", "golden", "fuzz", "demo"];

/** Reads a config value and refuses anything but the documented shape. */
function checkConfig(raw: unknown, file: string): ProjectConfig {
  const fail = (key: string, problem: string): never => {
    throw new ConfigError(file, key, problem);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("", "expected an object (docs/config.md)");
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!TOP_KEYS.includes(key)) fail(key, `unknown key: expected one of ${TOP_KEYS.filter((k) => k !== "$schema").join(", ")}${suggest(key, TOP_KEYS)}`);
  }
  const strings = (key: string, value: unknown): void => {
    if (value === undefined) return;
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v !== "")) fail(key, "expected a list of paths (strings)");
  };
  const path = (key: string, value: unknown): void => {
    if (value !== undefined && (typeof value !== "string" || value === "")) fail(key, "expected a path (a string)");
  };
  strings("registers", o.registers);
  strings("api", o.api);
  strings("devices", o.devices);
  strings("scenarios", o.scenarios);
  strings("demo", o.demo);
  path("boards", o.boards);
  path("golden", o.golden);
  if (o.svd !== undefined) {
    if (!Array.isArray(o.svd)) fail("svd", "expected a list of { file, overlay?, peripherals? }");
    (o.svd as unknown[]).forEach((s, i) => {
      const key = `svd[${i}]`;
      if (typeof s !== "object" || s === null || Array.isArray(s)) fail(key, "expected { file, overlay?, peripherals? }");
      const e = s as Record<string, unknown>;
      for (const k of Object.keys(e)) if (!["file", "overlay", "peripherals"].includes(k)) fail(`${key}.${k}`, "unknown key: expected file, overlay or peripherals");
      path(`${key}.file`, e.file);
      if (e.file === undefined) fail(`${key}.file`, "missing: expected the path of the .svd file");
      path(`${key}.overlay`, e.overlay);
      strings(`${key}.peripherals`, e.peripherals);
    });
  }
  if (o.generate !== undefined) {
    if (typeof o.generate !== "object" || o.generate === null) fail("generate", "expected { assembly?, typescript?, typesFrom? }");
    for (const [k, v] of Object.entries(o.generate as Record<string, unknown>)) {
      if (!["assembly", "typescript", "typesFrom"].includes(k)) fail(`generate.${k}`, "unknown key: expected assembly, typescript or typesFrom");
      path(`generate.${k}`, v);
    }
  }
  if (o.modules !== undefined) {
    if (typeof o.modules !== "object" || o.modules === null || Array.isArray(o.modules)) fail("modules", "expected { name: { release, debug?, build? } }");
    for (const [name, m] of Object.entries(o.modules as Record<string, unknown>)) {
      const key = `modules.${name}`;
      if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) fail(key, "a module name is a letter, then letters, digits, _ or -");
      if (typeof m !== "object" || m === null || Array.isArray(m)) fail(key, "expected { release, debug?, build? }");
      for (const k of Object.keys(m as object)) if (!["release", "debug", "build"].includes(k)) fail(`${key}.${k}`, "unknown key: expected release, debug or build");
      const mm = m as Record<string, unknown>;
      if (mm.release === undefined) fail(`${key}.release`, "missing: expected the path of the release .wasm");
      path(`${key}.release`, mm.release);
      path(`${key}.debug`, mm.debug);
      path(`${key}.build`, mm.build);
    }
  }
  if (o.fuzz !== undefined) {
    if (typeof o.fuzz !== "object" || o.fuzz === null || Array.isArray(o.fuzz)) fail("fuzz", "expected { targets?, regressions? }");
    for (const k of Object.keys(o.fuzz as object)) if (!["targets", "regressions"].includes(k)) fail(`fuzz.${k}`, "unknown key: expected targets or regressions");
    strings("fuzz.targets", (o.fuzz as Record<string, unknown>).targets);
    path("fuzz.regressions", (o.fuzz as Record<string, unknown>).regressions);
  }
  return o as ProjectConfig;
}


/**
 * The files a config entry names: a path, or a pattern with `*` in its last part
 * (`registers/*.json`), sorted. A pattern that matches nothing, or a path that does not exist,
 * is an error: a map the user thinks is loaded must not be silently absent.
 */
export function expandPaths(root: string, entries: readonly string[], file: string, key: string): string[] {
  const out: string[] = [];
  entries.forEach((entry, i) => {
    const full = resolve(root, entry);
    const name = basename(full);
    if (dirname(full).includes("*")) throw new ConfigError(file, `${key}[${i}]`, `${entry}: a * may stand only in the file name, not in a folder`);
    if (!name.includes("*")) {
      if (!existsSync(full)) throw new ConfigError(file, `${key}[${i}]`, `${entry} does not exist`);
      out.push(full);
      return;
    }
    const dir = dirname(full);
    const pattern = new RegExp("^" + name.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*") + "$");
    const matches = existsSync(dir) ? readdirSync(dir).filter((f) => pattern.test(f) && statSync(join(dir, f)).isFile()).sort() : [];
    if (matches.length === 0) throw new ConfigError(file, `${key}[${i}]`, `${entry} matches no file`);
    out.push(...matches.map((f) => join(dir, f)));
  });
  return [...new Set(out)];
}

/** A path for messages and files: relative to `from` (the working folder) when inside it,
 * with `/`; else as it is. */
export function displayPath(path: string, from: string = process.cwd()): string {
  const rel = relative(from, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split(sep).join("/") : path;
}

export type ModuleVariant = "release" | "debug";

/** Imports SVD files into register blocks; set by harness/svd.ts's loader so that a project
 * without SVD imports does not load the XML parser. */
export type SvdImporter = (svd: SvdConfig, root: string, configFile: string) => { block: RegisterBlock; source: string }[];

let svdImporter: SvdImporter | undefined;

/** Lets harness/svd.ts take the config's `svd` entries. */
export function setSvdImporter(importer: SvdImporter): void {
  svdImporter = importer;
}

/** A loaded project: its config with paths resolved, and its registry. Modules it names
 * (device kinds, scenarios, fuzz targets) are imported by loadProjectModules(). */
export class Project {
  readonly registry: Registry;

  constructor(
    /** The project's folder (where its config is). */
    readonly root: string,
    /** The config file, or null for a project made in code. */
    readonly configFile: string | null,
    readonly config: ProjectConfig,
    registry?: Registry,
  ) {
    this.registry = registry ?? this.loadRegistry();
  }

  private get shownConfig(): string {
    return this.configFile === null ? "the project" : displayPath(this.configFile);
  }

  private loadRegistry(): Registry {
    const file = this.shownConfig;
    const maps = expandPaths(this.root, this.config.registers ?? [], file, "registers").map((p) => [p, displayPath(p)] as const);
    const api = expandPaths(this.root, this.config.api ?? [], file, "api").map((p) => [p, displayPath(p)] as const);
    const extra: { block: RegisterBlock; source: string }[] = [];
    for (const svd of this.config.svd ?? []) {
      if (svdImporter === undefined) throw new ConfigError(file, "svd", "the SVD importer is not loaded (import wasm-hal's harness/svd.js first)");
      extra.push(...svdImporter(svd, this.root, file));
    }
    return loadRegistry({ maps, api, extra });
  }

  /** An absolute path from one relative to the project. */
  path(relativePath: string): string {
    return resolve(this.root, relativePath);
  }

  /** Module names, the default first. */
  moduleNames(): string[] {
    return Object.keys(this.config.modules ?? {});
  }

  /** The .wasm file of a module (the default one when no name is given). */
  modulePath(name?: string, variant: ModuleVariant = "release"): string {
    const names = this.moduleNames();
    const chosen = name ?? names[0];
    if (chosen === undefined) throw new ConfigError(this.shownConfig, "modules", "the project names no module: add one, e.g. \"modules\": { \"hal\": { \"release\": \"build/hal.wasm\" } }");
    const m = this.config.modules?.[chosen];
    if (m === undefined || !Object.prototype.hasOwnProperty.call(this.config.modules, chosen)) {
      throw new ConfigError(this.shownConfig, "modules", `no module named ${chosen}: expected one of ${names.join(", ")}`);
    }
    const file = variant === "debug" ? m.debug : m.release;
    if (file === undefined) throw new ConfigError(this.shownConfig, `modules.${chosen}.debug`, "missing: this module has no debug build");
    return this.path(file);
  }

  /** What to run when a module file is missing. */
  buildHint(name?: string): string {
    const chosen = name ?? this.moduleNames()[0];
    const m = chosen === undefined ? undefined : this.config.modules?.[chosen];
    return m?.build ?? "build the module";
  }

  /** The folder of board files. */
  get boardsDir(): string {
    return this.path(this.config.boards ?? "boards");
  }

  /** A board file's path: a board's name (`<boards>/<name>.json`) or a path. */
  boardPath(nameOrPath: string): string {
    const looksLikePath = nameOrPath.includes("/") || nameOrPath.includes("\\") || nameOrPath.endsWith(".json");
    return looksLikePath ? resolve(nameOrPath) : join(this.boardsDir, `${nameOrPath}.json`);
  }

  get goldenDir(): string {
    return this.path(this.config.golden ?? "fixtures/golden");
  }

  get regressionDir(): string {
    return this.path(this.config.fuzz?.regressions ?? "fixtures/fuzz");
  }

  /** Files of a module list of the config (devices, scenarios, fuzz.targets). */
  moduleFiles(key: "devices" | "scenarios" | "fuzz.targets"): string[] {
    const entries = key === "fuzz.targets" ? this.config.fuzz?.targets ?? [] : this.config[key] ?? [];
    return expandPaths(this.root, entries, this.shownConfig, key);
  }
}

/** The nearest config file in `dir` or a folder above it, or undefined. */
export function findConfig(dir: string): string | undefined {
  let at = resolve(dir);
  for (;;) {
    for (const name of CONFIG_NAMES) {
      const candidate = join(at, name);
      if (existsSync(candidate)) return candidate;
    }
    const up = dirname(at);
    if (up === at) return undefined;
    at = up;
  }
}

/** Reads a JSON config file. */
export function readJsonConfig(file: string): ProjectConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(displayPath(file), "", `cannot read it: ${(e as Error).message}`);
  }
  let raw: Json;
  try {
    raw = parseJsonText(text, displayPath(file));
  } catch (e) {
    if (e instanceof JsonFileError) throw new ConfigError(e.fileName, e.where, e.problem);
    throw e;
  }
  return checkConfig(raw, displayPath(file));
}

/** A project from its config file (JSON, or a JavaScript module whose default export is the
 * config). */
export async function loadProjectFile(file: string): Promise<Project> {
  const full = resolve(file);
  if (full.endsWith(".json")) return new Project(dirname(full), full, readJsonConfig(full));
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(full).href)) as { default?: unknown };
  } catch (e) {
    throw new ConfigError(displayPath(full), "", `cannot load it: ${(e as Error).message}`);
  }
  return new Project(dirname(full), full, checkConfig(loaded.default, displayPath(full)));
}

/** The project of a folder: the nearest config at or above it. */
export async function loadProject(dir = process.cwd()): Promise<Project> {
  const file = findConfig(dir);
  if (file === undefined) throw new ConfigError(displayPath(resolve(dir)), "", `no ${CONFIG_NAMES[0]} here or in a folder above: run \`wasm-hal init\` to make a project, or pass --config FILE`);
  return loadProjectFile(file);
}

// ---------------------------------------------------------------------------------------------
// The package's own project

/** The package root: the nearest folder above this file with package.json (works from harness/
 * under vitest and from dist/harness/ when compiled). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, CONFIG_NAMES[0]))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the wasm-hal package root above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

let packageProjectCache: Project | undefined;

/**
 * The package's own project: the four PrimeCell drivers, their maps, boards and scenarios, from
 * its wasm-hal.config.json. Library functions that are not handed a registry use its registry,
 * so that code written for the built-in blocks keeps working; the CLI always passes the registry
 * of the project it runs in.
 */
export function packageProject(): Project {
  packageProjectCache ??= new Project(packageRoot(), join(packageRoot(), CONFIG_NAMES[0]), readJsonConfig(join(packageRoot(), CONFIG_NAMES[0])));
  return packageProjectCache;
}

/** The package project's registry (see packageProject). */
export function packageRegistry(): Registry {
  return packageProject().registry;
}

/** A registry of register maps given as JSON values (tests, code that builds maps). */
export function registryOf(maps: readonly unknown[], base: Registry = new Registry()): Registry {
  const blocks = maps.map((m, i) => ({ block: parseRegisterMap(m, `map ${i}`), source: `map ${i}` }));
  return base.with(new Registry(blocks));
}
