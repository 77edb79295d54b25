/**
 * Just enough of the Postgres wire protocol for a link: the untyped opening packets
 * (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage), the framing of typed messages
 * both ways, and ErrorResponse.
 */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
/** Upper bound on an opening packet; PgBouncer and Postgres use 10000. */
export const MAX_STARTUP_PACKET = 10_000;

export type OpeningPacket =
  | { kind: "ssl"; bytes: Buffer }
  | { kind: "gssenc"; bytes: Buffer }
  | { kind: "cancel"; bytes: Buffer; processId: number; secretKey: Buffer }
  | { kind: "startup"; bytes: Buffer; protocol: number; parameters: Record<string, string> };

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/**
 * Parse the packet at the start of `buf`: null when more bytes are needed, a ProtocolError
 * when the bytes cannot be a Postgres opening (garbage, an HTTP request, a TLS record).
 */
export function parseOpeningPacket(buf: Buffer): OpeningPacket | null {
  if (buf.length < 4) return null;
  const length = buf.readInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_PACKET) {
    // Postgres' own text (08P01). It goes to the server's log only (COMMERROR): the client
    // sees its connection close without a message, as here.
    throw new ProtocolError(`invalid length of startup packet (${length})`);
  }
  if (buf.length < 8) return null;
  const code = buf.readInt32BE(4);
  if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
    if (length !== 8) throw new ProtocolError(`invalid ${code === SSL_REQUEST_CODE ? "SSLRequest" : "GSSENCRequest"} length ${length}`);
    return { kind: code === SSL_REQUEST_CODE ? "ssl" : "gssenc", bytes: buf.subarray(0, 8) };
  }
  if (buf.length < length) return null;
  const bytes = buf.subarray(0, length);
  if (code === CANCEL_REQUEST_CODE) {
    if (length < 16) throw new ProtocolError(`invalid CancelRequest length ${length}`);
    return { kind: "cancel", bytes, processId: bytes.readInt32BE(8), secretKey: bytes.subarray(12) };
  }
  const major = code >>> 16;
  if (major !== 3) throw new ProtocolError(`unsupported frontend protocol ${major}.${code & 0xffff}`);
  const parameters: Record<string, string> = {};
  const fields = bytes.subarray(8).toString("utf8").split("\0");
  // key\0value\0 ... \0 (the final terminator leaves two empty strings)
  for (let i = 0; i + 1 < fields.length && fields[i] !== ""; i += 2) parameters[fields[i]!] = fields[i + 1]!;
  return { kind: "startup", bytes, protocol: code, parameters };
}

export interface ErrorFields {
  severity?: "ERROR" | "FATAL" | "PANIC";
  /** SQLSTATE, e.g. 08P01, 57P01. */
  code: string;
  message: string;
}

/** An ErrorResponse ('E') message as a server sends it. */
export function errorResponse({ severity = "FATAL", code, message }: ErrorFields): Buffer {
  const field = (type: string, value: string) => Buffer.concat([Buffer.from(type), Buffer.from(value, "utf8"), Buffer.from([0])]);
  const body = Buffer.concat([
    field("S", severity),
    field("V", severity),
    field("C", code),
    field("M", message),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write("E", 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** Read the fields of an ErrorResponse / NoticeResponse body (after type and length). */
export function parseErrorFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    fields[type] = body.subarray(i + 1, end).toString("utf8");
    i = end + 1;
  }
  return fields;
}

/**
 * Follows typed-message framing (type byte, int32 length including itself) over a byte
 * stream without copying it, reporting each message type as its header is seen.
 */
export class MessageFramer {
  #header = Buffer.alloc(5);
  #headerHave = 0;
  /** Bytes of the current message body still to skip. */
  #remaining = 0;

  /** True when the bytes seen so far end exactly at a message boundary. */
  get atBoundary(): boolean {
    return this.#headerHave === 0 && this.#remaining === 0;
  }

  /** Feed bytes; calls `onMessage(type)` for every message whose header completes. */
  feed(chunk: Buffer, onMessage?: (type: string, length: number) => void): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const skip = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= skip;
        i += skip;
        continue;
      }
      const take = Math.min(5 - this.#headerHave, chunk.length - i);
      chunk.copy(this.#header, this.#headerHave, i, i + take);
      this.#headerHave += take;
      i += take;
      if (this.#headerHave === 5) {
        const length = this.#header.readInt32BE(1);
        if (length < 4) throw new ProtocolError(`invalid message length ${length}`);
        this.#headerHave = 0;
        this.#remaining = length - 4;
        onMessage?.(String.fromCharCode(this.#header[0]!), length);
      }
    }
  }
}

/** Frontend message types that are queries (they keep a Neon compute awake). */
export const QUERY_MESSAGES: ReadonlySet<string> = new Set(["Q", "P", "B", "E", "F"]);
