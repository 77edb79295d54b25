import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { loadOrCreateCa, type CertificateAuthority } from "../../src/tls/ca.js";

/** A throwaway CA, so tests never touch ~/.prodlike. */
export async function tempCa(): Promise<{ ca: CertificateAuthority; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "prodlike-test-ca-"));
  const ca = await loadOrCreateCa(dir);
  return { ca, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** A throwaway CA for one test file: made before its tests, removed after them. */
export function useTempCa(): { readonly ca: CertificateAuthority } {
  let made: Awaited<ReturnType<typeof tempCa>> | undefined;
  beforeAll(async () => {
    made = await tempCa();
  });
  afterAll(() => made?.dispose());
  return {
    get ca() {
      if (!made) throw new Error("the test CA exists only while the file's tests run");
      return made.ca;
    },
  };
}
