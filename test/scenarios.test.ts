// The scenario registry (harness/scenarios.ts, harness/scenarios-stm32f4.ts: every scenario module
// of the package's project): every scenario runs to its end on the virtual clock alone and gives
// the same trace every time; what the hardware does in each is checked
// against the manuals here, independently of the golden files; comments land where the scenario
// made them; register coverage counts what the trace did.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  SCENARIOS as PRIMECELL_SCENARIOS, GREETING, ScenarioFailure, findScenario, formatScenarioTrace, runScenario, scenarioNamed,
  type Scenario,
} from "../harness/scenarios.js";
import { loadBoardFile } from "../harness/board-file.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { SpiNorFlash } from "../harness/devices/spi.js";
import { Ram } from "../harness/devices/ram.js";
import { parseTrace } from "../harness/trace-text.js";
import { lintTrace } from "../harness/lint.js";
import { formatCoverage, mergeCoverage, registerCoverage, scenarioCoverage } from "../harness/commands/check.js";
import { STM32F4_SCENARIOS } from "../harness/scenarios-stm32f4.js";
import IRQ_SCENARIOS from "../harness/scenarios-irq.js";
import { PROJECT_SCENARIOS } from "./context.js";

const temp = mkdtempSync(join(tmpdir(), "wasm-hal-scenarios-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const bytes = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

describe("the registry", () => {
  it("has the scenarios the golden files are named after, each with a one-line summary", () => {
    expect(PROJECT_SCENARIOS.map((s) => s.name)).toEqual([
      "pl011-init-115200", "pl011-hello", "pl011-receive-errors", "pl022-flash-id-erase-program-read",
      "pl061-pin-toggle-edge-irq", "pl080-memcpy", "pl080-uart-tx",
      "stm32f4-gpio-blink-lock", "stm32f4-usart-hello", "stm32f4-usart-oversampling-8", "stm32f4-usart-receive-errors",
      "stm32f4-spi-flash-id", "stm32f4-dma-memcpy", "stm32f4-dma-usart-tx", "stm32f4-dma-spi-flash-read",
      "pl011-irq-deferred", "pl011-irq-preemptive", "pl061-irq-edges-level", "pl080-irq-memcpy", "pl022-irq-flash-read",
    ]);
    // The config's modules in order: the PrimeCell list, the STM32F4 list, then the interrupt
    // scenarios, the same objects.
    const modules = [...PRIMECELL_SCENARIOS, ...STM32F4_SCENARIOS, ...IRQ_SCENARIOS];
    PROJECT_SCENARIOS.forEach((s, i) => expect(s).toBe(modules[i]));
    for (const s of PROJECT_SCENARIOS) {
      expect(s.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(s.summary).not.toContain("\n");
      expect(s.summary.length).toBeGreaterThan(20);
    }
    for (const s of [...PRIMECELL_SCENARIOS, ...IRQ_SCENARIOS]) expect([s.board, s.module]).toEqual(["versatile", undefined]);
    for (const s of STM32F4_SCENARIOS) expect([s.board, s.module]).toEqual(["stm32f405", "stm32f4"]);
    expect(findScenario("pl011-hello")).toBe(PRIMECELL_SCENARIOS[1]);
    expect(findScenario("pl011-goodbye")).toBeUndefined();
    expect(() => scenarioNamed("pl011-goodbye")).toThrow('no scenario named "pl011-goodbye" (scenarios: pl011-init-115200, ');
  });

  it.each(PROJECT_SCENARIOS.map((s) => [s.name, s] as const))("%s gives the same trace on every run, lint-clean", (_name, scenario) => {
    const first = runScenario(scenario);
    const again = runScenario(scenario);
    const text = formatScenarioTrace(first);
    expect(formatScenarioTrace(again)).toBe(text);
    expect(first.board.clock.now).toBe(again.board.clock.now);
    expect(lintTrace(first.board.bus.trace, first.board.bus.regions)).toEqual([]);
    // The text form is a trace file: it parses back to the same number of entries.
    expect(parseTrace(text, scenario.name).length).toBe(first.board.bus.trace.length);
  });
});

describe("what the hardware does in each scenario", () => {
  it("pl011-init-115200 latches IBRD 13, FBRD 1: 24 MHz / (16 x 115200) = 13.02 (TRM 3.3.6)", () => {
    const run = runScenario(scenarioNamed("pl011-init-115200"));
    expect(run.board.model("uart0", Pl011Model).latchedDivisor).toEqual({ ibrd: 13, fbrd: 1 });
    // The TRM 3.3.8 order: CR cleared first, LCR_H after IBRD and FBRD, CR set last.
    const writes = [...run.board.bus.trace.entries()].filter((e) => e.op === 1).map((e) => e.addr - 0x101f1000);
    expect(writes).toEqual([0x030, 0x02c, 0x024, 0x028, 0x02c, 0x038, 0x044, 0x004, 0x030]);
  });

  it("pl080-uart-tx puts the same bytes on TXD as the CPU-driven pl011-hello", () => {
    const cpu = runScenario(scenarioNamed("pl011-hello")).board.model("uart0", Pl011Model);
    const dma = runScenario(scenarioNamed("pl080-uart-tx"));
    const uart = dma.board.model("uart0", Pl011Model);
    expect(uart.wire).toEqual(bytes(GREETING));
    expect(uart.wire).toEqual(cpu.wire);
    // And by DMA indeed: every DR write of the run came from the DMA master, one byte each.
    const drWrites = [...dma.board.bus.trace.entries()].filter((e) => e.op === 1 && e.addr === 0x101f1000);
    expect(drWrites).toHaveLength(GREETING.length);
    expect(drWrites.every((e) => (e.flags & 0x20) !== 0 && e.width === 1)).toBe(true);
  });

  it("pl022-flash-id-erase-program-read leaves the programmed page in the flash and the sector around it erased", () => {
    const run = runScenario(scenarioNamed("pl022-flash-id-erase-program-read"));
    const flash = run.board.part("flash0", SpiNorFlash);
    // RDID, then WREN + SE, RDSR polls, WREN + PP, RDSR polls, READ (25-series command set).
    const commands = flash.commands.filter((c) => c !== 0x05);
    expect(commands).toEqual([0x9f, 0x06, 0x20, 0x06, 0x02, 0x03]);
    expect(flash.memory.subarray(0x1010, 0x2000).every((b) => b === 0xff)).toBe(true);
    expect(flash.memory[0x1000]).toBe(3);
    // The erase (45 ms) is waited for: at least that much virtual time passed.
    expect(run.board.clock.now).toBeGreaterThan(45_000_000);
  });

  it("pl080-memcpy copies into RAM through word transfers and a fetched linked-list item", () => {
    const run = runScenario(scenarioNamed("pl080-memcpy"));
    const ram = run.board.model("ram", Ram).bytes;
    expect(Array.from(ram.subarray(0x400, 0x410))).toEqual(Array.from(ram.subarray(0x100, 0x110)));
    expect(Array.from(ram.subarray(0x410, 0x420))).toEqual(Array.from(ram.subarray(0x130, 0x140)));
    const dma = [...run.board.bus.trace.entries()].filter((e) => (e.flags & 0x20) !== 0);
    // 16 words copied, 8 gathered, and one LLI of four words fetched from linear memory.
    expect(dma.filter((e) => e.op === 1)).toHaveLength(16 + 8);
    const linearReads = dma.filter((e) => e.op === 0 && e.addr >= 0x80000000);
    expect(linearReads).toHaveLength(16 + 4);
    // The item is the four words SrcAddr, DestAddr, LLI, Control of the second entry (docs/primecell.md 4.4):
    // ram+0x130 to ram+0x410, the last item, Control with I set and 4 word transfers.
    expect(linearReads.slice(16).map((e) => e.value >>> 0)).toEqual([0x20000130, 0x20000410, 0, 0x9c480004]);
  });
});

describe("the text of a scenario's trace", () => {
  it("starts with the scenario and board, then each phase and stimulus before what follows it", () => {
    const text = formatScenarioTrace(runScenario(scenarioNamed("pl011-receive-errors")));
    const lines = text.split("\n");
    expect(lines[0]).toBe("wasm-hal-trace 1");
    const at = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix));
    expect(lines[at("# scenario ")]).toMatch(/^# scenario pl011-receive-errors: the PL011 receives/);
    expect(lines[at("# board ")]).toBe("# board versatile (fixtures/boards/versatile.json)");
    expect(at("# phase setup")).toBeLessThan(at("call pl011_init"));
    expect(at("# phase setup")).toBe(at("call pl011_init") - 1);
    expect(at("# phase test")).toBeGreaterThan(at("return 0"));
    // The break arrives between two reads: its comment comes right before the read that sees it.
    const brk = at("# uart0: a break arrives");
    expect(lines[brk + 1]).toBe("call pl011_read(0x101f1000, 0x400, 32)");
    expect(lines[brk + 3]).toMatch(/^ {2}R32 uart0\+0x000 DR {8}0x00000500 {2}; BE FE DATA=0x0$/);
  });

  it("fails a scenario whose own check fails, naming the scenario and the call", () => {
    const wrong: Scenario = {
      name: "pl011-init-wrong-expectation",
      summary: "expects an unreachable rate to be accepted",
      board: "versatile",
      run(s) {
        // 24 MHz / 16 = 1.5 Mbaud is the fastest (TRM 3.3.6): 3 Mbaud gives ERR_UNREACHABLE_RATE.
        s.expect(0, "pl011_init", s.board.base("uart0"), 24_000_000, 3_000_000, 0);
      },
    };
    expect(() => runScenario(wrong)).toThrow(ScenarioFailure);
    expect(() => runScenario(wrong)).toThrow("scenario pl011-init-wrong-expectation: pl011_init(0x101f1000, 24000000, 3000000, 0x0) returned -2 (ERR_UNREACHABLE_RATE): expected 0 (OK)");
  });

  it("runs on another board when told to: the same calls at that board's addresses", () => {
    const description = loadBoardFile("versatile");
    const moved = {
      name: "moved-uart",
      regions: description.regions.map((r) => ({
        name: r.name, base: `0x${(r.name === "uart0" ? 0x10009000 : r.base).toString(16)}`, size: `0x${r.size.toString(16)}`, block: r.block, device: r.device.options,
      })),
    };
    const path = join(temp, "moved-uart.json");
    writeFileSync(path, JSON.stringify(moved));
    const text = formatScenarioTrace(runScenario(scenarioNamed("pl011-init-115200"), { board: path }));
    expect(text).toContain("region uart0 0x10009000 0x1000 pl011");
    expect(text).toContain("call pl011_init(0x10009000, 24000000, 115200, 0x0)");
    expect(text).toContain(`# board moved-uart (${path})`);
  });
});

describe("register coverage", () => {
  it("pl011-init-115200 reads CR and FR and writes the registers of the TRM 3.3.8 sequence, nothing else", () => {
    const run = runScenario(scenarioNamed("pl011-init-115200"));
    const uart = scenarioCoverage(run).find((c) => c.region === "uart0")!;
    const used = Object.fromEntries(uart.registers.filter((u) => u.reads + u.writes > 0).map((u) => [u.name, [u.reads, u.writes]]));
    expect(used).toEqual({
      CR: [1, 2], FR: [1, 0], "RSR/ECR": [0, 1], IBRD: [0, 1], FBRD: [0, 1], LCR_H: [0, 2], IMSC: [0, 1], ICR: [0, 1],
    });
    // Regions without a register map have no registers to count.
    expect(scenarioCoverage(run).map((c) => c.region)).toEqual(["dmac", "irqc", "gpio0", "uart0", "ssp0"]);
  });

  it("counts a collapsed poll in full, and a trace file gives the same coverage as the run", () => {
    const run = runScenario(scenarioNamed("pl011-hello"));
    const fromRun = scenarioCoverage(run);
    const fromFile = registerCoverage(parseTrace(formatScenarioTrace(run), "pl011-hello.trace"));
    expect(fromFile).toEqual(fromRun);
    const fr = fromRun.find((c) => c.region === "uart0")!.registers.find((u) => u.name === "FR")!;
    const frReads = [...run.board.bus.trace.entries()].filter((e) => e.addr === 0x101f1018).length;
    expect(fr.reads).toBe(frReads);
    expect(fr.reads).toBeGreaterThan(14_000); // the flush alone polls for 17 characters
  });

  it("merges scenarios and prints what was never touched", () => {
    const merged = mergeCoverage([
      scenarioCoverage(runScenario(scenarioNamed("pl011-init-115200"))),
      scenarioCoverage(runScenario(scenarioNamed("pl080-uart-tx"))),
    ]);
    const uart = merged.find((c) => c.region === "uart0")!;
    expect(uart.registers.find((u) => u.name === "CR")).toMatchObject({ reads: 2, writes: 4 });
    expect(uart.registers.find((u) => u.name === "DMACR")).toMatchObject({ reads: 0, writes: 1 });
    const text = formatCoverage(merged);
    expect(text).toContain("uart0 (pl011): 10 of ");
    expect(text).toMatch(/uart0 \(pl011\)[^]*never touched +ILPR IFLS RIS MIS/);
    expect(text).toMatch(/written only +DR RSR\/ECR IBRD FBRD LCR_H IMSC ICR DMACR/);
  });
});
