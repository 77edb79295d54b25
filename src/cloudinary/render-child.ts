/**
 * A render process of the Cloudinary stand-in (forked by render-pool.ts). It renders one image
 * at a time; the parent kills it (SIGKILL) when the client goes away, the time budget ends or
 * the stand-in closes, so no abandoned render keeps a core or memory.
 */
import sharp from "sharp";
import { CloudinaryApiError } from "./api-error.js";
import { renderImage } from "./image-render.js";
import type { RenderReply, RenderRequest } from "./render-pool.js";

// One libvips thread per render: the pool's size is the number of cores renders may use.
sharp.concurrency(1);

process.on("message", (message: RenderRequest) => {
  const original = Buffer.from(message.original.buffer, message.original.byteOffset, message.original.byteLength);
  renderImage(original, message.steps, message.format).then(
    (image) => reply({ id: message.id, ok: true, data: image.data, format: image.format, width: image.width, height: image.height }),
    (err: unknown) =>
      reply({
        id: message.id,
        ok: false,
        status: err instanceof CloudinaryApiError ? err.status : undefined,
        message: err instanceof Error ? err.message : String(err),
      }),
  );
});

function reply(message: RenderReply): void {
  process.send?.(message);
}

// the parent went away (crashed, killed): nothing to render for
process.on("disconnect", () => process.exit(0));
