// Reads the import and export signatures straight from a .wasm binary (the type, import,
// function and export sections), so that a test can hold the module to the ABI of docs/abi.md
// without trusting the toolchain that made it.

export type ValueType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

export interface FuncSignature {
  readonly params: readonly ValueType[];
  readonly results: readonly ValueType[];
}

export interface ImportInfo {
  readonly module: string;
  readonly name: string;
  readonly kind: "function" | "table" | "memory" | "global" | "tag";
  /** For functions: "(i32,i32)->i32". */
  readonly signature: string | null;
}

export interface ExportInfo {
  readonly name: string;
  readonly kind: "function" | "table" | "memory" | "global" | "tag";
  readonly signature: string | null;
}

export interface ModuleAbi {
  readonly imports: readonly ImportInfo[];
  readonly exports: readonly ExportInfo[];
}

const VALUE_TYPES: Record<number, ValueType> = {
  0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref",
};
const KINDS = ["function", "table", "memory", "global", "tag"] as const;

export function formatSignature(sig: FuncSignature): string {
  return `(${sig.params.join(",")})->${sig.results.length === 0 ? "()" : sig.results.join(",")}`;
}

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array, private readonly what: string) {}

  fail(message: string): never {
    throw new Error(`${this.what}: byte ${this.pos}: ${message}`);
  }

  byte(): number {
    if (this.pos >= this.bytes.length) this.fail("unexpected end of module");
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    return this.fail("LEB128 integer longer than 5 bytes");
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.bytes.length) this.fail("name runs past the end");
    const text = new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return text;
  }

  valueType(): ValueType {
    const b = this.byte();
    return VALUE_TYPES[b] ?? this.fail(`unknown value type 0x${b.toString(16)}`);
  }

  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

/** Parses the ABI-relevant sections of a module; `what` names it in errors (a file path). */
export function readModuleAbi(bytes: Uint8Array, what = "module"): ModuleAbi {
  const r = new Reader(bytes, what);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const m of magic) if (r.byte() !== m) r.fail("not a WebAssembly 1.0 binary");
  const types: FuncSignature[] = [];
  const funcTypes: number[] = []; // type index of every function, imported ones first
  const imports: ImportInfo[] = [];
  const rawExports: { name: string; kind: number; index: number }[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (end > bytes.length) r.fail(`section ${id} runs past the end`);
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) r.fail("only function types are expected in the type section");
        const params: ValueType[] = [];
        for (let p = r.u32(); p > 0; p--) params.push(r.valueType());
        const results: ValueType[] = [];
        for (let q = r.u32(); q > 0; q--) results.push(r.valueType());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        let signature: string | null = null;
        if (kind === 0) {
          const t = r.u32();
          const sig = types[t] ?? r.fail(`import ${module}.${name} uses missing type ${t}`);
          funcTypes.push(t);
          signature = formatSignature(sig);
        } else if (kind === 1) {
          r.byte();
          r.limits();
        } else if (kind === 2) {
          r.limits();
        } else if (kind === 3) {
          r.valueType();
          r.byte();
        } else if (kind === 4) {
          r.byte();
          r.u32();
        } else {
          r.fail(`unknown import kind ${kind}`);
        }
        imports.push({ module, name, kind: KINDS[kind]!, signature });
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        rawExports.push({ name, kind, index });
      }
    }
    r.pos = end;
  }
  const exports = rawExports.map(({ name, kind, index }): ExportInfo => {
    let signature: string | null = null;
    if (kind === 0) {
      const t = funcTypes[index];
      const sig = (t === undefined ? undefined : types[t]) ?? r.fail(`export ${name} refers to missing function ${index}`);
      signature = formatSignature(sig);
    }
    return { name, kind: KINDS[kind] ?? r.fail(`export ${name} has unknown kind ${kind}`), signature };
  });
  return { imports, exports };
}

/** The ABI of docs/abi.md (1.1): these imports, from module "env", and no others. */
export const REQUIRED_IMPORTS: ReadonlyMap<string, string> = new Map([
  ["mmio_read", "(i32,i32)->i32"],
  ["mmio_write", "(i32,i32,i32)->()"],
  ["barrier", "(i32)->()"],
]);

/** Every way a module breaks the ABI, as sentences; empty when it keeps it. */
export function abiViolations(abi: ModuleAbi): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const imp of abi.imports) {
    const want = imp.module === "env" ? REQUIRED_IMPORTS.get(imp.name) : undefined;
    if (want === undefined) {
      problems.push(`import ${imp.module}.${imp.name} (${imp.kind}${imp.signature ? " " + imp.signature : ""}) is not part of the ABI`);
    } else if (imp.kind !== "function" || imp.signature !== want) {
      problems.push(`import env.${imp.name} has ${imp.kind} ${imp.signature ?? ""}, the ABI says function ${want}`);
    }
    seen.add(`${imp.module}.${imp.name}`);
  }
  for (const name of REQUIRED_IMPORTS.keys()) {
    if (!seen.has(`env.${name}`)) problems.push(`import env.${name} is missing`);
  }
  for (const exp of abi.exports) {
    if (exp.kind === "memory") continue;
    if (exp.kind !== "function") {
      problems.push(`export ${exp.name} is a ${exp.kind}; only functions and the memory are exported`);
      continue;
    }
    const sig = exp.signature ?? "";
    const onlyI32 = /^\((i32(,i32)*)?\)->(\(\)|i32)$/.test(sig);
    if (!onlyI32) problems.push(`export ${exp.name} has signature ${sig}; exports take and return only i32`);
  }
  if (!abi.exports.some((e) => e.kind === "memory" && e.name === "memory")) problems.push("the linear memory is not exported as \"memory\"");
  return problems;
}
