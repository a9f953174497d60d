// A Trace holding what a parsed trace file says: the entries and the calls at their places, and
// the line names the file gave its interrupt lines. Tests format it again and compare the text.
import { Trace } from "../harness/trace.js";
import { expandAccesses, type ParsedTrace } from "../harness/trace-text.js";

export function rebuildTrace(parsed: ParsedTrace): Trace {
  const trace = new Trace();
  const entries = expandAccesses(parsed);
  let next = 0;
  let open = -1;
  for (let p = 0; p <= entries.length; p++) {
    const openCall = open < 0 ? undefined : parsed.calls[open];
    if (openCall !== undefined && openCall.outcome !== "running" && openCall.end === p) {
      trace.endCall(open, openCall.result);
      open = -1;
    }
    while (next < parsed.calls.length && parsed.calls[next]!.start === p) {
      const c = parsed.calls[next]!;
      const index = trace.beginCall(c.name, c.args);
      if (c.outcome !== "running" && c.end === p) trace.endCall(index, c.result);
      else open = index;
      next++;
    }
    const e = entries[p];
    if (e !== undefined) trace.record(e.op | e.flags, e.width, e.addr, e.value, 0);
  }
  trace.lineNames = parsed.lineNames;
  return trace;
}
