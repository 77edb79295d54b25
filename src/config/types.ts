/**
 * The resolved, typed description of one stack. Everything downstream (engine, services,
 * links, edge) takes this and never reads the user's files itself.
 */
export type Plan = "free" | "starter" | "standard";

export interface PlanLimits {
  readonly memoryMb: number;
  readonly cpus: number;
  /** Free web services spin down after this long without inbound traffic. */
  readonly sleepAfterMs: number | null;
}

export const PLAN_LIMITS: Readonly<Record<Plan, PlanLimits>> = {
  free: { memoryMb: 512, cpus: 0.1, sleepAfterMs: 15 * 60_000 },
  starter: { memoryMb: 512, cpus: 0.5, sleepAfterMs: null },
  standard: { memoryMb: 2048, cpus: 1, sleepAfterMs: null },
};

export type DbProfile = "supabase-transaction" | "supabase-session" | "neon" | "render-postgres";
export type RedisProfile = "upstash" | "redis";

/** Where an env value comes from; references are filled in by the stack once services run. */
export type EnvSource =
  | { readonly kind: "value"; readonly value: string; readonly from: string }
  | { readonly kind: "generated"; readonly from: string }
  | { readonly kind: "database"; readonly property: DatabaseProperty; readonly from: string };

export type DatabaseProperty = "connectionString" | "host" | "port" | "user" | "password" | "database";

export interface PythonVersion {
  /** What the project asked for, e.g. "3.11.4", or null when nothing says. */
  readonly requested: string | null;
  /** The file that said it ("runtime.txt", ".python-version", "render.yaml envVars PYTHON_VERSION"). */
  readonly source: string | null;
  /** What will run (the images' Python). */
  readonly runs: string;
}

export interface AppDescription {
  /** Render service name: the public host is `<name>.onrender.com`. */
  readonly serviceName: string;
  readonly publicHost: string;
  readonly plan: Plan;
  readonly limits: PlanLimits;
  readonly region: string;
  readonly python: PythonVersion;
  readonly buildCommand: string;
  readonly preDeployCommand: string | null;
  readonly startCommand: string;
  /** Where the start command came from, for error messages. */
  readonly startCommandSource: string;
  readonly healthCheckPath: string | null;
  /** Extra real time added to every wake from sleep, after the app is ready (prodlike.yaml coldStartDelay). */
  readonly coldStartDelayMs: number;
  /** User env in precedence order already applied (render.yaml < .env < prodlike.yaml). */
  readonly env: Readonly<Record<string, EnvSource>>;
}

export interface DatabaseDescription {
  /** The render.yaml database name, or "db". */
  readonly name: string;
  readonly databaseName: string;
  readonly user: string;
  readonly profile: DbProfile;
  /** prodlike.yaml `db.maxClientConnections`: the pooler's client limit `prodlike check` applies (default: the profile's). */
  readonly maxClientConnections?: number;
}

export interface RedisDescription {
  readonly profile: RedisProfile;
}

/** `prodlike check` settings from prodlike.yaml `check:`. */
export interface CheckDescription {
  /** Paths to exercise besides the health path and the front page's links. */
  readonly paths: readonly string[];
  readonly clientTimeoutMs: number;
  /** Scenario ids to run (empty: all) and to leave out. */
  readonly only: readonly string[];
  readonly skip: readonly string[];
}

export interface StackDescription {
  /** Absolute project directory. */
  readonly dir: string;
  /** Docker-safe stack name, unique per directory: `<basename>-<hash>`. */
  readonly project: string;
  readonly app: AppDescription;
  readonly database: DatabaseDescription;
  readonly redis: RedisDescription;
  readonly ports: { readonly https: number; readonly http: number };
  readonly check: CheckDescription;
  /** Things worth telling the user that do not stop the stack. */
  readonly warnings: readonly string[];
  /** The files that were read, relative to dir. */
  readonly files: readonly string[];
}
