// Bug: pl011_irq_write starts the transmitter without masking the UART's line: its read-modify-
// write of IMSC (and its use of the TX ring's tail) can be split by the handler, which clears
// TXIM when the ring runs empty; the write then puts back the IMSC it read, undoing the handler.
// Caught by: the interrupt checks (a main-code read-modify-write of a register the handler
// writes, with the line enabled; the lost update itself when the interrupt lands in between).
import { read32, write32 } from "../assembly/mmio";
import { isValidBuffer } from "../assembly/common";
import { ERR_INVALID_ARG, PL011_IRQ_TX_RING } from "../assembly/generated/api";
import { PL011_IMSC, PL011_IMSC_TX } from "../assembly/generated/pl011";
import { CTX_BASE, CTX_TX_HEAD, CTX_TX_TAIL, isOpen, txSlot, transmitCharacters } from "../assembly/pl011-irq";

export { pl011_irq_open, pl011_irq_read, pl011_irq_flush, pl011_irq_close } from "../assembly/pl011-irq";
export { hal_irq_controller } from "../assembly/irq";
export { hal_irq_dispatch } from "../assembly/irq-dispatch";
export { hal_abi_version, hal_scratch, hal_scratch_size, pl080_set_memory_address } from "../assembly/index";

export function pl011_irq_write(ctx: u32, ptr: u32, len: u32): i32 {
  if (!isOpen(ctx) || !isValidBuffer(ptr, len)) return ERR_INVALID_ARG;
  const base = load<u32>(ctx + CTX_BASE);
  let head = load<u32>(ctx + CTX_TX_HEAD);
  const room = PL011_IRQ_TX_RING - (head - load<u32>(ctx + CTX_TX_TAIL));
  const count = len < room ? len : room;
  for (let i: u32 = 0; i < count; i++) {
    store<u8>(txSlot(ctx, head), load<u8>(ptr + i));
    head++;
  }
  store<u32>(ctx + CTX_TX_HEAD, head);
  // The defect: no irqMask(line) / irqUnmask(line) around what the handler also changes.
  const imsc = read32(base + PL011_IMSC);
  if (!transmitCharacters(ctx, base)) write32(base + PL011_IMSC, imsc | PL011_IMSC_TX);
  return <i32>count;
}
