// Bug: pl080_init waits for Configuration.E to read back 1 with no limit. A controller that never
// reports itself enabled (clock-gated, held in reset, the wrong address) hangs the caller for
// ever instead of getting ERR_TIMEOUT after PL080_ENABLE_POLL_LIMIT reads.
// Caught by: the access budget (toReturnWithin: the call does not return within 1000 accesses).
import { read32, write32 } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import { PL080_Configuration, PL080_Configuration_E, PL080_IntTCClear, PL080_IntErrClr } from "../assembly/generated/pl080";
import { OK, ERR_INVALID_ARG, ERR_TIMEOUT, PL080_CHANNELS } from "../assembly/generated/api";
import { haltAndDisable, ALL_CHANNELS } from "./parts/pl080";

export {
  pl080_set_memory_address, pl080_memcpy, pl080_sg, pl080_mem_to_periph, pl080_periph_to_mem, pl080_wait, pl080_stop,
} from "../assembly/pl080";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl080_init(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  write32(base + PL080_Configuration, PL080_Configuration_E);
  while ((read32(base + PL080_Configuration) & PL080_Configuration_E) == 0) {} // the defect: no limit
  let status = OK;
  for (let channel: u32 = 0; channel < PL080_CHANNELS; channel++) {
    if (!haltAndDisable(base, channel)) status = ERR_TIMEOUT;
  }
  write32(base + PL080_IntTCClear, ALL_CHANNELS);
  write32(base + PL080_IntErrClr, ALL_CHANNELS);
  return status;
}
