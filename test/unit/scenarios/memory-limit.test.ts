import { describe, expect, it } from "vitest";
import { KERNEL_ONLY, memoryVerdict, parseCgroupMemory, oomKillLines, type MemoryFacts } from "../../../src/scenarios/memory-limit.js";

const MB = 1024 * 1024;

describe("parseCgroupMemory", () => {
  it("reads cgroup v1 (no limit shows as a huge number)", () => {
    const text = "version 1\ncurrent 47210496\npeak 77414400\nlimit 536870912\ninactive_file 679936\n";
    expect(parseCgroupMemory(text)).toEqual({ currentBytes: 47210496, peakBytes: 77414400, limitBytes: 536870912, inactiveFileBytes: 679936 });
    expect(parseCgroupMemory("version 1\ncurrent 1\npeak 2\nlimit 9223372036854771712\n")!.limitBytes).toBeNull();
  });

  it("reads cgroup v2, with or without memory.peak and a limit", () => {
    expect(parseCgroupMemory("version 2\ncurrent 1048576\npeak -\nlimit max\ninactive_file 0\n")).toEqual({
      currentBytes: 1048576,
      peakBytes: null,
      limitBytes: null,
      inactiveFileBytes: 0,
    });
    expect(parseCgroupMemory("cat: /sys/fs/cgroup/memory: No such file")).toBeUndefined();
  });
});

const base: MemoryFacts = {
  reading: { currentBytes: 120 * MB, peakBytes: 200 * MB, limitBytes: 512 * MB, inactiveFileBytes: 20 * MB },
  readError: null,
  planMemoryMb: 512,
  plan: "free",
  oomKills: 0,
  oomKillsBefore: 0,
  oomLines: [],
  probes: [],
};

describe("memoryVerdict", () => {
  it("passes within the limit, with peak and current use minus the page cache", () => {
    const verdict = memoryVerdict(base);
    expect(verdict.status).toBe("pass");
    expect(verdict.summary).toBe("every endpoint ran within the plan's 512 MB (peak 180 MB)");
    expect(verdict.evidence).toEqual(["memory: peak 180 MB / 512 MB limit (the free plan), 100 MB in use now", "OOM kills while exercising: 0"]);
  });

  it("warns above 80 % of the limit without failing", () => {
    const verdict = memoryVerdict({ ...base, reading: { ...base.reading!, peakBytes: 470 * MB } });
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence.at(-1)).toBe("warning: the peak is 88 % of the limit: one heavier request and the kernel kills a worker");
  });

  it("fails on an OOM kill, quoting gunicorn's line and the request that died", () => {
    const verdict = memoryVerdict({
      ...base,
      oomKills: 2,
      oomKillsBefore: 1,
      oomLines: ["[1] [ERROR] Worker (pid:9) was sent SIGKILL! Perhaps out of memory?"],
      probes: [
        { path: "/alloc/?mb=64", status: 200, ms: 300, headers: {}, body: "" },
        { path: "/alloc/?mb=600", status: 502, ms: 2100, headers: {}, body: "" },
      ],
    });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("the plan's 512 MB was exceeded: the kernel killed a process of the app");
    expect(verdict.evidence).toEqual([
      "memory: peak 180 MB / 512 MB limit (the free plan), 100 MB in use now",
      "OOM kills while exercising: 1 (1 before this check)",
      "[1] [ERROR] Worker (pid:9) was sent SIGKILL! Perhaps out of memory?",
      "GET /alloc/?mb=600 → 502 in 2.1 s",
    ]);
  });

  it("falls back to the plan's limit when the cgroup cannot be read", () => {
    const verdict = memoryVerdict({ ...base, reading: null, readError: "no container" });
    expect(verdict.evidence[0]).toBe("memory: could not be read (no container); limit 512 MB (the free plan)");
  });
});

describe("memoryVerdict without gunicorn's line", () => {
  it("quotes Docker's oom event when that is all there is", () => {
    const verdict = memoryVerdict({ ...base, oomKills: 1, oomKillsBefore: 0, oomLines: [] });
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence).toContain(KERNEL_ONLY);
  });
});

describe("oomKillLines", () => {
  it("leaves out the kill of a worker gunicorn timed out itself, also when the timeout came before the window", () => {
    const whole = ["[7] [CRITICAL] WORKER TIMEOUT (pid:9)", "[7] [ERROR] Worker (pid:9) was sent SIGKILL! Perhaps out of memory?", "[7] [ERROR] Worker (pid:23) was sent SIGKILL! Perhaps out of memory?"];
    expect(oomKillLines(whole.slice(1), whole)).toEqual(["[7] [ERROR] Worker (pid:23) was sent SIGKILL! Perhaps out of memory?"]);
    expect(oomKillLines(whole.slice(0, 2), whole)).toEqual([]);
  });
});
