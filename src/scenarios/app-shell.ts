import type { ScenarioContext } from "./scenario.js";

/** The line a snippet prints its answer on: Django may log to stdout too. */
export const RESULT_MARKER = "PRODLIKE_RESULT:";

/** What a snippet run inside the app container printed, parsed. */
export type ShellResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * The app's settings module the way manage.py finds it (its DJANGO_SETTINGS_MODULE default),
 * without the shell command's auto-imports: on the free plan's 0.1 CPU every import is felt.
 */
const DJANGO_PRELUDE = [
  "import os, re, sys",
  "sys.path.insert(0, os.getcwd())",
  "if not os.environ.get('DJANGO_SETTINGS_MODULE'):",
  "    m = re.search(r\"DJANGO_SETTINGS_MODULE['\\\"]\\s*,\\s*['\\\"]([\\w.]+)\", open('manage.py').read())",
  "    if m: os.environ['DJANGO_SETTINGS_MODULE'] = m.group(1)",
  "import django",
  "from django.core.exceptions import AppRegistryNotReady",
].join("\n");

/**
 * Run Python inside the running app container with the app's settings (as
 * `python manage.py shell -c` would), and read the JSON it prints after RESULT_MARKER. Used to
 * ask the app what it really runs with (its storage, its caches), in the app's own container.
 * `lazy`: try with the settings alone and set up the app registry (models: the slow part) only
 * if the code turns out to need it; the code must not have done anything by then.
 */
export async function djangoShell<T>(context: ScenarioContext, code: string, options: { lazy?: boolean } = {}): Promise<ShellResult<T>> {
  const body = code
    .trim()
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
  const run = options.lazy
    ? `def _snippet():\n${body}\ntry:\n    _snippet()\nexcept AppRegistryNotReady:\n    django.setup()\n    _snippet()`
    : `django.setup()\n${code}`;
  return runPython<T>(context, ["python", "-c", `${DJANGO_PRELUDE}\n${run}`]);
}

/** Plain Python in the app container (no Django setup): fast, for reading /proc. */
export async function plainPython<T>(context: ScenarioContext, code: string): Promise<ShellResult<T>> {
  return runPython<T>(context, ["python", "-c", code]);
}

async function runPython<T>(context: ScenarioContext, argv: readonly string[]): Promise<ShellResult<T>> {
  let result;
  try {
    // Through bash: the container's PATH (the build's virtualenv) and working directory apply.
    result = await context.stack.exec(argv.map(shellQuote).join(" "));
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const parsed = parseMarked<T>(result.stdout);
  if (parsed !== undefined) return { ok: true, value: parsed };
  const output = `${result.stderr}\n${result.stdout}`.trim();
  return { ok: false, error: `exit ${result.exitCode}: ${lastMeaningfulLine(output) ?? "no output"}` };
}

/** The JSON after the last RESULT_MARKER line, or undefined. */
export function parseMarked<T>(stdout: string): T | undefined {
  const line = stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith(RESULT_MARKER));
  if (!line) return undefined;
  try {
    return JSON.parse(line.slice(RESULT_MARKER.length)) as T;
  } catch {
    return undefined;
  }
}

/** A traceback's last line says what went wrong ("django.core...: ..."). */
export function lastMeaningfulLine(text: string): string | undefined {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1);
}

export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
