import { INTERRUPTED, type StreamToxic } from "../toxic.js";

/** Delays each chunk by `latency` ± `jitter` ms, counted from when it entered the chain. */
export function latencyToxic(attrs: { latency: number; jitter: number }): StreamToxic {
  return {
    async pipe(stub) {
      for (;;) {
        const chunk = await stub.read();
        if (chunk === INTERRUPTED) return;
        if (chunk === null) {
          stub.write(null);
          return;
        }
        const delay = attrs.latency + (attrs.jitter > 0 ? (stub.random() * 2 - 1) * attrs.jitter : 0);
        const waited = performance.now() - stub.readAt;
        // Interrupted while holding a chunk: hand it on at once, then stop.
        const slept = await stub.sleep(delay - waited);
        stub.write(chunk);
        if (!slept) return;
      }
    },
  };
}
