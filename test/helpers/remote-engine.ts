import { spawn } from "node:child_process";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dirname, "..", "..");
const SCRIPT = join(REPO, "scripts", "remote-engine.sh");

export interface RemoteEngine extends AsyncDisposable {
  /** `tcp://10.203.N.2:2375`: give it to dockerode (`new Docker()` with DOCKER_HOST) or `docker -H`. */
  readonly dockerHost: string;
  /** The namespace's address, where the engine listens (and where its published ports are). */
  readonly address: string;
  /** Stop the engine and remove all it made (containers, data, namespace, veth, iptables rules); idempotent. */
  stop(): Promise<void>;
}

/** Why a remote engine cannot run here (not Linux, not root), or undefined when it can. */
export function remoteEngineUnsupported(): string | undefined {
  if (process.platform !== "linux") return `a remote engine needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return "a remote engine needs root (network namespace, veth, iptables, dockerd)";
  return undefined;
}

/**
 * A second Docker engine in its own network namespace, reachable only at tcp://<address>:2375,
 * as if on another machine (scripts/remote-engine.sh). Its containers reach Debian's mirror and
 * PyPI through NAT on the host. Several can run at once under different names.
 */
export async function startRemoteEngine(name = "default", options: { timeoutMs?: number } = {}): Promise<RemoteEngine> {
  const unsupported = remoteEngineUnsupported();
  if (unsupported) throw new Error(unsupported);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= runScript(["stop", name], 120_000).then((result) => {
      if (result.code !== 0) throw new Error(`remote-engine.sh stop ${name} failed (${result.code}):\n${result.stderr}`);
    });
    return stopping;
  };
  // Start: the script waits up to 60 s for dockerd itself, and up to 120 s for another start/stop.
  const result = await runScript(["start", name], options.timeoutMs ?? 200_000);
  const dockerHost = /^DOCKER_HOST=(tcp:\/\/\S+)$/m.exec(result.stdout)?.[1];
  if (result.code !== 0 || !dockerHost) {
    // A half-made engine must not outlive the failed start.
    await stop().catch(() => {});
    throw new Error(`remote-engine.sh start ${name} failed (${result.code}):\n${result.stderr}${result.stdout}`);
  }
  const address = new URL(dockerHost).hostname;
  return { dockerHost, address, stop, [Symbol.asyncDispose]: stop };
}

interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** bash scripts/remote-engine.sh ARGS, killed (code -1) when it outlives timeoutMs. */
function runScript(args: readonly string[], timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolvePromise, reject) => {
    // Own process group, so a timeout kills the script and whatever it waits on (not the dockerd
    // it started: that one is in a session of its own).
    const child = spawn("bash", [SCRIPT, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(remote-engine.sh ${args.join(" ")} killed after ${timeoutMs} ms)`;
      resolvePromise({ code: timedOut ? -1 : (code ?? -1), stdout, stderr });
    });
  });
}
