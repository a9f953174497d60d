// Bug: stm32_spi_init writes the new configuration without first running the disable procedure
// of RM0090 §28.3.8: on an SPI that is already enabled (a second init, to change the clock mode
// or rate for another slave), BR, CPOL and CPHA are written while SPE = 1, which RM0090 §28.3.3
// and §28.5.1 forbid; with a frame on the wire it is shifted half in one mode, half in the other.
// Caught by: the lint (write-while-enabled: CR1 fields written while CR1.SPE = 1).
import { read32, write32, dsb } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import {
  SPI_CR1, SPI_CR1_DFF, SPI_CR1_SSM, SPI_CR1_SSI, SPI_CR1_LSBFIRST, SPI_CR1_SPE, SPI_CR1_BR_SHIFT, SPI_CR1_BR_MASK,
  SPI_CR1_MSTR, SPI_CR1_CPOL, SPI_CR1_CPHA, SPI_CR2, SPI_SR, SPI_SR_OVR, SPI_SR_RXNE, SPI_DR,
} from "../assembly/generated/spi";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, STM32_SPI_CONFIG_CPHA, STM32_SPI_CONFIG_CPOL, STM32_SPI_CONFIG_16_BIT,
  STM32_SPI_CONFIG_LSB_FIRST, STM32_SPI_CONFIG_VALID_MASK,
} from "../assembly/generated/api";

export * from "../assembly/abi";
export * from "../assembly/stm32f4/rcc";
export * from "../assembly/stm32f4/gpio";
export * from "../assembly/stm32f4/usart";
export { stm32_spi_transfer, stm32_spi_disable, stm32_spi_set_dma } from "../assembly/stm32f4/spi";
export * from "../assembly/stm32f4/dma";

@inline const BR_MAX: u32 = SPI_CR1_BR_MASK >> SPI_CR1_BR_SHIFT;

export function stm32_spi_init(base: u32, pclk_hz: u32, max_hz: u32, config: u32): i32 {
  if (!isValidBase(base) || pclk_hz == 0 || max_hz == 0) return ERR_INVALID_ARG;
  if ((config & ~STM32_SPI_CONFIG_VALID_MASK) != 0) return ERR_INVALID_ARG;
  let br: u32 = 0;
  while (br <= BR_MAX && (pclk_hz >> (br + 1)) > max_hz) br++;
  if (br > BR_MAX) return ERR_UNREACHABLE_RATE;
  // the defect: no disable(base) here, so SPE may still be 1 below
  if (read32(base + SPI_SR) & (SPI_SR_RXNE | SPI_SR_OVR)) {
    read32(base + SPI_DR);
    read32(base + SPI_SR);
  }
  let cr1 = (br << SPI_CR1_BR_SHIFT) | SPI_CR1_SSM | SPI_CR1_SSI;
  if (config & STM32_SPI_CONFIG_CPOL) cr1 |= SPI_CR1_CPOL;
  if (config & STM32_SPI_CONFIG_CPHA) cr1 |= SPI_CR1_CPHA;
  if (config & STM32_SPI_CONFIG_16_BIT) cr1 |= SPI_CR1_DFF;
  if (config & STM32_SPI_CONFIG_LSB_FIRST) cr1 |= SPI_CR1_LSBFIRST;
  write32(base + SPI_CR1, cr1);
  write32(base + SPI_CR2, 0);
  write32(base + SPI_CR1, cr1 | SPI_CR1_MSTR | SPI_CR1_SPE);
  dsb();
  return OK;
}
