// What a register read may legally return, for response fuzzing. A value is legal when the
// hardware could produce it: bits outside the register's fields read 0 (reserved), only the bits
// the hardware itself updates may differ from what software wrote (a control register returns
// what was written, an ID register its constant), and the flag combinations hold that the manual
// allows. A finding that needs an illegal value is reported as an impossible world, apart from
// findings reachable with legal values.
//
// The rules look at one value at a time. A legal value may still contradict the rest of the
// device's state (FR saying "not full" while the FIFO is full): that is a device that lies in a
// way the register map cannot rule out, and the robustness properties must hold against it.
import type { RegisterBlock, RegisterInfo } from "../regmap.js";
import { PL011_FR_TXFE, PL011_FR_TXFF, PL011_FR_RXFE, PL011_FR_RXFF, PL011_FR_BUSY, PL011_DR_BE, PL011_DR_DATA_MASK } from "../generated/pl011.js";
import { PL022_SR_TFE, PL022_SR_TNF, PL022_SR_RFF, PL022_SR_RNE, PL022_SR_BSY } from "../generated/pl022.js";
import { PL061_DATA } from "../generated/pl061.js";
import { PL080_C0Configuration_A, PL080_C0Configuration_E, PL080_Configuration_E } from "../generated/pl080.js";
import { GPIO_LCKR_LCKK } from "../generated/gpio.js";
import { DMA_S0CR_EN, DMA_S0CR_CT, DMA_S0FCR_FS_MASK } from "../generated/dma.js";

/** A rule over the bits of one register value. `forced` marks the bits a fuzzer chose; a repair
 * changes the other bits where it can. `offset` is the byte offset of the access in the block. */
export interface FlagRule {
  /** Register name; channel registers are written with {n} (C{n}Configuration). */
  readonly register: string;
  /** The manual's reason, for reports. */
  readonly why: string;
  holds(value: number, offset: number): boolean;
  repair(value: number, forced: number, offset: number): number;
}

/** Bits `a` and `b` are never both set. */
function exclusive(register: string, a: number, b: number, why: string): FlagRule {
  return {
    register, why,
    holds: (v) => (v & a) === 0 || (v & b) === 0,
    repair: (v, forced) => ((v & a) !== 0 && (v & b) !== 0 ? ((forced & a) !== 0 ? v & ~b : v & ~a) : v),
  };
}

/** When every bit of `when` has the level `whenSet`, the bits of `then` are set. */
function implies(register: string, when: number, whenSet: boolean, then: number, why: string): FlagRule {
  const applies = (v: number): boolean => (whenSet ? (v & when) === when : (v & when) === 0);
  return {
    register, why,
    holds: (v) => !applies(v) || (v & then) === then,
    repair: (v, forced) => {
      if (!applies(v) || (v & then) === then) return v;
      // Keep what the fuzzer forced: flip the condition instead of the consequence if needed.
      if ((forced & then) !== 0 && (v & then) !== then) return whenSet ? v & ~when : v | when;
      return v | then;
    },
  };
}

/** When the bits of `when` are all set, the bits of `zero` read 0. */
function zeroWhen(register: string, when: number, zero: number, why: string): FlagRule {
  return {
    register, why,
    holds: (v) => (v & when) !== when || (v & zero) === 0,
    repair: (v, forced) => ((v & when) !== when || (v & zero) === 0 ? v : (forced & zero) !== 0 ? v & ~when : v & ~zero),
  };
}

/** PL061 DATA: address bits [9:2] select the pins a read returns; unselected pins read 0. */
function addressMasked(register: string, why: string): FlagRule {
  const pins = (offset: number): number => ((offset - PL061_DATA) >>> 2) & 0xff;
  return {
    register, why,
    holds: (v, offset) => (v & ~pins(offset)) === 0,
    repair: (v, _forced, offset) => v & pins(offset),
  };
}

export interface BlockLegality {
  /** Bits of each register that the hardware changes on its own ("all" = every field bit).
   * A readable register not listed returns only what software wrote, or a constant. */
  readonly hardwareBits: Readonly<Record<string, number | "all">>;
  readonly rules: readonly FlagRule[];
}

/** Per block: which bits are status, and the combinations the manuals allow. */
export const LEGALITY: Readonly<Record<string, BlockLegality>> = {
  pl011: {
    hardwareBits: { DR: "all", RSR: "all", FR: "all", RIS: "all", MIS: "all" },
    rules: [
      exclusive("FR", PL011_FR_TXFE, PL011_FR_TXFF, "a FIFO is not empty and full at once (PL011 TRM 3.3.3)"),
      exclusive("FR", PL011_FR_RXFE, PL011_FR_RXFF, "a FIFO is not empty and full at once (PL011 TRM 3.3.3)"),
      implies("FR", PL011_FR_TXFE, false, PL011_FR_BUSY, "BUSY is set as soon as the TX FIFO is non-empty (PL011 TRM 3.3.3)"),
      zeroWhen("DR", PL011_DR_BE, PL011_DR_DATA_MASK, "a break loads one 0 character (PL011 TRM 3.3.1)"),
    ],
  },
  pl022: {
    hardwareBits: { DR: "all", SR: "all", RIS: "all", MIS: "all" },
    rules: [
      implies("SR", PL022_SR_TFE, true, PL022_SR_TNF, "an empty TX FIFO is not full (PL022 TRM 3.3.4)"),
      implies("SR", PL022_SR_RFF, true, PL022_SR_RNE, "a full RX FIFO is not empty (PL022 TRM 3.3.4)"),
      implies("SR", PL022_SR_TFE, false, PL022_SR_BSY, "BSY is set while the TX FIFO is not empty (PL022 TRM 3.3.4)"),
    ],
  },
  pl061: {
    hardwareBits: { DATA: "all", RIS: "all", MIS: "all" },
    rules: [addressMasked("DATA", "a DATA read returns 0 for the pins its address does not select (PL061 TRM 3.3.1)")],
  },
  pl080: {
    hardwareBits: {
      IntStatus: "all", IntTCStatus: "all", IntErrorStatus: "all", RawIntTCStatus: "all", RawIntErrorStatus: "all",
      EnbldChns: "all", SoftBReq: "all", SoftSReq: "all", SoftLBReq: "all", SoftLSReq: "all",
      // E reads back 1 once the controller is enabled: NXP drivers poll for it (docs/primecell.md 4.6).
      Configuration: PL080_Configuration_E,
      // A running channel updates its addresses, LLI and count, clears E when done, and A
      // follows its FIFO (PL080 TRM 3.4).
      "C{n}SrcAddr": "all", "C{n}DestAddr": "all", "C{n}LLI": "all", "C{n}Control": "all",
      "C{n}Configuration": PL080_C0Configuration_A | PL080_C0Configuration_E,
    },
    rules: [],
  },
  // The STM32F4 blocks whose register maps do not tell every bit the hardware changes (the rest,
  // rcc, usart and spi, are described well enough by their maps' field kinds: the map-derived
  // fallback below applies to them). The names are generic, so an entry is used only for a block
  // that has every register it names (fitsBlock).
  gpio: {
    // LCKK is set by the hardware at the end of the key sequence (RM0090 §8.4.8); IDR follows the pins.
    hardwareBits: { IDR: "all", LCKR: GPIO_LCKR_LCKK },
    rules: [],
  },
  dma: {
    // A stream clears EN itself at the end of a transfer, on an error or once a disable has
    // taken effect, and toggles CT in double-buffer mode; NDTR counts down; FS follows the FIFO
    // (RM0090 §10.5.5, §10.5.6, §10.5.10). LIFCR/HIFCR are write-only.
    hardwareBits: { LISR: "all", HISR: "all", "S{n}CR": DMA_S0CR_EN | DMA_S0CR_CT, "S{n}NDTR": "all", "S{n}FCR": DMA_S0FCR_FS_MASK },
    rules: [],
  },
};

/** True when a block has the registers a LEGALITY entry names (channel and stream registers as
 * their first instance): a project's own block that happens to share a generic name (gpio, dma)
 * falls back to its map. */
function fitsBlock(block: RegisterBlock, legality: BlockLegality): boolean {
  const names = new Set(block.registers.map((r) => genericName(r.name)));
  return Object.keys(legality.hardwareBits).every((n) => names.has(n));
}

/** A channel or stream register's name with its number replaced by {n}: C3Control ->
 * C{n}Control (PL080), S3NDTR -> S{n}NDTR (STM32 DMA). */
export function genericName(name: string): string {
  return name.replace(/^([CS])[0-9]+(?=[A-Z])/, "$1{n}");
}

/** The bits a register's fields cover (its whole width when it has no fields). */
export function fieldBits(reg: RegisterInfo): number {
  const significant = reg.bits >= 32 ? 0xffffffff : 2 ** reg.bits - 1;
  if (reg.fields.length === 0) return significant;
  let bits = 0;
  for (const f of reg.fields) bits = (bits | ((2 ** (f.msb - f.lsb + 1) - 1) * 2 ** f.lsb)) >>> 0;
  return bits;
}

/**
 * For a block without a table above (a project's own): the bits the hardware changes, as its
 * register map tells them. A register whose read consumes, that software cannot write, or whose
 * writes clear bits is status: all its bits. Otherwise the fields with a kind of their own
 * (cleared by reading, by writing 1 or 0, read-only) are. The rest is storage.
 */
function mapHardwareBits(reg: RegisterInfo, fields: number): number {
  if (reg.read === "consumes" || reg.write === "ignored" || reg.write === "w1c" || reg.write === "clears") return fields;
  let bits = 0;
  for (const f of reg.fields) {
    const status = f.read === "consumes" || (f.write !== undefined && f.write !== "value");
    if (status) bits = (bits | ((2 ** (f.msb - f.lsb + 1) - 1) * 2 ** f.lsb)) >>> 0;
  }
  return bits;
}

/** What response fuzzing needs to know about one readable register. */
export interface RegisterLegality {
  readonly reg: RegisterInfo;
  /** Bits a read may set at all. */
  readonly fields: number;
  /** Bits the hardware changes on its own; 0 for a storage or constant register. */
  readonly hardware: number;
  readonly rules: readonly FlagRule[];
}

const cache = new Map<RegisterInfo, RegisterLegality>();

export function registerLegality(block: RegisterBlock, reg: RegisterInfo): RegisterLegality {
  let found = cache.get(reg);
  if (found === undefined) {
    const entry = Object.prototype.hasOwnProperty.call(LEGALITY, block.block) ? LEGALITY[block.block] : undefined;
    const legality = entry !== undefined && fitsBlock(block, entry) ? entry : undefined;
    const name = genericName(reg.name);
    const fields = fieldBits(reg);
    const hw = legality === undefined ? mapHardwareBits(reg, fields) : legality.hardwareBits[name];
    const hardware = hw === undefined ? 0 : hw === "all" ? fields : (hw & fields) >>> 0;
    found = { reg, fields, hardware, rules: legality?.rules.filter((r) => r.register === name) ?? [] };
    cache.set(reg, found);
  }
  return found;
}

/** Why a value could not have come from the hardware, or null when it could. `truth` is what
 * the device model answered: bits the hardware does not change must equal it. */
export function illegality(l: RegisterLegality, offset: number, truth: number, value: number): string | null {
  const reserved = (value & ~l.fields) >>> 0;
  if (reserved !== 0) return `sets reserved bits 0x${reserved.toString(16)} of ${l.reg.name}`;
  const changed = ((value ^ truth) & ~l.hardware) >>> 0;
  if (changed !== 0) {
    return l.hardware === 0
      ? `${l.reg.name} only returns what was written to it, or a constant; bits 0x${changed.toString(16)} differ`
      : `bits 0x${changed.toString(16)} of ${l.reg.name} are not updated by the hardware`;
  }
  for (const rule of l.rules) if (!rule.holds(value, offset)) return `breaks "${rule.why}"`;
  return null;
}

/** The closest legal value to `value` that keeps the `forced` bits where the rules allow. */
export function legalize(l: RegisterLegality, offset: number, truth: number, value: number, forced: number): number {
  let v = ((value & l.hardware) | (truth & ~l.hardware)) & l.fields;
  for (const rule of l.rules) v = rule.repair(v, forced, offset);
  return v >>> 0;
}
