import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { expect } from "vitest";

/**
 * What the bad-input suite checks after each batch of malformed inputs: the process is alive
 * (it is this process: the listeners run in it), its fds are back to the baseline, its RSS is
 * within a bound of the baseline, and a normal request still works. Inputs are seeded and
 * bounded: SEED and a fixed number of runs, each connection with a deadline.
 */
export const SEED = Number(process.env.BAD_INPUT_SEED ?? 20261129);
/** Inputs per listener: BATCHES × RUNS × PER_RUN ≥ 1,000. */
export const BATCHES = 4;
export const RUNS = 5;
export const PER_RUN = 50;
/** How long one connection may stay open before the client gives up on it (the outcome is "timeout"). */
export const CONNECTION_DEADLINE_MS = 250;
const RSS_SLACK_BYTES = 64 * 1024 * 1024;
const SETTLE_DEADLINE_MS = 15_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

export function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** TCP sockets by inode: "local port -> remote port (state)", to tell which listener holds a leftover fd. */
function tcpSockets(): Map<string, string> {
  const byInode = new Map<string, string>();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const port = (address: string) => parseInt(address.split(":")[1]!, 16);
    byInode.set(f[9]!, `${port(f[1]!)} -> ${port(f[2]!)} (state ${f[3]})`);
  }
  return byInode;
}

function openFds(): string[] {
  const tcp = tcpSockets();
  return readdirSync("/proc/self/fd").map((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      return `${fd}->${target}${inode && tcp.has(inode) ? ` tcp ${tcp.get(inode)}` : ""}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return `${fd}->(closed)`; // the readdir's own fd
      throw err;
    }
  });
}

export interface Recovery {
  /** How long the fds took to come back to the baseline. */
  readonly settledMs: number;
  readonly fds: number;
  readonly rssMb: number;
}

export interface Baseline {
  readonly fds: number;
  readonly rss: number;
}

/** Measure after the listener served one normal request (its lazily made sockets and caches exist). */
export function measureBaseline(): Baseline {
  gc();
  return { fds: fdCount(), rss: process.memoryUsage().rss };
}

/**
 * Wait (with a deadline) until the fds are back to the baseline, then check RSS after a GC and
 * that `probe` (one normal request) still works. Throws saying what did not come back.
 */
export async function expectRecovered(baseline: Baseline, probe: () => Promise<void>): Promise<Recovery> {
  const started = Date.now();
  const deadline = started + SETTLE_DEADLINE_MS;
  while (fdCount() > baseline.fds) {
    if (Date.now() > deadline) {
      throw new Error(`fds did not come back to the baseline ${baseline.fds} within ${SETTLE_DEADLINE_MS} ms: ${fdCount()} open:\n${openFds().join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  gc();
  const rss = process.memoryUsage().rss;
  if (rss > baseline.rss + RSS_SLACK_BYTES) {
    throw new Error(`RSS ${mb(rss)} MB is over the baseline ${mb(baseline.rss)} MB + ${mb(RSS_SLACK_BYTES)} MB after GC`);
  }
  await probe();
  return { settledMs: Date.now() - started, fds: fdCount(), rssMb: mb(rss) };
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** How each malformed input ended, counted by outcome, printed at the end of a file. */
export class Tally {
  readonly counts = new Map<string, number>();
  readonly recoveries: Recovery[] = [];
  add(outcome: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }
  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }
  print(listener: string): void {
    const parts = [...this.counts.entries()].sort().map(([k, v]) => `${k}=${v}`);
    const after = this.recoveries.map((r) => `${r.fds}fd/${r.rssMb}MB/${r.settledMs}ms`).join(" ");
    console.log(`bad-input ${listener}: ${this.total} inputs (seed ${SEED}): ${parts.join(" ")}${after ? `; after each batch (fds/RSS/settle): ${after}` : ""}`);
  }
}

export interface Exchange {
  /** What the listener sent back before it closed or the deadline came. */
  readonly reply: Buffer;
  /** closed: the listener ended the connection; reset: it reset it (or TLS failed); timeout: still open at the deadline (we closed it). */
  readonly end: "closed" | "reset" | "timeout";
  readonly error?: string;
}

export interface Target {
  readonly port: number;
  /** TLS from the first byte, trusting this CA; `alpn` offers protocols (["h2"]). */
  readonly tls?: { readonly ca: string; readonly servername: string; readonly alpn?: string[] };
  /** Postgres' way: an SSLRequest in plaintext, then TLS once the listener says 'S' (`tls` says whom to trust). */
  readonly sslRequest?: boolean;
}

export interface ExchangeOptions {
  readonly deadlineMs?: number;
  /** Stop reading (and close) once the reply so far satisfies this. */
  readonly until?: (reply: Buffer) => boolean;
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** Send `bytes` on a fresh connection and collect the answer until the listener closes or the deadline passes. */
export function exchange(target: Target, bytes: Buffer, options: ExchangeOptions = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const raw = net.connect({ port: target.port, host: "127.0.0.1" });
    let socket: net.Socket = raw;
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let done = false;
    const timer = setTimeout(() => finish("timeout"), options.deadlineMs ?? CONNECTION_DEADLINE_MS);
    const finish = (end: Exchange["end"]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      resolve({ reply: Buffer.concat(chunks), end: error && end !== "timeout" ? "reset" : end, error });
    };
    const onError = (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message);
    const send = () => socket.write(bytes, (err) => (err ? onError(err) : undefined));
    const listen = () => {
      socket.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (options.until?.(Buffer.concat(chunks))) finish("closed");
      });
      socket.on("error", onError);
      socket.on("close", () => finish("closed"));
    };
    raw.on("error", onError);
    if (target.tls && !target.sslRequest) {
      socket = tls.connect({ socket: raw, ca: target.tls.ca, servername: target.tls.servername, ALPNProtocols: target.tls.alpn }, send);
      listen();
    } else if (target.tls && target.sslRequest) {
      raw.once("close", () => finish("closed"));
      raw.once("connect", () => raw.write(SSL_REQUEST));
      raw.once("data", (answer: Buffer) => {
        if (answer.toString("latin1") !== "S") {
          chunks.push(answer);
          return finish("closed");
        }
        socket = tls.connect({ socket: raw, ca: target.tls!.ca, servername: target.tls!.servername }, send);
        listen();
      });
    } else {
      raw.once("connect", send);
      listen();
    }
  });
}

/** Outcome label for the tally: how it ended and what the first reply bytes were. */
export function label(result: Exchange, kind: string): string {
  return `${result.end}${result.reply.length > 0 ? `+${kind}` : ""}`;
}

export interface FuzzRun {
  /** Printed with the counts. */
  readonly name: string;
  readonly target: Target;
  /** The malformed inputs, one connection each. */
  readonly inputs: fc.Arbitrary<Buffer>;
  /** A normal request that must still work before and after each batch. */
  readonly probe: () => Promise<void>;
  /** The outcome's kind for the counts ("400", "protocol-error", …). */
  readonly kind: (result: Exchange) => string;
  /** Assertions on one answer; it may also note it (the caller keeps what it needs). */
  readonly check: (result: Exchange, input: Buffer) => void;
  readonly exchangeOptions?: ExchangeOptions;
}

/**
 * BATCHES × RUNS × PER_RUN malformed inputs (seeded), each on its own connection, all of a run
 * at once; after each batch the process must be back to its baseline (fds, RSS) and `probe`
 * must pass. Prints the counts; at least 1,000 inputs.
 */
export async function fuzzListener(run: FuzzRun): Promise<Tally> {
  await run.probe();
  const baseline = measureBaseline();
  const tally = new Tally();
  for (let batch = 0; batch < BATCHES; batch++) {
    await fc.assert(
      fc.asyncProperty(fc.array(run.inputs, { minLength: PER_RUN, maxLength: PER_RUN }), async (inputs) => {
        const results = await Promise.all(inputs.map((bytes) => exchange(run.target, bytes, run.exchangeOptions)));
        results.forEach((result, i) => {
          tally.add(label(result, run.kind(result)));
          run.check(result, inputs[i]!);
        });
      }),
      { seed: SEED + batch, numRuns: RUNS, endOnFailure: true },
    );
    tally.recoveries.push(await expectRecovered(baseline, run.probe));
  }
  tally.print(run.name);
  expect(tally.total).toBeGreaterThanOrEqual(1000);
  return tally;
}
