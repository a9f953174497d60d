// STM32F4 DMA driver (DMA1/DMA2 streams, RM0090 §10): one-shot and circular transfers between
// memory and a peripheral, and memory-to-memory copies (DMA2 only), polled. Register offsets and
// fields come from registers/stm32f4/dma.json through assembly/generated/dma.ts; config bits and
// the request mapping from registers/api-stm32f4.json. Usage: docs/drivers/stm32f4.md, "DMA".
//
// Addresses are bus (physical) addresses, as the DMA controller sees them, as for the PL080
// driver. This driver keeps nothing in linear memory for the controller to fetch, so it needs no
// memory address of its own; a host passing a buffer of linear memory adds the bus address at
// which it maps linear memory (docs/drivers/stm32f4.md).
import { read32, write32, dsb } from "../mmio";
import { isValidBase } from "../common";
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
} from "../generated/dma";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_DMA, ERR_DMA_FIFO,
  STM32_DMA_STREAMS, STM32_DMA_CHANNELS, STM32_DMA_MAX_ITEMS,
  STM32_DMA_CONFIG_PSIZE_MASK, STM32_DMA_CONFIG_MSIZE_MASK, STM32_DMA_CONFIG_MSIZE_SHIFT,
  STM32_DMA_CONFIG_PBURST_MASK, STM32_DMA_CONFIG_PBURST_SHIFT, STM32_DMA_CONFIG_MBURST_MASK,
  STM32_DMA_CONFIG_MBURST_SHIFT, STM32_DMA_CONFIG_BURST_SINGLE, STM32_DMA_CONFIG_PRIORITY_MASK,
  STM32_DMA_CONFIG_PRIORITY_SHIFT, STM32_DMA_CONFIG_FIFO, STM32_DMA_CONFIG_FTH_MASK,
  STM32_DMA_CONFIG_FTH_SHIFT, STM32_DMA_CONFIG_CIRCULAR, STM32_DMA_CONFIG_PERIPH_INC,
  STM32_DMA_CONFIG_MEM_FIXED, STM32_DMA_CONFIG_IRQ, STM32_DMA_CONFIG_VALID_MASK,
} from "../generated/api";

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
@inline const DIR_PERIPH_TO_MEM: u32 = 0;
@inline const DIR_MEM_TO_PERIPH: u32 = 1;
@inline const DIR_MEM_TO_MEM: u32 = 2;
@inline const SIZE_RESERVED: u32 = 3;
/** Bytes in the stream's FIFO: 4 words (RM0090 §10.5.10); FTH = n means (n + 1) quarters. */
@inline const FIFO_BYTES: u32 = 16;
@inline const FIFO_QUARTER_BYTES: u32 = FIFO_BYTES / 4;
/** FTH code 2: three quarters (RM0090 §10.5.10). */
/** One past the last bus address: a buffer must end at or below it. */
@inline const BUS_END: u64 = 0x1_0000_0000;
@inline const FTH_THREE_QUARTERS: u32 = 2;

// Poll limits, counted in register reads (100 ns each on a slow AHB bus).
/** SxCR reads while a stream that was enabled finishes its current item(s) after EN = 0 (RM0090
 * §10.3.17 step 1). ST's HAL allows 5 ms; 1 << 16 reads are about 6.5 ms. */
@inline const DMA_DISABLE_POLL_LIMIT: u32 = 1 << 16;
/** LISR/HISR reads in one stm32_dma_wait: about 105 ms at 100 ns per read. 65535 words copied
 * memory to memory take a few ms; a peripheral-paced transfer can take far longer (65535 bytes at
 * 115200 baud: 5.7 s), and stm32_dma_wait can simply be called again. */
@inline const DMA_WAIT_POLL_LIMIT: u32 = 1 << 20;

/** The bus address of a register of `stream`, named by stream 0's offset. */
@inline function streamRegister(base: u32, stream: u32, s0Offset: u32): u32 {
  return base + s0Offset + stream * STREAM_STRIDE;
}

/** Where a stream's flags start in its status and clear registers: {0, 6, 16, 22} for streams
 * x mod 4 = 0..3, read from the positions of the FEIF flags (RM0090 §10.5.1; the first of each
 * stream's flags is FEIF). */
function flagShift(stream: u32): u32 {
  const slot = stream % STREAMS_PER_FLAG_REGISTER;
  if (slot == 0) return ctz(DMA_LISR_FEIF0);
  if (slot == 1) return ctz(DMA_LISR_FEIF1);
  if (slot == 2) return ctz(DMA_LISR_FEIF2);
  return ctz(DMA_LISR_FEIF3);
}

@inline function statusRegister(base: u32, stream: u32): u32 {
  return base + (stream < STREAMS_PER_FLAG_REGISTER ? DMA_LISR : DMA_HISR);
}

@inline function clearRegister(base: u32, stream: u32): u32 {
  return base + (stream < STREAMS_PER_FLAG_REGISTER ? DMA_LIFCR : DMA_HIFCR);
}

/** Clears all five flags of `stream` with one write of 1s to its positions (write 1 to clear,
 * RM0090 §10.5.3, §10.5.4); the other streams' flags see 0s and are left alone. */
function clearFlags(base: u32, stream: u32): void {
  write32(clearRegister(base, stream), STREAM0_CLEAR_ALL << flagShift(stream));
}

/** Step 1 of RM0090 §10.3.17: if EN = 1, write EN = 0 and wait (bounded) until EN reads 0; the
 * stream first finishes the current item(s). False when it did not stop in time. */
function disableStream(base: u32, stream: u32): bool {
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
function validConfig(config: u32, items: u32, peripheralAddr: u32, memoryAddr: u32, memToMem: bool): bool {
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
function controlFor(config: u32, channel: u32, direction: u32, peripheralIncrements: bool, memoryIncrements: bool): u32 {
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
function fifoControlFor(config: u32, fifo: bool): u32 {
  let fcr: u32 = 0;
  if (fifo) fcr = DMA_S0FCR_DMDIS | (((config & STM32_DMA_CONFIG_FTH_MASK) >> STM32_DMA_CONFIG_FTH_SHIFT) << DMA_S0FCR_FTH_SHIFT);
  if (config & STM32_DMA_CONFIG_IRQ) fcr |= DMA_S0FCR_FEIE;
  return fcr;
}

/**
 * The stream configuration procedure of RM0090 §10.3.17, for checked arguments: stop the
 * stream, clear its flags, then PAR, M0AR, NDTR, SxCR (channel, priority and the rest), FCR,
 * and last EN. Returns OK, or ERR_TIMEOUT when the stream did not stop (nothing else written).
 */
function startStream(base: u32, stream: u32, par: u32, m0ar: u32, items: u32, cr: u32, fcr: u32): i32 {
  // 1. A running stream is disabled first; its registers are read-only while EN = 1.
  if (!disableStream(base, stream)) return ERR_TIMEOUT;
  // 2. All of the stream's flags cleared, as the procedure requires before EN is set again (a
  //    stale TCIF would also end the next stm32_dma_wait at once).
  clearFlags(base, stream);
  // 3. Peripheral port address (for memory to memory: the source), 4. memory port address.
  write32(streamRegister(base, stream, DMA_S0PAR), par);
  write32(streamRegister(base, stream, DMA_S0M0AR), m0ar);
  // 5. Items to transfer, in peripheral-side items.
  write32(streamRegister(base, stream, DMA_S0NDTR), items);
  // 6. CHSEL, 8. PL and 10. the rest of SxCR are fields of one register: one write, EN = 0.
  const control = streamRegister(base, stream, DMA_S0CR);
  write32(control, cr);
  // 9. FIFO: direct mode or FIFO mode with its threshold.
  write32(streamRegister(base, stream, DMA_S0FCR), fcr);
  // The controller starts reading as soon as EN is set: the source data that the caller wrote
  // to memory with plain stores, and the register writes above on a posted bus, must be
  // complete by then. DSB waits until every earlier access has completed; a DMB would only order
  // them for the CPU, and the DMA controller is another master.
  dsb();
  // 11. Enable.
  write32(control, cr | DMA_S0CR_EN);
  return OK;
}

/**
 * Copies `len` bytes from bus address `src` to bus address `dst` on `stream`, memory to memory.
 * Only DMA2 can do this (DMA1's peripheral port is not on the bus matrix, RM0090
 * §10.3.6-10.3.12); the driver cannot tell the controllers apart, so `dma_base` must be DMA2's.
 * `config`: item sizes (PSIZE for the source, MSIZE for the destination), bursts, priority, FIFO
 * threshold; the FIFO is always used, circular mode is refused. Returns OK once started (stm32_dma_wait tells when
 * it is done), ERR_INVALID_ARG before any register access, or ERR_TIMEOUT when a stream still
 * running did not stop.
 */
export function stm32_dma_memcpy(dma_base: u32, stream: u32, dst: u32, src: u32, len: u32, config: u32): i32 {
  if (!isValidBase(dma_base) || stream >= STM32_DMA_STREAMS) return ERR_INVALID_ARG;
  const psize = config & STM32_DMA_CONFIG_PSIZE_MASK;
  const msize = (config & STM32_DMA_CONFIG_MSIZE_MASK) >> STM32_DMA_CONFIG_MSIZE_SHIFT;
  if (psize == SIZE_RESERVED || msize == SIZE_RESERVED) return ERR_INVALID_ARG;
  // NDTR counts source (PSIZE) items; the length must be whole items on both sides.
  if ((len & ((1 << psize) - 1)) != 0 || (len & ((1 << msize) - 1)) != 0) return ERR_INVALID_ARG;
  if (<u64>src + <u64>len > BUS_END || <u64>dst + <u64>len > BUS_END) return ERR_INVALID_ARG;
  const items = len >> psize;
  if (!validConfig(config, items, src, dst, true)) return ERR_INVALID_ARG;
  // Both addresses increment whatever PERIPH_INC / MEM_FIXED say: a copy.
  const cr = controlFor(config, 0, DIR_MEM_TO_MEM, true, true);
  return startStream(dma_base, stream, src, dst, items, cr, fifoControlFor(config, true));
}

/** Shared by the two peripheral directions. */
function startPeripheral(base: u32, stream: u32, channel: u32, periph: u32, mem: u32, count: u32, config: u32, direction: u32): i32 {
  if (!isValidBase(base) || stream >= STM32_DMA_STREAMS || channel >= STM32_DMA_CHANNELS) return ERR_INVALID_ARG;
  if (!validConfig(config, count, periph, mem, false)) return ERR_INVALID_ARG;
  // An incrementing side must not run past the end of the 32-bit bus (bytes = items x PSIZE).
  const bytes = <u64>count << <u64>(config & STM32_DMA_CONFIG_PSIZE_MASK);
  if ((config & STM32_DMA_CONFIG_MEM_FIXED) == 0 && <u64>mem + bytes > BUS_END) return ERR_INVALID_ARG;
  if ((config & STM32_DMA_CONFIG_PERIPH_INC) != 0 && <u64>periph + bytes > BUS_END) return ERR_INVALID_ARG;
  const cr = controlFor(config, channel, direction, (config & STM32_DMA_CONFIG_PERIPH_INC) != 0, (config & STM32_DMA_CONFIG_MEM_FIXED) == 0);
  return startStream(base, stream, periph, mem, count, cr, fifoControlFor(config, (config & STM32_DMA_CONFIG_FIFO) != 0));
}

/**
 * Memory to peripheral on `stream`, request channel `channel` (RM0090 Tables 43/44, the
 * STM32_DMA1_* / STM32_DMA2_* constants): `count` peripheral-side items from bus address
 * `mem_addr` (incrementing unless STM32_DMA_CONFIG_MEM_FIXED) to the peripheral register at bus
 * address `periph_addr` (fixed unless STM32_DMA_CONFIG_PERIPH_INC). Returns as stm32_dma_memcpy.
 */
export function stm32_dma_mem_to_periph(dma_base: u32, stream: u32, channel: u32, periph_addr: u32, mem_addr: u32, count: u32, config: u32): i32 {
  return startPeripheral(dma_base, stream, channel, periph_addr, mem_addr, count, config, DIR_MEM_TO_PERIPH);
}

/**
 * Peripheral to memory on `stream`, request channel `channel`: `count` items from the
 * peripheral register at `periph_addr` to memory at `mem_addr`. Returns as stm32_dma_memcpy.
 */
export function stm32_dma_periph_to_mem(dma_base: u32, stream: u32, channel: u32, periph_addr: u32, mem_addr: u32, count: u32, config: u32): i32 {
  return startPeripheral(dma_base, stream, channel, periph_addr, mem_addr, count, config, DIR_PERIPH_TO_MEM);
}

/** resultOf's answer while the stream has neither finished nor failed. */
@inline const STREAM_RUNNING: i32 = 1;

/** The outcome a stream's flags (shifted down to stream 0's positions) report, in order of
 * precedence, or STREAM_RUNNING. `control` is the stream's SxCR, read only when FEIF is set. */
function resultOf(flags: u32, control: u32): i32 {
  if (flags & DMA_LISR_TEIF0) return ERR_DMA;
  if (flags & DMA_LISR_DMEIF0) return ERR_DMA_FIFO;
  if (flags & DMA_LISR_TCIF0) return OK;
  // FEIF with the stream still enabled: an underrun or overrun the stream recovers from, no data
  // lost (the request is simply not acknowledged). With EN = 0: the stream was stopped for it.
  if ((flags & DMA_LISR_FEIF0) != 0 && (read32(control) & DMA_S0CR_EN) == 0) return ERR_DMA_FIFO;
  return STREAM_RUNNING;
}

/**
 * Waits (bounded) until `stream` has completed or failed, from its flags (RM0090 §10.3.13-
 * 10.3.18): OK on TCIF; ERR_DMA on TEIF (a bus error; the stream is disabled); ERR_DMA_FIFO on
 * DMEIF (direct mode: an item was lost), or on FEIF once the stream has stopped (a FIFO threshold
 * / burst mismatch disabled it; a FIFO under/overrun with the stream still running loses no data
 * and is not an error); ERR_TIMEOUT when none of that came within DMA_WAIT_POLL_LIMIT reads (the
 * stream keeps running: call again, or stm32_dma_stop). All the stream's flags are cleared when it
 * returns a result other than ERR_TIMEOUT. In circular mode TCIF marks the end of each pass.
 */
export function stm32_dma_wait(dma_base: u32, stream: u32): i32 {
  if (!isValidBase(dma_base) || stream >= STM32_DMA_STREAMS) return ERR_INVALID_ARG;
  const shift = flagShift(stream);
  const status = statusRegister(dma_base, stream);
  const control = streamRegister(dma_base, stream, DMA_S0CR);
  for (let polls: u32 = 0; polls < DMA_WAIT_POLL_LIMIT; polls++) {
    const flags = read32(status) >> shift;
    const result = resultOf(flags, control);
    if (result != STREAM_RUNNING) {
      clearFlags(dma_base, stream);
      return result;
    }
  }
  return ERR_TIMEOUT;
}

/**
 * Stops `stream`: EN = 0, then waits (bounded) until EN reads 0 (the current item(s) finish, and
 * the FIFO is flushed to memory for transfers into memory, RM0090 §10.3.13-10.3.18), then
 * clears all its flags (the stop itself sets TCIF). stm32_dma_remaining then tells how many items were not
 * moved. Returns OK, ERR_TIMEOUT when EN stayed 1 (flags not cleared), or ERR_INVALID_ARG.
 */
export function stm32_dma_stop(dma_base: u32, stream: u32): i32 {
  if (!isValidBase(dma_base) || stream >= STM32_DMA_STREAMS) return ERR_INVALID_ARG;
  if (!disableStream(dma_base, stream)) return ERR_TIMEOUT;
  clearFlags(dma_base, stream);
  return OK;
}

/** Items `stream` has still to move (SxNDTR, RM0090 §10.5.6), or ERR_INVALID_ARG. */
export function stm32_dma_remaining(dma_base: u32, stream: u32): i32 {
  if (!isValidBase(dma_base) || stream >= STM32_DMA_STREAMS) return ERR_INVALID_ARG;
  return <i32>(read32(streamRegister(dma_base, stream, DMA_S0NDTR)) & DMA_S0NDTR_NDT_MASK);
}
