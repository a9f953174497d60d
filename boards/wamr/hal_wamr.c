/* The natives of hal_natives.c registered with WAMR (hal_wamr.h). */
#include "hal_wamr.h"

#include <stdio.h>
#include <string.h>

/* The natives' state for every module instance (see hal_wamr.h for why it is not per call). */
static hal_natives *hal_wamr_state;

/* A refused access ends the export call: WAMR checks for an exception after every native call,
 * in the interpreters and in AOT code, and unwinds with it. */
static void hal_wamr_refused(wasm_exec_env_t exec_env)
{
    wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), hal_natives_error(hal_wamr_state));
}

static uint32_t hal_wamr_mmio_read(wasm_exec_env_t exec_env, uint32_t addr, uint32_t width)
{
    uint32_t value;
    if (hal_natives_read(hal_wamr_state, addr, width, &value) != HAL_NATIVES_OK) hal_wamr_refused(exec_env);
    return value;
}

static void hal_wamr_mmio_write(wasm_exec_env_t exec_env, uint32_t addr, uint32_t value, uint32_t width)
{
    if (hal_natives_write(hal_wamr_state, addr, value, width) != HAL_NATIVES_OK) hal_wamr_refused(exec_env);
}

static void hal_wamr_barrier(wasm_exec_env_t exec_env, uint32_t kind)
{
    if (hal_natives_barrier(hal_wamr_state, kind) != HAL_NATIVES_OK) hal_wamr_refused(exec_env);
}

/* Writable, not const: wasm_runtime_register_natives() sorts the array in place. */
static NativeSymbol hal_wamr_symbols[] = {
    { "mmio_read", (void *)hal_wamr_mmio_read, "(ii)i", NULL },
    { "mmio_write", (void *)hal_wamr_mmio_write, "(iii)", NULL },
    { "barrier", (void *)hal_wamr_barrier, "(i)", NULL },
};

NativeSymbol *hal_wamr_native_symbols(hal_natives *n, uint32_t *count)
{
    hal_wamr_state = n;
    *count = (uint32_t)(sizeof hal_wamr_symbols / sizeof hal_wamr_symbols[0]);
    return hal_wamr_symbols;
}

bool hal_wamr_register(hal_natives *n)
{
    uint32_t count;
    NativeSymbol *symbols = hal_wamr_native_symbols(n, &count);
    return wasm_runtime_register_natives("env", symbols, count);
}

bool hal_wamr_call(hal_natives *n, wasm_exec_env_t exec_env, const char *name, const uint32_t *args,
                   uint32_t argc, int32_t *result, char *error, size_t error_size)
{
    wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
    wasm_function_inst_t func = wasm_runtime_lookup_function(inst, name);
    if (func == NULL) {
        snprintf(error, error_size, "the module has no export %s", name);
        return false;
    }
    uint32_t params = wasm_func_get_param_count(func, inst);
    uint32_t results = wasm_func_get_result_count(func, inst);
    if (params != argc || results > 1) {
        snprintf(error, error_size, "%s takes %u arguments and returns %u values, not %u arguments and one i32",
                 name, (unsigned)params, (unsigned)results, (unsigned)argc);
        return false;
    }
    /* argv holds the arguments in and the result out: at least one cell. */
    uint32_t argv[16] = { 0 };
    if (argc > sizeof argv / sizeof argv[0]) {
        snprintf(error, error_size, "%s: %u arguments are more than this host passes", name, (unsigned)argc);
        return false;
    }
    if (argc > 0) memcpy(argv, args, argc * sizeof args[0]);
    hal_natives_trace_call(n, name, args, argc);
    if (!wasm_runtime_call_wasm(exec_env, func, argc, argv)) {
        hal_natives_trace_threw(n);
        const char *exception = wasm_runtime_get_exception(inst);
        snprintf(error, error_size, "%s did not return: %s", name, exception != NULL ? exception : "unknown error");
        wasm_runtime_clear_exception(inst);
        return false;
    }
    *result = results == 1 ? (int32_t)argv[0] : 0;
    hal_natives_trace_return(n, *result);
    return true;
}
