import { createHash } from "node:crypto";
import type { StackDescription } from "../config/types.js";

/**
 * How the app reaches Postgres and Redis for a profile: the production host name and port
 * (in the stack network, a name of the platform container, where the link listens), the URL
 * parameters, whether the link speaks TLS, and the faults that profile has by default.
 */
export interface LinkPlan {
  readonly db: { readonly host: string; readonly port: number; readonly params: string; readonly toxics: readonly Record<string, unknown>[] };
  readonly redis: { readonly host: string; readonly port: number; readonly tls: boolean; readonly toxics: readonly Record<string, unknown>[] };
}

/**
 * Supavisor's idle timeout is not published; 10 min reproduces "the 500 after idle" before
 * Render's 15 min sleep would replace the instance. Override with a toxic or prodlike.yaml.
 */
export const SUPAVISOR_IDLE_TIMEOUT = "10m";
export const NEON_SUSPEND_AFTER = "5m";

export function planLinks(stack: StackDescription): LinkPlan {
  const id = createHash("sha256").update(stack.project).digest("hex");
  const prodDb = userUrl(stack, "DATABASE_URL");
  const prodRedis = userUrl(stack, "REDIS_URL");
  return { db: planDb(stack, id, prodDb), redis: planRedis(stack, id, prodRedis) };
}

function planDb(stack: StackDescription, id: string, prod: URL | null): LinkPlan["db"] {
  switch (stack.database.profile) {
    case "supabase-transaction":
    case "supabase-session": {
      const host = prod?.hostname.endsWith(".pooler.supabase.com") ? prod.hostname : "aws-0-us-east-1.pooler.supabase.com";
      return {
        host,
        port: stack.database.profile === "supabase-transaction" ? 6543 : 5432,
        params: "sslmode=require",
        toxics: [{ type: "idle_drop", name: "supavisor_idle", attributes: { timeout: SUPAVISOR_IDLE_TIMEOUT, mode: "silent" } }],
      };
    }
    case "neon": {
      const host = prod?.hostname.endsWith(".neon.tech") ? prod.hostname : `ep-prodlike-${id.slice(0, 6)}-pooler.us-east-2.aws.neon.tech`;
      // channel_binding=require needs SCRAM-PLUS end to end, which a TLS-terminating link cannot give.
      return { host, port: 5432, params: "sslmode=require", toxics: [{ type: "neon_suspend", name: "neon_suspend", attributes: { after: NEON_SUSPEND_AFTER } }] };
    }
    case "render-postgres":
      return { host: `dpg-${id.slice(0, 20)}-a`, port: 5432, params: "sslmode=require", toxics: [] };
  }
}

function planRedis(stack: StackDescription, id: string, prod: URL | null): LinkPlan["redis"] {
  if (stack.redis.profile === "upstash") {
    const host = prod?.hostname.endsWith(".upstash.io") ? prod.hostname : `${stack.app.serviceName}-${id.slice(0, 5)}.upstash.io`;
    return { host, port: 6379, tls: true, toxics: [] };
  }
  return { host: `red-${id.slice(0, 20)}`, port: 6379, tls: false, toxics: [] };
}

function userUrl(stack: StackDescription, key: string): URL | null {
  const source = stack.app.env[key];
  if (source?.kind !== "value") return null;
  try {
    return new URL(source.value);
  } catch {
    return null;
  }
}

/** The app-side Redis URL: Upstash's shape has no database number. */
export function redisUrl(plan: LinkPlan["redis"], host: string, port: number, password: string): string {
  return `${plan.tls ? "rediss" : "redis"}://default:${encodeURIComponent(password)}@${host}:${port}${plan.tls ? "" : "/0"}`;
}
