// Driver for the example countdown timer (docs/timer.md). Register offsets and bits come from
// registers/timer.json through assembly/generated/timer.ts, status codes and the config word
// from api/*.json through assembly/generated/api.ts: `npm run gen` (part of `npm run build`)
// writes both, so the driver spells no number by hand.
//
// The rules every driver here follows: arguments are checked before the first register access
// (ERR_INVALID_ARG, nothing touched); every wait loop has a named limit and returns ERR_TIMEOUT;
// every barrier says what it orders; nothing is allocated (no strings, arrays or objects); the
// base address comes from the caller, never from this file.
import { read32, write32, dsb } from "wasm-hal/assembly/mmio";
import { isValidBase } from "wasm-hal/assembly/common";
import {
  TIMER_LOAD, TIMER_LOAD_COUNT_MASK, TIMER_VALUE, TIMER_VALUE_COUNT_MASK,
  TIMER_CTRL, TIMER_CTRL_ENABLE, TIMER_CTRL_PERIODIC, TIMER_CTRL_IRQEN,
  TIMER_CTRL_PRESCALE_SHIFT,
  TIMER_STATUS, TIMER_STATUS_EXPIRED, TIMER_STATUS_SYNCBUSY, TIMER_CLEAR, TIMER_CLEAR_EXPIRED,
} from "./generated/timer";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT,
  TIMER_TICKS_MAX, TIMER_CONFIG_PERIODIC, TIMER_CONFIG_IRQ, TIMER_CONFIG_PRESCALE_MASK, TIMER_CONFIG_PRESCALE_SHIFT,
  TIMER_CONFIG_DIV256,
} from "./generated/api";

/** Reads of STATUS while a LOAD write crosses into the counter clock domain. SYNCBUSY lasts 2
 * TIMCLK cycles (docs/timer.md 2.1): 2 µs at 1 MHz, about 20 reads at 100 ns a read. 4096 reads
 * cover a TIMCLK down to about 5 kHz; a clock that does not run (not enabled on the board) ends
 * in ERR_TIMEOUT instead of a hang. */
@inline const TIMER_SYNC_POLL_LIMIT: u32 = 4096;

/** Reads of STATUS in timer_wait: 2^20, about 0.1 s at 100 ns a read. A longer wait is a loop of
 * the caller's around timer_wait, which can do other work between the calls. */
@inline const TIMER_WAIT_POLL_LIMIT: u32 = 1 << 20;

/** Every bit the config word may carry (api/timer.json). */
@inline const TIMER_CONFIG_BITS: u32 = TIMER_CONFIG_PERIODIC | TIMER_CONFIG_IRQ | TIMER_CONFIG_PRESCALE_MASK;

/** The CTRL bits a config word asks for, ENABLE clear. The prescale value is the same number in
 * both (0 = DIV1, 1 = DIV16, 2 = DIV256), only its position differs. */
@inline function ctrlBits(config: u32): u32 {
  let ctrl: u32 = 0;
  if ((config & TIMER_CONFIG_PERIODIC) != 0) ctrl |= TIMER_CTRL_PERIODIC;
  if ((config & TIMER_CONFIG_IRQ) != 0) ctrl |= TIMER_CTRL_IRQEN;
  return ctrl | (((config & TIMER_CONFIG_PRESCALE_MASK) >> TIMER_CONFIG_PRESCALE_SHIFT) << TIMER_CTRL_PRESCALE_SHIFT);
}

/** True once STATUS shows every bit of `bits` at the level `set`, within `limit` reads. */
@inline function pollStatus(base: u32, bits: u32, set: bool, limit: u32): bool {
  for (let i: u32 = 0; i < limit; i++) {
    const status = read32(base + TIMER_STATUS) & bits;
    if (set ? status == bits : status == 0) return true;
  }
  return false;
}

/**
 * Stops the timer, loads `ticks` (1 to TIMER_TICKS_MAX) and starts it in the mode of `config`
 * (TIMER_CONFIG_PERIODIC, TIMER_CONFIG_IRQ and one of TIMER_CONFIG_DIV1/16/256). EXPIRED is
 * cleared by the start. Returns ERR_TIMEOUT, with the timer stopped, when LOAD does not reach the
 * counter (TIMCLK not running).
 */
export function timer_start(base: u32, ticks: u32, config: u32): i32 {
  if (!isValidBase(base) || ticks == 0 || ticks > TIMER_TICKS_MAX) return ERR_INVALID_ARG;
  // Config bits 3:2 = 3 would be PRESCALE 3, which is reserved (docs/timer.md 2.3).
  if ((config & ~TIMER_CONFIG_BITS) != 0 || (config & TIMER_CONFIG_PRESCALE_MASK) > TIMER_CONFIG_DIV256) return ERR_INVALID_ARG;
  const ctrl = ctrlBits(config);

  // The sequence of docs/timer.md 4. 1: stop; LOAD is ignored while the timer runs (2.1).
  write32(base + TIMER_CTRL, 0);
  // 2: the start value. Accesses to one device reach it in program order, so no barrier is
  // needed between these writes.
  write32(base + TIMER_LOAD, ticks & TIMER_LOAD_COUNT_MASK);
  // 3: wait until LOAD has crossed into TIMCLK's domain; enabling before that would start from
  // the previous LOAD (2.1).
  if (!pollStatus(base, TIMER_STATUS_SYNCBUSY, false, TIMER_SYNC_POLL_LIMIT)) return ERR_TIMEOUT;
  // 4: start. PERIODIC and PRESCALE count only in the write that sets ENABLE (2.3).
  write32(base + TIMER_CTRL, ctrl | TIMER_CTRL_ENABLE);
  return OK;
}

/**
 * Waits until STATUS.EXPIRED is set: OK, or ERR_TIMEOUT after TIMER_WAIT_POLL_LIMIT reads. It
 * does not clear EXPIRED: timer_ack does, as an interrupt handler would.
 */
export function timer_wait(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  return pollStatus(base, TIMER_STATUS_EXPIRED, true, TIMER_WAIT_POLL_LIMIT) ? OK : ERR_TIMEOUT;
}

/** Clears STATUS.EXPIRED, and so TIMINTR, with one write to CLEAR (write-1-to-clear, 2.5). */
export function timer_ack(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  write32(base + TIMER_CLEAR, TIMER_CLEAR_EXPIRED);
  // An interrupt handler calls this before it returns: DSB waits until the write has reached the
  // timer, so TIMINTR has dropped before the interrupt controller samples it again (3).
  dsb();
  return OK;
}

/** Stops the counter; VALUE keeps the ticks that were left (2.2). EXPIRED is left as it is. */
export function timer_stop(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  write32(base + TIMER_CTRL, 0);
  // The timer has stopped, and raises no further expiry, only once the write has reached it: DSB
  // makes the caller wait for that before it gates TIMCLK or reuses the interrupt line.
  dsb();
  return OK;
}

/** The ticks left until the next expiry (VALUE, 2.2): never negative, since VALUE holds 31 bits. */
export function timer_read(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  // Bit 31 is reserved: ignored on read.
  return <i32>(read32(base + TIMER_VALUE) & TIMER_VALUE_COUNT_MASK);
}
