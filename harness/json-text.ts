// Reading JSON files people write: a byte-order mark is accepted, and a syntax error names the
// file, line and column with a short excerpt of the line (never the whole file).

/** A JSON value as JSON.parse returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON file that does not parse, or a value in it that is not what was expected. */
export class JsonFileError extends Error {
  constructor(readonly fileName: string, readonly where: string, readonly problem: string) {
    super(`${fileName}: ${where === "" ? "" : `${where}: `}${problem}`);
    this.name = "JsonFileError";
  }
}

/** At most `max` characters of a text for a message, with an ellipsis where it was cut. */
export function excerpt(text: string, max = 60): string {
  const oneLine = text.replace(/\s+/g, " ");
  return oneLine.length <= max ? oneLine : oneLine.slice(0, max - 1) + "…";
}

/** Line and column (both from 1) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Parses JSON text; a syntax error becomes a JsonFileError with `line L, column C`. */
export function parseJsonText(text: string, fileName: string): Json {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body) as Json;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(message);
    const offset = m === null ? firstErrorOffset(body) : Number(m[1]);
    const { line, column } = lineColumn(body, offset);
    const lineText = body.split("\n")[line - 1] ?? "";
    // V8 quotes the input in some messages ("…" is not valid JSON): keep only the first clause.
    const what = message.replace(/ in JSON at position \d+.*$/, "").replace(/ JSON at position \d+.*$/, " the JSON").replace(/, ".*$/s, "");
    throw new JsonFileError(fileName, `line ${line}, column ${column}`, `invalid JSON (${excerpt(what, 80)}) near ${JSON.stringify(excerpt(lineText.trim()))}`);
  }
}

const WHITESPACE = /[ \t\n\r]*/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERAL = /true|false|null/y;

/**
 * The offset of the first syntax error in a text JSON.parse refused, for the messages in which
 * V8 gives no position. A scan of tokens and nesting, not a parser: it finds where, not what.
 */
function firstErrorOffset(text: string): number {
  let at = 0;
  const skip = (): void => {
    WHITESPACE.lastIndex = at;
    WHITESPACE.exec(text);
    at = WHITESPACE.lastIndex;
  };
  const token = (re: RegExp): boolean => {
    re.lastIndex = at;
    if (re.exec(text) === null) return false;
    at = re.lastIndex;
    return true;
  };
  // Each frame: the container and what it expects next.
  const stack: { kind: "{" | "["; expect: "key-or-end" | "key" | "colon" | "value" | "comma-or-end" | "value-or-end" }[] = [];
  let topExpect: "value" | "end" = "value";
  /** A container ends: what holds it now expects a comma or its own end. */
  const close = (): void => {
    at++;
    stack.pop();
    const outer = stack[stack.length - 1];
    if (outer === undefined) topExpect = "end";
    else outer.expect = "comma-or-end";
  };
  for (;;) {
    skip();
    if (at >= text.length) return at;
    const frame = stack[stack.length - 1];
    const want = frame === undefined ? topExpect : frame.expect;
    const c = text[at];
    if (want === "end") return at;
    if (want === "colon") {
      if (c !== ":") return at;
      at++;
      frame!.expect = "value";
      continue;
    }
    if (want === "comma-or-end") {
      if (c === ",") {
        at++;
        frame!.expect = frame!.kind === "{" ? "key" : "value";
      } else if ((c === "}" && frame!.kind === "{") || (c === "]" && frame!.kind === "[")) {
        close();
      } else return at;
      continue;
    }
    if (want === "key" || want === "key-or-end") {
      if (want === "key-or-end" && c === "}") {
        close();
        continue;
      }
      if (!token(STRING)) return at;
      frame!.expect = "colon";
      continue;
    }
    // A value.
    if (want === "value-or-end" && c === "]") {
      close();
      continue;
    }
    if (c === "{" || c === "[") {
      at++;
      if (frame !== undefined) frame.expect = "comma-or-end";
      else topExpect = "end";
      stack.push({ kind: c, expect: c === "{" ? "key-or-end" : "value-or-end" });
      continue;
    }
    if (!token(STRING) && !token(NUMBER) && !token(LITERAL)) return at;
    if (frame !== undefined) frame.expect = "comma-or-end";
    else topExpect = "end";
  }
}
