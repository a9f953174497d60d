// Registers a model does not implement (docs/replay.md, "Unimplemented registers"). A model answers
// every offset of its block, but some it only stores or reads as 0 (the PL011 model leaves IrDA and
// the integration-test registers out). A driver that relies on one of them passes against the model
// and fails on the board. UnimplementedGuard wraps the model's Device and knows which registers the
// model implements: an access to any other register, or to a reserved offset, either stops the
// driver at once (strict) or is counted and reported in one summary at the end (lenient).
import type { Device } from "./bus.js";
import type { RegisterBlock, RegisterInfo } from "./regmap.js";

export type UnimplementedMode = "strict" | "lenient";

export interface UnimplementedOptions {
  /** The region's name, for messages. */
  readonly region: string;
  /** The register map of the block the model stands for. */
  readonly map: RegisterBlock;
  /** "strict" (default): throw at the first access; "lenient": count, pass it to the model and
   * report in summary(). */
  readonly mode?: UnimplementedMode;
  /** The registers the model implements, by name; every other one is unimplemented. */
  readonly implemented?: readonly string[];
  /** Or: the registers it does not implement; every other one is implemented. */
  readonly unimplemented?: readonly string[];
}

/** A strict guard's refusal: thrown from inside the import, it ends the export call as a HalError
 * whose cause is this. */
export class UnimplementedRegisterError extends Error {
  constructor(
    readonly region: string,
    readonly offset: number,
    /** The register's name for the access's direction, or null at a reserved offset. */
    readonly register: string | null,
    readonly isWrite: boolean,
    readonly width: number,
    message: string,
  ) {
    super(message);
    this.name = "UnimplementedRegisterError";
  }
}

/** The accesses a lenient guard let through to one unimplemented register or reserved word. */
export interface UnimplementedAccesses {
  /** The register's offset, or the reserved word's. */
  readonly offset: number;
  /** RegisterInfo, or null for a reserved offset. */
  readonly register: RegisterInfo | null;
  reads: number;
  writes: number;
}

const hex3 = (n: number): string => "0x" + n.toString(16).padStart(3, "0");

/** The name an access uses: the write side's own name where the map gives one (ECR for RSR). */
function nameFor(reg: RegisterInfo, isWrite: boolean): string {
  return isWrite && reg.writeName !== null ? reg.writeName : reg.name;
}

export class UnimplementedGuard implements Device {
  readonly mode: UnimplementedMode;
  readonly region: string;
  readonly map: RegisterBlock;
  /** 1 for each 32-bit word of the block that holds an implemented register. */
  private readonly implementedWords: Uint8Array;
  /** The register of each word, or undefined (reserved). */
  private readonly registerOfWord: (RegisterInfo | undefined)[];
  private readonly counts = new Map<number, UnimplementedAccesses>();

  constructor(readonly inner: Device, options: UnimplementedOptions) {
    const { map } = options;
    this.mode = options.mode ?? "strict";
    this.region = options.region;
    this.map = map;
    if ((options.implemented === undefined) === (options.unimplemented === undefined)) {
      throw new Error(`unimplemented registers of ${options.region}: give either \`implemented\` or \`unimplemented\` (one list of ${map.block} register names)`);
    }
    const listed = new Set<RegisterInfo>();
    for (const name of options.implemented ?? options.unimplemented ?? []) {
      const reg = map.registers.find((r) => r.name === name || r.writeName === name);
      if (reg === undefined) throw new Error(`unimplemented registers of ${options.region}: ${map.block} has no register ${name} (has: ${map.registers.map((r) => r.name).join(", ")})`);
      listed.add(reg);
    }
    const words = Math.ceil(map.size / 4);
    this.implementedWords = new Uint8Array(words);
    this.registerOfWord = new Array<RegisterInfo | undefined>(words).fill(undefined);
    const listedAreImplemented = options.implemented !== undefined;
    for (const reg of map.registers) {
      const implemented = listed.has(reg) === listedAreImplemented;
      for (let word = reg.offset >>> 2; word < (reg.offset + reg.span) >>> 2; word++) {
        this.registerOfWord[word] = reg;
        this.implementedWords[word] = implemented ? 1 : 0;
      }
    }
  }

  read(offset: number, width: number): number {
    if (this.implementedWords[offset >>> 2] !== 1) this.unimplemented(offset, width, false);
    return this.inner.read(offset, width);
  }

  write(offset: number, value: number, width: number): void {
    if (this.implementedWords[offset >>> 2] !== 1) this.unimplemented(offset, width, true);
    this.inner.write(offset, value, width);
  }

  private unimplemented(offset: number, width: number, isWrite: boolean): void {
    const reg = this.registerOfWord[offset >>> 2];
    if (this.mode === "strict") {
      const place = `${this.region}+${hex3(offset)}`;
      const access = `${isWrite ? "write" : "read"} of ${width} byte${width === 1 ? "" : "s"}`;
      const message = reg === undefined
        ? `${place}: ${access} at a reserved offset (${this.map.block} has no register there)`
        : `${place} ${nameFor(reg, isWrite)}: ${access}, a register the ${this.region} model does not implement`;
      throw new UnimplementedRegisterError(this.region, offset, reg === undefined ? null : nameFor(reg, isWrite), isWrite, width, message);
    }
    const key = reg === undefined ? offset & ~3 : reg.offset;
    let entry = this.counts.get(key);
    if (entry === undefined) {
      entry = { offset: key, register: reg ?? null, reads: 0, writes: 0 };
      this.counts.set(key, entry);
    }
    if (isWrite) entry.writes++;
    else entry.reads++;
  }

  /** What a lenient guard let through, by offset. */
  get accesses(): readonly UnimplementedAccesses[] {
    return [...this.counts.values()].sort((a, b) => a.offset - b.offset);
  }

  /** Forgets what was counted. */
  clear(): void {
    this.counts.clear();
  }

  /**
   * One line for everything a lenient guard let through, or null when nothing was:
   * "uart0: 3 accesses to 2 unimplemented registers: ILPR (R x2), ITCR (W x1)".
   */
  summary(): string | null {
    const list = this.accesses;
    if (list.length === 0) return null;
    const total = list.reduce((n, a) => n + a.reads + a.writes, 0);
    const items = list.map((a) => {
      const counts = [a.reads > 0 ? `R x${a.reads}` : "", a.writes > 0 ? `W x${a.writes}` : ""].filter((c) => c !== "").join(", ");
      return `${this.label(a)} (${counts})`;
    });
    const places = list.length;
    return `${this.region}: ${total} access${total === 1 ? "" : "es"} to ${places} unimplemented register${places === 1 ? "" : "s"}: ${items.join(", ")}`;
  }

  /** A register's name as the accesses used it (RSR, ECR, or RSR/ECR for both), or the
   * reserved offset. */
  private label(a: UnimplementedAccesses): string {
    const reg = a.register;
    if (reg === null) return `reserved ${hex3(a.offset)}`;
    if (reg.writeName === null || a.writes === 0) return reg.name;
    return a.reads === 0 ? reg.writeName : `${reg.name}/${reg.writeName}`;
  }
}

/** The summaries of several guards, one line each, or null when none let anything through. */
export function unimplementedSummary(guards: readonly UnimplementedGuard[]): string | null {
  const lines = guards.map((g) => g.summary()).filter((s): s is string => s !== null);
  return lines.length === 0 ? null : lines.join("\n");
}
