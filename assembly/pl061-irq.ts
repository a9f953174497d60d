// Interrupt-driven PL061 GPIO (ARM DDI 0190B; docs/drivers/pl061-irq.md): the handler records
// which pins fired in an event word of a context block the caller gives (PL061_IRQ_CTX_SIZE
// bytes), and main code takes them from there, so no edge is missed between two looks and none
// is reported twice. Register facts: docs/primecell.md, PL061 section 3.
//
// Edge pins are acknowledged through IC, which clears their latches (TRM 3.3.9). Level pins are
// not latched (docs/primecell.md, PL061 3.3 and 3.6: Linux and the model; QEMU latches them
// until IC), so no IC write can stop a level that still holds from asserting GPIOINTR again: the
// handler masks each level pin it saw in IE, and pl061_irq_take unmasks the pins it hands over.
// A level pin therefore fires at most once per take while the level holds, on either reading of
// the hardware: where levels are latched (QEMU), the IC write before the unmask clears the stale
// latch, and a level that still holds latches again at once.
//
// Sharing rules: the handler writes the event word, IC and IE; main code writes them, and the
// level-pin word the handler reads, only with the PL061's line masked at the interrupt
// controller (irqMask). While the PL061 is open, configure its interrupts only through
// pl061_irq_watch: pl061_irq_config, _disable and _clear would change IE and IC behind the
// handler. pl061_read, pl061_write and pl061_set_direction stay free to use.
import { read32, write32, dsb } from "./mmio";
import { irqOpen, irqContextIsOpen, irqClose, irqMask, irqUnmask, IRQ_HANDLER_PL061, IRQ_CTX_BASE, IRQ_CTX_LINE } from "./irq";
import { pl061_irq_config } from "./pl061";
import { updatePins } from "./pl061-common";
import { PL061_IE, PL061_MIS, PL061_IC } from "./generated/pl061";
import {
  OK, ERR_INVALID_ARG, PL061_PINS_MASK, PL061_IRQ_MODE_IS, PL061_IRQ_MODE_IBE, PL061_IRQ_MODE_IEV, PL061_IRQ_LEVEL_HIGH,
  PL061_IRQ_CTX_SIZE,
} from "./generated/api";

// Context block layout (byte offsets; base and line where irqContextIsOpen expects them).
@inline const CTX_BASE: u32 = IRQ_CTX_BASE;
@inline const CTX_LINE: u32 = IRQ_CTX_LINE;
/** Pins that fired since pl061_irq_take last took them: the handler ORs MIS in. */
@inline const CTX_EVENTS: u32 = 8;
/** Pins watched for a level (IS = 1): the handler masks these in IE instead of writing IC. */
@inline const CTX_LEVEL: u32 = 12;
// The layout ends at 16 = PL061_IRQ_CTX_SIZE (registers/api-irq.json).

/** MIS passes in one handler call. Each pass masks or clears every pin it saw, so a second pass
 * finds only edges that came during the first: the limit only bounds a pin toggling faster than
 * the handler runs. */
@inline const PL061_ISR_PASS_LIMIT: u32 = 16;

@inline function isOpen(ctx: u32): bool {
  return irqContextIsOpen(ctx, PL061_IRQ_CTX_SIZE, IRQ_HANDLER_PL061);
}

/** A mode pl061_irq_config accepts, checked here because the line is masked at the controller,
 * a register access, before pl061_irq_config runs. The five modes of registers/api-pl061.json are
 * 0, 1, 2, 4 and 5; 3, 6 and 7 combine IBE with IEV or IS, which pl061_irq_config refuses. */
@inline function isValidMode(mode: u32): bool {
  return mode <= PL061_IRQ_LEVEL_HIGH && mode != (PL061_IRQ_MODE_IBE | PL061_IRQ_MODE_IEV);
}

/**
 * Opens the PL061 at `base` for interrupt-driven use on controller line `line`, with its state in
 * `ctx` (PL061_IRQ_CTX_SIZE bytes of linear memory, 4-byte aligned; hal_irq_controller first).
 * Every pin's interrupt starts masked, as Linux does at probe (docs/primecell.md, PL061 3.3):
 * pins fire only once pl061_irq_watch names them.
 */
export function pl061_irq_open(ctx: u32, base: u32, line: u32): i32 {
  const status = irqOpen(ctx, base, line, PL061_IRQ_CTX_SIZE, IRQ_HANDLER_PL061);
  if (status != OK) return status;
  // Latched edges may stay in RIS: pl061_irq_watch clears a pin's before it unmasks it.
  write32(base + PL061_IE, 0);
  irqUnmask(line);
  return OK;
}

/**
 * The handler (hal_irq_dispatch calls it for the PL061's line). Each pass reads MIS once,
 * acknowledges exactly the pins it saw (edges through IC, levels by masking them in IE), then
 * records them in the event word.
 */
export function pl061Interrupt(ctx: u32): i32 {
  const base = load<u32>(ctx + CTX_BASE);
  const level = load<u32>(ctx + CTX_LEVEL);
  for (let pass: u32 = 0; pass < PL061_ISR_PASS_LIMIT; pass++) {
    const fired = read32(base + PL061_MIS) & PL061_PINS_MASK;
    if (fired == 0) break;
    // IC clears the edge latches it is given a 1 for and nothing else (TRM 3.3.9). An edge that
    // comes after the MIS read latches again and is seen by the next pass; one that came between
    // the read and this write is the same pin firing again, already recorded below.
    const edges = fired & ~level;
    if (edges != 0) write32(base + PL061_IC, edges);
    // A level is not latched: masking the pin is the only acknowledgement that holds while the
    // level does. IE is the handler's while the line is unmasked (see the sharing rules).
    const levels = fired & level;
    if (levels != 0) updatePins(base + PL061_IE, levels, 0);
    store<u32>(ctx + CTX_EVENTS, load<u32>(ctx + CTX_EVENTS) | fired);
  }
  // The IC and IE writes must have reached the PL061, and GPIOINTR dropped, before the return,
  // or the controller still sees the line asserted and enters the handler again for nothing
  // (ARM DAI 0321A, chapter 4: a DSB between clearing the source and the exception return).
  dsb();
  return OK;
}

/**
 * Watches the pins of `mask` for `mode` (PL061_IRQ_EDGE_RISING, _FALLING, _BOTH,
 * PL061_IRQ_LEVEL_HIGH or _LOW, as pl061_irq_config): their trigger is set and their interrupt
 * enabled, edges latched before the call discarded. Events already recorded are kept.
 */
export function pl061_irq_watch(ctx: u32, mask: u32, mode: u32): i32 {
  if (!isOpen(ctx) || (mask & ~PL061_PINS_MASK) != 0 || !isValidMode(mode)) return ERR_INVALID_ARG;
  const line = load<u32>(ctx + CTX_LINE);
  irqMask(line);
  // pl061_irq_config masks the pins, sets the sense, clears their latches and unmasks them (the
  // order of docs/primecell.md, PL061 3.3); its read-modify-writes of IE are safe with the line
  // masked, and so is the level-pin word the handler reads.
  pl061_irq_config(load<u32>(ctx + CTX_BASE), mask, mode);
  const level = load<u32>(ctx + CTX_LEVEL);
  store<u32>(ctx + CTX_LEVEL, (mode & PL061_IRQ_MODE_IS) != 0 ? level | mask : level & ~mask);
  irqUnmask(line);
  return OK;
}

/**
 * Takes the events of the pins of `mask`: returns the pins of `mask` that fired since they were
 * last taken (bit n = pin n) and forgets them. Each level pin taken is unmasked again, so that a
 * level that still holds fires once more.
 */
export function pl061_irq_take(ctx: u32, mask: u32): i32 {
  if (!isOpen(ctx) || (mask & ~PL061_PINS_MASK) != 0) return ERR_INVALID_ARG;
  const base = load<u32>(ctx + CTX_BASE);
  const line = load<u32>(ctx + CTX_LINE);
  irqMask(line);
  const events = load<u32>(ctx + CTX_EVENTS);
  const taken = events & mask;
  store<u32>(ctx + CTX_EVENTS, events & ~taken);
  const rearm = taken & load<u32>(ctx + CTX_LEVEL);
  if (rearm != 0) {
    // Clear first, then unmask (docs/primecell.md, PL061 3.3): where levels are latched (QEMU,
    // PL061 3.5) the latch of a level that has gone away would fire a false event.
    write32(base + PL061_IC, rearm);
    updatePins(base + PL061_IE, rearm, rearm);
  }
  irqUnmask(line);
  return <i32>taken;
}

/** Masks the line and every pin's interrupt, and forgets the handler. Events not taken are
 * dropped; the pins' directions and levels are not touched. */
export function pl061_irq_close(ctx: u32): i32 {
  if (!isOpen(ctx)) return ERR_INVALID_ARG;
  irqClose(ctx);
  // Latched edges stay in RIS; pl061_irq_watch clears a pin's before it unmasks it again.
  write32(load<u32>(ctx + CTX_BASE) + PL061_IE, 0);
  // The mask write reaches the PL061 before the caller reuses it.
  dsb();
  return OK;
}
