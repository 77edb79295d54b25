import fc from "fast-check";

/**
 * Malformed inputs close to valid ones: a valid message (from `valid`) cut short, with bytes
 * replaced, inserted or repeated, with junk after it, or random bytes; `structured` adds the
 * protocol's own mistakes (wrong lengths, huge counts, wrong types).
 */
export function nearlyValid(valid: fc.Arbitrary<Buffer>, structured: fc.Arbitrary<Buffer>[] = []): fc.Arbitrary<Buffer> {
  const junk = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes));
  const at = (buf: Buffer, ratio: number) => Math.floor(ratio * buf.length);
  const ratio = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
  return fc.oneof(
    { arbitrary: valid.chain((buf) => ratio.map((r) => buf.subarray(0, at(buf, r)))), weight: 3 },
    { arbitrary: fc.tuple(valid, ratio, fc.integer({ min: 0, max: 255 })).map(([buf, r, byte]) => replaceByte(buf, at(buf, r), byte)), weight: 3 },
    { arbitrary: fc.tuple(valid, ratio, junk).map(([buf, r, bytes]) => Buffer.concat([buf.subarray(0, at(buf, r)), bytes, buf.subarray(at(buf, r))])), weight: 3 },
    { arbitrary: fc.tuple(valid, junk).map(([buf, bytes]) => Buffer.concat([buf, bytes])), weight: 3 },
    { arbitrary: fc.tuple(valid, fc.integer({ min: 2, max: 50 })).map(([buf, times]) => Buffer.concat(Array.from({ length: times }, () => buf))), weight: 1 },
    { arbitrary: fc.uint8Array({ minLength: 0, maxLength: 512 }).map((bytes) => Buffer.from(bytes)), weight: 2 },
    ...structured.map((arbitrary) => ({ arbitrary, weight: 4 })),
  );
}

function replaceByte(buf: Buffer, index: number, byte: number): Buffer {
  if (buf.length === 0) return Buffer.from([byte]);
  const copy = Buffer.from(buf);
  copy[Math.min(index, copy.length - 1)] = byte;
  return copy;
}

/** Printable tokens an HTTP or RESP parser must refuse or pass through, not trip over. */
export const oddText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom("", " ", "\r", "\n", "\r\n", "\0", ":", "-1", "99999999999999999999", "0x10", "1e3", "NaN", "ü", "\u2028", "%00", "../.."),
  fc.string({ unit: "binary", maxLength: 20 }),
);
