/**
 * RESP framing for a link: whole client commands (so they can be counted, measured and, when
 * a limit says so, answered by the link instead of Redis), and a streaming counter of server
 * replies (so such local answers go out in order).
 */
export class RespProtocolError extends Error {
  override name = "RespProtocolError";
}

/** Longest header or inline line accepted, as Redis' PROTO_INLINE_MAX_SIZE. */
const MAX_LINE = 64 * 1024;

export interface RespCommand {
  /** The command's raw bytes, as sent. */
  bytes: Buffer;
  /** Upper-cased command name (first argument), "" if empty. */
  name: string;
}

/** Splits the client's byte stream into whole commands (multibulk or inline). */
export class RespCommandParser {
  #chunks: Buffer[] = [];
  #length = 0;
  /** Don't try to parse again before this many bytes are buffered. */
  #need = 1;

  /** Bytes held waiting for the rest of a command. */
  get buffered(): number {
    return this.#length;
  }

  feed(chunk: Buffer): RespCommand[] {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const commands: RespCommand[] = [];
    while (this.#length >= this.#need) {
      const buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      this.#chunks = [buf];
      const result = parseCommand(buf);
      if (typeof result === "number") {
        this.#need = result;
        break;
      }
      commands.push(result);
      const rest = buf.subarray(result.bytes.length);
      this.#chunks = rest.length ? [rest] : [];
      this.#length = rest.length;
      this.#need = 1;
    }
    return commands;
  }
}

function readLine(buf: Buffer, from: number): number {
  const end = buf.indexOf(0x0a, from);
  if (end < 0) {
    if (buf.length - from > MAX_LINE) throw new RespProtocolError("too big inline request");
    return -1;
  }
  return end;
}

/** A whole command at the start of `buf`, or the buffer length needed before trying again. */
export function parseCommand(buf: Buffer): RespCommand | number {
  if (buf[0] !== 0x2a /* * */) {
    const end = readLine(buf, 0);
    if (end < 0) return buf.length + 1;
    const line = buf.subarray(0, end).toString("latin1").trim();
    return { bytes: buf.subarray(0, end + 1), name: (line.split(/\s+/)[0] ?? "").toUpperCase() };
  }
  const headerEnd = readLine(buf, 0);
  if (headerEnd < 0) return buf.length + 1;
  const count = Number.parseInt(buf.subarray(1, headerEnd).toString("latin1"), 10);
  if (!Number.isFinite(count) || count > 1024 * 1024) throw new RespProtocolError("invalid multibulk length");
  let offset = headerEnd + 1;
  let name = "";
  for (let i = 0; i < count; i++) {
    if (offset >= buf.length) return offset + 1;
    if (buf[offset] !== 0x24 /* $ */) throw new RespProtocolError(`expected '$', got '${String.fromCharCode(buf[offset]!)}'`);
    const lineEnd = readLine(buf, offset);
    if (lineEnd < 0) return buf.length + 1;
    const length = Number.parseInt(buf.subarray(offset + 1, lineEnd).toString("latin1"), 10);
    if (!Number.isFinite(length) || length < 0) throw new RespProtocolError("invalid bulk length");
    const dataStart = lineEnd + 1;
    const next = dataStart + length + 2;
    if (buf.length < next) return next;
    if (i === 0) name = buf.subarray(dataStart, dataStart + length).toString("latin1").toUpperCase();
    offset = next;
  }
  return { bytes: buf.subarray(0, offset), name };
}

/**
 * Counts top-level replies in the server's byte stream (RESP2 and RESP3) without buffering
 * values; `feed` reports the offset just after each reply that ends in the chunk.
 */
export class RespReplyCounter {
  #state: "type" | "line" | "bulk" = "type";
  #type = 0;
  #line = "";
  #bulkLeft = 0;
  readonly #open: number[] = [];

  feed(chunk: Buffer, onReply: (end: number) => void): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === "type") {
        this.#type = chunk[i++]!;
        this.#line = "";
        this.#state = "line";
        continue;
      }
      if (this.#state === "bulk") {
        const skip = Math.min(this.#bulkLeft, chunk.length - i);
        this.#bulkLeft -= skip;
        i += skip;
        if (this.#bulkLeft === 0) {
          this.#state = "type";
          this.#done(i, onReply);
        }
        continue;
      }
      const nl = chunk.indexOf(0x0a, i);
      const end = nl < 0 ? chunk.length : nl;
      if (this.#line.length < 32) this.#line += chunk.subarray(i, Math.min(end, i + 32)).toString("latin1");
      i = nl < 0 ? chunk.length : nl + 1;
      if (nl < 0) continue;
      this.#state = "type";
      const n = Number.parseInt(this.#line, 10);
      switch (String.fromCharCode(this.#type)) {
        case "$":
        case "!":
        case "=":
          if (n >= 0) {
            this.#state = "bulk";
            this.#bulkLeft = n + 2;
            if (this.#bulkLeft === 0) this.#done(i, onReply);
          } else this.#done(i, onReply);
          break;
        case "*":
        case "~":
        case ">":
          if (n > 0) this.#open.push(n);
          else this.#done(i, onReply);
          break;
        case "%":
        case "|":
          if (n > 0) this.#open.push(2 * n);
          else this.#done(i, onReply);
          break;
        default:
          this.#done(i, onReply);
      }
    }
  }

  #done(end: number, onReply: (end: number) => void): void {
    while (this.#open.length > 0) {
      const left = this.#open[this.#open.length - 1]! - 1;
      if (left > 0) {
        this.#open[this.#open.length - 1] = left;
        return;
      }
      this.#open.pop();
    }
    onReply(end);
  }
}

export function errorReply(message: string): Buffer {
  return Buffer.from(`-${message}\r\n`);
}
