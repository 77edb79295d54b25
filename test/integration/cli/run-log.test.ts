import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fetchApp, leftovers, parseUp, runCli, useFixtureCopies } from "../../helpers/cli.js";

/** A run's log outlives `down`: the platform's output is kept in .prodlike/logs, the last 3 runs. */
describe("the log of a run, after down", () => {
  const fixture = useFixtureCopies();

  it("keeps the platform's output of the run in .prodlike/logs (mode 600), and only the last 3 runs", async () => {
    const copy = await fixture();
    const logs = join(copy.dir, ".prodlike", "logs");
    await mkdir(logs, { recursive: true });
    // Three earlier runs: after this one, the oldest goes.
    for (const day of ["01", "02", "03"]) await writeFile(join(logs, `${copy.project}-2026-01-${day}T00-00-00-000Z.log`), `run of January ${day}\n`);

    const up = await runCli(["up", "-d", copy.dir, "--port", "0", "--http-port", "0"], { timeoutMs: 420_000 });
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    expect((await fetchApp(`${parseUp(up.stdout).url}/auth/health/`)).status).toBe(200);
    const down = await runCli(["down", copy.dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(await leftovers(copy.project)).toMatchObject({ containers: 0, networks: 0 });

    const kept = (await readdir(logs)).sort();
    expect(kept).toHaveLength(3);
    expect(kept.slice(0, 2)).toEqual([`${copy.project}-2026-01-02T00-00-00-000Z.log`, `${copy.project}-2026-01-03T00-00-00-000Z.log`]);
    const latest = join(logs, kept[2]!);
    expect((await stat(latest)).mode & 0o777).toBe(0o600);
    const text = await readFile(latest, "utf8");
    expect(text).toContain('"msg":"app is up"');
    expect(text).toMatch(/"path":"\/auth\/health\/".*"msg":"request"/);
  });
});
