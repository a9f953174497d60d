// Boards: a bus with models at the addresses of a real board, and the module instantiated on it.
// Drivers never hard-code addresses; scenarios and the demo take them from here.
import { Bus, VirtualClock } from "./bus.js";
import { Hal, type HalVariant } from "./hal.js";
import { Pl011Model } from "./devices/pl011.js";
import { PL011_MAP } from "./generated/pl011.js";

/** ARM Versatile (PB926EJ-S) peripheral addresses, as on the board and in QEMU's versatilepb. */
export const VERSATILE = {
  uart0: 0x101f1000,
  /** The Versatile's UART reference clock. */
  uartclkHz: 24_000_000,
} as const;

export interface BoardOptions {
  /** UARTCLK of uart0 in Hz. */
  uartclkHz?: number;
  /** Virtual time one bus access takes, in ns. */
  accessNs?: number;
  variant?: HalVariant;
}

export interface VersatileBoard {
  readonly bus: Bus;
  readonly hal: Hal;
  readonly uart0: Pl011Model;
}

/** The default board: a PL011 at 0x101f1000 as on ARM Versatile boards. */
export function versatileBoard(options: BoardOptions = {}): VersatileBoard {
  const clock = new VirtualClock(options.accessNs ?? 100);
  const bus = new Bus({ clock });
  const uart0 = new Pl011Model({ clock, uartclkHz: options.uartclkHz ?? VERSATILE.uartclkHz });
  bus.map({ name: "uart0", base: VERSATILE.uart0, size: PL011_MAP.size, device: uart0, map: PL011_MAP });
  const hal = new Hal(bus, options.variant ?? "release");
  return { bus, hal, uart0 };
}
