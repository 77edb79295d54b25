import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadSecrets, readState, writeState } from "../../src/state.js";

describe("state", () => {
  const dirs: string[] = [];
  afterEach(async () => Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))));

  it("ignores a state file copied along with the project folder", async () => {
    const parent = await mkdtemp(join(tmpdir(), "prodlike-state-"));
    dirs.push(parent);
    const original = join(parent, "app");
    await writeState(original, { project: "app-1", dir: original, pid: process.pid, status: "running", startedAt: "now" });
    expect((await readState(original))?.pid).toBe(process.pid);
    const copy = join(parent, "copy");
    await cp(original, copy, { recursive: true });
    expect(await readState(copy)).toBeNull();
  });

  it("keeps secrets and generated values across loads, adding new keys only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "prodlike-state-"));
    dirs.push(dir);
    const first = await loadSecrets(dir, ["SECRET_KEY"]);
    const second = await loadSecrets(dir, ["SECRET_KEY", "SIGNING_KEY"]);
    expect(second.postgresPassword).toBe(first.postgresPassword);
    expect(second.generated.SECRET_KEY).toBe(first.generated.SECRET_KEY);
    expect(Buffer.from(second.generated.SIGNING_KEY!, "base64")).toHaveLength(32);
  });
});
