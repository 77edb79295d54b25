import tls from "node:tls";
import type { Duplex } from "node:stream";
import type { Timer } from "../../clock.js";
import type { LinkConnection } from "../connection.js";
import { Link, type LinkOptions } from "../link.js";
import { OpeningReader } from "../opening-reader.js";
import { createLinkSecureContext, type LinkTlsOptions } from "../tls-options.js";
import type { Toxic } from "../toxic.js";
import type { LinkKind } from "../toxic-types.js";
import {
  errorResponse,
  MessageFramer,
  parseOpeningPacket,
  ProtocolError,
  QUERY_MESSAGES,
  type ErrorFields,
  type OpeningPacket,
} from "./wire.js";

export interface PostgresLinkOptions extends LinkOptions {
  /** The certificate the link presents (TLS ends here, as at Supabase's and Neon's poolers). */
  tls: LinkTlsOptions;
  /** Refuse clients that do not ask for TLS, as the hosted poolers do. Default true. */
  requireTls?: boolean;
  /** What a client without TLS is told. Default PgBouncer's: FATAL 08P01 "SSL required". */
  insecureError?: ErrorFields;
  /** Real-time limit for a client to finish SSLRequest/TLS/startup. Default 30 s. */
  openingTimeoutMs?: number;
}

const ADMIN_SHUTDOWN: ErrorFields = { code: "57P01", message: "terminating connection due to administrator command" };
const IDLE_TIMEOUT: ErrorFields = { code: "08P01", message: "client_idle_timeout" };

interface NeonState {
  toxic: Toxic;
  timer: Timer;
  lastQueryAt: number;
  suspended: boolean;
  waking: Promise<void> | undefined;
}

/**
 * A link in front of PgBouncer/Postgres that behaves like a hosted pooler: it answers the
 * client's SSLRequest and ends TLS itself, forwards the startup and everything after in
 * plaintext (it never sends SSLRequest upstream), and speaks FATAL ErrorResponses for idle
 * drops, connection limits and Neon's suspend.
 */
export class PostgresLink extends Link {
  override readonly kind: LinkKind = "postgres";
  readonly #secureContext: tls.SecureContext;
  readonly #requireTls: boolean;
  readonly #insecureError: ErrorFields;
  readonly #openingTimeoutMs: number;
  #neon: NeonState | undefined;

  constructor(options: PostgresLinkOptions) {
    super(options);
    this.#secureContext = createLinkSecureContext(options.tls);
    this.#requireTls = options.requireTls ?? true;
    this.#insecureError = options.insecureError ?? { code: "08P01", message: "SSL required" };
    this.#openingTimeoutMs = options.openingTimeoutMs ?? 30_000;
  }

  /** Whether a Neon-style compute is currently suspended (for status output). */
  get suspended(): boolean {
    return this.#neon?.suspended ?? false;
  }

  protected override async handle(conn: LinkConnection): Promise<void> {
    const deadline = setTimeout(() => {
      if (conn.state === "opening") {
        this.logger.warn({ connection: conn.id }, "client did not finish its opening in time");
        conn.destroy();
      }
    }, this.#openingTimeoutMs);
    deadline.unref();
    try {
      await this.#open(conn);
    } finally {
      clearTimeout(deadline);
    }
  }

  async #open(conn: LinkConnection): Promise<void> {
    let stream: Duplex = conn.raw;
    let reader = new OpeningReader(stream);
    let secure = false;
    let packet: OpeningPacket;
    for (;;) {
      const first = await reader.next((buf) => (buf.length > 0 ? { value: buf[0]!, used: 0 } : null));
      if (first === 0x16 && !secure) {
        // Direct TLS (libpq 17 sslnegotiation=direct): the ClientHello comes first.
        stream = this.#upgrade(conn, reader.release());
        reader = new OpeningReader(stream);
        secure = true;
        continue;
      }
      packet = await reader.next((buf) => {
        const parsed = parseOpeningPacket(buf);
        return parsed ? { value: parsed, used: parsed.bytes.length } : null;
      });
      if (packet.kind === "ssl") {
        if (secure) throw new ProtocolError("SSLRequest inside TLS");
        const rest = reader.release();
        conn.raw.write("S");
        stream = this.#upgrade(conn, rest);
        reader = new OpeningReader(stream);
        secure = true;
        continue;
      }
      if (packet.kind === "gssenc") {
        stream.write("N");
        continue;
      }
      break;
    }
    conn.useClient(stream);

    if (packet.kind === "cancel") {
      reader.release();
      const upstream = await this.connectUpstream();
      upstream.on("error", () => {});
      upstream.end(packet.bytes);
      conn.close();
      return;
    }

    if (!secure && this.#requireTls) {
      this.logger.info({ connection: conn.id }, "refusing a client without TLS");
      return this.#reject(conn, stream, this.#insecureError);
    }
    const limit = this.overConnectionLimit(conn);
    if (limit) {
      this.logger.info({ connection: conn.id, toxic: limit.name }, "refusing a client over the connection limit");
      return this.#reject(conn, stream, limitError(limit));
    }
    await this.#wake();
    let upstream: Awaited<ReturnType<Link["connectUpstream"]>>;
    try {
      upstream = await this.connectUpstream();
    } catch (err) {
      const { host, port } = this.upstream;
      this.logger.warn({ err, connection: conn.id, upstream: this.upstream }, "cannot reach the upstream");
      return this.#reject(conn, stream, {
        code: "08006",
        message: `prodlike link "${this.name}" cannot reach ${host}:${port} (${(err as NodeJS.ErrnoException).code ?? "error"}); is the database container running?`,
      });
    }
    const head = reader.release();
    const front = new MessageFramer();
    const back = new MessageFramer();
    conn.data.set("backend", back);
    const onFrontend = (type: string) => {
      if (QUERY_MESSAGES.has(type) && this.#neon) this.#neon.lastQueryAt = this.clock.now();
    };
    conn.hooks = {
      fromClient: (chunk) => {
        try {
          front.feed(chunk, onFrontend);
        } catch (err) {
          this.logger.warn({ err, connection: conn.id }, "garbage from the client; resetting");
          conn.reset();
          return null;
        }
        return chunk;
      },
      toClient: (chunk) => {
        try {
          back.feed(chunk);
        } catch {
          // Not ours to judge the server; we only lose the ability to inject errors cleanly.
        }
        return chunk;
      },
    };
    try {
      if (head.length) front.feed(head, onFrontend);
    } catch (err) {
      // Garbage right behind the startup, in the same read: the upstream is already open.
      upstream.destroy();
      throw err;
    }
    conn.forward(stream, upstream, head.length ? [packet.bytes, head] : [packet.bytes]);
  }

  #upgrade(conn: LinkConnection, rest: Buffer): tls.TLSSocket {
    if (rest.length) conn.raw.unshift(rest);
    const secure = new tls.TLSSocket(conn.raw, {
      isServer: true,
      secureContext: this.#secureContext,
      ALPNProtocols: ["postgresql"],
    });
    secure.on("error", (err) => this.logger.debug({ err, connection: conn.id }, "client TLS error"));
    return secure;
  }

  #reject(conn: LinkConnection, stream: Duplex, fields: ErrorFields): void {
    stream.write(errorResponse(fields));
    conn.close();
  }

  /** Send the client a FATAL ErrorResponse (at a message boundary) and close, as a server does. */
  terminate(conn: LinkConnection, fields: ErrorFields): void {
    if (conn.state === "open") {
      const back = conn.data.get("backend") as MessageFramer | undefined;
      if (back?.atBoundary) conn.client.write(errorResponse(fields));
    }
    conn.close();
  }

  protected override dropIdle(conn: LinkConnection, toxic: Toxic): void {
    if (toxic.attributes.mode === "fatal") this.terminate(conn, IDLE_TIMEOUT);
    else super.dropIdle(conn, toxic);
  }

  protected override toxicAdded(toxic: Toxic): void {
    if (toxic.type !== "neon_suspend" || this.#neon) return;
    const after = toxic.attributes.after as number;
    const neon: NeonState = {
      toxic,
      lastQueryAt: this.clock.now(),
      suspended: false,
      waking: undefined,
      timer: this.clock.setTimer(after, () => this.#checkSuspend()),
    };
    this.#neon = neon;
  }

  protected override toxicRemoved(toxic: Toxic): void {
    if (this.#neon?.toxic.name !== toxic.name) return;
    this.#neon.timer.cancel();
    this.#neon = undefined;
  }

  #checkSuspend(): void {
    const neon = this.#neon;
    if (!neon || neon.suspended) return;
    const after = neon.toxic.attributes.after as number;
    const idle = this.clock.now() - neon.lastQueryAt;
    if (idle < after) {
      neon.timer.reset(after - idle);
      return;
    }
    neon.suspended = true;
    const open = this.openConnections().filter((conn) => conn.state === "open");
    this.logger.info({ idleMs: idle, connections: open.length }, "compute suspended");
    for (const conn of open) this.terminate(conn, ADMIN_SHUTDOWN);
  }

  async #wake(): Promise<void> {
    const neon = this.#neon;
    if (!neon?.suspended) return;
    neon.waking ??= new Promise<void>((resolve) => {
      const latency = neon.toxic.attributes.wake_latency as number;
      setTimeout(resolve, latency).unref();
    }).then(() => {
      neon.suspended = false;
      neon.waking = undefined;
      neon.lastQueryAt = this.clock.now();
      neon.timer.reset(neon.toxic.attributes.after as number);
      this.logger.info("compute woke up");
    });
    await neon.waking;
  }
}

function limitError(toxic: Toxic): ErrorFields {
  const limit = toxic.attributes.limit as number;
  switch (toxic.attributes.flavor) {
    case "pgbouncer":
      return { code: "08P01", message: "no more connections allowed (max_client_conn)" };
    case "supavisor_session":
      return { code: "XX000", message: `max clients reached in session mode - max clients are limited to pool_size: ${limit}` };
    default:
      return { code: "XX000", message: `max client connections reached, limit: ${limit}` };
  }
}
