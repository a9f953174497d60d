// Bug: stm32_dma_memcpy stops the stream but does not clear its flags before setting EN again
// (RM0090 §10.3.17 step 2: all of the stream's flags are cleared before it is re-enabled). A TCIF
// left by an earlier transfer that nobody waited for is still set when the new copy starts, so
// the next stm32_dma_wait returns OK at once, before a single byte of the new copy has moved.
// Caught by: the DMA model's count of enables made with flags set (enabledWithFlagsSet), and the
// destination checked when stm32_dma_wait says the copy is done.
import { write32, dsb } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { DMA_S0CR, DMA_S0NDTR, DMA_S0PAR, DMA_S0M0AR, DMA_S0FCR, DMA_S0CR_EN } from "../assembly/generated/dma";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, STM32_DMA_STREAMS, STM32_DMA_CONFIG_PSIZE_MASK, STM32_DMA_CONFIG_MSIZE_MASK,
  STM32_DMA_CONFIG_MSIZE_SHIFT,
} from "../assembly/generated/api";
import { streamRegister, disableStream, validConfig, controlFor, fifoControlFor, DIR_MEM_TO_MEM, SIZE_RESERVED, BUS_END } from "./parts/stm32f4-dma";

export * from "../assembly/abi";
export * from "../assembly/stm32f4/rcc";
export * from "../assembly/stm32f4/gpio";
export * from "../assembly/stm32f4/usart";
export * from "../assembly/stm32f4/spi";
export {
  stm32_dma_mem_to_periph, stm32_dma_periph_to_mem, stm32_dma_wait, stm32_dma_stop, stm32_dma_remaining,
} from "../assembly/stm32f4/dma";

export function stm32_dma_memcpy(dma_base: u32, stream: u32, dst: u32, src: u32, len: u32, config: u32): i32 {
  if (!isValidBase(dma_base) || stream >= STM32_DMA_STREAMS) return ERR_INVALID_ARG;
  const psize = config & STM32_DMA_CONFIG_PSIZE_MASK;
  const msize = (config & STM32_DMA_CONFIG_MSIZE_MASK) >> STM32_DMA_CONFIG_MSIZE_SHIFT;
  if (psize == SIZE_RESERVED || msize == SIZE_RESERVED) return ERR_INVALID_ARG;
  if ((len & ((1 << psize) - 1)) != 0 || (len & ((1 << msize) - 1)) != 0) return ERR_INVALID_ARG;
  if (<u64>src + <u64>len > BUS_END || <u64>dst + <u64>len > BUS_END) return ERR_INVALID_ARG;
  const items = len >> psize;
  if (!validConfig(config, items, src, dst, true)) return ERR_INVALID_ARG;
  const cr = controlFor(config, 0, DIR_MEM_TO_MEM, true, true);
  if (!disableStream(dma_base, stream)) return ERR_TIMEOUT;
  // the defect: no clearFlags(dma_base, stream) here
  write32(streamRegister(dma_base, stream, DMA_S0PAR), src);
  write32(streamRegister(dma_base, stream, DMA_S0M0AR), dst);
  write32(streamRegister(dma_base, stream, DMA_S0NDTR), items);
  const control = streamRegister(dma_base, stream, DMA_S0CR);
  write32(control, cr);
  write32(streamRegister(dma_base, stream, DMA_S0FCR), fifoControlFor(config, true));
  dsb();
  write32(control, cr | DMA_S0CR_EN);
  return OK;
}
