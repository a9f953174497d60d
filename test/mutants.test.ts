// The mutation generator of bench/mutants.ts (bench/mutants-gen.ts): on small snippets, exactly
// the mutants each operator should make, and nothing in comments, strings, shifts, arrows, type
// arguments or import lines. No building and no fuzzing here: bench/mutants.ts does those.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyMutation, codeLines, formatLiteral, mutationSnippet, mutationsOf, pickMutants, type Mutation } from "../bench/mutants-gen.js";
import { packageRoot } from "../harness/hal.js";

/** The mutants of `source` as `line:column operator before→after`, the easiest form to compare. */
function listed(source: string): string[] {
  return mutationsOf(source).map((m) => `${m.line}:${m.column} ${m.operator} ${m.before}→${m.after}`);
}

/** Every mutant of `source` applied, one at a time: the mutated texts. */
function applied(source: string): string[] {
  return mutationsOf(source).map((m) => applyMutation(source, m));
}

describe("relational operators and literals", () => {
  it("mutates `if (x < 3)` into <= and the literal into 2 and 4, in column order", () => {
    expect(listed("if (x < 3) y();")).toEqual([
      "1:7 relational <→<=",
      "1:9 literal 3→2",
      "1:9 literal 3→4",
    ]);
    expect(applied("if (x < 3) y();")).toEqual(["if (x <= 3) y();", "if (x < 2) y();", "if (x < 4) y();"]);
  });

  it("gives each comparison its neighbour", () => {
    expect(listed("a <= b; a > b; a >= b; a == b; a != b;").map((l) => l.split(" ").slice(1).join(" "))).toEqual([
      "relational <=→<",
      "relational >→>=",
      "relational >=→>",
      "relational ==→!=",
      "relational !=→==",
    ]);
  });

  it("leaves shifts, arrows, type arguments and casts alone", () => {
    expect(listed("x = a << b;")).toEqual([]);
    expect(listed("x = a >> b; y = a >>> b; z <<= b; w >>= b;")).toEqual([]);
    expect(listed("const f = (a: u32) => a;")).toEqual([]);
    expect(listed("const v = load<u32>(p);")).toEqual([]);
    expect(listed("store<u8>(p, <u8>v);")).toEqual(["1:1 delete-call store<u8>(p, <u8>v);→"]);
    expect(listed("const d = (<u64>clk << 2) / <u64>baud;")).toEqual(["1:24 literal 2→1", "1:24 literal 2→3"]);
  });

  it("reads literals in hex in their own notation and never inside a name", () => {
    expect(listed("x = read32(a) & 0x7FF;")).toEqual([
      "1:15 bitwise &→|",
      "1:17 literal 0x7FF→0x7FE",
      "1:17 literal 0x7FF→0x800",
    ]);
    expect(listed("y = STM32_DMA2 + u32_max;")).toEqual([]);
    expect(formatLiteral(0xfe, "0xff")).toBe("0xfe");
    expect(formatLiteral(0xfe, "0x00FF")).toBe("0x00FE");
    expect(formatLiteral(999_999, "1_000_000")).toBe("999999");
  });

  it("turns 0 into 1 only", () => {
    expect(listed("let n: u32 = 0;")).toEqual(["1:14 literal 0→1"]);
  });
});

describe("bitwise and logical operators", () => {
  it("swaps & and | (and &=, |=) but never && or ||", () => {
    expect(listed("a = b & c | d; e |= f; g &= h;")).toEqual([
      "1:7 bitwise &→|",
      "1:11 bitwise |→&",
      "1:18 bitwise |=→&=",
      "1:26 bitwise &=→|=",
    ]);
  });

  it("swaps && and ||", () => {
    expect(listed("if (a && b || c) return;")).toEqual([
      "1:7 logical &&→||",
      "1:12 logical ||→&&",
    ]);
  });
});

describe("comments, strings and declarations", () => {
  it("leaves comment lines, trailing comments and block comments alone", () => {
    const source = [
      "// if (a < 1) b();",
      "/** a < 1 && b",
      " *  c | 2 */",
      "x = y; // z < 3",
      "w = /* 4 & */ v;",
    ].join("\n");
    expect(listed(source)).toEqual([]);
  });

  it("leaves string literals alone", () => {
    expect(listed("const s = \"a < 1 && b\";")).toEqual([]);
  });

  it("skips import and re-export declarations, also when they span lines", () => {
    const source = [
      "import { a, b } from \"./x\";",
      "import {",
      "  PL011_DR, PL011_FR,",
      "} from \"./generated/pl011\";",
      "export { c } from \"./y\";",
      "export * from \"./z\";",
      "export function f(x: u32): i32 { return x < 1 ? 1 : 0; }",
    ].join("\n");
    expect(listed(source)).toEqual([
      "7:43 relational <→<=",
      "7:45 literal 1→0",
      "7:45 literal 1→2",
      "7:49 literal 1→0",
      "7:49 literal 1→2",
      "7:53 literal 0→1",
    ]);
  });

  it("blanks comments column for column", () => {
    expect(codeLines("a < b; // c\n/* d */ e")).toEqual(["a < b;     ", "        e"]);
  });
});

describe("deleting a call statement", () => {
  it("deletes a line that is one call statement, keeping its trailing comment", () => {
    const source = [
      "function f(base: u32): void {",
      "  write32(base + CR, 1); // enable",
      "  dsb();",
      "}",
    ].join("\n");
    const deletions = mutationsOf(source).filter((m) => m.operator === "delete-call");
    expect(deletions.map((m) => `${m.line}:${m.column} ${m.before}`)).toEqual(["2:3 write32(base + CR, 1);", "3:3 dsb();"]);
    expect(applyMutation(source, deletions[0]!)).toBe(["function f(base: u32): void {", "   // enable", "  dsb();", "}"].join("\n"));
    expect(applyMutation(source, deletions[1]!)).toBe(["function f(base: u32): void {", "  write32(base + CR, 1); // enable", "", "}"].join("\n"));
  });

  it("does not delete the body of an unbraced if, an expression, or a statement that is not a call", () => {
    const source = [
      "{",
      "  if (ready)",
      "    dsb();",
      "  f(a) + g(b);",
      "  x = f(a);",
      "  return f(a);",
      "  i++;",
      "}",
    ].join("\n");
    expect(mutationsOf(source).filter((m) => m.operator === "delete-call")).toEqual([]);
  });
});

describe("returned constants", () => {
  it("makes an error return claim success, and flips returned booleans", () => {
    expect(listed("if (bad) return ERR_TIMEOUT;\nreturn true;\nreturn false;\nreturn OK;")).toEqual([
      "1:17 return-ok ERR_TIMEOUT→OK",
      "2:8 return-bool true→false",
      "3:8 return-bool false→true",
    ]);
  });
});

describe("applying, showing and choosing mutants", () => {
  it("refuses a mutation whose site does not hold its text", () => {
    const wrong: Mutation = { line: 1, column: 3, operator: "relational", before: "<", after: "<=" };
    expect(() => applyMutation("a > b", wrong)).toThrow(/does not hold "<"/);
  });

  it("shows the changed line before and after, cut around the site when long", () => {
    const source = "  if (x < 3) y();";
    expect(mutationSnippet(source, mutationsOf(source)[0]!)).toEqual({ before: "if (x < 3) y();", after: "if (x <= 3) y();" });
    const long = `  const value = ${"a + ".repeat(30)}b < c;`;
    const snippet = mutationSnippet(long, mutationsOf(long)[0]!, 20);
    // The same cut on both sides, and the window ends at the end of the longer line.
    expect(snippet).toEqual({ before: "… a + a + a + b < c;", after: "… a + a + a + b <= c;" });
  });

  it("enumerates the same mutants every time, and a seeded choice is the same for the same seed", () => {
    const source = readFileSync(join(packageRoot(), "assembly", "pl011.ts"), "utf8");
    const first = mutationsOf(source);
    expect(mutationsOf(source)).toEqual(first);
    // Line, then column order.
    for (let i = 1; i < first.length; i++) {
      const a = first[i - 1]!;
      const b = first[i]!;
      expect(a.line < b.line || (a.line === b.line && a.column <= b.column)).toBe(true);
    }
    const chosen = pickMutants(first, 10, 1);
    expect(chosen).toHaveLength(10);
    expect(pickMutants(first, 10, 1)).toEqual(chosen);
    expect(pickMutants(first, 10, 2)).not.toEqual(chosen);
    // Kept in enumeration order.
    const indices = chosen.map((m) => first.indexOf(m));
    expect([...indices].sort((a, b) => a - b)).toEqual(indices);
    expect(pickMutants(first, first.length + 5, 1)).toEqual(first);
  });

  it("makes mutants of every shipped driver that apply cleanly", () => {
    for (const file of ["pl011.ts", "pl022.ts", "pl061.ts", "pl080.ts", "stm32f4/usart.ts", "stm32f4/spi.ts", "stm32f4/dma.ts", "stm32f4/gpio.ts", "stm32f4/rcc.ts"]) {
      const source = readFileSync(join(packageRoot(), "assembly", file), "utf8");
      const mutations = mutationsOf(source);
      expect(mutations.length, file).toBeGreaterThan(20);
      for (const m of mutations) expect(applyMutation(source, m), `${file}:${m.line}:${m.column}`).not.toBe(source);
    }
  });
});
