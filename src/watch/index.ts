export { coalesceChanges, type FileChange } from "./changes.js";
export {
  BUILD_FILES,
  CONFIG_FILES,
  RELOAD_ACTIONS,
  classifyChange,
  classifyChanges,
  classifyOptionsFor,
  scriptsIn,
  type ClassifyOptions,
  type ReloadAction,
  type ReloadPlan,
} from "./classify.js";
export { ChangeBatcher, type BatcherOptions } from "./batcher.js";
export { IGNORED_DIRS, IgnoreRules, type IgnoreRulesOptions } from "./ignore-rules.js";
export { ProjectWatcher, type WatcherOptions } from "./watcher.js";
export type { CommandResult, ReloadTarget } from "./target.js";
export { formatSyntaxProblem, type SyntaxProblem } from "./syntax-check.js";
export { applyFiles, restoreFiles, type ApplyResult, type SyncFile } from "./apply-files.js";
export { locateMigration, locateRequirement, locateTraceback, type FailureLocation } from "./failure-location.js";
export { Reloader, createReloader, type ReloaderOptions, type ReloadOutcome } from "./reloader.js";
export { WatchSession, watchAndReload, type WatchAndReloadOptions } from "./watch-and-reload.js";
