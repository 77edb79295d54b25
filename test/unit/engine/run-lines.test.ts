import { describe, expect, it } from "vitest";
import { run } from "../../../src/engine/bootstrap.js";

describe("run", () => {
  it("hands each whole line to onLine as it comes, from stdout and stderr, the last one without a newline too", async () => {
    const lines: string[] = [];
    const script = "printf 'go: downloading'; printf ' github.com/minio/minio\\n'; printf 'warning\\n' >&2; printf 'github.com/minio/minio/cmd'";
    const output = await run("bash", ["-c", script], undefined, (line) => lines.push(line));
    expect(lines.sort()).toEqual(["github.com/minio/minio/cmd", "go: downloading github.com/minio/minio", "warning"]);
    expect(output).toContain("go: downloading github.com/minio/minio\n");
  });
});
