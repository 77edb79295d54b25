/** One file event, with the path relative to the project dir and "/"-separated. */
export interface FileChange {
  readonly path: string;
  readonly kind: "add" | "change" | "unlink";
}

/**
 * Fold a list of events into at most one per path, keeping what the path's final state means
 * relative to before the first event: add→change is an add, add→unlink is nothing,
 * unlink→add is a change.
 */
export function coalesceChanges(events: readonly FileChange[]): FileChange[] {
  const byPath = new Map<string, FileChange["kind"] | null>();
  for (const event of events) {
    const before = byPath.has(event.path) ? byPath.get(event.path)! : undefined;
    byPath.set(event.path, fold(before, event.kind));
  }
  const out: FileChange[] = [];
  for (const [path, kind] of byPath) if (kind) out.push({ path, kind });
  return out;
}

/** `null`: a file that did not exist before the batch and does not now (created, then removed). */
function fold(before: FileChange["kind"] | null | undefined, next: FileChange["kind"]): FileChange["kind"] | null {
  if (before === undefined) return next;
  if (before === null) return next === "unlink" ? null : "add";
  if (before === "add") return next === "unlink" ? null : "add";
  if (before === "unlink") return next === "unlink" ? "unlink" : "change";
  return next === "add" ? "change" : next;
}
