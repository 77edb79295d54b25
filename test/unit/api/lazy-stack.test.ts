import { describe, expect, it } from "vitest";
import { isProdlikeError } from "../../../src/errors.js";
import type { RunningStack } from "../../../src/stack.js";
import { lazyStack } from "../../../src/vitest/use-stack.js";

/** Private fields, as RunningStack has: a method called on the proxy instead of the target would throw. */
class FakeStack {
  readonly url = "https://app.onrender.localhost:1234";
  readonly #secret = "seen";
  secret(): string {
    return this.#secret;
  }
}

describe("the handle useStack returns", () => {
  it("throws a clear error when used before the stack is up", () => {
    const handle = lazyStack("/apps/x", () => undefined);
    let err: unknown;
    try {
      void handle.url;
    } catch (e) {
      err = e;
    }
    expect(isProdlikeError(err, "STACK_NOT_FOUND")).toBe(true);
    expect((err as Error).message).toContain('the stack of /apps/x is not running here (reading "url")');
  });

  it("is not a thenable and can be inspected before the start", async () => {
    const handle = lazyStack("/apps/x", () => undefined);
    expect((handle as unknown as { then?: unknown }).then).toBeUndefined();
    expect(await Promise.resolve(handle)).toBe(handle);
    expect(String(Object.prototype.toString.call(handle))).toBe("[object Object]");
  });

  it("reads the started stack at the moment of use, methods bound to it", () => {
    let current: FakeStack | undefined;
    const handle = lazyStack("/apps/x", () => current as unknown as RunningStack | undefined) as unknown as FakeStack;
    current = new FakeStack();
    expect(handle.url).toBe("https://app.onrender.localhost:1234");
    const { secret } = handle;
    expect(secret()).toBe("seen");
    expect("url" in handle).toBe(true);
  });
});
