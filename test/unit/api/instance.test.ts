import { afterEach, describe, expect, it } from "vitest";
import { checkInstanceName, uniqueInstanceName } from "../../../src/config/instance.js";
import { DEFAULT_PORTS, projectName, resolveStack } from "../../../src/config/resolve.js";
import { isProdlikeError } from "../../../src/errors.js";
import { FREE_PORTS } from "../../../src/api.js";
import { projectDir } from "../../helpers/project-dir.js";

const django = { "manage.py": "", "requirements.txt": "Django==5.2\ngunicorn\n", "mysite/wsgi.py": "" };
const disposers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((d) => d()));
});

async function project(files: Record<string, string>): Promise<string> {
  const made = await projectDir(files);
  disposers.push(made.dispose);
  return made.dir;
}

describe("instance names", () => {
  it("accepts short DNS-safe names", () => {
    for (const name of ["a", "ci-1", "vt3-0a1b2c", "x".repeat(24)]) expect(checkInstanceName(name)).toBe(name);
  });

  it("refuses names that cannot be part of a Docker name, saying what is allowed", () => {
    for (const name of ["", "CI", "-a", "a-", "a_b", "a.b", "x".repeat(25), "a b"]) {
      let err: unknown;
      try {
        checkInstanceName(name);
      } catch (e) {
        err = e;
      }
      expect(isProdlikeError(err, "CONFIG_INVALID"), `"${name}" was accepted`).toBe(true);
      expect((err as Error).message).toContain(`instance "${name}"`);
      expect((err as Error).message).toContain("lowercase letters, digits and dashes");
    }
  });

  it("makes a new valid name each time, keeping a readable prefix", () => {
    const names = new Set(Array.from({ length: 200 }, () => uniqueInstanceName("vt3")));
    expect(names.size).toBe(200);
    for (const name of names) expect(name).toMatch(/^vt3-[0-9a-f]{6}$/);
    expect(uniqueInstanceName("Odd Prefix!")).toMatch(/^odd-prefix-[0-9a-f]{6}$/);
    expect(uniqueInstanceName("")).toMatch(/^i-[0-9a-f]{6}$/);
  });
});

describe("stacks of one folder", () => {
  it("gives a suffixed stack its own project name, next to the folder's", async () => {
    const dir = await project(django);
    const plain = await resolveStack(dir, {}, {});
    const a = await resolveStack(dir, { projectSuffix: "vt1-aaaaaa" }, {});
    const b = await resolveStack(dir, { projectSuffix: "vt2-bbbbbb" }, {});
    expect(plain.project).toBe(projectName(dir));
    expect(a.project).toBe(`${projectName(dir)}-vt1-aaaaaa`);
    expect(new Set([plain.project, a.project, b.project]).size).toBe(3);
  });

  it("uses the CLI's fixed ports by default and the library's free ones when asked", async () => {
    const dir = await project(django);
    expect((await resolveStack(dir, {}, {})).ports).toEqual(DEFAULT_PORTS);
    expect((await resolveStack(dir, { defaultPorts: FREE_PORTS }, {})).ports).toEqual({ https: 0, http: 0 });
  });

  it("lets flags, PRODLIKE_*_PORT and prodlike.yaml beat the free-port default", async () => {
    const dir = await project({ ...django, "prodlike.yaml": "ports:\n  https: 9443\n  http: 9080\n" });
    expect((await resolveStack(dir, { defaultPorts: FREE_PORTS }, {})).ports).toEqual({ https: 9443, http: 9080 });
    const plain = await project(django);
    expect((await resolveStack(plain, { defaultPorts: FREE_PORTS }, { PRODLIKE_HTTPS_PORT: "7443" })).ports).toEqual({ https: 7443, http: 0 });
    expect((await resolveStack(plain, { defaultPorts: FREE_PORTS, httpPort: 7080 }, {})).ports).toEqual({ https: 0, http: 7080 });
  });
});
