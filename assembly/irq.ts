// Interrupt plumbing shared by the interrupt-driven drivers (docs/interrupts.md): where the
// interrupt controller's enable registers are, and which driver serves which line. The module
// allocates nothing: both tables are static. hal_irq_dispatch (assembly/irq-dispatch.ts) reads
// the handler table; the drivers fill it.
import { write32, dsb, isb } from "./mmio";
import { isValidBase, isValidBuffer } from "./common";
import { OK, ERR_INVALID_ARG, ERR_BUSY, ERR_NO_IRQ_CONTROLLER, HAL_IRQ_LINES } from "./generated/api";

/** The kinds of handler a line can have; 0 = none. */
@inline export const IRQ_HANDLER_NONE: u32 = 0;
@inline export const IRQ_HANDLER_PL011: u32 = 1;
@inline export const IRQ_HANDLER_PL061: u32 = 2;
@inline export const IRQ_HANDLER_PL080: u32 = 3;
@inline export const IRQ_HANDLER_PL022: u32 = 4;

/** Where every interrupt-driven driver's context block keeps the block's base and its line (the
 * rest of the block is the driver's own layout). */
@inline export const IRQ_CTX_BASE: u32 = 0;
@inline export const IRQ_CTX_LINE: u32 = 4;

// [set-enable address, clear-enable address]; 0 until hal_irq_controller is called.
const controller = memory.data(8);
// One [kind, ctx] pair per line.
const handlers = memory.data(<i32>HAL_IRQ_LINES * 8);

/**
 * Tells the module where the interrupt controller's set-enable and clear-enable registers for
 * lines 0..31 are; lines 32n..32n+31 use the words 4n bytes further on. An NVIC: ISER0 and ICER0
 * (0xE000E100, 0xE000E180); a PL190 VIC: VICIntEnable and VICIntEnClear (base + 0x010, + 0x014).
 * Both take one bit per line and act on the bits written as 1, which is all the drivers need.
 */
export function hal_irq_controller(setEnable: u32, clearEnable: u32): i32 {
  if (!isValidBase(setEnable) || !isValidBase(clearEnable) || setEnable == 0 || clearEnable == 0 || setEnable == clearEnable) return ERR_INVALID_ARG;
  store<u32>(controller, setEnable);
  store<u32>(controller + 4, clearEnable);
  return OK;
}

/** True once hal_irq_controller has been given the controller's registers. */
export function irqControllerKnown(): bool {
  return load<u32>(controller) != 0;
}

@inline export function isValidLine(line: u32): bool {
  return line < HAL_IRQ_LINES;
}

/**
 * The start of an interrupt-driven driver's open (the PL061, PL080 and PL022 ones): checks, before
 * any register access, that `base` is word-aligned, `ctx` a 4-byte-aligned block of `size` bytes
 * inside linear memory, `line` a line the dispatcher serves, the controller known and the line
 * free (or already this context's); then masks the line, zeroes `ctx`, keeps `base` at ctx + 0 and
 * `line` at ctx + 4 (IRQ_CTX_BASE, IRQ_CTX_LINE), and registers the handler `kind`. The caller sets up its device and unmasks
 * the line. OK, ERR_INVALID_ARG, ERR_NO_IRQ_CONTROLLER or ERR_BUSY.
 */
export function irqOpen(ctx: u32, base: u32, line: u32, size: u32, kind: u32): i32 {
  if (!isValidBase(base) || (ctx & 3) != 0 || !isValidBuffer(ctx, size) || !isValidLine(line)) return ERR_INVALID_ARG;
  if (!irqControllerKnown()) return ERR_NO_IRQ_CONTROLLER;
  if (irqHandlerKind(line) != IRQ_HANDLER_NONE && irqHandlerContext(line) != ctx) return ERR_BUSY;
  irqMask(line);
  memory.fill(ctx, 0, size);
  store<u32>(ctx + IRQ_CTX_BASE, base);
  store<u32>(ctx + IRQ_CTX_LINE, line);
  irqSetHandler(line, kind, ctx);
  return OK;
}

/**
 * True for a context that irqOpen set up for driver `kind` and that still owns its line.
 */
export function irqContextIsOpen(ctx: u32, size: u32, kind: u32): bool {
  if ((ctx & 3) != 0 || !isValidBuffer(ctx, size)) return false;
  const line = load<u32>(ctx + IRQ_CTX_LINE);
  return isValidLine(line) && irqHandlerKind(line) == kind && irqHandlerContext(line) == ctx;
}

/** The start of a close: masks the context's line and forgets its handler. The caller quiets its
 * device (the line stays masked) and ends with a DSB. */
export function irqClose(ctx: u32): void {
  const line = load<u32>(ctx + IRQ_CTX_LINE);
  irqMask(line);
  irqSetHandler(line, IRQ_HANDLER_NONE, 0);
}

export function irqSetHandler(line: u32, kind: u32, ctx: u32): void {
  store<u32>(handlers + line * 8, kind);
  store<u32>(handlers + line * 8 + 4, ctx);
}

export function irqHandlerKind(line: u32): u32 {
  return load<u32>(handlers + line * 8);
}

export function irqHandlerContext(line: u32): u32 {
  return load<u32>(handlers + line * 8 + 4);
}

/**
 * Masks a line at the controller (ICER), for main code that changes state the line's handler
 * also changes. Without barriers the line can still be taken just after the write, because the
 * CPU may be entering the handler as the write lands; a DSB then an ISB make sure it is not
 * (ARM DAI 0321A, Cortex-M Programming Guide to Memory Barrier Instructions, 4.6 "Disabling
 * Interrupts using NVIC").
 */
export function irqMask(line: u32): void {
  write32(load<u32>(controller + 4) + (line >> 5) * 4, <u32>1 << (line & 31));
  dsb();
  isb();
}

/** Unmasks a line at the controller (ISER). A pending line is taken as soon as the write lands:
 * no barrier is needed for that. */
export function irqUnmask(line: u32): void {
  write32(load<u32>(controller) + (line >> 5) * 4, <u32>1 << (line & 31));
}
