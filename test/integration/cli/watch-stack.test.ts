import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downFixture, fetchApp, runCli, upFixture, type FixtureStack } from "../../helpers/cli.js";

/** Issue 6 on the real engine: save a file under `prodlike up`, see production behaviour again. */
describe("watch and reload under prodlike up", () => {
  let stack: FixtureStack | undefined;
  let url: string;
  const views = () => join(stack!.fixture.dir, "notes", "views.py");

  beforeAll(async () => {
    stack = await upFixture("render-supabase", ["--plan", "starter"]);
    url = stack.url;
  });

  afterAll(() => downFixture(stack));

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
      .poll(async () => (await readFile(join(stack!.fixture.dir, ".prodlike", "up.log"), "utf8")).match(/sync-reload failed at notes\/views\.py:\d+/)?.[0], { timeout: 20_000 })
      .toMatch(/^sync-reload failed at notes\/views\.py:\d+$/);
    expect(await heading()).toEqual({ status: 200, h1: "edited under watch" });

    await edit(/^def index\(request\)$/m, "def index(request):");
    await edit("<h1>edited under watch</h1>", "<h1>fixed</h1>");
    await expect.poll(async () => (await heading()).h1, { timeout: 20_000 }).toBe("fixed");
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
