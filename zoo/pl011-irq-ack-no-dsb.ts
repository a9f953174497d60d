// Bug: the PL011 handler returns right after its last write, with no DSB. On a posted bus the
// ICR write may not have reached the UART when the exception returns; the interrupt controller
// still sees the line asserted and enters the handler again, which finds nothing to do: a
// spurious interrupt on every entry, twice the interrupt load.
// Caught by: the spurious-interrupt check (a handler entered with its source idle).
import { read32, write32 } from "../assembly/mmio";
import { OK, ERR_INVALID_ARG, ERR_NO_HANDLER } from "../assembly/generated/api";
import { PL011_MIS, PL011_ICR } from "../assembly/generated/pl011";
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
    write32(base + PL011_ICR, status);
    serveSources(ctx, base, status);
    // One pass, so that the acknowledgement is the handler's last write before it returns.
    break;
  }
  // The defect: no dsb() before the return.
  return OK;
}

export function hal_irq_dispatch(line: u32): i32 {
  if (!isValidLine(line)) return ERR_INVALID_ARG;
  if (irqHandlerKind(line) == IRQ_HANDLER_PL011) return brokenInterrupt(irqHandlerContext(line));
  return ERR_NO_HANDLER;
}
