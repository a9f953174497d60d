// The one export a host enters on an interrupt (docs/abi.md 1.3): hal_irq_dispatch(line) runs
// the handler a driver registered for the line. A board's native ISR masks or latches the line
// and its main loop calls this (deferred); a module compiled to C may call it from the ISR itself
// (preemptive). Either way the handler acknowledges what it served before it returns.
import { ERR_INVALID_ARG, ERR_NO_HANDLER } from "./generated/api";
import {
  isValidLine, irqHandlerKind, irqHandlerContext,
  IRQ_HANDLER_PL011, IRQ_HANDLER_PL061, IRQ_HANDLER_PL080, IRQ_HANDLER_PL022,
} from "./irq";
import { pl011Interrupt } from "./pl011-irq";
import { pl061Interrupt } from "./pl061-irq";
import { pl080Interrupt } from "./pl080-irq";
import { pl022Interrupt } from "./pl022-irq";

export function hal_irq_dispatch(line: u32): i32 {
  if (!isValidLine(line)) return ERR_INVALID_ARG;
  const ctx = irqHandlerContext(line);
  switch (irqHandlerKind(line)) {
    case IRQ_HANDLER_PL011: return pl011Interrupt(ctx);
    case IRQ_HANDLER_PL061: return pl061Interrupt(ctx);
    case IRQ_HANDLER_PL080: return pl080Interrupt(ctx);
    case IRQ_HANDLER_PL022: return pl022Interrupt(ctx);
    default: return ERR_NO_HANDLER;
  }
}
