import { appendFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { downFixture, leftovers, runCli, upFixture, useFixtureCopies, type FixtureStack } from "../../helpers/cli.js";
import { projectDir } from "../../helpers/project-dir.js";

/**
 * `up -d` on a broken project says why on the terminal, as the foreground `up` does, exits 1 and
 * leaves nothing running; `status` then says "failed: <the reason>" rather than "stopped".
 */
describe("prodlike up -d on broken projects, then status", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const fixture = useFixtureCopies();

  async function detachFails(copy: { dir: string; project: string }, expected: string): Promise<void> {
    const result = await runCli(["up", "-d", copy.dir, "--port", "0", "--http-port", "0"], { timeoutMs: 420_000 });
    expect(result.code, `stdout:\n${result.stdout}\nstderr:\n${result.stderr.slice(-3000)}`).toBe(1);
    expect(result.stderr).toContain(`error: ${expected}`);
    expect(await leftovers(copy.project)).toMatchObject({ containers: 0, networks: 0 });

    const status = await runCli(["status", copy.dir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^${copy.project}  failed  `));
    expect(status.stdout).toContain(`failed: ${expected}`);
    const json = JSON.parse((await runCli(["status", copy.dir, "-o", "json"])).stdout) as { status: string; error: string };
    expect(json.status).toBe("failed");
    expect(json.error).toContain(expected);
    // The reason may quote the app's env: readable by its owner only.
    expect((await stat(join(copy.dir, ".prodlike", "state.json"))).mode & 0o077).toBe(0);
  }

  it("a bad render.yaml", async () => {
    const copy = await fixture();
    await writeFile(join(copy.dir, "render.yaml"), "services:\n  - type: web\n    name: broken\n    runtime: python\n    startComand: gunicorn config.wsgi\n");
    await detachFails(copy, 'render.yaml is not valid:\n  render.yaml:5: services[0].startComand: unknown field "startComand" — did you mean "startCommand"?');
  });

  it("a bad prodlike.yaml", async () => {
    const copy = await fixture();
    await writeFile(join(copy.dir, "prodlike.yaml"), "plan: fre\n");
    await detachFails(copy, 'prodlike.yaml is not valid:\n  prodlike.yaml:1: plan: Invalid option: expected one of "free"|"starter"|"standard" (you wrote "fre")');
  });

  it("a build that fails", async () => {
    const copy = await fixture();
    await appendFile(join(copy.dir, "requirements.txt"), "django-does-not-exist-prodlike==9.9.9\n");
    await detachFails(copy, "the build command `pip install -r requirements.txt`");
  });

  it("records nothing in a folder that is not a Django project", async () => {
    const folder = await projectDir({ "notes.txt": "not a project\n" });
    cleanups.push(() => folder.dispose());
    const result = await runCli(["up", "-d", folder.dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: no requirements.txt in ${folder.dir}`);
    expect(await readdir(folder.dir)).toEqual(["notes.txt"]);
  });

  describe("while a stack of the folder runs", () => {
    let stack: FixtureStack | undefined;
    afterEach(async () => {
      await downFixture(stack);
      stack = undefined;
    });

    it("a failed `up -d` leaves the running stack's status alone", async () => {
      stack = await upFixture("render-supabase");
      const { dir } = stack.fixture;
      const before = await readFile(join(dir, ".prodlike", "state.json"), "utf8");
      await writeFile(join(dir, "prodlike.yaml"), "plan: fre\n");
      const again = await runCli(["up", "-d", dir, "--port", "0", "--http-port", "0"]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("error: prodlike.yaml is not valid");
      expect(await readFile(join(dir, ".prodlike", "state.json"), "utf8")).toBe(before);
      const status = await runCli(["status", dir]);
      expect(status.stdout).toMatch(/ running \(detached\) /);
      expect(status.stdout).not.toContain("failed");
    });
  });
});
