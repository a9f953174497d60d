// The native /dev/mem bridge (harness/devmem/) on stand-ins for hardware: regular files and
// /dev/shm files mapped the way /dev/mem is (MAP_SHARED, page-aligned), so that no root and no
// device are needed. The bytes of the file show where each access landed; a short file raises the
// SIGBUS a missing device would; a second process shows the lock at work.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { endianness, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Bus } from "../harness/bus.js";
import { Hal } from "../harness/hal.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import {
  DevmemDevice, DevmemError, DevmemUnavailable, barrierInstructions, bridgeStatus,
  addonPath, explainOpenFailure, type AccessFacts,
} from "../harness/devmem/devmem.js";
import { loadAddon, loadBridge } from "../harness/devmem/native.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const bridge = bridgeStatus();
const PAGE = 4096;

/** Runs a helper script of test/devmem/ to its end; returns its parsed JSON line. Under another
 * user the script and the addon are first copied to a folder that user can read: the checkout
 * itself may sit below a private folder (a CI clone in a 0700 temp dir). */
function tryOpenElsewhere(file: string, offset: number, size: number, lock: boolean, uid?: number): { opened: boolean; code?: string; errno?: number; syscall?: string; message?: string } {
  let script = join(HERE, "devmem", "try-open.mjs");
  let addon = addonPath();
  let copies: string | undefined;
  if (uid !== undefined) {
    copies = mkdtempSync(join(tmpdir(), "wasm-hal-try-open-"));
    chmodSync(copies, 0o755);
    copyFileSync(script, join(copies, "try-open.mjs"));
    copyFileSync(addon, join(copies, "bridge.node"));
    chmodSync(join(copies, "try-open.mjs"), 0o644);
    chmodSync(join(copies, "bridge.node"), 0o755);
    script = join(copies, "try-open.mjs");
    addon = join(copies, "bridge.node");
  }
  const run = spawnSync(process.execPath, [script, addon, file, String(offset), String(size), lock ? "1" : "0"], {
    encoding: "utf8", timeout: 10_000, cwd: tmpdir(), ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  if (copies !== undefined) rmSync(copies, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`try-open.mjs failed (status ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as ReturnType<typeof tryOpenElsewhere>;
}

/** Starts test/devmem/hold-window.mjs and resolves once it holds the window's lock. */
async function holdElsewhere(file: string, offset: number, size: number): Promise<{ pid: number; release: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(HERE, "devmem", "hold-window.mjs"), addonPath(), file, String(offset), String(size)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hold-window.mjs did not lock within 10 s: ${stderr}`)), 10_000);
    child.stdout.on("data", (d: Buffer) => { if (d.toString().includes("locked")) { clearTimeout(timer); resolve(); } });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`hold-window.mjs exited (${code}) before locking: ${stderr}`)); });
  });
  return {
    pid: child.pid!,
    release: () => new Promise<void>((resolve) => {
      child.removeAllListeners("exit");
      child.on("exit", () => resolve());
      child.stdin.end();
    }),
  };
}

describe("building and loading the bridge", () => {
  it.runIf(process.platform === "linux" && spawnSync("sh", ["-c", "command -v g++ && command -v make && command -v python3"]).status === 0)(
    "is built by the install step on a Linux machine with a compiler, make and python3",
    () => {
      expect(bridge.available ? "available" : bridge.reason).toBe("available");
    },
  );

  it("says what is missing when the addon was not built, quoting the install step's reason", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasm-hal-devmem-"));
    try {
      const note = join(dir, "unavailable.txt");
      writeFileSync(note, "no C++ compiler (g++, c++ or clang++) on PATH\n");
      const missing = join(dir, "Release", "devmem.node");
      expect(() => loadAddon(missing, note)).toThrow(DevmemUnavailable);
      expect(() => loadAddon(missing, note)).toThrow(`${missing} does not exist (the last build could not make it: no C++ compiler (g++, c++ or clang++) on PATH)`);
      expect(() => loadAddon(missing, note)).toThrow(/needs a C\+\+ compiler \(g\+\+ or clang\+\+\), make and python3/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a file that is not a loadable addon, saying to rebuild it", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasm-hal-devmem-"));
    try {
      const fake = join(dir, "devmem.node");
      writeFileSync(fake, "not an ELF file");
      expect(() => loadAddon(fake, join(dir, "none.txt"))).toThrow(/does not load .*rebuild it with `node scripts\/build-bridge.mjs`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("install step: without a compiler it prints one warning, exits 0 and leaves the reason for the bridge", () => {
    // A copy of the build inputs, so that the real build output is left alone.
    const root = mkdtempSync(join(tmpdir(), "wasm-hal-devmem-build-"));
    try {
      mkdirSync(join(root, "scripts"));
      mkdirSync(join(root, "harness", "devmem"), { recursive: true });
      copyFileSync(join(HERE, "..", "scripts", "build-bridge.mjs"), join(root, "scripts", "build-bridge.mjs"));
      for (const f of ["binding.gyp", "devmem.cc"]) copyFileSync(join(HERE, "..", "harness", "devmem", f), join(root, "harness", "devmem", f));
      // PATH without any compiler; CXX names a compiler that does not exist.
      const run = spawnSync(process.execPath, [join(root, "scripts", "build-bridge.mjs")], {
        encoding: "utf8", timeout: 60_000, env: { PATH: "/nonexistent", CXX: "wasm-hal-no-such-compiler", HOME: root },
      });
      expect(run.status).toBe(0);
      const warnings = run.stderr.trim().split("\n");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^wasm-hal: warning: the native \/dev\/mem bridge was not built: no C\+\+ compiler \(CXX=wasm-hal-no-such-compiler is not runnable\) on PATH/);
      expect(readFileSync(join(root, "harness", "devmem", "build", "unavailable.txt"), "utf8")).toContain("CXX=wasm-hal-no-such-compiler is not runnable");
      expect(existsSync(join(root, "harness", "devmem", "build", "Release", "devmem.node"))).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.runIf(bridge.available)("file-backed windows", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wasm-hal-devmem-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A file of `size` bytes, every byte `fill`. */
  function file(name: string, size: number, fill = 0): string {
    const path = join(dir, name);
    writeFileSync(path, Buffer.alloc(size, fill));
    return path;
  }

  it.runIf(endianness() === "LE")("puts each access at its offset with its exact width, little-endian, and nothing else", () => {
    const path = file("widths.bin", 3 * PAGE, 0xa5);
    // Not page-aligned: the window starts 0x10 into the second page.
    const window = new DevmemDevice({ path, offset: PAGE + 0x10, size: 0x40 });
    try {
      // After each store the whole file is compared: a wider store would clobber a neighbour.
      const expected = Buffer.alloc(3 * PAGE, 0xa5);
      const expectFile = (): void => {
        const bytes = readFileSync(path);
        const first = bytes.findIndex((b, i) => b !== expected[i]);
        expect(first, `first differing byte at file offset 0x${first.toString(16)}`).toBe(-1);
      };
      window.write(0x08, 0x44556677, 4);
      expected.set([0x77, 0x66, 0x55, 0x44], PAGE + 0x18);
      expectFile();
      window.write(0x06, 0x2233, 2);
      expected.set([0x33, 0x22], PAGE + 0x16);
      expectFile();
      window.write(0x05, 0x11, 1);
      expected.set([0x11], PAGE + 0x15);
      expectFile();
      window.write(0x0a, 0x88, 1);
      expected.set([0x88], PAGE + 0x1a);
      expectFile();
      window.write(0x0a, 0x55, 1);
      expected.set([0x55], PAGE + 0x1a);
      expectFile();
      expect(window.read(0x04, 4)).toBe(0x223311a5);
      expect(window.read(0x08, 2)).toBe(0x6677);
      expect(window.read(0x0a, 2)).toBe(0x4455);
      expect(window.read(0x0b, 1)).toBe(0x44);
      expect(window.read(0x3c, 4)).toBe(0xa5a5a5a5);
    } finally {
      window.close();
    }
  });

  it("sees what another writer puts in the file, on every read (no caching)", () => {
    const path = file("coherent.bin", PAGE);
    const window = new DevmemDevice({ path, offset: 0x100, size: 0x100 });
    try {
      expect(window.read(0x18, 4)).toBe(0);
      const other = new DevmemDevice({ path, offset: 0x100, size: 0x100, lock: false });
      other.write(0x18, 0x28, 4);
      expect(window.read(0x18, 4)).toBe(0x28);
      other.write(0x18, 0x08, 4);
      expect(window.read(0x18, 4)).toBe(0x08);
      other.close();
    } finally {
      window.close();
    }
  });

  it.runIf(existsSync("/dev/shm"))("maps a /dev/shm file as a window", () => {
    const path = join("/dev/shm", `wasm-hal-devmem-${process.pid}`);
    writeFileSync(path, Buffer.alloc(PAGE));
    try {
      const window = new DevmemDevice({ path, offset: 0x800, size: 0x1000 - 0x800 });
      window.write(0x7fc, 0xcafef00d, 4);
      expect(readFileSync(path).readUInt32LE(0xffc)).toBe(0xcafef00d);
      window.close();
    } finally {
      rmSync(path, { force: true });
    }
  });

  it("checks every access before touching memory: window, alignment, width, value, closed", () => {
    const path = file("checks.bin", PAGE, 0x5a);
    const window = new DevmemDevice({ path, offset: 0x200, size: 0x20 });
    const refused = (access: () => unknown): DevmemError => {
      try {
        access();
      } catch (e) {
        expect(e).toBeInstanceOf(DevmemError);
        return e as DevmemError;
      }
      throw new Error("the access was not refused");
    };
    let e = refused(() => window.read(0x20, 1));
    expect(e.code).toBe("ERR_DEVMEM_BOUNDS");
    expect(e.message).toBe(`${path}: read of 1 byte at 0x220 (window 0x200..0x21f): outside the window`);
    e = refused(() => window.write(0x1e, 0, 4));
    expect(e.code).toBe("ERR_DEVMEM_BOUNDS");
    e = refused(() => window.read(0x02, 4));
    expect(e.code).toBe("ERR_DEVMEM_ALIGN");
    expect(e.message).toBe(`${path}: read of 4 bytes at 0x202 (window 0x200..0x21f): not aligned to 4 bytes`);
    expect(e.address).toBe(0x202);
    expect(refused(() => window.write(0x01, 0, 2)).code).toBe("ERR_DEVMEM_ALIGN");
    expect(refused(() => window.read(0, 3)).code).toBe("ERR_DEVMEM_WIDTH");
    expect(refused(() => window.read(0, 8)).code).toBe("ERR_DEVMEM_WIDTH");
    expect(refused(() => window.read(-4, 4)).code).toBe("ERR_DEVMEM_BOUNDS");
    expect(refused(() => window.read(1.5, 1)).code).toBe("ERR_DEVMEM_BOUNDS");
    e = refused(() => window.write(0, 0x100, 1));
    expect(e.code).toBe("ERR_DEVMEM_VALUE");
    expect(e.message).toContain("the value must be an integer from 0 to 0xff");
    expect(refused(() => window.write(0, -1, 4)).code).toBe("ERR_DEVMEM_VALUE");
    // None of the refused writes reached the file.
    expect(readFileSync(path).equals(Buffer.alloc(PAGE, 0x5a))).toBe(true);
    window.close();
    expect(window.closed).toBe(true);
    e = refused(() => window.read(0, 4));
    expect(e.code).toBe("ERR_DEVMEM_CLOSED");
    expect(e.message).toContain(path);
  });

  it("refuses windows that are not word-aligned, empty, or past the end of the file", () => {
    const path = file("short.bin", PAGE);
    expect(() => new DevmemDevice({ path, offset: 0x102, size: 4 })).toThrow(`${path}: window at 0x102 is not word-aligned`);
    expect(() => new DevmemDevice({ path, offset: 0, size: 0 })).toThrow(/has size 0; it must be 1 byte to 4 GiB/);
    let error: unknown;
    try {
      new DevmemDevice({ path, offset: 0xf00, size: 0x200 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DevmemError);
    expect((error as DevmemError).code).toBe("ERR_DEVMEM_PAST_EOF");
    expect((error as DevmemError).message).toBe(`${path}: window 0xf00..0x10ff lies past the end of the file (4096 bytes)`);
  });

  it("turns the SIGBUS of an access past the end of a file truncated under its window into an error", () => {
    const path = file("truncated.bin", 2 * PAGE, 0x11);
    const window = new DevmemDevice({ path, offset: 0, size: 2 * PAGE });
    try {
      expect(window.read(PAGE, 4)).toBe(0x11111111);
      truncateSync(path, PAGE);
      let error: unknown;
      try {
        window.read(PAGE + 0x18, 4);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DevmemError);
      expect((error as DevmemError).code).toBe("ERR_DEVMEM_SIGBUS");
      expect((error as DevmemError).message).toBe(`${path}: read of 4 bytes at 0x1018 (window 0x0..0x1fff): bus error (SIGBUS): the address is not backed (a file shorter than the window, or a device that did not answer)`);
      expect(() => window.write(PAGE + 4, 1, 1)).toThrow(/write of 1 byte at 0x1004 .*SIGBUS/);
      // The process goes on, and so does the window where the file still is.
      expect(window.read(0xffc, 4)).toBe(0x11111111);
      truncateSync(path, 2 * PAGE);
      expect(window.read(PAGE + 0x18, 4)).toBe(0);
    } finally {
      window.close();
    }
  });

  it("reads no byte beyond the width asked for: a wider load would reach the truncated page and fault", () => {
    const path = file("edge.bin", 2 * PAGE, 0x3c);
    // The window straddles the page boundary; then the second page goes away.
    const window = new DevmemDevice({ path, offset: PAGE - 8, size: 16 });
    try {
      truncateSync(path, PAGE);
      expect(window.read(4, 4)).toBe(0x3c3c3c3c);
      expect(window.read(6, 2)).toBe(0x3c3c);
      expect(window.read(7, 1)).toBe(0x3c);
      window.write(6, 0x1234, 2);
      window.write(7, 0x56, 1);
      expect(window.read(4, 4)).toBe(0x56343c3c);
      expect(() => window.read(8, 1)).toThrow(/SIGBUS/);
    } finally {
      window.close();
    }
  });

  it("leaves a SIGBUS outside an access to kill the process as before", () => {
    const run = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(addonPath())}); process.kill(process.pid, "SIGBUS"); setTimeout(() => {}, 2000);`], { timeout: 10_000 });
    expect(run.signal).toBe("SIGBUS");
  });

  it("refuses a window the kernel will not map, naming the file", () => {
    expect(() => new DevmemDevice({ path: "/dev/null", offset: 0, size: 0x1000 })).toThrow("/dev/null 0x0..0xfff: the kernel refuses the window (ENODEV): this file cannot be memory-mapped");
  });

  it("says there is no such file, with the address", () => {
    let error: unknown;
    try {
      new DevmemDevice({ path: "/nonexistent/wasm-hal/mem", offset: 0x101f1000, size: 0x1000 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DevmemError);
    expect((error as DevmemError).code).toBe("ENOENT");
    expect((error as DevmemError).message).toBe("/nonexistent/wasm-hal/mem 0x101f1000..0x101f1fff: no such file (check the path in the board description)");
  });

  it.runIf(!existsSync("/dev/mem"))("says why /dev/mem may be missing (kernel option or container)", () => {
    expect(() => new DevmemDevice({ offset: 0x101f1000, size: 0x1000 })).toThrow(
      /^\/dev\/mem 0x101f1000\.\.0x101f1fff: no such file \(this kernel was built without \/dev\/mem \(CONFIG_DEVMEM\), or the container was started without the device/,
    );
  });

  it("says permission denied, who the process is and what to do", () => {
    const path = file("private.bin", PAGE);
    chmodSync(path, 0o600);
    chmodSync(dir, 0o755);
    let native: Error;
    if (process.getuid?.() === 0) {
      // Root reads anything: ask an unprivileged user (nobody) to open it.
      const outcome = tryOpenElsewhere(path, 0, 0x100, true, 65534);
      expect(outcome.opened).toBe(false);
      expect([outcome.code, outcome.errno, outcome.syscall]).toEqual(["ERR_DEVMEM_SYSCALL", 13, "open"]);
      native = Object.assign(new Error(outcome.message), { code: outcome.code, errno: outcome.errno, syscall: outcome.syscall });
    } else {
      chmodSync(path, 0);
      try {
        new DevmemDevice({ path, offset: 0, size: 0x100 });
        throw new Error("opened a file without permission");
      } catch (e) {
        expect((e as DevmemError).code).toBe("EACCES");
        native = e as Error;
        expect(native.message).toContain("permission denied");
        return;
      }
    }
    const facts: AccessFacts = { euid: 65534, rawio: false, lockdown: undefined, strictDevmem: undefined, ioStrictDevmem: undefined, fileMode: "-rw------- uid 0 gid 0" };
    const error = explainOpenFailure(native, { path, fileOffset: 0, size: 0x100, description: `${path} 0x0..0xff` }, () => facts) as DevmemError;
    expect(error.code).toBe("EACCES");
    expect(error.message).toBe(`${path} 0x0..0xff: permission denied opening it for reading and writing (the file is -rw------- uid 0 gid 0; this process runs as uid 65534): make the file readable and writable for this user`);
  });
});

describe("what the messages say about /dev/mem permissions", () => {
  const window = { path: "/dev/mem", fileOffset: 0x3f201000, size: 0x1000, description: "/dev/mem 0x3f201000..0x3f201fff" };
  const nativeError = (syscall: string, errno: number, reason: string): Error =>
    Object.assign(new Error(`${syscall} /dev/mem (window at 0x3f201000): ${reason}`), { code: "ERR_DEVMEM_SYSCALL", errno, syscall });
  const facts = (f: Partial<AccessFacts>): (() => AccessFacts) => () => ({ euid: 1000, rawio: false, lockdown: "none", strictDevmem: undefined, ioStrictDevmem: undefined, fileMode: undefined, ...f });
  const EPERM = 1, EACCES = 13, EINVAL = 22;

  it("an open refused for want of CAP_SYS_RAWIO names the capability", () => {
    const e = explainOpenFailure(nativeError("open", EPERM, "Operation not permitted"), window, facts({ rawio: false })) as DevmemError;
    expect(e.code).toBe("EPERM");
    expect(e.message).toMatch(/^\/dev\/mem 0x3f201000\.\.0x3f201fff: the kernel refused to open \/dev\/mem \(EPERM\): it needs CAP_SYS_RAWIO, which opening \/dev\/mem needs and this process \(uid 1000\) lacks/);
    expect(e.message).not.toContain("lockdown");
  });

  it("an open refused by kernel lockdown says so even for root", () => {
    const e = explainOpenFailure(nativeError("open", EPERM, "Operation not permitted"), window, facts({ euid: 0, rawio: true, lockdown: "integrity" })) as DevmemError;
    expect(e.message).toContain('a kernel out of lockdown: /sys/kernel/security/lockdown is "integrity", which refuses /dev/mem even to root');
    expect(e.message).not.toContain("lacks");
  });

  it("EACCES on /dev/mem tells to run as root or grant access and CAP_SYS_RAWIO", () => {
    const e = explainOpenFailure(nativeError("open", EACCES, "Permission denied"), window, facts({ fileMode: "crw-r----- uid 0 gid 15" })) as DevmemError;
    expect(e.message).toBe("/dev/mem 0x3f201000..0x3f201fff: permission denied opening it for reading and writing (the file is crw-r----- uid 0 gid 15; this process runs as uid 1000): run as root (sudo), or give the process both read-write access to /dev/mem and CAP_SYS_RAWIO");
  });

  it("a mapping refused by STRICT_DEVMEM points at /proc/iomem and iomem=relaxed", () => {
    const e = explainOpenFailure(nativeError("mmap", EPERM, "Operation not permitted"), window, facts({ euid: 0, rawio: true, strictDevmem: "y", ioStrictDevmem: "y" })) as DevmemError;
    expect(e.message).toMatch(/^\/dev\/mem 0x3f201000\.\.0x3f201fff: the kernel refused to map this physical range \(EPERM\): with CONFIG_STRICT_DEVMEM \(on here\)/);
    expect(e.message).toContain("CONFIG_IO_STRICT_DEVMEM (on here)");
    expect(e.message).toContain("/proc/iomem");
    expect(e.message).toContain("iomem=relaxed");
  });

  it("a window the kernel finds invalid is refused with the reason", () => {
    const e = explainOpenFailure(nativeError("mmap", EINVAL, "Invalid argument"), window, facts({})) as DevmemError;
    expect(e.code).toBe("EINVAL");
    expect(e.message).toBe("/dev/mem 0x3f201000..0x3f201fff: the kernel refuses the window (EINVAL: Invalid argument): the physical range lies outside what /dev/mem can map on this machine");
  });
});

describe.runIf(bridge.available)("the window lock", () => {
  let dir: string;
  let path: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wasm-hal-devmem-lock-"));
    path = join(dir, "device.bin");
    writeFileSync(path, Buffer.alloc(4 * PAGE));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a second process the window this one holds, and lets it in once closed", () => {
    const window = new DevmemDevice({ path, offset: 0x1000, size: 0x1000 });
    const refused = tryOpenElsewhere(path, 0x1000, 0x1000, true);
    expect(refused.opened).toBe(false);
    expect(refused.code).toBe("ERR_DEVMEM_BUSY");
    // Without its lock, the other process may share the window deliberately.
    expect(tryOpenElsewhere(path, 0x1000, 0x1000, false).opened).toBe(true);
    window.close();
    expect(tryOpenElsewhere(path, 0x1000, 0x1000, true).opened).toBe(true);
  });

  it("says busy, held by the pid of the process that holds it, with the opt-out", async () => {
    const holder = await holdElsewhere(path, 0x2000, 0x100);
    try {
      let error: unknown;
      try {
        new DevmemDevice({ path, offset: 0x2000, size: 0x100 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DevmemError);
      const busy = error as DevmemError;
      expect(busy.code).toBe("ERR_DEVMEM_BUSY");
      expect(busy.holders).toEqual([holder.pid]);
      expect(busy.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} 0x2000\\.\\.0x20ff: busy, held by pid ${holder.pid} \\(.*hold-window\\.mjs.*\\)`));
      expect(busy.message).toContain("open with lock: false to share it deliberately");
      // An overlapping window is the same peripheral; the one next to it is not.
      expect(() => new DevmemDevice({ path, offset: 0x20f0, size: 0x20 })).toThrow(new RegExp(`busy, held by pid ${holder.pid}.*\\(the lock on 0x2000\\.\\.0x20ff overlaps this window\\)`));
      new DevmemDevice({ path, offset: 0x2100, size: 0x100 }).close();
      const shared = new DevmemDevice({ path, offset: 0x2000, size: 0x100, lock: false });
      expect(shared.locked).toBe(false);
      shared.close();
    } finally {
      await holder.release();
    }
    new DevmemDevice({ path, offset: 0x2000, size: 0x100 }).close();
  });

  it("is dropped with a window that was never closed once it is garbage-collected, while an access function kept alone still works", () => {
    const script = `
      const bridge = require(${JSON.stringify(addonPath())});
      const path = ${JSON.stringify(path)};
      const open = () => bridge.open(path, 0x3000, 0x80, 0x40, 1);
      let read = (() => open().read)();
      const outcome = [];
      try { open(); outcome.push("opened"); } catch (e) { outcome.push(e.code); }
      outcome.push(read(0, 4));
      // From here on nothing refers to the window or its functions.
      read = null;
      setImmediate(() => {
        globalThis.gc();
        setImmediate(() => {
          globalThis.gc();
          setImmediate(() => {
            try { open().close(); outcome.push("opened"); } catch (e) { outcome.push(e.code); }
            console.log(JSON.stringify(outcome));
          });
        });
      });
    `;
    const run = spawnSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8", timeout: 10_000 });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual(["ERR_DEVMEM_BUSY", 0, "opened"]);
  });

  it("refuses the same window opened twice in one process", () => {
    const first = new DevmemDevice({ path, offset: 0x3000, size: 0x40 });
    try {
      expect(() => new DevmemDevice({ path, offset: 0x3000, size: 0x40 })).toThrow(`busy, held by pid ${process.pid} (this process: the window is open twice)`);
    } finally {
      first.close();
    }
  });
});

describe.runIf(bridge.available)("barriers", () => {
  it("are the CPU's own: DMB, DSB, ISB on Arm, MFENCE on x86-64", () => {
    const expected: Record<string, readonly string[]> = {
      x64: ["mfence", "mfence", "mfence"],
      arm64: ["dmb sy", "dsb sy", "isb"],
    };
    const table = expected[process.arch];
    if (table !== undefined) expect(barrierInstructions()).toEqual(table);
    else if (process.arch === "arm") expect(barrierInstructions()[0]).toMatch(/^(dmb sy|mcr p15 c7 c10 5)$/);
    else expect(barrierInstructions()).toEqual(["full fence", "full fence", "full fence"]);
    for (const kind of [0, 1, 2]) expect(() => loadBridge().barrier(kind)).not.toThrow();
    expect(() => loadBridge().barrier(3)).toThrow("barrier kind must be 0 (DMB), 1 (DSB) or 2 (ISB)");
  });

  it("reach the CPU from a driver's dsb(), once per barrier, after the bus recorded them", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasm-hal-devmem-"));
    const path = join(dir, "uart.bin");
    writeFileSync(path, Buffer.alloc(PL011_MAP.size));
    const native = loadBridge();
    const spy = vi.spyOn(native, "barrier");
    try {
      const bus = new Bus();
      const uart = new DevmemDevice({ path, offset: 0, size: PL011_MAP.size });
      bus.map({ name: "uart0", base: 0x101f1000, size: PL011_MAP.size, device: uart, map: PL011_MAP });
      const hal = new Hal(bus);
      // PL011 TRM 3.3.6, Table 3-9: 4 MHz and 115200 baud; FR reads 0, so nothing waits.
      expect(hal.call("pl011_init", 0x101f1000, 4_000_000, 115200, 0)).toBe(0);
      const recorded = [...bus.trace.entries()].filter((e) => e.op === 2).map((e) => e.value);
      expect(recorded).toEqual([1]);
      expect(spy.mock.calls).toEqual([[1]]);
      uart.close();
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
