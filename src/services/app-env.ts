import { createHash, randomBytes } from "node:crypto";
import type { DatabaseProperty, StackDescription } from "../config/types.js";
import type { Secrets } from "../state.js";

export const APP_PORT = 10000;

export interface DatabaseEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly url: string;
}

export interface AppEndpoints {
  readonly database: DatabaseEndpoint;
  readonly redisUrl: string;
}

export interface GitInfo {
  readonly commit: string;
  readonly branch: string;
}

/** Keys the platform owns: a value from render.yaml or .env is replaced, as on Render. */
const PLATFORM_OWNED = new Set(["DATABASE_URL", "REDIS_URL", "PORT"]);
/** Sources that are prodlike's own overrides and so beat the platform's values. */
const EXPLICIT = new Set(["prodlike.yaml", "--env"]);

export function serviceId(stack: StackDescription): string {
  return `srv-${createHash("sha256").update(stack.project).digest("hex").slice(0, 20)}`;
}

/**
 * The env the app sees at build and run time: the user's (render.yaml < .env < prodlike.yaml)
 * with references filled in, then what Render sets, then production defaults.
 */
export function appEnv(stack: StackDescription, secrets: Secrets, endpoints: AppEndpoints, git: GitInfo): Record<string, string> {
  const { app } = stack;
  const external = `${app.serviceName}.onrender.com`;
  const env: Record<string, string> = { DEBUG: "False" };
  const explicit: Record<string, string> = {};
  for (const [key, source] of Object.entries(app.env)) {
    const value =
      source.kind === "value" ? source.value : source.kind === "generated" ? secrets.generated[key]! : databaseProperty(endpoints.database, source.property);
    if (source.kind === "value" && EXPLICIT.has(source.from)) explicit[key] = value;
    else if (!PLATFORM_OWNED.has(key)) env[key] = value;
  }
  env.SECRET_KEY ??= secrets.generated.SECRET_KEY!;
  Object.assign(env, {
    DATABASE_URL: endpoints.database.url,
    REDIS_URL: endpoints.redisUrl,
    PORT: String(APP_PORT),
    RENDER: "true",
    IS_PULL_REQUEST: "false",
    RENDER_EXTERNAL_HOSTNAME: external,
    RENDER_EXTERNAL_URL: `https://${external}`,
    RENDER_SERVICE_NAME: app.serviceName,
    RENDER_SERVICE_ID: serviceId(stack),
    RENDER_SERVICE_TYPE: "web",
    RENDER_GIT_COMMIT: git.commit,
    RENDER_GIT_BRANCH: git.branch,
    RENDER_CPU_COUNT: String(Math.max(1, Math.ceil(app.limits.cpus))),
    PYTHON_VERSION: app.python.requested ?? app.python.runs,
  });
  return { ...env, ...explicit };
}

/** Each container gets its own instance id, as each Render instance does. */
export function instanceEnv(stack: StackDescription): Record<string, string> {
  return { RENDER_INSTANCE_ID: `${serviceId(stack)}-${randomBytes(3).toString("hex").slice(0, 5)}` };
}

function databaseProperty(db: DatabaseEndpoint, property: DatabaseProperty): string {
  switch (property) {
    case "connectionString":
      return db.url;
    case "host":
      return db.host;
    case "port":
      return String(db.port);
    case "user":
      return db.user;
    case "password":
      return db.password;
    case "database":
      return db.database;
  }
}

/** `postgresql://user:pw@host:port/db?sslmode=require` with the parts escaped. */
export function postgresUrl(db: Omit<DatabaseEndpoint, "url">, params = "sslmode=require"): string {
  return `postgresql://${encodeURIComponent(db.user)}:${encodeURIComponent(db.password)}@${db.host}:${db.port}/${encodeURIComponent(db.database)}${params ? `?${params}` : ""}`;
}
