import { relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { Logger } from "pino";
import { silentLogger } from "../logger.js";
import { ChangeBatcher } from "./batcher.js";
import type { FileChange } from "./changes.js";
import { IgnoreRules, type IgnoreRulesOptions } from "./ignore-rules.js";

export interface WatcherOptions extends IgnoreRulesOptions {
  /** The project directory (absolute). */
  readonly dir: string;
  readonly onBatch: (changes: FileChange[]) => void;
  /** Quiet time that ends a batch. Default 60 ms. */
  readonly quietMs?: number;
  /** Longest a batch may grow. Default 1000 ms. */
  readonly maxWaitMs?: number;
  /** Poll instead of inotify/FSEvents (network and VM-shared folders). Default false. */
  readonly usePolling?: boolean;
  readonly logger?: Logger;
}

/** Watches a project folder and reports batches of changes. Close it with `close()`. */
export class ProjectWatcher implements AsyncDisposable {
  readonly dir: string;
  readonly rules: IgnoreRules;
  readonly #watcher: FSWatcher;
  readonly #batcher: ChangeBatcher;
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  private constructor(options: WatcherOptions) {
    this.dir = options.dir;
    this.#log = (options.logger ?? silentLogger()).child({ component: "watch" });
    this.rules = new IgnoreRules(options.dir, options);
    this.#batcher = new ChangeBatcher({ quietMs: options.quietMs, maxWaitMs: options.maxWaitMs, onBatch: options.onBatch });
    this.#watcher = watch(options.dir, {
      ignored: this.rules.matcher,
      ignoreInitial: true,
      // Editors that save by writing a temp file and renaming it report one change, not unlink+add.
      atomic: true,
      usePolling: options.usePolling ?? false,
      interval: 100,
      persistent: true,
    });
    const on = (kind: FileChange["kind"]) => (path: string) => this.#event(kind, path);
    this.#watcher.on("add", on("add")).on("change", on("change")).on("unlink", on("unlink"));
    this.#watcher.on("error", (err) => this.#error(err));
  }

  /** Start watching; resolves once the initial scan is done (changes after that are reported). */
  static async start(options: WatcherOptions): Promise<ProjectWatcher> {
    const watcher = new ProjectWatcher(options);
    await new Promise<void>((resolve) => watcher.#watcher.once("ready", resolve));
    watcher.#log.debug({ dir: options.dir }, "watching for changes");
    return watcher;
  }

  /** Report what is pending now instead of after the quiet time. */
  flush(): void {
    this.#batcher.flush();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#batcher.cancel();
      await this.#watcher.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #event(kind: FileChange["kind"], path: string): void {
    const rel = relative(this.dir, path).split(sep).join("/");
    if (rel === ".gitignore" || rel.endsWith("/.gitignore")) this.rules.reload();
    this.#log.trace({ kind, path: rel }, "file event");
    this.#batcher.push({ kind, path: rel });
  }

  #error(err: unknown): void {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ENOSPC" || code === "EMFILE") {
      this.#log.warn(
        { err, code },
        "the system's limit on watched files is reached: some changes will be missed. " +
          "Raise it (`sudo sysctl fs.inotify.max_user_watches=524288`) or add big folders to .gitignore.",
      );
      return;
    }
    this.#log.warn({ err }, "file watcher error");
  }
}
