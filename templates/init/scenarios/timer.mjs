// @ts-check
// The project's scenarios: a board, the driver calls a program makes and what the outside world
// does, on the virtual clock only. `wasm-hal check` runs each one and compares its trace with
// fixtures/golden/<name>.trace; `wasm-hal check --update <name>` records it. Besides the golden
// trace, a scenario checks what the hardware must have done, with numbers from the datasheet.
import { defineScenario } from "wasm-hal";
import { TimerModel } from "../models/timer.mjs";
import { api } from "../lib/api.mjs";

/** 100 ticks of the board's 1 MHz TIMCLK: 100 µs. */
const TICKS = 100;

export default [
  defineScenario({
    name: "timer-periodic-100us",
    summary: "the timer counts 100 ticks of its 1 MHz TIMCLK in periodic mode: LOAD crosses into TIMCLK's domain (SYNCBUSY for 2 µs), EXPIRED every 100 µs, cleared through CLEAR, then the timer stops",
    board: "devboard",
    run(s) {
      const { OK, TIMER_CONFIG_PERIODIC, TIMER_CONFIG_IRQ, TIMER_CONFIG_DIV1 } =
        api(s.board.hal.registry, "OK", "TIMER_CONFIG_PERIODIC", "TIMER_CONFIG_IRQ", "TIMER_CONFIG_DIV1");
      const base = s.board.base("timer0");
      // The model, for the checks below: a board whose timer0 is real hardware or a replay has
      // none, and `wasm-hal record --board` refuses this scenario there before touching it.
      const timer = s.model("timer0", TimerModel);
      const tickHz = s.fact("timer0", "tickHz");
      const periodNs = (TICKS * 1e9) / tickHz;

      s.phase("test", "timer_start: stop, LOAD, wait while SYNCBUSY, start periodic with the interrupt on (docs/timer.md 4)");
      s.expect(OK, "timer_start", base, TICKS, TIMER_CONFIG_PERIODIC | TIMER_CONFIG_IRQ | TIMER_CONFIG_DIV1);
      s.check(timer.enabled && timer.period === TICKS, `the timer runs with a period of ${timer.period} ticks: expected ${TICKS}`);
      s.check(timer.startsWithStaleLoad === 0, "the timer was started before LOAD had reached the counter (docs/timer.md 2.1)");
      const startedAt = timer.startedAt;

      s.phase("test", "two periods: timer_wait polls STATUS until EXPIRED, timer_ack clears it through CLEAR with a DSB (3)");
      for (let period = 1; period <= 2; period++) {
        s.expect(OK, "timer_wait", base);
        s.check(timer.interruptPending(), `TIMINTR is low after expiry ${period}: expected it high (EXPIRED and IRQEN)`);
        s.expect(OK, "timer_ack", base);
        s.check(!timer.interruptPending(), `TIMINTR is still high after timer_ack in period ${period}`);
      }
      const [first, second] = timer.expiryTimes;
      s.check(first === startedAt + periodNs, `the first expiry came ${(first ?? NaN) - startedAt} ns after the start: expected ${periodNs} (${TICKS} ticks at ${tickHz} Hz)`);
      s.check(second === first + periodNs, `the expiries are ${(second ?? NaN) - (first ?? NaN)} ns apart: expected ${periodNs}`);

      s.phase("test", "timer_stop, then timer_read: VALUE holds the ticks that were left (2.2)");
      s.expect(OK, "timer_stop", base);
      const left = s.call("timer_read", base);
      s.check(!timer.enabled && left === timer.heldValue && left > 0 && left <= TICKS, `timer_read returned ${left} after the stop: expected VALUE, 1..${TICKS}`);
    },
  }),
];
