// Bug: pl022_transfer writes every frame before it reads any. Each frame sent brings one frame
// back; with more than 8 frames in flight the RX FIFO is full and every further frame overruns
// it and is lost (TRM 3.4, RORINTR). The real driver keeps at most the FIFO depth in flight.
// Caught by: the poll-count check (DR read as many times as the model shifted frames).
import { read32, write32 } from "../assembly/mmio";
import { isValidBase, isValidBuffer } from "../assembly/common";
import {
  PL022_CR0, PL022_CR0_DSS_MASK, PL022_CR0_DSS_SHIFT, PL022_CR0_DSS_4BIT, PL022_CR0_DSS_8BIT,
  PL022_DR, PL022_SR, PL022_SR_BSY, PL022_SR_RNE, PL022_SR_TNF, PL022_RIS, PL022_RIS_ROR, PL022_ICR, PL022_ICR_RORIC,
} from "../assembly/generated/pl022";
import { ERR_INVALID_ARG, ERR_TIMEOUT, ERR_RX_OVERRUN, PL022_FILL_FRAME } from "../assembly/generated/api";

export { pl022_init } from "../assembly/pl022";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

/** SR reads without progress before giving up (the driver's PL022_FRAME_POLL_LIMIT). */
const FRAME_POLL_LIMIT: u32 = 1 << 18;

function overrunOr(base: u32, result: i32): i32 {
  if ((read32(base + PL022_RIS) & PL022_RIS_ROR) == 0) return result;
  write32(base + PL022_ICR, PL022_ICR_RORIC);
  return ERR_RX_OVERRUN;
}

export function pl022_transfer(base: u32, txPtr: u32, rxPtr: u32, len: u32): i32 {
  if (!isValidBase(base) || len > <u32>i32.MAX_VALUE) return ERR_INVALID_ARG;
  if (txPtr != 0 && !isValidBuffer(txPtr, len)) return ERR_INVALID_ARG;
  if (rxPtr != 0 && !isValidBuffer(rxPtr, len)) return ERR_INVALID_ARG;
  if (len == 0) return 0;
  const dss = (read32(base + PL022_CR0) & PL022_CR0_DSS_MASK) >> PL022_CR0_DSS_SHIFT;
  if (dss < PL022_CR0_DSS_4BIT || dss > PL022_CR0_DSS_8BIT) return ERR_INVALID_ARG; // bytes only, here
  const fill = PL022_FILL_FRAME & ((2 << dss) - 1);

  // the defect: every frame is written first, whatever is in flight ...
  let idle: u32 = 0;
  for (let sent: u32 = 0; sent < len; ) {
    if ((read32(base + PL022_SR) & PL022_SR_TNF) == 0) {
      if (++idle >= FRAME_POLL_LIMIT) return overrunOr(base, ERR_TIMEOUT);
      continue;
    }
    write32(base + PL022_DR, txPtr != 0 ? <u32>load<u8>(txPtr + sent) : fill);
    sent++;
    idle = 0;
  }
  // ... and only then is the RX FIFO read.
  let received: u32 = 0;
  idle = 0;
  while (received < len) {
    const status = read32(base + PL022_SR);
    if (status & PL022_SR_RNE) {
      const frame = read32(base + PL022_DR);
      if (rxPtr != 0) store<u8>(rxPtr + received, <u8>frame);
      received++;
      idle = 0;
    } else if ((status & PL022_SR_BSY) == 0 || ++idle >= FRAME_POLL_LIMIT) {
      return overrunOr(base, ERR_TIMEOUT);
    }
  }
  return overrunOr(base, <i32>len);
}
