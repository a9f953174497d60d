/*
 * A stand-in for WAMR's public header, for one purpose only: compiling this project's WAMR glue
 * (boards/wamr/hal_wamr.c, hal_wamr_native_lib.c, boards/linux/hal_run.c) in CI, where no WAMR
 * checkout is available (test/parity/toolchain.ts, checkBoardSources). It declares just the
 * types and functions those files use, with the signatures of WAMR 2.4's API as its
 * documentation gives them; the types are opaque and RuntimeInitArgs holds only the fields the
 * project sets. It is not WAMR's header and links with nothing: real builds use the
 * core/iwasm/include/wasm_export.h of the WAMR checkout passed as WAMR_ROOT
 * (boards/linux/CMakeLists.txt).
 */
#ifndef HAL_TEST_WAMR_API_STAND_IN_H
#define HAL_TEST_WAMR_API_STAND_IN_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hal_test_wamr_module *wasm_module_t;
typedef struct hal_test_wamr_module_inst *wasm_module_inst_t;
typedef struct hal_test_wamr_exec_env *wasm_exec_env_t;
typedef struct hal_test_wamr_function *wasm_function_inst_t;
typedef struct hal_test_wamr_memory *wasm_memory_inst_t;

typedef struct NativeSymbol {
    const char *symbol;
    void *func_ptr;
    const char *signature;
    void *attachment;
} NativeSymbol;

typedef enum { Alloc_With_Pool = 0, Alloc_With_Allocator, Alloc_With_System_Allocator } mem_alloc_type_t;

typedef union MemAllocOption {
    struct {
        void *heap_buf;
        uint32_t heap_size;
    } pool;
} MemAllocOption;

typedef struct RuntimeInitArgs {
    mem_alloc_type_t mem_alloc_type;
    MemAllocOption mem_alloc_option;
    const char *native_module_name;
    NativeSymbol *native_symbols;
    uint32_t n_native_symbols;
} RuntimeInitArgs;

typedef struct mem_alloc_info_t {
    uint32_t total_size;
    uint32_t total_free_size;
    uint32_t highmark_size;
} mem_alloc_info_t;

bool wasm_runtime_full_init(RuntimeInitArgs *init_args);
void wasm_runtime_destroy(void);
bool wasm_runtime_register_natives(const char *module_name, NativeSymbol *native_symbols, uint32_t n_native_symbols);
wasm_module_t wasm_runtime_load(uint8_t *buf, uint32_t size, char *error_buf, uint32_t error_buf_size);
void wasm_runtime_unload(wasm_module_t module);
wasm_module_inst_t wasm_runtime_instantiate(const wasm_module_t module, uint32_t default_stack_size,
                                            uint32_t host_managed_heap_size, char *error_buf, uint32_t error_buf_size);
void wasm_runtime_deinstantiate(wasm_module_inst_t module_inst);
wasm_exec_env_t wasm_runtime_create_exec_env(wasm_module_inst_t module_inst, uint32_t stack_size);
void wasm_runtime_destroy_exec_env(wasm_exec_env_t exec_env);
wasm_module_inst_t wasm_runtime_get_module_inst(wasm_exec_env_t exec_env);
wasm_function_inst_t wasm_runtime_lookup_function(const wasm_module_inst_t module_inst, const char *name);
uint32_t wasm_func_get_param_count(const wasm_function_inst_t func_inst, const wasm_module_inst_t module_inst);
uint32_t wasm_func_get_result_count(const wasm_function_inst_t func_inst, const wasm_module_inst_t module_inst);
bool wasm_runtime_call_wasm(wasm_exec_env_t exec_env, wasm_function_inst_t function, uint32_t argc, uint32_t argv[]);
void wasm_runtime_set_exception(wasm_module_inst_t module_inst, const char *exception);
const char *wasm_runtime_get_exception(wasm_module_inst_t module_inst);
void wasm_runtime_clear_exception(wasm_module_inst_t module_inst);
wasm_memory_inst_t wasm_runtime_get_default_memory(const wasm_module_inst_t module_inst);
uint64_t wasm_memory_get_cur_page_count(const wasm_memory_inst_t memory_inst);
uint64_t wasm_memory_get_bytes_per_page(const wasm_memory_inst_t memory_inst);
void *wasm_memory_get_base_address(const wasm_memory_inst_t memory_inst);
bool wasm_runtime_get_mem_alloc_info(mem_alloc_info_t *mem_alloc_info);

#endif /* HAL_TEST_WAMR_API_STAND_IN_H */
