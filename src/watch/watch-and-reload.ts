import type { Logger } from "pino";
import { silentLogger } from "../logger.js";
import type { ClassifyOptions } from "./classify.js";
import type { IgnoreRulesOptions } from "./ignore-rules.js";
import { createReloader, type Reloader, type ReloadOutcome } from "./reloader.js";
import type { ReloadTarget } from "./target.js";
import { ProjectWatcher } from "./watcher.js";

export interface WatchAndReloadOptions extends IgnoreRulesOptions {
  /** The project directory (absolute). */
  readonly dir: string;
  readonly target: ReloadTarget;
  readonly logger?: Logger;
  /** From `classifyOptionsFor(description)`. */
  readonly classify?: ClassifyOptions;
  readonly onAction?: (outcome: ReloadOutcome) => void;
  readonly quietMs?: number;
  readonly maxWaitMs?: number;
  readonly usePolling?: boolean;
  readonly migrateCommand?: readonly string[];
  readonly collectstaticCommand?: readonly string[];
}

/** A project watched and reloaded on change. `close()` stops watching and waits for the running action. */
export class WatchSession implements AsyncDisposable {
  #closing: Promise<void> | undefined;

  constructor(
    readonly watcher: ProjectWatcher,
    readonly reloader: Reloader,
  ) {}

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.watcher.close();
      await this.reloader.stop();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Watch `dir` and apply each batch of changes to `target`. Resolves once watching. */
export async function watchAndReload(options: WatchAndReloadOptions): Promise<WatchSession> {
  const logger = options.logger ?? silentLogger();
  const reloader = createReloader({
    target: options.target,
    dir: options.dir,
    logger,
    classify: options.classify,
    onAction: options.onAction,
    migrateCommand: options.migrateCommand,
    collectstaticCommand: options.collectstaticCommand,
  });
  const watcher = await ProjectWatcher.start({ ...options, logger, onBatch: (changes) => reloader.submit(changes) });
  logger.child({ component: "watch" }).info({ dir: options.dir }, "watching for changes (--no-watch turns this off)");
  return new WatchSession(watcher, reloader);
}
