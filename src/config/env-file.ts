import { parse as parseDotenv } from "dotenv";

export interface EnvFile {
  readonly values: Readonly<Record<string, string>>;
  /** One per line that was dropped, each naming `file:line`, what is wrong and what to write. */
  readonly warnings: readonly string[];
}

const STATEMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;

/**
 * A `.env` file as the app would read it in production's place. Values come from `dotenv`; the
 * lines it would silently skip or misread are reported. A value opened with a quote that never
 * closes (`A="abc`) is dropped, not kept with its quote: python-dotenv, which a Django app loads
 * its `.env` with, skips that statement too ("could not parse statement starting at line N"),
 * while node's dotenv would hand the app `"abc`.
 */
export function parseEnvFile(text: string, file = ".env"): EnvFile {
  const values: Record<string, string> = { ...parseDotenv(text) };
  const warnings: string[] = [];
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const statement = STATEMENT.exec(line);
    if (!statement) {
      warnings.push(`${file}:${i + 1}: ${quote(line)} is not KEY=VALUE and is ignored: write it as KEY=VALUE, or start it with # to keep it as a comment`);
      continue;
    }
    const [, key, value] = statement as unknown as [string, string, string];
    const opening = value[0];
    if (opening !== '"' && opening !== "'" && opening !== "`") continue;
    const close = closingQuote(lines, i, line.length - value.length + 1, opening);
    if (close === null) {
      delete values[key];
      warnings.push(
        `${file}:${i + 1}: the value of ${key} opens with ${opening} and never closes, so ${key} is not set ` +
          `(python-dotenv skips it too): close the quote (${key}=${opening}${value.slice(1).trim()}${opening}) or remove it`,
      );
      continue;
    }
    // A quoted value may span lines (a PEM key): its other lines are not statements. When they
    // look like statements, a quote was most likely left open and the value swallowed them.
    const swallowed = lines.slice(i + 1, close + 1).flatMap((inner) => STATEMENT.exec(inner)?.[1] ?? []);
    if (swallowed.length > 0) {
      warnings.push(
        `${file}:${i + 1}: the value of ${key} opens with ${opening} and closes only on line ${close + 1}, so it swallows ` +
          `${swallowed.join(", ")}: close the quote on line ${i + 1} if ${key} is meant to be one line`,
      );
    }
    i = close;
  }
  return { values, warnings };
}

/** The line index where a quoted value that starts at `lines[start][column]` ends, or null. */
function closingQuote(lines: readonly string[], start: number, column: number, quoteChar: string): number | null {
  for (let i = start; i < lines.length; i++) {
    const text = i === start ? lines[i]!.slice(column) : lines[i]!;
    for (let c = 0; c < text.length; c++) {
      if (text[c] === "\\" && quoteChar === '"') c++;
      else if (text[c] === quoteChar) return i;
    }
  }
  return null;
}

function quote(line: string): string {
  const trimmed = line.trim();
  return JSON.stringify(trimmed.length > 60 ? `${trimmed.slice(0, 57)}...` : trimmed);
}
