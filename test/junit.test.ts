// JUnit XML reports (harness/junit.ts, docs/ci.md): `wasm-hal check --junit` (a test case per
// scenario) and `wasm-hal fuzz --junit` (a test case per target, or per zoo variant), in the
// `<testsuites><testsuite><testcase><failure>` form CI systems read. Parsed here with
// fast-xml-parser, as a CI system would read them.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../harness/hal.js";
import { escapeXml, junitXml, type JUnitSuite } from "../harness/junit.js";
import { findingSummary, parseFindingsFile } from "../harness/fuzz/merge.js";
import { TempFolders } from "./temp-folders.js";

const root = packageRoot();
const cli = join(root, "dist", "harness", "cli.js");
const folders = new TempFolders();
afterAll(() => folders.removeAll());
const tmp = (): string => folders.make("wasm-hal-junit-");

function run(args: string[]) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\``);
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, timeout: 120_000 });
}

interface Outcome { message: string; type: string; "#text"?: string }
interface TestCase { classname: string; name: string; time: string; failure?: Outcome; error?: Outcome; skipped?: { message: string }; "system-out"?: string }
interface TestSuite { name: string; tests: string; failures: string; errors: string; skipped: string; time: string; testcase: TestCase[] }
interface Report { testsuites: { tests: string; failures: string; errors: string; skipped: string; testsuite: TestSuite[] } }

/** Parses a report as CI would, checking it is well-formed XML first. */
function parse(xml: string): Report {
  expect(XMLValidator.validate(xml)).toBe(true);
  const parser = new XMLParser({
    ignoreAttributes: false, attributeNamePrefix: "", parseAttributeValue: false, parseTagValue: false, trimValues: false,
    // Character references (&#10;) decoded, as XML parsers do.
    htmlEntities: true,
    isArray: (name) => name === "testsuite" || name === "testcase",
  });
  return parser.parse(xml) as Report;
}

describe("junitXml", () => {
  const tricky = `a <b> & "c" 'd' ]]> e`;
  const suite: JUnitSuite = {
    name: `suite & <"one">`,
    time: 1.23456,
    properties: [["seed", "1"]],
    cases: [
      { classname: "x.y", name: "passes", outcome: { kind: "passed" } },
      { classname: "x.y", name: "fails <1>", time: 0.5, outcome: { kind: "failure", type: "drift", message: `${tricky}\nsecond line`, text: `${tricky}\n\tindented\r\nCRLF` } },
      { classname: "x.y", name: "errs", outcome: { kind: "error", type: "error", message: "threw" }, output: "out & about" },
      { classname: "x.y", name: "skips", outcome: { kind: "skipped", message: "not today" } },
      { classname: "x.y", name: "controls", outcome: { kind: "failure", type: "t", message: "bell\u0007 esc\u001b[0m nul\u0000 lone\ud800 pair\ud83d\ude00" } },
    ],
  };
  const xml = junitXml([suite, { name: "empty", cases: [] }]);
  const report = parse(xml);

  it("counts tests, failures, errors and skipped per suite and in all", () => {
    const [one, empty] = report.testsuites.testsuite;
    expect(one).toMatchObject({ name: `suite & <"one">`, tests: "5", failures: "2", errors: "1", skipped: "1", time: "1.235" });
    expect(empty).toMatchObject({ name: "empty", tests: "0", failures: "0", errors: "0", skipped: "0", time: "0" });
    expect(report.testsuites).toMatchObject({ tests: "5", failures: "2", errors: "1", skipped: "1" });
    expect(one!.testcase.map((c) => c.name)).toEqual(["passes", "fails <1>", "errs", "skips", "controls"]);
  });

  it("escapes <, &, \", ' and > in attributes and text, keeping newlines, tabs and carriage returns", () => {
    const failing = report.testsuites.testsuite[0]!.testcase[1]!;
    expect(failing.failure!.message).toBe(`${tricky}\nsecond line`);
    expect(failing.failure!.type).toBe("drift");
    expect(failing.failure!["#text"]).toBe(`${tricky}\n\tindented\r\nCRLF`);
    expect(report.testsuites.testsuite[0]!.testcase[2]!["system-out"]).toBe("out & about");
    expect(report.testsuites.testsuite[0]!.testcase[3]!.skipped!.message).toBe("not today");
    // The raw text: entity references, never a bare < or & inside a value.
    expect(xml).toContain('message="a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; ]]&gt; e&#10;second line"');
    expect(escapeXml(`<&"'>`)).toBe("&lt;&amp;&quot;&apos;&gt;");
    expect(escapeXml("a\nb\tc", true)).toBe("a&#10;b&#9;c");
  });

  it("writes characters XML 1.0 cannot hold as visible escapes, and keeps surrogate pairs", () => {
    const message = report.testsuites.testsuite[0]!.testcase[4]!.failure!.message;
    expect(message).toBe("bell\\x07 esc\\x1b[0m nul\\x00 lone\\ud800 pair\ud83d\ude00");
  });
});

describe("wasm-hal check --junit", () => {
  it("writes a test case per scenario, a drifted golden file a failure with the difference", () => {
    const dir = tmp();
    const golden = join(dir, "golden");
    cpSync(join(root, "fixtures", "golden"), golden, { recursive: true });
    const scenarios = readdirSync(golden).filter((f) => f.endsWith(".trace")).map((f) => f.slice(0, -".trace".length));
    // IBRD 13 becomes 14 in one golden file: that scenario drifts.
    const file = join(golden, "pl011-init-115200.trace");
    const text = readFileSync(file, "utf8");
    expect(text).toContain("W32 uart0+0x024 IBRD      0x0000000d");
    writeFileSync(file, text.replace("W32 uart0+0x024 IBRD      0x0000000d", "W32 uart0+0x024 IBRD      0x0000000e"));
    const out = join(dir, "reports", "check.xml");
    const r = run(["check", "--golden", golden, "--junit", out]);
    expect(r.status).toBe(1);
    const report = parse(readFileSync(out, "utf8"));
    const suite = report.testsuites.testsuite[0]!;
    expect(suite).toMatchObject({ name: "wasm-hal check", tests: String(scenarios.length), failures: "1", errors: "0", skipped: "0" });
    expect(suite.testcase.map((c) => c.name).sort()).toEqual([...scenarios].sort());
    const failed = suite.testcase.filter((c) => c.failure !== undefined);
    expect(failed.map((c) => [c.classname, c.name, c.failure!.type])).toEqual([["wasm-hal.check", "pl011-init-115200", "drift"]]);
    // The message: the first line of the difference, as `check` prints it; the text: all of it.
    const printed = /DRIFT    pl011-init-115200: the trace differs from .*\n {2}(.*)\n/.exec(r.stdout);
    expect(printed).not.toBeNull();
    expect(failed[0]!.failure!.message).toContain(printed![1]!.trim());
    expect(failed[0]!.failure!.message).toMatch(/ during call pl011_init\(.*\): IBRD at uart0\+0x024 written: DIVINT 0xe -> 0xd$/);
    expect(failed[0]!.failure!["#text"]).toContain("W32 uart0+0x024 IBRD      0x0000000e");
    expect(failed[0]!.failure!["#text"]).toContain("wasm-hal check --update pl011-init-115200");
  });

  it("passes every scenario of the package's own golden files", () => {
    const out = join(tmp(), "check.xml");
    const r = run(["check", "--junit", out]);
    expect(r.status, r.stdout).toBe(0);
    const suite = parse(readFileSync(out, "utf8")).testsuites.testsuite[0]!;
    expect(Number(suite.tests)).toBeGreaterThan(0);
    expect(suite).toMatchObject({ failures: "0", errors: "0" });
    expect(suite.testcase.every((c) => c.failure === undefined && c.error === undefined)).toBe(true);
  });
});

const ZOO_MODULE = join(root, "build", "zoo", "pl011-lcrh-before-divisor.wasm");

describe.skipIf(!existsSync(ZOO_MODULE))("wasm-hal fuzz --junit", () => {
  it("a target with a finding is a failing test case whose message is the finding's summary", () => {
    const dir = tmp();
    const r = run(["fuzz", "pl011", "--module", ZOO_MODULE, "--runs", "20", "--seed", "1", "--no-save", "--junit", join(dir, "fuzz.xml"), "--findings-out", join(dir, "f.json")]);
    expect(r.status, r.stderr).toBe(1);
    const suite = parse(readFileSync(join(dir, "fuzz.xml"), "utf8")).testsuites.testsuite[0]!;
    expect(suite).toMatchObject({ name: "wasm-hal fuzz pl011", tests: "1", failures: "1", errors: "0" });
    const findings = parseFindingsFile(readFileSync(join(dir, "f.json"), "utf8"), "f.json").findings.map((x) => x.finding);
    expect(findings).toHaveLength(1);
    const c = suite.testcase[0]!;
    expect([c.classname, c.name]).toEqual(["wasm-hal.fuzz", "pl011"]);
    expect(c.failure!.message).toBe(findingSummary(findings[0]!));
    expect(c.failure!.message).toMatch(/^\[legal\] postcondition in pl011_init: the UART latched IBRD=0 FBRD=0/);
    expect(c.failure!.type).toBe("postcondition");
    expect(c.failure!["#text"]).toContain(`replay: seed ${findings[0]!.seed}, path ${findings[0]!.path}`);
  });

  it("a target without findings passes; with --zoo a test case per variant passes when its bug is found", () => {
    const dir = tmp();
    const clean = run(["fuzz", "pl061", "--runs", "10", "--seed", "1", "--no-save", "--junit", join(dir, "clean.xml")]);
    expect(clean.status, clean.stdout).toBe(0);
    const suite = parse(readFileSync(join(dir, "clean.xml"), "utf8")).testsuites.testsuite[0]!;
    expect(suite).toMatchObject({ tests: "1", failures: "0" });
    expect(suite.testcase[0]!.name).toBe("pl061");
    const zoo = run(["fuzz", "pl061", "--zoo", "--runs", "200", "--seed", "1", "--no-save", "--junit", join(dir, "zoo.xml")]);
    expect(zoo.status, zoo.stdout).toBe(0);
    const z = parse(readFileSync(join(dir, "zoo.xml"), "utf8")).testsuites.testsuite[0]!;
    expect(z).toMatchObject({ name: "wasm-hal fuzz --zoo", tests: "2", failures: "0" });
    expect(z.testcase.map((c) => `${c.classname} ${c.name}`).sort()).toEqual(["wasm-hal.fuzz.zoo.pl061 pl061-data-read-modify-write", "wasm-hal.fuzz.zoo.pl061 pl061-ic-read-modify-write"]);
    expect(z.testcase.every((c) => /^found after \d+ runs: \[legal\]/.test(c["system-out"] ?? ""))).toBe(true);
  });
});
