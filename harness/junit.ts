// JUnit XML reports, the form CI systems display (GitHub Actions test reporters, GitLab's
// `artifacts:reports:junit`, Jenkins' junit step): `<testsuites>` holding `<testsuite>`s of
// `<testcase>`s, each passing or holding one `<failure>`, `<error>` or `<skipped>`. `wasm-hal
// check --junit` and `wasm-hal fuzz --junit` write one (docs/ci.md).

/** What became of one test case. */
export type JUnitOutcome =
  | { readonly kind: "passed" }
  /** The code under test is wrong (a drifted trace, a finding): `<failure>`. */
  | { readonly kind: "failure"; readonly message: string; readonly type: string; readonly text?: string }
  /** The test could not run to a verdict (a scenario that threw, an unreadable file): `<error>`. */
  | { readonly kind: "error"; readonly message: string; readonly type: string; readonly text?: string }
  | { readonly kind: "skipped"; readonly message: string };

export interface JUnitCase {
  /** Groups cases in reports, dotted like a class name: `wasm-hal.check`. */
  readonly classname: string;
  readonly name: string;
  /** Seconds (0 when not measured). */
  readonly time?: number;
  readonly outcome: JUnitOutcome;
  /** Text for `<system-out>`: what the case printed, or its details. */
  readonly output?: string;
}

export interface JUnitSuite {
  readonly name: string;
  /** Seconds for the whole suite (0 when not measured). */
  readonly time?: number;
  readonly cases: readonly JUnitCase[];
  /** `<properties>`: name and value pairs (the seed of a fuzz run, its shard). */
  readonly properties?: readonly (readonly [string, string])[];
}

/**
 * Text made safe for XML 1.0 character data or a quoted attribute value. `&`, `<`, `>`, `"` and
 * `'` become entity references; in attributes, tab, newline and carriage return become
 * character references so that a parser's attribute normalisation keeps them. Characters XML
 * 1.0 cannot carry at all, even as references (C0 controls other than tab, newline and
 * carriage return, unpaired surrogates, U+FFFE and U+FFFF), are written as visible `\xNN` or
 * `\uNNNN` text instead of being dropped.
 */
export function escapeXml(text: string, attribute = false): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    switch (c) {
      case 0x26: out += "&amp;"; continue;
      case 0x3c: out += "&lt;"; continue;
      case 0x3e: out += "&gt;"; continue;
      case 0x22: out += "&quot;"; continue;
      case 0x27: out += "&apos;"; continue;
      case 0x09: out += attribute ? "&#9;" : "\t"; continue;
      case 0x0a: out += attribute ? "&#10;" : "\n"; continue;
      case 0x0d: out += "&#13;"; continue;
    }
    if (c < 0x20 || c === 0x7f) {
      out += `\\x${c.toString(16).padStart(2, "0")}`;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text[i]! + text[i + 1]!;
        i++;
      } else {
        out += `\\u${c.toString(16)}`;
      }
    } else if ((c >= 0xdc00 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) {
      out += `\\u${c.toString(16)}`;
    } else {
      out += text[i]!;
    }
  }
  return out;
}

/** Seconds as the attribute writes them: up to three decimals, never negative or NaN. */
function seconds(time: number | undefined): string {
  const t = time === undefined || !Number.isFinite(time) || time < 0 ? 0 : time;
  return String(Math.round(t * 1000) / 1000);
}

function attributes(pairs: readonly (readonly [string, string | number])[]): string {
  return pairs.map(([k, v]) => ` ${k}="${escapeXml(String(v), true)}"`).join("");
}

/** The counts of a suite, as its `<testsuite>` attributes give them. */
export function suiteCounts(suite: JUnitSuite): { tests: number; failures: number; errors: number; skipped: number } {
  const count = (kind: JUnitOutcome["kind"]): number => suite.cases.filter((c) => c.outcome.kind === kind).length;
  return { tests: suite.cases.length, failures: count("failure"), errors: count("error"), skipped: count("skipped") };
}

/** The XML document of a list of suites, with totals on `<testsuites>`. */
export function junitXml(suites: readonly JUnitSuite[], name = "wasm-hal"): string {
  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0, time: 0 };
  const body: string[] = [];
  for (const suite of suites) {
    const counts = suiteCounts(suite);
    totals.tests += counts.tests;
    totals.failures += counts.failures;
    totals.errors += counts.errors;
    totals.skipped += counts.skipped;
    totals.time += suite.time ?? 0;
    body.push(`  <testsuite${attributes([["name", suite.name], ["tests", counts.tests], ["failures", counts.failures], ["errors", counts.errors], ["skipped", counts.skipped], ["time", seconds(suite.time)]])}>`);
    if (suite.properties !== undefined && suite.properties.length > 0) {
      body.push("    <properties>");
      for (const [k, v] of suite.properties) body.push(`      <property${attributes([["name", k], ["value", v]])}/>`);
      body.push("    </properties>");
    }
    for (const c of suite.cases) {
      const open = `    <testcase${attributes([["classname", c.classname], ["name", c.name], ["time", seconds(c.time)]])}`;
      const inner: string[] = [];
      const o = c.outcome;
      if (o.kind === "failure" || o.kind === "error") {
        const text = o.text === undefined || o.text === "" ? "" : escapeXml(o.text);
        inner.push(`      <${o.kind}${attributes([["message", o.message], ["type", o.type]])}${text === "" ? "/>" : `>${text}</${o.kind}>`}`);
      } else if (o.kind === "skipped") {
        inner.push(`      <skipped${attributes([["message", o.message]])}/>`);
      }
      if (c.output !== undefined && c.output !== "") inner.push(`      <system-out>${escapeXml(c.output)}</system-out>`);
      body.push(inner.length === 0 ? `${open}/>` : `${open}>\n${inner.join("\n")}\n    </testcase>`);
    }
    body.push("  </testsuite>");
  }
  const head = `<testsuites${attributes([["name", name], ["tests", totals.tests], ["failures", totals.failures], ["errors", totals.errors], ["skipped", totals.skipped], ["time", seconds(totals.time)]])}>`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', head, ...body, "</testsuites>", ""].join("\n");
}
