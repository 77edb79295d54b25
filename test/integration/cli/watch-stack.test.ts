import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downFixture, fetchApp, runCli, upForeground } from "../../helpers/cli.js";

/** Issue 6 on the real engine: save a file under `prodlike up`, see production behaviour again. */
describe("watch and reload under prodlike up", () => {
  // Watch runs where the files are: in the foreground `prodlike up` that owns the stack.
  let stack: Awaited<ReturnType<typeof upForeground>> | undefined;
  let url: string;
  const views = () => join(stack!.fixture.dir, "notes", "views.py");

  beforeAll(async () => {
    stack = await upForeground("render-supabase", { watch: true, args: ["--plan", "starter"] });
    url = stack.url;
  });

  afterAll(async () => {
    if (!stack) return;
    const exited = new Promise((resolve) => stack!.child.once("exit", resolve));
    stack.child.kill("SIGINT");
    await exited;
    await downFixture(stack);
  });

  async function edit(from: string | RegExp, to: string): Promise<void> {
    const text = await readFile(views(), "utf8");
    const next = text.replace(from, to);
    expect(next).not.toBe(text);
    await writeFile(views(), next);
  }

  async function heading(): Promise<{ status: number; h1: string | undefined }> {
    const response = await fetchApp(`${url}/`);
    return { status: response.status, h1: /<h1>(.*)<\/h1>/.exec(await response.text())?.[1] };
  }

  it("serves an edited view, with no failed request while a client polls", async () => {
    expect(await heading()).toEqual({ status: 200, h1: "render-supabase" });
    const statuses: number[] = [];
    let seen = false;
    const polling = (async () => {
      const deadline = Date.now() + 30_000;
      while (!seen && Date.now() < deadline) {
        const { status, h1 } = await heading();
        statuses.push(status);
        seen = h1 === "edited under watch";
      }
    })();
    await edit("<h1>render-supabase</h1>", "<h1>edited under watch</h1>");
    await polling;
    expect(seen).toBe(true);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it("keeps the last good version serving through a syntax error, reports file and line, recovers on the fix", async () => {
    await edit(/^def index\(request\):$/m, "def index(request)");
    await expect
      .poll(async () => stack!.output().match(/sync-reload failed at notes\/views\.py:\d+/)?.[0], { timeout: 20_000 })
      .toMatch(/^sync-reload failed at notes\/views\.py:\d+$/);
    expect(await heading()).toEqual({ status: 200, h1: "edited under watch" });

    await edit(/^def index\(request\)$/m, "def index(request):");
    await edit("<h1>edited under watch</h1>", "<h1>fixed</h1>");
    await expect.poll(async () => (await heading()).h1, { timeout: 20_000 }).toBe("fixed");
  });

  /** What `prodlike up` logged, message by message (it is JSON lines). */
  async function messages(): Promise<string[]> {
    return stack!
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => String((JSON.parse(line) as { msg?: unknown }).msg ?? ""));
  }

  /** The failures reported so far ("<action> failed ...; the last good version keeps serving"). */
  async function failures(): Promise<string[]> {
    return (await messages()).filter((msg) => /^\S+ failed.*; the last good version keeps serving/.test(msg));
  }

  /** Poll the front page until `done` says so; every answer in between must be a 200. */
  async function pollWhile(done: () => Promise<boolean>, timeoutMs: number): Promise<number[]> {
    const statuses: number[] = [];
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms; statuses so far: ${statuses.join(",")}`);
      statuses.push((await heading()).status);
    }
    return statuses;
  }

  it("takes back a view whose import fails (it compiles, but every request would be a 500), names file and line, recovers on the fix", async () => {
    const before = (await failures()).length;
    await edit("from .models import Note\n", "from .models import Note\nimport prodlike_no_such_module\n");
    const statuses = await pollWhile(async () => (await failures()).length > before, 60_000);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect((await failures()).at(-1)).toMatch(/^sync-reload failed at notes\/views\.py:\d+;/);
    expect((await failures()).at(-1)).toContain("ModuleNotFoundError: No module named 'prodlike_no_such_module'");
    expect(await heading()).toEqual({ status: 200, h1: "fixed" });

    await edit("import prodlike_no_such_module\n", "");
    await edit("<h1>fixed</h1>", "<h1>recovered</h1>");
    await expect.poll(async () => (await heading()).h1, { timeout: 30_000 }).toBe("recovered");
  });

  it("serves the reloaded code from a fresh container after sleep and wake, without the files removed under watch", async () => {
    const dir = stack!.fixture.dir;
    const inApp = async (path: string) => (await runCli(["exec", dir, "app", "--", "test", "-e", path])).code === 0;
    expect(await inApp("README.md")).toBe(true);
    const done = async () => (await messages()).filter((msg) => / done in \d+ ms$/.test(msg)).length;
    const doneBefore = await done();
    await rm(join(dir, "README.md"));
    await expect.poll(() => inApp("README.md"), { timeout: 30_000 }).toBe(false);
    // The change is applied when its action is done; the platform learns the files then.
    await expect.poll(done, { timeout: 30_000 }).toBeGreaterThan(doneBefore);
    expect((await runCli(["sleep", dir])).code).toBe(0);
    expect((await runCli(["wake", dir])).code).toBe(0);
    expect(await heading()).toEqual({ status: 200, h1: "recovered" });
    expect(await inApp("README.md")).toBe(false); // the image has it; the fresh container must not
  });

  it("keeps the old container serving when a new start command cannot boot, and redeploys on the fix", async () => {
    const dir = stack!.fixture.dir;
    const procfile = join(dir, "Procfile");
    const good = await readFile(procfile, "utf8");
    const before = (await failures()).length;
    await writeFile(procfile, good.replace("config.wsgi", "config.no_such_wsgi"));
    const statuses = await pollWhile(async () => (await failures()).length > before, 120_000);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect((await failures()).at(-1)).toMatch(/^re-resolve failed/);
    expect(await heading()).toEqual({ status: 200, h1: "recovered" });

    await writeFile(procfile, good);
    const resolved = async () => (await messages()).filter((msg) => msg.startsWith("re-resolve done in")).length;
    const doneBefore = await resolved();
    await expect.poll(resolved, { timeout: 120_000, interval: 500 }).toBe(doneBefore + 1);
    // A fresh container of the same image, with the files reloaded since it was built.
    expect(await heading()).toEqual({ status: 200, h1: "recovered" });
  });

  it("runs migrate for a new model and its migration: the table exists", async () => {
    const dir = stack!.fixture.dir;
    await appendFile(join(dir, "notes", "models.py"), "\n\nclass Tag(models.Model):\n    name = models.CharField(max_length=40)\n");
    await writeFile(
      join(dir, "notes", "migrations", "0002_tag.py"),
      [
        "from django.db import migrations, models",
        "",
        "",
        "class Migration(migrations.Migration):",
        '    dependencies = [("notes", "0001_initial")]',
        "    operations = [",
        '        migrations.CreateModel(name="Tag", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)), ("name", models.CharField(max_length=40))]),',
        "    ]",
        "",
      ].join("\n"),
    );
    const table = async () =>
      (await runCli(["exec", dir, "app", "--", "python", "manage.py", "shell", "-c", "from django.db import connection; print('notes_tag' in connection.introspection.table_names())"])).stdout
        .trim()
        .split("\n")
        .at(-1); // Django 5.2's shell first says what it imported
    await expect.poll(table, { timeout: 60_000, interval: 1000 }).toBe("True");
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(200);
  });

  it("rebuilds and redeploys when requirements.txt changes: the app can import the new package", async () => {
    const dir = stack!.fixture.dir;
    await appendFile(join(dir, "requirements.txt"), "six==1.16.0\n");
    const imports = async () => (await runCli(["exec", dir, "app", "--", "python", "-c", "import six; print(six.__version__)"])).stdout.trim();
    await expect.poll(imports, { timeout: 240_000, interval: 2000 }).toBe("1.16.0");
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(200);
  });
});
