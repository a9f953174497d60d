// The fuzzer's poll latency and repeated-read path (docs/fuzzing.md#poll-latency):
// - each PrimeCell model's stableUntil is honest: from random states, a read of a register at any
//   time before the time it declared returns what the read that declared it returned;
// - the world's repeated-read path (a repeat answered without the model, the lint or the
//   overrides) is invisible: a fast run and a report run of the same cases (the report run
//   records, so every read goes to the model) agree on the failure, the accesses and the
//   replaced reads, with the latency stretched and with it fixed;
// - with the latency fixed, the same cases make the accesses they made before the lever existed
//   (every access takes accessNs); stretched, a poll of a shifting UART takes a few reads.
// No wall clock anywhere: only virtual time and counts.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Bus, VirtualClock, type Device } from "../harness/bus.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { Pl022Model } from "../harness/devices/pl022.js";
import { Pl061Model } from "../harness/devices/pl061.js";
import { Pl080Model } from "../harness/devices/pl080.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { PL022_MAP } from "../harness/generated/pl022.js";
import { PL061_MAP } from "../harness/generated/pl061.js";
import { PL080_MAP } from "../harness/generated/pl080.js";
import { Stm32UsartModel } from "../harness/devices/stm32f4/usart.js";
import { Stm32SpiModel } from "../harness/devices/stm32f4/spi.js";
import { Stm32RccModel } from "../harness/devices/stm32f4/rcc.js";
import { ClockGate } from "../harness/devices/stm32f4/common.js";
import { USART_MAP } from "../harness/generated/usart.js";
import { SPI_MAP } from "../harness/generated/spi.js";
import { RCC_APB2ENR, RCC_APB2ENR_USART1EN, RCC_APB2RSTR } from "../harness/generated/rcc.js";
import type { RegisterBlock } from "../harness/regmap.js";
import { Fuzzer, type FuzzCase } from "../harness/fuzz/engine.js";
import { targetByName } from "../harness/fuzz/targets/index.js";
import { TARGET_NAMES, type Step } from "../harness/fuzz/target.js";
import { addFuzzTargets } from "../harness/fuzz/target-table.js";
import STM32F4_TARGETS, { STM32F4_TARGET_NAMES } from "../harness/fuzz/targets/stm32f4.js";
import { PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK } from "../harness/fuzz/targets/pl011.js";
import { OP_READ } from "../harness/trace.js";

interface ModelUnderTest {
  readonly device: Device & { stableUntil(offset: number): number };
  readonly clock: VirtualClock;
  /** Something from outside the bus: characters arriving, a fault. */
  readonly outside?: (choice: number) => void;
}

/** Readable offsets of a map (the write-only ones read 0, which is stable too). */
function offsets(map: RegisterBlock): number[] {
  return map.registers.map((r) => r.offset);
}

const action = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("write" as const), reg: fc.nat(), value: fc.oneof(fc.nat({ max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("read" as const), reg: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), ns: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 2_000_000 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("outside" as const), choice: fc.nat() }) },
);

/** From a random state reached by register accesses, time and outside events: every register's
 * declared stable time holds at sampled times before it. */
function checkHonest(make: () => ModelUnderTest, map: RegisterBlock): void {
  const regs = offsets(map);
  fc.assert(fc.property(fc.array(action, { maxLength: 40 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), (actions, fractions) => {
    const m = make();
    for (const a of actions) {
      if (a.kind === "write") m.device.write(regs[a.reg % regs.length]!, a.value >>> 0, 4);
      else if (a.kind === "read") m.device.read(regs[a.reg % regs.length]!, 4);
      else if (a.kind === "wait") m.clock.advance(a.ns);
      else m.outside?.(a.choice);
    }
    for (const offset of regs) {
      const start = m.clock.now;
      const value = m.device.read(offset, 4);
      const until = m.device.stableUntil(offset);
      if (!(until > start)) continue;
      // Sample times in [start, until), the far end capped for Infinity, in increasing order.
      const span = Math.min(until, start + 1e9) - start;
      for (const f of [...fractions].sort((x, y) => x - y)) {
        const t = start + f * span;
        if (t >= until) continue;
        m.clock.now = Math.max(m.clock.now, t);
        expect(m.device.read(offset, 4), `${map.block}+0x${offset.toString(16)} at ${m.clock.now} (stable until ${until}, read ${value} at ${start})`).toBe(value);
      }
      // Reads that change nothing leave the declared time as it was.
      expect(m.device.stableUntil(offset)).toBe(until);
    }
  }), { numRuns: 300, seed: 14 });
}

describe("Device.stableUntil is honest", () => {
  it("PL011: FR, RIS and MIS until the next event; DR never; the rest until written", () => {
    checkHonest(() => {
      const clock = new VirtualClock();
      const uart = new Pl011Model({ clock, uartclkHz: 24_000_000 });
      return {
        device: uart, clock,
        outside: (c) => {
          const data = [c & 0xff, (c >> 8) & 0xff, (c >> 16) & 0xff].slice(0, 1 + (c % 3));
          if (c % 4 === 0) uart.receive(data);
          else if (c % 4 === 1 && uart.frameTimeNs() !== Infinity) uart.receiveAtWireSpeed(data);
          else if (c % 4 === 2) uart.faults.busyStuck = !uart.faults.busyStuck;
          else uart.setModemInputs({ cts: (c & 16) !== 0 });
        },
      };
    }, PL011_MAP);
  });

  it("PL022: SR until the next frame (for good while BUSY is stuck); DR never", () => {
    checkHonest(() => {
      const clock = new VirtualClock();
      const ssp = new Pl022Model({ clock, sspclkHz: 24_000_000 });
      return { device: ssp, clock, outside: () => { ssp.faults.busyStuck = !ssp.faults.busyStuck; } };
    }, PL022_MAP);
  });

  it("PL061: every register until written or driven", () => {
    checkHonest(() => {
      const clock = new VirtualClock();
      const gpio = new Pl061Model({ clock });
      return { device: gpio, clock, outside: (c) => gpio.driveInputs(0xff, c & 0xff) };
    }, PL061_MAP);
  });

  it("PL080: every register but the request lines until written or stepped (the bus stops a stretched read at the engine's next step)", () => {
    checkHonest(() => {
      const clock = new VirtualClock();
      const bus = new Bus({ clock });
      const dma = new Pl080Model(bus, clock);
      return { device: dma, clock, outside: () => dma.step(clock.now) };
    }, PL080_MAP);
  });
});

/** Cases from a seed, as the fuzz loop generates them. */
function sampleCases(fuzzer: Fuzzer, count: number): FuzzCase[] {
  const arb = fuzzer.cases({ legalOnly: false, maxSteps: 12 }, 7);
  return fc.sample(arb, { seed: 7, numRuns: count }).map((steps) => fuzzer.caseOf(steps));
}

describe("Device.stableUntil is honest: the STM32F4 models", () => {
  const PCLK = 16_000_000;

  it("USART: SR and CR1 until the next event; DR never; the rest until written", () => {
    checkHonest(() => {
      const clock = new VirtualClock();
      const usart = new Stm32UsartModel({ clock, pclkHz: PCLK });
      return {
        device: usart, clock,
        outside: (c) => {
          if (usart.frameNs() === Infinity) return;
          const error = (["none", "parity", "framing", "noise"] as const)[c % 4];
          usart.receive([c & 0xff, (c >> 8) & 0xff].slice(0, 1 + ((c >> 2) % 2)), error === "none" ? {} : { error });
        },
      };
    }, USART_MAP);
  });

  it("SPI: SR until the next frame, and not at all in the OVR clearing sequence; DR never", () => {
    checkHonest(() => {
      const clock = new VirtualClock();
      return { device: new Stm32SpiModel({ clock, pclkHz: PCLK }), clock };
    }, SPI_MAP);
  });

  it("a clock gate: the peripheral's while open (with the enable-delay erratum); never while it keeps the access", () => {
    checkHonest(() => {
      const clock = new VirtualClock();
      const rcc = new Stm32RccModel({ clock, enableErratum: true });
      const usart = new Stm32UsartModel({ clock, pclkHz: () => rcc.pclk2Hz() });
      const gate = new ClockGate("usart1", usart, clock, RCC_APB2ENR, RCC_APB2ENR_USART1EN, "APB2ENR.USART1EN", RCC_APB2RSTR);
      rcc.addGate(gate, "APB2ENR");
      return {
        device: gate, clock,
        // The RCC from outside the region: the clock on or off, the block in reset or not.
        outside: (c) => {
          const at = c % 2 === 0 ? RCC_APB2ENR : RCC_APB2RSTR;
          rcc.write(at, (rcc.read(at, 4) ^ RCC_APB2ENR_USART1EN) >>> 0, 4);
        },
      };
    }, USART_MAP);
  });
});

addFuzzTargets(STM32F4_TARGETS, null);

describe("the world's repeated-read path", () => {
  for (const name of [...TARGET_NAMES, ...STM32F4_TARGET_NAMES]) {
    for (const stretched of [true, false]) {
      it(`${name}, latency ${stretched ? "stretched" : "fixed"}: fast runs and recorded runs agree on every case`, () => {
        const fuzzer = new Fuzzer(targetByName(name));
        fuzzer.world.pollLatency = stretched;
        const world = fuzzer.world;
        const cases = sampleCases(fuzzer, 60);
        // A poll of a register stuck by an override, to the driver's limit: 2^22 repeats with
        // every one replaced, then one that is not (an override that ends).
        if (name === "pl011") {
          for (const count of [0, 3]) {
            cases.push({ target: "pl011", steps: [
              { op: "init", args: [PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK, 115200, 0] },
              { op: "respond", region: "uart0", register: "FR", skip: 1, count, mask: 8, value: 8, legal: true },
              { op: "flush", base: PL011_FUZZ_BASE },
            ] as Step[] });
          }
          // The same stuck poll after a write whose waits leave the clock between whole
          // nanoseconds when stretched (a character takes 86,805.5... ns at 115200 baud): the
          // repeats the WebAssembly responder answers add the access time one by one there.
          cases.push({ target: "pl011", steps: [
            { op: "init", args: [PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK, 115200, 0] },
            { op: "write", base: PL011_FUZZ_BASE, at: "scratch", data: Array.from({ length: 20 }, (_, i) => i), big: false },
            { op: "respond", region: "uart0", register: "FR", skip: 0, count: 0, mask: 8, value: 8, legal: true },
            { op: "flush", base: PL011_FUZZ_BASE },
          ] as Step[] });
        }
        for (const fuzzCase of cases) {
          const fast = fuzzer.runCase(fuzzCase);
          const fastSeen = world.trace.seen;
          const fastReplaced = world.replacedReads();
          const fastClock = world.clock.now;
          const fastTail = world.trace.tail();
          const report = fuzzer.runCase(fuzzCase, { mode: "report" });
          const what = JSON.stringify(fuzzCase.steps);
          expect(fast.failure?.message ?? null, what).toBe(report.failure?.message ?? null);
          expect(fastSeen, what).toBe(world.trace.seen);
          expect(world.trace.length, what).toBe(world.trace.seen);
          expect(fastClock, what).toBe(world.clock.now);
          // The ring a hang is described from.
          expect(fastTail, what).toEqual(world.trace.tail());
          expect({ count: fastReplaced.count, illegal: fastReplaced.illegal, kept: fastReplaced.kept }, what)
            .toEqual({ count: world.replacedReads().count, illegal: world.replacedReads().illegal, kept: world.replacedReads().kept });
        }
      });
    }
  }
});

describe("poll latency", () => {
  const writeAndFlush: FuzzCase = {
    target: "pl011",
    steps: [
      { op: "init", args: [PL011_FUZZ_BASE, PL011_FUZZ_UARTCLK, 115200, 0] },
      { op: "write", base: PL011_FUZZ_BASE, at: "scratch", data: Array.from({ length: 40 }, (_, i) => i), big: false },
      { op: "flush", base: PL011_FUZZ_BASE },
    ] as Step[],
  };

  function run(stretched: boolean): { reads: number; times: number[]; gaps: number[]; wire: number } {
    const fuzzer = new Fuzzer(targetByName("pl011"));
    fuzzer.world.pollLatency = stretched;
    const { failure } = fuzzer.runCase(writeAndFlush, { mode: "report" });
    expect(failure).toBeNull();
    const trace = fuzzer.world.trace;
    const times: number[] = [];
    let reads = 0;
    for (const e of trace.entries()) {
      times.push(e.time);
      if (e.op === OP_READ) reads++;
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    return { reads, times, gaps, wire: trace.length };
  }

  it("fixed: every access takes the clock's access time, and a 40-byte write polls FR thousands of times", () => {
    const fixed = run(false);
    expect(fixed.gaps.every((g) => Math.abs(g - 100) < 1e-6)).toBe(true);
    expect(fixed.reads).toBeGreaterThan(1000);
  });

  it("stretched: the same calls pass with a few reads per character, only repeated reads take longer", () => {
    const fixed = run(false);
    const stretched = run(true);
    expect(stretched.reads).toBeLessThan(fixed.reads / 10);
    // Every access takes at least the access time; some take more.
    expect(stretched.gaps.every((g) => g >= 100 - 1e-6)).toBe(true);
    expect(stretched.gaps.some((g) => g > 100 + 1e-6)).toBe(true);
  });

  it("the loop runs with the latency stretched by default, and a regression records it", () => {
    const fuzzer = new Fuzzer(targetByName("pl011"));
    expect(fuzzer.world.pollLatency).toBe(true);
  });
});
