import type { ReloadTarget } from "./target.js";

/** One file that does not compile, as the app's Python reports it. */
export interface SyntaxProblem {
  readonly path: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly message: string;
  readonly text: string;
}

/**
 * Compiles the sources it reads on stdin (JSON: [{path, source: base64}]) the way py_compile
 * does, without writing anything, and prints the problems as JSON. Runs in the app, so the
 * app's Python version decides what is valid.
 */
const CHECK_SCRIPT = `
import base64, json, sys
problems = []
for item in json.load(sys.stdin):
    try:
        compile(base64.b64decode(item["source"]), item["path"], "exec", dont_inherit=True)
    except SyntaxError as e:
        problems.append({"path": item["path"], "line": e.lineno, "column": e.offset,
                         "message": type(e).__name__ + ": " + str(e.msg), "text": (e.text or "").rstrip()})
    except ValueError as e:
        problems.append({"path": item["path"], "line": None, "column": None,
                         "message": "ValueError: " + str(e), "text": ""})
print("PRODLIKE-CHECK " + json.dumps(problems))
`;

export interface SyntaxCheckResult {
  /** False when the check could not run (no python in the app): the reload goes ahead. */
  readonly ran: boolean;
  readonly problems: readonly SyntaxProblem[];
  readonly output: string;
}

/** Compile `files` ({path: source}) with the app's Python before any of them reaches the app. */
export async function checkPythonSyntax(target: Pick<ReloadTarget, "runInApp">, files: ReadonlyMap<string, Buffer>): Promise<SyntaxCheckResult> {
  if (files.size === 0) return { ran: true, problems: [], output: "" };
  const payload = JSON.stringify([...files].map(([path, source]) => ({ path, source: source.toString("base64") })));
  const result = await target.runInApp(["python", "-c", CHECK_SCRIPT], { stdin: payload });
  const line = result.output.split("\n").find((l) => l.startsWith("PRODLIKE-CHECK "));
  if (!line) return { ran: false, problems: [], output: result.output };
  return { ran: true, problems: JSON.parse(line.slice("PRODLIKE-CHECK ".length)) as SyntaxProblem[], output: result.output };
}

/** `views.py:12:5: SyntaxError: ...` and the offending line with a caret, as Python prints it. */
export function formatSyntaxProblem(problem: SyntaxProblem): string {
  const where = [problem.path, problem.line, problem.column].filter((p) => p !== null).join(":");
  const lines = [`${where}: ${problem.message}`];
  if (problem.text) {
    const text = problem.text.replace(/^\s+/, "");
    const indent = problem.text.length - text.length;
    lines.push(`    ${text}`);
    if (problem.column !== null && problem.column > indent) lines.push(`    ${" ".repeat(problem.column - 1 - indent)}^`);
  }
  return lines.join("\n");
}
