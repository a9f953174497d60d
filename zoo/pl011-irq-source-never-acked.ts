// Bug: the PL011 handler acknowledges RX, RT and TX but not the receive error sources. Error
// interrupts clear only through ICR (TRM 3.3.13; docs/primecell.md, PL011 1.6 item 5), so after
// the first character with a parity error the line stays asserted and the handler is entered
// again and again: an interrupt storm that starves main code.
// Caught by: the storm check of the interrupt delivery.
import { read32, write32, dsb } from "../assembly/mmio";
import { OK, ERR_INVALID_ARG, ERR_NO_HANDLER } from "../assembly/generated/api";
import { PL011_MIS, PL011_ICR, PL011_IMSC_TX, PL011_IMSC_RX, PL011_IMSC_RT } from "../assembly/generated/pl011";
import { isValidLine, irqHandlerKind, irqHandlerContext, IRQ_HANDLER_PL011 } from "../assembly/irq";
import { CTX_BASE, SERVED_SOURCES, PL011_ISR_PASS_LIMIT, serveSources } from "../assembly/pl011-irq";

export { pl011_irq_open, pl011_irq_write, pl011_irq_read, pl011_irq_flush, pl011_irq_close } from "../assembly/pl011-irq";
export { hal_irq_controller } from "../assembly/irq";
export { hal_abi_version, hal_scratch, hal_scratch_size, pl080_set_memory_address } from "../assembly/index";

function brokenInterrupt(ctx: u32): i32 {
  const base = load<u32>(ctx + CTX_BASE);
  for (let pass: u32 = 0; pass < PL011_ISR_PASS_LIMIT; pass++) {
    const status = read32(base + PL011_MIS) & SERVED_SOURCES;
    if (status == 0) break;
    write32(base + PL011_ICR, status & (PL011_IMSC_RX | PL011_IMSC_RT | PL011_IMSC_TX)); // the defect: errors not acknowledged
    serveSources(ctx, base, status);
    // One pass per entry: the line is sampled again at the return.
    break;
  }
  dsb();
  return OK;
}

export function hal_irq_dispatch(line: u32): i32 {
  if (!isValidLine(line)) return ERR_INVALID_ARG;
  if (irqHandlerKind(line) == IRQ_HANDLER_PL011) return brokenInterrupt(irqHandlerContext(line));
  return ERR_NO_HANDLER;
}
