// The interrupt bugs of the bug zoo (harness/zoo.ts): copies of the interrupt-driven PL011
// (assembly/pl011-irq.ts) with one defect each, the kind interrupt code ships with. Each is run
// through the exhaustive exploration of harness/explore.ts (the receive interrupt landed at every
// access boundary in turn, preemptive delivery) with the scenario's properties, the RX ring check
// and the interrupt checks; the real driver passes the same exploration. The fuzzer finds them
// too: its pl011-irq target (harness/fuzz/targets/pl011-irq.ts) makes interrupt timing a fuzz
// dimension, and `wasm-hal fuzz --zoo` fuzzes them on it (their driver names the target).
import type { ZooBug, ZooModule } from "./zoo.js";
import { exploreInterleavings } from "./explore.js";
import { pl011IrqExploration } from "./scenarios-irq.js";

/** The exploration's verdict on a module: null when every interleaving passes. */
function explorationFailure(module: ZooModule): string | null {
  const result = exploreInterleavings(pl011IrqExploration("preemptive", { modulePath: module.path }));
  if (result.failures.length === 0) return null;
  return `${result.failures.length} of ${result.tried} interleavings fail; the first:\n${result.failures[0]!.failure}`;
}

const bug = (name: string, broken: readonly string[], defect: string, caughtBy: string): ZooBug => ({
  name, driver: "pl011-irq", broken, defect, caughtBy, run: explorationFailure,
});

export const ZOO_IRQ: readonly ZooBug[] = [
  bug("pl011-irq-ack-before-read", ["hal_irq_dispatch"],
    "the handler clears RX and RT in ICR before reading MIS, so it never sees them and never drains the RX FIFO: received bytes stay there",
    "the exploration's property: every received byte reaches pl011_irq_read"),
  bug("pl011-irq-index-before-data", ["hal_irq_dispatch"],
    "the handler publishes the RX ring's head before it stores the character in the slot: a reader in between takes a stale byte",
    "the RX ring check at every access boundary"),
  bug("pl011-irq-imsc-rmw-unmasked", ["pl011_irq_write"],
    "pl011_irq_write changes IMSC (and the TX ring's tail) by read-modify-write without masking the line the handler, which also writes them, runs on",
    "checkMaskedReadModifyWrite / findInterruptRaces"),
  bug("pl011-irq-source-never-acked", ["hal_irq_dispatch"],
    "the handler does not acknowledge the receive error sources, which clear only through ICR: after a parity error the line never deasserts",
    "the interrupt storm check"),
  bug("pl011-irq-ack-no-dsb", ["hal_irq_dispatch"],
    "the handler returns without a DSB after its acknowledgement: the controller still sees the line asserted and enters it again for nothing",
    "checkNoSpuriousInterrupts"),
];
