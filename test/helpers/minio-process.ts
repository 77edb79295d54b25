import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { ensureMinioBinary } from "../../src/engine/images.js";
import { silentLogger } from "../../src/logger.js";
import { join } from "node:path";

/** The MinIO server binary: PRODLIKE_MINIO_BIN, or the engine's cached build (made on first use). */
async function minioBinary(): Promise<string> {
  if (process.env.PRODLIKE_MINIO_BIN) return process.env.PRODLIKE_MINIO_BIN;
  return ensureMinioBinary(silentLogger());
}

export interface MinioProcess extends AsyncDisposable {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly dataDir: string;
  /** Stop the server and remove its data dir; idempotent. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function waitReady(endpoint: string, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`MinIO exited with code ${child.exitCode} before it was ready:\n${log()}`);
    try {
      const response = await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`MinIO did not answer ${endpoint}/minio/health/ready with 200 within ${timeoutMs} ms. Last output:\n${log()}`);
}

/** A real MinIO server as a child process on 127.0.0.1, on free ports, with a temp data dir. */
export async function startMinio(options: { timeoutMs?: number } = {}): Promise<MinioProcess> {
  const binary = await minioBinary();
  if (!existsSync(binary)) throw new Error(`PRODLIKE_MINIO_BIN=${binary} does not exist: point it at a minio server binary or unset it`);
  const dataDir = await mkdtemp(join(tmpdir(), "prodlike-minio-"));
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKeyId = "prodlike";
  const secretAccessKey = "prodlike-secret-key";
  const child = spawn(binary, ["server", join(dataDir, "data"), "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"], {
    env: { ...process.env, MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey, MINIO_BROWSER: "off", MINIO_UPDATE: "off", MINIO_CI_CD: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitReady(endpoint, child, () => output, options.timeoutMs ?? 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, accessKeyId, secretAccessKey, dataDir, stop, [Symbol.asyncDispose]: stop };
}
