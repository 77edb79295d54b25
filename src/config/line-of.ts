/** The 1-based line of the first line of `text` that `pattern` matches, or undefined. */
export function lineOf(text: string | undefined, pattern: RegExp): number | undefined {
  if (text === undefined) return undefined;
  const index = text.split("\n").findIndex((line) => pattern.test(line));
  return index < 0 ? undefined : index + 1;
}

/** `file:line` when the line is known, else `file`. */
export function at(file: string, line: number | undefined): string {
  return line === undefined ? file : `${file}:${line}`;
}
