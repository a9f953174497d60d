// Bug: the FR read of pl011_write's wait loop is hoisted out of the loop, as a compiler does with
// a status register read through a pointer that is not volatile. FR is read once per call; every
// byte after the first is written whatever TXFF says, and once the TX FIFO is full the UART
// drops them.
// Caught by: the poll check (toPollEveryIteration, each W DR after a read of FR with TXFF = 0).
import { read32, write32 } from "../assembly/mmio";
import { isValidBase, isValidBuffer } from "../assembly/common";
import { PL011_DR, PL011_FR, PL011_FR_TXFF } from "../assembly/generated/pl011";
import { ERR_INVALID_ARG, ERR_TIMEOUT } from "../assembly/generated/api";
import { TX_POLL_LIMIT } from "./parts/pl011";

export { pl011_init, pl011_read, pl011_flush } from "../assembly/pl011";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl011_write(base: u32, ptr: u32, len: u32): i32 {
  if (!isValidBase(base) || !isValidBuffer(ptr, len)) return ERR_INVALID_ARG;
  const flags = read32(base + PL011_FR); // the defect: read once, before the loop
  for (let i: u32 = 0; i < len; i++) {
    let polls: u32 = 0;
    while ((flags & PL011_FR_TXFF) != 0 && polls < TX_POLL_LIMIT) polls++;
    if (polls == TX_POLL_LIMIT) return i > 0 ? <i32>i : ERR_TIMEOUT;
    write32(base + PL011_DR, <u32>load<u8>(ptr + i));
  }
  return <i32>len;
}
