// The STM32F4 part of the bug zoo (harness/zoo.ts): broken copies of the drivers of
// build/stm32f4.wasm (zoo/stm32f4-*.ts), each run on the stm32f405 board (fixtures/boards/
// stm32f405.json: the STM32F4 models, every peripheral behind its RCC clock gate, the enable-delay
// erratum on) against its zoo module and against build/stm32f4.wasm. A zoo module keeps every
// export of build/stm32f4.wasm, so a scenario uses the real RCC, GPIO and USART drivers around
// the broken function.
//
// Expected values come from RM0090 (and the same USART IP's RM0041 §23) and are worked out in
// the comments; virtual times follow from the board's 100 ns per access.
import { HalError } from "./hal.js";
import { loadBoard, type Board } from "./board-file.js";
import { Stm32DmaModel } from "./devices/stm32f4/dma.js";
import { Stm32GpioModel } from "./devices/stm32f4/gpio.js";
import { Stm32SpiModel } from "./devices/stm32f4/spi.js";
import { Stm32UsartModel } from "./devices/stm32f4/usart.js";
import { Ram } from "./devices/ram.js";
import { USART_DR } from "./generated/usart.js";
import {
  OK, ERR_RX_FRAMING,
  STM32_CLOCK_GPIOA, STM32_CLOCK_USART1, STM32_CLOCK_SPI1, STM32_CLOCK_DMA2,
  STM32_GPIO_MODE_OUTPUT, STM32_USART_DMA_TX, STM32_SPI_CONFIG_MODE_0, STM32_SPI_CONFIG_MODE_3,
  STM32_DMA_CONFIG_PSIZE_BYTE, STM32_DMA_CONFIG_MSIZE_BYTE, STM32_DMA_CONFIG_PSIZE_WORD, STM32_DMA_CONFIG_MSIZE_WORD,
  STM32_DMA2_USART1_TX_STREAM, STM32_DMA2_USART1_TX_CHANNEL,
} from "./generated/api.js";
import { within, captureSites, checkLintClean, checkNeverTouches, checkClockGated, checkStreamWritesTakeEffect, type Outcome, type TraceView } from "./assert.js";
import type { ZooBug, ZooModule } from "./zoo.js";

/** PCLK1 = PCLK2 = HCLK = the 16 MHz HSI after reset (RM0090 §7.2; the board's pclkHz facts). */
const PCLK_HZ = 16_000_000;

/** The stm32f405 board with `module` loaded on it, source sites captured for debug builds. */
function stm32Board(module: ZooModule): Board {
  const board = loadBoard("stm32f405", { modulePath: module.path, variant: module.variant });
  if (module.sourceMap !== undefined) captureSites(board.bus, module.sourceMap);
  if (module.broken) board.hal.lintInTests = false;
  return board;
}

/** A check: its failure message, or null when it passes. */
type Check = () => string | null;

const outcome = (o: Outcome): string | null => (o.pass ? null : o.message);

/** The lint's errors in a part of the trace. Warnings pass, as in the lint that runs after every
 * test (harness/vitest-setup.ts): the real driver's SR = ~TC sets SR's reserved bits 31:10, which
 * the lint warns about and ST's own LL_USART_ClearFlag_TC does too. */
const lint = (view: TraceView): string | null => outcome(checkLintClean(view, { allowWarnings: true }));

/** Runs a scenario, then every check; the messages of those that fail, one after the other. A
 * scenario stopped by a HalError (a bus fault, a trap) is still checked on what it left. */
function scenario(run: () => void, ...checks: Check[]): string | null {
  let stopped: HalError | undefined;
  try {
    run();
  } catch (e) {
    if (!(e instanceof HalError)) throw e;
    stopped = e;
  }
  const messages = checks.map((c) => c()).filter((m): m is string => m !== null);
  const note = stopped === undefined ? undefined : stopped.message.split("\n")[0];
  if (messages.length === 0) return note === undefined ? null : `the scenario did not complete: ${note}`;
  return [...messages, ...(note === undefined ? [] : [`(the scenario stopped there: ${note})`])].join("\n");
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const text = (bytes: readonly number[]): string => JSON.stringify(String.fromCharCode(...bytes));

/** RCC on for `clocks`, then USART1 at 115200 baud, 8N1 (BRR 0x8B at 16 MHz, RM0041 §23.3.4). */
function usart1Up(board: Board, ...clocks: number[]): void {
  const { hal } = board;
  for (const clock of [STM32_CLOCK_USART1, ...clocks]) hal.call("stm32_rcc_enable", board.base("rcc"), clock);
  hal.call("stm32_usart_init", board.base("usart1"), PCLK_HZ, 115200, 0);
}

export const ZOO_STM32F4: readonly ZooBug[] = [
  {
    name: "stm32f4-usart-sr-read-modify-write",
    driver: "stm32f4-usart",
    broken: ["stm32_usart_set_dma"],
    defect: "stm32_usart_set_dma clears TC by SR &= ~TC: the 0s written back clear RXNE (rc_w0, RM0090 30.6.1), so a byte that arrives between the read and the write is never read",
    caughtBy: "toBeLintClean: w0c-read-modify-write; and the byte received during the call is read afterwards",
    run(module) {
      const board = stm32Board(module);
      const { bus, hal } = board;
      const usart1 = board.base("usart1");
      const model = board.model("usart1", Stm32UsartModel);
      let arrival = 0;
      let got = -1;
      let read: number[] = [];
      return scenario(() => {
        usart1Up(board);
        // One frame of 10 bits at BRR 0x8B (USARTDIV 8.6875, 16 x 8.6875 / 16 MHz = 8687.5 ns a
        // bit) completes 86 875 ns after receive(). The call below reads CR3, writes CR3, then
        // (the broken copy) reads SR and writes it back, one access each 100 ns: starting 350 ns
        // before the frame completes puts the SR read 50 ns before it and the SR write 50 ns
        // after it.
        arrival = bus.clock.now + model.frameNs();
        model.receive([0x5a]);
        bus.settle(arrival - 350 - bus.clock.now);
        hal.call("stm32_usart_set_dma", usart1, STM32_USART_DMA_TX);
        got = hal.call("stm32_usart_read", usart1, hal.scratch, 8);
        read = got > 0 ? [...hal.readBytes(hal.scratch, got)] : [];
      },
      () => lint(within(bus, { call: "stm32_usart_set_dma" })),
      () => (got === 1 && read[0] === 0x5a ? null
        : `the frame 0x5a that completed on usart1's RX at ${arrival} ns, during stm32_usart_set_dma, was never read: stm32_usart_read returned ${got}${read.length > 0 ? ` (${read.map(hex).join(", ")})` : ""}, and no overrun reported it (rxLost ${model.rxLost}): its RXNE was cleared by the SR write, as rc_w0 bits are by a 0 (RM0090 30.6.1)`));
    },
  },
  {
    name: "stm32f4-gpio-toggle-odr-rmw",
    driver: "stm32f4-gpio",
    broken: ["stm32_gpio_toggle"],
    defect: "stm32_gpio_toggle inverts pins by ODR ^= mask, a read-modify-write of all 16 output bits: a pin another context changes between the read and the write is put back (RM0090 8.3.5: BSRR sets and resets pins in one write)",
    caughtBy: "toBeLintClean: set-reset-read-modify-write; toNeverTouch: stm32_gpio_toggle never writes gpioa.ODR",
    run(module) {
      const board = stm32Board(module);
      const { bus, hal } = board;
      const gpioa = board.base("gpioa");
      return scenario(() => {
        hal.call("stm32_rcc_enable", board.base("rcc"), STM32_CLOCK_GPIOA);
        // PA5 (the LED of many F4 boards) as a push-pull output, then toggled.
        hal.call("stm32_gpio_configure", gpioa, 5, STM32_GPIO_MODE_OUTPUT);
        hal.call("stm32_gpio_toggle", gpioa, 1 << 5);
      },
      () => lint(within(bus, { call: "stm32_gpio_toggle" })),
      () => outcome(checkNeverTouches(within(bus, { call: "stm32_gpio_toggle" }), "gpioa.ODR", { op: "write" })));
    },
  },
  {
    name: "stm32f4-rcc-enable-no-dsb",
    driver: "stm32f4-rcc",
    broken: ["stm32_rcc_enable"],
    defect: "stm32_rcc_enable returns right after the enable write, without the DSB the erratum needs (ES0182 2.1.13): the caller's first access to the peripheral is lost",
    caughtBy: "the clock-gate check: no access was kept from its peripheral (region, access and reason named)",
    run(module) {
      const board = stm32Board(module);
      const { bus, hal } = board;
      const gpioa = board.base("gpioa");
      const gpio = board.model("gpioa", Stm32GpioModel);
      return scenario(() => {
        hal.call("stm32_rcc_enable", board.base("rcc"), STM32_CLOCK_GPIOA);
        // The SPI flash's chip select, PA4, active low: driven high through BSRR before it
        // becomes an output, so that the flash stays deselected (the usual glitch-free order).
        hal.call("stm32_gpio_write", gpioa, 1 << 4, 1 << 4);
        hal.call("stm32_gpio_configure", gpioa, 4, STM32_GPIO_MODE_OUTPUT);
      },
      () => outcome(checkClockGated(bus, board.clockGates.values())),
      () => (gpio.pinLevel(4) ? null : `PA4 came up low when stm32_gpio_configure made it an output (ODR ${hex(gpio.odr)}): the SPI flash's chip select is asserted, because the BSRR write that was to set it high first never reached gpioa`));
    },
  },
  {
    name: "stm32f4-dma-config-while-enabled",
    driver: "stm32f4-dma",
    broken: ["stm32_dma_mem_to_periph"],
    defect: "stm32_dma_mem_to_periph programs a stream without clearing EN and waiting for it to read 0 (RM0090 10.3.17 step 1): on a running stream every write is ignored and the old transfer goes on",
    caughtBy: "toBeLintClean: write-while-enabled; and the DMA model's ignored writes (lockedWrites)",
    run(module) {
      const board = stm32Board(module);
      const { bus, hal } = board;
      const usart1 = board.base("usart1");
      const dma2 = board.base("dma2");
      const dma = board.model("dma2", Stm32DmaModel);
      const usart = board.model("usart1", Stm32UsartModel);
      const sram = board.model("sram", Ram);
      const first = ascii("a first message, 32 bytes long..");
      const second = ascii("second");
      const firstAt = board.base("sram");
      const secondAt = firstAt + 0x100;
      let status = 0;
      return scenario(() => {
        usart1Up(board, STM32_CLOCK_DMA2);
        hal.call("stm32_usart_set_dma", usart1, STM32_USART_DMA_TX);
        sram.bytes.set(first, 0);
        sram.bytes.set(second, 0x100);
        // USART1_TX is DMA2 stream 7 channel 4 (RM0090 Table 44); bytes, direct mode.
        const config = STM32_DMA_CONFIG_PSIZE_BYTE | STM32_DMA_CONFIG_MSIZE_BYTE;
        const send = (at: number, length: number): number => hal.call("stm32_dma_mem_to_periph", dma2, STM32_DMA2_USART1_TX_STREAM,
          STM32_DMA2_USART1_TX_CHANNEL, usart1 + USART_DR, at, length, config);
        send(firstAt, first.length);
        // 32 frames of 86.875 us take 2.8 ms; 500 us in, the stream is still running when the
        // caller changes its mind and sends the second buffer instead.
        bus.settle(500_000);
        send(secondAt, second.length);
        status = hal.call("stm32_dma_wait", dma2, STM32_DMA2_USART1_TX_STREAM);
        hal.call("stm32_usart_flush", usart1);
      },
      () => lint(within(bus, { call: "stm32_dma_mem_to_periph", nth: 1 })),
      () => outcome(checkStreamWritesTakeEffect(within(bus, { call: "stm32_dma_mem_to_periph", nth: 1 }), "dma2", dma)),
      () => {
        const sent = usart.sentBytes;
        const tail = sent.slice(-second.length);
        if (status === OK && tail.every((b, i) => b === second[i])) return null;
        return `the second buffer ${text(second)} was never sent: usart1 sent ${text(sent)} (${sent.length} bytes) and stm32_dma_wait returned ${status}: the stream kept the first transfer's M0AR and the count it had left, since the PAR, M0AR and NDTR writes were ignored`;
      });
    },
  },
  {
    name: "stm32f4-dma-flags-not-cleared",
    driver: "stm32f4-dma",
    broken: ["stm32_dma_memcpy"],
    defect: "stm32_dma_memcpy sets EN without clearing the stream's flags first (RM0090 10.3.17 step 2): a TCIF left by an earlier transfer makes the next stm32_dma_wait return OK before the copy is done",
    caughtBy: "the DMA model's count of enables with flags set (enabledWithFlagsSet); and the destination when stm32_dma_wait says it is done",
    run(module) {
      const board = stm32Board(module);
      const { bus, hal } = board;
      const dma2 = board.base("dma2");
      const dma = board.model("dma2", Stm32DmaModel);
      const sram = board.model("sram", Ram);
      const ram = board.base("sram");
      // Memory to memory (DMA2 only, RM0090 10.3.6) on stream 1, which no request uses here;
      // words, through the FIFO.
      const config = STM32_DMA_CONFIG_PSIZE_WORD | STM32_DMA_CONFIG_MSIZE_WORD;
      const length = 4096;
      let status = 0;
      let enabledWithFlags = 0;
      let copied = 0;
      return scenario(() => {
        hal.call("stm32_rcc_enable", board.base("rcc"), STM32_CLOCK_DMA2);
        // A first copy that nobody waits for: it completes and leaves TCIF1 set.
        hal.call("stm32_dma_memcpy", dma2, 1, ram + 0x8000, ram, 64, config);
        bus.settle(10_000);
        for (let i = 0; i < length; i++) sram.bytes[i] = (i * 7 + 1) & 0xff;
        const before = dma.enabledWithFlagsSet;
        hal.call("stm32_dma_memcpy", dma2, 1, ram + 0x10000, ram, length, config);
        enabledWithFlags = dma.enabledWithFlagsSet - before;
        status = hal.call("stm32_dma_wait", dma2, 1);
        while (copied < length && sram.bytes[0x10000 + copied] === sram.bytes[copied]) copied++;
      },
      () => (enabledWithFlags === 0 ? null
        : `DMA2 stream 1 was enabled with flags still set (${enabledWithFlags} time${enabledWithFlags === 1 ? "" : "s"}) in stm32_dma_memcpy: the stream's flags must be cleared in LIFCR before EN is set (RM0090 10.3.17 step 2)`),
      () => (status === OK && copied === length ? null
        : `stm32_dma_wait returned ${status} when only ${copied} of ${length} bytes had been copied: it saw the TCIF1 of the earlier copy, never cleared`));
    },
  },
  {
    name: "stm32f4-usart-read-errors-ignored",
    driver: "stm32f4-usart",
    broken: ["stm32_usart_read"],
    defect: "stm32_usart_read looks only at RXNE: its SR-then-DR reads clear PE, FE, NF and ORE unseen (RM0090 30.6.1), so a frame with an error is returned as good data",
    caughtBy: "the status check: a frame with a framing error gives ERR_RX_FRAMING and no byte",
    run(module) {
      const board = stm32Board(module);
      const { bus, hal } = board;
      const usart1 = board.base("usart1");
      const model = board.model("usart1", Stm32UsartModel);
      let got = 0;
      let read: number[] = [];
      return scenario(() => {
        usart1Up(board);
        // A break, or a peer at another rate: the frame arrives with FE = 1 (RM0090 30.3.3).
        model.receive([0x41], { error: "framing" });
        bus.settle(200_000);
        got = hal.call("stm32_usart_read", usart1, hal.scratch, 8);
        read = got > 0 ? [...hal.readBytes(hal.scratch, got)] : [];
      },
      () => (got === ERR_RX_FRAMING ? null
        : `stm32_usart_read returned ${got}${read.length > 0 ? ` with ${read.map(hex).join(", ")} stored as data` : ""}, expected ERR_RX_FRAMING (${ERR_RX_FRAMING}): the frame came with SR.FE = 1, and the driver's SR-then-DR reads cleared it unreported (RM0090 30.6.1)`));
    },
  },
  {
    name: "stm32f4-spi-init-while-enabled",
    driver: "stm32f4-spi",
    broken: ["stm32_spi_init"],
    defect: "stm32_spi_init skips the disable procedure (RM0090 28.3.8): a second init writes BR, CPOL and CPHA while SPE = 1, which RM0090 28.3.3 and 28.5.1 forbid",
    caughtBy: "toBeLintClean: write-while-enabled",
    run(module) {
      const board = stm32Board(module);
      const { bus, hal } = board;
      const spi1 = board.base("spi1");
      // The flash in mode 0 at up to 8 MHz (BR 000, PCLK2 / 2), then another slave in mode 3 at
      // up to 1 MHz (BR 011, / 16).
      return scenario(() => {
        hal.call("stm32_rcc_enable", board.base("rcc"), STM32_CLOCK_SPI1);
        hal.call("stm32_spi_init", spi1, PCLK_HZ, 8_000_000, STM32_SPI_CONFIG_MODE_0);
        hal.call("stm32_spi_init", spi1, PCLK_HZ, 1_000_000, STM32_SPI_CONFIG_MODE_3);
      },
      () => lint(within(bus, { call: "stm32_spi_init", nth: 1 })),
      () => {
        const spi = board.model("spi1", Stm32SpiModel);
        return spi.busyConfigWrites === 0 ? null : `spi1 took ${spi.busyConfigWrites} CR1 change${spi.busyConfigWrites === 1 ? "" : "s"} while a frame was on the wire`;
      });
    },
  },
];
