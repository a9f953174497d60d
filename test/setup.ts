// The suite's setup file is the package's own `wasm-hal/vitest/setup`, from source: the
// register-semantics lint after every test (and the trace matchers), exactly as a user's project
// gets it. See harness/vitest-setup.ts.
import "../harness/vitest-setup.js";
