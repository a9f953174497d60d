// Behavioural model of one STM32F405/407 GPIO port (16 pins), RM0090 §8. Offsets and fields come
// from registers/stm32f4/gpio.json through harness/generated/gpio.ts.
//
// Reset values differ by port (RM0090 §8.4.1, §8.4.3, §8.4.4): ports A and B put the debug pins in
// alternate-function mode. The register map carries port A's values, except OSPEEDR, where the
// SVD it was imported from says 0 while RM0090 §8.4.3 says 0x0C00_0000 for port A: the model
// follows the RM (PA13, SWDIO, at very high speed).
//
// Pins: each pin's level is worked out from its mode (MODER), output type (OTYPER), pull
// (PUPDR), the output latch (ODR) and what the outside world drives onto it (drive()):
// - output, push-pull: the ODR bit, whatever is driven from outside;
// - output, open-drain: 0 while the ODR bit is 0; when it is 1 the pin is released and takes
//   the outside level, else the pull;
// - input and alternate function: the outside level, else the pull (pull-up 1, pull-down 0), else
//   a pull-up resistor of the board (boardPullUps); a floating pin reads 0, the model's choice. The alternate
//   functions themselves (a USART's TX on the pin) are outside the model;
// - analog: IDR reads 0 (the Schmitt trigger is off, RM0090 §8.3.12).
// IDR is the pins' levels now: the input synchronizer (one AHB1 cycle, RM0090 §8.3.1) is not
// modelled. Every change of a pin's level, from a register write or from outside, is recorded
// with its virtual time (pinEvents) and reported to the listeners (onPinChange), which is how a
// board wires an SPI chip select to a GPIO output.
//
// BSRR (RM0090 §8.3.5, §8.4.7): a write sets the pins of bits 15:0 and clears those of 31:16; a
// pin with both bits set is SET (the RM's text and note; a web page claims the reset wins and is
// not followed). Byte and half-word writes reach only their lanes, so a half-word at 0x1A is the
// reset half. BSRR reads 0.
//
// LCKR (RM0090 §8.3.6, §8.4.8): the lock sequence is a state machine over LCKR accesses only:
// write LCKK=1|mask, write LCKK=0|mask, write LCKK=1|mask, read LCKR. Any write that does not
// follow (another mask, LCKK wrong, a write where the read was due) aborts, and the sequence
// starts again from its first write; the aborting write itself does not count as a first step
// (the model's choice). Reads before the third write do not change the state. LCKR takes only
// word accesses (the register map says so), so the bus refuses a narrower one as a fault before
// the model sees it. Once locked, LCKK reads 1, LCKR ignores writes, and the MODER, OTYPER,
// OSPEEDR, PUPDR, AFRL and AFRH bits of the locked pins keep their values until reset (an RCC
// AHB1RSTR pulse, through the board's clock gate). ODR and BSRR are not frozen. Attempted changes
// of frozen bits are counted in lockedWrites.
import type { Device, VirtualClock } from "../../bus.js";
import type { PinListener } from "../signals.js";
import {
  GPIO_MAP,
  GPIO_MODER, GPIO_OTYPER, GPIO_OSPEEDR, GPIO_PUPDR, GPIO_IDR, GPIO_ODR, GPIO_BSRR, GPIO_LCKR, GPIO_LCKR_LCKK,
  GPIO_AFRL, GPIO_AFRH,
} from "../../generated/gpio.js";
import { fieldsMask, laneMask, laneRead, mergeLanes, resetOf } from "./common.js";

/** Pins of one port. */
export const STM32_GPIO_PIN_COUNT = 16;
/** The pin bits of the one-bit-per-pin registers (ODR0..ODR15). */
const PINS = fieldsMask(GPIO_MAP, "ODR");
/** The LCKy bits (LCKR[15:0]). */
const LOCK_PINS = fieldsMask(GPIO_MAP, "LCKR", /^LCK\d+$/);
/** BSRR's set half (BS0..BS15) and reset half (BR0..BR15). */
const BSRR_SET = fieldsMask(GPIO_MAP, "BSRR", /^BS\d+$/);
const BSRR_RESET = fieldsMask(GPIO_MAP, "BSRR", /^BR\d+$/);

/** MODER codes (RM0090 §8.4.1): 00 input, 01 output, 10 alternate function, 11 analog. */
const MODE_OUTPUT = 1;
const MODE_ANALOG = 3;
/** PUPDR codes (RM0090 §8.4.4): 00 no pull (the board's resistor, if any, decides), 01 pull-up;
 * a pull-down (10) and the reserved 11 leave an undriven pin at 0. */
const PULL_NONE = 0;
const PULL_UP = 1;

export type Stm32GpioPort = "A" | "B" | "C" | "D" | "E" | "F" | "G" | "H" | "I";
export const STM32_GPIO_PORTS: readonly Stm32GpioPort[] = ["A", "B", "C", "D", "E", "F", "G", "H", "I"];

interface PortResets {
  readonly moder: number;
  readonly ospeedr: number;
  readonly pupdr: number;
}

/** Port A from the map, with OSPEEDR from RM0090 §8.4.3 (the SVD's 0 is wrong, header). */
const PORT_A_RESETS: PortResets = { moder: resetOf(GPIO_MAP, "MODER"), ospeedr: 0x0c00_0000, pupdr: resetOf(GPIO_MAP, "PUPDR") };
/** Port B: RM0090 §8.4.1 (MODER 0x0000_0280), §8.4.3 (OSPEEDR 0x0000_00C0), §8.4.4 (PUPDR
 * 0x0000_0100): PB3 JTDO/SWO and PB4 NJTRST in alternate-function mode. */
const PORT_B_RESETS: PortResets = { moder: 0x0000_0280, ospeedr: 0x0000_00c0, pupdr: 0x0000_0100 };
/** Ports C to I: all zero (RM0090 §8.4.1-8.4.4). */
const OTHER_PORT_RESETS: PortResets = { moder: 0, ospeedr: 0, pupdr: 0 };

export function portResets(port: Stm32GpioPort): PortResets {
  return port === "A" ? PORT_A_RESETS : port === "B" ? PORT_B_RESETS : OTHER_PORT_RESETS;
}

/** LCKR sequence states (RM0090 §8.3.6). */
const LOCK_IDLE = 0;
const LOCK_WROTE_FIRST = 1;
const LOCK_WROTE_SECOND = 2;
const LOCK_WROTE_THIRD = 3;

/** Pin changes kept in pinEvents before the older half is dropped. */
export const PIN_HISTORY_LIMIT = 1 << 16;

/** Clears the pin history (pinEvents and its dropped count), as a bench or fuzz loop does between runs. */
export function clearPinHistory(gpio: { pinEvents: PinEvent[]; pinEventsDropped: number }): void {
  gpio.pinEvents.length = 0;
  gpio.pinEventsDropped = 0;
}

export interface Stm32GpioOptions {
  clock: VirtualClock;
  /** Which port: its reset values. */
  port: Stm32GpioPort;
  /** Pins the board pulls up with a resistor, bit n = pin n: an undriven pin with no pull
   * in PUPDR reads 1 there instead of floating to 0 (a chip select's pull-up). Default 0. */
  boardPullUps?: number;
}

/** A change of one pin's level. */
export interface PinEvent {
  readonly time: number;
  readonly pin: number;
  readonly level: boolean;
}

export class Stm32GpioModel implements Device {
  readonly clock: VirtualClock;
  readonly port: Stm32GpioPort;
  readonly boardPullUps: number;
  private readonly resets: PortResets;

  moder = 0;
  otyper = 0;
  ospeedr = 0;
  pupdr = 0;
  odr = 0;
  afrl = 0;
  afrh = 0;
  /** LCKR[15:0] as written while unlocked, and LCKK once locked. */
  lckr = 0;
  /** True once the lock sequence succeeded, until reset. */
  locked = false;
  /** Writes that tried to change frozen (locked) configuration bits; the rest of the write
   * applies. */
  lockedWrites = 0;
  /** LCKR sequences aborted by a wrong step. */
  lockAborts = 0;

  /** Pins driven from outside (bit n = pin n) and the levels they are driven to. */
  private driven = 0;
  private drivenLevels = 0;
  /** The pin levels last reported. */
  private levels = 0;
  private lockState = LOCK_IDLE;
  private lockMask = 0;
  /** Frozen bits per register once locked. */
  private frozen1 = 0;
  private frozen2 = 0;
  private frozen4Low = 0;
  private frozen4High = 0;

  /** The changes of the pins' levels with their times, oldest first: for scenarios. At most
   * PIN_HISTORY_LIMIT are kept (a long fuzz campaign toggles pins millions of times); the older
   * half is dropped when it is full, and pinEventsDropped counts what was dropped. */
  readonly pinEvents: PinEvent[] = [];
  pinEventsDropped = 0;
  private readonly listeners: PinListener[] = [];

  constructor(options: Stm32GpioOptions) {
    this.clock = options.clock;
    this.port = options.port;
    this.boardPullUps = (options.boardPullUps ?? 0) & PINS;
    this.resets = portResets(options.port);
    this.loadResetValues();
    // The pins start at their reset levels without an event: nothing changed yet.
    this.levels = this.computePins();
  }

  /** Reset values of the port (RM0090 §8.4); also undoes the lock (RM0090 §8.3.6). Outside
   * drivers, the pin history and the listeners are kept: they belong to the board. */
  reset(): void {
    this.loadResetValues();
    this.update();
  }

  private loadResetValues(): void {
    this.moder = this.resets.moder;
    this.otyper = resetOf(GPIO_MAP, "OTYPER");
    this.ospeedr = this.resets.ospeedr;
    this.pupdr = this.resets.pupdr;
    this.odr = resetOf(GPIO_MAP, "ODR");
    this.afrl = resetOf(GPIO_MAP, "AFRL");
    this.afrh = resetOf(GPIO_MAP, "AFRH");
    this.lckr = resetOf(GPIO_MAP, "LCKR");
    this.locked = false;
    this.lockState = LOCK_IDLE;
    this.frozen1 = this.frozen2 = this.frozen4Low = this.frozen4High = 0;
  }

  // ---- The outside world ----

  /** The levels of the 16 pins now, bit n = pin n (what IDR reads, analog pins included as 0). */
  get pins(): number {
    return this.computePins();
  }

  /** The level of one pin. */
  pinLevel(pin: number): boolean {
    return ((this.computePins() >>> checkPin(pin)) & 1) !== 0;
  }

  /** Drives a pin from outside (a button, another chip's output): true high, false low, null
   * released (the pull, or 0 when floating, decides). An output pin in push-pull keeps the level
   * the port drives. */
  drive(pin: number, level: boolean | null): void {
    const bit = 1 << checkPin(pin);
    if (level === null) this.driven &= ~bit;
    else {
      this.driven |= bit;
      this.drivenLevels = level ? this.drivenLevels | bit : this.drivenLevels & ~bit;
    }
    this.update();
  }

  /** Drives the pins of `mask` to `levels` (bit n = pin n). */
  driveInputs(mask: number, levels: number): void {
    if (!Number.isInteger(mask) || (mask & ~PINS) !== 0) throw new RangeError(`pin mask 0x${mask.toString(16)} has bits outside 15:0`);
    this.driven |= mask;
    this.drivenLevels = (this.drivenLevels & ~mask) | (levels & mask);
    this.update();
  }

  /** Calls `listener(pin, level)` on every change of a pin's level; returns the remover. */
  onPinChange(listener: PinListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The same as onPinChange (the name the PL061 model uses for chip-select wiring). */
  onOutputChange(listener: PinListener): () => void {
    return this.onPinChange(listener);
  }

  /** The changes of one pin, in order. */
  historyOf(pin: number): PinEvent[] {
    checkPin(pin);
    return this.pinEvents.filter((e) => e.pin === pin);
  }

  /** The mode of a pin: "input", "output", "alternate" or "analog". */
  modeOf(pin: number): "input" | "output" | "alternate" | "analog" {
    const mode = (this.moder >>> (2 * checkPin(pin))) & 3;
    return (["input", "output", "alternate", "analog"] as const)[mode]!;
  }

  // ---- Device ----

  read(offset: number, _width: number): number {
    switch (offset & ~3) {
      case GPIO_MODER: return laneRead(this.moder, offset);
      case GPIO_OTYPER: return laneRead(this.otyper, offset);
      case GPIO_OSPEEDR: return laneRead(this.ospeedr, offset);
      case GPIO_PUPDR: return laneRead(this.pupdr, offset);
      case GPIO_IDR: return laneRead(this.computePins(), offset);
      case GPIO_ODR: return laneRead(this.odr, offset);
      case GPIO_LCKR: return this.readLock();
      case GPIO_AFRL: return laneRead(this.afrl, offset);
      case GPIO_AFRH: return laneRead(this.afrh, offset);
      // BSRR is write-only and reads 0; reserved offsets read 0.
      default: return 0;
    }
  }

  write(offset: number, value: number, width: number): void {
    switch (offset & ~3) {
      case GPIO_MODER: this.moder = this.locking(this.moder, mergeLanes(this.moder, offset, value, width), this.frozen2); break;
      case GPIO_OTYPER: this.otyper = this.locking(this.otyper, mergeLanes(this.otyper, offset, value, width) & PINS, this.frozen1); break;
      case GPIO_OSPEEDR: this.ospeedr = this.locking(this.ospeedr, mergeLanes(this.ospeedr, offset, value, width), this.frozen2); return;
      case GPIO_PUPDR: this.pupdr = this.locking(this.pupdr, mergeLanes(this.pupdr, offset, value, width), this.frozen2); break;
      case GPIO_ODR: this.odr = mergeLanes(this.odr, offset, value, width) & PINS; break;
      case GPIO_BSRR: {
        // Only the lanes written carry bits (a half-word at 0x1A: the reset half). The reset is
        // applied first, so a pin named in both halves ends set (RM0090 §8.3.5).
        const bits = ((value << ((offset & 3) * 8)) & laneMask(offset, width)) >>> 0;
        this.odr = ((this.odr & ~((bits & BSRR_RESET) >>> 16)) | (bits & BSRR_SET)) & PINS;
        break;
      }
      case GPIO_LCKR: this.writeLock(value); return;
      case GPIO_AFRL: this.afrl = this.locking(this.afrl, mergeLanes(this.afrl, offset, value, width), this.frozen4Low); return;
      case GPIO_AFRH: this.afrh = this.locking(this.afrh, mergeLanes(this.afrh, offset, value, width), this.frozen4High); return;
      // IDR is read-only; reserved offsets ignore writes.
      default: return;
    }
    this.update();
  }

  // ---- Internals ----

  /** A configuration register's new value with its frozen bits kept. */
  private locking(old: number, next: number, frozen: number): number {
    if (((old ^ next) & frozen) !== 0) this.lockedWrites++;
    return ((old & frozen) | (next & ~frozen)) >>> 0;
  }

  private readLock(): number {
    if (this.lockState === LOCK_WROTE_THIRD) {
      // Step 4 (RM0090 §8.3.6): the read completes the sequence.
      this.lockState = LOCK_IDLE;
      this.locked = true;
      this.lckr = GPIO_LCKR_LCKK | this.lockMask;
      this.freeze(this.lockMask);
    }
    return this.lckr;
  }

  private writeLock(value: number): void {
    if (this.locked) return; // LCKK = 1: LCKR is frozen until reset (RM0090 §8.4.8)
    const key = (value & GPIO_LCKR_LCKK) !== 0;
    const mask = value & LOCK_PINS;
    this.lckr = mask; // LCKy are writable while LCKK = 0; LCKK reads 0 until the lock holds
    switch (this.lockState) {
      case LOCK_IDLE:
        if (key) {
          this.lockState = LOCK_WROTE_FIRST;
          this.lockMask = mask;
        }
        return;
      case LOCK_WROTE_FIRST:
        if (!key && mask === this.lockMask) this.lockState = LOCK_WROTE_SECOND;
        else this.abortLock();
        return;
      case LOCK_WROTE_SECOND:
        if (key && mask === this.lockMask) this.lockState = LOCK_WROTE_THIRD;
        else this.abortLock();
        return;
      default:
        // A write where the read of step 4 was due.
        this.abortLock();
    }
  }

  private abortLock(): void {
    this.lockState = LOCK_IDLE;
    this.lockAborts++;
  }

  /** The bits of each configuration register that belong to the locked pins. */
  private freeze(pins: number): void {
    let one = 0, two = 0, fourLow = 0, fourHigh = 0;
    for (let pin = 0; pin < STM32_GPIO_PIN_COUNT; pin++) {
      if (((pins >>> pin) & 1) === 0) continue;
      one |= 1 << pin;
      two |= 3 << (2 * pin);
      if (pin < 8) fourLow |= 0xf << (4 * pin);
      else fourHigh |= 0xf << (4 * (pin - 8));
    }
    this.frozen1 = one >>> 0;
    this.frozen2 = two >>> 0;
    this.frozen4Low = fourLow >>> 0;
    this.frozen4High = fourHigh >>> 0;
  }

  /** The pin levels from the configuration, the latch and the outside drivers (file header). */
  /** Pin masks worked out from MODER and PUPDR, kept until either changes: outputs, analog
   * pins, and pins an undriven input pulls to 1. */
  private masksModer = -1;
  private masksPupdr = -1;
  private outputPins = 0;
  private analogPins = 0;
  private pulledUp = 0;

  private computePins(): number {
    if (this.moder !== this.masksModer || this.pupdr !== this.masksPupdr) {
      this.masksModer = this.moder;
      this.masksPupdr = this.pupdr;
      let outputs = 0;
      let analog = 0;
      let up = 0;
      for (let pin = 0; pin < STM32_GPIO_PIN_COUNT; pin++) {
        const mode = (this.moder >>> (2 * pin)) & 3;
        const pull = (this.pupdr >>> (2 * pin)) & 3;
        if (mode === MODE_OUTPUT) outputs |= 1 << pin;
        if (mode === MODE_ANALOG) analog |= 1 << pin;
        if (pull === PULL_UP || (pull === PULL_NONE && (this.boardPullUps & (1 << pin)) !== 0)) up |= 1 << pin;
      }
      this.outputPins = outputs;
      this.analogPins = analog;
      this.pulledUp = up;
    }
    // An output drives its ODR bit, except an open-drain output holding 1, which lets go of the
    // pin; a pin nobody drives follows its pull; analog pins read 0 (RM0090 8.3.12).
    const drivingOutputs = this.outputPins & (~this.odr | ~this.otyper);
    const released = ~this.analogPins & ~drivingOutputs;
    const inputs = (this.driven & this.drivenLevels) | (~this.driven & this.pulledUp);
    return ((drivingOutputs & this.odr) | (released & inputs)) & 0xffff;
  }


  /** Records and reports the pins whose level changed. */
  private update(): void {
    const now = this.computePins();
    const changed = now ^ this.levels;
    if (changed === 0) return;
    this.levels = now;
    for (let pin = 0; pin < STM32_GPIO_PIN_COUNT; pin++) {
      if (((changed >>> pin) & 1) === 0) continue;
      const level = ((now >>> pin) & 1) !== 0;
      if (this.pinEvents.length >= PIN_HISTORY_LIMIT) {
        const dropped = this.pinEvents.splice(0, PIN_HISTORY_LIMIT / 2).length;
        this.pinEventsDropped += dropped;
      }
      this.pinEvents.push({ time: this.clock.now, pin, level });
      for (const listener of this.listeners) listener(pin, level);
    }
  }
}

function checkPin(pin: number): number {
  if (!Number.isInteger(pin) || pin < 0 || pin >= STM32_GPIO_PIN_COUNT) throw new RangeError(`pin ${pin} is not 0..${STM32_GPIO_PIN_COUNT - 1}`);
  return pin;
}
