// Loading the native half of the /dev/mem bridge (harness/devmem/devmem.cc). Lazily: the rest of
// the package works where no compiler was available at install time, and only using the bridge
// fails, saying what is missing.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { packageRoot } from "../hal.js";

/** A mapped window, as the addon returns it. Offsets are relative to the window's first byte. */
export interface NativeWindow {
  /** One load of `width` bytes (1, 2, 4), zero-extended. */
  read(offset: number, width: number): number;
  /** One store of `width` bytes; `value` must fit in them. */
  write(offset: number, value: number, width: number): void;
  /** Unmaps the window and closes its file, which drops its lock. Idempotent; accesses after it
   * throw ERR_DEVMEM_CLOSED. A window never closed is released once garbage-collected. */
  close(): void;
}

export interface NativeBridge {
  /** The kernel's page size: map offsets are multiples of it. */
  readonly pageSize: number;
  /** The instructions barrier(0), barrier(1), barrier(2) execute on this CPU. */
  readonly barrierInstructions: readonly string[];
  /** Maps [mapOffset, mapOffset + inner + size) of `path`; the window is the `size` bytes at
   * `inner`. `flags`: OPEN_LOCK. Throws an Error with `code` (ERR_DEVMEM_*), and `errno` and
   * `syscall` for a failed system call. */
  open(path: string, mapOffset: number, inner: number, size: number, flags: number): NativeWindow;
  /** The CPU's barrier for the ABI's kind: 0 DMB, 1 DSB, 2 ISB. */
  barrier(kind: number): void;
}

/** open() flag: take an advisory lock on the window's bytes of the file. */
export const OPEN_LOCK = 1;

/** Environment variable naming a prebuilt addon (one cross-compiled for the board, say). */
export const ADDON_ENV = "WASM_HAL_DEVMEM_ADDON";

/** Where scripts/build-bridge.mjs leaves the addon. */
export function defaultAddonPath(): string {
  return join(packageRoot(), "harness", "devmem", "build", "Release", "devmem.node");
}

/** Where scripts/build-bridge.mjs writes why the build failed (removed by a build that works). */
export function buildFailureNotePath(): string {
  return join(packageRoot(), "harness", "devmem", "build", "unavailable.txt");
}

export function addonPath(): string {
  return process.env[ADDON_ENV] || defaultAddonPath();
}

/** The bridge cannot be used here: not built, not loadable, or not Linux. */
export class DevmemUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DevmemUnavailable";
  }
}

/** The build script as a command that works from here (`node
 * node_modules/wasm-hal/scripts/build-bridge.mjs` in a user's project). */
function buildCommand(): string {
  const script = join(packageRoot(), "scripts", "build-bridge.mjs");
  const near = relative(process.cwd(), script);
  const shown = near === "" || near.startsWith("..") || isAbsolute(near) ? script : near;
  return `node ${/\s/.test(shown) ? JSON.stringify(shown) : shown}`;
}

/** How to build the addon now, from wherever this process runs. */
function howToBuild(): string {
  return "node-gyp builds it, and needs a C++ compiler (g++ or clang++), make and python3: " +
    `with them installed, run \`${buildCommand()}\`, or point ${ADDON_ENV} at a prebuilt devmem.node`;
}

let bridge: NativeBridge | undefined;
let failure: DevmemUnavailable | undefined;

/** The addon, loaded on first use. Throws DevmemUnavailable saying what is missing. */
export function loadBridge(): NativeBridge {
  if (bridge !== undefined) return bridge;
  if (failure !== undefined) throw failure;
  try {
    bridge = loadAddon(addonPath(), buildFailureNotePath());
    return bridge;
  } catch (e) {
    failure = e instanceof DevmemUnavailable ? e : new DevmemUnavailable(`the native /dev/mem bridge failed to load: ${String(e)}`);
    throw failure;
  }
}

/** Loads the addon at `path`, uncached; `note` is where the last build left the reason it could
 * not build one. Throws DevmemUnavailable saying what is missing. */
export function loadAddon(path: string, note: string): NativeBridge {
  if (process.platform !== "linux") {
    throw new DevmemUnavailable(`the native /dev/mem bridge runs on Linux only (this is ${process.platform}); the fake devices and replays work everywhere`);
  }
  if (!existsSync(path)) {
    const why = existsSync(note)
      ? `the last build could not make it: ${readFileSync(note, "utf8").trim()}`
      : "it was never built: installing the package does not build it, so that no install waits for or fails on a compiler";
    throw new DevmemUnavailable(`the native /dev/mem bridge is missing: ${path} does not exist (${why}). ${howToBuild()}`);
  }
  let addon: unknown;
  try {
    addon = createRequire(import.meta.url)(path);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new DevmemUnavailable(`the native /dev/mem bridge ${path} does not load (${message}): it was built for another Node or CPU; rebuild it with \`${buildCommand()}\``);
  }
  const candidate = addon as Partial<NativeBridge>;
  if (typeof candidate.open !== "function" || typeof candidate.barrier !== "function" || typeof candidate.pageSize !== "number") {
    throw new DevmemUnavailable(`${path} is not the wasm-hal /dev/mem bridge (it lacks open, barrier or pageSize)`);
  }
  return candidate as NativeBridge;
}

/** Whether the bridge can be used, and if not, why (for tests that skip, and for benchmarks). */
export function bridgeStatus(): { available: true; path: string } | { available: false; reason: string } {
  try {
    loadBridge();
    return { available: true, path: addonPath() };
  } catch (e) {
    if (e instanceof DevmemUnavailable) return { available: false, reason: e.message };
    throw e;
  }
}
