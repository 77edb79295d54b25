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

export interface CloudinaryAccount {
  /** `https://host:port` of the stand-in: API and delivery. */
  readonly url: string;
  readonly cloudName: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

export interface AppEndpoints {
  readonly database: DatabaseEndpoint;
  readonly redisUrl: string;
  readonly cloudinary?: CloudinaryAccount;
}

export interface GitInfo {
  readonly commit: string;
  readonly branch: string;
}

/** Keys the platform owns: a value from render.yaml or .env is replaced, as on Render. */
const PLATFORM_OWNED = new Set([
  "DATABASE_URL",
  "REDIS_URL",
  "PORT",
  "CLOUDINARY_URL",
  "CLOUDINARY_CLOUD_NAME",
  "CLOUDINARY_API_KEY",
  "CLOUDINARY_API_SECRET",
  "CLOUDINARY_UPLOAD_PREFIX",
  "CLOUDINARY_SECURE_DISTRIBUTION",
  "CLOUDINARY_CNAME",
]);
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
  if (endpoints.cloudinary) Object.assign(env, cloudinaryEnv(endpoints.cloudinary, "CLOUDINARY_CLOUD_NAME" in app.env));
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

/**
 * The unmodified SDK talks to the stand-in: upload_prefix for the API, secure_distribution for
 * https delivery URLs (django-cloudinary-storage forces secure ones) and cname for http ones (the
 * SDK's default until something sets secure=True: a management command, a fresh worker). The
 * stand-in answers both schemes on one port. When the app configures the SDK with
 * CLOUDINARY_CLOUD_NAME & co., every CLOUDINARY_* env is a config key and CLOUDINARY_URL is
 * ignored, so both forms are set. `uploadPrefix` replaces the API's base (the host side's plain
 * HTTP one: the SDK trusts only certifi's CAs).
 */
export function cloudinaryEnv(account: CloudinaryAccount, separateKeys: boolean, options: { uploadPrefix?: string } = {}): Record<string, string> {
  const host = new URL(account.url).host;
  const uploadPrefix = options.uploadPrefix ?? account.url;
  const url = `cloudinary://${account.apiKey}:${account.apiSecret}@${account.cloudName}?upload_prefix=${uploadPrefix}&secure_distribution=${host}&cname=${host}`;
  const env: Record<string, string> = { CLOUDINARY_URL: url, CLOUDINARY_UPLOAD_PREFIX: uploadPrefix, CLOUDINARY_SECURE_DISTRIBUTION: host, CLOUDINARY_CNAME: host };
  if (separateKeys) {
    Object.assign(env, { CLOUDINARY_CLOUD_NAME: account.cloudName, CLOUDINARY_API_KEY: account.apiKey, CLOUDINARY_API_SECRET: account.apiSecret });
  }
  return env;
}

/** Keep the cloud name the app uses in production (from its CLOUDINARY_URL or CLOUDINARY_CLOUD_NAME). */
export function productionCloudName(stack: StackDescription): string {
  const url = stack.app.env.CLOUDINARY_URL;
  if (url?.kind === "value") {
    const match = /^cloudinary:\/\/[^@]*@([^?/]+)/.exec(url.value);
    if (match) return match[1]!;
  }
  const name = stack.app.env.CLOUDINARY_CLOUD_NAME;
  return name?.kind === "value" && /^[\w-]+$/.test(name.value) ? name.value : "prodlike";
}
