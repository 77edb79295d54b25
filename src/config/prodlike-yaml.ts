import { z } from "zod";
import { parseDuration } from "../clock.js";

/** "2s", "500ms", "1m30s"; a bare number is milliseconds. */
const DurationSchema = z.union([
  z.number().int().min(0),
  z.string().refine((text) => {
    try {
      parseDuration(text);
      return true;
    } catch {
      return false;
    }
  }, "a duration like 2s, 500ms or 1m30s"),
]);

/** prodlike.yaml: optional overrides of what detection found. Strict, like render.yaml. */
export const ProdlikeYamlSchema = z.strictObject({
  /** Which render.yaml web service to run, when there are several. */
  service: z.string().min(1).optional(),
  plan: z.enum(["free", "starter", "standard"]).optional(),
  python: z.string().regex(/^3\.\d+(\.\d+)?$/, "a Python version like 3.11 or 3.11.9").optional(),
  buildCommand: z.string().min(1).optional(),
  preDeployCommand: z.string().min(1).optional(),
  startCommand: z.string().min(1).optional(),
  healthCheckPath: z.string().startsWith("/").optional(),
  /** A custom domain to use as the production Host header instead of `<service>.onrender.com`. */
  publicHost: z.string().min(1).optional(),
  /** Extra wait added to every wake from sleep, after the app is ready (a slow boot, on purpose). */
  coldStartDelay: DurationSchema.optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  ports: z
    .strictObject({
      https: z.number().int().min(0).max(65535).optional(),
      http: z.number().int().min(0).max(65535).optional(),
    })
    .optional(),
  db: z
    .strictObject({
      profile: z.enum(["supabase-transaction", "supabase-session", "neon", "render-postgres"]).optional(),
      /** The pooler's client limit for `prodlike check` (default: the profile's); lower it to leave room for other clients. */
      maxClientConnections: z.number().int().min(1).optional(),
    })
    .optional(),
  redis: z.strictObject({ profile: z.enum(["upstash", "redis"]) }).optional(),
  /** `prodlike check`: which paths to exercise and which scenarios to run. */
  check: z
    .strictObject({
      /** Same-site paths to request besides the health path and the front page's links. */
      paths: z.array(z.string().startsWith("/")).optional(),
      /** How long a scenario's request may wait for an answer (a browser or a client gives up then). */
      clientTimeout: DurationSchema.optional(),
      only: z.array(z.string().min(1)).optional(),
      skip: z.array(z.string().min(1)).optional(),
    })
    .optional(),
});
export type ProdlikeYaml = z.infer<typeof ProdlikeYamlSchema>;

export const PRODLIKE_YAML_HINTS: Readonly<Record<string, string>> = {
  plan: "plan is one of free, starter, standard",
  python: 'python is a version like "3.11"',
  profile: "db.profile is supabase-transaction, supabase-session, neon or render-postgres; redis.profile is upstash or redis",
  maxClientConnections: "db.maxClientConnections is a whole number of client connections (1 or more)",
  ports: "ports.https and ports.http are port numbers (0 picks a free one)",
  check: 'check has paths (a list of "/path/"), clientTimeout (a duration like "30s"), only and skip (lists of scenario ids)',
  coldStartDelay: 'coldStartDelay is a duration like "2s" or "500ms" (a number is milliseconds)',
};
