// The exported, C-callable API of stm32f4.wasm, the STM32F4 family's module: a board links only
// its own family's drivers. Same ABI as hal.wasm (docs/abi.md): imports env.mmio_read,
// env.mmio_write and env.barrier; exports i32/u32 functions only. Status codes: registers/api.json;
// the family's constants: registers/api-stm32f4.json; reference: docs/drivers/stm32f4.md.
export * from "../abi";
export * from "./rcc";
export * from "./gpio";
export * from "./usart";
export * from "./spi";
export * from "./dma";
