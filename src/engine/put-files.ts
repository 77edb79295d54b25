import type Dockerode from "dockerode";
import { pack } from "tar-stream";

/** A file to place in a container: bytes, mode and mtime (whole seconds). */
export interface ContainerFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
  readonly mtime: number;
}

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
