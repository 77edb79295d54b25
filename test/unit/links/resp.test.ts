import { describe, expect, it } from "vitest";
import { HOLD_LIMIT, PROTO_MAX_BULK_LEN, RespCommandParser, RespProtocolError, RespReplyCounter } from "../../../src/links/redis/resp.js";

const cmd = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

/** Feed `wire` in pieces of `size`; the events, with the bytes of each command put back together. */
function parse(wire: Buffer, size: number) {
  const parser = new RespCommandParser();
  const commands: { name: string; bytes: Buffer; streamed: boolean; declared: number[] }[] = [];
  let open: (typeof commands)[number] | undefined;
  let held = 0;
  for (let i = 0; i < wire.length; i += size) {
    for (const event of parser.feed(wire.subarray(i, i + size))) {
      if (event.type === "command") commands.push({ name: event.name, bytes: event.bytes, streamed: false, declared: [] });
      else if (event.type === "begin") open = { name: event.name, bytes: event.bytes, streamed: true, declared: [event.declared] };
      else if (event.type === "more") {
        open!.bytes = Buffer.concat([open!.bytes, event.bytes]);
        open!.declared.push(event.declared);
      } else {
        commands.push(open!);
        open = undefined;
      }
    }
    held = Math.max(held, parser.buffered);
  }
  return { commands, held, open, buffered: parser.buffered };
}

describe("RespCommandParser", () => {
  it("splits pipelined multibulk and inline commands, whatever the chunking", () => {
    const wire = Buffer.from(cmd("SET", "k", "hello\r\nworld") + "PING\r\n" + cmd("get", "k") + "*0\r\n");
    for (const size of [1, 3, 7, wire.length]) {
      const { commands, buffered } = parse(wire, size);
      expect(commands.map((c) => c.name)).toEqual(["SET", "PING", "GET", ""]);
      expect(Buffer.concat(commands.map((c) => c.bytes)).equals(wire)).toBe(true);
      expect(buffered).toBe(0);
    }
  });

  it("streams a command longer than HOLD_LIMIT instead of holding it, with its declared size from the start", () => {
    const value = "v".repeat(3 * HOLD_LIMIT);
    const wire = Buffer.from(cmd("SET", "big", value) + cmd("GET", "big"));
    for (const size of [1000, 16 * 1024, wire.length]) {
      const { commands, held } = parse(wire, size);
      expect(commands.map((c) => [c.name, c.streamed])).toEqual([["SET", true], ["GET", false]]);
      expect(Buffer.concat(commands.map((c) => c.bytes)).equals(wire)).toBe(true);
      // Declared as soon as the $ header of the value is read: the whole command's length.
      expect(commands[0]!.declared[0]).toBe(Buffer.byteLength(cmd("SET", "big", value)));
      expect(held).toBeLessThanOrEqual(HOLD_LIMIT + size);
    }
  });

  it("announces a huge bulk at its header, before any of its bytes arrive", () => {
    const { open, commands } = parse(Buffer.from("*1\r\n$100000000\r\n"), 64);
    expect(commands).toEqual([]);
    expect(open?.declared[0]).toBe("*1\r\n$100000000\r\n".length + 100_000_002);
  });

  it("refuses what Redis refuses, at once", () => {
    expect(() => parse(Buffer.from(`*1\r\n$${PROTO_MAX_BULK_LEN + 1}\r\n`), 100)).toThrow(/invalid bulk length/);
    expect(() => parse(Buffer.from("*1\r\n$1000000000\r\n"), 100)).toThrow(/invalid bulk length/);
    expect(() => parse(Buffer.from("*1\r\n$-5\r\n"), 100)).toThrow(/invalid bulk length/);
    expect(() => parse(Buffer.from("*2000000\r\n"), 100)).toThrow(/invalid multibulk length/);
    expect(() => parse(Buffer.from("*x\r\n"), 100)).toThrow(/invalid multibulk length/);
    expect(() => parse(Buffer.from("*1\r\n+oops\r\n"), 100)).toThrow(RespProtocolError);
    expect(() => new RespCommandParser().feed(Buffer.alloc(70_000, 0x41))).toThrow(/too big inline request/);
    expect(() => new RespCommandParser().feed(Buffer.from(`*1\r\n$${"9".repeat(70_000)}`))).toThrow(/too big count string/);
  });
});

describe("RespReplyCounter", () => {
  it("finds the end of each top-level reply across chunks, RESP2 and RESP3", () => {
    const replies = [
      "+OK\r\n",
      "-ERR nope\r\n",
      ":42\r\n",
      "$5\r\nhe\r\nl\r\n",
      "$-1\r\n",
      "*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
      "*0\r\n",
      "%1\r\n+k\r\n$1\r\nv\r\n",
      "_\r\n",
    ];
    const wire = Buffer.from(replies.join(""));
    const expected: number[] = [];
    let at = 0;
    for (const r of replies) expected.push((at += Buffer.byteLength(r)));
    for (const size of [1, 4, wire.length]) {
      const counter = new RespReplyCounter();
      const ends: number[] = [];
      for (let i = 0; i < wire.length; i += size) counter.feed(wire.subarray(i, i + size), (end) => ends.push(i + end));
      expect(ends).toEqual(expected);
    }
  });
});
