// `wasm-hal show`: a trace file (docs/trace-format.md) as a listing for people: each line with its
// line number in the file and, for an access, the index of the trace entry it stands for (what a
// diff names: "entry #872"), register names and fields decoded afresh from the register maps,
// filters by region and register, and colour on a terminal. Interrupt lines (`irq enter`, `irq
// return`) and the accesses of a handler (`isr`) are shown as the text form indents them; a
// filter keeps a handler's enter and return lines when it keeps any access made in the handler.
import { parseArgs } from "node:util";
import { OP_BARRIER, OP_IRQ, OP_WRITE, FLAG_DMA, FLAG_FAULT, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN } from "../trace.js";
import {
  formatAccess, formatCallLine, formatEndLine, formatRegionLine, parseTrace, traceRegions,
  TraceParseError, type ParsedAccess, type ParsedCall, type ParsedTrace, type TraceRegion,
} from "../trace-text.js";
import { formatCoverage, registerCoverage } from "./check.js";
import { type Command, type CommandContext, UsageError, readInputFile } from "./common.js";
import type { Registry } from "../registry.js";

export interface ShowOptions {
  /** The project's registry (the package's by default). */
  registry?: Registry;
  /** Only accesses in this region. */
  region?: string;
  /** Only accesses of the register with this name (either direction's name), any region. */
  register?: string;
  /** ANSI colours. */
  color?: boolean;
}

const ANSI = {
  reset: "\x1b[0m",
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  blue: "\x1b[34m",
  magenta: "\x1b[35m",
  cyan: "\x1b[36m",
} as const;

type Paint = (style: keyof typeof ANSI, text: string) => string;

/** The register name an access uses, or undefined. */
function registerNameOf(regions: readonly TraceRegion[], a: ParsedAccess): string | undefined {
  const region = regions.find((r) => a.addr >= r.base && a.addr < r.end);
  return region?.index?.nameAt(a.addr - region.base, a.op === OP_WRITE);
}

/** Every register name of the blocks of `regions`, both directions. */
function registerNames(regions: readonly TraceRegion[]): Set<string> {
  const names = new Set<string>();
  for (const r of regions) {
    for (const reg of r.index?.block.registers ?? []) {
      names.add(reg.name);
      if (reg.writeName !== null) names.add(reg.writeName);
    }
  }
  return names;
}

/** The word that marks a handler's access in the text form (formatAccess). */
const ISR_PREFIX = "isr ";

/** An access line with colours: the op by direction, dma and fault words, fields dimmed; an
 * interrupt line in blue (bold, red when the handler returned an error), the `isr` word of a
 * handler's access in blue. */
function paintAccess(text: string, a: ParsedAccess, paint: Paint): string {
  const cut = text.indexOf("  ;");
  let code = cut < 0 ? text : text.slice(0, cut);
  const fields = cut < 0 ? "" : text.slice(cut);
  let isr = "";
  if ((a.flags & FLAG_IRQ) !== 0 && code.startsWith(ISR_PREFIX)) {
    isr = paint("blue", ISR_PREFIX.trimEnd()) + " ";
    code = code.slice(ISR_PREFIX.length);
  }
  if (a.op === OP_IRQ) {
    const failed = a.width === IRQ_RETURN && (a.value | 0) < 0;
    return isr + paint("bold", paint(failed ? "red" : "blue", code)) + (fields === "" ? "" : paint("dim", fields));
  }
  let painted = code;
  if ((a.flags & FLAG_FAULT) !== 0) painted = paint("red", code);
  else if ((a.flags & FLAG_DMA) !== 0) painted = paint("magenta", code);
  else if (a.op === OP_BARRIER) painted = paint("cyan", code);
  else if (a.op === OP_WRITE) painted = paint("yellow", code);
  return isr + painted + (fields === "" ? "" : paint("dim", fields));
}

/**
 * The interrupt lines a filter keeps: the enter and return lines of every handler in which the
 * filter keeps an access (or a nested handler's line), so that a kept `isr` access is shown
 * inside its handler. By index into `accesses`.
 */
function keptInterrupts(accesses: readonly ParsedAccess[], wanted: (a: ParsedAccess) => boolean): Set<number> {
  const kept = new Set<number>();
  /** Indexes of the enter lines of the handlers running, and whether each keeps anything. */
  const open: { enter: number; keep: boolean }[] = [];
  for (let i = 0; i < accesses.length; i++) {
    const a = accesses[i]!;
    if (a.op === OP_IRQ && a.width === IRQ_ENTER) {
      open.push({ enter: i, keep: false });
      continue;
    }
    if (a.op === OP_IRQ && a.width === IRQ_RETURN) {
      const frame = open.pop();
      if (frame === undefined || !frame.keep) continue;
      kept.add(frame.enter);
      kept.add(i);
      // The handler this one preempted keeps its lines too.
      const outer = open[open.length - 1];
      if (outer !== undefined) outer.keep = true;
      continue;
    }
    if (open.length > 0 && wanted(a)) open[open.length - 1]!.keep = true;
  }
  // Handlers the file ends inside: their enter lines.
  for (let k = open.length - 1; k >= 0; k--) {
    const frame = open[k]!;
    if (!frame.keep) continue;
    kept.add(frame.enter);
    if (k > 0) open[k - 1]!.keep = true;
  }
  return kept;
}

/**
 * The listing of a trace file's text. Throws TraceParseError (file:line and the problem) for a
 * file that does not parse, UsageError for a filter that names no region or register.
 */
export function renderTrace(text: string, fileName: string, options: ShowOptions = {}): string {
  const parsed = parseTrace(text, fileName, options.registry === undefined ? {} : { registry: options.registry });
  const regions = traceRegions(parsed.regions, parsed.registry);
  const paint: Paint = options.color ? (style, s) => `${ANSI[style]}${s}${ANSI.reset}` : (_style, s) => s;

  if (options.region !== undefined && !regions.some((r) => r.name === options.region)) {
    throw new UsageError(`${fileName} has no region named ${options.region} (regions: ${regions.map((r) => r.name).join(", ") || "none"})`);
  }
  const searched = options.region === undefined ? regions : regions.filter((r) => r.name === options.region);
  if (options.register !== undefined && !registerNames(searched).has(options.register)) {
    const where = options.region === undefined ? `any region of ${fileName}` : `region ${options.region} (${searched[0]?.index?.block.block ?? "no register map"})`;
    throw new UsageError(`no register named ${options.register} in ${where}`);
  }
  const filtering = options.region !== undefined || options.register !== undefined;
  const matches = (a: ParsedAccess): boolean => {
    if (a.op === OP_BARRIER || a.op === OP_IRQ) return !filtering;
    if (options.region !== undefined) {
      const r = regions.find((x) => x.name === options.region)!;
      if (a.addr < r.base || a.addr >= r.end) return false;
    }
    return options.register === undefined || registerNameOf(regions, a) === options.register;
  };
  // An interrupt line's `addr` is the controller's line, not an address: it is kept with the
  // handler's accesses (every one when nothing is filtered).
  const interruptsKept = filtering ? keptInterrupts(parsed.accesses, matches) : undefined;
  const wantedAt = new Map<ParsedAccess, boolean>();
  parsed.accesses.forEach((a, i) => {
    if (a.op === OP_IRQ && interruptsKept !== undefined) wantedAt.set(a, interruptsKept.has(i));
  });
  const wanted = (a: ParsedAccess): boolean => wantedAt.get(a) ?? matches(a);

  // Which lines are shown: an access that passes the filters, and the call and return lines of
  // a call with at least one shown access (every call when nothing is filtered).
  const accessByLine = new Map<number, ParsedAccess>();
  for (const a of parsed.accesses) accessByLine.set(a.line, a);
  const callShown = new Array<boolean>(parsed.calls.length).fill(!filtering);
  for (const a of parsed.accesses) if (a.call >= 0 && wanted(a)) callShown[a.call] = true;
  const callByLine = new Map<number, ParsedCall>();
  const endByLine = new Map<number, ParsedCall>();
  parsed.calls.forEach((c, i) => {
    if (!callShown[i]) return;
    callByLine.set(c.line, c);
    if (c.endLine > 0) endByLine.set(c.endLine, c);
  });

  const lines = text.split(/\r\n|\r|\n/);
  const numberWidth = String(lines.length).length;
  const seqWidth = String(Math.max(0, parsed.length - 1)).length + 1;
  const gutter = (line: number, seq: number | null): string =>
    paint("dim", `${String(line).padStart(numberWidth)} ${(seq === null ? "" : `#${seq}`).padEnd(seqWidth)} `);

  const out: string[] = [];
  const shownRegions = options.region === undefined ? regions : regions.filter((r) => r.name === options.region);
  out.push(paint("bold", `${fileName}: trace format ${parsed.version}, ${parsed.calls.length} call${parsed.calls.length === 1 ? "" : "s"}, ${parsed.length} entr${parsed.length === 1 ? "y" : "ies"}`));
  for (const r of shownRegions) out.push(`  ${formatRegionLine(r)}${r.index === undefined ? "" : `  ${paint("dim", `(${r.index.block.title})`)}`}`);
  if (filtering) {
    const what = [options.region === undefined ? "" : `region ${options.region}`, options.register === undefined ? "" : `register ${options.register}`].filter((s) => s !== "").join(", ");
    out.push(paint("dim", `  showing only ${what}`));
  }
  out.push("");

  let shownAccesses = 0;
  let shownInterrupts = 0;
  let openCall = -1;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const call = callByLine.get(lineNo);
    if (call !== undefined) {
      openCall = parsed.calls.indexOf(call);
      out.push(gutter(lineNo, null) + paint("bold", formatCallLine(call.name, call.args, regions, parsed.registry)));
      continue;
    }
    const ended = endByLine.get(lineNo);
    if (ended !== undefined) {
      const endText = formatEndLine(ended.result, parsed.registry);
      const failed = ended.result === undefined || ended.result < 0;
      out.push(gutter(lineNo, null) + paint(failed ? "red" : "green", endText));
      openCall = -1;
      continue;
    }
    const access = accessByLine.get(lineNo);
    if (access !== undefined) {
      if (!wanted(access)) continue;
      if (access.op === OP_IRQ) shownInterrupts++;
      else shownAccesses++;
      // As the text form indents: two spaces in a call, two more in a handler.
      const indent = (access.call >= 0 ? "  " : "") + ((access.flags & FLAG_IRQ) !== 0 ? "  " : "");
      out.push(gutter(lineNo, access.seq) + indent + paintAccess(formatAccess(access, regions, { registry: parsed.registry, lineNames: parsed.lineNames }), access, paint));
      continue;
    }
    const trimmed = raw.trim();
    if (!filtering && trimmed.startsWith("#")) {
      out.push(gutter(lineNo, null) + (openCall >= 0 ? "  " : "") + paint("dim", trimmed));
    } else if (!filtering && trimmed === "" && out[out.length - 1] !== "" && i > parsed.regions.length) {
      out.push("");
    }
  }
  while (out[out.length - 1] === "") out.pop();
  if (filtering) {
    const interruptLines = parsed.accesses.filter((a) => a.op === OP_IRQ).length;
    const interrupts = interruptLines === 0 ? "" : `, ${shownInterrupts} of ${interruptLines} interrupt lines`;
    out.push("", paint("dim", `shown: ${shownAccesses} of ${parsed.accesses.length - interruptLines} access lines${interrupts}`));
  }
  return out.join("\n") + "\n";
}

/** True when the listing may use colour: a terminal, and neither --no-color nor NO_COLOR
 * (https://no-color.org: set and not empty). */
export function colorWanted(noColorFlag: boolean, env: NodeJS.ProcessEnv = process.env, isTTY: boolean = process.stdout.isTTY === true): boolean {
  if (noColorFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return isTTY;
}

async function run(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      region: { type: "string" },
      register: { type: "string" },
      "no-color": { type: "boolean" },
      coverage: { type: "boolean" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "show needs a trace file" : `show takes one trace file, got ${positionals.length}`);
  const file = positionals[0]!;
  const text = readInputFile(file, "trace file");
  const registry = (await context.projectOrPackage()).registry;
  let listing: string;
  let parsed: ParsedTrace;
  try {
    listing = renderTrace(text, file, {
      registry,
      color: colorWanted(values["no-color"] === true),
      ...(values.region === undefined ? {} : { region: values.region }),
      ...(values.register === undefined ? {} : { register: values.register }),
    });
    parsed = parseTrace(text, file, { registry });
  } catch (e) {
    if (e instanceof TraceParseError) {
      process.stderr.write(`wasm-hal: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  process.stdout.write(listing);
  if (values.coverage) process.stdout.write("\nregister coverage (CPU and DMA accesses):\n" + formatCoverage(registerCoverage(parsed)));
  return 0;
}

export const show: Command = {
  name: "show",
  summary: "list a trace file with line numbers, entry indexes and decoded fields",
  usage: `  FILE            the trace file (docs/trace-format.md)
  --region R      only the accesses in region R
  --register NAME only the accesses of register NAME (either direction's name)
  --no-color      no ANSI colour (also when NO_COLOR is set, or stdout is not a terminal)
  --coverage      also print which registers were read, written or never touched`,
  run,
};
