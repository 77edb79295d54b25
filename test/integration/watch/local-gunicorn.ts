import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { applyFiles, type ApplyResult, type SyncFile } from "../../../src/watch/apply-files.js";
import type { CommandResult, ReloadTarget } from "../../../src/watch/target.js";

/**
 * A throwaway virtualenv with gunicorn, outside the repository, made once per machine.
 * Null (the caller skips loudly) when Python or PyPI is not there.
 */
export function gunicornVenv(): string | null {
  const venv = join(tmpdir(), "prodlike-watch-test-venv");
  const gunicorn = join(venv, "bin", "gunicorn");
  if (existsSync(gunicorn)) return venv;
  const python = ["python3", "python"].find((p) => spawnSync(p, ["--version"]).status === 0);
  if (!python) return null;
  if (spawnSync(python, ["-m", "venv", venv]).status !== 0) return null;
  const pip = spawnSync(join(venv, "bin", "pip"), ["install", "--quiet", "gunicorn"], { encoding: "utf8" });
  if (pip.status !== 0) {
    console.warn(`could not install gunicorn for the watch tests: ${pip.stderr}`);
    return null;
  }
  return existsSync(gunicorn) ? venv : null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The app deployed as a folder (a copy of the project) served by a real gunicorn: the
 * non-Docker stand-in for the app container. SIGHUP reloads it as in the container; a
 * "rebuild" runs real pip (offline) and starts a fresh gunicorn on a fresh copy.
 */
export class LocalGunicornTarget implements ReloadTarget {
  readonly appDir: string;
  readonly calls: string[] = [];
  port = 0;
  #proc: ChildProcess | undefined;
  #log = "";

  constructor(
    readonly projectDir: string,
    readonly deployDir: string,
    readonly venv: string,
  ) {
    this.appDir = deployDir;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.#log;
  }

  /** A fresh copy of the project and a fresh gunicorn: the deploy. */
  async deploy(): Promise<void> {
    await this.stop();
    await rm(this.deployDir, { recursive: true, force: true });
    await cp(this.projectDir, this.deployDir, { recursive: true });
    this.port = await freePort();
    this.#log = "";
    const proc = spawn(join(this.venv, "bin", "gunicorn"), ["--bind", `127.0.0.1:${this.port}`, "--workers", "1", "--graceful-timeout", "5", "app:app"], {
      cwd: this.deployDir,
      env: { ...process.env, PATH: `${join(this.venv, "bin")}:${process.env.PATH}`, PYTHONDONTWRITEBYTECODE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout!.on("data", (chunk: Buffer) => (this.#log += chunk.toString()));
    proc.stderr!.on("data", (chunk: Buffer) => (this.#log += chunk.toString()));
    this.#proc = proc;
    await this.#waitFor(() => /Booting worker/.test(this.#log), "gunicorn to boot");
    await this.#waitFor(async () => (await fetch(this.url).catch(() => null)) !== null, "gunicorn to answer");
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGTERM");
    await exited;
  }

  async applyFiles(files: readonly SyncFile[], remove: readonly string[], options: { readonly check: boolean }): Promise<ApplyResult> {
    this.calls.push("sync");
    return applyFiles((cmd, run) => this.runInApp(cmd, run), files, remove, options);
  }

  async reloadGracefully(): Promise<void> {
    this.calls.push("reload");
    const before = this.#log.length;
    this.#proc!.kill("SIGHUP");
    await this.#waitFor(() => /Booting worker/.test(this.#log.slice(before)), "new gunicorn workers after SIGHUP");
  }

  runInApp(cmd: readonly string[], options: { stdin?: string } = {}): Promise<CommandResult> {
    this.calls.push(`run ${cmd[0]} ${cmd[1]?.startsWith("\n") ? "<script>" : cmd.slice(1).join(" ")}`);
    return new Promise((resolve, reject) => {
      const child = spawn(cmd[0]!, cmd.slice(1), {
        cwd: this.deployDir,
        env: { ...process.env, PATH: `${join(this.venv, "bin")}:${process.env.PATH}`, PYTHONDONTWRITEBYTECODE: "1" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (c: Buffer) => (output += c.toString()));
      child.stderr.on("data", (c: Buffer) => (output += c.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ exitCode: code ?? -1, output }));
      child.stdin.end(options.stdin ?? "");
    });
  }

  async rebuildAndRedeploy(): Promise<void> {
    this.calls.push("rebuild");
    const pip = await this.runInApp(["pip", "install", "--no-index", "--disable-pip-version-check", "-r", join(this.projectDir, "requirements.txt")]);
    if (pip.exitCode !== 0) throw new Error(`pip failed:\n${pip.output}`);
    await this.deploy();
  }

  async reresolve(): Promise<void> {
    this.calls.push("re-resolve");
    await this.deploy();
  }

  async hold<T>(fn: () => Promise<T>): Promise<T> {
    this.calls.push("hold");
    return fn();
  }

  async #waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
    const started = Date.now();
    while (!(await check())) {
      if (this.#proc && this.#proc.exitCode !== null) throw new Error(`gunicorn exited while waiting for ${what}:\n${this.#log}`);
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}:\n${this.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
