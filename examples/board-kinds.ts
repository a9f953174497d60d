// User-written board device kinds (docs/models.md, docs/scenarios.md "Adding a device kind").
// Importing this module registers them; board files may then name them.
//
// "pl022-mcp3008": a PL022 SSP with the MCP3008-style ADC of examples/spi-adc.ts on its bus, the
// ADC's chip select on an output pin of a PL061. The built-in "pl022" kind knows one kind of
// slave (spi-nor), so a board with another SPI chip registers a kind for the whole SSP:
//
//   { "name": "ssp0", "base": "0x101f4000", "size": "0x1000", "block": "pl022",
//     "device": { "kind": "pl022-mcp3008", "sspclkHz": 24000000,
//                 "adc": { "name": "adc0", "vrefMillivolts": 3300, "inputs": [0, 1650],
//                          "chipSelect": { "gpio": "gpio0", "pin": 2 } } } }
//
// "tick-timer": the timer of examples/tick-timer.ts, a block with no register map, so its region
// has "block": null:
//
//   { "name": "timer0", "base": "0x10200000", "size": "0x10", "block": null,
//     "device": { "kind": "tick-timer", "tickHz": 1000000 } }
import { BoardFileError, registerDeviceKind, type DeviceContext, type JsonObject } from "../harness/board-file.js";
import { Pl022Model } from "../harness/devices/pl022.js";
import { Pl061Model, PL061_PIN_COUNT } from "../harness/devices/pl061.js";
import { Mcp3008Model, MCP3008_CHANNELS } from "./spi-adc.js";
import { TickTimer, TICK_TIMER_SIZE } from "./tick-timer.js";

/** The kinds' names in board files. */
export const PL022_MCP3008_KIND = "pl022-mcp3008";
export const TICK_TIMER_KIND = "tick-timer";

/** Highest input a board file may give, millivolts (an input above VREF converts to full scale). */
const MAX_INPUT_MILLIVOLTS = 100_000;

function pl022WithAdc(c: DeviceContext): Pl022Model {
  const ssp = new Pl022Model({ clock: c.clock, sspclkHz: c.options.integer("sspclkHz", { min: 1 }) });

  const adcOptions = c.options.object("adc");
  const name = adcOptions.string("name", { default: "adc0" });
  const vrefMillivolts = adcOptions.integer("vrefMillivolts", { min: 1, max: MAX_INPUT_MILLIVOLTS, default: 3300 });
  const items = adcOptions.array("inputs");
  if (items.length > MCP3008_CHANNELS) adcOptions.fail("inputs", `${items.length} inputs: expected at most ${MCP3008_CHANNELS}, channel 0 first`);
  const inputs = items.map((item) => item.integer({ max: MAX_INPUT_MILLIVOLTS }));
  const adc = new Mcp3008Model({ vrefMillivolts, inputs });
  const index = ssp.attach(adc);
  c.addPart(name, adc, adcOptions.pathOf("name"));

  // Annotated: a call to its fail() (which returns never) then narrows types in the closure below.
  const wiring: JsonObject = adcOptions.object("chipSelect");
  const gpio = wiring.string("gpio", { what: "the name of a pl061 region" });
  const pin = wiring.integer("pin", { max: PL061_PIN_COUNT - 1 });
  const activeLow = wiring.boolean("activeLow", true);
  wiring.done();
  adcOptions.done();

  // The PL061 may come later in the file: wire the pin once every device exists.
  c.connect((board) => {
    const target = board.description.regions.find((r) => r.name === gpio);
    if (target === undefined) wiring.fail("gpio", `no region named ${gpio}: expected one of ${board.description.regions.map((r) => r.name).join(", ")}`);
    const device = board.device(target.name);
    if (!(device instanceof Pl061Model)) wiring.fail("gpio", `region ${gpio} holds a ${target.device.kind} device: expected a pl061, whose output pin drives the chip select`);
    const listener = ssp.chipSelectListener(index, { pin, activeLow });
    device.onOutputChange(listener);
    // The line starts at the pin's present level (an input pulled up: deselected).
    listener(pin, device.pinLevel(pin));
  });
  return ssp;
}

registerDeviceKind(PL022_MCP3008_KIND, pl022WithAdc, {
  block: "pl022",
  doc: "PL022 SSP model with an MCP3008-style ADC (examples/spi-adc.ts): sspclkHz (required), adc: name (default adc0), vrefMillivolts (default 3300), inputs (millivolts, channel 0 first), chipSelect { gpio, pin, activeLow }",
});

registerDeviceKind(TICK_TIMER_KIND, (c: DeviceContext) => {
  if (c.region.size > TICK_TIMER_SIZE) {
    throw new BoardFileError(c.fileName, `${c.region.path}.size`, `0x${c.region.size.toString(16)}: expected at most 0x${TICK_TIMER_SIZE.toString(16)}, the bytes the timer decodes`);
  }
  return new TickTimer({ clock: c.clock, tickHz: c.options.integer("tickHz", { min: 1 }) });
}, {
  block: null,
  doc: "a free-running timer with a compare interrupt and no register map (examples/tick-timer.ts): tickHz (required)",
});
