// Interrupt-driven PL011 UART (ARM DDI 0183G, TRM r1p5; docs/drivers/pl011-irq.md). The handler
// moves characters between the FIFOs and two rings in linear memory; main code only touches the
// rings, except to start the transmitter. The state lives in a context block the caller gives
// (PL011_IRQ_CTX_SIZE bytes), so one module serves any number of UARTs.
//
// Sharing rules, which make the rings safe whatever the interleaving:
// - Each ring index has one writer: the handler writes rxHead and main code rxTail; main code
//   writes txHead. Indexes run freely (the slot is index % ring size), so full and empty differ.
// - A slot is written before the index that publishes it, and read before the index that frees it.
// - txTail and IMSC are written by the handler, and by main code only with the UART's line masked
//   at the interrupt controller (irqMask), so neither side ever undoes the other's write.
import { read32, write32, dsb } from "./mmio";
import { isValidBuffer } from "./common";
import { PL011_DR_ERRORS, receiveErrorCode } from "./pl011-common";
import { pl011_init } from "./pl011";
import {
  irqControllerKnown, isValidLine, irqSetHandler, irqHandlerKind, irqHandlerContext, irqContextIsOpen, irqMask, irqUnmask,
  IRQ_HANDLER_PL011, IRQ_HANDLER_NONE, IRQ_CTX_BASE, IRQ_CTX_LINE,
} from "./irq";
import {
  PL011_DR, PL011_DR_OE, PL011_FR, PL011_FR_TXFF, PL011_FR_RXFE, PL011_FR_BUSY,
  PL011_IFLS, PL011_IFLS_RXIFLSEL_SHIFT, PL011_IFLS_TXIFLSEL_SHIFT,
  PL011_IMSC, PL011_IMSC_OE, PL011_IMSC_BE, PL011_IMSC_PE, PL011_IMSC_FE, PL011_IMSC_RT, PL011_IMSC_TX, PL011_IMSC_RX,
  PL011_MIS, PL011_ICR,
} from "./generated/pl011";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_BUSY, ERR_RX_OVERRUN, ERR_NO_IRQ_CONTROLLER,
  PL011_IRQ_CTX_SIZE, PL011_IRQ_RX_RING, PL011_IRQ_TX_RING,
} from "./generated/api";

// Context block layout (byte offsets; docs/drivers/pl011-irq.md). The names below that are
// exported serve the bug zoo's variants of this driver (zoo/pl011-irq-*.ts); they are not module
// exports, since assembly/index.ts names this file's C-callable functions one by one.
@inline export const CTX_BASE: u32 = IRQ_CTX_BASE;
@inline export const CTX_LINE: u32 = IRQ_CTX_LINE;
@inline export const CTX_RX_HEAD: u32 = 8;
@inline export const CTX_RX_TAIL: u32 = 12;
@inline export const CTX_TX_HEAD: u32 = 16;
@inline export const CTX_TX_TAIL: u32 = 20;
/** An error that pl011_irq_read owes its caller (after the bytes before it). */
@inline const CTX_PENDING: u32 = 24;
/** Received entries: 16 bits each, the character in 7:0 and its DR error bits in 11:8. */
@inline export const CTX_RX_RING: u32 = 32;
@inline export const CTX_TX_RING: u32 = CTX_RX_RING + PL011_IRQ_RX_RING * 2;
// The layout ends at CTX_TX_RING + PL011_IRQ_TX_RING = 800 = PL011_IRQ_CTX_SIZE (registers/api-irq.json).

/** The sources the handler serves: receive, receive timeout, the four receive errors, transmit. */
@inline export const RX_SOURCES: u32 = PL011_IMSC_RX | PL011_IMSC_RT | PL011_IMSC_OE | PL011_IMSC_BE | PL011_IMSC_PE | PL011_IMSC_FE;
@inline export const SERVED_SOURCES: u32 = RX_SOURCES | PL011_IMSC_TX;

/** Handler passes over MIS before it gives up, as Linux's AMBA_ISR_PASS_LIMIT (256). */
@inline export const PL011_ISR_PASS_LIMIT: u32 = 256;
/** DR reads in one receive pass: twice the 32-entry FIFO (TRM 1.2), since characters keep
 * arriving while it drains. */
@inline export const PL011_RX_DRAIN_LIMIT: u32 = 64;
/** FR reads while pl011_irq_flush waits, as pl011_flush's limit (see pl011.ts). */
@inline const PL011_IRQ_IDLE_POLL_LIMIT: u32 = 1 << 22;

/** IFLS (TRM 3.3.9): RX at 1/8 full (b000), so that the handler runs after a few characters
 * rather than 16, and TX at 1/2 full (b010, the reset value), so that half a FIFO of time is left
 * to refill it. The receive timeout (RT) picks up the characters below the RX level. */
@inline const PL011_IRQ_IFLS: u32 = (0 << PL011_IFLS_RXIFLSEL_SHIFT) | (2 << PL011_IFLS_TXIFLSEL_SHIFT);

@inline export function rxSlot(ctx: u32, index: u32): u32 {
  return ctx + CTX_RX_RING + (index & (PL011_IRQ_RX_RING - 1)) * 2;
}

@inline export function txSlot(ctx: u32, index: u32): u32 {
  return ctx + CTX_TX_RING + (index & (PL011_IRQ_TX_RING - 1));
}

/** A context that pl011_irq_open set up and that still owns its line. */
@inline export function isOpen(ctx: u32): bool {
  return irqContextIsOpen(ctx, PL011_IRQ_CTX_SIZE, IRQ_HANDLER_PL011);
}

/**
 * Opens the UART at `base` for interrupt-driven transfers: pl011_init's setting of `baud` and
 * `config` from `uartclkHz`, then the receive interrupts on and the UART's controller `line`
 * enabled, with its state and rings in `ctx` (PL011_IRQ_CTX_SIZE bytes of linear memory, 4-byte
 * aligned). hal_irq_controller must have been called first.
 */
export function pl011_irq_open(ctx: u32, base: u32, uartclkHz: u32, baud: u32, config: u32, line: u32): i32 {
  if ((ctx & 3) != 0 || !isValidBuffer(ctx, PL011_IRQ_CTX_SIZE) || !isValidLine(line)) return ERR_INVALID_ARG;
  if (!irqControllerKnown()) return ERR_NO_IRQ_CONTROLLER;
  if (irqHandlerKind(line) != IRQ_HANDLER_NONE && irqHandlerContext(line) != ctx) return ERR_BUSY;
  // pl011_init refuses bad arguments before touching a register, and leaves IMSC at 0, so the
  // UART raises nothing until the end of this function.
  const status = pl011_init(base, uartclkHz, baud, config);
  if (status != OK) return status;
  irqMask(line);
  memory.fill(ctx, 0, CTX_RX_RING);
  store<u32>(ctx + CTX_BASE, base);
  store<u32>(ctx + CTX_LINE, line);
  irqSetHandler(line, IRQ_HANDLER_PL011, ctx);
  write32(base + PL011_IFLS, PL011_IRQ_IFLS);
  // pl011_init flushed the FIFOs and cleared every interrupt, so RXRIS can fire on the first
  // characters (it fires when the level passes the trigger, TRM 2.8, not while it stays above).
  write32(base + PL011_IMSC, RX_SOURCES);
  irqUnmask(line);
  return OK;
}

/** Moves received characters from the RX FIFO to the RX ring. A character that finds the ring
 * full is lost, and the newest entry in the ring gets OE, as the UART marks an overrun on the
 * last character that fitted (TRM 3.3.1): the caller learns of the loss where it happened. */
export function receiveCharacters(ctx: u32, base: u32): void {
  let head = load<u32>(ctx + CTX_RX_HEAD);
  for (let n: u32 = 0; n < PL011_RX_DRAIN_LIMIT; n++) {
    if (read32(base + PL011_FR) & PL011_FR_RXFE) break;
    const entry = read32(base + PL011_DR) & (0xFF | PL011_DR_ERRORS);
    const tail = load<u32>(ctx + CTX_RX_TAIL);
    if (head - tail >= PL011_IRQ_RX_RING) {
      const newest = rxSlot(ctx, head - 1);
      store<u16>(newest, load<u16>(newest) | <u16>PL011_DR_OE);
      continue;
    }
    // Data before the index that publishes it.
    store<u16>(rxSlot(ctx, head), <u16>entry);
    head++;
    store<u32>(ctx + CTX_RX_HEAD, head);
  }
}

/** Moves bytes from the TX ring into the TX FIFO while it has room; true when the ring is empty.
 * Called by the handler, or by main code with the line masked. */
export function transmitCharacters(ctx: u32, base: u32): bool {
  const head = load<u32>(ctx + CTX_TX_HEAD);
  let tail = load<u32>(ctx + CTX_TX_TAIL);
  while (tail != head) {
    if (read32(base + PL011_FR) & PL011_FR_TXFF) break;
    write32(base + PL011_DR, <u32>load<u8>(txSlot(ctx, tail)));
    // Read before the index that frees the slot.
    tail++;
    store<u32>(ctx + CTX_TX_TAIL, tail);
  }
  return tail == head;
}

/** Serves the acknowledged sources of `status`: the RX FIFO into the ring for RX, RT and the
 * errors, the TX ring into the FIFO for TX. */
export function serveSources(ctx: u32, base: u32, status: u32): void {
  if (status & RX_SOURCES) receiveCharacters(ctx, base);
  if (status & PL011_IMSC_TX) {
    // TXIM off once the ring is empty, or TXRIS (set while the FIFO is at or below its level)
    // would keep the line asserted with nothing to send. Only the handler writes IMSC while the
    // line is unmasked.
    if (transmitCharacters(ctx, base)) write32(base + PL011_IMSC, read32(base + PL011_IMSC) & ~PL011_IMSC_TX);
  }
}

/**
 * The handler (hal_irq_dispatch calls it for the UART's line). Each pass reads MIS, acknowledges
 * exactly the sources it saw, then serves them: acknowledging first means a source that fires
 * again while it is served stays pending for the next pass (TRM 3.3.13: ICR clears RIS bits; RX
 * and RT would clear anyway when the FIFO is read, but the error bits only through ICR).
 */
export function pl011Interrupt(ctx: u32): i32 {
  const base = load<u32>(ctx + CTX_BASE);
  for (let pass: u32 = 0; pass < PL011_ISR_PASS_LIMIT; pass++) {
    const status = read32(base + PL011_MIS) & SERVED_SOURCES;
    if (status == 0) break;
    write32(base + PL011_ICR, status);
    serveSources(ctx, base, status);
  }
  // The ICR and IMSC writes must have reached the UART before the return, or the controller
  // still sees the line asserted and enters the handler again for nothing: ARM's Cortex-M
  // memory barrier guide (DAI 0321A, chapter 4) puts a DSB between clearing the interrupt
  // source and the exception return for this reason.
  dsb();
  return OK;
}

/**
 * Queues up to `len` bytes from linear memory at `ptr` in the TX ring, without waiting, and
 * starts the transmitter. Returns the number of bytes queued (0 when the ring is full).
 */
export function pl011_irq_write(ctx: u32, ptr: u32, len: u32): i32 {
  if (!isOpen(ctx) || !isValidBuffer(ptr, len)) return ERR_INVALID_ARG;
  const base = load<u32>(ctx + CTX_BASE);
  const line = load<u32>(ctx + CTX_LINE);
  let head = load<u32>(ctx + CTX_TX_HEAD);
  const room = PL011_IRQ_TX_RING - (head - load<u32>(ctx + CTX_TX_TAIL));
  const count = len < room ? len : room;
  for (let i: u32 = 0; i < count; i++) {
    store<u8>(txSlot(ctx, head), load<u8>(ptr + i));
    head++;
  }
  // Data before the index that publishes it.
  store<u32>(ctx + CTX_TX_HEAD, head);
  // Start: fill the FIFO now (TXRIS only sets when the level falls through the trigger, TRM
  // 2.8, so enabling TXIM over an empty FIFO would never fire), and let the handler send the
  // rest. txTail and IMSC are the handler's too, hence the mask around them.
  irqMask(line);
  if (!transmitCharacters(ctx, base)) write32(base + PL011_IMSC, read32(base + PL011_IMSC) | PL011_IMSC_TX);
  irqUnmask(line);
  return <i32>count;
}

/**
 * Takes up to `cap` received bytes from the RX ring into linear memory at `ptr`, without waiting.
 * Returns the number of bytes (0 when none arrived) or, for a character that arrived with an
 * error, the error code, as pl011_read does: bytes before the error first, the error by the next
 * call. A character with OE is returned, and ERR_RX_OVERRUN after it (the loss came after it).
 */
export function pl011_irq_read(ctx: u32, ptr: u32, cap: u32): i32 {
  if (!isOpen(ctx) || !isValidBuffer(ptr, cap)) return ERR_INVALID_ARG;
  const pending = load<i32>(ctx + CTX_PENDING);
  if (pending != OK) {
    store<i32>(ctx + CTX_PENDING, OK);
    return pending;
  }
  const head = load<u32>(ctx + CTX_RX_HEAD);
  let tail = load<u32>(ctx + CTX_RX_TAIL);
  let count: u32 = 0;
  let result: i32 = 0;
  while (count < cap && tail != head) {
    const entry = <u32>load<u16>(rxSlot(ctx, tail));
    const errors = entry & PL011_DR_ERRORS;
    if (errors == 0) {
      store<u8>(ptr + count, <u8>entry);
      count++;
      tail++;
      continue;
    }
    if (errors == PL011_DR_OE) {
      store<u8>(ptr + count, <u8>entry);
      count++;
      tail++;
      store<i32>(ctx + CTX_PENDING, ERR_RX_OVERRUN);
      break;
    }
    // Break, parity or framing: the character is not data. Bytes before it go first. Its own
    // error comes now; an OE beside it (a loss after it) is owed to the next call, so neither
    // error hides the other.
    if (count > 0) break;
    tail++;
    result = receiveErrorCode(errors & ~PL011_DR_OE);
    if (errors & PL011_DR_OE) store<i32>(ctx + CTX_PENDING, ERR_RX_OVERRUN);
    break;
  }
  // Read before the index that frees the slots.
  store<u32>(ctx + CTX_RX_TAIL, tail);
  return result != 0 ? result : <i32>count;
}

/** Waits (bounded) until the TX ring is empty and the transmitter idle. A deferred host delivers
 * the UART's interrupts while this polls FR, so the handler can keep refilling the FIFO. */
export function pl011_irq_flush(ctx: u32): i32 {
  if (!isOpen(ctx)) return ERR_INVALID_ARG;
  const base = load<u32>(ctx + CTX_BASE);
  for (let polls: u32 = 0; polls < PL011_IRQ_IDLE_POLL_LIMIT; polls++) {
    const flags = read32(base + PL011_FR);
    if (load<u32>(ctx + CTX_TX_TAIL) == load<u32>(ctx + CTX_TX_HEAD) && (flags & PL011_FR_BUSY) == 0) return OK;
  }
  return ERR_TIMEOUT;
}

/** Masks the UART's interrupts and its line and forgets its handler. Bytes still in the rings
 * are dropped; the UART stays enabled for polled use. */
export function pl011_irq_close(ctx: u32): i32 {
  if (!isOpen(ctx)) return ERR_INVALID_ARG;
  const base = load<u32>(ctx + CTX_BASE);
  const line = load<u32>(ctx + CTX_LINE);
  irqMask(line);
  write32(base + PL011_IMSC, 0);
  write32(base + PL011_ICR, SERVED_SOURCES);
  irqSetHandler(line, IRQ_HANDLER_NONE, 0);
  // The mask writes reach the UART before the caller reuses it.
  dsb();
  return OK;
}
