// Fuzz target: the STM32F4 DMA driver (assembly/stm32f4/dma.ts) on DMA2 of the STM32F405 board,
// behind its RCC clock gate, copying memory to memory between the board's SRAM, the module's
// linear memory (where the board maps it for the DMA) and an address the board leaves unmapped
// (a bus error). The simple model: which copies were started on which stream; a copy that
// completed (stm32_dma_wait OK) moved exactly its bytes and left NDTR at 0, no SRAM byte outside
// a destination changed, and a copy touching the hole ends in ERR_DMA.
import fc from "fast-check";
import { Stm32DmaModel } from "../../devices/stm32f4/dma.js";
import { Ram } from "../../devices/ram.js";
import { DMA_MAP, DMA_S0CR_EN } from "../../generated/dma.js";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_DMA, ERR_DMA_FIFO,
  STM32_DMA_STREAMS, STM32_DMA_MAX_ITEMS, STM32_DMA_CONFIG_PSIZE_MASK, STM32_DMA_CONFIG_MSIZE_MASK, STM32_DMA_CONFIG_MSIZE_SHIFT,
  STM32_DMA_CONFIG_PBURST_MASK, STM32_DMA_CONFIG_PBURST_SHIFT, STM32_DMA_CONFIG_MBURST_MASK, STM32_DMA_CONFIG_MBURST_SHIFT,
  STM32_DMA_CONFIG_PRIORITY_SHIFT, STM32_DMA_CONFIG_FIFO, STM32_DMA_CONFIG_FTH_MASK, STM32_DMA_CONFIG_FTH_SHIFT,
  STM32_DMA_CONFIG_CIRCULAR, STM32_DMA_CONFIG_IRQ, STM32_DMA_CONFIG_VALID_MASK,
} from "../../generated/api.js";
import type { World } from "../world.js";
import { anyU32, describeCommon, num, respondSteps, respondTargets, showResult, str, waitStep, type ExportSpec, type Step, type StepOptions, type Target } from "../target.js";
import type { TargetOptions } from "../target-table.js";
import { RCC_EXPORTS, Stm32Session, clockSteps, describeClockStep, optionOf, regionOf, stm32f4Module, type GatedRegion } from "./stm32f4-board.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "./pl011.js";

const REGION = "dma2";
const BASE = regionOf(REGION).base;
const SRAM = regionOf("sram");
const LINEAR = regionOf("linear");
/** No region of the board decodes this (the FSMC bank, not on the board): an AHB error. */
const HOLE = 0x6000_0000;
/** Copies read the low half of the SRAM window used here and write its high half. */
const WINDOW = 0x2000;
const HALF = WINDOW / 2;
/** Where copies into linear memory land in the scratch buffer. */
const LINEAR_DST = 2048;
/** A "peripheral data register" in SRAM above the checked window: nothing requests for it. */
const SILENT_PERIPHERAL = SRAM.base + 2 * 0x2000;

// Poll limits of assembly/stm32f4/dma.ts.
const DISABLE_POLL_LIMIT = 2 ** 16;
const WAIT_POLL_LIMIT = 2 ** 20;

const EXPORTS: readonly ExportSpec[] = [
  ...RCC_EXPORTS,
  // The disable wait, the clear, five register writes, a DSB and EN.
  { name: "stm32_dma_memcpy", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => 2 + DISABLE_POLL_LIMIT + 10 },
  { name: "stm32_dma_mem_to_periph", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => 2 + DISABLE_POLL_LIMIT + 10 },
  { name: "stm32_dma_wait", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_DMA, ERR_DMA_FIFO], budget: () => 2 * WAIT_POLL_LIMIT + 4 },
  { name: "stm32_dma_stop", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => 2 + DISABLE_POLL_LIMIT + 2 },
  { name: "stm32_dma_remaining", statuses: [ERR_INVALID_ARG], count: () => STM32_DMA_MAX_ITEMS, budget: () => 1 },
];

const BEATS = [1, 4, 8, 16] as const;

/** Why RM0090 §10.3.6-10.3.13 forbid this memory-to-memory copy (DMA2, FIFO always on), or null. */
export function memcpyRefusal(stream: number, dst: number, src: number, len: number, config: number): string | null {
  if (stream >= STM32_DMA_STREAMS) return `stream ${stream} > 7`;
  if ((config & ~STM32_DMA_CONFIG_VALID_MASK) !== 0) return "reserved config bits";
  const psize = config & STM32_DMA_CONFIG_PSIZE_MASK;
  const msize = (config & STM32_DMA_CONFIG_MSIZE_MASK) >>> STM32_DMA_CONFIG_MSIZE_SHIFT;
  if (psize === 3 || msize === 3) return "item size code 3 (reserved)";
  if (len % (1 << psize) !== 0 || len % (1 << msize) !== 0) return "a length that is not whole items on both sides";
  if (src + len > 2 ** 32 || dst + len > 2 ** 32) return "a buffer past the end of the bus";
  const items = len >>> psize;
  if (items === 0 || items > STM32_DMA_MAX_ITEMS) return `${items} items (1..65535, SxNDTR)`;
  if (src % (1 << psize) !== 0 || dst % (1 << msize) !== 0) return "an address not aligned to its item size (RM0090 §10.5.7-10.5.8)";
  if ((config & STM32_DMA_CONFIG_CIRCULAR) !== 0) return "circular memory to memory (RM0090 §10.3.9)";
  // Packing: items a whole number of memory items (RM0090 Table 48).
  if (msize > psize && items % (1 << (msize - psize)) !== 0) return "packing with an item count that fills no memory item";
  const fthBytes = (((config & STM32_DMA_CONFIG_FTH_MASK) >>> STM32_DMA_CONFIG_FTH_SHIFT) + 1) * 4;
  const mburst = (config & STM32_DMA_CONFIG_MBURST_MASK) >>> STM32_DMA_CONFIG_MBURST_SHIFT;
  const pburst = (config & STM32_DMA_CONFIG_PBURST_MASK) >>> STM32_DMA_CONFIG_PBURST_SHIFT;
  const mburstBytes = BEATS[mburst]! << msize;
  const pburstBytes = BEATS[pburst]! << psize;
  // The FIFO threshold is a whole number of memory bursts (RM0090 Table 49; docs/drivers/stm32f4.md, "What is refused").
  if (mburst !== 0 && (mburstBytes > 16 || fthBytes % mburstBytes !== 0)) return "a memory burst that does not divide the FIFO threshold (RM0090 Table 49)";
  if (pburstBytes > 16) return "a peripheral burst larger than the FIFO";
  if (pburst !== 0 && pburstBytes === 16 && fthBytes === 12) return "a 16-byte peripheral burst with the 3/4 threshold (RM0090 §10.3.13)";
  return null;
}

type Space = "sram" | "linear" | "hole";

interface Copy {
  readonly src: number;
  readonly dst: number;
  readonly len: number;
  readonly bytes: Uint8Array;
  readonly faults: boolean;
  readonly describe: string;
  /** Overlaps another copy still running: what lands where is not defined. */
  unchecked: boolean;
}

const overlaps = (a0: number, alen: number, b0: number, blen: number): boolean => a0 < b0 + blen && b0 < a0 + alen;

class DmaSession extends Stm32Session {
  readonly dma: Stm32DmaModel;
  readonly ram: Ram;
  private readonly region: GatedRegion;
  private readonly limit: number;
  private readonly pattern = new Uint8Array(WINDOW);
  /** SRAM as it must be outside the destinations of copies still running. */
  private readonly expected = new Uint8Array(WINDOW);
  private readonly running: (Copy | null)[] = new Array<Copy | null>(STM32_DMA_STREAMS).fill(null);
  /** Streams started towards a peripheral that never requests: enabled until stopped. */
  private readonly sending: boolean[] = new Array<boolean>(STM32_DMA_STREAMS).fill(false);
  private lockedWrites = 0;

  constructor(world: World, target: Target, options: TargetOptions) {
    super(world, target);
    this.limit = options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT;
    const r = regionOf(REGION);
    const cycleNs = optionOf(r, "cycleNs");
    this.dma = new Stm32DmaModel(world.bus, world.clock, { instance: 2, ...(typeof cycleNs === "number" ? { cycleNs } : {}) });
    this.region = this.board.map(REGION, this.dma, DMA_MAP);
    this.ram = new Ram(SRAM.size);
    world.mapPlain("sram", SRAM.base, SRAM.size, this.ram);
    world.mapPlain("linear", LINEAR.base, world.memorySize, world.linearMemoryDevice());
    let x = 0x2468ace1;
    for (let i = 0; i < WINDOW; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.pattern[i] = x & 0xff;
    }
  }

  protected get block(): GatedRegion {
    return this.region;
  }

  protected resetBlock(): void {
    this.dma.reset();
    this.dma.lockedWriteCount = 0;
    this.dma.lockedWrites.length = 0;
    this.ram.bytes.set(this.pattern);
    this.expected.set(this.pattern);
    // Sources in linear memory: written once per case, never while a copy may read them.
    this.world.writeBytes(this.world.scratch, this.pattern.subarray(0x400, 0x400 + LINEAR_DST));
    this.running.fill(null);
    this.sending.fill(false);
    this.lastStream = 0;
  }

  protected onBlockReset(): void {
    this.running.fill(null);
    this.sending.fill(false);
    this.expected.set(this.ram.bytes.subarray(0, WINDOW));
  }

  protected override beforeCall(name: string): void {
    super.beforeCall(name);
    this.lockedWrites = this.dma.lockedWriteCount;
  }

  /** A call, and the rule that a stream's registers are written only while EN = 0 (RM0090
   * §10.5.5-10.5.10; the model keeps such writes and ignores them). */
  private dmaCall(name: string, args: readonly number[]): number {
    const result = this.callBlock(name, args);
    // Not judged once a read was overridden: a forged EN = 0 (a legal value: the hardware clears
    // EN) lets the driver go on while the model's stream still runs, and the model then ignores
    // writes the driver had every reason to make.
    if (this.dma.lockedWriteCount !== this.lockedWrites && !this.world.overridden) this.protocol(name, `${name}: ${this.dma.describeLockedWrites()}`);
    return result;
  }

  /** The stream of the last copy started; a step's stream -1 names it. */
  private lastStream = 0;

  private streamOf(step: Step): number {
    const n = num(step, "stream");
    return n === -1 ? this.lastStream : n >>> 0;
  }

  check(step: Step): boolean {
    if (step.op !== "wait") return true;
    // Waiting on a stream that will never report polls a million times.
    const n = this.streamOf(step);
    if (n >= STM32_DMA_STREAMS || !this.gateOpens) return n >= STM32_DMA_STREAMS;
    if (this.sending[n]) return false;
    const s = this.dma.stream(n);
    return this.dma.flagsOf(n) !== 0 || ((s.cr & DMA_S0CR_EN) !== 0 && s.ndtr * 8 <= this.limit);
  }

  run(step: Step): void {
    if (this.runCommon(step) || this.runClock(step)) return;
    this.setup();
    const n = this.streamOf(step);
    switch (step.op) {
      case "memcpy": return this.memcpy(step);
      case "send": return this.send(step);
      case "wait": return this.wait(n);
      case "stop": {
        const result = this.dmaCall("stm32_dma_stop", [BASE, n]);
        if (n >= STM32_DMA_STREAMS) return this.refused("stm32_dma_stop", result);
        if (!this.judged) return;
        if (result !== OK || (this.dma.stream(n).cr & DMA_S0CR_EN) !== 0 || this.dma.flagsOf(n) !== 0) this.fail("stm32_dma_stop", `stm32_dma_stop(stream ${n}) returned ${showResult(result)} with EN ${this.dma.stream(n).cr & DMA_S0CR_EN} and flags 0x${this.dma.flagsOf(n).toString(16)}: expected OK, EN 0, flags clear`);
        this.settle(n);
        this.sending[n] = false;
        return;
      }
      case "remaining": {
        const result = this.dmaCall("stm32_dma_remaining", [BASE, n]);
        if (n >= STM32_DMA_STREAMS) return this.refused("stm32_dma_remaining", result);
        if (this.judged && result !== this.dma.stream(n).ndtr) this.fail("stm32_dma_remaining", `stm32_dma_remaining(stream ${n}) returned ${result}; SxNDTR holds ${this.dma.stream(n).ndtr}`);
        return;
      }
      default: throw new Error(`stm32f4-dma: unknown step ${step.op}`);
    }
  }

  private refused(call: string, result: number): void {
    if (result !== ERR_INVALID_ARG) this.fail(call, `${call} with invalid arguments returned ${showResult(result)}; expected ERR_INVALID_ARG`);
  }

  private address(space: Space, offset: number, destination: boolean): number {
    if (space === "hole") return HOLE + offset;
    // In linear memory: the scratch buffer, sources in its first half (it holds 4 KiB).
    if (space === "linear") return LINEAR.base + this.world.scratch + (destination ? LINEAR_DST : 0) + offset;
    return SRAM.base + (destination ? HALF : 0) + offset;
  }

  private memcpy(step: Step): void {
    const n = num(step, "stream") >>> 0;
    if (n < STM32_DMA_STREAMS) this.lastStream = n;
    const len = num(step, "len");
    const config = num(step, "config") >>> 0;
    const src = this.address(str(step, "from") as Space, num(step, "srcOffset"), false);
    const dst = this.address(str(step, "to") as Space, num(step, "dstOffset"), true);
    const bytes = this.bytesAt(src, len);
    const previous = n < STM32_DMA_STREAMS ? this.running[n] ?? null : null;
    const result = this.dmaCall("stm32_dma_memcpy", [BASE, n, dst, src, len, config]);
    const refusal = memcpyRefusal(n, dst >>> 0, src >>> 0, len >>> 0, config);
    if (refusal !== null) {
      if (result !== ERR_INVALID_ARG) this.fail("stm32_dma_memcpy", `stm32_dma_memcpy(${len} bytes, config 0x${config.toString(16)}) returned ${showResult(result)}; RM0090 forbids it (${refusal}): expected ERR_INVALID_ARG`);
      return;
    }
    if (result === ERR_INVALID_ARG) this.fail("stm32_dma_memcpy", `stm32_dma_memcpy(${len} bytes from 0x${src.toString(16)} to 0x${dst.toString(16)}, config 0x${config.toString(16)}) was refused; RM0090 §10.3 allows it`);
    if (!this.judged) return;
    if (result !== OK) this.fail("stm32_dma_memcpy", `stm32_dma_memcpy returned ${showResult(result)}`);
    // Started: the stream runs, or a short copy has already ended (TCIF, or TEIF on a fault).
    if ((this.dma.stream(n).cr & DMA_S0CR_EN) === 0 && this.dma.flagsOf(n) === 0) this.fail("stm32_dma_memcpy", `stm32_dma_memcpy returned OK, but stream ${n} is not enabled and has no flag set: the copy never started (RM0090 §10.3.17 step 11: activate the stream with EN)`);
    // A copy that was running on the stream was stopped: its destination may hold part of it.
    if (previous !== null) this.forget(previous);
    const copy: Copy = { src, dst, len, bytes, faults: src >= HOLE && src < HOLE + 0x1000 || dst >= HOLE && dst < HOLE + 0x1000, describe: `${len} bytes 0x${src.toString(16)} -> 0x${dst.toString(16)}`, unchecked: false };
    for (const other of this.running) {
      if (other === null || other === previous) continue;
      if (overlaps(copy.dst, len, other.dst, other.len) || overlaps(copy.dst, len, other.src, other.len) || overlaps(copy.src, len, other.dst, other.len)) copy.unchecked = other.unchecked = true;
    }
    this.running[n] = copy;
  }

  /**
   * A stream started from SRAM towards a peripheral register whose peripheral never asks (no
   * request line is wired to it here): it stays enabled, as a transfer waiting for a slow device
   * does. Starting another transfer on it must first stop it (RM0090 §10.3.17 step 1).
   */
  private send(step: Step): void {
    const n = num(step, "stream") >>> 0;
    this.lastStream = n;
    const previous = this.running[n] ?? null;
    const mem = SRAM.base + num(step, "offset");
    const result = this.dmaCall("stm32_dma_mem_to_periph", [BASE, n, num(step, "channel"), SILENT_PERIPHERAL, mem, num(step, "count"), 0]);
    if (!this.judged) return;
    if (result !== OK) this.fail("stm32_dma_mem_to_periph", `stm32_dma_mem_to_periph(stream ${n}, ${num(step, "count")} bytes) returned ${showResult(result)}; expected OK`);
    if ((this.dma.stream(n).cr & DMA_S0CR_EN) === 0) this.fail("stm32_dma_mem_to_periph", `stm32_dma_mem_to_periph returned OK, but stream ${n} is not enabled: the transfer never started (RM0090 §10.3.17 step 11: activate the stream with EN)`);
    if (previous !== null) this.forget(previous);
    this.running[n] = null;
    this.sending[n] = true;
  }

  private bytesAt(addr: number, len: number): Uint8Array {
    if (addr >= SRAM.base && addr + len <= SRAM.base + WINDOW) return this.ram.bytes.slice(addr - SRAM.base, addr - SRAM.base + len);
    if (addr >= LINEAR.base && addr + len <= LINEAR.base + this.world.memorySize) return this.world.bytes(addr - LINEAR.base, len).slice();
    return new Uint8Array(0);
  }

  /** A copy's destination bytes in SRAM no longer have one expected value. */
  private forget(copy: Copy): void {
    if (copy.dst < SRAM.base || copy.dst >= SRAM.base + WINDOW) return;
    const from = copy.dst - SRAM.base;
    this.expected.set(this.ram.bytes.subarray(from, Math.min(WINDOW, from + copy.len)), from);
  }

  private wait(n: number): void {
    const result = this.dmaCall("stm32_dma_wait", [BASE, n]);
    if (n >= STM32_DMA_STREAMS) return this.refused("stm32_dma_wait", result);
    if (!this.judged) return;
    const copy = this.running[n] ?? null;
    if (copy === null) return;
    if (copy.faults) {
      if (result !== ERR_DMA) this.fail("stm32_dma_wait", `the copy of ${copy.describe} touches unmapped 0x${HOLE.toString(16)}; stm32_dma_wait returned ${showResult(result)}, expected ERR_DMA (TEIF, RM0090 §10.3.15)`);
      this.forget(copy);
      this.running[n] = null;
      return;
    }
    if (result !== OK) this.fail("stm32_dma_wait", `stm32_dma_wait(stream ${n}) returned ${showResult(result)} for the copy of ${copy.describe}; expected OK`);
    if (copy.unchecked) {
      this.forget(copy);
      this.running[n] = null;
      return;
    }
    const got = this.bytesAt(copy.dst, copy.len);
    for (let i = 0; i < copy.len; i++) {
      if (got[i] !== copy.bytes[i]) this.fail("stm32_dma_wait", `after the copy of ${copy.describe} completed, byte ${i} of the destination is 0x${got[i]!.toString(16)}; the source had 0x${copy.bytes[i]!.toString(16)}`);
    }
    const ndtr = this.dma.stream(n).ndtr;
    if (ndtr !== 0) this.fail("stm32_dma_wait", `stm32_dma_wait returned OK with SxNDTR = ${ndtr}: every item must have moved`);
    const remaining = this.dmaCall("stm32_dma_remaining", [BASE, n]);
    if (remaining !== 0 && !this.world.overridden) this.fail("stm32_dma_remaining", `stm32_dma_remaining returned ${remaining} after the copy completed`);
    if (copy.dst >= SRAM.base && copy.dst < SRAM.base + WINDOW) this.expected.set(copy.bytes, copy.dst - SRAM.base);
    this.running[n] = null;
    this.checkSram("stm32_dma_wait");
  }

  /** A stopped stream: its copy is partial. */
  private settle(n: number): void {
    const copy = this.running[n] ?? null;
    if (copy !== null) this.forget(copy);
    this.running[n] = null;
  }

  /** No SRAM byte outside the destinations of running copies changed. */
  private checkSram(call: string | null): void {
    if (this.world.overridden) return;
    const live = this.running.filter((c): c is Copy => c !== null && c.dst >= SRAM.base && c.dst < SRAM.base + WINDOW);
    for (let i = 0; i < WINDOW; i++) {
      if (this.ram.bytes[i] === this.expected[i]) continue;
      const addr = SRAM.base + i;
      if (live.some((c) => addr >= c.dst && addr < c.dst + c.len)) continue;
      this.fail(call, `SRAM byte 0x${addr.toString(16)} is 0x${this.ram.bytes[i]!.toString(16)}, was 0x${this.expected[i]!.toString(16)}: outside every destination`);
    }
  }

  finish(): void {
    this.checkSram(null);
  }
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const stream = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.constantFrom(8, 0xffffffff) });
  // -1: the stream of the last copy started (waits and stops mostly follow a start).
  const follow = fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: stream });
  const size = fc.integer({ min: 0, max: 2 });
  const burst = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) });
  const config = fc.oneof(
    { weight: 10, arbitrary: fc.record({
      psize: size, msize: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: size }), pburst: burst, mburst: burst,
      pl: fc.integer({ min: 0, max: 3 }), fth: fc.integer({ min: 0, max: 3 }), irq: fc.boolean(), fifo: fc.boolean(),
    }).map((c) => c.psize | ((c.msize < 0 ? c.psize : c.msize) << STM32_DMA_CONFIG_MSIZE_SHIFT) | (c.pburst << STM32_DMA_CONFIG_PBURST_SHIFT) | (c.mburst << STM32_DMA_CONFIG_MBURST_SHIFT)
      | (c.pl << STM32_DMA_CONFIG_PRIORITY_SHIFT) | (c.fth << STM32_DMA_CONFIG_FTH_SHIFT) | (c.irq ? STM32_DMA_CONFIG_IRQ : 0) | (c.fifo ? STM32_DMA_CONFIG_FIFO : 0)) },
    // Refused: size code 3, circular memory to memory, reserved bits.
    { weight: 1, arbitrary: fc.constantFrom(STM32_DMA_CONFIG_PSIZE_MASK, STM32_DMA_CONFIG_CIRCULAR, STM32_DMA_CONFIG_VALID_MASK + 1) },
    { weight: 1, arbitrary: anyU32 },
  );
  const space = fc.oneof({ weight: 8, arbitrary: fc.constant<Space>("sram") }, { weight: 3, arbitrary: fc.constant<Space>("linear") }, { weight: 1, arbitrary: fc.constant<Space>("hole") });
  const offset = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 15 }).map((w) => 4 * w) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 63 }) });
  const len = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 64 }).map((w) => 4 * w) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 65535 * 4 + 4) });
  const memcpy = fc.record({ stream, from: space, to: space, srcOffset: offset, dstOffset: offset, len, config })
    .map((m): Step => ({ op: "memcpy", ...m }));
  const respond = respondSteps(respondTargets({ region: REGION, block: DMA_MAP }, [["LISR", 3], ["HISR", 3], ["S0CR", 1], ["S1CR", 1], ["S0NDTR", 1]]), options);
  return fc.oneof(
    { weight: 6, arbitrary: memcpy },
    { weight: 2, arbitrary: fc.record({ stream: fc.integer({ min: 0, max: 7 }), channel: fc.integer({ min: 0, max: 7 }), offset: fc.integer({ min: 0, max: 0x7ff }), count: fc.integer({ min: 1, max: 16 }) }).map((s): Step => ({ op: "send", ...s })) },
    { weight: 5, arbitrary: follow.map((s): Step => ({ op: "wait", stream: s })) },
    { weight: 1, arbitrary: follow.map((s): Step => ({ op: "stop", stream: s })) },
    { weight: 1, arbitrary: follow.map((s): Step => ({ op: "remaining", stream: s })) },
    { weight: 2, arbitrary: clockSteps },
    { weight: 2, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step) ?? describeClockStep(step);
  if (common !== null) return common;
  const n = num(step, "stream") === -1 ? "of the last copy" : String(num(step, "stream") >>> 0);
  switch (step.op) {
    case "memcpy": return `stm32_dma_memcpy(stream ${n}, ${num(step, "len") >>> 0} bytes from ${str(step, "from")}+${num(step, "srcOffset")} to ${str(step, "to")}+${num(step, "dstOffset")}, config 0x${(num(step, "config") >>> 0).toString(16)})`;
    case "send": return `stm32_dma_mem_to_periph(stream ${n}, channel ${num(step, "channel")}, ${num(step, "count")} bytes from sram+0x${num(step, "offset").toString(16)} to a peripheral that never requests)`;
    case "wait": return `stm32_dma_wait(stream ${n})`;
    case "stop": return `stm32_dma_stop(stream ${n})`;
    case "remaining": return `stm32_dma_remaining(stream ${n})`;
    default: return JSON.stringify(step);
  }
}

export function stm32f4DmaTarget(options: TargetOptions = {}): Target {
  const target: Target = {
    name: "stm32f4-dma",
    title: "STM32F4 DMA (DMA2 of the STM32F405 board, memory to memory)",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new DmaSession(world, target, options),
    module: stm32f4Module(),
  };
  return target;
}
