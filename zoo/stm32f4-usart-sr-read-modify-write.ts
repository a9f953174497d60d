// Bug: stm32_usart_set_dma clears TC with `SR &= ~TC` (a read of SR, then the value read written
// back without TC) instead of the write of ~TC that RM0090 §30.6.1 describes (ST's
// LL_USART_ClearFlag_TC writes ~USART_SR_TC). RXNE, CTS and LBD also clear by writing 0 (rc_w0):
// a byte that arrives between the read and the write has its RXNE cleared by the 0 written back,
// so the byte is never read and no overrun reports it.
// Caught by: the lint (w0c-read-modify-write), and the byte received during the call: never read.
import { read32, write32, dsb } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { USART_SR, USART_SR_TC, USART_CR3, USART_CR3_DMAT, USART_CR3_DMAR } from "../assembly/generated/usart";
import { OK, ERR_INVALID_ARG, STM32_USART_DMA_TX, STM32_USART_DMA_RX } from "../assembly/generated/api";

export * from "../assembly/abi";
export * from "../assembly/stm32f4/rcc";
export * from "../assembly/stm32f4/gpio";
export { stm32_usart_init, stm32_usart_write, stm32_usart_flush, stm32_usart_read } from "../assembly/stm32f4/usart";
export * from "../assembly/stm32f4/spi";
export * from "../assembly/stm32f4/dma";

export function stm32_usart_set_dma(base: u32, flags: u32): i32 {
  if (!isValidBase(base) || (flags & ~(STM32_USART_DMA_TX | STM32_USART_DMA_RX)) != 0) return ERR_INVALID_ARG;
  let set: u32 = 0;
  if (flags & STM32_USART_DMA_TX) set |= USART_CR3_DMAT;
  if (flags & STM32_USART_DMA_RX) set |= USART_CR3_DMAR;
  const cr3 = read32(base + USART_CR3);
  write32(base + USART_CR3, (cr3 & ~(USART_CR3_DMAT | USART_CR3_DMAR)) | set);
  if (flags & STM32_USART_DMA_TX) {
    const sr = read32(base + USART_SR); // the defect: SR read ...
    write32(base + USART_SR, sr & ~USART_SR_TC); // ... and written back with 0 in every flag that was clear
  }
  dsb();
  return OK;
}
