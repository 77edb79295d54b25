import { createServer, type Server } from "node:net";
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { leftovers, runCli, useFixtureCopies } from "../../helpers/cli.js";

/**
 * A broken app gives a clear, actionable message and exit 1 — never a hang — and leaves no
 * container or network behind.
 */
describe("prodlike up on broken apps", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const fixture = useFixtureCopies();

  async function upFails(dir: string, project: string, extra: string[] = []) {
    const result = await runCli(["up", dir, "--port", "0", "--http-port", "0", ...extra], { timeoutMs: 420_000 });
    expect(result.code, `stdout:\n${result.stdout}\nstderr:\n${result.stderr.slice(-3000)}`).toBe(1);
    const left = await leftovers(project);
    expect({ containers: left.containers, networks: left.networks }).toEqual({ containers: 0, networks: 0 });
    return result.stderr;
  }

  it("names the requirement pip cannot install and the file to fix", async () => {
    const copy = await fixture();
    await appendFile(join(copy.dir, "requirements.txt"), "django-does-not-exist-prodlike==9.9.9\n");
    const stderr = await upFails(copy.dir, copy.project);
    expect(stderr).toContain("error: the build command `pip install -r requirements.txt`");
    expect(stderr).toMatch(/pip says: (Could not find a version that satisfies the requirement|No matching distribution found for) django-does-not-exist-prodlike==9\.9\.9/);
    expect(stderr).toContain("Fix that line in requirements.txt");
  });

  it("says to add gunicorn to requirements.txt when the start command is not installed", async () => {
    const copy = await fixture();
    const requirements = await readFile(join(copy.dir, "requirements.txt"), "utf8");
    await writeFile(join(copy.dir, "requirements.txt"), requirements.replace(/^gunicorn.*$/m, ""));
    const stderr = await upFails(copy.dir, copy.project);
    expect(stderr).toMatch(/gunicorn: (command )?not found/);
    expect(stderr).toContain('"gunicorn" is not installed in the app (start command from Procfile web). Add gunicorn to requirements.txt');
  });

  it("shows the last log lines of an app that exits at boot", async () => {
    const copy = await fixture();
    await writeFile(join(copy.dir, "Procfile"), "web: python -c \"import sys; print('boot failed: settings missing PRODLIKE_TEST'); sys.exit(3)\"\n");
    const stderr = await upFails(copy.dir, copy.project);
    expect(stderr).toContain("exited (code 3)");
    expect(stderr).toContain("boot failed: settings missing PRODLIKE_TEST");
  });

  it("names the settings file and line that raised at import", async () => {
    const copy = await fixture();
    const settings = join(copy.dir, "config", "settings.py");
    const text = await readFile(settings, "utf8");
    await writeFile(settings, `${text.trimEnd()}\nraise RuntimeError("settings exploded on purpose")\n`);
    const line = text.trimEnd().split("\n").length + 1;
    const stderr = await upFails(copy.dir, copy.project);
    expect(stderr, stderr.slice(-4000)).toContain(`config/settings.py:${line} raised RuntimeError: settings exploded on purpose`);
  });

  it("says the database password is gone when secrets.json is deleted but the volume is kept, every time (not a new password that locks the next run out)", async () => {
    const copy = await fixture();
    const first = await runCli(["up", "-d", copy.dir, "--port", "0", "--http-port", "0"], { timeoutMs: 420_000 });
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    expect((await runCli(["down", copy.dir])).code).toBe(0);
    await rm(join(copy.dir, ".prodlike", "secrets.json"));
    for (let attempt = 1; attempt <= 2; attempt++) {
      const stderr = await upFails(copy.dir, copy.project);
      expect(stderr, `attempt ${attempt}`).toMatch(/the database volume \S+ was made with a password kept in .*secrets\.json, which is gone/);
      expect(stderr, `attempt ${attempt}`).toContain("prodlike down --volumes");
    }
  });

  it("names file, field and fix for a bad render.yaml, before touching Docker", async () => {
    const copy = await fixture();
    await writeFile(join(copy.dir, "render.yaml"), "services:\n  - type: web\n    name: broken\n    runtime: python\n    startComand: gunicorn config.wsgi\n");
    const started = Date.now();
    const stderr = await upFails(copy.dir, copy.project);
    expect(stderr).toContain("render.yaml:5: services[0].startComand: unknown field \"startComand\" — did you mean \"startCommand\"?");
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("says which port is taken and how to choose another", async () => {
    const copy = await fixture();
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const result = await runCli(["up", copy.dir, "--port", String(port), "--http-port", "0"], { timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already taken`);
    expect(result.stderr).toContain("--port");
    expect((await leftovers(copy.project)).containers).toBe(0);
  });
});
