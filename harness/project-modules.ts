// The code a project's config names: modules of device kinds, of scenarios and of fuzz targets
// (docs/config.md). Each is an ES module whose default export is one item or a list of them; an
// export of the wrong shape is refused naming the file and what was expected.
import { pathToFileURL } from "node:url";
import { registerDeviceKind, type DeviceFactory } from "./board-file.js";
import { ConfigError, displayPath, type Project } from "./project.js";
import type { Scenario } from "./scenario.js";

/** A device kind as a project's device module exports it (docs/models.md). */
export interface DeviceKindDefinition {
  /** The name board files give in `device.kind`: lower-case letters, digits and -. */
  readonly kind: string;
  /** The register block it implements (a block of the project's registry), null for memory;
   * absent for a kind that fits any region. */
  readonly block?: string | null;
  /** One line for documentation and error messages. */
  readonly doc?: string;
  /** The kind stands for the real peripheral (a bridge to hardware): scenarios cannot use it
   * as a model (DeviceKindOptions.hardware). */
  readonly hardware?: boolean;
  /** Makes the device of one region; reads its options through `context.options`. */
  readonly create: DeviceFactory;
}

/** Types a device kind in a project's device module. */
export function defineDeviceKind(kind: DeviceKindDefinition): DeviceKindDefinition {
  return kind;
}

async function importDefault(file: string, key: string): Promise<unknown[]> {
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    throw new ConfigError(displayPath(file), "", `cannot load this ${key} module: ${message}`);
  }
  if (loaded.default === undefined) throw new ConfigError(displayPath(file), "", `has no default export: expected \`export default [...]\` (docs/config.md, "${key}")`);
  return Array.isArray(loaded.default) ? loaded.default : [loaded.default];
}

const registered = new WeakSet<object>();

/** Imports the project's device modules and registers their kinds (once per kind object, so a
 * module loaded again by a test is not registered twice). */
export async function loadDeviceKinds(project: Project): Promise<void> {
  for (const file of project.moduleFiles("devices")) {
    const items = await importDefault(file, "devices");
    items.forEach((item, i) => {
      const where = `default export[${i}]`;
      const k = item as Partial<DeviceKindDefinition> | null;
      if (k === null || typeof k !== "object" || typeof k.kind !== "string" || typeof k.create !== "function") {
        throw new ConfigError(displayPath(file), where, "expected a device kind { kind, block?, doc?, create(context) } (defineDeviceKind)");
      }
      if (registered.has(k)) return;
      try {
        registerDeviceKind(k.kind, k.create, {
          ...(k.block === undefined ? {} : { block: k.block }),
          ...(k.doc === undefined ? {} : { doc: k.doc }),
          ...(k.hardware === undefined ? {} : { hardware: k.hardware }),
        });
      } catch (e) {
        throw new ConfigError(displayPath(file), where, (e as Error).message);
      }
      if (k.block !== undefined && k.block !== null && !project.registry.has(k.block)) {
        throw new ConfigError(displayPath(file), where, `device kind ${k.kind} implements block ${k.block}, which the project's register maps do not define (${project.registry.expected()})`);
      }
      registered.add(k);
    });
  }
}

/** A scenario of the project, with the module file it came from. */
export interface ProjectScenario {
  readonly scenario: Scenario;
  readonly file: string;
}

/** Imports the project's scenario modules, in config order; names must be unique. */
export async function loadScenarios(project: Project): Promise<Scenario[]> {
  const out: ProjectScenario[] = [];
  for (const file of project.moduleFiles("scenarios")) {
    const items = await importDefault(file, "scenarios");
    items.forEach((item, i) => {
      const where = `default export[${i}]`;
      const s = item as Partial<Scenario> | null;
      if (s === null || typeof s !== "object" || typeof s.name !== "string" || typeof s.run !== "function" || typeof s.board !== "string") {
        throw new ConfigError(displayPath(file), where, "expected a scenario { name, summary, board, module?, run(s) } (defineScenario)");
      }
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s.name)) throw new ConfigError(displayPath(file), where, `scenario name "${s.name}": expected letters, digits, _ . - (it names the golden file)`);
      const twice = out.find((x) => x.scenario.name === s.name);
      if (twice !== undefined) throw new ConfigError(displayPath(file), where, `scenario ${s.name} is also defined in ${displayPath(twice.file)}: expected each name once`);
      if (s.module !== undefined && !project.moduleNames().includes(s.module)) throw new ConfigError(displayPath(file), where, `scenario ${s.name} runs module ${s.module}, which the config does not name (modules: ${project.moduleNames().join(", ")})`);
      out.push({ scenario: s as Scenario, file });
    });
  }
  return out.map((x) => x.scenario);
}

/** Everything a command needs of a project: its device kinds registered, its scenarios loaded. */
export async function prepareProject(project: Project): Promise<{ project: Project; scenarios: Scenario[] }> {
  await loadDeviceKinds(project);
  return { project, scenarios: await loadScenarios(project) };
}
