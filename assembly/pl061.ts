// PL061 GPIO driver (ARM DDI 0190B, PrimeCell GPIO PL061 TRM): eight pins, direction, address-masked
// data, and edge or level interrupts. Register offsets come from registers/pl061.json through
// assembly/generated/pl061.ts; pin masks and interrupt modes from registers/api-pl061.json.
// Register facts and their sources, and where the sources disagree: docs/primecell.md, PL061
// section 3.
//
// Every function takes a pin `mask` (bit n = pin n, bits 7:0) and refuses other bits with
// ERR_INVALID_ARG before touching a register. A mask of 0 is valid and changes no pin.
//
// Read-modify-write and concurrency. DATA is never read-modified-written: its address selects the
// pins a write may change (TRM 3.3.1), so one write updates exactly the pins of `mask` and leaves
// the others, whatever another core or an interrupt handler does to them meanwhile. DIR, IS, IBE,
// IEV and IE are updated by read-modify-write: the PL061 has no set/clear aliases for them. The
// hardware never changes these registers on its own, so the read value can only be stale if other
// software writes the same register between the read and the write. The caller serializes
// configuration of one PL061 (one owner, or a lock held around these calls), as Linux does with
// its spinlock around the same sequences. RIS and MIS, which the hardware does change, are only
// read; IC (write-1-to-clear) is only written.
import { read32, write32, dsb } from "./mmio";
import { isValidBase } from "./common";
import { updatePins } from "./pl061-common";
import { PL061_DATA, PL061_DIR, PL061_IS, PL061_IBE, PL061_IEV, PL061_IE, PL061_MIS, PL061_IC } from "./generated/pl061";
import {
  OK, ERR_INVALID_ARG,
  PL061_PINS_MASK, PL061_IRQ_MODE_IEV, PL061_IRQ_MODE_IBE, PL061_IRQ_MODE_IS,
} from "./generated/api";

/** Every bit a mode may carry (registers/api-pl061.json). */
@inline const PL061_IRQ_MODE_BITS: u32 = PL061_IRQ_MODE_IS | PL061_IRQ_MODE_IBE | PL061_IRQ_MODE_IEV;

/** Arguments every function shares: a word-aligned base and a mask of the eight pins. */
@inline function isValidBaseAndMask(base: u32, mask: u32): bool {
  return isValidBase(base) && (mask & ~PL061_PINS_MASK) == 0;
}

/** The DATA alias that reaches exactly the pins of `mask`: PADDR[9:2] is the mask (TRM 3.3.1). */
@inline function dataAddress(base: u32, mask: u32): u32 {
  return base + PL061_DATA + (mask << 2);
}

/**
 * Makes the pins of `mask` outputs where `outputs` has a 1 and inputs where it has a 0; pins
 * outside `mask` keep their direction (bits of `outputs` outside `mask` are ignored).
 *
 * A pin made an output drives its output latch at once. DATA writes to an input pin are dropped
 * (Linux gpio-pl061 and QEMU agree; docs/primecell.md, PL061 3.6), so the latch holds the value
 * last written while the pin was an output, 0 after reset. To drive a known level from the first
 * cycle, write it with pl061_write before this call too (hardware that keeps such writes then
 * uses it) and again after.
 */
export function pl061_set_direction(base: u32, mask: u32, outputs: u32): i32 {
  if (!isValidBaseAndMask(base, mask)) return ERR_INVALID_ARG;
  // Read-modify-write of DIR: see the file header for why it is safe.
  updatePins(base + PL061_DIR, mask, outputs);
  return OK;
}

/**
 * Sets the output pins of `mask` to the levels in `value` (bit n = pin n; bits outside `mask` are
 * ignored) with exactly one bus write and no read. Pins outside `mask`, and input pins, do not
 * change.
 */
export function pl061_write(base: u32, mask: u32, value: u32): i32 {
  if (!isValidBaseAndMask(base, mask)) return ERR_INVALID_ARG;
  // The address masks the write (TRM 3.3.1): no read, so no window in which a change made to
  // another pin by someone else could be overwritten with a stale value.
  write32(dataAddress(base, mask), value & mask);
  return OK;
}

/**
 * Returns the levels of the pins of `mask` (bit n = pin n, 0 for pins outside the mask), from one
 * bus read: an input pin reads its level, an output pin the value it drives.
 */
export function pl061_read(base: u32, mask: u32): i32 {
  if (!isValidBaseAndMask(base, mask)) return ERR_INVALID_ARG;
  // Unselected pins already read 0 (TRM 3.3.1); the mask also drops the reserved bits 31:8.
  return <i32>(read32(dataAddress(base, mask)) & mask);
}

/**
 * Sets the interrupt trigger of the pins of `mask` to `mode` (PL061_IRQ_EDGE_RISING,
 * PL061_IRQ_EDGE_FALLING, PL061_IRQ_EDGE_BOTH, PL061_IRQ_LEVEL_HIGH or PL061_IRQ_LEVEL_LOW) and
 * enables their interrupts. Any edge latched before the call is discarded. Other modes are refused.
 */
export function pl061_irq_config(base: u32, mask: u32, mode: u32): i32 {
  if (!isValidBaseAndMask(base, mask)) return ERR_INVALID_ARG;
  if ((mode & ~PL061_IRQ_MODE_BITS) != 0) return ERR_INVALID_ARG;
  // IBE applies only to edges (IS = 0), and IEV is ignored under IBE (TRM 3.3.4): refusing those
  // combinations keeps one encoding per trigger.
  if ((mode & PL061_IRQ_MODE_IBE) != 0 && (mode & (PL061_IRQ_MODE_IS | PL061_IRQ_MODE_IEV)) != 0) return ERR_INVALID_ARG;

  const level = (mode & PL061_IRQ_MODE_IS) != 0 ? mask : 0;
  const bothEdges = (mode & PL061_IRQ_MODE_IBE) != 0 ? mask : 0;
  const highOrRising = (mode & PL061_IRQ_MODE_IEV) != 0 ? mask : 0;

  // Changing the sense of a pin may make its detector see an event that never happened, and any
  // edge latched under the old setting (reset makes every pin falling-edge sensitive) is still in
  // RIS. The order that keeps both away from GPIOINTR is the one the PL061-derived TI Tiva GPIO
  // documents ("to prevent false interrupts": mask, configure, clear RIS, unmask;
  // docs/primecell.md, PL061 3.3):
  // 1. mask the pins in IE;
  updatePins(base + PL061_IE, mask, 0);
  // 2. set sense, both-edges and event;
  updatePins(base + PL061_IS, mask, level);
  updatePins(base + PL061_IBE, mask, bothEdges);
  updatePins(base + PL061_IEV, mask, highOrRising);
  // 3. clear the edge latches (IC is write-1-to-clear, TRM 3.3.9; a level condition that holds
  //    now is real and stays);
  write32(base + PL061_IC, mask);
  // 4. unmask. Accesses to one peripheral reach it in program order, so no barrier is needed
  //    between the clear and the unmask.
  updatePins(base + PL061_IE, mask, mask);
  return OK;
}

/**
 * Masks the interrupts of the pins of `mask` (IE = 0); their trigger setting is kept, and edges
 * are still latched in RIS while masked (pl061_irq_config clears them when unmasking again).
 */
export function pl061_irq_disable(base: u32, mask: u32): i32 {
  if (!isValidBaseAndMask(base, mask)) return ERR_INVALID_ARG;
  updatePins(base + PL061_IE, mask, 0);
  // A handler that masks its pin and returns must not be re-entered by a line still high: DSB
  // waits until the write has reached the PL061 (a posted write may still be in flight).
  dsb();
  return OK;
}

/** Returns the pins whose interrupt is pending and enabled (MIS: RIS AND IE, TRM 3.3.8). */
export function pl061_irq_status(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  return <i32>(read32(base + PL061_MIS) & PL061_PINS_MASK);
}

/**
 * Clears the latched edge interrupts of the pins of `mask` with one write to IC (write-1-to-clear:
 * other pins are not touched, TRM 3.3.9). A level interrupt is not latched and stays pending while
 * its level holds: remove the cause, or mask it with pl061_irq_disable.
 */
export function pl061_irq_clear(base: u32, mask: u32): i32 {
  if (!isValidBaseAndMask(base, mask)) return ERR_INVALID_ARG;
  write32(base + PL061_IC, mask);
  // Called from an interrupt handler before it returns: DSB waits until the clear has reached the
  // PL061, so GPIOINTR has dropped before the interrupt controller samples the line again.
  dsb();
  return OK;
}
