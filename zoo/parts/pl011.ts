// Copies of the private helpers of assembly/pl011.ts, so that a zoo module can rewrite one
// exported function and keep everything around it as the driver has it. Not an entry: only the
// files directly in zoo/ are built.
import { read32, write32 } from "../../assembly/mmio";
import {
  PL011_FR, PL011_FR_BUSY, PL011_LCR_H, PL011_LCR_H_WLEN_SHIFT, PL011_LCR_H_FEN, PL011_LCR_H_STP2, PL011_LCR_H_EPS, PL011_LCR_H_PEN,
  PL011_LCR_H_SPS, PL011_IBRD_DIVINT_MASK, PL011_FBRD_DIVFRAC_MASK,
} from "../../assembly/generated/pl011";
import {
  PL011_CONFIG_DATA_MASK, PL011_CONFIG_PARITY_MASK, PL011_CONFIG_PARITY_ODD, PL011_CONFIG_PARITY_EVEN,
  PL011_CONFIG_PARITY_MARK, PL011_CONFIG_PARITY_SPACE, PL011_CONFIG_STOP_2, PL011_CONFIG_FIFO_OFF,
  PL011_CONFIG_VALID_MASK,
} from "../../assembly/generated/api";

/** FR reads while waiting for room in the TX FIFO (the driver's PL011_TX_POLL_LIMIT). */
export const TX_POLL_LIMIT: u32 = 1 << 20;
/** FR reads while waiting for the transmitter to go idle (PL011_IDLE_POLL_LIMIT). */
export const IDLE_POLL_LIMIT: u32 = 1 << 22;
/** All interrupt sources of IMSC/ICR (bits 10:0). */
export const ALL_INTERRUPTS: u32 = 0x7FF;

/** Waits until FR has none of `bits` set, reading FR at most `limit` times. */
export function waitFlagsClear(base: u32, bits: u32, limit: u32): bool {
  for (let polls: u32 = 0; polls < limit; polls++) {
    if ((read32(base + PL011_FR) & bits) == 0) return true;
  }
  return false;
}

/** Step 2 of TRM 3.3.8 as assembly/pl011.ts does it after the disable: wait for BUSY to clear,
 * first flushing (FEN set, then cleared) the FIFO of a transmitter that was not running, whose
 * characters can never leave. `transmitting`: UARTEN and TXE were both set on entry. */
export function waitIdleAfterDisable(base: u32, transmitting: bool): bool {
  if ((read32(base + PL011_FR) & PL011_FR_BUSY) == 0) return true;
  if (!transmitting) {
    write32(base + PL011_LCR_H, PL011_LCR_H_FEN);
    write32(base + PL011_LCR_H, 0);
  }
  return waitFlagsClear(base, PL011_FR_BUSY, IDLE_POLL_LIMIT);
}

/** The config checks of pl011_init: true when `config` is one the driver accepts. */
export function isValidConfig(config: u32): bool {
  return (config & ~PL011_CONFIG_VALID_MASK) == 0 && (config & PL011_CONFIG_PARITY_MASK) <= PL011_CONFIG_PARITY_SPACE;
}

/** IBRD << 6 | FBRD for the rate (TRM 3.3.6), or 0 when the divisor cannot reach it. */
export function divisorFor(uartclkHz: u32, baud: u32): u32 {
  const divisor = ((<u64>uartclkHz << 2) + (<u64>baud >> 1)) / <u64>baud;
  const ibrd = divisor >> 6;
  const fbrd = divisor & <u64>PL011_FBRD_DIVFRAC_MASK;
  if (ibrd == 0 || ibrd > <u64>PL011_IBRD_DIVINT_MASK || (ibrd == <u64>PL011_IBRD_DIVINT_MASK && fbrd != 0)) return 0;
  return <u32>divisor;
}

/** LCR_H value for a checked `config`, FIFOs enabled unless asked. */
export function lineControlFor(config: u32): u32 {
  const wlen = 3 - (config & PL011_CONFIG_DATA_MASK);
  let lcrh = wlen << PL011_LCR_H_WLEN_SHIFT;
  const parity = config & PL011_CONFIG_PARITY_MASK;
  if (parity == PL011_CONFIG_PARITY_ODD) lcrh |= PL011_LCR_H_PEN;
  else if (parity == PL011_CONFIG_PARITY_EVEN) lcrh |= PL011_LCR_H_PEN | PL011_LCR_H_EPS;
  else if (parity == PL011_CONFIG_PARITY_MARK) lcrh |= PL011_LCR_H_PEN | PL011_LCR_H_SPS;
  else if (parity == PL011_CONFIG_PARITY_SPACE) lcrh |= PL011_LCR_H_PEN | PL011_LCR_H_EPS | PL011_LCR_H_SPS;
  if (config & PL011_CONFIG_STOP_2) lcrh |= PL011_LCR_H_STP2;
  if ((config & PL011_CONFIG_FIFO_OFF) == 0) lcrh |= PL011_LCR_H_FEN;
  return lcrh;
}
