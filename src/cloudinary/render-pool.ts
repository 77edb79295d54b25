import { fork, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CloudinaryApiError } from "./api-error.js";
import type { RenderedImage } from "./image-render.js";
import type { OutputFormat, TransformStep } from "./transformation.js";

export interface RenderRequest {
  readonly id: number;
  readonly original: Uint8Array;
  readonly steps: readonly TransformStep[];
  readonly format: OutputFormat;
}

export type RenderReply =
  | { readonly id: number; readonly ok: true; readonly data: Uint8Array; readonly format: OutputFormat; readonly width: number; readonly height: number }
  | { readonly id: number; readonly ok: false; readonly status?: number; readonly message: string };

export interface RenderPoolOptions {
  /** Renders at once, each in its own process on one libvips thread. */
  readonly concurrency: number;
  /** Renders waiting for a process; past this a request is refused at once. */
  readonly maxQueued: number;
  /** Wall-clock budget of one render; its process is killed when it runs out. */
  readonly timeoutSeconds: number;
}

interface Job {
  readonly id: number;
  readonly request: Omit<RenderRequest, "id">;
  readonly resolve: (image: RenderedImage) => void;
  readonly reject: (err: Error) => void;
  child?: ChildProcess;
  timer?: NodeJS.Timeout;
  done: boolean;
}

/** The render process's entry: the compiled .js next to this file, or the .ts one through tsx (tests). */
function childEntry(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const js = self.replace(/render-pool\.(ts|js)$/, "render-child.js");
  if (self.endsWith(".js") && existsSync(js)) return { path: js, execArgv: [] };
  const tsx = createRequire(import.meta.url).resolve("tsx");
  return { path: self.replace(/render-pool\.ts$/, "render-child.ts"), execArgv: ["--import", pathToFileURL(tsx).href] };
}

/**
 * Image renders in child processes, at most `concurrency` at once behind a bounded queue.
 * libvips cannot be stopped mid-pipeline from JavaScript, but a process can: a render whose
 * client goes away, whose time budget runs out, or that is running when the stand-in closes is
 * killed at once, and its CPU and memory go with it. Idle processes are reused.
 * Events (for tests and logs): "start" (job id) and "settle" (job id, and "done", "killed" or
 * "exited"): the work really ended, its process answered or is gone. derived.ts adds "join"
 * (how many requests now wait for one derived image).
 */
export class RenderPool extends EventEmitter {
  private readonly idle: ChildProcess[] = [];
  private readonly running = new Set<Job>();
  private readonly waiting: Job[] = [];
  private closed = false;
  private nextId = 0;
  /** Renders started so far (for tests: a refused request must not start one). */
  started = 0;

  constructor(private readonly options: RenderPoolOptions) {
    super();
  }

  render(original: Buffer, steps: readonly TransformStep[], format: OutputFormat, signal?: AbortSignal): Promise<RenderedImage> {
    if (this.closed) return Promise.reject(shuttingDown());
    if (signal?.aborted) return Promise.reject(clientGone());
    if (this.waiting.length >= this.options.maxQueued && this.running.size >= this.options.concurrency) {
      return Promise.reject(
        new CloudinaryApiError(420, `Too many concurrent transformations: ${this.running.size} rendering and ${this.waiting.length} queued in the prodlike stand-in; retry later`),
      );
    }
    return new Promise<RenderedImage>((resolve, reject) => {
      const onAbort = (): void => this.fail(job, clientGone());
      const settled = <T>(then: (value: T) => void) => (value: T): void => {
        signal?.removeEventListener("abort", onAbort);
        then(value);
      };
      const job: Job = { id: ++this.nextId, request: { original, steps, format }, resolve: settled(resolve), reject: settled(reject), done: false };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(job);
      this.pump();
    });
  }

  /** Kill every render process and fail every render now; never waits for one to finish. */
  close(): void {
    this.closed = true;
    for (const job of [...this.waiting, ...this.running]) this.fail(job, shuttingDown());
    for (const child of this.idle.splice(0)) child.kill("SIGKILL");
  }

  private pump(): void {
    while (!this.closed && this.waiting.length > 0 && this.running.size < this.options.concurrency) this.start(this.waiting.shift()!);
  }

  private start(job: Job): void {
    const child = this.idle.pop() ?? this.spawn();
    job.child = child;
    this.running.add(job);
    this.started += 1;
    this.emit("start", job.id);
    job.timer = setTimeout(
      () => this.fail(job, new CloudinaryApiError(504, `Transformation timed out after ${this.options.timeoutSeconds} s in the prodlike stand-in`)),
      this.options.timeoutSeconds * 1000,
    );
    job.timer.unref();
    const request: RenderRequest = { id: job.id, ...job.request };
    child.send(request);
  }

  private spawn(): ChildProcess {
    const entry = childEntry();
    const child = fork(entry.path, [], { execArgv: entry.execArgv, serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (reply: RenderReply) => this.finish(child, reply));
    child.on("exit", (code, signal) => this.exited(child, code, signal));
    child.on("error", (err) => this.exited(child, null, null, err));
    child.unref();
    child.channel?.unref();
    return child;
  }

  private jobOf(child: ChildProcess): Job | undefined {
    for (const job of this.running) if (job.child === child) return job;
    return undefined;
  }

  private finish(child: ChildProcess, reply: RenderReply): void {
    const job = this.jobOf(child);
    if (!job || job.id !== reply.id) return;
    this.release(job);
    this.idle.push(child);
    this.emit("settle", job.id, "done");
    if (reply.ok) {
      job.resolve({ data: Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength), format: reply.format, width: reply.width, height: reply.height });
    } else {
      job.reject(reply.status === undefined ? new Error(reply.message) : new CloudinaryApiError(reply.status, reply.message));
    }
    this.pump();
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, err?: Error): void {
    const idleAt = this.idle.indexOf(child);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    const job = this.jobOf(child);
    if (!job) return;
    this.release(job);
    this.emit("settle", job.id, "exited");
    job.reject(err ?? new Error(`The render process exited (code ${code}, signal ${signal}) during a transformation`));
    this.pump();
  }

  /** Fail a job; a running one has its process killed, so its work ends now. */
  private fail(job: Job, err: Error): void {
    if (job.done) return;
    const queuedAt = this.waiting.indexOf(job);
    if (queuedAt >= 0) {
      this.waiting.splice(queuedAt, 1);
      job.done = true;
      job.reject(err);
      return;
    }
    const child = job.child;
    this.release(job);
    job.reject(err);
    if (child) {
      child.once("exit", () => this.emit("settle", job.id, "killed"));
      child.kill("SIGKILL");
    }
    this.pump();
  }

  private release(job: Job): void {
    job.done = true;
    clearTimeout(job.timer);
    this.running.delete(job);
  }
}

function clientGone(): CloudinaryApiError {
  return new CloudinaryApiError(499, "Client closed the request before the transformation finished");
}

function shuttingDown(): CloudinaryApiError {
  return new CloudinaryApiError(503, "The prodlike Cloudinary stand-in is shutting down");
}
