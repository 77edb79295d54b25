import type net from "node:net";
import type { Duplex } from "node:stream";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import { ToxicChain } from "./chain.js";
import type { StreamName } from "./toxic.js";

export interface ConnectionInfo {
  id: number;
  /** host:port of the client. */
  client: string;
  /** Bytes client → service and service → client. */
  bytesUp: number;
  bytesDown: number;
  /** Virtual-clock times (ms since epoch). */
  openedAt: number;
  lastActivityAt: number;
  state: "opening" | "open" | "closing";
}

export interface ConnectionHooks {
  /** Bytes from the client; returns what goes on upstream (a protocol may hold some back). */
  fromClient?(chunk: Buffer): Buffer | null;
  /** Bytes about to reach the client; returns what is written (a protocol may insert replies). */
  toClient?(chunk: Buffer): Buffer;
}

const HIGH_WATER = 1 << 22;

/**
 * One client connection through a link: the raw client socket, the plaintext client stream
 * (the TLS socket where TLS ends at the link), the upstream socket, and one toxic chain per
 * direction with flow control between them.
 */
export class LinkConnection {
  readonly id: number;
  readonly raw: net.Socket;
  readonly clientAddress: string;
  readonly openedAt: number;
  readonly chains: Record<StreamName, ToxicChain>;
  client: Duplex;
  upstream: net.Socket | undefined;
  lastActivityAt: number;
  bytesUp = 0;
  bytesDown = 0;
  state: ConnectionInfo["state"] = "opening";
  hooks: ConnectionHooks = {};
  /** Per-connection data a protocol keeps (parsers, timers). */
  readonly data = new Map<string, unknown>();
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #finished = false;
  readonly #cleanups: (() => void)[] = [];

  constructor(id: number, raw: net.Socket, clock: Clock, logger: Logger, random: () => number) {
    this.id = id;
    this.raw = raw;
    this.client = raw;
    this.#clock = clock;
    this.#logger = logger;
    this.clientAddress = `${raw.remoteAddress ?? "?"}:${raw.remotePort ?? "?"}`;
    this.openedAt = clock.now();
    this.lastActivityAt = this.openedAt;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    const fail = (err: unknown) => {
      this.#logger.warn({ err, connection: id }, "toxic failed; resetting the connection");
      this.reset();
    };
    this.chains = {
      upstream: new ToxicChain(
        {
          deliver: (chunk) => {
            if (!this.upstream || this.upstream.destroyed) return;
            if (chunk) this.upstream.write(chunk);
            else this.upstream.end();
          },
          close: () => this.close(),
          reset: () => this.reset(),
          fail,
        },
        { random },
      ),
      downstream: new ToxicChain(
        {
          deliver: (chunk) => {
            if (this.client.destroyed) return;
            if (chunk) {
              this.bytesDown += chunk.length;
              this.touch();
              this.client.write(this.hooks.toClient ? this.hooks.toClient(chunk) : chunk);
            } else this.client.end();
          },
          close: () => this.close(),
          reset: () => this.reset(),
          fail,
        },
        { random },
      ),
    };
    raw.on("error", (err) => this.#logger.debug({ err, connection: id }, "client socket error"));
    raw.on("close", () => this.#finish());
  }

  /** Resolves once both sockets are closed and the connection is forgotten. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  get finished(): boolean {
    return this.#finished;
  }

  touch(): void {
    this.lastActivityAt = this.#clock.now();
  }

  onClose(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  info(): ConnectionInfo {
    return {
      id: this.id,
      client: this.clientAddress,
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      openedAt: this.openedAt,
      lastActivityAt: this.lastActivityAt,
      state: this.state,
    };
  }

  /** The plaintext client stream once TLS is set up at the link (before forwarding). */
  useClient(client: Duplex): void {
    if (client === this.client) return;
    this.client = client;
    client.on("close", () => this.#finish());
  }

  /**
   * Start forwarding between the plaintext client stream and the upstream socket. `head` is
   * what the protocol already read from the client and must go upstream first.
   */
  forward(client: Duplex, upstream: net.Socket, head: Buffer[] = []): void {
    this.useClient(client);
    this.upstream = upstream;
    if (this.state === "closing" || this.raw.destroyed || client.destroyed) {
      upstream.destroy();
      return;
    }
    this.state = "open";
    const { upstream: up, downstream: down } = this.chains;
    for (const chunk of head) up.push(chunk);

    const pump = (source: Duplex, chain: ToxicChain, dest: Duplex, fromClient: boolean) => {
      let ended = false;
      const resume = () => {
        if (source.isPaused() && chain.buffered < HIGH_WATER && !dest.writableNeedDrain) source.resume();
      };
      chain.onDrained = resume;
      dest.on("drain", resume);
      source.on("data", (chunk: Buffer) => {
        let out: Buffer | null = chunk;
        if (fromClient) {
          this.bytesUp += chunk.length;
          this.touch();
          if (this.hooks.fromClient) out = this.hooks.fromClient(chunk);
        }
        if (out && out.length > 0) chain.push(out);
        if (chain.buffered >= HIGH_WATER || dest.writableNeedDrain) source.pause();
      });
      source.on("end", () => {
        ended = true;
        chain.push(null);
      });
      source.on("close", () => {
        // Gone without a FIN (destroyed or reset): the other side goes too.
        if (!ended) {
          chain.destroy();
          if (!dest.destroyed) dest.destroy();
        }
      });
      source.resume();
    };
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      this.#logger.debug({ err, connection: this.id }, "upstream socket error");
      if (err.code === "ECONNRESET") this.reset();
    });
    client.on("error", (err: NodeJS.ErrnoException) => {
      this.#logger.debug({ err, connection: this.id }, "client stream error");
      if (err.code === "ECONNRESET") this.reset();
    });
    upstream.on("close", () => this.#finish());
    pump(client, up, upstream, true);
    pump(upstream, down, client, false);
  }

  /** FIN both ways (TLS close_notify first where TLS ends here, unless `closeNotify` is false). */
  close(options: { closeNotify?: boolean } = {}): void {
    if (this.state === "closing") return;
    this.state = "closing";
    this.chains.upstream.destroy();
    this.chains.downstream.destroy();
    if (options.closeNotify === false || this.client === this.raw) this.raw.end();
    else this.client.end();
    this.upstream?.end();
    // A peer that never closes its side must not keep the socket forever.
    const force = setTimeout(() => this.destroy(), 2000);
    force.unref();
    this.onClose(() => clearTimeout(force));
  }

  /** RST both ways ("connection reset by peer"). */
  reset(): void {
    this.state = "closing";
    this.chains.upstream.destroy();
    this.chains.downstream.destroy();
    if (!this.raw.destroyed) this.raw.resetAndDestroy();
    if (this.client !== this.raw && !this.client.destroyed) this.client.destroy();
    if (this.upstream && !this.upstream.destroyed) this.upstream.resetAndDestroy();
  }

  destroy(): void {
    this.state = "closing";
    this.chains.upstream.destroy();
    this.chains.downstream.destroy();
    if (this.client !== this.raw) this.client.destroy();
    this.raw.destroy();
    this.upstream?.destroy();
  }

  #finish(): void {
    if (this.#finished) return;
    if (!this.raw.destroyed && !(this.client !== this.raw && this.client.destroyed)) return;
    if (this.upstream && !this.upstream.destroyed) return;
    this.#finished = true;
    this.state = "closing";
    this.chains.upstream.destroy();
    this.chains.downstream.destroy();
    if (!this.raw.destroyed) this.raw.destroy();
    for (const fn of this.#cleanups.splice(0)) fn();
    this.#resolveClosed();
  }
}
