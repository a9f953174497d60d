// Registers a model does not implement (harness/unimplemented.ts): strict guards stop the driver
// at the first access, lenient ones count and report once. Offsets are those of PL011 TRM Table
// 3-1 (ILPR 0x020, IMSC 0x038, ICR 0x044, ITCR 0x080; 0x04C-0x07C reserved).
import { describe, expect, it } from "vitest";
import { Bus, VirtualClock } from "../harness/bus.js";
import { Hal, HalError } from "../harness/hal.js";
import { VERSATILE } from "../harness/board.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { OK } from "../harness/generated/api.js";
import {
  UnimplementedGuard, UnimplementedRegisterError, unimplementedSummary, type UnimplementedOptions,
} from "../harness/unimplemented.js";

const UART = VERSATILE.uart0;
const ILPR = 0x020, IMSC = 0x038, ICR = 0x044, ITCR = 0x080, RSR = 0x004, RESERVED = 0x04c;

/** The registers the PL011 model only stores (its header: IrDA and integration test not modelled). */
const MODEL_LEAVES_OUT = ["ILPR", "ITCR", "ITIP", "ITOP", "TDR"];
/** A smaller model without interrupts: IMSC and ICR unimplemented. */
const NO_INTERRUPTS = ["IMSC", "ICR", "RIS", "MIS"];

function guarded(options: Omit<UnimplementedOptions, "region" | "map">) {
  const clock = new VirtualClock();
  const bus = new Bus({ clock });
  const model = new Pl011Model({ clock, uartclkHz: VERSATILE.uartclkHz });
  const guard = new UnimplementedGuard(model, { region: "uart0", map: PL011_MAP, ...options });
  bus.map({ name: "uart0", base: UART, size: PL011_MAP.size, device: guard, map: PL011_MAP });
  return { bus, model, guard };
}

/** The error an access threw. */
function refusal(access: () => unknown): UnimplementedRegisterError {
  try {
    access();
  } catch (e) {
    expect(e).toBeInstanceOf(UnimplementedRegisterError);
    return e as UnimplementedRegisterError;
  }
  throw new Error("the access was not refused");
}

describe("strict: the first access to an unimplemented register stops the driver", () => {
  it("pl011_init touches only registers the model implements", () => {
    const { bus, guard } = guarded({ unimplemented: MODEL_LEAVES_OUT });
    const hal = new Hal(bus, "release");
    expect(hal.call("pl011_init", UART, VERSATILE.uartclkHz, 115200, 0)).toBe(OK);
    expect(guard.accesses).toEqual([]);
  });

  it("a read of ILPR names the region, the register and the offset", () => {
    const { bus } = guarded({ unimplemented: MODEL_LEAVES_OUT });
    const error = refusal(() => bus.read(UART + ILPR, 4));
    expect(error.message).toBe("uart0+0x020 ILPR: read of 4 bytes, a register the uart0 model does not implement");
    expect([error.region, error.offset, error.register, error.isWrite]).toEqual(["uart0", ILPR, "ILPR", false]);
  });

  it("a write to a reserved offset is refused too, whatever the lists say", () => {
    const { bus } = guarded({ unimplemented: [] });
    const error = refusal(() => bus.write(UART + RESERVED, 1, 4));
    expect(error.message).toBe("uart0+0x04c: write of 4 bytes at a reserved offset (pl011 has no register there)");
    expect(error.register).toBeNull();
  });

  it("the write side of RSR is named ECR", () => {
    const { bus } = guarded({ unimplemented: ["RSR"] });
    expect(refusal(() => bus.write(UART + RSR, 0, 4)).register).toBe("ECR");
    expect(refusal(() => bus.read(UART + RSR, 4)).register).toBe("RSR");
  });

  it("against a model without interrupts, pl011_init ends at its IMSC write, which never reaches the model", () => {
    const { bus, model } = guarded({ unimplemented: NO_INTERRUPTS });
    const hal = new Hal(bus, "release");
    model.write(IMSC, 0x7ff, 4); // as if left enabled by someone before
    let error: unknown;
    try {
      hal.call("pl011_init", UART, VERSATILE.uartclkHz, 115200, 0);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HalError);
    const cause = (error as HalError).cause as UnimplementedRegisterError;
    expect(cause).toBeInstanceOf(UnimplementedRegisterError);
    expect(cause.message).toBe("uart0+0x038 IMSC: write of 4 bytes, a register the uart0 model does not implement");
    expect(model.read(IMSC, 4)).toBe(0x7ff);
  });
});

describe("lenient: accesses reach the model and are reported once", () => {
  it("two ILPR reads and one ITCR write: one line, registers in offset order", () => {
    const { bus, model, guard } = guarded({ unimplemented: MODEL_LEAVES_OUT, mode: "lenient" });
    bus.write(UART + ITCR, 1, 4);
    bus.read(UART + ILPR, 4);
    bus.read(UART + ILPR, 4);
    expect(guard.summary()).toBe("uart0: 3 accesses to 2 unimplemented registers: ILPR (R x2), ITCR (W x1)");
    // The model stored the write (ITCR keeps its value: PL011 model header).
    expect(model.read(ITCR, 4)).toBe(1);
    expect(guard.accesses.map((a) => [a.offset, a.register?.name, a.reads, a.writes])).toEqual([[ILPR, "ILPR", 2, 0], [ITCR, "ITCR", 0, 1]]);
  });

  it("against a model without interrupts, pl011_init succeeds and the summary names IMSC and ICR", () => {
    const { bus, guard } = guarded({ unimplemented: NO_INTERRUPTS, mode: "lenient" });
    const hal = new Hal(bus, "release");
    expect(hal.call("pl011_init", UART, VERSATILE.uartclkHz, 115200, 0)).toBe(OK);
    // The driver masks every interrupt and clears them all (assembly/pl011.ts): one write each.
    expect(guard.summary()).toBe("uart0: 2 accesses to 2 unimplemented registers: IMSC (W x1), ICR (W x1)");
  });

  it("an `implemented` list: everything else is reported, RSR read and written as RSR/ECR", () => {
    const { bus, guard } = guarded({ implemented: ["DR", "FR", "IBRD", "FBRD", "LCR_H", "CR"], mode: "lenient" });
    bus.read(UART + RSR, 4);
    bus.write(UART + RSR, 0, 4);
    bus.write(UART + ICR, 0x7ff, 4);
    bus.read(UART + RESERVED, 4);
    expect(guard.summary()).toBe("uart0: 4 accesses to 3 unimplemented registers: RSR/ECR (R x1, W x1), ICR (W x1), reserved 0x04c (R x1)");
  });

  it("nothing let through: no summary; several guards: one line each", () => {
    const quiet = guarded({ unimplemented: MODEL_LEAVES_OUT, mode: "lenient" }).guard;
    expect(quiet.summary()).toBeNull();
    const noisy = guarded({ unimplemented: MODEL_LEAVES_OUT, mode: "lenient" });
    noisy.bus.read(UART + ILPR, 4);
    expect(unimplementedSummary([quiet])).toBeNull();
    expect(unimplementedSummary([quiet, noisy.guard])).toBe("uart0: 1 access to 1 unimplemented register: ILPR (R x1)");
    noisy.guard.clear();
    expect(noisy.guard.summary()).toBeNull();
  });
});

describe("the lists", () => {
  it("refuse a name the map does not have, and both lists or neither", () => {
    expect(() => guarded({ unimplemented: ["IRDA"] })).toThrow("unimplemented registers of uart0: pl011 has no register IRDA");
    expect(() => guarded({ unimplemented: ["ILPR"], implemented: ["DR"] })).toThrow(/give either `implemented` or `unimplemented`/);
    expect(() => guarded({})).toThrow(/give either/);
  });
});
