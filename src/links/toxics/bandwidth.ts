import { INTERRUPTED, type StreamToxic } from "../toxic.js";

/** Limits throughput to `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy); 0 = unlimited. */
export function bandwidthToxic(attrs: { rate: number }): StreamToxic {
  const bytesPerMs = attrs.rate; // KB/s == bytes/ms
  const slice = Math.max(1, bytesPerMs * 100); // at most 100 ms worth per write
  return {
    async pipe(stub) {
      for (;;) {
        const chunk = await stub.read();
        if (chunk === INTERRUPTED) return;
        if (chunk === null) {
          stub.write(null);
          return;
        }
        if (bytesPerMs <= 0) {
          stub.write(chunk);
          continue;
        }
        let rest = chunk;
        while (rest.length > 0) {
          const piece = rest.subarray(0, slice);
          const slept = await stub.sleep(piece.length / bytesPerMs);
          if (!slept) {
            stub.write(rest);
            return;
          }
          stub.write(piece);
          rest = rest.subarray(piece.length);
        }
      }
    },
  };
}
