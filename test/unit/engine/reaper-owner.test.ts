import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { isUnder } from "../../../src/engine/reaper.js";
import { currentOwner, formatOwner, judgeOwner, ownerVerdict, parseOwner, parseStatStart, processStart, thisHost } from "../../../src/engine/owner.js";

const here = { host: "laptop", ns: "4026531836", boot: "b1" };
const owner = { host: "laptop", ns: "4026531836", boot: "b1", pid: 4242, start: "123456" };

describe("owner label", () => {
  it("round-trips through the label text, colons in names made harmless", () => {
    expect(formatOwner(owner)).toBe("laptop:4026531836:b1:4242:123456");
    expect(parseOwner(formatOwner(owner))).toEqual(owner);
    const odd = { host: "a:b", ns: "1", boot: "", pid: 7, start: "9" };
    expect(parseOwner(formatOwner(odd))).toEqual({ host: "a_b", ns: "1", boot: "-", pid: 7, start: "9" });
  });

  it("rejects what is not an owner label", () => {
    // "h:b:12:1" is the older four-part form: not parsed, so the resource falls back to its owner-pid label.
    for (const text of [undefined, "", "4242", "h:n:b:0:1", "h:n:b:x:1", "h:n:b:12", "h:n:b:12:1:extra", ":n:b:12:1", "h:b:12:1"]) {
      expect(parseOwner(text), String(text)).toBeNull();
    }
  });

  it("judges an owner by host, boot and the start time of its pid", () => {
    expect(judgeOwner(owner, here, "123456")).toBe("alive");
    expect(judgeOwner(owner, { ...here, host: "ci-runner" }, null)).toBe("foreign");
    // Same host, another pid namespace (prodlike in a container sharing the engine): its pids mean nothing here.
    expect(judgeOwner(owner, { ...here, ns: "4026532999" }, null)).toBe("foreign");
    expect(judgeOwner(owner, { ...here, boot: "b2" }, "123456")).toBe("dead");
    expect(judgeOwner(owner, here, null)).toBe("dead");
    // pid reuse: the same pid, started at another time, is another process
    expect(judgeOwner(owner, here, "999999")).toBe("dead");
    // nothing to compare: trust the pid
    expect(judgeOwner({ ...owner, start: "-", boot: "-" }, here, "999999")).toBe("alive");
    expect(judgeOwner(owner, here, "-")).toBe("alive");
  });
});

describe("process start time", () => {
  it("reads field 22 after the last parenthesis, whatever the process name holds", () => {
    const rest = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 19 20";
    expect(parseStatStart(`42 (node) ${rest}`)).toBe("777");
    expect(parseStatStart(`42 (we ird) (x) ) ${rest}`)).toBe("777");
    expect(parseStatStart(`42 (node) ${rest.replace(/^S/, "Z")}`)).toBeNull();
    expect(parseStatStart("garbage")).toBeNull();
  });

  it.runIf(process.platform === "linux")("tells this process alive, and a dead or reused pid dead", async () => {
    const me = currentOwner();
    expect(me.pid).toBe(process.pid);
    expect(me.start).toMatch(/^[0-9]+$/);
    expect(me.host).toBe(thisHost().host);
    expect(me.ns).toMatch(/^[0-9]+$/);
    expect(ownerVerdict(me)).toBe("alive");
    expect(ownerVerdict({ ...me, start: String(Number(me.start) + 1) })).toBe("dead");

    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    await once(child, "spawn");
    const start = processStart(child.pid!);
    expect(start).toMatch(/^[0-9]+$/);
    const childOwner = { ...thisHost(), pid: child.pid!, start: start! };
    expect(ownerVerdict(childOwner)).toBe("alive");
    child.kill("SIGKILL");
    await once(child, "exit");
    expect(ownerVerdict(childOwner)).toBe("dead");
    expect(processStart(child.pid!)).toBeNull();
  });
});

describe("isUnder", () => {
  it("matches the folder itself and what is inside, not a sibling with the same prefix", () => {
    expect(isUnder("/tmp/ci/app", "/tmp/ci")).toBe(true);
    expect(isUnder("/tmp/ci", "/tmp/ci/")).toBe(true);
    expect(isUnder("/tmp/ci-2/app", "/tmp/ci")).toBe(false);
    expect(isUnder(undefined, "/tmp/ci")).toBe(false);
    expect(isUnder(undefined, undefined)).toBe(true);
  });
});
