// What the STM32F4 models share: lookups into their register maps (registers/stm32f4/*.json, via
// harness/generated/), the byte-lane arithmetic of registers that take byte and half-word
// accesses, and the clock gate a board puts in front of a region whose peripheral clock is
// switched by the RCC (RM0090 §7.3.10-7.3.14; harness/board-file.ts wires it from a region's
// "clock" entry).
//
// Every mask here is derived from the maps: a model never spells a bit pattern by hand.
import type { Device, VirtualClock } from "../../bus.js";
import type { FieldInfo, RegisterBlock, RegisterInfo } from "../../regmap.js";

// ---------------------------------------------------------------------------------------------
// Register-map lookups (run once, at module load or construction, never per access)

/** A register of a map, by name; throws naming the map when it is missing. */
export function registerOf(map: RegisterBlock, name: string): RegisterInfo {
  const reg = map.registers.find((r) => r.name === name);
  if (reg === undefined) throw new Error(`the ${map.block} register map has no register ${name}`);
  return reg;
}

/** The reset value the map gives for a register (0 where the manual leaves it undefined). */
export function resetOf(map: RegisterBlock, name: string): number {
  return (registerOf(map, name).reset ?? 0) >>> 0;
}

/** The bits of one field inside its register. */
export function maskOfField(field: FieldInfo): number {
  const width = field.msb - field.lsb + 1;
  return width >= 32 ? 0xffffffff : (((2 ** width) - 1) * 2 ** field.lsb) >>> 0;
}

/** The OR of the fields of a register whose names match `pattern` (all fields without one).
 * The SVD splits some multi-bit fields into one field per bit (PLLM0..PLLM5): a pattern such as
 * /^PLLM\d$/ puts them back together. */
export function fieldsMask(map: RegisterBlock, register: string, pattern?: RegExp): number {
  let mask = 0;
  for (const f of registerOf(map, register).fields) if (pattern === undefined || pattern.test(f.name)) mask |= maskOfField(f);
  return mask >>> 0;
}

/** The OR of the fields of a register with a given write kind (`w0c`, `ignored`, ...). */
export function fieldsWithWrite(map: RegisterBlock, register: string, kind: FieldInfo["write"]): number {
  let mask = 0;
  for (const f of registerOf(map, register).fields) if (f.write === kind) mask |= maskOfField(f);
  return mask >>> 0;
}

/** The position of the lowest set bit of a non-zero mask. */
export function shiftOf(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/** A model's kernel clock option (a fixed frequency in Hz, or a function giving it now: the RCC
 * model's bus clock) as a function; a fixed one that is not a frequency is refused. */
export function kernelClock(pclkHz: number | (() => number)): () => number {
  if (typeof pclkHz !== "number") return pclkHz;
  if (!(pclkHz > 0)) throw new RangeError(`a kernel clock of ${pclkHz} Hz is not a frequency`);
  return () => pclkHz;
}

// ---------------------------------------------------------------------------------------------
// Byte lanes

/** The bits of a 32-bit register an access of `width` bytes at byte `lane` (offset & 3) covers. */
export function laneMask(offset: number, width: number): number {
  return width === 4 ? 0xffffffff : ((((1 << (width * 8)) - 1) << ((offset & 3) * 8)) >>> 0);
}

/** A write of `width` bytes at byte `offset & 3` merged into the old 32-bit value: the other
 * lanes keep their bits (RM0090 §8.4: GPIO registers take byte, half-word and word writes). */
export function mergeLanes(old: number, offset: number, value: number, width: number): number {
  if (width === 4) return value >>> 0;
  const mask = laneMask(offset, width);
  return ((old & ~mask) | ((value << ((offset & 3) * 8)) & mask)) >>> 0;
}

/** What a read of `width` bytes at byte `offset & 3` carries of a 32-bit value (the bus cuts
 * it to the width). */
export function laneRead(value: number, offset: number): number {
  return value >>> ((offset & 3) * 8);
}

// ---------------------------------------------------------------------------------------------
// Clock gating

/** Why a gated access did not reach the peripheral. */
export type GatedReason =
  /** The enable bit is 0: the peripheral's bus clock is off (RM0090 §7.3.10-7.3.14). */
  | "clock-off"
  /** The enable bit was set less than the erratum's delay ago, with no DSB since (ES0182
   * "Delay after an RCC peripheral clock enabling"): the access was lost. */
  | "enable-delay"
  /** The peripheral's reset bit in the RSTR register is 1: the block is held in reset. */
  | "in-reset";

/** One access that a clock gate kept from its peripheral. */
export interface GatedAccess {
  readonly time: number;
  /** Offset in the region. */
  readonly offset: number;
  readonly width: number;
  readonly isWrite: boolean;
  /** The value written (0 for a read). */
  readonly value: number;
  readonly reason: GatedReason;
}

/** What a clock gate asks its clock controller (the RCC model) on each access. */
export interface ClockSwitch {
  /** Why an access now would not reach the peripheral, or null when it would. */
  blockedReason(gate: ClockGate): GatedReason | null;
}

/** The first accesses kept per gate; later ones are only counted (a long fuzzing run keeps
 * memory flat). */
export const GATED_ACCESSES_KEPT = 64;

/**
 * The bus side of a region whose peripheral clock the RCC switches: while the enable bit is 0
 * (or the block is held in reset), reads return 0 and writes are dropped, as on the chip, and
 * every such access is counted, so that an assertion can say "USART1 touched before its RCC
 * clock was on". The model behind it is untouched by a gated access.
 */
export class ClockGate implements Device {
  /** Accesses the gate kept from the peripheral. */
  count = 0;
  /** The first GATED_ACCESSES_KEPT of them, in order. */
  readonly accesses: GatedAccess[] = [];
  private controller: ClockSwitch | undefined;

  constructor(
    /** The region it guards, for messages. */
    readonly region: string,
    readonly inner: Device,
    readonly clock: VirtualClock,
    /** The RCC register offset of the enable bit (AHB1ENR, APB1ENR, APB2ENR, ...). */
    readonly enableOffset: number,
    /** The enable bit's mask. */
    readonly enableMask: number,
    /** `APB2ENR.USART1EN`, for messages. */
    readonly enableName: string,
    /** The RCC register offset of the block's reset bit (the RSTR register with the same bit,
     * RM0090 §7.3.5-7.3.9), or -1 when the enable register has no reset counterpart. */
    readonly resetOffset: number,
  ) {}

  /** Connects the gate to its RCC model (done by the board once every device exists). */
  attach(controller: ClockSwitch): void {
    this.controller = controller;
  }

  /** True while accesses reach the peripheral. */
  get open(): boolean {
    return this.controller === undefined || this.controller.blockedReason(this) === null;
  }

  /** The gated writes only (a read of 0 from a stopped peripheral may be harmless; a lost write
   * never is). */
  get lostWrites(): number {
    let n = 0;
    for (const a of this.accesses) if (a.isWrite) n++;
    return n;
  }

  /** One line per kept access, for an assertion's message. */
  describe(): string {
    if (this.count === 0) return `${this.region}: no access while its clock (${this.enableName}) was off`;
    const shown = this.accesses.slice(0, 5).map((a) => `${a.isWrite ? "write" : "read"} of +0x${a.offset.toString(16).padStart(3, "0")} at ${a.time} ns (${a.reason})`);
    return `${this.region}: ${this.count} access${this.count === 1 ? "" : "es"} while ${this.enableName} kept its clock off: ${shown.join("; ")}${this.count > 5 ? "; ..." : ""}`;
  }

  /** Forgets the gated accesses seen so far. */
  clear(): void {
    this.count = 0;
    this.accesses.length = 0;
  }

  /** Device.stableUntil: while the gate is open, the peripheral's (it stays open until the RCC
   * is written); a read the gate keeps is counted, so it is never stable. */
  stableUntil(offset: number): number {
    const reason = this.controller === undefined ? null : this.controller.blockedReason(this);
    if (reason !== null || this.inner.stableUntil === undefined) return -Infinity;
    return this.inner.stableUntil(offset);
  }

  read(offset: number, width: number): number {
    const reason = this.controller === undefined ? null : this.controller.blockedReason(this);
    if (reason === null) return this.inner.read(offset, width);
    this.note(offset, width, false, 0, reason);
    return 0;
  }

  write(offset: number, value: number, width: number): void {
    const reason = this.controller === undefined ? null : this.controller.blockedReason(this);
    if (reason === null) {
      this.inner.write(offset, value, width);
      return;
    }
    this.note(offset, width, true, value, reason);
  }

  private note(offset: number, width: number, isWrite: boolean, value: number, reason: GatedReason): void {
    this.count++;
    if (this.accesses.length < GATED_ACCESSES_KEPT) this.accesses.push({ time: this.clock.now, offset, width, isWrite, value, reason });
  }
}

/** A model that goes back to its reset state when the RCC pulses its reset bit. */
export interface Resettable {
  reset(): void;
}

export function isResettable(device: object): device is Resettable {
  return typeof (device as Partial<Resettable>).reset === "function";
}
