// @ts-check
// The fuzz target of the timer driver (`npx wasm-hal fuzz timer --runs 1000 --seed 1`): random
// sequences of driver calls with random and edge-case arguments, the counter clock stopping,
// time passing, and register reads answered with values the fuzzer chooses, each call checked
// (by the harness) to return within its budget, to return a documented status, to refuse bad
// arguments before touching a register and to keep the register lint clean, and (here) against
// a deliberately simple model of what the call must have done. Findings are shrunk and saved
// under fixtures/fuzz/ as replayable traces (wasm-hal's docs/fuzzing.md).
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { JsonObject, Session, defineFuzzTarget, describeCommon, loadBoardFile, loadDeviceKinds, loadProject, num, waitStep } from "wasm-hal";
import { TimerModel } from "../models/timer.mjs";
import { api } from "../lib/api.mjs";

/** @typedef {import("wasm-hal").FuzzStep} Step */
/** @typedef {import("wasm-hal").Target} Target */
/** @typedef {import("wasm-hal").World} World */

/** @param {string} problem @returns {never} */
function fail(problem) {
  throw new Error(`fuzz/timer.mjs: ${problem}`);
}

// The project's numbers: the register map, the API files, and the timer of the example board.
const project = await loadProject(fileURLToPath(new URL("..", import.meta.url)));
const block = project.registry.block("timer") ?? fail("the project has no register map named timer");
const {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, TIMER_TICKS_MAX,
  TIMER_CONFIG_PERIODIC, TIMER_CONFIG_IRQ, TIMER_CONFIG_PRESCALE_MASK, TIMER_CONFIG_PRESCALE_SHIFT, TIMER_CONFIG_DIV256,
} = api(project.registry, "OK", "ERR_INVALID_ARG", "ERR_TIMEOUT", "TIMER_TICKS_MAX",
  "TIMER_CONFIG_PERIODIC", "TIMER_CONFIG_IRQ", "TIMER_CONFIG_PRESCALE_MASK", "TIMER_CONFIG_PRESCALE_SHIFT", "TIMER_CONFIG_DIV256");
// A --jobs worker imports this module on its own: the board file names the kind "timer", which
// only a loaded device module defines (once per process; again is a no-op).
await loadDeviceKinds(project);
const board = loadBoardFile("devboard", project);
const region = board.regions.find((r) => r.name === "timer0") ?? fail("boards/devboard.json has no region timer0");
const BASE = region.base;
const TICK_HZ = new JsonObject(board.fileName, region.device.path, region.device.options).integer("tickHz");

/** The driver's named poll limits (assembly/timer.ts): a call making more accesses is a hang. */
const SYNC_POLL_LIMIT = 4096;
const WAIT_POLL_LIMIT = 2 ** 20;
/** Steps predicted to take more accesses than this are skipped unless --step-limit says other. */
const DEFAULT_STEP_LIMIT = 200_000;
const CONFIG_BITS = TIMER_CONFIG_PERIODIC | TIMER_CONFIG_IRQ | TIMER_CONFIG_PRESCALE_MASK;

/** @type {readonly import("wasm-hal").ExportSpec[]} */
const EXPORTS = [
  // CTRL, LOAD, the SYNCBUSY poll, CTRL.
  { name: "timer_start", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => 3 + SYNC_POLL_LIMIT },
  { name: "timer_wait", statuses: [OK, ERR_INVALID_ARG, ERR_TIMEOUT], budget: () => WAIT_POLL_LIMIT },
  // A write and a DSB.
  { name: "timer_ack", statuses: [OK, ERR_INVALID_ARG], budget: () => 2 },
  { name: "timer_stop", statuses: [OK, ERR_INVALID_ARG], budget: () => 2 },
  { name: "timer_read", statuses: [ERR_INVALID_ARG], count: () => TIMER_TICKS_MAX, budget: () => 1 },
];

/**
 * True when the arguments of a call are ones the driver must refuse.
 * @param {string} op @param {number} base @param {number} ticks @param {number} config
 */
function invalid(op, base, ticks, config) {
  if ((base & 3) !== 0) return true;
  if (op !== "start") return false;
  return ticks === 0 || ticks > TIMER_TICKS_MAX || (config & ~CONFIG_BITS) !== 0 || (config & TIMER_CONFIG_PRESCALE_MASK) > TIMER_CONFIG_DIV256;
}

/** @param {number} n */
const hex = (n) => "0x" + (n >>> 0).toString(16);

class TimerSession extends Session {
  /** @param {World} world @param {Target} target @param {number} stepLimit */
  constructor(world, target, stepLimit) {
    super(world, target);
    this.stepLimit = stepLimit;
    /** Expiries before the call being made (timer_ack's check needs them). */
    this.expiriesBefore = 0;
    this.timer = new TimerModel({ clock: world.clock, tickHz: TICK_HZ, block });
    const L = this.timer.layout;
    const device = world.mapDevice(region.name, BASE, block.size, this.timer, block);
    // The datasheet's two ordering rules, judged on what the driver wrote (before the model
    // sees it) while the model's state is what the driver saw: no read replaced.
    device.onWrite = (offset, value) => {
      if (this.world.overridden) return;
      const t = this.timer;
      t.update();
      if (offset === L.LOAD && t.enabled) this.violate("LOAD written while CTRL.ENABLE is 1: the timer ignores it (docs/timer.md 2.1)");
      if (offset === L.CTRL && (value & L.ENABLE) !== 0 && !t.enabled && t.syncPending) {
        this.violate("ENABLE set while STATUS.SYNCBUSY is 1: the counter starts from the previous LOAD (docs/timer.md 2.1)");
      }
    };
  }

  reset() {
    this.timer.reset();
  }

  /** Skips a step predicted to take more accesses than --step-limit (a wait for a far expiry).
   * @param {Step} step */
  check(step) {
    if (step.op !== "wait") return true;
    const t = this.timer;
    t.update();
    if (t.expired) return true;
    if (!t.enabled || t.clockStopped) return WAIT_POLL_LIMIT <= this.stepLimit;
    const waitNs = t.timeOfTick(t.nextExpiryTick) - t.counterTime();
    return waitNs / this.world.clock.accessNs <= this.stepLimit;
  }

  /** @param {Step} step */
  run(step) {
    if (this.runCommon(step)) return;
    const t = this.timer;
    if (step.op === "clock") {
      t.stopClock(step["stopped"] === true);
      return;
    }
    const base = num(step, "base");
    const ticks = step.op === "start" ? num(step, "ticks") >>> 0 : 0;
    const config = step.op === "start" ? num(step, "config") >>> 0 : 0;
    const name = `timer_${step.op}`;
    const args = step.op === "start" ? [base, ticks, config] : [base];
    const result = this.call(name, args);
    if (invalid(step.op, base, ticks, config)) {
      if (result !== ERR_INVALID_ARG) this.fail(name, `${name}(${args.map(hex).join(", ")}) returned ${result}; the arguments are invalid`);
      return;
    }
    // The simple model is judged only while no read was replaced: then the model's state is
    // what the driver saw.
    if (this.world.overridden) return;
    t.update();
    switch (step.op) {
      case "start":
        if (t.clockStopped) {
          if (result !== ERR_TIMEOUT) this.fail(name, `timer_start with TIMCLK stopped returned ${result}: LOAD can never arrive, expected ERR_TIMEOUT`);
          if (t.enabled) this.fail(name, "timer_start returned ERR_TIMEOUT but left the timer running");
          return;
        }
        if (result !== OK) this.fail(name, `timer_start(${ticks}, ${hex(config)}) returned ${result}; expected OK`);
        if (!t.enabled || t.period !== ticks) this.fail(name, `after timer_start(${ticks}) the timer ${t.enabled ? `runs with a period of ${t.period} ticks` : "is stopped"}`);
        if (t.periodic !== ((config & TIMER_CONFIG_PERIODIC) !== 0)) this.fail(name, `timer_start(config ${hex(config)}) left CTRL.PERIODIC ${t.periodic ? 1 : 0}`);
        if (t.interruptPending() || t.expired) this.fail(name, "EXPIRED is set right after the start: setting ENABLE clears it (docs/timer.md 2.3)");
        {
          const divisor = [1, 16, 256][(config & TIMER_CONFIG_PRESCALE_MASK) >>> TIMER_CONFIG_PRESCALE_SHIFT];
          if (t.divisor !== divisor) this.fail(name, `timer_start(config ${hex(config)}) gives ${t.divisor} TIMCLK cycles a tick: expected ${divisor}`);
        }
        return;
      case "wait":
        if (result === OK && !t.expired) this.fail(name, "timer_wait returned OK but EXPIRED is not set");
        if (result === ERR_TIMEOUT && t.expired) this.fail(name, "timer_wait returned ERR_TIMEOUT but EXPIRED is set");
        return;
      case "ack": {
        if (result !== OK) this.fail(name, `timer_ack returned ${result}; expected OK`);
        // A short period may expire again within the call itself.
        const again = t.expiries !== this.expiriesBefore;
        if (t.expired && !again) this.fail(name, "EXPIRED is still set after timer_ack");
        return;
      }
      case "stop":
        if (result !== OK) this.fail(name, `timer_stop returned ${result}; expected OK`);
        if (t.enabled) this.fail(name, "the timer still runs after timer_stop");
        return;
      case "read":
        if (!t.enabled && result !== t.heldValue) this.fail(name, `timer_read of a stopped timer returned ${result}; VALUE holds ${t.heldValue}`);
        if (t.enabled && (result < 1 || result > t.period)) this.fail(name, `timer_read returned ${result}; a running count is 1..${t.period}`);
        return;
      default:
        throw new Error(`timer: unknown step ${step.op}`);
    }
  }

  /** Runs right before each export call. */
  beforeCall() {
    this.timer.update();
    this.expiriesBefore = this.timer.expiries;
  }

  finish() {}
}

/**
 * The steps, weighted. Response overrides are made here by hand, each counted as an "impossible
 * world" (a value the hardware may never produce); wasm-hal's respondSteps can make legal ones
 * instead, taking the bits the hardware changes from the register map (docs/fuzzing.md).
 *
 * @param {import("wasm-hal").StepOptions} _options
 */
function steps(_options) {
  const base = fc.oneof({ weight: 15, arbitrary: fc.constant(BASE) }, { weight: 1, arbitrary: fc.constantFrom(BASE + 1, BASE + 2) });
  const ticks = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 300 }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 5000 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, TIMER_TICKS_MAX, TIMER_TICKS_MAX + 1, 0x80000000, 0xffffffff) },
  );
  const validConfig = fc.record({ periodic: fc.boolean(), irq: fc.boolean(), prescale: fc.constantFrom(0, 0, 0, 1, 2) })
    .map((c) => (c.periodic ? TIMER_CONFIG_PERIODIC : 0) | (c.irq ? TIMER_CONFIG_IRQ : 0) | (c.prescale << TIMER_CONFIG_PRESCALE_SHIFT));
  const config = fc.oneof({ weight: 8, arbitrary: validConfig }, { weight: 1, arbitrary: fc.constantFrom(0x0c, 0x10, 0xff, 0xffffffff) });
  /** @param {string} op */
  const call = (op) => base.map((b) => /** @type {Step} */ ({ op, base: b }));
  const respond = fc.record({
    register: fc.constantFrom("STATUS", "STATUS", "VALUE", "LOAD", "CTRL"),
    skip: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 32 }) }),
    // 0: every read from then on (a stuck register).
    count: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) }),
    mask: fc.oneof(fc.constant(0xffffffff), fc.integer({ min: 0, max: 31 }).map((b) => 2 ** b)),
    value: fc.integer({ min: 0, max: 0xffffffff }),
  }).map((r) => /** @type {Step} */ ({ op: "respond", region: region.name, register: r.register, skip: r.skip, count: r.count, mask: r.mask >>> 0, value: (r.value & r.mask) >>> 0, legal: false }));
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ base, ticks, config }).map((s) => /** @type {Step} */ ({ op: "start", ...s })) },
    { weight: 3, arbitrary: call("wait") },
    { weight: 2, arbitrary: call("ack") },
    { weight: 1, arbitrary: call("stop") },
    { weight: 2, arbitrary: call("read") },
    { weight: 1, arbitrary: fc.boolean().map((stopped) => /** @type {Step} */ ({ op: "clock", stopped })) },
    { weight: 2, arbitrary: respond },
    { weight: 1, arbitrary: waitStep },
  );
}

/** A step in words, for reports. @param {Step} step */
function describe(step) {
  const common = describeCommon(step);
  if (common !== null) return common;
  if (step.op === "clock") return step["stopped"] === true ? "TIMCLK stops" : "TIMCLK runs";
  const at = num(step, "base") === BASE ? "" : ` at base ${hex(num(step, "base"))}`;
  if (step.op === "start") return `timer_start(${num(step, "ticks") >>> 0} ticks, config ${hex(num(step, "config"))})${at}`;
  return `timer_${step.op}()${at}`;
}

/** @param {import("wasm-hal").TargetOptions} options @returns {Target} */
function timerTarget(options) {
  const stepLimit = options.stepAccessLimit ?? DEFAULT_STEP_LIMIT;
  /** @type {Target} */
  const target = {
    name: "timer",
    title: "TIMER countdown timer (docs/timer.md)",
    exports: EXPORTS,
    steps,
    describe,
    open: (world) => new TimerSession(world, target, stepLimit),
  };
  return target;
}

export default [defineFuzzTarget({ name: "timer", create: timerTarget })];
