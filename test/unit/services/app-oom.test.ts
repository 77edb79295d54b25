import { describe, expect, it } from "vitest";
import { bootHint, parseWorkerOom } from "../../../src/services/app.js";

describe("parseWorkerOom", () => {
  it("reads the pid from gunicorn's line about a worker the kernel killed", () => {
    const line = "[2026-11-23 11:01:53 +0000] [6] [ERROR] Worker (pid:8) was sent SIGKILL! Perhaps out of memory?";
    expect(parseWorkerOom(line)).toBe(8);
  });

  it("ignores other worker deaths and ordinary lines", () => {
    expect(parseWorkerOom("[2026-11-23 11:01:53 +0000] [6] [CRITICAL] WORKER TIMEOUT (pid:8)")).toBeUndefined();
    expect(parseWorkerOom("[2026-11-23 11:01:53 +0000] [6] [ERROR] Worker (pid:8) exited with code 1")).toBeUndefined();
    expect(parseWorkerOom('172.18.0.1 "GET /alloc/?mb=600 HTTP/1.1" 200 31 12ms')).toBeUndefined();
  });
});

describe("bootHint", () => {
  it("says the plan's memory was exceeded when a worker was killed during the boot", () => {
    const logs = "[INFO] Booting worker with pid: 8\n[ERROR] Worker (pid:8) was sent SIGKILL! Perhaps out of memory?\n";
    expect(bootHint(logs, "gunicorn config.wsgi", "Procfile web")).toMatch(/memory limit was exceeded/);
  });
});
