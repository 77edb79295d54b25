import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChangeBatcher } from "../../../src/watch/batcher.js";
import type { FileChange } from "../../../src/watch/changes.js";

describe("ChangeBatcher", () => {
  let batches: FileChange[][];
  beforeEach(() => {
    vi.useFakeTimers();
    batches = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const batcher = (quietMs = 150, maxWaitMs = 1000) => new ChangeBatcher({ quietMs, maxWaitMs, onBatch: (c) => batches.push(c) });

  it("reports after the quiet time, not before", () => {
    const b = batcher();
    b.push({ path: "a.py", kind: "change" });
    vi.advanceTimersByTime(149);
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([[{ path: "a.py", kind: "change" }]]);
  });

  it("a save-all (events closer than the quiet time) is one batch", () => {
    const b = batcher();
    for (const name of ["a.py", "b.py", "c.html", "a.py"]) {
      b.push({ path: name, kind: "change" });
      vi.advanceTimersByTime(100);
    }
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((c) => c.path)).toEqual(["a.py", "b.py", "c.html"]);
  });

  it("a stream of events longer than maxWait is cut into batches at maxWait", () => {
    const b = batcher(150, 1000);
    for (let i = 0; i < 30; i++) {
      b.push({ path: `f${i}.py`, kind: "add" });
      vi.advanceTimersByTime(100);
    }
    // 3 s of events every 100 ms: cut at 1 s, 2 s, 3 s; the rest after the quiet time.
    vi.advanceTimersByTime(150);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches[0]).toHaveLength(10);
    expect(batches.flat()).toHaveLength(30);
  });

  it("two bursts separated by quiet are two batches", () => {
    const b = batcher();
    b.push({ path: "a.py", kind: "change" });
    vi.advanceTimersByTime(200);
    b.push({ path: "b.py", kind: "change" });
    vi.advanceTimersByTime(200);
    expect(batches).toEqual([[{ path: "a.py", kind: "change" }], [{ path: "b.py", kind: "change" }]]);
  });

  it("events that cancel out make no batch", () => {
    const b = batcher();
    b.push({ path: "4913", kind: "add" });
    b.push({ path: "4913", kind: "unlink" });
    vi.advanceTimersByTime(2000);
    expect(batches).toEqual([]);
  });

  it("flush reports at once; cancel drops", () => {
    const b = batcher();
    b.push({ path: "a.py", kind: "change" });
    b.flush();
    expect(batches).toHaveLength(1);
    b.push({ path: "b.py", kind: "change" });
    b.cancel();
    vi.advanceTimersByTime(5000);
    expect(batches).toHaveLength(1);
    expect(b.pending).toBe(0);
  });
});
