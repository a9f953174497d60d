// Checks of interrupt code over a recorded trace (docs/interrupts.md): what main code and handlers
// did to each other. Each returns the problems it found, each with the accesses involved and the
// interleaving that shows it, worded for a firmware engineer; an empty list means none.
//
// - findInterruptRaces: a read-modify-write in main code with a handler's write of the same
//   register in between, which the main write then undoes (a lost update).
// - checkMaskedReadModifyWrite: the same danger found without the interleaving: a main-code
//   read-modify-write of a register that a handler writes somewhere in the trace, made while the
//   handler's line was enabled at the controller. One run of the code finds it.
// - checkNoSpuriousInterrupts: a handler entered with its source idle, because its previous
//   run's acknowledgement had not completed when it returned (no DSB after the last write).
import type { Bus } from "./bus.js";
import { OP_READ, OP_WRITE, OP_BARRIER, OP_IRQ, OP_MASK, FLAG_DMA, FLAG_FAULT, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN, type Trace } from "./trace.js";
import { formatAccess, formatCallLine } from "./trace-text.js";
import { ENTER_INJECTED, ENTER_SOURCE_IDLE } from "./interrupts.js";
import { IRQC_ISER0, IRQC_ICER0 } from "./generated/irqc.js";

export interface InterruptProblem {
  readonly kind: "race" | "unmasked-rmw" | "spurious";
  /** The trace entries involved, in order. */
  readonly entries: readonly number[];
  readonly message: string;
}

/** Per entry: the line whose handler made it (the innermost), or -1 for main code. */
function handlerLines(trace: Trace): Int16Array {
  const lines = new Int16Array(trace.length).fill(-1);
  const stack: number[] = [];
  for (let i = 0; i < trace.length; i++) {
    const opByte = trace.opByteAt(i);
    if ((opByte & OP_MASK) === OP_IRQ) {
      const width = trace.widthAt(i);
      if (width === IRQ_ENTER) {
        lines[i] = stack.length === 0 ? -1 : stack[stack.length - 1]!;
        stack.push(trace.addrAt(i));
        continue;
      }
      if (width === IRQ_RETURN) {
        stack.pop();
        lines[i] = stack.length === 0 ? -1 : stack[stack.length - 1]!;
        continue;
      }
    }
    lines[i] = (opByte & FLAG_IRQ) !== 0 && stack.length > 0 ? stack[stack.length - 1]! : -1;
  }
  return lines;
}

function lineName(trace: Trace, line: number): string {
  const name = trace.lineNames?.get(line);
  return name === undefined ? `line ${line}` : `${name} (line ${line})`;
}

/** `#12 W32 uart0+0x038 IMSC 0x000007f0` */
function describeEntry(bus: Bus, seq: number): string {
  const e = bus.trace.entry(seq);
  return `#${seq} ${formatAccess({ ...e, repeat: 1 }, bus.regions, { lineNames: bus.trace.lineNames })}`;
}

function callOf(bus: Bus, seq: number): string {
  const index = bus.trace.callAt(seq);
  if (index < 0) return "between calls";
  const c = bus.trace.calls[index]!;
  return `in ${formatCallLine(c.name, c.args, bus.regions, bus.trace.registry).slice("call ".length)}`;
}

/** The fields of one entry, filled in place (readEntry): the checks walk every entry of a trace
 * of any length, and a TraceEntry per entry would be most of their cost. */
interface EntryView { op: number; flags: number; width: number; addr: number; value: number }

function readEntry(trace: Trace, seq: number, into: EntryView): EntryView {
  const opByte = trace.opByteAt(seq);
  into.op = opByte & OP_MASK;
  into.flags = opByte & ~OP_MASK;
  into.width = trace.widthAt(seq);
  into.addr = trace.addrAt(seq);
  into.value = trace.valueAt(seq);
  return into;
}

const isCpuAccess = (op: number, flags: number): boolean => (op === OP_READ || op === OP_WRITE) && (flags & (FLAG_DMA | FLAG_FAULT)) === 0;

/**
 * Lost updates: main code read a register (#r), a handler wrote it (#h), then main code wrote it
 * (#w) from what it had read, with no other main access of it in between. The handler's write is
 * undone whatever the values: that is what the interleaving shows.
 */
export function findInterruptRaces(bus: Bus): InterruptProblem[] {
  const trace = bus.trace;
  const owner = handlerLines(trace);
  const problems: InterruptProblem[] = [];
  /** Per address: the last main-code read not yet followed by a main access, and the handler
   * writes seen since it. */
  const open = new Map<number, { read: number; handlerWrites: number[] }>();
  for (let i = 0; i < trace.length; i++) {
    const opByte = trace.opByteAt(i);
    const op = opByte & OP_MASK;
    if (!isCpuAccess(op, opByte)) continue;
    const addr = trace.addrAt(i);
    const inHandler = owner[i]! >= 0 || (opByte & FLAG_IRQ) !== 0;
    if (inHandler) {
      if (op === OP_WRITE) open.get(addr)?.handlerWrites.push(i);
      continue;
    }
    const pending = open.get(addr);
    if (op === OP_WRITE && pending !== undefined && pending.handlerWrites.length > 0 && trace.callAt(pending.read) === trace.callAt(i)) {
      const e = trace.entry(i);
      const h = pending.handlerWrites[pending.handlerWrites.length - 1]!;
      let enter = h;
      while (enter > pending.read && !(trace.entry(enter).op === OP_IRQ && trace.entry(enter).width === IRQ_ENTER)) enter--;
      const line = owner[h]!;
      problems.push({
        kind: "race",
        entries: [pending.read, h, i],
        message: [
          `lost update of ${bus.describe(e.addr)}: main code read it, the ${lineName(trace, line)} handler wrote it, then main code wrote back what it had read, undoing the handler's write`,
          `  ${describeEntry(bus, pending.read)}   main, ${callOf(bus, pending.read)}`,
          `  ${describeEntry(bus, enter)}   the interrupt landed here`,
          `  ${describeEntry(bus, h)}   the handler's write`,
          `  ${describeEntry(bus, i)}   main, from the value read at #${pending.read}`,
          `  mask the line at the interrupt controller around the read-modify-write, or leave the register to one side`,
        ].join("\n"),
      });
    }
    if (op === OP_READ) open.set(addr, { read: i, handlerWrites: [] });
    else open.delete(addr);
  }
  return problems;
}

/** The controller region of the bus (block irqc), or undefined. */
function controllerRegion(bus: Bus): { base: number; end: number } | undefined {
  return bus.regions.find((r) => r.index?.block.block === "irqc");
}

/**
 * Main-code read-modify-writes of a register that a handler also writes, made while that
 * handler's line was enabled at the controller (found from the trace's ISER/ICER writes; a line
 * counts as enabled from the start when it was entered before any write enabled it). The
 * interrupt did not have to land in between for this to be reported.
 */
export function checkMaskedReadModifyWrite(bus: Bus): InterruptProblem[] {
  const trace = bus.trace;
  const owner = handlerLines(trace);
  const controller = controllerRegion(bus);
  // Which lines write which addresses, and where each line is first enabled or entered.
  const writers = new Map<number, Set<number>>();
  const firstEnable = new Map<number, number>();
  const firstEnter = new Map<number, number>();
  const e: EntryView = { op: 0, flags: 0, width: 0, addr: 0, value: 0 };
  for (let i = 0; i < trace.length; i++) {
    readEntry(trace, i, e);
    if (e.op === OP_IRQ && e.width === IRQ_ENTER && !firstEnter.has(e.addr)) firstEnter.set(e.addr, i);
    if (!isCpuAccess(e.op, e.flags) || e.op !== OP_WRITE) continue;
    const line = owner[i]!;
    if (line >= 0) {
      let set = writers.get(e.addr);
      if (set === undefined) writers.set(e.addr, (set = new Set()));
      set.add(line);
    } else if (controller !== undefined && e.addr >= controller.base && e.addr < controller.end) {
      const offset = e.addr - controller.base;
      if (offset >= IRQC_ISER0 && offset < IRQC_ISER0 + 32) {
        for (let bit = 0; bit < 32; bit++) {
          const line = ((offset - IRQC_ISER0) >>> 2) * 32 + bit;
          if (((e.value >>> bit) & 1) !== 0 && !firstEnable.has(line)) firstEnable.set(line, i);
        }
      }
    }
  }
  if (writers.size === 0) return [];
  // A line entered before any write enabled it was enabled before the trace began.
  const enabled = new Set<number>();
  for (const [line, entered] of firstEnter) {
    const enabledAt = firstEnable.get(line);
    if (enabledAt === undefined || entered < enabledAt) enabled.add(line);
  }
  const problems: InterruptProblem[] = [];
  const lastRead = new Map<number, number>();
  for (let i = 0; i < trace.length; i++) {
    readEntry(trace, i, e);
    if (!isCpuAccess(e.op, e.flags) || owner[i]! >= 0) continue;
    if (controller !== undefined && e.op === OP_WRITE && e.addr >= controller.base && e.addr < controller.end) {
      const offset = e.addr - controller.base;
      const word = (offset & 0x1f) >>> 2;
      for (let bit = 0; bit < 32; bit++) {
        if (((e.value >>> bit) & 1) === 0) continue;
        if (offset >= IRQC_ISER0 && offset < IRQC_ISER0 + 32) enabled.add(word * 32 + bit);
        else if (offset >= IRQC_ICER0 && offset < IRQC_ICER0 + 32) enabled.delete(word * 32 + bit);
      }
      continue;
    }
    if (e.op === OP_READ) {
      lastRead.set(e.addr, i);
      continue;
    }
    const read = lastRead.get(e.addr);
    lastRead.delete(e.addr);
    const lines = writers.get(e.addr);
    if (read === undefined || lines === undefined || trace.callAt(read) !== trace.callAt(i)) continue;
    const unmasked = [...lines].filter((l) => enabled.has(l));
    if (unmasked.length === 0) continue;
    problems.push({
      kind: "unmasked-rmw",
      entries: [read, i],
      message: [
        `read-modify-write of ${bus.describe(e.addr)} in main code while the ${unmasked.map((l) => lineName(trace, l)).join(" and ")} handler, which also writes it, could run in between`,
        `  ${describeEntry(bus, read)}   main, ${callOf(bus, read)}`,
        `  ${describeEntry(bus, i)}   an interrupt taken between these two loses the handler's write`,
        `  mask the line at the interrupt controller (ICER) around the read-modify-write`,
      ].join("\n"),
    });
  }
  return problems;
}

/**
 * Spurious entries: a handler entered with its source idle (ENTER_SOURCE_IDLE) that the harness
 * did not inject. The controller saw the line still asserted at the previous return because the
 * handler's last write (its acknowledgement) had not completed: no DSB after it.
 */
export function checkNoSpuriousInterrupts(bus: Bus): InterruptProblem[] {
  const trace = bus.trace;
  const problems: InterruptProblem[] = [];
  const lastReturn = new Map<number, number>();
  for (let i = 0; i < trace.length; i++) {
    if ((trace.opByteAt(i) & OP_MASK) !== OP_IRQ) continue;
    const e = trace.entry(i);
    if (e.width === IRQ_RETURN) {
      lastReturn.set(e.addr, i);
      continue;
    }
    if (e.width !== IRQ_ENTER || (e.value & ENTER_SOURCE_IDLE) === 0 || (e.value & ENTER_INJECTED) !== 0) continue;
    const ret = lastReturn.get(e.addr);
    let write = -1;
    let barrier = -1;
    if (ret !== undefined) {
      for (let j = ret - 1; j >= 0; j--) {
        const x = trace.entry(j);
        if (x.op === OP_IRQ && x.width === IRQ_ENTER && x.addr === e.addr) break;
        if ((x.flags & FLAG_IRQ) === 0) continue;
        if (x.op === OP_BARRIER && x.value === 1 && barrier < 0 && write < 0) barrier = j;
        if (x.op === OP_WRITE && write < 0) write = j;
      }
    }
    const lines = [
      `spurious interrupt: the ${lineName(trace, e.addr)} handler was entered at #${i} with its source idle`,
    ];
    if (ret !== undefined && write >= 0) {
      lines.push(
        `  ${describeEntry(bus, write)}   the handler's last write before it returned at #${ret}`,
        `  no DSB followed it, so the write had not reached the peripheral when the handler returned and the controller still saw the line asserted`,
        `  end the handler with a DSB after the acknowledgement`,
      );
    } else {
      lines.push(`  the line was pending with no source asserted and nothing injected it`);
    }
    problems.push({ kind: "spurious", entries: ret === undefined ? [i] : write >= 0 ? [write, ret, i] : [ret, i], message: lines.join("\n") });
  }
  return problems;
}

/** Every check above, in one list. */
export function checkInterruptCode(bus: Bus): InterruptProblem[] {
  return [...findInterruptRaces(bus), ...checkMaskedReadModifyWrite(bus), ...checkNoSpuriousInterrupts(bus)];
}
