// Bug: pl061_irq_clear updates IC by read-modify-write, as the driver does for DIR and IE. IC is
// write-1-to-clear and its read value is not defined (TRM 3.3.9): on a PL061 whose IC read
// returns the pending status, the write clears every pending edge, not only the pins of `mask`,
// and interrupts on the other pins are lost.
// Caught by: the lint (w1c-read-modify-write).
import { read32, write32, dsb } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { PL061_IC } from "../assembly/generated/pl061";
import { OK, ERR_INVALID_ARG, PL061_PINS_MASK } from "../assembly/generated/api";

export {
  pl061_set_direction, pl061_write, pl061_read, pl061_irq_config, pl061_irq_disable, pl061_irq_status,
} from "../assembly/pl061";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl061_irq_clear(base: u32, mask: u32): i32 {
  if (!isValidBase(base) || (mask & ~PL061_PINS_MASK) != 0) return ERR_INVALID_ARG;
  const current = read32(base + PL061_IC) & PL061_PINS_MASK; // the defect: IC read back ...
  write32(base + PL061_IC, (current & ~mask) | mask); // ... and written with the bits read
  dsb();
  return OK;
}
