import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url)).replace(/\/$/, "");
const escaped = root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export default defineConfig({
  resolve: {
    // The package's wasm-hal.config.json names its scenario and fuzz-target modules by their
    // compiled paths (dist/harness/...), as a user's config names theirs. Under vitest the suite
    // runs the TypeScript sources: the same modules must be loaded once, from source, or their
    // classes would exist twice (a model from dist/ is not an instance of the one from harness/).
    alias: [{ find: new RegExp(`^(?:file://)?${escaped}/dist/harness/(.*)\\.js$`), replacement: `${root}/harness/$1.ts` }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
    testTimeout: 30_000,
  },
});
