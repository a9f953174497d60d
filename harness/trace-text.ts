// The text form of a trace (docs/trace-format.md): what golden files hold and what error messages
// show. One access per line, no sequence numbers or times, addresses relative to a named region,
// register names and decoded fields beside the raw value, polls collapsed into one line with a
// count. This file formats a Trace, parses the text back (checking it against the register maps)
// and compares two parsed traces.
import type { Bus, Region } from "./bus.js";
import { RegisterIndex, decodeFields } from "./regmap.js";
import { OP_READ, OP_WRITE, OP_BARRIER, OP_IRQ, FLAG_FAULT, FLAG_DMA, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN, BARRIER_NAMES, type Trace, type CallRecord, type TraceEntry } from "./trace.js";
import type { Registry } from "./registry.js";
import { packageRegistry } from "./project.js";
import { excerpt } from "./json-text.js";
import { suggest } from "./near-miss.js";

export const TRACE_FORMAT_VERSION = 1;
export const TRACE_MAGIC = "wasm-hal-trace";
export const TRACE_HEADER = `${TRACE_MAGIC} ${TRACE_FORMAT_VERSION}`;

/** Written for a region that holds no register block (RAM, a buffer). */
export const NO_BLOCK = "none";

/** Fixed column widths of an access line. Fixed, so that a line's layout depends on nothing but
 * the line itself and inserting one access changes one line of a golden file. */
const OP_COLUMN = 3;
const PLACE_COLUMN = 11;
const REGISTER_COLUMN = 9;
/** Indentation of the lines made during an export call. */
const CALL_INDENT = "  ";
/** Separates an access from its decoded fields, which are informational. */
const FIELDS_MARK = ";";

// ---------------------------------------------------------------------------------------------
// Regions as the text form sees them

/** A region as a trace file declares it. */
export interface RegionDecl {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  /** Register block (a name in the project's registry), or null for plain memory. */
  readonly block: string | null;
}

/** What naming an address needs: a bus Region has this shape, and so has a parsed region. */
export interface TraceRegion {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly end: number;
  readonly index: RegisterIndex | undefined;
}

/** Regions of a parsed trace, with their register maps looked up in a registry (the package's
 * own by default). */
export function traceRegions(decls: readonly RegionDecl[], registry: Registry = packageRegistry()): TraceRegion[] {
  return decls.map((d) => {
    const map = d.block === null ? undefined : registry.block(d.block);
    if (d.block !== null && map === undefined) throw new Error(`region ${d.name}: no register block named ${d.block} (${registry.expected()})`);
    return { name: d.name, base: d.base, size: d.size, end: d.base + d.size, index: map === undefined ? undefined : new RegisterIndex(map) };
  });
}

function blockName(region: TraceRegion): string {
  return region.index?.block.block ?? NO_BLOCK;
}

function regionAt(regions: readonly TraceRegion[], addr: number): TraceRegion | undefined {
  for (const r of regions) if (addr >= r.base && addr < r.end) return r;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Numbers

const hex = (n: number, digits = 1): string => "0x" + (n >>> 0).toString(16).padStart(digits, "0");
const hexAddress = (n: number): string => hex(n, 8);
const hexOffset = (n: number): string => hex(n, 3);
/** A value with as many digits as the access has nibbles (0x41 for a byte, 0x00000041 for a word);
 * at most 8, since a value is 32 bits whatever width a faulted access asked for. */
const hexValue = (n: number, width: number): string => hex(n, Math.min(8, Math.max(1, width * 2)));


// ---------------------------------------------------------------------------------------------
// Lines

/** One line's worth of accesses: a single entry, or a poll (identical reads) with a count. */
export interface AccessGroup {
  readonly op: number;
  readonly flags: number;
  readonly width: number;
  readonly addr: number;
  readonly value: number;
  /** Entries the line stands for: 1, or the length of a collapsed poll. */
  readonly repeat: number;
}

/** What an interrupt line prints with (informational, after the ";"): the names the interrupt
 * controller gave its lines (Trace.lineNames). */
export interface AccessTextOptions {
  readonly registry?: Registry;
  readonly lineNames?: ReadonlyMap<number, string>;
}

/** Words of an IRQ_ENTER value (harness/interrupts.ts ENTER_*), in bit order. */
const ENTER_WORDS = ["preemptive", "source-idle", "injected"] as const;

function formatInterrupt(a: AccessGroup, options: AccessTextOptions): string {
  const name = options.lineNames?.get(a.addr);
  const note = name === undefined ? "" : `  ${FIELDS_MARK} ${name}`;
  if (a.width === IRQ_ENTER) {
    const words = ENTER_WORDS.filter((_, i) => (a.value & (1 << i)) !== 0);
    return `irq enter ${a.addr}${words.map((w) => " " + w).join("")}${note}`;
  }
  if (a.width === IRQ_RETURN) {
    const status = a.value | 0;
    const statusName = status < 0 ? (options.registry ?? packageRegistry()).statusName(status) : undefined;
    return `irq return ${a.addr} ${status}${statusName === undefined ? "" : " " + statusName}${note}`;
  }
  return `irq event ${a.width} ${a.addr} ${hex(a.value)}`;
}

/** The canonical text of an access, barrier or interrupt line, without indentation. */
export function formatAccess(a: AccessGroup, regions: readonly TraceRegion[], options: AccessTextOptions = {}): string {
  let prefix = "";
  if ((a.flags & FLAG_IRQ) !== 0) prefix += "isr ";
  if (a.op === OP_IRQ) return prefix + formatInterrupt(a, options);
  if ((a.flags & FLAG_DMA) !== 0) prefix += "dma ";
  if ((a.flags & FLAG_FAULT) !== 0) prefix += "fault ";
  if (a.op === OP_BARRIER) {
    const name = BARRIER_NAMES[a.value];
    return prefix + (name ?? `barrier ${a.value}`);
  }
  const isWrite = a.op === OP_WRITE;
  const op = (isWrite ? "W" : "R") + String(a.width * 8);
  const region = regionAt(regions, a.addr);
  let place = hexAddress(a.addr);
  let register = "";
  let fields = "";
  if (region !== undefined) {
    const offset = a.addr - region.base;
    place = `${region.name}+${hexOffset(offset)}`;
    const reg = region.index?.at(offset);
    if (reg !== undefined) {
      register = isWrite && reg.writeName !== null ? reg.writeName : reg.name;
      // Fields describe a value read from or written to the register itself: not a faulted
      // access (its value is 0), not a write-only register's read, not a write whose data the
      // register ignores, not a byte or halfword from the middle of the register.
      const meaningful = (a.flags & FLAG_FAULT) === 0 && ((offset - reg.offset) & 3) === 0
        && (isWrite ? reg.write !== "clears" : reg.read !== "undefined");
      if (meaningful) fields = decodeFields(reg, a.value);
    }
  }
  let line = prefix + op.padEnd(OP_COLUMN) + " " + place.padEnd(PLACE_COLUMN) + " " + register.padEnd(REGISTER_COLUMN) + " " + hexValue(a.value, a.width);
  if (a.repeat > 1) line += ` x${a.repeat}`;
  if (fields !== "") line += `  ${FIELDS_MARK} ${fields}`;
  return line;
}

/** `call NAME(ARGS)`, the arguments as the registry prints them (Registry.formatArgument). */
export function formatCallLine(name: string, args: readonly number[], regions: readonly TraceRegion[], registry: Registry = packageRegistry()): string {
  return `call ${registry.formatCall(name, args, regions)}`;
}

/** The line that ends a call: `return N [STATUS]`, or `threw` when the call did not return. */
export function formatEndLine(result: number | undefined, registry: Registry = packageRegistry()): string {
  if (result === undefined) return "threw";
  const name = result < 0 ? registry.statusName(result) : undefined;
  return `return ${result}${name === undefined ? "" : " " + name}`;
}

export function formatRegionLine(region: TraceRegion): string {
  return `region ${region.name} ${hexAddress(region.base)} ${hex(region.size)} ${blockName(region)}`;
}

// ---------------------------------------------------------------------------------------------
// Formatting a Trace

export interface FormatOptions {
  /** Collapse identical consecutive reads (a poll) into one line with a count. Default true. */
  collapse?: boolean;
  /** First entry to show. Default 0. */
  from?: number;
  /** One past the last entry to show. Default: the trace's length. */
  to?: number;
  /** Start with the header and region lines. Default true. */
  header?: boolean;
  /** How calls and status codes print: the trace's own registry (Trace.registry), else the
   * package's. */
  registry?: Registry;
}

/** True when entry b repeats read a: the same address, width, value and flags. */
function sameRead(a: TraceEntry, b: TraceEntry): boolean {
  return a.op === OP_READ && b.op === OP_READ && a.flags === b.flags && a.width === b.width && a.addr === b.addr && a.value === b.value;
}

/** A call has ended (returned or thrown) once the trace is no longer inside it. */
function callEnded(trace: Trace, index: number): boolean {
  return trace.currentCall !== index;
}

/**
 * The text form of a trace (docs/trace-format.md). With a range, a call that began before `from`
 * still shows its call line, so that the reader sees which export made the accesses.
 */
export function formatTrace(trace: Trace, regions: readonly TraceRegion[], options: FormatOptions = {}): string {
  const collapse = options.collapse ?? true;
  const from = Math.max(0, options.from ?? 0);
  const to = Math.min(trace.length, options.to ?? trace.length);
  const sorted = [...regions].sort((a, b) => a.base - b.base);
  const registry = options.registry ?? trace.registry ?? packageRegistry();
  const lines: string[] = [];
  if (options.header ?? true) {
    lines.push(TRACE_HEADER);
    for (const r of sorted) lines.push(formatRegionLine(r));
    lines.push("");
  }

  const calls: readonly CallRecord[] = trace.calls;
  let open = -1;
  let next = 0;
  // Calls wholly before the range are not shown.
  while (next < calls.length && calls[next]!.start < from && callEnded(trace, next) && calls[next]!.end <= from) next++;

  const endOpenCall = (): void => {
    lines.push(formatEndLine(calls[open]!.result, registry));
    lines.push("");
    open = -1;
  };
  /** Emits the call and return lines due at position p. */
  const callLinesAt = (p: number, last: boolean): void => {
    if (open >= 0 && callEnded(trace, open) && calls[open]!.end <= p) endOpenCall();
    while (next < calls.length && calls[next]!.start <= p) {
      // At the end of a partial range, a call starting there made none of the shown accesses.
      if (last && to < trace.length && calls[next]!.start === p) break;
      if (open >= 0) endOpenCall();
      const c = calls[next]!;
      lines.push(formatCallLine(c.name, c.args, sorted, registry));
      open = next++;
      if (callEnded(trace, open) && c.end <= p) endOpenCall();
    }
  };

  let p = from;
  while (p < to) {
    callLinesAt(p, false);
    // A line never spans a call boundary, even a call that made no access.
    let boundary = to;
    if (next < calls.length) boundary = Math.min(boundary, calls[next]!.start);
    if (open >= 0 && callEnded(trace, open)) boundary = Math.min(boundary, calls[open]!.end);
    if (boundary <= p) boundary = p + 1;
    const first = trace.entry(p);
    let repeat = 1;
    if (collapse && first.op === OP_READ) {
      while (p + repeat < boundary && sameRead(first, trace.entry(p + repeat))) repeat++;
    }
    const indent = (open >= 0 ? CALL_INDENT : "") + ((first.flags & FLAG_IRQ) !== 0 ? CALL_INDENT : "");
    lines.push(indent + formatAccess({ ...first, repeat }, sorted, { registry, lineNames: trace.lineNames }));
    // A handler that ran between two calls is set apart from the next call, as calls are.
    if (first.op === OP_IRQ && first.width === IRQ_RETURN && open < 0 && (first.flags & FLAG_IRQ) === 0) lines.push("");
    p += repeat;
  }
  callLinesAt(to, true);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n") + "\n";
}

/** True when a call starts or ends exactly at entry p (binary search: calls are in order). */
function isCallBoundary(trace: Trace, p: number): boolean {
  const calls = trace.calls;
  let lo = 0;
  let hi = calls.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (calls[mid]!.start < p) lo = mid + 1;
    else hi = mid;
  }
  if (lo < calls.length && calls[lo]!.start === p) return true;
  // The call before `lo` is the only one that can end at p.
  const before = lo - 1;
  return before >= 0 && callEnded(trace, before) && calls[before]!.end === p;
}

/**
 * The end of a bus's trace as text lines for an error message: the last `count` access lines (a
 * collapsed poll counts as one line), preceded by the call line of the export that made them and
 * with the call and return lines in between. No header, no trailing newline.
 */
export function formatTail(bus: Bus, count: number): string {
  const trace = bus.trace;
  let from = trace.length;
  for (let shown = 0; shown < count && from > 0; shown++) {
    let start = from - 1;
    const last = trace.entry(start);
    while (start > 0 && !isCallBoundary(trace, start) && sameRead(trace.entry(start - 1), last)) start--;
    from = start;
  }
  return formatTrace(trace, bus.regions, { from, header: false }).trimEnd();
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ParsedRegion extends RegionDecl {
  readonly line: number;
}

/** One access or barrier line. */
export interface ParsedAccess extends AccessGroup {
  /** Index of the first trace entry the line stands for (repeat counts expanded). */
  readonly seq: number;
  /** Index into ParsedTrace.calls of the call the line lies in, or -1. */
  readonly call: number;
  readonly line: number;
}

export type CallOutcome = "returned" | "threw" | "running";

export interface ParsedCall {
  readonly name: string;
  readonly args: readonly number[];
  /** Entry index of the call's first access, as in Trace.calls. */
  readonly start: number;
  /** Entry index one past its last access (for a call still running, the end of the file). */
  readonly end: number;
  /** Returned value; undefined when the call threw or was still running. */
  readonly result: number | undefined;
  /** `threw`: a trap or a bus fault ended it; `running`: the file ends inside it. */
  readonly outcome: CallOutcome;
  readonly line: number;
  /** Line of its `return` or `threw`, or -1 while running. */
  readonly endLine: number;
}

export interface ParsedTrace {
  readonly fileName: string;
  readonly version: number;
  readonly regions: readonly ParsedRegion[];
  readonly calls: readonly ParsedCall[];
  /** Access and barrier lines in file order; barriers have op OP_BARRIER and the kind in value. */
  readonly accesses: readonly ParsedAccess[];
  /** Number of trace entries: the sum of the repeat counts. */
  readonly length: number;
  /** The registry it was checked against: its block names and status codes. */
  readonly registry: Registry;
  /** Names of interrupt lines, from the informational text of its irq lines (`irq enter 12  ;
   * uart0`): the first name given to each line. Empty when no irq line names one. */
  readonly lineNames?: ReadonlyMap<number, string>;
}

/** A trace file that does not follow docs/trace-format.md. */
export class TraceParseError extends Error {
  constructor(
    readonly fileName: string,
    readonly line: number,
    readonly text: string,
    readonly problem: string,
  ) {
    // The line is quoted cut short: a file with no line breaks the parser knows is one line.
    super(`${fileName}:${line}: ${excerpt(problem, 400)}\n    ${text.length <= 160 ? text : text.slice(0, 159) + "…"}`);
    this.name = "TraceParseError";
  }
}

const REGION_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const CALL_LINE = /^call\s+([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$/;
const HEX = /^0x[0-9a-fA-F]{1,8}$/;
const DECIMAL = /^-?[0-9]+$/;
const OP_TOKEN = /^([RW])([0-9]+)$/;
const REPEAT = /^x([0-9]+)$/;
/** The longest poll one line may stand for: 2^32 - 1 reads, far beyond any driver's poll limit. */
export const MAX_REPEAT = 2 ** 32 - 1;
/** Regions a trace may declare (a SoC has a few hundred peripherals at most). */
export const MAX_REGIONS = 4096;
const REGISTER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An interrupt line's name after the ";" of an irq line (a region's name, as a board gives it). */
const LINE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export interface ParseOptions {
  /** The register blocks and status codes the trace may name (the package's by default). */
  registry?: Registry;
}

/** Parses the text form back, checking it against the register maps of a registry. Throws a
 * TraceParseError naming file:line, the line and what was expected. */
export function parseTrace(text: string, fileName: string, options: ParseOptions = {}): ParsedTrace {
  return new TraceParser(text, fileName, options.registry ?? packageRegistry()).parse();
}

class TraceParser {
  private readonly lines: string[];
  private lineNo = 0;
  private lineText = "";
  private readonly regions: ParsedRegion[] = [];
  private places: TraceRegion[] = [];
  private readonly calls: ParsedCall[] = [];
  private readonly accesses: ParsedAccess[] = [];
  private length = 0;
  /** The call whose return line has not come yet. */
  private open: { name: string; args: number[]; start: number; line: number } | undefined;
  private seenEvent = false;
  /** The lines of the interrupt handlers entered and not yet returned, innermost last. */
  private readonly openLines: number[] = [];
  /** The informational text after the current line's ";", trimmed. */
  private note = "";
  private readonly lineNames = new Map<number, string>();

  constructor(text: string, private readonly fileName: string, private readonly registry: Registry) {
    // CR LF, LF and a lone CR (old Mac files) all end a line.
    this.lines = text.split(/\r\n|\r|\n/);
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] === "") this.lines.pop();
  }

  private fail(problem: string): never {
    throw new TraceParseError(this.fileName, this.lineNo, this.lineText, problem);
  }

  parse(): ParsedTrace {
    this.lineNo = 1;
    this.lineText = this.lines[0] ?? "";
    const version = this.header(this.lineText.trim());
    for (let i = 1; i < this.lines.length; i++) {
      this.lineNo = i + 1;
      this.lineText = this.lines[i]!;
      const cut = this.lineText.indexOf(FIELDS_MARK);
      const code = (cut < 0 ? this.lineText : this.lineText.slice(0, cut)).trim();
      if (code === "" || code.startsWith("#")) continue;
      this.note = cut < 0 ? "" : this.lineText.slice(cut + 1).trim();
      this.line(code);
    }
    if (this.open !== undefined) {
      const o = this.open;
      this.calls.push({ name: o.name, args: o.args, start: o.start, end: this.length, result: undefined, outcome: "running", line: o.line, endLine: -1 });
    }
    return { fileName: this.fileName, version, regions: this.regions, calls: this.calls, accesses: this.accesses, length: this.length, registry: this.registry, lineNames: this.lineNames };
  }

  private header(line: string): number {
    const words = line.split(/\s+/);
    if (words[0] !== TRACE_MAGIC) this.fail(`missing header: expected "${TRACE_HEADER}" on the first line`);
    if (words.length !== 2 || words[1] !== String(TRACE_FORMAT_VERSION)) {
      this.fail(`unsupported header "${line}": expected "${TRACE_HEADER}" (this parser reads format version ${TRACE_FORMAT_VERSION} only)`);
    }
    return TRACE_FORMAT_VERSION;
  }

  private line(code: string): void {
    const words = code.split(/\s+/);
    const kind = words[0]!;
    if (kind === "region") return this.region(words);
    if (kind === "call") return this.call(code);
    if (kind === "return") return this.returned(words);
    if (kind === "threw") return this.threw(words);
    let flags = 0;
    let at = 0;
    for (;; at++) {
      const w = words[at];
      if (w === "isr" && at === 0) flags |= FLAG_IRQ;
      else if (w === "dma" && (flags & FLAG_DMA) === 0) flags |= FLAG_DMA;
      else if (w === "fault" && (flags & FLAG_FAULT) === 0) flags |= FLAG_FAULT;
      else break;
    }
    const op = words[at];
    if (op === "irq") return this.interrupt(words.slice(at), flags);
    if (op !== undefined && ((BARRIER_NAMES as readonly string[]).includes(op) || op === "barrier")) return this.barrier(words.slice(at), flags);
    if (op !== undefined && OP_TOKEN.test(op)) return this.access(words.slice(at), flags);
    this.fail(`unknown line kind "${op ?? kind}": expected region, call, return, threw, an access (R32 ..., W8 ...), a barrier (DMB, DSB, ISB) or an interrupt (irq enter, irq return)`);
  }

  private number(word: string | undefined, what: string): number {
    if (word !== undefined && HEX.test(word)) return parseInt(word.slice(2), 16);
    if (word !== undefined && DECIMAL.test(word)) {
      const n = Number(word);
      if (n >= -(2 ** 31) && n < 2 ** 32) return n;
    }
    return this.fail(`bad ${what} "${word ?? ""}": expected a 32-bit integer, in decimal or 0x-prefixed hex`);
  }

  private hexNumber(word: string | undefined, what: string): number {
    if (word === undefined || !HEX.test(word)) this.fail(`bad hex ${what} "${word ?? ""}": expected 0x followed by 1 to 8 hex digits`);
    return parseInt(word.slice(2), 16);
  }

  private region(words: string[]): void {
    if (this.seenEvent) this.fail("region declared after the first call or access: expected every region line right after the header");
    if (this.regions.length >= MAX_REGIONS) this.fail(`more than ${MAX_REGIONS} regions: expected at most ${MAX_REGIONS}`);
    if (words.length !== 5) this.fail(`a region line has ${words.length - 1} fields: expected "region NAME BASE SIZE BLOCK" (BLOCK a register block or ${NO_BLOCK})`);
    const name = words[1]!;
    if (!REGION_NAME.test(name)) this.fail(`bad region name "${name}": expected a letter or _ followed by letters, digits, _ . or -`);
    if (this.regions.some((r) => r.name === name)) this.fail(`region ${name} is declared twice: expected each name once`);
    const base = this.hexNumber(words[2], "region base");
    const size = this.hexNumber(words[3], "region size");
    if ((base & 3) !== 0) this.fail(`region ${name}: base ${hexAddress(base)} is not word-aligned: expected a multiple of 4`);
    if (size === 0 || base + size > 2 ** 32) this.fail(`region ${name}: size ${hex(size)} at ${hexAddress(base)} does not fit the 32-bit address space: expected a size of at least 1 that ends by 0x100000000`);
    const blockWord = words[4]!;
    let block: string | null = null;
    if (blockWord !== NO_BLOCK) {
      const map = this.registry.block(blockWord);
      if (map === undefined) this.fail(`unknown register block "${excerpt(blockWord, 40)}"${suggest(blockWord, this.registry.names())}: ${this.registry.expected([NO_BLOCK])}`);
      if (size > map.size) this.fail(`region ${name}: size ${hex(size)} exceeds the ${blockWord} block (${hex(map.size)}): expected at most ${hex(map.size)}`);
      block = blockWord;
    }
    for (const r of this.regions) {
      if (base < r.base + r.size && r.base < base + size) this.fail(`region ${name} overlaps region ${r.name} (declared on line ${r.line}): expected disjoint regions`);
    }
    this.regions.push({ name, base, size, block, line: this.lineNo });
    this.places = traceRegions(this.regions, this.registry);
  }

  private call(code: string): void {
    this.seenEvent = true;
    const m = CALL_LINE.exec(code);
    if (m === null) this.fail(`bad call line: expected "call NAME(ARG, ...)"`);
    if (this.open !== undefined) this.fail(`call ${m[1]} while ${this.open.name} (line ${this.open.line}) has not ended: expected "return N" or "threw" first`);
    const inside = m[2]!.trim();
    const args = inside === "" ? [] : inside.split(",").map((a) => this.number(a.trim(), "call argument"));
    this.open = { name: m[1]!, args, start: this.length, line: this.lineNo };
  }

  private endCall(result: number | undefined, outcome: CallOutcome): void {
    const o = this.open;
    if (o === undefined) this.fail(`"${outcome === "returned" ? "return" : "threw"}" outside any call: expected a "call" line before it`);
    this.calls.push({ name: o.name, args: o.args, start: o.start, end: this.length, result, outcome, line: o.line, endLine: this.lineNo });
    this.open = undefined;
  }

  private returned(words: string[]): void {
    if (words.length < 2 || words.length > 3) this.fail(`a return line has ${words.length - 1} fields: expected "return N" or "return N STATUS"`);
    const result = this.number(words[1], "return value");
    const status = words[2];
    if (status !== undefined) {
      const name = this.registry.statusName(result);
      if (status !== name) this.fail(`status name ${status} does not match ${result}: expected ${name === undefined ? "no name" : name}`);
    }
    this.endCall(result, "returned");
  }

  private threw(words: string[]): void {
    if (words.length !== 1) this.fail(`unexpected "${words[1]}" after threw: expected nothing`);
    this.endCall(undefined, "threw");
  }

  private push(op: number, flags: number, width: number, addr: number, value: number, repeat: number): void {
    this.seenEvent = true;
    const call = this.open === undefined ? -1 : this.calls.length;
    this.accesses.push({ op, flags, width, addr, value, repeat, seq: this.length, call, line: this.lineNo });
    this.length += repeat;
  }

  private barrier(words: string[], flags: number): void {
    if ((flags & FLAG_DMA) !== 0) this.fail(`a barrier marked dma: expected barriers from the CPU only`);
    let kind: number;
    let rest: string[];
    if (words[0] === "barrier") {
      kind = this.number(words[1], "barrier kind");
      rest = words.slice(2);
    } else {
      kind = (BARRIER_NAMES as readonly string[]).indexOf(words[0]!);
      rest = words.slice(1);
    }
    if (rest.length > 0) this.fail(`unexpected "${rest[0]}" after the barrier: expected nothing (a barrier takes no repeat count)`);
    this.push(OP_BARRIER, flags, 0, 0, kind >>> 0, 1);
  }

  /** `irq enter LINE [preemptive] [source-idle] [injected]` or `irq return LINE STATUS [NAME]`. */
  private interrupt(words: string[], flags: number): void {
    if ((flags & (FLAG_DMA | FLAG_FAULT)) !== 0) this.fail(`an interrupt line marked dma or fault: expected "irq ..." or "isr irq ..."`);
    const kind = words[1];
    const line = this.number(words[2], "interrupt line");
    if (!(line >= 0 && line < 256)) this.fail(`interrupt line ${line}: expected 0..255`);
    // The line's name is informational, as decoded fields are: kept for printing, not checked.
    if (LINE_NAME.test(this.note) && !this.lineNames.has(line)) this.lineNames.set(line, this.note);
    if (kind === "enter") {
      let value = 0;
      for (const w of words.slice(3)) {
        const bit = (ENTER_WORDS as readonly string[]).indexOf(w);
        if (bit < 0 || (value & (1 << bit)) !== 0) this.fail(`unexpected "${w}" in an irq enter line: expected ${ENTER_WORDS.join(", ")}, each at most once`);
        value |= 1 << bit;
      }
      this.openLines.push(line);
      this.push(OP_IRQ, flags, IRQ_ENTER, line, value, 1);
      return;
    }
    if (kind === "return") {
      if (words.length < 4 || words.length > 5) this.fail(`an irq return line has ${words.length - 2} fields: expected "irq return LINE STATUS" or "irq return LINE STATUS NAME"`);
      const status = this.number(words[3], "handler status");
      const name = words[4];
      if (name !== undefined) {
        const expected = this.registry.statusName(status);
        if (name !== expected) this.fail(`status name ${name} does not match ${status}: expected ${expected === undefined ? "no name" : expected}`);
      }
      const open = this.openLines.pop();
      if (open === undefined) this.fail(`irq return ${line} with no handler entered: expected an "irq enter" line before it`);
      if (open !== line) this.fail(`irq return ${line} while the handler of line ${open} runs: expected "irq return ${open}" first (handlers return in the order opposite to entry)`);
      this.push(OP_IRQ, flags, IRQ_RETURN, line, status >>> 0, 1);
      return;
    }
    this.fail(`unknown interrupt line "irq ${kind ?? ""}": expected "irq enter LINE" or "irq return LINE STATUS"`);
  }

  private access(words: string[], flags: number): void {
    const faulted = (flags & FLAG_FAULT) !== 0;
    const m = OP_TOKEN.exec(words[0]!)!;
    const isWrite = m[1] === "W";
    const bits = Number(m[2]);
    // A faulted access may carry any width the module asked for: refusing it is what faulted.
    const widthOk = faulted ? bits % 8 === 0 && bits <= 255 * 8 : bits === 8 || bits === 16 || bits === 32;
    if (!widthOk) this.fail(`bad access width ${words[0]}: expected ${m[1]}8, ${m[1]}16 or ${m[1]}32`);
    const width = bits / 8;

    const placeWord = words[1];
    if (placeWord === undefined) this.fail(`an access without an address: expected REGION+0xOFFSET or 0xADDRESS after ${words[0]}`);
    let addr: number;
    let region: TraceRegion | undefined;
    const plus = placeWord.indexOf("+");
    if (plus < 0) {
      addr = this.hexNumber(placeWord, "address");
      const inside = regionAt(this.places, addr);
      if (inside !== undefined) this.fail(`address ${hexAddress(addr)} lies in region ${inside.name}: expected ${inside.name}+${hexOffset(addr - inside.base)}`);
    } else {
      const name = placeWord.slice(0, plus);
      region = this.places.find((r) => r.name === name);
      if (region === undefined) this.fail(`unknown region "${name}": expected one of the declared regions (${this.places.map((r) => r.name).join(", ") || "none declared"})`);
      const offset = this.hexNumber(placeWord.slice(plus + 1), "offset");
      // A faulted access may run past the region's end (that is why it faulted), not start past it.
      const limit = faulted ? region.size - 1 : region.size - width;
      if (offset > limit) this.fail(`offset ${hexOffset(offset)} with ${width} bytes lies outside region ${name} (size ${hex(region.size)}): expected an offset of at most ${hexOffset(limit)}`);
      addr = region.base + offset;
    }
    if (!faulted && addr % width !== 0) this.fail(`${words[0]} at ${placeWord} is not aligned to ${width} bytes: expected an address that is a multiple of ${width}`);

    let at = 2;
    const maybeName = words[at];
    if (maybeName !== undefined && !maybeName.toLowerCase().startsWith("0x")) {
      this.registerName(maybeName, region, addr, isWrite);
      at++;
    }
    const value = this.hexNumber(words[at], "value");
    if (width < 4 && value >= 2 ** (width * 8)) this.fail(`value ${words[at]} is wider than the ${bits}-bit access: expected at most ${hexValue(2 ** (width * 8) - 1, width)}`);
    at++;
    let repeat = 1;
    const repeatWord = words[at];
    if (repeatWord !== undefined && REPEAT.test(repeatWord)) {
      if (isWrite) this.fail(`repeat count ${repeatWord} on a write: expected counts on reads only (only polls are collapsed)`);
      repeat = Number(repeatWord.slice(1));
      if (!(repeat >= 1 && repeat <= MAX_REPEAT)) this.fail(`bad repeat count ${excerpt(repeatWord, 24)}: expected x1 to x${MAX_REPEAT} (no poll is longer than that)`);
      at++;
    }
    if (at < words.length) this.fail(`unexpected "${words[at]}" after the value: expected a repeat count xN, or "${FIELDS_MARK}" before decoded fields`);
    this.push(isWrite ? OP_WRITE : OP_READ, flags, width, addr, value, repeat);
  }

  /** A register name must be the one the block's map gives for that offset and direction. */
  private registerName(name: string, region: TraceRegion | undefined, addr: number, isWrite: boolean): void {
    if (!REGISTER_NAME.test(name)) this.fail(`bad register name or value "${name}": expected a register name or a 0x-prefixed hex value`);
    if (region === undefined) this.fail(`register name ${name} on an address outside every region: expected no name`);
    const index = region.index;
    if (index === undefined) this.fail(`register name ${name} in region ${region.name}, which has no register map (block ${NO_BLOCK}): expected no name`);
    const offset = addr - region.base;
    const expected = index.nameAt(offset, isWrite);
    if (expected === undefined) this.fail(`register name ${name} at ${region.name}+${hexOffset(offset)}, a reserved offset in ${index.block.block}: expected no name`);
    if (name !== expected) this.fail(`register name ${name} does not match ${region.name}+${hexOffset(offset)}: expected ${expected} (${index.block.block} ${isWrite ? "write" : "read"} at ${hexOffset(offset)})`);
  }
}

/** The entries a parsed trace stands for, repeat counts expanded: what the Trace recorded. */
export function expandAccesses(parsed: ParsedTrace): AccessGroup[] {
  const out: AccessGroup[] = [];
  for (const a of parsed.accesses) {
    for (let i = 0; i < a.repeat; i++) out.push({ op: a.op, flags: a.flags, width: a.width, addr: a.addr, value: a.value, repeat: 1 });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparing

/** One line of a parsed trace, in file order, with polls collapsed whatever the file did. */
type Item =
  | { readonly kind: "call"; readonly call: ParsedCall; readonly line: number; readonly seq: number }
  | { readonly kind: "end"; readonly call: ParsedCall; readonly line: number; readonly seq: number }
  | { readonly kind: "access"; readonly access: AccessGroup; readonly line: number; readonly seq: number; readonly callIndex: number };

function items(parsed: ParsedTrace): Item[] {
  const events: Item[] = [];
  for (const c of parsed.calls) {
    events.push({ kind: "call", call: c, line: c.line, seq: c.start });
    if (c.outcome !== "running") events.push({ kind: "end", call: c, line: c.endLine, seq: c.end });
  }
  for (const a of parsed.accesses) events.push({ kind: "access", access: a, line: a.line, seq: a.seq, callIndex: a.call });
  events.sort((x, y) => x.line - y.line);
  // Re-collapse, so that a file written without collapsing compares equal to one written with it.
  const out: Item[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (e.kind === "access" && prev !== undefined && prev.kind === "access" && prev.callIndex === e.callIndex && sameGroupRead(prev.access, e.access)) {
      out[out.length - 1] = { ...prev, access: { ...prev.access, repeat: prev.access.repeat + e.access.repeat } };
    } else {
      out.push(e);
    }
  }
  return out;
}

function sameGroupRead(a: AccessGroup, b: AccessGroup): boolean {
  return a.op === OP_READ && b.op === OP_READ && a.flags === b.flags && a.width === b.width && a.addr === b.addr && a.value === b.value;
}

function sameItem(a: Item, b: Item): boolean {
  if (a.kind === "call" && b.kind === "call") return a.call.name === b.call.name && a.call.args.length === b.call.args.length && a.call.args.every((v, i) => v === b.call.args[i]);
  if (a.kind === "end" && b.kind === "end") return a.call.outcome === b.call.outcome && a.call.result === b.call.result;
  if (a.kind === "access" && b.kind === "access") {
    const x = a.access;
    const y = b.access;
    return x.op === y.op && x.flags === y.flags && x.width === y.width && x.addr === y.addr && x.value === y.value && x.repeat === y.repeat;
  }
  return false;
}

function itemText(item: Item, regions: readonly TraceRegion[], registry: Registry, lineNames?: ReadonlyMap<number, string>): string {
  if (item.kind === "call") return formatCallLine(item.call.name, item.call.args, regions, registry);
  if (item.kind === "end") return formatEndLine(item.call.result, registry);
  return (item.callIndex >= 0 ? CALL_INDENT : "") + ((item.access.flags & FLAG_IRQ) !== 0 ? CALL_INDENT : "") + formatAccess(item.access, regions, lineNames === undefined ? { registry } : { registry, lineNames });
}

/** One side of a difference: the line in its file, or null where the trace had ended. */
export interface DiffSide {
  readonly line: number | null;
  readonly text: string | null;
}

export interface TraceDifference {
  /** Index of the first entry that differs (repeat counts expanded): equal traces agree on every
   * entry before it. */
  readonly accessIndex: number;
  readonly expected: DiffSide;
  readonly actual: DiffSide;
  /** The lines before the difference (shared by both traces), as the expected file names them. */
  readonly context: readonly string[];
  /** The call line of the export running at the difference, or null outside any call. */
  readonly call: string | null;
  /** Everything above, for a person. */
  readonly text: string;
}

/**
 * Compares two parsed traces: the calls (name, arguments, result) and the accesses in order.
 * Region names do not matter, addresses do. Returns null when they agree.
 */
export function diffTraces(expected: ParsedTrace, actual: ParsedTrace, options: { context?: number } = {}): TraceDifference | null {
  const contextLines = options.context ?? 3;
  const xs = items(expected);
  const ys = items(actual);
  let k = 0;
  while (k < xs.length && k < ys.length && sameItem(xs[k]!, ys[k]!)) k++;
  if (k === xs.length && k === ys.length) return null;

  const expectedRegions = traceRegions(expected.regions, expected.registry);
  const actualRegions = traceRegions(actual.regions, actual.registry);
  const x = xs[k];
  const y = ys[k];
  // Within a poll whose count differs, the first differing entry is after the shorter count.
  let accessIndex = x?.seq ?? y?.seq ?? expected.length;
  if (x?.kind === "access" && y?.kind === "access" && sameGroupRead(x.access, y.access)) accessIndex += Math.min(x.access.repeat, y.access.repeat);

  let running: ParsedCall | null = null;
  for (let i = 0; i < k; i++) {
    const item = xs[i]!;
    if (item.kind === "call") running = item.call;
    else if (item.kind === "end") running = null;
  }
  const call = running === null ? null : formatCallLine(running.name, running.args, expectedRegions, expected.registry);
  const context = xs.slice(Math.max(0, k - contextLines), k).map((i) => itemText(i, expectedRegions, expected.registry, expected.lineNames));
  const side = (item: Item | undefined, regions: readonly TraceRegion[], parsed: ParsedTrace): DiffSide =>
    item === undefined ? { line: null, text: null } : { line: item.line, text: itemText(item, regions, parsed.registry, parsed.lineNames) };
  const e = side(x, expectedRegions, expected);
  const a = side(y, actualRegions, actual);

  const where = (file: string, s: DiffSide): string => (s.line === null ? `${file}: end of trace` : `${file}:${s.line}`);
  const text = [
    `traces differ at entry #${accessIndex}${call === null ? "" : ` during ${call}`}`,
    ...context.map((l) => `    ${l}`),
    `  - ${where(expected.fileName, e)}`,
    ...(e.text === null ? [] : [`    ${e.text}`]),
    `  + ${where(actual.fileName, a)}`,
    ...(a.text === null ? [] : [`    ${a.text}`]),
  ].join("\n");
  return { accessIndex, expected: e, actual: a, context, call, text };
}
