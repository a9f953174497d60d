// `wasm-hal gen` on its own, for the package's build: the register files must exist before the
// rest of the harness (which imports them) is compiled, so this entry compiles alone
// (tsconfig.gen.json) and imports nothing generated.
import { gen } from "./gen.js";
import { ConfigError, loadProject } from "../project.js";
import { RegisterMapError } from "../regmap-json.js";
import { JsonFileError } from "../json-text.js";
import { UsageError } from "./common.js";

try {
  process.exitCode = await gen.run(process.argv.slice(2), { project: () => loadProject(), projectOrPackage: () => loadProject() });
} catch (e) {
  if (!(e instanceof ConfigError || e instanceof RegisterMapError || e instanceof JsonFileError || e instanceof UsageError)) throw e;
  process.stderr.write(`wasm-hal gen: ${e.message}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
}
