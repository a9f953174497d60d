// PL022 SSP driver (ARM DDI 0194, PrimeCell Synchronous Serial Port PL022 TRM). Master mode,
// polled: no interrupts, no DMA. Register offsets and fields come from registers/pl022.json
// through assembly/generated/pl022.ts; the config layout from registers/api-pl022.json. Register
// facts and their sources: docs/primecell.md, PL022 section 2.
import { read32, write32, modify32, dsb } from "./mmio";
import { isValidBase } from "./common";
import { PL022_FIFO_DEPTH, PL022_FRAME_POLL_LIMIT, drainReceive, framesFit, frameSizeFor } from "./pl022-common";
import {
  PL022_CR0, PL022_CR0_SCR_SHIFT, PL022_CR0_SPH, PL022_CR0_SPO, PL022_CR0_FRF_SHIFT,
  PL022_CR0_DSS_SHIFT, PL022_CR0_DSS_MASK, PL022_CR0_DSS_4BIT, PL022_CR0_DSS_8BIT,
  PL022_CR1, PL022_CR1_SSE, PL022_CR1_LBM,
  PL022_DR, PL022_SR, PL022_SR_BSY, PL022_SR_RNE, PL022_SR_TNF,
  PL022_CPSR, PL022_IMSC, PL022_RIS, PL022_RIS_ROR, PL022_ICR, PL022_ICR_RTIC, PL022_ICR_RORIC,
  PL022_DMACR,
} from "./generated/pl022";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_RX_OVERRUN,
  PL022_CONFIG_BITS_MASK, PL022_CONFIG_BITS_DEFAULT, PL022_CONFIG_BITS_MIN, PL022_CONFIG_BITS_MAX,
  PL022_CONFIG_CPHA, PL022_CONFIG_CPOL, PL022_CONFIG_MODE_MASK,
  PL022_CONFIG_FORMAT_MASK, PL022_CONFIG_FORMAT_SHIFT, PL022_CONFIG_FORMAT_MOTOROLA,
  PL022_CONFIG_LOOPBACK, PL022_CONFIG_VALID_MASK, PL022_FILL_FRAME,
} from "./generated/api";

/** Clock divisor limits (TRM 3.3.1 and 3.3.5): CPSDVSR is even, 2..254; SCR is 0..255. */
@inline const PL022_CPSDVSR_MIN: u32 = 2;
@inline const PL022_CPSDVSR_MAX: u32 = 254;
@inline const PL022_SCR_MAX: u32 = 255;
/** The largest total divisor CPSDVSR x (1 + SCR): 254 x 256 = 65024. */
@inline const PL022_DIVISOR_MAX: u32 = PL022_CPSDVSR_MAX * (PL022_SCR_MAX + 1);

/** Data bits per frame of a config word: bits 4:0, with 0 meaning 8. */
function dataBitsOf(config: u32): u32 {
  const bits = config & PL022_CONFIG_BITS_MASK;
  return bits == 0 ? PL022_CONFIG_BITS_DEFAULT : bits;
}

/**
 * The CPSDVSR and SCR pair for the highest bit rate not above `bitrateHz`, packed as
 * CPSDVSR << 8 | SCR, or 0 when even the slowest rate is too fast.
 *
 * Bit rate = SSPCLK / (CPSDVSR x (1 + SCR)) (TRM 3.3.1, CR0.SCR). The highest rate not above the
 * request is the smallest total divisor D = CPSDVSR x (1 + SCR) with D >= ceil(SSPCLK / rate).
 * For each even CPSDVSR the smallest fitting 1 + SCR is ceil(needed / CPSDVSR); the search keeps
 * the smallest D over all 127 prescalers. Ties (several pairs give the same D, hence the same
 * rate) go to the smallest CPSDVSR, the first one met when scanning upwards, as Linux's
 * spi-pl022 search does; the output clock is the same either way. Every D is even, so the even
 * number at or above `needed` cannot be beaten and ends the scan early.
 */
function clockDivisorsFor(sspclkHz: u32, bitrateHz: u32): u32 {
  const needed64 = (<u64>sspclkHz + <u64>bitrateHz - 1) / <u64>bitrateHz;
  if (needed64 > <u64>PL022_DIVISOR_MAX) return 0;
  const needed = <u32>needed64;
  const unbeatable = (needed + 1) & ~1;
  let best: u32 = 0;
  let bestDivisor: u32 = u32.MAX_VALUE;
  for (let prescale = PL022_CPSDVSR_MIN; prescale <= PL022_CPSDVSR_MAX; prescale += 2) {
    const rateDivisor = (needed + prescale - 1) / prescale; // 1 + SCR, at least 1 since needed >= 1
    if (rateDivisor > PL022_SCR_MAX + 1) continue;
    const divisor = prescale * rateDivisor;
    if (divisor < bestDivisor) {
      bestDivisor = divisor;
      best = (prescale << 8) | (rateDivisor - 1);
      if (divisor == unbeatable) break;
    }
  }
  return best;
}

/**
 * Initializes the SSP at `base` as a master at the highest bit rate not above `bitrateHz`, from
 * an SSPCLK of `sspclkHz`, with the frame format of `config` (layout in registers/api-pl022.json;
 * 0 = 8-bit Motorola SPI mode 0). Polled: interrupts masked, DMA off. Returns OK,
 * ERR_INVALID_ARG or ERR_UNREACHABLE_RATE; refused arguments touch no register.
 */
export function pl022_init(base: u32, sspclkHz: u32, bitrateHz: u32, config: u32): i32 {
  if (!isValidBase(base) || sspclkHz == 0 || bitrateHz == 0) return ERR_INVALID_ARG;
  if ((config & ~PL022_CONFIG_VALID_MASK) != 0) return ERR_INVALID_ARG;
  const bits = dataBitsOf(config);
  if (bits < PL022_CONFIG_BITS_MIN || bits > PL022_CONFIG_BITS_MAX) return ERR_INVALID_ARG;
  const format = config & PL022_CONFIG_FORMAT_MASK;
  if (format == PL022_CONFIG_FORMAT_MASK) return ERR_INVALID_ARG; // FRF = 3 is reserved
  // SPO and SPH apply to the Motorola format only (TRM 3.3.1); asking for them elsewhere is a
  // mistake in the caller's idea of the bus, not something to ignore.
  if (format != PL022_CONFIG_FORMAT_MOTOROLA && (config & PL022_CONFIG_MODE_MASK) != 0) return ERR_INVALID_ARG;

  const divisors = clockDivisorsFor(sspclkHz, bitrateHz);
  if (divisors == 0) return ERR_UNREACHABLE_RATE;
  const prescale = divisors >> 8;
  const scr = divisors & 0xFF;

  let cr0 = (scr << PL022_CR0_SCR_SHIFT) | ((bits - 1) << PL022_CR0_DSS_SHIFT);
  cr0 |= (format >> PL022_CONFIG_FORMAT_SHIFT) << PL022_CR0_FRF_SHIFT;
  if (config & PL022_CONFIG_CPOL) cr0 |= PL022_CR0_SPO;
  if (config & PL022_CONFIG_CPHA) cr0 |= PL022_CR0_SPH;
  // Master (MS = 0), SSPTXD driven (SOD applies to slaves only).
  const mode = (config & PL022_CONFIG_LOOPBACK) != 0 ? PL022_CR1_LBM : 0;

  // Configuration order of the TRM (docs/primecell.md, PL022 2.5): with SSE = 0 program CR0 and
  // CPSR and the CR1 mode bits, then set SSE last. Accesses to one peripheral reach it in program
  // order (the ABI never reorders, and Device memory keeps order on a board), so no barrier is
  // needed between these writes.
  // 1. Disable the port. Only SSE is cleared here: MS may be changed only while SSE = 0
  //    (CR1 note), so the mode bits are written by a later, separate write.
  modify32(base + PL022_CR1, PL022_CR1_SSE, 0);
  // 2. Clock prescale and frame format.
  write32(base + PL022_CPSR, prescale);
  write32(base + PL022_CR0, cr0);
  // The driver polls: mask every interrupt, clear stale RT/ROR status (TX and RX follow the FIFO
  // levels and have no clear bit, TRM 3.3.9), and release the DMA request lines.
  write32(base + PL022_IMSC, 0);
  write32(base + PL022_ICR, PL022_ICR_RTIC | PL022_ICR_RORIC);
  write32(base + PL022_DMACR, 0);
  // 3. Master, loopback or not, still disabled.
  write32(base + PL022_CR1, mode);
  // 4. Enable last.
  write32(base + PL022_CR1, mode | PL022_CR1_SSE);
  // The enable write may still be in flight on a posted bus. DSB makes sure it has reached the
  // SSP before the caller drives a chip select and starts a transfer.
  dsb();
  return OK;
}

/**
 * ROR is sticky until cleared through ICR (TRM 3.3.7, 3.3.9): when it is set, a frame was lost on
 * this port since the driver last looked, so the transfer's result cannot be trusted. Clears it
 * and returns ERR_RX_OVERRUN; otherwise returns `result`.
 */
function overrunOr(base: u32, result: i32): i32 {
  if ((read32(base + PL022_RIS) & PL022_RIS_ROR) == 0) return result;
  write32(base + PL022_ICR, PL022_ICR_RORIC);
  return ERR_RX_OVERRUN;
}

/**
 * Full-duplex transfer of `len` frames: sends frames from linear memory at `txPtr` while storing
 * the frames received at the same time at `rxPtr`. Frames of up to 8 bits take one byte each;
 * frames of 9..16 bits take two bytes, little-endian. The frame size is the one configured in
 * CR0 (read once per call). `txPtr` 0 sends all-ones frames (PL022_FILL_FRAME cut to the frame
 * size); `rxPtr` 0 discards what is received. Returns `len`, or ERR_INVALID_ARG, ERR_TIMEOUT or
 * ERR_RX_OVERRUN. Chip select is the caller's: assert it before, release it after.
 */
export function pl022_transfer(base: u32, txPtr: u32, rxPtr: u32, len: u32): i32 {
  // What can be checked without the device comes first; a buffer is checked for one byte per
  // frame here and for two once CR0 says the frames are wider than 8 bits.
  if (!isValidBase(base) || !framesFit(txPtr, rxPtr, len)) return ERR_INVALID_ARG;
  if (len == 0) return 0;

  const dss = frameSizeFor(base, txPtr, rxPtr, len);
  if (dss < 0) return dss;
  const wide = dss > <i32>PL022_CR0_DSS_8BIT;
  const fill = PL022_FILL_FRAME & ((2 << dss) - 1);

  // Frames left in flight would shift every received frame of this transfer by one.
  if (!drainReceive(base)) return overrunOr(base, ERR_TIMEOUT);

  // Each frame written produces exactly one received frame. Keeping sent - received at most the
  // FIFO depth means the RX FIFO can hold everything in flight, so this transfer can never
  // overrun it however slowly the driver gets to read (TRM 3.4: an overrun loses the frame).
  let sent: u32 = 0;
  let received: u32 = 0;
  let idle: u32 = 0;
  while (received < len) {
    // One SR read serves both directions: TNF can only stay set and RNE can only stay set until
    // the driver itself writes DR or reads DR.
    const status = read32(base + PL022_SR);
    let moved = false;
    if (sent < len && sent - received < PL022_FIFO_DEPTH && (status & PL022_SR_TNF) != 0) {
      let frame = fill;
      if (txPtr != 0) frame = wide ? <u32>load<u16>(txPtr + (sent << 1)) : <u32>load<u8>(txPtr + sent);
      write32(base + PL022_DR, frame);
      sent++;
      moved = true;
    }
    if (status & PL022_SR_RNE) {
      const frame = read32(base + PL022_DR);
      if (rxPtr != 0) {
        if (wide) store<u16>(rxPtr + (received << 1), <u16>frame);
        else store<u8>(rxPtr + received, <u8>frame);
      }
      received++;
      moved = true;
    }
    if (moved) idle = 0;
    else if (++idle >= PL022_FRAME_POLL_LIMIT) return overrunOr(base, ERR_TIMEOUT);
  }
  return overrunOr(base, <i32>len);
}
