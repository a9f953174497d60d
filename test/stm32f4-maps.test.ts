// The STM32F4 register maps (registers/stm32f4/): ST's unmodified STM32F405.svd through the
// project's own path, `wasm-hal svd` with an overlay that adds what RM0090 states and the SVD
// lacks. The committed maps must be exactly what the import gives (one source: the SVD and the
// overlay), and the facts the overlay adds must hold, down to the rules the lint then checks.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../harness/project.js";
import { formatRegisterMap, importSvd } from "../harness/svd.js";
import { parseRegisterMap } from "../harness/regmap-json.js";
import { Bus } from "../harness/bus.js";
import { RegisterFile } from "../harness/devices/register-file.js";
import { lintTrace } from "../harness/lint.js";
import type { RegisterBlock } from "../harness/regmap.js";

const root = packageRoot();
const dir = join(root, "registers", "stm32f4");
const overlayFile = join(dir, "stm32f405.overlay.json");
const imported = importSvd(readFileSync(join(root, "fixtures", "svd", "STM32F405.svd"), "utf8"), "STM32F405.svd", {
  overlay: JSON.parse(readFileSync(overlayFile, "utf8")) as unknown,
  overlayFile: "stm32f405.overlay.json",
  peripherals: ["RCC", "GPIOA", "USART1", "SPI1", "DMA2"],
});
const BLOCKS = ["dma", "gpio", "rcc", "spi", "usart"];
const map = (name: string): RegisterBlock => parseRegisterMap(JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")), `${name}.json`);
const reg = (block: RegisterBlock, name: string) => block.registers.find((r) => r.name === name)!;
const field = (block: RegisterBlock, register: string, name: string) => reg(block, register).fields.find((f) => f.name === name)!;

describe("registers/stm32f4", () => {
  it("holds exactly what the SVD and the overlay give (re-import to refresh: see the overlay's $comment)", () => {
    expect(imported.blocks.map((b) => b.block).sort()).toEqual(BLOCKS);
    for (const b of imported.blocks) expect(readFileSync(join(dir, `${b.block}.json`), "utf8"), `${b.block}.json`).toBe(formatRegisterMap(b));
  });

  it("USART: SR resets to 0xC0; CTS, LBD, TC, RXNE clear by writing 0; DR reads consume; half-word and word accesses (RM0090 30.6)", () => {
    const usart = map("usart");
    expect(reg(usart, "SR").reset).toBe(0xc0);
    expect(["CTS", "LBD", "TC", "RXNE"].map((f) => field(usart, "SR", f).write)).toEqual(["w0c", "w0c", "w0c", "w0c"]);
    expect(["TXE", "IDLE", "ORE", "NF", "FE", "PE"].map((f) => field(usart, "SR", f).write)).toEqual(Array(6).fill("ignored"));
    expect(reg(usart, "DR").read).toBe("consumes");
    expect(reg(usart, "DR").reset).toBeNull();
    expect(reg(usart, "BRR").widths).toEqual([2, 4]);
    // BRR as the SVD has it: DIV_Mantissa 15:4, DIV_Fraction 3:0, at 0x08.
    expect([reg(usart, "BRR").offset, field(usart, "BRR", "DIV_Mantissa").msb, field(usart, "BRR", "DIV_Mantissa").lsb]).toEqual([0x08, 15, 4]);
  });

  it("DMA: LIFCR and HIFCR are write-only write-1-to-clear; word accesses only (RM0090 10.2, 10.5.3)", () => {
    const dma = map("dma");
    expect([reg(dma, "LIFCR").read, reg(dma, "LIFCR").write, reg(dma, "HIFCR").read, reg(dma, "HIFCR").write]).toEqual(["undefined", "w1c", "undefined", "w1c"]);
    expect(new Set(dma.registers.map((r) => r.widths.join(",")))).toEqual(new Set(["4"]));
    // Stream 7's control register at 0x10 + 0x18 x 7 = 0xB8; its FIFO control resets to 0x21.
    expect([reg(dma, "S7CR").offset, reg(dma, "S0FCR").reset]).toEqual([0xb8, 0x21]);
  });

  it("SPI: I2SPR resets to 2 (the SVD's 00000010 is binary), DR reads consume, CRCERR clears by writing 0 (RM0090 28.5)", () => {
    const spi = map("spi");
    expect(reg(spi, "I2SPR").reset).toBe(0x0002);
    expect(reg(spi, "DR").read).toBe("consumes");
    expect(field(spi, "SR", "CRCERR").write).toBe("w0c");
  });

  it("GPIO: BSRR is write-only; one map for every port, with GPIOA's reset values (RM0090 8.4)", () => {
    const gpio = map("gpio");
    expect(reg(gpio, "BSRR").read).toBe("undefined");
    expect([reg(gpio, "MODER").reset, reg(gpio, "PUPDR").reset]).toEqual([0xa8000000, 0x64000000]);
    expect(imported.peripherals.find((p) => p.name === "GPIOA")).toMatchObject({ base: 0x40020000, block: "gpio" });
  });
});

describe("the lint with the STM32F4 maps", () => {
  const lintOf = (block: RegisterBlock, base: number, run: (bus: Bus, device: RegisterFile) => void): string[] => {
    const bus = new Bus();
    const device = new RegisterFile();
    bus.map({ name: block.block, base, size: block.size, device, map: block });
    run(bus, device);
    return lintTrace(bus.trace, bus.regions).filter((f) => f.severity === "error").map((f) => `${f.rule}: ${f.message}`);
  };
  const DMA2 = 0x40026400;
  const SPI1 = 0x40013000;
  const USART1 = 0x40011000;

  it("finds a DMA stream's address written while the stream is enabled", () => {
    expect(lintOf(map("dma"), DMA2, (bus) => {
      bus.write(DMA2 + 0x10, 1, 4); // S0CR.EN = 1
      bus.write(DMA2 + 0x18, 0x40011004, 4); // S0PAR while enabled
    })).toEqual(["write-while-enabled: W32 dma+0x018 S0PAR 0x40011004: S0PAR written while S0CR.EN = 1 (last seen 0x1); write it only while S0CR.EN = 0 (dma RM0090 10.5.5-10.5.9)"]);
    expect(lintOf(map("dma"), DMA2, (bus) => {
      bus.write(DMA2 + 0x18, 0x40011004, 4);
      bus.write(DMA2 + 0x10, 1, 4);
    })).toEqual([]);
  });

  it("finds SPI's baud rate changed while SPE is set, and takes it set with SPE in one write", () => {
    expect(lintOf(map("spi"), SPI1, (bus) => {
      bus.write(SPI1, (3 << 3) | (1 << 2) | (1 << 6), 4); // BR = 3, MSTR and SPE together: allowed
      bus.write(SPI1, (5 << 3) | (1 << 2) | (1 << 6), 4); // BR = 5 while SPE = 1
    })).toEqual([expect.stringMatching(/^write-while-enabled: W32 spi\+0x000 CR1 0x0000006c: CR1\.BR\/MSTR\/CPOL\/CPHA\/DFF\/CRCEN\/LSBFIRST written while CR1\.SPE = 1/)]);
  });

  it("finds a USART DR read no SR read said had data", () => {
    expect(lintOf(map("usart"), USART1, (bus) => { bus.read(USART1 + 0x04, 4); })).toEqual([expect.stringMatching(/^unguarded-consuming-read: R32 usart\+0x004 DR/)]);
    expect(lintOf(map("usart"), USART1, (bus, device) => {
      device.values.set(0x00, 0xe0); // TXE, TC, RXNE
      bus.read(USART1, 4);
      bus.read(USART1 + 0x04, 4);
    })).toEqual([]);
  });
});
