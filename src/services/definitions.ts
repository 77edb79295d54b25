import type { StackDescription } from "../config/types.js";
import type { ServiceImage } from "../engine/images.js";
import type { Secrets } from "../state.js";

/**
 * The backing services of a stack as small descriptions: which image, which port, which
 * volume, which env, how long readiness may take. The stack turns them into containers.
 */
export interface ServiceDefinition {
  readonly name: "postgres" | "pgbouncer" | "redis" | "minio";
  readonly image: ServiceImage;
  /** Port inside the container; also its host name on the stack network is `name`. */
  readonly port: number;
  readonly volume?: { readonly purpose: string; readonly path: string };
  readonly readyTimeoutMs: number;
  readonly what: string;
  /** Services that must be ready first. */
  readonly after: readonly ServiceDefinition["name"][];
  env(stack: StackDescription, secrets: Secrets): Record<string, string>;
}

export const PGBOUNCER_PORT = 6432;

const postgres: ServiceDefinition = {
  name: "postgres",
  image: "postgres",
  port: 5432,
  volume: { purpose: "pgdata", path: "/var/lib/postgresql/data" },
  readyTimeoutMs: 90_000,
  what: "PostgreSQL accepting connections",
  after: [],
  env: (stack, secrets) => ({
    POSTGRES_USER: stack.database.user,
    POSTGRES_PASSWORD: secrets.postgresPassword,
    POSTGRES_DB: stack.database.databaseName,
  }),
};

const pgbouncer: ServiceDefinition = {
  name: "pgbouncer",
  image: "pgbouncer",
  port: PGBOUNCER_PORT,
  readyTimeoutMs: 60_000,
  what: "PgBouncer accepting connections",
  after: ["postgres"],
  env: (stack, secrets) => ({
    DB_HOST: "postgres",
    DB_PORT: "5432",
    DB_USER: stack.database.user,
    DB_PASSWORD: secrets.postgresPassword,
    DB_NAME: stack.database.databaseName,
    // Supabase's 6543 and Neon's -pooler are transaction mode; the others behave like a session.
    POOL_MODE: stack.database.profile === "supabase-transaction" || stack.database.profile === "neon" ? "transaction" : "session",
    LISTEN_PORT: String(PGBOUNCER_PORT),
  }),
};

const redis: ServiceDefinition = {
  name: "redis",
  image: "redis",
  port: 6379,
  readyTimeoutMs: 30_000,
  what: "Redis answering PING",
  after: [],
  env: (_stack, secrets) => ({ REDIS_PASSWORD: secrets.redisPassword }),
};

const minio: ServiceDefinition = {
  name: "minio",
  image: "minio",
  port: 9000,
  volume: { purpose: "minio", path: "/data" },
  readyTimeoutMs: 60_000,
  what: "MinIO live",
  after: [],
  env: (_stack, secrets) => ({ MINIO_ROOT_USER: secrets.minioUser, MINIO_ROOT_PASSWORD: secrets.minioPassword }),
};

export const SERVICES: readonly ServiceDefinition[] = [postgres, pgbouncer, redis, minio];
