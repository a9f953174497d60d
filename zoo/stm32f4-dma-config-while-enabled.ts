// Bug: stm32_dma_mem_to_periph programs the stream without step 1 of RM0090 §10.3.17 (if EN = 1,
// write EN = 0 and wait until EN reads 0). On a stream still running, PAR, M0AR, NDTR and the
// protected SxCR fields are read-only while EN = 1 (RM0090 §10.5.5-10.5.8): every write of the new
// transfer is ignored, EN is already 1, and the stream carries on with the old addresses and
// count. The call returns OK and the new buffer is never sent.
// Caught by: the lint (write-while-enabled) and the DMA model's record of ignored writes
// (lockedWrites).
import { write32, dsb } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { DMA_S0CR, DMA_S0NDTR, DMA_S0PAR, DMA_S0M0AR, DMA_S0FCR, DMA_S0CR_EN } from "../assembly/generated/dma";
import {
  OK, ERR_INVALID_ARG, STM32_DMA_STREAMS, STM32_DMA_CHANNELS, STM32_DMA_CONFIG_PSIZE_MASK,
  STM32_DMA_CONFIG_MEM_FIXED, STM32_DMA_CONFIG_PERIPH_INC, STM32_DMA_CONFIG_FIFO,
} from "../assembly/generated/api";
import { streamRegister, clearFlags, validConfig, controlFor, fifoControlFor, DIR_MEM_TO_PERIPH, BUS_END } from "./parts/stm32f4-dma";

export * from "../assembly/abi";
export * from "../assembly/stm32f4/rcc";
export * from "../assembly/stm32f4/gpio";
export * from "../assembly/stm32f4/usart";
export * from "../assembly/stm32f4/spi";
export {
  stm32_dma_memcpy, stm32_dma_periph_to_mem, stm32_dma_wait, stm32_dma_stop, stm32_dma_remaining,
} from "../assembly/stm32f4/dma";

export function stm32_dma_mem_to_periph(dma_base: u32, stream: u32, channel: u32, periph_addr: u32, mem_addr: u32, count: u32, config: u32): i32 {
  if (!isValidBase(dma_base) || stream >= STM32_DMA_STREAMS || channel >= STM32_DMA_CHANNELS) return ERR_INVALID_ARG;
  if (!validConfig(config, count, periph_addr, mem_addr, false)) return ERR_INVALID_ARG;
  const bytes = <u64>count << <u64>(config & STM32_DMA_CONFIG_PSIZE_MASK);
  if ((config & STM32_DMA_CONFIG_MEM_FIXED) == 0 && <u64>mem_addr + bytes > BUS_END) return ERR_INVALID_ARG;
  if ((config & STM32_DMA_CONFIG_PERIPH_INC) != 0 && <u64>periph_addr + bytes > BUS_END) return ERR_INVALID_ARG;
  const cr = controlFor(config, channel, DIR_MEM_TO_PERIPH, (config & STM32_DMA_CONFIG_PERIPH_INC) != 0, (config & STM32_DMA_CONFIG_MEM_FIXED) == 0);
  // the defect: no disableStream(dma_base, stream) here
  clearFlags(dma_base, stream);
  write32(streamRegister(dma_base, stream, DMA_S0PAR), periph_addr);
  write32(streamRegister(dma_base, stream, DMA_S0M0AR), mem_addr);
  write32(streamRegister(dma_base, stream, DMA_S0NDTR), count);
  const control = streamRegister(dma_base, stream, DMA_S0CR);
  write32(control, cr);
  write32(streamRegister(dma_base, stream, DMA_S0FCR), fifoControlFor(config, (config & STM32_DMA_CONFIG_FIFO) != 0));
  dsb();
  write32(control, cr | DMA_S0CR_EN);
  return OK;
}
