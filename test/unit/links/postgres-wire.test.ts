import { describe, expect, it } from "vitest";
import {
  errorResponse,
  MessageFramer,
  parseErrorFields,
  parseOpeningPacket,
  ProtocolError,
} from "../../../src/links/postgres/wire.js";

function packet(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length);
  head.writeInt32BE(code, 4);
  return Buffer.concat([head, body]);
}

describe("parseOpeningPacket", () => {
  it("recognises SSLRequest, GSSENCRequest and CancelRequest", () => {
    expect(parseOpeningPacket(packet(80877103))).toMatchObject({ kind: "ssl" });
    expect(parseOpeningPacket(packet(80877104))).toMatchObject({ kind: "gssenc" });
    const key = Buffer.alloc(8);
    key.writeInt32BE(4242);
    key.writeInt32BE(7, 4);
    expect(parseOpeningPacket(packet(80877102, key))).toMatchObject({ kind: "cancel", processId: 4242 });
  });

  it("reads a v3 startup's parameters, and waits for a partial packet", () => {
    const full = packet(196608, Buffer.from("user\0postgres.ref\0database\0app\0\0"));
    expect(parseOpeningPacket(full.subarray(0, 3))).toBeNull();
    expect(parseOpeningPacket(full.subarray(0, 12))).toBeNull();
    expect(parseOpeningPacket(Buffer.concat([full, Buffer.from("Q")]))).toEqual({
      kind: "startup",
      bytes: full,
      protocol: 196608,
      parameters: { user: "postgres.ref", database: "app" },
    });
  });

  it("rejects garbage: an HTTP request, a huge length, protocol 2", () => {
    expect(() => parseOpeningPacket(Buffer.from("GET / HTTP/1.1\r\n"))).toThrow(ProtocolError);
    expect(() => parseOpeningPacket(packet(131072))).toThrow(/unsupported frontend protocol 2\.0/);
    const short = Buffer.alloc(8);
    short.writeInt32BE(4);
    expect(() => parseOpeningPacket(short)).toThrow(/invalid length of startup packet \(4\)/);
  });
});

describe("errorResponse", () => {
  it("builds an ErrorResponse a client can read back", () => {
    const buf = errorResponse({ code: "57P01", message: "terminating connection due to administrator command" });
    expect(buf.toString("latin1", 0, 1)).toBe("E");
    expect(buf.readInt32BE(1)).toBe(buf.length - 1);
    expect(parseErrorFields(buf.subarray(5))).toEqual({
      S: "FATAL",
      V: "FATAL",
      C: "57P01",
      M: "terminating connection due to administrator command",
    });
  });
});

describe("MessageFramer", () => {
  it("reports message types and boundaries across arbitrary chunking", () => {
    const q = Buffer.concat([Buffer.from("Q"), Buffer.from([0, 0, 0, 13]), Buffer.from("select 1\0")]);
    const x = Buffer.from([0x58, 0, 0, 0, 4]);
    const wire = Buffer.concat([q, q, x]);
    const framer = new MessageFramer();
    const types: string[] = [];
    const boundaries: boolean[] = [];
    for (let i = 0; i < wire.length; i += 3) {
      framer.feed(wire.subarray(i, i + 3), (t) => types.push(t));
      boundaries.push(framer.atBoundary);
    }
    expect(types).toEqual(["Q", "Q", "X"]);
    expect(framer.atBoundary).toBe(true);
    expect(boundaries.slice(0, -1)).toContain(false);
  });
});
