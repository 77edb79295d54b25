import { posix } from "node:path";
import type Dockerode from "dockerode";
import { pack } from "tar-stream";

/** A file to place in a container: bytes, mode and mtime (whole seconds). */
export interface ContainerFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
  readonly mtime: number;
}

/** Files that changed since an image was built, relative to its source folder: written, and removed. */
export interface Overlay {
  readonly files: readonly ContainerFile[];
  readonly removed: readonly string[];
}

/**
 * The files a fresh container must not have (removed under watch after its image was built),
 * NUL-separated absolute paths. Docker's archive API can add files to a created container but
 * not delete them, so the app's start command removes these before it runs anything else.
 */
const REMOVED_LIST = "/tmp/prodlike-removed";

/**
 * Shell, first in the app's start command: remove the files of REMOVED_LIST (none: nothing), then
 * the list, so a restart of the same container cannot remove a file synced again since.
 */
export const REMOVE_LISTED = `[ -f ${REMOVED_LIST} ] && { xargs -0 -r rm -f -- < ${REMOVED_LIST}; rm -f ${REMOVED_LIST}; };`;

/**
 * Put files into a container (created or running) under `dir`, owned by `uid`. Only file
 * entries: folder entries would reset the modes of folders that exist already.
 */
export async function putFiles(container: Dockerode.Container, dir: string, files: readonly ContainerFile[], uid: number): Promise<void> {
  if (files.length === 0) return;
  const archive = pack();
  for (const file of files) {
    archive.entry({ name: file.path, mode: file.mode & 0o777, mtime: new Date(file.mtime * 1000), uid, gid: uid, size: file.data.length }, file.data);
  }
  archive.finalize();
  await container.putArchive(archive as unknown as NodeJS.ReadableStream, { path: dir });
}

/** Make a created container's `dir` what watch left it: the changed files written, the removed ones listed for its start. */
export async function putOverlay(container: Dockerode.Container, dir: string, overlay: Overlay, uid: number): Promise<void> {
  await putFiles(container, dir, overlay.files, uid);
  if (overlay.removed.length === 0) return;
  const list = Buffer.from(overlay.removed.map((path) => `${posix.join(dir, path)}\0`).join(""));
  await putFiles(container, posix.dirname(REMOVED_LIST), [{ path: posix.basename(REMOVED_LIST), data: list, mode: 0o644, mtime: Math.floor(Date.now() / 1000) }], uid);
}
