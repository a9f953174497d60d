// Bug: stm32_rcc_enable sets the enable bit and returns at once, without the DSB that waits out
// the erratum "Delay after an RCC peripheral clock enabling" (ES0182 §2.1.13): for 2 AHB cycles
// (AHB) or 1 + the AHB/APB ratio (APB) after the enable write the peripheral is not usable, and
// the caller's first access to it, made right after, is lost. Here: the BSRR write that drives a
// chip select high before the pin becomes an output never arrives, so the pin comes up low and
// selects the flash.
// Caught by: the clock-gate check (no access was kept from a gated peripheral), which names the
// region, the access and the reason (enable-delay).
import { modify32 } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { OK, ERR_INVALID_ARG } from "../assembly/generated/api";
import { clockBit, clockRegister } from "./parts/stm32f4-rcc";

export * from "../assembly/abi";
export { stm32_rcc_disable, stm32_rcc_reset, stm32_rcc_bus_clock_hz } from "../assembly/stm32f4/rcc";
export * from "../assembly/stm32f4/gpio";
export * from "../assembly/stm32f4/usart";
export * from "../assembly/stm32f4/spi";
export * from "../assembly/stm32f4/dma";

export function stm32_rcc_enable(rcc_base: u32, clock: u32): i32 {
  if (!isValidBase(rcc_base)) return ERR_INVALID_ARG;
  const bit = clockBit(clock);
  if (bit == 0) return ERR_INVALID_ARG;
  modify32(rcc_base + clockRegister(clock), 0, bit);
  // the defect: no dsb() here
  return OK;
}
