// The order-of-access rules of RM0090 (and ES0182), held as assertions over the traces of the
// STM32F4 scenarios (harness/scenarios-stm32f4.ts): the DMA stream procedure of RM0090 §10.3.17,
// the RCC enable (with its DSB) before the first access to each peripheral, GPIO outputs only
// through BSRR, TXE before every USART DR write and TC at the end, and the register lint. Every
// rule is shown failing too: on a golden trace edited by hand, or on a deliberately wrong call
// sequence. The register values the rules name are the manual's, written out here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runScenario, type Scenario, type ScenarioRun } from "../harness/scenario.js";
import { STM32F4_SCENARIOS } from "../harness/scenarios-stm32f4.js";
import { goldenPath } from "../harness/commands/check.js";
import { packageProject } from "../harness/project.js";
import { OP_READ, OP_WRITE, OP_BARRIER, FLAG_DMA, type TraceEntry } from "../harness/trace.js";
import { parseTrace, traceRegions, type ParsedTrace, type TraceRegion } from "../harness/trace-text.js";
import { rebuildTrace } from "./rebuild-trace.js";
import {
  within, eachCall, inOrder, named, checkAccessesInOrder, checkBarrierBetween, checkPolls, checkWrites,
  checkNeverTouches, checkLintClean, type Outcome, type StepGroup, type Traced,
} from "../harness/assert.js";
import {
  OK, STM32_CLOCK_GPIOA, STM32_CLOCK_USART1, STM32_CLOCK_DMA2, STM32_GPIO_MODE_OUTPUT, STM32_USART_DMA_TX,
} from "../harness/generated/api.js";

// ---------------------------------------------------------------------------------------------
// What the manual says, written out

/** RM0090 §10.5.3-10.5.4: the clear register and the CFEIF, CDMEIF, CTEIF, CHTIF, CTCIF bits of
 * each stream (bits 0, 2, 3, 4, 5 from a base of 0, 6, 16, 22; the bit after FEIF is reserved). */
const STREAM_FLAGS: readonly { readonly register: "LIFCR" | "HIFCR"; readonly all: number }[] = [
  { register: "LIFCR", all: 0x0000_003d }, { register: "LIFCR", all: 0x0000_0f40 },
  { register: "LIFCR", all: 0x003d_0000 }, { register: "LIFCR", all: 0x0f40_0000 },
  { register: "HIFCR", all: 0x0000_003d }, { register: "HIFCR", all: 0x0000_0f40 },
  { register: "HIFCR", all: 0x003d_0000 }, { register: "HIFCR", all: 0x0f40_0000 },
];

/** RM0090 §10.3.17, steps 1-11 as the driver takes them: EN read back 0 (after writing EN = 0 if
 * the stream ran), the stream's flags cleared, PAR, M0AR, NDTR (steps 3-5), then SxCR with its
 * fields and EN = 0 and FCR (steps 6-10, in either order: the manual's FCR step sits between
 * fields of SxCR), a DSB, and EN set last. */
function dmaStreamStart(dma: string, stream: number): StepGroup {
  const x = `${dma}.S${stream}`;
  const flags = STREAM_FLAGS[stream]!;
  return named(`RM0090 10.3.17: start of ${dma} stream ${stream}`, inOrder(
    { read: `${x}CR`, fields: { EN: 0 } },
    { write: `${dma}.${flags.register}`, value: flags.all },
    `W ${x}PAR`, `W ${x}M0AR`, `W ${x}NDTR`,
    { order: "any-order", steps: [{ write: `${x}CR`, fields: { EN: 0 } }, `W ${x}FCR`] },
    "DSB",
    { write: `${x}CR`, fields: { EN: 1 } },
  ));
}

const DMA_STARTS = ["stm32_dma_memcpy", "stm32_dma_mem_to_periph", "stm32_dma_periph_to_mem"];

function regionAt(source: Traced, addr: number): TraceRegion {
  const r = source.regions.find((x) => addr >= x.base && addr < x.end);
  if (r === undefined) throw new Error(`no region at 0x${addr.toString(16)}`);
  return r;
}

function entriesOf(source: Traced, from = 0, to = source.trace.length): TraceEntry[] {
  return [...source.trace.entries(from, to)];
}

// ---------------------------------------------------------------------------------------------
// The rules, over any trace (a run's bus, or a trace file rebuilt)

interface Rule {
  readonly rule: string;
  readonly outcome: Outcome;
}

/** RM0090 §10.3.17 for every stream start in the trace. */
function dmaRules(source: Traced): Rule[] {
  const rules: Rule[] = [];
  source.trace.calls.forEach((call, index) => {
    if (!DMA_STARTS.includes(call.name)) return;
    const dma = regionAt(source, call.args[0]!);
    const stream = call.args[1]!;
    const x = `${dma.name}.S${stream}`;
    const view = within(source, { call: index });
    const label = `${call.name} on ${dma.name} stream ${stream} (call #${index})`;
    rules.push({ rule: `${label}: the 10.3.17 order`, outcome: checkAccessesInOrder(view, dmaStreamStart(dma.name, stream)) });
    // Before EN reads 0, nothing of the stream is written but EN = 0 itself (step 1).
    const cr = dma.base + dma.index!.byName(`S${stream}CR`)!.offset;
    const enReadZero = entriesOf(source, call.start, call.end).find((e) => e.op === OP_READ && e.addr === cr && (e.value & 1) === 0);
    if (enReadZero !== undefined) {
      const before = within(source, { from: call.start, to: enReadZero.seq });
      for (const reg of ["PAR", "M0AR", "M1AR", "NDTR", "FCR"]) {
        rules.push({ rule: `${label}: no ${x}${reg} write before EN reads 0`, outcome: checkNeverTouches(before, `${x}${reg}`, { op: "write" }) });
      }
      rules.push({ rule: `${label}: no flag cleared before EN reads 0`, outcome: checkNeverTouches(before, `${dma.name}.${STREAM_FLAGS[stream]!.register}`, { op: "write" }) });
      const crWrites = entriesOf(source, call.start, enReadZero.seq).filter((e) => e.op === OP_WRITE && e.addr === cr).length;
      rules.push({ rule: `${label}: SxCR written only with EN = 0 before EN reads 0`, outcome: checkWrites(before, `${x}CR`, new Array(crWrites).fill({ fields: { EN: 0 } })) });
    }
    // The last configuration write and the EN write: a DSB between (not just a DMB: the DMA
    // master reads memory as soon as EN is set).
    rules.push({
      rule: `${label}: a DSB between the last configuration write and EN = 1`,
      outcome: checkBarrierBetween(view, "DSB", `W ${x}*`, { write: `${x}CR`, fields: { EN: 1 } }, { exact: true }),
    });
  });
  return rules;
}

/** RCC first (ES0182 2.1.13: with its DSB): no access to a gated peripheral before its enable
 * bit's write, and a DSB between that write and the peripheral's first access. */
function rccRules(run: ScenarioRun, source: Traced = run.board.bus): Rule[] {
  const rules: Rule[] = [];
  for (const r of run.board.description.regions) {
    if (r.clock === undefined) continue;
    const first = entriesOf(source).find((e) => e.op !== OP_BARRIER && (e.flags & FLAG_DMA) === 0 && e.addr >= r.base && e.addr < r.base + r.size);
    if (first === undefined) continue;
    const enable = { write: `${r.clock.rcc}.${r.clock.register}`, fields: { [r.clock.field]: 1 } };
    const upToFirst = within(source, { from: 0, to: first.seq + 1 });
    rules.push({ rule: `${r.name}: ${r.clock.register}.${r.clock.field} set before its first access`, outcome: checkAccessesInOrder(upToFirst, enable, { access: r.name }) });
    rules.push({ rule: `${r.name}: a DSB between the enable write and its first access`, outcome: checkBarrierBetween(upToFirst, "DSB", enable, { access: r.name }) });
  }
  return rules;
}

/** What the clock gates saw in the run: not one access lost. */
function gateRules(run: ScenarioRun): Rule[] {
  return [...run.board.clockGates].map(([name, gate]) => ({
    rule: `${name}: no access while its clock was off or within the enable delay`,
    outcome: { pass: gate.count === 0, message: gate.count === 0 ? `${name}'s gate kept nothing` : gate.describe() },
  }));
}

/** RM0090 §8.3.5, §8.4.7: outputs change through BSRR only, one write per stm32_gpio_write, and
 * that write sets the pins of mask & value (bits 15:0) and resets mask & ~value (bits 31:16). */
function gpioRules(source: Traced): Rule[] {
  const rules: Rule[] = [];
  for (const r of source.regions.filter((x) => x.index?.block.block === "gpio")) {
    rules.push({ rule: `${r.name}: ODR never written`, outcome: checkNeverTouches(source, `${r.name}.ODR`, { op: "write" }) });
  }
  source.trace.calls.forEach((call, index) => {
    if (call.name !== "stm32_gpio_write" && call.name !== "stm32_gpio_toggle") return;
    const port = regionAt(source, call.args[0]!).name;
    const view = within(source, { call: index });
    const writes = entriesOf(source, call.start, call.end).filter((e) => e.op === OP_WRITE);
    rules.push({
      rule: `${call.name} (call #${index}): one write, to ${port}.BSRR`,
      outcome: { pass: writes.length === 1 && writes[0]!.addr === regionAt(source, call.args[0]!).base + 0x18, message: `${writes.length} writes: expected one, to BSRR (offset 0x18)` },
    });
    if (call.name === "stm32_gpio_write") {
      const [mask, value] = [call.args[1]!, call.args[2]!];
      rules.push({ rule: `stm32_gpio_write (call #${index}): the BSRR value`, outcome: checkWrites(view, `${port}.BSRR`, [((mask & value) | ((mask & ~value) << 16)) >>> 0]) });
    }
  });
  return rules;
}

/** RM0090 §30.3.2 steps 7 and 8: TXE before every CPU write of DR, and after the last frame
 * (CPU or DMA) TC read as 1. */
function usartRules(source: Traced): Rule[] {
  const rules: Rule[] = [];
  source.trace.calls.forEach((call, index) => {
    if (call.name !== "stm32_usart_write") return;
    const usart = regionAt(source, call.args[0]!).name;
    rules.push({
      rule: `stm32_usart_write (call #${index}): TXE read as 1 before every DR write`,
      outcome: checkPolls(within(source, { call: index }), { read: `${usart}.SR`, each: `W ${usart}.DR`, until: { fields: { TXE: 1 } } }),
    });
  });
  for (const r of source.regions.filter((x) => x.index?.block.block === "usart")) {
    const dr = r.base + 0x04;
    const lastFrame = entriesOf(source).filter((e) => e.op === OP_WRITE && e.addr === dr).at(-1);
    if (lastFrame === undefined) continue;
    rules.push({
      rule: `${r.name}: TC read as 1 after the last DR write`,
      outcome: checkAccessesInOrder(within(source, { from: lastFrame.seq }), { read: `${r.name}.SR`, fields: { TC: 1 } }),
    });
  }
  return rules;
}

function allRules(run: ScenarioRun): Rule[] {
  const bus = run.board.bus;
  return [
    ...dmaRules(bus), ...rccRules(run), ...gateRules(run), ...gpioRules(bus), ...usartRules(bus),
    { rule: "lint", outcome: checkLintClean(bus) },
  ];
}

const failed = (rules: readonly Rule[]): string[] => rules.filter((r) => !r.outcome.pass).map((r) => `${r.rule}:\n${r.outcome.message}`);

const runs = new Map<string, ScenarioRun>();
function runOf(scenario: Scenario): ScenarioRun {
  let run = runs.get(scenario.name);
  if (run === undefined) runs.set(scenario.name, (run = runScenario(scenario)));
  return run;
}
const scenarioNamed = (name: string): Scenario => STM32F4_SCENARIOS.find((s) => s.name === name)!;

/** A golden file's trace as a Trace again, edited first: what the file says, for the rules. */
function goldenTraced(name: string, edit: (text: string) => string): Traced {
  const text = readFileSync(goldenPath(name), "utf8");
  const edited = edit(text);
  expect(edited).not.toBe(text);
  const parsed: ParsedTrace = parseTrace(edited, `${name}.trace (edited)`, { registry: packageProject().registry });
  return { trace: rebuildTrace(parsed), regions: traceRegions(parsed.regions, parsed.registry) };
}

// ---------------------------------------------------------------------------------------------

describe("the STM32F4 scenarios keep the manual's order of access", () => {
  it.each(STM32F4_SCENARIOS.map((s) => [s.name, s] as const))("%s", (_name, scenario) => {
    const rules = allRules(runOf(scenario));
    expect(failed(rules), failed(rules).join("\n\n")).toEqual([]);
  });

  it("each rule is met where it applies: every DMA start, gated peripheral, GPIO write, USART write", () => {
    const count = (name: string, pick: (r: ScenarioRun) => Rule[]): number => pick(runOf(scenarioNamed(name))).length;
    // memcpy on stream 1; mem-to-periph on 7; the flash read on streams 0 and 3: 8 rules each.
    expect(count("stm32f4-dma-memcpy", (r) => dmaRules(r.board.bus))).toBe(9);
    expect(count("stm32f4-dma-usart-tx", (r) => dmaRules(r.board.bus))).toBe(9);
    expect(count("stm32f4-dma-spi-flash-read", (r) => dmaRules(r.board.bus))).toBe(18);
    // gpioa, usart1 and dma2 touched: two rules each.
    expect(count("stm32f4-dma-usart-tx", (r) => rccRules(r))).toBe(6);
    expect(count("stm32f4-usart-hello", (r) => usartRules(r.board.bus))).toBe(2);
    expect(count("stm32f4-dma-usart-tx", (r) => usartRules(r.board.bus))).toBe(1);
    // Three ODR rules (gpioa-c); three writes (one write each, its value) and a toggle.
    expect(count("stm32f4-gpio-blink-lock", (r) => gpioRules(r.board.bus))).toBe(3 + 3 * 2 + 1);
  });

  it("restarting a running stream: EN written 0 and read back 0 before the stream is reprogrammed", () => {
    const restart: Scenario = {
      name: "stm32f4-dma-usart-tx-restarted",
      summary: "the USART1 TX stream is started again while its first transfer runs",
      module: "stm32f4",
      board: "stm32f405",
      run(s) {
        const { hal } = s.board;
        const rcc = s.board.base("rcc");
        const usart = s.board.base("usart1");
        const dma2 = s.board.base("dma2");
        const linear = s.board.base("linear");
        for (const clock of [STM32_CLOCK_GPIOA, STM32_CLOCK_USART1, STM32_CLOCK_DMA2]) s.expect(OK, "stm32_rcc_enable", rcc, clock);
        s.expect(OK, "stm32_usart_init", usart, 16_000_000, 115200, 0);
        s.expect(OK, "stm32_usart_set_dma", usart, STM32_USART_DMA_TX);
        hal.writeBytes(Uint8Array.from("0123456789", (c) => c.charCodeAt(0)));
        s.expect(OK, "stm32_dma_mem_to_periph", dma2, 7, 4, usart + 0x04, linear + hal.scratch, 10, 0);
        s.expect(OK, "stm32_dma_mem_to_periph", dma2, 7, 4, usart + 0x04, linear + hal.scratch, 10, 0);
        s.expect(OK, "stm32_dma_wait", dma2, 7);
        s.expect(OK, "stm32_usart_flush", usart);
      },
    };
    const run = runScenario(restart);
    const second = within(run.board.bus, { call: "stm32_dma_mem_to_periph", nth: 1 });
    // The stream was running: the driver read EN = 1, wrote EN = 0 and polled until EN read 0.
    expect(checkAccessesInOrder(second, { read: "dma2.S7CR", fields: { EN: 1 } }, { write: "dma2.S7CR", fields: { EN: 0 } }, { read: "dma2.S7CR", fields: { EN: 0 } }).pass).toBe(true);
    expect(failed(dmaRules(run.board.bus))).toEqual([]);
    expect(failed(usartRules(run.board.bus))).toEqual([]);
  });
});

describe("each rule can fail", () => {
  it("a golden trace without the DSB before EN breaks RM0090 10.3.17", () => {
    const noDsb = goldenTraced("stm32f4-dma-memcpy", (text) => text.replace(/(W32 dma2\+0x03c {2}S1FCR .*\n) {2}DSB\n/, "$1"));
    const broken = failed(dmaRules(noDsb));
    expect(broken).toHaveLength(2);
    expect(broken[0]).toMatch(/the 10\.3\.17 order:\n[^]*steps 1\.\.6 matched, ending at #\d+; step 7 of 8 is missing:\n {2}DSB: no such access anywhere in stm32_dma_memcpy/);
    expect(broken[1]).toMatch(/a DSB between the last configuration write and EN = 1:\nexpected a DSB between W dma2\.S1\* and W dma2\.S1CR EN=1 in stm32_dma_memcpy\(.*\); there is none between\n {2}#\d+ W32 dma2\+0x03c S1FCR 0x00000007/);
  });

  it("a golden trace with the flags cleared for the wrong stream, or PAR written while EN was still unread, breaks it too", () => {
    // Stream 0's bits (0x3d) where stream 1's (0xf40) belong.
    const wrongFlags = goldenTraced("stm32f4-dma-memcpy", (text) => text.replace("LIFCR     0x00000f40", "LIFCR     0x0000003d"));
    expect(failed(dmaRules(wrongFlags)).join("\n")).toMatch(/W dma2\.LIFCR 0xf40: none[^]*value 0x3d differs/);
    // The SxCR read moved after the flag clear and the PAR write.
    const late = goldenTraced("stm32f4-dma-memcpy", (text) => text.replace(
      /( {2}R32 dma2\+0x028 {2}S1CR .*\n)( {2}W32 dma2\+0x008 .*\n)( {2}W32 dma2\+0x030 .*\n)/, "$2$3$1"));
    expect(failed(dmaRules(late)).join("\n")).toContain("no dma2.S1PAR write before EN reads 0:\nexpected entries");
  });

  it("a golden trace with a TXE poll taken out breaks RM0090 30.3.2 step 7", () => {
    // The reads of SR between the greeting's first and second DR writes, gone.
    const noPoll = goldenTraced("stm32f4-usart-hello", (text) => text.replace(
      /( {2}W32 usart1\+0x004 DR {8}0x00000048 .*\n)(?: {2}R32 usart1\+0x000 SR .*\n)+/, "$1"));
    const broken = failed(usartRules(noPoll));
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatch(/TXE read as 1 before every DR write:\nusart1\.SR is not read on every iteration of stm32_usart_write\(.*\): iteration 2 of 27/);
  });

  it("a wrong call sequence, GPIOA configured before its clock is on, is lost to the gate and breaks the RCC rule", () => {
    const early: Scenario = {
      name: "stm32f4-gpio-before-rcc",
      summary: "PA5 configured before GPIOA's clock is enabled",
      module: "stm32f4",
      board: "stm32f405",
      run(s) {
        const gpioa = s.board.base("gpioa");
        s.expect(OK, "stm32_gpio_configure", gpioa, 5, STM32_GPIO_MODE_OUTPUT);
        s.expect(OK, "stm32_rcc_enable", s.board.base("rcc"), STM32_CLOCK_GPIOA);
        s.expect(OK, "stm32_gpio_write", gpioa, 1 << 5, 1 << 5);
      },
    };
    const run = runScenario(early);
    const gate = failed(gateRules(run));
    expect(gate).toHaveLength(1);
    expect(gate[0]).toMatch(/^gpioa: no access while its clock was off/);
    expect(run.board.clockGate("gpioa")!.count).toBe(10); // five reads, five writes of configure
    const rcc = failed(rccRules(run));
    expect(rcc[0]).toMatch(/gpioa: AHB1ENR\.GPIOAEN set before its first access/);
    expect(rcc[1]).toMatch(/gpioa: a DSB between the enable write and its first access:\nexpected a DSB between W rcc\.AHB1ENR GPIOAEN=1 and RW gpioa in entries #0\.\.#0, but no W rcc\.AHB1ENR GPIOAEN=1 comes before any RW gpioa there/);
  });

  it("a wrong call sequence, ODR written by the program, breaks the BSRR rule", () => {
    const odr: Scenario = {
      name: "stm32f4-gpio-odr-write",
      summary: "PA5 driven by a write of ODR instead of BSRR",
      module: "stm32f4",
      board: "stm32f405",
      run(s) {
        s.expect(OK, "stm32_rcc_enable", s.board.base("rcc"), STM32_CLOCK_GPIOA);
        s.expect(OK, "stm32_gpio_configure", s.board.base("gpioa"), 5, STM32_GPIO_MODE_OUTPUT);
        s.writeRegister("gpioa", "ODR", 1 << 5);
      },
    };
    const run = runScenario(odr);
    const broken = failed(gpioRules(run.board.bus));
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatch(/^gpioa: ODR never written:\nexpected the trace never to write gpioa\.ODR, but it does 1 time:\n {2}#\d+ W32 gpioa\+0x014 ODR 0x00000020 \(ODR5\) outside any export call/);
  });

  it("the lint rule fails where a register rule is broken: SR cleared by a read-modify-write", () => {
    const rmw: Scenario = {
      name: "stm32f4-usart-sr-rmw",
      summary: "TC cleared by SR &= ~TC, which also clears RXNE",
      module: "stm32f4",
      board: "stm32f405",
      run(s) {
        s.expect(OK, "stm32_rcc_enable", s.board.base("rcc"), STM32_CLOCK_USART1);
        s.expect(OK, "stm32_usart_init", s.board.base("usart1"), 16_000_000, 115200, 0);
        // What `USART1->SR &= ~USART_SR_TC` compiles to: a read of SR, then the write.
        const sr = s.board.bus.read(s.board.base("usart1"), 4);
        s.writeRegister("usart1", "SR", sr & ~(1 << 6));
      },
    };
    const run = runScenario(rmw);
    run.board.hal.lintInTests = false; // broken on purpose: test/setup.ts would lint it again
    const lint = checkLintClean(run.board.bus);
    expect(lint.pass).toBe(false);
    expect(lint.message).toMatch(/error w0c-read-modify-write: W32 usart1\+0x000 SR 0x00000080: writes 0 to CTS, LBD, RXNE, read as 0 at #\d+/);
  });
});

