import { describe, expect, it } from "vitest";
import { Bus, BusFault, type Device } from "../harness/bus.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { parseTrace } from "../harness/trace-text.js";
import { lintTrace, lintParsedTrace, lintReport, expectLintClean, LintError, type LintFinding } from "../harness/lint.js";

// Register facts from PRIMECELL.md section 1 (PL011 TRM 3.3): FR, RIS, MIS and the ID registers
// are read-only, ICR is write-only (write 1 to clear), RSR/ECR clears on any write, 0x04C-0x07C
// is reserved, 0x080-0x08C are integration-test registers, every register takes 32-bit accesses.

class Registers implements Device {
  readonly values = new Map<number, number>();
  read(offset: number): number {
    return this.values.get(offset) ?? 0;
  }
  write(offset: number, value: number): void {
    this.values.set(offset, value);
  }
}

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
    expect(findings((bus) => { bus.write(UART0 + 0x030, 0xff87, 4); bus.write(UART0 + 0x028, 0x3f, 4); })).toEqual([]);
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
