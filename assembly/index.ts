// The exported, C-callable API of hal.wasm, the PrimeCell family's module. Every export takes and
// returns only i32/u32, so a WAMR host can call it with wasm_runtime_call_wasm. Status codes:
// registers/api.json. Each driver file exports exactly its C-callable functions; they are
// re-exported here. The STM32F4 family is a module of its own: assembly/stm32f4/index.ts.
export * from "./abi";
export * from "./pl011";
export * from "./pl061";
export * from "./pl022";
export * from "./pl080";
