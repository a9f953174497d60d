// Bug: pl011_read pops DR without first reading FR to see whether the RX FIFO holds anything,
// and takes a read of 0 to mean "empty". A DR read consumes an entry (TRM 3.3.1): the driver
// takes characters it never checked for, reads an empty FIFO, and ends early on a received NUL.
// Caught by: the lint (unguarded-consuming-read: no FR read showing RXFE = 0 before a DR read).
import { read32, write32 } from "../assembly/mmio";
import { isValidBase, isValidBuffer } from "../assembly/common";
import { PL011_DR, PL011_DR_OE, PL011_DR_BE, PL011_DR_PE, PL011_DR_FE, PL011_ECR } from "../assembly/generated/pl011";
import { ERR_INVALID_ARG, ERR_RX_OVERRUN, ERR_RX_BREAK, ERR_RX_PARITY, ERR_RX_FRAMING } from "../assembly/generated/api";

export { pl011_init, pl011_write, pl011_flush } from "../assembly/pl011";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl011_read(base: u32, ptr: u32, cap: u32): i32 {
  if (!isValidBase(base) || !isValidBuffer(ptr, cap)) return ERR_INVALID_ARG;
  let count: u32 = 0;
  while (count < cap) {
    const entry = read32(base + PL011_DR); // the defect: no FR.RXFE check before the pop
    if (entry == 0) break;
    const errors = entry & (PL011_DR_OE | PL011_DR_BE | PL011_DR_PE | PL011_DR_FE);
    if (errors != 0) {
      write32(base + PL011_ECR, 0);
      if (errors & PL011_DR_BE) return ERR_RX_BREAK;
      if (errors & PL011_DR_OE) return ERR_RX_OVERRUN;
      if (errors & PL011_DR_PE) return ERR_RX_PARITY;
      return ERR_RX_FRAMING;
    }
    store<u8>(ptr + count, <u8>entry);
    count++;
  }
  return <i32>count;
}
