import { INTERRUPTED, type StreamToxic } from "../toxic.js";

/** Resets the connection (TCP RST, "connection reset by peer") `timeout` ms after it applies. */
export function resetPeerToxic(attrs: { timeout: number }): StreamToxic {
  return {
    async pipe(stub) {
      const timer = stub.sleep(attrs.timeout).then((slept) => {
        if (slept) stub.reset();
        return slept;
      });
      if (attrs.timeout === 0) {
        await timer;
        return;
      }
      for (;;) {
        const chunk = await stub.read();
        if (chunk === INTERRUPTED) return;
        stub.write(chunk);
        if (chunk === null) return;
      }
    },
  };
}
