import type { CommandResult } from "./target.js";
import type { SyntaxProblem } from "./syntax-check.js";

/** One project file as it goes into the app: its bytes, mode and the mtime it gets there. */
export interface SyncFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
  /** Whole seconds: Python's bytecode cache keys on the source's mtime in seconds (and its size). */
  readonly mtime: number;
}

export interface ApplyResult {
  /** False when the script could not run (no python in the app): nothing was written. */
  readonly ran: boolean;
  /** Files that do not compile; when there are any, nothing was written. */
  readonly problems: readonly SyntaxProblem[];
  readonly output: string;
}

/**
 * Where the app's previous versions of the files of the last apply are kept, so that a change
 * that compiles but does not load can be taken back (`restoreFiles`).
 */
export const LAST_GOOD_DIR = "/tmp/prodlike-last-good";

/**
 * Runs in the app's folder, reading JSON on stdin: compiles every changed .py file the way
 * py_compile does, and only if all compile, keeps the current versions in LAST_GOOD_DIR, writes
 * the files (atomically, with their mtimes) and deletes the removed ones. One process for
 * check, backup and copy keeps a reload short.
 */
const APPLY_SCRIPT = `
import base64, json, os, sys, tempfile
job = json.load(sys.stdin)
problems = []
for item in job["files"]:
    if not item["path"].endswith(".py") or not job["check"]:
        continue
    try:
        compile(base64.b64decode(item["data"]), item["path"], "exec", dont_inherit=True)
    except SyntaxError as e:
        problems.append({"path": item["path"], "line": e.lineno, "column": e.offset,
                         "message": type(e).__name__ + ": " + str(e.msg), "text": (e.text or "").rstrip()})
    except ValueError as e:
        problems.append({"path": item["path"], "line": None, "column": None, "message": "ValueError: " + str(e), "text": ""})
if not problems:
    import shutil
    shutil.rmtree(job["backup"], ignore_errors=True)
    os.makedirs(job["backup"])
    kept = []
    for i, path in enumerate([item["path"] for item in job["files"]] + job["remove"]):
        existed = os.path.isfile(path)
        if existed:
            shutil.copy2(path, os.path.join(job["backup"], str(i)))
        kept.append({"path": path, "existed": existed})
    with open(os.path.join(job["backup"], "kept.json"), "w") as out:
        json.dump(kept, out)
    for item in job["files"]:
        folder = os.path.dirname(item["path"]) or "."
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".prodlike-")
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64decode(item["data"]))
        os.chmod(tmp, item["mode"])
        os.utime(tmp, (item["mtime"], item["mtime"]))
        os.replace(tmp, item["path"])
    for path in job["remove"]:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
print("PRODLIKE-APPLY " + json.dumps(problems))
`;

/**
 * Check and copy `files` into the app, and delete `remove` there, with one command run in
 * the app's folder (`runInApp`). With `check`, a file that does not compile stops it all.
 */
export async function applyFiles(
  runInApp: (cmd: readonly string[], options: { stdin: string }) => Promise<CommandResult>,
  files: readonly SyncFile[],
  remove: readonly string[],
  options: { check: boolean },
): Promise<ApplyResult> {
  if (files.length === 0 && remove.length === 0) return { ran: true, problems: [], output: "" };
  const job = {
    check: options.check,
    files: files.map((f) => ({ path: f.path, data: f.data.toString("base64"), mode: f.mode & 0o777, mtime: f.mtime })),
    remove,
    backup: LAST_GOOD_DIR,
  };
  // -I: no user site, no env-driven imports; the script needs only the standard library.
  const result = await runInApp(["python", "-I", "-c", APPLY_SCRIPT], { stdin: JSON.stringify(job) });
  const line = result.output.split("\n").find((l) => l.startsWith("PRODLIKE-APPLY "));
  if (!line) return { ran: false, problems: [], output: result.output };
  return { ran: true, problems: JSON.parse(line.slice("PRODLIKE-APPLY ".length)) as SyntaxProblem[], output: result.output };
}

/** Puts back the files LAST_GOOD_DIR kept (and deletes those that did not exist then). */
const RESTORE_SCRIPT = `
import json, os, sys
backup = sys.argv[1]
with open(os.path.join(backup, "kept.json")) as f:
    kept = json.load(f)
for i, item in enumerate(kept):
    if item["existed"]:
        os.replace(os.path.join(backup, str(i)), item["path"])
    else:
        try:
            os.remove(item["path"])
        except FileNotFoundError:
            pass
os.remove(os.path.join(backup, "kept.json"))
print("PRODLIKE-RESTORED " + str(len(kept)))
`;

/**
 * Take back the last `applyFiles`: the app's files as they were before it. Their old mtimes
 * differ from those of the bytecode the new versions left, so Python compiles them again.
 */
export async function restoreFiles(runInApp: (cmd: readonly string[]) => Promise<CommandResult>): Promise<void> {
  const result = await runInApp(["python", "-I", "-c", RESTORE_SCRIPT, LAST_GOOD_DIR]);
  if (!result.output.includes("PRODLIKE-RESTORED ")) throw new Error(`could not put back the last good files: ${result.output.trim()}`);
}
