// The mutation generator of bench/mutants.ts: mechanically made one-change variants of a driver's
// AssemblyScript source, so that the fuzzer is measured on bugs nobody here wrote (the zoo's are
// ours, and biased towards what we already knew to look for). Pure functions of the source
// text: no files, no compiler; test/mutants.test.ts checks them on small snippets.
//
// The source is read line by line. Comments and string literals are blanked out first (a block
// comment may span lines), and the lines of import and re-export declarations are skipped, so
// only code is mutated. Each mutation is one change at one site:
//
//   relational   <  <=  >  >=  ==  !=  (=== and !== too) each to its neighbour: < to <=, <= to
//                <, > to >=, >= to >, == to !=, != to ==. Shifts (<<, >>, >>>), arrows (=>) and
//                type arguments (<u32>x, load<u8>(p)) are not comparisons and are left alone.
//   literal      an integer literal (decimal or hex, not part of an identifier such as read32)
//                minus one and plus one; 0 only gives 1, since a negative literal would be a
//                different kind of change (a u32 that no longer fits).
//   bitwise      & to | and | to & (also &= and |=), never && or ||.
//   logical      && to || and || to &&.
//   delete-call  a line that is one call statement (write32(...);, dsb();, store<u8>(...);)
//                removed, unless the line before it opens an unbraced body (if (...) on its
//                own line), where removing it would hand the body to the next statement.
//   return-ok    return ERR_X; to return OK;: an error path that claims success.
//   return-bool  return true; to return false; and back (the drivers' wait helpers).
//
// Mutations come in line order, then column order; at one column in the order above (a literal's
// minus one before its plus one).

export type MutationOperator = "relational" | "literal" | "bitwise" | "logical" | "delete-call" | "return-ok" | "return-bool";

export const MUTATION_OPERATORS: readonly MutationOperator[] = ["relational", "literal", "bitwise", "logical", "delete-call", "return-ok", "return-bool"];

/** One change at one site of a source text. */
export interface Mutation {
  /** 1-based line of the change. */
  readonly line: number;
  /** 1-based column where `before` starts on that line. */
  readonly column: number;
  readonly operator: MutationOperator;
  /** The text replaced, exactly as it is in the source. */
  readonly before: string;
  /** What replaces it ("" for a deleted statement). */
  readonly after: string;
}

/** Operator tokens, longest first, so that `<<=` is never read as `<` and `<=`. Only the
 * relational, bitwise and logical ones are mutated; the others are read so as to be skipped. */
const OPERATOR_TOKENS: readonly string[] = [
  ">>>=", "===", "!==", ">>>", "<<=", ">>=", "&&=", "||=", "**=",
  "==", "!=", "<=", ">=", "<<", ">>", "=>", "&&", "||", "&=", "|=", "**",
  "<", ">", "&", "|",
];

const RELATIONAL: Readonly<Record<string, string>> = {
  "<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "===": "!==", "!==": "===",
};
const BITWISE: Readonly<Record<string, string>> = { "&": "|", "|": "&", "&=": "|=", "|=": "&=" };
const LOGICAL: Readonly<Record<string, string>> = { "&&": "||", "||": "&&" };

/** Type arguments of a generic call or a cast (`load<u8>(p)`, `<u32>x`, `<u32, u32>`): written
 * with no space after `<` or before `>`, where the drivers' comparisons always have spaces. */
const TYPE_ARGUMENTS = /^<[A-Za-z_$][\w$]*(?:\s*,\s*[A-Za-z_$][\w$]*)*>/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*/;
/** A numeric literal: hex, binary, octal or decimal (with a fraction or exponent: a float). */
const NUMBER = /^(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)/;
/** A call statement: a (dotted) name, optional type arguments, then its argument list. */
const CALL_START = /^([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?:<[\w$\s,]*>)?\s*\(/;
/** Keywords that look like a call when followed by a parenthesis. */
const NOT_CALLS = new Set(["if", "for", "while", "switch", "return", "catch", "function", "typeof", "new", "delete", "void"]);

/**
 * The source's lines with comments and string literals replaced by spaces, column for column, so
 * that everything found in them is code. A block comment may span lines; a string may not (the
 * drivers have none that do).
 */
export function codeLines(source: string): string[] {
  const lines = source.split("\n");
  const out: string[] = [];
  let inBlockComment = false;
  for (const line of lines) {
    let code = "";
    let i = 0;
    while (i < line.length) {
      if (inBlockComment) {
        const end = line.indexOf("*/", i);
        const stop = end < 0 ? line.length : end + 2;
        code += " ".repeat(stop - i);
        i = stop;
        if (end >= 0) inBlockComment = false;
        continue;
      }
      const c = line[i]!;
      if (c === "/" && line[i + 1] === "/") {
        code += " ".repeat(line.length - i);
        break;
      }
      if (c === "/" && line[i + 1] === "*") {
        inBlockComment = true;
        code += "  ";
        i += 2;
        continue;
      }
      if (c === "\"" || c === "'" || c === "`") {
        const stop = stringEnd(line, i);
        code += " ".repeat(stop - i);
        i = stop;
        continue;
      }
      code += c;
      i++;
    }
    out.push(code);
  }
  return out;
}

/** The index just after the string literal opening at `start` (the line's end if unclosed). */
function stringEnd(line: string, start: number): number {
  const quote = line[start];
  for (let i = start + 1; i < line.length; i++) {
    if (line[i] === "\\") i++;
    else if (line[i] === quote) return i + 1;
  }
  return line.length;
}

/**
 * For each line, whether it belongs to an import or re-export declaration (`import {...} from`,
 * `export {...} from`, `export * from`), which may span lines up to its semicolon. Those name
 * things; mutating them only breaks the build.
 */
export function declarationLines(code: readonly string[]): boolean[] {
  const skip: boolean[] = [];
  let inside = false;
  for (const line of code) {
    const trimmed = line.trim();
    if (!inside && /^(?:import\b|export\s*[{*])/.test(trimmed)) inside = true;
    skip.push(inside);
    if (inside && trimmed.includes(";")) inside = false;
  }
  return skip;
}

/** Every mutation of `source`, in line, then column order. */
export function mutationsOf(source: string): Mutation[] {
  const original = source.split("\n");
  const code = codeLines(source);
  const skipped = declarationLines(code);
  const mutations: Mutation[] = [];
  for (let index = 0; index < code.length; index++) {
    if (skipped[index]) continue;
    const line = index + 1;
    const onLine: { at: number; order: number; mutation: Mutation }[] = [];
    const add = (at: number, operator: MutationOperator, before: string, after: string): void => {
      onLine.push({ at, order: onLine.length, mutation: { line, column: at + 1, operator, before, after } });
    };
    operatorAndLiteralSites(code[index]!, add);
    returnSites(code[index]!, add);
    const call = callStatementAt(code, index);
    if (call !== null) add(call.at, "delete-call", original[index]!.slice(call.at, call.at + call.length), "");
    // Column order; at one column, the order of the operators' list, then as found.
    onLine.sort((a, b) => a.at - b.at || MUTATION_OPERATORS.indexOf(a.mutation.operator) - MUTATION_OPERATORS.indexOf(b.mutation.operator) || a.order - b.order);
    for (const m of onLine) mutations.push(m.mutation);
  }
  return mutations;
}

type AddMutation = (at: number, operator: MutationOperator, before: string, after: string) => void;

/** The relational, bitwise, logical and literal sites of one line of code. */
function operatorAndLiteralSites(code: string, add: AddMutation): void {
  let i = 0;
  while (i < code.length) {
    const rest = code.slice(i);
    // A whole name at once, so that the digits of read32 or STM32_DMA are never a literal.
    const name = IDENTIFIER.exec(rest);
    if (name !== null) {
      i += name[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number !== null) {
      if (code[i - 1] !== ".") literalSites(number[0], i, add);
      i += number[0].length;
      continue;
    }
    if (code[i] === "<") {
      const typeArguments = TYPE_ARGUMENTS.exec(rest);
      if (typeArguments !== null) {
        i += typeArguments[0].length;
        continue;
      }
    }
    const token = OPERATOR_TOKENS.find((t) => rest.startsWith(t));
    if (token === undefined) {
      i++;
      continue;
    }
    const relational = RELATIONAL[token];
    const bitwise = BITWISE[token];
    const logical = LOGICAL[token];
    if (relational !== undefined) add(i, "relational", token, relational);
    else if (bitwise !== undefined) add(i, "bitwise", token, bitwise);
    else if (logical !== undefined) add(i, "logical", token, logical);
    i += token.length;
  }
}

/** The literal's value minus one (when not 0) and plus one, written the way it was. */
function literalSites(text: string, at: number, add: AddMutation): void {
  const hex = /^0[xX]/.test(text);
  // Binary, octal and float literals: not used by the drivers, left alone.
  if (!hex && !/^\d[\d_]*$/.test(text)) return;
  const digits = (hex ? text.slice(2) : text).replace(/_/g, "");
  const value = hex ? parseInt(digits, 16) : parseInt(digits, 10);
  if (!Number.isSafeInteger(value + 1)) return;
  if (value > 0) add(at, "literal", text, formatLiteral(value - 1, text));
  add(at, "literal", text, formatLiteral(value + 1, text));
}

/** `value` in the notation of `like`: hex with its prefix and letter case, and its leading zeros
 * kept when it had any (0x00FF to 0x00FE); decimal plain (1_000_000 to 999999). */
export function formatLiteral(value: number, like: string): string {
  if (!/^0[xX]/.test(like)) return String(value);
  const digits = like.slice(2).replace(/_/g, "");
  let text = value.toString(16);
  if (!/[a-f]/.test(digits)) text = text.toUpperCase();
  if (digits.startsWith("0")) text = text.padStart(digits.length, "0");
  return like.slice(0, 2) + text;
}

/** The return-ok and return-bool sites of one line of code. */
function returnSites(code: string, add: AddMutation): void {
  for (const m of code.matchAll(/\breturn\s+(ERR_[A-Z0-9_]+|true|false)\s*;/g)) {
    const value = m[1]!;
    const at = m.index + m[0].indexOf(value, "return".length);
    if (value === "true") add(at, "return-bool", value, "false");
    else if (value === "false") add(at, "return-bool", value, "true");
    else add(at, "return-ok", value, "OK");
  }
}

/**
 * Where the call statement that makes up line `index` starts and how long it is (up to and with
 * its semicolon), or null when the line is not exactly one call statement, or when removing it
 * could change what the code around it means: the code line before it, if any, must end a
 * statement or a block (`;`, `{` or `}`), not open an unbraced body or continue an expression.
 */
function callStatementAt(code: readonly string[], index: number): { at: number; length: number } | null {
  const line = code[index]!;
  const trimmed = line.trim();
  const call = CALL_START.exec(trimmed);
  if (call === null || NOT_CALLS.has(call[1]!) || !trimmed.endsWith(");")) return null;
  // The parenthesis opened after the name must be the one closed before the semicolon:
  // `f(a) + g(b);` is an expression, not one call.
  if (closingParenthesis(trimmed, call[0].length - 1) !== trimmed.length - 2) return null;
  let before = index - 1;
  while (before >= 0 && code[before]!.trim() === "") before--;
  if (before >= 0 && !/[;{}]$/.test(code[before]!.trim())) return null;
  return { at: line.length - line.trimStart().length, length: trimmed.length };
}

/** The index of the parenthesis that closes the one at `open`, or -1. */
function closingParenthesis(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return i;
  }
  return -1;
}

/** `source` with `mutation` applied. Throws when the text at its site is not its `before`. */
export function applyMutation(source: string, mutation: Mutation): string {
  const lines = source.split("\n");
  const text = lines[mutation.line - 1];
  const at = mutation.column - 1;
  if (text === undefined || text.slice(at, at + mutation.before.length) !== mutation.before) {
    throw new Error(`line ${mutation.line} column ${mutation.column} does not hold ${JSON.stringify(mutation.before)}`);
  }
  const changed = text.slice(0, at) + mutation.after + text.slice(at + mutation.before.length);
  // A deleted statement leaves no trailing blanks behind.
  lines[mutation.line - 1] = mutation.after === "" && changed.trim() === "" ? "" : changed;
  return lines.join("\n");
}

/**
 * The changed line before and after, trimmed, as a window of at most `width` characters around
 * the site when the line is longer (cut ends marked with …, the same cut on both sides): what a
 * report shows of a mutant.
 */
export function mutationSnippet(source: string, mutation: Mutation, width = 72): { before: string; after: string } {
  const line = source.split("\n")[mutation.line - 1] ?? "";
  const changed = applyMutation(line, { ...mutation, line: 1 });
  const indent = line.length - line.trimStart().length;
  const before = line.trim();
  const after = changed.trim();
  if (after === "") return { before: windowOf(before, 0, width), after: "(line deleted)" };
  const longest = Math.max(before.length, after.length);
  // The window starts a third of its width before the site, and never runs past the longer end.
  const site = mutation.column - 1 - indent;
  const start = longest <= width ? 0 : Math.max(0, Math.min(site - Math.floor(width / 3), longest - width));
  return { before: windowOf(before, start, width), after: windowOf(after, start, width) };
}

/** `width` characters of `text` from `start`, with … where it was cut. */
function windowOf(text: string, start: number, width: number): string {
  const end = Math.min(text.length, start + width);
  return (start > 0 ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : "");
}

/** A 32-bit pseudo-random generator from a seed (mulberry32): the same seed, the same sequence. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/**
 * `max` of `items` chosen by a shuffle seeded with `seed` (Fisher-Yates), returned in their
 * original order; all of them when `max` is not below their number. The same seed and list
 * always give the same choice.
 */
export function pickMutants<T>(items: readonly T[], max: number, seed: number): T[] {
  if (max >= items.length) return [...items];
  const random = seededRandom(seed);
  const order = items.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, Math.max(0, max)).sort((a, b) => a - b).map((i) => items[i]!);
}
