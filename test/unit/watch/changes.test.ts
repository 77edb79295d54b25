import { describe, expect, it } from "vitest";
import { coalesceChanges, type FileChange } from "../../../src/watch/changes.js";

const ev = (kind: FileChange["kind"], path = "a.py"): FileChange => ({ kind, path });

describe("coalesceChanges", () => {
  it.each([
    [["add", "change"], "add"],
    [["add", "change", "change"], "add"],
    [["change", "change"], "change"],
    [["change", "unlink"], "unlink"],
    [["unlink", "add"], "change"],
    [["unlink", "add", "unlink"], "unlink"],
    [["add", "unlink", "add"], "add"],
  ] as [FileChange["kind"][], FileChange["kind"]][])("%j → %s", (kinds, result) => {
    expect(coalesceChanges(kinds.map((k) => ev(k)))).toEqual([{ path: "a.py", kind: result }]);
  });

  it("drops a file created and removed within the batch (an editor's temp file)", () => {
    expect(coalesceChanges([ev("add", "x.tmp"), ev("change", "x.tmp"), ev("unlink", "x.tmp")])).toEqual([]);
  });

  it("keeps one entry per path, in first-seen order", () => {
    const out = coalesceChanges([ev("change", "b.py"), ev("add", "a.py"), ev("change", "b.py")]);
    expect(out).toEqual([
      { path: "b.py", kind: "change" },
      { path: "a.py", kind: "add" },
    ]);
  });
});
