// The memory map behind the module's three imports: regions of the physical address space, each
// backed by a device (a behavioural model, a replay, RAM, or hardware through the bridge). Every
// access is checked, timed on the virtual clock and recorded in the trace.
import { RegisterIndex, type RegisterBlock } from "./regmap.js";
import * as traceCodes from "./trace.js";
import { Trace, BARRIER_NAMES } from "./trace.js";

// The op codes as this module's own constants: V8 folds a module-level const into the code that
// uses it, but reloads a binding imported from another module (and checks it is initialised) at
// every use, and every access records one.
const { OP_READ, OP_WRITE, OP_BARRIER, FLAG_FAULT, FLAG_DMA } = traceCodes;

/** What backs a region. Offsets are relative to the region's base; the bus has already checked
 * alignment, bounds and width. Values are unsigned 32-bit numbers. */
export interface Device {
  read(offset: number, width: number): number;
  write(offset: number, value: number, width: number): void;
  /** For a device that must see barriers: real hardware behind the /dev/mem bridge executes the
   * CPU's own. Called after the bus has checked and recorded the barrier. */
  barrier?(kind: number): void;
  /** Optional, for a host that may stretch a poll (the fuzzer's World, docs/fuzzing.md#poll-latency):
   * called right after a read of `offset`, the virtual time until which another read of it
   * returns the same value and changes nothing, as long as nothing else reaches the device (no
   * write, no other register read, no bus master step, no test helper). A read at any time t
   * with clock.now <= t < stableUntil(offset) returns what the read just made returned. Return
   * Infinity when only an access can change it, and clock.now (or less) when a read has side
   * effects or the device cannot tell. */
  stableUntil?(offset: number): number;
}

/** Virtual time, in nanoseconds. The bus advances it by `accessNs` on every access, so a model
 * that needs time (a UART shifting bits out) behaves the same on every run and machine. */
export class VirtualClock {
  now = 0;
  constructor(public accessNs = 100) {}

  /** Moves time forward without an access (a test waiting, a scenario step). */
  advance(ns: number): void {
    if (!(ns >= 0)) throw new RangeError(`cannot advance the clock by ${ns} ns`);
    this.now += ns;
  }
}

/** Another bus master (a DMA controller). The bus calls step() before the CPU access that first
 * reaches the time the master asked for, so the master's accesses interleave with the CPU's in
 * virtual time. A master makes its own accesses with masterRead/masterWrite. */
export interface BusMaster {
  /** Does the work due by `now`; returns the virtual time of its next work, or Infinity. */
  step(now: number): number;
}

export interface RegionOptions {
  name: string;
  base: number;
  size: number;
  device: Device;
  /** The register map of the block in the region: enables width checks and decoding. */
  map?: RegisterBlock;
}

export interface Region {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly end: number;
  readonly device: Device;
  readonly index: RegisterIndex | undefined;
  /** The widths each word accepts (index.widthsByWord), or null when any width goes. */
  readonly widthsByWord: Uint8Array | null;
}

export type FaultKind = "unmapped" | "unaligned" | "width" | "barrier";

/** An access the bus refuses. It propagates through the module and ends the export call. */
export class BusFault extends Error {
  constructor(
    readonly kind: FaultKind,
    readonly isWrite: boolean,
    readonly addr: number,
    readonly width: number,
    readonly detail: string,
  ) {
    super(`bus fault: ${detail}`);
    this.name = "BusFault";
  }
}

/** The CPU made more accesses than the budget set with Bus.setAccessBudget(): a driver that does
 * not return, stopped by the host. Thrown from inside the module, it ends the export call. */
export class AccessBudgetExceeded extends Error {
  constructor(readonly budget: number) {
    super(`the driver made more than ${budget} bus accesses without returning (access budget exceeded)`);
    this.name = "AccessBudgetExceeded";
  }
}

const hex8 = (n: number): string => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** Called by the bus before each CPU access, between it and the access before: where an interrupt
 * can land (harness/interrupts.ts). `op` is OP_READ, OP_WRITE or OP_BARRIER; `addrOrKind` the
 * access's address, or a barrier's kind. */
export type AccessBoundaryHook = (op: number, addrOrKind: number) => void;

export class Bus {
  readonly regions: Region[] = [];
  readonly clock: VirtualClock;
  readonly trace: Trace;
  /** The imports object to instantiate the module with. */
  readonly imports: { env: { mmio_read: (addr: number, width: number) => number; mmio_write: (addr: number, value: number, width: number) => void; barrier: (kind: number) => void } };
  private last: Region | undefined;
  private readonly masters: BusMaster[] = [];
  /** Devices of the regions that take barriers (Device.barrier). */
  private readonly barrierDevices: Device[] = [];
  /** Earliest time a master asked to run at; Infinity while every master is idle. */
  private wakeAt = Infinity;
  private inMasters = false;
  /** CPU accesses left before AccessBudgetExceeded; Infinity when no budget is set. */
  private budgetLeft = Infinity;
  private budget = Infinity;
  /** Flags ORed into every CPU access recorded (FLAG_IRQ while an interrupt handler runs). */
  contextFlags = 0;
  /** Set by an interrupt delivery (harness/interrupts.ts); null when nothing listens, which
   * costs one comparison per access. */
  boundaryHook: AccessBoundaryHook | null = null;

  constructor(options: { clock?: VirtualClock; trace?: Trace } = {}) {
    this.clock = options.clock ?? new VirtualClock();
    this.trace = options.trace ?? new Trace();
    this.imports = {
      env: {
        mmio_read: (addr, width) => this.read(addr, width),
        mmio_write: (addr, value, width) => this.write(addr, value, width),
        barrier: (kind) => this.barrier(kind),
      },
    };
  }

  /** Adds a region; regions may not overlap. */
  map(options: RegionOptions): Region {
    const base = options.base >>> 0;
    const end = base + options.size;
    if (options.size <= 0 || end > 2 ** 32) throw new RangeError(`region ${options.name}: size 0x${options.size.toString(16)} at ${hex8(base)} does not fit the 32-bit address space`);
    if ((base & 3) !== 0) throw new RangeError(`region ${options.name}: base ${hex8(base)} is not word-aligned`);
    for (const r of this.regions) {
      if (r.name === options.name) throw new Error(`region name ${options.name} is used twice`);
      if (base < r.end && r.base < end) throw new RangeError(`region ${options.name} (${hex8(base)}..${hex8(end - 1)}) overlaps ${r.name} (${hex8(r.base)}..${hex8(r.end - 1)})`);
    }
    if (options.map !== undefined && options.size > options.map.size) throw new RangeError(`region ${options.name}: size 0x${options.size.toString(16)} exceeds the ${options.map.block} block (0x${options.map.size.toString(16)})`);
    const index = options.map === undefined ? undefined : new RegisterIndex(options.map);
    const region: Region = {
      name: options.name, base, size: options.size, end, device: options.device,
      index, widthsByWord: index === undefined ? null : index.widthsByWord,
    };
    this.regions.push(region);
    this.regions.sort((a, b) => a.base - b.base);
    if (options.device.barrier !== undefined && !this.barrierDevices.includes(options.device)) this.barrierDevices.push(options.device);
    return region;
  }

  region(name: string): Region {
    const r = this.regions.find((x) => x.name === name);
    if (r === undefined) throw new Error(`no region named ${name} (have: ${this.regions.map((x) => x.name).join(", ") || "none"})`);
    return r;
  }

  /** The region holding an address, or undefined. */
  regionAt(addr: number): Region | undefined {
    const last = this.last;
    if (last !== undefined && addr >= last.base && addr < last.end) return last;
    for (const r of this.regions) {
      if (addr >= r.base && addr < r.end) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /** The earliest virtual time a bus master asked to run at (Infinity while every master is
   * idle): a host that stretches a read may not stretch it past this. */
  get nextMasterTime(): number {
    return this.wakeAt;
  }

  /** CPU accesses left before the budget is exceeded (Infinity when none is set). */
  get accessesLeft(): number {
    return this.budgetLeft;
  }

  /** Counts `n` CPU accesses against the budget without making them: for a host that answered
   * repeated reads itself (harness/fuzz/world.ts), so that budgets count the same accesses. */
  countAccesses(n: number): void {
    this.budgetLeft -= n;
    if (this.budgetLeft < 0) this.overBudget();
  }

  /** Stops the CPU side after `accesses` more reads, writes or barriers (Infinity: no limit).
   * A fuzzer sets one per call so that a runaway driver is reported as a hang. */
  setAccessBudget(accesses: number): void {
    if (!(accesses >= 0)) throw new RangeError(`access budget ${accesses} is not a non-negative number`);
    this.budget = accesses;
    this.budgetLeft = accesses;
  }

  /** CPU accesses made since the budget was last set. */
  get accessesSinceBudget(): number {
    return this.budget - this.budgetLeft;
  }

  private overBudget(): never {
    throw new AccessBudgetExceeded(this.budget);
  }

  /** Adds a bus master; it first runs at the next access. */
  attachMaster(master: BusMaster): void {
    this.masters.push(master);
    this.wakeAt = this.clock.now;
  }

  /** Asks for the masters to run once virtual time reaches `time` (a master that became busy). */
  wake(time: number): void {
    if (time < this.wakeAt) this.wakeAt = time;
  }

  /** Advances virtual time by `ns` and lets the masters do the work due by then, each step at
   * the time it is due: a DMA access made during the wait is stamped, and seen by the models,
   * at its own time, not at the end of the wait. */
  settle(ns: number): void {
    if (!(ns >= 0)) throw new RangeError(`cannot advance the clock by ${ns} ns`);
    const clock = this.clock;
    const end = clock.now + ns;
    while (this.wakeAt <= end) {
      if (this.wakeAt > clock.now) clock.now = this.wakeAt;
      const at = clock.now;
      this.runMasters();
      // A master that asks to run again at once makes no progress without a CPU access.
      if (this.wakeAt <= at) break;
    }
    clock.now = end;
    if (clock.now >= this.wakeAt) this.runMasters();
  }

  private runMasters(): void {
    if (this.inMasters) return;
    this.inMasters = true;
    try {
      let next = Infinity;
      for (const m of this.masters) next = Math.min(next, m.step(this.clock.now));
      this.wakeAt = next;
    } finally {
      this.inMasters = false;
    }
  }

  /** A read by another bus master: checked and recorded with FLAG_DMA, no clock advance. */
  masterRead(addr: number, width: number): number {
    addr >>>= 0;
    const region = this.check(addr, width, false, 0, FLAG_DMA);
    const raw = region.device.read(addr - region.base, width);
    const value = width === 4 ? raw >>> 0 : raw & ((1 << (width * 8)) - 1);
    this.trace.record(OP_READ | FLAG_DMA, width, addr, value, this.clock.now);
    return value;
  }

  /** A write by another bus master: checked and recorded with FLAG_DMA, no clock advance. */
  masterWrite(addr: number, value: number, width: number): void {
    addr >>>= 0;
    const region = this.check(addr, width, true, value, FLAG_DMA);
    value = width === 4 ? value >>> 0 : value & ((1 << (width * 8)) - 1);
    this.trace.record(OP_WRITE | FLAG_DMA, width, addr, value, this.clock.now);
    region.device.write(addr - region.base, value, width);
  }

  read(addr: number, width: number): number {
    addr >>>= 0;
    if (this.boundaryHook !== null) this.boundaryHook(OP_READ, addr);
    if (--this.budgetLeft < 0) this.overBudget();
    // check(), inlined by hand: this is every access's path.
    let region = this.last;
    if (region === undefined || addr < region.base || addr + width > region.end || (addr & (width - 1)) !== 0 || (width !== 4 && width !== 1 && width !== 2)
      || (region.widthsByWord !== null && (region.widthsByWord[(addr - region.base) >>> 2]! & width) === 0)) region = this.checkSlow(addr, width, false, 0, 0);
    const clock = this.clock;
    const now = (clock.now += clock.accessNs);
    if (now >= this.wakeAt) this.runMasters();
    // The ABI zero-extends a read of `width` bytes: a model that answers with a whole register
    // is cut to the bytes the bus actually carried.
    const raw = region.device.read(addr - region.base, width);
    const value = width === 4 ? raw >>> 0 : raw & ((1 << (width * 8)) - 1);
    this.trace.record(OP_READ | this.contextFlags, width, addr, value, clock.now);
    return value;
  }

  /** A read that completes at virtual time `at` instead of one access time from now, when `at`
   * is later (a slower bus: the fuzzer's poll latency, docs/fuzzing.md#poll-latency); otherwise
   * exactly read(). The masters run as for any access that reaches their time. */
  readAt(addr: number, width: number, at: number): number {
    addr >>>= 0;
    if (this.boundaryHook !== null) this.boundaryHook(OP_READ, addr);
    if (--this.budgetLeft < 0) this.overBudget();
    const region = this.check(addr, width, false, 0);
    const clock = this.clock;
    const next = clock.now + clock.accessNs;
    const now = (clock.now = at > next ? at : next);
    if (now >= this.wakeAt) this.runMasters();
    const raw = region.device.read(addr - region.base, width);
    const value = width === 4 ? raw >>> 0 : raw & ((1 << (width * 8)) - 1);
    this.trace.record(OP_READ | this.contextFlags, width, addr, value, clock.now);
    return value;
  }

  write(addr: number, value: number, width: number): void {
    addr >>>= 0;
    if (this.boundaryHook !== null) this.boundaryHook(OP_WRITE, addr);
    if (--this.budgetLeft < 0) this.overBudget();
    let region = this.last;
    if (region === undefined || addr < region.base || addr + width > region.end || (addr & (width - 1)) !== 0 || (width !== 4 && width !== 1 && width !== 2)
      || (region.widthsByWord !== null && (region.widthsByWord[(addr - region.base) >>> 2]! & width) === 0)) region = this.checkSlow(addr, width, true, value, 0);
    // The ABI takes the low `width` bytes of the value.
    value = width === 4 ? value >>> 0 : value & ((1 << (width * 8)) - 1);
    const clock = this.clock;
    const now = (clock.now += clock.accessNs);
    if (now >= this.wakeAt) this.runMasters();
    this.trace.record(OP_WRITE | this.contextFlags, width, addr, value, clock.now);
    region.device.write(addr - region.base, value, width);
  }

  barrier(kind: number): void {
    if (this.boundaryHook !== null) this.boundaryHook(OP_BARRIER, kind);
    if (--this.budgetLeft < 0) this.overBudget();
    if (kind !== 0 && kind !== 1 && kind !== 2) {
      this.trace.record(OP_BARRIER | FLAG_FAULT | this.contextFlags, 0, 0, kind >>> 0, this.clock.now);
      throw new BusFault("barrier", false, 0, 0, `barrier kind ${kind} is none of 0 (DMB), 1 (DSB), 2 (ISB)`);
    }
    this.clock.now += this.clock.accessNs;
    if (this.clock.now >= this.wakeAt) this.runMasters();
    this.trace.record(OP_BARRIER | this.contextFlags, 0, 0, kind, this.clock.now);
    for (const device of this.barrierDevices) device.barrier!(kind);
  }

  /** Alignment, mapping and width checks. The common case (the same region as the last access,
   * aligned, a width the register takes) is a handful of comparisons small enough to be inlined
   * into every access; anything else goes to checkSlow, which finds the region or the fault. */
  private check(addr: number, width: number, isWrite: boolean, value: number, flags = 0): Region {
    const r = this.last;
    if (r !== undefined && addr >= r.base && addr + width <= r.end && (addr & (width - 1)) === 0 && (width === 4 || width === 1 || width === 2)) {
      const widths = r.widthsByWord;
      if (widths === null || (widths[(addr - r.base) >>> 2]! & width) !== 0) return r;
    }
    return this.checkSlow(addr, width, isWrite, value, flags);
  }

  private checkSlow(addr: number, width: number, isWrite: boolean, value: number, flags: number): Region {
    if (width !== 1 && width !== 2 && width !== 4) this.fault("width", addr, width, isWrite, value, flags, `width ${width} is none of 1, 2, 4`);
    if ((addr & (width - 1)) !== 0) this.fault("unaligned", addr, width, isWrite, value, flags, `not aligned to ${width} bytes`);
    const region = this.regionAt(addr);
    if (region === undefined || addr + width > region.end) this.fault("unmapped", addr, width, isWrite, value, flags, "no region maps this address");
    const index = region.index;
    if (index !== undefined && (index.widthsByWord[(addr - region.base) >>> 2]! & width) === 0) {
      const offset = addr - region.base;
      const name = index.nameAt(offset, isWrite) ?? "reserved offset";
      this.fault("width", addr, width, isWrite, value, flags, `${region.name}+0x${offset.toString(16).padStart(3, "0")} (${name}) does not accept ${width}-byte accesses`);
    }
    return region;
  }

  /** Records a refused access in the trace (with the value a write tried to store, cut to the
   * bytes of the access as the bus would carry them), then throws it. */
  private fault(kind: FaultKind, addr: number, width: number, isWrite: boolean, value: number, flags: number, reason: string): never {
    const op = (isWrite ? OP_WRITE : OP_READ) | FLAG_FAULT | (flags === 0 ? this.contextFlags : flags);
    const recordedWidth = width & 0xff;
    const stored = !isWrite || recordedWidth === 0 ? 0 : recordedWidth >= 4 ? value >>> 0 : value & (2 ** (recordedWidth * 8) - 1);
    this.trace.record(op, recordedWidth, addr, stored, this.clock.now);
    const what = `${flags & FLAG_DMA ? "DMA " : ""}${isWrite ? "write" : "read"} of ${width} byte${width === 1 ? "" : "s"} at ${hex8(addr)}`;
    throw new BusFault(kind, isWrite, addr, width, `${what}: ${reason}`);
  }

  /** A short human description of an address: region+offset and register name. */
  describe(addr: number, isWrite = false): string {
    const region = this.regionAt(addr >>> 0);
    if (region === undefined) return hex8(addr);
    const offset = (addr >>> 0) - region.base;
    const name = region.index?.nameAt(offset, isWrite);
    return `${region.name}+0x${offset.toString(16).padStart(3, "0")}${name === undefined ? "" : ` ${name}`}`;
  }
}

export { BARRIER_NAMES };
