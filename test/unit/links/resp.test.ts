import { describe, expect, it } from "vitest";
import { parseCommand, RespCommandParser, RespProtocolError, RespReplyCounter } from "../../../src/links/redis/resp.js";

const cmd = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

describe("RespCommandParser", () => {
  it("splits pipelined multibulk and inline commands, whatever the chunking", () => {
    const wire = Buffer.from(cmd("SET", "k", "hello\r\nworld") + "PING\r\n" + cmd("get", "k"));
    for (const size of [1, 3, 7, wire.length]) {
      const parser = new RespCommandParser();
      const names: string[] = [];
      const bytes: Buffer[] = [];
      for (let i = 0; i < wire.length; i += size) {
        for (const c of parser.feed(wire.subarray(i, i + size))) {
          names.push(c.name);
          bytes.push(c.bytes);
        }
      }
      expect(names).toEqual(["SET", "PING", "GET"]);
      expect(Buffer.concat(bytes).equals(wire)).toBe(true);
      expect(parser.buffered).toBe(0);
    }
  });

  it("says how many bytes it needs for a large bulk instead of rescanning", () => {
    const head = Buffer.from("*2\r\n$3\r\nSET\r\n$1000000\r\n");
    expect(parseCommand(head)).toBe(head.length + 1_000_002);
  });

  it("rejects garbage", () => {
    expect(() => parseCommand(Buffer.from("*1\r\n+oops\r\n"))).toThrow(RespProtocolError);
    expect(() => new RespCommandParser().feed(Buffer.alloc(70_000, 0x41))).toThrow(/too big inline request/);
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
