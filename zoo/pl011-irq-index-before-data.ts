// Bug: the PL011 handler publishes the RX ring's head before it stores the character the new
// slot holds (it reads DR after the index store). Anything that reads the ring between the two,
// main code on another core or a handler that preempts this one, takes the stale slot as data.
// Caught by: the RX ring check at every access boundary (the ring's published slots must hold
// the characters received, in order).
import { read32, write32, dsb } from "../assembly/mmio";
import { OK, ERR_INVALID_ARG, ERR_NO_HANDLER, PL011_IRQ_RX_RING } from "../assembly/generated/api";
import { PL011_DR, PL011_DR_OE, PL011_FR, PL011_FR_RXFE, PL011_MIS, PL011_ICR, PL011_IMSC, PL011_IMSC_TX } from "../assembly/generated/pl011";
import { PL011_DR_ERRORS } from "../assembly/pl011-common";
import { isValidLine, irqHandlerKind, irqHandlerContext, IRQ_HANDLER_PL011 } from "../assembly/irq";
import {
  CTX_BASE, CTX_RX_HEAD, CTX_RX_TAIL, RX_SOURCES, SERVED_SOURCES, PL011_ISR_PASS_LIMIT, PL011_RX_DRAIN_LIMIT,
  rxSlot, transmitCharacters,
} from "../assembly/pl011-irq";

export { pl011_irq_open, pl011_irq_write, pl011_irq_read, pl011_irq_flush, pl011_irq_close } from "../assembly/pl011-irq";
export { hal_irq_controller } from "../assembly/irq";
export { hal_abi_version, hal_scratch, hal_scratch_size, pl080_set_memory_address } from "../assembly/index";

function receiveCharacters(ctx: u32, base: u32): void {
  let head = load<u32>(ctx + CTX_RX_HEAD);
  for (let n: u32 = 0; n < PL011_RX_DRAIN_LIMIT; n++) {
    if (read32(base + PL011_FR) & PL011_FR_RXFE) break;
    const tail = load<u32>(ctx + CTX_RX_TAIL);
    if (head - tail >= PL011_IRQ_RX_RING) {
      const entry = read32(base + PL011_DR);
      if (entry != 0) store<u16>(rxSlot(ctx, head - 1), load<u16>(rxSlot(ctx, head - 1)) | <u16>PL011_DR_OE);
      continue;
    }
    const slot = rxSlot(ctx, head);
    head++;
    store<u32>(ctx + CTX_RX_HEAD, head); // the defect: the index is published ...
    const entry = read32(base + PL011_DR) & (0xFF | PL011_DR_ERRORS);
    store<u16>(slot, <u16>entry); // ... before the data it guards
  }
}

function brokenInterrupt(ctx: u32): i32 {
  const base = load<u32>(ctx + CTX_BASE);
  for (let pass: u32 = 0; pass < PL011_ISR_PASS_LIMIT; pass++) {
    const status = read32(base + PL011_MIS) & SERVED_SOURCES;
    if (status == 0) break;
    write32(base + PL011_ICR, status);
    if (status & RX_SOURCES) receiveCharacters(ctx, base);
    if (status & PL011_IMSC_TX) {
      if (transmitCharacters(ctx, base)) write32(base + PL011_IMSC, read32(base + PL011_IMSC) & ~PL011_IMSC_TX);
    }
  }
  dsb();
  return OK;
}

export function hal_irq_dispatch(line: u32): i32 {
  if (!isValidLine(line)) return ERR_INVALID_ARG;
  if (irqHandlerKind(line) == IRQ_HANDLER_PL011) return brokenInterrupt(irqHandlerContext(line));
  return ERR_NO_HANDLER;
}
