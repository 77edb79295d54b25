import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProdlikeError } from "../../../src/errors.js";
import type { FileChange } from "../../../src/watch/changes.js";
import { createReloader, type ReloadOutcome } from "../../../src/watch/reloader.js";
import type { ApplyResult, SyncFile } from "../../../src/watch/apply-files.js";
import type { CommandResult, ReloadTarget } from "../../../src/watch/target.js";

/** A target that records what it is asked, in order; steps can be made to wait or fail. */
class RecordingTarget implements ReloadTarget {
  readonly appDir = "/app";
  readonly calls: string[] = [];
  gate: Promise<void> | undefined;
  commandResults = new Map<string, CommandResult>();
  rebuildError: Error | undefined;
  reloadError: Error | undefined;
  readonly applied: SyncFile[][] = [];

  async applyFiles(files: readonly SyncFile[], remove: readonly string[]): Promise<ApplyResult> {
    this.calls.push(`sync ${files.map((f) => f.path).join(",")}${remove.length ? ` -${remove.join(",")}` : ""}`);
    this.applied.push([...files]);
    await this.gate;
    return { ran: true, problems: [], output: "" };
  }
  async reloadGracefully(): Promise<void> {
    this.calls.push("reload");
    if (this.reloadError) throw this.reloadError;
  }
  async runInApp(cmd: readonly string[]): Promise<CommandResult> {
    const key = cmd.join(" ");
    this.calls.push(`run ${key}`);
    return this.commandResults.get(key) ?? { exitCode: 0, output: "" };
  }
  async rebuildAndRedeploy(): Promise<void> {
    this.calls.push("rebuild");
    if (this.rebuildError) throw this.rebuildError;
  }
  async reresolve(): Promise<void> {
    this.calls.push("re-resolve");
  }
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    this.calls.push("hold");
    try {
      return await fn();
    } finally {
      this.calls.push("release");
    }
  }
}

const change = (path: string, kind: FileChange["kind"] = "change"): FileChange => ({ path, kind });
const MIGRATE = "python manage.py migrate --noinput";

describe("Reloader", () => {
  let dir: string;
  let target: RecordingTarget;
  let outcomes: ReloadOutcome[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "prodlike-reloader-"));
    for (const path of ["blog/views.py", "a.py", "b.py", "c.py", "blog/migrations/0002_x.py", "static/site.css"]) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), `# ${path}\n`);
    }
    target = new RecordingTarget();
    outcomes = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const reloader = () => createReloader({ target, dir, checkSyntax: false, onAction: (o) => outcomes.push(o) });

  it("sync-reload: syncs and reloads while the edge holds requests", async () => {
    const r = reloader();
    r.submit([change("blog/views.py"), change("old.py", "unlink")]);
    await r.idle();
    expect(target.calls).toEqual(["hold", "sync blog/views.py -old.py", "reload", "release"]);
    expect(outcomes).toMatchObject([{ action: "sync-reload", ok: true }]);
    expect(outcomes[0]!.ms).toBeGreaterThanOrEqual(0);
  });

  it("migrate and collectstatic run their command between the sync and the reload", async () => {
    const r = reloader();
    r.submit([change("blog/migrations/0002_x.py", "add")]);
    await r.idle();
    r.submit([change("static/site.css")]);
    await r.idle();
    expect(target.calls).toEqual([
      "hold",
      "sync blog/migrations/0002_x.py",
      `run ${MIGRATE}`,
      "reload",
      "release",
      "hold",
      "sync static/site.css",
      "run python manage.py collectstatic --noinput",
      "reload",
      "release",
    ]);
  });

  it("rebuild and re-resolve go to the target, without a sync", async () => {
    const r = reloader();
    r.submit([change("requirements.txt"), change("blog/views.py")]);
    await r.idle();
    r.submit([change(".env")]);
    await r.idle();
    expect(target.calls).toEqual(["rebuild", "re-resolve"]);
  });

  it("runs one action at a time and merges the batches that arrived meanwhile into one", async () => {
    let open!: () => void;
    target.gate = new Promise((resolve) => (open = resolve));
    const r = reloader();
    r.submit([change("a.py")]);
    await new Promise((resolve) => setImmediate(resolve));
    r.submit([change("b.py")]);
    r.submit([change("c.py"), change("b.py")]);
    r.submit([change("blog/migrations/0002_x.py", "add")]);
    expect(r.current).toBe("sync-reload");
    open();
    await r.idle();
    expect(target.calls).toEqual([
      "hold",
      "sync a.py",
      "reload",
      "release",
      "hold",
      "sync b.py,c.py,blog/migrations/0002_x.py",
      `run ${MIGRATE}`,
      "reload",
      "release",
    ]);
    expect(outcomes.map((o) => o.action)).toEqual(["sync-reload", "migrate"]);
    expect(outcomes[1]!.waitedMs).toBeGreaterThanOrEqual(0);
  });

  it("a failed migration does not reload, names the migration, and is migrated again once fixed", async () => {
    target.commandResults.set(MIGRATE, {
      exitCode: 1,
      output: "Running migrations:\n  Applying blog.0002_x...Traceback (most recent call last):\ndjango.db.utils.ProgrammingError: boom\n",
    });
    const r = reloader();
    r.submit([change("blog/migrations/0002_x.py", "add")]);
    await r.idle();
    expect(target.calls).not.toContain("reload");
    expect(outcomes[0]).toMatchObject({ action: "migrate", ok: false, location: { file: "blog/migrations/0002_x.py" } });
    expect(outcomes[0]!.error).toBeInstanceOf(ProdlikeError);
    expect(outcomes[0]!.error!.code).toBe("RELOAD_FAILED");
    expect(outcomes[0]!.error!.message).toContain("blog/migrations/0002_x.py");
    expect(outcomes[0]!.error!.message).toContain("django.db.utils.ProgrammingError: boom");
    expect(r.unapplied).toEqual([change("blog/migrations/0002_x.py", "add")]);

    // The fix is an edit of the (already synced) migration: still a migrate.
    target.commandResults.delete(MIGRATE);
    target.calls.length = 0;
    r.submit([change("blog/migrations/0002_x.py", "change")]);
    await r.idle();
    expect(target.calls).toEqual(["hold", "sync blog/migrations/0002_x.py", `run ${MIGRATE}`, "reload", "release"]);
    expect(outcomes[1]).toMatchObject({ action: "migrate", ok: true });
    expect(r.unapplied).toEqual([]);
  });

  it("a failed rebuild points at the requirements line pip could not satisfy", async () => {
    await writeFile(join(dir, "requirements.txt"), "Django>=5\nno-such-package-xyz==1.0\n");
    target.rebuildError = new ProdlikeError("APP_BUILD_FAILED", "build failed\nERROR: No matching distribution found for no-such-package-xyz==1.0");
    const r = reloader();
    r.submit([change("requirements.txt")]);
    await r.idle();
    expect(outcomes[0]).toMatchObject({ ok: false, location: { file: "requirements.txt", line: 2 } });
    expect(outcomes[0]!.error!.message).toMatch(/^rebuild failed at requirements.txt:2; the last good version keeps serving/);
    // Not fixed yet: a code change still needs the rebuild.
    target.calls.length = 0;
    target.rebuildError = undefined;
    r.submit([change("blog/views.py")]);
    await r.idle();
    expect(target.calls).toEqual(["rebuild"]);
  });

  it("a throwing onAction callback does not stop the reloader", async () => {
    const r = createReloader({
      target,
      dir,
      checkSyntax: false,
      onAction: () => {
        throw new Error("listener bug");
      },
    });
    r.submit([change("a.py")]);
    await r.idle();
    r.submit([change("b.py")]);
    await r.idle();
    expect(target.calls.filter((c) => c === "reload")).toHaveLength(2);
  });

  it("stop() waits for the running action and takes no more batches", async () => {
    let open!: () => void;
    target.gate = new Promise((resolve) => (open = resolve));
    const r = reloader();
    r.submit([change("a.py")]);
    await new Promise((resolve) => setImmediate(resolve));
    r.submit([change("b.py")]);
    const stopped = r.stop();
    open();
    await stopped;
    r.submit([change("c.py")]);
    await r.idle();
    expect(target.calls).toEqual(["hold", "sync a.py", "reload", "release"]);
  });

  it("two syncs of one file within a second give it later mtimes, so Python cannot reuse stale bytecode", async () => {
    const r = reloader();
    for (let i = 0; i < 3; i++) {
      await writeFile(join(dir, "a.py"), `x = ${i}\n`); // same size each time
      r.submit([change("a.py")]);
      await r.idle();
    }
    const mtimes = target.applied.map((files) => files[0]!.mtime);
    expect(mtimes[1]).toBeGreaterThan(mtimes[0]!);
    expect(mtimes[2]).toBeGreaterThan(mtimes[1]!);
  });

  it("keeps what was reloaded for the next fresh container; a failed reload adds nothing and a rebuild clears it", async () => {
    const r = reloader();
    r.submit([change("a.py"), change("old.py", "unlink")]);
    await r.idle();
    expect([...r.applied.keys()].sort()).toEqual(["a.py", "old.py"]);
    expect(r.applied.get("a.py")!.data.toString()).toBe("# a.py\n");
    expect(r.applied.get("old.py")).toBeNull();

    target.reloadError = new ProdlikeError(
      "RELOAD_FAILED",
      'the app stopped while reloading. Its last lines:\nTraceback (most recent call last):\n  File "/app/b.py", line 3, in <module>\n    import nope\nModuleNotFoundError: No module named \'nope\'',
    );
    r.submit([change("b.py")]);
    await r.idle();
    expect(outcomes[1]).toMatchObject({ action: "sync-reload", ok: false, location: { file: "b.py", line: 3 } });
    expect(r.applied.has("b.py")).toBe(false);
    expect(r.unapplied).toEqual([change("b.py")]);

    target.reloadError = undefined;
    r.submit([change("requirements.txt")]);
    await r.idle();
    expect(r.applied.size).toBe(0);
  });

  it("takes back code that compiles but does not load: the old files go back, the error names the frame", async () => {
    let loads = true;
    const loading = Object.assign(target, {
      async codeLoads() {
        target.calls.push(`loads? ${loads}`);
        return loads;
      },
      async explainLoadFailure() {
        return 'Traceback (most recent call last):\n  File "/app/blog/views.py", line 3, in <module>\n    import nope\nModuleNotFoundError: No module named \'nope\'\n';
      },
      async restoreFiles() {
        target.calls.push("restore");
        loads = true;
      },
    });
    const original = loading.reloadGracefully.bind(loading);
    loading.reloadGracefully = async () => {
      await original();
      if (!target.calls.includes("restore")) loads = false; // the new code is in: it does not load
    };
    const r = reloader();
    r.submit([change("blog/views.py")]);
    await r.idle();
    expect(target.calls).toEqual(["hold", "loads? true", "sync blog/views.py", "reload", "loads? false", "restore", "reload", "release"]);
    expect(outcomes).toMatchObject([{ action: "sync-reload", ok: false, location: { file: "blog/views.py", line: 3 } }]);
    expect(outcomes[0]!.error!.message).toMatch(/^sync-reload failed at blog\/views\.py:3; the last good version keeps serving/);
    expect(outcomes[0]!.error!.message).toMatch(/No module named 'nope'/);
    expect(r.applied.size).toBe(0);
  });
});
