// The CMSIS-SVD importer against ST's own file for the STM32F405 (fixtures/svd/, unmodified) and
// small hand-written SVDs for what that file does not use (dim arrays, clusters, side effects).
// Expected values are read from the XML by hand or counted with a regex scan of its text, never
// taken from the importer.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { type FieldJson, type RegisterJson, type RegisterMapJson, type SvdImport, SvdError, formatRegisterMap, importSvd, parseOverlay, readSvd } from "../harness/svd.js";
import { parseRegisterMap } from "../harness/regmap-json.js";
import { svdCommand } from "../harness/commands/svd.js";
import { type CommandContext, UsageError } from "../harness/commands/common.js";
import { loadProjectFile } from "../harness/project.js";

const SVD_FILE = fileURLToPath(new URL("../fixtures/svd/STM32F405.svd", import.meta.url));
const svdText = readFileSync(SVD_FILE, "utf8");
// The XML is parsed once; each import below (with an overlay, a selection) reuses it.
const stm32Svd = readSvd(svdText, "STM32F405.svd");
const stm32 = stm32Svd.import();

const temp = mkdtempSync(join(tmpdir(), "wasm-hal-svd-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function blockOf(result: SvdImport, peripheral: string): RegisterMapJson {
  const p = result.peripherals.find((x) => x.name === peripheral);
  if (p === undefined) throw new Error(`no peripheral ${peripheral}`);
  return result.blocks.find((b) => b.block === p.block)!;
}

function reg(block: RegisterMapJson, name: string): RegisterJson {
  const r = block.registers.find((x) => x.name === name);
  if (r === undefined) throw new Error(`no register ${name} in ${block.block}`);
  return r;
}

function field(block: RegisterMapJson, register: string, name: string): FieldJson {
  const f = reg(block, register).fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no field ${register}.${name} in ${block.block}`);
  return f;
}

/** The SvdError a function throws. */
function svdError(fn: () => unknown): SvdError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SvdError) return e;
    throw e;
  }
  throw new Error("expected an SvdError, nothing was thrown");
}

// ---------------------------------------------------------------------------------------------
// What the file holds, counted from its text without the importer

interface Counted {
  name: string;
  derivedFrom: string | null;
  registers: number;
  fields: number;
  alternates: number;
}

/**
 * Each <peripheral> section of the raw text: its name (the first <name> in it), derivedFrom, and
 * its <register> elements. A register with <alternateRegister> is another view of a register at
 * the same offset: the register-map format holds one register per offset, so those are counted
 * apart. A derived peripheral without registers of its own counts its source's.
 */
function countByScan(text: string): Counted[] {
  const sections = [...text.matchAll(/<peripheral(?:\s+derivedFrom="([^"]*)")?\s*>([\s\S]*?)<\/peripheral>/g)];
  const own = sections.map((m) => {
    const body = m[2]!;
    const registers = [...body.matchAll(/<register>([\s\S]*?)<\/register>/g)].map((r) => r[1]!);
    const kept = registers.filter((r) => !r.includes("<alternateRegister>"));
    return {
      name: /<name>\s*([^<]*?)\s*<\/name>/.exec(body)![1]!,
      derivedFrom: m[1] ?? null,
      registers: kept.length,
      fields: kept.reduce((n, r) => n + (r.match(/<field>/g) ?? []).length, 0),
      alternates: registers.length - kept.length,
    };
  });
  const byName = new Map(own.map((c) => [c.name, c]));
  return own.map((c) => {
    if (c.derivedFrom === null || c.registers > 0) return c;
    const source = byName.get(c.derivedFrom)!;
    expect(source.derivedFrom, `${c.name}: a chain of derivedFrom`).toBeNull();
    return { ...c, registers: source.registers, fields: source.fields, alternates: source.alternates };
  });
}

const counted = countByScan(svdText);

describe("STM32F405.svd (ST's STM32F4 pack v2.0, unmodified)", () => {

  it("imports every peripheral, in the order of the file", () => {
    expect(counted).toHaveLength(76);
    expect(stm32.peripherals.map((p) => p.name)).toEqual(counted.map((c) => c.name));
    expect(stm32.device).toMatchObject({ name: "STM32F405", version: "1.7", width: 32 });
  });

  it("gives every peripheral the registers and fields of its <peripheral> section", () => {
    const measured = stm32.peripherals.map((p) => {
      const b = blockOf(stm32, p.name);
      return { name: p.name, derivedFrom: p.derivedFrom, registers: b.registers.length, fields: b.registers.reduce((n, r) => n + r.fields.length, 0) };
    });
    expect(measured).toEqual(counted.map(({ alternates: _alternates, ...c }) => c));
  });

  it("leaves out the alternate views (TIMx CCMR*_Input, the OTG host/device twins) and says so", () => {
    for (const c of counted.filter((x) => x.alternates > 0)) {
      const notes = blockOf(stm32, c.name).notes;
      expect(notes.match(/alternate of/g), c.name).toHaveLength(c.alternates);
    }
    expect(blockOf(stm32, "TIM2").notes).toContain("CCMR1_Input (0x018, alternate of CCMR1_Output)");
    expect(reg(blockOf(stm32, "TIM2"), "CCMR1_Output").offset).toBe("0x018");
  });

  it("passes the project's register-map checker (harness/regmap-json.ts), written as files", () => {
    for (const b of stm32.blocks) {
      const text = formatRegisterMap(b);
      expect(text.endsWith("}\n")).toBe(true);
      const back = JSON.parse(text) as unknown;
      expect(back).toEqual(b);
      const parsed = parseRegisterMap(back, `${b.block}.json`);
      expect(parsed.registers).toHaveLength(b.registers.length);
    }
  });

  it("names blocks after their peripheral, lower case, and shares them between derived peripherals", () => {
    expect(stm32.blocks).toHaveLength(counted.filter((c) => c.derivedFrom === null).length);
    expect(new Set(stm32.blocks.map((b) => b.block)).size).toBe(stm32.blocks.length);
    for (const b of stm32.blocks) expect(b.block).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(stm32.blocks.map((b) => b.block)).toContain("otg_fs_global");
  });
});

describe("derivedFrom in STM32F405.svd", () => {
  const entry = (name: string) => stm32.peripherals.find((p) => p.name === name)!;

  it("GPIOC..GPIOH, GPIOJ and GPIOK are GPIOI's registers at their own base addresses", () => {
    const bases: Record<string, number> = { GPIOC: 0x40020800, GPIOD: 0x40020c00, GPIOE: 0x40021000, GPIOF: 0x40021400, GPIOG: 0x40021800, GPIOH: 0x40021c00, GPIOJ: 0x40022400, GPIOK: 0x40022800 };
    for (const [name, base] of Object.entries(bases)) {
      expect(entry(name)).toMatchObject({ base, block: "gpioi", derivedFrom: "GPIOI", size: 0x400 });
    }
    // GPIOD's base is written 0X40020C00 in the file: an upper-case X is still hex.
    expect(entry("GPIOI")).toMatchObject({ base: 0x40022000, block: "gpioi", derivedFrom: null });
  });

  it("GPIOA and GPIOB are described in full (their reset values differ), not derived", () => {
    expect(entry("GPIOA")).toMatchObject({ base: 0x40020000, block: "gpioa", derivedFrom: null });
    expect(entry("GPIOB")).toMatchObject({ base: 0x40020400, block: "gpiob", derivedFrom: null });
    expect(reg(blockOf(stm32, "GPIOB"), "MODER").reset).toBe("0x00000280");
    expect(reg(blockOf(stm32, "GPIOI"), "MODER").reset).toBe("0x00000000");
  });

  it("DMA1 is DMA2's registers at 0x40026000; SPI2 and SPI3 are SPI1's", () => {
    expect(entry("DMA1")).toMatchObject({ base: 0x40026000, block: "dma2", derivedFrom: "DMA2" });
    expect(entry("DMA2")).toMatchObject({ base: 0x40026400, block: "dma2", derivedFrom: null });
    expect(entry("SPI2")).toMatchObject({ base: 0x40003800, block: "spi1", derivedFrom: "SPI1" });
    expect(entry("SPI3")).toMatchObject({ base: 0x40003c00, block: "spi1", derivedFrom: "SPI1" });
    expect(entry("USART1")).toMatchObject({ base: 0x40011000, block: "usart6", derivedFrom: "USART6" });
    expect(blockOf(stm32, "DMA1").notes).toContain("DMA1 at 0x40026000");
  });
});

describe("maps of STM32F405.svd against the XML", () => {
  it("USART1 (from USART6): SR, DR, BRR, GTPR", () => {
    const b = blockOf(stm32, "USART1");
    expect(b.block).toBe("usart6");
    expect(b.size).toBe("0x400");
    expect(b.registers.map((r) => `${r.name}@${r.offset}`)).toEqual(["SR@0x000", "DR@0x004", "BRR@0x008", "CR1@0x00C", "CR2@0x010", "CR3@0x014", "GTPR@0x018"]);
    // SR has no <access>; its fields mix read-write and read-only, so the register is read-write.
    expect(reg(b, "SR")).toMatchObject({ bits: 32, read: "value", write: "value", reset: "0x00C00000", widths: [4], doc: "Status register" });
    expect(field(b, "SR", "TXE")).toEqual({ name: "TXE", bits: "7", write: "ignored", doc: "Transmit data register empty" });
    expect(field(b, "SR", "TC")).toEqual({ name: "TC", bits: "6", doc: "Transmission complete" });
    expect(field(b, "SR", "PE")).toMatchObject({ bits: "0", write: "ignored" });
    expect(field(b, "DR", "DR").bits).toBe("8:0");
    expect(field(b, "BRR", "DIV_Mantissa").bits).toBe("15:4");
    expect(field(b, "BRR", "DIV_Fraction").bits).toBe("3:0");
    expect(reg(b, "GTPR").fields.map((f) => `${f.name} ${f.bits}`)).toEqual(["GT 15:8", "PSC 7:0"]);
    expect(reg(b, "CR1").fields[0]).toMatchObject({ name: "OVER8", bits: "15", doc: "Oversampling mode" });
  });

  it("SPI1: SR flags, the read-only CRC registers, I2SPR's reset as the file writes it", () => {
    const b = blockOf(stm32, "SPI1");
    expect(reg(b, "SR")).toMatchObject({ offset: "0x008", reset: "0x00000002", read: "value", write: "value" });
    expect(field(b, "SR", "TIFRFE")).toMatchObject({ bits: "8", write: "ignored" });
    expect(field(b, "SR", "CRCERR")).not.toHaveProperty("write");
    expect(field(b, "SR", "RXNE")).toMatchObject({ bits: "0", write: "ignored" });
    expect(reg(b, "RXCRCR")).toMatchObject({ offset: "0x014", read: "value", write: "ignored" });
    expect(field(b, "CR1", "BR").bits).toBe("5:3");
    expect(reg(b, "CRCPR").reset).toBe("0x00000007");
    // <resetValue>00000010</resetValue>: without a prefix an SVD number is decimal (RM0090 means 0b10).
    expect(reg(b, "I2SPR")).toMatchObject({ offset: "0x020", reset: "0x0000000A" });
  });

  it("GPIOA: MODER's reset as the file has it, IDR read-only, BSRR write-only", () => {
    const b = blockOf(stm32, "GPIOA");
    expect(reg(b, "MODER")).toMatchObject({ offset: "0x000", reset: "0xA8000000", read: "value", write: "value" });
    expect(field(b, "MODER", "MODER15").bits).toBe("31:30");
    expect(field(b, "MODER", "MODER0").bits).toBe("1:0");
    expect(reg(b, "OSPEEDR").reset).toBe("0x00000000"); // RM0090 says 0x0C000000: an overlay's job
    expect(reg(b, "PUPDR").reset).toBe("0x64000000");
    expect(reg(b, "IDR")).toMatchObject({ offset: "0x010", read: "value", write: "ignored" });
    expect(reg(b, "BSRR")).toMatchObject({ offset: "0x018", read: "undefined", write: "value" });
    expect(reg(b, "BSRR").fields).toHaveLength(32);
    expect(field(b, "BSRR", "BR15").bits).toBe("31");
    expect(field(b, "LCKR", "LCKK").bits).toBe("16");
    expect(field(b, "AFRH", "AFRH15").bits).toBe("31:28");
  });

  it("DMA2: status and flag-clear registers, stream 0's registers", () => {
    const b = blockOf(stm32, "DMA2");
    expect(reg(b, "LISR")).toMatchObject({ offset: "0x000", read: "value", write: "ignored", reset: "0x00000000" });
    expect(field(b, "LISR", "TCIF3").bits).toBe("27");
    // The SVD marks LIFCR read-write; RM0090 says write-only, write 1 to clear (see the overlay test).
    expect(reg(b, "LIFCR")).toMatchObject({ offset: "0x008", read: "value", write: "value" });
    expect(field(b, "HIFCR", "CFEIF4").bits).toBe("0");
    expect(field(b, "S0CR", "CHSEL").bits).toBe("27:25");
    expect(reg(b, "S0FCR")).toMatchObject({ offset: "0x024", reset: "0x00000021" });
    expect(field(b, "S0FCR", "FS")).toMatchObject({ bits: "5:3", write: "ignored" });
    expect(reg(b, "S7FCR").offset).toBe("0x0CC");
    // The file gives S1CR..S7CR a bit-20 ACK field that S0CR lacks (RM0090: reserved).
    expect(reg(b, "S0CR").fields.map((f) => f.name)).not.toContain("ACK");
    expect(field(b, "S1CR", "ACK").bits).toBe("20");
  });

  it("RCC: CR, PLLCFGR, CIR's clear bits write-only, the enable registers", () => {
    const b = blockOf(stm32, "RCC");
    expect(b.registers).toHaveLength(23);
    expect(reg(b, "CR")).toMatchObject({ offset: "0x000", reset: "0x00000083", read: "value", write: "value" });
    expect(field(b, "CR", "HSICAL")).toMatchObject({ bits: "15:8", write: "ignored" });
    expect(field(b, "CR", "HSITRIM").bits).toBe("7:3");
    expect(reg(b, "PLLCFGR")).toMatchObject({ offset: "0x004", reset: "0x24003010" });
    expect(field(b, "CIR", "CSSC")).toMatchObject({ bits: "23", read: "undefined" });
    expect(field(b, "CIR", "CSSF")).toMatchObject({ bits: "7", write: "ignored" });
    expect(reg(b, "AHB1ENR")).toMatchObject({ offset: "0x030", reset: "0x00100000" });
    expect(field(b, "AHB1ENR", "GPIOAEN").bits).toBe("0");
    expect(field(b, "AHB1ENR", "DMA2EN").bits).toBe("22");
    expect(reg(b, "CSR").reset).toBe("0x0E000000");
    expect(reg(b, "PLLI2SCFGR")).toMatchObject({ offset: "0x084", reset: "0x20003000" });
  });
});

// ---------------------------------------------------------------------------------------------
// The overlay

/** docs/svd.md's example: what RM0090 says and the SVD does not. */
const ST_OVERLAY = {
  peripherals: {
    "USART*": {
      registers: {
        SR: {
          reset: "0x000000C0",
          fields: {
            TC: { write: "w0c", doc: "Transmission complete: cleared by writing 0 (rc_w0)" },
            RXNE: { write: "w0c" },
            "PE": { doc: "Parity error: cleared by reading SR, then DR" },
          },
        },
        DR: { read: "consumes", doc: "Data register: a read pops the received byte and ends the SR-then-DR sequence that clears PE, FE, NF, ORE and IDLE" },
      },
    },
    DMA2: {
      registers: {
        LIFCR: { read: "undefined", write: "w1c" },
        HIFCR: { read: "undefined", write: "w1c" },
      },
    },
    GPIOI: { block: "gpio", manual: "RM0090 Rev 21" },
  },
};

describe("the overlay", () => {
  const patched = stm32Svd.import({ overlay: ST_OVERLAY, overlayFile: "stm32f405.json" });

  it("changes exactly what it names: everything else equals the plain import", () => {
    const expected = structuredClone(stm32);
    const usart = blockOf(expected, "USART1");
    reg(usart, "SR").reset = "0x000000C0";
    Object.assign(field(usart, "SR", "TC"), { write: "w0c", doc: "Transmission complete: cleared by writing 0 (rc_w0)" });
    field(usart, "SR", "RXNE").write = "w0c";
    field(usart, "SR", "PE").doc = "Parity error: cleared by reading SR, then DR";
    Object.assign(reg(usart, "DR"), { read: "consumes", doc: ST_OVERLAY.peripherals["USART*"].registers.DR.doc });
    const dma = blockOf(expected, "DMA2");
    Object.assign(reg(dma, "LIFCR"), { read: "undefined", write: "w1c" });
    Object.assign(reg(dma, "HIFCR"), { read: "undefined", write: "w1c" });
    const gpio = blockOf(expected, "GPIOI");
    gpio.block = "gpio";
    gpio.manual = "RM0090 Rev 21";
    for (const p of expected.peripherals) if (p.block === "gpioi") p.block = "gpio";
    expect(patched).toEqual(expected);
  });

  it("keeps field keys in the format's order, so a patched map reads like an imported one", () => {
    expect(Object.keys(field(blockOf(patched, "USART2"), "SR", "TC"))).toEqual(["name", "bits", "write", "doc"]);
    for (const b of patched.blocks) parseRegisterMap(JSON.parse(formatRegisterMap(b)), b.block);
  });

  it("renames a shared block for every peripheral that uses it", () => {
    const users = patched.peripherals.filter((p) => p.block === "gpio").map((p) => p.name);
    expect(users).toEqual(["GPIOI", "GPIOH", "GPIOG", "GPIOF", "GPIOE", "GPIOD", "GPIOC", "GPIOJ", "GPIOK"]);
  });

  it("docs/svd.md's example overlay applies to ST's file as the page says", () => {
    const page = readFileSync(fileURLToPath(new URL("../docs/svd.md", import.meta.url)), "utf8");
    const example = /## The overlay[\s\S]*?```json\n([\s\S]*?)\n```/.exec(page)![1]!;
    const r = stm32Svd.import({ overlay: JSON.parse(example) as unknown, overlayFile: "docs/svd.md" });
    const usart = blockOf(r, "USART2");
    expect(reg(usart, "SR")).toMatchObject({ reset: "0x000000C0", read: "value", write: "value", section: "30.6.1" });
    for (const name of ["CTS", "LBD", "TC", "RXNE"]) expect(field(usart, "SR", name).write, name).toBe("w0c");
    for (const name of ["IDLE", "ORE", "NF", "FE", "PE"]) expect(field(usart, "SR", name)).toMatchObject({ write: "ignored", doc: expect.stringContaining("reading SR, then DR") });
    expect(reg(usart, "DR").read).toBe("consumes");
    expect(reg(blockOf(r, "DMA1"), "HIFCR")).toMatchObject({ read: "undefined", write: "w1c" });
    expect(reg(blockOf(r, "GPIOA"), "OSPEEDR").reset).toBe("0x0C000000");
    expect(reg(blockOf(r, "SPI3"), "I2SPR").reset).toBe("0x00000002");
    expect(blockOf(r, "GPIOD").block).toBe("gpio");
    for (const b of r.blocks) parseRegisterMap(JSON.parse(formatRegisterMap(b)), b.block);
  });

  it("applies a * pattern to every peripheral it matches", () => {
    const twoUsarts = svd(`
      <peripheral><name>USART1</name><baseAddress>0x40011000</baseAddress>${block(0x400)}<registers>${status}</registers></peripheral>
      <peripheral><name>USART2</name><baseAddress>0x40004400</baseAddress>${block(0x400)}<registers>${status}</registers></peripheral>
      <peripheral><name>UART4</name><baseAddress>0x40004C00</baseAddress>${block(0x400)}<registers>${status}</registers></peripheral>`);
    const r = importSvd(twoUsarts, "t.svd", { overlay: { peripherals: { "USART*": { registers: { SR: { fields: { TC: { write: "w0c" } } } } } } } });
    expect(r.blocks.map((b) => b.block)).toEqual(["usart1", "usart2", "uart4"]);
    expect(field(blockOf(r, "USART1"), "SR", "TC").write).toBe("w0c");
    expect(field(blockOf(r, "USART2"), "SR", "TC").write).toBe("w0c");
    expect(field(blockOf(r, "UART4"), "SR", "TC")).not.toHaveProperty("write");
    // In ST's file USART1..3 derive from USART6 and UART5 from UART4: "*ART*" reaches both maps.
    const st = stm32Svd.import({ overlay: { peripherals: { "*ART*": { registers: { SR: { fields: { "TC": { write: "w0c" } } } } } } } });
    expect(field(blockOf(st, "USART3"), "SR", "TC").write).toBe("w0c");
    expect(field(blockOf(st, "UART5"), "SR", "TC").write).toBe("w0c");
  });

  it("adds and deletes registers and fields, and can bring in an alternate view", () => {
    const r = stm32Svd.import({
      peripherals: ["UART4", "TIM2"],
      overlay: {
        peripherals: {
          UART4: {
            addRegisters: { GTPR: { offset: "0x18", reset: "0x0", doc: "Guard time and prescaler: IrDA needs PSC", fields: { PSC: { bits: "7:0", doc: "prescaler" } } } },
            registers: { CR3: { fields: { HDSEL: null, "IR*": null }, addFields: { SPARE: { bits: "31", doc: "an added bit" } } } },
          },
          TIM2: { registers: { CCMR1_Output: null } },
        },
      },
    });
    const uart = blockOf(r, "UART4");
    expect(reg(uart, "GTPR")).toMatchObject({ offset: "0x018", bits: 32, read: "value", write: "value", reset: "0x00000000", widths: [4] });
    expect(reg(uart, "GTPR").fields).toEqual([{ name: "PSC", bits: "7:0", doc: "prescaler" }]);
    expect(reg(uart, "CR3").fields.map((f) => f.name)).toEqual(["SPARE", "ONEBIT", "DMAT", "DMAR", "EIE"]);
    expect(reg(uart, "CR3").fields[0]).toEqual({ name: "SPARE", bits: "31", doc: "an added bit" });
    const tim = blockOf(r, "TIM2");
    expect(reg(tim, "CCMR1_Input").offset).toBe("0x018");
    expect(tim.notes).not.toContain("CCMR1_Input");
  });

  it("fails with the JSON path of an entry that names nothing, and says what exists", () => {
    const missingRegister = svdError(() => stm32Svd.import({ overlay: { peripherals: { USART1: { registers: { XR: { doc: "x" } } } } }, overlayFile: "fix.json" }));
    expect(missingRegister.fileName).toBe("fix.json");
    expect(missingRegister.path).toBe("peripherals.USART1.registers.XR");
    expect(missingRegister.message).toBe("fix.json: peripherals.USART1.registers.XR: USART1 has no register XR (registers: SR, DR, BRR, CR1, CR2, CR3, GTPR)");

    const missingField = svdError(() => stm32Svd.import({ overlay: { peripherals: { USART1: { registers: { SR: { fields: { TCX: { write: "w0c" } } } } } } }, overlayFile: "fix.json" }));
    expect(missingField.path).toBe("peripherals.USART1.registers.SR.fields.TCX");
    expect(missingField.problem).toContain("(fields: CTS, LBD, TXE, TC, RXNE, IDLE, ORE, NF, FE, PE)");

    const missingPeripheral = svdError(() => stm32Svd.import({ overlay: { peripherals: { USART9: {} } }, overlayFile: "fix.json" }));
    expect(missingPeripheral.path).toBe("peripherals.USART9");
    expect(missingPeripheral.problem).toMatch(/^names no peripheral of STM32F405\.svd \(peripherals: RNG, DCMI, /);
    expect(missingPeripheral.message.split("\n")).toHaveLength(1);
  });

  it("refuses misspelt keys and wrong kinds before touching the import", () => {
    expect(svdError(() => parseOverlay({ peripherals: { USART1: { registers: { SR: { writ: "w1c" } } } } }, "o.json")).message)
      .toBe("o.json: peripherals.USART1.registers.SR.writ: unknown key: expected one of read, write, widths, reset, doc, section, bits, offset, fields, addFields");
    expect(svdError(() => parseOverlay({ peripherals: { USART1: { registers: { SR: { fields: { TC: { write: "w0" } } } } } } }, "o.json")).path)
      .toBe("peripherals.USART1.registers.SR.fields.TC.write");
    expect(svdError(() => parseOverlay({ peripherals: { GPIOI: { block: "GPIO" } } }, "o.json")).path).toBe("peripherals.GPIOI.block");
    expect(svdError(() => parseOverlay([], "o.json")).message).toBe("o.json: (top): an array: expected an object");
  });

  it("refuses a rename that would give two different maps one name", () => {
    const e = svdError(() => stm32Svd.import({ overlay: { peripherals: { "GPIO*": { block: "gpio" } } }, overlayFile: "o.json" }));
    expect(e.path).toBe("peripherals.GPIO*.block");
    expect(e.problem).toMatch(/^block name gpio is already that of the map of GPIOI, GPIOH, .*, whose registers differ from GPIOB's$/);
    const taken = svdError(() => stm32Svd.import({ overlay: { peripherals: { GPIOB: { block: "gpioa" } } }, overlayFile: "o.json" }));
    expect(taken.message).toBe("o.json: peripherals.GPIOB.block: block name gpioa is already that of the map of GPIOA, whose registers differ from GPIOB's");
  });

  it("repairs what the import would refuse: a field outside its register", () => {
    const bad = svd(`<peripheral><name>UART0</name><baseAddress>0x1000</baseAddress>${block(0x100)}<registers>
      <register><name>CR</name><addressOffset>0x0</addressOffset><size>16</size><fields>
        <field><name>EN</name><bitOffset>0</bitOffset><bitWidth>1</bitWidth></field>
        <field><name>WIDE</name><bitOffset>15</bitOffset><bitWidth>2</bitWidth></field>
      </fields></register></registers></peripheral>`);
    expect(svdError(() => importSvd(bad, "bad.svd")).path).toBe("peripherals/UART0/registers/CR/fields/WIDE");
    const fixed = importSvd(bad, "bad.svd", { overlay: { peripherals: { UART0: { registers: { CR: { fields: { WIDE: { bits: "15" } } } } } } } });
    expect(field(blockOf(fixed, "UART0"), "CR", "WIDE").bits).toBe("15");
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-written SVDs: what ST's file does not use, and malformed input

function svd(peripherals: string, deviceExtra = ""): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.3">
  <name>TESTCHIP</name>
  <version>0.1</version>
  <description>hand-written test device</description>
  <addressUnitBits>8</addressUnitBits>
  <width>32</width>
  ${deviceExtra}
  <peripherals>${peripherals}</peripherals>
</device>`;
}

function block(size: number): string {
  return `<addressBlock><offset>0x0</offset><size>0x${size.toString(16)}</size><usage>registers</usage></addressBlock>`;
}

const status = `<register><name>SR</name><addressOffset>0x0</addressOffset><size>32</size><resetValue>0xC0</resetValue><fields>
  <field><name>TXE</name><bitOffset>7</bitOffset><bitWidth>1</bitWidth><access>read-only</access></field>
  <field><name>TC</name><bitOffset>6</bitOffset><bitWidth>1</bitWidth><access>read-write</access></field>
</fields></register>`;

describe("SVD features ST's file does not use", () => {
  it("dim arrays of registers: %s, [%s], dimIndex ranges and lists", () => {
    const r = importSvd(svd(`<peripheral><name>ADC</name><baseAddress>0x4000</baseAddress>${block(0x100)}<registers>
      <register><dim>4</dim><dimIncrement>0x4</dimIncrement><dimIndex>0-3</dimIndex><name>DATA%s</name><description>Data of channel %s</description><addressOffset>0x10</addressOffset><size>32</size><resetValue>0</resetValue></register>
      <register><dim>2</dim><dimIncrement>4</dimIncrement><name>BUF[%s]</name><addressOffset>0x40</addressOffset></register>
      <register><dim>3</dim><dimIncrement>0x10</dimIncrement><dimIndex>A,B,C</dimIndex><name>PORT%s_CR</name><addressOffset>0x80</addressOffset></register>
    </registers></peripheral>`), "dim.svd");
    const b = blockOf(r, "ADC");
    expect(b.registers.map((x) => `${x.name}@${x.offset}`)).toEqual(["DATA0@0x010", "DATA1@0x014", "DATA2@0x018", "DATA3@0x01C", "BUF0@0x040", "BUF1@0x044", "PORTA_CR@0x080", "PORTB_CR@0x090", "PORTC_CR@0x0A0"]);
    expect(reg(b, "DATA2").doc).toBe("Data of channel 2");
  });

  it("clusters flatten into CLUSTER_REGISTER names, offsets add up, properties inherit", () => {
    const r = importSvd(svd(`<peripheral><name>DMA</name><baseAddress>0x5000</baseAddress><size>16</size><resetValue>0x1</resetValue>${block(0x200)}<registers>
      <register><name>ISR</name><addressOffset>0x0</addressOffset></register>
      <cluster><dim>2</dim><dimIncrement>0x20</dimIncrement><name>CH%s</name><addressOffset>0x100</addressOffset><access>read-only</access><resetValue>0x5</resetValue>
        <register><name>CR</name><addressOffset>0x0</addressOffset></register>
        <register><name>NDTR</name><addressOffset>0x4</addressOffset><access>read-write</access><resetValue>0x0</resetValue></register>
        <cluster><name>FIFO</name><addressOffset>0x10</addressOffset>
          <register><name>LEVEL</name><addressOffset>0x0</addressOffset><size>8</size></register>
        </cluster>
      </cluster>
    </registers></peripheral>`), "cluster.svd");
    const b = blockOf(r, "DMA");
    expect(b.widths).toEqual([2]);
    expect(b.registers.map((x) => `${x.name}@${x.offset}`)).toEqual(["ISR@0x000", "CH0_CR@0x100", "CH0_NDTR@0x104", "CH0_FIFO_LEVEL@0x110", "CH1_CR@0x120", "CH1_NDTR@0x124", "CH1_FIFO_LEVEL@0x130"]);
    expect(reg(b, "ISR")).toMatchObject({ bits: 16, widths: [2], reset: "0x0001", read: "value", write: "value" });
    expect(reg(b, "CH1_CR")).toMatchObject({ bits: 16, reset: "0x0005", write: "ignored" });
    expect(reg(b, "CH1_NDTR")).toMatchObject({ reset: "0x0000", write: "value" });
    expect(reg(b, "CH0_FIFO_LEVEL")).toMatchObject({ bits: 8, widths: [1], reset: "0x05", write: "ignored" });
  });

  it("bit positions as bitOffset + bitWidth, lsb + msb and bitRange", () => {
    const r = importSvd(svd(`<peripheral><name>P</name><baseAddress>0x0</baseAddress>${block(0x10)}<registers>
      <register><name>R</name><addressOffset>0</addressOffset><fields>
        <field><name>A</name><bitOffset>0</bitOffset><bitWidth>4</bitWidth></field>
        <field><name>B</name><lsb>4</lsb><msb>7</msb></field>
        <field><name>C</name><bitRange>[15:8]</bitRange></field>
        <field><name>D</name><bitOffset>31</bitOffset></field>
      </fields></register></registers></peripheral>`), "bits.svd");
    expect(reg(blockOf(r, "P"), "R").fields.map((f) => `${f.name} ${f.bits}`)).toEqual(["D 31", "C 15:8", "B 7:4", "A 3:0"]);
  });

  it("modifiedWriteValues and readAction become field kinds, and the register's kind follows its fields", () => {
    const mwv = ["oneToClear", "zeroToClear", "oneToSet", "zeroToSet", "oneToToggle", "zeroToToggle", "clear", "set", "modify"];
    const fields = mwv.map((m, i) => `<field><name>F_${m}</name><bitOffset>${i}</bitOffset><bitWidth>1</bitWidth><modifiedWriteValues>${m}</modifiedWriteValues></field>`).join("");
    const r = importSvd(svd(`<peripheral><name>P</name><baseAddress>0x0</baseAddress>${block(0x20)}<registers>
      <register><name>MIXED</name><addressOffset>0</addressOffset><fields>${fields}
        <field><name>POP</name><bitOffset>16</bitOffset><bitWidth>8</bitWidth><access>read-only</access><readAction>clear</readAction></field>
        <field><name>GO</name><bitOffset>31</bitOffset><bitWidth>1</bitWidth><access>write-only</access></field>
      </fields></register>
      <register><name>ICR</name><addressOffset>4</addressOffset><fields>
        <field><name>A</name><bitOffset>0</bitOffset><bitWidth>1</bitWidth><modifiedWriteValues>oneToClear</modifiedWriteValues></field>
        <field><name>B</name><bitOffset>1</bitOffset><bitWidth>1</bitWidth><modifiedWriteValues>oneToClear</modifiedWriteValues></field>
        <field><name>RO</name><bitOffset>8</bitOffset><bitWidth>1</bitWidth><access>read-only</access></field>
      </fields></register>
      <register><name>FIFO</name><addressOffset>8</addressOffset><readAction>modify</readAction><modifiedWriteValues>clear</modifiedWriteValues></register>
      <register><name>WO</name><addressOffset>0xC</addressOffset><access>write-only</access></register>
      <register><name>ONCE</name><addressOffset>0x10</addressOffset><access>read-writeOnce</access></register>
    </registers></peripheral>`), "kinds.svd");
    const b = blockOf(r, "P");
    const kinds = Object.fromEntries(reg(b, "MIXED").fields.map((f) => [f.name, [f.read ?? "-", f.write ?? "-"].join(" ")]));
    expect(kinds).toEqual({
      F_oneToClear: "- w1c", F_zeroToClear: "- w0c", F_oneToSet: "- w1s", F_zeroToSet: "- w0s", F_oneToToggle: "- w1t", F_zeroToToggle: "- w0t",
      F_clear: "- clears", F_set: "- sets", F_modify: "- -", POP: "consumes ignored", GO: "undefined -",
    });
    expect(reg(b, "MIXED")).toMatchObject({ read: "consumes", write: "value" });
    // Every writable field w1c: the register is w1c; its fields say so themselves too.
    expect(reg(b, "ICR")).toMatchObject({ read: "value", write: "w1c" });
    expect(field(b, "ICR", "A").write).toBe("w1c");
    expect(field(b, "ICR", "RO").write).toBe("ignored");
    expect(reg(b, "FIFO")).toMatchObject({ read: "consumes", write: "clears" });
    expect(reg(b, "WO")).toMatchObject({ read: "undefined", write: "value" });
    expect(reg(b, "ONCE")).toMatchObject({ read: "value", write: "value" });
  });

  it("enumeratedValues become values: SVD number forms, isDefault and don't-care left out, names made valid and unique", () => {
    const r = importSvd(svd(`<peripheral><name>P</name><baseAddress>0x0</baseAddress>${block(0x10)}<registers>
      <register><name>CR</name><addressOffset>0</addressOffset><fields>
        <field><name>MODE</name><bitOffset>0</bitOffset><bitWidth>3</bitWidth><enumeratedValues><name>MODES</name>
          <enumeratedValue><name>Off</name><value>0</value></enumeratedValue>
          <enumeratedValue><name>8-bit</name><value>0x1</value></enumeratedValue>
          <enumeratedValue><name>fast mode</name><value>0b10</value></enumeratedValue>
          <enumeratedValue><name>fast-mode</name><value>#011</value></enumeratedValue>
          <enumeratedValue><name>ANY</name><value>#1xx</value></enumeratedValue>
          <enumeratedValue><name>OTHER</name><isDefault>true</isDefault></enumeratedValue>
        </enumeratedValues></field>
        <field><name>MODE2</name><bitOffset>4</bitOffset><bitWidth>3</bitWidth><enumeratedValues derivedFrom="MODES"/></field>
      </fields></register></registers></peripheral>`), "enum.svd");
    const b = blockOf(r, "P");
    expect(field(b, "CR", "MODE").values).toEqual({ Off: 0, "8_bit": 1, fast_mode: 2, fast_mode_2: 3 });
    expect(field(b, "CR", "MODE2").values).toEqual(field(b, "CR", "MODE").values);
  });

  it("derivedFrom on registers and fields copies, then the element's own children override", () => {
    const r = importSvd(svd(`<peripheral><name>P</name><baseAddress>0x0</baseAddress>${block(0x10)}<registers>
      <register><name>CR1</name><description>control 1</description><addressOffset>0</addressOffset><resetValue>0x3</resetValue><fields>
        <field><name>EN</name><description>enable</description><bitOffset>0</bitOffset><bitWidth>1</bitWidth></field>
        <field><name>MODE</name><bitOffset>1</bitOffset><bitWidth>2</bitWidth></field>
        <field derivedFrom="EN"><name>EN2</name><bitOffset>4</bitOffset></field>
      </fields></register>
      <register derivedFrom="CR1"><name>CR2</name><addressOffset>4</addressOffset><fields>
        <field><name>MODE</name><bitOffset>1</bitOffset><bitWidth>3</bitWidth></field>
      </fields></register>
    </registers></peripheral>`), "derive.svd");
    const b = blockOf(r, "P");
    expect(field(b, "CR1", "EN2")).toEqual({ name: "EN2", bits: "4", doc: "enable" });
    expect(reg(b, "CR2")).toMatchObject({ offset: "0x004", reset: "0x00000003", doc: "control 1" });
    expect(reg(b, "CR2").fields.map((f) => `${f.name} ${f.bits}`)).toEqual(["EN2 4", "MODE 3:1", "EN 0"]);
  });

  it("a derived peripheral that adds registers gets a block of its own", () => {
    const r = importSvd(svd(`
      <peripheral><name>UART0</name><baseAddress>0x1000</baseAddress>${block(0x100)}<registers>${status}</registers></peripheral>
      <peripheral derivedFrom="UART0"><name>UART1</name><baseAddress>0x2000</baseAddress></peripheral>
      <peripheral derivedFrom="UART0"><name>UART2</name><baseAddress>0x3000</baseAddress><registers>
        <register><name>EXTRA</name><addressOffset>0x10</addressOffset></register></registers></peripheral>`), "uarts.svd");
    expect(r.peripherals.map((p) => `${p.name}:${p.block}`)).toEqual(["UART0:uart0", "UART1:uart0", "UART2:uart2"]);
    expect(blockOf(r, "UART2").registers.map((x) => x.name)).toEqual(["SR", "EXTRA"]);
    expect(blockOf(r, "UART0").registers.map((x) => x.name)).toEqual(["SR"]);
  });

  it("an array of peripherals is one map at several base addresses", () => {
    const r = importSvd(svd(`<peripheral><dim>3</dim><dimIncrement>0x100</dimIncrement><name>UART%s</name><baseAddress>0x1000</baseAddress>${block(0x100)}<registers>${status}</registers></peripheral>`), "array.svd");
    expect(r.peripherals.map((p) => `${p.name}@${p.base.toString(16)}:${p.block}`)).toEqual(["UART0@1000:uart0", "UART1@1100:uart0", "UART2@1200:uart0"]);
  });

  it("--peripherals imports the named ones and what they derive from, and refuses unknown names", () => {
    const r = stm32Svd.import({ peripherals: ["USART1", "GPIOA"] });
    expect(r.peripherals.map((p) => p.name)).toEqual(["GPIOA", "USART6", "USART1"]);
    expect(r.blocks.map((b) => b.block)).toEqual(["gpioa", "usart6"]);
    // The same map as in the full import; its notes list only the instances imported.
    expect({ ...blockOf(r, "USART1"), notes: "" }).toEqual({ ...blockOf(stm32, "USART1"), notes: "" });
    expect(blockOf(r, "USART1").notes).toContain("Instances: USART6 at 0x40011400, USART1 at 0x40011000.");
    const e = svdError(() => stm32Svd.import({ peripherals: ["USART7"] }));
    expect(e.path).toBe("peripherals");
    expect(e.problem).toMatch(/^no peripheral named USART7 \(peripherals: RNG, DCMI, FSMC, .*USART6, USART1, /);
  });
});

describe("malformed input: an SvdError whose path names the element", () => {
  const uart = (registers: string, extra = ""): string =>
    svd(`<peripheral><name>UART0</name>${extra}${block(0x100)}<registers>${registers}</registers></peripheral>`);

  it.each([
    ["a missing baseAddress", uart(status), "peripherals/UART0", "no <baseAddress>"],
    ["a peripheral derivedFrom naming nothing",
      svd(`<peripheral derivedFrom="UART9"><name>UART1</name><baseAddress>0x2000</baseAddress></peripheral>`), "peripherals/UART1", 'derivedFrom="UART9" names no peripheral of the device'],
    ["a register derivedFrom naming nothing",
      uart(`${status}<register derivedFrom="CR9"><name>CR2</name><addressOffset>4</addressOffset></register>`, "<baseAddress>0</baseAddress>"), "peripherals/UART0/registers/CR2", 'derivedFrom="CR9" names no register (registers beside it: SR)'],
    ["a field derivedFrom naming nothing",
      uart(`<register><name>CR</name><addressOffset>0</addressOffset><fields><field derivedFrom="NOPE"><name>EN</name><bitOffset>0</bitOffset></field></fields></register>`, "<baseAddress>0</baseAddress>"), "peripherals/UART0/registers/CR/fields/EN", 'derivedFrom="NOPE" names no field'],
    ["a field outside its register",
      uart(`<register><name>CR</name><addressOffset>0</addressOffset><size>16</size><fields><field><name>HIGH</name><bitOffset>12</bitOffset><bitWidth>8</bitWidth></field></fields></register>`, "<baseAddress>0</baseAddress>"),
      "peripherals/UART0/registers/CR/fields/HIGH", "bits 19:12 lie outside the 16-bit register CR"],
    ["overlapping fields",
      uart(`<register><name>CR</name><addressOffset>0</addressOffset><fields><field><name>A</name><bitRange>[3:0]</bitRange></field><field><name>B</name><bitRange>[4:3]</bitRange></field></fields></register>`, "<baseAddress>0</baseAddress>"),
      "peripherals/UART0/registers/CR/fields/B", "bits 4:3 overlap field A (3:0) of CR"],
    ["a derivedFrom cycle",
      svd(`<peripheral derivedFrom="UART1"><name>UART0</name><baseAddress>0</baseAddress></peripheral><peripheral derivedFrom="UART0"><name>UART1</name><baseAddress>0</baseAddress></peripheral>`), "peripherals/UART0", "makes a cycle (UART0 -> UART1 -> UART0)"],
    ["dim without dimIncrement",
      uart(`<register><dim>4</dim><name>DATA%s</name><addressOffset>0</addressOffset></register>`, "<baseAddress>0</baseAddress>"), "peripherals/UART0/registers/DATA%s", "dim 4 without dimIncrement"],
    ["a register beyond its addressBlock",
      uart(`<register><name>FAR</name><addressOffset>0x100</addressOffset></register>`, "<baseAddress>0</baseAddress>"), "peripherals/UART0/registers/FAR", "lies beyond the block size 0x100"],
    ["a number that is not one",
      uart(`<register><name>CR</name><addressOffset>0x1G</addressOffset></register>`, "<baseAddress>0</baseAddress>"), "peripherals/UART0/registers/CR", 'addressOffset "0x1G" is not a number'],
  ])("%s", (_what, text, path, problem) => {
    const e = svdError(() => importSvd(text, "bad.svd"));
    expect(e.fileName).toBe("bad.svd");
    expect(e.path).toBe(path);
    expect(e.problem).toContain(problem);
    expect(e.message).toBe(`bad.svd: ${path}: ${e.problem}`);
  });

  it("XML that does not parse names the line", () => {
    const e = svdError(() => importSvd(`<device>\n  <name>X</name>\n  <peripherals>\n</device>`, "broken.svd"));
    expect(e.path).toMatch(/^line 4, column \d+$/);
    expect(e.problem).toMatch(/^not well-formed XML: /);
  });

  it("a file that is not an SVD says what it is", () => {
    expect(svdError(() => importSvd("<html><body>hello</body></html>", "page.svd")).message).toBe("page.svd: html: not a CMSIS-SVD file: the root element is <html>, expected <device>");
    expect(svdError(() => importSvd('{"peripherals": []}', "x.svd")).problem).toMatch(/^not well-formed XML/);
    expect(svdError(() => importSvd("", "empty.svd")).problem).toMatch(/^not well-formed XML/);
  });

  it("keeps messages to one short line, whatever the file quotes", () => {
    const long = "x".repeat(5000);
    const e = svdError(() => importSvd(uart(`<register><name>CR</name><addressOffset>${long}</addressOffset></register>`, "<baseAddress>0</baseAddress>"), "bad.svd"));
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).not.toContain("\n");
  });
});

describe("an SVD import in a project config", () => {
  it("puts the maps of the config's svd entry, overlay applied, into the project's registry", async () => {
    const dir = join(temp, "project");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, "overlay.json"), JSON.stringify(ST_OVERLAY));
    writeFileSync(join(dir, "wasm-hal.config.json"), JSON.stringify({ svd: [{ file: SVD_FILE, overlay: "overlay.json", peripherals: ["USART1", "DMA2"] }] }));
    const project = await loadProjectFile(join(dir, "wasm-hal.config.json"));
    expect(project.registry.names()).toEqual(expect.arrayContaining(["usart6", "dma2"]));
    const lifcr = project.registry.block("dma2")!.registers.find((r) => r.name === "LIFCR")!;
    expect(lifcr).toMatchObject({ offset: 8, read: "undefined", write: "w1c", reset: 0 });
    const tc = project.registry.block("usart6")!.registers[0]!.fields.find((f) => f.name === "TC")!;
    expect(tc).toMatchObject({ msb: 6, lsb: 6, write: "w0c" });
  });
});

// ---------------------------------------------------------------------------------------------
// The command

/** `wasm-hal svd` needs no project: it reads the files it is given. */
const NO_PROJECT: CommandContext = {
  project: () => Promise.reject(new Error("wasm-hal svd asked for the project")),
  projectOrPackage: () => Promise.reject(new Error("wasm-hal svd asked for the project")),
};

/** Runs svdCommand with stdout and stderr captured. */
async function runSvd(argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const capture = (sink: (s: string) => void) => (chunk: string | Uint8Array): boolean => {
    sink(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture((s) => (out += s)));
  vi.spyOn(process.stderr, "write").mockImplementation(capture((s) => (err += s)));
  const status = await svdCommand.run(argv, NO_PROJECT);
  vi.restoreAllMocks();
  return { status, out, err };
}

describe("wasm-hal svd", () => {
  it("--list prints one line per peripheral: base, block, registers, fields, derived-from", async () => {
    const r = await runSvd([SVD_FILE, "--list", "--peripherals", "USART1,GPIO*"]);
    expect(r.status).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines).toHaveLength(13);
    const usart = counted.find((c) => c.name === "USART1")!;
    const gpioa = counted.find((c) => c.name === "GPIOA")!;
    expect(lines.find((l) => l.startsWith("USART1 "))).toMatch(new RegExp(`^USART1 +0x40011000 +usart6 +${usart.registers} registers +${usart.fields} fields +derived from USART6$`));
    expect(lines.find((l) => l.startsWith("GPIOA "))).toMatch(new RegExp(`^GPIOA +0x40020000 +gpioa +${gpioa.registers} registers +${gpioa.fields} fields$`));
    expect(lines.find((l) => l.startsWith("GPIOK "))).toMatch(/derived from GPIOI$/);
  });

  it("-o DIR writes one <block>.json per map and says what it wrote", async () => {
    const dir = join(temp, "maps");
    const overlay = join(temp, "overlay.json");
    writeFileSync(overlay, JSON.stringify(ST_OVERLAY));
    const r = await runSvd([SVD_FILE, "--overlay", overlay, "-o", dir]);
    expect(r.err).toBe("");
    expect(r.status).toBe(0);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(48);
    expect(files).toContain("gpio.json");
    const usart = counted.find((c) => c.name === "USART6")!;
    expect(r.out).toContain(`wrote ${join(dir, "usart6.json")}: ${usart.registers} registers, ${usart.fields} fields (USART6, USART1, USART2, USART3)`);
    const sources = counted.filter((c) => c.derivedFrom === null);
    const registers = sources.reduce((n, c) => n + c.registers, 0);
    const fields = sources.reduce((n, c) => n + c.fields, 0);
    expect(r.out.trimEnd().split("\n").at(-1)).toBe(`STM32F405: 76 peripherals in 48 register maps, ${registers} registers, ${fields} fields`);
    const dma = JSON.parse(readFileSync(join(dir, "dma2.json"), "utf8")) as RegisterMapJson;
    expect(reg(dma, "LIFCR")).toMatchObject({ read: "undefined", write: "w1c" });
    for (const f of files) {
      const text = readFileSync(join(dir, f), "utf8");
      expect(text.endsWith("\n")).toBe(true);
      parseRegisterMap(JSON.parse(text), f);
    }
  });

  /** A small SVD file: the commands' messages without parsing ST's 2 MB again. */
  function smallFile(): string {
    const path = join(temp, "small.svd");
    writeFileSync(path, svd(`
      <peripheral><name>USART1</name><baseAddress>0x40011000</baseAddress>${block(0x400)}<registers>${status}</registers></peripheral>
      <peripheral derivedFrom="USART1"><name>USART2</name><baseAddress>0x40004400</baseAddress></peripheral>`));
    return path;
  }

  it("without -o or --list, summarises and says how to write the maps", async () => {
    const r = await runSvd([smallFile()]);
    expect(r.status).toBe(0);
    expect(r.out).toBe("TESTCHIP: 2 peripherals in 1 register map, 1 register, 2 fields: use -o DIR to write the maps, --list to list the peripherals\n");
  });

  it("reports a bad SVD or overlay in one line and exits 1", async () => {
    const overlay = join(temp, "bad-overlay.json");
    writeFileSync(overlay, '{ "peripherals": { "USART2": { "registers": { "XR": {} } } } }');
    const r = await runSvd([smallFile(), "--overlay", overlay]);
    expect(r.status).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(`wasm-hal: ${overlay}: peripherals.USART2.registers.XR: USART2 has no register XR (registers: SR)\n`);
    const notJson = join(temp, "not.json");
    writeFileSync(notJson, "{ peripherals: }");
    const j = await runSvd([smallFile(), "--overlay", notJson]);
    expect(j.status).toBe(1);
    expect(j.err).toMatch(/^wasm-hal: .*not\.json: line 1, column 3: invalid JSON/);
    expect(j.err.trimEnd().split("\n")).toHaveLength(1);
    const notSvd = join(temp, "page.svd");
    writeFileSync(notSvd, "<html><body>hello</body></html>");
    const h = await runSvd([notSvd, "--list"]);
    expect(h.status).toBe(1);
    expect(h.err).toBe(`wasm-hal: ${notSvd}: html: not a CMSIS-SVD file: the root element is <html>, expected <device>\n`);
  });

  it("refuses bad usage with a UsageError (exit status 2)", async () => {
    await expect(runSvd([])).rejects.toThrow(UsageError);
    await expect(runSvd([SVD_FILE, "other.svd"])).rejects.toThrow("one SVD file only");
    await expect(runSvd([join(temp, "missing.svd")])).rejects.toThrow(/cannot read .*missing\.svd: no such file/);
    await expect(runSvd([SVD_FILE, "--peripherals", ","])).rejects.toThrow(UsageError);
  });
});

describe("rules an overlay adds", () => {
  // RM0090 28.5.1 (SPI_CR1): "BR ... should not be changed when communication is ongoing", and
  // CPOL/CPHA likewise; the SPI is programmed with SPE = 0. The SVD cannot say so; the overlay
  // does, and the lint then knows it for every trace of the block.
  const overlay = {
    peripherals: {
      SPI1: {
        rules: {
          enableGuards: [{ registers: ["CR1"], fields: ["BR", "CPOL", "CPHA"], enable: { register: "CR1", field: "SPE" }, severity: "error", section: "RM0090 28.5.1" }],
        },
      },
    },
  };
  const imported = stm32Svd.import({ overlay, overlayFile: "spi.overlay.json", peripherals: ["SPI1"] });
  const spi = imported.blocks.find((b) => b.block === "spi1")!;

  it("carries them into the map, where the register-map checker takes them", () => {
    expect(spi.rules).toEqual(overlay.peripherals.SPI1.rules);
    const block = parseRegisterMap(JSON.parse(formatRegisterMap(spi)), "spi1.json");
    expect(block.rules?.enableGuards[0]).toEqual({ registers: ["CR1"], fields: ["BR", "CPOL", "CPHA"], enable: { register: "CR1", field: "SPE" }, severity: "error", section: "RM0090 28.5.1" });
  });

  it("refuses a rule naming a field the register does not have, by its path", () => {
    const bad = { peripherals: { SPI1: { rules: { enableGuards: [{ registers: ["CR1"], enable: { register: "CR1", field: "SPEN" } }] } } } };
    const map = stm32Svd.import({ overlay: bad, overlayFile: "bad.json", peripherals: ["SPI1"] }).blocks.find((b) => b.block === "spi1")!;
    expect(() => parseRegisterMap(map, "spi1.json")).toThrow('spi1.json: rules.enableGuards[0].enable.field: "SPEN": expected a field of CR1 (BIDIMODE, BIDIOE, CRCEN, CRCNEXT, DFF, RXONLY, SSM, SSI, LSBFIRST, SPE, BR, MSTR, CPOL, CPHA)');
  });
});
