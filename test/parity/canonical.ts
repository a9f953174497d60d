// One text for two traces that should agree: the calls with their arguments as unsigned
// decimals, the CPU's accesses with absolute addresses and no register names or fields, polls
// collapsed, and the return lines. Region names and DMA accesses drop out: a C host names its
// windows as it likes, and the DMA controller's own accesses are hardware, not module, work.
//
// Interrupt entries keep their line and whether they were preemptive; `source-idle` and
// `injected` drop out: they are what the Node models saw of the line (its source no longer
// asserted, a spurious pending bit set on purpose), which a host with scripted answers cannot.
import { formatAccess, formatEndLine, parseTrace, type AccessGroup, type ParsedTrace } from "../../harness/trace-text.js";
import { FLAG_DMA, OP_IRQ, OP_READ, IRQ_ENTER } from "../../harness/trace.js";
import { ENTER_PREEMPTIVE } from "../../harness/interrupts.js";

type Line = { readonly line: number; readonly text: string; readonly access?: AccessGroup; readonly call: number };

function sameRead(a: AccessGroup, b: AccessGroup): boolean {
  return a.op === OP_READ && b.op === OP_READ && a.flags === b.flags && a.width === b.width && a.addr === b.addr && a.value === b.value;
}

export function canonicalTrace(parsed: ParsedTrace): string {
  const events: Line[] = [];
  parsed.calls.forEach((c, i) => {
    events.push({ line: c.line, text: `call ${c.name}(${c.args.map((a) => String(a >>> 0)).join(", ")})`, call: i });
    events.push({ line: c.endLine < 0 ? Infinity : c.endLine, text: c.outcome === "running" ? "running" : formatEndLine(c.result), call: -1 });
  });
  for (const a of parsed.accesses) {
    if ((a.flags & FLAG_DMA) !== 0) continue;
    const access = a.op === OP_IRQ && a.width === IRQ_ENTER ? { ...a, value: a.value & ENTER_PREEMPTIVE } : a;
    events.push({ line: a.line, text: "", access, call: a.call });
  }
  events.sort((x, y) => x.line - y.line);

  const out: { text: string; access?: AccessGroup; call: number }[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (e.access !== undefined && prev?.access !== undefined && prev.call === e.call && sameRead(prev.access, e.access)) {
      prev.access = { ...prev.access, repeat: prev.access.repeat + e.access.repeat };
    } else {
      out.push({ text: e.text, call: e.call, ...(e.access === undefined ? {} : { access: { ...e.access } }) });
    }
  }
  return out.map((l) => (l.access === undefined ? l.text : (l.call >= 0 ? "  " : "") + formatAccess(l.access, []))).join("\n") + "\n";
}

export function canonicalText(text: string, fileName: string): string {
  return canonicalTrace(parseTrace(text, fileName));
}
