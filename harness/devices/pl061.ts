// Behavioural model of the PL061 GPIO (ARM DDI 0190B): eight pins, address-masked DATA, direction,
// edge and level interrupts, AFSEL and the ID registers. Register facts: registers/pl061.json and
// docs/primecell.md, PL061 section 3.
//
// Choices where the sources leave room (docs/primecell.md, PL061 3.6):
// - A DATA write to an input pin is dropped, not stored (Linux gpio-pl061: the PL061 "doesn't allow
//   to set value of a gpio pin before configuring it in OUT mode"; QEMU masks DATA writes with
//   DIR). A pin made an output drives the value last written while it was an output, 0 after reset.
// - Level interrupts are not latched: RIS shows the level condition while it holds and drops when
//   the level goes away, and IC does not clear it. This is the TRM reading (IC "clears the edge
//   detection logic") and what the Linux driver relies on; QEMU latches levels until IC instead.
// - Interrupt detection watches the pin, whoever drives it: an output pin's own transitions are
//   detected too (the pad's input path sees the output, as in QEMU).
// - An undriven input pin reads 0 (QEMU's virt board default); the constructor can set pull-ups.
// - AFSEL is stored and read back; the alternate functions are outside the model, so a pin with
//   AFSEL = 1 still behaves as a GPIO here.
// - The input synchronizer (two PCLK cycles in hardware) is not modelled: a driven level is seen at
//   once. Nothing here depends on time, so the model never needs to catch up with the clock.
import type { Device, VirtualClock } from "../bus.js";
import type { RegisterBlock, RegisterInfo } from "../regmap.js";
import type { InterruptSource, PinListener } from "./signals.js";
import {
  PL061_MAP, PL061_DATA, PL061_DIR, PL061_IS, PL061_IBE, PL061_IEV, PL061_IE, PL061_RIS, PL061_MIS,
  PL061_IC, PL061_AFSEL,
} from "../generated/pl061.js";

/** Lines of one PL061. */
export const PL061_PIN_COUNT = 8;
/** Every pin: bits 7:0 of each register. */
const PINS = 0xff;
/** Bytes covered by the DATA aliases (registers/pl061.json "span"): word n is DATA with mask n. */
export const PL061_DATA_SPAN = 0x400;

export interface Pl061Options {
  readonly clock: VirtualClock;
  /** Levels of the pins while nobody drives them (pull-ups), bit n = pin n. Default 0. */
  readonly inputs?: number;
}

/** The ID registers (0xFE0..0xFFC) indexed by word, from the register map's reset values. */
const ID_WORDS: ReadonlyMap<number, number> = new Map(
  PL061_MAP.registers.filter((r) => r.offset >= 0xfe0 && r.reset !== null).map((r) => [r.offset, r.reset ?? 0]),
);

export class Pl061Model implements Device, InterruptSource {
  /** Kept for boards and listeners that time pin events; the model itself needs no time. */
  readonly clock: VirtualClock;
  /** GPIODIR: 1 = output. */
  dir = 0;
  /** GPIOIS: 1 = level-sensitive. */
  is = 0;
  /** GPIOIBE: 1 = both edges. */
  ibe = 0;
  /** GPIOIEV: 1 = rising edge or high level. */
  iev = 0;
  /** GPIOIE: 1 = interrupt enabled. */
  ie = 0;
  /** GPIOAFSEL: stored only (see the file header). */
  afsel = 0;
  /** Output latch: the value last written to each pin while it was an output. */
  outputLatch = 0;
  /** Edge-detect latches: an edge seen on an edge-sensitive pin, until IC clears it. */
  edgeLatch = 0;
  /** Levels driven onto the pins from outside; they reach a pin while it is an input. */
  external: number;
  /** Pin levels as the interrupt detector last saw them. */
  private seen: number;
  private readonly listeners: PinListener[] = [];

  constructor(options: Pl061Options) {
    this.clock = options.clock;
    this.external = (options.inputs ?? 0) & PINS;
    this.seen = this.pins;
  }

  /** Returns every register to its reset value (PRESETn). The pins' outside drivers are kept. */
  reset(): void {
    this.dir = 0;
    this.is = 0;
    this.ibe = 0;
    this.iev = 0;
    this.ie = 0;
    this.afsel = 0;
    this.outputLatch = 0;
    this.edgeLatch = 0;
    this.update(true);
  }

  // --- Observing and driving the pins -------------------------------------------------------

  /** Levels on the eight pins, bit n = pin n: the latch for outputs, the outside level for inputs. */
  get pins(): number {
    return ((this.outputLatch & this.dir) | (this.external & ~this.dir)) & PINS;
  }

  /** Levels the PL061 drives, bit n = pin n; 0 for pins that are inputs. */
  get outputs(): number {
    return this.outputLatch & this.dir;
  }

  /** The level on one pin. */
  pinLevel(pin: number): boolean {
    return ((this.pins >>> checkPin(pin)) & 1) !== 0;
  }

  /** Drives one pin from outside (a button, another chip). It reaches the pin while DIR makes it an
   * input; an output pin keeps the level the PL061 drives. */
  drive(pin: number, level: boolean): void {
    const bit = 1 << checkPin(pin);
    this.driveInputs(bit, level ? bit : 0);
  }

  /** Drives the pins of `mask` from outside to the levels in `levels` (bit n = pin n). */
  driveInputs(mask: number, levels: number): void {
    if (!Number.isInteger(mask) || (mask & ~PINS) !== 0) throw new RangeError(`pin mask 0x${mask.toString(16)} has bits outside 7:0`);
    this.external = (this.external & ~mask) | (levels & mask);
    this.update(false);
  }

  /** Calls `listener` with (pin, level) each time a register write changes a pin's level: a DATA
   * write to an output, or a DIR write that starts or stops driving a pin. Returns a function
   * that removes the listener. */
  onOutputChange(listener: PinListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  // --- Interrupts -----------------------------------------------------------------------------

  /** GPIORIS: latched edges of edge-sensitive pins, and the level condition (pin == IEV) of
   * level-sensitive pins while it holds. */
  get ris(): number {
    const levelMatch = ~(this.pins ^ this.iev) & this.is;
    return ((this.edgeLatch & ~this.is) | levelMatch) & PINS;
  }

  /** GPIOMIS: RIS AND IE. */
  get mis(): number {
    return this.ris & this.ie;
  }

  /** GPIOINTR: any enabled interrupt. */
  interruptPending(): boolean {
    return this.mis !== 0;
  }

  // --- Register interface ---------------------------------------------------------------------

  // Byte and word accesses at a word's address behave alike (the registers are 8 bits wide), so
  // the width does not matter once the bus has checked it.
  read(offset: number, _width: number): number {
    // Registers are 8 bits in the low byte lane; a byte read of another lane reads reserved bits.
    if ((offset & 3) !== 0) return 0;
    if (offset < PL061_DATA_SPAN) return this.pins & (offset >>> 2);
    switch (offset) {
      case PL061_DIR: return this.dir;
      case PL061_IS: return this.is;
      case PL061_IBE: return this.ibe;
      case PL061_IEV: return this.iev;
      case PL061_IE: return this.ie;
      case PL061_RIS: return this.ris;
      case PL061_MIS: return this.mis;
      case PL061_AFSEL: return this.afsel;
      default: return ID_WORDS.get(offset) ?? 0; // IC is write-only; reserved offsets read 0
    }
  }

  /** Device.stableUntil: no register of the PL061 changes with time or by being read; only a
   * write or a pin driven from outside (driveInputs, between the driver's calls) changes them. */
  stableUntil(_offset: number): number {
    return Infinity;
  }

  write(offset: number, value: number, _width: number): void {
    if ((offset & 3) !== 0) return;
    const bits = value & PINS;
    if (offset < PL061_DATA_SPAN) {
      // PADDR[9:2] selects the pins the write may change; only outputs take the value (TRM 3.3.1).
      const writable = (offset >>> 2) & this.dir;
      this.outputLatch = (this.outputLatch & ~writable) | (bits & writable);
      this.update(true);
      return;
    }
    switch (offset) {
      case PL061_DIR: this.dir = bits; this.update(true); return;
      case PL061_IS: this.is = bits; return;
      case PL061_IBE: this.ibe = bits; return;
      case PL061_IEV: this.iev = bits; return;
      case PL061_IE: this.ie = bits; return;
      case PL061_IC: this.edgeLatch &= ~bits; return;
      case PL061_AFSEL: this.afsel = bits; return;
      default: return; // RIS, MIS, the IDs and reserved offsets ignore writes
    }
  }

  /** Runs the edge detector on the pins' new levels; tells the listeners when a register write
   * changed them. */
  private update(byRegister: boolean): void {
    const now = this.pins;
    const changed = now ^ this.seen;
    if (changed === 0) return;
    this.seen = now;
    const rose = changed & now;
    const fell = changed & ~now;
    // IBE: both edges; otherwise IEV picks rising (1) or falling (0). Only IS = 0 pins latch edges.
    const armedRising = this.ibe | this.iev;
    const armedFalling = this.ibe | ~this.iev;
    this.edgeLatch |= ((rose & armedRising) | (fell & armedFalling)) & ~this.is & PINS;
    if (!byRegister || this.listeners.length === 0) return;
    for (let pin = 0; pin < PL061_PIN_COUNT; pin++) {
      if ((changed >>> pin) & 1) {
        const level = ((now >>> pin) & 1) !== 0;
        for (const listener of [...this.listeners]) listener(pin, level);
      }
    }
  }
}

function checkPin(pin: number): number {
  if (!Number.isInteger(pin) || pin < 0 || pin >= PL061_PIN_COUNT) throw new RangeError(`pin ${pin} is not 0..${PL061_PIN_COUNT - 1}`);
  return pin;
}

