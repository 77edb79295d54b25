import { existsSync, readFileSync, type Stats } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import { CONFIG_FILES } from "./classify.js";

/** Folders never worth a reload: tooling state, caches, virtualenvs, collected static and media. */
export const IGNORED_DIRS: readonly string[] = [
  ".git",
  ".hg",
  ".prodlike",
  "__pycache__",
  "node_modules",
  ".venv",
  "venv",
  ".tox",
  ".nox",
  ".mypy_cache",
  ".pytest_cache",
  ".ruff_cache",
  ".idea",
  ".vscode",
  "htmlcov",
  "staticfiles",
  "media",
];

/** Compiled Python, editor swap and backup files, vim's write probe (4913), JetBrains' safe-write temps, SQLite files. */
const IGNORED_FILES = [
  /\.py[co]$/,
  /\.sw[a-z]$/,
  /~$/,
  /^\.#/,
  /^#.*#$/,
  /^4913$/,
  /___jb_(tmp|old)___$/,
  /^\.DS_Store$/,
  /\.sqlite3(-journal|-wal|-shm)?$/,
  /^\.coverage(\..*)?$/,
];

export interface IgnoreRulesOptions {
  /** Extra project-relative folders to skip: STATIC_ROOT and MEDIA_ROOT when they are not the defaults. */
  readonly extraDirs?: readonly string[];
  /** Honour .gitignore files (the root's, nested ones, .git/info/exclude). Default true. */
  readonly gitignore?: boolean;
  /** Project-relative files always watched, even when .gitignore'd. Default CONFIG_FILES (`.env` is usually ignored by git). */
  readonly alwaysWatch?: readonly string[];
}

/**
 * Decides which paths of a project the watcher skips. Takes absolute or project-relative paths;
 * `stats` (as chokidar passes it) saves a look for a virtualenv's pyvenv.cfg on plain files.
 */
export class IgnoreRules {
  readonly #dir: string;
  readonly #extraDirs: readonly string[];
  readonly #gitignore: boolean;
  readonly #alwaysWatch: ReadonlySet<string>;
  /** .gitignore matchers by folder (relative, "" for the root); null where there is none. */
  readonly #matchers = new Map<string, Ignore | null>();
  readonly #venvs = new Map<string, boolean>();

  constructor(dir: string, options: IgnoreRulesOptions = {}) {
    this.#dir = dir;
    this.#extraDirs = (options.extraDirs ?? []).map((d) => d.replaceAll("\\", "/").replace(/^\.\//, "").replace(/\/$/, ""));
    this.#gitignore = options.gitignore ?? true;
    this.#alwaysWatch = new Set(options.alwaysWatch ?? CONFIG_FILES);
  }

  /** The matcher function chokidar's `ignored` option takes. */
  readonly matcher = (path: string, stats?: Stats): boolean => this.ignores(path, stats);

  ignores(path: string, stats?: Stats): boolean {
    const rel = this.#relative(path);
    if (rel === null) return false;
    if (rel === "") return false;
    if (this.#alwaysWatch.has(rel)) return false;
    const parts = rel.split("/");
    const name = parts[parts.length - 1]!;
    if (parts.some((part) => IGNORED_DIRS.includes(part))) return true;
    if (this.#extraDirs.some((d) => rel === d || rel.startsWith(`${d}/`))) return true;
    if (!stats?.isDirectory() && IGNORED_FILES.some((pattern) => pattern.test(name))) return true;
    if (this.#insideVenv(parts, stats)) return true;
    return this.#gitignore && this.#gitIgnored(parts, stats?.isDirectory() ?? false);
  }

  /** Forget cached .gitignore files (call when one changed). */
  reload(): void {
    this.#matchers.clear();
    this.#venvs.clear();
  }

  #relative(path: string): string | null {
    const rel = isAbsolute(path) ? relative(this.#dir, path) : path;
    if (rel.startsWith("..") || isAbsolute(rel)) return null;
    return rel.split(sep).join("/").replace(/^\.\//, "").replace(/\/$/, "");
  }

  /** Any folder on the way that holds a pyvenv.cfg is a virtualenv, whatever its name. */
  #insideVenv(parts: readonly string[], stats?: Stats): boolean {
    const folders = stats && !stats.isDirectory() ? parts.length - 1 : parts.length;
    for (let i = 1; i <= folders; i++) {
      const folder = parts.slice(0, i).join("/");
      let venv = this.#venvs.get(folder);
      if (venv === undefined) {
        venv = existsSync(join(this.#dir, folder, "pyvenv.cfg"));
        this.#venvs.set(folder, venv);
      }
      if (venv) return true;
    }
    return false;
  }

  /** Git's rule: each .gitignore applies to paths below its folder; a deeper one is read later and wins. */
  #gitIgnored(parts: readonly string[], isDir: boolean): boolean {
    for (let depth = 0; depth < parts.length; depth++) {
      const base = parts.slice(0, depth).join("/");
      const matcher = this.#matcherFor(base);
      if (!matcher) continue;
      // A folder that git ignores hides everything below it.
      for (let end = depth + 1; end <= parts.length; end++) {
        const sub = parts.slice(depth, end).join("/");
        const asDir = end < parts.length || isDir;
        if (matcher.ignores(asDir ? `${sub}/` : sub)) return true;
      }
    }
    return false;
  }

  #matcherFor(base: string): Ignore | null {
    if (this.#matchers.has(base)) return this.#matchers.get(base)!;
    const texts = [read(join(this.#dir, base, ".gitignore"))];
    if (base === "") texts.push(read(join(this.#dir, ".git", "info", "exclude")));
    const text = texts.filter((t): t is string => t !== null).join("\n");
    const matcher = text.trim() ? ignore().add(text) : null;
    this.#matchers.set(base, matcher);
    return matcher;
  }
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
