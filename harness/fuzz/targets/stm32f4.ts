// The STM32F4 family's fuzz targets, one per driver of build/stm32f4.wasm: a fuzz-target module
// as a project writes one (default export: the definitions), named by the config's fuzz.targets.
// Each target maps its blocks at the addresses of fixtures/boards/stm32f405.json, behind the
// clock gates the board's RCC wiring gives, and fuzzes the config's "stm32f4" module
// (docs/fuzzing.md, "The STM32F4 targets").
import { addFuzzTargets, defineFuzzTarget, type FuzzTargetDefinition } from "../target-table.js";
import { stm32f4RccTarget } from "./stm32f4-rcc.js";
import { stm32f4GpioTarget } from "./stm32f4-gpio.js";
import { stm32f4UsartTarget } from "./stm32f4-usart.js";
import { stm32f4SpiTarget } from "./stm32f4-spi.js";
import { stm32f4DmaTarget } from "./stm32f4-dma.js";

export const STM32F4_TARGET_NAMES = ["stm32f4-rcc", "stm32f4-gpio", "stm32f4-usart", "stm32f4-spi", "stm32f4-dma"] as const;

const STM32F4_TARGETS: readonly FuzzTargetDefinition[] = [
  defineFuzzTarget({ name: "stm32f4-rcc", create: () => stm32f4RccTarget() }),
  defineFuzzTarget({ name: "stm32f4-gpio", create: () => stm32f4GpioTarget() }),
  defineFuzzTarget({ name: "stm32f4-usart", create: (options) => stm32f4UsartTarget(options) }),
  defineFuzzTarget({ name: "stm32f4-spi", create: (options) => stm32f4SpiTarget(options) }),
  defineFuzzTarget({ name: "stm32f4-dma", create: (options) => stm32f4DmaTarget(options) }),
];

// Added on import too, as the PrimeCell targets are: the zoo's worker threads fuzz the package's
// variants with no project loaded. Each target names its own module, build/stm32f4.wasm.
addFuzzTargets(STM32F4_TARGETS, null);

export default STM32F4_TARGETS;
