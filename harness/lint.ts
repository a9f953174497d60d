// Register-semantics lint: checks every CPU access of a trace against the register map of the
// block it reached. The map already knows each register's access kind, widths and fields
// (registers/<block>.json), so any trace can be checked for free (DESIGN.md, "Ideas worth keeping").
// DMA accesses are left out: a DMA controller is wired to a data register by the board, not by
// the driver's choice of register.
import type { RegisterInfo } from "./regmap.js";
import { OP_READ, OP_WRITE, FLAG_DMA, FLAG_FAULT, type Trace, type TraceEntry } from "./trace.js";
import { traceRegions, type AccessGroup, type ParsedTrace, type TraceRegion } from "./trace-text.js";

export type LintSeverity = "error" | "warning";

export type LintRule =
  | "write-to-read-only" // a write to a register whose writes are ignored
  | "read-of-write-only" // a read of a register whose read value is undefined
  | "access-width" // a width the register (or, at a reserved offset, the block) does not accept
  | "unaligned" // an address that is not a multiple of the access width
  | "reserved-offset" // an offset where the map has no register
  | "test-register" // an integration-test register: not for normal operation
  | "reserved-bits"; // a write that sets bits above the register's width or outside its fields

const SEVERITY: Readonly<Record<LintRule, LintSeverity>> = {
  "write-to-read-only": "error",
  "read-of-write-only": "error",
  "access-width": "error",
  unaligned: "error",
  "reserved-offset": "error",
  "test-register": "warning",
  "reserved-bits": "warning",
};

export interface LintFinding {
  /** Index of the trace entry (the first of a collapsed poll). */
  readonly seq: number;
  readonly severity: LintSeverity;
  readonly rule: LintRule;
  /** Names the region, offset, register and value. */
  readonly message: string;
}

/** Checks one access (or a poll of identical reads) against the map of its region. */
function lintAccess(a: AccessGroup, seq: number, regions: readonly TraceRegion[], out: LintFinding[]): void {
  if ((a.flags & FLAG_DMA) !== 0 || (a.op !== OP_READ && a.op !== OP_WRITE)) return;
  const region = regions.find((r) => a.addr >= r.base && a.addr < r.end);
  const index = region?.index;
  if (region === undefined || index === undefined) return;

  const isWrite = a.op === OP_WRITE;
  const offset = a.addr - region.base;
  const reg = index.at(offset);
  const name = reg === undefined ? "reserved" : isWrite && reg.writeName !== null ? reg.writeName : reg.name;
  const valueDigits = Math.max(1, a.width * 2);
  const access = `${isWrite ? "W" : "R"}${a.width * 8} ${region.name}+0x${offset.toString(16).padStart(3, "0")} ${name} 0x${a.value.toString(16).padStart(valueDigits, "0")}${a.repeat > 1 ? ` x${a.repeat}` : ""}`;
  const block = index.block.block;
  const find = (rule: LintRule, problem: string): void => {
    out.push({ seq, severity: SEVERITY[rule], rule, message: `${access}: ${problem}` });
  };

  if (reg === undefined) find("reserved-offset", `${block} has no register at offset 0x${offset.toString(16).padStart(3, "0")}`);
  const widths = reg?.widths ?? index.block.widths;
  if (!widths.includes(a.width)) {
    find("access-width", `${reg === undefined ? `${block} reserved space` : reg.name} accepts ${widths.map((w) => `${w * 8}-bit`).join(" or ")} accesses only`);
  } else if (a.addr % a.width !== 0) {
    find("unaligned", `the address is not a multiple of ${a.width}`);
  }
  if (reg === undefined) return;
  const cite = `${block} ${reg.section}`;
  if (isWrite && reg.write === "ignored") find("write-to-read-only", `${reg.name} is read-only, the write is ignored (${cite})`);
  if (!isWrite && reg.read === "undefined") find("read-of-write-only", `${reg.name} is write-only, the value read is not defined (${cite})`);
  if (reg.test) find("test-register", `${reg.name} is an integration-test register, not for normal operation (${cite})`);
  // A faulted access carries no value; an ignored or clearing write's value does not matter.
  if (isWrite && (a.flags & FLAG_FAULT) === 0 && (reg.write === "value" || reg.write === "w1c")) {
    const stray = strayBits(reg, a.value, (offset - reg.offset) & 3);
    if (stray.above !== 0) find("reserved-bits", `sets bits 0x${stray.above.toString(16)} above the ${reg.bits} bits of ${reg.name} (${cite})`);
    if (stray.reserved !== 0) find("reserved-bits", `sets reserved bits 0x${stray.reserved.toString(16)} of ${reg.name}, whose fields cover 0x${stray.fields.toString(16)} (${cite})`);
  }
}

/** The bits of a write that lie above the register's width, and those inside it that no field
 * covers. `byteOffset` (0..3) places a byte or halfword write inside the register's word. */
function strayBits(reg: RegisterInfo, value: number, byteOffset: number): { above: number; reserved: number; fields: number } {
  const shifted = (value * 2 ** (byteOffset * 8)) % 2 ** 32;
  const significant = reg.bits >= 32 ? 0xffffffff : 2 ** reg.bits - 1;
  let fields = 0;
  for (const f of reg.fields) fields = (fields | ((2 ** (f.msb - f.lsb + 1) - 1) * 2 ** f.lsb)) >>> 0;
  // A register described without fields is all one field of its width.
  if (reg.fields.length === 0) fields = significant;
  return {
    above: (shifted & ~significant) >>> 0,
    reserved: (shifted & significant & ~fields) >>> 0,
    fields,
  };
}

function sameRead(a: TraceEntry, b: TraceEntry): boolean {
  return a.op === OP_READ && b.op === OP_READ && a.flags === b.flags && a.width === b.width && a.addr === b.addr && a.value === b.value;
}

/**
 * Lints the CPU accesses of a recorded trace against the maps of the bus regions they reached.
 * A poll (identical consecutive reads) gives one finding, at its first entry. Faulted accesses
 * are linted too: the rule they broke is usually the reason they faulted.
 */
export function lintTrace(trace: Trace, regions: readonly TraceRegion[], options: { from?: number; to?: number } = {}): LintFinding[] {
  const out: LintFinding[] = [];
  const to = Math.min(trace.length, options.to ?? trace.length);
  let i = Math.max(0, options.from ?? 0);
  while (i < to) {
    const e = trace.entry(i);
    let repeat = 1;
    while (i + repeat < to && sameRead(e, trace.entry(i + repeat))) repeat++;
    lintAccess({ ...e, repeat }, i, regions, out);
    i += repeat;
  }
  return out;
}

/** Lints a parsed trace file against the maps its region lines name. */
export function lintParsedTrace(parsed: ParsedTrace): LintFinding[] {
  const regions = traceRegions(parsed.regions);
  const out: LintFinding[] = [];
  for (const a of parsed.accesses) lintAccess(a, a.seq, regions, out);
  return out;
}

/** One line per finding (`#seq severity rule: message`); the empty string when there is none. */
export function lintReport(findings: readonly LintFinding[]): string {
  return findings.map((f) => `#${f.seq} ${f.severity} ${f.rule}: ${f.message}`).join("\n");
}

export class LintError extends Error {
  constructor(readonly findings: readonly LintFinding[]) {
    super(`${findings.length} lint finding${findings.length === 1 ? "" : "s"}:\n${lintReport(findings)}`);
    this.name = "LintError";
  }
}

/** Throws a LintError listing every finding (warnings too, unless allowed); for tests. */
export function expectLintClean(findings: readonly LintFinding[], options: { allowWarnings?: boolean } = {}): void {
  const failing = options.allowWarnings === true ? findings.filter((f) => f.severity === "error") : findings;
  if (failing.length > 0) throw new LintError(failing);
}
