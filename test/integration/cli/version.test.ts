import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, runCli } from "../../helpers/cli.js";

describe("prodlike --version", () => {
  it.each(["--version", "-V"])("%s prints the version in package.json and exits 0", async (flag) => {
    const { version } = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string };
    const result = await runCli([flag]);
    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });
});
