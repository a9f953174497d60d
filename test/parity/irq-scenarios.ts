// Parity scenarios with interrupts: the interrupt-driven PL011 (assembly/pl011-irq.ts) on the
// versatile board's models (fixtures/boards/versatile.json: UART0 on line 12 of the interrupt
// controller model), once with each delivery mode of harness/interrupts.ts. The C host repeats
// them with its own delivery (boards/wamr/hal_irq.c): a scripted ISR raises each line where the
// recording says (test/parity/scenario.ts), and the C trace must be Node's, the handlers' entries,
// accesses and returns included.
import { expect } from "vitest";
import { buildBoard, loadBoardFile } from "../../harness/board-file.js";
import type { DeliveryMode } from "../../harness/interrupts.js";
import { Pl011Model } from "../../harness/devices/pl011.js";
import { OK, ERR_NO_HANDLER, ERR_INVALID_ARG } from "../../harness/generated/api.js";
import { OP_IRQ, IRQ_ENTER, FLAG_IRQ } from "../../harness/trace.js";
import { ENTER_PREEMPTIVE } from "../../harness/interrupts.js";
import { RecordingHal } from "./recording-hal.js";
import { ScenarioContext, type Scenario } from "../../harness/scenario.js";
import PROJECT_IRQ_SCENARIOS from "../../harness/scenarios-irq.js";
import type { ParityScenario, Rig } from "./suite.js";

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const UART_LINE = 12;
/** GPIO0's line on the versatile board; no driver claims it here. */
const SPARE_LINE = 6;

/** Handler entries of a run: inside calls and between them, and how many were preemptive. */
export function handlerEntries(rig: Rig): { inCalls: number; betweenCalls: number; preemptive: number } {
  let inCalls = 0, betweenCalls = 0, preemptive = 0;
  for (const e of rig.bus.trace.entries()) {
    if (e.op !== OP_IRQ || e.width !== IRQ_ENTER) continue;
    if (e.call >= 0 || (e.flags & FLAG_IRQ) !== 0) inCalls++;
    else betweenCalls++;
    if ((e.value & ENTER_PREEMPTIVE) !== 0) preemptive++;
  }
  return { inCalls, betweenCalls, preemptive };
}

function pl011IrqScenario(mode: DeliveryMode): Rig {
  let hal!: RecordingHal;
  const board = buildBoard(loadBoardFile("versatile"), {
    makeHal: (bus, variant, modulePath, options) => (hal = new RecordingHal(bus, variant, modulePath, options)),
  });
  // The board's own setup call (pl080_set_memory_address) is not in the trace; the PL011 needs
  // nothing of it.
  hal.forgetSetup();
  const interrupts = board.deliverInterrupts({ mode });
  const uart = board.model("uart0", Pl011Model);
  const irqc = board.base("irqc");
  const base = board.base("uart0");
  const scratch = hal.call("hal_scratch");
  const ctx = scratch + 2048;

  expect(hal.call("hal_irq_controller", irqc, irqc + 0x80)).toBe(OK);
  // A line no driver claimed: the handler export touches nothing.
  expect(hal.call("hal_irq_dispatch", 5)).toBe(ERR_NO_HANDLER);
  expect(hal.call("pl011_irq_open", ctx, base, 24_000_000, 115_200, 0, UART_LINE)).toBe(OK);

  // A spurious interrupt on a line no driver claimed, enabled at the controller, pending from
  // the 13th access of pl011_irq_write on: deferred, it waits for the end of the call (the
  // write has no wait point); preemptive, it is taken at that access. Its handler finds no
  // driver and touches nothing (ERR_NO_HANDLER).
  const controller = board.interruptController();
  controller.setEnabled(SPARE_LINE, true);
  let injectAt = -1;
  interrupts.boundaryChecks.push((at) => {
    if (at.entry === injectAt) {
      injectAt = -1;
      interrupts.inject(SPARE_LINE);
    }
  });

  // More than the TX FIFO holds: the handler refills it while pl011_irq_flush polls FR.
  const text = ascii("Hello from interrupts, twenty-something bytes!\r\n");
  hal.writeBytes(text, scratch);
  injectAt = board.bus.trace.length + 12;
  expect(hal.call("pl011_irq_write", ctx, scratch, text.length)).toBe(text.length);
  expect(injectAt).toBe(-1);
  uart.receive(ascii("ABCD"));
  expect(hal.call("pl011_irq_flush", ctx)).toBe(OK);
  expect(uart.wire.slice(0, text.length)).toEqual(text);
  expect(hal.call("pl011_irq_read", ctx, scratch + 1024, 64)).toBe(4);
  expect(Array.from(hal.readBytes(scratch + 1024, 4))).toEqual(ascii("ABCD"));

  // Characters that arrive while no call runs: the main loop's idle wait delivers them.
  uart.receive(ascii("ok\n"));
  interrupts.idle(2_000_000);
  expect(hal.call("pl011_irq_read", ctx, scratch + 1024, 64)).toBe(3);
  expect(Array.from(hal.readBytes(scratch + 1024, 3))).toEqual(ascii("ok\n"));

  expect(hal.call("pl011_irq_close", ctx)).toBe(OK);
  expect(hal.call("pl011_irq_write", ctx, scratch, 1)).toBe(ERR_INVALID_ARG);
  return { bus: board.bus, hal };
}

/** One of the package's interrupt scenarios (harness/scenarios-irq.ts) on a recording Hal. */
function fromScenario(name: string): Rig {
  const scenario: Scenario | undefined = PROJECT_IRQ_SCENARIOS.find((x) => x.name === name);
  if (scenario === undefined) throw new Error(`harness/scenarios-irq.ts has no scenario ${name}`);
  let hal!: RecordingHal;
  const board = buildBoard(loadBoardFile(scenario.board), {
    makeHal: (bus, variant, modulePath, options) => (hal = new RecordingHal(bus, variant, modulePath, options)),
  });
  hal.forgetSetup();
  scenario.run(new ScenarioContext(scenario, board));
  return { bus: board.bus, hal };
}

export const IRQ_SCENARIOS: readonly ParityScenario[] = [
  { title: "PL011 with interrupts, deferred delivery: open, a write the handler finishes during flush's polls, receive, idle, close", run: () => pl011IrqScenario("deferred") },
  { title: "PL011 with interrupts, preemptive delivery: the same run, handlers entered between any two accesses", run: () => pl011IrqScenario("preemptive") },
  // The other interrupt-driven drivers, through the package's own scenarios.
  { title: "PL061 with interrupts, deferred: edges and a held level watched, each reported once per take (pl061-irq-edges-level)", run: () => fromScenario("pl061-irq-edges-level") },
  { title: "PL080 with interrupts, deferred: a copy that completes and one that faults, reported by the handler (pl080-irq-memcpy)", run: () => fromScenario("pl080-irq-memcpy") },
  { title: "PL022 with interrupts, deferred: a 32-frame flash read driven by the RX interrupt (pl022-irq-flash-read)", run: () => fromScenario("pl022-irq-flash-read") },
];
