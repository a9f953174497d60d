/*
 * hal-run: hal.wasm (or its AOT compilation) under WAMR on embedded Linux, driving real
 * registers through /dev/mem, a UIO node or any file, or a scenario's scripted answers.
 *
 *   hal-run [options] MODULE EXPORT [ARG...] [+ EXPORT [ARG...]]...
 *        calls in turn; prints "EXPORT(ARGS) = RESULT" for each. The pseudo-call "@wait MS" is the
 *        main loop idle for MS milliseconds, serving interrupts (--uio-irq) as they come
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
 *   --uio-irq LINE=PATH
 *        interrupt line LINE of the module (the line its driver was opened with) comes from the
 *        UIO node PATH (/dev/uioN), deferred (docs/interrupts-on-boards.md): the kernel's UIO
 *        driver masks the IRQ when it fires; at each wait point and between calls hal-run polls
 *        the node without blocking, reads the interrupt count, runs hal_irq_dispatch(LINE) and
 *        writes 1 to the node to unmask the IRQ again
 *   --uio-controller BASE
 *        a stand-in for the interrupt controller at BASE (0x400 bytes, the NVIC layout of
 *        registers/irqc.json), for hal_irq_controller(BASE, BASE + 0x80): a driver's set-enable
 *        (ISER) and clear-enable (ICER) bits for a --uio-irq line become writes of 1 and 0 to its
 *        node, so that the module masks its line through the kernel, which owns the real one
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
#include <poll.h>
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
#define MAX_CALLS 32
#define MAX_UIO_IRQS 8
#define UIO_CONTROLLER_SIZE 0x400u

static void usage(const char *program)
{
    fprintf(stderr,
            "usage: %s [--window NAME=BASE:SIZE[:BLOCK][@PATH[+OFFSET]]]... [--trace FILE] [--stack BYTES]\n"
            "       %*s [--pool BYTES] [--repeat N] [--uio-irq LINE=PATH]... [--uio-controller BASE]\n"
            "       %*s MODULE EXPORT [ARG...] [+ EXPORT [ARG...]]...   (EXPORT @wait MS: serve interrupts)\n"
            "       %s [--trace FILE] [--stack BYTES] [--pool BYTES] --scenario FILE MODULE\n",
            program, (int)strlen(program), "", (int)strlen(program), "", program);
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

/* ------------------------------------------------------------------------------------------ */
/* Interrupts from UIO nodes (deferred; boards/wamr/hal_irq.h)                                */

typedef struct {
    uint32_t line;
    int fd;
    const char *path;
} uio_irq;

static uio_irq uio_irqs[MAX_UIO_IRQS];
static size_t uio_count;
/* The stand-in controller's enable bits (--uio-controller). */
static uint32_t uio_enabled[UIO_CONTROLLER_SIZE / 4 / 32];

/* LINE=PATH, opened at once. */
static int open_uio_irq(char *spec)
{
    char *eq = strchr(spec, '=');
    if (eq == NULL || uio_count == MAX_UIO_IRQS) return 0;
    *eq = '\0';
    uio_irq *u = &uio_irqs[uio_count];
    if (!hal_parse_u32(spec, &u->line) || u->line >= HAL_IRQ_MAX_LINES) return 0;
    u->path = eq + 1;
    u->fd = open(u->path, O_RDWR | O_CLOEXEC);
    if (u->fd < 0) {
        fprintf(stderr, "%s: %s\n", u->path, strerror(errno));
        return -1;
    }
    uio_count++;
    return 1;
}

static uio_irq *uio_of(uint32_t line)
{
    for (size_t k = 0; k < uio_count; k++)
        if (uio_irqs[k].line == line) return &uio_irqs[k];
    return NULL;
}

/* The UIO convention: a 4-byte write of 1 unmasks the IRQ, of 0 masks it (the node's driver
 * must implement irqcontrol, as uio_pdrv_genirq does; there both are idempotent). */
static void uio_set_enabled(uio_irq *u, int on)
{
    int32_t value = on ? 1 : 0;
    if (write(u->fd, &value, sizeof value) != (ssize_t)sizeof value)
        fprintf(stderr, "%s: writing %d: %s\n", u->path, (int)value, strerror(errno));
}

static void uio_unmask(void *ctx, uint32_t line)
{
    (void)ctx;
    uio_irq *u = uio_of(line);
    if (u != NULL) uio_set_enabled(u, 1);
}

/* At each delivery point: the nodes that became readable have fired (and their IRQ is masked by
 * the kernel until the unmask above). The 4-byte read returns the total count of interrupts. */
static void uio_sample(void *ctx, hal_irq *q)
{
    (void)ctx;
    struct pollfd fds[MAX_UIO_IRQS];
    for (size_t k = 0; k < uio_count; k++) {
        fds[k].fd = uio_irqs[k].fd;
        fds[k].events = POLLIN;
        fds[k].revents = 0;
    }
    if (poll(fds, (nfds_t)uio_count, 0) <= 0) return;
    for (size_t k = 0; k < uio_count; k++) {
        if ((fds[k].revents & POLLIN) == 0) continue;
        int32_t count;
        if (read(fds[k].fd, &count, sizeof count) == (ssize_t)sizeof count) hal_irq_raise(q, uio_irqs[k].line, HAL_IRQ_MASKED);
    }
}

/* Blocks until a node fires or `ms` milliseconds pass; the next delivery reads it. */
static void uio_block(int ms)
{
    struct pollfd fds[MAX_UIO_IRQS];
    for (size_t k = 0; k < uio_count; k++) {
        fds[k].fd = uio_irqs[k].fd;
        fds[k].events = POLLIN;
        fds[k].revents = 0;
    }
    if (uio_count == 0) {
        struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
        nanosleep(&t, NULL);
        return;
    }
    (void)poll(fds, (nfds_t)uio_count, ms);
}

/* The stand-in controller: ISER words at 0x000, ICER words at 0x080 (registers/irqc.json). */
static int uio_controller_read(void *ctx, uint32_t addr, uint32_t width, uint32_t *value, char *why, size_t why_size)
{
    uint32_t offset = addr - *(const uint32_t *)ctx;
    (void)why;
    (void)why_size;
    uint32_t word = (offset & 0x7fu) / 4;
    *value = width == 4 && offset < 0x100u && word < sizeof uio_enabled / sizeof uio_enabled[0] ? uio_enabled[word] : 0;
    return 0;
}

static int uio_controller_write(void *ctx, uint32_t addr, uint32_t value, uint32_t width, char *why, size_t why_size)
{
    uint32_t offset = addr - *(const uint32_t *)ctx;
    if (width != 4 || (offset >= 0x20u && offset < 0x80u) || offset >= 0xa0u) return 0; /* other registers: ignored */
    int set = offset < 0x80u;
    uint32_t word = (offset & 0x1fu) / 4;
    for (uint32_t bit = 0; bit < 32; bit++) {
        if ((value & (1u << bit)) == 0) continue;
        uint32_t line = word * 32 + bit;
        uio_irq *u = uio_of(line);
        if (u == NULL) {
            snprintf(why, why_size, "line %u has no --uio-irq node", (unsigned)line);
            return 1;
        }
        uio_set_enabled(u, set);
        if (set)
            uio_enabled[word] |= 1u << bit;
        else
            uio_enabled[word] &= ~(1u << bit);
    }
    return 0;
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
    static uint32_t uio_controller_base;
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
        } else if (strcmp(option, "--uio-irq") == 0) {
            int opened = open_uio_irq(argv[i]);
            if (opened == 0) fprintf(stderr, "bad --uio-irq \"%s\": expected LINE=PATH, at most %d of them\n", value, MAX_UIO_IRQS);
            if (opened <= 0) return 2;
        } else if (strcmp(option, "--uio-controller") == 0 && hal_parse_u32(value, &uio_controller_base)
                   && window_count < MAX_WINDOWS) {
            static hal_device controller = { uio_controller_read, uio_controller_write, &uio_controller_base };
            hal_window *w = &windows[window_count++];
            w->name = "irqc";
            w->block = "irqc";
            w->base = uio_controller_base;
            w->size = UIO_CONTROLLER_SIZE;
            w->mapped = NULL;
            w->device = &controller;
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
    /* The calls: EXPORT [ARG...], separated by "+". */
    static struct {
        const char *name;
        uint32_t args[MAX_ARGS];
        uint32_t argc;
    } calls[MAX_CALLS];
    size_t call_count = 0;
    for (int k = i + 1; scenario_path == NULL && k < argc; k++) {
        if (call_count == 0 || strcmp(argv[k], "+") == 0) {
            if (strcmp(argv[k], "+") == 0) k++;
            if (k >= argc || call_count == MAX_CALLS || strcmp(argv[k], "+") == 0) {
                fprintf(stderr, "expected an export after \"+\", at most %d calls\n", MAX_CALLS);
                return 2;
            }
            calls[call_count].name = argv[k];
            calls[call_count].argc = 0;
            call_count++;
            continue;
        }
        uint32_t *count = &calls[call_count - 1].argc;
        if (*count == MAX_ARGS || !hal_parse_u32(argv[k], &calls[call_count - 1].args[*count])) {
            fprintf(stderr, "bad argument \"%s\": expected at most %d 32-bit integers\n", argv[k], MAX_ARGS);
            return 2;
        }
        (*count)++;
    }
    if (repeat > 0 && call_count != 1) {
        fprintf(stderr, "--repeat takes one call\n");
        return 2;
    }
    const char *export_name = call_count > 0 ? calls[0].name : NULL;
    const uint32_t *args = calls[0].args;
    uint32_t arg_count = calls[0].argc;

    char error[256];
    hal_scenario *scenario = NULL;
    if (scenario_path != NULL) {
        if (window_count > 0 || uio_count > 0) {
            fprintf(stderr, "--window, --uio-irq and --uio-controller do not go together with --scenario: the scenario declares its windows and interrupts\n");
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

    /* Interrupts: a scenario's scripted ISR, or UIO nodes. Handlers run on this thread, through
     * this exec env between calls and through the natives' own inside them. */
    static hal_irq irq;
    int irq_mode = scenario != NULL ? hal_scenario_irq_mode(scenario) : uio_count > 0 ? HAL_IRQ_DEFERRED : -1;
    if (irq_mode >= 0) {
        hal_irq_init(&irq, irq_mode, &natives);
        if (!hal_wamr_irq_attach(&irq, exec_env, error, sizeof error)) {
            fprintf(stderr, "%s: %s\n", module_path, error);
            goto done;
        }
        if (scenario != NULL) {
            hal_scenario_attach_irq(scenario, &irq);
        } else {
            hal_irq_set_sample(&irq, uio_sample, NULL);
            hal_irq_set_unmask(&irq, uio_unmask, NULL);
        }
    }

    if (scenario != NULL) {
        wamr_module m = { &natives, exec_env, inst };
        hal_module_ops ops = { call_export, linear_memory, &m };
        status = hal_scenario_run(scenario, &natives, &ops, stdout, stderr) == 0 ? 0 : 2;
    } else if (call_count > 1 || strcmp(export_name, "@wait") == 0) {
        status = 0;
        for (size_t c = 0; c < call_count && status == 0; c++) {
            if (strcmp(calls[c].name, "@wait") == 0) {
                /* The main loop, idle: serves interrupts as they come, for MS milliseconds. */
                uint32_t ms = calls[c].argc == 1 ? calls[c].args[0] : 0;
                double end = seconds_now() + ms / 1000.0;
                uint64_t before = irq.entries;
                for (;;) {
                    if (hal_wamr_irq_poll(exec_env, error, sizeof error) < 0) {
                        fprintf(stderr, "%s\n", error);
                        status = 1;
                        break;
                    }
                    double left = end - seconds_now();
                    if (left <= 0) break;
                    uio_block((int)(left * 1000.0) + 1);
                }
                printf("@wait(%u): %llu interrupts served\n", (unsigned)ms, (unsigned long long)(irq.entries - before));
                continue;
            }
            int32_t result;
            if (!hal_wamr_call(&natives, exec_env, calls[c].name, calls[c].args, calls[c].argc, &result, error, sizeof error)) {
                fprintf(stderr, "%s\n", error);
                status = wasm_runtime_lookup_function(inst, calls[c].name) == NULL ? 2 : 1;
                break;
            }
            printf("%s(", calls[c].name);
            for (uint32_t k = 0; k < calls[c].argc; k++) printf(k == 0 ? "0x%x" : ", 0x%x", (unsigned)calls[c].args[k]);
            printf(") = %d\n", (int)result);
        }
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
