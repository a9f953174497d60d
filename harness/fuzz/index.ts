// Fuzzing register access sequences (docs/fuzzing.md): the public entry points.
export { fuzz, planJobs, compiledHarnessIsFresh, type CampaignOptions, type CampaignResult, type CampaignProgress } from "./campaign.js";
export { fuzzTarget, deriveSeed, type RunOptions, type TargetResult, type Progress } from "./runner.js";
export { Fuzzer, findingKey, type Finding, type FuzzCase, type WorldLabel } from "./engine.js";
export { targetByName, targetNames, defineFuzzTarget, addFuzzTargets, importFuzzTargets, type TargetOptions, type FuzzTargetDefinition } from "./target-table.js";
import "./targets/index.js";
export { TARGET_NAMES, FuzzFailure, type PropertyName, type Step, type Target, type TargetName } from "./target.js";
export { LEGALITY, illegality, legalize, registerLegality } from "./legal.js";
export { findLoop, describeLoop, type PollLoop } from "./poll.js";
export {
  saveRegression, readRegression, listRegressions, rerunRegression, replayRecordedReads, openFindings, regressionDir,
  type Regression, type RegressionMeta,
} from "./regression.js";
export { fuzzVariant, fuzzVariants, variantReport, zooVariants, type Variant, type VariantResult } from "./variants.js";
