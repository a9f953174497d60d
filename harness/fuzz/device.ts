// A device wrapper that lets the fuzzer decide what register reads return. Every read still
// reaches the model (so a DR read still pops the FIFO); an active response override then replaces
// some of the bits of the value. Each replaced value is judged against the register map
// (legal.ts), so that a finding knows whether it needed a value the hardware can never produce.
import type { Device } from "../bus.js";
import { RegisterIndex, type RegisterBlock, type RegisterInfo } from "../regmap.js";
import { registerLegality, illegality, legalize } from "./legal.js";
import type { ReadScript } from "./replay.js";

/** A response override as a fuzz step gives it. */
export interface ResponseOverride {
  /** The register whose reads it changes (any alias of it, for an address-masked register). */
  readonly reg: RegisterInfo;
  /** Reads of it to let through unchanged first. */
  skip: number;
  /** Reads to change; 0 = every read from then on (a stuck value). */
  count: number;
  /** Bits replaced, and their value. */
  readonly mask: number;
  readonly value: number;
  /** Make the result legal (legal.ts) before returning it. */
  readonly legalize: boolean;
}

/** A read whose value was replaced, for reports and the legal/impossible label. */
export interface ReplacedRead {
  readonly region: string;
  readonly reg: string;
  readonly offset: number;
  readonly truth: number;
  readonly value: number;
  /** Why the hardware could not produce it, or null. */
  readonly illegal: string | null;
  /** Reads in a row that were replaced alike. */
  count: number;
}

/** Flips bits of every read of one register from a given read on (the hang analysis asks which
 * bits a poll waits for). */
export interface BitProbe {
  readonly reg: RegisterInfo;
  /** Reads of the register to let through first, counted from when the probe is set. */
  skip: number;
  readonly xor: number;
}

/** Replaced reads counted over several devices (a world's): whether any read was replaced is
 * then one load, however many devices there are. */
export interface ReplacedTally {
  count: number;
}

/** Replaced reads kept per execution for the report; further ones are only counted. */
const REPLACED_KEPT = 16;

export class FuzzDevice implements Device {
  private readonly overrides: ResponseOverride[] = [];
  private probe: BitProbe | null = null;
  /** Reads whose value was replaced in this execution (the first REPLACED_KEPT). */
  readonly replaced: ReplacedRead[] = [];
  replacedCount = 0;
  illegalCount = 0;
  /** Called with every write before the device sees it: a session checks what the driver
   * wrote, and in what state of the device, whatever the device then does with it. */
  onWrite: ((offset: number, value: number, width: number) => void) | null = null;

  readonly index: RegisterIndex | undefined;

  /** Barriers reach the wrapped model when it takes them (the STM32 RCC model ends its
   * enable-delay window on a DSB): the bus hands barriers only to devices that have this. */
  readonly barrier?: (kind: number) => void;

  /** `tally` counts this device's replaced reads too (its owner resets it). */
  constructor(readonly name: string, readonly inner: Device, readonly block: RegisterBlock | undefined, private readonly tally: ReplacedTally = { count: 0 }) {
    this.index = block === undefined ? undefined : new RegisterIndex(block);
    if (inner.barrier !== undefined) this.barrier = (kind) => inner.barrier!(kind);
  }

  /** Start of an execution: no overrides, nothing replaced. */
  restart(): void {
    // Emptied only when not empty: setting an array's length is a call into the runtime even
    // when it changes nothing, and this runs per device per execution.
    if (this.overrides.length !== 0) this.overrides.length = 0;
    this.probe = null;
    if (this.replaced.length !== 0) this.replaced.length = 0;
    this.replacedCount = 0;
    this.illegalCount = 0;
  }

  addOverride(override: ResponseOverride): void {
    this.overrides.push(override);
  }

  setProbe(probe: BitProbe | null): void {
    this.probe = probe;
  }

  /** A recording being replayed: reads return its values. */
  script: ReadScript | null = null;
  private base = 0;

  /** Where the bus maps the device (replays look reads up by bus address). */
  mappedAt(base: number): void {
    this.base = base;
  }

  read(offset: number, width: number): number {
    const truth = this.inner.read(offset, width);
    if (this.script !== null) return this.script.readValue(this.base + offset, width, truth >>> 0);
    if (this.overrides.length === 0 && this.probe === null) {
      this.lastReadReplaced = false;
      this.lastReadCounted = false;
      return truth;
    }
    return this.respond(offset, width, truth >>> 0);
  }

  /** Whether the last read's value was replaced (an override or a probe changed it). */
  lastReadReplaced = false;
  /** Whether an override or probe of the register counted the last read (it skipped it, or
   * changed one of a limited number of reads): the next read may be answered otherwise. */
  private lastReadCounted = false;
  /** The bookkeeping of the last replaced read, for repeatRead(). */
  private repeatIllegal = false;
  private repeatEntry: ReplacedRead | null = null;

  /**
   * Device.stableUntil, with the overrides: until when another read of `offset` returns what the
   * last one returned. Never stable while a recording answers, or while an override or a probe
   * of the register still counts reads (it skips some, or changes only some).
   */
  stableUntil(offset: number): number {
    if (this.script !== null || this.lastReadCounted || this.inner.stableUntil === undefined) return -Infinity;
    return this.inner.stableUntil(offset);
  }

  /** `n` reads that repeat the last one, answered without the model (the world's repeated-read
   * path, world.ts): counts them as read() would have, when the last read was replaced. */
  repeatReads(n: number): void {
    this.replacedCount += n;
    this.tally.count += n;
    if (this.repeatIllegal) this.illegalCount += n;
    if (this.repeatEntry !== null) this.repeatEntry.count += n;
  }

  write(offset: number, value: number, width: number): void {
    if (this.onWrite !== null) this.onWrite(offset, value, width);
    this.inner.write(offset, value, width);
  }

  // The last replacement judged: a stuck value polled a million times is judged once.
  private lastReg: RegisterInfo | undefined;
  private lastOffset = -1;
  private lastTruth = -1;
  private lastRaw = -1;
  private lastLegalize = -1;
  private lastValue = 0;
  private lastWhy: string | null = null;

  private respond(offset: number, width: number, truth: number): number {
    const reg = this.index?.at(offset);
    this.lastReadCounted = false;
    if (reg === undefined || this.block === undefined) {
      this.lastReadReplaced = false;
      return truth;
    }
    let raw = truth;
    let legalizeMask = -1;
    let changed = false;
    for (let i = 0; i < this.overrides.length; i++) {
      const o = this.overrides[i]!;
      if (o.reg !== reg) continue;
      if (o.skip > 0 || o.count > 0) this.lastReadCounted = true;
      if (o.skip > 0) {
        o.skip--;
        continue;
      }
      raw = ((raw & ~o.mask) | (o.value & o.mask)) >>> 0;
      if (o.legalize) legalizeMask = legalizeMask === -1 ? o.mask : legalizeMask | o.mask;
      changed = true;
      if (o.count > 0 && --o.count === 0) this.overrides.splice(i--, 1);
    }
    const probe = this.probe;
    let xor = 0;
    if (probe !== null && probe.reg === reg) {
      if (probe.skip > 0) this.lastReadCounted = true;
      if (probe.skip > 0) probe.skip--;
      else {
        xor = probe.xor;
        changed = true;
      }
    }
    if (!changed) {
      this.lastReadReplaced = false;
      return truth;
    }
    let value: number;
    let why: string | null;
    if (reg === this.lastReg && offset === this.lastOffset && truth === this.lastTruth && raw === this.lastRaw && legalizeMask === this.lastLegalize && xor === 0) {
      value = this.lastValue;
      why = this.lastWhy;
    } else {
      const legality = registerLegality(this.block, reg);
      value = raw;
      if (legalizeMask !== -1) {
        value = legalize(legality, offset, truth, raw, legalizeMask >>> 0);
        // Where keeping every forced bit breaks a rule, repair without that preference; if even
        // that fails, answer what the model answered.
        if (illegality(legality, offset, truth, value) !== null) value = legalize(legality, offset, truth, raw, 0);
        if (illegality(legality, offset, truth, value) !== null) value = truth;
      }
      value = (value ^ xor) >>> 0;
      if (width < 4) value &= width === 1 ? 0xff : 0xffff;
      why = value === truth ? null : illegality(legality, offset, truth, value);
      if (xor === 0) {
        this.lastReg = reg;
        this.lastOffset = offset;
        this.lastTruth = truth;
        this.lastRaw = raw;
        this.lastLegalize = legalizeMask;
        this.lastValue = value;
        this.lastWhy = why;
      }
    }
    if (value === truth) {
      this.lastReadReplaced = false;
      return value;
    }
    this.lastReadReplaced = true;
    this.replacedCount++;
    this.tally.count++;
    if (why !== null) this.illegalCount++;
    this.repeatIllegal = why !== null;
    const last = this.replaced[this.replaced.length - 1];
    if (last !== undefined && last.offset === offset && last.truth === truth && last.value === value) {
      last.count++;
      this.repeatEntry = last;
    } else if (this.replaced.length < REPLACED_KEPT) {
      const entry: ReplacedRead = { region: this.name, reg: reg.name, offset, truth, value, illegal: why, count: 1 };
      this.replaced.push(entry);
      this.repeatEntry = entry;
    } else {
      this.repeatEntry = null;
    }
    return value;
  }
}
