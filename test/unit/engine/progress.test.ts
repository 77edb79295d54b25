import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { Progress, type Ticker, withProgress } from "../../../src/engine/progress.js";
import { createLogger } from "../../../src/logger.js";

/** A clock moved by hand: timers fire in order as it advances, never on their own. */
function manualTicker() {
  let now = 0;
  const timers = new Set<{ ms: number; next: number; tick: () => void }>();
  const ticker: Ticker = {
    now: () => now,
    every(ms, tick) {
      const timer = { ms, next: now + ms, tick };
      timers.add(timer);
      return () => timers.delete(timer);
    },
  };
  return {
    ticker,
    active: () => timers.size,
    advance(ms: number) {
      const until = now + ms;
      for (let due = [...timers].sort((a, b) => a.next - b.next)[0]; due && due.next <= until; due = [...timers].sort((a, b) => a.next - b.next)[0]) {
        now = due.next;
        due.next += due.ms;
        due.tick();
      }
      now = until;
    },
  };
}

function sink(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 200 });
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

describe("Progress", () => {
  it("off a terminal: a line every 5 s with the step, the time so far and the last output line", () => {
    const out = sink(false);
    const clock = manualTicker();
    const progress = new Progress(createLogger({ destination: out.stream }), "building MinIO", { ticker: clock.ticker });
    clock.advance(4_999);
    expect(out.text()).toBe("");
    progress.line("github.com/minio/minio/internal/s3select");
    progress.line("   ");
    progress.step("3/9");
    clock.advance(1);
    clock.advance(5_000);
    const records = out.text().trim().split("\n").map((line) => JSON.parse(line));
    expect(records).toMatchObject([
      { msg: "building MinIO: still running", step: "3/9", elapsed: "5s", last: "github.com/minio/minio/internal/s3select" },
      { elapsed: "10s" },
    ]);
    expect(records[0]).not.toHaveProperty("live");
    progress.done();
    expect(clock.active()).toBe(0);
    clock.advance(60_000);
    expect(out.text().trim().split("\n")).toHaveLength(2);
  });

  it("stops by itself at its deadline when done() is never called", () => {
    const clock = manualTicker();
    new Progress(createLogger({ destination: sink(false).stream }), "debootstrap", { ticker: clock.ticker, deadlineMs: 12_000 });
    clock.advance(11_000);
    expect(clock.active()).toBe(1);
    clock.advance(5_000);
    expect(clock.active()).toBe(0);
  });

  it("clears its timer when the work fails", async () => {
    const clock = manualTicker();
    const failing = withProgress(createLogger({ destination: sink(false).stream }), "build", async () => {
      expect(clock.active()).toBe(1);
      throw new Error("pip failed");
    }, { ticker: clock.ticker });
    await expect(failing).rejects.toThrow("pip failed");
    expect(clock.active()).toBe(0);
  });

  it("on a terminal: one live line redrawn every second, cleared before other lines and when done", () => {
    const out = sink(true);
    const clock = manualTicker();
    const logger = createLogger({ format: "pretty", destination: out.stream });
    const progress = new Progress(logger.child({ component: "images", image: "minio" }), "building image minio", { ticker: clock.ticker });
    progress.line("Step 2/4 : RUN apt-get install -y ca-certificates");
    clock.advance(1_000);
    clock.advance(1_000);
    logger.info("pulled base image");
    clock.advance(1_000);
    progress.done();
    const text = out.text();
    // Drawn, redrawn over itself (no newline between), cleared before the event, cleared at the end.
    const drawn = text.split("\r\u001b[2K");
    expect(drawn[0]).toMatch(/building image minio: still running .*elapsed=1s last="Step 2\/4/);
    expect(drawn[0]).not.toContain("\n");
    expect(drawn[1]).toMatch(/elapsed=2s/);
    expect(drawn[1]).not.toContain("\n");
    expect(drawn[2]).toMatch(/^\u001b\[2mprodlike {2}\|.*pulled base image.*\n.*elapsed=3s[^\n]*$/);
    expect(drawn[3]).toBe("");
    expect(drawn).toHaveLength(4);
    expect(text).not.toMatch(/live/);
  });

  it("fits the live line to the terminal's width, 80 when the terminal does not say", () => {
    for (const columns of [0, 40]) {
      const out = Object.assign(new PassThrough(), { isTTY: true, columns });
      let text = "";
      out.on("data", (chunk: Buffer) => (text += chunk.toString()));
      const clock = manualTicker();
      const progress = new Progress(createLogger({ format: "pretty", destination: out }), "building MinIO", { ticker: clock.ticker });
      progress.line("x".repeat(300));
      clock.advance(1_000);
      progress.done();
      const drawn = text.split("\r\u001b[2K")[0]!.replace(/\u001b\[\d+m/g, "");
      expect(drawn.length).toBe((columns || 80) - 1);
      expect(drawn).toMatch(/^prodlike {2}\| building MinIO/);
      if (columns === 0) expect(drawn).toMatch(/still running {2}elapsed=1s last=x+$/);
    }
  });
});
