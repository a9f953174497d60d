// Fuzz target: the STM32F4 SPI driver (assembly/stm32f4/spi.ts) on SPI1 of the STM32F405 board,
// behind its RCC clock gate, with a slave whose answers the case chooses in place of the board's
// flash (always selected: chip select is the caller's GPIO, outside this driver). The simple model:
// the frames the slave must receive (the buffer, or the fill frame) and the frames the driver must
// store (the slave's answers).
import fc from "fast-check";
import { Stm32SpiModel } from "../../devices/stm32f4/spi.js";
import type { SpiSlave } from "../../devices/spi.js";
import {
  SPI_MAP, SPI_CR1_DFF, SPI_CR1_SSM, SPI_CR1_SSI, SPI_CR1_LSBFIRST, SPI_CR1_SPE, SPI_CR1_BR_SHIFT, SPI_CR1_MSTR,
  SPI_CR1_CPOL, SPI_CR1_CPHA, SPI_CR2_TXDMAEN, SPI_CR2_RXDMAEN, SPI_SR_MODF, SPI_SR_OVR, SPI_SR_TXE, SPI_SR_BSY,
} from "../../generated/spi.js";
import {
  OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT, ERR_DISABLED,
  STM32_SPI_CONFIG_CPHA, STM32_SPI_CONFIG_CPOL, STM32_SPI_CONFIG_16_BIT, STM32_SPI_CONFIG_LSB_FIRST, STM32_SPI_CONFIG_VALID_MASK,
  STM32_SPI_FILL_FRAME, STM32_SPI_DMA_TX, STM32_SPI_DMA_RX,
} from "../../generated/api.js";
import type { World } from "../world.js";
import { anyU32, bytesOf, describeCommon, num, respondSteps, respondTargets, showResult, str, waitStep, type ExportSpec, type Step, type StepOptions, type Target } from "../target.js";
import type { TargetOptions } from "../target-table.js";
import { bufferIsValid, bufferSteps, type BufferPlace } from "./buffers.js";
import { RCC_EXPORTS, Stm32Session, clockSteps, clockTreeStep, describeClockStep, regionOf, stm32f4Module, type GatedRegion } from "./stm32f4-board.js";
import { DEFAULT_STEP_ACCESS_LIMIT } from "./pl011.js";

const REGION = "spi1";
const BASE = regionOf(REGION).base;
/** SR reads per wait (assembly/stm32f4/spi.ts SPI_FRAME_POLL_LIMIT). */
const FRAME_POLL_LIMIT = 2 ** 16;
/** The receive buffer of a transfer starts half-way into the scratch buffer. */
const RX_OFFSET = 2048;

const EXPORTS: readonly ExportSpec[] = [
  ...RCC_EXPORTS,
  // The disable procedure (three waits), the stale-frame clear, three writes and a DSB.
  { name: "stm32_spi_init", statuses: [OK, ERR_INVALID_ARG, ERR_UNREACHABLE_RATE, ERR_TIMEOUT], budget: () => 3 * FRAME_POLL_LIMIT + 16 },
  // CR1, then per frame a TXE and an RXNE wait, the DR accesses, and the two waits at the end.
  {
    name: "stm32_spi_transfer", statuses: [ERR_INVALID_ARG, ERR_TIMEOUT, ERR_DISABLED], count: (a) => a[3]! >>> 0, refusalAccesses: 1,
    budget: (a) => 1 + (FRAME_POLL_LIMIT + 1) + (a[3]! >>> 0) * (2 * FRAME_POLL_LIMIT + 3) + 2 * FRAME_POLL_LIMIT + 4,
  },
  { name: "stm32_spi_disable", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => 3 * FRAME_POLL_LIMIT + 8 },
  { name: "stm32_spi_set_dma", statuses: [OK, ERR_INVALID_ARG], budget: () => 4 },
];

/** What stm32_spi_init must choose: the smallest BR whose rate f_PCLK / 2^(BR+1) is not above
 * max_hz (RM0090 §28.5.1), compared exactly; null when even / 256 is too fast. */
export function spiBaudCode(pclk: number, maxHz: number): number | null {
  for (let br = 0; br <= 7; br++) if (pclk / 2 ** (br + 1) <= maxHz) return br;
  return null;
}

/** A slave that answers from a queue the case fills (all ones when empty) and keeps what it got. */
class ScriptedSlave implements SpiSlave {
  readonly received: number[] = [];
  readonly sent: number[] = [];
  private answers: number[] = [];
  exchange(mosi: number, bits: number): number {
    this.received.push(mosi & (2 ** bits - 1));
    const answer = (this.answers.shift() ?? 0xffff) & (2 ** bits - 1);
    this.sent.push(answer);
    return answer;
  }
  answer(frames: readonly number[]): void {
    this.answers.push(...frames);
  }
  restart(): void {
    this.received.length = 0;
    this.sent.length = 0;
    this.answers = [];
  }
}

/** MSB-first frame of `bits` bits with its bits in the other order (what LSBFIRST puts on the
 * wire as the slave, which samples MSB first, sees it). */
function reversed(value: number, bits: number): number {
  let out = 0;
  for (let i = 0; i < bits; i++) out = (out << 1) | ((value >>> i) & 1);
  return out;
}

class SpiSession extends Stm32Session {
  readonly spi: Stm32SpiModel;
  readonly slave = new ScriptedSlave();
  private readonly region: GatedRegion;
  private readonly limit: number;

  constructor(world: World, target: Target, options: TargetOptions) {
    super(world, target);
    this.limit = options.stepAccessLimit ?? DEFAULT_STEP_ACCESS_LIMIT;
    const rcc = this.board.rcc;
    this.spi = new Stm32SpiModel({ clock: world.clock, pclkHz: () => rcc.busClockHz("apb2") });
    this.spi.chipSelect(this.spi.attach(this.slave), true);
    this.region = this.board.map(REGION, this.spi, SPI_MAP);
  }

  protected get block(): GatedRegion {
    return this.region;
  }

  protected resetBlock(): void {
    this.spi.reset();
    this.spi.overruns = 0;
    this.spi.busyConfigWrites = 0;
    this.spi.mosi.length = 0;
    this.slave.restart();
  }

  protected onBlockReset(): void {}

  check(step: Step): boolean {
    if (step.op !== "transfer") return true;
    const len = num(step, "len");
    // A stopped clock or master: the first wait runs to its limit (65 536 reads), then returns.
    const running = this.gateOpens && (this.spi.cr1 & (SPI_CR1_SPE | SPI_CR1_MSTR)) === (SPI_CR1_SPE | SPI_CR1_MSTR);
    if (!running) return FRAME_POLL_LIMIT * 2 <= this.limit;
    return ((len + 2) * this.spi.frameNs()) / this.world.clock.accessNs <= this.limit;
  }

  run(step: Step): void {
    if (this.runCommon(step) || this.runClock(step)) return;
    if (step.op === "answer") {
      this.slave.answer(bytesOf(step, "frames"));
      return;
    }
    this.setup();
    const base = num(step, "base");
    switch (step.op) {
      case "init": return this.init(step);
      case "transfer": return this.transfer(step);
      case "disable": {
        const result = this.callBlock("stm32_spi_disable", [base]);
        if ((base & 3) !== 0) return this.refused("stm32_spi_disable", result);
        if (this.judged && (result !== OK || (this.spi.cr1 & SPI_CR1_SPE) !== 0)) this.fail("stm32_spi_disable", `stm32_spi_disable returned ${showResult(result)} with CR1 0x${this.spi.cr1.toString(16)}: SPE must be clear`);
        return;
      }
      case "dma": {
        const flags = num(step, "flags");
        const before = this.spi.cr2;
        const result = this.callBlock("stm32_spi_set_dma", [base, flags]);
        if ((base & 3) !== 0 || (flags & ~(STM32_SPI_DMA_TX | STM32_SPI_DMA_RX)) !== 0) return this.refused("stm32_spi_set_dma", result);
        const want = (before & ~(SPI_CR2_TXDMAEN | SPI_CR2_RXDMAEN)) | ((flags & STM32_SPI_DMA_TX) !== 0 ? SPI_CR2_TXDMAEN : 0) | ((flags & STM32_SPI_DMA_RX) !== 0 ? SPI_CR2_RXDMAEN : 0);
        if (this.judged && (result !== OK || this.spi.cr2 !== want)) this.fail("stm32_spi_set_dma", `stm32_spi_set_dma(${flags}) left CR2 0x${this.spi.cr2.toString(16)}; expected 0x${want.toString(16)}`);
        return;
      }
      default: throw new Error(`stm32f4-spi: unknown step ${step.op}`);
    }
  }

  private refused(call: string, result: number): void {
    if (result !== ERR_INVALID_ARG) this.fail(call, `${call} with invalid arguments returned ${showResult(result)}; expected ERR_INVALID_ARG`);
  }

  private init(step: Step): void {
    const base = num(step, "base");
    const pclk = num(step, "pclk") === -1 ? this.board.rcc.busClockHz("apb2") : num(step, "pclk") >>> 0;
    // A negative max_hz k asks for exactly pclk / 2^k (rounded down): the boundary of the rule.
    const maxField = num(step, "max");
    const maxHz = maxField < 0 ? Math.floor(pclk / 2 ** -maxField) : maxField >>> 0;
    const config = num(step, "config") >>> 0;
    this.spi.update();
    // A frame written to DR while the SPI was off waits in the TX buffer (TXE = 0).
    const staleFrame = (this.spi.sr & SPI_SR_TXE) === 0 && (this.spi.sr & SPI_SR_BSY) === 0;
    const result = this.callBlock("stm32_spi_init", [base, pclk, maxHz, config]);
    if ((base & 3) !== 0 || pclk === 0 || maxHz === 0 || (config & ~STM32_SPI_CONFIG_VALID_MASK) !== 0) return this.refused("stm32_spi_init", result);
    const br = spiBaudCode(pclk, maxHz);
    if (br === null) {
      if (result !== ERR_UNREACHABLE_RATE) this.fail("stm32_spi_init", `stm32_spi_init(${pclk} Hz, at most ${maxHz} Hz) returned ${showResult(result)}; even f_PCLK / 256 is faster: ERR_UNREACHABLE_RATE`);
      return;
    }
    if (result === ERR_UNREACHABLE_RATE) this.fail("stm32_spi_init", `stm32_spi_init(${pclk} Hz, at most ${maxHz} Hz) returned ERR_UNREACHABLE_RATE; BR = ${br} gives ${pclk / 2 ** (br + 1)} Hz`);
    if (!this.judged) return;
    if (result !== OK) this.fail("stm32_spi_init", `stm32_spi_init returned ${showResult(result)} for valid arguments`);
    const cr1 = (br << SPI_CR1_BR_SHIFT) | SPI_CR1_SSM | SPI_CR1_SSI | SPI_CR1_MSTR | SPI_CR1_SPE
      | ((config & STM32_SPI_CONFIG_CPOL) !== 0 ? SPI_CR1_CPOL : 0) | ((config & STM32_SPI_CONFIG_CPHA) !== 0 ? SPI_CR1_CPHA : 0)
      | ((config & STM32_SPI_CONFIG_16_BIT) !== 0 ? SPI_CR1_DFF : 0) | ((config & STM32_SPI_CONFIG_LSB_FIRST) !== 0 ? SPI_CR1_LSBFIRST : 0);
    const s = this.spi;
    if (s.cr1 !== cr1 || s.cr2 !== 0 || (s.sr & (SPI_SR_MODF | SPI_SR_OVR)) !== 0) {
      const chosen = (s.cr1 >>> SPI_CR1_BR_SHIFT) & 7;
      this.fail("stm32_spi_init", `stm32_spi_init(${pclk} Hz, at most ${maxHz} Hz, config 0x${config.toString(16)}): CR1 0x${s.cr1.toString(16)} (BR ${chosen}: ${pclk / 2 ** (chosen + 1)} Hz), CR2 0x${s.cr2.toString(16)}, SR 0x${s.sr.toString(16)}; expected CR1 0x${cr1.toString(16)} (BR ${br}: ${pclk / 2 ** (br + 1)} Hz, the fastest not above ${maxHz}), CR2 0, no MODF or OVR`);
    }
    s.update();
    if (staleFrame && (s.framesShifted > 0 || (s.sr & SPI_SR_BSY) !== 0) && (s.sr & SPI_SR_TXE) !== 0) {
      this.protocol("stm32_spi_init", "stm32_spi_init set SPE with a frame still waiting in the TX buffer (TXE = 0, written while the SPI was off): that frame goes out first, and every frame of the next transfer is answered one frame late (RM0090 §28.3.5, §28.3.8)");
    }
    if (s.busyConfigWrites !== 0) this.protocol("stm32_spi_init", `stm32_spi_init changed BR, CPOL, CPHA, DFF, LSBFIRST or MSTR while a frame was being sent (RM0090 §28.3.3)`);
    // The enable write may still be on its way through the APB bridge (the driver's comment): a
    // DSB before the caller, or a DMA stream it starts next, relies on it.
    if (!this.callMadeDsb) this.protocol("stm32_spi_init", "stm32_spi_init enabled the SPI and returned without a DSB: the enable write may still be on its way through the APB bridge when the caller (or a DMA stream it starts next) relies on it");
  }

  private transfer(step: Step): void {
    const base = num(step, "base");
    const len = num(step, "len");
    const place = str(step, "at") as BufferPlace;
    const withTx = step["tx"] === true;
    const withRx = step["rx"] === true;
    const data = bytesOf(step, "data");
    const scratch = this.world.scratch;
    const txPtr = !withTx ? 0 : place === "scratch" ? scratch : place === "end" ? this.world.memorySize - len : place === "past" ? this.world.memorySize - len + 1 : 0xffffff00;
    const rxPtr = withRx ? scratch + RX_OFFSET : 0;
    const tx = Array.from({ length: len }, (_, i) => data.length === 0 ? i & 0xff : data[i % data.length]!);
    if (withTx && bufferIsValid(place)) this.world.writeBytes(txPtr, tx);
    if (withRx) this.world.writeBytes(rxPtr, new Array<number>(len).fill(0xa5));
    const sentBefore = this.slave.received.length;
    const wide = (this.spi.cr1 & SPI_CR1_DFF) !== 0;
    this.world.markMemory();
    const result = this.callBlock("stm32_spi_transfer", [base, txPtr, rxPtr, len]);
    // Whatever the SPI answered, the driver stores received frames in the rx buffer and nowhere
    // else; with rx_ptr 0 it drops them. The driver keeps no state in memory.
    this.checkWroteOnlyRx("stm32_spi_transfer", `stm32_spi_transfer(${len} bytes)`, rxPtr, rxPtr + len);
    if ((base & 3) !== 0 || (withTx && !bufferIsValid(place)) || (wide && this.judged && len % 2 === 1)) return this.refused("stm32_spi_transfer", result);
    if (!this.judged) return;
    const running = (this.spi.cr1 & (SPI_CR1_SPE | SPI_CR1_MSTR)) === (SPI_CR1_SPE | SPI_CR1_MSTR);
    // Not an enabled master: refused with nothing sent (a frame left in TX would go out first at
    // the next enable, RM0090 28.3.5).
    const expected = len === 0 ? 0 : running ? len : ERR_DISABLED;
    if (result !== expected) this.fail("stm32_spi_transfer", `stm32_spi_transfer of ${len} bytes returned ${showResult(result)}; the SPI ${running ? "runs" : "is not an enabled master"}: expected ${showResult(expected)}`);
    if (!running && this.slave.received.length !== sentBefore) this.fail("stm32_spi_transfer", `stm32_spi_transfer on an SPI that is not an enabled master sent ${this.slave.received.length - sentBefore} frames`);
    if (result <= 0) return;
    const frameBytes = wide ? 2 : 1;
    const bits = 8 * frameBytes;
    const lsb = (this.spi.cr1 & SPI_CR1_LSBFIRST) !== 0;
    const frames = result / frameBytes;
    const got = this.slave.received.slice(sentBefore);
    const answers = this.slave.sent.slice(sentBefore);
    const rx = withRx ? this.world.bytes(rxPtr, result) : null;
    if (got.length !== frames) this.fail("stm32_spi_transfer", `the slave received ${got.length} frames; the transfer was of ${frames}`);
    for (let i = 0; i < frames; i++) {
      const out = withTx ? (wide ? tx[2 * i]! | (tx[2 * i + 1]! << 8) : tx[i]!) : STM32_SPI_FILL_FRAME & (2 ** bits - 1);
      const onWire = lsb ? reversed(out, bits) : out;
      if (got[i] !== onWire) this.fail("stm32_spi_transfer", `frame ${i}: the slave received 0x${got[i]!.toString(16)}; the driver had to send 0x${out.toString(16)}${lsb ? " LSB first" : ""}`);
      if (rx !== null) {
        const answer = lsb ? reversed(answers[i]!, bits) : answers[i]!;
        const stored = wide ? rx[2 * i]! | (rx[2 * i + 1]! << 8) : rx[i]!;
        if (stored !== answer) this.fail("stm32_spi_transfer", `frame ${i}: the driver stored 0x${stored.toString(16)}; the slave answered 0x${answer.toString(16)}`);
      }
    }
    if (this.spi.overruns !== 0) this.fail("stm32_spi_transfer", `${this.spi.overruns} frame(s) were lost to an overrun (OVR): every frame must be read before the next completes`);
  }

  finish(): void {}
}

function steps(options: StepOptions): fc.Arbitrary<Step> {
  const base = fc.oneof({ weight: 20, arbitrary: fc.constant(BASE) }, { weight: 1, arbitrary: fc.constantFrom(BASE + 1, BASE + 2) });
  const pclk = fc.oneof(
    { weight: 8, arbitrary: fc.constant(-1) },
    { weight: 3, arbitrary: fc.constantFrom(0, 1, 255, 42_000_000, 84_000_000, 0xffffffff) },
    { weight: 1, arbitrary: anyU32 },
  );
  const max = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(1_000_000, 4_000_000, 8_000_000, 10_000_000, 100_000_000) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 9 }).map((k) => -k) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1, 62_499, 62_500, 164_062) },
    { weight: 1, arbitrary: anyU32 },
  );
  const config = fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: STM32_SPI_CONFIG_VALID_MASK }) }, { weight: 1, arbitrary: anyU32 });
  const transfer = fc.record({
    base, at: bufferSteps, tx: fc.boolean(), rx: fc.boolean(),
    len: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 16 }) }, { weight: 1, arbitrary: fc.constantFrom(1, 2, 3, 64) }),
    data: fc.uint8Array({ maxLength: 8 }).map((a) => Array.from(a)),
  }).map((t): Step => ({ op: "transfer", ...t, tx: t.tx || t.at !== "scratch" }));
  const answer = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 16 }).map((frames): Step => ({ op: "answer", frames }));
  const respond = respondSteps(respondTargets({ region: REGION, block: SPI_MAP }, [["SR", 4], ["DR", 2], ["CR1", 1]]), options);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ base, pclk, max, config }).map((i): Step => ({ op: "init", ...i })) },
    { weight: 6, arbitrary: transfer },
    { weight: 3, arbitrary: answer },
    { weight: 1, arbitrary: base.map((b): Step => ({ op: "disable", base: b })) },
    { weight: 1, arbitrary: fc.record({ base, flags: fc.oneof(fc.integer({ min: 0, max: 3 }), anyU32) }).map((d): Step => ({ op: "dma", ...d })) },
    { weight: 2, arbitrary: clockSteps },
    { weight: 1, arbitrary: clockTreeStep },
    { weight: 2, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

function describe(step: Step): string {
  const common = describeCommon(step) ?? describeClockStep(step);
  if (common !== null) return common;
  const at = step["base"] === undefined || step["base"] === BASE ? "" : ` at base 0x${(num(step, "base") >>> 0).toString(16)}`;
  switch (step.op) {
    case "init": {
      const max = num(step, "max");
      return `stm32_spi_init(${num(step, "pclk") === -1 ? "the bus clock" : `${num(step, "pclk") >>> 0} Hz`}, at most ${max < 0 ? `f_PCLK / 2^${-max}` : `${max >>> 0} Hz`}, config 0x${(num(step, "config") >>> 0).toString(16)})${at}`;
    }
    case "transfer": return `stm32_spi_transfer(${num(step, "len") >>> 0} bytes, ${step["tx"] === true ? `tx in ${str(step, "at")}` : "fill frames"}, ${step["rx"] === true ? "rx stored" : "rx dropped"})${at}`;
    case "answer": return `the slave will answer [${bytesOf(step, "frames").map((f) => `0x${f.toString(16)}`).join(", ")}]`;
    case "disable": return `stm32_spi_disable()${at}`;
    case "dma": return `stm32_spi_set_dma(flags 0x${(num(step, "flags") >>> 0).toString(16)})${at}`;
    default: return JSON.stringify(step);
  }
}

export function stm32f4SpiTarget(options: TargetOptions = {}): Target {
  const target: Target = {
    name: "stm32f4-spi",
    title: "STM32F4 SPI (SPI1 of the STM32F405 board, a scripted slave)",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new SpiSession(world, target, options),
    module: stm32f4Module(),
  };
  return target;
}
