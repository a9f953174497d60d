// The package's interrupt scenarios (docs/interrupts.md): the interrupt-driven PL011 on the
// Versatile board, once with each delivery mode, one golden trace each, and the same program as
// an interleaving exploration (harness/explore.ts) that lands the receive interrupt at every
// delivery point in turn.
import type { Scenario, ScenarioContext } from "./scenario.js";
import { loadBoard, type Board } from "./board-file.js";
import type { DeliveryMode, Interrupts } from "./interrupts.js";
import type { InterleavingScenario, ExplorationWorld } from "./explore.js";
import { Pl011Model } from "./devices/pl011.js";
import { Pl061Model } from "./devices/pl061.js";
import { Ram } from "./devices/ram.js";
import { SpiNorFlash } from "./devices/spi.js";
import {
  OK, ERR_BUSY, ERR_DMA, ERR_RX_PARITY, PL011_IRQ_CTX_SIZE, PL061_IRQ_CTX_SIZE, PL080_IRQ_CTX_SIZE, PL022_IRQ_CTX_SIZE,
  PL061_IRQ_EDGE_RISING, PL061_IRQ_EDGE_BOTH, PL061_IRQ_LEVEL_HIGH, PL080_CONFIG_IRQ,
} from "./generated/api.js";

export * from "./scenario.js";

/** What the UART sends: longer than the 16-deep TX FIFO, so the handler refills it twice. */
export const IRQ_GREETING = "Hello from the PL011 interrupt handler!\r\n";
/** What arrives: four good characters, then one with a parity error. */
export const IRQ_ARRIVALS = "ping";
const BAUD = 115200;
const UART_8N1 = 0;
/** uart0's interrupt line on the Versatile board (fixtures/boards/versatile.json). */
export const UART0_LINE = 12;

const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** Where the scenarios keep things in linear memory: the scratch buffer holds the bytes to send
 * and the bytes read; the UART's context block follows them. */
function layout(board: Board): { send: number; receive: number; ctx: number } {
  const scratch = board.hal.scratch;
  const ctx = scratch + board.hal.scratchSize - PL011_IRQ_CTX_SIZE;
  return { send: scratch, receive: scratch + 256, ctx: ctx & ~3 };
}

/** hal_irq_controller: the NVIC-layout controller's ISER0 and ICER0 (registers/irqc.json). */
function controllerArgs(board: Board): [number, number] {
  const base = board.base("irqc");
  return [base, base + 0x080];
}

function irqScenario(mode: DeliveryMode): Scenario {
  return {
    name: `pl011-irq-${mode}`,
    summary: `the interrupt-driven PL011 (${mode} delivery) sends a ${IRQ_GREETING.length}-byte greeting through its TX ring and receives "${IRQ_ARRIVALS}" and a parity error through its RX ring`,
    board: "versatile",
    run(s: ScenarioContext) {
      const { hal } = s.board;
      const uart = s.model("uart0", Pl011Model);
      const { send, receive, ctx } = layout(s.board);
      s.phase("setup", "the controller's enable registers; the UART at 115200 baud 8N1 with its RX interrupts on, line 12 enabled");
      s.deliverInterrupts(mode);
      s.expect(OK, "hal_irq_controller", ...controllerArgs(s.board));
      s.expect(OK, "pl011_irq_open", ctx, s.board.base("uart0"), s.fact("uart0", "uartclkHz"), BAUD, UART_8N1, UART0_LINE);

      s.phase("test", "pl011_irq_write queues the greeting and fills the FIFO; the TX interrupt refills it; pl011_irq_flush waits for the last stop bit");
      const text = latin1(IRQ_GREETING);
      hal.writeBytes(text, send);
      s.expect(text.length, "pl011_irq_write", ctx, send, text.length);
      s.stimulus(`uart0: "${IRQ_ARRIVALS}" arrives on RXD while the greeting is sent`, () => uart.receive(latin1(IRQ_ARRIVALS)));
      s.expect(OK, "pl011_irq_flush", ctx);
      s.inspect("the bytes on TXD", () => s.expectBytes(uart.wire, text, "bytes on TXD"));

      s.phase("test", "pl011_irq_read takes what the RX handler stored; a character with a parity error is reported after the bytes before it");
      s.expect(IRQ_ARRIVALS.length, "pl011_irq_read", ctx, receive, 64);
      s.expectBytes(hal.readBytes(receive, IRQ_ARRIVALS.length), latin1(IRQ_ARRIVALS), "bytes read");
      s.stimulus("uart0: 0x21 arrives with a parity error: PERIS sets at once and raises the line (one character is below the RX level)", () => uart.receive([0x21], { error: "parity" }));
      s.idle(400_000);
      s.expect(ERR_RX_PARITY, "pl011_irq_read", ctx, receive, 64);
      s.expect(0, "pl011_irq_read", ctx, receive, 64);
      s.expect(OK, "pl011_irq_close", ctx);
    },
  };
}

/** A context block of `size` bytes at the end of the scratch buffer. */
const contextAtEnd = (board: Board, size: number): number => (board.hal.scratch + board.hal.scratchSize - size) & ~3;

const pl061Irq: Scenario = {
  name: "pl061-irq-edges-level",
  summary: "the interrupt-driven PL061 (deferred delivery) reports a rising edge and a pulse once each, and a held level once per pl061_irq_take: edges acknowledged through IC, the level masked in IE until the take re-arms it",
  board: "versatile",
  run(s) {
    const { hal } = s.board;
    const gpio = s.model("gpio0", Pl061Model);
    const ctx = contextAtEnd(s.board, PL061_IRQ_CTX_SIZE);
    s.phase("setup", "pins 1 (rising edge), 2 (both edges) and 4 (high level) watched on gpio0, line 6");
    s.deliverInterrupts("deferred");
    s.expect(OK, "hal_irq_controller", ...controllerArgs(s.board));
    s.expect(OK, "pl061_irq_open", ctx, s.board.base("gpio0"), 6);
    s.expect(OK, "pl061_irq_watch", ctx, 1 << 1, PL061_IRQ_EDGE_RISING);
    s.expect(OK, "pl061_irq_watch", ctx, 1 << 2, PL061_IRQ_EDGE_BOTH);
    s.expect(OK, "pl061_irq_watch", ctx, 1 << 4, PL061_IRQ_LEVEL_HIGH);
    s.phase("test", "edges and a level from outside; pl061_irq_take hands each event over once");
    s.stimulus("gpio0: pin 1 rises", () => gpio.drive(1, true));
    s.expect(1 << 1, "pl061_irq_take", ctx, 0xff);
    s.stimulus("gpio0: pin 2 pulses high and low", () => { gpio.drive(2, true); gpio.drive(2, false); });
    s.expect(1 << 2, "pl061_irq_take", ctx, 0xff);
    s.stimulus("gpio0: pin 4 goes high and stays high", () => gpio.drive(4, true));
    s.expect(1 << 4, "pl061_irq_take", ctx, 0xff);
    // The take re-armed pin 4 while it was still high: the level fired again (once per take).
    s.stimulus("gpio0: pin 4 goes low", () => gpio.drive(4, false));
    s.expect(1 << 4, "pl061_irq_take", ctx, 0xff);
    s.expect(0, "pl061_irq_take", ctx, 0xff);
    s.expect(OK, "pl061_irq_close", ctx);
  },
};

const pl080Irq: Scenario = {
  name: "pl080-irq-memcpy",
  summary: "the PL080 reports by interrupt (deferred delivery) a 64-byte copy that completes (terminal count: OK) and one from an unmapped address (error: ERR_DMA), each once",
  board: "versatile",
  run(s) {
    const { hal } = s.board;
    const ctx = contextAtEnd(s.board, PL080_IRQ_CTX_SIZE);
    const dmac = s.board.base("dmac");
    const ram = s.board.base("ram");
    const linear = s.board.base("linear");
    s.phase("setup", "the DMAC, its completion and error interrupts on line 17");
    s.deliverInterrupts("deferred");
    s.expect(OK, "hal_irq_controller", ...controllerArgs(s.board));
    s.expect(OK, "pl080_init", dmac);
    s.expect(OK, "pl080_irq_open", ctx, dmac, 17);
    s.phase("test", "channel 0 copies 64 bytes of linear memory to RAM; channel 1 reads from 0x30000000, where nothing is mapped");
    const data = Uint8Array.from({ length: 64 }, (_, i) => (i * 5 + 1) & 0xff);
    hal.writeBytes(data);
    s.expect(ERR_BUSY, "pl080_irq_status", ctx, 0);
    s.expect(OK, "pl080_memcpy", dmac, 0, linear + hal.scratch, ram + 0x100, data.length, PL080_CONFIG_IRQ);
    s.idle(20_000);
    s.expect(OK, "pl080_irq_status", ctx, 0);
    s.expect(ERR_BUSY, "pl080_irq_status", ctx, 0);
    s.inspect("the bytes in RAM", () => s.expectBytes(s.model("ram", Ram).bytes.subarray(0x100, 0x140), data, "RAM at 0x100"));
    s.expect(OK, "pl080_memcpy", dmac, 1, 0x3000_0000, ram + 0x200, 64, PL080_CONFIG_IRQ);
    s.idle(20_000);
    s.expect(ERR_DMA, "pl080_irq_status", ctx, 1);
    s.expect(ERR_BUSY, "pl080_irq_status", ctx, 1);
    s.expect(OK, "pl080_irq_close", ctx);
  },
};

const pl022Irq: Scenario = {
  name: "pl022-irq-flash-read",
  summary: "the interrupt-driven PL022 (deferred delivery) reads 28 bytes of the SPI NOR flash in one 32-frame transfer: 8 frames primed, the RX interrupt taking 4 or more and sending as many, RT ending it",
  board: "versatile",
  run(s) {
    const { hal } = s.board;
    const flash = s.part("flash0", SpiNorFlash);
    const wiring = s.board.chipSelectOf("flash0");
    if (wiring === null) return s.fail(`board ${s.board.description.name} does not wire flash0's chip select to a GPIO pin`);
    const ctx = contextAtEnd(s.board, PL022_IRQ_CTX_SIZE);
    const ssp = s.board.base(wiring.ssp);
    const gpio = s.board.base(wiring.gpio);
    const pin = 1 << wiring.pin;
    const level = (active: boolean): number => (active === wiring.activeLow ? 0 : pin);
    const data = Uint8Array.from({ length: 28 }, (_, i) => (i * 7 + 3) & 0xff);
    s.stimulus("flash0: 28 bytes programmed at 0x2000 before the test", () => flash.memory.set(data, 0x2000));
    s.phase("setup", `chip select (${wiring.gpio} pin ${wiring.pin}) inactive, the SSP at 12 MHz 8-bit mode 0, its interrupts on line 11`);
    s.deliverInterrupts("deferred");
    s.expect(OK, "hal_irq_controller", ...controllerArgs(s.board));
    s.expect(OK, "pl061_write", gpio, pin, level(false));
    s.expect(OK, "pl061_set_direction", gpio, pin, pin);
    s.expect(OK, "pl061_write", gpio, pin, level(false));
    s.expect(OK, "pl022_init", ssp, s.fact(wiring.ssp, "sspclkHz"), 12_000_000, 0);
    s.expect(OK, "pl022_irq_open", ctx, ssp, 11);
    s.phase("test", "READ (03) at 0x002000 and 28 frames clocking the data out, by interrupt; pl022_irq_wait polls for the end");
    const command = new Uint8Array(32);
    command.set([0x03, 0x00, 0x20, 0x00]);
    const tx = hal.scratch;
    const rx = hal.scratch + 512;
    hal.writeBytes(command, tx);
    s.expect(OK, "pl061_write", gpio, pin, level(true));
    s.expect(OK, "pl022_irq_transfer", ctx, tx, rx, command.length);
    s.expect(command.length, "pl022_irq_wait", ctx);
    s.expect(OK, "pl061_write", gpio, pin, level(false));
    s.expectBytes(hal.readBytes(rx + 4, data.length), data, "bytes read from the flash");
    s.expect(OK, "pl022_irq_close", ctx);
  },
};

const scenarios: Scenario[] = [irqScenario("deferred"), irqScenario("preemptive"), pl061Irq, pl080Irq, pl022Irq];
export default scenarios;

// ---------------------------------------------------------------------------------------------
// The same program as an exploration

export interface Pl011IrqWorld extends ExplorationWorld {
  readonly board: Board;
  readonly uart: Pl011Model;
  readonly ctx: number;
  /** Bytes and status codes pl011_irq_read returned, in order. */
  readonly received: number[];
  readonly errors: number[];
  /** The RX FIFO entries the stimulus delivered (character and DR error bits), in order. */
  readonly arrived: number[];
}

// The context block's layout (docs/drivers/pl011-irq.md): free-running RX indexes, 16-bit entries.
const CTX_RX_HEAD = 8;
const CTX_RX_TAIL = 12;
const CTX_RX_RING = 32;
const RX_RING_ENTRIES = 256;
/** DR's parity error bit (TRM 3.3.1). */
const DR_PE = 1 << 9;

const ordinal = (n: number): string => `${n}${n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th"}`;

/**
 * The RX ring's publication rule, checked before every access: each slot between rxTail and
 * rxHead holds the character that arrived in that position. A handler that moves rxHead before
 * it stores the slot is caught at the access between the two.
 */
function rxRingCheck(world: Pl011IrqWorld): (at: { entry: number; line: number }) => void {
  return (at) => {
    const view = new DataView(world.board.hal.memory.buffer);
    const head = view.getUint32(world.ctx + CTX_RX_HEAD, true);
    const tail = view.getUint32(world.ctx + CTX_RX_TAIL, true);
    for (let k = tail; k !== head; k = (k + 1) >>> 0) {
      const entry = view.getUint16(world.ctx + CTX_RX_RING + (k % RX_RING_ENTRIES) * 2, true);
      const expected = world.arrived[k];
      if (entry === expected) continue;
      const where = at.line < 0 ? "in main code" : `in the ${world.bus.trace.lineNames?.get(at.line) ?? `line ${at.line}`} handler`;
      throw new Error(`RX ring check before access #${at.entry} (${where}): slot ${k} is published (rxHead = ${head}) but holds 0x${entry.toString(16).padStart(3, "0")}, ` +
        (expected === undefined ? `and only ${world.arrived.length} characters have arrived` : `where the ${ordinal(k + 1)} character received was 0x${expected.toString(16).padStart(3, "0")}`) +
        ": the ring's index was published before its data");
    }
  };
}

export interface Pl011IrqExplorationOptions {
  /** Another module with the same exports (a zoo variant); the package's own by default. */
  readonly modulePath?: string;
}

/**
 * The interrupt-driven PL011 program as an InterleavingScenario: open, write the greeting, flush,
 * then read until the arrivals are in. The stimulus makes "ping" and a parity-error character
 * arrive at the point under test. Its properties: TXD carries exactly the greeting; the reads
 * return exactly "ping", then ERR_RX_PARITY, and nothing else, whatever the point.
 */
export function pl011IrqExploration(mode: DeliveryMode, options: Pl011IrqExplorationOptions = {}): InterleavingScenario<Pl011IrqWorld> {
  return {
    name: `pl011-irq (${mode})`,
    mode,
    setup(): Pl011IrqWorld {
      const board = loadBoard("versatile", options.modulePath === undefined ? {} : { modulePath: options.modulePath });
      board.hal.lintInTests = false;
      board.bus.setAccessBudget(2_000_000);
      const interrupts: Interrupts = board.deliverInterrupts({ mode });
      const { ctx } = layout(board);
      expectCall(board, OK, "hal_irq_controller", ...controllerArgs(board));
      expectCall(board, OK, "pl011_irq_open", ctx, board.base("uart0"), board.fact("uart0", "uartclkHz"), BAUD, UART_8N1, UART0_LINE);
      const world: Pl011IrqWorld = { board, bus: board.bus, interrupts, uart: board.model("uart0", Pl011Model), ctx, received: [], errors: [], arrived: [] };
      interrupts.boundaryChecks.push(rxRingCheck(world));
      return world;
    },
    run(world) {
      const { board, ctx } = world;
      const { hal } = board;
      const { send, receive } = layout(board);
      const text = latin1(IRQ_GREETING);
      hal.writeBytes(text, send);
      let queued = 0;
      // A ring that is full takes what fits; the rest is queued again (256 bytes hold it all).
      for (let tries = 0; queued < text.length && tries < 4; tries++) queued += expectCount(board, "pl011_irq_write", ctx, send + queued, text.length - queued);
      expectCall(board, OK, "pl011_irq_flush", ctx);
      for (let reads = 0; reads < 3; reads++) {
        readOnce(world, receive);
        world.interrupts.idle(100_000);
      }
    },
    stimulus(world) {
      world.uart.receive(latin1(IRQ_ARRIVALS));
      world.uart.receive([0x21], { error: "parity" });
      world.arrived.push(...latin1(IRQ_ARRIVALS), 0x21 | DR_PE);
    },
    check(world) {
      // What arrived late (the stimulus at the last points) is read now: 32 bit periods of
      // silence (RT) and a little more, then a read, until everything is in or 2 ms have passed.
      const { receive } = layout(world.board);
      for (let tries = 0; tries < 20 && (world.received.length < IRQ_ARRIVALS.length || world.errors.length === 0); tries++) {
        world.interrupts.idle(100_000);
        readOnce(world, receive);
      }
      const wire = String.fromCharCode(...world.uart.wire);
      if (wire !== IRQ_GREETING) throw new Error(`TXD carried ${JSON.stringify(wire)}: expected ${JSON.stringify(IRQ_GREETING)}`);
      const got = String.fromCharCode(...world.received);
      if (got !== IRQ_ARRIVALS) throw new Error(`pl011_irq_read returned ${JSON.stringify(got)}: expected ${JSON.stringify(IRQ_ARRIVALS)}, every byte once, in order`);
      if (world.errors.length !== 1 || world.errors[0] !== ERR_RX_PARITY) throw new Error(`pl011_irq_read reported [${world.errors.join(", ")}]: expected the parity error (${ERR_RX_PARITY}) once, after the bytes`);
    },
  };
}

/** One pl011_irq_read into `receive`: its bytes or its error kept in the world. */
function readOnce(world: Pl011IrqWorld, receive: number): void {
  const { hal } = world.board;
  const n = hal.call("pl011_irq_read", world.ctx, receive, 64);
  if (n < 0) world.errors.push(n);
  else world.received.push(...hal.readBytes(receive, n));
}

function expectCall(board: Board, expected: number, name: string, ...args: number[]): void {
  const result = board.hal.call(name, ...args);
  if (result !== expected) throw new Error(`${board.hal.registry.formatCall(name, args, board.bus.regions)} returned ${board.hal.registry.formatResult(name, result)}: expected ${board.hal.registry.formatResult(name, expected)}`);
}

function expectCount(board: Board, name: string, ...args: number[]): number {
  const result = board.hal.call(name, ...args);
  if (result < 0) throw new Error(`${board.hal.registry.formatCall(name, args, board.bus.regions)} returned ${board.hal.registry.formatResult(name, result)}: expected a count`);
  return result;
}
