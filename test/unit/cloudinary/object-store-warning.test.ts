import { describe, expect, it } from "vitest";
import { ObjectStore } from "../../../src/cloudinary/object-store.js";

/**
 * The AWS SDK warns on every Node older than 22 (future SDK versions will need 22) when a client
 * is made: on Node 20 the stand-in printed it on every run. Nobody using prodlike can act on it.
 */
describe("the stand-in's S3 client", () => {
  it("prints no Node-version warning when made, and leaves the process's env as it was", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    const envBefore = { ...process.env };
    const store = new ObjectStore({ endpoint: "http://127.0.0.1:9", accessKeyId: "key", secretAccessKey: "secret" });
    try {
      // process.emitWarning emits on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
      store.destroy();
    }
    expect(warnings.filter((warning) => warning.includes("AWS SDK"))).toEqual([]);
    expect(process.env).toEqual(envBefore);
  });
});
