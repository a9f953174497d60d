// Scenarios (docs/scenarios.md): a board, the driver calls a program would make and the
// stimulus the outside world gives the models, in order, on the virtual clock only, so that a
// scenario produces the same trace on every run. Its trace, in the text form of
// docs/trace-format.md with the scenario's phases and stimulus as comment lines, is what a
// golden file holds (`wasm-hal record`, `wasm-hal check`). A project's scenarios are modules its
// config names; each default-exports a scenario or a list of them (defineScenario types one).
import { type Board, type BuildOptions, type ModelClass, buildBoard, isHardwareKind, loadBoardFile } from "./board-file.js";
import { displayPath, packageProject, type Project } from "./project.js";
import { formatTrace, parseTrace } from "./trace-text.js";
import type { DeliveryMode, Interrupts } from "./interrupts.js";
// ---------------------------------------------------------------------------------------------
// What a scenario is

export interface Scenario {
  /** Says what the hardware does: `pl011-receive-errors`. Also the golden file's name. */
  readonly name: string;
  /** One line for `wasm-hal record --list` and the golden file's first comment. */
  readonly summary: string;
  /** A board's name (a file in the project's boards folder) or a board file's path. */
  readonly board: string;
  /** The project module it runs (a key of the config's `modules`); the default module if absent. */
  readonly module?: string;
  /** The calls and the stimulus, through the context (never the wall clock, never randomness). */
  run(s: ScenarioContext): void;
}

/** A step that needs a model of the harness: the outside world's stimulus, a model used for
 * the run, or an inspection of a model's state (which a board without the model skips). */
export interface ModelStep {
  readonly kind: "stimulus" | "model" | "inspect";
  /** The stimulus's or the inspection's text, or `the Pl011Model of uart0`. */
  readonly text: string;
  /** Made inside an inspection (then skipped where the model is absent). */
  readonly inInspection: boolean;
}

/** A model step on a board whose region has no model (real hardware, a replay). */
export class ModelUnavailable extends Error {
  constructor(readonly region: string, readonly what: string) {
    super(`${what}: region ${region} has no model on this board`);
    this.name = "ModelUnavailable";
  }
}

/** A scenario that cannot run on a board: its steps need models the board does not have. Said
 * before the board is built, so no hardware is touched. */
export class ScenarioCannotRun extends Error {
  constructor(readonly scenario: string, readonly board: string, readonly steps: readonly ModelStep[]) {
    const shown = steps.slice(0, 3).map((s) => `${s.kind} ${JSON.stringify(s.text)}`).join(", ") + (steps.length > 3 ? `, and ${steps.length - 3} more` : "");
    super(`scenario ${scenario} cannot run on board ${board}: ${steps.length} of its steps need a model the board does not have (${shown}); ` +
      "on real hardware or a replay only driver calls and inspections run, so record a scenario that is only driver calls (inspections are skipped there)");
    this.name = "ScenarioCannotRun";
  }
}

/** A scenario's own check failed: the drivers and models did not do what the scenario expects
 * (a wrong return value, wrong bytes on the wire). */
export class ScenarioFailure extends Error {
  constructor(readonly scenario: string, readonly problem: string) {
    super(`scenario ${scenario}: ${problem}`);
    this.name = "ScenarioFailure";
  }
}

/** A comment line the scenario asked for, at a place in the trace: between two calls. */
export interface ScenarioNote {
  readonly kind: "phase" | "note";
  readonly text: string;
  /** Trace entries recorded when the note was made. */
  readonly seq: number;
  /** Export calls made when the note was made. */
  readonly calls: number;
}

/** A CPU access budget for a whole scenario: far above what any scenario needs, low enough
 * that a driver that never returns is stopped in seconds (AccessBudgetExceeded). */
export const SCENARIO_ACCESS_BUDGET = 20_000_000;


/** What a scenario works with: the board, driver calls, stimulus, checks and comments. */
export class ScenarioContext {
  readonly notes: ScenarioNote[] = [];
  /** The steps that needed a model, in order. */
  readonly modelSteps: ModelStep[] = [];
  private inspecting = false;

  constructor(readonly scenario: Scenario, readonly board: Board) {}

  /** A fact of the board about a region's peripheral that driver calls need (a clock rate):
   * from the region's `facts`, else its model's option (Board.fact). */
  fact(region: string, key: string): number {
    return this.board.fact(region, key);
  }

  /** The model of a region, for a stimulus or an inspection. On a board where the region is
   * real hardware or a replay there is none: outside inspect() the scenario cannot run there. */
  model<T>(region: string, type: ModelClass<T>): T {
    const what = `the ${type.name} of ${region}`;
    this.modelSteps.push({ kind: "model", text: what, inInspection: this.inspecting });
    if (this.board.isHardware(region)) throw new ModelUnavailable(region, what);
    return this.board.model(region, type);
  }

  /** A named part of a model (an SPI flash behind an SSP), as model(). */
  part<T>(name: string, type: ModelClass<T>): T {
    const what = `the ${type.name} ${name}`;
    this.modelSteps.push({ kind: "model", text: what, inInspection: this.inspecting });
    if (!this.board.hasPart(name)) throw new ModelUnavailable(name, what);
    return this.board.part(name, type);
  }

  /**
   * A check of models' state after driver calls (the bytes on the wire, the divisor a UART
   * latched). It runs where the board has the models; on real hardware or a replay it is
   * skipped, with a comment in the trace, and the driver calls around it still run.
   */
  inspect(text: string, check: () => void): void {
    this.modelSteps.push({ kind: "inspect", text, inInspection: true });
    const outer = this.inspecting;
    this.inspecting = true;
    try {
      check();
    } catch (e) {
      if (!(e instanceof ModelUnavailable)) throw e;
      this.mark("note", `not checked on this board (${e.message}): ${text}`);
    } finally {
      this.inspecting = outer;
    }
  }

  private mark(kind: ScenarioNote["kind"], text: string): void {
    if (text.includes("\n")) throw new Error(`a scenario comment is one line: ${JSON.stringify(text)}`);
    const trace = this.board.bus.trace;
    this.notes.push({ kind, text, seq: trace.length, calls: trace.calls.length });
  }

  /** Starts a phase (`setup`, `test`): a comment line in the trace before what follows. */
  phase(name: string, doc: string): void {
    this.mark("phase", `phase ${name}: ${doc}`);
  }

  /** A comment line in the trace before what follows. */
  note(text: string): void {
    this.mark("note", text);
  }

  /** Something the outside world does to a model (a byte arriving, a pin driven): noted in the
   * trace, then done. A board without the model cannot run it. */
  stimulus(text: string, action: () => void): void {
    this.modelSteps.push({ kind: "stimulus", text, inInspection: this.inspecting });
    this.mark("note", text);
    action();
  }

  /** A driver call; returns what it returned. */
  call(name: string, ...args: number[]): number {
    return this.board.hal.call(name, ...args);
  }

  /** A driver call that must return `expected`. */
  expect(expected: number, name: string, ...args: number[]): number {
    const result = this.call(name, ...args);
    if (result !== expected) {
      const registry = this.board.hal.registry;
      this.fail(`${registry.formatCall(name, args, this.board.bus.regions)} returned ${registry.formatResult(name, result)}: expected ${registry.formatResult(name, expected)}`);
    }
    return result;
  }

  check(condition: boolean, what: string): void {
    if (!condition) this.fail(what);
  }

  /** Two byte strings must be equal. */
  expectBytes(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
    const a = Array.from(actual);
    const e = Array.from(expected);
    const at = a.findIndex((b, i) => b !== e[i]);
    if (a.length !== e.length || at >= 0) {
      this.fail(`${what}: got ${a.length} bytes [${a.map((b) => b.toString(16).padStart(2, "0")).join(" ")}], expected ${e.length} [${e.map((b) => b.toString(16).padStart(2, "0")).join(" ")}]`);
    }
  }

  fail(problem: string): never {
    throw new ScenarioFailure(this.scenario.name, problem);
  }

  /** A CPU write of a register by name, outside any export (what a program does where the API
   * has no call for it yet); it appears in the trace, unindented. */
  writeRegister(region: string, register: string, value: number): void {
    const r = this.board.region(region);
    const info = r.index?.byName(register);
    if (info === undefined) throw new Error(`region ${region} has no register named ${register}`);
    this.board.bus.write(r.base + info.offset, value, 4);
  }

  /** Lets virtual time pass with no CPU access (a program sleeping); other bus masters run. */
  settle(ns: number): void {
    this.board.bus.settle(ns);
  }

  private delivery: Interrupts | null = null;

  /** From here on, the board's interrupt controller delivers its lines into the module's
   * hal_irq_dispatch in `mode` (docs/interrupts.md), noted in the trace. */
  deliverInterrupts(mode: DeliveryMode): Interrupts {
    this.mark("note", `interrupts are delivered ${mode === "deferred" ? "deferred: between calls and where a driver polls, as a WAMR board does" : "preemptively: between any two accesses, as a CPU takes them"}`);
    this.delivery = this.board.deliverInterrupts({ mode });
    return this.delivery;
  }

  /** Main code waiting for interrupts (a main loop in WFI) for `ns` of virtual time: pending
   * lines are delivered as they come. Needs deliverInterrupts() first. */
  idle(ns: number): void {
    if (this.delivery === null) throw new Error("idle() delivers interrupts: call deliverInterrupts() first");
    this.mark("note", `main code waits ${ns} ns for interrupts`);
    this.delivery.idle(ns);
  }
}

/** Types a scenario in a project's scenario module. */
export function defineScenario(scenario: Scenario): Scenario {
  return scenario;
}

/** A scenario that ran: its board (models inspectable) and its comments. */
export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly board: Board;
  readonly notes: readonly ScenarioNote[];
  /** The project it ran in (paths in the trace's comments are relative to its folder). */
  readonly project: Project;
}

export interface RunOptions extends BuildOptions {
  /** Another board (name or path) in place of the scenario's own. */
  board?: string;
  /** The project whose boards, module and registry the scenario uses (the package's own by
   * default). */
  project?: Project;
}

/** Builds the scenario's board with the project's module and runs it. Throws ScenarioFailure
 * when one of its checks fails, HalError when a call did not return, BoardFileError for a bad
 * board file. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): ScenarioRun {
  const project = options.project ?? packageProject();
  const variant = options.variant ?? "release";
  const build: BuildOptions = {
    variant,
    modulePath: options.modulePath ?? project.modulePath(scenario.module, variant),
    buildHint: project.buildHint(scenario.module),
  };
  const target = options.board ?? scenario.board;
  const description = loadBoardFile(target, project);
  // A board with real hardware or a replay has no models: first find out, on the scenario's own
  // board, which steps need one, and refuse before the other board is built (no window is
  // opened, no register touched) when a step outside an inspection does.
  if (target !== scenario.board && description.regions.some((r) => isHardwareKind(r.device.kind))) {
    // With the project's own module: what a changed driver does there does not matter.
    const own = buildBoard(loadBoardFile(scenario.board, project), { ...build, modulePath: project.modulePath(scenario.module, variant) });
    const needed = modelStepsOf(scenario, own).filter((s) => !s.inInspection);
    if (needed.length > 0) throw new ScenarioCannotRun(scenario.name, description.name, needed);
  }
  return runOn(scenario, buildBoard(description, build), project);
}

/** A scenario's context on a board, with the scenario's access budget set. */
function contextOn(scenario: Scenario, board: Board): ScenarioContext {
  board.bus.setAccessBudget(SCENARIO_ACCESS_BUDGET);
  return new ScenarioContext(scenario, board);
}

/** The model steps of a scenario, found by running it on `board` as far as the run gets. */
function modelStepsOf(scenario: Scenario, board: Board): ModelStep[] {
  const context = contextOn(scenario, board);
  try {
    scenario.run(context);
  } catch {
    // The steps made before the failure are what there is; the real run reports the failure.
  } finally {
    board.close();
  }
  return context.modelSteps;
}

function runOn(scenario: Scenario, board: Board, project: Project): ScenarioRun & { readonly modelSteps: readonly ModelStep[] } {
  const context = contextOn(scenario, board);
  try {
    scenario.run(context);
    // A replay must have seen every recorded access and call by the end of the scenario.
    board.finish();
  } catch (e) {
    board.close();
    // A plain Error from a lookup (a region the board lacks) gets the scenario's name; the
    // harness's own error classes and bugs keep theirs.
    if (e instanceof Error && e.constructor === Error) throw new ScenarioFailure(scenario.name, e.message);
    throw e;
  }
  return { scenario, board, notes: context.notes, project, modelSteps: context.modelSteps };
}

/** A path as a golden file shows it: relative to the project's folder when inside it, with `/`. */
export function scenarioPath(path: string, project: Project = packageProject()): string {
  return displayPath(path, project.root);
}

/**
 * The scenario's trace in the text form, polls collapsed, with comment lines: which scenario and
 * board, the calls the board made while being built (not in the trace), then each phase and
 * stimulus before the lines that follow it. Comments are informational: parseTrace and
 * diffTraces ignore them.
 */
export function formatScenarioTrace(run: ScenarioRun): string {
  const bus = run.board.bus;
  const body = formatTrace(bus.trace, bus.regions, { collapse: true });
  const lines = body.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();

  // Where each note goes: before the first line made after it, a call line or an access line.
  const parsed = parseTrace(body, run.scenario.name, { registry: run.board.hal.registry });
  const anchors: { index: number; after: (note: ScenarioNote) => boolean }[] = [];
  parsed.calls.forEach((c, i) => anchors.push({ index: c.line - 1, after: (note) => i >= note.calls }));
  for (const a of parsed.accesses) anchors.push({ index: a.line - 1, after: (note) => a.seq >= note.seq });
  anchors.sort((x, y) => x.index - y.index);
  const before = new Map<number, ScenarioNote[]>();
  const atEnd: ScenarioNote[] = [];
  for (const note of run.notes) {
    const anchor = anchors.find((a) => a.after(note));
    if (anchor === undefined) atEnd.push(note);
    else before.set(anchor.index, [...(before.get(anchor.index) ?? []), note]);
  }

  const description = run.board.description;
  const header = [
    `# scenario ${run.scenario.name}: ${run.scenario.summary}`,
    `# board ${description.name} (${scenarioPath(description.fileName, run.project)})`,
    ...run.board.setupCalls.map((c) => `# board setup, not traced: ${run.board.hal.registry.formatCall(c.name, c.args, run.board.bus.regions)} returned ${run.board.hal.registry.formatResult(c.name, c.result)}`),
  ];
  let firstEvent = lines.findIndex((l, i) => i > 0 && l !== "" && !l.startsWith("region "));
  if (firstEvent < 0) firstEvent = lines.length;

  const out: string[] = [];
  const emit = (notes: readonly ScenarioNote[]): void => {
    for (const n of notes) {
      if (n.kind === "phase" && out.length > 0 && out[out.length - 1] !== "") out.push("");
      out.push(`# ${n.text}`);
    }
  };
  for (let i = 0; i <= lines.length; i++) {
    if (i === firstEvent) {
      if (out[out.length - 1] !== "") out.push("");
      out.push(...header, "");
    }
    const notes = before.get(i);
    if (notes !== undefined) emit(notes);
    if (i < lines.length) out.push(lines[i]!);
  }
  emit(atEnd);
  while (out[out.length - 1] === "") out.pop();
  return out.join("\n") + "\n";
}
