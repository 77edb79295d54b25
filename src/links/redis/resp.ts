/**
 * RESP framing for a link: client commands (so they can be counted, measured and, when a limit
 * says so, answered by the link instead of Redis), held whole only while short, and a streaming
 * counter of server replies (so such local answers go out in order).
 */
export class RespProtocolError extends Error {
  override name = "RespProtocolError";
}

/** Longest header or inline line accepted, as Redis' PROTO_INLINE_MAX_SIZE. */
const MAX_LINE = 64 * 1024;
/** Redis' proto-max-bulk-len: a longer bulk is a protocol error, answered at once. */
export const PROTO_MAX_BULK_LEN = 512 * 1024 * 1024;
/** Redis' limit on a multibulk's argument count. */
const MAX_MULTIBULK = 1024 * 1024;
/** A command is held whole up to this size; a longer one streams through (or is discarded). */
export const HOLD_LIMIT = 64 * 1024;
/** Bytes of the first argument kept for the command's name. */
const NAME_BYTES = 64;

/**
 * What the client's byte stream holds, in order. A command up to HOLD_LIMIT arrives whole
 * (`command`); a longer one is announced once it is known to be long (`begin`, with the bytes so
 * far), then streams (`more`) until its `end`. `declared` is its size as far as its headers
 * tell: bytes read plus what the bulk being read still announces.
 */
export type RespEvent =
  | { readonly type: "command"; readonly name: string; readonly bytes: Buffer }
  | { readonly type: "begin"; readonly name: string; readonly bytes: Buffer; readonly declared: number }
  | { readonly type: "more"; readonly bytes: Buffer; readonly declared: number }
  | { readonly type: "end" };

type State = "start" | "inline" | "count" | "argHeader" | "argData";

/**
 * Splits the client's byte stream into commands (multibulk or inline) without holding more
 * than HOLD_LIMIT of one, and refuses what Redis refuses: a bulk over proto-max-bulk-len, a
 * multibulk count over 1024*1024, a line over 64 KB, a bulk header without `$`.
 */
export class RespCommandParser {
  #state: State = "start";
  /** The line being read (inline command, `*n` or `$n`), as text. */
  #line = "";
  #lineBytes = 0;
  #argsLeft = 0;
  #bulkLeft = 0;
  #argIndex = 0;
  #name = "";
  /** Bytes of the first argument still to be read into the name. */
  #nameLeft = 0;
  /** Bytes of the current command read so far. */
  #size = 0;
  /** The current command's bytes while it is held. */
  #held: Buffer[] = [];
  #streaming = false;

  /** Bytes held waiting for the rest of a command. */
  get buffered(): number {
    return this.#streaming ? 0 : this.#size;
  }

  feed(chunk: Buffer): RespEvent[] {
    const events: RespEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      const from = i;
      i = this.#step(chunk, i);
      this.#take(chunk.subarray(from, i), events);
      if (this.#state === "start" && this.#size > 0) this.#finish(events);
      else if (!this.#streaming && this.#declared() > HOLD_LIMIT && this.#state !== "inline") this.#begin(events);
    }
    return events;
  }

  /** Read from `i` until the end of a line, a bulk or the chunk; returns where it stopped. */
  #step(chunk: Buffer, i: number): number {
    switch (this.#state) {
      case "start":
        this.#state = chunk[i] === 0x2a /* * */ ? "count" : "inline";
        this.#line = "";
        this.#lineBytes = 0;
        return this.#readLine(chunk, i);
      case "inline":
      case "count":
      case "argHeader":
        return this.#readLine(chunk, i);
      case "argData": {
        const take = Math.min(this.#bulkLeft, chunk.length - i);
        if (this.#nameLeft > 0) {
          const part = Math.min(take, this.#nameLeft);
          this.#name += chunk.subarray(i, i + part).toString("latin1");
          this.#nameLeft -= part;
        }
        this.#bulkLeft -= take;
        if (this.#bulkLeft === 0) {
          this.#argIndex++;
          this.#argsLeft--;
          this.#state = this.#argsLeft === 0 ? "start" : "argHeader";
          this.#line = "";
          this.#lineBytes = 0;
        }
        return i + take;
      }
    }
  }

  #readLine(chunk: Buffer, i: number): number {
    const nl = chunk.indexOf(0x0a, i);
    const end = nl < 0 ? chunk.length : nl + 1;
    this.#lineBytes += end - i;
    if (this.#lineBytes > MAX_LINE) throw new RespProtocolError(this.#state === "inline" ? "too big inline request" : "too big count string");
    if (this.#line.length < 32) this.#line += chunk.subarray(i, Math.min(end, i + 32)).toString("latin1");
    if (nl >= 0) this.#endOfLine();
    return end;
  }

  #endOfLine(): void {
    const line = this.#line.trim();
    if (this.#state === "inline") {
      this.#name = line.split(/\s+/)[0] ?? "";
      this.#state = "start";
      return;
    }
    if (this.#state === "count") {
      const count = Number.parseInt(line.slice(1), 10);
      if (!Number.isFinite(count) || count > MAX_MULTIBULK) throw new RespProtocolError("invalid multibulk length");
      this.#argsLeft = Math.max(count, 0);
      this.#argIndex = 0;
      this.#state = this.#argsLeft === 0 ? "start" : "argHeader";
    } else {
      if (!line.startsWith("$")) throw new RespProtocolError(`expected '$', got '${line[0] ?? ""}'`);
      const length = Number.parseInt(line.slice(1), 10);
      if (!Number.isFinite(length) || length < 0 || length > PROTO_MAX_BULK_LEN) throw new RespProtocolError("invalid bulk length");
      this.#bulkLeft = length + 2;
      this.#nameLeft = this.#argIndex === 0 ? Math.min(length, NAME_BYTES) : 0;
      this.#state = "argData";
    }
    this.#line = "";
    this.#lineBytes = 0;
  }

  #declared(): number {
    return this.#size + (this.#state === "argData" ? this.#bulkLeft : 0);
  }

  #take(bytes: Buffer, events: RespEvent[]): void {
    if (bytes.length === 0) return;
    this.#size += bytes.length;
    if (this.#streaming) events.push({ type: "more", bytes, declared: this.#declared() });
    else this.#held.push(bytes);
  }

  #begin(events: RespEvent[]): void {
    this.#streaming = true;
    events.push({ type: "begin", name: this.#name.toUpperCase(), bytes: Buffer.concat(this.#held), declared: this.#declared() });
    this.#held = [];
  }

  #finish(events: RespEvent[]): void {
    if (this.#streaming) events.push({ type: "end" });
    else events.push({ type: "command", name: this.#name.toUpperCase(), bytes: this.#held.length === 1 ? this.#held[0]! : Buffer.concat(this.#held) });
    this.#held = [];
    this.#size = 0;
    this.#name = "";
    this.#streaming = false;
  }
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
