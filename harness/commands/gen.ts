// `wasm-hal gen`: writes the AssemblyScript constants (and, where the project wants them, the
// TypeScript metadata) of a project's register maps and API files, from the same parse the
// harness uses at run time (harness/regmap-json.ts). With --check it writes nothing and fails,
// naming each stale file. Paths come from the project config, or from the command line.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { renderApi, renderAssembly, renderTypeScript } from "../gen.js";
import { Project, displayPath, type ProjectConfig } from "../project.js";
import type { Registry } from "../registry.js";
import { type Command, UsageError } from "./common.js";

export interface GenOptions {
  /** Folder of the AssemblyScript constants. */
  readonly assembly?: string;
  /** Folder of the TypeScript metadata; none when absent. */
  readonly typescript?: string;
  /** What the TypeScript files import RegisterBlock from (default `wasm-hal`). */
  readonly typesFrom?: string;
}

/** The files `gen` would write for a registry: absolute path -> text. */
export function renderRegistry(registry: Registry, root: string, options: GenOptions): Map<string, string> {
  const files = new Map<string, string>();
  const shown = (source: string): string => displayPath(resolve(source), root);
  const typesFrom = options.typesFrom ?? "wasm-hal";
  for (const { block, source } of registry.entries()) {
    const sourceName = shown(source);
    if (options.assembly !== undefined) files.set(join(options.assembly, `${block.block}.ts`), renderAssembly(block, { sourceName }));
    if (options.typescript !== undefined) files.set(join(options.typescript, `${block.block}.ts`), renderTypeScript(block, { sourceName, typesFrom }));
  }
  if (registry.api.status.length > 0 || registry.api.constants.length > 0) {
    const api = renderApi(registry.api, { sourceName: "the API files", typesFrom });
    if (options.assembly !== undefined) files.set(join(options.assembly, "api.ts"), api.assembly);
    if (options.typescript !== undefined) files.set(join(options.typescript, "api.ts"), api.typescript);
  }
  return files;
}

export interface GenResult {
  readonly written: readonly string[];
  readonly stale: readonly string[];
  readonly unchanged: number;
}

/** Writes (or with `check`, compares) the rendered files. A failed write names the file. */
export function writeRendered(files: ReadonlyMap<string, string>, check: boolean): GenResult {
  const written: string[] = [];
  const stale: string[] = [];
  let unchanged = 0;
  for (const [path, text] of files) {
    const current = existsSync(path) ? readFileSync(path, "utf8") : null;
    if (current === text) {
      unchanged++;
      continue;
    }
    if (check) {
      stale.push(path);
      continue;
    }
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    } catch (e) {
      throw new Error(`cannot write ${displayPath(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}${written.length > 0 ? ` (written before it: ${written.map((p) => displayPath(p)).join(", ")})` : ""}`);
    }
    written.push(path);
  }
  return { written, stale, unchanged };
}

async function run(argv: string[], project: () => Promise<Project>): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      check: { type: "boolean" },
      assembly: { type: "string" },
      typescript: { type: "string" },
      "types-from": { type: "string" },
      api: { type: "string", multiple: true },
    },
    strict: true,
    allowPositionals: true,
  });
  let p: Project;
  let options: GenOptions;
  if (positionals.length > 0) {
    // Maps named on the command line: no config needed.
    if (values.assembly === undefined && values.typescript === undefined) throw new UsageError("gen with map files needs --assembly DIR and/or --typescript DIR");
    const config: ProjectConfig = { registers: positionals, api: values.api ?? [] };
    p = new Project(process.cwd(), null, config);
    options = {
      ...(values.assembly === undefined ? {} : { assembly: resolve(values.assembly) }),
      ...(values.typescript === undefined ? {} : { typescript: resolve(values.typescript) }),
      ...(values["types-from"] === undefined ? {} : { typesFrom: values["types-from"] }),
    };
  } else {
    p = await project();
    const generate = p.config.generate ?? {};
    const assembly = values.assembly ?? generate.assembly ?? "assembly/generated";
    const typescript = values.typescript ?? generate.typescript;
    options = {
      assembly: p.path(assembly),
      ...(typescript === undefined ? {} : { typescript: p.path(typescript) }),
      ...(values["types-from"] ?? generate.typesFrom) === undefined ? {} : { typesFrom: (values["types-from"] ?? generate.typesFrom)! },
    };
  }
  const files = renderRegistry(p.registry, p.root, options);
  if (files.size === 0) throw new UsageError("the project has no register maps or API files to generate from (config keys registers, svd, api)");
  const result = writeRendered(files, values.check === true);
  if (values.check === true) {
    if (result.stale.length > 0) {
      process.stderr.write(`wasm-hal: out of date (run \`wasm-hal gen\`): ${result.stale.map((p) => displayPath(p)).join(", ")}\n`);
      return 1;
    }
    process.stdout.write(`gen: ${files.size} files up to date\n`);
    return 0;
  }
  const wrote = result.written.length === 0 ? "nothing to write" : `wrote ${result.written.map((p) => displayPath(p)).join(", ")}`;
  process.stdout.write(`gen: ${wrote}; ${result.unchanged} file${result.unchanged === 1 ? "" : "s"} already up to date\n`);
  return 0;
}

export const gen: Command = {
  name: "gen",
    summary: "write AssemblyScript constants and TypeScript metadata from the register maps",
    usage: `  (no files)        the config's registers, svd and api entries, into generate.assembly /
                    generate.typescript
  MAP.json...       these maps instead (with --assembly and/or --typescript)
  --assembly DIR    where the AssemblyScript constants go
  --typescript DIR  where the TypeScript metadata goes
  --types-from M    what the TypeScript files import RegisterBlock from (default wasm-hal)
  --api FILE        an API file (status codes, constants), with map files; may repeat
  --check           write nothing; exit 1 naming every stale file`,
    run: (argv, context) => run(argv, context.project),
};
