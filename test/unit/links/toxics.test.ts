import { describe, expect, it } from "vitest";
import { recordingChain } from "./harness.js";

const b = (s: string) => Buffer.from(s);

describe("chain without toxics", () => {
  it("passes bytes and the end of stream through in order", async () => {
    const t = recordingChain();
    t.chain.push(b("hello "));
    t.chain.push(b("world"));
    t.chain.push(null);
    await expect.poll(() => t.ended()).toBe(true);
    expect(t.text()).toBe("hello world");
    expect(t.chain.buffered).toBe(0);
  });
});

describe("latency", () => {
  it("delays each chunk by at least the latency", async () => {
    const t = recordingChain();
    t.add("latency", { latency: 80 });
    t.chain.push(b("a"));
    await new Promise((r) => setTimeout(r, 20));
    expect(t.delivered).toHaveLength(0);
    await expect.poll(() => t.delivered.length).toBe(1);
    expect(t.delivered[0]!.at).toBeGreaterThanOrEqual(78);
  });

  it("counts latency from arrival, so a burst is not delayed serially", async () => {
    const t = recordingChain();
    t.add("latency", { latency: 60 });
    for (let i = 0; i < 10; i++) t.chain.push(b(String(i)));
    await expect.poll(() => t.delivered.length).toBe(10);
    expect(t.text()).toBe("0123456789");
    expect(t.delivered.at(-1)!.at).toBeLessThan(250);
  });

  it("applies jitter within ± jitter", async () => {
    const t = recordingChain(() => 0); // lowest draw: latency - jitter
    t.add("latency", { latency: 100, jitter: 80 });
    t.chain.push(b("x"));
    await expect.poll(() => t.delivered.length).toBe(1);
    expect(t.delivered[0]!.at).toBeLessThan(90);
    expect(t.delivered[0]!.at).toBeGreaterThanOrEqual(18);
  });

  it("hands held bytes on when removed while bytes are in flight, none lost", async () => {
    const t = recordingChain();
    t.add("latency", { latency: 10_000 });
    t.chain.push(b("one "));
    t.chain.push(b("two "));
    t.chain.push(b("three"));
    await new Promise((r) => setTimeout(r, 10));
    expect(t.delivered).toHaveLength(0);
    await t.chain.remove("latency");
    t.chain.push(b("!"));
    await expect.poll(() => t.text()).toBe("one two three!");
  });
});

describe("bandwidth", () => {
  it("limits throughput to rate KB/s", async () => {
    const t = recordingChain();
    t.add("bandwidth", { rate: 100 }); // 100 bytes/ms
    t.chain.push(Buffer.alloc(20_000)); // 200 ms worth
    await expect.poll(() => t.chain.buffered, { timeout: 2000 }).toBe(0);
    const last = t.delivered.at(-1)!.at;
    expect(last).toBeGreaterThanOrEqual(180);
    expect(t.delivered.length).toBeGreaterThanOrEqual(2); // written in 100 ms slices
  });
});

describe("slow_close", () => {
  it("passes data at once and holds the end of stream back", async () => {
    const t = recordingChain();
    t.add("slow_close", { delay: 80 });
    t.chain.push(b("data"));
    t.chain.push(null);
    await expect.poll(() => t.text()).toBe("data");
    expect(t.ended()).toBe(false);
    await expect.poll(() => t.ended()).toBe(true);
    expect(t.delivered.at(-1)!.at).toBeGreaterThanOrEqual(78);
  });
});

describe("timeout", () => {
  it("stops data and closes the connection after the timeout", async () => {
    const t = recordingChain();
    t.add("timeout", { timeout: 60 });
    t.chain.push(b("lost"));
    await expect.poll(() => t.events).toEqual(["close"]);
    expect(t.delivered).toHaveLength(0);
    expect(t.chain.buffered).toBe(0);
  });

  it("with 0 never closes, and data flows again once removed", async () => {
    const t = recordingChain();
    t.add("timeout", { timeout: 0 });
    t.chain.push(b("dropped"));
    await new Promise((r) => setTimeout(r, 50));
    expect(t.events).toEqual([]);
    await t.chain.remove("timeout");
    t.chain.push(b("after"));
    await expect.poll(() => t.text()).toBe("after");
  });
});

describe("reset_peer", () => {
  it("resets the connection after the timeout, passing data until then", async () => {
    const t = recordingChain();
    t.add("reset_peer", { timeout: 300 });
    t.chain.push(b("before"));
    await expect.poll(() => t.text()).toBe("before");
    expect(t.events).toEqual([]);
    await expect.poll(() => t.events).toEqual(["reset"]);
  });

  it("resets at once with timeout 0", async () => {
    const t = recordingChain();
    t.add("reset_peer", { timeout: 0 });
    await expect.poll(() => t.events).toEqual(["reset"]);
  });
});

describe("slicer", () => {
  it("cuts a chunk into pieces of average_size", async () => {
    const t = recordingChain();
    t.add("slicer", { average_size: 3, delay: 100 });
    t.chain.push(b("abcdefghij"));
    await expect.poll(() => t.text()).toBe("abcdefghij");
    expect(t.delivered.map((d) => d.chunk!.toString())).toEqual(["abc", "def", "ghi", "j"]);
  });

  it("varies the size by size_variation", async () => {
    const t = recordingChain(() => 1); // +variation
    t.add("slicer", { average_size: 3, size_variation: 2 });
    t.chain.push(b("abcdefghij"));
    await expect.poll(() => t.text()).toBe("abcdefghij");
    expect(t.delivered.map((d) => d.chunk!.length)).toEqual([5, 5]);
  });
});

describe("limit_data", () => {
  it("passes exactly N bytes, then closes", async () => {
    const t = recordingChain();
    t.add("limit_data", { bytes: 7 });
    t.chain.push(b("abcd"));
    t.chain.push(b("efghij"));
    await expect.poll(() => t.events).toEqual(["close"]);
    expect(t.text()).toBe("abcdefg");
    expect(t.chain.buffered).toBe(0);
  });
});

describe("live changes", () => {
  it("adds a toxic while bytes flow and keeps order across stacked toxics", async () => {
    const t = recordingChain();
    t.chain.push(b("a"));
    t.add("latency", { latency: 30 }, "l1");
    t.chain.push(b("b"));
    t.add("slicer", { average_size: 1 }, "s1");
    t.chain.push(b("cd"));
    await t.chain.remove("l1");
    t.chain.push(b("e"));
    await t.chain.remove("s1");
    t.chain.push(b("f"));
    t.chain.push(null);
    await expect.poll(() => t.ended()).toBe(true);
    expect(t.text()).toBe("abcdef");
    expect(t.chain.names).toEqual([]);
  });

  it("destroy stops toxics and drops buffered data", async () => {
    const t = recordingChain();
    t.add("latency", { latency: 30 });
    t.chain.push(b("x"));
    t.chain.destroy();
    await new Promise((r) => setTimeout(r, 60));
    expect(t.delivered).toHaveLength(0);
  });
});
