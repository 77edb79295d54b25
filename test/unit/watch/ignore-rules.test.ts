import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IgnoreRules } from "../../../src/watch/ignore-rules.js";

describe("IgnoreRules", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "prodlike-ignore-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ".git/index",
    ".prodlike/state.json",
    "blog/__pycache__/views.cpython-311.pyc",
    "blog/views.pyc",
    "node_modules/left-pad/index.js",
    ".venv/lib/python3.11/site.py",
    "venv/bin/python",
    "staticfiles/admin/css/base.css",
    "media/uploads/cat.jpg",
    "blog/.views.py.swp",
    "blog/views.py~",
    "blog/.#views.py",
    "blog/#views.py#",
    "blog/4913",
    "blog/views.py___jb_tmp___",
    "db.sqlite3",
    "db.sqlite3-journal",
    ".DS_Store",
  ])("ignores %s", (path) => {
    expect(new IgnoreRules(dir).ignores(path)).toBe(true);
  });

  it.each(["blog/views.py", "blog/templates/blog/index.html", "static/site.css", "requirements.txt", "render.yaml", "manage.py", "blog/migrations/0002_x.py"])(
    "watches %s",
    (path) => {
      expect(new IgnoreRules(dir).ignores(path)).toBe(false);
    },
  );

  it("takes absolute paths inside the project and never ignores the project itself or outside paths", () => {
    const rules = new IgnoreRules(dir);
    expect(rules.ignores(join(dir, "blog", "__pycache__"))).toBe(true);
    expect(rules.ignores(join(dir, "blog", "views.py"))).toBe(false);
    expect(rules.ignores(dir)).toBe(false);
    expect(rules.ignores("/somewhere/else/__pycache__x")).toBe(false);
  });

  it("skips any folder holding a pyvenv.cfg, whatever its name", async () => {
    await mkdir(join(dir, "pyenv311", "lib"), { recursive: true });
    await writeFile(join(dir, "pyenv311", "pyvenv.cfg"), "home = /usr/bin\n");
    const rules = new IgnoreRules(dir);
    expect(rules.ignores(join(dir, "pyenv311"))).toBe(true);
    expect(rules.ignores("pyenv311/lib/site.py")).toBe(true);
    expect(rules.ignores("pyenv312/lib/site.py")).toBe(false);
  });

  it("honours the root .gitignore, nested ones and .git/info/exclude", async () => {
    await writeFile(join(dir, ".gitignore"), "*.log\n/build/\nsecret.txt\n!keep.log\n");
    await mkdir(join(dir, "blog"), { recursive: true });
    await writeFile(join(dir, "blog", ".gitignore"), "generated/\n");
    await mkdir(join(dir, ".git", "info"), { recursive: true });
    await writeFile(join(dir, ".git", "info", "exclude"), "scratch.py\n");
    const rules = new IgnoreRules(dir);
    expect(rules.ignores("debug.log")).toBe(true);
    expect(rules.ignores("blog/debug.log")).toBe(true);
    expect(rules.ignores("keep.log")).toBe(false);
    expect(rules.ignores("build/lib/x.py")).toBe(true);
    expect(rules.ignores("blog/build/x.py")).toBe(false);
    expect(rules.ignores("secret.txt")).toBe(true);
    expect(rules.ignores("blog/generated/out.py")).toBe(true);
    expect(rules.ignores("generated/out.py")).toBe(false);
    expect(rules.ignores("scratch.py")).toBe(true);
    expect(rules.ignores("blog/views.py")).toBe(false);
  });

  it("watches the stack's config files even when git ignores them (.env)", async () => {
    await writeFile(join(dir, ".gitignore"), ".env\n*.yaml\n");
    const rules = new IgnoreRules(dir);
    expect(rules.ignores(".env")).toBe(false);
    expect(rules.ignores("render.yaml")).toBe(false);
    expect(rules.ignores("other.yaml")).toBe(true);
  });

  it("reload() reads a changed .gitignore", async () => {
    const rules = new IgnoreRules(dir);
    expect(rules.ignores("notes.txt")).toBe(false);
    await writeFile(join(dir, ".gitignore"), "notes.txt\n");
    rules.reload();
    expect(rules.ignores("notes.txt")).toBe(true);
  });

  it("gitignore: false and extra folders (a custom STATIC_ROOT)", async () => {
    await writeFile(join(dir, ".gitignore"), "*.log\n");
    const rules = new IgnoreRules(dir, { gitignore: false, extraDirs: ["./public/collected/"] });
    expect(rules.ignores("debug.log")).toBe(false);
    expect(rules.ignores("public/collected/app.css")).toBe(true);
    expect(rules.ignores("public/index.html")).toBe(false);
  });
});
