// @ts-check
// The project's status codes and API constants by name, for the code written in JavaScript
// (scenarios, fuzz targets, tests), which cannot import the constants `wasm-hal gen` writes for
// the driver. They come from the same API files (api/*.json, the config's "api"), through the
// project's registry, so both sides read the same numbers.

/**
 * The named values, from the registry of the project (a scenario's `s.board.hal.registry`, a
 * loaded project's `project.registry`). A name that no API file defines throws at once, so a
 * misspelt constant never becomes `undefined`.
 *
 * @template {string} N
 * @param {import("wasm-hal").Registry} registry
 * @param {...N} names
 * @returns {Record<N, number>}
 */
export function api(registry, ...names) {
  const known = new Map([...registry.api.status, ...registry.api.constants].map((c) => [c.name, c.value]));
  /** @type {Record<string, number>} */
  const out = {};
  for (const name of names) {
    const value = known.get(name);
    if (value === undefined) throw new Error(`${name} is not a status code or constant of the project's API files (they define ${[...known.keys()].join(", ")})`);
    out[name] = value;
  }
  return /** @type {Record<N, number>} */ (out);
}
