import { ProdlikeError } from "../errors.js";
import { isAlive, readControl } from "../state.js";
import { locate } from "./context.js";

/** Call the running stack's control API (the process that owns the links, clock and edge). */
export async function callControl(dir: string | undefined, method: string, path: string, body?: unknown): Promise<unknown> {
  const where = await locate(dir);
  const access = await readControl(where.dir);
  if (!access || !where.state || !isAlive(where.state.pid)) {
    throw new ProdlikeError("STACK_NOT_FOUND", `no stack runs for ${where.dir}: start one with \`prodlike up -d ${dir ?? "."}\` (or \`prodlike up\` in another terminal)`);
  }
  const response = await fetch(`${access.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${access.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((err: unknown) => {
    throw new ProdlikeError("STACK_NOT_FOUND", `the stack's control API at ${access.url} does not answer (${String(err)}): is its process still running? \`prodlike status\``);
  });
  if (response.status === 204) return undefined;
  const payload = (await response.json()) as { error?: { code: string; message: string } };
  if (!response.ok) {
    throw new ProdlikeError(response.status === 400 || response.status === 409 ? "TOXIC_INVALID" : "SERVICE_UNKNOWN", payload.error?.message ?? `HTTP ${response.status}`);
  }
  return payload;
}
