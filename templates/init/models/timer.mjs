// @ts-check
// The behavioural model of the example timer (docs/timer.md) on the harness's virtual clock, and
// the board device kind "timer" that puts it in a board file's region. Plain ESM JavaScript with
// JSDoc types: Node 20 cannot import TypeScript.
//
// The model is a simplified view of the block, written from the datasheet, not from the driver:
// LOAD crosses into the counter clock domain in 2 TIMCLK cycles (SYNCBUSY), VALUE counts down one
// per tick, EXPIRED is set at the tick VALUE reaches 0. There are no timers and no wall clock:
// every access first catches up with the clock (update()), so the same calls give the same trace
// on every run and machine. Offsets and bits come from the register map by name (timerLayout),
// the same map `wasm-hal gen` writes the driver's constants from.
//
// The bus has already checked each access against the map (word accesses, inside the block)
// before read() or write() sees it; the harness records the trace, the model records nothing.
import { defineDeviceKind } from "wasm-hal";

/** @typedef {import("wasm-hal").VirtualClock} VirtualClock */
/** @typedef {import("wasm-hal").RegisterBlock} RegisterBlock */
/** @typedef {import("wasm-hal").RegisterInfo} RegisterInfo */

/** TIMCLK cycles a LOAD write takes to reach the counter (docs/timer.md 2.1). */
export const SYNC_CYCLES = 2;

/** The prescaler's divisors, by the names CTRL.PRESCALE gives its values (2.3). */
const DIVISORS = { DIV1: 1, DIV16: 16, DIV256: 256 };

/** Expiry times kept for tests and scenarios; `expiries` counts them all. */
const KEPT_EXPIRY_TIMES = 16;

/**
 * The offsets and bit masks of the block, looked up by name in its register map. A register or
 * field the map does not have throws at once, naming it.
 *
 * @param {RegisterBlock} block
 */
export function timerLayout(block) {
  /** @param {string} name */
  const register = (name) => {
    const r = block.registers.find((x) => x.name === name);
    if (r === undefined) throw new Error(`register map ${block.block} has no register ${name} (models/timer.mjs follows docs/timer.md)`);
    return r;
  };
  /** @param {RegisterInfo} r @param {string} name */
  const field = (r, name) => {
    const f = r.fields.find((x) => x.name === name);
    if (f === undefined) throw new Error(`register ${block.block}.${r.name} has no field ${name} (models/timer.mjs follows docs/timer.md)`);
    return { shift: f.lsb, mask: ((2 ** (f.msb - f.lsb + 1) - 1) * 2 ** f.lsb) >>> 0, values: f.values ?? {} };
  };
  const ctrl = register("CTRL");
  const status = register("STATUS");
  const prescale = field(ctrl, "PRESCALE");
  /** @type {Map<number, number>} PRESCALE value -> TIMCLK cycles per tick */
  const divisors = new Map();
  for (const [name, divisor] of Object.entries(DIVISORS)) {
    const value = prescale.values[name];
    if (value === undefined) throw new Error(`field ${block.block}.CTRL.PRESCALE has no value named ${name}`);
    divisors.set(value, divisor);
  }
  const enable = field(ctrl, "ENABLE").mask;
  const periodic = field(ctrl, "PERIODIC").mask;
  const irqen = field(ctrl, "IRQEN").mask;
  return {
    LOAD: register("LOAD").offset,
    VALUE: register("VALUE").offset,
    CTRL: ctrl.offset,
    STATUS: status.offset,
    CLEAR: register("CLEAR").offset,
    COUNT: field(register("LOAD"), "COUNT").mask,
    ENABLE: enable,
    PERIODIC: periodic,
    IRQEN: irqen,
    PRESCALE: prescale,
    /** Every CTRL bit with a meaning; the rest are reserved and read 0. */
    CTRL_BITS: (enable | periodic | irqen | prescale.mask) >>> 0,
    divisors,
    EXPIRED: field(status, "EXPIRED").mask,
    SYNCBUSY: field(status, "SYNCBUSY").mask,
    CLEAR_EXPIRED: field(register("CLEAR"), "EXPIRED").mask,
  };
}

/** The TIMER block of docs/timer.md. Implements the harness's Device (read, write) and
 * InterruptSource (interruptPending). */
export class TimerModel {
  // The state, at its power-on values (reset() puts them back).
  /** LOAD as the bus side holds it. */
  load = 0;
  /** LOAD as the counter has it: the last write that finished crossing. */
  counterLoad = 0;
  /** A LOAD write is on its way, arriving at `syncDoneAt` (TIMCLK time, ns). */
  syncPending = false;
  syncDoneAt = 0;
  ctrl = 0;
  expired = false;
  /** The run in progress: its period in ticks, TIMCLK cycles per tick, its start (TIMCLK time,
   * ns), and the tick (counted from the start) of its next expiry. */
  period = 1;
  divisor = 1;
  startedAt = 0;
  nextExpiryTick = Infinity;
  /** VALUE while stopped. */
  heldValue = 0;
  /** Expiries since reset, and the virtual times (ns) of the first KEPT_EXPIRY_TIMES. */
  expiries = 0;
  /** @type {number[]} */
  expiryTimes = [];
  /** What the datasheet says has no effect, or a surprising one, for tests to check. */
  ignoredLoadWrites = 0;
  startsWithStaleLoad = 0;
  /** TIMCLK's own time runs with the virtual clock, except while TIMCLK is stopped (a fault a
   * test or a fuzz target injects with stopClock): the virtual time it stopped at, or null, and
   * the time lost to stops so far. */
  clockStoppedAt = /** @type {number | null} */ (null);
  lostNs = 0;

  /**
   * @param {{ clock: VirtualClock, tickHz: number, block: RegisterBlock }} options
   *   `tickHz`: the TIMCLK frequency; `block`: the "timer" map of the project's registry.
   */
  constructor({ clock, tickHz, block }) {
    if (!(tickHz > 0)) throw new RangeError(`a TIMCLK of ${tickHz} Hz is not a frequency`);
    this.clock = clock;
    this.tickHz = tickHz;
    this.layout = timerLayout(block);
  }

  /** Power-on: every register at its reset value, faults off. */
  reset() {
    this.load = 0;
    this.counterLoad = 0;
    this.syncPending = false;
    this.syncDoneAt = 0;
    this.ctrl = 0;
    this.expired = false;
    this.period = 1;
    this.divisor = 1;
    this.startedAt = 0;
    this.nextExpiryTick = Infinity;
    this.heldValue = 0;
    this.expiries = 0;
    this.expiryTimes = [];
    this.ignoredLoadWrites = 0;
    this.startsWithStaleLoad = 0;
    this.clockStoppedAt = null;
    this.lostNs = 0;
  }

  /** Stops TIMCLK (a clock the board did not enable): a LOAD write never reaches the counter,
   * so SYNCBUSY stays set, and the counter does not count. `false` starts it again. */
  stopClock(stopped = true) {
    this.update();
    const now = this.clock.now;
    if (stopped && this.clockStoppedAt === null) this.clockStoppedAt = now;
    if (!stopped && this.clockStoppedAt !== null) {
      this.lostNs += now - this.clockStoppedAt;
      this.clockStoppedAt = null;
    }
  }

  get clockStopped() {
    return this.clockStoppedAt !== null;
  }

  /** TIMCLK's time now (ns): the virtual time, less the time TIMCLK was stopped. Everything in
   * the counter's clock domain (the LOAD crossing, ticks, expiries) runs on it. */
  counterTime() {
    return (this.clockStoppedAt ?? this.clock.now) - this.lostNs;
  }

  get enabled() {
    return (this.ctrl & this.layout.ENABLE) !== 0;
  }

  get periodic() {
    return (this.ctrl & this.layout.PERIODIC) !== 0;
  }

  /** SYNCBUSY now. */
  get syncBusy() {
    this.update();
    return this.syncPending;
  }

  /** TIMINTR: EXPIRED while IRQEN is set (docs/timer.md 3). */
  interruptPending() {
    this.update();
    return this.expired && (this.ctrl & this.layout.IRQEN) !== 0;
  }

  /** VALUE now (2.2). @returns {number} */
  value() {
    this.update();
    if (!this.enabled) return this.heldValue;
    const ticks = this.ticksAt(this.counterTime());
    // Periodic: LOAD, LOAD-1, ..., 1, and LOAD again at the expiry. One-shot: the run ends at
    // the expiry, so ticks < period here.
    return this.period - (ticks % this.period);
  }

  /** Ticks since the start of the run, at TIMCLK time `time`. @param {number} time */
  ticksAt(time) {
    return Math.floor(((time - this.startedAt) * this.tickHz) / (this.divisor * 1e9));
  }

  /** The TIMCLK time at which the run reaches `tick`. @param {number} tick */
  timeOfTick(tick) {
    return this.startedAt + Math.ceil((tick * this.divisor * 1e9) / this.tickHz);
  }

  /** Catches up with the clock: what became due since the last access, each at its own time.
   * One comparison when nothing is due. */
  update() {
    const now = this.counterTime();
    if (this.syncPending && now >= this.syncDoneAt) {
      this.counterLoad = this.load;
      this.syncPending = false;
    }
    if (!this.enabled) return;
    const ticks = this.ticksAt(now);
    if (ticks < this.nextExpiryTick) return;
    // Every expiry due by now: many at once after a long sleep with a short period.
    const due = this.periodic ? Math.floor((ticks - this.nextExpiryTick) / this.period) + 1 : 1;
    for (let i = 0; i < due && this.expiryTimes.length < KEPT_EXPIRY_TIMES; i++) {
      // As virtual time: after the stops of TIMCLK so far.
      this.expiryTimes.push(this.timeOfTick(this.nextExpiryTick + i * this.period) + this.lostNs);
    }
    this.expiries += due;
    this.expired = true;
    if (this.periodic) {
      this.nextExpiryTick += due * this.period;
    } else {
      // One-shot: the counter stops at 0 and ENABLE reads 0 (2.2).
      this.ctrl &= ~this.layout.ENABLE;
      this.heldValue = 0;
      this.nextExpiryTick = Infinity;
    }
  }

  /**
   * @param {number} offset
   * @param {number} _width
   */
  read(offset, _width) {
    const L = this.layout;
    this.update();
    switch (offset) {
      case L.LOAD: return this.load;
      case L.VALUE: return this.value();
      case L.CTRL: return this.ctrl;
      case L.STATUS: return (this.expired ? L.EXPIRED : 0) | (this.syncPending ? L.SYNCBUSY : 0);
      default: return 0; // CLEAR reads undefined; reserved offsets read 0
    }
  }

  /**
   * @param {number} offset
   * @param {number} value
   * @param {number} _width
   */
  write(offset, value, _width) {
    const L = this.layout;
    this.update();
    switch (offset) {
      case L.LOAD:
        if (this.enabled) {
          this.ignoredLoadWrites++; // 2.1: ignored while the timer runs
          return;
        }
        this.load = value & L.COUNT;
        this.syncPending = true;
        this.syncDoneAt = this.counterTime() + Math.ceil((SYNC_CYCLES * 1e9) / this.tickHz);
        return;
      case L.CTRL:
        this.writeCtrl(value & L.CTRL_BITS);
        return;
      case L.CLEAR:
        if ((value & L.CLEAR_EXPIRED) !== 0) this.expired = false;
        return;
      default:
        return; // VALUE and STATUS are read-only; reserved offsets ignore writes
    }
  }

  /** @param {number} value */
  writeCtrl(value) {
    const L = this.layout;
    const start = (value & L.ENABLE) !== 0;
    if (this.enabled) {
      if (start) {
        // Running: only IRQEN changes (2.3).
        this.ctrl = (this.ctrl & ~L.IRQEN) | (value & L.IRQEN);
      } else {
        this.heldValue = this.value();
        this.ctrl = value;
        this.nextExpiryTick = Infinity;
      }
      return;
    }
    this.ctrl = value;
    if (!start) return;
    // ENABLE from 0 to 1: VALUE from LOAD as the counter has it, EXPIRED cleared (2.2, 2.3).
    if (this.syncPending) this.startsWithStaleLoad++;
    this.period = Math.max(this.counterLoad, 1);
    // PRESCALE 3 is reserved (2.3): the model counts it as DIV256.
    this.divisor = L.divisors.get((value & L.PRESCALE.mask) >>> L.PRESCALE.shift) ?? 256;
    this.startedAt = this.counterTime();
    this.nextExpiryTick = this.period;
    this.expired = false;
  }
}

export default [
  defineDeviceKind({
    kind: "timer",
    block: "timer",
    doc: "the example countdown timer (models/timer.mjs): tickHz, the TIMCLK frequency in Hz (required)",
    create(context) {
      const block = context.registry.block("timer");
      if (block === undefined) throw new Error("the project has no register map named timer (registers/timer.json)");
      return new TimerModel({ clock: context.clock, tickHz: context.options.integer("tickHz", { min: 1 }), block });
    },
  }),
];
