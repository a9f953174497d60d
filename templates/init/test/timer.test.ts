// The timer driver against the timer model, through the real module (build/hal.wasm), with the
// trace matchers of wasm-hal/vitest. Numbers come from the datasheet (docs/timer.md): a 1 MHz
// TIMCLK, SYNCBUSY for 2 cycles, 100 ns a bus access on the board. The register lint runs after
// every test (vitest.config.mts, setupFiles).
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import "wasm-hal/vitest";
import { loadBoard, loadProject, prepareProject } from "wasm-hal";
import type { TimerModel } from "../models/timer.mjs";
import { api } from "../lib/api.mjs";

const project = await loadProject(fileURLToPath(new URL("..", import.meta.url)));
// Registers the project's device kinds (models/*.mjs), so that board files can name them.
await prepareProject(project);

const { OK, ERR_INVALID_ARG, ERR_TIMEOUT, TIMER_CONFIG_PERIODIC, TIMER_CONFIG_IRQ, TIMER_CONFIG_DIV16 } =
  api(project.registry, "OK", "ERR_INVALID_ARG", "ERR_TIMEOUT", "TIMER_CONFIG_PERIODIC", "TIMER_CONFIG_IRQ", "TIMER_CONFIG_DIV16");

/** The example board (boards/devboard.json), built afresh: its bus, its module and the timer.
 * The model is taken from the board, not imported: the board's device kind made it. */
function devboard() {
  const board = loadBoard("devboard", { project });
  return { bus: board.bus, hal: board.hal, base: board.base("timer0"), timer: board.device("timer0") as TimerModel };
}

describe("timer_start (docs/timer.md 4)", () => {
  test("stops the timer, writes LOAD, waits for SYNCBUSY to clear, then starts it", () => {
    const { bus, hal, base, timer } = devboard();
    expect(hal.call("timer_start", base, 100, TIMER_CONFIG_PERIODIC)).toBe(OK);
    expect(bus).toContainAccessesInOrder(
      "W timer0.CTRL ENABLE=0",
      "W timer0.LOAD 100",
      "R timer0.STATUS SYNCBUSY=0",
      "W timer0.CTRL ENABLE=1 PERIODIC=1 PRESCALE=DIV1",
    );
    // SYNCBUSY lasts 2 TIMCLK cycles, 2 µs at 1 MHz: the LOAD write at 200 ns is followed by
    // reads at 300, 400, ... ns, and the one at 2.2 µs is the first to find it clear. So the
    // driver reads STATUS 20 times, and each read is a real bus read (not hoisted out of the loop).
    expect(bus).toPollEveryIteration({ read: "timer0.STATUS", times: 20 });
    expect(timer.period).toBe(100);
    expect(timer.startsWithStaleLoad).toBe(0);
  });

  test("refuses bad arguments before touching a register", () => {
    const { bus, hal, base } = devboard();
    expect(hal.call("timer_start", base + 2, 100, 0)).toBe(ERR_INVALID_ARG); // unaligned base
    expect(hal.call("timer_start", base, 0, 0)).toBe(ERR_INVALID_ARG); // no ticks
    expect(hal.call("timer_start", base, 0x8000_0000, 0)).toBe(ERR_INVALID_ARG); // LOAD holds 31 bits
    expect(hal.call("timer_start", base, 100, 0x0c)).toBe(ERR_INVALID_ARG); // PRESCALE 3 is reserved
    expect(bus).toNeverTouch("timer0");
  });

  test("returns ERR_TIMEOUT, and leaves the timer stopped, when TIMCLK does not run", () => {
    const { bus, hal, base, timer } = devboard();
    timer.stopClock();
    // The SYNCBUSY poll is bounded: 4096 reads (assembly/timer.ts), not a hang.
    expect(hal).toReturnWithin(4096 + 3, "timer_start", base, 100, 0);
    expect(hal.call("timer_start", base, 100, 0)).toBe(ERR_TIMEOUT);
    expect(timer.enabled).toBe(false);
    expect(bus).not.toContainAccessesInOrder("W timer0.CTRL ENABLE=1");
  });
});

describe("expiry (docs/timer.md 2.2, 3)", () => {
  test("timer_ack clears EXPIRED through CLEAR, with a DSB before the handler returns", () => {
    const { bus, hal, base, timer } = devboard();
    expect(hal.call("timer_start", base, 100, TIMER_CONFIG_PERIODIC | TIMER_CONFIG_IRQ)).toBe(OK);
    for (let period = 0; period < 2; period++) {
      expect(hal.call("timer_wait", base)).toBe(OK);
      expect(timer.interruptPending()).toBe(true);
      expect(hal.call("timer_ack", base)).toBe(OK);
      expect(timer.interruptPending()).toBe(false);
    }
    expect(bus).toWriteExactly("timer0.CLEAR", [{ fields: { EXPIRED: 1 } }, { fields: { EXPIRED: 1 } }]);
    expect(bus).toHaveBarrierBetween("DSB", "W timer0.CLEAR", "R timer0.STATUS");
    // Periodic: expiries exactly 100 ticks (100 µs) apart.
    expect(timer.expiryTimes[1]! - timer.expiryTimes[0]!).toBe(100_000);
    // CLEAR is the only way EXPIRED is cleared: STATUS is never written.
    expect(bus).toNeverTouch("timer0.STATUS", { op: "write" });
  });

  test("a one-shot run stops at 0; the prescaler divides TIMCLK by 16", () => {
    const { hal, base, timer } = devboard();
    expect(hal.call("timer_start", base, 10, TIMER_CONFIG_DIV16)).toBe(OK);
    const startedAt = timer.startedAt;
    expect(hal.call("timer_wait", base)).toBe(OK);
    // 10 ticks of 16 cycles at 1 MHz: 160 µs.
    expect(timer.expiryTimes[0]! - startedAt).toBe(160_000);
    expect(timer.enabled).toBe(false);
    expect(hal.call("timer_read", base)).toBe(0);
  });

  test("timer_stop holds VALUE, and no expiry follows", () => {
    const { bus, hal, base, timer } = devboard();
    expect(hal.call("timer_start", base, 1000, TIMER_CONFIG_PERIODIC)).toBe(OK);
    bus.settle(250_000); // 250 of the 1000 ticks pass
    expect(hal.call("timer_stop", base)).toBe(OK);
    expect(bus).toContainAccessesInOrder("W timer0.CTRL ENABLE=0", "DSB");
    const left = hal.call("timer_read", base);
    expect(left).toBeGreaterThan(740);
    expect(left).toBeLessThanOrEqual(750);
    bus.settle(2_000_000);
    expect(hal.call("timer_read", base)).toBe(left);
    expect(timer.expiries).toBe(0);
  });
});
