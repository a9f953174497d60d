// Interrupt-driven transfers for the PL022 SSP (ARM DDI 0194; docs/drivers/pl022-irq.md): a
// transfer of any length runs from the RX FIFO interrupt, with its state in a context block the
// caller gives (PL022_IRQ_CTX_SIZE bytes). Frames of 4 to 8 bits, one byte each, from a TX
// buffer the caller always gives; wider frames and all-ones filler are pl022_transfer's (the
// module's 8 KiB budget, docs/drivers/pl022-irq.md). Register facts: docs/primecell.md, PL022
// section 2.
//
// How a transfer runs. pl022_irq_transfer fills the TX FIFO with up to its depth, 8 frames, and
// enables RX, RT and ROR. Each frame sent brings one frame back, and the handler sends a new
// frame only for one it has taken out of the RX FIFO, so no more than 8 frames are ever in
// flight: the RX FIFO can hold all of them, and cannot overrun however late the handler runs
// (TRM 3.4: an overrun loses the frame). RX asserts while the RX FIFO holds 4 or more entries,
// RT once frames have waited there for 32 bit periods with nothing new (docs/primecell.md, PL022
// 2.2; the sources disagree on the RX level, PL022 2.7, and the package follows "4 or more", as
// three of them say, one a copy of the manual): RX serves the bulk, RT the last 1 to 3 frames.
// TX is never enabled: it asserts whenever the TX FIFO is at or below half, which says nothing
// about frames received.
//
// Sharing rules: the handler writes sent, received, the result and IMSC while a transfer runs;
// main code writes them only with the line masked at the interrupt controller (at the start of a
// transfer and in pl022_irq_close), and otherwise only reads the result. The buffers belong to
// the transfer until pl022_irq_wait stops returning ERR_TIMEOUT.
import { read32, write32, dsb } from "./mmio";
import { PL022_FIFO_DEPTH, drainReceive, framesFit, frameSizeFor } from "./pl022-common";
import { irqOpen, irqContextIsOpen, irqClose, irqMask, irqUnmask, IRQ_HANDLER_PL022, IRQ_CTX_BASE, IRQ_CTX_LINE } from "./irq";
import {
  PL022_CR0_DSS_8BIT, PL022_DR, PL022_SR, PL022_SR_RNE, PL022_SR_BSY, PL022_IMSC, PL022_IMSC_RX, PL022_IMSC_RT, PL022_IMSC_ROR,
  PL022_MIS, PL022_ICR, PL022_ICR_RTIC, PL022_ICR_RORIC,
} from "./generated/pl022";
import { OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_BUSY, ERR_RX_OVERRUN, PL022_IRQ_CTX_SIZE } from "./generated/api";

// Context block layout (byte offsets; base and line where irqContextIsOpen expects them).
@inline const CTX_BASE: u32 = IRQ_CTX_BASE;
@inline const CTX_LINE: u32 = IRQ_CTX_LINE;
@inline const CTX_TX: u32 = 8;
@inline const CTX_RX: u32 = 12;
@inline const CTX_LEN: u32 = 16;
@inline const CTX_SENT: u32 = 20;
@inline const CTX_RECEIVED: u32 = 24;
/** ERR_BUSY while a transfer runs; then its frame count or ERR_RX_OVERRUN. */
@inline const CTX_RESULT: u32 = 28;
// The layout ends at 32 = PL022_IRQ_CTX_SIZE (registers/api-irq.json).

/** The sources the handler serves (IMSC, RIS and MIS share the layout, TRM 3.3.6 to 3.3.8). */
@inline const SERVED: u32 = PL022_IMSC_RX | PL022_IMSC_RT | PL022_IMSC_ROR;
/** The ones ICR clears; RX follows the FIFO level and clears when the FIFO is read (TRM 3.3.9).
 * ICR's RTIC and RORIC sit at the bits of RT and ROR. */
@inline const CLEARABLE: u32 = PL022_ICR_RTIC | PL022_ICR_RORIC;
/** MIS passes in one handler call. A pass takes every frame the RX FIFO holds; frames keep
 * arriving while it does (one new frame per frame taken), so another pass can find more. */
@inline const PL022_ISR_PASS_LIMIT: u32 = 16;
/** SR reads in one pl022_irq_wait: about 105 ms at 100 ns per read, 64 bytes at 5 kbit/s. A
 * slower transfer can simply be waited for again. */
@inline const PL022_IRQ_WAIT_POLL_LIMIT: u32 = 1 << 20;
/** SR reads with the port idle and frames in the RX FIFO after which pl022_irq_wait takes them
 * itself: longer than RT's 32 bit periods at any rate at or above 1 MHz with 100 ns reads. */
@inline const PL022_IRQ_IDLE_POLLS: u32 = 512;

@inline function isOpen(ctx: u32): bool {
  return irqContextIsOpen(ctx, PL022_IRQ_CTX_SIZE, IRQ_HANDLER_PL022);
}

/**
 * Moves the transfer on: sends a frame whenever fewer than PL022_FIFO_DEPTH are in flight, and
 * takes a frame out of the RX FIFO whenever it holds one, until both have to wait. Each frame
 * sent brings exactly one back, so in flight = sent - received, and the TX FIFO, a part of what
 * is in flight, always has room. No loop waits: each pass sends or takes a frame or stops, so it
 * ends within 2 x len passes. Called with the line masked (the start) or by the handler.
 */
function pump(ctx: u32, base: u32): void {
  const len = load<u32>(ctx + CTX_LEN);
  const tx = load<u32>(ctx + CTX_TX);
  const rx = load<u32>(ctx + CTX_RX);
  let sent = load<u32>(ctx + CTX_SENT);
  let received = load<u32>(ctx + CTX_RECEIVED);
  while (received < len) {
    if (sent < len && sent - received < PL022_FIFO_DEPTH) {
      write32(base + PL022_DR, <u32>load<u8>(tx + sent));
      sent++;
      continue;
    }
    if ((read32(base + PL022_SR) & PL022_SR_RNE) == 0) break;
    const frame = read32(base + PL022_DR);
    if (rx != 0) store<u8>(rx + received, <u8>frame);
    received++;
  }
  store<u32>(ctx + CTX_SENT, sent);
  store<u32>(ctx + CTX_RECEIVED, received);
}

/**
 * Opens the SSP at `base`, initialized by pl022_init, for interrupt-driven transfers on
 * controller line `line`, with its state in `ctx` (PL022_IRQ_CTX_SIZE bytes of linear memory,
 * 4-byte aligned; hal_irq_controller first). No SSP register is touched: pl022_init left every
 * interrupt masked.
 */
export function pl022_irq_open(ctx: u32, base: u32, line: u32): i32 {
  const status = irqOpen(ctx, base, line, PL022_IRQ_CTX_SIZE, IRQ_HANDLER_PL022);
  if (status == OK) irqUnmask(line);
  return status;
}

/**
 * Starts a full-duplex transfer of `len` frames of 4 to 8 bits, as pl022_transfer but without
 * waiting: one byte per frame from `txPtr` (required), received frames to `rxPtr` (0:
 * discarded). Returns OK once started (0 for len 0), ERR_BUSY while the last transfer runs,
 * ERR_INVALID_ARG (also for frames wider than 8 bits, or txPtr 0: pl022_transfer does those),
 * or ERR_TIMEOUT when frames left in flight by an earlier transfer did not drain. pl022_irq_wait
 * gives the result. Chip select is the caller's, as for pl022_transfer.
 */
export function pl022_irq_transfer(ctx: u32, txPtr: u32, rxPtr: u32, len: u32): i32 {
  if (!isOpen(ctx) || txPtr == 0 || !framesFit(txPtr, rxPtr, len)) return ERR_INVALID_ARG;
  if (load<i32>(ctx + CTX_RESULT) == ERR_BUSY) return ERR_BUSY;
  if (len == 0) return 0;
  const base = load<u32>(ctx + CTX_BASE);
  const dss = frameSizeFor(base, txPtr, rxPtr, len);
  if (dss < 0) return dss;
  // Frames of 9 to 16 bits are pl022_transfer's only (the module's 8 KiB budget).
  if (dss > <i32>PL022_CR0_DSS_8BIT) return ERR_INVALID_ARG;
  // Frames left in flight would shift every received frame by one, and count against the 8.
  if (!drainReceive(base)) return ERR_TIMEOUT;

  const line = load<u32>(ctx + CTX_LINE);
  irqMask(line);
  store<u32>(ctx + CTX_TX, txPtr);
  store<u32>(ctx + CTX_RX, rxPtr);
  store<u32>(ctx + CTX_LEN, len);
  store<u32>(ctx + CTX_SENT, 0);
  store<u32>(ctx + CTX_RECEIVED, 0);
  store<i32>(ctx + CTX_RESULT, ERR_BUSY);
  // RT and ROR stay set until ICR clears them (TRM 3.3.7, 3.3.9): the drain above can leave RT
  // behind, and an old overrun must not be taken for this transfer's.
  write32(base + PL022_ICR, CLEARABLE);
  // The port is idle and the RX FIFO empty: this fills the TX FIFO with up to 8 frames.
  pump(ctx, base);
  write32(base + PL022_IMSC, SERVED);
  irqUnmask(line);
  return OK;
}

/** Ends the transfer: interrupts masked, `result` published. Handler only. */
function finish(ctx: u32, base: u32, result: i32): void {
  write32(base + PL022_IMSC, 0);
  store<i32>(ctx + CTX_RESULT, result);
}

/**
 * The handler (hal_irq_dispatch calls it for the SSP's line). Each pass reads MIS, clears the RT
 * and ROR it saw through ICR (TRM 3.3.9), then takes every frame the RX FIFO holds, sending one
 * new frame for each while frames are left to send (pump). The transfer ends when the last frame
 * is in, or at an overrun, which loses a frame (TRM 3.4) and is kept as the result.
 */
export function pl022Interrupt(ctx: u32): i32 {
  const base = load<u32>(ctx + CTX_BASE);
  for (let pass: u32 = 0; pass < PL022_ISR_PASS_LIMIT; pass++) {
    const status = read32(base + PL022_MIS) & SERVED;
    if (status == 0) break;
    if (status & CLEARABLE) write32(base + PL022_ICR, status & CLEARABLE);
    if (status & PL022_IMSC_ROR) {
      finish(ctx, base, ERR_RX_OVERRUN);
      break;
    }
    pump(ctx, base);
    const len = load<u32>(ctx + CTX_LEN);
    if (load<u32>(ctx + CTX_RECEIVED) == len) {
      finish(ctx, base, <i32>len);
      break;
    }
  }
  // The ICR and IMSC writes must have reached the SSP, and SSPINTR dropped, before the return,
  // or the controller sees the line still asserted and enters the handler again for nothing
  // (ARM DAI 0321A, chapter 4: a DSB between clearing the source and the exception return).
  dsb();
  return OK;
}

/**
 * Waits (bounded) for the last transfer to end and returns its result: the frame count (0 when
 * none was started), ERR_RX_OVERRUN, or ERR_TIMEOUT while it still runs after
 * PL022_IRQ_WAIT_POLL_LIMIT passes (call again: the transfer goes on). Each
 * pass reads SR, so that a host that delivers interrupts where code polls (a WAMR board, the
 * harness's deferred mode) runs the handler here.
 */
export function pl022_irq_wait(ctx: u32): i32 {
  if (!isOpen(ctx)) return ERR_INVALID_ARG;
  const base = load<u32>(ctx + CTX_BASE);
  let idle: u32 = 0;
  for (let polls: u32 = 0; polls < PL022_IRQ_WAIT_POLL_LIMIT; polls++) {
    const status = read32(base + PL022_SR);
    const result = load<i32>(ctx + CTX_RESULT);
    if (result != ERR_BUSY) return result;
    // The last frames, fewer than the RX level, are the receive timeout's (RT, TRM 3.3.9). An
    // SSP with no RT (QEMU's has none) would leave them in the FIFO for good: once the port has
    // stayed idle with frames waiting for PL022_IRQ_IDLE_POLLS reads, take them here, with the
    // line masked, since the transfer's state is the handler's.
    idle = (status & (PL022_SR_BSY | PL022_SR_RNE)) == PL022_SR_RNE ? idle + 1 : 0;
    if (idle == PL022_IRQ_IDLE_POLLS) {
      const line = load<u32>(ctx + CTX_LINE);
      irqMask(line);
      pump(ctx, base);
      const len = load<u32>(ctx + CTX_LEN);
      if (load<i32>(ctx + CTX_RESULT) == ERR_BUSY && load<u32>(ctx + CTX_RECEIVED) == len) finish(ctx, base, <i32>len);
      irqUnmask(line);
      idle = 0;
    }
  }
  return ERR_TIMEOUT;
}

/** Masks the SSP's interrupts and its line and forgets the handler. A transfer still running is
 * abandoned; the next pl022_transfer or pl022_irq_transfer drains what it left in flight. */
export function pl022_irq_close(ctx: u32): i32 {
  if (!isOpen(ctx)) return ERR_INVALID_ARG;
  irqClose(ctx);
  // RT and ROR may stay set: the next transfer clears them before it starts.
  write32(load<u32>(ctx + CTX_BASE) + PL022_IMSC, 0);
  // The mask write reaches the SSP before the caller reuses it.
  dsb();
  return OK;
}
