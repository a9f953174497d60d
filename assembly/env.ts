// The module's only contact with hardware: three functions imported from module "env".
// This is the ABI of docs/abi.md; boards (WAMR natives, wasm2c hosts) and the Node harness
// implement exactly these. No other file may declare an import.

/** One bus read of `width` bytes (1, 2 or 4) at physical address `addr`, zero-extended. */
// @ts-ignore: decorator
@external("env", "mmio_read")
export declare function mmio_read(addr: u32, width: u32): u32;

/** One bus write of the low `width` bytes of `value` at physical address `addr`. */
// @ts-ignore: decorator
@external("env", "mmio_write")
export declare function mmio_write(addr: u32, value: u32, width: u32): void;

/** A memory barrier: 0 = DMB, 1 = DSB, 2 = ISB (the ARM instructions of the same names). */
// @ts-ignore: decorator
@external("env", "barrier")
export declare function barrier(kind: u32): void;
