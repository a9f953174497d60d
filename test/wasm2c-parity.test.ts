// The very same build/hal.wasm outside Node: translated to C by wasm2c, linked with the C natives
// of boards/wamr/ (the ones a WAMR board links), run natively. For each driver a scenario runs in
// Node against the behavioural models; the values the models returned to the CPU's reads become
// the C host's scripted answers, the bytes the test put into linear memory and the export calls
// are repeated, and the C host's trace must be the Node trace, byte for byte once both are in one
// canonical form (absolute addresses, no register names, no DMA-master accesses). That shows the
// module needs nothing from Node and that the C natives do what the harness's bus does: one
// access per call, of the same width, at the same address, with the same value, barriers in
// place, and refused accesses ending the call.
//
// Needs wasm2c (Debian: wabt) and a C compiler. Without them the suite is skipped, except in CI
// (CI=true), where it fails: there the parity check is part of the promise.
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { Bus, type Device } from "../harness/bus.js";
import { wasmPath } from "../harness/hal.js";
import { formatAccess, parseTrace } from "../harness/trace-text.js";
import { OP_IRQ, OP_READ, IRQ_ENTER, FLAG_DMA, FLAG_FAULT } from "../harness/trace.js";
import { VERSATILE } from "../harness/board.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { Pl022Model } from "../harness/devices/pl022.js";
import { Pl061Model } from "../harness/devices/pl061.js";
import { Pl080Model } from "../harness/devices/pl080.js";
import { Ram, LinearMemoryRam } from "../harness/devices/ram.js";
import { DMA_BREQ, DMA_SREQ, type DmaDirection, type DmaRequester } from "../harness/devices/signals.js";
import { SpiNorFlash, SpiNorHost, halSpiPort } from "../harness/devices/spi.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { PL022_MAP } from "../harness/generated/pl022.js";
import { PL061_MAP } from "../harness/generated/pl061.js";
import { PL080_MAP } from "../harness/generated/pl080.js";
import {
  OK, ERR_INVALID_ARG, PL061_IRQ_EDGE_RISING, PL080_CONFIG_WIDTH_BYTE, PL080_CONFIG_WIDTH_WORD, PL080_CONFIG_BURST_4,
} from "../harness/generated/api.js";
import { RecordingHal } from "./parity/recording-hal.js";
import { canonicalText } from "./parity/canonical.js";
import { buildIrqTest, buildNativesTest, checkBoardSources, findToolchain } from "./parity/toolchain.js";
import { parityChecks, runInC, runInNode, type ParityScenario, type Rig } from "./parity/suite.js";
import { IRQ_SCENARIOS, handlerEntries } from "./parity/irq-scenarios.js";

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** A peripheral that always asks for DMA (both directions) and always has data: it paces
 * nothing, so the PL080 runs at its own speed. Its data register is at offset 0. */
class ReadyPort implements Device, DmaRequester {
  readonly received: number[] = [];
  private next = 0x30;
  read(): number {
    return this.next++ & 0xff;
  }
  write(_offset: number, value: number): void {
    this.received.push(value);
  }
  dmaRequests(_direction: DmaDirection): number {
    return DMA_SREQ | DMA_BREQ;
  }
}


// ---------------------------------------------------------------------------------------------
// One scenario per driver, each touching every export of the driver.

const UART = VERSATILE.uart0;
const UNMAPPED = 0x3000_0000;

function pl011Scenario(): Rig {
  const bus = new Bus();
  const uart = new Pl011Model({ clock: bus.clock, uartclkHz: VERSATILE.uartclkHz });
  bus.map({ name: "uart0", base: UART, size: PL011_MAP.size, device: uart, map: PL011_MAP });
  const hal = new RecordingHal(bus);
  expect(hal.call("hal_abi_version")).toBe(1);
  const scratch = hal.call("hal_scratch");
  expect(hal.call("hal_scratch_size")).toBeGreaterThanOrEqual(4096);

  expect(hal.call("pl011_init", UART, VERSATILE.uartclkHz, 115_200, 0)).toBe(OK);
  const hello = ascii("Hello from the board\r\n");
  hal.writeBytes(hello, scratch);
  expect(hal.call("pl011_write", UART, scratch, hello.length)).toBe(hello.length);
  expect(hal.call("pl011_flush", UART)).toBe(OK);
  expect(uart.wire.slice(0, hello.length)).toEqual(hello);

  uart.receive(ascii("ok\n"));
  bus.settle(1_000_000);
  expect(hal.call("pl011_read", UART, scratch + 256, 16)).toBe(3);
  expect(Array.from(hal.readBytes(scratch + 256, 3))).toEqual(ascii("ok\n"));

  // Refused before any access; then a base where nothing is mapped: the first access faults.
  expect(hal.call("pl011_init", UART, 0, 115_200, 0)).toBe(ERR_INVALID_ARG);
  expect(hal.callMayThrow("pl011_write", UNMAPPED, scratch, 1)).toBeUndefined();
  return { bus, hal };
}

const SSP = 0x1000_5000;
const SSPCLK = 24_000_000;

function pl022Scenario(): Rig {
  const bus = new Bus();
  const ssp = new Pl022Model({ clock: bus.clock, sspclkHz: SSPCLK });
  bus.map({ name: "ssp0", base: SSP, size: 0x1000, device: ssp, map: PL022_MAP });
  const flash = new SpiNorFlash({ clock: bus.clock, jedecId: [0xef, 0x40, 0x14] });
  const cs = ssp.attach(flash);
  const hal = new RecordingHal(bus);
  expect(hal.call("pl022_init", SSP, SSPCLK, 1_000_000, 0)).toBe(OK);
  const port = halSpiPort(hal, SSP, { chipSelect: (active) => ssp.chipSelect(cs, active) });
  const host = new SpiNorHost(port, { delay: (ns) => bus.settle(ns), pollIntervalNs: 100_000 });
  expect(host.readJedecId()).toEqual([0xef, 0x40, 0x14]);
  host.writeEnable();
  host.pageProgram(0x100, ascii("parity"));
  expect(Array.from(host.read(0x100, 6))).toEqual(ascii("parity"));
  return { bus, hal };
}

/** The PL061 of QEMU's virt board. */
const GPIO = 0x0903_0000;

function pl061Scenario(): Rig {
  const bus = new Bus();
  const gpio = new Pl061Model({ clock: bus.clock });
  bus.map({ name: "gpio", base: GPIO, size: 0x1000, device: gpio, map: PL061_MAP });
  const hal = new RecordingHal(bus);
  expect(hal.call("pl061_set_direction", GPIO, 0xff, 0x0f)).toBe(OK);
  expect(hal.call("pl061_write", GPIO, 0x0f, 0x05)).toBe(OK);
  gpio.driveInputs(0xf0, 0xa0);
  expect(hal.call("pl061_read", GPIO, 0xff)).toBe(0xa5);
  expect(hal.call("pl061_irq_config", GPIO, 0x10, PL061_IRQ_EDGE_RISING)).toBe(OK);
  gpio.drive(4, true);
  expect(hal.call("pl061_irq_status", GPIO)).toBe(0x10);
  expect(hal.call("pl061_irq_clear", GPIO, 0x10)).toBe(OK);
  expect(hal.call("pl061_irq_status", GPIO)).toBe(0);
  expect(hal.call("pl061_irq_disable", GPIO, 0x10)).toBe(OK);
  expect(hal.call("pl061_irq_config", GPIO, 0x10, 99)).toBe(ERR_INVALID_ARG);
  return { bus, hal };
}

const DMAC = 0x1013_0000;
const RAM = 0x2000_0000;
const LINEAR = 0x8000_0000;
const PORT = 0x101f_2000;

function pl080Scenario(): Rig {
  const bus = new Bus();
  const dmac = new Pl080Model(bus, bus.clock);
  bus.map({ name: "dmac", base: DMAC, size: 0x1000, device: dmac, map: PL080_MAP });
  const ram = new Ram(0x1_0000);
  for (let i = 0; i < 0x400; i++) ram.bytes[i] = (i * 7 + 3) & 0xff;
  bus.map({ name: "ram", base: RAM, size: ram.size, device: ram });
  const port = new ReadyPort();
  bus.map({ name: "port", base: PORT, size: 0x1000, device: port });
  dmac.connectRequest(2, port, "tx");
  dmac.connectRequest(3, port, "rx");
  const hal = new RecordingHal(bus);
  bus.map({ name: "linear", base: LINEAR, size: hal.memory.buffer.byteLength, device: new LinearMemoryRam(() => hal.memory.buffer) });

  expect(hal.call("pl080_set_memory_address", LINEAR)).toBe(OK);
  expect(hal.call("pl080_init", DMAC)).toBe(OK);
  expect(hal.call("pl080_memcpy", DMAC, 0, RAM + 0x100, RAM + 0x1000, 256, PL080_CONFIG_WIDTH_WORD | PL080_CONFIG_BURST_4)).toBe(OK);
  expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
  expect(Array.from(ram.bytes.slice(0x1000, 0x1100))).toEqual(Array.from(ram.bytes.slice(0x100, 0x200)));

  const list = new Uint32Array([RAM + 0x000, RAM + 0x2000, 16, RAM + 0x300, RAM + 0x2100, 40]);
  const at = hal.writeBytes(new Uint8Array(list.buffer));
  expect(hal.call("pl080_sg", DMAC, 4, at, 2, 0)).toBe(OK);
  expect(hal.call("pl080_wait", DMAC, 4)).toBe(OK);
  expect(Array.from(ram.bytes.slice(0x2100, 0x2100 + 40))).toEqual(Array.from(ram.bytes.slice(0x300, 0x300 + 40)));

  expect(hal.call("pl080_mem_to_periph", DMAC, 1, RAM, PORT, 16, 2, PL080_CONFIG_WIDTH_BYTE)).toBe(OK);
  expect(hal.call("pl080_wait", DMAC, 1)).toBe(OK);
  expect(port.received).toEqual(Array.from(ram.bytes.slice(0, 16)));
  expect(hal.call("pl080_periph_to_mem", DMAC, 2, PORT, RAM + 0x600, 8, 3, PL080_CONFIG_WIDTH_BYTE)).toBe(OK);
  expect(hal.call("pl080_wait", DMAC, 2)).toBe(OK);
  expect(hal.call("pl080_stop", DMAC, 3)).toBe(OK);
  expect(hal.call("pl080_memcpy", DMAC, 9, RAM, RAM + 0x100, 16, 0)).toBe(ERR_INVALID_ARG);
  return { bus, hal };
}

const SCENARIOS: readonly ParityScenario[] = [
  { title: "PL011: init, write, flush, read, a refused init and a write to an unmapped base", run: pl011Scenario },
  { title: "PL022: init, then an SPI NOR flash's ID, a page program with status polls and a read back", run: pl022Scenario },
  { title: "PL061: direction, write, read, a rising-edge interrupt raised, seen, cleared and disabled", run: pl061Scenario },
  { title: "PL080: init, a memory copy, a scatter-gather chain, both peripheral directions, stop", run: pl080Scenario },
  // The interrupt-driven PL011, deferred and preemptive (test/parity/irq-scenarios.ts).
  ...IRQ_SCENARIOS,
];

// ---------------------------------------------------------------------------------------------

parityChecks("hal.wasm", wasmPath("release"), findToolchain(), SCENARIOS, "", (host, toolchain) => {
  it("notices a C host that answers differently: a changed answer gives another trace", () => {
    const node = runInNode(SCENARIOS[2]!);
    // The first read's answer changes: the value read is in the trace, and what the driver
    // does next may change too.
    const tampered = { ...node, scenario: node.scenario.replace(/^answer 0x[0-9a-f]{8}/m, "answer 0x5a5a5a5a") };
    expect(tampered.scenario).not.toBe(node.scenario);
    const c = runInC(host(), tampered, 99);
    expect(canonicalText(c.trace, "c")).not.toBe(canonicalText(node.traceText, "node"));
  });

  it("the interrupt scenarios enter handlers inside calls and between them, in both modes", () => {
    const deferred = handlerEntries(IRQ_SCENARIOS[0]!.run());
    const preemptive = handlerEntries(IRQ_SCENARIOS[1]!.run());
    expect(deferred.inCalls).toBeGreaterThan(0);
    expect(deferred.betweenCalls).toBeGreaterThan(0);
    expect(deferred.preemptive).toBe(0);
    expect(preemptive.preemptive).toBeGreaterThan(0);
    expect(preemptive.betweenCalls).toBeGreaterThan(0);
  });

  it("notices a C host that delivers interrupts elsewhere: preemptive delivery of a deferred run gives another trace", () => {
    const node = runInNode(IRQ_SCENARIOS[0]!);
    expect(node.scenario).toMatch(/^interrupts deferred$/m);
    expect(node.scenario).toMatch(/^raise 12 \d+$/m);
    // Deferred, the spare line raised inside pl011_irq_write waits for the call's end ...
    expect(node.traceText).toMatch(/^return 48\n\nirq enter 6\b/m);
    const tampered = { ...node, scenario: node.scenario.replace(/^interrupts deferred$/m, "interrupts preemptive") };
    const c = runInC(host(), tampered, 98);
    expect(canonicalText(c.trace, "c")).not.toBe(canonicalText(node.traceText, "node"));
    // ... preemptive, it is taken inside the call, at the access it was raised at.
    expect(c.trace).toMatch(/^ {2}irq enter 6 preemptive$/m);
  });

  it("a handler that traps ends the interrupted call, and the calls after it run", () => {
    // The deferred run, with the scripted answers cut three reads into the first handler entered
    // inside a call: its next read is refused (no answer left), which must end pl011_irq_flush
    // as a trap in a handler ends the interrupted call in Node, with no handler level left over.
    const node = runInNode(IRQ_SCENARIOS[0]!);
    const parsed = parseTrace(node.traceText, "node");
    const firstInCall = parsed.accesses.find((a) => a.op === OP_IRQ && a.width === IRQ_ENTER && a.call >= 0)!;
    const readsBefore = parsed.accesses.filter((a) => a.line < firstInCall.line && a.op === OP_READ && (a.flags & (FLAG_DMA | FLAG_FAULT)) === 0).reduce((n, a) => n + a.repeat, 0);
    let left = readsBefore + 3;
    const scenario = node.scenario.split("\n").flatMap((line) => {
      const m = /^answer (0x[0-9a-f]{8})(?: x(\d+))?$/.exec(line);
      if (m === null) return [line];
      const take = Math.min(left, Number(m[2] ?? 1));
      left -= take;
      return take === 0 ? [] : [`answer ${m[1]}${take > 1 ? ` x${take}` : ""}`];
    }).join("\n");
    const c = runInC(host(), { ...node, scenario }, 97);
    expect(c.stderr).toMatch(/pl011_irq_flush did not return: read of 4 bytes at 0x101f1018: no scripted answer left/);
    expect(c.trace).toMatch(/^ {4}isr fault R32 uart0\+0x018 +0x00000000\nthrew\n\ncall pl011_irq_read\(3072, 2048, 64\)\nreturn 4\n/m);
    parseTrace(c.trace, "c");
  });

  it("the interrupt core's self-test passes (wait points, order, unmasking, traps, nesting)", () => {
    const r = spawnSync(buildIrqTest(toolchain), [], { encoding: "utf8", timeout: 10_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/irq core self-test: \d+ passed, 0 failed/);
  });

  it("the board C code no parity host links compiles: the WAMR natives, hal-run, the small-board options", () => {
    expect(checkBoardSources(toolchain).length).toBe(6);
  });

  it("the natives core's self-test passes, and its trace lines are the harness's", () => {
    const program = buildNativesTest(toolchain);
    const r = spawnSync(program, ["--print-trace"], { encoding: "utf8", timeout: 10_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/natives self-test: \d+ passed, 0 failed/);
    const text = r.stdout.slice(0, r.stdout.indexOf("natives self-test:"));
    const parsed = parseTrace(text, "hal-natives-test");
    // Each access line, as harness/trace-text.ts would write it with the same regions and no
    // register names, is the line the C core wrote.
    const regions = parsed.regions.map((d) => ({ name: d.name, base: d.base, size: d.size, end: d.base + d.size, index: undefined }));
    const lines = text.split("\n");
    for (const a of parsed.accesses) {
      expect(lines[a.line - 1]!.trim()).toBe(formatAccess(a, regions));
    }
    expect(parsed.accesses.length).toBeGreaterThan(15);
  });
});
