import { describe, expect, it } from "vitest";
import { Bus, BusFault, type Device } from "../harness/bus.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { PL022_MAP } from "../harness/generated/pl022.js";
import { PL061_MAP } from "../harness/generated/pl061.js";
import { PL080_MAP } from "../harness/generated/pl080.js";
import { USART_MAP } from "../harness/generated/usart.js";
import { GPIO_MAP } from "../harness/generated/gpio.js";
import { parseTrace } from "../harness/trace-text.js";
import { lintTrace, lintParsedTrace, lintReport, expectLintClean, LintError, SEQUENCE_RULES, type LintFinding } from "../harness/lint.js";
import { RegisterFile as Registers } from "../harness/devices/register-file.js";
import { parseRegisterMap } from "../harness/regmap-json.js";

// Register facts from docs/primecell.md, PL011 1.1 (PL011 TRM 3.3): FR, RIS, MIS and the ID
// registers are read-only, ICR is write-only (write 1 to clear), RSR/ECR clears on any write,
// 0x04C-0x07C is reserved, 0x080-0x08C are integration-test registers, every register takes
// 32-bit accesses.


const UART0 = 0x10009000;
const RAM = 0x20000000;

function board(): Bus {
  const bus = new Bus();
  bus.map({ name: "uart0", base: UART0, size: 0x1000, device: new Registers(), map: PL011_MAP });
  bus.map({ name: "ram", base: RAM, size: 0x10000, device: new Registers() });
  return bus;
}

/** The findings of the accesses `run` makes on a fresh board, as report lines. */
function findings(run: (bus: Bus) => void): string[] {
  const bus = board();
  run(bus);
  return lintTrace(bus.trace, bus.regions).map((f) => `#${f.seq} ${f.severity} ${f.rule}: ${f.message}`);
}

/** An access the bus refuses (recorded with FLAG_FAULT, still linted). */
function refused(access: () => unknown): void {
  expect(access).toThrow(BusFault);
}

describe("lint rules, one trace that breaks each and one that keeps it", () => {
  it("write-to-read-only: a write to FR is ignored by the UART", () => {
    expect(findings((bus) => bus.write(UART0 + 0x018, 1, 4))).toEqual([
      "#0 error write-to-read-only: W32 uart0+0x018 FR 0x00000001: FR is read-only, the write is ignored (pl011 3.3.3)",
    ]);
    expect(findings((bus) => bus.write(UART0 + 0x030, 0x301, 4))).toEqual([]);
  });

  it("read-of-write-only: ICR reads back nothing defined", () => {
    expect(findings((bus) => bus.read(UART0 + 0x044, 4))).toEqual([
      "#0 error read-of-write-only: R32 uart0+0x044 ICR 0x00000000: ICR is write-only, the value read is not defined (pl011 3.3.13)",
    ]);
    // Clearing every interrupt (bits 10:0) and reading MIS are both in order.
    expect(findings((bus) => { bus.write(UART0 + 0x044, 0x7ff, 4); bus.read(UART0 + 0x040, 4); })).toEqual([]);
  });

  it("access-width: a byte write to CR, which takes words only", () => {
    expect(findings((bus) => refused(() => bus.write(UART0 + 0x030, 0x01, 1)))).toEqual([
      "#0 error access-width: W8 uart0+0x030 CR 0x01: CR accepts 32-bit accesses only",
    ]);
    expect(findings((bus) => bus.write(UART0 + 0x030, 0x01, 4))).toEqual([]);
    // DR takes bytes too: a DMA controller feeds it a byte at a time.
    expect(findings((bus) => bus.write(UART0 + 0x000, 0x41, 1))).toEqual([]);
  });

  it("unaligned: a word read two bytes into FR", () => {
    expect(findings((bus) => refused(() => bus.read(UART0 + 0x01a, 4)))).toEqual([
      "#0 error unaligned: R32 uart0+0x01a FR 0x00000000: the address is not a multiple of 4",
    ]);
    expect(findings((bus) => bus.read(UART0 + 0x018, 4))).toEqual([]);
  });

  it("reserved-offset: 0x050 lies in the reserved range after DMACR", () => {
    expect(findings((bus) => bus.read(UART0 + 0x050, 4))).toEqual([
      "#0 error reserved-offset: R32 uart0+0x050 reserved 0x00000000: pl011 has no register at offset 0x050",
    ]);
    expect(findings((bus) => bus.read(UART0 + 0x048, 4))).toEqual([]);
  });

  it("reserved-offset and access-width together: a byte read in reserved space", () => {
    expect(findings((bus) => refused(() => bus.read(UART0 + 0x050, 1)))).toEqual([
      "#0 error reserved-offset: R8 uart0+0x050 reserved 0x00: pl011 has no register at offset 0x050",
      "#0 error access-width: R8 uart0+0x050 reserved 0x00: pl011 reserved space accepts 32-bit accesses only",
    ]);
  });

  it("test-register: ITCR is for integration testing only", () => {
    expect(findings((bus) => bus.write(UART0 + 0x080, 1, 4))).toEqual([
      "#0 warning test-register: W32 uart0+0x080 ITCR 0x00000001: ITCR is an integration-test register, not for normal operation (pl011 4.3)",
    ]);
    expect(findings((bus) => bus.write(UART0 + 0x020, 1, 4))).toEqual([]);
  });

  it("reserved-bits: CR bits 6:3 are reserved, FBRD has 6 bits", () => {
    expect(findings((bus) => { bus.write(UART0 + 0x030, 0x378, 4); bus.write(UART0 + 0x028, 0x45, 4); })).toEqual([
      "#0 warning reserved-bits: W32 uart0+0x030 CR 0x00000378: sets reserved bits 0x78 of CR, whose fields cover 0xff87 (pl011 3.3.8)",
      "#1 warning reserved-bits: W32 uart0+0x028 FBRD 0x00000045: sets bits 0x40 above the 6 bits of FBRD (pl011 3.3.6)",
    ]);
    // FBRD first: once CR.UARTEN is set, FBRD may not be written (write-while-enabled).
    expect(findings((bus) => { bus.write(UART0 + 0x028, 0x3f, 4); bus.write(UART0 + 0x030, 0xff87, 4); })).toEqual([]);
  });

  it("reserved-bits: the value of an ECR write does not matter (any write clears RSR)", () => {
    expect(findings((bus) => bus.write(UART0 + 0x004, 0xffffffff, 4))).toEqual([]);
  });
});

describe("what the lint looks at", () => {
  it("leaves DMA accesses and plain memory alone", () => {
    expect(findings((bus) => {
      bus.masterWrite(UART0 + 0x018, 1, 4);
      bus.masterRead(UART0 + 0x044, 4);
      bus.write(RAM + 0x51, 0xff, 1);
    })).toEqual([]);
  });

  it("reports a poll once, at its first entry, with its count", () => {
    expect(findings((bus) => {
      bus.write(UART0 + 0x030, 0, 4);
      for (let i = 0; i < 900; i++) bus.read(UART0 + 0x044, 4);
    })).toEqual([
      "#1 error read-of-write-only: R32 uart0+0x044 ICR 0x00000000 x900: ICR is write-only, the value read is not defined (pl011 3.3.13)",
    ]);
  });

  it("lints a parsed trace file by the maps its region lines name", () => {
    const text = [
      "wasm-hal-trace 1",
      "region uart0 0x10009000 0x1000 pl011",
      "region ram 0x20000000 0x10000 none",
      "call pl011_flush(0x10009000)",
      "  R32 uart0+0x044 ICR       0x00000000 x12",
      "  W32 uart0+0x018 FR        0x00000001",
      "  dma W32 uart0+0x018 FR        0x00000001",
      "  W32 ram+0x000             0xffffffff",
      "  DSB",
      "return 0",
    ].join("\n");
    expect(lintParsedTrace(parseTrace(text, "lint.trace"))).toEqual([
      { seq: 0, severity: "error", rule: "read-of-write-only", message: "R32 uart0+0x044 ICR 0x00000000 x12: ICR is write-only, the value read is not defined (pl011 3.3.13)" },
      { seq: 12, severity: "error", rule: "write-to-read-only", message: "W32 uart0+0x018 FR 0x00000001: FR is read-only, the write is ignored (pl011 3.3.3)" },
    ]);
  });
});

describe("reporting", () => {
  const warning: LintFinding = { seq: 4, severity: "warning", rule: "test-register", message: "R32 uart0+0x084 ITIP 0x00000000: ITIP is an integration-test register, not for normal operation (pl011 4.3)" };
  const error: LintFinding = { seq: 7, severity: "error", rule: "write-to-read-only", message: "W32 uart0+0x03c RIS 0x00000001: RIS is read-only, the write is ignored (pl011 3.3.11)" };

  it("prints one line per finding, nothing when clean", () => {
    expect(lintReport([warning, error])).toBe(
      "#4 warning test-register: R32 uart0+0x084 ITIP 0x00000000: ITIP is an integration-test register, not for normal operation (pl011 4.3)\n" +
      "#7 error write-to-read-only: W32 uart0+0x03c RIS 0x00000001: RIS is read-only, the write is ignored (pl011 3.3.11)",
    );
    expect(lintReport([])).toBe("");
  });

  it("expectLintClean throws a LintError listing the findings, warnings included unless allowed", () => {
    expect(() => expectLintClean([])).not.toThrow();
    expect(() => expectLintClean([warning])).toThrow(LintError);
    expect(() => expectLintClean([warning, error])).toThrow(
      "2 lint findings:\n#4 warning test-register: R32 uart0+0x084 ITIP",
    );
    expect(() => expectLintClean([warning], { allowWarnings: true })).not.toThrow();
    expect(() => expectLintClean([warning, error], { allowWarnings: true })).toThrow("1 lint finding:\n#7 error write-to-read-only");
  });

  it("passes a trace that keeps every rule, from the bus", () => {
    const bus = board();
    bus.write(UART0 + 0x030, 0, 4);
    bus.write(UART0 + 0x024, 1, 4);
    bus.write(UART0 + 0x028, 5, 4);
    bus.write(UART0 + 0x02c, 0x70, 4);
    bus.write(UART0 + 0x004, 0, 4);
    bus.barrier(1);
    bus.write(UART0 + 0x030, 0x301, 4);
    bus.read(UART0 + 0x018, 4);
    expect(() => expectLintClean(lintTrace(bus.trace, bus.regions))).not.toThrow();
  });
});

// Rules over sequences, from docs/primecell.md: PL011 DR pops the RX FIFO (TRM 3.3.1) and FR.RXFE
// (bit 4) says it is empty (3.3.3); LCR_H, IBRD and FBRD may not change while CR.UARTEN (bit 0) is
// set (3.3.7; PL011 1.6); ICR is write-1-to-clear (3.3.13). PL022 DR pops the RX FIFO and SR.RNE
// (bit 2) says it holds data; CR0 and CPSR are written with CR1.SSE (bit 1) clear (PL022 2.5); MS
// is CR1 bit 2. PL061 IC (0x41C) is write-1-to-clear (PL061 3.1). PL080 channel 0's registers are
// 0x100..0x10C, its Configuration 0x110 with E in bit 0 (PL080 4.2, 4.3).
const SSP0 = 0x10005000;
const GPIO0 = 0x10006000;
const DMAC = 0x10130000;

/** Registers that read back what the test put in `values`, whatever is written. */
class Answers implements Device {
  readonly values = new Map<number, number>();
  read(offset: number): number {
    return this.values.get(offset) ?? 0;
  }
  write(): void {}
}

function sequenceFindings(run: (bus: Bus, uart: Answers, ssp: Answers, gpio: Answers) => void): string[] {
  const bus = new Bus();
  const uart = new Answers();
  const ssp = new Answers();
  const gpio = new Answers();
  bus.map({ name: "uart0", base: UART0, size: 0x1000, device: uart, map: PL011_MAP });
  bus.map({ name: "ssp0", base: SSP0, size: 0x1000, device: ssp, map: PL022_MAP });
  bus.map({ name: "gpio0", base: GPIO0, size: 0x1000, device: gpio, map: PL061_MAP });
  bus.map({ name: "dmac", base: DMAC, size: 0x1000, device: new Answers(), map: PL080_MAP });
  run(bus, uart, ssp, gpio);
  return lintTrace(bus.trace, bus.regions).map((f) => `#${f.seq} ${f.severity} ${f.rule}: ${f.message}`);
}

describe("rules over sequences of accesses", () => {
  it("w1c-read-modify-write: IC read, then written back with the bits that read as set", () => {
    expect(sequenceFindings((bus, _u, _s, gpio) => {
      gpio.values.set(0x41c, 0x06);
      bus.read(GPIO0 + 0x41c, 4);
      bus.write(GPIO0 + 0x41c, 0x06 | 0x01, 4);
    })).toEqual([
      "#0 error read-of-write-only: R32 gpio0+0x41c IC 0x00000006: IC is write-only, the value read is not defined (pl061 3.3.9)",
      "#1 error w1c-read-modify-write: W32 gpio0+0x41c IC 0x00000007: writes back bits 0x6 that read as set at #0: a read-modify-write of write-1-to-clear IC clears every source that was pending, not only those meant (pl061 3.3.9)",
    ]);
    // Even when the undefined read happens to return 0, the write still depends on it.
    expect(sequenceFindings((bus) => {
      bus.read(UART0 + 0x044, 4);
      bus.write(UART0 + 0x044, 0x10, 4);
    })[1]).toBe("#1 error w1c-read-modify-write: W32 uart0+0x044 ICR 0x00000010: follows a read of ICR at #0: a read-modify-write of a write-1-to-clear register, whose read value is not defined, may write back 1s and clear sources nobody serviced (pl011 3.3.13)");
    // Reading the status register and clearing what it showed is how a handler should do it.
    expect(sequenceFindings((bus, _u, _s, gpio) => {
      gpio.values.set(0x418, 0x06);
      bus.read(GPIO0 + 0x418, 4);
      bus.write(GPIO0 + 0x41c, 0x06, 4);
    })).toEqual([]);
  });

  it("unguarded-consuming-read: a DR read that no status read said had data", () => {
    expect(sequenceFindings((bus) => bus.read(UART0 + 0x000, 4))).toEqual([
      "#0 error unguarded-consuming-read: R32 uart0+0x000 DR 0x00000000: a read of DR consumes an entry, and no read of FR.RXFE = 0 since the previous DR read said there was one: the driver takes a value it did not know was there (pl011 3.3.1, 3.3.3)",
    ]);
    // FR with RXFE set (0x90): the FIFO is empty, so the DR read is unguarded too.
    expect(sequenceFindings((bus, uart) => {
      uart.values.set(0x018, 0x90);
      bus.read(UART0 + 0x018, 4);
      bus.read(UART0 + 0x000, 4);
    })).toHaveLength(1);
    // One FR read showing data allows one DR read; two identical DR reads are one line.
    expect(sequenceFindings((bus, uart) => {
      uart.values.set(0x018, 0x80);
      uart.values.set(0x000, 0x41);
      bus.read(UART0 + 0x018, 4);
      bus.read(UART0 + 0x000, 4);
      bus.read(UART0 + 0x018, 4);
      bus.read(UART0 + 0x000, 4);
      bus.read(UART0 + 0x000, 4);
    })).toEqual([
      "#3 error unguarded-consuming-read: R32 uart0+0x000 DR 0x00000041 x2: a read of DR consumes an entry, and only 1 of these 2 reads had a read of FR.RXFE = 0 since the previous DR read said there was one: the driver takes a value it did not know was there (pl011 3.3.1, 3.3.3)",
    ]);
    // PL022: SR.RNE set, then DR.
    expect(sequenceFindings((bus, _u, ssp) => {
      ssp.values.set(0x00c, 0x04);
      bus.read(SSP0 + 0x00c, 4);
      bus.read(SSP0 + 0x008, 4);
    })).toEqual([]);
    // DMA reads of DR are the board's wiring, not the driver's choice.
    expect(sequenceFindings((bus) => bus.masterRead(UART0 + 0x000, 4))).toEqual([]);
  });

  it("write-while-enabled: the divisor and line control of an enabled PL011", () => {
    expect(sequenceFindings((bus) => {
      bus.write(UART0 + 0x030, 0x301, 4);
      bus.write(UART0 + 0x024, 1, 4);
    })).toEqual([
      "#1 error write-while-enabled: W32 uart0+0x024 IBRD 0x00000001: IBRD written while CR.UARTEN = 1 (last seen 0x301); write it only while CR.UARTEN = 0 (pl011 3.3.7, 3.3.8)",
    ]);
    // The enable state seen in a read counts as much as one written.
    expect(sequenceFindings((bus, uart) => {
      uart.values.set(0x030, 0x301);
      bus.read(UART0 + 0x030, 4);
      bus.write(UART0 + 0x02c, 0x70, 4);
    })).toHaveLength(1);
    // After reset (CR 0x300, UARTEN clear), and after a disable, the writes are allowed.
    expect(sequenceFindings((bus) => {
      bus.write(UART0 + 0x024, 1, 4);
      bus.write(UART0 + 0x030, 0x301, 4);
      bus.write(UART0 + 0x030, 0x000, 4);
      bus.write(UART0 + 0x028, 5, 4);
      bus.write(UART0 + 0x02c, 0x70, 4);
    })).toEqual([]);
  });

  it("write-while-enabled: PL022 CR0 and CPSR while SSE is set; MS only when it changes", () => {
    expect(sequenceFindings((bus) => {
      bus.write(SSP0 + 0x004, 0x2, 4);
      bus.write(SSP0 + 0x000, 0x0b07, 4);
      bus.write(SSP0 + 0x004, 0x6, 4);
      bus.write(SSP0 + 0x004, 0x6, 4);
    })).toEqual([
      "#1 error write-while-enabled: W32 ssp0+0x000 CR0 0x00000b07: CR0 written while CR1.SSE = 1 (last seen 0x2); write it only while CR1.SSE = 0 (pl022 3.3.1; docs/primecell.md 2.5)",
      "#2 warning write-while-enabled: W32 ssp0+0x004 CR1 0x00000006: CR1.MS written while CR1.SSE = 1 (last seen 0x2); write it only while CR1.SSE = 0 (pl022 3.3.2, RP2040 text)",
    ]);
  });

  it("write-while-enabled: a PL080 channel reprogrammed while it runs (a warning)", () => {
    expect(sequenceFindings((bus) => {
      bus.write(DMAC + 0x110, 0x1, 4);
      bus.write(DMAC + 0x10c, 0x10, 4);
      bus.write(DMAC + 0x12c, 0x10, 4);
    })).toEqual([
      "#1 warning write-while-enabled: W32 dmac+0x10c C0Control 0x00000010: C0Control written while C0Configuration.E = 1 (last seen 0x1); write it only while C0Configuration.E = 0 (pl080 docs/primecell.md 4.6, start a channel)",
    ]);
  });

  it("keeps the state from before a range, and reports only inside it", () => {
    const bus = new Bus();
    bus.map({ name: "uart0", base: UART0, size: 0x1000, device: new Registers(), map: PL011_MAP });
    bus.write(UART0 + 0x030, 0x301, 4);
    bus.read(UART0 + 0x044, 4);
    bus.write(UART0 + 0x024, 1, 4);
    expect(lintTrace(bus.trace, bus.regions, { from: 2 }).map((f) => f.rule)).toEqual(["write-while-enabled"]);
  });

  it("applies to parsed trace files too", () => {
    const text = [
      "wasm-hal-trace 1",
      "region uart0 0x10009000 0x1000 pl011",
      "call pl011_read(0x10009000, 1024, 8)",
      "  R32 uart0+0x000 DR        0x00000041",
      "return 1",
    ].join("\n");
    expect(lintParsedTrace(parseTrace(text, "read.trace")).map((f) => f.rule)).toEqual(["unguarded-consuming-read"]);
  });

  it("names registers and fields every block map has", () => {
    // A table row that names something the map lacks is reported at the first lint of that block.
    for (const [block, rules] of Object.entries(SEQUENCE_RULES)) {
      expect(["pl011", "pl022", "pl061", "pl080"]).toContain(block);
      expect(rules.consumingReads.length + rules.enableGuards.length).toBeGreaterThan(0);
    }
    expect(() => sequenceFindings((bus) => {
      bus.write(UART0 + 0x030, 0, 4);
      bus.write(SSP0 + 0x004, 0, 4);
      bus.write(DMAC + 0x110, 0, 4);
    })).not.toThrow();
  });
});

describe("w1c-read-modify-write on a readable status register of a project's own block", () => {
  // A made-up block: STATUS holds two write-1-to-clear flags and reads back what is pending.
  const TIMER = parseRegisterMap({
    block: "tmr", size: "0x10",
    registers: [{ name: "STATUS", offset: "0x0", bits: 2, read: "value", write: "w1c", reset: "0x0", section: "2.4",
      fields: [{ name: "EXPIRED", bits: "0" }, { name: "OVERRUN", bits: "1" }] }],
  }, "tmr.json");
  const findings = (pending: number, written: number): string[] => {
    const bus = new Bus();
    const registers = new Registers();
    registers.values.set(0, pending);
    bus.map({ name: "t0", base: 0x4000_0000, size: 0x10, device: registers, map: TIMER });
    bus.read(0x4000_0000, 4);
    bus.write(0x4000_0000, written, 4);
    return lintTrace(bus.trace, bus.regions).map((f) => `${f.rule}: ${f.message}`);
  };

  it("is clean for the acknowledgement of the flag just read", () => {
    expect(findings(0b01, 0b01)).toEqual([]);
    expect(findings(0b11, 0b01)).toEqual([]); // one of two pending sources served
  });

  it("finds the value read written back when two sources were pending", () => {
    expect(findings(0b11, 0b11)).toEqual([
      "w1c-read-modify-write: W32 t0+0x000 STATUS 0x00000003: writes back bits 0x3 that read as set at #0: a read-modify-write of write-1-to-clear STATUS clears every source that was pending, not only those meant (tmr 2.4)",
    ]);
  });
});

describe("rules a project's map declares", () => {
  // A made-up UART-like block: DATA pops a FIFO (a read must follow a STAT read showing
  // RXNE = 1), and BAUD may be written only while CTRL.EN = 0.
  const map = {
    block: "myuart", size: "0x10",
    registers: [
      { name: "DATA", offset: "0x0", bits: 8, read: "consumes", write: "value", reset: null, fields: [{ name: "BYTE", bits: "7:0" }] },
      { name: "STAT", offset: "0x4", bits: 1, read: "value", write: "ignored", reset: "0x0", fields: [{ name: "RXNE", bits: "0" }] },
      { name: "CTRL", offset: "0x8", bits: 1, read: "value", write: "value", reset: "0x0", fields: [{ name: "EN", bits: "0" }] },
      { name: "BAUD", offset: "0xC", bits: 16, read: "value", write: "value", reset: "0x0" },
    ],
    rules: {
      consumingReads: [{ register: "DATA", guard: { register: "STAT", field: "RXNE", value: 1 }, section: "4.1" }],
      enableGuards: [{ registers: ["BAUD"], enable: { register: "CTRL", field: "EN" }, section: "4.3" }],
    },
  };
  const lintOf = (run: (bus: Bus, base: number) => void): string[] => {
    const bus = new Bus();
    const registers = new Registers();
    bus.map({ name: "u0", base: 0x5000_0000, size: 0x10, device: registers, map: parseRegisterMap(map, "myuart.json") });
    run(bus, 0x5000_0000);
    return lintTrace(bus.trace, bus.regions).map((f) => `${f.severity} ${f.rule}: ${f.message}`);
  };

  it("finds a write while enabled and an unguarded consuming read, citing the map's sections", () => {
    expect(lintOf((bus, base) => {
      bus.write(base + 0x8, 1, 4); // CTRL.EN = 1
      bus.write(base + 0xc, 26, 4); // BAUD while enabled
      bus.read(base + 0x0, 4); // DATA without a STAT read
    })).toEqual([
      "error write-while-enabled: W32 u0+0x00c BAUD 0x0000001a: BAUD written while CTRL.EN = 1 (last seen 0x1); write it only while CTRL.EN = 0 (myuart 4.3)",
      expect.stringMatching(/^error unguarded-consuming-read: R32 u0\+0x000 DATA 0x00000000: .*STAT\.RXNE.*\(myuart 4\.1\)$/),
    ]);
  });

  it("is clean for the order the rules ask for", () => {
    expect(lintOf((bus, base) => {
      bus.write(base + 0xc, 26, 4);
      bus.write(base + 0x8, 1, 4);
      (bus.region("u0").device as Registers).values.set(0x4, 1);
      bus.read(base + 0x4, 4);
      bus.read(base + 0x0, 4);
    })).toEqual([]);
  });

  it("refuses a rule naming a register the map does not have, by its JSON path", () => {
    const bad = { ...map, rules: { enableGuards: [{ registers: ["BUAD"], enable: { register: "CTRL", field: "EN" } }] } };
    expect(() => parseRegisterMap(bad, "myuart.json")).toThrow("myuart.json: rules.enableGuards[0].registers[0]: no register BUAD in this map (registers: DATA, STAT, CTRL, BAUD)");
  });
});

describe("rules for flags that clear by writing 0, and for a set/reset register (STM32F4 maps)", () => {
  // RM0090 30.6.1: USART SR's CTS (bit 9), LBD (8), TC (6) and RXNE (5) are rc_w0. RM0090 8.4.6,
  // 8.4.7: GPIO ODR at 0x14, BSRR at 0x18 sets (bits 15:0) and resets (31:16) ODR bits in one write.
  const USART1 = 0x40011000;
  const GPIOA = 0x40020000;
  function stm32(run: (bus: Bus) => void): string[] {
    const bus = new Bus();
    bus.map({ name: "usart1", base: USART1, size: 0x400, device: new Registers(), map: USART_MAP });
    bus.map({ name: "gpioa", base: GPIOA, size: 0x400, device: new Registers(), map: GPIO_MAP });
    run(bus);
    return lintTrace(bus.trace, bus.regions).map((f) => `#${f.seq} ${f.severity} ${f.rule}: ${f.message}`);
  }
  /** A register file whose next read of `offset` returns `value`. */
  const answer = (bus: Bus, offset: number, value: number, base = USART1): void => {
    bus.write(base + offset, value, 4);
    bus.trace.clear();
  };

  it("w0c-read-modify-write: SR &= ~TC writes 0 to RXNE, CTS and LBD, which read as 0", () => {
    expect(stm32((bus) => {
      answer(bus, 0x00, 0xc0); // TXE and TC set, RXNE clear
      const sr = bus.read(USART1 + 0x00, 4);
      bus.write(USART1 + 0x00, sr & ~0x40, 4);
    })).toEqual([
      "#1 error w0c-read-modify-write: W32 usart1+0x000 SR 0x00000080: writes 0 to CTS, LBD, RXNE, read as 0 at #0: a read-modify-write of SR, whose flags clear by writing 0, clears a flag that sets between the read and the write; write 1 to every flag not meant to be cleared (usart 30.6.1)",
    ]);
  });

  it("w0c-read-modify-write: SR = ~TC after reading SR clears TC alone, as RM0090 30.6.1 says to", () => {
    expect(stm32((bus) => {
      answer(bus, 0x00, 0xc0);
      bus.read(USART1 + 0x00, 4);
      bus.write(USART1 + 0x00, ~0x40 & 0x3ff, 4);
    })).toEqual([]);
    // No read before it: nothing was written back.
    expect(stm32((bus) => bus.write(USART1 + 0x00, 0x3bf, 4))).toEqual([]);
  });

  it("w0c-read-modify-write: SR = ~TC is the idiom even when every other flag read as 1 (the fuzzer's case: RXNE, LBD and CTS set, TC clear)", () => {
    expect(stm32((bus) => {
      answer(bus, 0x00, 0x3a9);
      bus.read(USART1 + 0x00, 4);
      bus.write(USART1 + 0x00, ~0x40 >>> 0, 4);
    })).toEqual([]);
    // The read-modify-write of that same value is still one: it writes back only what it read.
    expect(stm32((bus) => {
      answer(bus, 0x00, 0x3a9);
      const sr = bus.read(USART1 + 0x00, 4);
      bus.write(USART1 + 0x00, sr & ~0x20, 4);
    })).toEqual([
      "#1 error w0c-read-modify-write: W32 usart1+0x000 SR 0x00000389: writes 0 to TC, read as 0 at #0: a read-modify-write of SR, whose flags clear by writing 0, clears a flag that sets between the read and the write; write 1 to every flag not meant to be cleared (usart 30.6.1)",
    ]);
  });

  it("set-reset-read-modify-write: toggling a pin by ODR ^= 1 instead of one BSRR write", () => {
    expect(stm32((bus) => {
      answer(bus, 0x14, 0x0001, GPIOA);
      const odr = bus.read(GPIOA + 0x14, 4);
      bus.write(GPIOA + 0x14, odr ^ 0x20, 4);
    })).toEqual([
      "#1 error set-reset-read-modify-write: W32 gpioa+0x014 ODR 0x00000021: writes back ODR read at #0: a read-modify-write undoes what another context changes between the read and the write; set and clear bits through BSRR in one write (gpio RM0090 8.3.5, 8.4.7 (BSRR sets and resets ODR bits in one write, so no read-modify-write of ODR is needed))",
    ]);
  });

  it("set-reset-read-modify-write: a read of ODR then one BSRR write (a toggle done right), and a plain ODR write", () => {
    expect(stm32((bus) => {
      answer(bus, 0x14, 0x0001, GPIOA);
      bus.read(GPIOA + 0x14, 4);
      bus.write(GPIOA + 0x18, 0x0001_0020, 4); // reset pin 0, set pin 5
      bus.write(GPIOA + 0x14, 0x0000, 4); // a later plain write: the read was for BSRR
    })).toEqual([]);
  });

  it("a map's setReset rule must name registers of the map", () => {
    const map = { block: "port", title: "t", size: "0x400", widths: [4], registers: [{ name: "ODR", offset: "0x14", bits: 16, read: "value", write: "value", reset: "0x0", doc: "out" }], rules: { setReset: [{ register: "ODR", through: "BSRX" }] } };
    expect(() => parseRegisterMap(map, "port.json")).toThrow("port.json: rules.setReset[0].through: no register BSRX in this map (registers: ODR)");
  });
});

describe("reserved bits in a write that clears one rc_w0 flag", () => {
  it("SR = ~TC (all other bits 1, reserved ones included) is the idiom, not a stray write; SR = 0x400 is", () => {
    const bus = new Bus();
    bus.map({ name: "usart1", base: 0x40011000, size: 0x400, device: new Registers(), map: USART_MAP });
    bus.write(0x40011000, ~0x40 >>> 0, 4);
    bus.write(0x40011000, 0x400, 4);
    expect(lintTrace(bus.trace, bus.regions).map((f) => `#${f.seq} ${f.rule}`)).toEqual(["#1 reserved-bits"]);
  });
});
