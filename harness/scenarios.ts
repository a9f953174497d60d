// The package's own scenarios: what its four PrimeCell drivers do on the Versatile board
// (fixtures/boards/versatile.json), one golden trace each in fixtures/golden/. Its
// wasm-hal.config.json names this module like any project names its scenario modules; the
// default export is the list. The scenario framework itself is harness/scenario.ts.
import type { Scenario, ScenarioContext } from "./scenario.js";
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

export * from "./scenario.js";

const hex = (n: number): string => "0x" + (n >>> 0).toString(16);

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
  s.expect(OK, "pl011_init", base, s.fact("uart0", "uartclkHz"), BAUD, UART_8N1);
  return base;
}

const pl011Init115200: Scenario = {
  name: "pl011-init-115200",
  summary: "the PL011 is programmed for 115200 baud 8N1 from its 24 MHz UARTCLK (IBRD 13, FBRD 1) by the TRM 3.3.8 sequence",
  board: "versatile",
  run(s) {
    s.phase("test", "pl011_init: disable, wait while BUSY, flush the FIFOs, divisor, LCR_H, clear interrupts and errors, enable");
    initUart(s);
    s.inspect("the divisor the UART latched", () => {
      const uart = s.model("uart0", Pl011Model);
      // 24 MHz / (16 x 115200) = 13.02: IBRD 13, FBRD round(0.0208 x 64) = 1 (TRM 3.3.6).
      s.check(uart.latchedDivisor.ibrd === 13 && uart.latchedDivisor.fbrd === 1, `the UART latched IBRD ${uart.latchedDivisor.ibrd} FBRD ${uart.latchedDivisor.fbrd}: expected 13 and 1`);
    });
  },
};

const pl011Hello: Scenario = {
  name: "pl011-hello",
  summary: "the PL011 sends a 22-byte greeting through its 16-deep TX FIFO, polling TXFF, then waits for BUSY to clear",
  board: "versatile",
  run(s) {
    const hal = s.board.hal;
    s.phase("setup", "the UART at 115200 baud, 8N1");
    const base = initUart(s);
    s.phase("test", `pl011_write of ${quoted(GREETING)}, then pl011_flush`);
    const text = latin1(GREETING);
    s.note(`host: the greeting is copied into the scratch buffer at ${hex(hal.scratch)}`);
    hal.writeBytes(text);
    s.expect(text.length, "pl011_write", base, hal.scratch, text.length);
    s.expect(OK, "pl011_flush", base);
    s.inspect("the bytes on TXD", () => s.expectBytes(s.model("uart0", Pl011Model).wire, text, "bytes on TXD"));
  },
};

const pl011ReceiveErrors: Scenario = {
  name: "pl011-receive-errors",
  summary: "the PL011 receives good bytes, a break, a parity error, a framing error and an RX FIFO overrun; pl011_read reports each",
  board: "versatile",
  run(s) {
    const hal = s.board.hal;
    const uart = s.model("uart0", Pl011Model);
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
    const flash = s.part("flash0", SpiNorFlash);
    s.model("ssp0", Pl022Model);
    const wiring = s.board.chipSelectOf("flash0");
    if (wiring === null) return s.fail(`board ${s.board.description.name} does not wire flash0's chip select to a GPIO pin`);
    const ssp = s.board.base(wiring.ssp);
    const gpio = s.board.base(wiring.gpio);
    s.model(wiring.gpio, Pl061Model);
    const pin = 1 << wiring.pin;
    const level = (asserted: boolean): number => (asserted === wiring.activeLow ? 0 : pin);

    s.phase("setup", `chip select (${wiring.gpio} pin ${wiring.pin}) driven inactive, then the SSP at 12 MHz, 8-bit Motorola SPI mode 0`);
    // A DATA write to an input is dropped (PL061 TRM 3.3.1, as Linux and QEMU read it): the level
    // is written before and after the pin becomes an output (docs/drivers/pl061.md).
    s.expect(OK, "pl061_write", gpio, pin, level(false));
    s.expect(OK, "pl061_set_direction", gpio, pin, pin);
    s.expect(OK, "pl061_write", gpio, pin, level(false));
    // 24 MHz / (CPSDVSR 2 x (1 + SCR 0)) = 12 MHz (PL022 TRM 3.3.1).
    s.expect(OK, "pl022_init", ssp, s.fact(wiring.ssp, "sspclkHz"), 12_000_000, 0);

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
    const model = s.model("gpio0", Pl061Model);
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
    const ramBase = s.board.base("ram");
    const ram = (): Ram => s.model("ram", Ram);
    const linear = s.board.base("linear");
    s.phase("setup", "pl080_init: controller enabled, every channel stopped, status cleared");
    s.expect(OK, "pl080_init", dmac);

    s.phase("test", "channel 0: 64 bytes, linear memory to ram+0x100, word transfers; channel 1: two 16-byte entries gathered into ram+0x400");
    const data = pattern(64, 0x40);
    s.note(`host: 64 bytes written into the scratch buffer, bus address ${hex(linear + hal.scratch)}`);
    hal.writeBytes(data);
    s.expect(OK, "pl080_memcpy", dmac, 0, linear + hal.scratch, ramBase + 0x100, data.length, 0);
    s.expect(OK, "pl080_wait", dmac, 0);
    s.inspect("ram+0x100 after the copy", () => s.expectBytes(ram().bytes.subarray(0x100, 0x140), data, "ram+0x100 after the copy"));

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
    s.inspect("ram+0x400 after the gather", () => s.expectBytes(ram().bytes.subarray(0x400, 0x420), [...data.subarray(0, 16), ...data.subarray(0x30, 0x40)], "ram+0x400 after the gather"));
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
    s.inspect("the bytes on TXD", () => s.expectBytes(s.model("uart0", Pl011Model).wire, text, "bytes on TXD"));
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

export default SCENARIOS;

/** One of the package's scenarios by name. */
export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** The package scenario of that name, or an error listing them all. */
export function scenarioNamed(name: string): Scenario {
  const s = findScenario(name);
  if (s === undefined) throw new Error(`no scenario named "${name}" (scenarios: ${SCENARIOS.map((x) => x.name).join(", ")})`);
  return s;
}
