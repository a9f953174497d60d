import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The register-semantics lint runs over the trace of every module a test instantiates, after
    // each test (wasm-hal's docs/assertions.md); it also registers the trace matchers.
    setupFiles: ["wasm-hal/vitest/setup"],
  },
});
