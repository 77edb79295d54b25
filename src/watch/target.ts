import type { ApplyResult, SyncFile } from "./apply-files.js";

/** What a command run inside the app printed (stdout and stderr, interleaved) and how it ended. */
export interface CommandResult {
  readonly exitCode: number;
  readonly output: string;
}

/**
 * The running app as the reloader sees it. The stack implements it against the app container
 * (see DockerReloadTarget); tests implement it against a local process. Paths are
 * project-relative and "/"-separated.
 */
export interface ReloadTarget {
  /** The app's folder as its tracebacks name it ("/opt/render/project/src"), to report project paths. */
  readonly appDir?: string;
  /**
   * Copy these files into the running app and delete `remove` there. With `check`, every .py
   * file is compiled by the app's Python first, and nothing is written when one does not compile.
   */
  applyFiles(files: readonly SyncFile[], remove: readonly string[], options: { readonly check: boolean }): Promise<ApplyResult>;
  /**
   * Load the synced code without dropping requests: SIGHUP to the gunicorn master (new workers,
   * old ones finish their requests). For `--preload` apps, whose code is loaded once in the
   * master, a restart of the process.
   */
  reloadGracefully(): Promise<void>;
  /** Run a command in the app's folder with the app's env. `stdin` is written and closed. */
  runInApp(cmd: readonly string[], options?: { readonly stdin?: string }): Promise<CommandResult>;
  /**
   * Build the image again and replace the app with a fresh container of it (a deploy). The
   * old version serves during the build; the target holds requests only for the swap. Throws
   * (the old version still serving) when the build fails.
   */
  rebuildAndRedeploy(): Promise<void>;
  /** Read render.yaml / Procfile / .env / prodlike.yaml again and restart what changed. */
  reresolve(): Promise<void>;
  /** Run `fn` while the edge holds incoming requests (as during a deploy), then let them through. */
  hold<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Whether the running code loads: a request for a path no route matches gets an answer
   * other than a 5xx (the URLconf, the views it imports and the middleware all import; Django
   * imports them at the first request, not at boot). null when the app did not answer.
   */
  codeLoads?(): Promise<boolean | null>;
  /** Why the code does not load: the traceback of that request made in-process. */
  explainLoadFailure?(): Promise<string>;
  /** Put back the files of the last `applyFiles` as they were before it. */
  restoreFiles?(): Promise<void>;
}
