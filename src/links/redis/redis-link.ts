import tls from "node:tls";
import type { LinkConnection } from "../connection.js";
import { Link, type LinkOptions } from "../link.js";
import { OpeningReader } from "../opening-reader.js";
import { createLinkSecureContext, type LinkTlsOptions } from "../tls-options.js";
import type { Toxic } from "../toxic.js";
import type { LinkKind } from "../toxic-types.js";
import { errorReply, RespCommandParser, RespReplyCounter, type RespEvent } from "./resp.js";

export interface RedisLinkOptions extends LinkOptions {
  /** TLS from the first byte (rediss://), as Upstash. Omit for a plain `redis://` link. */
  tls?: LinkTlsOptions;
  /** Real-time limit for the TLS handshake. Default 30 s. */
  openingTimeoutMs?: number;
}

export const UPSTASH_LIMIT_URL = "https://upstash.com/docs/redis/troubleshooting/max_requests_limit";

/** A reply slot, in command order: Redis' own reply, or one the link gives itself. */
type Slot = { remote: true } | { remote: false; reply: Buffer };

/**
 * A link in front of Redis that behaves like Upstash: TLS from the first byte (a plaintext
 * client is reset, so it sees `read ECONNRESET`), every command counted, and Upstash's limits
 * answered with Upstash's `-ERR` texts, in order with Redis' own replies.
 */
export class RedisLink extends Link {
  override readonly kind: LinkKind = "redis";
  readonly #secureContext: tls.SecureContext | undefined;
  readonly #openingTimeoutMs: number;
  /** Commands forwarded to Redis since the link started. */
  requests = 0;
  /** Usage per request_limit toxic (by name). */
  readonly #usage = new Map<string, number>();

  constructor(options: RedisLinkOptions) {
    super(options);
    this.#secureContext = options.tls ? createLinkSecureContext(options.tls) : undefined;
    this.#openingTimeoutMs = options.openingTimeoutMs ?? 30_000;
  }

  protected override async handle(conn: LinkConnection): Promise<void> {
    let client = conn.client;
    if (this.#secureContext) {
      const reader = new OpeningReader(conn.raw);
      const deadline = setTimeout(() => conn.state === "opening" && conn.destroy(), this.#openingTimeoutMs);
      deadline.unref();
      try {
        const first = await reader.next((buf) => (buf.length > 0 ? { value: buf[0]!, used: 0 } : null));
        const rest = reader.release();
        if (first !== 0x16) {
          // Upstash resets a plaintext client: it sees `read ECONNRESET`.
          this.logger.info({ connection: conn.id }, "resetting a client that does not speak TLS");
          conn.reset();
          return;
        }
        conn.raw.unshift(rest);
        const secure = new tls.TLSSocket(conn.raw, { isServer: true, secureContext: this.#secureContext });
        secure.on("error", (err) => this.logger.debug({ err, connection: conn.id }, "client TLS error"));
        conn.useClient(secure);
        client = secure;
        await new Promise<void>((resolve, reject) => {
          const left = () => reject(new Error("the client left during the TLS handshake"));
          secure.once("secure", resolve);
          // The link's sockets allow half-open: a client gone mid-handshake may only send FIN ('end').
          secure.once("end", left);
          secure.once("close", left);
        });
      } finally {
        clearTimeout(deadline);
      }
    }
    const limit = this.overConnectionLimit(conn);
    if (limit) {
      this.logger.info({ connection: conn.id, toxic: limit.name }, "refusing a client over the connection limit");
      client.write(errorReply("ERR max concurrent connections exceeded"));
      conn.close();
      return;
    }
    const upstream = await this.connectUpstream();
    this.#instrument(conn);
    conn.forward(client, upstream);
  }

  protected override toxicAdded(toxic: Toxic): void {
    if (toxic.type === "request_limit") this.#usage.set(toxic.name, toxic.attributes.usage as number);
  }

  protected override toxicRemoved(toxic: Toxic): void {
    this.#usage.delete(toxic.name);
  }

  /** The current usage counted by a request_limit toxic. */
  usage(toxicName: string): number | undefined {
    return this.#usage.get(toxicName);
  }

  #instrument(conn: LinkConnection): void {
    const commands = new RespCommandParser();
    const replies = new RespReplyCounter();
    const slots: Slot[] = [];
    /** The long command being read is refused: the rest of it is dropped as it comes. */
    let discarding = false;
    const flushLocal = (): Buffer[] => {
      const out: Buffer[] = [];
      while (slots[0] && !slots[0].remote) out.push((slots.shift() as { reply: Buffer }).reply);
      return out;
    };
    const answer = (reply: Buffer): void => {
      if (slots.length === 0) conn.client.write(reply);
      else slots.push({ remote: false, reply });
    };
    const forwardOrRefuse = (name: string, size: number, bytes: Buffer, forward: Buffer[]): boolean => {
      const refusal = this.#refusal(conn, size);
      if (refusal) {
        answer(refusal);
        return false;
      }
      this.requests++;
      slots.push({ remote: true });
      forward.push(bytes);
      return true;
    };
    conn.hooks = {
      fromClient: (chunk) => {
        let events: RespEvent[];
        try {
          events = commands.feed(chunk);
        } catch (err) {
          this.logger.warn({ err, connection: conn.id }, "protocol error from the client; closing");
          conn.client.write(errorReply(`ERR Protocol error: ${(err as Error).message}`));
          conn.close();
          return null;
        }
        const forward: Buffer[] = [];
        for (const event of events) {
          if (event.type === "command") forwardOrRefuse(event.name, event.bytes.length, event.bytes, forward);
          else if (event.type === "begin") discarding = !forwardOrRefuse(event.name, event.declared, event.bytes, forward);
          else if (event.type === "more" && !discarding) {
            if (this.#overSize(conn, event.declared)) {
              // Part of it is at Redis already: like a client gone mid-command, both ends close.
              conn.client.write(errorReply("ERR max request size exceeded"));
              conn.close();
              return null;
            }
            forward.push(event.bytes);
          } else if (event.type === "end") discarding = false;
        }
        return forward.length === 1 ? forward[0]! : forward.length ? Buffer.concat(forward) : null;
      },
      toClient: (chunk) => {
        const parts: Buffer[] = [];
        let from = 0;
        replies.feed(chunk, (end) => {
          if (slots[0]?.remote) slots.shift();
          parts.push(chunk.subarray(from, end), ...flushLocal());
          from = end;
        });
        if (parts.length === 0) return chunk;
        if (from < chunk.length) parts.push(chunk.subarray(from));
        return Buffer.concat(parts);
      },
    };
  }

  #overSize(conn: LinkConnection, size: number): boolean {
    const limit = this.activeToxic("max_request_size", conn);
    return limit !== undefined && size > (limit.attributes.bytes as number);
  }

  /** Upstash's answer instead of Redis', for a command of `size` bytes (as declared so far), or undefined. */
  #refusal(conn: LinkConnection, size: number): Buffer | undefined {
    if (this.#overSize(conn, size)) return errorReply("ERR max request size exceeded");
    const quota = this.activeToxic("request_limit", conn);
    if (quota) {
      const limit = quota.attributes.limit as number;
      const usage = this.#usage.get(quota.name) ?? 0;
      if (usage >= limit) {
        const kind = quota.attributes.daily ? "max daily request limit exceeded" : "max requests limit exceeded";
        return errorReply(`ERR ${kind}. Limit: ${limit}, Usage: ${usage}. See ${UPSTASH_LIMIT_URL} for details`);
      }
      this.#usage.set(quota.name, usage + 1);
    }
    return undefined;
  }
}
