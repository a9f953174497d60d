// Order-of-access assertions over a recorded trace. The module reaches hardware only through its
// three imports, so the trace holds every access in the order the driver made it; these checks
// say what a driver must do in terms of the register maps: "IBRD and FBRD, then LCR_H", "a DSB
// between programming the channel and enabling it", "FR is read again before every byte", "these
// writes all reach the bus", "every access is 32-bit", "never reads DATA".
//
// Every check comes in two forms: `check*` returns an Outcome (pass, a message for either answer,
// and actual/expected texts for a diff), which the vitest matchers (harness/matchers.ts) and the
// bug zoo (harness/zoo.ts) use; `expect*` throws a TraceAssertionError with the same message.
// A message names the region, register, field values, the entry numbers (#seq), the export call
// that made each access and, when source sites are captured from the debug build, the
// AssemblyScript file and line.
//
// Names resolve through the register maps of the bus regions: "uart0" is a region, "uart0.LCR_H"
// a register in it (the write name of a split register works too: "uart0.ECR"), "dmac.C*Control"
// every register whose name matches the pattern. Field values go by field name: { FEN: 1 }, or a
// named value: { WLEN: "8BIT" }. A mistake in the assertion itself (a region or field that does
// not exist) throws a plain Error at once: it is not an answer about the driver.
import { readFileSync } from "node:fs";
import { AccessBudgetExceeded } from "./bus.js";
import { HalError, type Hal } from "./hal.js";
import { decodeFields, type RegisterInfo } from "./regmap.js";
import { OP_READ, OP_WRITE, OP_BARRIER, OP_IRQ, FLAG_DMA, FLAG_FAULT, FLAG_IRQ, BARRIER_NAMES, Trace, type TraceEntry } from "./trace.js";
import { formatAccess, formatCallLine, type TraceRegion } from "./trace-text.js";
import { lintTrace, lintReport, type LintFinding } from "./lint.js";
import type { GatedAccess, GatedReason } from "./devices/stm32f4/common.js";
import type { DmaLockedWrite } from "./devices/stm32f4/dma.js";

// =============================================================================================
// What a check looks at

/** A trace and the regions that name its addresses. A Bus is one. */
export interface Traced {
  readonly trace: Trace;
  readonly regions: readonly TraceRegion[];
}

/** Part of a trace: entries from..to-1 (to undefined: up to the trace's end when checked). */
export class TraceView implements Traced {
  constructor(
    readonly trace: Trace,
    readonly regions: readonly TraceRegion[],
    readonly from: number,
    readonly to: number | undefined,
    /** How messages name the part: "pl011_write(0x101f1000, 1024, 40)", "phase init". */
    readonly label: string,
  ) {}

  /** One past the last entry, now. */
  get end(): number {
    return Math.min(this.to ?? this.trace.length, this.trace.length);
  }
}

/** What every check accepts: a Bus (or any {trace, regions}), or a view made by within(). */
export type TraceSource = Traced | TraceView;

function viewOf(source: TraceSource): TraceView {
  if (source instanceof TraceView) return source;
  if (typeof source !== "object" || source === null || !(source.trace instanceof Trace) || !Array.isArray(source.regions)) {
    throw new TypeError("a trace check needs a Bus, a { trace, regions } pair or a view from within()");
  }
  return new TraceView(source.trace, source.regions, 0, undefined, "the trace");
}

// ---------------------------------------------------------------------------------------------
// Phases: named ranges a scenario marks beside the trace (the trace's hot path is untouched)

export interface Phase {
  readonly name: string;
  /** First entry of the phase. */
  readonly start: number;
  /** One past its last entry; undefined while the phase is open. */
  end: number | undefined;
}

const PHASES = new WeakMap<Trace, Phase[]>();

function traceOf(source: Trace | TraceSource): Trace {
  return source instanceof Trace ? source : source.trace;
}

/** The phases marked on a trace, in the order they began. */
export function phasesOf(source: Trace | TraceSource): readonly Phase[] {
  return PHASES.get(traceOf(source)) ?? [];
}

/** Opens a phase at the trace's current end. Phases may nest. */
export function beginPhase(source: Trace | TraceSource, name: string): Phase {
  const trace = traceOf(source);
  let list = PHASES.get(trace);
  if (list === undefined) PHASES.set(trace, (list = []));
  const phase: Phase = { name, start: trace.length, end: undefined };
  list.push(phase);
  return phase;
}

/** Closes the innermost open phase (or the innermost open one of that name). */
export function endPhase(source: Trace | TraceSource, name?: string): Phase {
  const trace = traceOf(source);
  const open = (PHASES.get(trace) ?? []).filter((p) => p.end === undefined && (name === undefined || p.name === name));
  const phase = open.at(-1);
  if (phase === undefined) throw new Error(name === undefined ? "no phase is open" : `no open phase named ${name}`);
  phase.end = trace.length;
  return phase;
}

/** Runs `body` as the phase `name`: the accesses it makes form the phase, even if it throws. */
export function phase<T>(source: Trace | TraceSource, name: string, body: () => T): T {
  const p = beginPhase(source, name);
  try {
    return body();
  } finally {
    p.end = traceOf(source).length;
  }
}

// ---------------------------------------------------------------------------------------------
// Scopes

export type Scope =
  /** A marked phase; `nth` picks one of several of that name (0-based, negative from the end). */
  | { readonly phase: string; readonly nth?: number }
  /** An export call by name (with `nth` as for phases) or by its index in trace.calls. */
  | { readonly call: string | number; readonly nth?: number }
  /** Entries from..to-1. */
  | { readonly from: number; readonly to?: number };

function pick<T>(items: readonly T[], nth: number | undefined, what: string, where: string): T {
  if (items.length === 0) throw new Error(`${where} has no ${what}`);
  if (nth === undefined) {
    if (items.length > 1) throw new Error(`${where} has ${items.length} ${what}s; say which with nth (0-based, negative counts from the end)`);
    return items[0]!;
  }
  const item = items.at(nth);
  if (item === undefined) throw new Error(`${where} has ${items.length} ${what}${items.length === 1 ? "" : "s"}, no number ${nth}`);
  return item;
}

function callLabel(view: Traced, index: number): string {
  const c = view.trace.calls[index];
  if (c === undefined) return "outside any export call";
  return formatCallLine(c.name, c.args, view.regions, view.trace.registry).slice("call ".length);
}

/** "in pl011_init(...)" or "outside any export call". */
function callPhrase(view: Traced, index: number): string {
  return index < 0 || view.trace.calls[index] === undefined ? "outside any export call" : `in ${callLabel(view, index)}`;
}

/**
 * The part of a source a scope names, within the part the source already is. A call still
 * running, or a phase still open, extends to the trace's end as it grows.
 */
export function within(source: TraceSource, scope: Scope): TraceView {
  const outer = viewOf(source);
  const trace = outer.trace;
  let from: number;
  let to: number | undefined;
  let label: string;
  if ("phase" in scope) {
    const p = pick(phasesOf(trace).filter((x) => x.name === scope.phase), scope.nth, `phase named ${scope.phase}`, "the trace");
    from = p.start;
    to = p.end;
    label = `phase ${p.name}`;
  } else if ("call" in scope) {
    let index: number;
    if (typeof scope.call === "number") {
      index = scope.call;
      if (trace.calls[index] === undefined) throw new Error(`the trace has no call #${index} (it has ${trace.calls.length})`);
    } else {
      const name = scope.call;
      const indices = trace.calls.map((c, i) => (c.name === name ? i : -1)).filter((i) => i >= 0);
      index = pick(indices, scope.nth, `call of ${name}`, "the trace");
    }
    const c = trace.calls[index]!;
    from = c.start;
    to = trace.currentCall === index ? undefined : c.end;
    label = callLabel(outer, index);
  } else {
    from = scope.from;
    to = scope.to;
    label = `entries #${scope.from}..${scope.to === undefined ? "end" : `#${scope.to - 1}`}`;
  }
  // Intersect with the outer view.
  const lo = Math.max(from, outer.from);
  const hi = to === undefined ? outer.to : outer.to === undefined ? to : Math.min(to, outer.to);
  return new TraceView(trace, outer.regions, lo, hi, label);
}

/** One view per call of the export `name`, in call order. */
export function eachCall(source: TraceSource, name: string): TraceView[] {
  const outer = viewOf(source);
  return outer.trace.calls.flatMap((c, i) => (c.name === name ? [within(outer, { call: i })] : []));
}

// =============================================================================================
// Names: regions, registers, fields

interface Target {
  /** As written in the assertion: "uart0.LCR_H". */
  readonly text: string;
  readonly region: TraceRegion;
  /** The registers named, or undefined for the whole region. */
  readonly registers: readonly RegisterInfo[] | undefined;
}

function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

function resolveTarget(regions: readonly TraceRegion[], text: string): Target {
  // The longest region name that the text starts with: region names may contain dots.
  let region: TraceRegion | undefined;
  for (const r of regions) {
    if ((text === r.name || text.startsWith(r.name + ".")) && (region === undefined || r.name.length > region.name.length)) region = r;
  }
  if (region === undefined) throw new Error(`no region named in "${text}" (regions: ${regions.map((r) => r.name).join(", ") || "none"})`);
  if (text === region.name) return { text, region, registers: undefined };
  const registerText = text.slice(region.name.length + 1);
  const index = region.index;
  if (index === undefined) throw new Error(`"${text}": region ${region.name} has no register map, so it has no register ${registerText}`);
  const re = globRegExp(registerText);
  const registers = index.block.registers.filter((r) => re.test(r.name) || (r.writeName !== null && re.test(r.writeName)));
  if (registers.length === 0) {
    throw new Error(`"${text}": ${index.block.block} has no register ${registerText} (registers: ${index.block.registers.map((r) => r.name).join(", ")})`);
  }
  return { text, region, registers };
}

/** The register of a target at an address, when the address is in the target. */
function registerIn(target: Target, addr: number): RegisterInfo | undefined | null {
  const region = target.region;
  if (addr < region.base || addr >= region.end) return null;
  const offset = addr - region.base;
  if (target.registers === undefined) return region.index?.at(offset);
  for (const r of target.registers) if (offset >= r.offset && offset < r.offset + r.span) return r;
  return null;
}

function inTarget(target: Target, addr: number): boolean {
  return registerIn(target, addr) !== null;
}

/** A value to compare with: exact, under a mask ("don't care" bits), or by fields. */
export interface ValueSpec {
  readonly value?: number;
  /** Bits of `value` that matter (default: all). */
  readonly mask?: number;
  /** Field values by name; a field's named value ("8BIT") works too. */
  readonly fields?: Readonly<Record<string, number | string>>;
}

interface CompiledValue {
  /** Mask and value per register offset (the fields may sit differently in each register). */
  readonly forRegister: (reg: RegisterInfo | undefined) => { mask: number; value: number };
  readonly text: string;
  readonly any: boolean;
}

const hex = (n: number): string => "0x" + (n >>> 0).toString(16);

function compileValue(target: Target, spec: ValueSpec): CompiledValue {
  const parts: string[] = [];
  const baseMask = spec.mask === undefined ? (spec.value === undefined ? 0 : 0xffffffff) : spec.mask >>> 0;
  const baseValue = ((spec.value ?? 0) & baseMask) >>> 0;
  if (spec.value !== undefined) parts.push(spec.mask === undefined ? hex(spec.value) : `${hex(spec.value)} mask ${hex(spec.mask)}`);
  const fields = Object.entries(spec.fields ?? {});
  if (fields.length > 0 && target.registers === undefined) throw new Error(`"${target.text}": fields need a register, not a whole region`);
  const perRegister = new Map<RegisterInfo, { mask: number; value: number }>();
  for (const reg of target.registers ?? []) {
    let mask = baseMask;
    let value = baseValue;
    for (const [name, wanted] of fields) {
      const f = reg.fields.find((x) => x.name === name);
      if (f === undefined) throw new Error(`"${target.text}": ${reg.name} has no field ${name} (fields: ${reg.fields.map((x) => x.name).join(", ") || "none"})`);
      let n: number;
      if (typeof wanted === "string") {
        const named = f.values?.[wanted];
        if (named === undefined) throw new Error(`"${target.text}": field ${name} has no value named ${wanted} (values: ${Object.keys(f.values ?? {}).join(", ") || "none"})`);
        n = named;
      } else {
        n = wanted;
      }
      const width = f.msb - f.lsb + 1;
      if (!Number.isInteger(n) || n < 0 || n >= 2 ** width) throw new Error(`"${target.text}": ${n} does not fit the ${width}-bit field ${name}`);
      const fieldMask = ((2 ** width - 1) * 2 ** f.lsb) >>> 0;
      mask = (mask | fieldMask) >>> 0;
      value = ((value & ~fieldMask) | (n * 2 ** f.lsb)) >>> 0;
    }
    perRegister.set(reg, { mask, value });
  }
  for (const [name, wanted] of fields) parts.push(`${name}=${typeof wanted === "string" ? wanted : wanted}`);
  return {
    forRegister: (reg) => (reg === undefined ? undefined : perRegister.get(reg)) ?? { mask: baseMask, value: baseValue },
    text: parts.join(" "),
    any: baseMask === 0 && fields.length === 0,
  };
}

// =============================================================================================
// Describing entries for people

/** Where an access was made in the AssemblyScript source (debug builds, see captureSites). */
export interface SourceSite {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The wasm function, as the name section calls it (assembly/pl011/pl011_init). */
  readonly function: string;
}

function fieldsText(region: TraceRegion, e: TraceEntry): string {
  const offset = e.addr - region.base;
  const reg = region.index?.at(offset);
  if (reg === undefined || (e.flags & FLAG_FAULT) !== 0 || ((offset - reg.offset) & 3) !== 0) return "";
  if (e.op === OP_WRITE ? reg.write === "clears" : reg.read === "undefined") return "";
  return decodeFields(reg, e.value);
}

function regionOf(regions: readonly TraceRegion[], addr: number): TraceRegion | undefined {
  for (const r of regions) if (addr >= r.base && addr < r.end) return r;
  return undefined;
}

/** `W32 uart0+0x02c LCR_H 0x00000070 (WLEN=8BIT FEN)`: the access without its place in time; a
 * handler's access starts `isr`, and an interrupt event reads as its trace line does, `irq enter
 * 12 preemptive (uart0)` (the line's name from the trace's controller, when it has one). */
function accessText(regions: readonly TraceRegion[], e: TraceEntry, trace?: Trace): string {
  if (e.op === OP_IRQ) {
    const line = formatAccess({ ...e, repeat: 1 }, regions, { registry: trace?.registry, lineNames: trace?.lineNames });
    const cut = line.indexOf("  ;");
    return cut < 0 ? line : `${line.slice(0, cut)} (${line.slice(cut + 3).trim()})`;
  }
  const prefix = `${(e.flags & FLAG_IRQ) !== 0 ? "isr " : ""}${(e.flags & FLAG_DMA) !== 0 ? "dma " : ""}${(e.flags & FLAG_FAULT) !== 0 ? "fault " : ""}`;
  if (e.op === OP_BARRIER) return prefix + (BARRIER_NAMES[e.value] ?? `barrier ${e.value}`);
  const region = regionOf(regions, e.addr);
  const op = `${e.op === OP_WRITE ? "W" : "R"}${e.width * 8}`;
  const value = "0x" + e.value.toString(16).padStart(Math.max(1, e.width * 2), "0");
  if (region === undefined) return `${prefix}${op} 0x${e.addr.toString(16).padStart(8, "0")} ${value}`;
  const offset = e.addr - region.base;
  const reg = region.index?.at(offset);
  const name = reg === undefined ? "" : ` ${e.op === OP_WRITE && reg.writeName !== null ? reg.writeName : reg.name}`;
  const fields = fieldsText(region, e);
  return `${prefix}${op} ${region.name}+0x${offset.toString(16).padStart(3, "0")}${name} ${value}${fields === "" ? "" : ` (${fields})`}`;
}

/** `#12 W32 uart0+0x02c LCR_H 0x00000070 (WLEN=8BIT FEN) in pl011_init(...) at assembly/pl011.ts:118`. */
export function describeEntry(source: TraceSource, seq: number): string {
  const view = viewOf(source);
  const e = view.trace.entry(seq);
  const call = callPhrase(view, e.call);
  const site = SITES.get(view.trace)?.siteText(seq);
  return `#${seq} ${accessText(view.regions, e, view.trace)} ${call}${site === undefined ? "" : ` at ${site}`}`;
}

/** Lines for several entries, at most `limit`, then how many more there were. */
function entryLines(view: TraceView, seqs: readonly number[], limit = 6, indent = "  "): string[] {
  const lines = seqs.slice(0, limit).map((s) => indent + describeEntry(view, s));
  if (seqs.length > limit) lines.push(`${indent}... and ${seqs.length - limit} more`);
  return lines;
}

function entriesOf(view: TraceView): TraceEntry[] {
  return [...view.trace.entries(view.from, view.end)];
}

// =============================================================================================
// Outcomes

/** The answer of a check: a message that reads right whether or not the check was negated. */
export interface Outcome {
  readonly pass: boolean;
  /** Why it failed (pass false), or why its negation fails (pass true). */
  readonly message: string;
  /** Text forms for a diff, when a comparison makes sense. */
  readonly actual?: string;
  readonly expected?: string;
}

export class TraceAssertionError extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.message);
    this.name = "TraceAssertionError";
  }
}

function ensure(outcome: Outcome): void {
  if (!outcome.pass) throw new TraceAssertionError(outcome);
}

// =============================================================================================
// Access patterns and groups

/** One access to match. Exactly one of read, write, access names what it touches. */
export interface AccessPattern extends ValueSpec {
  readonly read?: string;
  readonly write?: string;
  /** A read or a write. */
  readonly access?: string;
  readonly width?: 1 | 2 | 4;
  /** Match DMA-master accesses instead of the CPU's. Default false. */
  readonly dma?: boolean;
}

export type BarrierKind = "DMB" | "DSB" | "ISB";

export interface BarrierPattern {
  readonly barrier: BarrierKind | "any";
}

export interface StepGroup {
  readonly order: "in-order" | "any-order";
  readonly steps: readonly Step[];
  /** Shown in messages: "TRM 3.3.7: divisor, then line control". */
  readonly name?: string;
}

/**
 * A step: an access pattern, a barrier, a group, or the short text form: `"W uart0.IBRD"`,
 * `"R uart0.FR TXFF=0"`, `"W uart0.CR 0x301"`, `"RW uart0.FR"`, `"DSB"`, `"barrier"`.
 */
export type Step = string | AccessPattern | BarrierPattern | StepGroup;

/** Steps that occur one after the other (other accesses may come between them). */
export function inOrder(...steps: Step[]): StepGroup {
  return { order: "in-order", steps };
}

/** Steps that all occur, in any order, each one whole (a group's own steps do not interleave
 * with another's). */
export function anyOrder(...steps: Step[]): StepGroup {
  return { order: "any-order", steps };
}

/** A step with a name for messages: a sub-sequence to reuse across tests. */
export function named(name: string, step: Step): StepGroup {
  if (typeof step === "object" && "order" in step) return { ...step, name };
  return { order: "in-order", steps: [step], name };
}

const SHORT_STEP = /^(R|W|RW)\s+(\S+)((?:\s+\S+)*)$/;
const NUMBER = /^(0x[0-9a-f]+|[0-9]+)$/i;

/** The object form of the short text form of a step. */
export function parseStep(text: string): AccessPattern | BarrierPattern {
  const t = text.trim();
  if (t === "DMB" || t === "DSB" || t === "ISB") return { barrier: t };
  if (t === "barrier") return { barrier: "any" };
  const m = SHORT_STEP.exec(t);
  if (m === null) throw new Error(`step "${text}": expected "R|W|RW region.REGISTER [value] [FIELD=value ...] [mask=0x..]" or DMB, DSB, ISB, barrier`);
  const fields: Record<string, number | string> = {};
  let value: number | undefined;
  let mask: number | undefined;
  const numberOf = (s: string): number => {
    if (!NUMBER.test(s)) throw new Error(`step "${text}": ${s} is not a number`);
    return Number(s);
  };
  for (const word of m[3]!.trim().split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf("=");
    if (eq < 0) value = numberOf(word);
    else if (word.slice(0, eq) === "mask") mask = numberOf(word.slice(eq + 1));
    else {
      const v = word.slice(eq + 1);
      fields[word.slice(0, eq)] = NUMBER.test(v) ? Number(v) : v;
    }
  }
  const where = m[2]!;
  const base: AccessPattern = m[1] === "R" ? { read: where } : m[1] === "W" ? { write: where } : { access: where };
  return {
    ...base,
    ...(value === undefined ? {} : { value }),
    ...(mask === undefined ? {} : { mask }),
    ...(Object.keys(fields).length === 0 ? {} : { fields }),
  };
}

/** A compiled single-access step. */
interface Atom {
  readonly kind: "atom";
  readonly text: string;
  /** Whether an entry is this access, value and all. */
  matches(e: TraceEntry): boolean;
  /** Whether an entry touches what the step names (ignoring value and width): a near miss. */
  near(e: TraceEntry): boolean;
  /** Why a near miss does not match. */
  mismatch(e: TraceEntry): string;
}

interface GroupNode {
  readonly kind: "group";
  readonly order: "in-order" | "any-order";
  readonly children: readonly Node[];
  readonly name: string | undefined;
  readonly text: string;
}

type Node = Atom | GroupNode;

function compileAccess(regions: readonly TraceRegion[], p: AccessPattern): Atom {
  const named = [p.read, p.write, p.access].filter((x) => x !== undefined);
  if (named.length !== 1) throw new Error(`an access step names exactly one of read, write, access (got ${JSON.stringify(p)})`);
  const target = resolveTarget(regions, named[0]!);
  const op = p.read !== undefined ? OP_READ : p.write !== undefined ? OP_WRITE : -1;
  const value = compileValue(target, p);
  const dma = p.dma === true ? FLAG_DMA : 0;
  const text = `${dma ? "dma " : ""}${op === OP_READ ? "R" : op === OP_WRITE ? "W" : "RW"}${p.width === undefined ? "" : p.width * 8} ${target.text}${value.text === "" ? "" : " " + value.text}`;
  const near = (e: TraceEntry): boolean =>
    (e.op === OP_READ || e.op === OP_WRITE) && (op < 0 || e.op === op) && (e.flags & (FLAG_DMA | FLAG_FAULT)) === dma && inTarget(target, e.addr);
  const valueOk = (e: TraceEntry): boolean => {
    if (value.any) return true;
    const reg = registerIn(target, e.addr) ?? undefined;
    const { mask, value: wanted } = value.forRegister(reg);
    return ((e.value & mask) >>> 0) === wanted;
  };
  return {
    kind: "atom",
    text,
    near,
    matches: (e) => near(e) && (p.width === undefined || e.width === p.width) && valueOk(e),
    mismatch: (e) => {
      const reasons: string[] = [];
      if (p.width !== undefined && e.width !== p.width) reasons.push(`${e.width * 8}-bit, expected ${p.width * 8}-bit`);
      if (!valueOk(e)) {
        const reg = registerIn(target, e.addr) ?? undefined;
        const { mask, value: wanted } = value.forRegister(reg);
        const differ = ((e.value ^ wanted) & mask) >>> 0;
        const fieldNames = reg?.fields.filter((f) => ((((2 ** (f.msb - f.lsb + 1) - 1) * 2 ** f.lsb) >>> 0) & differ) !== 0).map((f) => f.name) ?? [];
        reasons.push(`value ${hex(e.value)} differs in bits ${hex(differ)}${fieldNames.length > 0 ? ` (${fieldNames.join(", ")})` : ""}: expected ${value.text}`);
      }
      return reasons.join("; ");
    },
  };
}

function compileBarrier(p: BarrierPattern): Atom {
  const kinds = p.barrier === "any" ? [0, 1, 2] : [BARRIER_NAMES.indexOf(p.barrier)];
  if (kinds[0]! < 0) throw new Error(`no barrier kind ${String(p.barrier)} (DMB, DSB, ISB or any)`);
  const text = p.barrier === "any" ? "barrier" : p.barrier;
  const isBarrier = (e: TraceEntry): boolean => e.op === OP_BARRIER && (e.flags & FLAG_FAULT) === 0;
  return {
    kind: "atom",
    text,
    matches: (e) => isBarrier(e) && kinds.includes(e.value),
    near: isBarrier,
    mismatch: (e) => `${BARRIER_NAMES[e.value] ?? e.value}, expected ${text}`,
  };
}

/** Groups of more steps than this would make the any-order search slow (2^n subsets). */
const ANY_ORDER_LIMIT = 12;

function compileStep(regions: readonly TraceRegion[], step: Step): Node {
  if (typeof step === "string") return compileStep(regions, parseStep(step));
  if ("barrier" in step) return compileBarrier(step);
  if ("order" in step) {
    if (step.order === "any-order" && step.steps.length > ANY_ORDER_LIMIT) throw new Error(`an any-order group takes at most ${ANY_ORDER_LIMIT} steps`);
    const children = step.steps.map((s) => compileStep(regions, s));
    const inner = children.map((c) => c.text).join(", ");
    const text = step.name ?? (step.order === "in-order" ? `[${inner}]` : `{${inner}} in any order`);
    return { kind: "group", order: step.order, children, name: step.name, text };
  }
  return compileAccess(regions, step);
}

interface Match {
  /** One past the last entry used. */
  readonly end: number;
  /** Entries matched by the atoms, in the order they were used. */
  readonly hits: readonly number[];
}

/**
 * The match of `node` starting at entry `pos` that ends earliest. Earliest is enough: whatever
 * can follow a later end can follow an earlier one, so in-order groups can take each step's
 * earliest match, and any-order groups search the subsets of their steps (each subset keeping
 * its earliest end).
 */
function matchNode(node: Node, entries: readonly TraceEntry[], pos: number): Match | null {
  if (node.kind === "atom") {
    for (let i = pos; i < entries.length; i++) if (node.matches(entries[i]!)) return { end: i + 1, hits: [entries[i]!.seq] };
    return null;
  }
  if (node.order === "in-order") {
    let end = pos;
    const hits: number[] = [];
    for (const child of node.children) {
      const m = matchNode(child, entries, end);
      if (m === null) return null;
      end = m.end;
      hits.push(...m.hits);
    }
    return { end, hits };
  }
  const n = node.children.length;
  const best: (Match | undefined)[] = new Array<Match | undefined>(1 << n).fill(undefined);
  best[0] = { end: pos, hits: [] };
  for (let set = 0; set < 1 << n; set++) {
    const from = best[set];
    if (from === undefined) continue;
    for (let c = 0; c < n; c++) {
      if ((set & (1 << c)) !== 0) continue;
      const m = matchNode(node.children[c]!, entries, from.end);
      if (m === null) continue;
      const next = set | (1 << c);
      const known = best[next];
      if (known === undefined || m.end < known.end) best[next] = { end: m.end, hits: [...from.hits, ...m.hits] };
    }
  }
  return best[(1 << n) - 1] ?? null;
}

/** Lines that say why `node` has no match from `pos`. */
function explainMiss(node: Node, view: TraceView, entries: readonly TraceEntry[], pos: number, indent: string): string[] {
  const after = pos === 0 ? `in ${view.label}` : `after #${entries[pos - 1]!.seq}`;
  if (node.kind === "atom") {
    const near = entries.filter((e) => node.near(e));
    if (near.length === 0) return [`${indent}${node.text}: no such access anywhere in ${view.label}`];
    const lines = [`${indent}${node.text}: none ${after}; the accesses it could have been:`];
    for (const e of near.slice(0, 6)) {
      const why = e.seq < (entries[pos]?.seq ?? Infinity) ? "too early" : node.mismatch(e);
      lines.push(`${indent}  ${describeEntry(view, e.seq)}: ${why}`);
    }
    if (near.length > 6) lines.push(`${indent}  ... and ${near.length - 6} more`);
    return lines;
  }
  if (node.order === "in-order") {
    let end = pos;
    const lines: string[] = [];
    for (let i = 0; i < node.children.length; i++) {
      const child = node.children[i]!;
      const m = matchNode(child, entries, end);
      if (m === null) {
        const title = node.name === undefined ? "" : `${node.name}: `;
        if (i > 0) lines.push(`${indent}${title}steps 1..${i} matched, ending at #${entries[end - 1]!.seq}; step ${i + 1} of ${node.children.length} is missing:`);
        else if (title !== "") lines.push(`${indent}${title}its first step is missing:`);
        return [...lines, ...explainMiss(child, view, entries, end, indent + (lines.length > 0 ? "  " : ""))];
      }
      end = m.end;
    }
    return lines;
  }
  const missing = node.children.filter((c) => matchNode(c, entries, pos) === null);
  const title = `${indent}${node.name === undefined ? "" : `${node.name}: `}`;
  if (missing.length === 0) {
    return [`${title}every step of ${node.text} occurs ${after}, but not all of them one after another without overlapping`];
  }
  return [`${title}${missing.length} of the ${node.children.length} steps of ${node.text} are missing ${after}:`, ...missing.flatMap((c) => explainMiss(c, view, entries, pos, indent + "  "))];
}

/** Atoms of a node, for listing the accesses a pattern is about. */
function atomsOf(node: Node): Atom[] {
  return node.kind === "atom" ? [node] : node.children.flatMap(atomsOf);
}

/** The pattern as indented lines: a group's title, then its steps one level deeper. */
function patternLines(node: Node, indent = ""): string[] {
  if (node.kind === "atom") return [indent + node.text];
  const order = node.order === "in-order" ? "in order" : "in any order";
  const head = node.name === undefined ? `${order}:` : `${node.name} (${order}):`;
  return [indent + head, ...node.children.flatMap((c) => patternLines(c, indent + "  "))];
}

/**
 * Checks that the steps occur in `source` in the order given (a subsequence: other accesses may
 * come between them). A group nests: inOrder(...) or anyOrder(...).
 */
export function checkAccessesInOrder(source: TraceSource, ...steps: Step[]): Outcome {
  const view = viewOf(source);
  const root = compileStep(view.regions, inOrder(...steps));
  const entries = entriesOf(view);
  const match = matchNode(root, entries, 0);
  const expected = patternLines(root).slice(1).map((l) => l.slice(2));
  const atoms = atomsOf(root);
  const relevant = entries.filter((e) => atoms.some((a) => a.near(e)));
  const actual = relevant.map((e) => `#${e.seq} ${accessText(view.regions, e)}`);
  const header = [`expected ${view.label} to contain, in order:`, ...expected.map((l) => "  " + l)];
  if (match !== null) {
    return {
      pass: true,
      message: [`expected ${view.label} not to contain, in order:`, ...expected.map((l) => "  " + l), "but it does:", ...entryLines(view, match.hits, 12)].join("\n"),
      actual: actual.join("\n"),
      expected: expected.join("\n"),
    };
  }
  return {
    pass: false,
    message: [...header, ...explainMiss(root, view, entries, 0, "")].join("\n"),
    actual: actual.join("\n"),
    expected: expected.join("\n"),
  };
}

export function expectAccessesInOrder(source: TraceSource, ...steps: Step[]): void {
  ensure(checkAccessesInOrder(source, ...steps));
}

// =============================================================================================
// Barriers

export interface BarrierOptions {
  /** Require exactly this kind. By default a DSB also counts where a DMB is asked for (a DSB
   * orders everything a DMB does, and waits too). */
  readonly exact?: boolean;
}

function barrierSatisfies(kind: number, wanted: BarrierKind | "any", exact: boolean): boolean {
  if (wanted === "any") return true;
  const want = BARRIER_NAMES.indexOf(wanted);
  return kind === want || (!exact && wanted === "DMB" && kind === BARRIER_NAMES.indexOf("DSB"));
}

/**
 * Checks that a barrier of `kind` stands between access A and access B: for every access that
 * matches `b`, between it and the last access before it that matches `a`. At least one such pair
 * must exist in the source.
 */
export function checkBarrierBetween(source: TraceSource, kind: BarrierKind | "any", a: Step, b: Step, options: BarrierOptions = {}): Outcome {
  const view = viewOf(source);
  const first = compileStep(view.regions, a);
  const second = compileStep(view.regions, b);
  if (first.kind !== "atom" || second.kind !== "atom") throw new Error("toHaveBarrierBetween takes single accesses, not groups");
  const exact = options.exact === true;
  const entries = entriesOf(view);
  const what = `${kind === "any" ? "a barrier" : `a ${kind}${exact || kind !== "DMB" ? "" : " (or DSB)"}`} between ${first.text} and ${second.text}`;
  let pairs = 0;
  let lastA = -1;
  const good: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (second.matches(e) && lastA >= 0) {
      pairs++;
      const between = entries.slice(lastA + 1, i);
      const barrier = between.find((x) => x.op === OP_BARRIER && (x.flags & FLAG_FAULT) === 0 && barrierSatisfies(x.value, kind, exact));
      if (barrier === undefined) {
        const barriers = between.filter((x) => x.op === OP_BARRIER);
        // Interrupt events are not accesses; the handler's own accesses are.
        const accesses = between.filter((x) => x.op !== OP_IRQ);
        const lines = [
          `expected ${what} in ${view.label}; there is none between`,
          `  ${describeEntry(view, entries[lastA]!.seq)}`,
          `  ${describeEntry(view, e.seq)}`,
          accesses.length === 0 ? "which follow each other directly" : barriers.length === 0 ? `where ${accesses.length} access${accesses.length === 1 ? "" : "es"} but no barrier stand between them:` : "where only other barriers stand:",
          ...entryLines(view, (barriers.length > 0 ? barriers : accesses).map((x) => x.seq), 8),
        ];
        return { pass: false, message: lines.join("\n"), actual: accesses.map((x) => accessText(view.regions, x, view.trace)).join("\n"), expected: kind };
      }
      good.push(`#${entries[lastA]!.seq} .. #${barrier.seq} ${accessText(view.regions, barrier)} .. #${e.seq}`);
    }
    if (first.matches(e)) lastA = i;
  }
  if (pairs === 0) {
    const hasB = entries.some((e) => second.matches(e));
    return {
      pass: false,
      message: `expected ${what} in ${view.label}, but ${hasB ? `no ${first.text} comes before any ${second.text}` : `there is no ${second.text}`} there`,
    };
  }
  return { pass: true, message: [`expected no ${what} in ${view.label}, but:`, ...good.map((g) => "  " + g)].join("\n") };
}

export function expectBarrierBetween(source: TraceSource, kind: BarrierKind | "any", a: Step, b: Step, options?: BarrierOptions): void {
  ensure(checkBarrierBetween(source, kind, a, b, options));
}

// =============================================================================================
// Polls

export interface PollOptions {
  /** The register polled: "uart0.FR". */
  readonly read: string;
  /** The number of reads the device needed (from the manual, or counted by the model). */
  readonly times?: number;
  /** An iteration marker (the access each loop iteration ends with, "W uart0.DR"): every one
   * must have a read of the register since the previous marker. */
  readonly each?: Step;
  /** With `each`: the value the last read before each marker must show ({ fields: { TXFF: 0 } }). */
  readonly until?: ValueSpec;
}

/**
 * Checks that a poll really reads its register: the number of reads equals `times`, and/or every
 * iteration (ended by an access matching `each`) reads it again, the last read showing `until`.
 * A status read hoisted out of its loop reads once for many iterations.
 */
export function checkPolls(source: TraceSource, options: PollOptions): Outcome {
  const view = viewOf(source);
  if (options.times === undefined && options.each === undefined) throw new Error("a poll check needs times, each, or both");
  const target = resolveTarget(view.regions, options.read);
  const readAtom = compileAccess(view.regions, { read: options.read });
  const entries = entriesOf(view);
  const reads = entries.filter((e) => readAtom.matches(e));
  const counted = `${target.text} was read ${reads.length} time${reads.length === 1 ? "" : "s"} in ${view.label}`;

  if (options.times !== undefined && reads.length !== options.times) {
    return {
      pass: false,
      message: [`${counted}; the device needed ${options.times} (${reads.length < options.times ? `${options.times - reads.length} missing` : `${reads.length - options.times} more`})`, ...entryLines(view, reads.map((e) => e.seq), 4)].join("\n"),
      actual: String(reads.length),
      expected: String(options.times),
    };
  }
  if (options.each !== undefined) {
    const marker = compileStep(view.regions, options.each);
    if (marker.kind !== "atom") throw new Error("each: takes a single access, not a group");
    const until = options.until === undefined ? undefined : compileValue(target, options.until);
    let lastRead: TraceEntry | undefined;
    let previousMarker: TraceEntry | undefined;
    let iteration = 0;
    const markers = entries.filter((e) => marker.matches(e)).length;
    for (const e of entries) {
      if (readAtom.matches(e)) lastRead = e;
      if (!marker.matches(e)) continue;
      iteration++;
      const since = previousMarker === undefined ? `the start of ${view.label}` : `the previous one, #${previousMarker.seq}`;
      if (lastRead === undefined || (previousMarker !== undefined && lastRead.seq < previousMarker.seq)) {
        return {
          pass: false,
          message: [
            `${target.text} is not read on every iteration of ${view.label}: iteration ${iteration} of ${markers},`,
            `  ${describeEntry(view, e.seq)}`,
            `has no read of ${target.text} since ${since}: the status was read once and not again (a read hoisted out of the loop?)`,
            ...(lastRead === undefined ? [] : [`the last read was ${describeEntry(view, lastRead.seq)}`]),
          ].join("\n"),
          actual: `${reads.length} reads`,
          expected: `a read before each of ${markers} iterations`,
        };
      }
      if (until !== undefined) {
        const reg = registerIn(target, lastRead.addr) ?? undefined;
        const { mask, value } = until.forRegister(reg);
        if (((lastRead.value & mask) >>> 0) !== value) {
          return {
            pass: false,
            message: [
              `iteration ${iteration} of ${markers} in ${view.label},`,
              `  ${describeEntry(view, e.seq)}`,
              `went ahead although the last read of ${target.text} did not show ${until.text}:`,
              `  ${describeEntry(view, lastRead.seq)}`,
            ].join("\n"),
          };
        }
      }
      previousMarker = e;
    }
    if (iteration === 0) return { pass: false, message: `no ${marker.text} in ${view.label}: the poll has no iteration to check` };
    return { pass: true, message: `expected ${target.text} not to be read on every one of the ${iteration} iterations of ${view.label}, but it is (${reads.length} reads)` };
  }
  return { pass: true, message: `expected ${target.text} not to be read ${options.times} times in ${view.label}, but it is` };
}

export function expectPolls(source: TraceSource, options: PollOptions): void {
  ensure(checkPolls(source, options));
}

/** CPU reads of a register in a source, for a test that compares with the model. */
export function countReads(source: TraceSource, register: string): number {
  const view = viewOf(source);
  const atom = compileAccess(view.regions, { read: register });
  return entriesOf(view).filter((e) => atom.matches(e)).length;
}

// =============================================================================================
// Writes that must all reach the bus

/**
 * Checks that the CPU writes to a register in `source` are exactly `expected`, in order: none
 * merged into another, dropped, added or reordered. A number is an exact value; a ValueSpec
 * compares under its mask or by fields.
 */
export function checkWrites(source: TraceSource, register: string, expected: readonly (number | ValueSpec)[]): Outcome {
  const view = viewOf(source);
  const target = resolveTarget(view.regions, register);
  const atom = compileAccess(view.regions, { write: register });
  const specs = expected.map((x) => compileValue(target, typeof x === "number" ? { value: x } : x));
  const writes = entriesOf(view).filter((e) => atom.matches(e));
  const ok = (e: TraceEntry, i: number): boolean => {
    const spec = specs[i];
    if (spec === undefined) return false;
    const { mask, value } = spec.forRegister(registerIn(target, e.addr) ?? undefined);
    return ((e.value & mask) >>> 0) === value;
  };
  // Lines a diff can pair: exact values compare as `W uart0.LCR_H 0x70` on both sides.
  const plain = expected.every((x) => typeof x === "number");
  const actualText = writes.map((e) => (plain ? `W ${target.text} ${hex(e.value)}` : accessText(view.regions, e))).join("\n");
  const expectedText = specs.map((s) => `W ${target.text} ${s.text === "" ? "(any value)" : s.text}`).join("\n");
  const pass = writes.length === specs.length && writes.every(ok);
  const list = `[${specs.map((s) => s.text || "any").join(", ")}]`;
  if (pass) return { pass, message: `expected the writes to ${target.text} in ${view.label} to differ from ${list}, but they are exactly that`, actual: actualText, expected: expectedText };
  let why: string;
  if (writes.length < specs.length) why = `${specs.length - writes.length} write${specs.length - writes.length === 1 ? " is" : "s are"} missing: merged into another write, or dropped`;
  else if (writes.length > specs.length) why = `${writes.length - specs.length} more than expected`;
  else {
    const i = writes.findIndex((e, k) => !ok(e, k));
    const sameSet = writes.every((e) => specs.some((_, k) => ok(e, k)));
    why = sameSet ? `the same values in another order: reordered (first difference at write ${i + 1})` : `write ${i + 1} differs: expected ${specs[i]!.text}`;
  }
  return {
    pass: false,
    message: [`expected the writes to ${target.text} in ${view.label} to be ${list} (${specs.length}), got ${writes.length}: ${why}`, ...entryLines(view, writes.map((e) => e.seq), 12)].join("\n"),
    actual: actualText,
    expected: expectedText,
  };
}

export function expectWrites(source: TraceSource, register: string, expected: readonly (number | ValueSpec)[]): void {
  ensure(checkWrites(source, register, expected));
}

// =============================================================================================
// Widths and places never touched

export interface TouchOptions {
  /** Only reads, or only writes. Default: both. */
  readonly op?: "read" | "write";
  /** Look at DMA-master accesses too. Default: the CPU's only. */
  readonly dma?: boolean;
}

function touching(view: TraceView, target: Target, options: TouchOptions): TraceEntry[] {
  return entriesOf(view).filter((e) =>
    (e.op === OP_READ || e.op === OP_WRITE)
    && (options.op === undefined || e.op === (options.op === "read" ? OP_READ : OP_WRITE))
    && (options.dma === true || (e.flags & FLAG_DMA) === 0)
    && inTarget(target, e.addr));
}

/**
 * Checks that every access to a region or register has one of `widths` (bytes). Refused
 * (faulted) accesses count: the driver made them.
 */
export function checkWidths(source: TraceSource, where: string, widths: number | readonly number[], options: TouchOptions = {}): Outcome {
  const view = viewOf(source);
  const target = resolveTarget(view.regions, where);
  const allowed = typeof widths === "number" ? [widths] : widths;
  const all = touching(view, target, options);
  const wrong = all.filter((e) => !allowed.includes(e.width));
  const wanted = allowed.map((w) => `${w * 8}-bit`).join(" or ");
  const kind = options.op === undefined ? "access" : options.op;
  if (wrong.length === 0) return { pass: true, message: `expected some ${kind} to ${target.text} in ${view.label} not to be ${wanted}, but all ${all.length} are` };
  return {
    pass: false,
    message: [`expected every ${kind} to ${target.text} in ${view.label} to be ${wanted}; ${wrong.length} of ${all.length} ${wrong.length === 1 ? "is" : "are"} not:`, ...entryLines(view, wrong.map((e) => e.seq))].join("\n"),
    actual: [...new Set(wrong.map((e) => `${e.width * 8}-bit`))].join(", "),
    expected: wanted,
  };
}

export function expectWidths(source: TraceSource, where: string, widths: number | readonly number[], options?: TouchOptions): void {
  ensure(checkWidths(source, where, widths, options));
}

/** Checks that nothing in `source` reads or writes (as options say) a region or register. */
export function checkNeverTouches(source: TraceSource, where: string, options: TouchOptions = {}): Outcome {
  const view = viewOf(source);
  const target = resolveTarget(view.regions, where);
  const hits = touching(view, target, options);
  const verb = options.op === undefined ? "touch" : options.op;
  if (hits.length === 0) return { pass: true, message: `expected ${view.label} to ${verb} ${target.text}, but it never does` };
  return {
    pass: false,
    message: [`expected ${view.label} never to ${verb} ${target.text}, but it does ${hits.length} time${hits.length === 1 ? "" : "s"}:`, ...entryLines(view, hits.map((e) => e.seq))].join("\n"),
    actual: hits.map((e) => accessText(view.regions, e)).join("\n"),
    expected: "",
  };
}

export function expectNeverTouches(source: TraceSource, where: string, options?: TouchOptions): void {
  ensure(checkNeverTouches(source, where, options));
}

// =============================================================================================
// The register-semantics lint, scoped

export interface LintOptions {
  /** Pass despite warnings. */
  readonly allowWarnings?: boolean;
}

/** Lints the part of the trace a source covers (harness/lint.ts). */
export function checkLintClean(source: TraceSource, options: LintOptions = {}): Outcome {
  const view = viewOf(source);
  const findings: LintFinding[] = lintTrace(view.trace, view.regions, { from: view.from, to: view.end })
    .filter((f) => options.allowWarnings !== true || f.severity === "error");
  if (findings.length === 0) return { pass: true, message: `expected lint findings in ${view.label}, but it keeps every rule` };
  const lines = findings.slice(0, 12).map((f) => {
    const call = view.trace.callAt(f.seq);
    const site = SITES.get(view.trace)?.siteText(f.seq);
    return `${lintReport([f])}\n    ${callPhrase(view, call)}${site === undefined ? "" : ` at ${site}`}`;
  });
  if (findings.length > 12) lines.push(`... and ${findings.length - 12} more`);
  return {
    pass: false,
    message: [`expected ${view.label} to keep every register rule; ${findings.length} finding${findings.length === 1 ? "" : "s"}:`, ...lines].join("\n"),
    actual: lintReport(findings),
    expected: "",
  };
}

export function expectLintClean(source: TraceSource, options?: LintOptions): void {
  ensure(checkLintClean(source, options));
}

// =============================================================================================
// Accesses a peripheral never saw: clock gates, and writes to a running DMA stream

/** What a clock gate kept from its peripheral (harness/devices/stm32f4/common.ts ClockGate). */
export interface ClockGateRecord {
  /** The region it guards. */
  readonly region: string;
  /** `APB2ENR.USART1EN`. */
  readonly enableName: string;
  /** The RCC offset of the enable register and the enable bit. */
  readonly enableOffset: number;
  readonly enableMask: number;
  /** Accesses kept from the peripheral; `accesses` holds the first of them. */
  readonly count: number;
  readonly accesses: readonly GatedAccess[];
}

/** What a DMA model ignored (harness/devices/stm32f4/dma.ts Stm32DmaModel). */
export interface LockedWriteRecord {
  readonly lockedWriteCount: number;
  /** The first of them, with their times and register names (`S7PAR`). */
  readonly lockedWrites: readonly DmaLockedWrite[];
}

/** The trace entry a model's record of an access stands for: the CPU access (DMA too, when
 * `dma`) of that address and direction at that virtual time, inside the view. */
function entryAt(view: TraceView, addr: number, isWrite: boolean, time: number): TraceEntry | undefined {
  for (const e of view.trace.entries(view.from, view.end)) {
    if (e.time === time && e.addr === addr && e.op === (isWrite ? OP_WRITE : OP_READ) && (e.flags & FLAG_FAULT) === 0) return e;
    if (e.time > time) break;
  }
  return undefined;
}

/** The last CPU write before entry `seq` that set `mask` in the RCC register at `offset` of
 * some region whose map is the RCC's. */
function enableWriteBefore(view: TraceView, seq: number, offset: number, mask: number): TraceEntry | undefined {
  const rccs = view.regions.filter((r) => r.index?.block.block === "rcc");
  for (let i = seq - 1; i >= 0; i--) {
    const e = view.trace.entry(i);
    if (e.op !== OP_WRITE || (e.flags & FLAG_DMA) !== 0 || (e.value & mask) === 0) continue;
    if (rccs.some((r) => e.addr === r.base + offset)) return e;
  }
  return undefined;
}

/** Why a gated access did not reach the peripheral, with the manual's word for it. */
function gateReason(gate: ClockGateRecord, a: GatedAccess, since: string): string {
  const what = `${a.isWrite ? "lost" : "read as 0"} (${a.reason})`;
  if (a.reason === "clock-off") return `${what}: ${gate.enableName} = 0, so ${gate.region}'s clock was off (RM0090 7.3.10-7.3.14)`;
  if (a.reason === "in-reset") return `${what}: ${gate.region} was held in reset by its RSTR bit (RM0090 7.3.5-7.3.9)`;
  return `${what}: ${since}with no DSB between, ${gate.region} was not usable yet (erratum "Delay after an RCC peripheral clock enabling", ES0182 2.1.13: a DSB after the enable write waits it out)`;
}

/**
 * Checks that no access in `source` was kept from a peripheral by its clock gate: made while its
 * RCC enable bit was 0 (clock-off), while it was held in reset (in-reset), or right after the
 * enable write with no DSB between (enable-delay, the ES0182 erratum). `gates`: the board's
 * (Board.clockGates.values()). A kept read returned 0; a kept write was lost.
 */
export function checkClockGated(source: TraceSource, gates: Iterable<ClockGateRecord>): Outcome {
  const view = viewOf(source);
  const lines: string[] = [];
  let total = 0;
  const regions = new Set<string>();
  for (const gate of gates) {
    const region = view.regions.find((r) => r.name === gate.region);
    if (region === undefined) throw new Error(`a clock gate guards ${gate.region}, which is none of the trace's regions (${view.regions.map((r) => r.name).join(", ")})`);
    let inView = 0;
    for (const a of gate.accesses) {
      const e = entryAt(view, region.base + a.offset, a.isWrite, a.time);
      // An access outside the view (before a within() scope) is not this check's business.
      if (e === undefined) continue;
      inView++;
      const enable = a.reason === "enable-delay" ? enableWriteBefore(view, e.seq, gate.enableOffset, gate.enableMask) : undefined;
      const why = gateReason(gate, a, enable === undefined ? "" : `${e.time - enable.time} ns after ${gate.enableName} was set at #${enable.seq}, `);
      if (lines.length < 12) lines.push(`  ${describeEntry(view, e.seq)}\n    ${why}`);
    }
    // Accesses counted beyond the ones the gate keeps: reported only for a whole-trace check.
    if (view.from === 0 && view.to === undefined) inView += gate.count - gate.accesses.length;
    if (inView > 0) regions.add(gate.region);
    total += inView;
  }
  if (total === 0) return { pass: true, message: `expected some access in ${view.label} to reach a peripheral whose clock was not usable, but every access reached its peripheral` };
  if (total > lines.length) lines.push(`  ... and ${total - lines.length} more`);
  return {
    pass: false,
    message: [`expected every access in ${view.label} to reach its peripheral; ${total} did not reach ${[...regions].join(", ")}, kept by the RCC clock gate:`, ...lines].join("\n"),
    actual: lines.join("\n"),
    expected: "",
  };
}

export function expectClockGated(source: TraceSource, gates: Iterable<ClockGateRecord>): void {
  ensure(checkClockGated(source, gates));
}

/**
 * Checks that no write in `source` to the DMA controller at `region` was ignored because its
 * stream was enabled (RM0090 10.5.5-10.5.10: SxCR's protected fields, NDTR, PAR, M0AR/M1AR and
 * FCR's DMDIS/FTH are read-only while EN = 1). `dma`: the region's model.
 */
export function checkStreamWritesTakeEffect(source: TraceSource, region: string, dma: LockedWriteRecord): Outcome {
  const view = viewOf(source);
  const target = resolveTarget(view.regions, region);
  const hits: { seq: number; register: string }[] = [];
  for (const w of dma.lockedWrites) {
    for (const e of view.trace.entries(view.from, view.end)) {
      if (e.time > w.time) break;
      if (e.time === w.time && e.op === OP_WRITE && (e.flags & FLAG_DMA) === 0 && e.value === w.value && inTarget(target, e.addr)) {
        hits.push({ seq: e.seq, register: w.register });
        break;
      }
    }
  }
  if (hits.length === 0) return { pass: true, message: `expected some write to ${region} in ${view.label} to be ignored because its stream was enabled, but none was` };
  const streams = [...new Set(hits.map((h) => h.register.replace(/^(S\d).*/, "$1")))];
  return {
    pass: false,
    message: [
      `expected every write to ${region} in ${view.label} to take effect; ${hits.length} ${hits.length === 1 ? "was" : "were"} ignored because stream ${streams.map((s) => s.slice(1)).join(", ")} was still enabled (${streams.map((s) => `${s}CR.EN = 1`).join(", ")}): a stream's configuration is read-only while it runs; clear EN and wait for it to read 0 first (RM0090 10.3.17 step 1, 10.5.5-10.5.10)`,
      ...entryLines(view, hits.map((h) => h.seq), 8),
    ].join("\n"),
    actual: hits.map((h) => accessText(view.regions, view.trace.entry(h.seq))).join("\n"),
    expected: "",
  };
}

export function expectStreamWritesTakeEffect(source: TraceSource, region: string, dma: LockedWriteRecord): void {
  ensure(checkStreamWritesTakeEffect(source, region, dma));
}

// =============================================================================================
// Hangs: a call that does not return within an access budget

export interface ReturnOutcome extends Outcome {
  /** The value the call returned, when it did. */
  readonly result: number | undefined;
}

/**
 * Calls an export with a budget of bus accesses (Bus.setAccessBudget) and checks that it
 * returns. A wait loop without a limit, on a device that never gets ready, is stopped and
 * reported with the poll it was stuck in. Other errors (a trap, a bus fault) are thrown.
 */
export function checkReturnsWithin(hal: Hal, budget: number, name: string, ...args: number[]): ReturnOutcome {
  const bus = hal.bus;
  const trace = bus.trace;
  const start = trace.length;
  bus.setAccessBudget(budget);
  try {
    const result = hal.call(name, ...args);
    return { pass: true, result, message: `expected ${name}(${args.join(", ")}) not to return within ${budget} bus accesses, but it returned ${result} after ${bus.accessesSinceBudget}` };
  } catch (e) {
    if (!(e instanceof HalError) || !(e.cause instanceof AccessBudgetExceeded)) throw e;
    const view = new TraceView(trace, bus.regions, start, trace.length, callLabel(bus, trace.calls.length - 1));
    return { pass: false, result: undefined, message: [`${view.label} did not return within ${budget} bus accesses: a wait without a limit?`, ...stuckIn(view)].join("\n") };
  } finally {
    bus.setAccessBudget(Infinity);
  }
}

/** The loop a hung call was in: the accesses of its last repeated stretch, with counts. */
function stuckIn(view: TraceView): string[] {
  const entries = entriesOf(view).filter((e) => (e.flags & FLAG_DMA) === 0 && e.op !== OP_IRQ);
  if (entries.length === 0) return ["it made no access"];
  // Count the distinct accesses of the last quarter of the call: the loop body.
  const tail = entries.slice(Math.floor(entries.length * 0.75));
  const counts = new Map<string, { n: number; seq: number }>();
  for (const e of tail) {
    const key = accessText(view.regions, e);
    const c = counts.get(key);
    if (c === undefined) counts.set(key, { n: 1, seq: e.seq });
    else c.n++;
  }
  const lines = [`in its last ${tail.length} accesses it was repeating:`];
  for (const [, c] of [...counts].sort((x, y) => y[1].n - x[1].n).slice(0, 4)) lines.push(`  ${c.n} times: ${describeEntry(view, c.seq)}`);
  return lines;
}

export function expectReturnsWithin(hal: Hal, budget: number, name: string, ...args: number[]): number {
  const outcome = checkReturnsWithin(hal, budget, name, ...args);
  ensure(outcome);
  return outcome.result!;
}

// =============================================================================================
// Source sites: which AssemblyScript line made an access (debug builds)

interface SourceMapping {
  /** Byte offsets in the module, ascending. */
  readonly offsets: Uint32Array;
  readonly sources: Uint16Array;
  readonly lines: Uint32Array;
  readonly columns: Uint32Array;
  readonly sourceNames: readonly string[];
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decodes the source map of a wasm module: one generated "line", whose columns are byte
 * offsets into the module (the convention asc and V8 share). */
function readSourceMap(path: string): SourceMapping {
  const map = JSON.parse(readFileSync(path, "utf8")) as { sources?: string[]; mappings?: string };
  const sourceNames = map.sources ?? [];
  const rows: [number, number, number, number][] = [];
  let offset = 0;
  let source = 0;
  let line = 0;
  let column = 0;
  for (const segment of (map.mappings ?? "").split(/[,;]/)) {
    if (segment === "") continue;
    const fields: number[] = [];
    let value = 0;
    let shift = 0;
    for (const ch of segment) {
      const digit = BASE64.indexOf(ch);
      if (digit < 0) throw new Error(`${path}: bad base64 digit ${ch} in the mappings`);
      value += (digit & 31) * 2 ** shift;
      if ((digit & 32) !== 0) {
        shift += 5;
        continue;
      }
      fields.push(value % 2 === 1 ? -Math.floor(value / 2) : value / 2);
      value = 0;
      shift = 0;
    }
    offset += fields[0] ?? 0;
    if (fields.length >= 4) {
      source += fields[1]!;
      line += fields[2]!;
      column += fields[3]!;
      rows.push([offset, source, line, column]);
    }
  }
  rows.sort((a, b) => a[0] - b[0]);
  return {
    offsets: Uint32Array.from(rows, (r) => r[0]),
    sources: Uint16Array.from(rows, (r) => r[1]),
    lines: Uint32Array.from(rows, (r) => r[2]),
    columns: Uint32Array.from(rows, (r) => r[3]),
    sourceNames,
  };
}

/** The index of the last mapping at or before a byte offset, or -1. */
function rowAt(map: SourceMapping, offset: number): number {
  let lo = 0;
  let hi = map.offsets.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map.offsets[mid]! <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Byte ranges of the function bodies of a wasm module, by function index (imports first). */
function functionBodies(bytes: Uint8Array): Map<number, { start: number; end: number }> {
  let pos = 8; // magic and version
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
  };
  const skipName = (): void => {
    const n = u32();
    pos += n;
  };
  const skipLimits = (): void => {
    const flags = bytes[pos++]!;
    u32();
    if ((flags & 1) !== 0) u32();
  };
  let imported = 0;
  const bodies = new Map<number, { start: number; end: number }>();
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const size = u32();
    const next = pos + size;
    if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        skipName();
        skipName();
        const kind = bytes[pos++]!;
        if (kind === 0) {
          u32();
          imported++;
        } else if (kind === 1) {
          pos++;
          skipLimits();
        } else if (kind === 2) {
          skipLimits();
        } else if (kind === 3) {
          pos += 2;
        } else {
          pos++;
          u32();
        }
      }
    } else if (id === 10) {
      const count = u32();
      for (let i = 0; i < count; i++) {
        const length = u32();
        bodies.set(imported + i, { start: pos, end: pos + length });
        pos += length;
      }
    }
    pos = next;
  }
  return bodies;
}

/** Files whose lines say nothing about the driver: inlined accessors and the standard library. */
const HELPER_SOURCE = /(^~lib\/|\/mmio\.ts$|\/generated\/)/;

const WASM_FRAME = /at (?:(\S+) )?\(?wasm:\/\/wasm\/[0-9a-f]+:wasm-function\[(\d+)\]:0x([0-9a-f]+)\)?/;

/**
 * Records where in the module each CPU access of a trace was made, for messages. Only while
 * capturing: it wraps the trace's record() on this one trace (the class and every other trace
 * keep the plain hot path) and keeps an Error per access, whose stack V8 formats only when a
 * message asks for it. A module built with a name section and a source map (the debug build)
 * gives file:line; a release build gives nothing.
 */
export class SiteCapture {
  private readonly stacks: (Error | undefined)[] = [];
  private mapping: SourceMapping | undefined;
  private bodies: Map<number, { start: number; end: number }> | undefined;

  /** `sourceMap`: the module's map; the module itself is the same path without ".map". */
  constructor(readonly trace: Trace, readonly sourceMapPath: string) {
    const stacks = this.stacks;
    const record = Trace.prototype.record;
    trace.record = function (this: Trace, op: number, width: number, addr: number, value: number, time: number): void {
      if (this.enabled && (op & FLAG_DMA) === 0) {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 24;
        stacks[this.length] = new Error("access");
        Error.stackTraceLimit = limit;
      }
      record.call(this, op, width, addr, value, time);
    };
    SITES.set(trace, this);
  }

  /**
   * The module frames of the access at `seq`, innermost first. The accessors of mmio.ts are
   * inlined, so the byte offset of the import call maps to their line; the site given is the
   * last position before it, in the same function, that the source map puts in another file:
   * the driver statement that called the accessor.
   */
  sitesOf(seq: number): SourceSite[] {
    const error = this.stacks[seq];
    if (error === undefined) return [];
    const map = (this.mapping ??= readSourceMap(this.sourceMapPath));
    this.bodies ??= functionBodies(readFileSync(this.sourceMapPath.replace(/\.map$/, "")));
    const sites: SourceSite[] = [];
    for (const line of (error.stack ?? "").split("\n")) {
      const m = WASM_FRAME.exec(line);
      if (m === null) continue;
      const offset = parseInt(m[3]!, 16);
      const body = this.bodies.get(Number(m[2]));
      let row = rowAt(map, offset);
      while (row > 0 && HELPER_SOURCE.test(map.sourceNames[map.sources[row]!] ?? "") && (body === undefined || map.offsets[row - 1]! >= body.start)) row--;
      if (row < 0) continue;
      sites.push({ file: map.sourceNames[map.sources[row]!] ?? "?", line: map.lines[row]! + 1, column: map.columns[row]! + 1, function: m[1] ?? "?" });
    }
    return sites;
  }

  /** `zoo/pl011-fr-read-hoisted.ts:18 (pl011_write)`, innermost frame first, callers after `<`. */
  siteText(seq: number): string | undefined {
    const sites = this.sitesOf(seq).filter((s) => !HELPER_SOURCE.test(s.file));
    if (sites.length === 0) return undefined;
    return sites.slice(0, 3).map((s) => `${s.file}:${s.line} (${s.function.split("/").at(-1)})`).join(" < ");
  }

  /** Stops capturing: the trace records through the class's method again. */
  stop(): void {
    Reflect.deleteProperty(this.trace, "record");
    if (SITES.get(this.trace) === this) SITES.delete(this.trace);
  }
}

const SITES = new WeakMap<Trace, SiteCapture>();

/**
 * Starts recording source sites for the CPU accesses of a trace from now on. `sourceMap` is the
 * map of the module the Hal runs (build/hal.debug.wasm.map for the debug build); the module is
 * read from the same path without ".map".
 */
export function captureSites(source: Trace | TraceSource, sourceMap: string): SiteCapture {
  return new SiteCapture(traceOf(source), sourceMap);
}

// =============================================================================================
// Sequences the manuals prescribe, to reuse across tests. Region names are parameters: boards
// name their instances.

/** PL011 TRM 3.3.7: LCR_H, IBRD and FBRD form one register loaded when LCR_H is written, so
 * the divisor (IBRD and FBRD, either order) is written before LCR_H. */
export function pl011DivisorThenLineControl(uart: string): StepGroup {
  return named("TRM 3.3.7: IBRD and FBRD, then LCR_H", inOrder(anyOrder(`W ${uart}.IBRD`, `W ${uart}.FBRD`), `W ${uart}.LCR_H`));
}

/** PL011 TRM 3.3.8: disable, wait for the current character, flush the FIFOs (FEN = 0),
 * reprogram, enable last. */
export function pl011Reprogramming(uart: string): StepGroup {
  return named("TRM 3.3.8: the reprogramming sequence", inOrder(
    { write: `${uart}.CR`, fields: { UARTEN: 0 } },
    { read: `${uart}.FR`, fields: { BUSY: 0 } },
    { write: `${uart}.LCR_H`, fields: { FEN: 0 } },
    pl011DivisorThenLineControl(uart),
    { write: `${uart}.CR`, fields: { UARTEN: 1 } },
  ));
}

/** PL022 programming procedure (docs/primecell.md 2.5): with SSE = 0, CPSR and CR0; SSE set last. */
export function pl022EnableLast(ssp: string): StepGroup {
  return named("PL022: CPSR and CR0 with SSE = 0, then SSE", inOrder(
    { write: `${ssp}.CR1`, fields: { SSE: 0 } },
    anyOrder(`W ${ssp}.CPSR`, `W ${ssp}.CR0`),
    { write: `${ssp}.CR1`, fields: { SSE: 1 } },
  ));
}

/** PL080 start of a channel (docs/primecell.md 4.6): clear stale status, load the first item, then
 * Configuration with E last. */
export function pl080StartChannel(dmac: string, channel: number): StepGroup {
  const c = `${dmac}.C${channel}`;
  return named(`PL080: start channel ${channel}`, inOrder(
    anyOrder(`W ${dmac}.IntTCClear`, `W ${dmac}.IntErrClr`),
    anyOrder(`W ${c}SrcAddr`, `W ${c}DestAddr`, `W ${c}LLI`, `W ${c}Control`),
    { write: `${c}Configuration`, fields: { E: 1 } },
  ));
}
