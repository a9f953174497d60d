// The board-file device kinds of the STM32F4 models (docs/scenarios.md, "Device kinds"):
// stm32f4-rcc, stm32f4-gpio, stm32f4-usart, stm32f4-spi and stm32f4-dma. harness/board-file.ts
// calls registerStm32f4DeviceKinds() beside its PrimeCell kinds; this file imports only types
// from it, so the two modules do not depend on each other while they load.
import type { Device } from "../../bus.js";
import type { DeviceContext, DeviceFactory, DeviceKindOptions, JsonObject, RegionDescription, Board, SpiMasterModel } from "../../board-file.js";
import type { DmaDirection, DmaRequester } from "../signals.js";
import { Stm32DmaModel, STM32_DMA_CHANNEL_COUNT, STM32_DMA_STREAM_COUNT } from "./dma.js";
import { Stm32GpioModel, STM32_GPIO_PORTS, type Stm32GpioPort } from "./gpio.js";
import { Stm32RccModel, busOfEnableRegister } from "./rcc.js";
import { Stm32SpiModel } from "./spi.js";
import { Stm32UsartModel } from "./usart.js";

type Register = (kind: string, factory: DeviceFactory, options?: DeviceKindOptions) => void;

/** What the kinds need of harness/board-file.ts, handed over when it registers them. */
export interface BoardWiring {
  attachSlave(c: DeviceContext, spi: SpiMasterModel, o: JsonObject): void;
}

/** The request of a stream and channel, per RM0090 Table 43 (DMA1) and Table 44 (DMA2), for the
 * USART, UART and SPI blocks (RM0090 Tables 43 and 44, docs/drivers/stm32f4.md "Streams, channels and the request mapping"; the other peripherals' requests are not listed:
 * a board that needs one says so by a stream and channel without a "request" name). */
export const DMA_REQUESTS: Readonly<Record<"DMA1" | "DMA2", Readonly<Record<string, readonly (readonly [number, number])[]>>>> = {
  DMA1: {
    SPI3_RX: [[0, 0], [2, 0]], SPI3_TX: [[5, 0], [7, 0]], SPI2_RX: [[3, 0]], SPI2_TX: [[4, 0]],
    USART2_RX: [[5, 4]], USART2_TX: [[6, 4]], USART3_RX: [[1, 4]], USART3_TX: [[3, 4], [4, 7]],
    UART4_RX: [[2, 4]], UART4_TX: [[4, 4]], UART5_RX: [[0, 4]], UART5_TX: [[7, 4]],
  },
  DMA2: {
    SPI1_RX: [[0, 3], [2, 3]], SPI1_TX: [[3, 3], [5, 3]], USART1_RX: [[2, 4], [5, 4]], USART1_TX: [[7, 4]],
    USART6_RX: [[1, 5], [2, 5]], USART6_TX: [[6, 5], [7, 5]],
  },
};

function regionNamed(board: Board, o: JsonObject, key: string, name: string): RegionDescription {
  const r = board.description.regions.find((x) => x.name === name);
  if (r === undefined) o.fail(key, `no region named ${name}: expected one of ${board.description.regions.map((x) => x.name).join(", ")}`);
  return r;
}

/**
 * The kernel clock of a USART or SPI region: the device's `pclkHz` when given, else the RCC bus
 * clock of the region's `clock` enable register (APB2ENR: PCLK2, APB1ENR: PCLK1), read from the
 * RCC model at each frame start.
 */
function kernelClock(c: DeviceContext): number | (() => number) {
  const fixed = c.options.optionalInteger("pclkHz", { min: 1 });
  if (fixed !== undefined) return fixed;
  const clock = c.region.clock;
  if (clock === undefined) c.options.fail("pclkHz", "missing: expected pclkHz (the kernel clock in Hz), or a region \"clock\" entry whose RCC gives the bus clock");
  const bus = busOfEnableRegister(clock.register);
  if (bus === null) c.options.fail("pclkHz", `missing, and ${clock.register} names no bus: expected pclkHz`);
  let rcc: Stm32RccModel | undefined;
  c.connect((board) => {
    const device = board.device(clock.rcc);
    if (device instanceof Stm32RccModel) rcc = device;
  });
  return () => (rcc === undefined ? 0 : rcc.busClockHz(bus));
}

export function registerStm32f4DeviceKinds(register: Register, wiring: BoardWiring): void {
  register("stm32f4-rcc", (c) => {
    const hseHz = c.options.optionalInteger("hseHz", { min: 1 });
    const hseStartupNs = c.options.optionalInteger("hseStartupNs");
    const pllLockNs = c.options.optionalInteger("pllLockNs");
    return new Stm32RccModel({
      clock: c.clock,
      enableErratum: c.options.boolean("enableErratum", false),
      ...(hseHz === undefined ? {} : { hseHz }),
      ...(hseStartupNs === undefined ? {} : { hseStartupNs }),
      ...(pllLockNs === undefined ? {} : { pllLockNs }),
    });
  }, { block: "rcc", doc: "STM32F4 RCC model (harness/devices/stm32f4/rcc.ts): hseHz, hseStartupNs, pllLockNs, enableErratum (the enable-delay erratum, default false); gates the regions whose \"clock\" names it" });

  register("stm32f4-gpio", (c) => {
    const port = c.options.string("port", { oneOf: STM32_GPIO_PORTS }) as Stm32GpioPort;
    return new Stm32GpioModel({ clock: c.clock, port, boardPullUps: c.options.integer("boardPullUps", { default: 0, max: 0xffff }) });
  }, { block: "gpio", doc: "STM32F4 GPIO port model (harness/devices/stm32f4/gpio.ts): port A..I (required: the reset values differ), boardPullUps (pins with a pull-up resistor on the board, bit n = pin n)" });

  register("stm32f4-usart", (c) => new Stm32UsartModel({ clock: c.clock, pclkHz: kernelClock(c) }), {
    block: "usart", doc: "STM32F4 USART model (harness/devices/stm32f4/usart.ts): pclkHz, else the bus clock of the region's RCC clock",
  });

  register("stm32f4-spi", (c) => {
    const spi = new Stm32SpiModel({ clock: c.clock, pclkHz: kernelClock(c) });
    for (const item of c.options.array("slaves")) wiring.attachSlave(c, spi, item.object());
    return spi;
  }, { block: "spi", doc: "STM32F4 SPI model (harness/devices/stm32f4/spi.ts): pclkHz, else the bus clock of the region's RCC clock; slaves (SPI devices, as for pl022)" });

  register("stm32f4-dma", (c) => {
    const instance = c.options.string("instance", { oneOf: ["DMA1", "DMA2"] }) as "DMA1" | "DMA2";
    const cycleNs = c.options.optionalInteger("cycleNs", { min: 1 });
    const dma = new Stm32DmaModel(c.bus, c.clock, { instance: instance === "DMA1" ? 1 : 2, ...(cycleNs === undefined ? {} : { cycleNs }) });
    const used = new Map<string, string>();
    for (const item of c.options.array("requests")) {
      const o: JsonObject = item.object();
      const stream = o.integer("stream", { max: STM32_DMA_STREAM_COUNT - 1 });
      const channel = o.integer("channel", { max: STM32_DMA_CHANNEL_COUNT - 1 });
      const regionName = o.string("region", { what: "the name of the region of the requesting peripheral" });
      const request = o.optionalString("request", { pattern: /^[A-Z0-9]+_(TX|RX)$/, what: "a request name of RM0090 Tables 43/44 (USART1_TX)" });
      let direction: DmaDirection;
      if (request !== undefined) {
        const table = DMA_REQUESTS[instance];
        const places = table[request];
        if (places === undefined) o.fail("request", `${instance} has no request ${request} in RM0090 ${instance === "DMA1" ? "Table 43" : "Table 44"}: expected one of ${Object.keys(table).join(", ")}`);
        if (!places.some(([s, ch]) => s === stream && ch === channel)) {
          o.fail("request", `${request} is not on ${instance} stream ${stream} channel ${channel}: RM0090 ${instance === "DMA1" ? "Table 43" : "Table 44"} has it on ${places.map(([s, ch]) => `stream ${s} channel ${ch}`).join(", ")}`);
        }
        direction = request.endsWith("_TX") ? "tx" : "rx";
        if (o.has("direction")) o.string("direction", { oneOf: [direction] });
      } else {
        direction = o.string("direction", { oneOf: ["tx", "rx"] }) as DmaDirection;
      }
      o.done();
      const key = `${stream}/${channel}`;
      const other = used.get(key);
      if (other !== undefined) o.fail("channel", `stream ${stream} channel ${channel} is already connected by ${other}: expected each stream and channel once`);
      used.set(key, o.path);
      c.connect((board) => {
        const target = regionNamed(board, o, "region", regionName);
        const device = board.device(target.name) as Device & Partial<DmaRequester>;
        if (typeof device.dmaRequests !== "function") o.fail("region", `region ${regionName} holds a ${target.device.kind} device, which has no DMA request lines`);
        dma.connectRequest(stream, channel, device as Device & DmaRequester, direction);
      });
    }
    return dma;
  }, { block: "dma", doc: "STM32F4 DMA controller model (harness/devices/stm32f4/dma.ts): instance DMA1 or DMA2 (required), cycleNs, requests (stream, channel, request name of RM0090 Tables 43/44, region)" });
}
