// A command's context in the package's own project, for tests that call a command's run()
// in-process (the CLI finds the project from the working folder; these tests name it), and the
// project's scenarios, every module of them.
import type { CommandContext } from "../harness/commands/common.js";
import { packageProject } from "../harness/project.js";
import { loadScenarios } from "../harness/project-modules.js";
import type { Scenario } from "../harness/scenario.js";

export const PACKAGE_CONTEXT: CommandContext = {
  project: async () => packageProject(),
  projectOrPackage: async () => packageProject(),
};

/** Every scenario of the package's project: each module its config names under "scenarios" (the
 * PrimeCell and the STM32F4 scenarios), loaded as `wasm-hal check` loads them (under vitest the
 * config's dist/ paths resolve to the TypeScript sources, vitest.config.ts). */
export const PROJECT_SCENARIOS: readonly Scenario[] = await loadScenarios(packageProject());

/** A scenario of the package's project by name. */
export function projectScenario(name: string): Scenario {
  const s = PROJECT_SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`the package's project has no scenario named ${name}`);
  return s;
}
