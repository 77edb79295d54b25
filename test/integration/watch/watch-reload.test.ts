import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { watchAndReload, type ReloadOutcome, type WatchSession } from "../../../src/watch/index.js";
import { gunicornVenv, LocalGunicornTarget } from "./local-gunicorn.js";

const APP_PY = `import os
from greeting import GREETING

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/applied":
        body = open("applied.txt").read() if os.path.exists("applied.txt") else ""
    elif path.startswith("/static/"):
        body = open("staticfiles/" + path[len("/static/"):]).read()
    else:
        body = GREETING
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
`;

/** Django's two deploy commands, in miniature: migrations applied once each, static files collected. */
const MANAGE_PY = `import importlib.util, os, shutil, sys

def migrate():
    applied = set(open("applied.txt").read().split()) if os.path.exists("applied.txt") else set()
    print("Running migrations:")
    for app in sorted(os.listdir(".")):
        folder = os.path.join(app, "migrations")
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py") or name == "__init__.py" or f"{app}.{name[:-3]}" in applied:
                continue
            key = f"{app}.{name[:-3]}"
            print(f"  Applying {key}...", end="", flush=True)
            spec = importlib.util.spec_from_file_location(key, os.path.join(folder, name))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.apply()
            print(" OK")
            with open("applied.txt", "a") as f:
                f.write(key + "\\n")

if sys.argv[1] == "migrate":
    migrate()
elif sys.argv[1] == "collectstatic":
    shutil.copytree("static", "staticfiles", dirs_exist_ok=True)
`;

const venv = gunicornVenv();
if (!venv) console.warn("\n!!! watch integration tests SKIPPED: no Python 3 with pip to install gunicorn in a throwaway venv\n");

describe.skipIf(!venv)("watch and reload against a real gunicorn", () => {
  let root: string;
  let project: string;
  let target: LocalGunicornTarget;
  let session: WatchSession;
  let outcomes: ReloadOutcome[];

  beforeAll(() => {
    expect(venv).toBeTruthy();
  });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "prodlike-watch-"));
    project = join(root, "project");
    await mkdir(join(project, "blog", "migrations"), { recursive: true });
    await mkdir(join(project, "static"), { recursive: true });
    await writeFile(join(project, "app.py"), APP_PY);
    await writeFile(join(project, "greeting.py"), 'GREETING = "v1"\n');
    await writeFile(join(project, "manage.py"), MANAGE_PY);
    await writeFile(join(project, "requirements.txt"), "gunicorn\n");
    await writeFile(join(project, "blog", "__init__.py"), "");
    await writeFile(join(project, "blog", "migrations", "__init__.py"), "");
    await writeFile(join(project, "static", "site.css"), "body { color: red }\n");
    await writeFile(join(project, ".gitignore"), "*.log\nscratch/\n");
    target = new LocalGunicornTarget(project, join(root, "deployed"), venv!);
    await target.deploy();
    // The deploy's collectstatic and migrate, as the build would run them.
    await target.runInApp(["python", "manage.py", "collectstatic"]);
    outcomes = [];
    session = await watchAndReload({ dir: project, target, onAction: (o) => outcomes.push(o) });
  });

  afterEach(async () => {
    await session?.close();
    await target?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const body = async (path = "/") => (await fetch(`${target.url}${path}`)).text();
  const nextOutcome = async (count: number) => {
    await expect.poll(() => outcomes.length, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(count);
    return outcomes[count - 1]!;
  };

  it("serves an edited module after a graceful reload, fast, with no failed request while a client polls", async () => {
    expect(await body()).toBe("v1");
    const timings: number[] = [];
    let failures = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await fetch(target.url).catch(() => null);
        if (!res || res.status !== 200) failures++;
        await res?.text();
      }
    })();
    for (let i = 2; i <= 6; i++) {
      const started = performance.now();
      await writeFile(join(project, "greeting.py"), `GREETING = "v${i}"\n`);
      await expect.poll(body, { timeout: 10_000, interval: 10 }).toBe(`v${i}`);
      timings.push(performance.now() - started);
      await nextOutcome(i - 1);
    }
    polling = false;
    await poller;
    timings.sort((a, b) => a - b);
    const median = timings[Math.floor(timings.length / 2)]!;
    console.log(`write → new response: median ${median.toFixed(0)} ms (${timings.map((t) => t.toFixed(0)).join(", ")})`);
    expect(failures).toBe(0);
    expect(outcomes.every((o) => o.action === "sync-reload" && o.ok)).toBe(true);
    expect(median).toBeLessThan(3000);
  });

  it("a syntax error keeps the last good version serving and names file and line; the fix recovers", async () => {
    await writeFile(join(project, "greeting.py"), 'GREETING = "v2"\n');
    await expect.poll(body, { timeout: 10_000 }).toBe("v2");
    await writeFile(join(project, "greeting.py"), 'GREETING = "v3"\nif True\n    pass\n');
    const failed = await nextOutcome(2);
    expect(failed).toMatchObject({ action: "sync-reload", ok: false, location: { file: "greeting.py", line: 2 } });
    expect(failed.error!.message).toContain("greeting.py:2");
    expect(failed.error!.message).toMatch(/SyntaxError/);
    expect(failed.error!.message).toContain("if True");
    // Nothing of the broken batch reached the app.
    expect(await readFile(join(target.deployDir, "greeting.py"), "utf8")).toBe('GREETING = "v2"\n');
    expect(await body()).toBe("v2");

    await writeFile(join(project, "greeting.py"), 'GREETING = "v4"\n');
    await expect.poll(body, { timeout: 10_000 }).toBe("v4");
    expect((await nextOutcome(3)).ok).toBe(true);
  });

  it("a new migration is migrated before the reload; a failing one is reported and migrated once fixed", async () => {
    await writeFile(join(project, "blog", "migrations", "0001_initial.py"), "def apply():\n    pass\n");
    await expect.poll(() => body("/applied"), { timeout: 10_000 }).toBe("blog.0001_initial\n");
    expect((await nextOutcome(1)).action).toBe("migrate");

    await writeFile(join(project, "blog", "migrations", "0002_broken.py"), "def apply():\n    x = 1\n    raise RuntimeError('column already exists')\n");
    const failed = await nextOutcome(2);
    expect(failed).toMatchObject({ action: "migrate", ok: false, location: { file: "blog/migrations/0002_broken.py", line: 3 } });
    expect(failed.error!.message).toContain("RuntimeError: column already exists");
    expect(await body("/applied")).toBe("blog.0001_initial\n");

    await writeFile(join(project, "blog", "migrations", "0002_broken.py"), "def apply():\n    pass\n");
    const fixed = await nextOutcome(3);
    expect(fixed).toMatchObject({ action: "migrate", ok: true });
    expect(await body("/applied")).toBe("blog.0001_initial\nblog.0002_broken\n");
  });

  it("a static file change runs collectstatic", async () => {
    await writeFile(join(project, "static", "site.css"), "body { color: blue }\n");
    await expect.poll(() => body("/static/site.css"), { timeout: 10_000 }).toBe("body { color: blue }\n");
    expect(await nextOutcome(1)).toMatchObject({ action: "collectstatic", ok: true });
  });

  it("requirements.txt rebuilds; a package pip cannot find fails at its line and the old app keeps serving", async () => {
    await writeFile(join(project, "requirements.txt"), "gunicorn\nno-such-package-prodlike==1.0\n");
    const failed = await nextOutcome(1);
    expect(failed).toMatchObject({ action: "rebuild", ok: false, location: { file: "requirements.txt", line: 2 } });
    expect(await body()).toBe("v1");

    await writeFile(join(project, "greeting.py"), 'GREETING = "rebuilt"\n');
    await writeFile(join(project, "requirements.txt"), "gunicorn\n");
    const fixed = await nextOutcome(2);
    expect(fixed).toMatchObject({ action: "rebuild", ok: true });
    expect(await body()).toBe("rebuilt");
  });

  it("ignored files cause nothing; a save-all is one action", async () => {
    await mkdir(join(project, "blog", "__pycache__"), { recursive: true });
    await mkdir(join(project, "scratch"), { recursive: true });
    await writeFile(join(project, "blog", "__pycache__", "views.cpython-311.pyc"), "x");
    await writeFile(join(project, ".greeting.py.swp"), "x");
    await writeFile(join(project, "debug.log"), "x");
    await writeFile(join(project, "scratch", "notes.py"), "x");
    await writeFile(join(project, "4913"), "");
    for (const name of ["a", "b", "c", "d"]) await writeFile(join(project, "blog", `${name}.py`), `${name.toUpperCase()} = 1\n`);
    await writeFile(join(project, "greeting.py"), 'GREETING = "all"\n');
    await expect.poll(body, { timeout: 10_000 }).toBe("all");
    const outcome = await nextOutcome(1);
    expect(outcome.plan.changes.map((c) => c.path).sort()).toEqual(["blog/a.py", "blog/b.py", "blog/c.py", "blog/d.py", "greeting.py"]);
    expect(outcomes).toHaveLength(1);
    expect(target.calls.filter((c) => c === "reload")).toHaveLength(1);
  });

  it(".env re-resolves the stack", async () => {
    await writeFile(join(project, ".env"), "FOO=1\n");
    expect(await nextOutcome(1)).toMatchObject({ action: "re-resolve", ok: true });
    expect(target.calls).toContain("re-resolve");
  });
});
