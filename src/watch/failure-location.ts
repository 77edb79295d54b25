/** Where a failure points in the project, for the message: `app/migrations/0002_x.py:14`. */
export interface FailureLocation {
  readonly file: string;
  readonly line: number | null;
  /** The exception line (`django.db.utils.ProgrammingError: ...`) or pip's complaint. */
  readonly message: string;
}

const FRAME = /^\s*File "([^"]+)", line (\d+)/;
const EXCEPTION = /^([A-Za-z_][\w.]*(Error|Exception|Exit|Warning|Interrupt)|[A-Za-z_][\w.]*\.\w+): ?(.*)$/;

/**
 * The innermost traceback frame inside the app (not in site-packages), with the exception line.
 * `appDir` is the app's folder as the traceback names it; paths come back relative to it.
 */
export function locateTraceback(output: string, appDir: string): FailureLocation | null {
  const lines = output.split("\n");
  const root = appDir.replace(/\/$/, "");
  let frame: { file: string; line: number } | null = null;
  for (const line of lines) {
    const match = FRAME.exec(line);
    if (!match) continue;
    const file = match[1]!;
    if (/[/\\](site|dist)-packages[/\\]/.test(file) || file.startsWith("<")) continue;
    if (file.startsWith(`${root}/`)) frame = { file: file.slice(root.length + 1), line: Number(match[2]) };
    else if (!file.startsWith("/")) frame = { file, line: Number(match[2]) };
  }
  const message = exceptionLine(lines);
  if (frame) return { ...frame, message: message ?? "" };
  return null;
}

/** `config/settings.py:14 raised KeyError: 'SECRET_KEY'`: the app's own frame of a traceback in `output`. */
export function raisedAt(output: string, appDir: string): string | undefined {
  const location = locateTraceback(output, appDir);
  if (!location) return undefined;
  const at = location.line === null ? location.file : `${location.file}:${location.line}`;
  return location.message ? `${at} raised ${location.message}` : `the traceback ends in ${at}`;
}

/**
 * A failed `migrate` names the migration it was applying ("Applying blog.0002_post... ") even
 * when no frame of the traceback is in the project (operations run in Django's code).
 */
export function locateMigration(output: string, appDir: string, candidates: readonly string[]): FailureLocation | null {
  const inApp = locateTraceback(output, appDir);
  if (inApp && /(^|\/)migrations\//.test(inApp.file)) return inApp;
  const applying = [...output.matchAll(/Applying (\w+)\.(\w+)\.\.\./g)].pop();
  const message = exceptionLine(output.split("\n")) ?? "";
  if (applying) {
    const name = applying[2]!;
    const file = candidates.find((c) => c.endsWith(`/migrations/${name}.py`)) ?? `${applying[1]}/migrations/${name}.py`;
    return { file, line: null, message };
  }
  return inApp;
}

/** The requirements line pip could not satisfy, found in the project's requirement files. */
export function locateRequirement(output: string, files: ReadonlyMap<string, string>): FailureLocation | null {
  const match =
    /(?:No matching distribution found for|Could not find a version that satisfies the requirement|Invalid requirement:?) '?([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(
      output,
    );
  if (!match) return null;
  const wanted = canonical(match[1]!);
  const complaint = /ERROR: ([^\n]+)/.exec(output.slice(Math.max(0, match.index - 200)))?.[1] ?? match[0];
  for (const [file, text] of files) {
    const lines = text.split("\n");
    const index = lines.findIndex((line) => canonical(/^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line)?.[1] ?? "") === wanted);
    if (index >= 0) return { file, line: index + 1, message: complaint.trim() };
  }
  return null;
}

/** PEP 503: names compare lowercased with runs of -, _ and . as one "-". */
function canonical(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

function exceptionLine(lines: readonly string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (EXCEPTION.test(line) && !line.startsWith("File ")) return line;
  }
  return null;
}
