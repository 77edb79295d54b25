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

async function project(files: Record<string, string>) {
  const made = await projectDir(files);
  disposers.push(made.dispose);
  return made.dir;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isProdlikeError(err), `expected a ProdlikeError, got ${String(err)}`).toBe(true);
  return (err as Error).message;
}

describe("resolveStack", () => {
  it("uses Render's defaults for a bare Django project", async () => {
    const dir = await project(django);
    const stack = await resolveStack(dir, {}, {});
    expect(stack.app.buildCommand).toBe("pip install -r requirements.txt");
    expect(stack.app.startCommand).toBe("gunicorn mysite.wsgi");
    expect(stack.app.plan).toBe("free");
    expect(stack.app.limits.memoryMb).toBe(512);
    expect(stack.app.publicHost).toMatch(/^prodlike-project-[a-z0-9]+\.onrender\.com$/);
    expect(stack.project).toMatch(/^prodlike-project-[a-z0-9]+-[0-9a-f]{6}$/);
    expect(stack.ports).toEqual({ https: 8443, http: 8080 });
  });

  it("takes the Procfile's web line over the default", async () => {
    const dir = await project({ ...django, Procfile: "release: python manage.py migrate\nweb: gunicorn mysite.wsgi --log-file -\n" });
    const stack = await resolveStack(dir, {}, {});
    expect(stack.app.startCommand).toBe("gunicorn mysite.wsgi --log-file -");
    expect(stack.app.startCommandSource).toBe("Procfile web");
  });

  it("reads a blueprint: commands, plan, health path and env references", async () => {
    const dir = await project({
      ...django,
      "render.yaml": `
databases:
  - name: shop-db
    databaseName: shop
    user: shop
services:
  - type: web
    runtime: python
    name: shop
    plan: free
    buildCommand: ./build.sh
    startCommand: gunicorn mysite.wsgi:application
    healthCheckPath: /healthz
    envVars:
      - key: DATABASE_URL
        fromDatabase: {name: shop-db, property: connectionString}
      - key: SECRET_KEY
        generateValue: true
      - key: WEB_CONCURRENCY
        value: 2
      - key: PYTHON_VERSION
        value: 3.11.9
`,
    });
    const stack = await resolveStack(dir, {}, {});
    expect(stack.app.serviceName).toBe("shop");
    expect(stack.app.publicHost).toBe("shop.onrender.com");
    expect(stack.app.buildCommand).toBe("./build.sh");
    expect(stack.app.startCommand).toBe("gunicorn mysite.wsgi:application");
    expect(stack.app.healthCheckPath).toBe("/healthz");
    expect(stack.app.env.DATABASE_URL).toMatchObject({ kind: "database", property: "connectionString" });
    expect(stack.app.env.SECRET_KEY).toMatchObject({ kind: "generated" });
    expect(stack.app.env.WEB_CONCURRENCY).toMatchObject({ kind: "value", value: "2" });
    expect(stack.database).toMatchObject({ name: "shop-db", databaseName: "shop", user: "shop", profile: "render-postgres" });
    expect(stack.app.python).toEqual({ requested: "3.11.9", source: expect.stringContaining("PYTHON_VERSION"), runs: "3.11" });
    expect(stack.warnings).toEqual([]);
  });

  it("defaults a blueprint without a plan to starter, as Render does", async () => {
    const dir = await project({ ...django, "render.yaml": "services:\n  - type: web\n    name: a\n    runtime: python\n" });
    expect((await resolveStack(dir, {}, {})).app.plan).toBe("starter");
  });

  it("names file, line, field and fix for a misspelt render.yaml field", async () => {
    const dir = await project({
      ...django,
      "render.yaml": "services:\n  - type: web\n    name: a\n    startComand: gunicorn x\n",
    });
    const message = await failure(resolveStack(dir, {}, {}));
    expect(message).toContain("render.yaml:4");
    expect(message).toContain("services[0].startComand");
    expect(message).toContain('did you mean "startCommand"');
  });

  it("explains a bad fromDatabase property with the value written and the accepted ones", async () => {
    const dir = await project({
      ...django,
      "render.yaml": "services:\n  - type: web\n    name: a\n    envVars:\n      - key: DATABASE_URL\n        fromDatabase: {name: db, property: url}\n",
    });
    const message = await failure(resolveStack(dir, {}, {}));
    expect(message).toContain("render.yaml:6");
    expect(message).toContain("services[0].envVars[0].fromDatabase.property");
    expect(message).toContain('you wrote "url"');
    expect(message).toMatch(/connectionString/);
  });

  it("reports YAML syntax errors with the line", async () => {
    const dir = await project({ ...django, "render.yaml": "services:\n  - type: web\n   name: [a\n" });
    expect(await failure(resolveStack(dir, {}, {}))).toMatch(/^render\.yaml:\d+: not valid YAML/);
  });

  it("fills sync:false from .env, and says what to add when .env lacks it", async () => {
    const yaml = "services:\n  - type: web\n    name: a\n    envVars:\n      - key: STRIPE_KEY\n        sync: false\n";
    const withEnv = await project({ ...django, "render.yaml": yaml, ".env": "STRIPE_KEY=sk_test_1\n" });
    expect((await resolveStack(withEnv, {}, {})).app.env.STRIPE_KEY).toMatchObject({ kind: "value", value: "sk_test_1" });
    const without = await project({ ...django, "render.yaml": yaml });
    const message = await failure(resolveStack(without, {}, {}));
    expect(message).toContain("STRIPE_KEY");
    expect(message).toContain("add STRIPE_KEY=<value> to");
  });

  it("warns when the requested Python is not the one the images run", async () => {
    const dir = await project({ ...django, "runtime.txt": "python-3.12.4\n" });
    const stack = await resolveStack(dir, {}, {});
    expect(stack.app.python).toMatchObject({ requested: "3.12.4", source: "runtime.txt", runs: "3.11" });
    expect(stack.warnings.join("\n")).toMatch(/runtime\.txt asks for Python 3\.12\.4; the images provide Python 3\.11/);
  });

  it("detects the pooler from the production DATABASE_URL in .env", async () => {
    const supabase = await project({ ...django, ".env": "DATABASE_URL=postgresql://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres\n" });
    expect((await resolveStack(supabase, {}, {})).database.profile).toBe("supabase-transaction");
    const neon = await project({ ...django, ".env": "DATABASE_URL=postgresql://u:p@ep-x-123456-pooler.eu-central-1.aws.neon.tech/db?sslmode=require\n" });
    expect((await resolveStack(neon, {}, {})).database.profile).toBe("neon");
  });

  it("applies precedence: files < prodlike.yaml < PRODLIKE_* env < flags", async () => {
    const dir = await project({ ...django, "prodlike.yaml": "plan: starter\nports: {https: 9443}\nenv: {CONN_MAX_AGE: 600}\n" });
    const fromYaml = await resolveStack(dir, {}, {});
    expect(fromYaml.app.plan).toBe("starter");
    expect(fromYaml.ports.https).toBe(9443);
    expect(fromYaml.app.env.CONN_MAX_AGE).toMatchObject({ value: "600", from: "prodlike.yaml" });
    const fromEnv = await resolveStack(dir, {}, { PRODLIKE_PLAN: "standard", PRODLIKE_HTTPS_PORT: "0" });
    expect(fromEnv.app.plan).toBe("standard");
    expect(fromEnv.ports.https).toBe(0);
    const fromFlags = await resolveStack(dir, { plan: "free", httpsPort: 1234, env: { CONN_MAX_AGE: "0" } }, { PRODLIKE_PLAN: "standard" });
    expect(fromFlags.app.plan).toBe("free");
    expect(fromFlags.ports.https).toBe(1234);
    expect(fromFlags.app.env.CONN_MAX_AGE).toMatchObject({ value: "0", from: "--env" });
  });

  it("rejects unknown prodlike.yaml fields and bad values with the fix", async () => {
    const dir = await project({ ...django, "prodlike.yaml": "plna: free\n" });
    expect(await failure(resolveStack(dir, {}, {}))).toContain('unknown field "plna" — did you mean "plan"?');
    const bad = await project({ ...django, "prodlike.yaml": "plan: hobby\n" });
    const message = await failure(resolveStack(bad, {}, {}));
    expect(message).toContain("prodlike.yaml:1");
    expect(message).toContain('"hobby"');
    expect(message).toContain("free, starter, standard");
  });

  it("says what to add when there is no requirements.txt or no start command", async () => {
    const noReq = await project({ "manage.py": "", "mysite/wsgi.py": "" });
    expect(await failure(resolveStack(noReq, {}, {}))).toMatch(/no requirements\.txt .*Add a requirements\.txt/);
    const noStart = await project({ "manage.py": "", "requirements.txt": "Django\n" });
    expect(await failure(resolveStack(noStart, {}, {}))).toMatch(/no start command .*Procfile with "web: gunicorn <project>\.wsgi"/);
  });

  it("rejects a PRODLIKE_HTTPS_PORT that is not a port", async () => {
    const dir = await project(django);
    expect(await failure(resolveStack(dir, {}, { PRODLIKE_HTTPS_PORT: "https" }))).toContain('PRODLIKE_HTTPS_PORT="https" is not a port number');
  });

  it("is not a directory: a clear error", async () => {
    expect(await failure(resolveStack("/nonexistent/prodlike", {}, {}))).toContain("is not a directory");
  });
});

describe("warnings that name the file and line", () => {
  it("says a Procfile without web: fell back to gunicorn <package>.wsgi", async () => {
    const dir = await project({ ...django, Procfile: "worker: celery -A mysite worker\n" });
    const stack = await resolveStack(dir, {}, {});
    expect(stack.app.startCommand).toBe("gunicorn mysite.wsgi");
    expect(stack.warnings.join("\n")).toMatch(/Procfile has no "web:" line \(only worker\), so the app starts with "gunicorn mysite\.wsgi".*add "web: gunicorn mysite\.wsgi"/);
  });

  it("carries .env and Procfile line problems into the stack's warnings", async () => {
    const dir = await project({ ...django, ".env": 'SECRET_KEY="abc\nDEBUG=False\n', Procfile: "web: gunicorn mysite.wsgi\noops\n" });
    const stack = await resolveStack(dir, {}, {});
    expect(stack.app.env).not.toHaveProperty("SECRET_KEY");
    expect(stack.warnings).toEqual([expect.stringMatching(/^Procfile:2: "oops"/), expect.stringMatching(/^\.env:1: the value of SECRET_KEY opens with "/)]);
  });

  it("points the Python substitution at the render.yaml line that asks for it", async () => {
    const yaml = "services:\n  - type: web\n    name: a\n    envVars:\n      - key: DEBUG\n        value: 'False'\n      - key: PYTHON_VERSION\n        value: 3.13.1\n";
    const dir = await project({ ...django, "render.yaml": yaml });
    const stack = await resolveStack(dir, {}, {});
    expect(stack.warnings.join("\n")).toMatch(/^render\.yaml:7: PYTHON_VERSION \(render\.yaml [^)]*\) asks for Python 3\.13\.1; the images provide Python 3\.11/m);
    const runtime = await resolveStack(await project({ ...django, "runtime.txt": "python-3.13.0\n" }), {}, {});
    expect(runtime.warnings.join("\n")).toMatch(/^runtime\.txt:1: runtime\.txt asks for Python 3\.13\.0/m);
  });
});
