// A command's context in the package's own project, for tests that call a command's run()
// in-process (the CLI finds the project from the working folder; these tests name it).
import type { CommandContext } from "../harness/commands/common.js";
import { packageProject } from "../harness/project.js";

export const PACKAGE_CONTEXT: CommandContext = {
  project: async () => packageProject(),
  projectOrPackage: async () => packageProject(),
};
