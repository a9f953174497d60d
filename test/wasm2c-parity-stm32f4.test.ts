// The STM32F4 family's module, build/stm32f4.wasm, outside Node: the same parity check as
// hal.wasm's (test/wasm2c-parity.test.ts says what it shows). The scenarios run on the
// stm32f405 board's models (fixtures/boards/stm32f405.json), clock gating included, and between
// them call every export of the module. Needs wasm2c and a C compiler, as the PrimeCell check.
import { expect } from "vitest";
import { buildBoard, loadBoardFile, type Board } from "../harness/board-file.js";
import { packageProject } from "../harness/project.js";
import { Stm32GpioModel } from "../harness/devices/stm32f4/gpio.js";
import { Stm32UsartModel } from "../harness/devices/stm32f4/usart.js";
import { Ram } from "../harness/devices/ram.js";
import {
  OK, ERR_INVALID_ARG, ERR_RX_OVERRUN,
  STM32_CLOCK_GPIOA, STM32_CLOCK_USART1, STM32_CLOCK_SPI1, STM32_CLOCK_DMA2, STM32_BUS_APB2, STM32_HSI_HZ,
  STM32_GPIO_MODE_OUTPUT, STM32_GPIO_MODE_INPUT, STM32_GPIO_MODE_AF, STM32_GPIO_PULL_UP, STM32_GPIO_AF_SHIFT,
  STM32_SPI_CONFIG_MODE_0, STM32_SPI_DMA_TX, STM32_USART_DMA_TX,
  STM32_DMA_CONFIG_FIFO, STM32_DMA_CONFIG_FTH_FULL, STM32_DMA_CONFIG_PSIZE_WORD, STM32_DMA_CONFIG_MSIZE_WORD,
  STM32_DMA2_USART1_TX_STREAM, STM32_DMA2_USART1_TX_CHANNEL,
} from "../harness/generated/api.js";
import { RecordingHal } from "./parity/recording-hal.js";
import { findToolchain } from "./parity/toolchain.js";
import { parityChecks, type ParityScenario, type Rig } from "./parity/suite.js";

const MODULE = packageProject().modulePath("stm32f4", "release");
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** The stm32f405 board with a RecordingHal on build/stm32f4.wasm. */
function board(): { board: Board; hal: RecordingHal } {
  let hal!: RecordingHal;
  const b = buildBoard(loadBoardFile("stm32f405"), {
    modulePath: MODULE,
    makeHal: (bus, variant, modulePath, options) => (hal = new RecordingHal(bus, variant, modulePath, options)),
  });
  return { board: b, hal };
}

/** AF7 (USART1 on PA9/PA10, RM0090 8.3.2 and the datasheet's alternate function table). */
const AF7 = 7 << STM32_GPIO_AF_SHIFT;

function rccGpioScenario(): Rig {
  const { board: b, hal } = board();
  const rcc = b.base("rcc");
  const gpioa = b.base("gpioa");
  expect(hal.call("hal_abi_version")).toBe(1);
  expect(hal.call("hal_scratch_size")).toBeGreaterThanOrEqual(4096);
  expect(hal.call("hal_scratch")).toBe(hal.scratch);
  expect(hal.call("stm32_rcc_bus_clock_hz", rcc, 0, STM32_BUS_APB2)).toBe(STM32_HSI_HZ);
  expect(hal.call("stm32_rcc_enable", rcc, STM32_CLOCK_GPIOA)).toBe(OK);
  expect(hal.call("stm32_gpio_configure", gpioa, 5, STM32_GPIO_MODE_OUTPUT)).toBe(OK);
  expect(hal.call("stm32_gpio_configure", gpioa, 0, STM32_GPIO_MODE_INPUT | STM32_GPIO_PULL_UP)).toBe(OK);
  expect(hal.call("stm32_gpio_write", gpioa, 1 << 5, 1 << 5)).toBe(OK);
  expect(hal.call("stm32_gpio_toggle", gpioa, 1 << 5)).toBe(OK);
  b.model("gpioa", Stm32GpioModel).drive(0, false);
  expect(hal.call("stm32_gpio_read", gpioa) & 0x21).toBe(0);
  expect(hal.call("stm32_gpio_lock", gpioa, 1 << 5)).toBe(OK);
  expect(hal.call("stm32_gpio_configure", gpioa, 16, STM32_GPIO_MODE_OUTPUT)).toBe(ERR_INVALID_ARG);
  expect(hal.call("stm32_rcc_reset", rcc, STM32_CLOCK_GPIOA)).toBe(OK);
  expect(hal.call("stm32_rcc_disable", rcc, STM32_CLOCK_GPIOA)).toBe(OK);
  return { bus: b.bus, hal };
}

function usartScenario(): Rig {
  const { board: b, hal } = board();
  const rcc = b.base("rcc");
  const gpioa = b.base("gpioa");
  const usart1 = b.base("usart1");
  const usart = b.model("usart1", Stm32UsartModel);
  expect(hal.call("stm32_rcc_enable", rcc, STM32_CLOCK_GPIOA)).toBe(OK);
  expect(hal.call("stm32_rcc_enable", rcc, STM32_CLOCK_USART1)).toBe(OK);
  expect(hal.call("stm32_gpio_configure", gpioa, 9, STM32_GPIO_MODE_AF | AF7)).toBe(OK);
  expect(hal.call("stm32_gpio_configure", gpioa, 10, STM32_GPIO_MODE_AF | AF7)).toBe(OK);
  expect(hal.call("stm32_usart_init", usart1, STM32_HSI_HZ, 115200, 0)).toBe(OK);
  const text = ascii("parity!");
  const ptr = hal.writeBytes(text);
  expect(hal.call("stm32_usart_write", usart1, ptr, text.length)).toBe(text.length);
  expect(hal.call("stm32_usart_flush", usart1)).toBe(OK);
  expect(usart.sentBytes).toEqual(text);
  // One byte, read; then two back to back while nobody reads: RDR holds one byte (no FIFO), so
  // the second completes while RXNE = 1 and is lost with ORE (RM0090 30.3.3).
  usart.receive(ascii("k"));
  b.clock.advance(100_000); // a 10-bit frame at 115200 baud takes 87 us
  expect(hal.call("stm32_usart_read", usart1, hal.scratch, 16)).toBe(1);
  hal.readBytes(hal.scratch, 1);
  usart.receive(ascii("ok"));
  b.clock.advance(200_000);
  expect(hal.call("stm32_usart_read", usart1, hal.scratch, 16)).toBe(1);
  expect(hal.call("stm32_usart_read", usart1, hal.scratch, 16)).toBe(ERR_RX_OVERRUN);
  expect(hal.call("stm32_usart_set_dma", usart1, 0)).toBe(OK);
  return { bus: b.bus, hal };
}

function spiScenario(): Rig {
  const { board: b, hal } = board();
  const rcc = b.base("rcc");
  const gpioa = b.base("gpioa");
  const spi1 = b.base("spi1");
  expect(hal.call("stm32_rcc_enable", rcc, STM32_CLOCK_GPIOA)).toBe(OK);
  expect(hal.call("stm32_rcc_enable", rcc, STM32_CLOCK_SPI1)).toBe(OK);
  // PA4 drives the flash's chip select (high: deselected), PA5..PA7 SCK/MISO/MOSI on AF5.
  expect(hal.call("stm32_gpio_write", gpioa, 1 << 4, 1 << 4)).toBe(OK);
  expect(hal.call("stm32_gpio_configure", gpioa, 4, STM32_GPIO_MODE_OUTPUT)).toBe(OK);
  for (const pin of [5, 6, 7]) expect(hal.call("stm32_gpio_configure", gpioa, pin, STM32_GPIO_MODE_AF | (5 << STM32_GPIO_AF_SHIFT))).toBe(OK);
  expect(hal.call("stm32_spi_init", spi1, STM32_HSI_HZ, 1_000_000, STM32_SPI_CONFIG_MODE_0)).toBe(OK);
  // JEDEC ID (0x9F): the flash answers EF 40 14 in the three bytes after the command.
  const command = [0x9f, 0, 0, 0];
  const tx = hal.writeBytes(command);
  const rx = tx + 16;
  expect(hal.call("stm32_gpio_write", gpioa, 1 << 4, 0)).toBe(OK);
  expect(hal.call("stm32_spi_transfer", spi1, tx, rx, command.length)).toBe(command.length);
  expect(hal.call("stm32_gpio_write", gpioa, 1 << 4, 1 << 4)).toBe(OK);
  expect([...hal.readBytes(rx, command.length)].slice(1)).toEqual([0xef, 0x40, 0x14]);
  expect(hal.call("stm32_spi_set_dma", spi1, STM32_SPI_DMA_TX)).toBe(OK);
  expect(hal.call("stm32_spi_set_dma", spi1, 0)).toBe(OK);
  expect(hal.call("stm32_spi_disable", spi1)).toBe(OK);
  return { bus: b.bus, hal };
}

function dmaScenario(): Rig {
  const { board: b, hal } = board();
  const rcc = b.base("rcc");
  const dma2 = b.base("dma2");
  const usart1 = b.base("usart1");
  const sram = b.base("sram");
  const ram = b.model("sram", Ram);
  // The bytes to move are put in SRAM by the test, not by the CPU: only the CPU's accesses are
  // compared, and the C host answers them from the Node run.
  ram.bytes.set(ascii("0123456789abcdef"), 0);
  ram.bytes.set(ascii("DMA!"), 0x100);
  expect(hal.call("stm32_rcc_enable", rcc, STM32_CLOCK_DMA2)).toBe(OK);
  expect(hal.call("stm32_rcc_enable", rcc, STM32_CLOCK_USART1)).toBe(OK);
  const words = STM32_DMA_CONFIG_FIFO | STM32_DMA_CONFIG_FTH_FULL | STM32_DMA_CONFIG_PSIZE_WORD | STM32_DMA_CONFIG_MSIZE_WORD;
  expect(hal.call("stm32_dma_memcpy", dma2, 0, sram + 0x40, sram, 16, words)).toBe(OK);
  expect(hal.call("stm32_dma_wait", dma2, 0)).toBe(OK);
  expect(hal.call("stm32_dma_remaining", dma2, 0)).toBe(0);
  expect(hal.call("stm32_usart_init", usart1, STM32_HSI_HZ, 115200, 0)).toBe(OK);
  expect(hal.call("stm32_usart_set_dma", usart1, STM32_USART_DMA_TX)).toBe(OK);
  expect(hal.call("stm32_dma_mem_to_periph", dma2, STM32_DMA2_USART1_TX_STREAM, STM32_DMA2_USART1_TX_CHANNEL, usart1 + 0x04, sram + 0x100, 4, 0)).toBe(OK);
  expect(hal.call("stm32_dma_wait", dma2, STM32_DMA2_USART1_TX_STREAM)).toBe(OK);
  expect(hal.call("stm32_usart_flush", usart1)).toBe(OK);
  expect(b.model("usart1", Stm32UsartModel).sentBytes).toEqual(ascii("DMA!"));
  // A reception started and stopped before any byte came.
  expect(hal.call("stm32_dma_periph_to_mem", dma2, 2, 4, usart1 + 0x04, sram + 0x200, 8, 0)).toBe(OK);
  expect(hal.call("stm32_dma_stop", dma2, 2)).toBe(OK);
  expect(hal.call("stm32_dma_memcpy", dma2, 8, sram, sram, 4, words)).toBe(ERR_INVALID_ARG);
  return { bus: b.bus, hal };
}

const SCENARIOS: readonly ParityScenario[] = [
  { title: "RCC and GPIO: bus clock, enable, output by BSRR, toggle, input with pull-up, lock, a refused pin, reset, disable", run: rccGpioScenario },
  { title: "USART: clocks, pins to AF7, init at 115200 from 16 MHz, write, flush, a byte read and an overrun", run: usartScenario },
  { title: "SPI: master init, the SPI NOR flash's JEDEC ID with PA4 as chip select, DMA enables, the disable procedure", run: spiScenario },
  { title: "DMA: a memory copy on DMA2, USART1 TX by stream 7, a reception stopped, a refused stream", run: dmaScenario },
];

parityChecks("stm32f4.wasm", MODULE, findToolchain(), SCENARIOS, "stm32f4");
