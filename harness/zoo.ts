// The bug zoo: deliberately broken variants of the drivers (zoo/<name>.ts, built by `npm run
// build:zoo` into build/zoo/<name>.wasm), each with the defect a real driver is known to ship
// with, and the scenario plus check that must catch it. The same scenario and check run against
// the real driver (build/hal.wasm, or build/stm32f4.wasm for the STM32F4 family) must pass: a
// check that also fails the correct driver proves nothing.
//
// A zoo module keeps the ABI (imports env.mmio_read/mmio_write/barrier only) and the export names
// of the module it breaks, so a Hal loads it in place of build/hal.wasm (a PrimeCell bug: the
// exports of its driver) or build/stm32f4.wasm (an STM32F4 bug: every export of the family's
// module, harness/zoo-stm32f4.ts). Expected register values below come from the TRMs, worked out
// by hand in the comments.
import { join } from "node:path";
import { existsSync } from "node:fs";
import { Bus, type Device } from "./bus.js";
import { Hal, HalError, packageRoot, wasmPath, type HalVariant } from "./hal.js";
import { packageProject } from "./project.js";
import { Pl011Model } from "./devices/pl011.js";
import { Pl022Model } from "./devices/pl022.js";
import { Pl061Model } from "./devices/pl061.js";
import { Pl080Model } from "./devices/pl080.js";
import { Ram } from "./devices/ram.js";
import { PL011_MAP } from "./generated/pl011.js";
import { PL022_MAP } from "./generated/pl022.js";
import { PL061_MAP, PL061_IC } from "./generated/pl061.js";
import { PL080_MAP, PL080_Configuration, PL080_Configuration_E } from "./generated/pl080.js";
import { OK, ERR_DMA, PL022_CONFIG_LOOPBACK, PL061_IRQ_EDGE_RISING } from "./generated/api.js";
import {
  within, captureSites, checkAccessesInOrder, checkBarrierBetween, checkPolls, checkWrites, checkWidths,
  checkNeverTouches, checkLintClean, checkReturnsWithin, pl011Reprogramming, type Outcome,
} from "./assert.js";
import { ZOO_STM32F4 } from "./zoo-stm32f4.js";
import { ZOO_IRQ } from "./zoo-irq.js";

/** The driver a bug breaks: a PrimeCell driver of build/hal.wasm, or an STM32F4 driver of
 * build/stm32f4.wasm (named as the family's fuzz targets are). */
export type ZooDriver =
  | "pl011" | "pl022" | "pl061" | "pl080" | "pl011-irq"
  | "stm32f4-rcc" | "stm32f4-gpio" | "stm32f4-usart" | "stm32f4-spi" | "stm32f4-dma";

/** The project module (wasm-hal.config.json "modules") whose driver a bug breaks. */
export function zooFamilyModule(driver: ZooDriver): "hal" | "stm32f4" {
  return driver.startsWith("stm32f4-") ? "stm32f4" : "hal";
}

/** A module to run a scenario against: a zoo variant or the real driver. */
export interface ZooModule {
  readonly path: string;
  readonly variant: HalVariant;
  /** The module's source map, to name AssemblyScript lines in messages (debug builds). */
  readonly sourceMap: string | undefined;
  /** A deliberately broken module: its Hal is left out of the test suite's automatic lint. */
  readonly broken: boolean;
}

export interface ZooBug {
  /** zoo/<name>.ts, build/zoo/<name>.wasm. */
  readonly name: string;
  readonly driver: ZooDriver;
  /** The exports that differ from the driver's. */
  readonly broken: readonly string[];
  /** What is wrong, and what it does on hardware. */
  readonly defect: string;
  /** The check expected to catch it. */
  readonly caughtBy: string;
  /** Runs the scenario against `module` and applies the check: the failure message, or null
   * when the check passes. */
  readonly run: (module: ZooModule) => string | null;
  /** False for a bug the fuzzer has no target for; the fuzzer's zoo run leaves it out. A bug it
   * fuzzes is fuzzed on the target named by its driver (pl011-irq for the interrupt bugs). */
  readonly fuzz?: boolean;
}

/** build/zoo/<name>.wasm, or the debug build with its source map. */
export function zooModule(name: string, variant: HalVariant = "release"): ZooModule {
  const path = join(packageRoot(), "build", "zoo", `${name}${variant === "debug" ? ".debug" : ""}.wasm`);
  if (!existsSync(path)) throw new Error(`${path} does not exist: run \`npm run build:zoo\` first`);
  return { path, variant, sourceMap: variant === "debug" ? `${path}.map` : undefined, broken: true };
}

/** The real driver: build/hal.wasm (or build/hal.debug.wasm), or for an STM32F4 driver the
 * family's module, build/stm32f4.wasm (build/stm32f4.debug.wasm). */
export function driverModule(variant: HalVariant = "release", driver?: ZooDriver): ZooModule {
  const path = driver !== undefined && zooFamilyModule(driver) === "stm32f4" ? packageProject().modulePath("stm32f4", variant) : wasmPath(variant);
  return { path, variant, sourceMap: variant === "debug" ? `${path}.map` : undefined, broken: false };
}

// ---------------------------------------------------------------------------------------------
// Boards: one block each, at the ARM Versatile PB addresses

const UART0 = 0x101f_1000;
const SSP0 = 0x101f_4000;
const GPIO0 = 0x101e_4000;
const DMAC = 0x1013_0000;
const RAM = 0x2000_0000;
const RAM_SIZE = 0x1_0000;
/** Nothing is mapped here: a DMA access meets an error response. */
const HOLE = 0x3000_0000;

/** A bus with `regions` mapped, the module loaded on it, source sites captured for debug builds. */
function boardWith(module: ZooModule, map: (bus: Bus) => void): { bus: Bus; hal: Hal } {
  const bus = new Bus();
  map(bus);
  if (module.sourceMap !== undefined) captureSites(bus, module.sourceMap);
  const hal = new Hal(bus, module.variant, module.path);
  if (module.broken) hal.lintInTests = false;
  return { bus, hal };
}

function uartBoard(module: ZooModule, uartclkHz = 24_000_000) {
  let uart0!: Pl011Model;
  const b = boardWith(module, (bus) => {
    uart0 = new Pl011Model({ clock: bus.clock, uartclkHz });
    bus.map({ name: "uart0", base: UART0, size: PL011_MAP.size, device: uart0, map: PL011_MAP });
  });
  return { ...b, uart0 };
}

/** Runs a scenario and then its check. A scenario stopped by a HalError (a bus fault, a trap) is
 * still checked on the trace it left; the error is noted under the check's message. */
function scenario(run: () => void, check: () => Outcome): string | null {
  let stopped: HalError | undefined;
  try {
    run();
  } catch (e) {
    if (!(e instanceof HalError)) throw e;
    stopped = e;
  }
  const outcome = check();
  if (outcome.pass) return stopped === undefined ? null : `the scenario did not complete: ${stopped.message.split("\n")[0]}`;
  return stopped === undefined ? outcome.message : `${outcome.message}\n(the scenario stopped there: ${stopped.message.split("\n")[0]})`;
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

// ---------------------------------------------------------------------------------------------
// The zoo

/** The PrimeCell bugs; ZOO adds the STM32F4 ones. */
const ZOO_PRIMECELL: readonly ZooBug[] = [
  {
    name: "pl011-fr-read-hoisted",
    driver: "pl011",
    broken: ["pl011_write"],
    defect: "the FR read of the TX wait loop is hoisted out of the loop (read once per call): bytes are written into a full FIFO and dropped",
    caughtBy: "toPollEveryIteration: every W DR follows a read of FR showing TXFF = 0",
    run(module) {
      const { bus, hal } = uartBoard(module);
      // 40 bytes at 115200 baud: more than the 32-entry FIFO of r1p5 holds, so the driver must
      // wait for room, reading FR again while TXFF is set.
      const text = ascii("forty bytes: more than one TX FIFO fill.");
      return scenario(() => {
        hal.call("pl011_init", UART0, 24_000_000, 115200, 0);
        hal.call("pl011_write", UART0, hal.writeBytes(text), text.length);
      }, () => checkPolls(within(bus, { call: "pl011_write" }), { read: "uart0.FR", each: "W uart0.DR", until: { fields: { TXFF: 0 } } }));
    },
  },
  {
    name: "pl011-lcrh-flush-merged",
    driver: "pl011",
    broken: ["pl011_init"],
    defect: "the LCR_H = 0 write that flushes the FIFOs (TRM 3.3.8 step 3) is merged into the later frame-format write: the FIFOs are never flushed",
    caughtBy: "toWriteExactly: the writes to LCR_H in pl011_init are 0x00 then 0x70",
    run(module) {
      const { bus, hal } = uartBoard(module);
      return scenario(
        () => hal.call("pl011_init", UART0, 24_000_000, 115200, 0),
        // TRM 3.3.8: FEN cleared (0x00), then 8N1 with FIFOs: WLEN = 0b11 (bits 6:5) and FEN
        // (bit 4), 0x60 | 0x10 = 0x70 (TRM 3.3.7).
        () => checkWrites(within(bus, { call: "pl011_init" }), "uart0.LCR_H", [0x00, 0x70]),
      );
    },
  },
  {
    name: "pl011-lcrh-before-divisor",
    driver: "pl011",
    broken: ["pl011_init"],
    defect: "LCR_H is written before IBRD and FBRD, so the new divisor is never latched (TRM 3.3.7)",
    caughtBy: "toContainAccessesInOrder(pl011Reprogramming): IBRD and FBRD, then LCR_H",
    run(module) {
      const { bus, hal } = uartBoard(module);
      return scenario(
        () => hal.call("pl011_init", UART0, 24_000_000, 115200, 0),
        () => checkAccessesInOrder(within(bus, { call: "pl011_init" }), pl011Reprogramming("uart0")),
      );
    },
  },
  {
    name: "pl011-reinit-while-enabled",
    driver: "pl011",
    broken: ["pl011_init"],
    defect: "pl011_init does not clear UARTEN before reprogramming: a second init rewrites LCR_H, IBRD and FBRD while the UART is enabled (TRM 3.3.7, 3.3.8)",
    caughtBy: "toBeLintClean: write-while-enabled",
    run(module) {
      const { bus, hal } = uartBoard(module);
      return scenario(() => {
        hal.call("pl011_init", UART0, 24_000_000, 115200, 0);
        hal.call("pl011_init", UART0, 24_000_000, 9600, 0);
      }, () => checkLintClean(within(bus, { call: "pl011_init", nth: 1 })));
    },
  },
  {
    name: "pl011-fr-byte-read",
    driver: "pl011",
    broken: ["pl011_flush"],
    defect: "pl011_flush reads FR with a byte access: FR takes 32-bit accesses only, and a byte read loses RI (bit 8)",
    caughtBy: "toUseWidth: every access to uart0 is 32-bit",
    run(module) {
      const { bus, hal } = uartBoard(module);
      const text = ascii("ok\r\n");
      return scenario(() => {
        hal.call("pl011_init", UART0, 24_000_000, 115200, 0);
        hal.call("pl011_write", UART0, hal.writeBytes(text), text.length);
        hal.call("pl011_flush", UART0);
      }, () => checkWidths(bus, "uart0", 4));
    },
  },
  {
    name: "pl011-read-unguarded",
    driver: "pl011",
    broken: ["pl011_read"],
    defect: "pl011_read pops DR without reading FR first, taking 0 for an empty FIFO: it reads an empty FIFO and stops at a received NUL",
    caughtBy: "toBeLintClean: unguarded-consuming-read",
    run(module) {
      const { bus, hal, uart0 } = uartBoard(module);
      return scenario(() => {
        hal.call("pl011_init", UART0, 24_000_000, 115200, 0);
        uart0.receive(ascii("ok"));
        hal.call("pl011_read", UART0, hal.scratch, 8);
      }, () => checkLintClean(within(bus, { call: "pl011_read" })));
    },
  },
  {
    name: "pl061-ic-read-modify-write",
    driver: "pl061",
    broken: ["pl061_irq_clear"],
    defect: "pl061_irq_clear updates the write-1-to-clear IC by read-modify-write: where an IC read returns the pending edges, clearing one pin clears them all",
    caughtBy: "toBeLintClean: w1c-read-modify-write",
    run(module) {
      let gpio!: Pl061Model;
      const { bus, hal } = boardWith(module, (b) => {
        gpio = new Pl061Model({ clock: b.clock });
        // The TRM leaves an IC read undefined (3.3.9); this PL061 answers it with RIS, the
        // pending status, as an implementation may.
        const icReadsStatus: Device = {
          read: (offset, width) => (offset === PL061_IC ? gpio.ris : gpio.read(offset, width)),
          write: (offset, value, width) => gpio.write(offset, value, width),
        };
        b.map({ name: "gpio0", base: GPIO0, size: PL061_MAP.size, device: icReadsStatus, map: PL061_MAP });
      });
      return scenario(() => {
        hal.call("pl061_irq_config", GPIO0, 0x03, PL061_IRQ_EDGE_RISING);
        // Rising edges on pins 0 and 1: both latch. The handler serves pin 0 only.
        gpio.drive(0, true);
        gpio.drive(1, true);
        hal.call("pl061_irq_clear", GPIO0, 0x01);
      }, () => checkLintClean(within(bus, { call: "pl061_irq_clear" })));
    },
  },
  {
    name: "pl061-data-read-modify-write",
    driver: "pl061",
    broken: ["pl061_write"],
    defect: "pl061_write reads all pins through DATA and writes them all back instead of one write to the masked alias (TRM 3.3.1): a concurrent change to another pin is overwritten",
    caughtBy: "toNeverTouch: pl061_write never reads gpio0.DATA",
    run(module) {
      const { bus, hal } = boardWith(module, (b) => {
        b.map({ name: "gpio0", base: GPIO0, size: PL061_MAP.size, device: new Pl061Model({ clock: b.clock }), map: PL061_MAP });
      });
      return scenario(() => {
        hal.call("pl061_set_direction", GPIO0, 0x0f, 0x0f);
        hal.call("pl061_write", GPIO0, 0x01, 0x01);
      }, () => checkNeverTouches(within(bus, { call: "pl061_write" }), "gpio0.DATA", { op: "read" }));
    },
  },
  {
    name: "pl022-rx-never-drained",
    driver: "pl022",
    broken: ["pl022_transfer"],
    defect: "pl022_transfer writes every frame before reading any: once more frames are in flight than the FIFOs hold, the RX FIFO overruns and frames are lost (TRM 3.4)",
    caughtBy: "toPollEveryIteration: DR is read once per frame the model shifted",
    run(module) {
      let ssp!: Pl022Model;
      const { bus, hal } = boardWith(module, (b) => {
        ssp = new Pl022Model({ clock: b.clock, sspclkHz: 24_000_000 });
        b.map({ name: "ssp0", base: SSP0, size: PL022_MAP.size, device: ssp, map: PL022_MAP });
      });
      let shifted = 0;
      return scenario(() => {
        // Loopback, 1 MHz, 8-bit frames: each frame sent comes back into the RX FIFO. 32 frames:
        // more than the TX FIFO, the shifter and the RX FIFO hold together (8 + 1 + 8).
        hal.call("pl022_init", SSP0, 24_000_000, 1_000_000, PL022_CONFIG_LOOPBACK);
        const frames = Array.from({ length: 32 }, (_, i) => 0xa0 + i);
        const before = ssp.framesShifted;
        try {
          hal.call("pl022_transfer", SSP0, hal.writeBytes(frames), hal.scratch + 64, frames.length);
        } finally {
          shifted = ssp.framesShifted - before;
        }
      }, () => checkPolls(within(bus, { call: "pl022_transfer" }), { read: "ssp0.DR", times: shifted }));
    },
  },
  {
    name: "pl080-missing-dsb",
    driver: "pl080",
    broken: ["pl080_memcpy"],
    defect: "pl080_memcpy enables the channel without a DSB after programming it: the DMA master may read memory the CPU has not finished writing",
    caughtBy: "toHaveBarrierBetween: a DSB between W C0Control and W C0Configuration with E = 1",
    run(module) {
      let ram!: Ram;
      const { bus, hal } = boardWith(module, (b) => {
        b.map({ name: "dmac", base: DMAC, size: PL080_MAP.size, device: new Pl080Model(b, b.clock), map: PL080_MAP });
        ram = new Ram(RAM_SIZE);
        b.map({ name: "ram", base: RAM, size: RAM_SIZE, device: ram });
      });
      return scenario(() => {
        for (let i = 0; i < 64; i++) ram.bytes[i] = i;
        hal.call("pl080_init", DMAC);
        hal.call("pl080_memcpy", DMAC, 0, RAM, RAM + 0x100, 64, 0);
        hal.call("pl080_wait", DMAC, 0);
      }, () => checkBarrierBetween(within(bus, { call: "pl080_memcpy" }), "DSB", "W dmac.C0Control", { write: "dmac.C0Configuration", fields: { E: 1 } }));
    },
  },
  {
    name: "pl080-stop-keeps-status",
    driver: "pl080",
    broken: ["pl080_stop"],
    defect: "pl080_stop halts and disables the channel but leaves its terminal-count and error status (kept until IntTCClear / IntErrClr, DDI 0196G 3.4): the next pl080_wait on the idle channel reports the abandoned transfer's error",
    caughtBy: "pl080_wait returns OK on the channel pl080_stop stopped",
    run(module) {
      const { hal } = boardWith(module, (b) => {
        b.map({ name: "dmac", base: DMAC, size: PL080_MAP.size, device: new Pl080Model(b, b.clock), map: PL080_MAP });
        b.map({ name: "ram", base: RAM, size: RAM_SIZE, device: new Ram(RAM_SIZE) });
      });
      let waited: number | undefined;
      const outcome = scenario(() => {
        hal.call("pl080_init", DMAC);
        // The source is unmapped: the channel's first read meets an error response, which sets
        // its error status (and disables it).
        hal.call("pl080_memcpy", DMAC, 0, HOLE, RAM, 64, 0);
        hal.call("pl080_stop", DMAC, 0);
        waited = hal.call("pl080_wait", DMAC, 0);
      }, () => (waited === OK ? { pass: true, message: "" } : {
        pass: false,
        message: `pl080_wait(0x${DMAC.toString(16)}, 0) after pl080_stop returned ${waited}${waited === ERR_DMA ? " (ERR_DMA: the error of the transfer the stop abandoned)" : ""}; the stopped channel is idle, so it returns OK (0): pl080_stop clears the channel's status through IntTCClear and IntErrClr`,
      }));
      return outcome;
    },
  },
  {
    name: "pl080-enable-poll-unbounded",
    driver: "pl080",
    broken: ["pl080_init"],
    defect: "pl080_init waits for Configuration.E to read 1 with no limit: a controller that never reports itself enabled hangs the caller",
    caughtBy: "toReturnWithin: pl080_init returns within 1000 bus accesses",
    run(module) {
      const { hal } = boardWith(module, (b) => {
        const dmac = new Pl080Model(b, b.clock);
        // A controller held in reset: Configuration.E never reads back 1.
        const stuck: Device = {
          read: (offset, width) => (offset === PL080_Configuration ? dmac.read(offset, width) & ~PL080_Configuration_E : dmac.read(offset, width)),
          write: (offset, value, width) => dmac.write(offset, value, width),
        };
        b.map({ name: "dmac", base: DMAC, size: PL080_MAP.size, device: stuck, map: PL080_MAP });
      });
      // The driver reads E at most PL080_ENABLE_POLL_LIMIT (16) times, then stops eight channels
      // (two accesses each) and clears status: well under 1000 accesses.
      const outcome = checkReturnsWithin(hal, 1000, "pl080_init", DMAC);
      return outcome.pass ? null : outcome.message;
    },
  },
];

export const ZOO: readonly ZooBug[] = [...ZOO_PRIMECELL, ...ZOO_STM32F4, ...ZOO_IRQ];

export interface ZooResult {
  readonly bug: ZooBug;
  /** The check's message on the broken module; null: not caught. */
  readonly broken: string | null;
  /** The check's message on the real driver; null: the driver passes, as it must. */
  readonly correct: string | null;
}

/** Runs every bug's scenario against its zoo module and against the real driver of its family. */
export function runZoo(variant: HalVariant = "release"): ZooResult[] {
  return ZOO.map((bug) => ({ bug, broken: bug.run(zooModule(bug.name, variant)), correct: bug.run(driverModule(variant, bug.driver)) }));
}

/** "11 of 11 seeded bugs caught; the real drivers pass every check". */
export function zooSummary(results: readonly ZooResult[]): { seeded: number; caught: number; correctPasses: number; text: string } {
  const seeded = results.length;
  const caught = results.filter((r) => r.broken !== null).length;
  const correctPasses = results.filter((r) => r.correct === null).length;
  const drivers = correctPasses === seeded ? "the real drivers pass every check" : `the real drivers fail ${seeded - correctPasses} of the checks`;
  return { seeded, caught, correctPasses, text: `${caught} of ${seeded} seeded bugs caught; ${drivers}` };
}
