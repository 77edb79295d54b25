import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { isProdlikeError, ProdlikeError, tailLines } from "../errors.js";
import { silentLogger } from "../logger.js";
import { coalesceChanges, type FileChange } from "./changes.js";
import { classifyChanges, type ClassifyOptions, type ReloadAction, type ReloadPlan } from "./classify.js";
import { locateMigration, locateRequirement, locateTraceback, type FailureLocation } from "./failure-location.js";
import type { SyncFile } from "./apply-files.js";
import { formatSyntaxProblem } from "./syntax-check.js";
import type { ReloadTarget } from "./target.js";

export interface ReloadOutcome {
  readonly action: ReloadAction;
  readonly plan: ReloadPlan;
  readonly ok: boolean;
  /** How long the action took. */
  readonly ms: number;
  /** How long the batch waited behind an earlier action. */
  readonly waitedMs: number;
  /** On failure: a RELOAD_FAILED error whose message names the file and line; the last good version still serves. */
  readonly error?: ProdlikeError;
  readonly location?: FailureLocation;
}

export interface ReloaderOptions {
  readonly target: ReloadTarget;
  /** The project directory (absolute): sources are read from here for the syntax check. */
  readonly dir: string;
  readonly logger?: Logger;
  readonly classify?: ClassifyOptions;
  /** Called after each action, good or failed. */
  readonly onAction?: (outcome: ReloadOutcome) => void;
  /** Default `python manage.py migrate --noinput` (the pre-deploy step). */
  readonly migrateCommand?: readonly string[];
  /** Default `python manage.py collectstatic --noinput`. */
  readonly collectstaticCommand?: readonly string[];
  /** Compile changed .py files in the app before they reach it. Default true. */
  readonly checkSyntax?: boolean;
}

const MIGRATE = ["python", "manage.py", "migrate", "--noinput"];
const COLLECTSTATIC = ["python", "manage.py", "collectstatic", "--noinput"];

/** A failure inside an action, with where it points. */
class ActionFailure extends Error {
  constructor(
    message: string,
    readonly location?: FailureLocation,
  ) {
    super(message);
  }
}

/**
 * Applies batches of changes to the running app, one action at a time. Batches that arrive
 * while an action runs wait and are merged into one. A failed action leaves the last good
 * version serving, and its changes are kept: they are applied again with the next batch, so
 * fixing the file recovers (and a failed migration is still migrated once fixed).
 */
export class Reloader {
  readonly #options: ReloaderOptions;
  readonly #log: Logger;
  #queued: FileChange[] = [];
  #queuedAt = 0;
  /** Changes of the last failed action, not yet in the app. */
  #unapplied: FileChange[] = [];
  #running: Promise<void> | undefined;
  #current: ReloadAction | null = null;
  #stopped = false;
  /** Files now in the app that are not in its image (null: deleted), for the next fresh container. */
  readonly #applied = new Map<string, SyncFile | null>();
  /** The mtime (s) each path last got in the app. */
  readonly #mtimes = new Map<string, number>();

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#log = (options.logger ?? silentLogger()).child({ component: "reload" });
  }

  /** The action running now, if any. */
  get current(): ReloadAction | null {
    return this.#current;
  }

  /**
   * What the app's image lacks: files synced since it was built (null for a deleted one). A
   * fresh container (a wake, a crash restart) gets them before it starts, so it runs the code
   * that was last reloaded, as a Render instance runs the last deploy.
   */
  get applied(): ReadonlyMap<string, SyncFile | null> {
    return this.#applied;
  }

  /** Changes of a failed action that wait for the next batch. */
  get unapplied(): readonly FileChange[] {
    return this.#unapplied;
  }

  submit(changes: readonly FileChange[]): void {
    if (this.#stopped || changes.length === 0) return;
    if (this.#queued.length === 0) this.#queuedAt = Date.now();
    this.#queued.push(...changes);
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves when nothing runs and nothing waits. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Take no more batches; wait for the running action. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queued = [];
    await this.idle();
  }

  async #drain(): Promise<void> {
    while (this.#queued.length > 0 && !this.#stopped) {
      const waitedMs = Date.now() - this.#queuedAt;
      const changes = coalesceChanges([...this.#unapplied, ...this.#queued]);
      this.#queued = [];
      const plan = classifyChanges(changes, this.#options.classify);
      if (!plan) {
        this.#unapplied = [];
        continue;
      }
      const outcome = await this.#run(plan, waitedMs);
      this.#unapplied = outcome.ok ? [] : [...plan.changes];
      try {
        this.#options.onAction?.(outcome);
      } catch (err) {
        this.#log.warn({ err }, "onAction callback threw");
      }
    }
  }

  async #run(plan: ReloadPlan, waitedMs: number): Promise<ReloadOutcome> {
    const started = Date.now();
    this.#current = plan.action;
    const files = plan.cause.length > 5 ? [...plan.cause.slice(0, 5), `… ${plan.cause.length - 5} more`] : plan.cause;
    this.#log.info({ action: plan.action, files, changed: plan.changes.length }, `${plan.cause[0]}${plan.cause.length > 1 ? ` (+${plan.cause.length - 1})` : ""} changed → ${plan.action}`);
    try {
      await this.#perform(plan);
      const ms = Date.now() - started;
      this.#log.info({ action: plan.action, ms, waitedMs }, `${plan.action} done in ${ms} ms`);
      return { action: plan.action, plan, ok: true, ms, waitedMs };
    } catch (err) {
      const ms = Date.now() - started;
      const location = err instanceof ActionFailure ? err.location : undefined;
      const reason = err instanceof Error ? err.message : String(err);
      const error = new ProdlikeError(
        "RELOAD_FAILED",
        `${plan.action} failed${location ? ` at ${location.file}${location.line ? `:${location.line}` : ""}` : ""}; the last good version keeps serving. ` +
          `Fix it and save again.\n${reason}`,
        { cause: err },
      );
      this.#log.error({ action: plan.action, ms, file: location?.file, line: location?.line }, error.message);
      return { action: plan.action, plan, ok: false, ms, waitedMs, error, location };
    } finally {
      this.#current = null;
    }
  }

  /**
   * The new code compiles and the workers booted, but it does not load (an import that fails
   * in a view, a URLconf that raises): as Render keeps the old deploy when the new one fails,
   * the previous files go back and gunicorn reloads them. Throws with the traceback.
   */
  async #takeBack(plan: ReloadPlan): Promise<never> {
    const { target } = this.#options;
    const why = (await target.explainLoadFailure?.().catch((err: unknown) => String(err))) ?? "";
    if (target.restoreFiles) {
      await target.restoreFiles();
      await target.reloadGracefully();
    }
    const location = locateTraceback(why, target.appDir ?? this.#options.dir);
    throw new ActionFailure(
      `after the reload a page that does not exist answers 500, not 404: the new code does not load (${plan.cause.slice(0, 3).join(", ")}${plan.cause.length > 3 ? ", …" : ""}). ` +
        (why.trim() ? `The same request made in the app says:\n${tailLines(why, 15)}` : "The app's log may say why."),
      location ?? undefined,
    );
  }

  async #perform(plan: ReloadPlan): Promise<void> {
    const { target } = this.#options;
    switch (plan.action) {
      case "re-resolve":
        return target.reresolve();
      case "rebuild":
        return this.#rebuild(plan);
      case "migrate":
      case "collectstatic":
      case "sync-reload": {
        const files = await this.#readFiles(plan.copy);
        await target.hold(async () => {
          // Only a version that loads now can be told apart from one that does not.
          const loadedBefore = (await target.codeLoads?.()) === true;
          const result = await target.applyFiles(files, plan.remove, { check: this.#options.checkSyntax !== false });
          if (!result.ran) throw new ActionFailure(`could not copy the changed files into the app. Its output:\n${tailLines(result.output, 15)}`);
          const [first] = result.problems;
          if (first) {
            throw new ActionFailure(result.problems.map(formatSyntaxProblem).join("\n"), { file: first.path, line: first.line, message: first.message });
          }
          // Written now, whatever follows: a later version must not reuse these mtimes.
          for (const file of files) this.#mtimes.set(file.path, file.mtime);
          if (plan.action === "migrate") await this.#runStep("migrate", this.#options.migrateCommand ?? MIGRATE, plan);
          if (plan.action === "collectstatic") await this.#runStep("collectstatic", this.#options.collectstaticCommand ?? COLLECTSTATIC, plan);
          await target.reloadGracefully().catch((err: unknown) => {
            // New workers that cannot boot (an import error in settings or models) say why in a traceback.
            const message = err instanceof Error ? err.message : String(err);
            throw new ActionFailure(message, locateTraceback(message, target.appDir ?? this.#options.dir) ?? undefined);
          });
          if (loadedBefore && (await target.codeLoads?.()) === false) await this.#takeBack(plan);
        });
        for (const file of files) this.#applied.set(file.path, file);
        for (const path of plan.remove) this.#applied.set(path, null);
        return;
      }
    }
  }

  /**
   * The changed files as they go into the app. Each sync of a path gets a later whole-second
   * mtime than the one before: two saves within a second, of the same size, would otherwise
   * let Python load the stale bytecode it cached for the first.
   */
  async #readFiles(paths: readonly string[]): Promise<SyncFile[]> {
    const files: SyncFile[] = [];
    for (const path of paths) {
      const full = join(this.#options.dir, path);
      const info = await stat(full).catch(() => null);
      if (!info?.isFile()) continue;
      const data = await readFile(full).catch(() => null);
      if (!data) continue;
      const previous = this.#mtimes.get(path);
      const mtime = Math.max(Math.floor(info.mtimeMs / 1000), previous === undefined ? 0 : previous + 1);
      files.push({ path, data, mode: info.mode, mtime });
    }
    return files;
  }

  async #runStep(name: string, cmd: readonly string[], plan: ReloadPlan): Promise<void> {
    const result = await this.#options.target.runInApp(cmd);
    if (result.exitCode === 0) return;
    const appDir = this.#options.target.appDir ?? this.#options.dir;
    const location =
      name === "migrate" ? locateMigration(result.output, appDir, plan.copy) : locateTraceback(result.output, appDir);
    const where = location ? `${location.file}${location.line ? `:${location.line}` : ""}: ${location.message}\n` : "";
    throw new ActionFailure(`\`${cmd.join(" ")}\` exited with code ${result.exitCode}.\n${where}Last lines:\n${tailLines(result.output, 15)}`, location ?? undefined);
  }

  async #rebuild(plan: ReloadPlan): Promise<void> {
    try {
      await this.#options.target.rebuildAndRedeploy();
      // The new image was built from the project as it is: it has every synced file.
      this.#applied.clear();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const requirementFiles = new Map<string, string>();
      for (const path of ["requirements.txt", ...plan.cause.filter((p) => p.endsWith(".txt"))]) {
        const text = await readFile(join(this.#options.dir, path), "utf8").catch(() => null);
        if (text !== null) requirementFiles.set(path, text);
      }
      const location = locateRequirement(message, requirementFiles);
      if (location || isProdlikeError(err)) throw new ActionFailure(message, location ?? undefined);
      throw err;
    }
  }
}

export function createReloader(options: ReloaderOptions): Reloader {
  return new Reloader(options);
}
