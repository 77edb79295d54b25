import { ProdlikeError } from "../errors.js";
import { callPlatform } from "../platform/client.js";
import { readControl } from "../state.js";
import { locate } from "./context.js";

/** Call the running stack's platform (its links, clock, edge and app) through its control API. */
export async function callControl(dir: string | undefined, method: string, path: string, body?: unknown): Promise<unknown> {
  const where = await locate(dir);
  const access = await readControl(where.dir);
  if (!access || !where.state || where.state.status !== "running") {
    throw new ProdlikeError("STACK_NOT_FOUND", `no stack runs for ${where.dir}: start one with \`prodlike up -d ${dir ?? "."}\` (or \`prodlike up\` in another terminal)`);
  }
  return callPlatform(access, method, path, body);
}
