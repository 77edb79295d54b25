import { INTERRUPTED, type StreamToxic } from "../toxic.js";

/**
 * Stops all data (it is dropped, as Toxiproxy drops it) and closes the connection after
 * `timeout` ms; with 0 the connection stays open, silent, until the toxic is removed.
 */
export function timeoutToxic(attrs: { timeout: number }): StreamToxic {
  return {
    async pipe(stub) {
      if (attrs.timeout > 0) {
        void stub.sleep(attrs.timeout).then((slept) => {
          if (slept) stub.close();
        });
      }
      for (;;) {
        const chunk = await stub.read();
        if (chunk === INTERRUPTED) return;
        if (chunk === null) {
          stub.close();
          return;
        }
        stub.drop(chunk);
      }
    },
  };
}
