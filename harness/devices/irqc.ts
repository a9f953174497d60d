// The harness's generic interrupt controller (docs/interrupts.md), with the register layout of the
// ARMv7-M NVIC (DDI 0403E B3.4, from NVIC_ISER0 on): enable, pending, active and an 8-bit
// priority per line, for 256 lines. Models raise their lines (InterruptSource); the controller
// says which line the CPU takes next. Delivering it into the module is harness/interrupts.ts's
// work; this file only keeps state.
//
// Where it is simpler than an NVIC (each repeated beside its code):
// - Lines are level-sensitive: a connected source that is asserted keeps its line pending. A
//   pending latch (set by ISPR, by Interrupts.inject, or by a return the controller saw with the
//   line still asserted) holds a line pending without its source.
// - No priority grouping (all 8 bits preempt), no PRIMASK/BASEPRI (CPU registers, not memory-mapped:
//   a driver masks a line through ICER), no vector table, no STIR.
import type { Device } from "../bus.js";
import type { InterruptSource } from "./signals.js";
import { IRQC_ISER0, IRQC_ICER0, IRQC_ISPR0, IRQC_ICPR0, IRQC_IABR0, IRQC_IPR0 } from "../generated/irqc.js";

/** Lines of the controller: eight 32-bit words of each bit register (DDI 0403E B3.4.4). */
export const IRQC_LINE_COUNT = 256;
const WORDS = IRQC_LINE_COUNT / 32;
/** The priority of thread mode (no handler running): every line is more urgent. */
export const THREAD_PRIORITY = 0x100;

export interface IrqLine {
  readonly line: number;
  readonly name: string;
  readonly source: InterruptSource;
}

export class IrqController implements Device {
  private readonly enabled = new Uint32Array(WORDS);
  private readonly latched = new Uint32Array(WORDS);
  private readonly active = new Uint32Array(WORDS);
  readonly priorities = new Uint8Array(IRQC_LINE_COUNT);
  private readonly sources: (InterruptSource | null)[] = new Array<InterruptSource | null>(IRQC_LINE_COUNT).fill(null);
  private readonly names: string[] = new Array<string>(IRQC_LINE_COUNT).fill("");
  /** The connected lines, in line order: the ones whose source is looked at. */
  private connectedLines: number[] = [];
  /** Any latched line at all: lets next() skip the latch words in the common case. */
  private anyLatched = false;

  /** Wires a model's interrupt output to a line. */
  connect(line: number, source: InterruptSource, name: string): void {
    checkLine(line);
    if (this.sources[line] !== null) throw new Error(`interrupt line ${line} is already connected to ${this.names[line]}`);
    this.sources[line] = source;
    this.names[line] = name;
    this.connectedLines = [...this.connectedLines, line].sort((a, b) => a - b);
  }

  /** The connected lines with their names. */
  get lines(): IrqLine[] {
    return this.connectedLines.map((line) => ({ line, name: this.names[line]!, source: this.sources[line]! }));
  }

  /** The name a line was connected with, or `line N`. */
  lineName(line: number): string {
    return this.names[line] || `line ${line}`;
  }

  /** The line a source was connected to, or -1. */
  lineOf(name: string): number {
    return this.names.indexOf(name);
  }

  /** True while the line's source asserts it (false for a line with no source). */
  asserted(line: number): boolean {
    const source = this.sources[line];
    return source !== null && source !== undefined && source.interruptPending();
  }

  isEnabled(line: number): boolean {
    return ((this.enabled[line >>> 5]! >>> (line & 31)) & 1) !== 0;
  }

  isActive(line: number): boolean {
    return ((this.active[line >>> 5]! >>> (line & 31)) & 1) !== 0;
  }

  /** Pending: latched, or asserted by its source (B3.4.6: ISPR reads the pending state). */
  isPending(line: number): boolean {
    return ((this.latched[line >>> 5]! >>> (line & 31)) & 1) !== 0 || this.asserted(line);
  }

  /** Enables or masks a line from outside the module (a test, a board's start-up code). */
  setEnabled(line: number, on: boolean): void {
    checkLine(line);
    if (on) this.enabled[line >>> 5]! |= 1 << (line & 31);
    else this.enabled[line >>> 5]! &= ~(1 << (line & 31));
  }

  /** Makes a line pending without its source: a spurious interrupt (or ISPR). */
  latch(line: number): void {
    checkLine(line);
    this.latched[line >>> 5]! |= 1 << (line & 31);
    this.anyLatched = true;
  }

  /**
   * The most urgent line that can be taken over a running priority: enabled, pending, not
   * active, and of a priority value strictly below `running` (THREAD_PRIORITY when no handler
   * runs). Equal priorities go to the lower line number (B3.4.9: the NVIC's tie break). -1: none.
   */
  next(running: number): number {
    let best = -1;
    let bestPriority = running;
    for (const line of this.connectedLines) {
      const priority = this.priorities[line]!;
      if (priority >= bestPriority) continue;
      const bit = 1 << (line & 31);
      const word = line >>> 5;
      if ((this.enabled[word]! & bit) === 0 || (this.active[word]! & bit) !== 0) continue;
      if ((this.latched[word]! & bit) !== 0 || this.sources[line]!.interruptPending()) {
        best = line;
        bestPriority = priority;
      }
    }
    if (this.anyLatched) {
      for (let word = 0; word < WORDS; word++) {
        let bits = this.latched[word]! & this.enabled[word]! & ~this.active[word]!;
        while (bits !== 0) {
          const low = bits & -bits;
          const line = word * 32 + (31 - Math.clz32(low));
          bits &= ~low;
          const priority = this.priorities[line]!;
          if (priority < bestPriority || (priority === bestPriority && best > line && best >= 0)) {
            best = line;
            bestPriority = priority;
          }
        }
      }
    }
    return best;
  }

  /** The CPU takes a line: its pending latch clears and it becomes active (B3.4.8). */
  take(line: number): void {
    const bit = 1 << (line & 31);
    this.latched[line >>> 5]! &= ~bit;
    this.active[line >>> 5]! |= bit;
    this.recountLatched();
  }

  /** The handler returned. `stillAsserted`: the line as the controller saw it at the return (a
   * source still asserted, or one whose acknowledgement had not reached it yet) makes it pending
   * again, as an NVIC does for a level-sensitive line. */
  finish(line: number, stillAsserted: boolean): void {
    const bit = 1 << (line & 31);
    this.active[line >>> 5]! &= ~bit;
    if (stillAsserted) this.latch(line);
  }

  private recountLatched(): void {
    let any = 0;
    for (let word = 0; word < WORDS; word++) any |= this.latched[word]!;
    this.anyLatched = any !== 0;
  }

  // ---- Register interface (DDI 0403E B3.4) ----

  read(offset: number, width: number): number {
    if (offset >= IRQC_IPR0) {
      const line = offset - IRQC_IPR0;
      const p = this.priorities;
      return width === 1 ? p[line]! : (p[line]! | (p[line + 1]! << 8) | (p[line + 2]! << 16) | (p[line + 3]! << 24)) >>> 0;
    }
    const word = (offset >>> 2) & (WORDS - 1);
    const group = offset & ~(WORDS * 4 - 1);
    if (group === IRQC_ISER0 || group === IRQC_ICER0) return this.enabled[word]! >>> 0;
    if (group === IRQC_ISPR0 || group === IRQC_ICPR0) {
      let bits = this.latched[word]!;
      for (const line of this.connectedLines) if (line >>> 5 === word && this.asserted(line)) bits |= 1 << (line & 31);
      return bits >>> 0;
    }
    if (group === IRQC_IABR0) return this.active[word]! >>> 0;
    return 0;
  }

  write(offset: number, value: number, width: number): void {
    if (offset >= IRQC_IPR0) {
      const line = offset - IRQC_IPR0;
      if (width === 1) this.priorities[line] = value & 0xff;
      else for (let i = 0; i < 4; i++) this.priorities[line + i] = (value >>> (8 * i)) & 0xff;
      return;
    }
    const word = (offset >>> 2) & (WORDS - 1);
    const group = offset & ~(WORDS * 4 - 1);
    if (group === IRQC_ISER0) this.enabled[word]! |= value;
    else if (group === IRQC_ICER0) this.enabled[word]! &= ~value;
    else if (group === IRQC_ISPR0) {
      this.latched[word]! |= value;
      this.recountLatched();
    } else if (group === IRQC_ICPR0) {
      // A source still asserted keeps its line pending (isPending looks at it): only the latch goes.
      this.latched[word]! &= ~value;
      this.recountLatched();
    }
  }
}

function checkLine(line: number): void {
  if (!Number.isInteger(line) || line < 0 || line >= IRQC_LINE_COUNT) throw new RangeError(`interrupt line ${line} is outside 0..${IRQC_LINE_COUNT - 1}`);
}
