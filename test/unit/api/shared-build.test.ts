import { describe, expect, it } from "vitest";
import { buildKeyInputs, isInstallOnly } from "../../../src/engine/app-build.js";

/** Two stacks of one folder: same sources, their own database volume, ports and host names. */
const stackA = {
  pythonImage: "prodlike/python:abc",
  buildCommand: "pip install -r requirements.txt",
  caPem: "CA",
  salt: "volume-a",
  env: { DATABASE_URL: "postgresql://u:p@dpg-aaaa-a:5432/db", CLOUDINARY_URL: "cloudinary://k:s@c?upload_prefix=https://172.18.0.1:40001", RENDER_SERVICE_ID: "srv-a" },
};
const stackB = {
  ...stackA,
  salt: "volume-b",
  env: { DATABASE_URL: "postgresql://u:p@dpg-bbbb-a:5432/db", CLOUDINARY_URL: "cloudinary://k:s@c?upload_prefix=https://172.19.0.1:40777", RENDER_SERVICE_ID: "srv-b" },
};
const key = (options: Parameters<typeof buildKeyInputs>[0]) => JSON.stringify(buildKeyInputs(options));

describe("which app builds the stacks of one folder share", () => {
  it("knows an install-only command from one that may use the stack's services", () => {
    expect(isInstallOnly("pip install -r requirements.txt")).toBe(true);
    expect(isInstallOnly("python -m pip install --requirement requirements.txt")).toBe(true);
    expect(isInstallOnly("./build.sh")).toBe(false);
    expect(isInstallOnly("pip install -r requirements.txt && python manage.py migrate")).toBe(false);
    expect(isInstallOnly("pip install -r requirements.txt; python manage.py collectstatic --no-input")).toBe(false);
  });

  it("shares an install-only build across stacks whose per-stack values differ", () => {
    expect(key(stackB)).toBe(key(stackA));
  });

  it("rebuilds an install-only build when pip's settings, the env's keys, the sources' inputs or the CA change", () => {
    expect(key({ ...stackA, env: { ...stackA.env, PIP_INDEX_URL: "https://mirror.example/simple" } })).not.toBe(key(stackA));
    // The committed image keeps the build's env: a key the app no longer sets must not linger in it.
    expect(key({ ...stackA, env: { ...stackA.env, CONN_HEALTH_CHECKS: "true" } })).not.toBe(key(stackA));
    expect(key({ ...stackA, pythonImage: "prodlike/python:def" })).not.toBe(key(stackA));
    expect(key({ ...stackA, caPem: "another CA" })).not.toBe(key(stackA));
  });

  it("keeps the stack's own build when the command may migrate or upload (fresh database, other env)", () => {
    const custom = { ...stackA, buildCommand: "./build.sh" };
    expect(key({ ...custom, salt: "volume-b" })).not.toBe(key(custom));
    expect(key({ ...custom, env: stackB.env })).not.toBe(key(custom));
    expect(key({ ...custom, env: { ...stackA.env } })).toBe(key(custom));
  });
});
