import { randomInt } from "node:crypto";
import { badRequest } from "./api-error.js";

const MAX_LENGTH = 255;
/** Characters Cloudinary does not allow in a public_id, plus control characters. */
const FORBIDDEN = /[?&#\\%<>\u0000-\u001f\u007f]/;

/**
 * A public_id accepted as a storage key: no absolute path, no "." or ".." segment, no empty
 * segment, no backslash or percent sign (so nothing decodes into a traversal later).
 * Surrounding whitespace is trimmed, as Cloudinary trims it.
 */
export function checkPublicId(raw: string): string {
  const id = raw.trim();
  const invalid = (why: string) => badRequest(`Invalid public_id '${raw}': ${why}`);
  if (id === "") throw invalid("it is empty");
  if (id.length > MAX_LENGTH) throw invalid(`it is longer than ${MAX_LENGTH} characters`);
  if (FORBIDDEN.test(id)) throw invalid("it contains one of ? & # \\ % < > or a control character");
  if (id.startsWith("/")) throw invalid("it must not start with '/'");
  for (const segment of id.split("/")) {
    if (segment === "") throw invalid("it contains an empty path segment");
    if (segment === "." || segment === "..") throw invalid("'.' and '..' segments are not allowed");
  }
  return id;
}

/** A folder parameter: the same rules, outer slashes dropped; "" means none. */
export function checkFolder(raw: string | undefined): string {
  const folder = (raw ?? "").trim().replace(/^\/+|\/+$/g, "");
  return folder === "" ? "" : checkPublicId(folder);
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function randomToken(length: number): string {
  let token = "";
  for (let i = 0; i < length; i += 1) token += ALPHABET[randomInt(ALPHABET.length)];
  return token;
}

/** The kind of id Cloudinary makes when none is given (20 lowercase letters and digits). */
export function randomPublicId(): string {
  return randomToken(20);
}

export interface FilenameParts {
  readonly base: string;
  readonly ext: string;
}

/** "my photo.JPG" → base "my_photo", ext "JPG"; characters Cloudinary rejects become "_". */
export function splitFilename(filename: string): FilenameParts {
  const name = filename.split(/[\\/]/).pop() ?? "";
  const dot = name.lastIndexOf(".");
  const base = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot + 1) : "";
  const safe = base.replace(/[?&#\\%<>\s\u0000-\u001f\u007f]+/g, "_").replace(/^\.+/, "_");
  return { base: safe, ext: /^[A-Za-z0-9]{1,10}$/.test(ext) ? ext : "" };
}

export interface PublicIdRequest {
  readonly publicId?: string;
  readonly folder?: string;
  readonly filename?: string;
  readonly useFilename: boolean;
  readonly uniqueFilename: boolean;
  /** raw resources keep their extension in the public_id. */
  readonly keepExtension: boolean;
}

/** The final public_id of an upload, from public_id / folder / use_filename / unique_filename. */
export function resolvePublicId(request: PublicIdRequest, random: (length: number) => string = randomToken): string {
  const folder = checkFolder(request.folder);
  let id: string;
  const parts = request.filename ? splitFilename(request.filename) : undefined;
  if (request.publicId !== undefined && request.publicId.trim() !== "") {
    id = request.publicId.trim();
  } else if (request.useFilename && parts && parts.base !== "") {
    id = request.uniqueFilename ? `${parts.base}_${random(6)}` : parts.base;
    if (request.keepExtension && parts.ext) id += `.${parts.ext}`;
  } else {
    id = random(20);
    if (request.keepExtension && parts?.ext) id += `.${parts.ext}`;
  }
  return checkPublicId(folder ? `${folder}/${id}` : id);
}

/** The folder part of a public_id ("" at the root). */
export function folderOf(publicId: string): string {
  const slash = publicId.lastIndexOf("/");
  return slash < 0 ? "" : publicId.slice(0, slash);
}
