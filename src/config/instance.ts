import { randomBytes } from "node:crypto";
import { ProdlikeError } from "../errors.js";

/**
 * An instance name ends up in every Docker name of the stack
 * (`prodlike-<project>-<instance>-<service>`): keep it short and DNS-safe.
 */
const INSTANCE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?$/;

/** The name as given when it is usable as an instance name, else a user error saying why. */
export function checkInstanceName(name: string): string {
  if (INSTANCE_NAME.test(name)) return name;
  throw new ProdlikeError(
    "CONFIG_INVALID",
    `instance "${name}" is not a usable instance name: use 1 to 24 lowercase letters, digits and dashes, ` +
      'starting and ending with a letter or digit (for example "ci-1")',
  );
}

/**
 * A fresh instance name, `<prefix>-<6 hex>`: unique across processes and hosts sharing an
 * engine, so parallel test files and CI shards never pick the same one.
 */
export function uniqueInstanceName(prefix = "i"): string {
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 16) || "i";
  return checkInstanceName(`${base}-${randomBytes(3).toString("hex")}`);
}
