// A Hal that remembers what the test did to the module, so that a C host can do the same: the
// bytes put into linear memory, the export calls with their arguments, the bytes read back.
// Existing helpers (halSpiPort, SpiNorHost) work on it unchanged, since it is a Hal.
//
// With interrupts delivered (harness/interrupts.ts), a handler the host entered between two
// calls becomes an `irq` step where it ran: before or after a call (Hal.call delivers on both
// sides) or between other steps (Interrupts.idle). Handlers entered inside a call are not steps:
// the scenario places them at the access where they ran (test/parity/scenario.ts).
import type { Bus } from "../../harness/bus.js";
import { Hal, type HalOptions, type HalVariant } from "../../harness/hal.js";
import { OP_IRQ, FLAG_IRQ, IRQ_ENTER } from "../../harness/trace.js";

export type Step =
  | { readonly kind: "poke"; readonly ptr: number; readonly bytes: Uint8Array }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly number[] }
  | { readonly kind: "peek"; readonly ptr: number; readonly bytes: Uint8Array }
  | { readonly kind: "irq"; readonly line: number; readonly seq: number; readonly afterCall: boolean };

export class RecordingHal extends Hal {
  readonly steps: Step[] = [];
  /** Trace entries already turned into steps (or inside a call). */
  private seen = 0;

  constructor(bus: Bus, variant: HalVariant = "release", modulePath?: string, options: HalOptions = {}) {
    // An undefined modulePath takes Hal's default (the package's module of that variant).
    super(bus, variant, modulePath, options);
  }

  override call(name: string, ...args: number[]): number {
    this.syncInterrupts();
    const trace = this.bus.trace;
    const at = this.steps.length;
    const from = trace.length;
    const callIndex = trace.calls.length;
    this.steps.push({ kind: "call", name, args: [...args] });
    try {
      return super.call(name, ...args);
    } finally {
      const record = trace.calls[callIndex];
      if (record !== undefined) {
        // Handlers run before the call began: steps before it. Those inside it are the
        // scenario's raises; those after it, steps after it.
        this.steps.splice(at, 0, ...this.handlersBetween(from, record.start, false));
        this.seen = record.end;
      }
      const after = this.handlersBetween(this.seen, trace.length, true);
      this.steps.push(...after);
      this.seen = trace.length;
    }
  }

  /** Forgets the steps so far, after the trace was cleared: a board's setup (buildBoard calls
   * pl080_set_memory_address, then clears the trace) that the Node trace does not show and the
   * scenario then leaves out. Only for setup the scenario's calls do not depend on. */
  forgetSetup(): void {
    this.steps.length = 0;
    this.seen = this.bus.trace.length;
  }

  /** Turns the handlers entered between calls since the last step into `irq` steps. */
  syncInterrupts(): void {
    const trace = this.bus.trace;
    this.steps.push(...this.handlersBetween(this.seen, trace.length, false));
    this.seen = trace.length;
  }

  /** `afterCall`: entered by Hal.call just after the call returned, before anything else. */
  private handlersBetween(from: number, to: number, afterCall: boolean): Step[] {
    const steps: Step[] = [];
    const trace = this.bus.trace;
    for (let seq = from; seq < to; seq++) {
      const e = trace.entry(seq);
      if (e.op === OP_IRQ && e.width === IRQ_ENTER && (e.flags & FLAG_IRQ) === 0 && e.call < 0) steps.push({ kind: "irq", line: e.addr, seq, afterCall });
    }
    return steps;
  }

  /** Like Hal.call, but a call that did not return gives undefined instead of throwing: a
   * scenario that means to end a call with a bus fault goes on after it. */
  callMayThrow(name: string, ...args: number[]): number | undefined {
    try {
      return this.call(name, ...args);
    } catch {
      return undefined;
    }
  }

  override writeBytes(bytes: ArrayLike<number>, ptr = this.scratch): number {
    this.syncInterrupts();
    const at = super.writeBytes(bytes, ptr);
    if (bytes.length > 0) this.steps.push({ kind: "poke", ptr: at, bytes: Uint8Array.from(bytes) });
    return at;
  }

  override readBytes(ptr: number, length: number): Uint8Array {
    this.syncInterrupts();
    const bytes = super.readBytes(ptr, length);
    this.steps.push({ kind: "peek", ptr, bytes: bytes.slice() });
    return bytes;
  }

  /** The peeks, as the C hosts print them: `peek 0x00000400 48656c6c6f`. */
  peekLines(): string[] {
    return this.steps.filter((s) => s.kind === "peek").map((s) => peekLine(s.ptr, s.bytes));
  }
}

export function peekLine(ptr: number, bytes: Uint8Array): string {
  return `peek 0x${ptr.toString(16).padStart(8, "0")} ${hexBytes(bytes)}`;
}

export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
