// Register-map metadata as the harness sees it. The data come from a project's register maps
// (registers/<block>.json, or a CMSIS-SVD import), read by harness/regmap-json.ts into a
// Registry (harness/registry.ts); this file holds the types and the lookups built on them.

/** What a read of the register does. */
export type ReadKind =
  | "value" // returns state, no side effect
  | "consumes" // returns state and changes it (pops a FIFO, clears a flag)
  | "undefined"; // write-only register: the value read means nothing

/** What a write to the register does. */
export type WriteKind =
  | "value" // stores the value
  | "w1c" // each 1 bit clears the matching status bit, 0 bits do nothing
  | "clears" // any write clears the register, the value is ignored
  | "ignored"; // read-only register: the write has no effect

/** What a read does to one field, where it differs from the register's read kind. */
export type FieldReadKind = "value" | "consumes" | "undefined";

/** What writing a field does, where it differs from the register's write kind: w1c / w0c clear
 * the bit where a 1 / a 0 is written (rc_w1, rc_w0), w1s / w0s set it, w1t / w0t toggle it,
 * `clears` / `sets` clear or set it on any write, `ignored` is a read-only field. */
export type FieldWriteKind = "value" | "ignored" | "w1c" | "w0c" | "w1s" | "w0s" | "w1t" | "w0t" | "clears" | "sets";

export interface FieldInfo {
  readonly name: string;
  readonly msb: number;
  readonly lsb: number;
  readonly doc: string;
  /** Named values of a multi-bit field. */
  readonly values?: Readonly<Record<string, number>>;
  /** The field's own read side effect (a status flag cleared by reading). */
  readonly read?: FieldReadKind;
  /** The field's own write semantics (a flag cleared by writing 0). */
  readonly write?: FieldWriteKind;
}

export interface RegisterInfo {
  readonly name: string;
  /** Name of the write side where it differs (RSR / ECR). */
  readonly writeName: string | null;
  readonly offset: number;
  /** Bytes of offsets the register answers at: 4, or more for an address-masked register such
   * as the PL061's DATA, which decodes address bits [9:2] as a pin mask. */
  readonly span: number;
  /** Significant bits; the rest read as 0 and are written as 0. */
  readonly bits: number;
  /** Access widths in bytes the register accepts. */
  readonly widths: readonly number[];
  readonly read: ReadKind;
  readonly write: WriteKind;
  /** Reset value, or null where the manual leaves it undefined. */
  readonly reset: number | null;
  /** Integration-test register: not for normal operation. */
  readonly test: boolean;
  /** Section of the block's reference manual that defines it. */
  readonly section: string;
  readonly doc: string;
  readonly fields: readonly FieldInfo[];
  /** For a register of a repeated group (a DMA channel's): its instance number. */
  readonly instance?: number;
}

/**
 * A register whose read has a side effect (read kind "consumes": the read pops a FIFO entry). A
 * driver means to consume only what a status read told it was there: one read of the guard
 * register showing the guard value allows one consuming read. Without it the read takes a
 * character nobody asked for, or reads an empty FIFO and acts on a value that means nothing.
 */
export interface ConsumingReadRule {
  readonly register: string;
  /** The status register, its field and the value that says there is data. */
  readonly guard: { readonly register: string; readonly field: string; readonly value: number };
  /** Other fields of the guard register whose value, in the same status read, also allows the
   * read: a flag whose clearing sequence is that status read followed by this read (an STM32
   * USART's ORE, cleared by a read of SR then DR). Absent: none. */
  readonly orWhen?: readonly { readonly field: string; readonly value: number }[];
  /** Where the manual says so. */
  readonly section: string;
}

/** Registers the manual forbids writing while an enable bit is set. The enable state is the
 * value last read from or written to the enable register (its reset value before that). */
export interface EnableRule {
  readonly registers: readonly string[];
  /** When given, only a write that changes one of these fields breaks the rule (a mode bit that
   * lives in the enable register itself). */
  readonly fields?: readonly string[];
  readonly enable: { readonly register: string; readonly field: string };
  readonly severity: "error" | "warning";
  readonly section: string;
}

/** A register the manual says to change through another one in a single write (an output
 * register and its bit set/reset register): reading it and writing it back is a race with any
 * other context that changes it in between. */
export interface SetResetRule {
  readonly register: string;
  /** The register that sets and clears bits in one write. */
  readonly through: string;
  readonly section: string;
}

/** The rules over sequences of accesses the lint checks for a block. */
export interface BlockSequenceRules {
  readonly consumingReads: readonly ConsumingReadRule[];
  readonly enableGuards: readonly EnableRule[];
  /** Absent: none. */
  readonly setReset?: readonly SetResetRule[];
}

export interface RegisterBlock {
  readonly block: string;
  readonly title: string;
  readonly manual: string;
  /** Bytes decoded by the block. */
  readonly size: number;
  /** Default access widths, also used for reserved offsets. */
  readonly widths: readonly number[];
  readonly registers: readonly RegisterInfo[];
  /** Rules over sequences of accesses, from the map's "rules" (the lint's own table for a block
   * whose map has none). */
  readonly rules?: BlockSequenceRules;
}

/** Bit mask of widths: bit 1 = 1 byte, bit 2 = 2 bytes, bit 4 = 4 bytes. */
function widthMask(widths: readonly number[]): number {
  let mask = 0;
  for (const w of widths) mask |= w;
  return mask;
}

/** Constant-time lookups into one register block, built once per block. */
export class RegisterIndex {
  private readonly byWord: (RegisterInfo | undefined)[];
  /** Allowed widths per 32-bit word of the block, as a widthMask. */
  readonly widthsByWord: Uint8Array;

  constructor(readonly block: RegisterBlock) {
    const words = Math.ceil(block.size / 4);
    this.byWord = new Array<RegisterInfo | undefined>(words).fill(undefined);
    this.widthsByWord = new Uint8Array(words).fill(widthMask(block.widths));
    for (const r of block.registers) {
      for (let word = r.offset >>> 2; word < (r.offset + r.span) >>> 2; word++) {
        this.byWord[word] = r;
        this.widthsByWord[word] = widthMask(r.widths);
      }
    }
  }

  /** The register at a byte offset, or undefined for a reserved offset. */
  at(offset: number): RegisterInfo | undefined {
    return this.byWord[offset >>> 2];
  }

  byName(name: string): RegisterInfo | undefined {
    return this.block.registers.find((r) => r.name === name || r.writeName === name);
  }

  /** The name used for an access: the write side's own name where it has one. */
  nameAt(offset: number, isWrite: boolean): string | undefined {
    const r = this.at(offset);
    if (r === undefined) return undefined;
    return isWrite && r.writeName !== null ? r.writeName : r.name;
  }
}

/** A field's value inside a register value. */
export function fieldValue(field: FieldInfo, value: number): number {
  const width = field.msb - field.lsb + 1;
  return width >= 32 ? value >>> 0 : (value >>> field.lsb) & ((2 ** width) - 1);
}

/**
 * Decodes a register value for people: set single-bit fields by name, multi-bit fields as
 * NAME=value (the value's name where the map gives one). Bits outside every field are shown as
 * `?0x...` so that nothing in the value is hidden.
 */
export function decodeFields(reg: RegisterInfo, value: number): string {
  const parts: string[] = [];
  let covered = 0;
  for (const f of reg.fields) {
    const width = f.msb - f.lsb + 1;
    covered |= ((2 ** width - 1) * 2 ** f.lsb) >>> 0;
    const v = fieldValue(f, value);
    if (width === 1) {
      if (v !== 0) parts.push(f.name);
      continue;
    }
    const named = f.values === undefined ? undefined : Object.entries(f.values).find(([, n]) => n === v)?.[0];
    parts.push(`${f.name}=${named ?? (width >= 8 ? "0x" + v.toString(16) : String(v))}`);
  }
  const stray = (value & ~covered) >>> 0;
  if (reg.fields.length > 0 && stray !== 0) parts.push(`?0x${stray.toString(16)}`);
  return parts.join(" ");
}
