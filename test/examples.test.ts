// The user-written models of examples/ (docs/models.md) driven through the real drivers in
// build/hal.wasm: the MCP3008-style ADC behind the PL022 model, its chip select on a PL061 pin; a
// bouncing button on a PL061 input whose edges reach pl061_irq_status; a timer block with no
// register map, reached with plain bus accesses; both as board device kinds in a board file. Expected conversions are worked out by hand from the protocol written in
// examples/spi-adc.ts: code = floor(1024 x V / VREF), clamped to 0..1023.
import { describe, expect, it } from "vitest";
import { Bus } from "../harness/bus.js";
import { Hal } from "../harness/hal.js";
import { Pl022Model } from "../harness/devices/pl022.js";
import { Pl061Model } from "../harness/devices/pl061.js";
import { BoardFileError, buildBoard, parseBoardFile } from "../harness/board-file.js";
import { PL022_MAP } from "../harness/generated/pl022.js";
import { PL061_MAP } from "../harness/generated/pl061.js";
import {
  OK, PL022_CONFIG_MODE_1, PL022_CONFIG_MODE_3, PL061_IRQ_EDGE_FALLING, PL061_IRQ_EDGE_RISING,
} from "../harness/generated/api.js";
import { Mcp3008Model, type Mcp3008Options } from "../examples/spi-adc.js";
import { GpioButton } from "../examples/gpio-button.js";
import {
  TickTimer, TICK_TIMER_COMPARE, TICK_TIMER_COUNT, TICK_TIMER_CTRL, TICK_TIMER_CTRL_IRQ_ENABLE, TICK_TIMER_STATUS,
  TICK_TIMER_STATUS_MATCH,
} from "../examples/tick-timer.js";
import { PL022_MCP3008_KIND, TICK_TIMER_KIND } from "../examples/board-kinds.js";

/** Versatile PB addresses (fixtures/boards/versatile.json); any word-aligned bases would do. */
const GPIO_BASE = 0x101e4000;
const SSP_BASE = 0x101f4000;
const SSPCLK_HZ = 24_000_000;
/** 24 MHz / (CPSDVSR 2 x (1 + SCR 11)) = 1 MHz (docs/drivers/pl022.md). */
const SPI_RATE_HZ = 1_000_000;
/** The ADC's chip select: PL061 pin 2, active low. */
const CS_PIN = 2;
const CS = 1 << CS_PIN;
/** Where the received frames go in linear memory, after the transmitted ones. */
const RX_OFFSET = 64;

/** MOSI byte 1 of the three-byte framing: SGL/DIFF, D2, D1, D0 in bits 7..4. */
const single = (channel: number): number => 0x80 | (channel << 4);
const differential = (select: number): number => select << 4;
/** The three-byte framing's result, bits 9:8 in byte 1, 7:0 in byte 2. */
const codeOf = (rx: readonly number[]): number => ((rx[1]! & 0x03) << 8) | rx[2]!;

/**
 * A PL022 and a PL061 on a bus, the ADC on the SSP with its chip select on the PL061's pin 2
 * (pulled up, so deselected until the pin drives low), and the drivers set up: the pin made an
 * output driving high, the port at 1 MHz with `config` (8-bit mode 0 by default).
 */
function adcRig(options: { adc?: Mcp3008Options; config?: number } = {}) {
  const bus = new Bus();
  const gpio = new Pl061Model({ clock: bus.clock, inputs: CS });
  const ssp = new Pl022Model({ clock: bus.clock, sspclkHz: SSPCLK_HZ });
  const adc = new Mcp3008Model({ vrefMillivolts: 3300, ...options.adc });
  bus.map({ name: "gpio0", base: GPIO_BASE, size: 0x1000, device: gpio, map: PL061_MAP });
  bus.map({ name: "ssp0", base: SSP_BASE, size: 0x1000, device: ssp, map: PL022_MAP });
  const index = ssp.attach(adc);
  const chipSelect = ssp.chipSelectListener(index, { pin: CS_PIN });
  gpio.onOutputChange(chipSelect);
  chipSelect(CS_PIN, gpio.pinLevel(CS_PIN));

  const hal = new Hal(bus);
  // Write, make an output, write again: a DATA write to an input pin is dropped (docs/drivers/pl061.md).
  expect(hal.call("pl061_write", GPIO_BASE, CS, CS)).toBe(OK);
  expect(hal.call("pl061_set_direction", GPIO_BASE, CS, CS)).toBe(OK);
  expect(hal.call("pl061_write", GPIO_BASE, CS, CS)).toBe(OK);
  expect(hal.call("pl022_init", SSP_BASE, SSPCLK_HZ, SPI_RATE_HZ, options.config ?? 0)).toBe(OK);
  expect(ssp.isSelected(index)).toBe(false);

  /** One chip-select period: CS low, pl022_transfer of the bytes (one or two per frame, as the
   * port's frame size takes them), CS high. Returns the bytes received. */
  const transaction = (tx: readonly number[], frames = tx.length): number[] => {
    expect(hal.call("pl061_write", GPIO_BASE, CS, 0)).toBe(OK);
    expect(ssp.isSelected(index)).toBe(true);
    hal.writeBytes(tx, hal.scratch);
    expect(hal.call("pl022_transfer", SSP_BASE, hal.scratch, hal.scratch + RX_OFFSET, frames)).toBe(frames);
    expect(hal.call("pl061_write", GPIO_BASE, CS, CS)).toBe(OK);
    expect(ssp.isSelected(index)).toBe(false);
    return Array.from(hal.readBytes(hal.scratch + RX_OFFSET, tx.length));
  };
  return { bus, gpio, ssp, adc, hal, transaction };
}

describe("MCP3008-style ADC (examples/spi-adc.ts) through pl022_transfer, chip select on a PL061 pin", () => {
  it("converts single-ended channels to floor(1024 x V / 3300 mV), clamped at 1023", () => {
    const { adc, transaction } = adcRig({ adc: { inputs: [0, 1650, 3300, 1000, 4, 0, 0, 2500] } });
    // Byte 0: DOUT not driven (ones). Byte 1: four ones while the config goes in, one for the
    // sample clock, the null bit 0, then B9 B8. Byte 2: B7..B0.
    expect(transaction([0x01, single(0), 0x00])).toEqual([0xff, 0xf8, 0x00]); // 0 mV -> 0
    expect(transaction([0x01, single(1), 0x00])).toEqual([0xff, 0xfa, 0x00]); // 1024 x 1650 / 3300 = 512 = 0x200
    expect(transaction([0x01, single(2), 0x00])).toEqual([0xff, 0xfb, 0xff]); // 1024 x 3300 / 3300 = 1024 -> 1023
    expect(transaction([0x01, single(3), 0x00])).toEqual([0xff, 0xf9, 0x36]); // 1024000 / 3300 = 310.3 -> 310 = 0x136
    expect(transaction([0x01, single(4), 0x00])).toEqual([0xff, 0xf8, 0x01]); // 4096 / 3300 = 1.24 -> 1
    expect(transaction([0x01, single(7), 0x00])).toEqual([0xff, 0xfb, 0x07]); // 2560000 / 3300 = 775.8 -> 775 = 0x307
    expect(adc.conversions.map((c) => [c.single, c.select, c.code])).toEqual([
      [true, 0, 0], [true, 1, 512], [true, 2, 1023], [true, 3, 310], [true, 4, 1], [true, 7, 775],
    ]);
  });

  it("converts a differential pair as IN+ minus IN-, and gives 0 when IN- is the higher", () => {
    const { transaction } = adcRig({ adc: { inputs: [0, 0, 0, 0, 2000, 1500] } });
    // D2 D1 = 10: channels 4 and 5. D0 = 0: IN+ = CH4, so 500 mV: 512000 / 3300 = 155.2 -> 155 = 0x09b.
    expect(codeOf(transaction([0x01, differential(0b100), 0x00]))).toBe(155);
    // D0 = 1: IN+ = CH5, IN- = CH4, -500 mV -> 0.
    expect(codeOf(transaction([0x01, differential(0b101), 0x00]))).toBe(0);
  });

  it("finds the start bit anywhere: with it at bit 4 of byte 0 the result starts in byte 1 and its LSB-first repeat follows", () => {
    const { transaction } = adcRig({ adc: { inputs: [0, 0, 0, 1000] } });
    // MOSI 000 1 1 011 (start, SGL, channel 3); 310 = B9..B0 0100110110.
    // Byte 1: sample clock (1), null (0), B9..B4 = 010011 -> 1001 0011 = 0x93.
    // Byte 2: B3..B0 = 0110, then LSB first B1..B4 = 1101 -> 0110 1101 = 0x6d.
    expect(transaction([0x18 | 3, 0x00, 0x00])).toEqual([0xff, 0x93, 0x6d]);
  });

  it("takes 16-bit frames from the driver bit for bit: two frames carry the conversion", () => {
    const { transaction } = adcRig({ adc: { inputs: [0, 0, 0, 1000] }, config: 16 });
    // Frame 0 MOSI 0000 0001 1011 0000 = 0x01b0; frame 1 all zeros. Frames are two bytes each,
    // little-endian, in memory (docs/drivers/pl022.md).
    const rx = transaction([0xb0, 0x01, 0x00, 0x00], 2);
    // Frame 0: ones to the sample clock, null bit, B9 B8 = 01 -> 0xfff9.
    // Frame 1: B7..B0 = 0x36, then B1..B8 LSB first = 1101 1001 = 0xd9.
    expect([rx[0]! | (rx[1]! << 8), rx[2]! | (rx[3]! << 8)]).toEqual([0xfff9, 0x36d9]);
  });

  it("answers in SPI mode 3 as in mode 0, and not at all in mode 1 (MISO pulled up: all ones)", () => {
    const mode3 = adcRig({ adc: { inputs: [0, 1650] }, config: PL022_CONFIG_MODE_3 });
    expect(mode3.transaction([0x01, single(1), 0x00])).toEqual([0xff, 0xfa, 0x00]);
    const mode1 = adcRig({ adc: { inputs: [0, 1650] }, config: PL022_CONFIG_MODE_1 });
    expect(mode1.transaction([0x01, single(1), 0x00])).toEqual([0xff, 0xff, 0xff]);
    expect(mode1.adc.conversions).toEqual([]);
  });

  it("makes one conversion per chip-select period: a second start bit gets the LSB-first tail, then zeros", () => {
    const { adc, transaction } = adcRig({ adc: { inputs: [0, 0, 0, 0, 0, 0, 0, 2500] } });
    // 775 = B9..B0 1100000111. After B0: B1..B8 = 1100 0001 = 0xc1, B9 then zeros = 0x80, 0x00.
    expect(transaction([0x01, single(7), 0x00, 0x01, single(0), 0x00])).toEqual([0xff, 0xfb, 0x07, 0xc1, 0x80, 0x00]);
    expect(adc.conversions).toHaveLength(1);
    // Chip select rose and fell: the next period converts again.
    expect(transaction([0x01, single(7), 0x00])).toEqual([0xff, 0xfb, 0x07]);
    expect(adc.conversions).toHaveLength(2);
  });

  it("samples the input at the virtual time of the sample clock: a step 1 ms ahead is seen after the clock passes it", () => {
    const { bus, adc, transaction } = adcRig();
    const stepAt = bus.clock.now + 1_000_000;
    adc.setInput(6, (t) => (t < stepAt ? 1000 : 2000));
    expect(codeOf(transaction([0x01, single(6), 0x00]))).toBe(310); // 1024000 / 3300 = 310.3
    bus.settle(1_000_000);
    expect(codeOf(transaction([0x01, single(6), 0x00]))).toBe(620); // 2048000 / 3300 = 620.6
    const [before, after] = adc.conversions;
    expect(before!.time).toBeLessThan(stepAt);
    expect(after!.time).toBeGreaterThanOrEqual(stepAt);
  });

  it("shows an unpowered ADC (fault injection) as a set null bit: nothing drives MISO", () => {
    const { adc, transaction } = adcRig({ adc: { inputs: [0, 1650] } });
    adc.faults.unpowered = true;
    const rx = transaction([0x01, single(1), 0x00]);
    expect(rx).toEqual([0xff, 0xff, 0xff]);
    expect(rx[1]! & 0x04).not.toBe(0); // what firmware checks before trusting the code
    adc.faults.unpowered = false;
    expect(transaction([0x01, single(1), 0x00])).toEqual([0xff, 0xfa, 0x00]);
  });
});

/** The button's pin. */
const BUTTON_PIN = 3;
const BUTTON = 1 << BUTTON_PIN;

function buttonRig(options: { bounce?: { count: number; intervalNs: number }; debounceNs?: number } = {}) {
  const bus = new Bus();
  const gpio = new Pl061Model({ clock: bus.clock });
  bus.map({ name: "gpio0", base: GPIO_BASE, size: 0x1000, device: gpio, map: PL061_MAP });
  const button = new GpioButton({ bus, gpio, pin: BUTTON_PIN, ...options });
  const hal = new Hal(bus);
  return { bus, gpio, button, hal };
}

describe("a push button (examples/gpio-button.ts) on a PL061 input, seen through pl061_irq_status", () => {
  it("bounces: a press changes the pin five times, and a handler polling every 10 us sees three falling edges", () => {
    const { bus, button, hal } = buttonRig({ bounce: { count: 2, intervalNs: 50_000 } });
    expect(hal.call("pl061_irq_config", GPIO_BASE, BUTTON, PL061_IRQ_EDGE_FALLING)).toBe(OK);
    expect(hal.call("pl061_read", GPIO_BASE, BUTTON)).toBe(BUTTON); // released: pulled up
    expect(hal.call("pl061_irq_status", GPIO_BASE)).toBe(0);

    const t0 = bus.clock.now;
    button.press();
    let interrupts = 0;
    for (let poll = 0; poll < 40; poll++) {
      bus.settle(10_000);
      if (hal.call("pl061_irq_status", GPIO_BASE) & BUTTON) {
        interrupts++;
        expect(hal.call("pl061_irq_clear", GPIO_BASE, BUTTON)).toBe(OK);
      }
    }
    // Contact: closed at t0, open at +50 us, closed at +100, open at +150, closed at +200 us.
    expect(button.edges).toEqual([
      { time: t0, level: false },
      { time: t0 + 50_000, level: true },
      { time: t0 + 100_000, level: false },
      { time: t0 + 150_000, level: true },
      { time: t0 + 200_000, level: false },
    ]);
    expect(interrupts).toBe(3);
    expect(hal.call("pl061_read", GPIO_BASE, BUTTON)).toBe(0);
  });

  it("with a 5 ms debouncer, falls once, 5 ms after the contact settles", () => {
    const { bus, button, hal } = buttonRig({ bounce: { count: 2, intervalNs: 50_000 }, debounceNs: 5_000_000 });
    expect(hal.call("pl061_irq_config", GPIO_BASE, BUTTON, PL061_IRQ_EDGE_FALLING)).toBe(OK);
    const t0 = bus.clock.now;
    button.press();
    // The contact settles at t0 + 200 us; the pin follows 5 ms later, at t0 + 5.2 ms.
    bus.settle(5_100_000);
    expect(hal.call("pl061_irq_status", GPIO_BASE)).toBe(0);
    expect(hal.call("pl061_read", GPIO_BASE, BUTTON)).toBe(BUTTON);
    bus.settle(200_000);
    expect(hal.call("pl061_irq_status", GPIO_BASE)).toBe(BUTTON);
    expect(hal.call("pl061_read", GPIO_BASE, BUTTON)).toBe(0);
    expect(button.edges).toEqual([{ time: t0 + 5_200_000, level: false }]);
  });

  it("takes a click scheduled ahead: pressed 1 ms from now for 2 ms, the release's rising edge comes at 3 ms", () => {
    const { bus, button, hal } = buttonRig();
    expect(hal.call("pl061_irq_config", GPIO_BASE, BUTTON, PL061_IRQ_EDGE_RISING)).toBe(OK);
    const t0 = bus.clock.now;
    button.click(2_000_000, t0 + 1_000_000);
    bus.settle(2_000_000);
    expect(hal.call("pl061_read", GPIO_BASE, BUTTON)).toBe(0); // pressed
    expect(hal.call("pl061_irq_status", GPIO_BASE)).toBe(0); // a falling edge only
    bus.settle(2_000_000);
    expect(hal.call("pl061_irq_status", GPIO_BASE)).toBe(BUTTON);
    expect(button.edges).toEqual([{ time: t0 + 1_000_000, level: false }, { time: t0 + 3_000_000, level: true }]);
  });
});

const TIMER_BASE = 0x10200000;

describe("a timer block with no register map (examples/tick-timer.ts), reached with CPU accesses", () => {
  it("counts 1 MHz ticks from the virtual clock and raises its line when COUNT reaches COMPARE", () => {
    const bus = new Bus(); // 100 ns per access
    const timer = new TickTimer({ clock: bus.clock, tickHz: 1_000_000 });
    bus.map({ name: "timer0", base: TIMER_BASE, size: 0x10, device: timer });
    bus.write(TIMER_BASE + TICK_TIMER_COMPARE, 1000, 4); // at 100 ns, tick 0: the match is 1000 ticks ahead, at 1 ms
    bus.write(TIMER_BASE + TICK_TIMER_CTRL, TICK_TIMER_CTRL_IRQ_ENABLE, 4); // at 200 ns
    bus.settle(999_000); // 999.2 us
    expect(timer.interruptPending()).toBe(false);
    bus.settle(1_000); // 1000.2 us
    expect(timer.interruptPending()).toBe(true);
    expect(bus.read(TIMER_BASE + TICK_TIMER_STATUS, 4)).toBe(TICK_TIMER_STATUS_MATCH);
    expect(bus.read(TIMER_BASE + TICK_TIMER_COUNT, 4)).toBe(1000); // at 1000.4 us
    bus.write(TIMER_BASE + TICK_TIMER_STATUS, TICK_TIMER_STATUS_MATCH, 4);
    expect(timer.interruptPending()).toBe(false);
    // Without a register map the bus takes any width; the model refuses what it does not decode.
    expect(() => bus.read(TIMER_BASE + TICK_TIMER_COUNT, 2)).toThrow(/word accesses only/);
  });
});

/** A board with the example kinds: a PL061 whose pin 2 is pulled up, the SSP with the ADC, and
 * the timer in a region with no register block. */
const ADC_BOARD = `{
  "name": "adc-board",
  "doc": "a PL022 with an MCP3008-style ADC, chip select on GPIO0 pin 2",
  "regions": [
    { "name": "gpio0", "base": "0x101e4000", "size": "0x1000", "block": "pl061",
      "device": { "kind": "pl061", "inputs": "0x04" } },
    { "name": "ssp0", "base": "0x101f4000", "size": "0x1000", "block": "pl022",
      "device": { "kind": "${PL022_MCP3008_KIND}", "sspclkHz": 24000000,
                  "adc": { "name": "adc0", "vrefMillivolts": 3300, "inputs": [0, 1650, 0, 1000],
                           "chipSelect": { "gpio": "gpio0", "pin": 2 } } } },
    { "name": "timer0", "base": "0x10200000", "size": "0x10", "block": null,
      "device": { "kind": "${TICK_TIMER_KIND}", "tickHz": 1000000 } }
  ]
}`;

describe("the examples as board device kinds (examples/board-kinds.ts)", () => {
  it("builds a board from a JSON text and reads the channels given there through the drivers", () => {
    const board = buildBoard(parseBoardFile(ADC_BOARD, "adc-board.json"));
    const { hal } = board;
    const adc = board.part("adc0", Mcp3008Model);
    const gpio = board.base("gpio0");
    const ssp = board.base("ssp0");
    expect(board.model("ssp0", Pl022Model)).toBeInstanceOf(Pl022Model);
    expect(adc.selected).toBe(false); // pin 2 pulled up: chip select inactive

    expect(hal.call("pl061_write", gpio, CS, CS)).toBe(OK);
    expect(hal.call("pl061_set_direction", gpio, CS, CS)).toBe(OK);
    expect(hal.call("pl061_write", gpio, CS, CS)).toBe(OK);
    expect(hal.call("pl022_init", ssp, board.deviceInteger("ssp0", "sspclkHz"), SPI_RATE_HZ, 0)).toBe(OK);
    const read = (channel: number): number => {
      expect(hal.call("pl061_write", gpio, CS, 0)).toBe(OK);
      hal.writeBytes([0x01, single(channel), 0x00], hal.scratch);
      expect(hal.call("pl022_transfer", ssp, hal.scratch, hal.scratch + RX_OFFSET, 3)).toBe(3);
      expect(hal.call("pl061_write", gpio, CS, CS)).toBe(OK);
      return codeOf(Array.from(hal.readBytes(hal.scratch + RX_OFFSET, 3)));
    };
    expect(read(1)).toBe(512); // 1024 x 1650 / 3300
    expect(read(3)).toBe(310); // 1024 x 1000 / 3300 = 310.3
    expect(adc.conversions).toHaveLength(2);

    // The timer region has no register block: the board maps it without a map.
    expect(board.region("timer0").index).toBeUndefined();
    expect(board.model("timer0", TickTimer).tickHz).toBe(1_000_000);
  });

  it("refuses a misspelt option with its JSON path", () => {
    const text = ADC_BOARD.replace('"vrefMillivolts"', '"vrefMilivolts"');
    const build = (): unknown => buildBoard(parseBoardFile(text, "adc-board.json"));
    expect(build).toThrow(BoardFileError);
    expect(build).toThrow('adc-board.json: regions[1].device.adc.vrefMilivolts: unknown key "vrefMilivolts"');
  });
});
