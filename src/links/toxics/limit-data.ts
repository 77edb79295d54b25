import { forEachChunk, type StreamToxic } from "../toxic.js";

/** Passes `bytes` bytes, then closes the connection. The count survives re-piping. */
export function limitDataToxic(attrs: { bytes: number }): StreamToxic {
  let passed = 0;
  return {
    async pipe(stub) {
      if (passed >= attrs.bytes) {
        stub.close();
        return;
      }
      await forEachChunk(stub, (chunk) => {
        const room = attrs.bytes - passed;
        if (chunk.length < room) {
          passed += chunk.length;
          stub.write(chunk);
          return true;
        }
        passed = attrs.bytes;
        stub.write(chunk.subarray(0, room));
        stub.drop(chunk.subarray(room));
        stub.close();
        return false;
      });
    },
  };
}
