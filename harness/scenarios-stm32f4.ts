// The package's STM32F4 scenarios: what the drivers of build/stm32f4.wasm (assembly/stm32f4/) do on
// the STM32F405 board (fixtures/boards/stm32f405.json), one golden trace each in fixtures/golden/.
// Like harness/scenarios.ts (the PrimeCell family), wasm-hal.config.json names this module in its
// "scenarios"; the default export is the list. Register facts are RM0090's (the USART's also
// RM0041 §23, the same IP); the driver reference is docs/drivers/stm32f4.md.
import type { Scenario, ScenarioContext } from "./scenario.js";
import { Stm32GpioModel } from "./devices/stm32f4/gpio.js";
import { Stm32UsartModel } from "./devices/stm32f4/usart.js";
import { Stm32DmaModel } from "./devices/stm32f4/dma.js";
import { Ram } from "./devices/ram.js";
import { SpiNorFlash } from "./devices/spi.js";
import {
  OK, ERR_RX_PARITY, ERR_RX_FRAMING, ERR_RX_NOISE, ERR_RX_OVERRUN,
  STM32_CLOCK_GPIOA, STM32_CLOCK_USART1, STM32_CLOCK_USART2, STM32_CLOCK_SPI1, STM32_CLOCK_DMA2,
  STM32_BUS_APB1, STM32_BUS_APB2,
  STM32_GPIO_MODE_INPUT, STM32_GPIO_MODE_OUTPUT, STM32_GPIO_MODE_AF, STM32_GPIO_AF_SHIFT,
  STM32_GPIO_SPEED_HIGH, STM32_GPIO_SPEED_VERY_HIGH, STM32_GPIO_PULL_UP, STM32_GPIO_PULL_DOWN,
  STM32_USART_CONFIG_9_BITS, STM32_USART_CONFIG_PARITY_EVEN, STM32_USART_CONFIG_OVER8, STM32_USART_DMA_TX,
  STM32_SPI_CONFIG_MODE_0,
  STM32_DMA_CONFIG_PSIZE_WORD, STM32_DMA_CONFIG_MSIZE_WORD, STM32_DMA_CONFIG_FIFO, STM32_DMA_CONFIG_FTH_FULL,
  STM32_DMA_CONFIG_MBURST_SHIFT, STM32_DMA_CONFIG_BURST_INCR4,
  STM32_DMA2_USART1_TX_STREAM, STM32_DMA2_USART1_TX_CHANNEL,
  STM32_SPI_DMA_TX, STM32_SPI_DMA_RX,
  STM32_DMA2_SPI1_RX_STREAM, STM32_DMA2_SPI1_RX_CHANNEL, STM32_DMA2_SPI1_TX_STREAM, STM32_DMA2_SPI1_TX_CHANNEL,
} from "./generated/api.js";
import { USART_DR } from "./generated/usart.js";
import { DMA_S1CR_EN } from "./generated/dma.js";
import { SPI_DR } from "./generated/spi.js";

const hex = (n: number): string => "0x" + (n >>> 0).toString(16);
const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const quoted = (text: string): string => JSON.stringify(text);

/** What the USART scenarios send: the same bytes by CPU and by DMA. */
export const STM32_GREETING = "Hello from the STM32F405!\r\n";
const BAUD = 115200;
/** stm32_usart_init config 0: 8 data bits, no parity, one stop bit, oversampling by 16. */
const USART_8N1 = 0;

/** The board's names for its blocks (fixtures/boards/stm32f405.json). */
const RCC = "rcc";
const GPIOA = "gpioa";

/** Alternate functions of the pins used here (STM32F405 datasheet, Table 9: USART1/2 are AF7,
 * SPI1 is AF5). */
const AF_USART = 7;
const AF_SPI1 = 5;

/** A pin in alternate-function mode with function `af`, push-pull, at `speed`, with `pull`. */
const alternate = (af: number, speed = STM32_GPIO_SPEED_HIGH, pull = 0): number => STM32_GPIO_MODE_AF | speed | pull | (af << STM32_GPIO_AF_SHIFT);

/** Enables the clocks of the blocks a scenario uses, each with the DSB the driver puts after the
 * enable (ES0182 2.1.13, modelled by the board's RCC). */
function enableClocks(s: ScenarioContext, ...clocks: number[]): void {
  const rcc = s.board.base(RCC);
  for (const clock of clocks) s.expect(OK, "stm32_rcc_enable", rcc, clock);
}

/** The kernel clock of a USART or SPI: asked of the RCC (CFGR), and checked against the board's
 * fact, which is the clock after reset (HSI 16 MHz, every prescaler 1: RM0090 7.2). */
function kernelClock(s: ScenarioContext, region: string, bus: number): number {
  const hz = s.fact(region, "pclkHz");
  s.expect(hz, "stm32_rcc_bus_clock_hz", s.board.base(RCC), s.fact(RCC, "hseHz"), bus);
  return hz;
}

/** USART1 on PA9 (TX) and PA10 (RX, pulled up so an open line reads idle), AF7. */
function usart1Pins(s: ScenarioContext): void {
  const gpioa = s.board.base(GPIOA);
  s.expect(OK, "stm32_gpio_configure", gpioa, 9, alternate(AF_USART));
  s.expect(OK, "stm32_gpio_configure", gpioa, 10, alternate(AF_USART, STM32_GPIO_SPEED_HIGH, STM32_GPIO_PULL_UP));
}

/** Sends `text` from the scratch buffer with stm32_usart_write, then waits for TC. */
function sendAndFlush(s: ScenarioContext, base: number, text: Uint8Array): void {
  const hal = s.board.hal;
  s.note(`host: ${text.length} bytes copied into the scratch buffer at ${hex(hal.scratch)}`);
  hal.writeBytes(text);
  s.expect(text.length, "stm32_usart_write", base, hal.scratch, text.length);
  s.expect(OK, "stm32_usart_flush", base);
}

/** A recognisable byte pattern. */
function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed + i * 7) & 0xff);
}

// ---------------------------------------------------------------------------------------------
// GPIO

const gpioBlinkLock: Scenario = {
  name: "stm32f4-gpio-blink-lock",
  summary: "GPIOA's clock on (with the DSB of the enable-delay erratum); PA5 a push-pull output set, cleared and toggled through BSRR; PA0 an input driven from outside; PA0 and PA5 locked by the LCKR key sequence, after which PA5's MODER no longer changes",
  module: "stm32f4",
  board: "stm32f405",
  run(s) {
    const gpioa = s.board.base(GPIOA);
    const gpio = s.model(GPIOA, Stm32GpioModel);
    const led = 1 << 5;
    const button = 1 << 0;
    // IDR after reset with PA5 low and PA0 released: PA13 (SWDIO) and PA15 (JTDI) are pulled up
    // by their reset PUPDR 0x6400_0000 (RM0090 8.4.4) and PA4 by the board (the flash's chip
    // select): bits 15, 13 and 4.
    const idle = (1 << 15) | (1 << 13) | (1 << 4);

    s.phase("setup", "GPIOA's clock (AHB1ENR.GPIOAEN, then DSB); PA5 push-pull output, low speed, no pull; PA0 input with pull-down");
    enableClocks(s, STM32_CLOCK_GPIOA);
    s.expect(OK, "stm32_gpio_configure", gpioa, 5, STM32_GPIO_MODE_OUTPUT);
    s.expect(OK, "stm32_gpio_configure", gpioa, 0, STM32_GPIO_MODE_INPUT | STM32_GPIO_PULL_DOWN);
    s.check(gpio.modeOf(5) === "output" && gpio.modeOf(0) === "input", `PA5 is an output and PA0 an input (got ${gpio.modeOf(5)} and ${gpio.modeOf(0)})`);

    s.phase("test", "PA5 set and cleared (one BSRR write each), toggled (ODR read, one BSRR write), read back through IDR");
    s.expect(OK, "stm32_gpio_write", gpioa, led, led);
    s.check(gpio.pinLevel(5), "PA5 is high after BS5");
    s.expect(OK, "stm32_gpio_write", gpioa, led, 0);
    s.check(!gpio.pinLevel(5), "PA5 is low after BR5");
    s.expect(OK, "stm32_gpio_toggle", gpioa, led);
    s.check(gpio.pinLevel(5), "PA5 is high after the toggle");
    s.expect(idle | led, "stm32_gpio_read", gpioa);

    s.phase("input", "PA0 driven high from outside, then released to its pull-down, read through IDR each time");
    s.stimulus("gpioa: PA0 driven high from outside (a button pressed)", () => gpio.drive(0, true));
    s.expect(idle | led | button, "stm32_gpio_read", gpioa);
    s.stimulus("gpioa: PA0 released (the pull-down takes it low)", () => gpio.drive(0, null));
    s.expect(idle | led, "stm32_gpio_read", gpioa);

    s.phase("lock", "LCKR key sequence on PA0 and PA5 (RM0090 8.3.6); then PA5 asked to become an input with pull-down: its MODER and PUPDR fields stay, it still drives high; BSRR (not frozen) still takes it low");
    s.expect(OK, "stm32_gpio_lock", gpioa, led | button);
    s.check(gpio.locked, "LCKK reads 1: the port is locked");
    s.expect(OK, "stm32_gpio_configure", gpioa, 5, STM32_GPIO_MODE_INPUT | STM32_GPIO_PULL_DOWN);
    s.inspect("PA5's mode after the locked MODER write", () => {
      const model = s.model(GPIOA, Stm32GpioModel);
      s.check(model.modeOf(5) === "output", `PA5 is still an output after the MODER write (it is ${model.modeOf(5)})`);
      s.check(model.lockedWrites > 0, "the model counted the writes that tried to change frozen fields");
    });
    // Had the write taken, PA5 would be an input pulled down and read 0.
    s.expect(idle | led, "stm32_gpio_read", gpioa);
    s.expect(OK, "stm32_gpio_write", gpioa, led, 0);
    s.check(!gpio.pinLevel(5), "BSRR is not frozen: PA5 goes low");
    s.expect(idle, "stm32_gpio_read", gpioa);
  },
};

// ---------------------------------------------------------------------------------------------
// USART

const usartHello: Scenario = {
  name: "stm32f4-usart-hello",
  summary: "USART1 on PA9/PA10 (AF7) at 115200 baud 8N1 from PCLK2 = 16 MHz (BRR 0x8B, RM0090 30.3.4) sends a 27-byte greeting, TXE before each byte, then waits for TC",
  module: "stm32f4",
  board: "stm32f405",
  run(s) {
    const base = s.board.base("usart1");
    s.phase("setup", "clocks of GPIOA and USART1; PA9 (TX) and PA10 (RX, pull-up) to AF7; the USART at 115200 baud 8N1 from PCLK2");
    enableClocks(s, STM32_CLOCK_GPIOA, STM32_CLOCK_USART1);
    usart1Pins(s);
    const pclk2 = kernelClock(s, "usart1", STM32_BUS_APB2);
    s.expect(OK, "stm32_usart_init", base, pclk2, BAUD, USART_8N1);

    s.phase("test", `stm32_usart_write of ${quoted(STM32_GREETING)}, then stm32_usart_flush`);
    const text = latin1(STM32_GREETING);
    sendAndFlush(s, base, text);
    s.inspect("the bytes on TX and the BRR the USART latched", () => {
      const usart = s.model("usart1", Stm32UsartModel);
      s.expectBytes(usart.sentBytes, text, "bytes on TX");
      // 16 MHz / (16 x 115200) = 8.6875: mantissa 8, fraction 0.6875 x 16 = 11 (RM0090 30.3.4).
      s.check(usart.brr === 0x8b, `the USART latched BRR ${hex(usart.brr)}: expected 0x8b`);
    });
  },
};

const usartOversampling8: Scenario = {
  name: "stm32f4-usart-oversampling-8",
  summary: "USART2 on PA2/PA3 (AF7) at 115200 baud with oversampling by 8 from PCLK1 = 16 MHz: BRR 0x113 (USARTDIV 17.375, BRR[3] = 0; RM0090 30.3.4), the same bit time as by 16",
  module: "stm32f4",
  board: "stm32f405",
  run(s) {
    const base = s.board.base("usart2");
    const gpioa = s.board.base(GPIOA);
    s.phase("setup", "clocks of GPIOA and USART2; PA2 (TX) and PA3 (RX, pull-up) to AF7; the USART at 115200 baud 8N1, OVER8, from PCLK1");
    enableClocks(s, STM32_CLOCK_GPIOA, STM32_CLOCK_USART2);
    s.expect(OK, "stm32_gpio_configure", gpioa, 2, alternate(AF_USART));
    s.expect(OK, "stm32_gpio_configure", gpioa, 3, alternate(AF_USART, STM32_GPIO_SPEED_HIGH, STM32_GPIO_PULL_UP));
    const pclk1 = kernelClock(s, "usart2", STM32_BUS_APB1);
    s.expect(OK, "stm32_usart_init", base, pclk1, BAUD, USART_8N1 | STM32_USART_CONFIG_OVER8);

    s.phase("test", "stm32_usart_write of \"OVER8\\r\\n\", then stm32_usart_flush");
    const text = latin1("OVER8\r\n");
    sendAndFlush(s, base, text);
    s.inspect("the bytes on TX, the BRR the USART latched and the frame time", () => {
      const usart = s.model("usart2", Stm32UsartModel);
      s.expectBytes(usart.sentBytes, text, "bytes on TX");
      // 16 MHz / (8 x 115200) = 17.375: mantissa 17 = 0x11, fraction 0.375 x 8 = 3 in BRR[2:0].
      s.check(usart.brr === 0x113, `the USART latched BRR ${hex(usart.brr)}: expected 0x113`);
      // One frame is 10 bits of 8 x 17.375 / 16 MHz = 8.6875 us: 86.875 us, as by 16 (0x8B).
      const gaps = usart.wireEnds.slice(1).map((t, i) => t - usart.wireEnds[i]!);
      s.check(gaps.every((g) => g === 86_875), `back-to-back frames end 86875 ns apart (got ${gaps.join(", ")})`);
    });
  },
};

/** The 9-bit frame of an 8-bit byte with its even parity bit in bit 8 (M = 1, PCE = 1: RM0090
 * 30.6.2, the parity bit replaces the top bit of the 9). */
function evenParityFrame(byte: number): number {
  let ones = 0;
  for (let b = byte; b !== 0; b >>= 1) ones += b & 1;
  return byte | ((ones & 1) << 8);
}

const usartReceiveErrors: Scenario = {
  name: "stm32f4-usart-receive-errors",
  summary: "USART1 at 115200 baud 8E1 receives good bytes, a parity error, a framing error, noise and an overrun; stm32_usart_read reports each error on its own, after the byte an overrun keeps in RDR, and loses no byte that reached RDR",
  module: "stm32f4",
  board: "stm32f405",
  run(s) {
    const hal = s.board.hal;
    const base = s.board.base("usart1");
    const usart = s.model("usart1", Stm32UsartModel);
    const cap = 32;
    const frames = (text: string): number[] => Array.from(latin1(text), evenParityFrame);
    /** Frames the far end sends back to back; the program sleeps `wait` frame times before its
     * next read. The USART holds one received byte (RDR): a polled reader must read each frame
     * before the next one completes, or ORE sets (RM0090 30.3.3). */
    const arrive = (text: string, sent: number[], error?: "parity" | "framing" | "noise", wait = 1): void => {
      s.stimulus(`usart1: ${text}`, () => usart.receive(sent, error === undefined ? {} : { error }));
      s.settle(wait * usart.frameNs());
    };
    /** The good bytes of `text` arrive; each is read as soon as it is in. */
    const receiveEach = (text: string): void => {
      arrive(`${quoted(text)} arrives, one frame every ${usart.frameNs()} ns; the program reads after each`, frames(text));
      for (let i = 0; i < text.length; i++) {
        if (i > 0) s.settle(usart.frameNs());
        s.expect(1, "stm32_usart_read", base, hal.scratch, cap);
        s.expectBytes(hal.readBytes(hal.scratch, 1), latin1(text[i]!), `byte ${i} of ${quoted(text)}`);
      }
    };

    s.phase("setup", "clocks of GPIOA and USART1; PA9/PA10 to AF7; the USART at 115200 baud, 8 data bits with even parity (M = 1, PCE = 1), one stop bit");
    enableClocks(s, STM32_CLOCK_GPIOA, STM32_CLOCK_USART1);
    usart1Pins(s);
    s.expect(OK, "stm32_usart_init", base, kernelClock(s, "usart1", STM32_BUS_APB2), BAUD, STM32_USART_CONFIG_9_BITS | STM32_USART_CONFIG_PARITY_EVEN);

    s.phase("test", "frames arrive on RX; stm32_usart_read takes them, SR then DR for each, and reports PE, FE, NF and ORE (RM0090 30.6.1)");
    s.expect(0, "stm32_usart_read", base, hal.scratch, cap);
    receiveEach("ok");
    arrive("0x55 arrives with a parity error (its parity bit inverted)", [evenParityFrame(0x55) ^ 0x100], "parity");
    s.expect(ERR_RX_PARITY, "stm32_usart_read", base, hal.scratch, cap);
    arrive("0x56 arrives with a framing error (no stop bit)", frames("V"), "framing");
    s.expect(ERR_RX_FRAMING, "stm32_usart_read", base, hal.scratch, cap);
    arrive("0x57 arrives with noise (the samples of a bit disagreed)", frames("W"), "noise");
    s.expect(ERR_RX_NOISE, "stm32_usart_read", base, hal.scratch, cap);
    arrive('"xyz" arrives while the program sleeps three frame times: "x" waits in RDR, "y" and "z" complete with RXNE = 1 and are lost (ORE)', frames("xyz"), undefined, 3);
    // RDR keeps the older byte (RM0090 30.3.3): "x" comes first, the overrun on the next call.
    s.expect(1, "stm32_usart_read", base, hal.scratch, cap);
    s.expectBytes(hal.readBytes(hal.scratch, 1), latin1("x"), "the byte kept in RDR");
    s.expect(ERR_RX_OVERRUN, "stm32_usart_read", base, hal.scratch, cap);
    s.inspect("the frames the USART lost to the overrun", () => {
      const model = s.model("usart1", Stm32UsartModel);
      s.check(model.rxLost === 2, `2 frames lost to ORE (the model counted ${model.rxLost})`);
    });
    receiveEach("ok");
    s.expect(0, "stm32_usart_read", base, hal.scratch, cap);
  },
};

// ---------------------------------------------------------------------------------------------
// SPI

/** The flash's chip select: PA4, active low (fixtures/boards/stm32f405.json). */
const FLASH_CS = 1 << 4;

/** SPI1 on PA5 (SCK), PA6 (MISO), PA7 (MOSI), AF5; PA4 the flash's chip select, driven high
 * before it becomes an output so that the flash never sees a glitch. */
function spi1Pins(s: ScenarioContext): void {
  const gpioa = s.board.base(GPIOA);
  s.expect(OK, "stm32_gpio_write", gpioa, FLASH_CS, FLASH_CS);
  s.expect(OK, "stm32_gpio_configure", gpioa, 4, STM32_GPIO_MODE_OUTPUT | STM32_GPIO_SPEED_HIGH);
  for (const pin of [5, 6, 7]) s.expect(OK, "stm32_gpio_configure", gpioa, pin, alternate(AF_SPI1, STM32_GPIO_SPEED_VERY_HIGH));
}

const spiFlashId: Scenario = {
  name: "stm32f4-spi-flash-id",
  summary: "SPI1 as master at 4 MHz (PCLK2 16 MHz / 4, the fastest not above 5 MHz) reads the SPI NOR flash's JEDEC ID (0x9F: EF 40 14) with PA4 as chip select, then is disabled by the RM0090 28.3.8 procedure",
  module: "stm32f4",
  board: "stm32f405",
  run(s) {
    const { hal } = s.board;
    const spi = s.board.base("spi1");
    const gpioa = s.board.base(GPIOA);
    const flash = s.part("flash0", SpiNorFlash);
    const gpio = s.model(GPIOA, Stm32GpioModel);

    s.phase("setup", "clocks of GPIOA and SPI1; PA4 high, then an output (chip select); PA5-PA7 to AF5; SPI1 master, mode 0, 8-bit, at most 5 MHz");
    enableClocks(s, STM32_CLOCK_GPIOA, STM32_CLOCK_SPI1);
    spi1Pins(s);
    s.expect(OK, "stm32_spi_init", spi, kernelClock(s, "spi1", STM32_BUS_APB2), 5_000_000, STM32_SPI_CONFIG_MODE_0);

    s.phase("test", "chip select low; RDID (0x9F) and three dummy bytes in one full-duplex transfer; chip select high; stm32_spi_disable");
    const rdid = [0x9f, 0xff, 0xff, 0xff];
    const rx = hal.scratch + 0x40;
    s.note(`host: RDID and three 0xff written at ${hex(hal.scratch)}; the answer goes to ${hex(rx)}`);
    hal.writeBytes(rdid);
    s.expect(OK, "stm32_gpio_write", gpioa, FLASH_CS, 0);
    s.expect(rdid.length, "stm32_spi_transfer", spi, hal.scratch, rx, rdid.length);
    s.expect(OK, "stm32_gpio_write", gpioa, FLASH_CS, FLASH_CS);
    s.expectBytes(hal.readBytes(rx + 1, 3), flash.jedecId, "JEDEC ID");
    s.expect(OK, "stm32_spi_disable", spi);
    s.inspect("the chip select's history and the flash's commands", () => {
      const levels = s.model(GPIOA, Stm32GpioModel).historyOf(4).map((e) => (e.level ? 1 : 0));
      s.check(levels.join("") === "01", `PA4 went low once and high again (its changes: ${levels.join(", ")})`);
      s.check(flash.commands.join(",") === String(0x9f), `the flash saw one command, RDID (it saw ${flash.commands.map(hex).join(", ")})`);
    });
    s.check(gpio.pinLevel(4), "the flash is deselected at the end");
  },
};

// ---------------------------------------------------------------------------------------------
// DMA

const dmaMemcpy: Scenario = {
  name: "stm32f4-dma-memcpy",
  summary: "DMA2 stream 1 copies 64 bytes from the module's linear memory to SRAM, memory to memory in FIFO mode (word items, INCR4 bursts, full threshold), by the RM0090 10.3.17 procedure; NDTR ends at 0",
  module: "stm32f4",
  board: "stm32f405",
  run(s) {
    const { hal } = s.board;
    const dma2 = s.board.base("dma2");
    const sram = s.board.base("sram");
    const linear = s.board.base("linear");
    const stream = 1;
    // Words on both sides, through the FIFO (memory to memory may not use direct mode, RM0090
    // 10.3.6), full threshold: 16 bytes, a whole number of INCR4 word bursts (RM0090 10.3.13).
    const config = STM32_DMA_CONFIG_PSIZE_WORD | STM32_DMA_CONFIG_MSIZE_WORD | STM32_DMA_CONFIG_FIFO | STM32_DMA_CONFIG_FTH_FULL
      | (STM32_DMA_CONFIG_BURST_INCR4 << STM32_DMA_CONFIG_MBURST_SHIFT);

    s.phase("setup", "DMA2's clock (AHB1ENR.DMA2EN, then DSB)");
    enableClocks(s, STM32_CLOCK_DMA2);

    s.phase("test", `stream ${stream}: 64 bytes from linear memory to sram+0x100 (16 words), stm32_dma_wait, then NDTR`);
    const data = pattern(64, 0x40);
    s.note(`host: 64 bytes written into the scratch buffer, bus address ${hex(linear + hal.scratch)}`);
    hal.writeBytes(data);
    s.expect(OK, "stm32_dma_memcpy", dma2, stream, sram + 0x100, linear + hal.scratch, data.length, config);
    s.expect(OK, "stm32_dma_wait", dma2, stream);
    s.expect(0, "stm32_dma_remaining", dma2, stream);
    s.inspect("sram+0x100 after the copy, and the stream", () => {
      s.expectBytes(s.model("sram", Ram).bytes.subarray(0x100, 0x140), data, "sram+0x100 after the copy");
      const dma = s.model("dma2", Stm32DmaModel);
      s.check(dma.lockedWriteCount === 0, `no write reached the stream while it was enabled (${dma.describeLockedWrites()})`);
      s.check((dma.stream(stream).cr & DMA_S1CR_EN) === 0, "the stream cleared EN itself at the end (RM0090 10.3.13)");
    });
  },
};

const dmaUsartTx: Scenario = {
  name: "stm32f4-dma-usart-tx",
  summary: "DMA2 stream 7 channel 4 (USART1_TX, RM0090 Table 44) feeds the 27-byte greeting to USART1's DR a byte per TXE request, giving the same bytes on TX as stm32f4-usart-hello",
  module: "stm32f4",
  board: "stm32f405",
  run(s) {
    const { hal } = s.board;
    const usart1 = s.board.base("usart1");
    const dma2 = s.board.base("dma2");
    const linear = s.board.base("linear");
    const stream = STM32_DMA2_USART1_TX_STREAM;

    s.phase("setup", "clocks of GPIOA, USART1 and DMA2; PA9/PA10 to AF7; the USART at 115200 baud 8N1 with its TX DMA requests (CR3.DMAT)");
    enableClocks(s, STM32_CLOCK_GPIOA, STM32_CLOCK_USART1, STM32_CLOCK_DMA2);
    usart1Pins(s);
    s.expect(OK, "stm32_usart_init", usart1, kernelClock(s, "usart1", STM32_BUS_APB2), BAUD, USART_8N1);
    s.expect(OK, "stm32_usart_set_dma", usart1, STM32_USART_DMA_TX);

    s.phase("test", `stream ${stream} channel ${STM32_DMA2_USART1_TX_CHANNEL}: memory to USART1 DR, byte items, direct mode; stm32_dma_wait, then stm32_usart_flush`);
    const text = latin1(STM32_GREETING);
    s.note(`host: the greeting written into the scratch buffer, bus address ${hex(linear + hal.scratch)}`);
    hal.writeBytes(text);
    // Config 0: bytes on both sides, direct mode, single transfers, low priority, memory
    // incrementing, the peripheral address fixed (docs/drivers/stm32f4.md).
    s.expect(OK, "stm32_dma_mem_to_periph", dma2, stream, STM32_DMA2_USART1_TX_CHANNEL, usart1 + USART_DR, linear + hal.scratch, text.length, 0);
    s.expect(OK, "stm32_dma_wait", dma2, stream);
    s.expect(OK, "stm32_usart_flush", usart1);
    s.inspect("the bytes on TX", () => s.expectBytes(s.model("usart1", Stm32UsartModel).sentBytes, text, "bytes on TX"));
  },
};

const dmaSpiFlashRead: Scenario = {
  name: "stm32f4-dma-spi-flash-read",
  summary: "DMA2 streams 0 and 3, channel 3 (SPI1_RX, SPI1_TX: RM0090 Table 44) run a 20-byte full-duplex SPI1 transfer: READ (0x03) at 0x1000 and 16 bytes of the flash into linear memory",
  module: "stm32f4",
  board: "stm32f405",
  run(s) {
    const { hal } = s.board;
    const spi = s.board.base("spi1");
    const gpioa = s.board.base(GPIOA);
    const dma2 = s.board.base("dma2");
    const linear = s.board.base("linear");
    const flash = s.part("flash0", SpiNorFlash);
    const address = 0x1000;
    const data = pattern(16, 0x21);
    // READ, a 24-bit address, then one all-ones byte per byte to read (25-series command set).
    const command = [0x03, (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff];
    const tx = hal.scratch;
    const rx = hal.scratch + 0x40;
    const length = command.length + data.length;

    s.phase("setup", "clocks of GPIOA, SPI1 and DMA2; PA4 high, then an output (chip select); PA5-PA7 to AF5; SPI1 master, mode 0, 8-bit, at most 5 MHz");
    enableClocks(s, STM32_CLOCK_GPIOA, STM32_CLOCK_SPI1, STM32_CLOCK_DMA2);
    spi1Pins(s);
    s.expect(OK, "stm32_spi_init", spi, kernelClock(s, "spi1", STM32_BUS_APB2), 5_000_000, STM32_SPI_CONFIG_MODE_0);
    s.stimulus(`flash0: 16 bytes at ${hex(address)} hold a pattern`, () => flash.memory.set(data, address));

    s.phase("test", "chip select low; the RX stream, then the TX stream started; RXDMAEN and TXDMAEN (RM0090 28.3.9); both streams waited for; stm32_spi_disable (TXE, BSY); chip select high; DMA requests off");
    s.note(`host: READ ${hex(address)} and 16 bytes of 0xff written at ${hex(tx)} (bus address ${hex(linear + tx)}); the answer goes to ${hex(rx)}`);
    hal.writeBytes([...command, ...new Array<number>(data.length).fill(0xff)], tx);
    s.expect(OK, "stm32_gpio_write", gpioa, FLASH_CS, 0);
    s.expect(OK, "stm32_dma_periph_to_mem", dma2, STM32_DMA2_SPI1_RX_STREAM, STM32_DMA2_SPI1_RX_CHANNEL, spi + SPI_DR, linear + rx, length, 0);
    s.expect(OK, "stm32_dma_mem_to_periph", dma2, STM32_DMA2_SPI1_TX_STREAM, STM32_DMA2_SPI1_TX_CHANNEL, spi + SPI_DR, linear + tx, length, 0);
    s.expect(OK, "stm32_spi_set_dma", spi, STM32_SPI_DMA_TX | STM32_SPI_DMA_RX);
    s.expect(OK, "stm32_dma_wait", dma2, STM32_DMA2_SPI1_TX_STREAM);
    s.expect(OK, "stm32_dma_wait", dma2, STM32_DMA2_SPI1_RX_STREAM);
    s.expect(OK, "stm32_spi_disable", spi);
    s.expect(OK, "stm32_gpio_write", gpioa, FLASH_CS, FLASH_CS);
    s.expect(OK, "stm32_spi_set_dma", spi, 0);
    s.expectBytes(hal.readBytes(rx + command.length, data.length), data, `flash0 ${hex(address)}..${hex(address + data.length - 1)} read by DMA`);
    s.inspect("the flash's commands", () => s.check(flash.commands.join(",") === "3", `the flash saw one command, READ (it saw ${flash.commands.map(hex).join(", ")})`));
  },
};

/** Every STM32F4 scenario, in the order `check` runs them. */
export const STM32F4_SCENARIOS: readonly Scenario[] = [
  gpioBlinkLock,
  usartHello,
  usartOversampling8,
  usartReceiveErrors,
  spiFlashId,
  dmaMemcpy,
  dmaUsartTx,
  dmaSpiFlashRead,
];

export default STM32F4_SCENARIOS;
