import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO } from "../../helpers/cli.js";
import { Terminal } from "../../helpers/terminal.js";

/**
 * scripts/engine.sh, when it must start dockerd, starts it where Ctrl-C on the demo cannot reach
 * it. The dockerd here is a stand-in on PATH (the machine's real engine is shared and must not
 * be stopped): like Go's runtime it takes SIGINT back even when the shell started it ignored, and
 * it stops on SIGINT as dockerd does. `docker` and `debootstrap` are stand-ins too, so the script
 * finds "no engine" and goes on to start one.
 */
describe("scripts/engine.sh in a terminal", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function fakeTools(): Promise<{ bin: string; dir: string }> {
    const dir = await mkdtemp(join(tmpdir(), "prodlike-fake-engine-"));
    const bin = join(dir, "bin");
    const state = join(dir, "dockerd.json");
    const tools: Record<string, string> = {
      dockerd: `
const { appendFileSync, readFileSync, writeFileSync } = require("node:fs");
// /proc/self/stat: "pid (comm) state ppid pgrp session ..."
const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
writeFileSync(${JSON.stringify(state)}, JSON.stringify({ pid: process.pid, pgid: Number(fields[2]), sid: Number(fields[3]) }));
for (const signal of ["SIGINT", "SIGHUP", "SIGTERM"]) {
  process.on(signal, () => {
    appendFileSync(${JSON.stringify(join(dir, "signals"))}, signal + "\\n");
    process.exit(0);
  });
}
setInterval(() => {}, 1 << 30);
`,
      docker: `
const { readFileSync } = require("node:fs");
const alive = (() => {
  try {
    process.kill(JSON.parse(readFileSync(${JSON.stringify(state)}, "utf8")).pid, 0);
    return true;
  } catch {
    return false;
  }
})();
if (process.argv[2] === "version") console.log("fake");
process.exit(alive ? 0 : 1);
`,
      debootstrap: "",
    };
    await mkdir(bin);
    for (const [name, body] of Object.entries(tools)) {
      await writeFile(join(bin, name), `#!${process.execPath}\n${body}`);
      await chmod(join(bin, name), 0o755);
    }
    cleanups.push(async () => {
      const started = JSON.parse(await readFile(state, "utf8").catch(() => "null")) as { pid: number } | null;
      if (started) {
        try {
          process.kill(started.pid, "SIGKILL");
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
        }
      }
      await rm(dir, { recursive: true, force: true });
    });
    return { bin, dir };
  }

  it("starts dockerd in a session of its own: Ctrl-C on what runs next in the terminal leaves it running", async () => {
    const { bin, dir } = await fakeTools();
    // What `npm run demo` does: the engine script, then `prodlike up` in the foreground until Ctrl-C.
    const command = `bash scripts/engine.sh && node -e 'console.log("foreground up"); setInterval(() => {}, 1 << 30)'`;
    const terminal = await Terminal.start(command, {
      cwd: REPO,
      env: { PATH: `${bin}:${process.env.PATH}`, PRODLIKE_DOCKERD_LOG: join(dir, "dockerd.log") },
    });
    cleanups.push(() => terminal.dispose());
    await terminal.waitFor(/foreground up/, "the foreground command after engine.sh", 60_000);
    const dockerd = JSON.parse(await readFile(join(dir, "dockerd.json"), "utf8")) as { pid: number; pgid: number; sid: number };
    const terminalSession = await terminal.sessionId();
    expect(dockerd.sid).not.toBe(terminalSession);
    expect(dockerd.sid).toBe(dockerd.pid);

    await terminal.ctrlC();
    // The foreground command died of the SIGINT (128 + 2): the ^C reached the group.
    expect(await terminal.exitCode(60_000)).toBe(130);
    expect(await readFile(join(dir, "signals"), "utf8").catch(() => "")).toBe("");
    expect(() => process.kill(dockerd.pid, 0)).not.toThrow();
    expect(await terminal.screen()).toContain("[engine] engine running: fake");
  });
});
