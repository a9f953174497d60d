// The cost of one register access through the native /dev/mem bridge, against the floor of an
// import that does nothing, measured in the same run (shared, noisy machines: the ratio moves much
// less than the absolute numbers). The "hardware" is a file in /dev/shm (RAM): on a board, each
// access adds the bus's own latency (typically 0.1 to 1 us for an APB peripheral) to these.
//
// Three ways from the module to the mapping, on the workload of bench/bench.ts (PL011 init and a
// 16-byte write; FR reads 0, so the driver never waits):
//   floor         imports that do nothing;
//   bridge_direct imports that call the bridge's window directly (no bus, no trace);
//   bridge_bus    the harness as it records on a board: bus checks, trace, DevmemDevice, bridge.
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bus, VirtualClock } from "../harness/bus.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { UART, instantiate, workload, countAccesses, floorRunner, timeNs, median, round2, type Runner } from "./measure.js";
import { DevmemDevice, bridgeStatus } from "../harness/devmem/devmem.js";

export interface DevmemBenchOptions {
  /** Measurement rounds; the medians are reported. Default 5. */
  rounds?: number;
  /** Floor time per measurement, ms. Default 50. */
  targetMs?: number;
}

/**
 * Returns, per access: `floor_ns`, `bridge_direct_ns`, `bridge_bus_ns`, their ratios to the floor
 * (`direct_ratio`, `bus_ratio`), `bridge_accesses_per_second` (through the bus), and
 * `bridge_available` = 1. Where the bridge is not built, `{ bridge_available: 0 }` alone
 * (bridgeStatus() from harness/devmem/devmem.ts says why).
 */
export async function benchDevmem(options: DevmemBenchOptions = {}): Promise<Record<string, number>> {
  if (!bridgeStatus().available) return { bridge_available: 0 };
  const rounds = options.rounds ?? 5;
  const targetMs = options.targetMs ?? 50;
  const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "wasm-hal-bench-"));
  const file = join(dir, "uart0.bin");
  writeFileSync(file, Buffer.alloc(PL011_MAP.size));
  const windows: DevmemDevice[] = [];
  const open = (): DevmemDevice => {
    const w = new DevmemDevice({ path: file, offset: 0, size: PL011_MAP.size, lock: false });
    windows.push(w);
    return w;
  };
  try {
    const floor = floorRunner();
    const direct = directRunner(open());
    const bus = busRunner(open());
    for (const r of [direct, bus]) {
      if (r.accesses !== floor.accesses) throw new Error(`the workload made ${floor.accesses} accesses on the floor but ${r.accesses} through the bridge: they must run the same path`);
    }
    // Warm up, then size each measurement to about targetMs of floor time.
    for (const r of [floor, direct, bus]) r.run(500);
    const iterations = Math.max(200, Math.round((targetMs * 1e6) / (timeNs(floor.run, 500) / 500)));

    const samples = { floor: [] as number[], direct: [] as number[], bus: [] as number[], directRatio: [] as number[], busRatio: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const perAccess = (r: Runner): number => timeNs(r.run, iterations) / (iterations * r.accesses);
      // Alternate the order so that no side always runs on a warmer machine.
      const order = round % 2 === 0 ? [floor, direct, bus] : [bus, direct, floor];
      const t = new Map(order.map((r) => [r, perAccess(r)]));
      const f = t.get(floor)!;
      samples.floor.push(f);
      samples.direct.push(t.get(direct)!);
      samples.bus.push(t.get(bus)!);
      samples.directRatio.push(t.get(direct)! / f);
      samples.busRatio.push(t.get(bus)! / f);
    }
    return {
      bridge_available: 1,
      accesses_per_iteration: floor.accesses,
      floor_ns: round2(median(samples.floor)),
      bridge_direct_ns: round2(median(samples.direct)),
      bridge_bus_ns: round2(median(samples.bus)),
      direct_ratio: round2(median(samples.directRatio)),
      bus_ratio: round2(median(samples.busRatio)),
      bridge_accesses_per_second: Math.round(1e9 / median(samples.bus)),
    };
  } finally {
    for (const w of windows) w.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The driver leaves CR enabled, and an init that finds it enabled first waits for BUSY: one
 * access more than on the floor, whose reads are all 0. Each bridge iteration starts from CR = 0
 * (one store outside the count, about 2 % of an iteration). */
const CR_OFFSET = 0x030;

function directRunner(window: DevmemDevice): Runner {
  const imports = (count: () => void): WebAssembly.Imports => ({
    env: {
      mmio_read: (addr: number, width: number) => { count(); return window.read((addr >>> 0) - UART, width); },
      mmio_write: (addr: number, value: number, width: number) => { count(); window.write((addr >>> 0) - UART, value >>> 0, width); },
      barrier: (kind: number) => { count(); window.barrier(kind); },
    },
  });
  const accesses = countAccesses(imports);
  window.write(CR_OFFSET, 0, 4);
  const { hal, ptr } = instantiate(imports(() => {}));
  return {
    run: (n) => {
      for (let i = 0; i < n; i++) {
        window.write(CR_OFFSET, 0, 4);
        workload(hal, ptr);
      }
    },
    accesses,
  };
}

function busRunner(window: DevmemDevice): Runner {
  const bus = new Bus({ clock: new VirtualClock() });
  bus.map({ name: "uart0", base: UART, size: PL011_MAP.size, device: window, map: PL011_MAP });
  const { hal, ptr } = instantiate(bus.imports);
  const once = (): void => {
    window.write(CR_OFFSET, 0, 4);
    bus.trace.clear();
    workload(hal, ptr);
  };
  once();
  const accesses = bus.trace.length;
  return { run: (n) => { for (let i = 0; i < n; i++) once(); }, accesses };
}
