import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

// Runs argv on a pseudo-terminal; bytes on its stdin go to the terminal (so "\x03" is a Ctrl-C
// the line discipline turns into SIGINT for the foreground process group), the terminal's bytes
// come out on its stdout, and it exits with the command's code.
const DRIVER = `
import os, pty, select, struct, sys, fcntl, termios
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
inputs = [fd, 0]
while True:
    ready, _, _ = select.select(inputs, [], [])
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 1024)
        if data:
            os.write(fd, data)
        else:
            inputs.remove(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
`;

/** A command on a real terminal (Python's pty module), as a person runs it. */
export class PtyProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  #output = "";
  readonly exited: Promise<number>;

  constructor(argv: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.#child = spawn("python3", ["-c", DRIVER, ...argv], { cwd: options.cwd, env: { ...process.env, ...options.env } });
    this.#child.stdout.on("data", (chunk: Buffer) => (this.#output += chunk.toString("utf8")));
    this.#child.stderr.on("data", (chunk: Buffer) => (this.#output += chunk.toString("utf8")));
    this.exited = new Promise((resolve, reject) => {
      this.#child.on("error", reject);
      this.#child.on("close", (code) => resolve(code ?? -1));
    });
  }

  /** Everything the terminal showed so far, escape sequences included. */
  get output(): string {
    return this.#output;
  }

  /** Ctrl-C, typed on the terminal. */
  interrupt(): void {
    this.#child.stdin.write("\x03");
  }

  kill(): void {
    this.#child.kill("SIGKILL");
  }
}
