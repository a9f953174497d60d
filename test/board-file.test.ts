// Board description files (harness/board-file.ts, docs/scenarios.md): the default board's file
// against the addresses of QEMU's versatilepb machine, the connections it makes between models,
// the errors a bad file gets (file, JSON path, what was expected), and device kinds added from
// outside the file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BoardFileError, buildBoard, loadBoard, loadBoardFile, parseBoardFile, registerDeviceKind, deviceKinds,
  type Json,
} from "../harness/board-file.js";
import { registryOf } from "../harness/project.js";
import type { Device } from "../harness/bus.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { Pl022Model } from "../harness/devices/pl022.js";
import { Pl061Model } from "../harness/devices/pl061.js";
import { Pl080Model } from "../harness/devices/pl080.js";
import { LinearMemoryRam, Ram } from "../harness/devices/ram.js";
import { SpiNorFlash } from "../harness/devices/spi.js";

// ARM Versatile PB peripheral addresses, as hw/arm/versatilepb.c maps them.
const VERSATILE_PL080 = 0x10130000;
const VERSATILE_GPIO0 = 0x101e4000;
const VERSATILE_UART0 = 0x101f1000;
const VERSATILE_SSP = 0x101f4000;
/** The Versatile's reference clock, UARTCLK of its PL011s. */
const VERSATILE_UARTCLK = 24_000_000;

const versatile = loadBoardFile("versatile");
const versatileJson = (): { [key: string]: Json } => JSON.parse(JSON.stringify({
  name: versatile.name, doc: versatile.doc, accessNs: versatile.accessNs,
  regions: versatile.regions.map((r) => ({ name: r.name, base: `0x${r.base.toString(16)}`, size: `0x${r.size.toString(16)}`, block: r.block, device: r.device.options })),
})) as { [key: string]: Json };

const temp = mkdtempSync(join(tmpdir(), "wasm-hal-board-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The message parseBoardFile (or buildBoard, for device options) gives for a board JSON. */
function errorOf(json: Json | string, fileName = "bad.json"): string {
  const text = typeof json === "string" ? json : JSON.stringify(json);
  try {
    buildBoard(parseBoardFile(text, fileName));
  } catch (e) {
    expect(e).toBeInstanceOf(BoardFileError);
    return (e as Error).message;
  }
  throw new Error("the board file was accepted");
}

/** versatile.json with one change made by `edit`. */
function edited(edit: (board: { regions: { [key: string]: Json }[] } & { [key: string]: Json }) => void): Json {
  const board = versatileJson() as { regions: { [key: string]: Json }[] } & { [key: string]: Json };
  edit(board);
  return board as unknown as Json;
}

const regionIndex = (name: string): number => versatile.regions.findIndex((r) => r.name === name);
const deviceOf = (board: { regions: { [key: string]: Json }[] }, name: string): { [key: string]: Json } =>
  board.regions[regionIndex(name)]!.device as { [key: string]: Json };

describe("fixtures/boards/versatile.json", () => {
  it("places the PrimeCells where QEMU's versatilepb does, with the 24 MHz UART clock", () => {
    const at = (name: string) => versatile.regions.find((r) => r.name === name);
    expect(at("uart0")).toMatchObject({ base: VERSATILE_UART0, size: 0x1000, block: "pl011", device: { kind: "pl011" } });
    expect(at("uart0")!.device.options.uartclkHz).toBe(VERSATILE_UARTCLK);
    expect(at("ssp0")).toMatchObject({ base: VERSATILE_SSP, size: 0x1000, block: "pl022", device: { kind: "pl022" } });
    expect(at("gpio0")).toMatchObject({ base: VERSATILE_GPIO0, size: 0x1000, block: "pl061", device: { kind: "pl061" } });
    expect(at("dmac")).toMatchObject({ base: VERSATILE_PL080, size: 0x1000, block: "pl080", device: { kind: "pl080" } });
    expect(at("ram")).toMatchObject({ block: null, device: { kind: "ram" } });
    expect(at("linear")).toMatchObject({ block: null, device: { kind: "linear-memory" } });
    expect(versatile.accessNs).toBe(100);
  });

  it("builds a bus with the models, the module instantiated and an empty trace", () => {
    const board = loadBoard("versatile");
    expect(board.bus.regions.map((r) => r.name)).toEqual(["dmac", "irqc", "gpio0", "uart0", "ssp0", "ram", "linear"]);
    expect(board.model("uart0", Pl011Model).uartclkHz).toBe(VERSATILE_UARTCLK);
    expect(board.model("uart0", Pl011Model).fifoDepth).toBe(16);
    expect(board.model("ssp0", Pl022Model).sspclkHz).toBe(24_000_000);
    expect(board.model("gpio0", Pl061Model).pins).toBe(0x01); // pin 0 pulled up
    expect(board.model("dmac", Pl080Model)).toBeInstanceOf(Pl080Model);
    expect(board.model("ram", Ram).size).toBe(0x10000);
    expect(board.model("linear", LinearMemoryRam).size).toBe(board.hal.memory.buffer.byteLength);
    expect(board.part("flash0", SpiNorFlash).jedecId).toEqual([0xef, 0x40, 0x14]);
    expect(board.bus.trace.length).toBe(0);
    expect(board.bus.trace.calls).toHaveLength(0);
    expect(() => board.model("uart0", Pl022Model)).toThrow("region uart0 holds a pl011 device, not a Pl022Model");
    expect(() => board.base("uart1")).toThrow("no region named uart1");
  });

  it("tells the PL080 driver where linear memory is, and the DMA master reaches it there", () => {
    const board = loadBoard("versatile");
    expect(board.setupCalls).toEqual([{ name: "pl080_set_memory_address", args: [0x80000000], result: 0 }]);
    board.hal.writeBytes([0xa5, 0x5a], board.hal.scratch);
    expect(board.bus.masterRead(0x80000000 + board.hal.scratch, 2)).toBe(0x5aa5);
  });

  it("wires the flash's chip select to GPIO0 pin 0, active low: driving the pin low selects it", () => {
    const board = loadBoard("versatile");
    const ssp = board.model("ssp0", Pl022Model);
    expect(board.chipSelectOf("flash0")).toEqual({ gpio: "gpio0", pin: 0, activeLow: true, ssp: "ssp0", index: 0 });
    expect(ssp.isSelected(0)).toBe(false); // pulled up
    // PL061: DIR at 0x400, DATA of pin 0 at offset 1 << 2 (TRM 3.3.1, address-masked).
    board.bus.write(VERSATILE_GPIO0 + 0x400, 0x01, 4);
    board.bus.write(VERSATILE_GPIO0 + 0x004, 0x00, 4);
    expect(ssp.isSelected(0)).toBe(true);
    board.bus.write(VERSATILE_GPIO0 + 0x004, 0x01, 4);
    expect(ssp.isSelected(0)).toBe(false);
  });

  it("connects UART0's TX requests to DMAC line 0: its request moves a byte from RAM to DR and out on TXD", () => {
    const board = loadBoard("versatile");
    const uart = board.model("uart0", Pl011Model);
    // Enable the UART with TX DMA (CR 0x030: UARTEN | TXE; DMACR 0x048: TXDMAE), straight on the bus.
    board.bus.write(VERSATILE_UART0 + 0x024, 13, 4);
    board.bus.write(VERSATILE_UART0 + 0x02c, 0x70, 4);
    board.bus.write(VERSATILE_UART0 + 0x030, 0x101, 4);
    board.bus.write(VERSATILE_UART0 + 0x048, 0x02, 4);
    expect(uart.dmaRequests("tx")).not.toBe(0);
    board.model("ram", Ram).bytes[0] = 0x41;
    // PL080: enable (0x030), channel 0 from ram to DR, one byte, memory to peripheral on line 0.
    board.bus.write(VERSATILE_PL080 + 0x030, 1, 4);
    board.bus.write(VERSATILE_PL080 + 0x100, 0x20000000, 4);
    board.bus.write(VERSATILE_PL080 + 0x104, VERSATILE_UART0, 4);
    board.bus.write(VERSATILE_PL080 + 0x10c, (1 << 26) | 1, 4); // SI, byte widths, one transfer
    board.bus.write(VERSATILE_PL080 + 0x110, (0b001 << 11) | (0 << 6) | 1, 4); // M2P, DestPeripheral 0, E
    board.bus.settle(1_000); // the DMAC moves the byte
    expect(board.model("dmac", Pl080Model).enabledChannels).toBe(0);
    board.bus.settle(1_000_000); // one frame at 115200 baud is 87 us
    uart.update();
    expect(uart.wire).toEqual([0x41]);
  });
});

describe("bad board files are refused with the file, the JSON path and what was expected", () => {
  it.each<[string, () => Json | string, string[]]>([
    ["bad hex in a base", () => edited((b) => { b.regions[2]!.base = "0x101g1000"; }), ["bad.json: regions[2].base:", 'bad hex "0x101g1000"', "expected 0x followed by hex digits"]],
    ["an overlap", () => edited((b) => { b.regions[3]!.base = "0x101f1800"; }), ["regions[3].base:", "overlaps regions[2] uart0 (0x101f1000..0x101f1fff)", "expected disjoint regions"]],
    ["an unknown device kind", () => edited((b) => { deviceOf(b, "uart0").kind = "pl999"; }), ["regions[2].device.kind:", 'unknown device kind "pl999"', "expected one of", "pl011"]],
    ["an unknown block", () => edited((b) => { b.regions[2]!.block = "pl010"; }), ["regions[2].block:", 'unknown register block "pl010"', "(did you mean pl011?)"]],
    ["a kind in the wrong block", () => edited((b) => { b.regions[2]!.block = "pl022"; }), ["regions[2].block:", 'a pl011 device needs block "pl011", not "pl022"']],
    ["an unaligned base", () => edited((b) => { b.regions[4]!.base = "0x20000002"; }), ["regions[4].base:", "0x20000002 is not word-aligned"]],
    ["a name used twice", () => edited((b) => { b.regions[3]!.name = "uart0"; }), ["regions[3].name:", "region name uart0 is used twice (also regions[2])"]],
    ["a size larger than the block", () => edited((b) => { b.regions[2]!.size = "0x2000"; }), ["regions[2].size:", "exceeds the pl011 block (0x1000)"]],
    ["a misspelt option", () => edited((b) => { deviceOf(b, "uart0").uartclkhz = 1; }), ["regions[2].device.uartclkhz:", 'unknown key "uartclkhz"', "expected one of", "uartclkHz"]],
    ["a missing clock", () => edited((b) => { delete deviceOf(b, "uart0").uartclkHz; }), ["regions[2].device.uartclkHz:", "missing: expected an integer"]],
    ["a revision the model lacks", () => edited((b) => { deviceOf(b, "uart0").revision = "r1p1"; }), ["regions[2].device.revision:", '"r1p1" is not allowed: expected one of r1p4, r1p5']],
    ["a DMA request from memory", () => edited((b) => { ((deviceOf(b, "dmac").requests as Json[])[1] as { [key: string]: Json }).region = "ram"; }), ["regions[0].device.requests[1].region:", "region ram holds a ram device, which has no DMA request lines"]],
    ["a request line used twice", () => edited((b) => { ((deviceOf(b, "dmac").requests as Json[])[2] as { [key: string]: Json }).line = 0; }), ["regions[0].device.requests[2].line:", "request line 0 is already connected by regions[0].device.requests[0]"]],
    ["a chip select on a UART", () => edited((b) => { (((deviceOf(b, "ssp0").slaves as Json[])[0] as { [key: string]: Json }).chipSelect as { [key: string]: Json }).gpio = "uart0"; }), ["regions[3].device.slaves[0].chipSelect.gpio:", "region uart0 holds a pl011 device: expected a pl061"]],
    ["a chip select on a missing region", () => edited((b) => { (((deviceOf(b, "ssp0").slaves as Json[])[0] as { [key: string]: Json }).chipSelect as { [key: string]: Json }).gpio = "gpio9"; }), ["regions[3].device.slaves[0].chipSelect.gpio:", "no region named gpio9"]],
    ["a two-byte JEDEC ID", () => edited((b) => { ((deviceOf(b, "ssp0").slaves as Json[])[0] as { [key: string]: Json }).jedecId = ["0xef", "0x40"]; }), ["regions[3].device.slaves[0].jedecId:", "2 bytes: expected three"]],
    ["linear memory larger than the module's", () => edited((b) => { b.regions[5]!.size = "0x100000"; }), ["regions[5].size:", "0x100000 is larger than the module's linear memory (0x10000 bytes)"]],
    ["linearMemory naming RAM", () => edited((b) => { deviceOf(b, "dmac").linearMemory = "ram"; }), ["regions[0].device.linearMemory:", "region ram holds a ram device: expected a linear-memory region"]],
    ["a region without a device", () => edited((b) => { delete b.regions[1]!.device; }), ["regions[1].device:", "missing: expected an object"]],
    ["no regions", () => ({ name: "empty", regions: [] }), ["bad.json: regions:", "empty: expected at least one entry"]],
    ["an unknown top-level key", () => edited((b) => { b.region = []; }), ["bad.json: region:", 'unknown key "region"']],
    ["text that is not JSON", () => "{ \"regions\": [", ["bad.json: line 1, column 15: invalid JSON (Unexpected end of JSON input)"]],
    ["text after the JSON, placed by line and column", () => "{\n \"regions\": []\n} x", ["bad.json: line 3, column 3: invalid JSON", 'near "} x"']],
  ])("%s", (_what, json, words) => {
    const message = errorOf(json());
    for (const w of words) expect(message).toContain(w);
  });

  it("names a board file that does not exist", () => {
    expect(() => loadBoardFile(join(temp, "nowhere.json"))).toThrow(/nowhere\.json: no such board file/);
  });

  it("reads a board from a path, names and all", () => {
    const path = join(temp, "moved.json");
    writeFileSync(path, JSON.stringify(edited((b) => { b.name = "moved"; b.regions[2]!.base = "0x10009000"; })));
    const board = loadBoard(path);
    expect(board.description.name).toBe("moved");
    expect(board.base("uart0")).toBe(0x10009000);
    expect(board.description.fileName).toBe(path);
  });
});

describe("registerDeviceKind", () => {
  /** A device that answers every read with one value and counts writes. */
  class Constant implements Device {
    writes = 0;
    constructor(readonly value: number) {}
    read(): number { return this.value; }
    write(): void { this.writes++; }
  }

  registerDeviceKind("test-constant", (c) => {
    const device = new Constant(c.options.integer("value"));
    const peer = c.options.optionalString("peer");
    c.connect((board) => {
      if (peer !== undefined && board.regionDescription(peer) === undefined) c.options.fail("peer", "no such region");
    });
    c.addPart(`${c.region.name}-constant`, device, c.options.pathOf("value"));
    return device;
  }, { doc: "a test device that reads as a constant" });

  const withConstant = (device: { [key: string]: Json }): Json => edited((b) => {
    b.regions.push({ name: "fixed", base: "0x30000000", size: "0x100", block: null, device });
  });

  it("lets another module add a kind that board files then name", () => {
    expect(deviceKinds().map((k) => k.kind)).toEqual(expect.arrayContaining(["linear-memory", "pl011", "pl022", "pl061", "pl080", "ram", "test-constant"]));
    const board = buildBoard(parseBoardFile(JSON.stringify(withConstant({ kind: "test-constant", value: "0x1234", peer: "uart0" })), "custom.json"));
    expect(board.bus.read(0x30000000, 4)).toBe(0x1234);
    expect(board.part("fixed-constant", Constant).value).toBe(0x1234);
  });

  it("refuses the options the kind did not read, and its own errors carry the path", () => {
    expect(errorOf(withConstant({ kind: "test-constant", value: 1, colour: "red" }))).toContain("regions[7].device.colour: unknown key \"colour\"");
    expect(errorOf(withConstant({ kind: "test-constant", value: "0x1g" }))).toContain('regions[7].device.value: bad hex "0x1g"');
  });

  it("refuses a kind registered twice or with a bad name", () => {
    expect(() => registerDeviceKind("test-constant", () => new Constant(0))).toThrow('device kind "test-constant" is already registered');
    expect(() => registerDeviceKind("Bad Kind", () => new Constant(0))).toThrow("expected lower-case letters");
  });

  it("checks a kind's block against the registry of the board that uses it", () => {
    registerDeviceKind("test-unknown-block", () => new Constant(0), { block: "pl999" });
    const text = JSON.stringify({ regions: [{ name: "x", base: "0x1000", size: "0x1000", block: "pl999", device: { kind: "test-unknown-block" } }] });
    expect(() => parseBoardFile(text, "odd.json")).toThrow('odd.json: regions[0].block: unknown register block "pl999": expected one of dma, gpio, irqc, pl011, pl022, pl061, pl080, rcc, spi, usart, or null for memory');
    const pl999 = { block: "pl999", size: "0x1000", registers: [{ name: "ID", offset: "0x0", bits: 8, read: "value", write: "ignored", reset: "0x99" }] };
    const board = buildBoard(parseBoardFile(text, "odd.json", registryOf([pl999])));
    expect(board.region("x").index?.block.block).toBe("pl999");
  });
});

describe("Board.close", () => {
  it("closes every device that holds something outside the process, once, and leaves the others", () => {
    let closed = 0;
    registerDeviceKind("closing-test", () => ({ read: () => 0, write: () => {}, close: () => { closed++; } }));
    const description = parseBoardFile(JSON.stringify({
      name: "closing", regions: [
        { name: "w0", base: "0x10000000", size: "0x1000", block: null, device: { kind: "closing-test" } },
        { name: "ram", base: "0x20000000", size: "0x100", block: null, device: { kind: "ram" } },
      ],
    }), "closing.json");
    const board = buildBoard(description);
    board.close();
    expect(closed).toBe(1);
  });
});
