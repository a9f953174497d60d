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

/* ------------------------------------------------------------------------------------------ */
/* Interrupts (hal_irq.h): the module's hal_irq_dispatch, entered on the module's own thread.  */

/* The pending set, the dispatch export, and the exec env to enter it through: the one a native
 * was called with while the native runs, the main loop's between calls. */
static hal_irq *hal_wamr_irq;
static wasm_function_inst_t hal_wamr_irq_func;
static wasm_exec_env_t hal_wamr_irq_env;
/* Nonzero while an mmio native delivers: a trap then belongs to the interrupted call. */
static int hal_wamr_irq_in_native;
static char hal_wamr_irq_error[HAL_NATIVES_ERROR_SIZE];

/*
 * WAMR lets a native call back into the instance that called it, on the same thread and through
 * the same exec env (the native's first argument): the interpreter pushes a frame on that exec
 * env's wasm stack (AOT code runs on the native stack), and with hardware bound checks WAMR
 * refuses any other exec env there ("invalid exec env"). wasm_runtime_call_wasm() returns false
 * when the handler raised an exception; inside a native the exception is left set, so that
 * WAMR ends the interrupted export call with it when the native returns, as a trap in a handler
 * ends the interrupted call in Node. Between calls nothing unwinds: it is cleared and reported.
 */
static int hal_wamr_irq_dispatch(void *ctx, uint32_t line, int32_t *status)
{
    (void)ctx;
    wasm_exec_env_t exec_env = hal_wamr_irq_env;
    uint32_t argv[1] = { line };
    if (exec_env == NULL || hal_wamr_irq_func == NULL) {
        snprintf(hal_wamr_irq_error, sizeof hal_wamr_irq_error, "no exec env to run hal_irq_dispatch(%u) on", (unsigned)line);
        return 1;
    }
    if (!wasm_runtime_call_wasm(exec_env, hal_wamr_irq_func, 1, argv)) {
        wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
        const char *exception = wasm_runtime_get_exception(inst);
        snprintf(hal_wamr_irq_error, sizeof hal_wamr_irq_error, "hal_irq_dispatch(%u) did not return: %s", (unsigned)line,
                 exception != NULL ? exception : "unknown error");
        if (!hal_wamr_irq_in_native) wasm_runtime_clear_exception(inst);
        return 1;
    }
    *status = (int32_t)argv[0];
    return 0;
}

/* Before each access: delivers what hal_irq_boundary allows there. False when a handler
 * trapped: the access is not made and WAMR's exception ends the call. */
static int hal_wamr_boundary(wasm_exec_env_t exec_env, uint32_t op, uint32_t addr)
{
    wasm_exec_env_t outer_env = hal_wamr_irq_env;
    int outer_in_native = hal_wamr_irq_in_native;
    hal_wamr_irq_env = exec_env;
    hal_wamr_irq_in_native = 1;
    int result = hal_irq_boundary(hal_wamr_irq, op, addr);
    hal_wamr_irq_env = outer_env;
    hal_wamr_irq_in_native = outer_in_native;
    return result == 0;
}

bool hal_wamr_irq_attach(hal_irq *q, wasm_exec_env_t exec_env, char *error, size_t error_size)
{
    if (q == NULL) {
        hal_wamr_irq = NULL;
        hal_wamr_irq_func = NULL;
        hal_wamr_irq_env = NULL;
        return true;
    }
    wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
    wasm_function_inst_t func = wasm_runtime_lookup_function(inst, "hal_irq_dispatch");
    if (func == NULL || wasm_func_get_param_count(func, inst) != 1 || wasm_func_get_result_count(func, inst) != 1) {
        snprintf(error, error_size, "the module has no export hal_irq_dispatch(line) -> status (docs/abi.md)");
        return false;
    }
    hal_wamr_irq_func = func;
    /* Between calls, handlers run on the main loop's exec env. */
    hal_wamr_irq_env = exec_env;
    hal_irq_set_dispatch(q, hal_wamr_irq_dispatch, NULL);
    hal_wamr_irq = q;
    return true;
}

int hal_wamr_irq_poll(wasm_exec_env_t exec_env, char *error, size_t error_size)
{
    if (hal_wamr_irq == NULL) return 0;
    wasm_exec_env_t outer_env = hal_wamr_irq_env;
    if (exec_env != NULL) hal_wamr_irq_env = exec_env;
    int run = hal_irq_deliver(hal_wamr_irq);
    hal_wamr_irq_env = outer_env;
    if (run < 0) snprintf(error, error_size, "%s", hal_wamr_irq_error);
    return run;
}

/* ------------------------------------------------------------------------------------------ */
/* The three natives                                                                          */

static uint32_t hal_wamr_mmio_read(wasm_exec_env_t exec_env, uint32_t addr, uint32_t width)
{
    uint32_t value;
    if (hal_wamr_irq != NULL && !hal_wamr_boundary(exec_env, HAL_IRQ_OP_READ, addr)) return 0;
    if (hal_natives_read(hal_wamr_state, addr, width, &value) != HAL_NATIVES_OK) hal_wamr_refused(exec_env);
    return value;
}

static void hal_wamr_mmio_write(wasm_exec_env_t exec_env, uint32_t addr, uint32_t value, uint32_t width)
{
    if (hal_wamr_irq != NULL && !hal_wamr_boundary(exec_env, HAL_IRQ_OP_WRITE, addr)) return;
    if (hal_natives_write(hal_wamr_state, addr, value, width) != HAL_NATIVES_OK) hal_wamr_refused(exec_env);
}

static void hal_wamr_barrier(wasm_exec_env_t exec_env, uint32_t kind)
{
    if (hal_wamr_irq != NULL && !hal_wamr_boundary(exec_env, HAL_IRQ_OP_BARRIER, kind)) return;
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
    /* Interrupts that came while no call ran go first, as the Node harness delivers them. */
    if (hal_wamr_irq_poll(exec_env, error, error_size) < 0) return false;
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
    /* And those that came during the call without meeting a wait point. */
    if (hal_wamr_irq_poll(exec_env, error, error_size) < 0) return false;
    return true;
}
