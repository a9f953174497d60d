// A fuzz job in a worker thread (harness/fuzz/campaign.ts and variants.ts start it): its own module
// instance and models, its own sub-seed; progress and results go back as messages.
import { parentPort, workerData } from "node:worker_threads";
import { runJob, cumulativeProgress, type JobPlan, type WorkerMessage } from "./campaign.js";
import { fuzzVariant, type Variant, type VariantOptions } from "./variants.js";
import { importFuzzTargets } from "./target-table.js";
import { loadProjectFile } from "../project.js";
import { loadDeviceKinds } from "../project-modules.js";
// The package's own targets (both families) are known in every worker; a project's come from
// plan.imports.
import "./targets/index.js";
import "./targets/stm32f4.js";

/** What a worker is asked to do: a campaign job, or a list of broken variants. */
export type WorkerTask =
  | { readonly kind: "job"; readonly plan: JobPlan }
  | { readonly kind: "variants"; readonly variants: readonly Variant[]; readonly options: VariantOptions };

const port = parentPort;
if (port === null) throw new Error("harness/fuzz/worker.js runs as a worker thread only");
const task = workerData as WorkerTask;
const post = (message: WorkerMessage): void => port.postMessage(message);
try {
  if (task.kind === "job") {
    for (const i of task.plan.imports) {
      const project = i.configFile === null ? null : await loadProjectFile(i.configFile);
      // A target's board may use the project's own device kinds.
      if (project !== null) await loadDeviceKinds(project);
      await importFuzzTargets([i.file], i.modulePath, project);
    }
    const results = runJob(task.plan, cumulativeProgress((target, progress) => post({ kind: "progress", target, progress })));
    post({ kind: "result", results });
  } else {
    post({ kind: "variants", results: task.variants.map((v) => fuzzVariant(v, task.options)) });
  }
} catch (e) {
  post({ kind: "error", message: e instanceof Error ? e.stack ?? e.message : String(e) });
}
