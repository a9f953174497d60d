/*
 * hal-run: hal.wasm (or its AOT compilation) under WAMR on embedded Linux, driving real
 * registers through /dev/mem, a UIO node or any file, or a scenario's scripted answers.
 *
 *   hal-run [options] MODULE EXPORT [ARG...]     one call; prints "EXPORT(ARGS) = RESULT"
 *   hal-run [options] --scenario FILE MODULE     a scenario (boards/host/hal_scenario.h)
 *
 *   --window NAME=BASE:SIZE[:BLOCK][@PATH[+OFFSET]]
 *        lets the driver reach BASE..BASE+SIZE-1, mapped from PATH (default /dev/mem) at OFFSET
 *        (default BASE: /dev/mem's offsets are physical addresses; a UIO map is at N * page size)
 *   --trace FILE   the trace (docs/trace-format.md); "-" for standard output
 *   --stack BYTES  WAMR's stack for the call (default 4096)
 *   --pool BYTES   run WAMR on one fixed pool of that size, as a microcontroller does, and
 *                  print the most of it ever used (default: the system allocator)
 *   --repeat N     call the export N times and print the time per call and per bus access
 *
 * ARGs are 32-bit integers in decimal or 0x hex. Exit status: 0 when the call returned (its
 * result is printed, negative status codes included), 1 when it did not (trap, refused access),
 * 2 for bad usage or a module that does not load. Build: boards/linux/CMakeLists.txt against
 * a WAMR checkout (docs/deploy.md, "Building").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hal_natives.h"
#include "hal_scenario.h"
#include "hal_wamr.h"
#include "wasm_export.h"

#define MAX_WINDOWS 16
#define MAX_ARGS 12

static void usage(const char *program)
{
    fprintf(stderr,
            "usage: %s [--window NAME=BASE:SIZE[:BLOCK][@PATH[+OFFSET]]]... [--trace FILE] [--stack BYTES]\n"
            "       %*s [--pool BYTES] [--repeat N] MODULE EXPORT [ARG...]\n"
            "       %s [--trace FILE] [--stack BYTES] [--pool BYTES] --scenario FILE MODULE\n",
            program, (int)strlen(program), "", program);
}

/* NAME=BASE:SIZE[:BLOCK][@PATH[+OFFSET]], mapped at once. */
static int map_window(char *spec, hal_window *w)
{
    char *path = "/dev/mem";
    char *offset_text = NULL;
    char *at = strchr(spec, '@');
    if (at != NULL) {
        *at = '\0';
        path = at + 1;
        char *plus = strrchr(path, '+');
        if (plus != NULL) {
            *plus = '\0';
            offset_text = plus + 1;
        }
    }
    char *eq = strchr(spec, '=');
    if (eq == NULL) return 0;
    *eq = '\0';
    w->name = spec;
    char *base_text = eq + 1;
    char *size_text = strchr(base_text, ':');
    if (size_text == NULL) return 0;
    *size_text++ = '\0';
    char *block = strchr(size_text, ':');
    if (block != NULL) *block++ = '\0';
    w->block = block != NULL && strcmp(block, "none") != 0 ? block : NULL;
    uint32_t offset;
    if (!hal_parse_u32(base_text, &w->base) || !hal_parse_u32(size_text, &w->size) || w->size == 0) return 0;
    offset = w->base;
    if (offset_text != NULL && !hal_parse_u32(offset_text, &offset)) return 0;

    /* O_SYNC: on /dev/mem, uncached. mmap wants a page-aligned offset. */
    int fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    long page = sysconf(_SC_PAGESIZE);
    off_t aligned = (off_t)(offset & ~(uint32_t)(page - 1));
    size_t lead = offset - (uint32_t)aligned;
    void *p = mmap(NULL, lead + w->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, aligned);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "mmap of %s at 0x%llx: %s\n", path, (unsigned long long)aligned, strerror(errno));
        return -1;
    }
    w->mapped = (volatile uint8_t *)p + lead;
    w->device = NULL;
    return 1;
}

static void write_line(void *ctx, const char *line)
{
    FILE *f = ctx;
    fputs(line, f);
    fputc('\n', f);
}

/* The module as the scenario player sees it. */
typedef struct {
    hal_natives *natives;
    wasm_exec_env_t exec_env;
    wasm_module_inst_t inst;
} wamr_module;

static int call_export(void *ctx, const char *name, const uint32_t *args, uint32_t argc, int32_t *result,
                       char *error, size_t error_size)
{
    wamr_module *m = ctx;
    if (wasm_runtime_lookup_function(m->inst, name) == NULL) {
        snprintf(error, error_size, "the module has no export %s", name);
        return 2;
    }
    return hal_wamr_call(m->natives, m->exec_env, name, args, argc, result, error, error_size) ? 0 : 1;
}

static uint8_t *linear_memory(void *ctx, uint32_t *size)
{
    wamr_module *m = ctx;
    wasm_memory_inst_t memory = wasm_runtime_get_default_memory(m->inst);
    *size = (uint32_t)(wasm_memory_get_cur_page_count(memory) * wasm_memory_get_bytes_per_page(memory));
    return wasm_memory_get_base_address(memory);
}

static uint8_t *read_module(const char *path, uint32_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = length > 0 ? malloc((size_t)length) : NULL;
    if (bytes == NULL || fread(bytes, 1, (size_t)length, f) != (size_t)length) {
        fprintf(stderr, "%s: cannot read it\n", path);
        free(bytes);
        bytes = NULL;
    }
    fclose(f);
    *size = (uint32_t)length;
    return bytes;
}

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    static hal_window windows[MAX_WINDOWS];
    size_t window_count = 0;
    const char *trace_path = NULL, *scenario_path = NULL;
    uint32_t stack_size = 4096, pool_size = 0, repeat = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *option = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) {
            usage(argv[0]);
            return 2;
        }
        i++;
        if (strcmp(option, "--window") == 0) {
            if (window_count == MAX_WINDOWS) {
                fprintf(stderr, "at most %d windows\n", MAX_WINDOWS);
                return 2;
            }
            char *spec = argv[i];
            int mapped = map_window(spec, &windows[window_count]);
            if (mapped == 0) fprintf(stderr, "bad window \"%s\": expected NAME=BASE:SIZE[:BLOCK][@PATH[+OFFSET]]\n", value);
            if (mapped <= 0) return 2;
            window_count++;
        } else if (strcmp(option, "--trace") == 0) {
            trace_path = value;
        } else if (strcmp(option, "--scenario") == 0) {
            scenario_path = value;
        } else if (strcmp(option, "--stack") == 0 && hal_parse_u32(value, &stack_size)) {
        } else if (strcmp(option, "--pool") == 0 && hal_parse_u32(value, &pool_size)) {
        } else if (strcmp(option, "--repeat") == 0 && hal_parse_u32(value, &repeat) && repeat > 0) {
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (i >= argc || (scenario_path == NULL && i + 1 >= argc) || (scenario_path != NULL && i + 1 != argc)) {
        usage(argv[0]);
        return 2;
    }
    const char *module_path = argv[i];
    const char *export_name = scenario_path == NULL ? argv[i + 1] : NULL;
    uint32_t args[MAX_ARGS];
    uint32_t arg_count = 0;
    for (int k = i + 2; scenario_path == NULL && k < argc; k++) {
        if (arg_count == MAX_ARGS || !hal_parse_u32(argv[k], &args[arg_count])) {
            fprintf(stderr, "bad argument \"%s\": expected at most %d 32-bit integers\n", argv[k], MAX_ARGS);
            return 2;
        }
        arg_count++;
    }

    char error[256];
    hal_scenario *scenario = NULL;
    if (scenario_path != NULL) {
        if (window_count > 0) {
            fprintf(stderr, "--window and --scenario do not go together: the scenario declares its windows\n");
            return 2;
        }
        scenario = hal_scenario_load(scenario_path, error, sizeof error);
        if (scenario == NULL) {
            fprintf(stderr, "%s\n", error);
            return 2;
        }
    }
    static hal_natives natives;
    if (scenario != NULL) {
        size_t count;
        const hal_window *scripted = hal_scenario_windows(scenario, &count);
        hal_natives_init(&natives, scripted, count);
    } else {
        /* No --window: every access is refused rather than let through unchecked on Linux,
         * where a physical address is no pointer. */
        hal_natives_init(&natives, windows, window_count);
    }
    FILE *trace = NULL;
    if (trace_path != NULL) {
        trace = strcmp(trace_path, "-") == 0 ? stdout : fopen(trace_path, "w");
        if (trace == NULL) {
            perror(trace_path);
            return 2;
        }
        hal_natives_set_trace(&natives, write_line, trace);
    }

    /* The runtime: the system allocator, or one fixed pool as on a microcontroller. */
    RuntimeInitArgs init;
    memset(&init, 0, sizeof init);
    void *pool = NULL;
    if (pool_size > 0) {
        pool = malloc(pool_size);
        init.mem_alloc_type = Alloc_With_Pool;
        init.mem_alloc_option.pool.heap_buf = pool;
        init.mem_alloc_option.pool.heap_size = pool_size;
    } else {
        init.mem_alloc_type = Alloc_With_System_Allocator;
    }
    uint32_t symbol_count;
    init.native_module_name = "env";
    init.native_symbols = hal_wamr_native_symbols(&natives, &symbol_count);
    init.n_native_symbols = symbol_count;
    if (!wasm_runtime_full_init(&init)) {
        fprintf(stderr, "WAMR did not initialise%s\n", pool_size > 0 ? " (pool too small?)" : "");
        return 2;
    }

    int status = 2;
    uint32_t module_size;
    uint8_t *module_bytes = read_module(module_path, &module_size);
    wasm_module_t module = NULL;
    wasm_module_inst_t inst = NULL;
    wasm_exec_env_t exec_env = NULL;
    if (module_bytes == NULL) goto done;
    module = wasm_runtime_load(module_bytes, module_size, error, sizeof error);
    if (module == NULL) {
        fprintf(stderr, "%s: %s\n", module_path, error);
        goto done;
    }
    /* No app heap: the module allocates nothing (--runtime stub). */
    inst = wasm_runtime_instantiate(module, stack_size, 0, error, sizeof error);
    if (inst == NULL) {
        fprintf(stderr, "%s: %s\n", module_path, error);
        goto done;
    }
    exec_env = wasm_runtime_create_exec_env(inst, stack_size);
    if (exec_env == NULL) {
        fprintf(stderr, "cannot create an execution environment with a %u-byte stack\n", (unsigned)stack_size);
        goto done;
    }

    if (scenario != NULL) {
        wamr_module m = { &natives, exec_env, inst };
        hal_module_ops ops = { call_export, linear_memory, &m };
        status = hal_scenario_run(scenario, &natives, &ops, stdout, stderr) == 0 ? 0 : 2;
    } else if (repeat > 0) {
        int32_t result = 0;
        double start = seconds_now();
        uint32_t done_calls = 0;
        for (; done_calls < repeat; done_calls++) {
            if (!hal_wamr_call(&natives, exec_env, export_name, args, arg_count, &result, error, sizeof error)) break;
        }
        double elapsed = seconds_now() - start;
        hal_natives_trace_flush(&natives);
        if (done_calls < repeat) {
            fprintf(stderr, "%s\n", error);
            status = 1;
        } else {
            unsigned long long accesses = (unsigned long long)natives.accesses;
            printf("%s: %u calls, %.1f ns per call, %llu accesses, %.1f ns per access (the driver's own work included)\n",
                   export_name, (unsigned)repeat, elapsed * 1e9 / repeat, accesses,
                   accesses > 0 ? elapsed * 1e9 / (double)accesses : 0.0);
            status = 0;
        }
    } else {
        int32_t result;
        if (hal_wamr_call(&natives, exec_env, export_name, args, arg_count, &result, error, sizeof error)) {
            printf("%s(", export_name);
            for (uint32_t k = 0; k < arg_count; k++) printf(k == 0 ? "0x%x" : ", 0x%x", (unsigned)args[k]);
            printf(") = %d\n", (int)result);
            status = 0;
        } else {
            fprintf(stderr, "%s\n", error);
            status = wasm_runtime_lookup_function(inst, export_name) == NULL ? 2 : 1;
        }
    }
    hal_natives_trace_flush(&natives);
    if (pool_size > 0) {
        mem_alloc_info_t info;
        if (wasm_runtime_get_mem_alloc_info(&info))
            fprintf(stderr, "pool: %u bytes, at most %u used\n", (unsigned)info.total_size, (unsigned)info.highmark_size);
    }

done:
    if (exec_env != NULL) wasm_runtime_destroy_exec_env(exec_env);
    if (inst != NULL) wasm_runtime_deinstantiate(inst);
    if (module != NULL) wasm_runtime_unload(module);
    free(module_bytes);
    wasm_runtime_destroy();
    free(pool);
    if (trace != NULL && trace != stdout) fclose(trace);
    hal_scenario_free(scenario);
    return status;
}
