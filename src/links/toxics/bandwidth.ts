import { forEachChunk, type StreamToxic } from "../toxic.js";

/** Far longer than any test or session; a timer of Infinity would fire at once. */
const FOREVER_MS = 2 ** 30;

/**
 * Limits throughput to `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy). With rate 0 nothing
 * passes, as in Toxiproxy (its loop then hands on empty slices forever): data waits, without
 * being dropped, until the toxic is removed.
 */
export function bandwidthToxic(attrs: { rate: number }): StreamToxic {
  const bytesPerMs = attrs.rate; // KB/s == bytes/ms
  const slice = Math.max(1, bytesPerMs * 100); // at most 100 ms worth per write
  return {
    pipe: (stub) =>
      forEachChunk(stub, async (chunk) => {
        if (bytesPerMs <= 0) {
          while (await stub.sleep(FOREVER_MS));
          stub.write(chunk);
          return false;
        }
        let rest = chunk;
        while (rest.length > 0) {
          const piece = rest.subarray(0, slice);
          if (!(await stub.sleep(piece.length / bytesPerMs))) {
            stub.write(rest);
            return false;
          }
          stub.write(piece);
          rest = rest.subarray(piece.length);
        }
        return true;
      }),
  };
}
