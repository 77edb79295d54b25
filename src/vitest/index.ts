/**
 * prodlike's vitest helpers (`import { useStack } from "prodlike/vitest"`):
 *
 * - `useStack(dir | options)`: one stack per test file (or per `describe` block), started in a
 *   `beforeAll` and removed with its volumes in an `afterAll`; each gets its own instance name
 *   and free ports, so files running in parallel workers never collide.
 * - `injectStack()`: in a test, the stack a `globalStack()` global setup started for the whole
 *   run (`prodlike/vitest/global-setup`), handed over through vitest's provide/inject.
 *
 * vitest is an optional peer dependency of prodlike: only these entry points use it.
 */
export { useStack, type UseStackOptions } from "./use-stack.js";
export { injectStack, type InjectedStack } from "./inject-stack.js";
export type { ProvidedStack, GlobalStackOptions } from "./global-setup.js";
