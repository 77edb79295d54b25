import { INTERRUPTED, type StreamToxic } from "../toxic.js";

/** Data flows; the close (FIN) is held back `delay` ms. */
export function slowCloseToxic(attrs: { delay: number }): StreamToxic {
  return {
    async pipe(stub) {
      for (;;) {
        const chunk = await stub.read();
        if (chunk === INTERRUPTED) return;
        if (chunk === null) await stub.sleep(attrs.delay);
        stub.write(chunk);
        if (chunk === null) return;
      }
    },
  };
}
