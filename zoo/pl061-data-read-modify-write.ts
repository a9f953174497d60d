// Bug: pl061_write updates the pins by read-modify-write through the all-pins DATA alias (offset
// 0x3FC) instead of one write to the alias of `mask` (TRM 3.3.1: PADDR[9:2] masks the write). A
// change made to another pin between the read and the write (by an interrupt handler, another
// core) is overwritten with the stale value read.
// Caught by: the never-touch check (pl061_write never reads gpio.DATA: one write, no read).
import { read32, write32 } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { PL061_DATA } from "../assembly/generated/pl061";
import { OK, ERR_INVALID_ARG, PL061_PINS_MASK } from "../assembly/generated/api";

export {
  pl061_set_direction, pl061_read, pl061_irq_config, pl061_irq_disable, pl061_irq_status, pl061_irq_clear,
} from "../assembly/pl061";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl061_write(base: u32, mask: u32, value: u32): i32 {
  if (!isValidBase(base) || (mask & ~PL061_PINS_MASK) != 0) return ERR_INVALID_ARG;
  const allPins = base + PL061_DATA + (PL061_PINS_MASK << 2);
  const current = read32(allPins) & PL061_PINS_MASK; // the defect: read all pins ...
  write32(allPins, (current & ~mask) | (value & mask)); // ... and write them all back
  return OK;
}
