// A user-written memory-mapped model with no register map (docs/models.md): a made-up timer
// block, a free-running 32-bit up-counter with one compare interrupt. It shows the Device
// interface, lazy catch-up on the virtual clock (no timers: the counter is worked out from the
// time of each access) and an interrupt line (InterruptSource).
//
// Registers (32-bit, word accesses only; other offsets read 0 and ignore writes):
//
//   0x00  COUNT    read-only   ticks since reset, floor(t x tickHz / 1e9), wrapping at 2^32
//   0x04  COMPARE  read/write  MATCH is set each time COUNT becomes equal to COMPARE
//   0x08  STATUS   read/w1c    bit 0 MATCH: latched; writing 1 clears it
//   0x0C  CTRL     read/write  bit 0 IRQ_ENABLE: the interrupt line is MATCH AND IRQ_ENABLE
//
// Without a registers/<block>.json the bus cannot check widths or name registers: the model
// refuses other widths itself (a thrown error ends the driver's call as a HalError), and the
// trace shows bare offsets.
import type { Device, VirtualClock } from "../harness/bus.js";
import type { InterruptSource } from "../harness/devices/signals.js";

export const TICK_TIMER_COUNT = 0x00;
export const TICK_TIMER_COMPARE = 0x04;
export const TICK_TIMER_STATUS = 0x08;
export const TICK_TIMER_CTRL = 0x0c;
export const TICK_TIMER_STATUS_MATCH = 1 << 0;
export const TICK_TIMER_CTRL_IRQ_ENABLE = 1 << 0;
/** Bytes the block decodes. */
export const TICK_TIMER_SIZE = 0x10;

const COUNTER_RANGE = 2 ** 32;

export interface TickTimerOptions {
  readonly clock: VirtualClock;
  /** Counter frequency, Hz. */
  readonly tickHz: number;
}

export class TickTimer implements Device, InterruptSource {
  readonly clock: VirtualClock;
  readonly tickHz: number;
  compare = 0;
  status = 0;
  ctrl = 0;
  /** Virtual time of reset: tick 0. */
  private readonly epoch: number;
  /** Tick number (not wrapped) of the next match, and its virtual time: the one event to catch
   * up with. */
  private matchTick = COUNTER_RANGE;
  private matchAt: number;

  constructor(options: TickTimerOptions) {
    if (!(options.tickHz > 0)) throw new RangeError(`a tick rate of ${options.tickHz} Hz is not a frequency`);
    this.clock = options.clock;
    this.tickHz = options.tickHz;
    this.epoch = options.clock.now;
    this.matchAt = this.timeOfTick(this.matchTick);
  }

  /** Ticks since reset at `time` (not wrapped). */
  ticksAt(time: number): number {
    return Math.floor(((time - this.epoch) * this.tickHz) / 1e9);
  }

  /** COUNT now. */
  get count(): number {
    return this.ticksAt(this.clock.now) % COUNTER_RANGE;
  }

  /** The interrupt line: MATCH while enabled. */
  interruptPending(): boolean {
    this.update();
    return (this.status & TICK_TIMER_STATUS_MATCH) !== 0 && (this.ctrl & TICK_TIMER_CTRL_IRQ_ENABLE) !== 0;
  }

  /** Catches up with the clock: one comparison when nothing is due. */
  update(): void {
    const now = this.clock.now;
    while (now >= this.matchAt) {
      this.status |= TICK_TIMER_STATUS_MATCH;
      // The counter comes back to COMPARE after a full wrap.
      this.matchTick += COUNTER_RANGE;
      this.matchAt = this.timeOfTick(this.matchTick);
    }
  }

  read(offset: number, width: number): number {
    checkWidth(offset, width);
    this.update();
    switch (offset) {
      case TICK_TIMER_COUNT: return this.count;
      case TICK_TIMER_COMPARE: return this.compare;
      case TICK_TIMER_STATUS: return this.status;
      case TICK_TIMER_CTRL: return this.ctrl;
      default: return 0;
    }
  }

  write(offset: number, value: number, width: number): void {
    checkWidth(offset, width);
    this.update();
    switch (offset) {
      case TICK_TIMER_COMPARE: this.arm(value >>> 0); return;
      case TICK_TIMER_STATUS: this.status &= ~value; return;
      case TICK_TIMER_CTRL: this.ctrl = value & TICK_TIMER_CTRL_IRQ_ENABLE; return;
      default: return; // COUNT and unused offsets ignore writes
    }
  }

  /** The next tick at which COUNT equals `compare`: 1 to 2^32 ticks ahead. */
  private arm(compare: number): void {
    this.compare = compare;
    const ticks = this.ticksAt(this.clock.now);
    const ahead = ((compare - (ticks % COUNTER_RANGE) + COUNTER_RANGE - 1) % COUNTER_RANGE) + 1;
    this.matchTick = ticks + ahead;
    this.matchAt = this.timeOfTick(this.matchTick);
  }

  /** The first virtual time at which the counter has reached `tick`. */
  private timeOfTick(tick: number): number {
    return this.epoch + Math.ceil((tick * 1e9) / this.tickHz);
  }
}

function checkWidth(offset: number, width: number): void {
  if (width !== 4) throw new RangeError(`tick timer +0x${offset.toString(16)}: a ${width}-byte access; the block takes word accesses only`);
}
