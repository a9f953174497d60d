// The package's own fuzz targets, one per PrimeCell driver and one for the interrupt-driven PL011: a fuzz-target module like any a
// project's config names (default export: the definitions). Importing it also adds them to the
// target table, so code that fuzzes the built-in drivers needs no project.
import { addFuzzTargets, defineFuzzTarget, type FuzzTargetDefinition } from "../target-table.js";
import { pl011Target } from "./pl011.js";
import { pl022Target } from "./pl022.js";
import { pl061Target } from "./pl061.js";
import { pl080Target } from "./pl080.js";
import { pl011IrqTarget } from "./pl011-irq.js";

export { targetByName, type TargetOptions } from "../target-table.js";

const PRIMECELL_TARGETS: readonly FuzzTargetDefinition[] = [
  defineFuzzTarget({ name: "pl011", create: (options) => pl011Target(options) }),
  defineFuzzTarget({ name: "pl022", create: (options) => pl022Target(options) }),
  defineFuzzTarget({ name: "pl061", create: () => pl061Target() }),
  defineFuzzTarget({ name: "pl080", create: () => pl080Target() }),
  // The interrupt-driven PL011, with interrupt timing as a fuzz dimension.
  defineFuzzTarget({ name: "pl011-irq", create: (options) => pl011IrqTarget(options) }),
];

addFuzzTargets(PRIMECELL_TARGETS, null);

export default PRIMECELL_TARGETS;
