// Bug: stm32_gpio_toggle inverts the pins by `ODR ^= mask`: a read of ODR, then a write of all 16
// output bits. A pin of the same port that another context (an interrupt handler, the other
// core's code) changes between the read and the write is put back to the stale level read. BSRR
// exists so that no read-modify-write of ODR is needed (RM0090 §8.3.5, §8.4.7): the driver reads
// ODR and writes only BSRR, which changes only the pins of `mask`.
// Caught by: the lint (set-reset-read-modify-write) and the never-touch check (toggle never
// writes ODR).
import { read32, write32 } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { GPIO_ODR } from "../assembly/generated/gpio";
import { OK, ERR_INVALID_ARG, STM32_GPIO_PINS_MASK } from "../assembly/generated/api";

export * from "../assembly/abi";
export * from "../assembly/stm32f4/rcc";
export { stm32_gpio_configure, stm32_gpio_write, stm32_gpio_read, stm32_gpio_lock } from "../assembly/stm32f4/gpio";
export * from "../assembly/stm32f4/usart";
export * from "../assembly/stm32f4/spi";
export * from "../assembly/stm32f4/dma";

export function stm32_gpio_toggle(port_base: u32, mask: u32): i32 {
  if (!isValidBase(port_base) || (mask & ~STM32_GPIO_PINS_MASK) != 0) return ERR_INVALID_ARG;
  const odr = read32(port_base + GPIO_ODR) & STM32_GPIO_PINS_MASK; // the defect: ODR read ...
  write32(port_base + GPIO_ODR, odr ^ mask); // ... and all 16 pins written back
  return OK;
}
