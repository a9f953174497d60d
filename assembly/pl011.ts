// PL011 UART driver (ARM DDI 0183G, PrimeCell UART PL011 TRM r1p5). Polled: no interrupts, no DMA.
// Register offsets and fields come from registers/pl011.json through assembly/generated/pl011.ts;
// the register facts and their sources are in docs/primecell.md, PL011 section 1.
import { read32, write32, dsb } from "./mmio";
import { isValidBase, isValidBuffer } from "./common";
import { PL011_DR_ERRORS, receiveErrorCode } from "./pl011-common";
import {
  PL011_DR, PL011_DR_OE, PL011_ECR,
  PL011_FR, PL011_FR_TXFF, PL011_FR_RXFE, PL011_FR_BUSY,
  PL011_IBRD, PL011_FBRD, PL011_LCR_H, PL011_LCR_H_WLEN_SHIFT, PL011_LCR_H_FEN,
  PL011_LCR_H_STP2, PL011_LCR_H_EPS, PL011_LCR_H_PEN, PL011_LCR_H_SPS,
  PL011_CR, PL011_CR_UARTEN, PL011_CR_TXE, PL011_CR_RXE,
  PL011_IMSC, PL011_ICR, PL011_IBRD_DIVINT_MASK, PL011_FBRD_DIVFRAC_MASK,
} from "./generated/pl011";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT,
  PL011_CONFIG_DATA_MASK, PL011_CONFIG_PARITY_MASK, PL011_CONFIG_PARITY_ODD, PL011_CONFIG_PARITY_EVEN,
  PL011_CONFIG_PARITY_MARK, PL011_CONFIG_PARITY_SPACE, PL011_CONFIG_STOP_2, PL011_CONFIG_FIFO_OFF,
  PL011_CONFIG_VALID_MASK,
} from "./generated/api";

// Poll limits, counted in reads of FR. At 100 ns per APB read (a slow bus), 1 << 20 reads last
// about 105 ms: longer than one 11-bit character at 110 baud (100 ms), the slowest rate of TRM
// Table 3-9. Draining a full FIFO can take up to 32 characters, hence the larger flush limit; a
// flush that times out at a very low baud rate can simply be called again.
/** FR reads while waiting for room in the TX FIFO (TXFF clear). */
@inline const PL011_TX_POLL_LIMIT: u32 = 1 << 20;
/** FR reads while waiting for the transmitter to go idle (BUSY clear). */
@inline const PL011_IDLE_POLL_LIMIT: u32 = 1 << 22;

/** All interrupt sources of IMSC/ICR (bits 10:0, TRM 3.3.10 and 3.3.13). */
@inline const PL011_ALL_INTERRUPTS: u32 = 0x7FF;

/** Divisor limits (TRM 3.3.6): IBRD = 0 is invalid, and IBRD = 0xFFFF requires FBRD = 0. */
@inline const PL011_IBRD_MAX: u64 = PL011_IBRD_DIVINT_MASK;

/** Waits until FR has none of `bits` set, reading FR at most `limit` times. */
function waitFlagsClear(base: u32, bits: u32, limit: u32): bool {
  for (let polls: u32 = 0; polls < limit; polls++) {
    if ((read32(base + PL011_FR) & bits) == 0) return true;
  }
  return false;
}

/** LCR_H value for a checked `config` (layout in registers/api.json), FIFOs enabled unless asked. */
function lineControlFor(config: u32): u32 {
  // config counts data bits down from 8 (0 = 8 bits); WLEN counts up from 5 (3 = 8 bits).
  const wlen = 3 - (config & PL011_CONFIG_DATA_MASK);
  let lcrh = wlen << PL011_LCR_H_WLEN_SHIFT;
  // Parity truth table, TRM Table 3-11: PEN enables, EPS picks even, SPS makes it stick.
  const parity = config & PL011_CONFIG_PARITY_MASK;
  if (parity == PL011_CONFIG_PARITY_ODD) lcrh |= PL011_LCR_H_PEN;
  else if (parity == PL011_CONFIG_PARITY_EVEN) lcrh |= PL011_LCR_H_PEN | PL011_LCR_H_EPS;
  else if (parity == PL011_CONFIG_PARITY_MARK) lcrh |= PL011_LCR_H_PEN | PL011_LCR_H_SPS;
  else if (parity == PL011_CONFIG_PARITY_SPACE) lcrh |= PL011_LCR_H_PEN | PL011_LCR_H_EPS | PL011_LCR_H_SPS;
  if (config & PL011_CONFIG_STOP_2) lcrh |= PL011_LCR_H_STP2;
  if ((config & PL011_CONFIG_FIFO_OFF) == 0) lcrh |= PL011_LCR_H_FEN;
  return lcrh;
}

/**
 * Initializes the UART at `base` for `baud` from a UARTCLK of `uartclkHz`, polled, with the frame
 * format of `config` (0 = 8 data bits, no parity, 1 stop bit, FIFOs on). Returns OK or an error;
 * invalid arguments touch no register.
 */
export function pl011_init(base: u32, uartclkHz: u32, baud: u32, config: u32): i32 {
  if (!isValidBase(base) || uartclkHz == 0 || baud == 0) return ERR_INVALID_ARG;
  if ((config & ~PL011_CONFIG_VALID_MASK) != 0) return ERR_INVALID_ARG;
  if ((config & PL011_CONFIG_PARITY_MASK) > PL011_CONFIG_PARITY_SPACE) return ERR_INVALID_ARG;

  // Baud divisor, TRM 3.3.6: BAUDDIV = UARTCLK / (16 x baud) = IBRD + FBRD / 64, with FBRD
  // rounded to nearest. In 1/64ths: round(64 x UARTCLK / (16 x baud)) = round(4 x UARTCLK / baud).
  // Example 3-1: 4 MHz and 230400 baud give round(69.44) = 69 = 1 x 64 + 5, so IBRD 1, FBRD 5.
  const divisor = ((<u64>uartclkHz << 2) + (<u64>baud >> 1)) / <u64>baud;
  const ibrd = divisor >> 6;
  const fbrd = divisor & <u64>PL011_FBRD_DIVFRAC_MASK;
  if (ibrd == 0 || ibrd > PL011_IBRD_MAX || (ibrd == PL011_IBRD_MAX && fbrd != 0)) return ERR_UNREACHABLE_RATE;

  // Characters already queued leave first: disabling mid-FIFO would strand them, since BUSY stays
  // set while the TX FIFO holds data even with UARTEN = 0 (TRM 3.3.3).
  const control = read32(base + PL011_CR);
  const transmitting = (control & (PL011_CR_UARTEN | PL011_CR_TXE)) == (PL011_CR_UARTEN | PL011_CR_TXE);
  if (transmitting) {
    if (!waitFlagsClear(base, PL011_FR_BUSY, PL011_IDLE_POLL_LIMIT)) return ERR_TIMEOUT;
  }

  // Reprogramming sequence, TRM 3.3.8 (note under the UARTCR table):
  // 1. disable the UART;
  write32(base + PL011_CR, 0);
  // 2. wait for the end of transmission or reception of the current character;
  if (read32(base + PL011_FR) & PL011_FR_BUSY) {
    // A transmitter that was not running (UARTEN or TXE clear) cannot empty its FIFO, and BUSY
    // stays set while the FIFO holds data even with UARTEN = 0 (TRM 3.3.3): nothing is being
    // shifted, so flush those characters now (step 3) instead of waiting for them forever. The
    // flush is the clearing of FEN (TRM 3.3.7), so FEN is set first: with FEN already clear (the
    // reset state) the character sits in the 1-byte holding register.
    if (!transmitting) {
      write32(base + PL011_LCR_H, PL011_LCR_H_FEN);
      write32(base + PL011_LCR_H, 0);
    }
    if (!waitFlagsClear(base, PL011_FR_BUSY, PL011_IDLE_POLL_LIMIT)) return ERR_TIMEOUT;
  }
  // 3. flush the FIFOs by clearing LCR_H.FEN (this also ends any break in progress);
  write32(base + PL011_LCR_H, 0);
  // 4. reprogram. LCR_H, IBRD and FBRD form one 30-bit register that is loaded only when LCR_H
  //    is written, so LCR_H comes after IBRD and FBRD (TRM 3.3.7).
  write32(base + PL011_IBRD, <u32>ibrd);
  write32(base + PL011_FBRD, <u32>fbrd);
  write32(base + PL011_LCR_H, lineControlFor(config));
  // The driver polls: mask every interrupt, clear stale interrupt and receive-error status.
  write32(base + PL011_IMSC, 0);
  write32(base + PL011_ICR, PL011_ALL_INTERRUPTS);
  write32(base + PL011_ECR, 0);
  // 5. enable the UART, with transmitter and receiver, last.
  write32(base + PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
  // The enable write may still be in flight on a posted bus. DSB makes sure it has reached the
  // UART before the caller, or a DMA controller it starts next, relies on the UART being enabled.
  dsb();
  return OK;
}

/**
 * Writes `len` bytes from linear memory at `ptr` into the TX FIFO, waiting (bounded) while it is
 * full. Returns the number of bytes written; a short count means the FIFO stayed full for
 * PL011_TX_POLL_LIMIT reads, and ERR_TIMEOUT is returned when not even the first byte fitted.
 */
export function pl011_write(base: u32, ptr: u32, len: u32): i32 {
  if (!isValidBase(base) || !isValidBuffer(ptr, len)) return ERR_INVALID_ARG;
  for (let i: u32 = 0; i < len; i++) {
    if (!waitFlagsClear(base, PL011_FR_TXFF, PL011_TX_POLL_LIMIT)) return i > 0 ? <i32>i : ERR_TIMEOUT;
    write32(base + PL011_DR, <u32>load<u8>(ptr + i));
  }
  return <i32>len;
}

// A receive error found after some good bytes were already read is reported by the next
// pl011_read on the same UART, so that neither the bytes nor the error are lost. One pending
// error per UART, for up to PL011_PENDING_SLOTS UARTs at once; should every slot be taken, the
// error is returned at once and the count of that call is lost.
@inline const PL011_PENDING_SLOTS: u32 = 8;
const pendingBase = memory.data(PL011_PENDING_SLOTS * 4);
const pendingError = memory.data(PL011_PENDING_SLOTS * 4);

/** Removes and returns the error pending for `base`, or OK when there is none. */
function takePendingError(base: u32): i32 {
  for (let slot: u32 = 0; slot < PL011_PENDING_SLOTS; slot++) {
    const error = load<i32>(pendingError + slot * 4);
    if (error != OK && load<u32>(pendingBase + slot * 4) == base) {
      store<i32>(pendingError + slot * 4, OK);
      return error;
    }
  }
  return OK;
}

/** Keeps `error` for the next read of `base`; false when every slot is taken. */
function putPendingError(base: u32, error: i32): bool {
  for (let slot: u32 = 0; slot < PL011_PENDING_SLOTS; slot++) {
    if (load<i32>(pendingError + slot * 4) == OK) {
      store<u32>(pendingBase + slot * 4, base);
      store<i32>(pendingError + slot * 4, error);
      return true;
    }
  }
  return false;
}

/**
 * Reads up to `cap` bytes from the RX FIFO into linear memory at `ptr` without waiting. Returns
 * the number of bytes read (0 when the FIFO is empty) or, when a character arrived with an
 * error, the error code (ERR_RX_BREAK, ERR_RX_OVERRUN, ERR_RX_PARITY, ERR_RX_FRAMING). The error
 * ends the read: bytes read before it are returned first and the error by the next call.
 */
export function pl011_read(base: u32, ptr: u32, cap: u32): i32 {
  if (!isValidBase(base) || !isValidBuffer(ptr, cap)) return ERR_INVALID_ARG;
  const pending = takePendingError(base);
  if (pending != OK) return pending;

  let count: u32 = 0;
  while (count < cap) {
    if (read32(base + PL011_FR) & PL011_FR_RXFE) break;
    // DR first: its error bits belong to this character, and RSR is only updated by a DR read
    // (TRM 3.3.2).
    const entry = read32(base + PL011_DR);
    const errors = entry & PL011_DR_ERRORS;
    if (errors == 0) {
      store<u8>(ptr + count, <u8>entry);
      count++;
      continue;
    }
    // Clear the error status: any write to ECR clears OE, BE, PE and FE (TRM 3.3.2).
    write32(base + PL011_ECR, 0);
    // An overrun loses the character that arrived while the FIFO was full, not this one.
    if (errors == PL011_DR_OE) {
      store<u8>(ptr + count, <u8>entry);
      count++;
    }
    const error = receiveErrorCode(errors);
    if (count == 0 || !putPendingError(base, error)) return error;
    return <i32>count;
  }
  return <i32>count;
}

/** Waits (bounded) until the transmitter is idle: TX FIFO empty and the last stop bit sent. */
export function pl011_flush(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  // BUSY covers both the FIFO and the shift register (TRM 3.3.3); TXFE alone would return while
  // the last character is still on the wire.
  return waitFlagsClear(base, PL011_FR_BUSY, PL011_IDLE_POLL_LIMIT) ? OK : ERR_TIMEOUT;
}
