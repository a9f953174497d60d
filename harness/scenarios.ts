// Named scenarios (docs/scenarios.md): a board, the driver calls a program would make and the
// stimulus the outside world gives the models, in order, on the virtual clock only, so that a
// scenario produces the same trace on every run. Its trace, in the text form of
// docs/trace-format.md with the scenario's phases and stimulus as comment lines, is what a
// golden file in fixtures/golden/ holds (`wasm-hal record`, `wasm-hal check`).
import { relative, sep } from "node:path";
import { type Board, type BuildOptions, loadBoard } from "./board-file.js";
import { packageRoot, statusName } from "./hal.js";
import { formatTrace, parseTrace } from "./trace-text.js";
import { Pl011Model } from "./devices/pl011.js";
import { Pl022Model } from "./devices/pl022.js";
import { Pl061Model } from "./devices/pl061.js";
import { Ram } from "./devices/ram.js";
import { SpiNorFlash, SpiNorHost, halSpiPort } from "./devices/spi.js";
import {
  OK, ERR_RX_BREAK, ERR_RX_PARITY, ERR_RX_FRAMING, ERR_RX_OVERRUN,
  PL061_IRQ_EDGE_RISING, PL080_CONFIG_BURST_4, PL080_SG_ENTRY_SIZE,
} from "./generated/api.js";
import { PL011_DMACR_TXDMAE } from "./generated/pl011.js";

// ---------------------------------------------------------------------------------------------
// What a scenario is

export interface Scenario {
  /** Says what the hardware does: `pl011-receive-errors`. Also the golden file's name. */
  readonly name: string;
  /** One line for `wasm-hal record --list` and the golden file's first comment. */
  readonly summary: string;
  /** A built-in board's name (fixtures/boards/<name>.json) or a board file's path. */
  readonly board: string;
  /** The calls and the stimulus, through the context (never the wall clock, never randomness). */
  run(s: ScenarioContext): void;
}

/** A scenario's own check failed: the drivers and models did not do what the scenario expects
 * (a wrong return value, wrong bytes on the wire). */
export class ScenarioFailure extends Error {
  constructor(readonly scenario: string, readonly problem: string) {
    super(`scenario ${scenario}: ${problem}`);
    this.name = "ScenarioFailure";
  }
}

/** A comment line the scenario asked for, at a place in the trace: between two calls. */
export interface ScenarioNote {
  readonly kind: "phase" | "note";
  readonly text: string;
  /** Trace entries recorded when the note was made. */
  readonly seq: number;
  /** Export calls made when the note was made. */
  readonly calls: number;
}

/** A CPU access budget for a whole scenario: far above what any scenario needs, low enough
 * that a driver that never returns is stopped in seconds (AccessBudgetExceeded). */
export const SCENARIO_ACCESS_BUDGET = 20_000_000;

const hex = (n: number): string => "0x" + (n >>> 0).toString(16);

/** What a scenario works with: the board, driver calls, stimulus, checks and comments. */
export class ScenarioContext {
  readonly notes: ScenarioNote[] = [];

  constructor(readonly scenario: Scenario, readonly board: Board) {}

  private mark(kind: ScenarioNote["kind"], text: string): void {
    if (text.includes("\n")) throw new Error(`a scenario comment is one line: ${JSON.stringify(text)}`);
    const trace = this.board.bus.trace;
    this.notes.push({ kind, text, seq: trace.length, calls: trace.calls.length });
  }

  /** Starts a phase (`setup`, `test`): a comment line in the trace before what follows. */
  phase(name: string, doc: string): void {
    this.mark("phase", `phase ${name}: ${doc}`);
  }

  /** A comment line in the trace before what follows. */
  note(text: string): void {
    this.mark("note", text);
  }

  /** Something the outside world does to a model (a byte arriving, a pin driven): noted in the
   * trace, then done. */
  stimulus(text: string, action: () => void): void {
    this.mark("note", text);
    action();
  }

  /** A driver call; returns what it returned. */
  call(name: string, ...args: number[]): number {
    return this.board.hal.call(name, ...args);
  }

  /** A driver call that must return `expected`. */
  expect(expected: number, name: string, ...args: number[]): number {
    const result = this.call(name, ...args);
    if (result !== expected) this.fail(`${name}(${args.map(hex).join(", ")}) returned ${withStatus(result)}: expected ${withStatus(expected)}`);
    return result;
  }

  check(condition: boolean, what: string): void {
    if (!condition) this.fail(what);
  }

  /** Two byte strings must be equal. */
  expectBytes(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
    const a = Array.from(actual);
    const e = Array.from(expected);
    const at = a.findIndex((b, i) => b !== e[i]);
    if (a.length !== e.length || at >= 0) {
      this.fail(`${what}: got ${a.length} bytes [${a.map((b) => b.toString(16).padStart(2, "0")).join(" ")}], expected ${e.length} [${e.map((b) => b.toString(16).padStart(2, "0")).join(" ")}]`);
    }
  }

  fail(problem: string): never {
    throw new ScenarioFailure(this.scenario.name, problem);
  }

  /** A CPU write of a register by name, outside any export (what a program does where the API
   * has no call for it yet); it appears in the trace, unindented. */
  writeRegister(region: string, register: string, value: number): void {
    const r = this.board.region(region);
    const info = r.index?.byName(register);
    if (info === undefined) throw new Error(`region ${region} has no register named ${register}`);
    this.board.bus.write(r.base + info.offset, value, 4);
  }

  /** Lets virtual time pass with no CPU access (a program sleeping); other bus masters run. */
  settle(ns: number): void {
    this.board.bus.settle(ns);
  }
}

function withStatus(value: number): string {
  const name = statusName(value);
  return name === undefined ? String(value) : `${value} (${name})`;
}

/** A scenario that ran: its board (models inspectable) and its comments. */
export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly board: Board;
  readonly notes: readonly ScenarioNote[];
}

export interface RunOptions extends BuildOptions {
  /** Another board (name or path) in place of the scenario's own. */
  board?: string;
}

/** Builds the scenario's board and runs it. Throws ScenarioFailure when one of its checks
 * fails, HalError when a call did not return, BoardFileError for a bad board file. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): ScenarioRun {
  const board = loadBoard(options.board ?? scenario.board, options);
  board.bus.setAccessBudget(SCENARIO_ACCESS_BUDGET);
  const context = new ScenarioContext(scenario, board);
  scenario.run(context);
  return { scenario, board, notes: context.notes };
}

/** A path as a golden file shows it: relative to the package when inside it, with `/`. */
export function displayPath(path: string): string {
  const rel = relative(packageRoot(), path);
  return rel.startsWith("..") || rel === "" ? path : rel.split(sep).join("/");
}

/**
 * The scenario's trace in the text form, polls collapsed, with comment lines: which scenario and
 * board, the calls the board made while being built (not in the trace), then each phase and
 * stimulus before the lines that follow it. Comments are informational: parseTrace and
 * diffTraces ignore them.
 */
export function formatScenarioTrace(run: ScenarioRun): string {
  const bus = run.board.bus;
  const body = formatTrace(bus.trace, bus.regions, { collapse: true });
  const lines = body.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();

  // Where each note goes: before the first line made after it, a call line or an access line.
  const parsed = parseTrace(body, run.scenario.name);
  const anchors: { index: number; after: (note: ScenarioNote) => boolean }[] = [];
  parsed.calls.forEach((c, i) => anchors.push({ index: c.line - 1, after: (note) => i >= note.calls }));
  for (const a of parsed.accesses) anchors.push({ index: a.line - 1, after: (note) => a.seq >= note.seq });
  anchors.sort((x, y) => x.index - y.index);
  const before = new Map<number, ScenarioNote[]>();
  const atEnd: ScenarioNote[] = [];
  for (const note of run.notes) {
    const anchor = anchors.find((a) => a.after(note));
    if (anchor === undefined) atEnd.push(note);
    else before.set(anchor.index, [...(before.get(anchor.index) ?? []), note]);
  }

  const description = run.board.description;
  const header = [
    `# scenario ${run.scenario.name}: ${run.scenario.summary}`,
    `# board ${description.name} (${displayPath(description.fileName)})`,
    ...run.board.setupCalls.map((c) => `# board setup, not traced: ${c.name}(${c.args.map(hex).join(", ")}) returned ${withStatus(c.result)}`),
  ];
  let firstEvent = lines.findIndex((l, i) => i > 0 && l !== "" && !l.startsWith("region "));
  if (firstEvent < 0) firstEvent = lines.length;

  const out: string[] = [];
  const emit = (notes: readonly ScenarioNote[]): void => {
    for (const n of notes) {
      if (n.kind === "phase" && out.length > 0 && out[out.length - 1] !== "") out.push("");
      out.push(`# ${n.text}`);
    }
  };
  for (let i = 0; i <= lines.length; i++) {
    if (i === firstEvent) {
      if (out[out.length - 1] !== "") out.push("");
      out.push(...header, "");
    }
    const notes = before.get(i);
    if (notes !== undefined) emit(notes);
    if (i < lines.length) out.push(lines[i]!);
  }
  emit(atEnd);
  while (out[out.length - 1] === "") out.pop();
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// The scenarios

/** What the UART scenarios send: the same bytes by CPU and by DMA. */
export const GREETING = "Hello from wasm-hal!\r\n";
const BAUD = 115200;
/** pl011_init config 0: 8 data bits, no parity, one stop bit, FIFOs on (registers/api.json). */
const UART_8N1 = 0;

const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const quoted = (text: string): string => JSON.stringify(text);

/** Initializes uart0 of the board at 115200 baud, 8N1. */
function initUart(s: ScenarioContext): number {
  const base = s.board.base("uart0");
  s.expect(OK, "pl011_init", base, s.board.deviceInteger("uart0", "uartclkHz"), BAUD, UART_8N1);
  return base;
}

const pl011Init115200: Scenario = {
  name: "pl011-init-115200",
  summary: "the PL011 is programmed for 115200 baud 8N1 from its 24 MHz UARTCLK (IBRD 13, FBRD 1) by the TRM 3.3.8 sequence",
  board: "versatile",
  run(s) {
    s.phase("test", "pl011_init: disable, wait while BUSY, flush the FIFOs, divisor, LCR_H, clear interrupts and errors, enable");
    initUart(s);
    const uart = s.board.model("uart0", Pl011Model);
    // 24 MHz / (16 x 115200) = 13.02: IBRD 13, FBRD round(0.0208 x 64) = 1 (TRM 3.3.6).
    s.check(uart.latchedDivisor.ibrd === 13 && uart.latchedDivisor.fbrd === 1, `the UART latched IBRD ${uart.latchedDivisor.ibrd} FBRD ${uart.latchedDivisor.fbrd}: expected 13 and 1`);
  },
};

const pl011Hello: Scenario = {
  name: "pl011-hello",
  summary: "the PL011 sends a 22-byte greeting through its 16-deep TX FIFO, polling TXFF, then waits for BUSY to clear",
  board: "versatile",
  run(s) {
    const hal = s.board.hal;
    const uart = s.board.model("uart0", Pl011Model);
    s.phase("setup", "the UART at 115200 baud, 8N1");
    const base = initUart(s);
    s.phase("test", `pl011_write of ${quoted(GREETING)}, then pl011_flush`);
    const text = latin1(GREETING);
    s.note(`host: the greeting is copied into the scratch buffer at ${hex(hal.scratch)}`);
    hal.writeBytes(text);
    s.expect(text.length, "pl011_write", base, hal.scratch, text.length);
    s.expect(OK, "pl011_flush", base);
    s.expectBytes(uart.wire, text, "bytes on TXD");
  },
};

const pl011ReceiveErrors: Scenario = {
  name: "pl011-receive-errors",
  summary: "the PL011 receives good bytes, a break, a parity error, a framing error and an RX FIFO overrun; pl011_read reports each",
  board: "versatile",
  run(s) {
    const hal = s.board.hal;
    const uart = s.board.model("uart0", Pl011Model);
    const cap = 32;
    s.phase("setup", "the UART at 115200 baud, 8N1");
    const base = initUart(s);
    s.phase("test", "characters arrive on RXD; pl011_read takes them and reports the error bits of DR (TRM 3.3.1)");
    s.expect(0, "pl011_read", base, hal.scratch, cap);
    s.stimulus('uart0: "ok" arrives on RXD', () => uart.receive(latin1("ok")));
    s.expect(2, "pl011_read", base, hal.scratch, cap);
    s.expectBytes(hal.readBytes(hal.scratch, 2), latin1("ok"), "bytes read");
    s.stimulus("uart0: a break arrives (RXD held low: one 0 character with BE and FE)", () => uart.receive([], { error: "break" }));
    s.expect(ERR_RX_BREAK, "pl011_read", base, hal.scratch, cap);
    s.stimulus("uart0: 0x55 arrives with a parity error", () => uart.receive([0x55], { error: "parity" }));
    s.expect(ERR_RX_PARITY, "pl011_read", base, hal.scratch, cap);
    s.stimulus("uart0: 0x56 arrives with a framing error", () => uart.receive([0x56], { error: "framing" }));
    s.expect(ERR_RX_FRAMING, "pl011_read", base, hal.scratch, cap);
    const burst = latin1("0123456789abcdefg");
    s.stimulus(`uart0: ${burst.length} characters arrive while nobody reads: the ${uart.fifoDepth}-deep RX FIFO overruns`, () => uart.receive(burst));
    // The FIFO keeps the first 16; the 17th is lost and the 16th carries OE (the model's reading
    // of TRM 3.3.1). The read returns the 16 bytes, then the overrun on the next call.
    s.expect(uart.fifoDepth, "pl011_read", base, hal.scratch, cap);
    s.expectBytes(hal.readBytes(hal.scratch, uart.fifoDepth), burst.subarray(0, uart.fifoDepth), "bytes read before the overrun");
    s.expect(ERR_RX_OVERRUN, "pl011_read", base, hal.scratch, cap);
    s.expect(0, "pl011_read", base, hal.scratch, cap);
  },
};

/** A recognisable byte pattern. */
function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed + i * 7) & 0xff);
}

const pl022Flash: Scenario = {
  name: "pl022-flash-id-erase-program-read",
  summary: "through the PL022 at 12 MHz and a GPIO chip select, the SPI NOR flash gives its JEDEC ID, erases a sector, programs 16 bytes and reads them back",
  board: "versatile",
  run(s) {
    const { hal } = s.board;
    const flash = s.board.part("flash0", SpiNorFlash);
    s.board.model("ssp0", Pl022Model);
    const wiring = s.board.chipSelectOf("flash0");
    if (wiring === null) return s.fail(`board ${s.board.description.name} does not wire flash0's chip select to a GPIO pin`);
    const ssp = s.board.base(wiring.ssp);
    const gpio = s.board.base(wiring.gpio);
    s.board.model(wiring.gpio, Pl061Model);
    const pin = 1 << wiring.pin;
    const level = (asserted: boolean): number => (asserted === wiring.activeLow ? 0 : pin);

    s.phase("setup", `chip select (${wiring.gpio} pin ${wiring.pin}) driven inactive, then the SSP at 12 MHz, 8-bit Motorola SPI mode 0`);
    // A DATA write to an input is dropped (PL061 TRM 3.3.1, as Linux and QEMU read it): the level
    // is written before and after the pin becomes an output (docs/drivers/pl061.md).
    s.expect(OK, "pl061_write", gpio, pin, level(false));
    s.expect(OK, "pl061_set_direction", gpio, pin, pin);
    s.expect(OK, "pl061_write", gpio, pin, level(false));
    // 24 MHz / (CPSDVSR 2 x (1 + SCR 0)) = 12 MHz (PL022 TRM 3.3.1).
    s.expect(OK, "pl022_init", ssp, s.board.deviceInteger(wiring.ssp, "sspclkHz"), 12_000_000, 0);

    const port = halSpiPort(hal, ssp, { chipSelect: (active) => { s.expect(OK, "pl061_write", gpio, pin, level(active)); } });
    // Firmware sleeps between status reads; 5 ms keeps an erase to about ten polls.
    const host = new SpiNorHost(port, { delay: (ns) => s.settle(ns), pollIntervalNs: 5_000_000 });

    s.phase("test", "RDID; WREN + SECTOR ERASE at 0x1000, RDSR until WIP clears; WREN + PAGE PROGRAM of 16 bytes at 0x1000, RDSR; READ 16 bytes at 0x1000");
    const id = host.readJedecId();
    s.expectBytes(id, flash.jedecId, "JEDEC ID");
    s.stimulus("flash0: 0x0000..0x2fff hold 0x00 (old contents around and in the sector)", () => flash.memory.fill(0x00, 0x0000, 0x3000));
    host.sectorErase(0x1000);
    s.check(flash.memory.subarray(0x1000, 0x2000).every((b) => b === 0xff), "sector 0x1000..0x1fff reads 0xff after the erase");
    s.check(flash.memory[0x0fff] === 0x00 && flash.memory[0x2000] === 0x00, "the erase stays inside its 4 KiB sector");
    const data = pattern(16, 3);
    host.pageProgram(0x1000, data);
    s.expectBytes(flash.memory.subarray(0x1000, 0x1010), data, "flash0 0x1000..0x100f after the page program");
    s.expectBytes(host.read(0x1000, 16), data, "bytes read back");
  },
};

const pl061PinToggle: Scenario = {
  name: "pl061-pin-toggle-edge-irq",
  summary: "the PL061 drives pin 2 high and low through its address-masked DATA, and latches a rising edge on input pin 3 until it is cleared",
  board: "versatile",
  run(s) {
    const gpio = s.board.base("gpio0");
    const model = s.board.model("gpio0", Pl061Model);
    const out = 1 << 2;
    const input = 1 << 3;
    s.phase("test", "pin 2 an output, toggled and read back; pin 3 an input, rising edge enabled");
    s.expect(OK, "pl061_set_direction", gpio, out, out);
    s.expect(OK, "pl061_write", gpio, out, out);
    s.check(model.pinLevel(2), "pin 2 is high after writing 1");
    s.expect(out, "pl061_read", gpio, out);
    s.expect(OK, "pl061_write", gpio, out, 0);
    s.check(!model.pinLevel(2), "pin 2 is low after writing 0");
    s.expect(0, "pl061_read", gpio, out);
    s.expect(OK, "pl061_irq_config", gpio, input, PL061_IRQ_EDGE_RISING);
    s.expect(0, "pl061_irq_status", gpio);
    s.stimulus("gpio0: pin 3 driven high from outside (a rising edge)", () => model.drive(3, true));
    s.expect(input, "pl061_irq_status", gpio);
    s.check(model.interruptPending(), "GPIOINTR is asserted");
    s.expect(input, "pl061_read", gpio, input);
    s.stimulus("gpio0: pin 3 driven low again (a falling edge: no event in rising mode)", () => model.drive(3, false));
    s.expect(input, "pl061_irq_status", gpio);
    s.expect(OK, "pl061_irq_clear", gpio, input);
    s.expect(0, "pl061_irq_status", gpio);
    s.check(!model.interruptPending(), "GPIOINTR is released after the clear");
  },
};

const pl080Memcpy: Scenario = {
  name: "pl080-memcpy",
  summary: "the PL080 copies 64 bytes from the module's linear memory to RAM, then gathers two 16-byte pieces of RAM through a linked-list item",
  board: "versatile",
  run(s) {
    const { hal } = s.board;
    const dmac = s.board.base("dmac");
    const ram = s.board.model("ram", Ram);
    const ramBase = s.board.base("ram");
    const linear = s.board.base("linear");
    s.phase("setup", "pl080_init: controller enabled, every channel stopped, status cleared");
    s.expect(OK, "pl080_init", dmac);

    s.phase("test", "channel 0: 64 bytes, linear memory to ram+0x100, word transfers; channel 1: two 16-byte entries gathered into ram+0x400");
    const data = pattern(64, 0x40);
    s.note(`host: 64 bytes written into the scratch buffer, bus address ${hex(linear + hal.scratch)}`);
    hal.writeBytes(data);
    s.expect(OK, "pl080_memcpy", dmac, 0, linear + hal.scratch, ramBase + 0x100, data.length, 0);
    s.expect(OK, "pl080_wait", dmac, 0);
    s.expectBytes(ram.bytes.subarray(0x100, 0x140), data, "ram+0x100 after the copy");

    // Two entries: ram+0x100 (16 bytes) and ram+0x130 (16 bytes), one after the other to ram+0x400.
    const list = hal.scratch + 0x100;
    const entries = [[ramBase + 0x100, ramBase + 0x400, 16], [ramBase + 0x130, ramBase + 0x410, 16]];
    const bytes = new Uint8Array(entries.length * PL080_SG_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    entries.forEach((e, i) => e.forEach((word, j) => view.setUint32(i * PL080_SG_ENTRY_SIZE + j * 4, word!, true)));
    s.note(`host: a 2-entry scatter-gather list written at linear-memory ${hex(list)}`);
    hal.writeBytes(bytes, list);
    s.expect(OK, "pl080_sg", dmac, 1, list, entries.length, 0);
    s.expect(OK, "pl080_wait", dmac, 1);
    s.expectBytes(ram.bytes.subarray(0x400, 0x420), [...data.subarray(0, 16), ...data.subarray(0x30, 0x40)], "ram+0x400 after the gather");
  },
};

const pl080UartTx: Scenario = {
  name: "pl080-uart-tx",
  summary: "the PL080 feeds the 22-byte greeting to the PL011's DR a byte per request (TX DMA), giving the same bytes on TXD as pl011-hello",
  board: "versatile",
  run(s) {
    const { hal } = s.board;
    const dmac = s.board.base("dmac");
    const linear = s.board.base("linear");
    const uart = s.board.model("uart0", Pl011Model);
    /** Request line of uart0's TX requests on this board (fixtures/boards/versatile.json). */
    const UART0_TX_LINE = 0;
    s.phase("setup", "the UART at 115200 baud, 8N1, its TX DMA requests enabled; the DMAC initialized");
    const base = initUart(s);
    // DMACR.TXDMAE (PL011 TRM 3.3.14): no pl011_* export sets it yet, so the program writes it.
    s.writeRegister("uart0", "DMACR", PL011_DMACR_TXDMAE);
    s.expect(OK, "pl080_init", dmac);

    s.phase("test", "channel 0 memory to uart0 DR, byte transfers, bursts of 4 on BREQ; pl080_wait, then pl011_flush");
    const text = latin1(GREETING);
    s.note(`host: the greeting written into the scratch buffer, bus address ${hex(linear + hal.scratch)}`);
    hal.writeBytes(text);
    s.expect(OK, "pl080_mem_to_periph", dmac, 0, linear + hal.scratch, base, text.length, UART0_TX_LINE, PL080_CONFIG_BURST_4);
    s.expect(OK, "pl080_wait", dmac, 0);
    s.expect(OK, "pl011_flush", base);
    s.expectBytes(uart.wire, text, "bytes on TXD");
  },
};

/** Every scenario, in the order `check` runs them. */
export const SCENARIOS: readonly Scenario[] = [
  pl011Init115200,
  pl011Hello,
  pl011ReceiveErrors,
  pl022Flash,
  pl061PinToggle,
  pl080Memcpy,
  pl080UartTx,
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** The scenario of that name, or an error listing them all. */
export function scenarioNamed(name: string): Scenario {
  const s = findScenario(name);
  if (s === undefined) throw new Error(`no scenario named "${name}" (scenarios: ${SCENARIOS.map((x) => x.name).join(", ")})`);
  return s;
}
