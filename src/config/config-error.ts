import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { ProdlikeError } from "../errors.js";

type Issue = z.core.$ZodIssue;

/**
 * Turns a zod failure into one user error that names the file, the field (with its line), the
 * value the user wrote and the fix. Never shows a raw ZodError.
 */
export function configError(
  file: string,
  text: string,
  issues: readonly Issue[],
  options: { knownKeys?: readonly string[]; hints?: Readonly<Record<string, string>> } = {},
): ProdlikeError {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  const lines = issues.slice(0, 5).map((issue) => describe(narrow(issue)));
  const more = issues.length > 5 ? `\n  … and ${issues.length - 5} more` : "";
  return new ProdlikeError("CONFIG_INVALID", `${file} is not valid:\n${lines.join("\n")}${more}`);

  function describe(issue: Issue): string {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    const where = `${file}${lineOf(path)}: ${formatPath(path) || "(top level)"}`;
    const hint = hintFor(path);
    if (issue.code === "unrecognized_keys") {
      return issue.keys
        .map((key) => {
          const guess = closest(key, options.knownKeys ?? []);
          const fix = guess ? `did you mean "${guess}"?` : "remove it";
          return `  ${file}${lineOf([...path, key])}: ${formatPath([...path, key])}: unknown field "${key}" — ${fix}`;
        })
        .join("\n");
    }
    const value = doc.getIn(path);
    const wrote = value === undefined ? "it is missing" : `you wrote ${JSON.stringify(toPlain(value))}`;
    const message = issue.code === "invalid_union" ? "does not match any accepted form" : issue.message;
    return `  ${where}: ${message} (${wrote})${hint ? `\n    fix: ${hint}` : ""}`;
  }

  /** In a union, the branch whose keys the user did write is the one they meant. */
  function narrow(issue: Issue): Issue {
    if (issue.code !== "invalid_union") return issue;
    const meant = issue.errors.filter((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0 && i.code !== "unrecognized_keys"));
    if (meant.length !== 1) return issue;
    const inner = meant[0]![0]!;
    return narrow({ ...inner, path: [...issue.path, ...inner.path] } as Issue);
  }

  /** The line of the field, or of its nearest written parent when the field is missing (`redis:` without `profile`). */
  function lineOf(path: readonly PropertyKey[]): string {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth) as (string | number)[], true) as { range?: [number, number, number] } | undefined;
      const offset = node?.range?.[0];
      if (offset !== undefined) return `:${counter.linePos(offset).line}`;
    }
    return "";
  }

  function hintFor(path: readonly PropertyKey[]): string | undefined {
    for (let i = path.length - 1; i >= 0; i--) {
      const segment = path[i];
      if (typeof segment === "string" && options.hints?.[segment]) return options.hints[segment];
    }
    return undefined;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

function toPlain(value: unknown): unknown {
  return value && typeof value === "object" && "toJSON" in value ? (value as { toJSON(): unknown }).toJSON() : value;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
