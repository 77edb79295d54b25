export interface Procfile {
  /** Process types, e.g. { web: "gunicorn app.wsgi" }. */
  readonly processes: Readonly<Record<string, string>>;
  /** Lines that are neither `type: command`, a comment nor blank, each naming `Procfile:line`. */
  readonly warnings: readonly string[];
}

const PROCESS = /^\s*([A-Za-z0-9_-]+)\s*:\s*(.+?)\s*$/;

export function parseProcfile(text: string, file = "Procfile"): Procfile {
  const processes: Record<string, string> = {};
  const warnings: string[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const match = PROCESS.exec(line);
    if (match) processes[match[1]!] = match[2]!;
    else warnings.push(`${file}:${index + 1}: ${JSON.stringify(line.trim())} is not "<type>: <command>" and is ignored: write e.g. "web: gunicorn <project>.wsgi"`);
  });
  return { processes, warnings };
}
