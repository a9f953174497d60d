// `wasm-hal`: the harness API a project uses (docs/guide.md, docs/config.md). Load a project (its config,
// register maps and modules), build boards, run a module's exports against fake devices, record
// and compare traces, assert on them, write device models, scenarios and fuzz targets.
// `wasm-hal/vitest` adds the trace matchers, `wasm-hal/vitest/setup` the lint after every test.

// Projects, config and register maps
export {
  defineConfig, loadProject, loadProjectFile, findConfig, packageProject, packageRegistry, registryOf, displayPath,
  Project, ConfigError, CONFIG_NAMES,
  type ProjectConfig, type ModuleConfig, type SvdConfig, type ModuleVariant,
} from "./project.js";
export { defineDeviceKind, loadDeviceKinds, loadScenarios, prepareProject, type DeviceKindDefinition } from "./project-modules.js";
export { Registry, loadRegistry, readRegisterMapFile, readApiFile, EMPTY_API, type RegistrySources } from "./registry.js";
export {
  parseRegisterMap, parseApiMap, mergeApiMaps, RegisterMapError,
  type ApiMap, type StatusCode, type ApiConstant, type ExportSignature, type ExportArgument, type ValueKind, type ReturnKind,
} from "./regmap-json.js";
export {
  RegisterIndex, decodeFields, fieldValue,
  type RegisterBlock, type RegisterInfo, type FieldInfo, type ReadKind, type WriteKind, type FieldReadKind, type FieldWriteKind,
} from "./regmap.js";
export { importSvd, SvdError, type SvdImport, type RegisterMapJson } from "./svd.js";
export { renderAssembly, renderTypeScript, renderApi } from "./gen.js";

// The module and the bus
export { Hal, HalError, ModuleFileError, wasmPath, compileModule, TRACE_TAIL_LINES, type HalExports, type HalOptions, type HalVariant } from "./hal.js";
export {
  Bus, VirtualClock, BusFault, AccessBudgetExceeded,
  type Device, type BusMaster, type Region, type RegionOptions, type FaultKind,
} from "./bus.js";
export {
  Trace, OP_READ, OP_WRITE, OP_BARRIER, OP_IRQ, OP_MASK, FLAG_FAULT, FLAG_DMA, FLAG_IRQ, IRQ_ENTER, IRQ_RETURN, BARRIER_NAMES,
  type TraceEntry, type CallRecord,
} from "./trace.js";
export {
  formatTrace, formatTail, formatAccess, formatCallLine, formatEndLine, parseTrace, diffTraces, traceRegions,
  TraceParseError, TRACE_HEADER, TRACE_FORMAT_VERSION, NO_BLOCK,
  type ParsedTrace, type ParsedAccess, type ParsedCall, type ParsedRegion, type TraceRegion, type RegionDecl,
  type TraceDifference, type FormatOptions, type ParseOptions, type AccessGroup,
} from "./trace-text.js";

// Boards and devices
export {
  parseBoardFile, loadBoardFile, buildBoard, loadBoard, registerDeviceKind, deviceKinds, boardFilePath,
  Board, BoardFileError, JsonObject, JsonItem,
  type BoardDescription, type RegionDescription, type DeviceDescription, type DeviceContext, type DeviceFactory,
  type DeviceKindOptions, type BuildOptions, type ModelClass,
} from "./board-file.js";
export { RegisterFile } from "./devices/register-file.js";
export { Ram, LinearMemoryRam } from "./devices/ram.js";
export type { InterruptSource, DmaRequester, DmaDirection } from "./devices/signals.js";
export { Pl011Model } from "./devices/pl011.js";
export { Pl022Model } from "./devices/pl022.js";
export { Pl061Model } from "./devices/pl061.js";
export { Pl080Model } from "./devices/pl080.js";
export { SpiNorFlash } from "./devices/spi.js";
export { Stm32RccModel, type Stm32RccOptions } from "./devices/stm32f4/rcc.js";
export { Stm32GpioModel, type Stm32GpioOptions, type Stm32GpioPort, type PinEvent } from "./devices/stm32f4/gpio.js";
export { Stm32UsartModel, type Stm32UsartOptions, type UsartReceiveError, type UsartReceiveOptions } from "./devices/stm32f4/usart.js";
export { Stm32SpiModel, type Stm32SpiOptions } from "./devices/stm32f4/spi.js";
export { Stm32DmaModel, type Stm32DmaOptions, type DmaLockedWrite } from "./devices/stm32f4/dma.js";
export { ClockGate, type GatedAccess, type GatedReason } from "./devices/stm32f4/common.js";
export { Replay, replayBus } from "./devices/replay.js";
// Real hardware through the native bridge (docs/devmem.md); its board kind registers itself.
export { DevmemDevice, DevmemError, openDevmem, type DevmemOptions } from "./devmem/devmem.js";
import "./devmem/board-kind.js";
// The package's own register maps as constants (also in its registry: packageRegistry()).
export { PL011_MAP } from "./generated/pl011.js";
export { PL022_MAP } from "./generated/pl022.js";
export { PL061_MAP } from "./generated/pl061.js";
export { PL080_MAP } from "./generated/pl080.js";
export { IRQC_MAP } from "./generated/irqc.js";

// Interrupts (docs/interrupts.md)
export { IrqController, IRQC_LINE_COUNT, THREAD_PRIORITY, type IrqLine } from "./devices/irqc.js";
export {
  Interrupts, InterruptStorm, DISPATCH_EXPORT, STORM_LIMIT, ENTER_PREEMPTIVE, ENTER_SOURCE_IDLE, ENTER_INJECTED, enterKind,
  type DeliveryMode, type InterruptOptions, type BoundaryContext,
} from "./interrupts.js";
export { findInterruptRaces, checkMaskedReadModifyWrite, checkNoSpuriousInterrupts, checkInterruptCode, type InterruptProblem } from "./interrupt-checks.js";
export {
  exploreInterleavings, type InterleavingScenario, type ExplorationWorld, type ExplorationResult, type Interleaving,
} from "./explore.js";
export { pl011IrqExploration, type Pl011IrqWorld, type Pl011IrqExplorationOptions } from "./scenarios-irq.js";

// Scenarios and golden traces
export {
  defineScenario, runScenario, formatScenarioTrace, ScenarioContext, ScenarioFailure, SCENARIO_ACCESS_BUDGET,
  type Scenario, type ScenarioRun, type ScenarioNote, type RunOptions,
} from "./scenario.js";
export {
  checkScenario, checkScenarios, goldenPath, describeDifference, registerCoverage, formatCoverage,
  type CheckResult, type CheckStatus, type CheckOptions, type RegionCoverage,
} from "./commands/check.js";

// Assertions and lint
export * from "./assert.js";
export { lintTrace, lintParsedTrace, lintReport, expectLintClean, type LintFinding } from "./lint.js";
export { traceToVcd, parseVcd, vcdValues, VcdTooLarge, VCD_MAX_ENTRIES } from "./vcd.js";
export { expandAccesses } from "./trace-text.js";
export { scenarioCoverage, mergeCoverage } from "./commands/check.js";
export { bridgeStatus } from "./devmem/devmem.js";

// Fuzzing: the target API (docs/fuzzing.md), and the fast-check the harness uses, so that a
// project's target builds its arbitraries with the same instance.
export { default as fc } from "fast-check";
export {
  fuzz, fuzzTarget, Fuzzer, findingKey, defineFuzzTarget, targetByName, targetNames, importFuzzTargets,
  FuzzFailure, readRegression, saveRegression, rerunRegression, replayRecordedReads, listRegressions,
  type CampaignOptions, type CampaignResult, type Finding, type FuzzCase, type FuzzTargetDefinition, type TargetOptions,
  type PropertyName, type Target, type TargetName, type Regression, type RegressionMeta,
} from "./fuzz/index.js";
export { Session, respondSteps, respondTargets, describeCommon, argsOf, num, str, bytesOf, waitStep, anyU32 } from "./fuzz/target.js";
export type { Step as FuzzStep, StepValue, ExportSpec, StepOptions, RespondTarget } from "./fuzz/target.js";
export { World, type CallOutcome } from "./fuzz/world.js";
