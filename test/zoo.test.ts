// The bug zoo (harness/zoo.ts, zoo/*.ts): every deliberately broken driver is caught by an
// assertion or the lint with a message that says what and where, and the real driver passes the
// same scenario and check. Each zoo module keeps the ABI, so it loads in place of hal.wasm.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZOO, runZoo, zooSummary, zooModule, driverModule, zooFamilyModule } from "../harness/zoo.js";
import { readModuleAbi, abiViolations } from "../harness/wasm-abi.js";
import { packageRoot } from "../harness/hal.js";

const root = packageRoot();

/** Words the message of each caught bug must contain: the register, what is wrong, the export. */
const KEY_WORDS: Readonly<Record<string, readonly string[]>> = {
  "pl011-fr-read-hoisted": ["uart0.FR is not read on every iteration", "iteration 2 of 40", "W32 uart0+0x000 DR", "in pl011_write(", "hoisted"],
  "pl011-lcrh-flush-merged": ["writes to uart0.LCR_H", "[0x0, 0x70]", "1 write is missing: merged", "in pl011_init("],
  "pl011-lcrh-before-divisor": ["TRM 3.3.7: IBRD and FBRD, then LCR_H", "W uart0.LCR_H: none after", "LCR_H 0x00000070 (WLEN=8BIT FEN)", "too early"],
  "pl011-reinit-while-enabled": ["write-while-enabled", "IBRD written while CR.UARTEN = 1", "FBRD written", "LCR_H written", "pl011 3.3.7", "in pl011_init(0x101f1000, 24000000, 9600, 0x0)"],
  "pl011-fr-byte-read": ["every access to uart0", "32-bit", "fault R8 uart0+0x018 FR", "in pl011_flush("],
  "pl011-read-unguarded": ["unguarded-consuming-read", "R32 uart0+0x000 DR", "FR.RXFE = 0", "in pl011_read("],
  "pl061-ic-read-modify-write": ["w1c-read-modify-write", "W32 gpio0+0x41c IC", "writes back bits 0x3 that read as set", "in pl061_irq_clear("],
  "pl061-data-read-modify-write": ["never to read gpio0.DATA", "R32 gpio0+0x3fc DATA", "pl061_write("],
  "pl022-rx-never-drained": ["ssp0.DR was read", "the device needed 32", "pl022_transfer("],
  "pl080-missing-dsb": ["a DSB between W dmac.C0Control and W dmac.C0Configuration E=1", "C0Configuration 0x00000001", "in pl080_memcpy("],
  "pl080-stop-keeps-status": ["pl080_wait(0x10130000, 0) after pl080_stop returned -8 (ERR_DMA", "the stopped channel is idle", "IntTCClear and IntErrClr"],
  "pl080-enable-poll-unbounded": ["pl080_init(0x10130000) did not return within 1000 bus accesses", "R32 dmac+0x030 Configuration"],
  "stm32f4-usart-sr-read-modify-write": ["w0c-read-modify-write", "W32 usart1+0x000 SR", "writes 0 to CTS, LBD, RXNE", "in stm32_usart_set_dma(0x40011000, 0x1)", "the frame 0x5a", "was never read: stm32_usart_read returned 0"],
  "stm32f4-gpio-toggle-odr-rmw": ["set-reset-read-modify-write", "W32 gpioa+0x014 ODR", "through BSRR", "never to write gpioa.ODR", "in stm32_gpio_toggle(0x40020000, 0x20)"],
  "stm32f4-rcc-enable-no-dsb": ["did not reach gpioa, kept by the RCC clock gate", "W32 gpioa+0x018 BSRR 0x00000010 (BS4) in stm32_gpio_write(", "lost (enable-delay): 100 ns after AHB1ENR.GPIOAEN was set", "with no DSB between", "ES0182 2.1.13", "PA4 came up low"],
  "stm32f4-dma-config-while-enabled": ["write-while-enabled", "S7PAR written while S7CR.EN = 1", "S7M0AR written", "S7NDTR written", "3 were ignored because stream 7 was still enabled", "RM0090 10.3.17 step 1", "in stm32_dma_mem_to_periph(0x40026400, 7, 4, 0x40011004, 0x20000100, 6, 0x0)", "the second buffer \"second\" was never sent"],
  "stm32f4-dma-flags-not-cleared": ["DMA2 stream 1 was enabled with flags still set", "RM0090 10.3.17 step 2", "stm32_dma_wait returned 0 when only", "of 4096 bytes had been copied"],
  "stm32f4-usart-read-errors-ignored": ["stm32_usart_read returned 1 with 0x41 stored as data", "expected ERR_RX_FRAMING (-7)", "SR.FE = 1"],
  "pl011-irq-ack-before-read": ["interleavings fail", "interrupt at point 0", "irq enter 12", "pl011_irq_read returned \"\": expected \"ping\""],
  "pl011-irq-index-before-data": ["RX ring check", "in the uart0 handler", "slot 0 is published (rxHead = 1) but holds 0x000", "0x070", "published before its data"],
  "pl011-irq-imsc-rmw-unmasked": ["read-modify-write of uart0+0x038 IMSC in main code", "uart0 (line 12) handler", "in pl011_irq_write(", "mask the line at the interrupt controller"],
  "pl011-irq-source-never-acked": ["interrupt storm: uart0 (line 12) was entered 64 times in a row", "MIS 0x100 (PE)"],
  "pl011-irq-ack-no-dsb": ["spurious interrupt: the uart0 (line 12) handler was entered", "isr W32 uart0+0x044 ICR", "no DSB followed it", "end the handler with a DSB"],
  "stm32f4-spi-init-while-enabled": ["write-while-enabled", "W32 spi1+0x000 CR1 0x0000031b", "written while CR1.SPE = 1", "RM0090 28.5.1", "in stm32_spi_init(0x40013000, 16000000, 1000000, 0x3)"],
};

describe("the zoo's modules", () => {
  it("has one entry per zoo/*.ts source, with a message test for each", () => {
    const sources = readdirSync(join(root, "zoo")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();
    expect(ZOO.map((b) => b.name).sort()).toEqual(sources);
    expect(Object.keys(KEY_WORDS).sort()).toEqual(sources);
  });

  /** The function exports of a real module (hal.wasm, stm32f4.wasm), name -> signature. */
  const exportsOf = new Map<string, Map<string, string | null>>();
  const realExports = (path: string): Map<string, string | null> => {
    let exports = exportsOf.get(path);
    if (exports === undefined) {
      const abi = readModuleAbi(readFileSync(path), path);
      exports = new Map(abi.exports.filter((e) => e.kind === "function").map((e) => [e.name, e.signature]));
      exportsOf.set(path, exports);
    }
    return exports;
  };

  it.each(ZOO.map((b) => [b.name, b] as const))("%s keeps the ABI and the export names of its driver", (_name, bug) => {
    const module = zooModule(bug.name);
    const abi = readModuleAbi(readFileSync(module.path), module.path);
    expect(abiViolations(abi)).toEqual([]);
    const exports = new Map(abi.exports.filter((e) => e.kind === "function").map((e) => [e.name, e.signature]));
    const family = zooFamilyModule(bug.driver);
    const signature = realExports(driverModule("release", bug.driver).path);
    // Every export is one of the real module's, with its signature: a Hal sees the functions the
    // real module has (a PrimeCell variant carries its driver's and the ABI's, an STM32F4 one
    // every export of build/stm32f4.wasm, since its scenarios use the family's other drivers).
    for (const [name, sig] of exports) expect(signature.has(name) ? sig : "not an export of the real module", name).toBe(signature.get(name) ?? "an export of the real module");
    const wanted = family === "stm32f4" ? [...signature.keys()] : ["hal_abi_version", "hal_scratch", "hal_scratch_size", ...bug.broken];
    for (const name of wanted) expect(exports.has(name), name).toBe(true);
  });
});

describe("every seeded bug is caught; the real driver passes the same check", () => {
  it.each(ZOO.map((b) => [b.name, b] as const))("%s", (_name, bug) => {
    const broken = bug.run(zooModule(bug.name));
    expect(broken, `${bug.name} was not caught by ${bug.caughtBy}`).not.toBeNull();
    for (const word of KEY_WORDS[bug.name] ?? []) expect(broken).toContain(word);
    expect(bug.run(driverModule("release", bug.driver))).toBeNull();
  });

  it("counts them", () => {
    const summary = zooSummary(runZoo());
    console.log(`bug zoo: ${summary.text}`);
    expect(summary.seeded).toBeGreaterThanOrEqual(7);
    expect(summary.caught).toBe(summary.seeded);
    expect(summary.correctPasses).toBe(summary.seeded);
  });
});

describe("with the debug builds, messages name the AssemblyScript line of the defect", () => {
  const lineIn = (name: string, text: string): number => {
    const lines = readFileSync(join(root, "zoo", `${name}.ts`), "utf8").split("\n");
    return lines.findIndex((l) => l.includes(text)) + 1;
  };

  it.each([
    ["pl011-fr-read-hoisted", "write32(base + PL011_DR", "pl011_write"],
    ["pl080-missing-dsb", "write32(channelRegister(base, channel, PL080_C0Configuration)", "pl080_memcpy"],
    ["pl061-ic-read-modify-write", "write32(base + PL061_IC", "pl061_irq_clear"],
    ["stm32f4-gpio-toggle-odr-rmw", "write32(port_base + GPIO_ODR", "stm32_gpio_toggle"],
    ["stm32f4-dma-config-while-enabled", "write32(streamRegister(dma_base, stream, DMA_S0PAR)", "stm32_dma_mem_to_periph"],
  ])("%s", (name, statement, fn) => {
    const bug = ZOO.find((b) => b.name === name)!;
    expect(bug.run(zooModule(name, "debug"))).toContain(`at zoo/${name}.ts:${lineIn(name, statement)} (${fn})`);
    expect(bug.run(driverModule("debug", bug.driver))).toBeNull();
  });
});
