/** One file that does not compile, as the app's Python reports it. */
export interface SyntaxProblem {
  readonly path: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly message: string;
  readonly text: string;
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
