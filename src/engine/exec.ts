import { Writable } from "node:stream";
import type { Docker } from "./docker.js";

/**
 * Run a command in a container with the terminal attached (a TTY when stdin is one, so
 * `python manage.py shell` works), and resolve with its exit code.
 */
export async function execAttached(docker: Docker, containerId: string, cmd: readonly string[]): Promise<number> {
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const exec = await docker.getContainer(containerId).exec({
    Cmd: [...cmd],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: tty,
  });
  const stream = await exec.start({ hijack: true, stdin: true, Tty: tty });
  if (tty) {
    stream.pipe(process.stdout);
    process.stdin.setRawMode(true);
    const resize = () => exec.resize({ h: process.stdout.rows, w: process.stdout.columns }).catch(() => {});
    process.stdout.on("resize", resize);
    await resize();
  } else {
    docker.modem.demuxStream(stream, process.stdout, process.stderr);
  }
  process.stdin.pipe(stream);
  process.stdin.resume();
  await new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
  });
  process.stdin.unpipe(stream);
  process.stdin.pause();
  if (tty) process.stdin.setRawMode(false);
  const info = await exec.inspect();
  return info.ExitCode ?? 0;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command in a container without a terminal and collect what it prints. */
export async function execCapture(
  docker: Docker,
  containerId: string,
  cmd: readonly string[],
  options: { env?: Readonly<Record<string, string>>; workingDir?: string } = {},
): Promise<ExecResult> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: [...cmd],
    AttachStdout: true,
    AttachStderr: true,
    Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
    WorkingDir: options.workingDir,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  docker.modem.demuxStream(stream, collect(stdout), collect(stderr));
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? 0, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") };
}

function collect(into: Buffer[]): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      into.push(chunk);
      done();
    },
  });
}
