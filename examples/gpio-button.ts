// A user-written pin load (docs/models.md): a push button on an input pin of the PL061 model, with
// contact bounce and an optional hardware debouncer, on the virtual clock.
//
// The button and its pull resistor are one load: released, the pin sits at the released level
// (high, through a pull-up, by default); pressed, the contact pulls it to the pressed level.
//
// Bounce: a contact does not close cleanly. With `bounce: { count, intervalNs }`, each press and
// each release changes the contact 1 + 2 x count times: the first change at the moment of the
// press, then the contact springs back and closes again `count` times, every change `intervalNs`
// after the one before. It settles 2 x count x intervalNs after the press. The pattern is regular
// and repeatable on purpose: tests must give the same trace on every run.
//
// Debouncer: with `debounceNs`, the pin follows the contact only once the contact has kept its
// level for debounceNs (what an RC filter with a Schmitt trigger, or a debounce IC, gives): one
// clean edge, debounceNs after the contact settles. Without it the pin follows every change.
//
// Time: changes are scheduled, never run from a timer. The button is a BusMaster that makes no
// accesses: the bus calls step() before the first CPU access (or bus.settle) that reaches the
// time of the next change, and step() applies every change due by then, in order, each stamped
// with its own virtual time in `edges`. The PL061 latches edges, so a pin that went low and high
// again between two accesses still leaves its interrupt.
import type { Bus, BusMaster } from "../harness/bus.js";
import type { Pl061Model } from "../harness/devices/pl061.js";

export interface ContactBounce {
  /** Times the contact springs back and closes again after the first change. */
  readonly count: number;
  /** Time between two changes of the contact, ns. */
  readonly intervalNs: number;
}

export interface GpioButtonOptions {
  /** The bus gives the time and runs the button's scheduled changes. */
  readonly bus: Bus;
  readonly gpio: Pl061Model;
  readonly pin: number;
  /** The pin's level while pressed. false by default: the button shorts the pin to ground
   * against a pull-up, so it reads high when released. */
  readonly pressedLevel?: boolean;
  /** Contact bounce on each press and release; none by default. */
  readonly bounce?: ContactBounce;
  /** Hardware debouncer: the time the contact must hold a level before the pin follows it, ns.
   * 0 (no debouncer) by default. */
  readonly debounceNs?: number;
}

/** A change of the pin's level, at its own virtual time. */
export interface PinEdge {
  readonly time: number;
  readonly level: boolean;
}

/** A scheduled change of the contact. */
interface ContactChange {
  readonly time: number;
  readonly closed: boolean;
}

export class GpioButton implements BusMaster {
  readonly pin: number;
  readonly pressedLevel: boolean;
  readonly bounce: ContactBounce;
  readonly debounceNs: number;
  /** Every change of the pin's level the button made, oldest first. */
  readonly edges: PinEdge[] = [];

  private readonly bus: Bus;
  private readonly gpio: Pl061Model;
  /** Contact changes still to come, in time order. */
  private queue: ContactChange[] = [];
  /** The contact now, and when it last changed. */
  private contactClosed = false;
  private contactSince = 0;
  /** What the pin shows: closed (pressed level) or open (released level). */
  private pinClosed = false;

  constructor(options: GpioButtonOptions) {
    this.bus = options.bus;
    this.gpio = options.gpio;
    this.pin = options.pin;
    this.pressedLevel = options.pressedLevel ?? false;
    this.bounce = options.bounce ?? { count: 0, intervalNs: 1 };
    this.debounceNs = options.debounceNs ?? 0;
    if (!Number.isInteger(this.bounce.count) || this.bounce.count < 0) throw new RangeError(`bounce count ${this.bounce.count} is not a whole number`);
    if (!(this.bounce.intervalNs > 0)) throw new RangeError(`bounce interval of ${this.bounce.intervalNs} ns is not positive`);
    if (!(this.debounceNs >= 0)) throw new RangeError(`debounce time of ${this.debounceNs} ns is negative`);
    this.contactSince = this.bus.clock.now;
    // The pull resistor holds the pin at the released level from the start (drive() checks the pin).
    this.gpio.drive(this.pin, !this.pressedLevel);
    this.bus.attachMaster(this);
  }

  /** The contact is closed now (after the changes due by now). */
  get pressed(): boolean {
    this.update();
    return this.contactClosed;
  }

  /** The level the button puts on the pin now. */
  get level(): boolean {
    this.update();
    return this.pinClosed === this.pressedLevel;
  }

  /** Presses the button at virtual time `at` (now by default). */
  press(at = this.bus.clock.now): void {
    this.schedule(true, at);
  }

  /** Releases the button at virtual time `at` (now by default). */
  release(at = this.bus.clock.now): void {
    this.schedule(false, at);
  }

  /** Presses the button at `at` (now by default) and releases it `holdNs` later. */
  click(holdNs: number, at = this.bus.clock.now): void {
    this.press(at);
    this.release(at + holdNs);
  }

  /** Applies the changes due by now; the bus does this itself before each access. */
  update(): void {
    this.step(this.bus.clock.now);
  }

  /** BusMaster: applies the changes due by `now`; returns the time of the next one. */
  step(now: number): number {
    for (;;) {
      const contactAt = this.queue.length > 0 ? this.queue[0]!.time : Infinity;
      const pinAt = this.pinDueAt();
      const next = Math.min(contactAt, pinAt);
      if (next > now) return next;
      // A contact that held its level for exactly debounceNs reaches the pin before it changes.
      if (pinAt <= contactAt) {
        this.setPin(this.contactClosed, pinAt);
      } else {
        const change = this.queue.shift()!;
        this.contactClosed = change.closed;
        this.contactSince = change.time;
      }
    }
  }

  /** When the pin takes the contact's level, or Infinity when it already has it. */
  private pinDueAt(): number {
    return this.contactClosed === this.pinClosed ? Infinity : this.contactSince + this.debounceNs;
  }

  private setPin(closed: boolean, time: number): void {
    this.pinClosed = closed;
    const level = closed === this.pressedLevel;
    this.gpio.drive(this.pin, level);
    this.edges.push({ time, level });
  }

  /** The contact goes to `closed` at `at`, bouncing on the way. Changes already scheduled from
   * `at` on are dropped: the hand that presses stops the bounce of the release before. */
  private schedule(closed: boolean, at: number): void {
    const now = this.bus.clock.now;
    if (!(at >= now)) throw new RangeError(`cannot act on the button at ${at} ns: the virtual time is already ${now} ns`);
    this.queue = this.queue.filter((c) => c.time < at);
    this.update();
    const before = this.queue.length > 0 ? this.queue[this.queue.length - 1]!.closed : this.contactClosed;
    if (before === closed) return;
    const { count, intervalNs } = this.bounce;
    for (let i = 0; i <= 2 * count; i++) {
      // Even changes go to the new level, odd ones spring back.
      this.queue.push({ time: at + i * intervalNs, closed: i % 2 === 0 ? closed : !closed });
    }
    this.bus.wake(at);
  }
}
