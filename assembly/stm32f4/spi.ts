// STM32F4 SPI driver (SPI1/2/3 in SPI mode, RM0090 §28): full-duplex master, software slave
// management, polled. Register offsets and fields come from registers/stm32f4/spi.json through
// assembly/generated/spi.ts; config bits from registers/api-stm32f4.json. Usage:
// docs/drivers/stm32f4.md, "SPI". Chip select is a GPIO the caller drives around transfers.
import { read32, write32, dsb } from "../mmio";
import { isValidBase, isValidBuffer } from "../common";
import { waitBitsSet, waitBitsClear } from "./poll";
import {
  SPI_CR1, SPI_CR1_DFF, SPI_CR1_SSM, SPI_CR1_SSI, SPI_CR1_LSBFIRST, SPI_CR1_SPE, SPI_CR1_BR_SHIFT,
  SPI_CR1_BR_MASK, SPI_CR1_MSTR, SPI_CR1_CPOL, SPI_CR1_CPHA,
  SPI_CR2, SPI_CR2_TXDMAEN, SPI_CR2_RXDMAEN, SPI_SR, SPI_SR_BSY, SPI_SR_OVR, SPI_SR_TXE, SPI_SR_RXNE, SPI_DR,
} from "../generated/spi";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_DISABLED,
  STM32_SPI_CONFIG_CPHA, STM32_SPI_CONFIG_CPOL, STM32_SPI_CONFIG_16_BIT, STM32_SPI_CONFIG_LSB_FIRST,
  STM32_SPI_CONFIG_VALID_MASK, STM32_SPI_FILL_FRAME, STM32_SPI_DMA_TX, STM32_SPI_DMA_RX,
} from "../generated/api";

// Poll limits, counted in SR reads (100 ns each on a slow APB bus). One frame of 16 bits at the
// slowest rate the driver sets, PCLK / 256 with PCLK at the 16 MHz reset clock (62.5 kHz), takes
// 256 us; 1 << 16 reads (6.5 ms) cover it 25 times over, and a 16-bit frame down to 2.5 kHz SCK.
/** SR reads while waiting for TXE, RXNE or BSY = 0 around one frame. */
@inline const SPI_FRAME_POLL_LIMIT: u32 = 1 << 16;

/** 8-bit frames use DR[7:0] only (RM0090 §28.5.4): the fill frame cut to a byte. */
@inline const FRAME_8_MASK: u32 = 0xFF;
@inline const BR_MAX: u32 = SPI_CR1_BR_MASK >> SPI_CR1_BR_SHIFT;

/**
 * Initializes the SPI at `base` as master, at the fastest rate f_PCLK / 2^(BR+1) that is not above
 * `max_hz` (`pclk_hz`: PCLK2 for SPI1, PCLK1 for SPI2/3), with `config` (STM32_SPI_CONFIG_*:
 * clock mode, 16-bit frames, LSB first) and software slave management. If it was enabled it is
 * first disabled with stm32_spi_disable's procedure. Returns OK; ERR_INVALID_ARG, or
 * ERR_UNREACHABLE_RATE when even f_PCLK / 256 is above max_hz, before any register access; or
 * ERR_TIMEOUT from the disable procedure.
 */
export function stm32_spi_init(base: u32, pclk_hz: u32, max_hz: u32, config: u32): i32 {
  if (!isValidBase(base) || pclk_hz == 0 || max_hz == 0) return ERR_INVALID_ARG;
  if ((config & ~STM32_SPI_CONFIG_VALID_MASK) != 0) return ERR_INVALID_ARG;
  // BR codes 0..7 divide PCLK by 2^(BR+1) (RM0090 §28.5.1). The rate must not be above max_hz
  // even by a fraction of a hertz: pclk / 2^(BR+1) <= max_hz, compared exactly as
  // pclk <= max_hz x 2^(BR+1) (a shifted pclk would round down and pass 127.5 Hz for 127).
  let br: u32 = 0;
  while (br <= BR_MAX && <u64>pclk_hz > (<u64>max_hz << (br + 1))) br++;
  if (br > BR_MAX) return ERR_UNREACHABLE_RATE;

  // CPOL, CPHA, DFF and the rest are written only while SPE = 0 (RM0090 §28.3.1, §28.5.1).
  const status = disable(base);
  if (status != OK) return status;
  // A frame left in the receive buffer (or an overrun) by earlier use: DR then SR clears OVR
  // (RM0090 §28.3.10), so the first transfer starts clean.
  if (read32(base + SPI_SR) & (SPI_SR_RXNE | SPI_SR_OVR)) {
    read32(base + SPI_DR);
    read32(base + SPI_SR);
  }

  // Master configuration, RM0090 §28.3.3: (1) BR, (2) CPOL and CPHA, (3) DFF, (4) LSBFIRST, (5)
  // NSS in software: SSM = 1 and SSI = 1, or the master sees its NSS low and MODF clears MSTR and
  // SPE (RM0090 §28.3.10). All in one write, with MSTR and SPE still 0.
  let cr1 = (br << SPI_CR1_BR_SHIFT) | SPI_CR1_SSM | SPI_CR1_SSI;
  if (config & STM32_SPI_CONFIG_CPOL) cr1 |= SPI_CR1_CPOL;
  if (config & STM32_SPI_CONFIG_CPHA) cr1 |= SPI_CR1_CPHA;
  if (config & STM32_SPI_CONFIG_16_BIT) cr1 |= SPI_CR1_DFF;
  if (config & STM32_SPI_CONFIG_LSB_FIRST) cr1 |= SPI_CR1_LSBFIRST;
  write32(base + SPI_CR1, cr1);
  // (6) FRF = 0, Motorola frames; SSOE = 0 (NSS not driven); no interrupts, no DMA.
  write32(base + SPI_CR2, 0);
  // (7) MSTR and SPE.
  write32(base + SPI_CR1, cr1 | SPI_CR1_MSTR | SPI_CR1_SPE);
  // The enable write may still be on its way through the APB bridge. DSB makes sure it has
  // reached the SPI before the caller, or a DMA stream it starts next, relies on it.
  dsb();
  return OK;
}

/** Writes one frame: a byte or, with 16-bit frames, a little-endian half-word from `at`. */
@inline function frameAt(at: u32, wide: bool): u32 {
  return wide ? <u32>load<u16>(at) : <u32>load<u8>(at);
}

/**
 * Full-duplex transfer of `len` bytes (frames of 1 byte, or 2 with 16-bit frames: `len` must then
 * be even): frames from `tx_ptr` go out while the frames received are stored at `rx_ptr`. With
 * `tx_ptr` 0 every frame sent is STM32_SPI_FILL_FRAME (all ones); with `rx_ptr` 0 the frames
 * received are read and dropped. Every frame received is read, so OVR never sets. Returns the
 * number of bytes transferred; a short count, or ERR_TIMEOUT when not one frame completed, means
 * a bounded wait ran out. After the last frame it waits for TXE = 1 and BSY = 0 (RM0090 §28.3.5),
 * so the caller may release chip select at once; ERR_TIMEOUT when BSY does not clear.
 */
export function stm32_spi_transfer(base: u32, tx_ptr: u32, rx_ptr: u32, len: u32): i32 {
  if (!isValidBase(base) || !isValidBuffer(tx_ptr, len) || !isValidBuffer(rx_ptr, len)) return ERR_INVALID_ARG;
  if (len == 0) return 0;
  // The frame size is in CR1.DFF. Reading it has no side effect (CR1 is read/write, RM0090
  // §28.5.1), so this is the one argument check made after a register access: an odd length with
  // 16-bit frames is refused before anything is sent.
  const cr1 = read32(base + SPI_CR1);
  const wide = (cr1 & SPI_CR1_DFF) != 0;
  const frameBytes: u32 = wide ? 2 : 1;
  if (wide && (len & 1) != 0) return ERR_INVALID_ARG;
  // A transfer needs an enabled master (stm32_spi_init). Without SPE the first DR write would
  // stay in the TX buffer and go out first once the SPI is enabled, making every answer of the
  // next transfer one frame late; MSTR and SPE are also what a mode fault clears (RM0090
  // §28.3.10). Nothing is written then.
  if ((cr1 & (SPI_CR1_SPE | SPI_CR1_MSTR)) != (SPI_CR1_SPE | SPI_CR1_MSTR)) return ERR_DISABLED;
  const frames = len / frameBytes;
  const sr = base + SPI_SR;
  const dr = base + SPI_DR;
  const fill = wide ? STM32_SPI_FILL_FRAME : STM32_SPI_FILL_FRAME & FRAME_8_MASK;

  // Full-duplex sequence, RM0090 §28.3.5: write the first frame; then, for each frame, write the
  // next one as soon as TXE = 1 (so the clock runs without gaps) and read the received one as
  // soon as RXNE = 1. At most two frames are in flight, and each received frame is read before
  // the next completes, so the receive buffer never overruns.
  if (!waitBitsSet(sr, SPI_SR_TXE, SPI_FRAME_POLL_LIMIT)) return ERR_TIMEOUT;
  write32(dr, tx_ptr != 0 ? frameAt(tx_ptr, wide) : fill);
  for (let i: u32 = 0; i < frames; i++) {
    if (i + 1 < frames) {
      if (!waitBitsSet(sr, SPI_SR_TXE, SPI_FRAME_POLL_LIMIT)) return i > 0 ? <i32>(i * frameBytes) : ERR_TIMEOUT;
      write32(dr, tx_ptr != 0 ? frameAt(tx_ptr + (i + 1) * frameBytes, wide) : fill);
    }
    if (!waitBitsSet(sr, SPI_SR_RXNE, SPI_FRAME_POLL_LIMIT)) return i > 0 ? <i32>(i * frameBytes) : ERR_TIMEOUT;
    const frame = read32(dr);
    if (rx_ptr != 0) {
      if (wide) store<u16>(rx_ptr + i * frameBytes, <u16>frame);
      else store<u8>(rx_ptr + i, <u8>frame);
    }
  }
  // The end of the sequence: TXE = 1, then BSY = 0, before chip select may be released or the
  // SPI disabled (RM0090 §28.3.5, §28.3.8).
  if (!waitBitsSet(sr, SPI_SR_TXE, SPI_FRAME_POLL_LIMIT)) return ERR_TIMEOUT;
  if (!waitBitsClear(sr, SPI_SR_BSY, SPI_FRAME_POLL_LIMIT)) return ERR_TIMEOUT;
  return <i32>len;
}

/** The full-duplex disable procedure of RM0090 §28.3.8; OK at once when SPE is already 0. */
function disable(base: u32): i32 {
  const cr1 = read32(base + SPI_CR1);
  if ((cr1 & SPI_CR1_SPE) == 0) return OK;
  const sr = base + SPI_SR;
  // 1. Wait for the last frame (RXNE = 1) and read it: one still being received (BSY = 1) is
  //    waited for; one already in the buffer is read at once. Without either there is none.
  const status = read32(sr);
  if ((status & (SPI_SR_RXNE | SPI_SR_BSY)) != 0) {
    if (!waitBitsSet(sr, SPI_SR_RXNE, SPI_FRAME_POLL_LIMIT)) return ERR_TIMEOUT;
    read32(base + SPI_DR);
  }
  // 2. TXE = 1, 3. BSY = 0: nothing left to send, the last frame is off the wire.
  if (!waitBitsSet(sr, SPI_SR_TXE, SPI_FRAME_POLL_LIMIT)) return ERR_TIMEOUT;
  if (!waitBitsClear(sr, SPI_SR_BSY, SPI_FRAME_POLL_LIMIT)) return ERR_TIMEOUT;
  // 4. SPE = 0; the rest of CR1 is kept.
  write32(base + SPI_CR1, cr1 & ~SPI_CR1_SPE);
  return OK;
}

/**
 * Disables the SPI at `base` with the full-duplex procedure of RM0090 §28.3.8: wait for and read
 * a frame still pending, wait TXE = 1, wait BSY = 0, then SPE = 0. Returns OK (also when it was
 * not enabled), ERR_TIMEOUT when a wait runs out (SPE is then left set), or ERR_INVALID_ARG.
 */
export function stm32_spi_disable(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  return disable(base);
}

/**
 * Enables or disables the SPI's DMA requests: STM32_SPI_DMA_TX sets CR2.TXDMAEN (a request on
 * every TXE), STM32_SPI_DMA_RX sets CR2.RXDMAEN (one on every RXNE); a flag not given is cleared
 * (RM0090 §28.5.2, §28.3.9). With TX alone the receive buffer overruns (OVR), which stm32_spi_init clears.
 * Returns OK or ERR_INVALID_ARG.
 */
export function stm32_spi_set_dma(base: u32, flags: u32): i32 {
  if (!isValidBase(base) || (flags & ~(STM32_SPI_DMA_TX | STM32_SPI_DMA_RX)) != 0) return ERR_INVALID_ARG;
  let set: u32 = 0;
  if (flags & STM32_SPI_DMA_TX) set |= SPI_CR2_TXDMAEN;
  if (flags & STM32_SPI_DMA_RX) set |= SPI_CR2_RXDMAEN;
  const cr2 = read32(base + SPI_CR2);
  write32(base + SPI_CR2, (cr2 & ~(SPI_CR2_TXDMAEN | SPI_CR2_RXDMAEN)) | set);
  // The DMA stream is usually started right after: DSB makes sure CR2 has reached the SPI.
  dsb();
  return OK;
}
