import { once } from "node:events";
import sharp from "sharp";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CloudinaryApiError } from "../../../src/cloudinary/api-error.js";
import { RenderPool, type RenderPoolOptions } from "../../../src/cloudinary/render-pool.js";
import { parseTransformation } from "../../../src/cloudinary/transformation.js";

// Seconds of work for one core (23 MP, blurred three times); killed right after it starts.
const HEAVY = parseTransformation("w_4800,h_4800,c_scale/e_blur:2000/e_blur:2000/e_blur:2000");
const LIGHT = parseTransformation("w_10");

let original: Buffer;
const pools: RenderPool[] = [];

function pool(options: Partial<RenderPoolOptions> = {}): RenderPool {
  // the time budget is far past the test's own timeout: nothing here ends by running out of time
  const created = new RenderPool({ concurrency: 1, maxQueued: 4, timeoutSeconds: 3600, ...options });
  pools.push(created);
  return created;
}

/** Every "start" and "settle" event, in order. */
function record(target: RenderPool): string[] {
  const events: string[] = [];
  target.on("start", (id: number) => events.push(`start ${id}`));
  target.on("settle", (id: number, how: string) => events.push(`settle ${id} ${how}`));
  return events;
}

async function statusOf(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
    return "resolved";
  } catch (err) {
    return err instanceof CloudinaryApiError ? err.status : String(err);
  }
}

beforeAll(async () => {
  original = await sharp({ create: { width: 300, height: 200, channels: 3, background: "red" } }).png().toBuffer();
});

afterEach(() => {
  for (const created of pools.splice(0)) created.close();
});

describe("RenderPool", () => {
  it("renders in a child process and reuses it", async () => {
    const renders = pool();
    const first = await renders.render(original, LIGHT, "png");
    const second = await renders.render(original, LIGHT, "webp");
    expect([first.width, first.height, second.format]).toEqual([10, 7, "webp"]);
    expect((await sharp(second.data).metadata()).format).toBe("webp");
  });

  it("kills the render of a client that went away, and its slot serves the next request", async () => {
    const renders = pool();
    const events = record(renders);
    const client = new AbortController();
    const started = once(renders, "start");
    const heavy = statusOf(renders.render(original, HEAVY, "png", client.signal));
    const light = renders.render(original, LIGHT, "png");
    await started;
    client.abort();
    expect(await heavy).toBe(499);
    expect((await light).width).toBe(10);
    // one slot and an hour's budget: the light render started only because the heavy one was dropped
    expect(events.slice(0, 2)).toEqual(["start 1", "start 2"]);
    expect(events).toContain("settle 2 done");
    // and the heavy one's work ended with its process, not with its render
    await expect.poll(() => events, { timeout: 5_000 }).toContain("settle 1 killed");
    expect(events).not.toContain("settle 1 done");
  });

  it("drops a queued render whose client went away without starting it", async () => {
    const renders = pool();
    const started = once(renders, "start");
    const heavy = statusOf(renders.render(original, HEAVY, "png"));
    await started;
    const client = new AbortController();
    const queued = statusOf(renders.render(original, LIGHT, "png", client.signal));
    client.abort();
    expect(await queued).toBe(499);
    expect(renders.started).toBe(1);
    renders.close();
    expect(await heavy).toBe(503);
  });

  it("close() fails running and queued renders at once and kills their processes", async () => {
    const renders = pool();
    const events = record(renders);
    const started = once(renders, "start");
    const running = statusOf(renders.render(original, HEAVY, "png"));
    const queued = statusOf(renders.render(original, LIGHT, "png"));
    await started;
    const killed = once(renders, "settle");
    renders.close();
    expect(await running).toBe(503);
    expect(await queued).toBe(503);
    expect((await killed)[1]).toBe("killed");
    expect(events).toEqual(["start 1", "settle 1 killed"]);
    expect(await statusOf(renders.render(original, LIGHT, "png"))).toBe(503);
  });

  it("refuses past the queue bound without starting anything", async () => {
    const renders = pool({ maxQueued: 1 });
    const started = once(renders, "start");
    const running = statusOf(renders.render(original, HEAVY, "png"));
    const queued = statusOf(renders.render(original, LIGHT, "png"));
    await started;
    expect(await statusOf(renders.render(original, LIGHT, "png"))).toBe(420);
    expect(renders.started).toBe(1);
    renders.close();
    expect([await running, await queued]).toEqual([503, 503]);
  });

  it("answers 504 and kills the process when the time budget runs out", async () => {
    const renders = pool({ timeoutSeconds: 0.5 });
    const events = record(renders);
    expect(await statusOf(renders.render(original, HEAVY, "png"))).toBe(504);
    await expect.poll(() => events, { timeout: 5_000 }).toEqual(["start 1", "settle 1 killed"]);
  });
});
