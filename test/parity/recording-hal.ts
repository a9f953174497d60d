// A Hal that remembers what the test did to the module, so that a C host can do the same: the
// bytes put into linear memory, the export calls with their arguments, the bytes read back.
// Existing helpers (halSpiPort, SpiNorHost) work on it unchanged, since it is a Hal.
import type { Bus } from "../../harness/bus.js";
import { Hal, type HalOptions, type HalVariant } from "../../harness/hal.js";

export type Step =
  | { readonly kind: "poke"; readonly ptr: number; readonly bytes: Uint8Array }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly number[] }
  | { readonly kind: "peek"; readonly ptr: number; readonly bytes: Uint8Array };

export class RecordingHal extends Hal {
  readonly steps: Step[] = [];

  constructor(bus: Bus, variant: HalVariant = "release", modulePath?: string, options: HalOptions = {}) {
    // An undefined modulePath takes Hal's default (the package's module of that variant).
    super(bus, variant, modulePath, options);
  }

  override call(name: string, ...args: number[]): number {
    this.steps.push({ kind: "call", name, args: [...args] });
    return super.call(name, ...args);
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
    const at = super.writeBytes(bytes, ptr);
    if (bytes.length > 0) this.steps.push({ kind: "poke", ptr: at, bytes: Uint8Array.from(bytes) });
    return at;
  }

  override readBytes(ptr: number, length: number): Uint8Array {
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
