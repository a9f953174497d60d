// The exported, C-callable API of hal.wasm, the PrimeCell family's module. Every export takes and
// returns only i32/u32, so a WAMR host can call it with wasm_runtime_call_wasm. Status codes:
// registers/api.json. Each driver file exports exactly its C-callable functions; they are
// re-exported here. The STM32F4 family is a module of its own: assembly/stm32f4/index.ts.
export * from "./abi";
export * from "./pl011";
export * from "./pl061";
export * from "./pl022";
export * from "./pl080";
// Interrupts (docs/interrupts.md): these files also hold helpers the drivers share, so only their
// C-callable functions are named here.
export { hal_irq_controller } from "./irq";
export { hal_irq_dispatch } from "./irq-dispatch";
export { pl011_irq_open, pl011_irq_write, pl011_irq_read, pl011_irq_flush, pl011_irq_close } from "./pl011-irq";
export { pl061_irq_open, pl061_irq_watch, pl061_irq_take, pl061_irq_close } from "./pl061-irq";
export { pl080_irq_open, pl080_irq_status, pl080_irq_close } from "./pl080-irq";
export { pl022_irq_open, pl022_irq_transfer, pl022_irq_wait, pl022_irq_close } from "./pl022-irq";
