#!/usr/bin/env node
// Writes the C glue between a wasm2c translation of hal.wasm and the natives core:
//
//   wasm2c build/hal.wasm -n hal -o build/c/hal.c
//   node boards/wasm2c/gen-glue.mjs build/c/hal.h > build/c/hal_glue.c
//
// The glue defines the three imports (calling boards/wamr/hal_natives.c, trapping when an
// access is refused, and giving boards/wamr/hal_irq.c each access boundary, where a pending
// interrupt's handler may run), instantiates the module, calls an export by name and enters
// hal_irq_dispatch for the interrupt core (hal_w2c.h). It is
// generated because wasm2c's names depend on its version (Z_envZ_mmio_read in wabt 1.0.32,
// w2c_env_mmio_read later) and the list of exports on the drivers built in: both are read from
// the header wasm2c wrote, so the glue always matches the module it goes with.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

/** The ABI's imports (docs/abi.md 1.1): name, C parameters after the env pointer, the natives
 * call, and the access kind and address an interrupt boundary sees (boards/wamr/hal_irq.h). */
const IMPORTS = {
  mmio_read: { params: ["addr", "width"], returns: true, boundary: "HAL_IRQ_OP_READ, addr" },
  mmio_write: { params: ["addr", "value", "width"], returns: false, boundary: "HAL_IRQ_OP_WRITE, addr" },
  barrier: { params: ["kind"], returns: false, boundary: "HAL_IRQ_OP_BARRIER, kind" },
};

/** The export a host enters on an interrupt (docs/abi.md): hal_irq_dispatch(line) -> status. */
const DISPATCH_EXPORT = "hal_irq_dispatch";

function fail(message) {
  throw new Error(`gen-glue: ${message} (this generator reads the headers of wabt's wasm2c 1.0.32 and later)`);
}

/** What the glue needs from a wasm2c header. */
export function readWasm2cHeader(text) {
  const inst = /\bvoid\s+(\w+instantiate)\(\s*(\w+)\s*\*\s*,\s*struct\s+(\w+)\s*\*\s*\)\s*;/.exec(text);
  if (inst === null) fail("no instantiate function taking the module instance and one import struct");
  const [, instantiate, instanceType, envStruct] = inst;
  const init = /\bvoid\s+(\w+_init_module)\(\s*void\s*\)\s*;/.exec(text)?.[1] ?? null;
  const free = /\bvoid\s+(\w+_free)\(\s*\w+\s*\*\s*\)\s*;/.exec(text)?.[1] ?? null;

  const imports = {};
  for (const m of text.matchAll(/\/\*\s*import:\s*'([^']+)'\s*'([^']+)'\s*\*\/\s*\n\s*([\w ]+?)\s*(\w+)\(([^)]*)\)\s*;/g)) {
    const [, module, name, , cName] = m;
    if (module !== "env" || !(name in IMPORTS)) fail(`import ${module}.${name} is not part of the ABI`);
    imports[name] = cName;
  }
  for (const name of Object.keys(IMPORTS)) if (!(name in imports)) fail(`no declaration of import env.${name}`);

  const exports = [];
  let memory = null;
  for (const m of text.matchAll(/\/\*\s*export:\s*'([^']+)'\s*\*\/\s*\n\s*([\w ]+?\s*\**)\s*(\w+)\(([^)]*)\)\s*;/g)) {
    const [, name, rawType, cName, rawParams] = m;
    const returnType = rawType.replace(/\s+/g, "");
    const params = rawParams.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (returnType === "wasm_rt_memory_t*") {
      if (name === "memory") memory = cName;
      continue;
    }
    const args = params.slice(1);
    if (!args.every((p) => /^u32\b/.test(p))) fail(`export ${name} takes ${args.join(", ")}: the ABI allows only i32 arguments`);
    if (returnType !== "u32" && returnType !== "void") fail(`export ${name} returns ${returnType}: the ABI allows only i32`);
    exports.push({ name, cName, argc: args.length, returns: returnType === "u32" });
  }
  if (memory === null) fail("the module exports no memory named \"memory\"");
  return { instantiate, instanceType, envStruct, init, free, imports, exports, memory };
}

export function glueSource(header, headerFile) {
  const h = readWasm2cHeader(header);
  const importDefs = Object.entries(IMPORTS).map(([name, spec]) => {
    const params = spec.params.map((p) => `u32 ${p}`).join(", ");
    const cName = h.imports[name];
    // Before the access, the interrupt boundary: a pending line's handler may run here, from
    // inside the import call (a trap in it unwinds the interrupted call).
    const boundary = `    if (env->irq != NULL && hal_irq_boundary(env->irq, ${spec.boundary}) != 0) hal_w2c_irq_failed(env);\n`;
    if (name === "mmio_read") {
      return `u32 ${cName}(struct ${h.envStruct} *env, ${params})
{
    uint32_t value;
${boundary}    if (hal_natives_read(env->natives, addr, width, &value) != HAL_NATIVES_OK) hal_w2c_refused(env);
    return value;
}`;
    }
    if (name === "mmio_write") {
      return `void ${cName}(struct ${h.envStruct} *env, ${params})
{
${boundary}    if (hal_natives_write(env->natives, addr, value, width) != HAL_NATIVES_OK) hal_w2c_refused(env);
}`;
    }
    return `void ${cName}(struct ${h.envStruct} *env, ${params})
{
${boundary}    if (hal_natives_barrier(env->natives, kind) != HAL_NATIVES_OK) hal_w2c_refused(env);
}`;
  });
  const dispatch = h.exports.find((e) => e.name === DISPATCH_EXPORT && e.argc === 1 && e.returns);
  const dispatchCall = dispatch === undefined ? null : `(int32_t)${dispatch.cName}(&m->instance, line)`;
  const table = h.exports.map((e) => `    { "${e.name}", ${e.argc} },`).join("\n");
  const cases = h.exports.map((e, i) => {
    const args = Array.from({ length: e.argc }, (_, k) => `, a[${k}]`).join("");
    const call = `${e.cName}(&m->instance${args})`;
    return e.returns ? `    case ${i}: return (int32_t)${call};` : `    case ${i}: ${call}; return 0;`;
  }).join("\n");

  return `/* Generated by boards/wasm2c/gen-glue.mjs from ${basename(headerFile)}: do not edit. */
#include <stdio.h>
#include <string.h>

#include "${basename(headerFile)}"
#include "wasm-rt-impl.h"
#include "hal_irq.h"
#include "hal_natives.h"
#include "hal_w2c.h"

/* The import "instance" wasm2c passes to every import: the natives behind the module. */
struct ${h.envStruct} {
    hal_natives *natives;
    /* Set when a native refused an access and trapped, so the trap is reported as that. */
    int refused;
    /* The pending interrupts delivered at the imports' boundaries, or NULL. */
    hal_irq *irq;
    /* Nonzero while an export call runs: a handler's trap then unwinds that call. */
    int in_call;
};

struct hal_w2c {
    ${h.instanceType} instance;
    struct ${h.envStruct} env;
    /* Handlers running between calls, under one wasm_rt_impl_try. */
    int handlers;
    char irq_error[160];
};

/* A refused access ends the export call, as a trap ends it in WAMR and in Node. */
static void hal_w2c_refused(struct ${h.envStruct} *env)
{
    env->refused = 1;
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

/* A handler that could not be entered at a boundary ends the call too. */
static void hal_w2c_irq_failed(struct ${h.envStruct} *env)
{
    env->refused = 2;
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

${importDefs.join("\n\n")}

static const struct {
    const char *name;
    uint32_t argc;
} hal_w2c_exports[] = {
${table}
};

static int32_t hal_w2c_dispatch(hal_w2c *m, size_t index, const uint32_t *a)
{
    switch (index) {
${cases}
    default: return 0;
    }
}

hal_w2c *hal_w2c_new(hal_natives *natives)
{
    static int initialised;
    static hal_w2c module;
    if (initialised) return NULL;
    initialised = 1;
    wasm_rt_init();
${h.init === null ? "" : `    ${h.init}();\n`}    module.env.natives = natives;
    ${h.instantiate}(&module.instance, &module.env);
    return &module;
}

/*
 * hal_irq's dispatch: ${DISPATCH_EXPORT}(line). Inside an export call it is entered from the
 * import call, and a trap in it unwinds to that call's wasm_rt_impl_try, ending the call as in
 * Node. Between calls it has a try of its own: the handler's trap is reported, and the state a
 * nested handler left behind (its boundaries, its trace level) is put back.
 */
static int hal_w2c_irq_dispatch(void *ctx, uint32_t line, int32_t *status)
{
    hal_w2c *m = ctx;
${dispatchCall === null ? `    (void)line;
    (void)status;
    snprintf(m->irq_error, sizeof m->irq_error, "the module has no export ${DISPATCH_EXPORT}");
    return 1;` : `    if (m->env.in_call || m->handlers > 0) {
        *status = ${dispatchCall};
        return 0;
    }
    hal_irq *q = m->env.irq;
    int in_boundary = q->in_boundary;
    uint32_t depth = q->depth;
    int isr_depth = m->env.natives->isr_depth;
    m->env.refused = 0;
    wasm_rt_trap_t trap = (wasm_rt_trap_t)wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        q->in_boundary = in_boundary;
        q->depth = depth;
        m->env.natives->isr_depth = isr_depth;
        m->handlers = 0;
        snprintf(m->irq_error, sizeof m->irq_error, "${DISPATCH_EXPORT}(%u) did not return: %s", (unsigned)line,
                 m->env.refused ? hal_natives_error(m->env.natives) : wasm_rt_strerror(trap));
        return 1;
    }
    /* A handler nested in this one (preemptive mode) runs inside this try. */
    m->handlers++;
    *status = ${dispatchCall};
    m->handlers--;
    return 0;`}
}

int hal_w2c_attach_irq(hal_w2c *m, hal_irq *q)
{
    m->env.irq = q;
    if (q == NULL) return 0;
    hal_irq_set_dispatch(q, hal_w2c_irq_dispatch, m);
    return ${dispatchCall === null ? "-1" : "0"};
}

uint8_t *hal_w2c_memory(hal_w2c *m, uint32_t *size)
{
    wasm_rt_memory_t *memory = ${h.memory}(&m->instance);
    *size = (uint32_t)memory->size;
    return memory->data;
}

int hal_w2c_call(hal_w2c *m, const char *name, const uint32_t *args, uint32_t argc, int32_t *result,
                 char *error, size_t error_size)
{
    size_t count = sizeof hal_w2c_exports / sizeof hal_w2c_exports[0];
    size_t index = 0;
    while (index < count && strcmp(hal_w2c_exports[index].name, name) != 0) index++;
    if (index == count) {
        snprintf(error, error_size, "the module has no export %s", name);
        return 2;
    }
    if (hal_w2c_exports[index].argc != argc) {
        snprintf(error, error_size, "%s takes %u arguments, not %u", name, (unsigned)hal_w2c_exports[index].argc, (unsigned)argc);
        return 2;
    }
    hal_natives *natives = m->env.natives;
    /* Interrupts that came while no call ran go first, as the Node harness delivers them. */
    if (m->env.irq != NULL && hal_irq_deliver(m->env.irq) < 0) {
        snprintf(error, error_size, "before %s: %s", name, m->irq_error);
        return 1;
    }
    hal_natives_trace_call(natives, name, args, argc);
    m->env.refused = 0;
    m->env.in_call = 1;
    m->handlers = 0;
    wasm_rt_trap_t trap = (wasm_rt_trap_t)wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        m->env.in_call = 0;
        if (m->env.irq != NULL) hal_irq_unwind(m->env.irq);
        hal_natives_trace_threw(natives);
        snprintf(error, error_size, "%s did not return: %s", name,
                 m->env.refused == 1 ? hal_natives_error(natives)
                 : m->env.refused == 2 ? m->irq_error : wasm_rt_strerror(trap));
        return 1;
    }
    *result = hal_w2c_dispatch(m, index, args);
    m->env.in_call = 0;
    hal_natives_trace_return(natives, *result);
    /* And those that came during the call without meeting a wait point. */
    if (m->env.irq != NULL && hal_irq_deliver(m->env.irq) < 0) {
        snprintf(error, error_size, "after %s: %s", name, m->irq_error);
        return 1;
    }
    return 0;
}
`;
}

// As a command: gen-glue.mjs HEADER [-o OUT]
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf("-o");
  const out = outAt >= 0 ? args.splice(outAt, 2)[1] : undefined;
  if (args.length !== 1) {
    process.stderr.write("usage: node boards/wasm2c/gen-glue.mjs HAL_H [-o HAL_GLUE_C]\n");
    process.exit(2);
  }
  const source = glueSource(readFileSync(args[0], "utf8"), args[0]);
  if (out === undefined) process.stdout.write(source);
  else writeFileSync(out, source);
}
