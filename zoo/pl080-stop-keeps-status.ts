// Bug: pl080_stop halts and disables the channel but leaves its terminal-count and error status
// set. The TRM keeps both until IntTCClear / IntErrClr clear them (DDI 0196G 3.4), so the outcome
// of the abandoned transfer outlives it: a later pl080_wait on the idle channel reports the error
// a transfer nobody waits for any more met, and a terminal count stays pending.
// Caught by: the fuzz target's postcondition of pl080_stop (no status left on the channel), and
// the scenario below (pl080_wait after the stop returns OK).
import { isValidBase } from "../assembly/common";
import { OK, ERR_INVALID_ARG, ERR_TIMEOUT, PL080_CHANNELS } from "../assembly/generated/api";
import { haltAndDisable } from "./parts/pl080";

export {
  pl080_set_memory_address, pl080_init, pl080_memcpy, pl080_sg, pl080_mem_to_periph, pl080_periph_to_mem, pl080_wait,
} from "../assembly/pl080";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl080_stop(base: u32, channel: u32): i32 {
  if (!isValidBase(base) || channel >= PL080_CHANNELS) return ERR_INVALID_ARG;
  const drained = haltAndDisable(base, channel);
  return drained ? OK : ERR_TIMEOUT;
}
