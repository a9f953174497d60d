// What the polled PL011 driver (pl011.ts) and the interrupt-driven one (pl011-irq.ts) share.
// Nothing here is exported from the module.
import { PL011_DR_OE, PL011_DR_BE, PL011_DR_PE, PL011_DR_FE } from "./generated/pl011";
import { ERR_RX_OVERRUN, ERR_RX_BREAK, ERR_RX_PARITY, ERR_RX_FRAMING } from "./generated/api";

/** Receive error bits of a DR read (TRM 3.3.1). */
@inline export const PL011_DR_ERRORS: u32 = PL011_DR_OE | PL011_DR_BE | PL011_DR_PE | PL011_DR_FE;

/** The status code for the error bits of one DR entry: break, overrun, parity, framing, in that
 * order (a break also shows as a framing error, TRM 3.3.1). */
export function receiveErrorCode(errors: u32): i32 {
  if (errors & PL011_DR_BE) return ERR_RX_BREAK;
  if (errors & PL011_DR_OE) return ERR_RX_OVERRUN;
  if (errors & PL011_DR_PE) return ERR_RX_PARITY;
  return ERR_RX_FRAMING;
}
