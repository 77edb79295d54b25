import { forEachChunk, type StreamToxic } from "../toxic.js";

/** Limits throughput to `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy); 0 = unlimited. */
export function bandwidthToxic(attrs: { rate: number }): StreamToxic {
  const bytesPerMs = attrs.rate; // KB/s == bytes/ms
  const slice = Math.max(1, bytesPerMs * 100); // at most 100 ms worth per write
  return {
    pipe: (stub) =>
      forEachChunk(stub, async (chunk) => {
        if (bytesPerMs <= 0) {
          stub.write(chunk);
          return true;
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
