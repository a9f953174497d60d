// Register-semantics lint: checks every CPU access of a trace against the register map of the
// block it reached. The map already knows each register's access kind, widths and fields
// (registers/<block>.json), so any trace can be checked for free (docs/abi.md, section 3).
// DMA accesses are left out: a DMA controller is wired to a data register by the board, not by
// the driver's choice of register.
//
// Most rules look at one access. Five look at the accesses before it, keeping a little state per
// region as the trace is read in order: a read-modify-write of a write-1-to-clear register or of
// flags that clear by writing 0 (both from the map's write kinds), a side-effect read nothing said
// there was data for, a write to a register while the block's enable bit forbids it, and a
// read-modify-write of a register the manual says to change through its set/reset register. The
// last three come from the map's "rules" (or, for the package's PrimeCell maps, which have none,
// the table SEQUENCE_RULES), each row citing the manual.
import type { BlockSequenceRules, ConsumingReadRule, EnableRule, RegisterIndex, RegisterInfo, SetResetRule } from "./regmap.js";
import * as traceCodes from "./trace.js";
import type { Trace, TraceEntry } from "./trace.js";
import { traceRegions, type AccessGroup, type ParsedTrace, type TraceRegion } from "./trace-text.js";

// The trace codes as this module's own constants (RegionSequence.observe runs per access of a fuzz
// execution; see harness/bus.ts).
const { OP_READ, OP_WRITE, FLAG_DMA, FLAG_FAULT } = traceCodes;

export type LintSeverity = "error" | "warning";

export type LintRule =
  | "write-to-read-only" // a write to a register whose writes are ignored
  | "read-of-write-only" // a read of a register whose read value is undefined
  | "access-width" // a width the register (or, at a reserved offset, the block) does not accept
  | "unaligned" // an address that is not a multiple of the access width
  | "reserved-offset" // an offset where the map has no register
  | "test-register" // an integration-test register: not for normal operation
  | "reserved-bits" // a write that sets bits above the register's width or outside its fields
  | "w1c-read-modify-write" // a write-1-to-clear register read, then written back
  | "w0c-read-modify-write" // flags that clear by writing 0 read, then written back with 0s
  | "set-reset-read-modify-write" // a register read and written back where one set/reset write does it
  | "unguarded-consuming-read" // a side-effect read (a FIFO pop) no status read said had data
  | "write-while-enabled"; // a register written while the block's enable bit forbids it

const SEVERITY: Readonly<Record<LintRule, LintSeverity>> = {
  "write-to-read-only": "error",
  "read-of-write-only": "error",
  "access-width": "error",
  unaligned: "error",
  "reserved-offset": "error",
  "test-register": "warning",
  "reserved-bits": "warning",
  "w1c-read-modify-write": "error",
  "w0c-read-modify-write": "error",
  "set-reset-read-modify-write": "error",
  "unguarded-consuming-read": "error",
  // The table row says how sure the manual is (SEQUENCE_RULES); this is the default.
  "write-while-enabled": "error",
};

export interface LintFinding {
  /** Index of the trace entry (the first of a collapsed poll). */
  readonly seq: number;
  readonly severity: LintSeverity;
  readonly rule: LintRule;
  /** Names the region, offset, register and value. */
  readonly message: string;
}

/** How a finding names its access: `W32 uart0+0x02c LCR_H 0x00000070`, with the poll count. */
function describeGroup(a: AccessGroup, region: TraceRegion, reg: RegisterInfo | undefined): string {
  const isWrite = a.op === OP_WRITE;
  const offset = a.addr - region.base;
  const name = reg === undefined ? "reserved" : isWrite && reg.writeName !== null ? reg.writeName : reg.name;
  const valueDigits = Math.max(1, a.width * 2);
  return `${isWrite ? "W" : "R"}${a.width * 8} ${region.name}+0x${offset.toString(16).padStart(3, "0")} ${name} 0x${a.value.toString(16).padStart(valueDigits, "0")}${a.repeat > 1 ? ` x${a.repeat}` : ""}`;
}

/** Checks one access (or a poll of identical reads) against the map of its region. */
function lintAccess(a: AccessGroup, seq: number, regions: readonly TraceRegion[], out: LintFinding[]): void {
  if ((a.flags & FLAG_DMA) !== 0 || (a.op !== OP_READ && a.op !== OP_WRITE)) return;
  const region = regions.find((r) => a.addr >= r.base && a.addr < r.end);
  const index = region?.index;
  if (region === undefined || index === undefined) return;

  const isWrite = a.op === OP_WRITE;
  const offset = a.addr - region.base;
  const reg = index.at(offset);
  const access = describeGroup(a, region, reg);
  const block = index.block.block;
  const find = (rule: LintRule, problem: string): void => {
    out.push({ seq, severity: SEVERITY[rule], rule, message: `${access}: ${problem}` });
  };

  if (reg === undefined) find("reserved-offset", `${block} has no register at offset 0x${offset.toString(16).padStart(3, "0")}`);
  const widths = reg?.widths ?? index.block.widths;
  if (!widths.includes(a.width)) {
    find("access-width", `${reg === undefined ? `${block} reserved space` : reg.name} accepts ${widths.map((w) => `${w * 8}-bit`).join(" or ")} accesses only`);
  } else if (a.addr % a.width !== 0) {
    find("unaligned", `the address is not a multiple of ${a.width}`);
  }
  if (reg === undefined) return;
  const cite = `${block} ${reg.section}`;
  if (isWrite && reg.write === "ignored") find("write-to-read-only", `${reg.name} is read-only, the write is ignored (${cite})`);
  if (!isWrite && reg.read === "undefined") find("read-of-write-only", `${reg.name} is write-only, the value read is not defined (${cite})`);
  if (reg.test) find("test-register", `${reg.name} is an integration-test register, not for normal operation (${cite})`);
  // A faulted access carries no value; an ignored or clearing write's value does not matter.
  if (isWrite && (a.flags & FLAG_FAULT) === 0 && (reg.write === "value" || reg.write === "w1c")) {
    const stray = strayBits(reg, a.value, (offset - reg.offset) & 3);
    // Clearing one write-0-to-clear flag is written as the complement of its bit (`SR = ~TC`,
    // as ST's own LL_USART_ClearFlag_TC does): 1s in every other bit, reserved ones included,
    // which a register of rc_w0 flags ignores. That idiom is not a stray write.
    const complementIdiom = reg.fields.some((f) => f.write === "w0c") && stray.reserved !== 0 && ((stray.reserved | stray.fields) >>> 0) === (reg.bits >= 32 ? 0xffffffff : 2 ** reg.bits - 1);
    if (complementIdiom) return;
    if (stray.above !== 0) find("reserved-bits", `sets bits 0x${stray.above.toString(16)} above the ${reg.bits} bits of ${reg.name} (${cite})`);
    if (stray.reserved !== 0) find("reserved-bits", `sets reserved bits 0x${stray.reserved.toString(16)} of ${reg.name}, whose fields cover 0x${stray.fields.toString(16)} (${cite})`);
  }
}

/** The bits of a write that lie above the register's width, and those inside it that no field
 * covers. `byteOffset` (0..3) places a byte or halfword write inside the register's word. */
function strayBits(reg: RegisterInfo, value: number, byteOffset: number): { above: number; reserved: number; fields: number } {
  const shifted = (value * 2 ** (byteOffset * 8)) % 2 ** 32;
  const significant = reg.bits >= 32 ? 0xffffffff : 2 ** reg.bits - 1;
  let fields = 0;
  for (const f of reg.fields) fields = (fields | ((2 ** (f.msb - f.lsb + 1) - 1) * 2 ** f.lsb)) >>> 0;
  // A register described without fields is all one field of its width.
  if (reg.fields.length === 0) fields = significant;
  return {
    above: (shifted & ~significant) >>> 0,
    reserved: (shifted & significant & ~fields) >>> 0,
    fields,
  };
}

// ---------------------------------------------------------------------------------------------
// Rules over sequences of accesses

export type { ConsumingReadRule, EnableRule, BlockSequenceRules, SetResetRule } from "./regmap.js";

/** Channel registers of each of the eight PL080 channels (docs/primecell.md, PL080 4.5),
 * programmed only while the channel is idle (PL080 4.6). */
const PL080_CHANNEL_GUARDS: readonly EnableRule[] = Array.from({ length: 8 }, (_, n) => ({
  registers: [`C${n}SrcAddr`, `C${n}DestAddr`, `C${n}LLI`, `C${n}Control`],
  enable: { register: `C${n}Configuration`, field: "E" },
  // One source (Linux waits for E = 0 before writing them), and the hardware clears E by itself
  // when a transfer ends, which a trace shows only once the driver reads Configuration again.
  severity: "warning",
  section: "docs/primecell.md 4.6, start a channel",
}));

/** The sequence rules of the package's blocks, by block name: used for a block whose map has no
 * "rules" of its own (a project writes its rules in its map, docs/register-maps.md). */
export const SEQUENCE_RULES: Readonly<Record<string, BlockSequenceRules>> = {
  pl011: {
    consumingReads: [{ register: "DR", guard: { register: "FR", field: "RXFE", value: 0 }, section: "3.3.1, 3.3.3" }],
    enableGuards: [
      // "Do not change LCR_H, IBRD or FBRD while the UART is enabled" (TRM 3.3.7 note; 3.3.8).
      { registers: ["LCR_H", "IBRD", "FBRD"], enable: { register: "CR", field: "UARTEN" }, severity: "error", section: "3.3.7, 3.3.8" },
    ],
  },
  pl022: {
    consumingReads: [{ register: "DR", guard: { register: "SR", field: "RNE", value: 1 }, section: "3.3.3, 3.3.4" }],
    enableGuards: [
      // The programming procedure writes CR0 and CPSR with SSE = 0 (docs/primecell.md, PL022 2.5).
      { registers: ["CR0", "CPSR"], enable: { register: "CR1", field: "SSE" }, severity: "error", section: "3.3.1; docs/primecell.md 2.5" },
      // MS may change only while SSE = 0: the RP2040 copy of the TRM text only (unconfirmed).
      { registers: ["CR1"], fields: ["MS"], enable: { register: "CR1", field: "SSE" }, severity: "warning", section: "3.3.2, RP2040 text" },
    ],
  },
  pl080: { consumingReads: [], enableGuards: PL080_CHANNEL_GUARDS },
};

/** A rule row with its names resolved to offsets and bit masks in one register map. */
interface CompiledConsumingRead {
  readonly rule: ConsumingReadRule;
  readonly offset: number;
  readonly guardOffset: number;
  readonly guardMask: number;
  readonly guardValue: number;
  /** The rule's orWhen fields: masks and values in the same guard register. */
  readonly alternatives: readonly { readonly mask: number; readonly value: number }[];
}

interface CompiledEnableRule {
  readonly rule: EnableRule;
  readonly offsets: ReadonlySet<number>;
  /** Bits whose change counts; all bits when the rule names no fields. */
  readonly changeMask: number;
  readonly enableOffset: number;
  readonly enableMask: number;
  readonly enableReset: number | null;
}

interface CompiledRules {
  readonly consumingReads: readonly CompiledConsumingRead[];
  readonly enableGuards: readonly CompiledEnableRule[];
  /** Set/reset rules by the offset of the register not to read-modify-write. */
  readonly setReset: ReadonlyMap<number, SetResetRule>;
  /** Bits of fields that clear by writing 0 (write kind "w0c"), by register offset. */
  readonly w0cMasks: ReadonlyMap<number, number>;
  /** The register offsets whose reads, and whose writes, a rule looks at or remembers: an
   * access to any other register changes nothing the rules keep (but that a write forgets the
   * set/reset reads). */
  readonly readsWatched: ReadonlySet<number>;
  readonly writesWatched: ReadonlySet<number>;
  /** The same, as a table by byte offset (the WATCH_* bits; the per-access check). */
  readonly watchedAt: Uint8Array;
  /** The watched registers numbered from 0, by word of the block (-1: not watched): what the
   * rules remember is kept in arrays by that number, not in maps. */
  readonly slotByWord: Int16Array;
  readonly slots: number;
  /** By slot: the enable rules guarding the register, and the consuming-read rules it is the
   * guard or the consumed register of (in table order). */
  readonly guardsBySlot: readonly (readonly CompiledEnableRule[])[];
  readonly consumersBySlot: readonly (readonly CompiledConsumingRead[])[];
  /** By slot: the register's w0c mask (0: none). */
  readonly w0cBySlot: Uint32Array;
  // What one access needs, looked up by its byte offset once: the rules read the accesses of a
  // fuzz execution one at a time (the fuzzer's tap), where a lookup per rule cost more than the
  // rules themselves.
  /** By byte offset: the slot of a read the rules look at, or -1 (not watched, not a register's
   * own offset). */
  readonly readSlotAt: Int16Array;
  /** By byte offset: the slot of a write the rules look at; -2 for a write to another register
   * (at its own offset), which only ends the set/reset reads; -1 for none. */
  readonly writeSlotAt: Int16Array;
  /** By slot: the register. */
  readonly regBySlot: readonly RegisterInfo[];
  /** By slot: guardsBySlot and consumersBySlot with the slots they name resolved. */
  readonly guardPlansBySlot: readonly (readonly GuardPlan[])[];
  readonly consumerPlansBySlot: readonly (readonly ConsumerPlan[])[];
  /** By slot: which rules the register has (the SLOT_* bits: write-1-to-clear, w0c flags, a
   * set/reset rule, enable guards, consuming reads), one load for an access that needs only what
   * it is remembered as (an enable register, a guard). */
  readonly kindBySlot: Uint8Array;
}

// CompiledRules.kindBySlot bits.
const SLOT_W1C = 1;
const SLOT_W0C = 2;
const SLOT_SET_RESET = 4;
const SLOT_GUARDED = 8;
const SLOT_CONSUMERS = 16;
const NO_PLANS: readonly never[] = [];

/** An enable rule guarding a register, with the slot of its enable register. */
interface GuardPlan {
  readonly guard: CompiledEnableRule;
  readonly enableSlot: number;
}

/** A consuming-read rule as a read of one of its registers applies it: the slot of the consumed
 * register, and whether the read is of the guard and of the consumed register. */
interface ConsumerPlan {
  readonly rule: CompiledConsumingRead;
  readonly consumedSlot: number;
  readonly isGuard: boolean;
  readonly isConsumed: boolean;
}

function fieldMask(reg: RegisterInfo, fieldName: string, where: string): { mask: number; lsb: number } {
  const f = reg.fields.find((x) => x.name === fieldName);
  if (f === undefined) throw new Error(`${where}: ${reg.name} has no field ${fieldName}`);
  return { mask: ((2 ** (f.msb - f.lsb + 1) - 1) * 2 ** f.lsb) >>> 0, lsb: f.lsb };
}

function registerNamed(index: RegisterIndex, name: string, where: string): RegisterInfo {
  const reg = index.byName(name);
  if (reg === undefined) throw new Error(`${where}: ${index.block.block} has no register ${name}`);
  return reg;
}

const compiledRules = new WeakMap<RegisterIndex, CompiledRules>();
/** The bits of sequenceWatchTable: the sequence rules look at reads here, at writes here, and a
 * read here consumes an entry (the register of a consuming-read rule). */
export const WATCH_READ = 1;
export const WATCH_WRITE = 2;
export const WATCH_CONSUMES = 4;

/** The block's rows resolved against its map, once per map. A row naming a register or field
 * the map does not have is an error in this table, reported at once. */
function rulesFor(index: RegisterIndex): CompiledRules {
  let compiled = compiledRules.get(index);
  if (compiled !== undefined) return compiled;
  const block = index.block.block;
  const own = index.block.rules;
  const table = Object.prototype.hasOwnProperty.call(SEQUENCE_RULES, block) ? SEQUENCE_RULES[block] : undefined;
  const rows = own ?? table ?? { consumingReads: [], enableGuards: [] };
  const where = own !== undefined ? `the rules of block ${block}` : `SEQUENCE_RULES.${block}`;
  const built = {
    consumingReads: rows.consumingReads.map((rule) => {
      const guard = registerNamed(index, rule.guard.register, where);
      const { mask, lsb } = fieldMask(guard, rule.guard.field, where);
      const alternatives = (rule.orWhen ?? []).map((alt) => {
        const f = fieldMask(guard, alt.field, where);
        return { mask: f.mask, value: (alt.value * 2 ** f.lsb) >>> 0 };
      });
      return { rule, offset: registerNamed(index, rule.register, where).offset, guardOffset: guard.offset, guardMask: mask, guardValue: (rule.guard.value * 2 ** lsb) >>> 0, alternatives };
    }),
    enableGuards: rows.enableGuards.map((rule) => {
      const enable = registerNamed(index, rule.enable.register, where);
      const regs = rule.registers.map((n) => registerNamed(index, n, where));
      let changeMask = 0xffffffff;
      if (rule.fields !== undefined) {
        changeMask = 0;
        for (const r of regs) for (const f of rule.fields) changeMask = (changeMask | fieldMask(r, f, where).mask) >>> 0;
      }
      return {
        rule, offsets: new Set(regs.map((r) => r.offset)), changeMask,
        enableOffset: enable.offset, enableMask: fieldMask(enable, rule.enable.field, where).mask, enableReset: enable.reset,
      };
    }),
    setReset: new Map((rows.setReset ?? []).map((rule) => [registerNamed(index, rule.register, where).offset, rule])),
    w0cMasks: new Map(index.block.registers.flatMap((reg) => {
      let mask = 0;
      for (const f of reg.fields) if (f.write === "w0c") mask = (mask | fieldMask(reg, f.name, where).mask) >>> 0;
      return mask === 0 ? [] : [[reg.offset, mask] as const];
    })),
  };
  // Both: w1c, w0c and set/reset registers, and what the enable guards read back (`seen`).
  const both = new Set<number>([...built.setReset.keys(), ...built.w0cMasks.keys()]);
  for (const reg of index.block.registers) if (reg.write === "w1c") both.add(reg.offset);
  for (const g of built.enableGuards) {
    both.add(g.enableOffset);
    for (const o of g.offsets) both.add(o);
  }
  const readsWatched = new Set(both);
  for (const c of built.consumingReads) readsWatched.add(c.offset).add(c.guardOffset);
  const watchedAt = new Uint8Array(index.block.size);
  for (const o of readsWatched) if (o < watchedAt.length) watchedAt[o]! |= WATCH_READ;
  for (const o of both) if (o < watchedAt.length) watchedAt[o]! |= WATCH_WRITE;
  for (const c of built.consumingReads) if (c.offset < watchedAt.length) watchedAt[c.offset]! |= WATCH_CONSUMES;
  const slotByWord = new Int16Array(Math.ceil(index.block.size / 4)).fill(-1);
  let slots = 0;
  for (const o of new Set([...readsWatched, ...both])) if (slotByWord[o >>> 2] === -1) slotByWord[o >>> 2] = slots++;
  const slotOf = (offset: number): number => slotByWord[offset >>> 2]!;
  const guardsBySlot = Array.from({ length: slots }, (_, slot) => built.enableGuards.filter((g) => [...g.offsets].some((o) => slotOf(o) === slot)));
  const consumersBySlot = Array.from({ length: slots }, (_, slot) => built.consumingReads.filter((c) => slotOf(c.guardOffset) === slot || slotOf(c.offset) === slot));
  const w0cBySlot = new Uint32Array(slots);
  for (const [o, mask] of built.w0cMasks) w0cBySlot[slotOf(o)] = mask;
  const setResetBySlot = new Uint8Array(slots);
  for (const o of built.setReset.keys()) setResetBySlot[slotOf(o)] = 1;
  const readSlotAt = new Int16Array(index.block.size).fill(-1);
  const writeSlotAt = new Int16Array(index.block.size).fill(-1);
  const regBySlot: RegisterInfo[] = new Array<RegisterInfo>(slots);
  const w1cBySlot = new Uint8Array(slots);
  for (const reg of index.block.registers) {
    // Rules reason about registers at their own offset (not the aliases of an address-masked
    // one, not a byte in the middle of a word).
    const o = reg.offset;
    if (o >= index.block.size || index.at(o) !== reg) continue;
    const slot = slotByWord[o >>> 2]!;
    if ((watchedAt[o]! & WATCH_READ) !== 0) readSlotAt[o] = slot;
    writeSlotAt[o] = (watchedAt[o]! & WATCH_WRITE) !== 0 ? slot : -2;
    if (slot >= 0) {
      regBySlot[slot] = reg;
      w1cBySlot[slot] = reg.write === "w1c" ? 1 : 0;
    }
  }
  const guardPlansBySlot = guardsBySlot.map((gs) => gs.map((g) => ({ guard: g, enableSlot: slotOf(g.enableOffset) })));
  const consumerPlansBySlot = consumersBySlot.map((cs, slot) => cs.map((c) => ({
    rule: c, consumedSlot: slotOf(c.offset), isGuard: slotOf(c.guardOffset) === slot, isConsumed: slotOf(c.offset) === slot,
  })));
  const kindBySlot = new Uint8Array(slots);
  for (let slot = 0; slot < slots; slot++) {
    kindBySlot[slot] = (w1cBySlot[slot] === 1 ? SLOT_W1C : 0) | (w0cBySlot[slot] !== 0 ? SLOT_W0C : 0) | (setResetBySlot[slot] === 1 ? SLOT_SET_RESET : 0)
      | (guardPlansBySlot[slot]!.length !== 0 ? SLOT_GUARDED : 0) | (consumerPlansBySlot[slot]!.length !== 0 ? SLOT_CONSUMERS : 0);
  }
  compiled = {
    ...built, readsWatched, writesWatched: both, watchedAt, slotByWord, slots, guardsBySlot, consumersBySlot, w0cBySlot,
    readSlotAt, writeSlotAt, regBySlot, guardPlansBySlot, consumerPlansBySlot, kindBySlot,
  };
  compiledRules.set(index, compiled);
  return compiled;
}

/**
 * Which accesses the sequence rules look at, by byte offset of the block: WATCH_READ (1) its
 * reads, WATCH_WRITE (2) its writes. An access to an offset without its bit changes nothing they
 * remember and finds nothing, so a caller may leave it out (the fuzzer's tap does). A block with
 * set/reset rules has every write marked: any write there ends the reads those rules remember.
 *
 * WATCH_CONSUMES (4) marks the reads that consume an entry (a consuming-read rule's register).
 * Any other read the rules look at, made again with the same width and value right after the
 * last access they were fed, leaves them as they were (the value it remembers is the one they
 * hold; only the number of the read a message would cite changes) and finds nothing the first
 * did not, so a caller that wants only whether something breaks a rule may leave the repeat out
 * too (the tap does: a status register polled between data writes).
 */
export function sequenceWatchTable(index: RegisterIndex): Uint8Array {
  const rules = rulesFor(index);
  if (rules.setReset.size === 0) return rules.watchedAt;
  const table = rules.watchedAt.slice();
  for (let i = 0; i < table.length; i++) table[i]! |= WATCH_WRITE;
  return table;
}

/**
 * What the sequence rules remember about one region, by slot of a watched register
 * (CompiledRules.slotByWord): the last value seen of each, the last read of each
 * write-1-to-clear, write-0-to-clear and set/reset register not yet followed by a write, and the
 * consuming reads the last guard read allowed. An entry holds while its stamp equals the
 * state's generation, so that forgetting everything (a new stream, or for the set/reset reads
 * any write to the region) is one increment, and a fuzz execution allocates nothing.
 */
class RegionState {
  generation = 1;
  setResetGeneration = 1;
  readonly seenAt: Float64Array;
  readonly seen: Float64Array;
  readonly w1cAt: Float64Array;
  readonly w1cSeq: Float64Array;
  readonly w1cValue: Float64Array;
  readonly w0cAt: Float64Array;
  readonly w0cSeq: Float64Array;
  readonly w0cValue: Float64Array;
  readonly allowedAt: Float64Array;
  readonly allowed: Float64Array;
  readonly setResetAt: Float64Array;
  readonly setResetSeq: Float64Array;

  constructor(slots: number) {
    this.seenAt = new Float64Array(slots);
    this.seen = new Float64Array(slots);
    this.w1cAt = new Float64Array(slots);
    this.w1cSeq = new Float64Array(slots);
    this.w1cValue = new Float64Array(slots);
    this.w0cAt = new Float64Array(slots);
    this.w0cSeq = new Float64Array(slots);
    this.w0cValue = new Float64Array(slots);
    this.allowedAt = new Float64Array(slots);
    this.allowed = new Float64Array(slots);
    this.setResetAt = new Float64Array(slots);
    this.setResetSeq = new Float64Array(slots);
  }

  forget(): void {
    this.generation++;
    this.setResetGeneration++;
  }

  /** The value last seen in the register of `slot`, or `otherwise` (its reset value). */
  seenOr(slot: number, otherwise: number | null): number | null {
    return this.seenAt[slot] === this.generation ? this.seen[slot]! : otherwise;
  }
}

/**
 * One region's sequence rules and what they remember: fed the region's CPU accesses in order
 * (not DMA, not faulted ones), it adds what they break to `out`. The access's fields are passed
 * one by one, and the group a message describes is made only for a finding, so that a fuzz
 * execution, which feeds every access, allocates nothing.
 */
class RegionSequence {
  private readonly state: RegionState;

  constructor(readonly region: TraceRegion, private readonly rules: CompiledRules, private readonly out: LintFinding[]) {
    this.state = new RegionState(rules.slots);
  }

  /** Forgets what the rules remember (RegionState.forget). */
  forget(): void {
    this.state.forget();
  }

  /** One access (`op` OP_READ or OP_WRITE, `repeat` identical reads of a poll). */
  observe(op: number, flags: number, width: number, addr: number, value: number, repeat: number, seq: number): void {
    const rules = this.rules;
    const state = this.state;
    const offset = addr - this.region.base;
    const generation = state.generation;

    if (op === OP_WRITE) {
      const slot = rules.writeSlotAt[offset] ?? -1;
      if (slot < 0) {
        // A register no rule looks at: nothing to check or remember, but that a write ends the
        // set/reset reads, as below.
        if (slot === -2) state.setResetGeneration++;
        return;
      }
      const reg = rules.regBySlot[slot]!;
      const kind = rules.kindBySlot[slot]!;
      if ((kind & SLOT_W1C) !== 0 && state.w1cAt[slot] === generation) {
        state.w1cAt[slot] = 0;
        const readSeq = state.w1cSeq[slot]!;
        const readValue = state.w1cValue[slot]!;
        const cleared = (readValue & value) >>> 0;
        // Acknowledging the flag just read (read STATUS, see one source, write 1 to it) is the
        // right way to serve it. What the rule is for: every pending source written back (a
        // read-modify-write: `reg |= bit`, or the value read written again), when two or more
        // were pending, or after a read whose value the register does not define.
        const writesBackAll = readValue !== 0 && (readValue & ~value) === 0;
        const several = (readValue & (readValue - 1)) !== 0;
        if (cleared !== 0 && (reg.read === "undefined" || (writesBackAll && several))) {
          this.find(op, flags, width, addr, value, repeat, seq, reg, "w1c-read-modify-write", SEVERITY["w1c-read-modify-write"], `writes back bits 0x${cleared.toString(16)} that read as set at #${readSeq}: a read-modify-write of write-1-to-clear ${reg.name} clears every source that was pending, not only those meant (${this.block} ${reg.section})`);
        } else if (reg.read === "undefined") {
          this.find(op, flags, width, addr, value, repeat, seq, reg, "w1c-read-modify-write", SEVERITY["w1c-read-modify-write"], `follows a read of ${reg.name} at #${readSeq}: a read-modify-write of a write-1-to-clear register, whose read value is not defined, may write back 1s and clear sources nobody serviced (${this.block} ${reg.section})`);
        }
      }
      if ((kind & SLOT_W0C) !== 0 && state.w0cAt[slot] === generation) {
        state.w0cAt[slot] = 0;
        const w0c = rules.w0cBySlot[slot]!;
        // The value read with some flags taken out (`SR &= ~TC`) writes 0 to every flag that
        // was clear when read: one that sets between the read and the write (a byte arriving)
        // is cleared unseen. Such a write sets no bit the read had clear. A write meant to clear
        // one flag has 1s in all the others (`SR = ~TC`), and in bits no read returns (reserved
        // ones): told apart even when every other flag happened to read as 1.
        const readValue = state.w0cValue[slot]!;
        const lost = (w0c & ~value & ~readValue) >>> 0;
        if (lost !== 0 && ((value & ~readValue) >>> 0) === 0) {
          const names = reg.fields.filter((f) => f.write === "w0c" && (lost & fieldMask(reg, f.name, "").mask) !== 0).map((f) => f.name);
          this.find(op, flags, width, addr, value, repeat, seq, reg, "w0c-read-modify-write", SEVERITY["w0c-read-modify-write"], `writes 0 to ${names.join(", ")}, read as 0 at #${state.w0cSeq[slot]!}: a read-modify-write of ${reg.name}, whose flags clear by writing 0, clears a flag that sets between the read and the write; write 1 to every flag not meant to be cleared (${this.block} ${reg.section})`);
        }
      }
      const setResetRead = (kind & SLOT_SET_RESET) !== 0 && state.setResetAt[slot] === state.setResetGeneration;
      state.setResetGeneration++;
      if (setResetRead) {
        const setReset = rules.setReset.get(offset)!;
        this.find(op, flags, width, addr, value, repeat, seq, reg, "set-reset-read-modify-write", SEVERITY["set-reset-read-modify-write"], `writes back ${reg.name} read at #${state.setResetSeq[slot]!}: a read-modify-write undoes what another context changes between the read and the write; set and clear bits through ${setReset.through} in one write (${this.block} ${setReset.section})`);
      }
      const guards = (kind & SLOT_GUARDED) !== 0 ? rules.guardPlansBySlot[slot]! : NO_PLANS;
      for (let k = 0; k < guards.length; k++) {
        const { guard: g, enableSlot } = guards[k]!;
        const enable = state.seenOr(enableSlot, g.enableReset);
        if (enable === null || (enable & g.enableMask) === 0) continue;
        const before = state.seenOr(slot, reg.reset);
        // A rule about some fields only: a write that leaves them as they were is harmless.
        if (g.changeMask !== 0xffffffff && before !== null && ((before ^ value) & g.changeMask) === 0) continue;
        const what = g.rule.fields === undefined ? reg.name : `${reg.name}.${g.rule.fields.join("/")}`;
        const bit = `${g.rule.enable.register}.${g.rule.enable.field}`;
        this.find(op, flags, width, addr, value, repeat, seq, reg, "write-while-enabled", g.rule.severity, `${what} written while ${bit} = 1 (last seen 0x${enable.toString(16)}); write it only while ${bit} = 0 (${this.block} ${g.rule.section})`);
      }
      state.seenAt[slot] = generation;
      state.seen[slot] = value;
      return;
    }

    // A read.
    const slot = rules.readSlotAt[offset] ?? -1;
    if (slot < 0) return;
    const kind = rules.kindBySlot[slot]!;
    if ((kind & SLOT_W1C) !== 0) {
      state.w1cAt[slot] = generation;
      state.w1cSeq[slot] = seq;
      state.w1cValue[slot] = value;
    }
    if ((kind & SLOT_W0C) !== 0) {
      state.w0cAt[slot] = generation;
      state.w0cSeq[slot] = seq;
      state.w0cValue[slot] = value;
    }
    if ((kind & SLOT_SET_RESET) !== 0) {
      state.setResetAt[slot] = state.setResetGeneration;
      state.setResetSeq[slot] = seq;
    }
    const consumers = (kind & SLOT_CONSUMERS) !== 0 ? rules.consumerPlansBySlot[slot]! : NO_PLANS;
    for (let k = 0; k < consumers.length; k++) {
      const { rule: c, consumedSlot: consumed, isGuard, isConsumed } = consumers[k]!;
      if (isGuard) {
        let allows = ((value & c.guardMask) >>> 0) === c.guardValue;
        for (let j = 0; !allows && j < c.alternatives.length; j++) allows = ((value & c.alternatives[j]!.mask) >>> 0) === c.alternatives[j]!.value;
        state.allowedAt[consumed] = generation;
        state.allowed[consumed] = allows ? 1 : 0;
      }
      if (!isConsumed) continue;
      const allowed = state.allowedAt[consumed] === generation ? state.allowed[consumed]! : 0;
      state.allowedAt[consumed] = generation;
      state.allowed[consumed] = Math.max(0, allowed - repeat);
      if (allowed >= repeat) continue;
      const reg = rules.regBySlot[slot]!;
      const guard = `${c.rule.guard.register}.${c.rule.guard.field} = ${c.rule.guard.value}`;
      const unguarded = repeat - allowed;
      this.find(op, flags, width, addr, value, repeat, seq, reg, "unguarded-consuming-read", SEVERITY["unguarded-consuming-read"], `a read of ${reg.name} consumes an entry, and ${unguarded === repeat ? "no" : `only ${allowed} of these ${repeat} reads had a`} read of ${guard} since the previous ${reg.name} read said there was one: the driver takes a value it did not know was there (${this.block} ${c.rule.section})`);
    }
    state.seenAt[slot] = generation;
    state.seen[slot] = value;
  }

  private get block(): string {
    return this.region.index!.block.block;
  }

  private find(op: number, flags: number, width: number, addr: number, value: number, repeat: number, seq: number, reg: RegisterInfo, rule: LintRule, severity: LintSeverity, problem: string): void {
    const a = { op, flags, width, addr, value, repeat, time: 0 } as AccessGroup;
    this.out.push({ seq, severity, rule, message: `${describeGroup(a, this.region, reg)}: ${problem}` });
  }
}

/** The rules that need the accesses before the one checked; feed it every access in order. */
class SequenceLint {
  private readonly byRegion = new Map<TraceRegion, RegionSequence | null>();
  /** The region of the last access, and its rules (null: the region has no map): consecutive
   * accesses mostly reach the same block. */
  private lastRegion: TraceRegion | undefined;
  private lastRules: RegionSequence | null = null;

  constructor(private readonly regions: readonly TraceRegion[], private readonly out: LintFinding[]) {}

  /** The rules of a region and what they remember, made the first time (null without a map). */
  of(region: TraceRegion): RegionSequence | null {
    let rules = this.byRegion.get(region);
    if (rules === undefined) {
      rules = region.index === undefined ? null : new RegionSequence(region, rulesFor(region.index), this.out);
      this.byRegion.set(region, rules);
    }
    return rules;
  }

  /** Forgets what the rules remember: the start of another sequence of accesses. The states
   * are kept, emptied (RegionState.forget). */
  reset(): void {
    for (const rules of this.byRegion.values()) rules?.forget();
  }

  observe(a: AccessGroup, seq: number): void {
    if ((a.flags & (FLAG_DMA | FLAG_FAULT)) !== 0 || (a.op !== OP_READ && a.op !== OP_WRITE)) return;
    let region = this.lastRegion;
    if (region === undefined || a.addr < region.base || a.addr >= region.end) {
      region = this.regions.find((r) => a.addr >= r.base && a.addr < r.end);
      if (region === undefined) return;
      this.lastRegion = region;
      this.lastRules = this.of(region);
    }
    this.lastRules?.observe(a.op, a.flags, a.width, a.addr, a.value, a.repeat, seq);
  }
}

/**
 * The sequence rules fed one access at a time, for a loop that keeps no trace (the fuzzer's):
 * the first error-severity finding an access causes. Warnings are left to lintTrace, as the
 * rules that give them are the ones the manuals state less firmly.
 */
export class SequenceLintStream {
  private readonly out: LintFinding[] = [];
  private readonly lint: SequenceLint;
  /** One access as observe() passes it on, reused: nothing is allocated per access. */
  private readonly group = { op: 0, flags: 0, width: 0, addr: 0, value: 0, repeat: 1, time: 0 };
  private seq = 0;

  constructor(private readonly regions: readonly TraceRegion[]) {
    this.lint = new SequenceLint(regions, this.out);
  }

  /** Back to the state of a new stream (over the same regions). */
  reset(): void {
    this.lint.reset();
    if (this.out.length !== 0) this.out.length = 0;
    this.seq = 0;
  }

  /** The rules of one of the stream's regions, for observeIn; null for a region without a map. */
  rulesOf(region: TraceRegion): RegionRules | null {
    if (!this.regions.includes(region)) throw new Error(`region ${region.name} is not one of the stream's`);
    return this.lint.of(region);
  }

  /** Checks one access (`op` the kind, `flags` its flag bits); the error it breaks, or null. */
  observe(op: number, flags: number, width: number, addr: number, value: number): LintFinding | null {
    const g = this.group;
    g.op = op;
    g.flags = flags;
    g.width = width;
    g.addr = addr;
    g.value = value;
    this.lint.observe(g as unknown as AccessGroup, this.seq++);
    return this.take();
  }

  /** observe() for an access the caller knows reaches `rules`' region: a CPU read or write
   * (OP_READ or OP_WRITE, not faulted). */
  observeIn(rules: RegionRules, op: number, width: number, addr: number, value: number): LintFinding | null {
    (rules as RegionSequence).observe(op, 0, width, addr, value, 1, this.seq++);
    return this.out.length === 0 ? null : this.take();
  }

  private take(): LintFinding | null {
    if (this.out.length === 0) return null;
    const error = this.out.find((f) => f.severity === "error") ?? null;
    this.out.length = 0;
    return error;
  }
}

/** One region's sequence rules inside a SequenceLintStream (opaque). */
export interface RegionRules {
  readonly region: TraceRegion;
}

function sameRead(a: TraceEntry, b: TraceEntry): boolean {
  return a.op === OP_READ && b.op === OP_READ && a.flags === b.flags && a.width === b.width && a.addr === b.addr && a.value === b.value;
}

/**
 * Lints the CPU accesses of a recorded trace against the maps of the bus regions they reached.
 * A poll (identical consecutive reads) gives one finding, at its first entry. Faulted accesses
 * are linted too: the rule they broke is usually the reason they faulted.
 */
export function lintTrace(trace: Trace, regions: readonly TraceRegion[], options: { from?: number; to?: number } = {}): LintFinding[] {
  const out: LintFinding[] = [];
  const sequence = new SequenceLint(regions, out);
  const from = Math.max(0, options.from ?? 0);
  const to = Math.min(trace.length, options.to ?? trace.length);
  // The sequence rules need what came before the range (the enable state, the last status
  // read): they read from the start, and only findings inside the range are kept.
  let i = 0;
  while (i < to) {
    const e = trace.entry(i);
    // A poll is never collapsed across the start of the range.
    const end = i < from ? from : to;
    let repeat = 1;
    while (i + repeat < end && sameRead(e, trace.entry(i + repeat))) repeat++;
    const group = { ...e, repeat };
    if (i >= from) lintAccess(group, i, regions, out);
    sequence.observe(group, i);
    i += repeat;
  }
  return from === 0 ? out : out.filter((f) => f.seq >= from);
}

/** Lints a parsed trace file against the maps its region lines name. */
export function lintParsedTrace(parsed: ParsedTrace): LintFinding[] {
  const regions = traceRegions(parsed.regions, parsed.registry);
  const out: LintFinding[] = [];
  const sequence = new SequenceLint(regions, out);
  for (const a of parsed.accesses) {
    lintAccess(a, a.seq, regions, out);
    sequence.observe(a, a.seq);
  }
  return out;
}

/** One line per finding (`#seq severity rule: message`); the empty string when there is none. */
export function lintReport(findings: readonly LintFinding[]): string {
  return findings.map((f) => `#${f.seq} ${f.severity} ${f.rule}: ${f.message}`).join("\n");
}

export class LintError extends Error {
  constructor(readonly findings: readonly LintFinding[]) {
    super(`${findings.length} lint finding${findings.length === 1 ? "" : "s"}:\n${lintReport(findings)}`);
    this.name = "LintError";
  }
}

/** Throws a LintError listing every finding (warnings too, unless allowed); for tests. */
export function expectLintClean(findings: readonly LintFinding[], options: { allowWarnings?: boolean } = {}): void {
  const failing = options.allowWarnings === true ? findings.filter((f) => f.severity === "error") : findings;
  if (failing.length > 0) throw new LintError(failing);
}
