// The fuzz targets, one per driver.
import type { Target, TargetName } from "../target.js";
import { pl011Target } from "./pl011.js";
import { pl022Target } from "./pl022.js";
import { pl061Target } from "./pl061.js";
import { pl080Target } from "./pl080.js";

export interface TargetOptions {
  /** Steps predicted to need more accesses than this are skipped (default 200 000). */
  readonly stepAccessLimit?: number;
}

export function targetByName(name: TargetName, options: TargetOptions = {}): Target {
  switch (name) {
    case "pl011": return pl011Target(options);
    case "pl022": return pl022Target(options);
    case "pl061": return pl061Target();
    case "pl080": return pl080Target();
  }
}
