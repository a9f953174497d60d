// The exports every module of the package carries besides its drivers (docs/abi.md 1.6): the
// contract's version and the static scratch buffer. Each family's index.ts re-exports them.
import { HAL_ABI_VERSION, HAL_SCRATCH_SIZE } from "./generated/api";

// A static buffer the host may fill before a call (bytes to send) or read after one (bytes
// received). The module allocates nothing at run time, so buffers live here or in host-chosen
// parts of linear memory.
const scratch = memory.data(<i32>HAL_SCRATCH_SIZE, 16);

/** Version of the import/export contract (docs/abi.md 1.6). */
export function hal_abi_version(): u32 {
  return HAL_ABI_VERSION;
}

/** Address in linear memory of the scratch buffer. */
export function hal_scratch(): u32 {
  return <u32>scratch;
}

/** Size in bytes of the scratch buffer (at least 4096). */
export function hal_scratch_size(): u32 {
  return HAL_SCRATCH_SIZE;
}
