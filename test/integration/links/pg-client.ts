import net from "node:net";
import tls from "node:tls";
import { parseErrorFields } from "../../../src/links/postgres/wire.js";
import { cstr, i32, msg } from "./fake-postgres.js";
import { disposers } from "./helpers.js";

export interface PgMessage {
  type: string;
  body: Buffer;
}

/** A minimal Postgres client over a real socket: SSLRequest → TLS (node:tls, our CA) → startup. */
export async function pgClient(port: number, options: { ca?: string; ssl?: boolean; user?: string } = {}) {
  const raw = net.connect(port, "127.0.0.1");
  raw.on("error", () => {});
  await new Promise<void>((resolve, reject) => raw.once("connect", resolve).once("error", reject));
  let stream: net.Socket | tls.TLSSocket = raw;
  if (options.ssl !== false) {
    const sslRequest = Buffer.alloc(8);
    sslRequest.writeInt32BE(8);
    sslRequest.writeInt32BE(80877103, 4);
    raw.write(sslRequest);
    const answer = await new Promise<string>((resolve) => raw.once("data", (d) => resolve(d.toString())));
    if (answer !== "S") throw new Error(`SSLRequest answered ${JSON.stringify(answer)}`);
    stream = tls.connect({ socket: raw, ca: options.ca, servername: "localhost" });
    await new Promise<void>((resolve, reject) => stream.once("secureConnect", resolve).once("error", reject));
  }
  const state = {
    messages: [] as PgMessage[],
    ended: false,
    closed: false,
    error: undefined as string | undefined,
  };
  let buf = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 5 && buf.length >= buf.readInt32BE(1) + 1) {
      const length = buf.readInt32BE(1);
      state.messages.push({ type: String.fromCharCode(buf[0]!), body: buf.subarray(5, length + 1) });
      buf = buf.subarray(length + 1);
    }
  });
  stream.on("end", () => (state.ended = true));
  stream.on("close", () => (state.closed = true));
  stream.on("error", (e: NodeJS.ErrnoException) => (state.error = e.code ?? e.message));
  disposers.push(() => void stream.destroy());
  const params = Buffer.concat([cstr("user"), cstr(options.user ?? "postgres.abcdef"), cstr("database"), cstr("postgres"), Buffer.from([0])]);
  const startup = Buffer.concat([i32(params.length + 8), i32(196608), params]);
  stream.write(startup);
  const errors = () =>
    state.messages.filter((m) => m.type === "E").map((m) => parseErrorFields(m.body));
  return {
    stream,
    state,
    errors,
    count: (type: string) => state.messages.filter((m) => m.type === type).length,
    query(sql: string) {
      stream.write(msg("Q", cstr(sql)));
    },
  };
}
