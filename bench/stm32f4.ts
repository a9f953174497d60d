// The STM32F4 module's workload for `npm run bench`: the same measurement as the PrimeCell one
// (harness access against an empty-import floor, same run) on build/stm32f4.wasm, so the ratio
// says whether the second family's models cost more per access than the first's. The workload
// never waits on a device (a GPIO port answers at once), so the floor runs the same path.
import { Bus, VirtualClock } from "../harness/bus.js";
import { compileModule } from "../harness/hal.js";
import { packageProject } from "../harness/project.js";
import { Stm32RccModel } from "../harness/devices/stm32f4/rcc.js";
import { Stm32GpioModel, clearPinHistory } from "../harness/devices/stm32f4/gpio.js";
import { RCC_MAP } from "../harness/generated/rcc.js";
import { GPIO_MAP } from "../harness/generated/gpio.js";
import { STM32_CLOCK_GPIOA, STM32_GPIO_MODE_OUTPUT } from "../harness/generated/api.js";
import type { Runner } from "./measure.js";

// RM0090 2.3 memory map: RCC at 0x4002_3800, GPIOA at 0x4002_0000.
const RCC = 0x4002_3800;
const GPIOA = 0x4002_0000;
/** The pins the workload drives: PA0..PA3. */
const PINS = 4;
const WRITES = 16;

interface Stm32Exports {
  stm32_rcc_enable(rcc: number, clock: number): number;
  stm32_gpio_configure(port: number, pin: number, config: number): number;
  stm32_gpio_write(port: number, mask: number, value: number): number;
  stm32_gpio_toggle(port: number, mask: number): number;
}

function instantiate(imports: WebAssembly.Imports): Stm32Exports {
  return new WebAssembly.Instance(compileModule(packageProject().modulePath("stm32f4", "release")), imports).exports as unknown as Stm32Exports;
}

/** One "RCC enable GPIOA + 4 pins to output + 16 BSRR writes + 16 toggles". */
function workload(hal: Stm32Exports): void {
  if (hal.stm32_rcc_enable(RCC, STM32_CLOCK_GPIOA) !== 0) throw new Error("stm32_rcc_enable failed in the benchmark");
  for (let pin = 0; pin < PINS; pin++) {
    if (hal.stm32_gpio_configure(GPIOA, pin, STM32_GPIO_MODE_OUTPUT) !== 0) throw new Error("stm32_gpio_configure failed in the benchmark");
  }
  const mask = (1 << PINS) - 1;
  for (let i = 0; i < WRITES; i++) {
    hal.stm32_gpio_write(GPIOA, mask, i);
    hal.stm32_gpio_toggle(GPIOA, mask);
  }
}

export const STM32F4_WORKLOAD = `stm32_rcc_enable + ${PINS} x stm32_gpio_configure + ${WRITES} x (stm32_gpio_write + stm32_gpio_toggle) on build/stm32f4.wasm, fresh device state per iteration`;

/** Empty imports: reads return 0, which these calls accept without waiting. */
export function stm32Floor(): Runner {
  let accesses = 0;
  const counted = instantiate({ env: { mmio_read: () => { accesses++; return 0; }, mmio_write: () => { accesses++; }, barrier: () => { accesses++; } } });
  workload(counted);
  const hal = instantiate({ env: { mmio_read: () => 0, mmio_write: () => {}, barrier: () => {} } });
  return { run: (n) => { for (let i = 0; i < n; i++) workload(hal); }, accesses };
}

/** The bus with the RCC and GPIOA models and every access recorded. */
export function stm32Harness(): Runner {
  const clock = new VirtualClock();
  const bus = new Bus({ clock });
  const rcc = new Stm32RccModel({ clock });
  const gpio = new Stm32GpioModel({ clock, port: "A" });
  bus.map({ name: "rcc", base: RCC, size: RCC_MAP.size, device: rcc, map: RCC_MAP });
  bus.map({ name: "gpioa", base: GPIOA, size: GPIO_MAP.size, device: gpio, map: GPIO_MAP });
  const hal = instantiate(bus.imports);
  const once = (): void => {
    // Time 0 each iteration, as a fuzz execution starts (the core bench's runner says why).
    clock.now = 0;
    rcc.reset();
    gpio.reset();
    clearPinHistory(gpio);
    bus.trace.clear();
    workload(hal);
  };
  once();
  const accesses = bus.trace.length;
  return { run: (n) => { for (let i = 0; i < n; i++) once(); }, accesses };
}
