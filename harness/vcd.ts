// A trace as a VCD file (Value Change Dump, IEEE 1364-2005 section 18), for a waveform viewer such
// as GTKWave or Surfer: one signal per register touched, a pulse per barrier, DMA access and refused
// access, the running export call, a level per interrupt line while its handler runs and one while
// any handler runs, on the virtual clock in nanoseconds. docs/vcd.md describes the signals.
// parseVcd() reads the subset written here back (tests, tools).
import { OP_WRITE, OP_BARRIER, OP_IRQ, FLAG_DMA, FLAG_FAULT, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN, BARRIER_NAMES, type Trace } from "./trace.js";
import { traceRegions, formatCallLine, formatEndLine, type ParsedTrace, type TraceRegion } from "./trace-text.js";

export interface VcdOptions {
  /** Text of $date. Default: the current date and time (UTC). */
  date?: string;
  /** A parsed trace has no times: entry n (counts expanded) is placed at (n + 1) x accessNs,
   * where the bus would have put it. Default 100, the bus's default. Not used for a Trace. */
  accessNs?: number;
  /** The most entries (repeat counts expanded) to write: every access is a strobe in the VCD, so a
   * recorded poll of millions of reads makes gigabytes. Default VCD_MAX_ENTRIES. */
  maxEntries?: number;
}

/** Entries a VCD holds by default: about 1 GB of text at the most. */
export const VCD_MAX_ENTRIES = 10_000_000;

/** A trace too long for a VCD under the limit. */
export class VcdTooLarge extends Error {
  constructor(readonly entries: number, readonly limit: number) {
    super(`the trace has ${entries} entries (repeat counts expanded), more than the ${limit} a VCD is written for: every access is a strobe, so the file would be gigabytes; raise the limit (vcd --max-entries) or cut the trace`);
    this.name = "VcdTooLarge";
  }
}

/** The VCD timescale: the virtual clock counts nanoseconds. */
export const VCD_TIMESCALE = "1ns";
/** How long a pulse (barrier, DMA, fault, read and write strobes) stays high, in ns. */
export const PULSE_NS = 1;
/** Name of the top scope. */
export const VCD_TOP = "trace";
/** Name of the scope of the interrupt line signals, inside the top scope. */
export const VCD_IRQ_SCOPE = "irq";

/** The signal name of an interrupt line: `line12`, or `line12_uart0` when the trace names it
 * (characters other than letters, digits and `_` written `_`). */
export function irqSignalName(line: number, name: string | undefined): string {
  return name === undefined || name === "" ? `line${line}` : `line${line}_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** One access or barrier as the VCD writer needs it. */
interface Event {
  readonly time: number;
  readonly op: number;
  readonly flags: number;
  readonly width: number;
  readonly addr: number;
  readonly value: number;
  /** Index of the running call, or -1. */
  readonly call: number;
}

interface CallText {
  readonly line: string;
  readonly end: string;
}

function isTrace(source: Trace | ParsedTrace): source is Trace {
  return typeof (source as Trace).entry === "function";
}

/** Calls `visit` with every entry of either kind of trace, in order, repeat counts expanded.
 * Nothing is kept: a long poll costs time, not memory. */
function forEachEvent(source: Trace | ParsedTrace, accessNs: number, visit: (e: Event) => void): void {
  if (isTrace(source)) {
    for (let i = 0; i < source.length; i++) visit(source.entry(i));
    return;
  }
  for (const a of source.accesses) {
    for (let i = 0; i < a.repeat; i++) {
      visit({ time: (a.seq + i + 1) * accessNs, op: a.op, flags: a.flags, width: a.width, addr: a.addr, value: a.value, call: a.call });
    }
  }
}

function callsOf(source: Trace | ParsedTrace, regions: readonly TraceRegion[]): CallText[] {
  const registry = source.registry;
  return source.calls.map((c) => ({
    line: formatCallLine(c.name, c.args, regions, registry),
    end: "outcome" in c && c.outcome === "running" ? "running" : formatEndLine(c.result, registry),
  }));
}

const hex = (n: number, digits: number): string => "0x" + (n >>> 0).toString(16).padStart(digits, "0");

/** Characters of VCD identifier codes: printable ASCII from ! to ~ except # and $, which some
 * readers take for the start of a time or a keyword when an identifier stands alone. */
const ID_CHARACTERS = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter((c) => c !== "#" && c !== "$").join("");

/** The n-th identifier code, as short as it can be. */
function identifier(n: number): string {
  let id = "";
  do {
    id += ID_CHARACTERS[n % ID_CHARACTERS.length];
    n = Math.floor(n / ID_CHARACTERS.length);
  } while (n > 0);
  return id;
}

/** A signal: a register (or memory word) of a region, or one of the trace's own. */
interface Signal {
  readonly id: string;
  readonly size: number;
  readonly name: string;
  /** Sort key inside its scope. */
  readonly order: number;
}

/** Collects value changes in time order. Pulses fall back to 0 PULSE_NS later; the fall is
 * written before any change at that time, so a pulse that starts again then stays high. A level
 * change may be put off by PULSE_NS the same way (scalarLater). */
class ChangeWriter {
  readonly out: string[] = [];
  private now = 0;
  /** Scalar changes due PULSE_NS after they were asked for: in time order, as `now` only grows. */
  private readonly falls: { time: number; text: string }[] = [];
  private nextFall = 0;

  /** Moves to `time`, writing the pulse falls due before or at it. */
  at(time: number): void {
    while (this.nextFall < this.falls.length && this.falls[this.nextFall]!.time <= time) {
      const fall = this.falls[this.nextFall++]!;
      this.stamp(fall.time);
      this.out.push(fall.text);
    }
    this.stamp(time);
  }

  /** The time value changes are written at now. */
  get time(): number {
    return this.now;
  }

  private stamp(time: number): void {
    if (time > this.now) {
      this.now = time;
      this.out.push(`#${time}`);
    }
  }

  vector(id: string, value: number): void {
    this.out.push(`b${(value >>> 0).toString(2)} ${id}`);
  }

  pulse(id: string): void {
    this.out.push(`1${id}`);
    this.falls.push({ time: this.now + PULSE_NS, text: `0${id}` });
  }

  /** A 1-bit level set now. */
  scalar(id: string, bit: 0 | 1): void {
    this.out.push(`${bit}${id}`);
  }

  /** A 1-bit level set PULSE_NS from now, after a strobe of this instant has fallen. */
  scalarLater(id: string, bit: 0 | 1): void {
    this.falls.push({ time: this.now + PULSE_NS, text: `${bit}${id}` });
  }

  /** Writes the falls still pending. */
  end(): void {
    this.at(this.falls.length > 0 ? this.falls[this.falls.length - 1]!.time : this.now);
  }
}

/**
 * The VCD text of a trace. `regions` name the addresses: a bus's regions for a Trace (required),
 * the trace's own declarations for a parsed trace (the default). Every region gets a scope with a
 * `read` and a `write` strobe and one 32-bit signal per register touched (per offset in plain
 * memory), holding the value of the last access: a write sets it, a read shows the value read.
 */
export function traceToVcd(source: Trace | ParsedTrace, regions?: readonly TraceRegion[], options: VcdOptions = {}): string {
  let places: readonly TraceRegion[];
  if (regions !== undefined) places = regions;
  else if (!isTrace(source)) places = traceRegions(source.regions, source.registry);
  else throw new Error("traceToVcd: a Trace needs the regions of its bus (bus.regions)");
  places = [...places].sort((a, b) => a.base - b.base);
  const accessNs = options.accessNs ?? 100;
  if (!(accessNs > 0)) throw new RangeError(`accessNs ${accessNs} is not a positive number of ns`);
  const calls = callsOf(source, places);
  const limit = options.maxEntries ?? VCD_MAX_ENTRIES;
  if (source.length > limit) throw new VcdTooLarge(source.length, limit);

  // The signals, in a first pass: registers are declared only if touched.
  let nextId = 0;
  const newSignal = (size: number, name: string, order: number): Signal => ({ id: identifier(nextId++), size, name, order });
  const callSignal = newSignal(32, "call", 0);
  const barrierSignals = BARRIER_NAMES.map((name, kind) => newSignal(1, name, kind + 1));
  const dmaSignal = newSignal(1, "dma", 4);
  const faultSignal = newSignal(1, "fault", 5);
  const strobes = places.map(() => ({ read: newSignal(1, "read", -2), write: newSignal(1, "write", -1) }));
  /** One level per interrupt line the trace enters, by line. */
  const irqLines = new Map<number, Signal>();
  const lineNames = source.lineNames;
  const registers = places.map(() => new Map<number, Signal>());
  let lastRegion = -1;
  /** The index in `places` of the region holding an address, or -1. */
  const regionIndex = (addr: number): number => {
    const last = places[lastRegion];
    if (last !== undefined && addr >= last.base && addr < last.base + last.size) return lastRegion;
    lastRegion = places.findIndex((p) => addr >= p.base && addr < p.base + p.size);
    return lastRegion;
  };
  /** The signal's key in its region (the register's offset) and its name. */
  const registerAt = (r: number, offset: number): { key: number; name: string } => {
    const index = places[r]!.index;
    if (index === undefined) return { key: offset, name: `at_${hex(offset, 3)}` };
    const reg = index.at(offset);
    if (reg === undefined) return { key: offset & ~3, name: `reserved_${hex(offset & ~3, 3)}` };
    return { key: reg.offset, name: reg.writeName === null ? reg.name : `${reg.name}_${reg.writeName}` };
  };
  let entries = 0;
  let interrupts = 0;
  const enteredLines = new Set<number>();
  /** The trace has interrupt events or handler accesses: the `isr` signal is declared. */
  let handlers = false;
  forEachEvent(source, accessNs, (e) => {
    entries++;
    if ((e.flags & FLAG_IRQ) !== 0) handlers = true;
    if (e.op === OP_IRQ) {
      handlers = true;
      // An interrupt event: `addr` is the controller's line, not an address.
      if (e.width === IRQ_ENTER) {
        interrupts++;
        enteredLines.add(e.addr);
      }
      return;
    }
    if (e.op === OP_BARRIER || (e.flags & FLAG_FAULT) !== 0) return;
    const r = regionIndex(e.addr);
    if (r < 0) return;
    const { key, name } = registerAt(r, e.addr - places[r]!.base);
    if (!registers[r]!.has(key)) registers[r]!.set(key, newSignal(32, name, key));
  });

  const header: string[] = [
    "$date", `  ${options.date ?? new Date().toUTCString()}`, "$end",
    "$version", "  wasm-hal traceToVcd (docs/vcd.md)", "$end",
    "$comment",
    `  ${isTrace(source) ? "a bus trace" : source.fileName}: ${entries} entries${interrupts === 0 ? "" : ` (${interrupts} interrupt${interrupts === 1 ? "" : "s"} entered)`}, times in ns of virtual time${isTrace(source) ? "" : ` (entry n at (n + 1) x ${accessNs} ns)`}`,
    ...calls.map((c, i) => `  call ${i + 1} = ${c.line} -> ${c.end}`),
    "$end",
    `$timescale ${VCD_TIMESCALE} $end`,
    `$scope module ${VCD_TOP} $end`,
  ];
  const declare = (s: Signal): void => { header.push(`$var wire ${s.size} ${s.id} ${s.name} $end`); };
  // Made after every other signal, and only for a trace with interrupts: a trace without them
  // gives the VCD it gave before interrupts existed, identifiers and all.
  const isrSignal = newSignal(1, "isr", 6);
  for (const line of [...enteredLines].sort((a, b) => a - b)) irqLines.set(line, newSignal(1, irqSignalName(line, lineNames?.get(line)), line));
  const contextSignals = handlers ? [isrSignal] : [];
  [callSignal, ...barrierSignals, dmaSignal, faultSignal, ...contextSignals].forEach(declare);
  if (irqLines.size > 0) {
    // A region of that name has its own scope: the lines' scope then takes another name.
    const scope = places.some((p) => p.name.replace(/\./g, "_") === VCD_IRQ_SCOPE) ? `${VCD_IRQ_SCOPE}_lines` : VCD_IRQ_SCOPE;
    header.push(`$scope module ${scope} $end`);
    [...irqLines.values()].sort((a, b) => a.order - b.order).forEach(declare);
    header.push("$upscope $end");
  }
  places.forEach((p, r) => {
    // Viewers join scope names with dots: a dot inside a region's name would nest it.
    header.push(`$scope module ${p.name.replace(/\./g, "_")} $end`);
    declare(strobes[r]!.read);
    declare(strobes[r]!.write);
    [...registers[r]!.values()].sort((a, b) => a.order - b.order).forEach(declare);
    header.push("$upscope $end");
  });
  header.push("$upscope $end", "$enddefinitions $end");

  // Initial values: registers unknown until touched, pulses low, no call running.
  const w = new ChangeWriter();
  w.out.push("#0", "$dumpvars", `b0 ${callSignal.id}`);
  for (const s of [...barrierSignals, dmaSignal, faultSignal, ...contextSignals, ...irqLines.values(), ...strobes.flatMap((s) => [s.read, s.write])]) w.out.push(`0${s.id}`);
  for (const m of registers) for (const s of m.values()) w.out.push(`bx ${s.id}`);
  w.out.push("$end");

  const last = new Map<string, number>();
  const set = (s: Signal, value: number): void => {
    if (last.get(s.id) === value) return;
    last.set(s.id, value);
    w.vector(s.id, value);
  };
  last.set(callSignal.id, 0);
  // Handlers running, in all and per line (a line may be entered again while its handler runs,
  // in a hand-written trace at least: it stays high until the last return).
  let depth = 0;
  const lineDepth = new Map<number, number>();
  /** Time of the last pulse: a level that changes at that instant changes PULSE_NS later, once
   * the strobe has fallen (a Trace puts an interrupt event at the time of the access before). */
  let lastPulse = -1;
  const level = (id: string, bit: 0 | 1): void => {
    if (lastPulse === w.time) w.scalarLater(id, bit);
    else w.scalar(id, bit);
  };
  forEachEvent(source, accessNs, (e) => {
    w.at(e.time);
    set(callSignal, e.call + 1);
    if (e.op === OP_IRQ) {
      const signal = irqLines.get(e.addr);
      if (e.width === IRQ_ENTER && signal !== undefined) {
        const n = lineDepth.get(e.addr) ?? 0;
        lineDepth.set(e.addr, n + 1);
        if (n === 0) level(signal.id, 1);
        if (depth++ === 0) level(isrSignal.id, 1);
      } else if (e.width === IRQ_RETURN && signal !== undefined && (lineDepth.get(e.addr) ?? 0) > 0) {
        const n = lineDepth.get(e.addr)!;
        lineDepth.set(e.addr, n - 1);
        if (n === 1) level(signal.id, 0);
        if (--depth === 0) level(isrSignal.id, 0);
      }
      return;
    }
    lastPulse = e.time;
    if (e.op === OP_BARRIER) {
      const s = barrierSignals[e.value];
      if (s !== undefined) w.pulse(s.id);
      if ((e.flags & FLAG_FAULT) !== 0) w.pulse(faultSignal.id);
      return;
    }
    if ((e.flags & FLAG_DMA) !== 0) w.pulse(dmaSignal.id);
    if ((e.flags & FLAG_FAULT) !== 0) {
      w.pulse(faultSignal.id);
      return;
    }
    const r = regionIndex(e.addr);
    if (r < 0) return;
    w.pulse(e.op === OP_WRITE ? strobes[r]!.write.id : strobes[r]!.read.id);
    set(registers[r]!.get(registerAt(r, e.addr - places[r]!.base).key)!, e.value);
  });
  w.end();
  return header.join("\n") + "\n" + w.out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Reading VCD back

export interface VcdVariable {
  readonly id: string;
  readonly size: number;
  readonly name: string;
  /** Scope names from the top, then the variable's name: "trace.uart0.FR". */
  readonly path: string;
}

export interface VcdChange {
  readonly time: number;
  readonly id: string;
  /** Bits as written, most significant first, for a vector ("1011", "x"); "0"/"1"/"x"/"z" for a scalar. */
  readonly bits: string;
}

export interface ParsedVcd {
  readonly date: string;
  readonly version: string;
  readonly timescale: string;
  readonly comment: string;
  readonly variables: readonly VcdVariable[];
  /** Value changes in file order, $dumpvars included (at its time). */
  readonly changes: readonly VcdChange[];
}

/** A VCD that does not follow the subset parseVcd reads. */
export class VcdParseError extends Error {
  constructor(problem: string) {
    super(`VCD: ${problem}`);
    this.name = "VcdParseError";
  }
}

/** Reads the header and the value changes of a VCD file (four-state scalars and binary vectors;
 * real values are refused). */
export function parseVcd(text: string): ParsedVcd {
  const tokens = text.split(/\s+/).filter((t) => t !== "");
  let at = 0;
  const untilEnd = (): string[] => {
    const words: string[] = [];
    for (;;) {
      const t = tokens[at++];
      if (t === undefined) throw new VcdParseError("a section has no $end");
      if (t === "$end") return words;
      words.push(t);
    }
  };
  let date = "", version = "", timescale = "", comment = "";
  const variables: VcdVariable[] = [];
  const scopes: string[] = [];
  for (;;) {
    const t = tokens[at++];
    if (t === undefined) throw new VcdParseError("no $enddefinitions");
    if (t === "$enddefinitions") { untilEnd(); break; }
    const words = untilEnd();
    if (t === "$date") date = words.join(" ");
    else if (t === "$version") version = words.join(" ");
    else if (t === "$comment") comment = words.join(" ");
    else if (t === "$timescale") timescale = words.join("");
    else if (t === "$scope") scopes.push(words[1] ?? "");
    else if (t === "$upscope") scopes.pop();
    else if (t === "$var") {
      const [, size, id, name] = words;
      if (size === undefined || id === undefined || name === undefined) throw new VcdParseError(`bad $var ${words.join(" ")}`);
      variables.push({ id, size: Number(size), name, path: [...scopes, name].join(".") });
    } else {
      throw new VcdParseError(`unknown header section ${t}`);
    }
  }
  const known = new Set(variables.map((v) => v.id));
  const changes: VcdChange[] = [];
  let time = 0;
  const change = (id: string | undefined, bits: string): void => {
    if (id === undefined || !known.has(id)) throw new VcdParseError(`a value change for an undeclared identifier ${id ?? "(none)"}`);
    changes.push({ time, id, bits });
  };
  while (at < tokens.length) {
    const t = tokens[at++]!;
    if (t === "$dumpvars" || t === "$dumpall" || t === "$dumpon" || t === "$dumpoff" || t === "$end") continue;
    if (t === "$comment") { untilEnd(); continue; }
    const first = t[0]!;
    if (first === "#") {
      const next = Number(t.slice(1));
      if (!Number.isInteger(next) || next < time) throw new VcdParseError(`bad or decreasing time ${t}`);
      time = next;
    } else if (first === "b" || first === "B") {
      change(tokens[at++], t.slice(1).toLowerCase());
    } else if ("01xXzZ".includes(first)) {
      change(t.slice(1), first.toLowerCase());
    } else {
      throw new VcdParseError(`unexpected ${t} in the value changes`);
    }
  }
  return { date, version, timescale, comment, variables, changes };
}

/** The changes of one variable, by path ("trace.uart0.FR"), as (time, value) with the value a
 * number, or null while unknown (x or z bits). */
export function vcdValues(vcd: ParsedVcd, path: string): { time: number; value: number | null }[] {
  const v = vcd.variables.find((x) => x.path === path);
  if (v === undefined) throw new Error(`no VCD variable ${path} (have: ${vcd.variables.map((x) => x.path).join(", ")})`);
  return vcd.changes.filter((c) => c.id === v.id).map((c) => ({ time: c.time, value: /^[01]+$/.test(c.bits) ? parseInt(c.bits, 2) : null }));
}
