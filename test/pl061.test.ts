// PL061 GPIO: the driver in build/hal.wasm against the behavioural model, through the bus.
// Expected offsets, reset values and IDs are the TRM's (ARM DDI 0190B; docs/primecell.md, PL061
// section 3), written out here rather than taken from the generated constants the driver uses.
import { describe, expect, it } from "vitest";
import { Bus, type Device } from "../harness/bus.js";
import { Hal } from "../harness/hal.js";
import { OP_BARRIER, OP_READ, OP_WRITE, type TraceEntry } from "../harness/trace.js";
import { lintTrace } from "../harness/lint.js";
import { Pl061Model } from "../harness/devices/pl061.js";
import { PL061_MAP } from "../harness/generated/pl061.js";
import {
  OK, ERR_INVALID_ARG,
  PL061_IRQ_EDGE_RISING, PL061_IRQ_EDGE_FALLING, PL061_IRQ_EDGE_BOTH, PL061_IRQ_LEVEL_HIGH, PL061_IRQ_LEVEL_LOW,
} from "../harness/generated/api.js";

/** PL061 register offsets, docs/primecell.md, PL061 3.1 (TRM 3.2 summary). */
const TRM = {
  DATA_ALL: 0x3fc, DIR: 0x400, IS: 0x404, IBE: 0x408, IEV: 0x40c, IE: 0x410, RIS: 0x414, MIS: 0x418,
  IC: 0x41c, AFSEL: 0x420,
} as const;

/** barrier() kind of a DSB (docs/abi.md 1.2). */
const DSB = 1;

/** The QEMU virt board's PL061 address; any word-aligned base would do. */
const BASE = 0x0903_0000;

function rig(options: { device?: (model: Pl061Model) => Device } = {}) {
  const bus = new Bus();
  const model = new Pl061Model({ clock: bus.clock });
  bus.map({ name: "gpio", base: BASE, size: 0x1000, device: options.device?.(model) ?? model, map: PL061_MAP });
  const hal = new Hal(bus);
  /** The bus accesses (not barriers) made by the last export call. */
  const lastCall = (): TraceEntry[] => {
    const call = bus.trace.calls.at(-1);
    if (call === undefined) throw new Error("no call yet");
    return [...bus.trace.entries(call.start, call.end)];
  };
  return { bus, model, hal, lastCall };
}

/** An access as offset and value, or a barrier as its kind. */
const access = (e: TraceEntry) =>
  e.op === OP_BARRIER ? { op: e.op, kind: e.value } : { op: e.op, addr: e.addr - BASE, value: e.value, width: e.width };
const writesOf = (entries: TraceEntry[]) => entries.filter((e) => e.op === OP_WRITE).map((e) => e.addr - BASE);

describe("PL061 after reset (TRM 3.2, docs/primecell.md 3.1 and 3.4)", () => {
  it("reads every register at its reset value: all pins inputs, interrupts edge-sensitive, falling, masked", () => {
    const { bus } = rig();
    for (const offset of [TRM.DATA_ALL, TRM.DIR, TRM.IS, TRM.IBE, TRM.IEV, TRM.IE, TRM.RIS, TRM.MIS, TRM.AFSEL]) {
      expect(bus.read(BASE + offset, 4), `offset 0x${offset.toString(16)}`).toBe(0x00);
    }
  });

  it("identifies as PL061: PeriphID 0x61 0x10 0x04 0x00, PCellID 0x0D 0xF0 0x05 0xB1", () => {
    const { bus } = rig();
    const ids = [0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc].map((o) => bus.read(BASE + o, 4));
    expect(ids).toEqual([0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
    // As one word: part 0x061, designer 0x41 ('A'), revision 0; Linux matches 0x00041061 / 0x000fffff.
    const periph = ids[0]! | (ids[1]! << 8) | (ids[2]! << 16) | (ids[3]! << 24);
    expect((periph & 0x000fffff) >>> 0).toBe(0x00041061);
    const cell = ids[4]! | (ids[5]! << 8) | (ids[6]! << 16) | ((ids[7]! << 24) >>> 0);
    expect(cell >>> 0).toBe(0xb105f00d);
  });

  it("has a register map that agrees with the TRM offsets and reset values", () => {
    const summary: [string, number, number | null][] = [
      ["DATA", 0x000, 0x00], ["DIR", 0x400, 0x00], ["IS", 0x404, 0x00], ["IBE", 0x408, 0x00], ["IEV", 0x40c, 0x00],
      ["IE", 0x410, 0x00], ["RIS", 0x414, 0x00], ["MIS", 0x418, 0x00], ["IC", 0x41c, null], ["AFSEL", 0x420, 0x00],
      ["PeriphID0", 0xfe0, 0x61], ["PeriphID1", 0xfe4, 0x10], ["PeriphID2", 0xfe8, 0x04], ["PeriphID3", 0xfec, 0x00],
      ["PCellID0", 0xff0, 0x0d], ["PCellID1", 0xff4, 0xf0], ["PCellID2", 0xff8, 0x05], ["PCellID3", 0xffc, 0xb1],
    ];
    for (const [name, offset, reset] of summary) {
      const reg = PL061_MAP.registers.find((r) => r.name === name);
      expect({ name, offset: reg?.offset, reset: reg?.reset }).toEqual({ name, offset, reset });
    }
    expect(PL061_MAP.registers.find((r) => r.name === "IC")).toMatchObject({ read: "undefined", write: "w1c" });
    expect(PL061_MAP.registers.find((r) => r.name === "RIS")).toMatchObject({ write: "ignored" });
  });

  it("reads undriven input pins at the board's pull levels (0 unless the board has pull-ups)", () => {
    const bus = new Bus();
    const model = new Pl061Model({ clock: bus.clock, inputs: 0x81 });
    bus.map({ name: "gpio", base: BASE, size: 0x1000, device: model, map: PL061_MAP });
    expect(bus.read(BASE + TRM.DATA_ALL, 4)).toBe(0x81);
    expect(rig().bus.read(BASE + TRM.DATA_ALL, 4)).toBe(0x00);
  });

  it("stores AFSEL and reads it back", () => {
    const { bus, model } = rig();
    bus.write(BASE + TRM.AFSEL, 0x81, 4);
    expect(bus.read(BASE + TRM.AFSEL, 4)).toBe(0x81);
    expect(model.afsel).toBe(0x81);
  });
});

describe("address-masked DATA (TRM 3.3.1, docs/primecell.md 3.2)", () => {
  it("names and decodes all 256 DATA words: 0x004 is pin 0, 0x200 pin 7, 0x028 pins 1 and 3, 0x3FC all", () => {
    const { bus } = rig();
    for (const offset of [0x000, 0x004, 0x028, 0x200, 0x3fc]) expect(bus.describe(BASE + offset)).toMatch(/ DATA$/);
    expect(bus.describe(BASE + 0x400)).toMatch(/ DIR$/);
  });

  it("pl061_write makes exactly one bus write, at offset mask << 2, and no read", () => {
    const { hal, model, lastCall } = rig();
    expect(hal.call("pl061_set_direction", BASE, 0xff, 0xff)).toBe(OK);
    expect(hal.call("pl061_write", BASE, 0xff, 0xa5)).toBe(OK);
    expect(model.outputs).toBe(0xa5);

    expect(hal.call("pl061_write", BASE, 0x0a, 0x0f)).toBe(OK);
    expect(lastCall().map(access)).toEqual([{ op: OP_WRITE, addr: 0x028, value: 0x0a, width: 4 }]);
    // 1010_0101 with pins 1 and 3 set: 1010_1111.
    expect(model.outputs).toBe(0xaf);

    expect(hal.call("pl061_write", BASE, 0x81, 0x00)).toBe(OK);
    expect(lastCall().map(access)).toEqual([{ op: OP_WRITE, addr: 0x204, value: 0x00, width: 4 }]);
    // Pins 7 and 0 cleared: 0010_1110.
    expect(model.outputs).toBe(0x2e);
  });

  it("pl061_read makes one read at offset mask << 2 and returns only the selected pins", () => {
    const { hal, model, bus, lastCall } = rig();
    model.driveInputs(0xff, 0b0110_1010);
    expect(hal.call("pl061_read", BASE, 0x0f)).toBe(0b1010);
    expect(lastCall().map(access)).toEqual([{ op: OP_READ, addr: 0x03c, value: 0b1010, width: 4 }]);
    expect(hal.call("pl061_read", BASE, 0x80)).toBe(0);
    expect(hal.call("pl061_read", BASE, 0x40)).toBe(0x40);
    expect(lastCall().map(access)).toEqual([{ op: OP_READ, addr: 0x100, value: 0x40, width: 4 }]);
    // The hardware itself reads unselected pins as 0, not only the driver's mask.
    expect(bus.read(BASE + 0x028, 4)).toBe(0x0a);
  });

  it("an output pin reads back the level it drives, an input pin the level driven onto it", () => {
    const { hal, model } = rig();
    hal.call("pl061_set_direction", BASE, 0x0f, 0x0f);
    hal.call("pl061_write", BASE, 0x0f, 0x05);
    model.driveInputs(0xff, 0xa0); // also tries to drive the output pins: the PL061 wins there
    expect(hal.call("pl061_read", BASE, 0xff)).toBe(0xa5);
    expect(model.pinLevel(0)).toBe(true);
    expect(model.pinLevel(1)).toBe(false);
  });

  it("a write to an input pin does not take effect and is not kept for when it becomes an output", () => {
    const { hal, model } = rig();
    hal.call("pl061_set_direction", BASE, 0xff, 0x0f);
    hal.call("pl061_write", BASE, 0xff, 0xff);
    expect(model.outputs).toBe(0x0f);
    expect(hal.call("pl061_read", BASE, 0xf0)).toBe(0x00);
    // Pin 4 becomes an output: it drives the reset value of its latch, not the dropped 1.
    hal.call("pl061_set_direction", BASE, 0x10, 0x10);
    expect(model.pinLevel(4)).toBe(false);
  });

  it("byte accesses (as Linux gpio-pl061 makes them) reach the same registers", () => {
    const { bus, model } = rig();
    bus.write(BASE + TRM.DIR, 0xff, 1);
    bus.write(BASE + 0x00c, 0xff, 1); // DATA, pins 0 and 1
    expect(model.outputs).toBe(0x03);
    expect(bus.read(BASE + TRM.DATA_ALL, 1)).toBe(0x03);
    expect(bus.read(BASE + TRM.DIR + 1, 1)).toBe(0); // bits 15:8 are reserved
  });
});

/**
 * A device in front of the model that lets another agent (a second core, an interrupt handler)
 * act at a chosen moment: just before the next CPU write to DATA reaches the PL061. The other
 * agent's access goes straight to the model, so it does not appear in the CPU's trace.
 */
class Interleaver implements Device {
  private pending: (() => void) | undefined;
  constructor(private readonly model: Pl061Model) {}

  beforeNextDataWrite(action: () => void): void {
    this.pending = action;
  }

  read(offset: number, width: number): number {
    return this.model.read(offset, width);
  }

  write(offset: number, value: number, width: number): void {
    const action = this.pending;
    if (offset < 0x400 && action !== undefined) {
      this.pending = undefined;
      action();
    }
    this.model.write(offset, value, width);
  }
}

describe("concurrent updates of other pins (why DATA is address-masked)", () => {
  // The other agent sets pin 5 with its own masked write (offset 1 << 5 << 2 = 0x080).
  const setPin5 = (model: Pl061Model) => () => model.write(0x080, 0x20, 4);

  it("a read-modify-write of all pins clobbers pin 5, set by someone else between the read and the write", () => {
    let interleaver: Interleaver | undefined;
    const { bus, hal, model } = rig({ device: (m) => (interleaver = new Interleaver(m)) });
    hal.call("pl061_set_direction", BASE, 0xff, 0xff);

    // The naive way to set pin 0: read every pin, OR in pin 0, write every pin back.
    const before = bus.read(BASE + TRM.DATA_ALL, 4);
    interleaver!.beforeNextDataWrite(setPin5(model));
    bus.write(BASE + TRM.DATA_ALL, before | 0x01, 4);

    expect(model.pinLevel(0)).toBe(true);
    expect(model.pinLevel(5)).toBe(false); // the other agent's update is lost
  });

  it("pl061_write of pin 0 leaves pin 5 as the other agent set it", () => {
    let interleaver: Interleaver | undefined;
    const { hal, model, lastCall } = rig({ device: (m) => (interleaver = new Interleaver(m)) });
    hal.call("pl061_set_direction", BASE, 0xff, 0xff);

    interleaver!.beforeNextDataWrite(setPin5(model));
    expect(hal.call("pl061_write", BASE, 0x01, 0x01)).toBe(OK);

    expect(model.outputs).toBe(0x21);
    // No read, hence no window in which a stale value could be taken.
    expect(lastCall().map(access)).toEqual([{ op: OP_WRITE, addr: 0x004, value: 0x01, width: 4 }]);
  });

  it("clearing pin 0 while another agent clears pin 5 and sets pin 6 keeps both agents' changes", () => {
    let interleaver: Interleaver | undefined;
    const { hal, model } = rig({ device: (m) => (interleaver = new Interleaver(m)) });
    hal.call("pl061_set_direction", BASE, 0xff, 0xff);
    hal.call("pl061_write", BASE, 0xff, 0x21);

    interleaver!.beforeNextDataWrite(() => model.write(0x180, 0x40, 4)); // pins 5 and 6: 0, 1
    hal.call("pl061_write", BASE, 0x01, 0x00);

    expect(model.outputs).toBe(0x40);
  });
});

describe("pl061_set_direction (TRM 3.3.2)", () => {
  it("changes the direction of the masked pins only, by a read and a write of DIR", () => {
    const { bus, hal, model, lastCall } = rig();
    bus.write(BASE + TRM.DIR, 0xf0, 4);
    expect(hal.call("pl061_set_direction", BASE, 0x13, 0x01)).toBe(OK);
    // Pin 0 output, pins 1 and 4 inputs, the rest as they were: 1110_0001.
    expect(model.dir).toBe(0xe1);
    expect(lastCall().map(access)).toEqual([
      { op: OP_READ, addr: TRM.DIR, value: 0xf0, width: 4 },
      { op: OP_WRITE, addr: TRM.DIR, value: 0xe1, width: 4 },
    ]);
  });

  it("a pin that stops being an output takes the level driven onto it", () => {
    const { hal, model } = rig();
    model.drive(3, true);
    hal.call("pl061_set_direction", BASE, 0x08, 0x08);
    expect(model.pinLevel(3)).toBe(false);
    hal.call("pl061_set_direction", BASE, 0x08, 0x00);
    expect(model.pinLevel(3)).toBe(true);
  });
});

describe("interrupts (TRM 3.3.3 to 3.3.9, docs/primecell.md 3.3)", () => {
  it("rising edge: a low-to-high input raises the interrupt, high-to-low does not; IC clears it", () => {
    const { hal, model } = rig();
    expect(hal.call("pl061_irq_config", BASE, 0x04, PL061_IRQ_EDGE_RISING)).toBe(OK);
    expect(model.interruptPending()).toBe(false);
    model.drive(2, true);
    expect(model.interruptPending()).toBe(true);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x04);
    // The edge stays latched after the pin goes back low.
    model.drive(2, false);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x04);
    expect(hal.call("pl061_irq_clear", BASE, 0x04)).toBe(OK);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0);
    expect(model.interruptPending()).toBe(false);
  });

  it("falling edge: a high-to-low input raises the interrupt, low-to-high does not", () => {
    const { hal, model } = rig();
    model.drive(6, true);
    hal.call("pl061_irq_config", BASE, 0x40, PL061_IRQ_EDGE_FALLING);
    model.drive(6, false);
    model.drive(6, true);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x40);
    hal.call("pl061_irq_clear", BASE, 0x40);
    model.drive(6, false);
    model.drive(6, true);
    hal.call("pl061_irq_clear", BASE, 0x40);
    model.drive(6, true);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0);
    // Only the falling edge latched: a rising one alone does not.
    model.drive(6, false);
    hal.call("pl061_irq_clear", BASE, 0x40);
    model.drive(6, true);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0);
  });

  it("both edges: each transition raises the interrupt, whatever IEV says", () => {
    const { bus, hal, model } = rig();
    bus.write(BASE + TRM.IEV, 0xff, 4); // IEV is ignored under IBE (TRM 3.3.4)
    hal.call("pl061_irq_config", BASE, 0x01, PL061_IRQ_EDGE_BOTH);
    model.drive(0, true);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x01);
    hal.call("pl061_irq_clear", BASE, 0x01);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0);
    model.drive(0, false);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x01);
  });

  it("level high: pending while the pin is high, still pending after IC, gone when the level goes", () => {
    const { bus, hal, model } = rig();
    hal.call("pl061_irq_config", BASE, 0x10, PL061_IRQ_LEVEL_HIGH);
    expect(model.interruptPending()).toBe(false);
    model.drive(4, true);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x10);
    expect(hal.call("pl061_irq_clear", BASE, 0x10)).toBe(OK);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x10);
    expect(bus.read(BASE + TRM.RIS, 4)).toBe(0x10);
    model.drive(4, false);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0);
    expect(bus.read(BASE + TRM.RIS, 4)).toBe(0);
  });

  it("level low: a pin already low when configured is pending at once, and stays until it goes high", () => {
    const { hal, model } = rig();
    hal.call("pl061_irq_config", BASE, 0x80, PL061_IRQ_LEVEL_LOW);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x80);
    hal.call("pl061_irq_clear", BASE, 0x80);
    expect(model.interruptPending()).toBe(true);
    model.drive(7, true);
    expect(model.interruptPending()).toBe(false);
    model.drive(7, false);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x80);
  });

  it("IC clears only the edges whose bit is written as 1", () => {
    const { hal, model } = rig();
    hal.call("pl061_irq_config", BASE, 0x0c, PL061_IRQ_EDGE_RISING);
    model.driveInputs(0x0c, 0x0c);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x0c);
    hal.call("pl061_irq_clear", BASE, 0x04);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x08);
  });

  it("an edge latched before configuration (reset senses falling edges) does not fire once enabled", () => {
    const { bus, hal, model } = rig();
    model.drive(1, true);
    model.drive(1, false); // a falling edge under the reset setting: raw status only
    expect(bus.read(BASE + TRM.RIS, 4)).toBe(0x02);
    expect(model.interruptPending()).toBe(false);
    hal.call("pl061_irq_config", BASE, 0x02, PL061_IRQ_EDGE_RISING);
    expect(model.interruptPending()).toBe(false);
  });

  it("the same stale edge fires when a pin is unmasked without clearing IC first", () => {
    const { bus, model } = rig();
    model.drive(1, true);
    model.drive(1, false);
    bus.write(BASE + TRM.IEV, 0x02, 4);
    bus.write(BASE + TRM.IE, 0x02, 4);
    expect(model.interruptPending()).toBe(true);
  });

  it("pl061_irq_config masks, sets IS, IBE and IEV, clears IC, then unmasks, keeping the other pins", () => {
    const { bus, hal, model, lastCall } = rig();
    hal.call("pl061_irq_config", BASE, 0x01, PL061_IRQ_EDGE_RISING);
    expect(hal.call("pl061_irq_config", BASE, 0x02, PL061_IRQ_LEVEL_HIGH)).toBe(OK);
    const entries = lastCall();
    expect(writesOf(entries)).toEqual([TRM.IE, TRM.IS, TRM.IBE, TRM.IEV, TRM.IC, TRM.IE]);
    const writes = entries.filter((e) => e.op === OP_WRITE).map((e) => e.value);
    expect(writes[0]).toBe(0x01); // pin 1 masked, pin 0 still enabled
    expect(writes[4]).toBe(0x02); // IC: pin 1 only
    expect(writes[5]).toBe(0x03);
    expect({ is: model.is, ibe: model.ibe, iev: model.iev, ie: model.ie }).toEqual({ is: 0x02, ibe: 0x00, iev: 0x03, ie: 0x03 });
    expect(bus.read(BASE + TRM.IE, 4)).toBe(0x03);
    // Nothing but IC is written without reading its register first: no read of RIS, MIS or IC.
    expect(entries.filter((e) => e.op === OP_READ).map((e) => e.addr - BASE)).toEqual([TRM.IE, TRM.IS, TRM.IBE, TRM.IEV, TRM.IE]);
  });

  it("pl061_irq_status reads MIS: a raw event on a masked pin is not reported", () => {
    const { hal, model, lastCall } = rig();
    hal.call("pl061_irq_config", BASE, 0x01, PL061_IRQ_EDGE_RISING);
    hal.call("pl061_irq_disable", BASE, 0x01);
    model.drive(0, true);
    expect(model.ris).toBe(0x01);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0);
    expect(lastCall().map(access)).toEqual([{ op: OP_READ, addr: TRM.MIS, value: 0, width: 4 }]);
  });

  it("pl061_irq_clear is one write of the mask to IC followed by a DSB", () => {
    const { hal, lastCall } = rig();
    hal.call("pl061_irq_clear", BASE, 0x30);
    expect(lastCall().map(access)).toEqual([
      { op: OP_WRITE, addr: TRM.IC, value: 0x30, width: 4 },
      { op: OP_BARRIER, kind: DSB },
    ]);
  });

  it("pl061_irq_disable masks only the given pins and ends with a DSB", () => {
    const { hal, model, lastCall } = rig();
    hal.call("pl061_irq_config", BASE, 0x03, PL061_IRQ_LEVEL_HIGH);
    model.driveInputs(0x03, 0x03);
    expect(hal.call("pl061_irq_disable", BASE, 0x01)).toBe(OK);
    expect(lastCall().map(access)).toEqual([
      { op: OP_READ, addr: TRM.IE, value: 0x03, width: 4 },
      { op: OP_WRITE, addr: TRM.IE, value: 0x02, width: 4 },
      { op: OP_BARRIER, kind: DSB },
    ]);
    expect(model.ie).toBe(0x02);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x02);
  });

  it("a board can wire an output pin to an input: pin 0 drives pin 1, whose rising edge interrupts", () => {
    const { hal, model } = rig();
    model.onOutputChange((pin, level) => {
      if (pin === 0) model.drive(1, level);
    });
    hal.call("pl061_set_direction", BASE, 0x01, 0x01);
    hal.call("pl061_irq_config", BASE, 0x02, PL061_IRQ_EDGE_RISING);
    hal.call("pl061_write", BASE, 0x01, 0x01);
    expect(model.pinLevel(1)).toBe(true);
    expect(hal.call("pl061_irq_status", BASE)).toBe(0x02);
  });
});

describe("output listeners", () => {
  it("hear each change of an output pin (a chip select), and nothing when the outside drives an input", () => {
    const { hal, model } = rig();
    const events: [number, boolean][] = [];
    const stop = model.onOutputChange((pin, level) => events.push([pin, level]));
    model.drive(5, true);
    hal.call("pl061_set_direction", BASE, 0x04, 0x04);
    hal.call("pl061_write", BASE, 0x04, 0x04); // deassert (active-low chip select)
    hal.call("pl061_write", BASE, 0x04, 0x04); // no change, no event
    hal.call("pl061_write", BASE, 0x04, 0x00);
    stop();
    hal.call("pl061_write", BASE, 0x04, 0x04);
    expect(events).toEqual([[2, true], [2, false]]);
  });
});

describe("invalid arguments are refused before any register access", () => {
  // Arguments as [what is wrong, export, arguments].
  const cases: [string, string, number[]][] = [
    ["mask bit 8", "pl061_set_direction", [BASE, 0x100, 0]],
    ["unaligned base", "pl061_set_direction", [BASE + 2, 0x01, 0x01]],
    ["mask 0x1FF", "pl061_write", [BASE, 0x1ff, 0xff]],
    ["mask -1", "pl061_write", [BASE, -1, 0]],
    ["unaligned base", "pl061_write", [BASE + 1, 0x01, 0x01]],
    ["mask bit 8", "pl061_read", [BASE, 0x100]],
    ["unaligned base", "pl061_read", [BASE + 3, 0x01]],
    ["mask bit 8", "pl061_irq_config", [BASE, 0x100, PL061_IRQ_EDGE_RISING]],
    ["mode 3 (IBE with IEV)", "pl061_irq_config", [BASE, 0x01, 3]],
    ["mode 6 (IS with IBE)", "pl061_irq_config", [BASE, 0x01, 6]],
    ["mode 7", "pl061_irq_config", [BASE, 0x01, 7]],
    ["mode 8", "pl061_irq_config", [BASE, 0x01, 8]],
    ["mode -1", "pl061_irq_config", [BASE, 0x01, -1]],
    ["unaligned base", "pl061_irq_config", [BASE + 2, 0x01, PL061_IRQ_EDGE_RISING]],
    ["mask bit 8", "pl061_irq_disable", [BASE, 0x100]],
    ["mask bit 31", "pl061_irq_clear", [BASE, 0x8000_0000]],
    ["unaligned base", "pl061_irq_status", [BASE + 2]],
  ];
  it.each(cases)("%s: %s returns ERR_INVALID_ARG and touches nothing", (_what, name, args) => {
    const { bus, hal } = rig();
    const before = bus.trace.length;
    expect(hal.call(name, ...args)).toBe(ERR_INVALID_ARG);
    expect(bus.trace.length).toBe(before);
  });

  it("mask 0 is valid and changes no pin", () => {
    const { hal, model, lastCall } = rig();
    hal.call("pl061_set_direction", BASE, 0xff, 0xff);
    hal.call("pl061_write", BASE, 0xff, 0x5a);
    expect(hal.call("pl061_write", BASE, 0, 0xff)).toBe(OK);
    expect(lastCall().map(access)).toEqual([{ op: OP_WRITE, addr: 0x000, value: 0, width: 4 }]);
    expect(model.outputs).toBe(0x5a);
    expect(hal.call("pl061_read", BASE, 0)).toBe(0);
  });
});

describe("register-semantics lint", () => {
  it("finds nothing to report in a session of every driver function", () => {
    const { bus, hal, model } = rig();
    hal.call("pl061_set_direction", BASE, 0x0f, 0x0f);
    hal.call("pl061_write", BASE, 0x05, 0x05);
    hal.call("pl061_read", BASE, 0xf0);
    hal.call("pl061_irq_config", BASE, 0x30, PL061_IRQ_EDGE_BOTH);
    model.drive(4, true);
    hal.call("pl061_irq_status", BASE);
    hal.call("pl061_irq_clear", BASE, 0x10);
    hal.call("pl061_irq_disable", BASE, 0x30);
    expect(lintTrace(bus.trace, bus.regions)).toEqual([]);
  });
});
