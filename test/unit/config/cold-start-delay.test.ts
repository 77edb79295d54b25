import { afterEach, describe, expect, it } from "vitest";
import { resolveStack } from "../../../src/config/resolve.js";
import { isProdlikeError } from "../../../src/errors.js";
import { projectDir } from "../../helpers/project-dir.js";

const django = {
  "manage.py": "",
  "requirements.txt": "Django==5.2\ngunicorn\n",
  "mysite/wsgi.py": "",
};

const disposers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((d) => d()));
});

async function resolveWith(prodlikeYaml: string | undefined) {
  const made = await projectDir(prodlikeYaml === undefined ? django : { ...django, "prodlike.yaml": prodlikeYaml });
  disposers.push(made.dispose);
  return resolveStack(made.dir, {}, {});
}

describe("prodlike.yaml coldStartDelay", () => {
  it("is 0 unless asked for", async () => {
    expect((await resolveWith(undefined)).app.coldStartDelayMs).toBe(0);
  });

  it.each([
    ["2s", 2000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1500", 1500],
  ])("reads %s as %i ms", async (written, ms) => {
    expect((await resolveWith(`coldStartDelay: ${written}\n`)).app.coldStartDelayMs).toBe(ms);
  });

  it("names the file, the line, the value and the fix when it is not a duration", async () => {
    const err = await resolveWith("plan: free\ncoldStartDelay: soon\n").then(
      () => null,
      (e: unknown) => e,
    );
    expect(isProdlikeError(err)).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain("prodlike.yaml:2");
    expect(message).toContain("coldStartDelay");
    expect(message).toContain('"soon"');
    expect(message).toMatch(/fix: coldStartDelay is a duration like "2s"/);
  });

  it("refuses a negative number of milliseconds", async () => {
    await expect(resolveWith("coldStartDelay: -5\n")).rejects.toThrow(/coldStartDelay/);
  });
});
