// Bug: pl011_init writes the frame format to LCR_H before the divisor to IBRD and FBRD. LCR_H,
// IBRD and FBRD form one register that is loaded only when LCR_H is written (TRM 3.3.7), so the
// new divisor is never latched: the UART keeps the old baud rate (or, after reset, none).
// Caught by: the order check (toContainAccessesInOrder with pl011DivisorThenLineControl).
import { read32, write32, dsb } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import {
  PL011_CR, PL011_CR_UARTEN, PL011_CR_TXE, PL011_CR_RXE, PL011_FR_BUSY, PL011_IBRD, PL011_FBRD, PL011_LCR_H,
  PL011_IMSC, PL011_ICR, PL011_ECR,
} from "../assembly/generated/pl011";
import { OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT } from "../assembly/generated/api";
import { IDLE_POLL_LIMIT, ALL_INTERRUPTS, waitFlagsClear, waitIdleAfterDisable, isValidConfig, divisorFor, lineControlFor } from "./parts/pl011";

export { pl011_write, pl011_read, pl011_flush } from "../assembly/pl011";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl011_init(base: u32, uartclkHz: u32, baud: u32, config: u32): i32 {
  if (!isValidBase(base) || uartclkHz == 0 || baud == 0 || !isValidConfig(config)) return ERR_INVALID_ARG;
  const divisor = divisorFor(uartclkHz, baud);
  if (divisor == 0) return ERR_UNREACHABLE_RATE;
  const control = read32(base + PL011_CR);
  const transmitting = (control & (PL011_CR_UARTEN | PL011_CR_TXE)) == (PL011_CR_UARTEN | PL011_CR_TXE);
  if (transmitting) {
    if (!waitFlagsClear(base, PL011_FR_BUSY, IDLE_POLL_LIMIT)) return ERR_TIMEOUT;
  }
  write32(base + PL011_CR, 0);
  if (!waitIdleAfterDisable(base, transmitting)) return ERR_TIMEOUT;
  write32(base + PL011_LCR_H, 0);
  write32(base + PL011_LCR_H, lineControlFor(config)); // the defect: before IBRD and FBRD
  write32(base + PL011_IBRD, divisor >> 6);
  write32(base + PL011_FBRD, divisor & 0x3F);
  write32(base + PL011_IMSC, 0);
  write32(base + PL011_ICR, ALL_INTERRUPTS);
  write32(base + PL011_ECR, 0);
  write32(base + PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
  dsb();
  return OK;
}
