// What the polled PL061 driver (pl061.ts) and the interrupt-driven one (pl061-irq.ts) share.
// Nothing here is exported from the module.
import { read32, write32 } from "./mmio";
import { PL061_PINS_MASK } from "./generated/api";

/** Sets the bits of `mask` in the register at `addr` to those of `bits`, leaving the others: one
 * read and one write (a read-modify-write: see pl061.ts for when that is safe, and
 * pl061-irq.ts for the line masking that makes it safe against the handler). A function, not
 * inlined: seven callers share one copy. */
export function updatePins(addr: u32, mask: u32, bits: u32): void {
  const current = read32(addr) & PL061_PINS_MASK;
  write32(addr, (current & ~mask) | (bits & mask));
}
