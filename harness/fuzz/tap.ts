// The fuzzer's trace: a Trace that, besides recording when enabled, keeps the last accesses in
// a small ring and checks every CPU access there against the register maps (the rules of
// harness/lint.ts, from tables built once per region), in order, when asked for the finding.
// Fuzzing runs with recording off, so an execution costs a few comparisons per access; a failing
// case is run again with recording on to report it with lintTrace and the full trace.
import type { Region } from "../bus.js";
import { SequenceLintStream, WATCH_CONSUMES, WATCH_READ, WATCH_WRITE, sequenceWatchTable, type LintRule, type RegionRules } from "../lint.js";
import * as traceCodes from "../trace.js";
import { Trace } from "../trace.js";

// The trace codes as this module's own constants, folded into the code that uses them: a binding
// imported (or exported) is loaded from its cell, and checked, at every use, and record() runs per
// access (the same as bus.ts does).
const { OP_READ, OP_WRITE, OP_BARRIER, OP_MASK, FLAG_DMA, FLAG_FAULT } = traceCodes;

/** barrier() kind of a DSB (docs/abi.md 1.2). */
const BARRIER_DSB = 1;
import { fieldBits } from "./legal.js";
import type { ReadScript } from "./replay.js";

// A region's lint table holds, for each byte offset and each of read and write, what an access
// there needs (0: nothing, the common case): the single-access rule it breaks, whether its value's
// bits are checked, and whether the sequence rules look at it. Built once per region.
/** The rule an access breaks by its offset alone, as a code of RULE_CODES (0: none). */
const RULE_MASK = 7;
const RULE_CODES: readonly (LintRule | null)[] = [null, "reserved-offset", "write-to-read-only", "read-of-write-only", "test-register"];
/** A write of this register stores its value (value or w1c): reserved bits are checked. */
const CHECK_BITS = 8;
/** A register of write-0-to-clear flags: the complement of one flag (`SR = ~TC`, 1s in every
 * reserved bit too) is the clearing idiom, not a reserved-bits write (harness/lint.ts says so
 * too). */
const COMPLEMENT_OK = 16;
/** The sequence rules look at the access (lint.ts sequenceWatchTable). */
const SEQUENCE = 32;
/** A read the sequence rules look at that consumes nothing: made again right after the last
 * access they were fed, with the same width and value, it changes nothing they keep and breaks
 * nothing (lint.ts sequenceWatchTable, WATCH_CONSUMES clear), and is left out. */
const REPEAT_SAFE = 64;

/** The first lint finding of an execution, as the tap saw it. */
export interface TapFinding {
  readonly rule: LintRule;
  /** Accesses made in the execution before it. */
  readonly index: number;
  readonly op: number;
  readonly width: number;
  readonly addr: number;
  readonly value: number;
}

interface RegionTable {
  readonly base: number;
  readonly end: number;
  /** By byte offset: what a CPU read, and a CPU write, there needs (the flags above). */
  readonly readAction: Uint8Array;
  readonly writeAction: Uint8Array;
  /** Bits a write may set, per word (fields, or the register's width without fields). */
  readonly allowed: Uint32Array;
  /** The region's sequence rules in the trace's stream, or null when there is no stream. */
  readonly rules: RegionRules | null;
}

function tableFor(region: Region, stream: SequenceLintStream | null): RegionTable | undefined {
  const index = region.index;
  if (index === undefined) return undefined;
  const words = Math.ceil(region.size / 4);
  const readAction = new Uint8Array(region.size);
  const writeAction = new Uint8Array(region.size);
  const allowed = new Uint32Array(words);
  const watch = sequenceWatchTable(index);
  for (let w = 0; w < words; w++) {
    const reg = index.at(w * 4);
    // In the order the rules are tried (harness/lint.ts lintAccess reports them all; the tap the
    // first).
    let read = 0;
    let write = 0;
    if (reg === undefined) {
      read = write = 1; // reserved-offset
    } else {
      write = reg.write === "ignored" ? 2 : reg.test ? 4 : reg.write === "value" || reg.write === "w1c" ? CHECK_BITS : 0;
      if (write === CHECK_BITS && reg.fields.some((field) => field.write === "w0c")) write |= COMPLEMENT_OK;
      read = reg.read === "undefined" ? 3 : reg.test ? 4 : 0;
      allowed[w] = fieldBits(reg);
    }
    for (let b = w * 4; b < Math.min(region.size, w * 4 + 4); b++) {
      // An offset the table does not cover is taken as watched both ways (the safe side).
      const watched = watch[b] ?? (WATCH_READ | WATCH_WRITE);
      readAction[b] = read | ((watched & WATCH_READ) !== 0 ? SEQUENCE | ((watched & WATCH_CONSUMES) === 0 ? REPEAT_SAFE : 0) : 0);
      writeAction[b] = write | ((watched & WATCH_WRITE) !== 0 ? SEQUENCE : 0);
    }
  }
  return { base: region.base, end: region.end, readAction, writeAction, allowed, rules: stream?.rulesOf(region) ?? null };
}

/** Accesses kept for the report of a hang (a power of two). */
const RING_ENTRIES = 256;
export const RING_SIZE = RING_ENTRIES;

/** Words an access takes in the ring, and where its width sits in the first. */
const RING_STRIDE = 4;
const RING_WIDTH_SHIFT = 8;
const RING_OP_MASK = 0xff;

/** DMA accesses a recorded execution keeps; past this they are counted (dmaUnrecorded). A DMA
 * chain that never ends (an LLI linked to itself) moves data for as long as the driver polls,
 * and recording all of it once ran a report out of memory. */
export const DMA_RECORD_LIMIT = 1 << 16;

export class FuzzTrace extends Trace {
  private tables: RegionTable[] = [];
  /** The regions with maps, for the rules over sequences of accesses (lint.ts). */
  private mapped: readonly Region[] = [];
  private sequence: SequenceLintStream | null = null;
  private lastTable: RegionTable | undefined;
  /** Accesses recorded (or seen, while recording is off) since the execution began. */
  seen = 0;
  /** Accesses the lint has read, from the ring (or was told to leave out: repeated reads). */
  private linted = 0;
  private firstFinding: TapFinding | null = null;
  /** The last access fed to the sequence rules (op -1: none since the restart). */
  private fedOp = -1;
  private fedWidth = 0;
  private fedAddr = 0;
  private fedValue = 0;
  /** DSB barriers seen in the execution. */
  dsbs = 0;
  /** DMA accesses recorded in this execution, and those past DMA_RECORD_LIMIT left out. */
  private dmaRecorded = 0;
  dmaUnrecorded = 0;
  /** A recording being replayed: every access is compared with it. */
  script: ReadScript | null = null;
  /** The ring, RING_STRIDE words an access: the op with the width in bits 8-15 (RING_WIDTH_SHIFT),
   * the address, the value. One array: each access stores, and the lint loads, through one
   * typed array's checks. */
  private readonly ring = new Uint32Array(RING_ENTRIES * RING_STRIDE);

  /** Builds the lint tables; call again after mapping regions. */
  useRegions(regions: readonly Region[]): void {
    // Accesses made so far are judged by the tables they were made under.
    if (this.linted !== this.seen) this.lintPending();
    this.mapped = regions.filter((r) => r.index !== undefined);
    this.sequence = this.mapped.length > 0 ? new SequenceLintStream(this.mapped) : null;
    this.tables = [];
    for (const r of regions) {
      const t = tableFor(r, this.sequence);
      if (t !== undefined) this.tables.push(t);
    }
    this.lastTable = undefined;
    this.fedOp = -1;
  }

  /** Start of an execution: forgets the finding and the ring, and the recorded entries. */
  restart(): void {
    this.seen = 0;
    this.linted = 0;
    this.firstFinding = null;
    this.fedOp = -1;
    this.dsbs = 0;
    this.dmaRecorded = 0;
    this.dmaUnrecorded = 0;
    // What the sequence rules remember (enable bits, the last status read) is per execution.
    if (this.sequence !== null) this.sequence.reset();
    this.clear();
  }

  /**
   * The first lint finding of the execution, or null. The lint reads the accesses from the ring
   * when asked (a session asks after each call), and before the ring would overwrite one it has
   * not read: record() only stores an access. Read in order, the accesses give the finding, and
   * its index, that checking each as it happened gave: a session reads the finding only after
   * a call has returned.
   */
  get finding(): TapFinding | null {
    if (this.linted !== this.seen) this.lintPending();
    return this.firstFinding;
  }

  override record(op: number, width: number, addr: number, value: number, time: number): void {
    const seen = this.seen;
    if (seen - this.linted === RING_ENTRIES) this.lintPending();
    const j = (seen & (RING_ENTRIES - 1)) * RING_STRIDE;
    this.seen = seen + 1;
    const ring = this.ring;
    ring[j] = op | (width << RING_WIDTH_SHIFT);
    ring[j + 1] = addr;
    ring[j + 2] = value;
    if (op === OP_BARRIER && value === BARRIER_DSB) this.dsbs++;
    if (this.script !== null) this.script.observe(op, width, addr, value);
    if (!this.enabled) return;
    if ((op & FLAG_DMA) !== 0 && this.dmaRecorded++ >= DMA_RECORD_LIMIT) {
      this.dmaUnrecorded++;
      return;
    }
    super.record(op, width, addr, value, time);
  }

  /**
   * `n` reads that repeat the access just before them exactly (same op, width, address and
   * value), answered by the world without reaching the device (world.ts, only while recording
   * is off and no recording is replayed): the ring and the counts move as record() would move
   * them. The lint does not look at them: a repeat breaks no rule its first read did not, and
   * the sequence rules read a poll as one access, as lintTrace groups it.
   */
  repeatReads(n: number): void {
    if (this.linted !== this.seen) this.lintPending();
    const mask = RING_ENTRIES - 1;
    const seen = this.seen;
    const ring = this.ring;
    const p = ((seen - 1) & mask) * RING_STRIDE;
    const opWidth = ring[p]!;
    const addr = ring[p + 1]!;
    const value = ring[p + 2]!;
    for (let k = Math.max(seen, seen + n - RING_ENTRIES); k < seen + n; k++) {
      const j = (k & mask) * RING_STRIDE;
      ring[j] = opWidth;
      ring[j + 1] = addr;
      ring[j + 2] = value;
    }
    this.seen = seen + n;
    this.linted = seen + n;
  }

  /** The same rules as lint.ts, from the tables, for the CPU reads and writes in the ring that
   * the lint has not read: the single-access rules, then the sequence rules, up to the first
   * finding. No allocation unless something is wrong. */
  private lintPending(): void {
    const end = this.seen;
    let k = this.linted;
    this.linted = end;
    if (this.firstFinding !== null) return;
    const ring = this.ring;
    let t = this.lastTable;
    for (; k < end; k++) {
      const j = (k & (RING_ENTRIES - 1)) * RING_STRIDE;
      const opWidth = ring[j]!;
      if ((opWidth & (FLAG_DMA | OP_BARRIER)) !== 0) continue;
      const addr = ring[j + 1]!;
      if (t === undefined || addr < t.base || addr >= t.end) {
        t = this.tableAt(addr);
        if (t === undefined) continue;
      }
      const offset = addr - t.base;
      const action = (opWidth & OP_MASK) === OP_WRITE ? t.writeAction[offset]! : t.readAction[offset]!;
      if (action === 0) continue;
      const value = ring[j + 2]!;
      // A write whose register stores its value, and nothing else to check: its reserved bits,
      // the most common check, here. A write that is not a fault is aligned, so its bytes stay
      // inside the word (integer shifts: the float form took a library call per write).
      if (action === CHECK_BITS && (opWidth & FLAG_FAULT) === 0 && ((value << ((addr & 3) << 3)) & ~t.allowed[offset >>> 2]!) === 0) continue;
      const op = opWidth & RING_OP_MASK;
      const width = opWidth >>> RING_WIDTH_SHIFT;
      let rule: LintRule | null;
      if ((action & ~(SEQUENCE | REPEAT_SAFE)) === 0) {
        // Only the sequence rules look at it: a status register polled between data writes is
        // the read they were fed last, again (same op, width, address and value).
        if ((opWidth & FLAG_FAULT) !== 0 || t.rules === null) continue;
        if ((action & REPEAT_SAFE) !== 0 && op === this.fedOp && width === this.fedWidth && addr === this.fedAddr && value === this.fedValue) continue;
        rule = this.feed(t.rules, op, width, addr, value);
      } else {
        rule = this.judge(t, offset, action, op, width, addr, value);
      }
      if (rule !== null) {
        this.firstFinding = { rule, index: k, op, width, addr, value };
        return;
      }
    }
  }

  /** The table of the region holding `addr` (now the last one), or undefined. */
  private tableAt(addr: number): RegionTable | undefined {
    for (const c of this.tables) {
      if (addr >= c.base && addr < c.end) {
        this.lastTable = c;
        return c;
      }
    }
    return undefined;
  }

  /** The rule one access breaks, or null: the rules its `action` names. */
  private judge(t: RegionTable, offset: number, action: number, op: number, width: number, addr: number, value: number): LintRule | null {
    let rule: LintRule | null = RULE_CODES[action & RULE_MASK] ?? null;
    if (rule === null && (action & CHECK_BITS) !== 0 && (op & FLAG_FAULT) === 0) {
      const allowed = t.allowed[offset >>> 2]!;
      const shifted = (value << ((addr & 3) << 3)) >>> 0;
      const stray = (shifted & ~allowed) >>> 0;
      const complement = (action & COMPLEMENT_OK) !== 0 && ((shifted | allowed) >>> 0) === 0xffffffff;
      if (stray !== 0 && !complement) rule = "reserved-bits";
    }
    if (rule === null && (action & SEQUENCE) !== 0 && (op & FLAG_FAULT) === 0 && t.rules !== null) rule = this.feed(t.rules, op, width, addr, value);
    return rule;
  }

  /** Feeds a CPU access (`op` with its flags) to the sequence rules: the rule it breaks, or null. */
  private feed(rules: RegionRules, op: number, width: number, addr: number, value: number): LintRule | null {
    this.fedOp = op;
    this.fedWidth = width;
    this.fedAddr = addr;
    this.fedValue = value;
    const found = this.sequence!.observeIn(rules, op & OP_MASK, width, addr, value);
    return found === null ? null : found.rule;
  }

  /** The last accesses, oldest first (at most RING_SIZE), as the ring holds them. */
  tail(): { op: number; width: number; addr: number; value: number }[] {
    const n = Math.min(this.seen, RING_ENTRIES);
    const out: { op: number; width: number; addr: number; value: number }[] = [];
    for (let k = this.seen - n; k < this.seen; k++) {
      const i = k & (RING_ENTRIES - 1);
      const j = i * RING_STRIDE;
      out.push({ op: this.ring[j]! & RING_OP_MASK, width: this.ring[j]! >>> RING_WIDTH_SHIFT, addr: this.ring[j + 1]!, value: this.ring[j + 2]! });
    }
    return out;
  }
}
