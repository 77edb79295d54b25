import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A real terminal: a tmux pane (a pty) on a tmux server of its own. `ctrlC()` types ^C, so the
 * terminal sends SIGINT to its whole foreground process group, as when a person presses it.
 *
 * The pane runs `command` under `bash -c` without job control (as `npm run` runs its scripts):
 * bash and everything it starts share the terminal's foreground group. bash traps SIGINT with a
 * handler (children still get the default action) so it outlives ^C and records the command's
 * exit status, `${PIPESTATUS[0]}`, in a file.
 */
export class Terminal {
  readonly #name = `prodlike-terminal-${process.pid}-${randomBytes(4).toString("hex")}`;
  /** This terminal's own tmux server socket, removed with it. */
  readonly #socket = join(tmpdir(), `${this.#name}.sock`);
  readonly #exitFile = join(tmpdir(), `${this.#name}.exit`);

  private constructor() {}

  static async start(command: string, options: { cwd: string; env?: Readonly<Record<string, string>> }): Promise<Terminal> {
    const terminal = new Terminal();
    const exports = Object.entries(options.env ?? {}).map(([key, value]) => `export ${key}=${shellQuote(value)}; `).join("");
    const script = `trap : INT; ${exports}${command}; echo "\${PIPESTATUS[0]}" > ${shellQuote(terminal.#exitFile)}; sleep 3600`;
    await terminal.#tmux(
      "-f", "/dev/null", "start-server", ";",
      "set-option", "-g", "history-limit", "100000", ";",
      "new-session", "-d", "-s", "main", "-x", "200", "-y", "50", "-c", options.cwd, "bash", "-c", script,
    );
    return terminal;
  }

  /** Everything the pane showed so far (its scrollback and screen), lines joined. */
  async screen(): Promise<string> {
    const { stdout } = await this.#tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "main");
    return stdout;
  }

  /** Wait until the screen matches; `what` names it in the error. */
  async waitFor(pattern: RegExp, what: string, timeoutMs = 600_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the terminal did not show ${what} (${pattern}) in ${timeoutMs} ms; it shows:\n${screen.slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** The terminal's session: the pane's first process leads it, so its pid is the session id. */
  async sessionId(): Promise<number> {
    const { stdout } = await this.#tmux("display-message", "-p", "-t", "main", "#{pane_pid}");
    return Number(stdout.trim());
  }

  /** Press Ctrl-C. */
  async ctrlC(): Promise<void> {
    await this.#tmux("send-keys", "-t", "main", "C-c");
  }

  /** The command's exit status, once it has exited. */
  async exitCode(timeoutMs = 300_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(this.#exitFile, "utf8").catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return null;
        throw err;
      });
      if (text !== null && text.endsWith("\n")) return Number(text.trim());
      if (Date.now() > deadline) throw new Error(`the command in the terminal did not exit in ${timeoutMs} ms; it shows:\n${(await this.screen()).slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Close the pane (a hangup for whatever still runs in it) and end this terminal's tmux server. */
  async dispose(): Promise<void> {
    await this.#tmux("kill-server").catch((err: { stderr?: string }) => {
      // Already gone: the server exits by itself when its last session ends.
      if (!/no server running|error connecting/.test(err.stderr ?? "")) throw err;
    });
    await rm(this.#exitFile, { force: true });
    await rm(this.#socket, { force: true });
  }

  #tmux(...args: string[]) {
    return run("tmux", ["-S", this.#socket, ...args]);
  }
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
