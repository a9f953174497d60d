// docs/deploy.md tells a user how to build hal-run against WAMR with the committed
// boards/linux/CMakeLists.txt. The page and that file must not drift apart: the page names the
// file, every -D option it passes to that build is one the file reads (or CMake's own), $WAMR is
// defined before the page first uses it, and the file fails clearly without a WAMR checkout.
// No network and no WAMR needed: the only external tool, cmake, is used when present.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const page = readFileSync(join(ROOT, "docs", "deploy.md"), "utf8");
const boardsReadme = readFileSync(join(ROOT, "boards", "README.md"), "utf8");
const cmakeFile = readFileSync(join(ROOT, "boards", "linux", "CMakeLists.txt"), "utf8");

/** The page's shell code blocks, one string per line. */
function shellLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const m of markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)) lines.push(...m[1]!.split("\n"));
  return lines;
}

/** The text between a heading and the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  expect(start, `docs/deploy.md has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)![0].length;
  const rest = markdown.slice(start + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, "m").exec(rest);
  return next === null ? rest : rest.slice(0, next.index);
}

/** `-DNAME` options in a text. */
function cmakeOptions(text: string): string[] {
  return [...text.matchAll(/-D([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

/** Whether the CMake file reads a variable a user may pass with -D. */
function cmakeFileReads(name: string): boolean {
  const n = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`\\$\\{${n}\\}|DEFINED\\s+${n}\\b|hal_default\\(${n}\\b|set\\(${n}\\b[^)]*\\bCACHE\\b`).test(cmakeFile);
}

const configureLines = shellLines(page).filter((line) => /cmake\s+-S\s+boards\/linux\b/.test(line));

describe("docs/deploy.md and boards/linux/CMakeLists.txt", () => {
  it("the page names the committed CMake file and configures hal-run with it", () => {
    expect(page).toContain("boards/linux/CMakeLists.txt");
    expect(configureLines.length).toBeGreaterThan(0);
    for (const line of configureLines) expect(line, line).toMatch(/-DWAMR_ROOT=/);
    // The file is committed, not a listing on the page to be saved by hand.
    expect(page).not.toMatch(/save the listing/i);
    expect(page).not.toContain("project(hal_run C)");
  });

  it("passes to the hal-run build only -D options the CMake file reads, or CMake's own", () => {
    const passed = new Set([
      ...configureLines.flatMap(cmakeOptions),
      // the prose and the options table of "Building" (WAMR_BUILD_TARGET, WAMR_BUILD_LIBC_BUILTIN, ...)
      ...cmakeOptions(section(page, "### Building")),
    ]);
    expect(passed.has("WAMR_ROOT")).toBe(true);
    const unread = [...passed].filter((name) => !name.startsWith("CMAKE_") && !cmakeFileReads(name));
    expect(unread, "options the page passes that boards/linux/CMakeLists.txt does not read").toEqual([]);
  });

  it("lists every WAMR option the CMake file defaults in the options table", () => {
    const defaulted = [...cmakeFile.matchAll(/^hal_default\((\w+) /gm)].map((m) => m[1]!);
    expect(defaulted.length).toBeGreaterThan(0);
    const table = section(page, "### Building");
    expect(defaulted.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });

  it("defines $WAMR before its first use, as a clone of the release tag it names", () => {
    const firstUse = page.search(/\$\{?WAMR\b/);
    expect(firstUse, "the page never uses $WAMR").toBeGreaterThanOrEqual(0);
    const definition = /^(?:export\s+)?WAMR=\S/m.exec(page);
    expect(definition, "no `WAMR=...` or `export WAMR=...` line on the page").not.toBeNull();
    expect(definition!.index).toBeLessThan(firstUse);
    const clones = shellLines(page).filter((line) => /git clone\b.*wasm-micro-runtime/.test(line));
    expect(clones.length).toBeGreaterThan(0);
    for (const line of clones) expect(line, line).toMatch(/--branch WAMR-2\.4\.3 .*"\$WAMR"/);
  });

  it("gives the tag's commit the same way everywhere, and no longer calls 646b5a9 the tag", () => {
    const tagCommit = "0e47872fb4e57833dbeccf7c312a406fa2dac2bc";
    expect(page).toContain(tagCommit);
    expect(boardsReadme).toContain(tagCommit.slice(0, 12));
    expect(page).not.toMatch(/2\.4\.3 \(commit `646b5a9`\)/);
  });

  it("says the parity scenarios fit hal.wasm only", () => {
    expect(page).toMatch(/scenarios fit `build\/hal\.wasm` only/);
    expect(page).toContain("hal.debug.wasm");
  });

  it("the CMake file takes WAMR from the user's checkout and carries nothing of WAMR", () => {
    expect(cmakeFile).toContain("include(${WAMR_ROOT}/build-scripts/runtime_lib.cmake)");
    expect(cmakeFile).toMatch(/message\(FATAL_ERROR\s[\s\S]*?WAMR_ROOT is not set/);
    expect(cmakeFile).toMatch(/does not look like a checkout/);
    // WAMR's files carry Intel's copyright and the Apache-2.0 WITH LLVM-exception identifier.
    expect(cmakeFile).not.toMatch(/Intel Corporation|SPDX-License-Identifier|Apache-2\.0/);
  });

  const haveCmake = spawnSync("cmake", ["--version"]).status === 0;
  it.runIf(haveCmake)("the CMake file stops with a clear error without WAMR_ROOT, and on a folder that is no WAMR checkout", () => {
    const dir = mkdtempSync(join(tmpdir(), "hal-cmake-"));
    try {
      const configure = (...extra: string[]) =>
        spawnSync("cmake", ["-S", join(ROOT, "boards", "linux"), "-B", join(dir, "build"), ...extra], { encoding: "utf8", timeout: 60_000 });
      const missing = configure();
      expect(missing.status).not.toBe(0);
      expect(missing.stderr.replace(/\s+/g, " ")).toContain("WAMR_ROOT is not set");
      const notWamr = configure(`-DWAMR_ROOT=${dir}`);
      expect(notWamr.status).not.toBe(0);
      expect(notWamr.stderr.replace(/\s+/g, " ")).toContain("does not look like a checkout of bytecodealliance/wasm-micro-runtime");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
