// Copies of the private helpers of assembly/stm32f4/dma.ts that the DMA zoo modules need (the
// argument checks, the register values of a stream, the flag positions, the disable step), so
// that a zoo module can rewrite one exported function and keep the rest as the driver has it.
// Not an entry: only the files directly in zoo/ are built.
import { read32, write32, dsb } from "../../assembly/mmio";
import { isValidBase } from "../../assembly/common";
import {
  DMA_LISR, DMA_HISR, DMA_LIFCR, DMA_HIFCR,
  DMA_LISR_FEIF0, DMA_LISR_FEIF1, DMA_LISR_FEIF2, DMA_LISR_FEIF3,
  DMA_LISR_DMEIF0, DMA_LISR_TEIF0, DMA_LISR_HTIF0, DMA_LISR_TCIF0,
  DMA_LIFCR_CFEIF0, DMA_LIFCR_CDMEIF0, DMA_LIFCR_CTEIF0, DMA_LIFCR_CHTIF0, DMA_LIFCR_CTCIF0,
  DMA_S0CR, DMA_S1CR, DMA_S0NDTR, DMA_S0PAR, DMA_S0M0AR, DMA_S0FCR,
  DMA_S0CR_CHSEL_SHIFT, DMA_S0CR_MBURST_SHIFT, DMA_S0CR_PBURST_SHIFT, DMA_S0CR_PL_SHIFT,
  DMA_S0CR_MSIZE_SHIFT, DMA_S0CR_PSIZE_SHIFT, DMA_S0CR_MINC, DMA_S0CR_PINC, DMA_S0CR_CIRC,
  DMA_S0CR_DIR_SHIFT, DMA_S0CR_TCIE, DMA_S0CR_TEIE, DMA_S0CR_DMEIE, DMA_S0CR_EN,
  DMA_S0NDTR_NDT_MASK, DMA_S0FCR_FEIE, DMA_S0FCR_DMDIS, DMA_S0FCR_FTH_SHIFT,
} from "../../assembly/generated/dma";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_DMA, ERR_DMA_FIFO,
  STM32_DMA_STREAMS, STM32_DMA_CHANNELS, STM32_DMA_MAX_ITEMS,
  STM32_DMA_CONFIG_PSIZE_MASK, STM32_DMA_CONFIG_MSIZE_MASK, STM32_DMA_CONFIG_MSIZE_SHIFT,
  STM32_DMA_CONFIG_PBURST_MASK, STM32_DMA_CONFIG_PBURST_SHIFT, STM32_DMA_CONFIG_MBURST_MASK,
  STM32_DMA_CONFIG_MBURST_SHIFT, STM32_DMA_CONFIG_BURST_SINGLE, STM32_DMA_CONFIG_PRIORITY_MASK,
  STM32_DMA_CONFIG_PRIORITY_SHIFT, STM32_DMA_CONFIG_FIFO, STM32_DMA_CONFIG_FTH_MASK,
  STM32_DMA_CONFIG_FTH_SHIFT, STM32_DMA_CONFIG_CIRCULAR, STM32_DMA_CONFIG_PERIPH_INC,
  STM32_DMA_CONFIG_MEM_FIXED, STM32_DMA_CONFIG_IRQ, STM32_DMA_CONFIG_VALID_MASK,
} from "../../assembly/generated/api";

// Every stream has stream 0's registers and fields, DMA_S1CR - DMA_S0CR further on (RM0090
// §10.5.5: stream x at 0x10 + 0x18 x x); the driver names them by stream 0's constants.
@inline const STREAM_STRIDE: u32 = DMA_S1CR - DMA_S0CR;
/** Streams 0-3 report in LISR/LIFCR, streams 4-7 in HISR/HIFCR, at the same positions. */
@inline const STREAMS_PER_FLAG_REGISTER: u32 = 4;
/** A stream's five flags at stream 0's positions (bit 1 is reserved): FEIF, DMEIF, TEIF, HTIF,
 * TCIF (RM0090 §10.5.1-10.5.4). */
@inline const STREAM0_CLEAR_ALL: u32 = DMA_LIFCR_CFEIF0 | DMA_LIFCR_CDMEIF0 | DMA_LIFCR_CTEIF0 | DMA_LIFCR_CHTIF0 | DMA_LIFCR_CTCIF0;

// DIR codes (RM0090 §10.5.5): 00 peripheral to memory, 01 memory to peripheral, 10 memory to
// memory. Size codes: 00 byte, 01 half-word, 10 word, 11 reserved; a size code is log2 of the
// item size in bytes.
export const DIR_PERIPH_TO_MEM: u32 = 0;
export const DIR_MEM_TO_PERIPH: u32 = 1;
export const DIR_MEM_TO_MEM: u32 = 2;
export const SIZE_RESERVED: u32 = 3;
/** Bytes in the stream's FIFO: 4 words (RM0090 §10.5.10); FTH = n means (n + 1) quarters. */
@inline const FIFO_BYTES: u32 = 16;
@inline const FIFO_QUARTER_BYTES: u32 = FIFO_BYTES / 4;
/** FTH code 2: three quarters (RM0090 §10.5.10). */
/** One past the last bus address: a buffer must end at or below it. */
export const BUS_END: u64 = 0x1_0000_0000;
@inline const FTH_THREE_QUARTERS: u32 = 2;

// Poll limits, counted in register reads (100 ns each on a slow AHB bus).
/** SxCR reads while a stream that was enabled finishes its current item(s) after EN = 0 (RM0090
 * §10.3.17 step 1). ST's HAL allows 5 ms; 1 << 16 reads are about 6.5 ms. */
@inline const DMA_DISABLE_POLL_LIMIT: u32 = 1 << 16;

/** The bus address of a register of `stream`, named by stream 0's offset. */
export function streamRegister(base: u32, stream: u32, s0Offset: u32): u32 {
  return base + s0Offset + stream * STREAM_STRIDE;
}

/** Where a stream's flags start in its status and clear registers: {0, 6, 16, 22} for streams
 * x mod 4 = 0..3, read from the positions of the FEIF flags (RM0090 §10.5.1; the first of each
 * stream's flags is FEIF). */
export function flagShift(stream: u32): u32 {
  const slot = stream % STREAMS_PER_FLAG_REGISTER;
  if (slot == 0) return ctz(DMA_LISR_FEIF0);
  if (slot == 1) return ctz(DMA_LISR_FEIF1);
  if (slot == 2) return ctz(DMA_LISR_FEIF2);
  return ctz(DMA_LISR_FEIF3);
}

@inline function clearRegister(base: u32, stream: u32): u32 {
  return base + (stream < STREAMS_PER_FLAG_REGISTER ? DMA_LIFCR : DMA_HIFCR);
}

/** Clears all five flags of `stream` with one write of 1s to its positions (write 1 to clear,
 * RM0090 §10.5.3, §10.5.4); the other streams' flags see 0s and are left alone. */
export function clearFlags(base: u32, stream: u32): void {
  write32(clearRegister(base, stream), STREAM0_CLEAR_ALL << flagShift(stream));
}

/** Step 1 of RM0090 §10.3.17: if EN = 1, write EN = 0 and wait (bounded) until EN reads 0; the
 * stream first finishes the current item(s). False when it did not stop in time. */
export function disableStream(base: u32, stream: u32): bool {
  const cr = streamRegister(base, stream, DMA_S0CR);
  const value = read32(cr);
  if ((value & DMA_S0CR_EN) == 0) return true;
  write32(cr, value & ~DMA_S0CR_EN);
  for (let polls: u32 = 0; polls < DMA_DISABLE_POLL_LIMIT; polls++) {
    if ((read32(cr) & DMA_S0CR_EN) == 0) return true;
  }
  return false;
}

/** The beats of burst code `code`: 1 (single), 4, 8, 16 (RM0090 §10.5.5). */
@inline function burstBeats(code: u32): u32 {
  return code == STM32_DMA_CONFIG_BURST_SINGLE ? 1 : 1 << (code + 1);
}

/**
 * Checks `config` against the rules of RM0090 §10.3.6-10.3.12 (modes, packing, bursts, FIFO)
 * for a transfer of `items` peripheral-side items from or to `peripheralAddr` on the peripheral
 * side and `memoryAddr` on the memory side (for memory to memory: source and destination).
 * `memToMem`: the stream always uses its FIFO and may not be circular.
 */
export function validConfig(config: u32, items: u32, peripheralAddr: u32, memoryAddr: u32, memToMem: bool): bool {
  if ((config & ~STM32_DMA_CONFIG_VALID_MASK) != 0) return false;
  if (items == 0 || items > STM32_DMA_MAX_ITEMS) return false;
  const psize = config & STM32_DMA_CONFIG_PSIZE_MASK;
  const msize = (config & STM32_DMA_CONFIG_MSIZE_MASK) >> STM32_DMA_CONFIG_MSIZE_SHIFT;
  if (psize == SIZE_RESERVED || msize == SIZE_RESERVED) return false;
  // Addresses aligned to their side's item size (RM0090 §10.5.7, §10.5.8).
  if ((peripheralAddr & ((1 << psize) - 1)) != 0 || (memoryAddr & ((1 << msize) - 1)) != 0) return false;
  const pburst = (config & STM32_DMA_CONFIG_PBURST_MASK) >> STM32_DMA_CONFIG_PBURST_SHIFT;
  const mburst = (config & STM32_DMA_CONFIG_MBURST_MASK) >> STM32_DMA_CONFIG_MBURST_SHIFT;
  const circular = (config & STM32_DMA_CONFIG_CIRCULAR) != 0;
  const fifo = memToMem || (config & STM32_DMA_CONFIG_FIFO) != 0;
  const fth = (config & STM32_DMA_CONFIG_FTH_MASK) >> STM32_DMA_CONFIG_FTH_SHIFT;
  // Memory to memory: no circular mode (nor direct or double-buffer mode).
  if (memToMem && circular) return false;
  if (!fifo) {
    // Direct mode: single transfers only and PSIZE = MSIZE, no packing; a
    // threshold has no meaning there and is refused rather than ignored.
    return pburst == STM32_DMA_CONFIG_BURST_SINGLE && mburst == STM32_DMA_CONFIG_BURST_SINGLE && psize == msize && fth == 0;
  }
  // Packing: NDTR a multiple of MSIZE / PSIZE when memory items are wider (RM0090 Table 48: 2 for byte to half-word, 4 for byte to word, 2 for half-word to word).
  if (msize > psize && (items & ((1 << (msize - psize)) - 1)) != 0) return false;
  // The FIFO threshold must be a whole number of memory bursts; otherwise FEIF sets at enable and
  // the stream stops (RM0090 Table 49). Single memory transfers fit every threshold.
  const thresholdBytes = (fth + 1) * FIFO_QUARTER_BYTES;
  if (mburst != STM32_DMA_CONFIG_BURST_SINGLE) {
    const mburstBytes = burstBeats(mburst) << msize;
    if (mburstBytes > FIFO_BYTES || thresholdBytes % mburstBytes != 0) return false;
  }
  // A peripheral burst of 16 bytes (PBURST x PSIZE) forbids the 3/4 threshold,
  // and one larger than the FIFO cannot be served.
  const pburstBytes = burstBeats(pburst) << psize;
  if (pburstBytes > FIFO_BYTES) return false;
  if (pburst != STM32_DMA_CONFIG_BURST_SINGLE && pburstBytes == FIFO_BYTES && fth == FTH_THREE_QUARTERS) return false;
  // Circular with memory bursts: NDTR a multiple of MBURST beats x MSIZE / PSIZE.
  if (circular && mburst != STM32_DMA_CONFIG_BURST_SINGLE) {
    const unit = (burstBeats(mburst) << msize) >> psize;
    if (unit != 0 && items % unit != 0) return false;
  }
  return true;
}

/** The SxCR value (without EN) for a checked config. */
export function controlFor(config: u32, channel: u32, direction: u32, peripheralIncrements: bool, memoryIncrements: bool): u32 {
  const psize = config & STM32_DMA_CONFIG_PSIZE_MASK;
  const msize = (config & STM32_DMA_CONFIG_MSIZE_MASK) >> STM32_DMA_CONFIG_MSIZE_SHIFT;
  let cr = (channel << DMA_S0CR_CHSEL_SHIFT)
    | (((config & STM32_DMA_CONFIG_PRIORITY_MASK) >> STM32_DMA_CONFIG_PRIORITY_SHIFT) << DMA_S0CR_PL_SHIFT)
    | (direction << DMA_S0CR_DIR_SHIFT) | (psize << DMA_S0CR_PSIZE_SHIFT) | (msize << DMA_S0CR_MSIZE_SHIFT);
  // Bursts only in FIFO mode; in direct mode hardware forces them to single anyway (RM0090
  // §10.5.5), and validConfig has already refused them there.
  cr |= ((config & STM32_DMA_CONFIG_PBURST_MASK) >> STM32_DMA_CONFIG_PBURST_SHIFT) << DMA_S0CR_PBURST_SHIFT;
  cr |= ((config & STM32_DMA_CONFIG_MBURST_MASK) >> STM32_DMA_CONFIG_MBURST_SHIFT) << DMA_S0CR_MBURST_SHIFT;
  if (peripheralIncrements) cr |= DMA_S0CR_PINC;
  if (memoryIncrements) cr |= DMA_S0CR_MINC;
  if (config & STM32_DMA_CONFIG_CIRCULAR) cr |= DMA_S0CR_CIRC;
  if (config & STM32_DMA_CONFIG_IRQ) cr |= DMA_S0CR_TCIE | DMA_S0CR_TEIE | DMA_S0CR_DMEIE;
  return cr;
}

/** The SxFCR value for a checked config: DMDIS and FTH, FEIE with the interrupts. */
export function fifoControlFor(config: u32, fifo: bool): u32 {
  let fcr: u32 = 0;
  if (fifo) fcr = DMA_S0FCR_DMDIS | (((config & STM32_DMA_CONFIG_FTH_MASK) >> STM32_DMA_CONFIG_FTH_SHIFT) << DMA_S0FCR_FTH_SHIFT);
  if (config & STM32_DMA_CONFIG_IRQ) fcr |= DMA_S0FCR_FEIE;
  return fcr;
}

