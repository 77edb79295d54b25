import { shellQuote } from "./app-shell.js";
import type { Scenario, ScenarioVerdict } from "./scenario.js";

/** Words that run the program after them. */
const PREFIXES = new Set(["exec", "env", "nohup", "command", "time"]);
/** Shell builtins: a part that starts with one runs no program to look for. */
const BUILTINS = new Set(["cd", "export", "source", ".", "set", "true", "false", "echo", "test", "[", "if", "then", "fi", "do", "done", "ulimit", "umask"]);
/** bash's "not found" line: Render shows `bash: line 1: gunicorn: command not found`; `exec x` says `exec: x: not found`. */
const NOT_FOUND = /^\s*(bash: (?:line \d+: )?(?:exec: )?([^\s:]+): (?:command )?not found)\s*$/m;

/** The programs a start command runs: the first word of each `&&`/`;`/`|` part, after VAR=value and builtins. */
export function programsOf(command: string): string[] {
  const programs: string[] = [];
  for (const part of command.split(/&&|\|\||;|\|/)) {
    const words = part.trim().split(/\s+/).filter(Boolean);
    const program = words.find((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) && !PREFIXES.has(word));
    if (program === undefined || BUILTINS.has(program)) continue;
    if (!programs.includes(program) && !/[$`]/.test(program)) programs.push(program);
  }
  return programs;
}

function fixFor(program: string, source: string): string {
  return /^(python3?|pip3?|bash|sh)$/.test(program)
    ? `fix the start command (${source}): "${program}" should exist in Render's Python runtime, check its spelling and path`
    : `add ${program} to requirements.txt (Render installs only what the build command installs), or fix the start command in ${source}`;
}

export const startCommand: Scenario = {
  id: "start-command",
  title: "the start command's program is installed by the build",
  applies: () => true,
  async run(context) {
    const { startCommand: command, startCommandSource: source } = context.description.app;
    const programs = programsOf(command);
    const evidence = [`start command (${source}): ${command}`];
    const missing: string[] = [];
    for (const program of programs) {
      const found = await context.stack.exec(`command -v ${shellQuote(program)}`);
      const path = found.stdout.trim();
      if (found.exitCode === 0 && path) evidence.push(`command -v ${program} → ${path}`);
      else {
        missing.push(program);
        evidence.push(`command -v ${program} → not found (exit ${found.exitCode})`);
      }
    }
    if (missing.length > 0) {
      return {
        status: "fail",
        summary: `${missing.join(", ")} from the start command is not installed in the built app: a restart on Render fails with "command not found"`,
        evidence,
        fix: fixFor(missing[0]!, source),
      };
    }
    return { status: "pass", summary: `${programs.join(", ") || command} is installed in the built app`, evidence, fix: fixFor(programs[0] ?? "gunicorn", source) };
  },
  explainStartFailure(error, description): ScenarioVerdict | undefined {
    const match = NOT_FOUND.exec(error.message);
    if (!match) return undefined;
    const [, line, program] = match as unknown as [string, string, string];
    const { startCommand: command, startCommandSource: source } = description.app;
    return {
      status: "fail",
      summary: `the app does not start: "${program}" is not installed (start command from ${source})`,
      evidence: [`start command (${source}): ${command}`, `app: ${line}`, `on Render the deploy fails with: bash: line 1: ${program}: command not found`],
      fix: fixFor(program, source),
    };
  },
};
