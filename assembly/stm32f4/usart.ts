// STM32F4 USART driver (USART1/2/3/6, UART4/5), polled, asynchronous mode. The USART text of
// RM0090 §30 is the IP that RM0041 §23 describes word for word (OVER8, ONEBIT, NF); section
// numbers below are RM0090's, with RM0041's in brackets where the text was read there. Register
// offsets and fields come from registers/stm32f4/usart.json through assembly/generated/usart.ts;
// config bits from registers/api-stm32f4.json. Usage and the receive-error contract:
// docs/drivers/stm32f4.md, "USART".
import { read32, write32, dsb } from "../mmio";
import { isValidBase, isValidBuffer } from "../common";
import { waitBitsSet } from "./poll";
import {
  USART_SR, USART_SR_TXE, USART_SR_TC, USART_SR_RXNE, USART_SR_ORE, USART_SR_NF, USART_SR_FE, USART_SR_PE,
  USART_DR, USART_BRR, USART_BRR_DIV_Mantissa_SHIFT, USART_BRR_DIV_Mantissa_MASK,
  USART_CR1, USART_CR1_OVER8, USART_CR1_UE, USART_CR1_M, USART_CR1_PCE, USART_CR1_PS, USART_CR1_TE, USART_CR1_RE,
  USART_CR2, USART_CR2_STOP_SHIFT, USART_CR3, USART_CR3_DMAT, USART_CR3_DMAR,
} from "../generated/usart";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT,
  ERR_RX_OVERRUN, ERR_RX_PARITY, ERR_RX_FRAMING, ERR_RX_NOISE,
  STM32_USART_CONFIG_9_BITS, STM32_USART_CONFIG_PARITY_MASK, STM32_USART_CONFIG_PARITY_EVEN,
  STM32_USART_CONFIG_PARITY_ODD, STM32_USART_CONFIG_STOP_MASK, STM32_USART_CONFIG_STOP_SHIFT,
  STM32_USART_CONFIG_OVER8, STM32_USART_CONFIG_VALID_MASK, STM32_USART_RATE_TOLERANCE_PPM,
  STM32_USART_DMA_TX, STM32_USART_DMA_RX,
} from "../generated/api";

// Poll limits, counted in SR reads (100 ns each on a slow APB bus). The longest frame is 12 bits
// (start, 9 data bits incl. parity, 2 stop bits), which lasts 109 ms at 110 baud. TXE waits for
// at most the frame in the shift register: 1 << 21 reads are about 210 ms. TC waits for that frame,
// the one in TDR and, right after TE is set, the idle frame sent first (RM0090 §30.3.2 [RM0041
// §23.3.2]): three frames, 327 ms at 110 baud; 1 << 22 reads are about 420 ms. A wait that runs
// out at an even lower rate can be called again.
/** SR reads while waiting for TXE before a DR write. */
@inline const USART_TXE_POLL_LIMIT: u32 = 1 << 21;
/** SR reads while waiting for TC (the last frame has left). */
@inline const USART_TC_POLL_LIMIT: u32 = 1 << 22;

/** The receive status flags that a read of SR then DR clears (RM0090 §30.6.1 [RM0041 §23.6.1]). */
@inline const USART_SR_RX_ERRORS: u32 = USART_SR_PE | USART_SR_FE | USART_SR_NF | USART_SR_ORE;
/** The largest DIV_Mantissa: BRR[15:4] (RM0090 §30.6.3). */
@inline const BRR_MANTISSA_MAX: u32 = USART_BRR_DIV_Mantissa_MASK >> USART_BRR_DIV_Mantissa_SHIFT;
/** Fraction bits of BRR: 4 with OVER8 = 0, 3 with OVER8 = 1 (BRR[3] must then be 0) (RM0090
 * §30.3.4 [RM0041 §23.3.4]). */
@inline const FRACTION_BITS_16: u32 = 4;
@inline const FRACTION_BITS_8: u32 = 3;
/** Parity code 3 has no meaning (registers/api-stm32f4.json). */
@inline const PARITY_RESERVED: u32 = STM32_USART_CONFIG_PARITY_EVEN | STM32_USART_CONFIG_PARITY_ODD;
@inline const PPM: u64 = 1_000_000;

/** The baud divisor BRR for `pclkHz` / `baud` with the config's oversampling, or 0 when the rate
 * cannot be reached within STM32_USART_RATE_TOLERANCE_PPM. */
function brrFor(pclkHz: u32, baud: u32, over8: bool): u32 {
  // baud = f_PCLK / (8 x (2 - OVER8) x USARTDIV) (RM0090 §30.3.4 [RM0041 §23.3.4]). USARTDIV in
  // 16ths (OVER8 = 0) or 8ths (OVER8 = 1) is then f_PCLK / baud in both cases, so the divisor,
  // rounded to the nearest step, is D = round(f_PCLK / baud). Rounding the whole of D rather than
  // the fraction alone carries a fraction that rounds up to 16 (or 8) into the mantissa: the
  // manual's USARTDIV 50.99 example gives D = 816 = 51 x 16, BRR 0x330.
  const d = (<u64>pclkHz + (<u64>baud >> 1)) / <u64>baud;
  const fractionBits = over8 ? FRACTION_BITS_8 : FRACTION_BITS_16;
  const mantissa = d >> fractionBits;
  // USARTDIV below 1 (mantissa 0) is not a valid divisor, and the mantissa has 12 bits.
  if (mantissa == 0 || mantissa > <u64>BRR_MANTISSA_MAX) return 0;
  // The rate BRR gives is f_PCLK / D; refuse it when it is further than the tolerance from the
  // request: |f_PCLK - D x baud| / (D x baud) <= tolerance.
  const actualTimesD = <u64>pclkHz;
  const wantedTimesD = d * <u64>baud;
  const difference = actualTimesD > wantedTimesD ? actualTimesD - wantedTimesD : wantedTimesD - actualTimesD;
  if (difference * PPM > <u64>STM32_USART_RATE_TOLERANCE_PPM * wantedTimesD) return 0;
  // OVER8 = 1: the 3 fraction bits go to BRR[2:0] and BRR[3] stays 0 (RM0090 §30.6.3).
  const fraction = d & ((1 << fractionBits) - 1);
  return <u32>((mantissa << USART_BRR_DIV_Mantissa_SHIFT) | fraction);
}

/** The CR1 frame bits (word length, parity, oversampling) of a checked config. */
function frameBitsFor(config: u32): u32 {
  let cr1: u32 = 0;
  if (config & STM32_USART_CONFIG_9_BITS) cr1 |= USART_CR1_M;
  const parity = config & STM32_USART_CONFIG_PARITY_MASK;
  // PCE enables parity, PS = 0 even, 1 odd (RM0090 §30.6.4).
  if (parity == STM32_USART_CONFIG_PARITY_EVEN) cr1 |= USART_CR1_PCE;
  else if (parity == STM32_USART_CONFIG_PARITY_ODD) cr1 |= USART_CR1_PCE | USART_CR1_PS;
  if (config & STM32_USART_CONFIG_OVER8) cr1 |= USART_CR1_OVER8;
  return cr1;
}

/**
 * Initializes the USART at `base` for `baud` from its kernel clock `pclk_hz` (PCLK2 for
 * USART1/6, PCLK1 for the others), polled, with the frame of `config` (0 = 8 data bits, no
 * parity, 1 stop bit, oversampling by 16), and enables the transmitter and receiver. Returns OK,
 * ERR_INVALID_ARG or ERR_UNREACHABLE_RATE before any register access, or ERR_TIMEOUT when a
 * frame still being sent did not finish.
 */
export function stm32_usart_init(base: u32, pclk_hz: u32, baud: u32, config: u32): i32 {
  if (!isValidBase(base) || pclk_hz == 0 || baud == 0) return ERR_INVALID_ARG;
  if ((config & ~STM32_USART_CONFIG_VALID_MASK) != 0) return ERR_INVALID_ARG;
  if ((config & STM32_USART_CONFIG_PARITY_MASK) == PARITY_RESERVED) return ERR_INVALID_ARG;
  const brr = brrFor(pclk_hz, baud, (config & STM32_USART_CONFIG_OVER8) != 0);
  if (brr == 0) return ERR_UNREACHABLE_RATE;

  // Already running: M, STOP, BRR must not change during a frame, and clearing TE during a
  // frame corrupts it (RM0090 §30.3.2 [RM0041 §23.3.2], §30.3.4). So let the frame in progress
  // (and one in TDR) leave, wait for TC = 1, then disable the USART: UE = 0 stops it at the end
  // of the current byte and resets the prescalers (RM0090 §30.6.4), and the sequence below then
  // starts from the state it assumes. A character being received at that moment is lost, as it
  // would be on any line reconfiguration.
  const cr1 = read32(base + USART_CR1);
  if ((cr1 & (USART_CR1_UE | USART_CR1_TE)) == (USART_CR1_UE | USART_CR1_TE)) {
    if (!waitBitsSet(base + USART_SR, USART_SR_TC, USART_TC_POLL_LIMIT)) return ERR_TIMEOUT;
  }
  if (cr1 != 0) write32(base + USART_CR1, 0);

  // Character transmission/reception procedure, RM0090 §30.3.2 [RM0041 §23.3.2, §23.3.3]:
  // 1. enable the USART (UE = 1);
  write32(base + USART_CR1, USART_CR1_UE);
  // 2. word length (M), with parity and oversampling, which like M must be set before BRR
  //    and TE/RE: OVER8 decides how BRR is read (RM0090 §30.3.4);
  const frame = USART_CR1_UE | frameBitsFor(config);
  write32(base + USART_CR1, frame);
  // 3. stop bits (CR2.STOP). The whole of CR2 is written: LIN and synchronous mode off.
  write32(base + USART_CR2, ((config & STM32_USART_CONFIG_STOP_MASK) >> STM32_USART_CONFIG_STOP_SHIFT) << USART_CR2_STOP_SHIFT);
  // 4. DMA off (stm32_usart_set_dma enables it), no flow control, no smartcard/IrDA/half duplex,
  //    three samples per bit (ONEBIT = 0, so noise is detected);
  write32(base + USART_CR3, 0);
  // 5. the baud rate;
  write32(base + USART_BRR, brr);
  // 6. TE, which sends an idle frame first, and RE, which starts the search for a start bit.
  write32(base + USART_CR1, frame | USART_CR1_TE | USART_CR1_RE);
  // The enable write may still be on its way through the APB bridge. DSB makes sure it has
  // reached the USART before the caller, or a DMA stream it starts next, relies on it.
  dsb();
  return OK;
}

/**
 * Waits (bounded) for TXE. PE clears on a read of SR followed by a read *or a write* of DR
 * (RM0090 §30.6.1 [RM0041 §23.6.1]), so the DR write after this wait would erase a parity error
 * of a character being received: one that SR shows is kept for the next stm32_usart_read, with
 * its character, still in DR, marked to be dropped.
 */
function waitForTransmitRoom(base: u32): bool {
  for (let polls: u32 = 0; polls < USART_TXE_POLL_LIMIT; polls++) {
    const sr = read32(base + USART_SR);
    if ((sr & USART_SR_PE) != 0) keepPending(base, USART_SR_PE | PENDING_DISCARD);
    if ((sr & USART_SR_TXE) != 0) return true;
  }
  return false;
}

/**
 * Sends `len` bytes from linear memory at `ptr`: for each, waits (bounded) for TXE, then writes
 * DR (RM0090 §30.3.2 step 7 [RM0041 §23.3.2]). Returns the number of bytes written; a short count
 * means TXE did not come within USART_TXE_POLL_LIMIT reads, ERR_TIMEOUT when not even the first
 * byte went. With 9 data bits (9-bit frame, no parity) bit 8 of every frame is 0.
 */
export function stm32_usart_write(base: u32, ptr: u32, len: u32): i32 {
  if (!isValidBase(base) || !isValidBuffer(ptr, len)) return ERR_INVALID_ARG;
  for (let i: u32 = 0; i < len; i++) {
    if (!waitForTransmitRoom(base)) return i > 0 ? <i32>i : ERR_TIMEOUT;
    write32(base + USART_DR, <u32>load<u8>(ptr + i));
  }
  return <i32>len;
}

/**
 * Waits (bounded) until the last frame written has left the shift register: TC = 1 (RM0090
 * §30.3.2 step 8 [RM0041 §23.3.2]). Returns OK or ERR_TIMEOUT. TC is not cleared here: the next
 * DR write after an SR read clears it.
 */
export function stm32_usart_flush(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  return waitBitsSet(base + USART_SR, USART_SR_TC, USART_TC_POLL_LIMIT) ? OK : ERR_TIMEOUT;
}

// Receive errors not yet returned, kept per USART so that no byte and no error is lost: an
// error found after some bytes were already taken (returned by the next stm32_usart_read), the
// other errors of a character that had several (parity and an overrun: one error per call), and
// a parity error that a TX wait saw (see stm32_usart_write). A slot holds SR error bits, plus
// PENDING_DISCARD when the character they belong to is still in DR. One slot per USART, for up
// to USART_PENDING_SLOTS at once (the F405 has six); should every slot be taken, a read returns
// the first error at once and the count of that call is lost.
@inline const USART_PENDING_SLOTS: u32 = 8;
/** A slot flag, outside SR's error bits: the errored character is still in DR, to be dropped. */
@inline const PENDING_DISCARD: u32 = 1 << 31;
const pendingBase = memory.data(USART_PENDING_SLOTS * 4);
const pendingFlags = memory.data(USART_PENDING_SLOTS * 4);

/** Removes and returns what is pending for `base`: SR error bits and PENDING_DISCARD, or 0. */
function takePending(base: u32): u32 {
  for (let slot: u32 = 0; slot < USART_PENDING_SLOTS; slot++) {
    const flags = load<u32>(pendingFlags + slot * 4);
    if (flags != 0 && load<u32>(pendingBase + slot * 4) == base) {
      store<u32>(pendingFlags + slot * 4, 0);
      return flags;
    }
  }
  return 0;
}

/** Adds `flags` to what is pending for `base`; false when every slot is taken by others. */
function keepPending(base: u32, flags: u32): bool {
  let free: i32 = -1;
  for (let slot: u32 = 0; slot < USART_PENDING_SLOTS; slot++) {
    const held = load<u32>(pendingFlags + slot * 4);
    if (held != 0 && load<u32>(pendingBase + slot * 4) == base) {
      store<u32>(pendingFlags + slot * 4, held | flags);
      return true;
    }
    if (held == 0 && free < 0) free = <i32>slot;
  }
  if (free < 0) return false;
  store<u32>(pendingBase + <u32>free * 4, base);
  store<u32>(pendingFlags + <u32>free * 4, flags);
  return true;
}

/** The error to report first among SR's error bits: framing, parity, noise, then overrun (a
 * character with a framing error and an overrun shows only ORE, RM0090 §30.6.1 FE note). */
function firstError(errors: u32): u32 {
  if (errors & USART_SR_FE) return USART_SR_FE;
  if (errors & USART_SR_PE) return USART_SR_PE;
  if (errors & USART_SR_NF) return USART_SR_NF;
  return USART_SR_ORE;
}

/** The status code of one error bit of firstError. */
function errorCode(error: u32): i32 {
  if (error == USART_SR_FE) return ERR_RX_FRAMING;
  if (error == USART_SR_PE) return ERR_RX_PARITY;
  if (error == USART_SR_NF) return ERR_RX_NOISE;
  return ERR_RX_OVERRUN;
}

/** Returns the first of `errors` and keeps the others (and `discard`) for the next read. */
function reportErrors(base: u32, errors: u32, discard: u32): i32 {
  const first = firstError(errors);
  const rest = (errors & ~first) | discard;
  if (rest != 0) keepPending(base, rest);
  return errorCode(first);
}

/**
 * Takes up to `cap` bytes that have already arrived into linear memory at `ptr`, without
 * waiting. Returns the number of bytes taken (0 when none is waiting) or, when a character came
 * with an error, the error (ERR_RX_FRAMING, ERR_RX_PARITY, ERR_RX_NOISE, ERR_RX_OVERRUN): bytes
 * taken before it are returned first and the error by the next call, and a character with two
 * errors (parity, then an overrun behind it) gives one call each. A character with a framing,
 * parity or noise error is dropped; on an overrun the byte in DR is good and is kept, and the
 * character that could not be stored is the one lost.
 */
export function stm32_usart_read(base: u32, ptr: u32, cap: u32): i32 {
  if (!isValidBase(base) || !isValidBuffer(ptr, cap)) return ERR_INVALID_ARG;
  let pending = takePending(base);
  if ((pending & PENDING_DISCARD) != 0) {
    // A parity error a TX wait saw: its character is dropped once it is in DR. Reading SR then
    // DR also clears what came since (an overrun behind it), which is added to the report.
    const sr = read32(base + USART_SR);
    if ((sr & USART_SR_RXNE) != 0) {
      read32(base + USART_DR);
      pending = (pending & ~PENDING_DISCARD) | (sr & USART_SR_RX_ERRORS);
    }
  }
  const errors = pending & USART_SR_RX_ERRORS;
  if (errors != 0) return reportErrors(base, errors, pending & PENDING_DISCARD);

  let count: u32 = 0;
  while (count < cap) {
    // SR first, then DR: the pair is the sequence that clears PE, FE, NF, ORE and IDLE (RM0090
    // §30.6.1 [RM0041 §23.6.1]); SR is never written here, so no flag is cleared by a
    // read-modify-write of it.
    const sr = read32(base + USART_SR);
    const errors = sr & USART_SR_RX_ERRORS;
    if ((sr & USART_SR_RXNE) == 0 && errors == 0) break;
    // Reading DR also clears RXNE. With ORE and RXNE = 0 the last good byte was already taken
    // and DR only completes the clearing sequence (RM0090 §30.3.3 [RM0041 §23.3.3]).
    const data = read32(base + USART_DR);
    const hasByte = (sr & USART_SR_RXNE) != 0;
    if (errors == 0) {
      store<u8>(ptr + count, <u8>data);
      count++;
      continue;
    }
    // Overrun alone: DR holds the older, intact byte; the new one was lost in the shift register.
    if (errors == USART_SR_ORE && hasByte) {
      store<u8>(ptr + count, <u8>data);
      count++;
    }
    if (count == 0) return reportErrors(base, errors, 0);
    if (!keepPending(base, errors)) return errorCode(firstError(errors));
    return <i32>count;
  }
  return <i32>count;
}

/**
 * Enables or disables the USART's DMA requests: STM32_USART_DMA_TX sets CR3.DMAT (a request on
 * every TXE), STM32_USART_DMA_RX sets CR3.DMAR (one on every RXNE); a flag that is not given is
 * cleared (RM0090 §30.6.6 [RM0041 §23.6.6]). Enabling TX also clears TC (by writing 0 to it),
 * so that stm32_usart_flush after the DMA transfer waits for its last frame. Returns OK or
 * ERR_INVALID_ARG.
 */
export function stm32_usart_set_dma(base: u32, flags: u32): i32 {
  if (!isValidBase(base) || (flags & ~(STM32_USART_DMA_TX | STM32_USART_DMA_RX)) != 0) return ERR_INVALID_ARG;
  let set: u32 = 0;
  if (flags & STM32_USART_DMA_TX) set |= USART_CR3_DMAT;
  if (flags & STM32_USART_DMA_RX) set |= USART_CR3_DMAR;
  const cr3 = read32(base + USART_CR3);
  write32(base + USART_CR3, (cr3 & ~(USART_CR3_DMAT | USART_CR3_DMAR)) | set);
  // TC is cleared by writing 0 to it; the 1s written to the other bits change nothing (CTS,
  // LBD, RXNE also clear on 0, the rest ignore writes), so ~TC clears TC alone (RM0090 §30.6.1;
  // ST recommends this write for DMA use).
  if (flags & STM32_USART_DMA_TX) write32(base + USART_SR, ~USART_SR_TC);
  // The DMA stream is usually started right after: DSB makes sure CR3 has reached the USART.
  dsb();
  return OK;
}
