import { INTERRUPTED, type StreamToxic } from "../toxic.js";

/** Passes everything on: the head of every chain. */
export function noopToxic(): StreamToxic {
  return {
    async pipe(stub) {
      for (;;) {
        const chunk = await stub.read();
        if (chunk === INTERRUPTED) return;
        stub.write(chunk);
        if (chunk === null) return;
      }
    },
  };
}
