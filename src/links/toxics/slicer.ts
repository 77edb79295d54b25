import { forEachChunk, type StreamToxic } from "../toxic.js";

/** Cuts chunks into pieces of `average_size` ± `size_variation` bytes, `delay` µs apart. */
export function slicerToxic(attrs: { average_size: number; size_variation: number; delay: number }): StreamToxic {
  return {
    pipe: (stub) =>
      forEachChunk(stub, async (chunk) => {
        let rest = chunk;
        while (rest.length > 0) {
          const spread = attrs.size_variation > 0 ? Math.round((stub.random() * 2 - 1) * attrs.size_variation) : 0;
          const size = Math.max(1, attrs.average_size + spread);
          stub.write(rest.subarray(0, size));
          rest = rest.subarray(size);
          if (rest.length > 0 && !(await stub.sleep(attrs.delay / 1000))) {
            stub.write(rest);
            return false;
          }
        }
        return true;
      }),
  };
}
