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
