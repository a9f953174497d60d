// What the polled PL022 driver (pl022.ts) and the interrupt-driven one (pl022-irq.ts) share.
// Nothing here is exported from the module.
import { read32 } from "./mmio";
import { isValidBuffer } from "./common";
import {
  PL022_CR0, PL022_CR0_DSS_SHIFT, PL022_CR0_DSS_MASK, PL022_CR0_DSS_4BIT, PL022_CR0_DSS_8BIT,
  PL022_DR, PL022_SR, PL022_SR_BSY, PL022_SR_RNE,
} from "./generated/pl022";
import { ERR_INVALID_ARG } from "./generated/api";

/** Entries in each of the TX and RX FIFOs (docs/primecell.md, PL022 2.4: the W7500 copy of the
 * TRM, Linux vendor_arm fifodepth, QEMU). */
@inline export const PL022_FIFO_DEPTH: u32 = 8;

// Poll limits, counted in reads of SR during which no frame moved. At 100 ns per APB read, 1 << 18
// reads last about 26 ms: longer than one 16-bit frame at 1 kbit/s (16 ms). A slower link needs a
// slower bus or a larger limit; a transfer that times out can simply be called again, since the
// next one first drains what is left in flight.
/** SR reads without progress before a transfer or a drain gives up with ERR_TIMEOUT. */
@inline export const PL022_FRAME_POLL_LIMIT: u32 = 1 << 18;

/** Frames an earlier, aborted transfer can have left in flight: a full RX FIFO, a full TX FIFO
 * still to be shifted, and the frame in the shift register. Draining more than this means RNE
 * never clears (a broken port), which must end in a timeout, not a loop. */
@inline const PL022_STALE_FRAME_LIMIT: u32 = 2 * PL022_FIFO_DEPTH + 1;

/**
 * Reads and discards every frame left in flight (RX FIFO entries, and frames still being shifted
 * from a TX FIFO that an earlier, aborted transfer left behind), until the port is idle. Linux
 * does the same before each message (spi-pl022 `flush`). False when the port stays busy for
 * PL022_FRAME_POLL_LIMIT reads without a frame arriving, or keeps offering frames past
 * PL022_STALE_FRAME_LIMIT.
 */
export function drainReceive(base: u32): bool {
  let idle: u32 = 0;
  let drained: u32 = 0;
  while (idle < PL022_FRAME_POLL_LIMIT) {
    const status = read32(base + PL022_SR);
    if (status & PL022_SR_RNE) {
      if (drained == PL022_STALE_FRAME_LIMIT) return false;
      read32(base + PL022_DR);
      drained++;
      idle = 0;
    } else if ((status & PL022_SR_BSY) == 0) {
      return true;
    } else {
      idle++;
    }
  }
  return false;
}

/** A transfer's buffers, one byte per frame: each either 0 (no buffer) or `len` bytes inside
 * linear memory, and `len` a count an export can return. */
export function framesFit(txPtr: u32, rxPtr: u32, len: u32): bool {
  return len <= <u32>i32.MAX_VALUE && buffersFit(txPtr, rxPtr, len);
}

/** Both buffers 0 or `bytes` long inside linear memory. */
function buffersFit(txPtr: u32, rxPtr: u32, bytes: u32): bool {
  return (txPtr == 0 || isValidBuffer(txPtr, bytes)) && (rxPtr == 0 || isValidBuffer(rxPtr, bytes));
}

/**
 * The DSS field of CR0 (data bits - 1, TRM 3.3.1), after checking that the port was configured
 * and that the buffers hold two bytes per frame when frames are wider than 8 bits; ERR_INVALID_ARG
 * otherwise. The frame size lives in CR0 and nowhere else: reading it back (a read without side
 * effects) keeps the drivers right whoever configured the port, and costs one access per call.
 */
export function frameSizeFor(base: u32, txPtr: u32, rxPtr: u32, len: u32): i32 {
  const dss = (read32(base + PL022_CR0) & PL022_CR0_DSS_MASK) >> PL022_CR0_DSS_SHIFT;
  if (dss < PL022_CR0_DSS_4BIT) return ERR_INVALID_ARG; // reserved data size: the port was never configured
  if (dss > PL022_CR0_DSS_8BIT && !buffersFit(txPtr, rxPtr, len << 1)) return ERR_INVALID_ARG;
  return <i32>dss;
}
