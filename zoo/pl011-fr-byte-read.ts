// Bug: pl011_flush reads FR with a byte access, as code that treats the flags as an 8-bit
// register does. FR takes 32-bit accesses only (registers/pl011.json): the bus refuses the read,
// and on hardware that does not refuse it, RI (bit 8) is lost.
// Caught by: the width check (toUseWidth("uart0", 4)); the lint reports access-width too.
import { read8 } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { PL011_FR, PL011_FR_BUSY } from "../assembly/generated/pl011";
import { OK, ERR_INVALID_ARG, ERR_TIMEOUT } from "../assembly/generated/api";
import { IDLE_POLL_LIMIT } from "./parts/pl011";

export { pl011_init, pl011_write, pl011_read } from "../assembly/pl011";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl011_flush(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  for (let polls: u32 = 0; polls < IDLE_POLL_LIMIT; polls++) {
    if ((read8(base + PL011_FR) & PL011_FR_BUSY) == 0) return OK; // the defect: read8, not read32
  }
  return ERR_TIMEOUT;
}
