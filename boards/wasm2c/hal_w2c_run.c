/*
 * Plays a scenario file (boards/host/hal_scenario.h) through hal.wasm compiled to C by wasm2c,
 * with the natives core answering reads from the script and writing the trace:
 *
 *   hal-w2c-run [--trace FILE] SCENARIO
 *
 * The trace (docs/trace-format.md) goes to FILE, or to standard output with peeks; peeks go to
 * standard output; messages of calls that did not return go to standard error. Exit status:
 * 0 when every step ran (calls that threw included), 1 for a bad scenario, 2 for bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "hal_irq.h"
#include "hal_natives.h"
#include "hal_scenario.h"
#include "hal_w2c.h"

static void write_line(void *ctx, const char *line)
{
    FILE *f = ctx;
    fputs(line, f);
    fputc('\n', f);
}

static int call_export(void *ctx, const char *name, const uint32_t *args, uint32_t argc, int32_t *result,
                       char *error, size_t error_size)
{
    return hal_w2c_call(ctx, name, args, argc, result, error, error_size);
}

static uint8_t *linear_memory(void *ctx, uint32_t *size)
{
    return hal_w2c_memory(ctx, size);
}

int main(int argc, char **argv)
{
    const char *trace_path = NULL;
    const char *scenario_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc) {
            trace_path = argv[++i];
        } else if (argv[i][0] != '-' && scenario_path == NULL) {
            scenario_path = argv[i];
        } else {
            scenario_path = NULL;
            break;
        }
    }
    if (scenario_path == NULL) {
        fprintf(stderr, "usage: %s [--trace FILE] SCENARIO\n", argv[0]);
        return 2;
    }

    char error[512];
    hal_scenario *scenario = hal_scenario_load(scenario_path, error, sizeof error);
    if (scenario == NULL) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    size_t window_count;
    const hal_window *windows = hal_scenario_windows(scenario, &window_count);
    static hal_natives natives;
    hal_natives_init(&natives, windows, window_count);

    FILE *trace = NULL;
    if (trace_path != NULL) {
        trace = strcmp(trace_path, "-") == 0 ? stdout : fopen(trace_path, "w");
        if (trace == NULL) {
            perror(trace_path);
            hal_scenario_free(scenario);
            return 1;
        }
        hal_natives_set_trace(&natives, write_line, trace);
    }

    hal_w2c *module = hal_w2c_new(&natives);
    /* A scenario with interrupts: its scripted ISR raises lines into the pending set, and the
     * glue delivers them into hal_irq_dispatch where the scenario's mode says. */
    static hal_irq irq;
    if (hal_scenario_irq_mode(scenario) >= 0) {
        hal_irq_init(&irq, hal_scenario_irq_mode(scenario), &natives);
        if (hal_w2c_attach_irq(module, &irq) != 0) {
            fprintf(stderr, "%s: the scenario has interrupts, but the module has no hal_irq_dispatch\n", scenario_path);
            hal_scenario_free(scenario);
            return 1;
        }
        hal_scenario_attach_irq(scenario, &irq);
    }
    hal_module_ops ops = { call_export, linear_memory, module };
    int status = hal_scenario_run(scenario, &natives, &ops, stdout, stderr);
    hal_natives_trace_flush(&natives);
    if (trace != NULL && trace != stdout) fclose(trace);
    hal_scenario_free(scenario);
    return status;
}
