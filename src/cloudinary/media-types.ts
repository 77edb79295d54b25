import sharp from "sharp";

export type ResourceType = "image" | "video" | "raw";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  avif: "image/avif",
  gif: "image/gif",
  tiff: "image/tiff",
  tif: "image/tiff",
  svg: "image/svg+xml",
  heic: "image/heic",
  bmp: "image/bmp",
  ico: "image/x-icon",
  pdf: "application/pdf",
  mp4: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
  avi: "video/x-msvideo",
  ogv: "video/ogg",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  txt: "text/plain",
  json: "application/json",
  csv: "text/csv",
  css: "text/css",
  js: "text/javascript",
  html: "text/html",
  zip: "application/zip",
};

export function contentTypeFor(format: string | undefined): string {
  return (format && CONTENT_TYPES[format.toLowerCase()]) || "application/octet-stream";
}

export interface Detected {
  readonly resourceType: ResourceType;
  readonly format?: string;
  readonly width?: number;
  readonly height?: number;
  readonly pages?: number;
}

const SHARP_FORMATS: Readonly<Record<string, string>> = {
  jpeg: "jpg",
  png: "png",
  webp: "webp",
  gif: "gif",
  tiff: "tiff",
  svg: "svg",
  avif: "avif",
  heif: "heic",
};

/** Image facts from sharp; undefined when the bytes are not an image sharp can read. */
export async function detectImage(bytes: Buffer): Promise<Detected | undefined> {
  try {
    const meta = await sharp(bytes, { failOn: "none" }).metadata();
    let format = meta.format === undefined ? undefined : SHARP_FORMATS[meta.format];
    if (meta.format === "heif" && meta.compression === "av1") format = "avif";
    if (!format || !meta.width || !meta.height) return undefined;
    // EXIF orientations 5-8 swap the sides; Cloudinary reports the upright size
    const swap = (meta.orientation ?? 1) >= 5;
    return {
      resourceType: "image",
      format,
      width: swap ? meta.height : meta.width,
      height: swap ? meta.width : (meta.pageHeight ?? meta.height),
      pages: meta.pages ?? 1,
    };
  } catch {
    return undefined;
  }
}

/** Video and audio containers by their magic bytes (Cloudinary files audio under "video"). */
export function detectVideo(bytes: Buffer): Detected | undefined {
  const ascii = (start: number, end: number) => bytes.subarray(start, end).toString("latin1");
  if (bytes.length >= 12 && ascii(4, 8) === "ftyp") {
    return { resourceType: "video", format: ascii(8, 10) === "qt" ? "mov" : "mp4" };
  }
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x1a45dfa3) {
    return { resourceType: "video", format: bytes.includes(Buffer.from("webm")) ? "webm" : "mkv" };
  }
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "AVI ") return { resourceType: "video", format: "avi" };
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return { resourceType: "video", format: "wav" };
  if (bytes.length >= 4 && ascii(0, 4) === "OggS") return { resourceType: "video", format: "ogv" };
  if (bytes.length >= 3 && ascii(0, 3) === "ID3") return { resourceType: "video", format: "mp3" };
  return undefined;
}
