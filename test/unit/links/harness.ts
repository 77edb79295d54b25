import { ToxicChain } from "../../../src/links/chain.js";
import { parseToxic } from "../../../src/links/parse-toxic.js";
import { TOXIC_TYPES } from "../../../src/links/toxic-types.js";

/** A chain whose sink records what left it and when: toxics on in-memory streams. */
export function recordingChain(random: () => number = () => 0.5) {
  const delivered: { chunk: Buffer | null; at: number }[] = [];
  const events: string[] = [];
  const start = performance.now();
  const chain = new ToxicChain(
    {
      deliver: (chunk) => delivered.push({ chunk, at: performance.now() - start }),
      close: () => events.push("close"),
      reset: () => events.push("reset"),
    },
    { random },
  );
  return {
    chain,
    delivered,
    events,
    start,
    add(type: string, attributes: Record<string, unknown> = {}, name = type) {
      const toxic = parseToxic({ type, name, attributes });
      chain.add(toxic.name, TOXIC_TYPES[type]!.create!(toxic.attributes));
    },
    text: () => Buffer.concat(delivered.flatMap((d) => (d.chunk ? [d.chunk] : []))).toString(),
    ended: () => delivered.some((d) => d.chunk === null),
  };
}
