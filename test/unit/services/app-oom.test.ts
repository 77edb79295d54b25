import { describe, expect, it } from "vitest";
import { bootHint, parseWorkerOom, WorkerKills } from "../../../src/services/app.js";

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

describe("WorkerKills", () => {
  const at = "[2026-11-23 11:01:53 +0000] [6]";
  it("does not count gunicorn's own kill of a timed-out worker as the kernel's OOM killer", () => {
    const kills = new WorkerKills();
    expect(kills.oomKilled(`${at} [CRITICAL] WORKER TIMEOUT (pid:8)`)).toBeUndefined();
    expect(kills.oomKilled(`${at} [ERROR] Worker (pid:8) was sent SIGKILL! Perhaps out of memory?`)).toBeUndefined();
    // The same pid cannot come back, but another worker's kill without a timeout is an OOM.
    expect(kills.oomKilled(`${at} [ERROR] Worker (pid:9) was sent SIGKILL! Perhaps out of memory?`)).toBe(9);
  });

  it("counts a kill after another worker's timeout", () => {
    const kills = new WorkerKills();
    kills.oomKilled(`${at} [CRITICAL] WORKER TIMEOUT (pid:8)`);
    expect(kills.oomKilled(`${at} [ERROR] Worker (pid:12) was sent SIGKILL! Perhaps out of memory?`)).toBe(12);
  });
});

describe("bootHint", () => {
  it("says the plan's memory was exceeded when a worker was killed during the boot", () => {
    const logs = "[INFO] Booting worker with pid: 8\n[ERROR] Worker (pid:8) was sent SIGKILL! Perhaps out of memory?\n";
    expect(bootHint(logs, "gunicorn config.wsgi", "Procfile web")).toMatch(/memory limit was exceeded/);
  });
});
