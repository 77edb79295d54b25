import { posix } from "node:path";
import type { StackDescription } from "../config/types.js";
import type { FileChange } from "./changes.js";

/**
 * What a batch of changes needs, weakest first. A batch gets the strongest action any of its
 * files asks for: each action also does what the weaker ones do (a rebuild ships the code).
 */
export const RELOAD_ACTIONS = ["sync-reload", "collectstatic", "migrate", "rebuild", "re-resolve"] as const;
export type ReloadAction = (typeof RELOAD_ACTIONS)[number];

/** Files that describe the stack itself: the env, the services, the commands. */
export const CONFIG_FILES: readonly string[] = ["render.yaml", "render.yml", "Procfile", ".env", "prodlike.yaml"];

/** Files the image build reads (Python version, packages, build scripts). */
export const BUILD_FILES: readonly string[] = [
  "requirements.txt",
  "runtime.txt",
  ".python-version",
  "build.sh",
  "pyproject.toml",
  "poetry.lock",
  "Pipfile",
  "Pipfile.lock",
  "uv.lock",
];

export interface ClassifyOptions {
  /** Project-relative paths whose change re-resolves the stack. Default CONFIG_FILES. */
  readonly configFiles?: readonly string[];
  /** Project-relative paths whose change rebuilds the image. Default BUILD_FILES. */
  readonly buildFiles?: readonly string[];
  /** Folder names whose files are static assets (collectstatic). Default ["static"]. */
  readonly staticDirs?: readonly string[];
}

export interface ReloadPlan {
  readonly action: ReloadAction;
  /** The files that asked for `action` (the ones to name in the log). */
  readonly cause: readonly string[];
  /** Added or changed files, to copy into the app. */
  readonly copy: readonly string[];
  /** Removed files, to delete from the app. */
  readonly remove: readonly string[];
  readonly changes: readonly FileChange[];
}

const MIGRATION = /(^|\/)migrations\/[^/]+\.py$/;

/** The action one change asks for on its own. */
export function classifyChange(change: FileChange, options: ClassifyOptions = {}): ReloadAction {
  const path = normalize(change.path);
  if ((options.configFiles ?? CONFIG_FILES).includes(path)) return "re-resolve";
  if ((options.buildFiles ?? BUILD_FILES).includes(path) || isRequirementsFile(path)) return "rebuild";
  if (change.kind === "add" && MIGRATION.test(path) && posix.basename(path) !== "__init__.py") return "migrate";
  const staticDirs = options.staticDirs ?? ["static"];
  const folders = path.split("/").slice(0, -1);
  if (!path.endsWith(".py") && folders.some((folder) => staticDirs.includes(folder))) return "collectstatic";
  return "sync-reload";
}

/** One plan for a batch, or null when the batch is empty. */
export function classifyChanges(changes: readonly FileChange[], options: ClassifyOptions = {}): ReloadPlan | null {
  if (changes.length === 0) return null;
  let strongest = 0;
  const byAction = new Map<ReloadAction, string[]>();
  for (const change of changes) {
    const action = classifyChange(change, options);
    strongest = Math.max(strongest, RELOAD_ACTIONS.indexOf(action));
    byAction.set(action, [...(byAction.get(action) ?? []), normalize(change.path)]);
  }
  const action = RELOAD_ACTIONS[strongest]!;
  return {
    action,
    cause: byAction.get(action)!,
    copy: changes.filter((c) => c.kind !== "unlink").map((c) => normalize(c.path)),
    remove: changes.filter((c) => c.kind === "unlink").map((c) => normalize(c.path)),
    changes,
  };
}

/** The classifier's file names for one stack: the defaults plus the scripts its build command runs. */
export function classifyOptionsFor(description: Pick<StackDescription, "app">): ClassifyOptions {
  return { configFiles: CONFIG_FILES, buildFiles: [...new Set([...BUILD_FILES, ...scriptsIn(description.app.buildCommand)])] };
}

/**
 * Project files a shell command names: `./build.sh`, `bin/build`, `-r requirements/prod.txt`.
 * manage.py is code, not a build input: editing it reloads.
 */
export function scriptsIn(command: string): string[] {
  const out: string[] = [];
  for (const raw of command.split(/[\s;&|()<>]+/)) {
    const token = raw.replace(/^["']|["']$/g, "");
    if (!token || token.startsWith("-") || token.startsWith("/") || token.startsWith("$") || token.includes("=")) continue;
    const path = normalize(token);
    if (path === "manage.py" || path.startsWith("..")) continue;
    if (token.startsWith("./") || path.includes("/") || /\.(sh|bash|txt)$/.test(path)) out.push(path);
  }
  return out;
}

/** requirements.txt's usual companions: requirements-dev.txt, requirements/base.txt. */
function isRequirementsFile(path: string): boolean {
  if (!path.endsWith(".txt")) return false;
  return /^requirements[^/]*\.txt$/.test(path) || path.startsWith("requirements/");
}

function normalize(path: string): string {
  return posix.normalize(path.replaceAll("\\", "/")).replace(/^\.\//, "");
}
