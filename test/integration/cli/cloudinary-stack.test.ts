import sharp from "sharp";
import { FormData } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downFixture, fetchApp, parseUp, runCli, upFixture, type FixtureStack } from "../../helpers/cli.js";

/**
 * Issue 5 through the whole stack: the third fixture (Neon, Upstash, Cloudinary) with the
 * unmodified `cloudinary` SDK and django-cloudinary-storage, media in the stand-in over HTTPS,
 * bytes kept in MinIO across an app sleep and a down/up (the app's own disk keeps nothing).
 */
interface Item {
  id: number;
  name: string;
  image: { url: string };
  thumbnail_url: string;
  exists: boolean;
  size: number;
}

describe("Cloudinary stand-in in the stack (render-neon-upstash-cloudinary)", () => {
  let stack: FixtureStack | undefined;
  let url: string;
  let item: Item;
  let png: Buffer;

  beforeAll(async () => {
    stack = await upFixture("render-neon-upstash-cloudinary");
    url = stack.url;
    png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
  });

  afterAll(() => downFixture(stack));

  it("answers /health with the database and Upstash-style Redis over TLS", async () => {
    const response = await fetchApp(`${url}/health`);
    expect(response.status, await response.clone().text()).toBe(200);
  });

  it("uploads through django-cloudinary-storage and serves the bytes and a 100x100 fill over HTTPS", async () => {
    const form = new FormData();
    form.set("title", "dress");
    form.set("image", new Blob([png], { type: "image/png" }), "dress.png");
    const created = await fetchApp(`${url}/api/items/`, { method: "POST", body: form });
    expect(created.status, await created.clone().text()).toBe(201);
    item = (await created.json()) as Item;
    expect(item.exists).toBe(true);
    expect(item.size).toBe(png.length);
    // The stand-in's name on the stack's network, which a browser here resolves to 127.0.0.1, where the same port is published.
    expect(item.image.url).toMatch(/^https:\/\/cloudinary\.localhost:\d+\/modestwear\/image\/upload\/v\d+\/media\/.+/);

    const original = await fetchApp(item.image.url);
    expect(original.status).toBe(200);
    expect(Buffer.from(await original.arrayBuffer()).equals(png)).toBe(true);

    const thumb = await fetchApp(item.thumbnail_url);
    expect(thumb.status).toBe(200);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([100, 100]);
  });

  it("keeps the media across a sleep of the app (the bytes live in the stand-in, not on the app's disk)", async () => {
    expect((await runCli(["idle", "16m", stack!.fixture.dir])).code).toBe(0);
    const after = await fetchApp(`${url}/api/items/${item.id}/`);
    expect(after.status).toBe(200);
    expect(((await after.json()) as Item).exists).toBe(true);
  });

  it("keeps the media across down and up (MinIO's volume), and destroy makes the URL 404", async () => {
    expect((await runCli(["down", stack!.fixture.dir])).code).toBe(0);
    const again = await runCli(["up", "-d", stack!.fixture.dir, "--port", "0", "--http-port", "0"]);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    url = parseUp(again.stdout).url;
    const kept = (await (await fetchApp(`${url}/api/items/${item.id}/`)).json()) as Item;
    expect(kept.exists).toBe(true);
    const bytes = await fetchApp(kept.image.url);
    expect(Buffer.from(await bytes.arrayBuffer()).equals(png)).toBe(true);

    const deleted = (await (await fetchApp(`${url}/api/items/${item.id}/`, { method: "DELETE" })).json()) as { exists: boolean };
    expect(deleted.exists).toBe(false);
    expect((await fetchApp(kept.image.url)).status).toBe(404);
  });
});
