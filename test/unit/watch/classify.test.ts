import { describe, expect, it } from "vitest";
import { classifyChange, classifyChanges, classifyOptionsFor, scriptsIn, type ReloadAction } from "../../../src/watch/classify.js";
import type { FileChange } from "../../../src/watch/changes.js";

const change = (path: string, kind: FileChange["kind"] = "change"): FileChange => ({ path, kind });

describe("classifyChange", () => {
  const cases: [FileChange, ReloadAction][] = [
    [change("render.yaml"), "re-resolve"],
    [change("render.yml"), "re-resolve"],
    [change("Procfile"), "re-resolve"],
    [change(".env"), "re-resolve"],
    [change("prodlike.yaml", "add"), "re-resolve"],
    [change(".env", "unlink"), "re-resolve"],
    [change("requirements.txt"), "rebuild"],
    [change("requirements-dev.txt"), "rebuild"],
    [change("requirements/base.txt"), "rebuild"],
    [change("runtime.txt"), "rebuild"],
    [change(".python-version"), "rebuild"],
    [change("build.sh"), "rebuild"],
    [change("pyproject.toml"), "rebuild"],
    [change("blog/migrations/0002_post_title.py", "add"), "migrate"],
    [change("apps/blog/migrations/0003_x.py", "add"), "migrate"],
    [change("blog/static/blog/site.css"), "collectstatic"],
    [change("static/js/app.js", "add"), "collectstatic"],
    [change("static/img/logo.png", "unlink"), "collectstatic"],
    [change("blog/views.py"), "sync-reload"],
    [change("blog/templates/blog/index.html"), "sync-reload"],
    [change("manage.py"), "sync-reload"],
    [change("gunicorn.conf.py"), "sync-reload"],
    [change("README.md"), "sync-reload"],
  ];
  it.each(cases)("%o → %s", (c, action) => {
    expect(classifyChange(c)).toBe(action);
  });

  it("an edited or deleted migration only reloads: migrate runs for new ones", () => {
    expect(classifyChange(change("blog/migrations/0002_post.py", "change"))).toBe("sync-reload");
    expect(classifyChange(change("blog/migrations/0002_post.py", "unlink"))).toBe("sync-reload");
    expect(classifyChange(change("blog/migrations/__init__.py", "add"))).toBe("sync-reload");
  });

  it("config and build files count only at the project root", () => {
    expect(classifyChange(change("docs/render.yaml"))).toBe("sync-reload");
    expect(classifyChange(change("blog/.env"))).toBe("sync-reload");
    expect(classifyChange(change("blog/runtime.txt"))).toBe("sync-reload");
    expect(classifyChange(change("blog/requirements.txt"))).toBe("sync-reload");
  });

  it("a Python module inside a static folder is code, not an asset", () => {
    expect(classifyChange(change("static/conf.py"))).toBe("sync-reload");
  });

  it("a folder named like static only counts as a folder, not as a file name", () => {
    expect(classifyChange(change("blog/static"))).toBe("sync-reload");
  });

  it("accepts ./ and backslash paths", () => {
    expect(classifyChange(change("./requirements.txt"))).toBe("rebuild");
    expect(classifyChange(change("blog\\migrations\\0002_x.py", "add"))).toBe("migrate");
  });

  it("honours the options: other static folders, build scripts and config files", () => {
    const options = { staticDirs: ["assets"], buildFiles: ["bin/build"], configFiles: ["deploy/render.yaml"] };
    expect(classifyChange(change("frontend/assets/app.css"), options)).toBe("collectstatic");
    expect(classifyChange(change("static/app.css"), options)).toBe("sync-reload");
    expect(classifyChange(change("bin/build"), options)).toBe("rebuild");
    expect(classifyChange(change("deploy/render.yaml"), options)).toBe("re-resolve");
    expect(classifyChange(change("render.yaml"), options)).toBe("sync-reload");
  });
});

describe("classifyChanges", () => {
  it("is null for an empty batch", () => {
    expect(classifyChanges([])).toBeNull();
  });

  it("the strongest action wins, whatever the order", () => {
    const batch = [
      change("blog/views.py"),
      change("static/site.css"),
      change("blog/migrations/0002_x.py", "add"),
      change("requirements.txt"),
      change(".env"),
    ];
    const expected: ReloadAction[] = ["sync-reload", "collectstatic", "migrate", "rebuild", "re-resolve"];
    for (let n = 1; n <= batch.length; n++) {
      expect(classifyChanges(batch.slice(0, n))?.action).toBe(expected[n - 1]);
      expect(classifyChanges(batch.slice(0, n).reverse())?.action).toBe(expected[n - 1]);
    }
  });

  it("names the files that decided, and splits copies from removals", () => {
    const plan = classifyChanges([
      change("blog/views.py"),
      change("blog/migrations/0002_a.py", "add"),
      change("blog/migrations/0003_b.py", "add"),
      change("blog/old.py", "unlink"),
    ]);
    expect(plan).toMatchObject({
      action: "migrate",
      cause: ["blog/migrations/0002_a.py", "blog/migrations/0003_b.py"],
      copy: ["blog/views.py", "blog/migrations/0002_a.py", "blog/migrations/0003_b.py"],
      remove: ["blog/old.py"],
    });
  });
});

describe("classifyOptionsFor", () => {
  const app = (buildCommand: string) => ({ app: { buildCommand } }) as Parameters<typeof classifyOptionsFor>[0];

  it("adds the scripts a build command runs to the build files", () => {
    const options = classifyOptionsFor(app("./bin/render-build.sh && pip install -r requirements/prod.txt"));
    expect(classifyChange(change("bin/render-build.sh"), options)).toBe("rebuild");
    expect(classifyChange(change("requirements/prod.txt"), options)).toBe("rebuild");
    expect(classifyChange(change("requirements.txt"), options)).toBe("rebuild");
  });

  it("manage.py in the build command stays code", () => {
    const options = classifyOptionsFor(app("pip install -r requirements.txt && python manage.py collectstatic --noinput"));
    expect(classifyChange(change("manage.py"), options)).toBe("sync-reload");
  });
});

describe("scriptsIn", () => {
  it("finds relative files and skips flags, absolute paths, env and manage.py", () => {
    expect(scriptsIn("bash ./build.sh")).toEqual(["build.sh"]);
    expect(scriptsIn("FOO=1 scripts/build --fast; /usr/bin/env true")).toEqual(["scripts/build"]);
    expect(scriptsIn("pip install -r requirements.txt && python manage.py migrate")).toEqual(["requirements.txt"]);
    expect(scriptsIn("sh '../outside.sh' $HOME/x.sh")).toEqual([]);
  });
});
