// Bug: the PL011 handler clears the receive sources in ICR before it reads MIS, as if
// acknowledging first were enough, so the MIS it then reads no longer shows RX or RT and the
// handler never drains the RX FIFO. RXRIS only fires again when the level passes the trigger
// (TRM 2.8) and RTRIS only after new characters, so the bytes sit in the FIFO for good.
// Caught by: the exploration's property (every received byte reaches pl011_irq_read).
import { read32, write32, dsb } from "../assembly/mmio";
import { OK, ERR_INVALID_ARG, ERR_NO_HANDLER } from "../assembly/generated/api";
import { PL011_MIS, PL011_ICR } from "../assembly/generated/pl011";
import { isValidLine, irqHandlerKind, irqHandlerContext, IRQ_HANDLER_PL011 } from "../assembly/irq";
import { CTX_BASE, RX_SOURCES, SERVED_SOURCES, PL011_ISR_PASS_LIMIT, serveSources } from "../assembly/pl011-irq";

export { pl011_irq_open, pl011_irq_write, pl011_irq_read, pl011_irq_flush, pl011_irq_close } from "../assembly/pl011-irq";
export { hal_irq_controller } from "../assembly/irq";
export { hal_abi_version, hal_scratch, hal_scratch_size, pl080_set_memory_address } from "../assembly/index";

function brokenInterrupt(ctx: u32): i32 {
  const base = load<u32>(ctx + CTX_BASE);
  for (let pass: u32 = 0; pass < PL011_ISR_PASS_LIMIT; pass++) {
    write32(base + PL011_ICR, RX_SOURCES); // the defect: acknowledged before MIS is read ...
    const status = read32(base + PL011_MIS) & SERVED_SOURCES; // ... so RX and RT read as 0 here
    if (status == 0) break;
    write32(base + PL011_ICR, status);
    serveSources(ctx, base, status);
  }
  dsb();
  return OK;
}

export function hal_irq_dispatch(line: u32): i32 {
  if (!isValidLine(line)) return ERR_INVALID_ARG;
  if (irqHandlerKind(line) == IRQ_HANDLER_PL011) return brokenInterrupt(irqHandlerContext(line));
  return ERR_NO_HANDLER;
}
