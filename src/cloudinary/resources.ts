import { createHash } from "node:crypto";
import type { ResourceType } from "./media-types.js";
import type { ObjectStore } from "./object-store.js";

/** What the stand-in remembers about one asset; stored as JSON next to the bytes. */
export interface ResourceRecord {
  asset_id: string;
  public_id: string;
  version: number;
  version_id: string;
  format?: string;
  resource_type: ResourceType;
  type: "upload";
  created_at: string;
  bytes: number;
  width?: number;
  height?: number;
  pages?: number;
  etag: string;
  tags: string[];
  context?: Record<string, string>;
  original_filename?: string;
  content_type: string;
}

/**
 * Key layout inside a cloud's bucket. Every key starts with one of these fixed prefixes and a
 * checked public_id, so no request can name a key outside them:
 *   assets/<rt>/upload/<public_id>              the original bytes
 *   meta/<rt>/upload/<public_id>.json           the record
 *   derived/<rt>/upload/<sha1(public_id)>/<sha1(transformation)>.<format>
 *   tmp/<uuid>                                  uploads in flight, before the signature is checked
 */
export const keys = {
  asset: (rt: ResourceType, publicId: string) => `assets/${rt}/upload/${publicId}`,
  meta: (rt: ResourceType, publicId: string) => `meta/${rt}/upload/${publicId}.json`,
  metaPrefix: (rt: ResourceType, prefix = "") => `meta/${rt}/upload/${prefix}`,
  derivedPrefix: (rt: ResourceType, publicId: string) => `derived/${rt}/upload/${sha1(publicId)}/`,
  derived: (rt: ResourceType, publicId: string, transformation: string, format: string) =>
    `derived/${rt}/upload/${sha1(publicId)}/${sha1(transformation)}.${format}`,
  tmp: (id: string) => `tmp/${id}`,
};

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

export function publicIdFromMetaKey(rt: ResourceType, key: string): string {
  return key.slice(keys.metaPrefix(rt).length, -".json".length);
}

export class ResourceRepository {
  constructor(
    private readonly store: ObjectStore,
    readonly bucket: string,
  ) {}

  async get(rt: ResourceType, publicId: string): Promise<ResourceRecord | undefined> {
    const data = await this.store.getBuffer(this.bucket, keys.meta(rt, publicId));
    return data ? (JSON.parse(data.toString("utf8")) as ResourceRecord) : undefined;
  }

  async put(record: ResourceRecord): Promise<void> {
    await this.store.putBuffer(this.bucket, keys.meta(record.resource_type, record.public_id), JSON.stringify(record), "application/json");
  }

  /** Remove bytes, derived versions and record; false when there was nothing. */
  async remove(rt: ResourceType, publicId: string): Promise<boolean> {
    const record = await this.get(rt, publicId);
    if (!record) return false;
    await this.store.delete(this.bucket, keys.asset(rt, publicId));
    await this.store.deletePrefix(this.bucket, keys.derivedPrefix(rt, publicId));
    await this.store.delete(this.bucket, keys.meta(rt, publicId));
    return true;
  }

  /** One page of records whose public_id starts with `prefix`, in public_id order. */
  async list(rt: ResourceType, prefix: string, limit: number, afterPublicId?: string): Promise<{ records: ResourceRecord[]; last?: string; more: boolean }> {
    const after = afterPublicId === undefined ? undefined : keys.meta(rt, afterPublicId);
    const page = await this.store.list(this.bucket, keys.metaPrefix(rt, prefix), limit, after);
    const ids = page.keys.map((key) => publicIdFromMetaKey(rt, key));
    const records = (await Promise.all(ids.map((id) => this.get(rt, id)))).filter((record): record is ResourceRecord => record !== undefined);
    return { records, last: ids.at(-1), more: page.more };
  }

  /** Every record of a resource type (for tag queries and delete-all; a local store is small). */
  async *all(rt: ResourceType, prefix = ""): AsyncGenerator<ResourceRecord> {
    let after: string | undefined;
    for (;;) {
      const page = await this.list(rt, prefix, 500, after);
      yield* page.records;
      if (!page.more || page.last === undefined) return;
      after = page.last;
    }
  }
}
