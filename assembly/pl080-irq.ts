// Interrupt-driven completion for the PL080 DMA controller (ARM DDI 0196G;
// docs/drivers/pl080-irq.md). Transfers are started by the polled driver's start functions
// (pl080.ts) with PL080_CONFIG_IRQ, so that the channel passes its terminal-count and error
// status on to DMACINTR (Configuration ITC and IE); the handler records each channel's outcome
// in a context block the caller gives (PL080_IRQ_CTX_SIZE bytes), and pl080_irq_status reports
// it from there, once, without touching the DMAC. Register facts: docs/primecell.md, PL080
// section 4.
//
// Sharing rules, which need no masking of the line:
// - Each word has one writer. The handler flips a channel's bit in DONE or FAILED for each
//   outcome it sees; main code flips the same bit in DONE_SEEN or FAILED_SEEN when it reports
//   the outcome. A channel has an outcome to report while its two bits differ.
// - Start a channel again only once pl080_irq_status has reported its last transfer. Then at most
//   one outcome per channel is ever outstanding, which one bit can hold; and the start functions
//   clear the channel's status first (docs/primecell.md, PL080 4.6, step 2), which would also
//   clear an outcome the handler has not run for yet.
// - While a PL080 is open, channels started with PL080_CONFIG_IRQ belong to this file: the
//   handler acknowledges their status, so pl080_wait on them would not see an error. Polled
//   transfers without PL080_CONFIG_IRQ raise nothing, and the handler never sees them.
import { read32, write32, dsb } from "./mmio";
import { irqOpen, irqContextIsOpen, irqClose, irqUnmask, IRQ_HANDLER_PL080, IRQ_CTX_BASE, IRQ_CTX_LINE } from "./irq";
import { PL080_IntTCStatus, PL080_IntTCClear, PL080_IntErrorStatus, PL080_IntErrClr } from "./generated/pl080";
import { OK, ERR_INVALID_ARG, ERR_DMA, ERR_BUSY, PL080_CHANNELS, PL080_IRQ_CTX_SIZE } from "./generated/api";

// Context block layout (byte offsets; base and line where irqContextIsOpen expects them).
@inline const CTX_BASE: u32 = IRQ_CTX_BASE;
@inline const CTX_LINE: u32 = IRQ_CTX_LINE;
/** Written by the handler: bit n flips at each terminal count / error of channel n. */
@inline const CTX_DONE: u32 = 8;
@inline const CTX_FAILED: u32 = 12;
/** Written by main code: bit n flips as pl080_irq_status reports each. */
@inline const CTX_DONE_SEEN: u32 = 16;
@inline const CTX_FAILED_SEEN: u32 = 20;
// The layout ends at 24 = PL080_IRQ_CTX_SIZE (registers/api-irq.json).
@inline const SEEN_DISTANCE: u32 = CTX_DONE_SEEN - CTX_DONE;

/** One bit per channel in the interrupt registers. */
@inline const ALL_CHANNELS: u32 = (1 << PL080_CHANNELS) - 1;
/** Passes over the status registers in one handler call: a pass serves every channel that has
 * finished, and each channel finishes once per start, so more than 8 passes means a status that
 * does not clear. */
@inline const PL080_ISR_PASS_LIMIT: u32 = 16;

@inline function isOpen(ctx: u32): bool {
  return irqContextIsOpen(ctx, PL080_IRQ_CTX_SIZE, IRQ_HANDLER_PL080);
}

/**
 * Opens the DMAC at `base` (initialized by pl080_init) for interrupt-driven completion on
 * controller line `line`, with its state in `ctx` (PL080_IRQ_CTX_SIZE bytes of linear memory,
 * 4-byte aligned; hal_irq_controller first). No DMAC register is touched.
 */
export function pl080_irq_open(ctx: u32, base: u32, line: u32): i32 {
  const status = irqOpen(ctx, base, line, PL080_IRQ_CTX_SIZE, IRQ_HANDLER_PL080);
  if (status == OK) irqUnmask(line);
  return status;
}

/**
 * The handler (hal_irq_dispatch calls it for the DMAC's line). Each pass reads IntTCStatus and
 * IntErrorStatus, clears exactly the channels they showed through IntTCClear and IntErrClr, then
 * records the outcomes (docs/primecell.md, PL080 4.6 "Interrupt service": read the status, then
 * write the bits serviced). The status is read before it is cleared: it is the only record of
 * which channels finished.
 */
export function pl080Interrupt(ctx: u32): i32 {
  const base = load<u32>(ctx + CTX_BASE);
  for (let pass: u32 = 0; pass < PL080_ISR_PASS_LIMIT; pass++) {
    const done = read32(base + PL080_IntTCStatus) & ALL_CHANNELS;
    const failed = read32(base + PL080_IntErrorStatus) & ALL_CHANNELS;
    if ((done | failed) == 0) break;
    if (done != 0) write32(base + PL080_IntTCClear, done);
    if (failed != 0) write32(base + PL080_IntErrClr, failed);
    store<u32>(ctx + CTX_DONE, load<u32>(ctx + CTX_DONE) ^ done);
    store<u32>(ctx + CTX_FAILED, load<u32>(ctx + CTX_FAILED) ^ failed);
  }
  // The clears must have reached the DMAC, and DMACINTR dropped, before the return, or the
  // controller sees the line still asserted and enters the handler again for nothing (ARM DAI
  // 0321A, chapter 4: a DSB between clearing the source and the exception return).
  dsb();
  return OK;
}

/**
 * The outcome of the last transfer on `channel` if it finished and has not been reported yet,
 * from the context alone: OK, ERR_DMA when it stopped on a bus error, or ERR_BUSY when there is
 * none to report (it still runs, or none was started, or it was reported already). Each outcome
 * is reported once.
 */
export function pl080_irq_status(ctx: u32, channel: u32): i32 {
  if (!isOpen(ctx) || channel >= PL080_CHANNELS) return ERR_INVALID_ARG;
  // Error first: a channel that meets an error is disabled and reports no terminal count
  // (docs/primecell.md, PL080 4.6), so an error is never hidden behind a completion.
  if (reportOne(ctx + CTX_FAILED, channel)) return ERR_DMA;
  if (reportOne(ctx + CTX_DONE, channel)) return OK;
  return ERR_BUSY;
}

/** True when the handler's bit for `channel` at `word` differs from main code's SEEN bit
 * (SEEN_DISTANCE bytes on), which is then flipped to match: the outcome is taken. */
function reportOne(word: u32, channel: u32): bool {
  const bit: u32 = 1 << channel;
  const seen = load<u32>(word, SEEN_DISTANCE);
  if (((load<u32>(word) ^ seen) & bit) == 0) return false;
  store<u32>(word, seen ^ bit, SEEN_DISTANCE);
  return true;
}

/** Masks the DMAC's line and forgets the handler. Channels still running go on; their status
 * stays in the DMAC for pl080_wait. */
export function pl080_irq_close(ctx: u32): i32 {
  if (!isOpen(ctx)) return ERR_INVALID_ARG;
  irqClose(ctx);
  return OK;
}
