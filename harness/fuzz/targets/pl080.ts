// Fuzz target: the PL080 DMA driver against the PL080 model, with RAM, the module's linear memory
// mapped on the bus, a hole where nothing answers (a bus error), a RAM that can be made to fail
// one access, and two peripherals on request lines (a sink that takes bytes, a source that gives
// a stream). The simple model: a transfer that finished without error copied its source exactly,
// and no byte outside its destination changed.
import fc from "fast-check";
import { BusFault, type Device } from "../../bus.js";
import { Pl080Model } from "../../devices/pl080.js";
import { DMA_BREQ, DMA_SREQ, type DmaDirection, type DmaRequester } from "../../devices/signals.js";
import { PL080_MAP, PL080_C0SrcAddr, PL080_C1SrcAddr, PL080_C0Configuration, PL080_C0Configuration_E, PL080_C0Configuration_H } from "../../generated/pl080.js";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_DMA, ERR_BUSY,
  PL080_CONFIG_WIDTH_MASK, PL080_CONFIG_PERIPH_FLOW, PL080_CONFIG_VALID_MASK, PL080_CHANNELS, PL080_REQUEST_LINES,
  PL080_LLI_ITEMS, PL080_MAX_ITEM_TRANSFERS, PL080_SG_ENTRY_SIZE,
} from "../../generated/api.js";
import type { World } from "../world.js";
import {
  Session, describeCommon, num, respondSteps, respondTargets, showResult, str, waitStep,
  type ExportSpec, type Step, type StepOptions, type Target,
} from "../target.js";

/** The board (ARM Versatile's DMAC address; the rest is this harness's choice). */
export const PL080_FUZZ_BASE = 0x10130000;
const RAM_BASE = 0x20000000;
const RAM_SIZE = 0x10000;
/** Sources live in the low half of RAM, destinations in the high half. */
const HALF = RAM_SIZE / 2;
/** Nothing is mapped here: a DMA access to it gets an error response. */
const HOLE = 0x30000000;
const SINK_BASE = 0x40000000;
const SOURCE_BASE = 0x40001000;
const SINK_LINE = 3;
const SOURCE_LINE = 5;
/** Where linear memory appears on the bus (pl080_set_memory_address). */
const LINEAR = 0x80000000;
/** DMA to or from linear memory stays in the first half of the scratch buffer; the list of a
 * scatter-gather call goes in its last quarter. */
const LINEAR_AREA = 2048;
const SG_LIST_OFFSET = 3072;

// Limits of assembly/pl080.ts.
const ENABLE_POLL_LIMIT = 16;
const IDLE_POLL_LIMIT = 2 ** 10;
const HALT_POLL_LIMIT = 2 ** 14;
const WAIT_POLL_LIMIT = 2 ** 20;

const START_BUDGET = 2 * IDLE_POLL_LIMIT + 16;
/** Channel register groups: channel n at 0x100 + 0x20 n (docs/primecell.md 4.1); Configuration at +0x10. */
const CHANNEL_REGISTERS = PL080_C0SrcAddr;
const CHANNEL_STRIDE = PL080_C1SrcAddr - PL080_C0SrcAddr;
const CONFIGURATION_OFFSET = PL080_C0Configuration - PL080_C0SrcAddr;
const EXPORTS: readonly ExportSpec[] = [
  { name: "pl080_set_memory_address", statuses: [OK, ERR_INVALID_ARG], budget: () => 1 },
  // The enable write and its poll, then halt, drain and disable for each channel, two clears.
  { name: "pl080_init", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => 1 + ENABLE_POLL_LIMIT + PL080_CHANNELS * (HALT_POLL_LIMIT + 4) + 4 },
  // The idle wait (two reads a poll), two clears, four channel writes, a DSB and the start.
  { name: "pl080_memcpy", statuses: [OK, ERR_INVALID_ARG, ERR_BUSY], budget: () => START_BUDGET },
  { name: "pl080_sg", statuses: [OK, ERR_INVALID_ARG, ERR_BUSY], budget: () => START_BUDGET },
  { name: "pl080_mem_to_periph", statuses: [OK, ERR_INVALID_ARG, ERR_BUSY], budget: () => START_BUDGET },
  { name: "pl080_periph_to_mem", statuses: [OK, ERR_INVALID_ARG, ERR_BUSY], budget: () => START_BUDGET },
  { name: "pl080_wait", statuses: [OK, ERR_INVALID_ARG, ERR_DMA, ERR_TIMEOUT], budget: () => WAIT_POLL_LIMIT + 4 },
  // The E read, H set by a read-modify-write, the drain polls, the disable write, two clears.
  { name: "pl080_stop", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => 1 + 2 + HALT_POLL_LIMIT + 1 + 2 },
];

/** RAM that answers with a bus error on one chosen access (fault injection). */
class FaultyRam implements Device {
  readonly bytes = new Uint8Array(RAM_SIZE);
  private readonly view = new DataView(this.bytes.buffer);
  /** Accesses left before the injected error; -1 when none is armed. */
  failIn = -1;
  fired = false;
  /** The bytes written since `restore`, [dirtyFrom, dirtyTo) (all of them before the first). */
  dirtyFrom = 0;
  dirtyTo = RAM_SIZE;

  /** Puts `pattern` back where anything was written (64 KiB copied every execution was most of
   * the target's reset). */
  restore(pattern: Uint8Array): void {
    if (this.dirtyTo > this.dirtyFrom) this.bytes.set(pattern.subarray(this.dirtyFrom, this.dirtyTo), this.dirtyFrom);
    this.dirtyFrom = RAM_SIZE;
    this.dirtyTo = 0;
  }

  read(offset: number, width: number): number {
    this.maybeFail(offset, width, false);
    return width === 4 ? this.view.getUint32(offset, true) : width === 2 ? this.view.getUint16(offset, true) : this.view.getUint8(offset);
  }

  write(offset: number, value: number, width: number): void {
    this.maybeFail(offset, width, true);
    if (offset < this.dirtyFrom) this.dirtyFrom = offset;
    if (offset + width > this.dirtyTo) this.dirtyTo = offset + width;
    if (width === 4) this.view.setUint32(offset, value >>> 0, true);
    else if (width === 2) this.view.setUint16(offset, value & 0xffff, true);
    else this.view.setUint8(offset, value & 0xff);
  }

  private maybeFail(offset: number, width: number, isWrite: boolean): void {
    if (this.failIn < 0 || this.failIn-- > 0) return;
    this.fired = true;
    throw new BusFault("unmapped", isWrite, RAM_BASE + offset, width, "injected error response from RAM");
  }
}

/** Bytes the sink and the source keep a record of: more than any transfer the driver can set up
 * (32 items of 4095 words, 512 KiB). A chain that never ends (an LLI linked to itself) moves data
 * for as long as the driver waits; past this the bytes are only counted, so memory stays bounded. */
const PERIPHERAL_RECORD_LIMIT = 1 << 20;

/** A peripheral that takes every byte written to its data register, always asking for more. */
class Sink implements Device, DmaRequester {
  readonly received: number[] = [];
  /** Bytes received past PERIPHERAL_RECORD_LIMIT, not kept. */
  unkept = 0;
  restart(): void {
    this.received.length = 0;
    this.unkept = 0;
  }
  read(): number {
    return 0;
  }
  write(_offset: number, value: number, width: number): void {
    for (let i = 0; i < width; i++) {
      if (this.received.length < PERIPHERAL_RECORD_LIMIT) this.received.push((value >>> (8 * i)) & 0xff);
      else this.unkept++;
    }
  }
  dmaRequests(direction: DmaDirection): number {
    return direction === "tx" ? DMA_SREQ | DMA_BREQ : 0;
  }
}

/** A peripheral whose data register gives the next bytes of a stream, always ready. */
class Source implements Device, DmaRequester {
  readonly given: number[] = [];
  private state = 7;
  restart(): void {
    this.state = 7;
    this.given.length = 0;
  }
  read(_offset: number, width: number): number {
    let value = 0;
    for (let i = 0; i < width; i++) {
      this.state = (Math.imul(this.state, 1103515245) + 12345) >>> 0;
      const byte = (this.state >>> 16) & 0xff;
      if (this.given.length < PERIPHERAL_RECORD_LIMIT) this.given.push(byte);
      value |= byte << (8 * i);
    }
    return value >>> 0;
  }
  write(): void {}
  dmaRequests(direction: DmaDirection): number {
    return direction === "rx" ? DMA_SREQ | DMA_BREQ : 0;
  }
}

/** Where a memcpy address lies: RAM, linear memory, the hole, or the top of the 32-bit bus (the
 * range ends 4 bytes before 4 GiB up to 3 bytes past it: a transfer that fits exactly is started
 * and meets the hole, one past it is refused before any access). */
/** The address in the "top" space: `len` bytes ending 4 bytes before 4 GiB (offset & 7 = 0) up to
 * 3 bytes past it (7), kept below 4 GiB itself. */
function topAddress(offset: number, len: number): number {
  const end = 2 ** 32 - 4 + (offset & 7);
  return Math.max(0, Math.min(end - len, 2 ** 32 - 1));
}

type Space = "ram" | "linear" | "hole" | "top";

/** A started transfer as the simple model keeps it. */
interface Transfer {
  readonly describe: string;
  /** Destination bytes to check: bus address and the bytes expected there (null: a
   * peripheral sink, checked through `sinkFrom`). */
  readonly copies: readonly { dst: number; bytes: Uint8Array }[];
  /** For a transfer into the sink: bytes expected, and where the sink's record began. */
  readonly sink: { bytes: Uint8Array; from: number } | null;
  /** For a transfer from the source: destination and where the source's record began. */
  readonly source: { dst: number; len: number; from: number } | null;
  /** Destination ranges (bus addresses) in RAM. */
  readonly ranges: readonly [number, number][];
  /** Ranges read (bus addresses). */
  readonly reads: readonly [number, number][];
  /** An error is certain (the hole) or possible (an armed RAM fault). */
  readonly mustFail: boolean;
  mayFail: boolean;
  /** Overlaps another transfer: the result is not defined. */
  unchecked: boolean;
}

function widthBytes(config: number, alignment: number, peripheral: boolean): number {
  const w = config & PL080_CONFIG_WIDTH_MASK;
  if (w !== 0) {
    const bytes = 1 << (w - 1);
    return (alignment & (bytes - 1)) === 0 ? bytes : 0;
  }
  if (peripheral) return 1;
  return (alignment & 3) === 0 ? 4 : (alignment & 1) === 0 ? 2 : 1;
}

const overlaps = (a: readonly [number, number], b: readonly [number, number]): boolean => a[0] < b[1] && b[0] < a[1];

class Pl080Session extends Session {
  readonly dmac: Pl080Model;
  readonly ram = new FaultyRam();
  readonly sink = new Sink();
  readonly source = new Source();
  private readonly pattern = new Uint8Array(RAM_SIZE);
  /** RAM as it should be, outside the destinations of transfers still running. */
  private readonly expected = new Uint8Array(RAM_SIZE);
  private readonly expectedWords = new Uint32Array(this.expected.buffer);
  private readonly ramWords = new Uint32Array(this.ram.bytes.buffer);
  /** The bytes of `expected` changed since reset, [expectedFrom, expectedTo) (all of them
   * before the first): outside them and the RAM's dirty range, both hold the pattern. */
  private expectedFrom = 0;
  private expectedTo = RAM_SIZE;
  private readonly running: (Transfer | null)[] = new Array<Transfer | null>(PL080_CHANNELS).fill(null);
  private enabled = false;

  constructor(world: World, target: Target) {
    super(world, target);
    this.dmac = new Pl080Model(world.bus, world.clock);
    const device = world.mapDevice("dmac", PL080_FUZZ_BASE, PL080_MAP.size, this.dmac, PL080_MAP);
    device.onWrite = (offset, value) => this.watchWrite(offset, value);
    world.mapPlain("ram", RAM_BASE, RAM_SIZE, this.ram);
    world.mapPlain("linear", LINEAR, world.memorySize, world.linearMemoryDevice());
    world.mapPlain("sink", SINK_BASE, 0x1000, this.sink);
    world.mapPlain("source", SOURCE_BASE, 0x1000, this.source);
    this.dmac.connectRequest(SINK_LINE, this.sink, "tx");
    this.dmac.connectRequest(SOURCE_LINE, this.source, "rx");
    let x = 0x12345678;
    for (let i = 0; i < RAM_SIZE; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.pattern[i] = x & 0xff;
    }
  }

  /**
   * docs/primecell.md 4.6 "Start a channel": a channel is reprogrammed only while idle, and Configuration
   * with E is written last. The driver's own rule (assembly/pl080.ts startChannel): a DSB comes
   * between programming the channel (and the LLIs and data in memory) and the enabling write.
   */
  private watchWrite(offset: number, value: number): void {
    if (offset < CHANNEL_REGISTERS || offset >= CHANNEL_REGISTERS + PL080_CHANNELS * CHANNEL_STRIDE) return;
    const channel = Math.floor((offset - CHANNEL_REGISTERS) / CHANNEL_STRIDE);
    const register = (offset - CHANNEL_REGISTERS) % CHANNEL_STRIDE;
    const state = this.dmac.channel(channel);
    const enabled = (state.configuration & PL080_C0Configuration_E) !== 0;
    if (register === CONFIGURATION_OFFSET) {
      // A start sets E with H clear (a halt sets H; a read-modify-write that finds E still set
      // writes it back with H).
      const start = !enabled && (value & PL080_C0Configuration_E) !== 0 && (value & PL080_C0Configuration_H) === 0;
      if (start && !this.callMadeDsb) {
        this.violate(`channel ${channel} enabled with no DSB since the call began: the DMA master may read memory the CPU has not finished writing`);
      }
      return;
    }
    // A replaced EnbldChns read may hide a running channel from the driver.
    if (enabled && this.consistent) this.violate(`channel ${channel} register at 0x${offset.toString(16)} written while the channel is enabled (docs/primecell.md 4.6: wait until it is idle)`);
  }

  reset(): void {
    this.dmac.reset();
    this.ram.restore(this.pattern);
    if (this.expectedTo > this.expectedFrom) this.expected.set(this.pattern.subarray(this.expectedFrom, this.expectedTo), this.expectedFrom);
    this.expectedFrom = RAM_SIZE;
    this.expectedTo = 0;
    this.ram.failIn = -1;
    this.ram.fired = false;
    this.sink.restart();
    this.source.restart();
    this.running.fill(null);
    this.enabled = false;
    // The linear-memory area DMA may read: a known pattern.
    this.world.writeBytes(this.world.scratch, this.pattern.subarray(0, LINEAR_AREA));
    // The board tells the driver where linear memory is, as every board must (docs/drivers/pl080.md).
    const result = this.call("pl080_set_memory_address", [LINEAR]);
    if (result !== OK) this.fail("pl080_set_memory_address", `pl080_set_memory_address(0x${LINEAR.toString(16)}) returned ${showResult(result)}`);
  }

  private get consistent(): boolean {
    return !this.world.overridden;
  }

  check(step: Step): boolean {
    // With the controller never enabled a started channel cannot move, and waiting for it polls
    // a million times before ERR_TIMEOUT: correct, but too slow to fuzz.
    if (step.op === "wait" && !this.enabled) {
      const channel = num(step, "channel");
      return channel >= PL080_CHANNELS || this.running[channel] === null;
    }
    return true;
  }

  /** The bus address of a step's address field. */
  private address(space: Space, offset: number, forSource: boolean, len = 0): number {
    switch (space) {
      case "ram": return RAM_BASE + (forSource ? 0 : HALF) + offset;
      case "linear": return LINEAR + this.world.scratch + offset;
      case "hole": return HOLE + offset;
      case "top": return topAddress(offset, len);
    }
  }

  /** Bytes at a bus address now (RAM, linear memory), or null elsewhere. */
  /** Whether `len` bytes at `addr` lie in RAM or in linear memory (what peek would copy). */
  private mapped(addr: number, len: number): boolean {
    return (addr >= RAM_BASE && addr + len <= RAM_BASE + RAM_SIZE) || (addr >= LINEAR && addr + len <= LINEAR + this.world.memorySize);
  }

  private peek(addr: number, len: number): Uint8Array | null {
    if (addr >= RAM_BASE && addr + len <= RAM_BASE + RAM_SIZE) return this.ram.bytes.slice(addr - RAM_BASE, addr - RAM_BASE + len);
    if (addr >= LINEAR && addr + len <= LINEAR + this.world.memorySize) return this.world.bytes(addr - LINEAR, len).slice();
    return null;
  }

  run(step: Step): void {
    if (this.runCommon(step)) return;
    switch (step.op) {
      case "init": return this.init(num(step, "base"));
      case "memcpy": return this.memcpy(step);
      case "sg": return this.scatterGather(step);
      case "m2p": return this.toPeripheral(step);
      case "p2m": return this.fromPeripheral(step);
      case "wait": return this.waitChannel(num(step, "base"), num(step, "channel"));
      case "stop": return this.stop(num(step, "base"), num(step, "channel"));
      case "fault":
        this.ram.failIn = num(step, "after");
        for (const t of this.running) if (t !== null && t.reads.concat(t.ranges).some((r) => r[0] >= RAM_BASE && r[0] < RAM_BASE + RAM_SIZE)) t.mayFail = true;
        return;
      default: throw new Error(`pl080: unknown step ${step.op}`);
    }
  }

  private init(base: number): void {
    const result = this.call("pl080_init", [base]);
    if ((base & 3) !== 0) {
      if (result !== ERR_INVALID_ARG) this.fail("pl080_init", `pl080_init with an unaligned base returned ${showResult(result)}`);
      return;
    }
    if (!this.consistent) return;
    if (result !== OK) this.fail("pl080_init", `pl080_init returned ${showResult(result)}; expected OK`);
    // Every channel was stopped: what a running transfer had written is whatever it was.
    for (let n = 0; n < PL080_CHANNELS; n++) this.abandon(n);
    this.enabled = true;
    // Its header: every channel stopped and all terminal-count and error status cleared (the TRM
    // keeps both until IntTCClear / IntErrClr clear them: DDI 0196G 3.4, docs/primecell.md 4.1).
    this.checkStatusCleared("pl080_init", (1 << PL080_CHANNELS) - 1);
    this.checkRam("pl080_init");
  }

  /** Starts a transfer through `call`; `valid` says whether the arguments are acceptable. */
  private start(name: string, args: readonly number[], channel: number, valid: boolean, transfer: () => Transfer): void {
    const before = channel < PL080_CHANNELS ? this.running[channel] ?? null : null;
    const result = this.call(name, args);
    if (!valid) {
      if (result !== ERR_INVALID_ARG) this.fail(name, `${name}(${args.map((a) => "0x" + (a >>> 0).toString(16)).join(", ")}) returned ${showResult(result)}; the arguments are invalid`);
      return;
    }
    if (!this.consistent) return;
    if (result === ERR_BUSY) {
      if (before === null && this.enabled) this.fail(name, `${name} returned ERR_BUSY on channel ${channel}, which runs nothing`);
      return;
    }
    if (result !== OK) this.fail(name, `${name} returned ${showResult(result)}; expected OK`);
    // The driver waited for the channel to be idle: the previous transfer had finished.
    if (before !== null) this.settle(channel, before, "finished", name);
    // The enabling write is the call's last access, and the DMA master moves only when the bus
    // does: the new transfer has not begun, so its source (and the peripherals' records) can be
    // read now, after whatever earlier transfers wrote during the call.
    const t = transfer();
    for (const other of this.running) {
      if (other === null) continue;
      // Overlapping ranges, or one peripheral shared by two channels, leave the result undefined.
      const clash = t.ranges.some((r) => other.ranges.some((o) => overlaps(r, o)) || other.reads.some((o) => overlaps(r, o)))
        || t.reads.some((r) => other.ranges.some((o) => overlaps(r, o)))
        || (t.sink !== null && other.sink !== null) || (t.source !== null && other.source !== null);
      if (clash) t.unchecked = other.unchecked = true;
    }
    if (!this.enabled) t.unchecked = true;
    this.running[channel] = t;
  }

  private memcpy(step: Step): void {
    const base = num(step, "base");
    const channel = num(step, "channel");
    const len = num(step, "len");
    const config = num(step, "config") >>> 0;
    const src = this.address(str(step, "srcSpace") as Space, num(step, "src"), true, len >>> 0);
    const dst = this.address(str(step, "dstSpace") as Space, num(step, "dst"), false, len >>> 0);
    const width = widthBytes(config, src | dst | len, false);
    const items = width === 0 ? 0 : Math.ceil(len / width / PL080_MAX_ITEM_TRANSFERS);
    const valid = (base & 3) === 0 && channel < PL080_CHANNELS && len > 0 && (config & ~PL080_CONFIG_VALID_MASK) === 0
      && (config & PL080_CONFIG_PERIPH_FLOW) === 0 && width !== 0 && items <= PL080_LLI_ITEMS
      && src + len <= 2 ** 32 && dst + len <= 2 ** 32;
    this.start("pl080_memcpy", [base, channel, src, dst, len, config], channel, valid, () => this.plan(`memcpy on channel ${channel}`, [{ src, dst, len }]));
  }

  private scatterGather(step: Step): void {
    const base = num(step, "base");
    const channel = num(step, "channel");
    const config = num(step, "config") >>> 0;
    const raw = step["entries"] as readonly number[];
    const entries: { src: number; dst: number; len: number }[] = [];
    for (let i = 0; i + 2 < raw.length; i += 3) {
      entries.push({ src: this.address("ram", raw[i]!, true), dst: this.address("ram", raw[i + 1]!, false), len: raw[i + 2]! });
    }
    const list = this.world.scratch + SG_LIST_OFFSET;
    const view = new DataView(this.world.memory.buffer);
    this.world.markWritten(list, entries.length * PL080_SG_ENTRY_SIZE);
    entries.forEach((e, i) => {
      view.setUint32(list + i * PL080_SG_ENTRY_SIZE, e.src, true);
      view.setUint32(list + i * PL080_SG_ENTRY_SIZE + 4, e.dst, true);
      view.setUint32(list + i * PL080_SG_ENTRY_SIZE + 8, e.len, true);
    });
    let alignment = 0;
    for (const e of entries) alignment |= e.src | e.dst | e.len;
    const width = widthBytes(config, alignment, false);
    let items = 0;
    for (const e of entries) items += width === 0 ? 0 : Math.ceil(e.len / width / PL080_MAX_ITEM_TRANSFERS);
    const valid = (base & 3) === 0 && channel < PL080_CHANNELS && entries.length > 0 && entries.length <= PL080_LLI_ITEMS
      && entries.every((e) => e.len > 0) && (config & ~PL080_CONFIG_VALID_MASK) === 0 && (config & PL080_CONFIG_PERIPH_FLOW) === 0
      && width !== 0 && items <= PL080_LLI_ITEMS;
    this.start("pl080_sg", [base, channel, list, entries.length, config], channel, valid, () => this.plan(`scatter-gather on channel ${channel}`, entries));
  }

  private plan(describe: string, copies: readonly { src: number; dst: number; len: number }[]): Transfer {
    const inHole = (a: number, len: number): boolean => !this.mapped(a, len);
    let mustFail = false;
    const planned: { dst: number; bytes: Uint8Array }[] = [];
    for (const c of copies) {
      const bytes = this.peek(c.src, c.len);
      if (bytes === null || inHole(c.dst, c.len)) mustFail = true;
      planned.push({ dst: c.dst, bytes: bytes ?? new Uint8Array(c.len) });
    }
    // Entries of one chain that overlap each other have no defined result either.
    const ranges = copies.map((c): [number, number] => [c.dst, c.dst + c.len]);
    const reads = copies.map((c): [number, number] => [c.src, c.src + c.len]);
    const selfClash = ranges.some((r, i) => ranges.some((o, j) => i !== j && overlaps(r, o)) || reads.some((o) => overlaps(r, o)));
    return { describe, copies: planned, sink: null, source: null, ranges, reads, mustFail, mayFail: this.ram.failIn >= 0, unchecked: selfClash };
  }

  private toPeripheral(step: Step): void {
    const base = num(step, "base");
    const channel = num(step, "channel");
    const len = num(step, "len");
    const line = num(step, "line");
    const config = num(step, "config") >>> 0;
    const src = this.address("ram", num(step, "src"), true);
    const width = widthBytes(config, src | SINK_BASE | len, true);
    const items = width === 0 ? 0 : Math.ceil(len / width / PL080_MAX_ITEM_TRANSFERS);
    const valid = (base & 3) === 0 && channel < PL080_CHANNELS && line < PL080_REQUEST_LINES && len > 0
      && (config & ~PL080_CONFIG_VALID_MASK) === 0 && width !== 0 && items <= PL080_LLI_ITEMS;
    this.start("pl080_mem_to_periph", [base, channel, src, SINK_BASE, len, line, config], channel, valid, () => ({
      describe: `memory to peripheral on channel ${channel}`, copies: [], sink: { bytes: this.peek(src, len)!, from: this.sink.received.length },
      source: null, ranges: [], reads: [[src, src + len]], mustFail: false, mayFail: this.ram.failIn >= 0, unchecked: false,
    }));
  }

  private fromPeripheral(step: Step): void {
    const base = num(step, "base");
    const channel = num(step, "channel");
    const len = num(step, "len");
    const line = num(step, "line");
    const config = num(step, "config") >>> 0;
    const dst = this.address("ram", num(step, "dst"), false);
    const width = widthBytes(config, dst | SOURCE_BASE | len, true);
    const items = width === 0 ? 0 : Math.ceil(len / width / PL080_MAX_ITEM_TRANSFERS);
    const valid = (base & 3) === 0 && channel < PL080_CHANNELS && line < PL080_REQUEST_LINES && len > 0
      && (config & ~PL080_CONFIG_VALID_MASK) === 0 && width !== 0 && items <= PL080_LLI_ITEMS;
    this.start("pl080_periph_to_mem", [base, channel, SOURCE_BASE, dst, len, line, config], channel, valid, () => ({
      describe: `peripheral to memory on channel ${channel}`, copies: [], sink: null, source: { dst, len, from: this.source.given.length },
      ranges: [[dst, dst + len]], reads: [], mustFail: false, mayFail: this.ram.failIn >= 0, unchecked: false,
    }));
  }

  private waitChannel(base: number, channel: number): void {
    const result = this.call("pl080_wait", [base, channel]);
    if ((base & 3) !== 0 || channel >= PL080_CHANNELS) {
      if (result !== ERR_INVALID_ARG) this.fail("pl080_wait", `pl080_wait(channel ${channel}) returned ${showResult(result)} for invalid arguments`);
      return;
    }
    if (!this.consistent) return;
    const t = this.running[channel] ?? null;
    if (t === null) {
      if (result !== OK) this.fail("pl080_wait", `pl080_wait on idle channel ${channel} returned ${showResult(result)}; expected OK`);
      return;
    }
    if (t.mayFail || this.ram.fired) t.mayFail = true;
    const allowed = t.mustFail ? [ERR_DMA] : t.mayFail ? [OK, ERR_DMA] : [OK];
    if (!allowed.includes(result)) this.fail("pl080_wait", `pl080_wait after the ${t.describe} returned ${showResult(result)}; expected ${allowed.map((v) => showResult(v)).join(" or ")}`);
    this.settle(channel, t, result === OK ? "finished" : "failed", "pl080_wait");
    this.checkRam("pl080_wait");
  }

  private stop(base: number, channel: number): void {
    const result = this.call("pl080_stop", [base, channel]);
    if ((base & 3) !== 0 || channel >= PL080_CHANNELS) {
      if (result !== ERR_INVALID_ARG) this.fail("pl080_stop", `pl080_stop(channel ${channel}) returned ${showResult(result)} for invalid arguments`);
      return;
    }
    if (!this.consistent) return;
    if (result !== OK) this.fail("pl080_stop", `pl080_stop returned ${showResult(result)}; expected OK (a memory FIFO drains)`);
    this.abandon(channel);
    // Its header: the stopped transfer's outcome goes with it, so a later pl080_wait on the idle
    // channel returns OK.
    this.checkStatusCleared("pl080_stop", 1 << channel);
    this.checkRam("pl080_stop");
  }

  /** The channels of `channels` (a bit each) have no terminal-count or error status left. */
  private checkStatusCleared(call: string, channels: number): void {
    const tc = this.dmac.rawTc & channels;
    const error = this.dmac.rawError & channels;
    if (tc === 0 && error === 0) return;
    const bits = (x: number): string => `0x${x.toString(16).padStart(2, "0")}`;
    this.fail(call, `${call} returned with status left: RawIntTCStatus ${bits(tc)}, RawIntErrorStatus ${bits(error)} on channels ${bits(channels)}; it must clear them through IntTCClear and IntErrClr (DDI 0196G 3.4)`);
  }

  /** A channel's transfer ended: check what it copied when it finished, and take its bytes. */
  private settle(channel: number, t: Transfer, how: "finished" | "failed", call: string): void {
    this.running[channel] = null;
    const checked = how === "finished" && !t.unchecked && !t.mayFail && !t.mustFail;
    for (const c of t.copies) {
      const now = this.peek(c.dst, c.bytes.length);
      if (now === null) continue;
      if (checked) {
        const at = now.findIndex((b, i) => b !== c.bytes[i]);
        if (at >= 0) this.fail(call, `the ${t.describe} finished, but destination byte ${at} (0x${(c.dst + at).toString(16)}) is 0x${now[at]!.toString(16)}, the source had 0x${c.bytes[at]!.toString(16)}`);
      }
      this.accept(c.dst, now);
    }
    if (t.sink !== null && checked) {
      const got = this.sink.received.slice(t.sink.from);
      if (got.length !== t.sink.bytes.length || got.some((b, i) => b !== t.sink!.bytes[i])) {
        const more = this.sink.unkept > 0 ? ` (and ${this.sink.unkept} more, not kept)` : "";
        this.fail(call, `the ${t.describe} finished, but the peripheral received ${got.length} bytes${more} [${got.slice(0, 8).join(", ")}...]; the source held ${t.sink.bytes.length} [${Array.from(t.sink.bytes.slice(0, 8)).join(", ")}...]`);
      }
    }
    if (t.source !== null) {
      const now = this.peek(t.source.dst, t.source.len);
      if (now !== null) {
        if (checked) {
          const given = this.source.given.slice(t.source.from, t.source.from + t.source.len);
          const at = given.findIndex((b, i) => b !== now[i]);
          if (given.length !== t.source.len || at >= 0) this.fail(call, `the ${t.describe} finished, but memory holds [${Array.from(now.slice(0, 8)).join(", ")}...]; the peripheral gave [${given.slice(0, 8).join(", ")}...]`);
        }
        this.accept(t.source.dst, now);
      }
    }
  }

  /** A transfer stopped part way: whatever its destination holds is accepted. */
  private abandon(channel: number): void {
    const t = this.running[channel];
    if (t === null || t === undefined) return;
    this.running[channel] = null;
    for (const [lo, hi] of t.ranges) {
      const now = this.peek(lo, hi - lo);
      if (now !== null) this.accept(lo, now);
    }
  }

  private accept(addr: number, bytes: Uint8Array): void {
    if (addr >= RAM_BASE && addr + bytes.length <= RAM_BASE + RAM_SIZE) {
      const at = addr - RAM_BASE;
      this.expected.set(bytes, at);
      if (at < this.expectedFrom) this.expectedFrom = at;
      if (at + bytes.length > this.expectedTo) this.expectedTo = at + bytes.length;
    }
  }

  /** Nothing outside the destinations of transfers changed RAM. */
  private checkRam(call: string): void {
    const flux: [number, number][] = [];
    for (const t of this.running) if (t !== null) for (const [lo, hi] of t.ranges) flux.push([lo - RAM_BASE, hi - RAM_BASE]);
    const ram = this.ram.bytes;
    const expected = this.expected;
    // Outside what either side changed since reset both hold the pattern. The rest is compared
    // natively first (this runs after every wait), then word by word.
    const from = Math.min(this.ram.dirtyFrom, this.expectedFrom) & ~3;
    const to = Math.min(RAM_SIZE, (Math.max(this.ram.dirtyTo, this.expectedTo) + 3) & ~3);
    if (to <= from || Buffer.compare(ram.subarray(from, to), expected.subarray(from, to)) === 0) return;
    const words = this.ramWords;
    const expectedWords = this.expectedWords;
    for (let w = from >>> 2; w < to >>> 2; w++) {
      if (words[w] === expectedWords[w]) continue;
      for (let i = w * 4; i < w * 4 + 4; i++) {
        if (ram[i] === expected[i] || flux.some(([lo, hi]) => i >= lo && i < hi)) continue;
        this.fail(call, `RAM byte 0x${(RAM_BASE + i).toString(16)} changed to 0x${ram[i]!.toString(16)} (was 0x${expected[i]!.toString(16)}): it lies outside every transfer's destination`);
      }
    }
  }

  finish(): void {}
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const base = fc.oneof({ weight: 20, arbitrary: fc.constant(PL080_FUZZ_BASE) }, { weight: 1, arbitrary: fc.constant(PL080_FUZZ_BASE + 2) });
  const channel = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.constantFrom(8, 0xffffffff) });
  const config = fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({ width: fc.integer({ min: 0, max: 3 }), burst: fc.integer({ min: 0, max: 7 }), irq: fc.boolean(), masters: fc.integer({ min: 0, max: 3 }) })
        .map((c) => c.width | (c.burst << 2) | (c.irq ? 0x20 : 0) | (c.masters << 6)),
    },
    { weight: 1, arbitrary: fc.constantFrom(PL080_CONFIG_PERIPH_FLOW, 0x200, 0xffffffff) },
  );
  const length = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 256 }) },
    { weight: 2, arbitrary: fc.constantFrom(1, 2, 3, 4, 8, 16, 4095, 4096, 4097, 16380, 16384) },
    { weight: 1, arbitrary: fc.constantFrom(0, 0xffffffff) },
  );
  const aligned = (max: number) => fc.oneof(fc.integer({ min: 0, max: max / 4 - 1 }).map((w) => w * 4), fc.integer({ min: 0, max: max - 1 }));
  const space = fc.oneof({ weight: 12, arbitrary: fc.constant<Space>("ram") }, { weight: 2, arbitrary: fc.constant<Space>("linear") }, { weight: 1, arbitrary: fc.constant<Space>("hole") },
    { weight: 1, arbitrary: fc.constant<Space>("top") });
  const memcpy = fc.record({ base, channel, config, len: length, srcSpace: space, dstSpace: space, src: aligned(HALF), dst: aligned(HALF) })
    .map((m): Step => {
      // Keep the ranges inside their space (a range past the end is a different test).
      const room = (s: Space): number => (s === "linear" ? LINEAR_AREA : HALF);
      const len = m.len === 0 || m.len === 0xffffffff ? m.len : Math.min(m.len, room(m.srcSpace), room(m.dstSpace));
      return {
        op: "memcpy", base: m.base, channel: m.channel, config: m.config, len,
        srcSpace: m.srcSpace, src: Math.min(m.src, Math.max(0, room(m.srcSpace) - len)),
        dstSpace: m.dstSpace, dst: Math.min(m.dst, Math.max(0, room(m.dstSpace) - len)),
      };
    });
  const entry = fc.tuple(aligned(HALF - 512), aligned(HALF - 512), fc.oneof(fc.integer({ min: 1, max: 512 }), fc.constantFrom(0, 4, 8)));
  const sg = fc.record({ base, channel, config, entries: fc.array(entry, { minLength: 1, maxLength: 4 }) })
    .map((s): Step => ({ op: "sg", base: s.base, channel: s.channel, config: s.config, entries: s.entries.flat() }));
  const line = (ok: number) => fc.oneof({ weight: 12, arbitrary: fc.constant(ok) }, { weight: 1, arbitrary: fc.constantFrom(16, 0xffffffff) });
  const periphLength = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 256 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 4096, 8192) });
  const periphConfig = fc.oneof(
    { weight: 10, arbitrary: fc.record({ width: fc.integer({ min: 0, max: 3 }), burst: fc.integer({ min: 0, max: 7 }) }).map((c) => c.width | (c.burst << 2)) },
    { weight: 1, arbitrary: fc.constantFrom(0x200, 0xffffffff) },
  );
  const m2p = fc.record({ base, channel, config: periphConfig, len: periphLength, line: line(SINK_LINE), src: aligned(HALF - 8192) })
    .map((m): Step => ({ op: "m2p", base: m.base, channel: m.channel, config: m.config, len: m.len, line: m.line, src: m.src }));
  const p2m = fc.record({ base, channel, config: periphConfig, len: periphLength, line: line(SOURCE_LINE), dst: aligned(HALF - 8192) })
    .map((m): Step => ({ op: "p2m", base: m.base, channel: m.channel, config: m.config, len: m.len, line: m.line, dst: m.dst }));
  const waitCall = fc.record({ base, channel }).map((w): Step => ({ op: "wait", base: w.base, channel: w.channel }));
  const stop = fc.record({ base, channel }).map((w): Step => ({ op: "stop", base: w.base, channel: w.channel }));
  const init = base.map((b): Step => ({ op: "init", base: b }));
  const fault = fc.integer({ min: 0, max: 64 }).map((after): Step => ({ op: "fault", fault: "ram-error", after }));
  // The registers the driver polls come first; the eight channel Configurations share a weight.
  const names: [string, number][] = [["EnbldChns", 8], ["RawIntErrorStatus", 4], ["Configuration", 8], ...Array.from({ length: 8 }, (_, n): [string, number] => [`C${n}Configuration`, 1])];
  const respond = respondSteps(respondTargets({ region: "dmac", block: PL080_MAP }, names), options);
  return fc.oneof(
    { weight: 3, arbitrary: init },
    { weight: 5, arbitrary: memcpy },
    { weight: 2, arbitrary: sg },
    { weight: 2, arbitrary: m2p },
    { weight: 2, arbitrary: p2m },
    { weight: 5, arbitrary: waitCall },
    { weight: 1, arbitrary: stop },
    { weight: 1, arbitrary: fault },
    { weight: 3, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step);
  if (common !== null) return common;
  const b = typeof step["base"] === "number" && step["base"] !== PL080_FUZZ_BASE ? ` at base 0x${(step["base"] as number).toString(16)}` : "";
  const cfg = (): string => `config 0x${(num(step, "config") >>> 0).toString(16)}`;
  switch (step.op) {
    case "init": return `pl080_init()${b}`;
    case "memcpy": {
      const len = num(step, "len") >>> 0;
      const where = (space: string, offset: number): string => (space === "top" ? `0x${topAddress(offset, len).toString(16)}` : `${space}+0x${offset.toString(16)}`);
      return `pl080_memcpy(channel ${num(step, "channel")}, ${num(step, "len")} bytes from ${where(str(step, "srcSpace"), num(step, "src"))} to ${where(str(step, "dstSpace"), num(step, "dst"))}, ${cfg()})${b}`;
    }
    case "sg": {
      const e = step["entries"] as readonly number[];
      const parts: string[] = [];
      for (let i = 0; i + 2 < e.length; i += 3) parts.push(`${e[i + 2]} bytes 0x${e[i]!.toString(16)}->0x${e[i + 1]!.toString(16)}`);
      return `pl080_sg(channel ${num(step, "channel")}, [${parts.join(", ")}], ${cfg()})${b}`;
    }
    case "m2p": return `pl080_mem_to_periph(channel ${num(step, "channel")}, ${num(step, "len")} bytes from ram+0x${num(step, "src").toString(16)}, line ${num(step, "line")}, ${cfg()})${b}`;
    case "p2m": return `pl080_periph_to_mem(channel ${num(step, "channel")}, ${num(step, "len")} bytes to ram+0x${(HALF + num(step, "dst")).toString(16)}, line ${num(step, "line")}, ${cfg()})${b}`;
    case "wait": return `pl080_wait(channel ${num(step, "channel")})${b}`;
    case "stop": return `pl080_stop(channel ${num(step, "channel")})${b}`;
    case "fault": return `fault: RAM answers its access number ${num(step, "after")} from now with an error`;
    default: return JSON.stringify(step);
  }
}

export function pl080Target(): Target {
  const target: Target = {
    name: "pl080",
    title: "PL080 DMA controller",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new Pl080Session(world, target),
  };
  return target;
}
