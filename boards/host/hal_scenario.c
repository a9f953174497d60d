/* Scenario files and the scripted device that answers reads from them (hal_scenario.h). */
#include "hal_scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SCENARIO_HEADER "wasm-hal-scenario 1"
#define MAX_WORDS 16
#define TOO_MANY_WORDS ((size_t)-1)
#define MAX_CALL_ARGS 12

typedef struct {
    uint32_t value;
    uint64_t count;
} answer;

typedef struct {
    uint32_t line;
    uint64_t at;
} raise_at;

struct hal_scenario {
    char *path;
    char *text;
    /* The words of each line, split in place in `text`: words[i * MAX_WORDS + k]. */
    char **words;
    size_t *word_counts;
    size_t line_count;
    hal_window *windows;
    char **window_names;
    size_t window_count;
    answer *answers;
    size_t answer_count;
    /* The scripted device: the next answer and how many of its count are used. */
    size_t next_answer;
    uint64_t used_of_next;
    uint64_t reads;
    hal_device device;
    /* Interrupts: the mode (-1: none), the scripted raises and the next one to make. */
    int irq_mode;
    raise_at *raises;
    size_t raise_count;
    size_t next_raise;
    hal_irq *irq;
};

/* ------------------------------------------------------------------------------------------ */
/* The scripted device                                                                        */

static int scripted_read(void *ctx, uint32_t addr, uint32_t width, uint32_t *value, char *why, size_t why_size)
{
    hal_scenario *s = ctx;
    (void)addr;
    (void)width;
    while (s->next_answer < s->answer_count && s->used_of_next == s->answers[s->next_answer].count) {
        s->next_answer++;
        s->used_of_next = 0;
    }
    if (s->next_answer == s->answer_count) {
        snprintf(why, why_size, "no scripted answer left for read #%llu", (unsigned long long)s->reads);
        return 1;
    }
    *value = s->answers[s->next_answer].value;
    s->used_of_next++;
    s->reads++;
    return 0;
}

static int scripted_write(void *ctx, uint32_t addr, uint32_t value, uint32_t width, char *why, size_t why_size)
{
    (void)ctx;
    (void)addr;
    (void)value;
    (void)width;
    (void)why;
    (void)why_size;
    return 0;
}

/* The scripted ISR, at every access boundary: the raises due by now, as the board's ISR would
 * mask the line and mark it pending. */
static void scripted_isr(void *ctx, hal_irq *q)
{
    hal_scenario *s = ctx;
    while (s->next_raise < s->raise_count && s->raises[s->next_raise].at <= q->boundaries) {
        hal_irq_raise(q, s->raises[s->next_raise].line, HAL_IRQ_MASKED);
        s->next_raise++;
    }
}

int hal_scenario_irq_mode(const hal_scenario *s)
{
    return s->irq_mode;
}

void hal_scenario_attach_irq(hal_scenario *s, hal_irq *q)
{
    s->irq = q;
    hal_irq_set_probe(q, q == NULL ? NULL : scripted_isr, s);
}

size_t hal_scenario_raises_left(const hal_scenario *s)
{
    return s->raise_count - s->next_raise;
}

uint64_t hal_scenario_answers_left(const hal_scenario *s)
{
    uint64_t left = 0;
    for (size_t i = s->next_answer; i < s->answer_count; i++) left += s->answers[i].count;
    return left - (s->next_answer < s->answer_count ? s->used_of_next : 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading the file                                                                           */

static void fail_at(char *error, size_t error_size, const char *path, size_t line, const char *fmt, ...)
{
    int n = snprintf(error, error_size, "%s:%zu: ", path, line);
    if (n < 0 || (size_t)n >= error_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error + n, error_size - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Splits a line into words in place; returns their number, or TOO_MANY_WORDS past MAX_WORDS. */
static size_t split_words(char *line, char **words)
{
    size_t count = 0;
    char *p = line;
    while (*p != '\0' && count < MAX_WORDS) {
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (*p == '\0') break;
        words[count++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r') p++;
        if (*p != '\0') *p++ = '\0';
    }
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    return *p == '\0' ? count : TOO_MANY_WORDS;
}

/* A 32-bit value: decimal, -decimal or 0x hex. */
int hal_parse_u32(const char *word, uint32_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(word, &end, 0);
    if (errno != 0 || end == word || *end != '\0' || v < -2147483648LL || v > 4294967295LL) return 0;
    *out = (uint32_t)v;
    return 1;
}

static int parse_count(const char *word, uint64_t *out)
{
    if (word[0] != 'x') return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(word + 1, &end, 10);
    if (errno != 0 || end == word + 1 || *end != '\0' || v == 0) return 0;
    *out = v;
    return 1;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *read_file(const char *path, char *error, size_t error_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t got;
    while (text != NULL && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(text, cap * 2);
            if (bigger == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (text == NULL) {
        snprintf(error, error_size, "%s: out of memory", path);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

void hal_scenario_free(hal_scenario *s)
{
    if (s == NULL) return;
    free(s->path);
    free(s->text);
    free(s->words);
    free(s->word_counts);
    free(s->windows);
    free(s->window_names);
    free(s->answers);
    free(s->raises);
    free(s);
}

hal_scenario *hal_scenario_load(const char *path, char *error, size_t error_size)
{
    hal_scenario *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = malloc(strlen(path) + 1)) == NULL) {
        snprintf(error, error_size, "%s: out of memory", path);
        free(s);
        return NULL;
    }
    strcpy(s->path, path);
    if ((s->text = read_file(path, error, error_size)) == NULL) goto fail;

    /* Lines, then words, split in place. */
    size_t cap = 1;
    for (char *p = s->text; *p != '\0'; p++) cap += *p == '\n';
    s->words = calloc(cap * MAX_WORDS, sizeof *s->words);
    s->word_counts = calloc(cap, sizeof *s->word_counts);
    s->windows = calloc(cap, sizeof *s->windows);
    s->answers = calloc(cap, sizeof *s->answers);
    s->raises = calloc(cap, sizeof *s->raises);
    s->irq_mode = -1;
    if (s->words == NULL || s->word_counts == NULL || s->windows == NULL || s->answers == NULL || s->raises == NULL) {
        snprintf(error, error_size, "%s: out of memory", path);
        goto fail;
    }
    int header = 0;
    for (char *p = s->text; *p != '\0';) {
        char *nl = strchr(p, '\n');
        if (nl != NULL) *nl = '\0';
        if (s->line_count == 0) header = strcmp(p, SCENARIO_HEADER) == 0 || strcmp(p, SCENARIO_HEADER "\r") == 0;
        size_t i = s->line_count++;
        s->word_counts[i] = split_words(p, &s->words[i * MAX_WORDS]);
        if (s->word_counts[i] == TOO_MANY_WORDS) {
            fail_at(error, error_size, path, i + 1, "more than %d words on a line", MAX_WORDS);
            goto fail;
        }
        if (nl == NULL) break;
        p = nl + 1;
    }
    if (!header) {
        fail_at(error, error_size, path, 1, "expected \"%s\" as the first line", SCENARIO_HEADER);
        goto fail;
    }

    /* Windows and answers; the steps are checked as they run. */
    int seen_step = 0;
    for (size_t i = 1; i < s->line_count; i++) {
        char **words = &s->words[i * MAX_WORDS];
        size_t n = s->word_counts[i];
        if (n == 0 || words[0][0] == '#') continue;
        if (strcmp(words[0], "window") == 0) {
            hal_window *w = &s->windows[s->window_count];
            if (seen_step) {
                fail_at(error, error_size, path, i + 1, "window after the first step: expected every window first");
                goto fail;
            }
            if (n != 5 || !hal_parse_u32(words[2], &w->base) || !hal_parse_u32(words[3], &w->size) || w->size == 0) {
                fail_at(error, error_size, path, i + 1, "expected \"window NAME BASE SIZE BLOCK\"");
                goto fail;
            }
            /* The name and block point into the file text, which the scenario keeps. */
            w->name = words[1];
            w->block = strcmp(words[4], "none") == 0 ? NULL : words[4];
            w->device = &s->device;
            s->window_count++;
        } else if (strcmp(words[0], "answer") == 0) {
            answer *a = &s->answers[s->answer_count];
            a->count = 1;
            if (n < 2 || n > 3 || !hal_parse_u32(words[1], &a->value) || (n == 3 && !parse_count(words[2], &a->count))) {
                fail_at(error, error_size, path, i + 1, "expected \"answer VALUE\" or \"answer VALUE xCOUNT\"");
                goto fail;
            }
            s->answer_count++;
        } else if (strcmp(words[0], "interrupts") == 0) {
            int mode = n == 2 && strcmp(words[1], "deferred") == 0 ? HAL_IRQ_DEFERRED
                       : n == 2 && strcmp(words[1], "preemptive") == 0 ? HAL_IRQ_PREEMPTIVE : -1;
            if (mode < 0 || s->irq_mode >= 0) {
                fail_at(error, error_size, path, i + 1, "expected one \"interrupts deferred\" or \"interrupts preemptive\"");
                goto fail;
            }
            s->irq_mode = mode;
        } else if (strcmp(words[0], "raise") == 0) {
            raise_at *r = &s->raises[s->raise_count];
            char *end;
            errno = 0;
            unsigned long long at = n == 3 ? strtoull(words[2], &end, 10) : 0;
            if (n != 3 || !hal_parse_u32(words[1], &r->line) || r->line >= HAL_IRQ_MAX_LINES || errno != 0 || *end != '\0'
                || end == words[2]) {
                fail_at(error, error_size, path, i + 1, "expected \"raise LINE BOUNDARY\" (a line below %d, a decimal count)", HAL_IRQ_MAX_LINES);
                goto fail;
            }
            r->at = at;
            if (s->raise_count > 0 && at < s->raises[s->raise_count - 1].at) {
                fail_at(error, error_size, path, i + 1, "raise at boundary %llu after one at %llu: expected increasing boundaries",
                        at, (unsigned long long)s->raises[s->raise_count - 1].at);
                goto fail;
            }
            s->raise_count++;
        } else {
            seen_step = 1;
        }
    }
    s->device.read = scripted_read;
    s->device.write = scripted_write;
    s->device.ctx = s;
    return s;

fail:
    hal_scenario_free(s);
    return NULL;
}

const hal_window *hal_scenario_windows(const hal_scenario *s, size_t *count)
{
    *count = s->window_count;
    return s->windows;
}

/* ------------------------------------------------------------------------------------------ */
/* Running it                                                                                 */

int hal_scenario_run(hal_scenario *s, hal_natives *n, const hal_module_ops *ops, FILE *out, FILE *err)
{
    char message[512];
    for (size_t i = 1; i < s->line_count; i++) {
        char **words = &s->words[i * MAX_WORDS];
        size_t count = s->word_counts[i];
        size_t line = i + 1;
        if (count == 0 || words[0][0] == '#' || strcmp(words[0], "answer") == 0 || strcmp(words[0], "window") == 0
            || strcmp(words[0], "interrupts") == 0 || strcmp(words[0], "raise") == 0)
            continue;

        if (strcmp(words[0], "irq") == 0) {
            uint32_t irq_line;
            if (count != 2 || !hal_parse_u32(words[1], &irq_line) || irq_line >= HAL_IRQ_MAX_LINES) {
                fprintf(err, "%s:%zu: expected \"irq LINE\" with a line below %d\n", s->path, line, HAL_IRQ_MAX_LINES);
                return 1;
            }
            if (s->irq == NULL) {
                fprintf(err, "%s:%zu: an irq step, but the host delivers no interrupts (no \"interrupts\" line?)\n", s->path, line);
                return 1;
            }
            /* Between two calls: the ISR masks the line, the main loop polls. */
            hal_irq_raise(s->irq, irq_line, HAL_IRQ_MASKED);
            if (hal_irq_deliver(s->irq) < 0) fprintf(err, "%s:%zu: the handler of line %u did not return\n", s->path, line, irq_line);
            hal_natives_trace_flush(n);
            continue;
        }

        if (strcmp(words[0], "call") == 0) {
            uint32_t args[MAX_CALL_ARGS];
            if (count < 2 || count - 2 > MAX_CALL_ARGS) {
                fprintf(err, "%s:%zu: expected \"call NAME ARG...\" with at most %d arguments\n", s->path, line, MAX_CALL_ARGS);
                return 1;
            }
            for (size_t k = 2; k < count; k++) {
                if (!hal_parse_u32(words[k], &args[k - 2])) {
                    fprintf(err, "%s:%zu: bad argument \"%s\": expected a 32-bit integer\n", s->path, line, words[k]);
                    return 1;
                }
            }
            int32_t result;
            int outcome = ops->call(ops->ctx, words[1], args, (uint32_t)(count - 2), &result, message, sizeof message);
            if (outcome == 2) {
                fprintf(err, "%s:%zu: %s\n", s->path, line, message);
                return 1;
            }
            if (outcome == 1) fprintf(err, "%s:%zu: %s\n", s->path, line, message);
            hal_natives_trace_flush(n);
        } else if (strcmp(words[0], "poke") == 0 || strcmp(words[0], "peek") == 0) {
            int poke = words[0][1] == 'o';
            uint32_t ptr, size, length;
            uint8_t *memory = ops->memory(ops->ctx, &size);
            const char *hex = poke && count == 3 ? words[2] : "";
            if (count != 3 || !hal_parse_u32(words[1], &ptr) || (poke ? strlen(hex) % 2 != 0 : !hal_parse_u32(words[2], &length))) {
                fprintf(err, "%s:%zu: expected \"poke ADDR HEXBYTES\" or \"peek ADDR LENGTH\"\n", s->path, line);
                return 1;
            }
            if (poke) length = (uint32_t)(strlen(hex) / 2);
            if ((uint64_t)ptr + length > size) {
                fprintf(err, "%s:%zu: %u bytes at 0x%08x lie outside linear memory (%u bytes)\n", s->path, line, length, ptr, size);
                return 1;
            }
            if (poke) {
                for (uint32_t k = 0; k < length; k++) {
                    int hi = hex_digit(hex[2 * k]), lo = hex_digit(hex[2 * k + 1]);
                    if (hi < 0 || lo < 0) {
                        fprintf(err, "%s:%zu: bad hex byte \"%.2s\"\n", s->path, line, hex + 2 * k);
                        return 1;
                    }
                    memory[ptr + k] = (uint8_t)(hi << 4 | lo);
                }
            } else {
                fprintf(out, "peek 0x%08x ", ptr);
                for (uint32_t k = 0; k < length; k++) fprintf(out, "%02x", memory[ptr + k]);
                fputc('\n', out);
            }
        } else {
            fprintf(err, "%s:%zu: unknown step \"%s\": expected call, poke, peek, irq or answer\n", s->path, line, words[0]);
            return 1;
        }
    }
    uint64_t left = hal_scenario_answers_left(s);
    if (left > 0) fprintf(err, "%s: %llu scripted answers were not used\n", s->path, (unsigned long long)left);
    size_t raises = hal_scenario_raises_left(s);
    if (raises > 0) fprintf(err, "%s: %zu scripted interrupts were not raised\n", s->path, raises);
    if (s->irq != NULL && hal_irq_pending(s->irq)) fprintf(err, "%s: scripted interrupts were raised but not delivered\n", s->path);
    return 0;
}
