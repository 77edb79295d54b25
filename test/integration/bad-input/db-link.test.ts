import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { PostgresLink } from "../../../src/links/postgres/postgres-link.js";
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from "../../../src/links/postgres/wire.js";
import { useTempCa } from "../../helpers/ca.js";
import { cstr, fakePostgres, i32, msg } from "../links/fake-postgres.js";
import { cleanup, disposers } from "../links/helpers.js";
import { nearlyValid } from "./mutate.js";
import { exchange, fuzzListener, type Target } from "./process-health.js";

const temp = useTempCa();
let plain: PostgresLink;
let secure: PostgresLink;
let upstream: Awaited<ReturnType<typeof fakePostgres>>;

beforeAll(async () => {
  upstream = await fakePostgres();
  const make = (requireTls: boolean) =>
    new PostgresLink({
      name: "db",
      upstream: { host: "127.0.0.1", port: upstream.port },
      clock: new VirtualClock(),
      tls: { ca: temp.ca, names: ["localhost", "127.0.0.1"] },
      requireTls,
      openingTimeoutMs: 600_000, // no timeout to hide behind: a client that left must be released because it left
    }).start();
  plain = await make(false);
  secure = await make(true);
  disposers.push(() => plain.stop(), () => secure.stop());
});
afterAll(cleanup);

const opening = (code: number, body: Buffer = Buffer.alloc(0), length = body.length + 8) => Buffer.concat([i32(length), i32(code), body]);
const startupOf = (params: [string, string][]) => opening(196608, Buffer.concat([...params.flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]));
const name = fc.stringMatching(/^[a-z_]{1,12}$/);
const startup = fc.array(fc.tuple(name, fc.string({ maxLength: 20 })), { maxLength: 4 }).map((extra) => startupOf([["user", "postgres.abcdef"], ["database", "postgres"], ...extra]));
const query = fc.string({ maxLength: 40 }).map((sql) => msg("Q", cstr(sql)));
const typed = fc.tuple(fc.constantFrom(..."QPBEDSHXFCcdfp"), fc.uint8Array({ maxLength: 40 })).map(([type, body]) => msg(type, Buffer.from(body)));
const valid = fc.oneof(startup, fc.tuple(startup, fc.array(fc.oneof(query, typed), { maxLength: 3 })).map(([s, rest]) => Buffer.concat([s, ...rest])));

/** Postgres' own mistakes: lengths that lie (negative, huge, short), unknown codes, typed messages with bad lengths after a good startup. */
const lying = fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 3, 4, 7, 8, 9, 10_000, 10_001, 0x7fffffff));
const structured = [
  fc.tuple(lying, fc.constantFrom(SSL_REQUEST_CODE, GSSENC_REQUEST_CODE, CANCEL_REQUEST_CODE, 196608, 131072, 0), fc.uint8Array({ maxLength: 40 })).map(([length, code, body]) =>
    opening(code, Buffer.from(body), length),
  ),
  fc.tuple(startup, fc.constantFrom(..."QPBX?\0"), lying, fc.uint8Array({ maxLength: 20 })).map(([s, type, length, body]) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, "latin1");
    head.writeInt32BE(length | 0, 1);
    return Buffer.concat([s, head, Buffer.from(body)]);
  }),
  fc.tuple(fc.array(fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })), { maxLength: 5 }), fc.boolean()).map(([params, terminated]) => {
    const body = Buffer.concat([...params.flatMap(([k, v]) => [Buffer.from(k), Buffer.from(v)]), terminated ? Buffer.from([0]) : Buffer.alloc(0)]);
    return opening(196608, body);
  }),
  fc.integer({ min: 1, max: 30 }).map((n) => Buffer.concat(Array.from({ length: n }, () => opening(GSSENC_REQUEST_CODE)))),
];
const badInput = nearlyValid(valid, structured);

/** A reply, if any, is what a Postgres server sends: 'S'/'N' to an SSLRequest or GSSENCRequest, an ErrorResponse, or the server's own messages. */
function checkReply(reply: Buffer): void {
  if (reply.length === 0) return;
  expect("SNER").toContain(String.fromCharCode(reply[0]!));
}

const firstByte = (reply: Buffer) => (reply.length ? String.fromCharCode(reply[0]!) : "?");

async function run(listener: string, target: Target): Promise<void> {
  const probe = async () => {
    const sql = "select 1";
    const result = await exchange(target, Buffer.concat([startupOf([["user", "postgres.abcdef"], ["database", "postgres"]]), msg("Q", cstr(sql))]), {
      deadlineMs: 5_000,
      until: (reply) => reply.includes(Buffer.from("SELECT 1")),
    });
    expect(result.reply.includes(Buffer.from("SELECT 1")), `a normal query through the ${listener} link got ${result.end}: ${JSON.stringify(result.reply.toString("latin1"))}`).toBe(true);
  };
  await fuzzListener({ name: listener, target, inputs: badInput, probe, kind: (result) => firstByte(result.reply), check: (result) => checkReply(result.reply) });
}

describe("the db link under malformed Postgres protocol", () => {
  it("plaintext opening packets and messages: replies as Postgres would or closes, and stays healthy", async () => {
    await run("db link (plaintext)", { port: plain.port });
  });

  it("after SSLRequest and TLS: replies as Postgres would or closes, and stays healthy", async () => {
    await run("db link (SSLRequest+TLS)", { port: secure.port, sslRequest: true, tls: { ca: temp.ca.certPem, servername: "localhost" } });
  });
});
