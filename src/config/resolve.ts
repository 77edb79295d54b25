import { createHash } from "node:crypto";
import { basename, resolve as resolvePath } from "node:path";
import { parseDuration } from "../clock.js";
import { ProdlikeError } from "../errors.js";
import { detectProject, type ProjectFiles } from "./detect.js";
import { at, lineOf } from "./line-of.js";
import type { RenderEnvVar, RenderService, RenderYaml } from "./render-yaml.js";
import {
  PLAN_LIMITS,
  type DbProfile,
  type EnvSource,
  type Plan,
  type PythonVersion,
  type RedisProfile,
  type StackDescription,
} from "./types.js";

/** The Python the images provide (Debian bookworm). */
export const IMAGE_PYTHON = "3.11";
export const DEFAULT_PORTS = { https: 8443, http: 8080 } as const;
export const DEFAULT_BUILD_COMMAND = "pip install -r requirements.txt";
/** How long `prodlike check` waits for one answer: a browser or an HTTP client gives up about then. */
export const DEFAULT_CHECK_CLIENT_TIMEOUT_MS = 30_000;

/** Command-line flags and API options: the top of the precedence order. */
export interface StackOverrides {
  readonly service?: string;
  readonly plan?: Plan;
  readonly httpsPort?: number;
  readonly httpPort?: number;
  readonly db?: DbProfile;
  readonly redis?: RedisProfile;
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Appended to the project name, so a second stack of the same folder (`prodlike check`'s)
   * gets its own containers, network and volumes and never touches the `prodlike up` one.
   */
  readonly projectSuffix?: string;
  /**
   * The ports used when nothing else sets them (flags, PRODLIKE_*_PORT, prodlike.yaml `ports`).
   * Default DEFAULT_PORTS (the CLI's 8443/8080); the library passes 0s: free ports, so many
   * stacks run at once.
   */
  readonly defaultPorts?: { readonly https: number; readonly http: number };
}

/**
 * defaults < detected files < prodlike.yaml < PRODLIKE_* env < flags, resolved once.
 */
export async function resolveStack(
  dir: string,
  overrides: StackOverrides = {},
  processEnv: NodeJS.ProcessEnv = process.env,
): Promise<StackDescription> {
  const absolute = resolvePath(dir);
  const files = await detectProject(absolute);
  return describeStack(files, overrides, processEnv);
}

export function describeStack(
  files: ProjectFiles,
  overrides: StackOverrides = {},
  processEnv: NodeJS.ProcessEnv = process.env,
): StackDescription {
  const warnings: string[] = [...(files.warnings ?? [])];
  const yaml = files.prodlikeYaml?.data ?? {};
  const render = files.renderYaml?.data;
  const service = pickService(files, overrides.service ?? yaml.service);

  if (!files.hasManagePy) {
    warnings.push(`no manage.py in ${files.dir}: is this the Django project's root folder?`);
  }

  const serviceName = sanitizeHost(service?.name ?? yaml.service ?? basename(files.dir));
  const plan = resolvePlan(
    overrides.plan ?? (processEnv.PRODLIKE_PLAN as Plan | undefined) ?? yaml.plan,
    service,
    files,
    warnings,
  );

  const env = resolveEnv(files, render, service, yaml.env ?? {}, overrides.env ?? {});
  const python = resolvePython(files, yaml.python, env, warnings);

  const buildCommand = yaml.buildCommand ?? service?.buildCommand ?? DEFAULT_BUILD_COMMAND;
  if (buildCommand === DEFAULT_BUILD_COMMAND && !files.hasRequirements) {
    throw new ProdlikeError(
      "CONFIG_MISSING",
      `no requirements.txt in ${files.dir}: Render's Python build runs "${DEFAULT_BUILD_COMMAND}". ` +
        "Add a requirements.txt (with Django and gunicorn), or set buildCommand in render.yaml or prodlike.yaml.",
    );
  }
  const start = resolveStartCommand(files, yaml.startCommand, service);
  if (files.procfile && !files.procfile.web && start.source.startsWith("default")) {
    const types = Object.keys(files.procfile);
    warnings.push(
      `Procfile has no "web:" line${types.length > 0 ? ` (only ${types.join(", ")})` : ""}, so the app starts with "${start.command}", ` +
        `prodlike's guess from ${start.source.replace(/^default \(found (.+)\)$/, "$1")}: add "web: ${start.command}" (or your own command) to the Procfile`,
    );
  }

  return {
    dir: files.dir,
    project: overrides.projectSuffix ? `${projectName(files.dir)}-${overrides.projectSuffix}` : projectName(files.dir),
    app: {
      serviceName,
      publicHost: yaml.publicHost ?? `${serviceName}.onrender.com`,
      plan,
      limits: PLAN_LIMITS[plan],
      region: service?.region ?? "oregon",
      python,
      buildCommand,
      preDeployCommand: yaml.preDeployCommand ?? service?.preDeployCommand ?? null,
      startCommand: start.command,
      startCommandSource: start.source,
      healthCheckPath: yaml.healthCheckPath ?? service?.healthCheckPath ?? null,
      coldStartDelayMs: durationMs(yaml.coldStartDelay),
      env,
    },
    database: {
      ...resolveDatabase(render, service, files, overrides.db ?? (processEnv.PRODLIKE_DB as DbProfile | undefined) ?? yaml.db?.profile),
      ...(yaml.db?.maxClientConnections === undefined ? {} : { maxClientConnections: yaml.db.maxClientConnections }),
    },
    redis: { profile: overrides.redis ?? (processEnv.PRODLIKE_REDIS as RedisProfile | undefined) ?? yaml.redis?.profile ?? detectRedisProfile(env) },
    ports: {
      https: overrides.httpsPort ?? envPort(processEnv, "PRODLIKE_HTTPS_PORT") ?? yaml.ports?.https ?? (overrides.defaultPorts ?? DEFAULT_PORTS).https,
      http: overrides.httpPort ?? envPort(processEnv, "PRODLIKE_HTTP_PORT") ?? yaml.ports?.http ?? (overrides.defaultPorts ?? DEFAULT_PORTS).http,
    },
    check: {
      paths: yaml.check?.paths ?? [],
      clientTimeoutMs: yaml.check?.clientTimeout === undefined ? DEFAULT_CHECK_CLIENT_TIMEOUT_MS : durationMs(yaml.check.clientTimeout),
      only: yaml.check?.only ?? [],
      skip: yaml.check?.skip ?? [],
    },
    warnings,
    files: files.files,
  };
}

/** `<basename>-<6 hex of the absolute path>`: two copies of one app never share a stack. */
export function projectName(dir: string): string {
  const base = basename(dir).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "app";
  const hash = createHash("sha256").update(resolvePath(dir)).digest("hex").slice(0, 6);
  return `${base}-${hash}`;
}

function pickService(files: ProjectFiles, wanted: string | undefined): RenderService | undefined {
  const services = files.renderYaml?.data.services ?? [];
  const web = services.filter((s) => s.type === "web");
  if (wanted !== undefined) {
    const found = web.find((s) => s.name === wanted);
    if (!found && files.renderYaml) {
      const names = web.map((s) => s.name).join(", ") || "none";
      throw new ProdlikeError(
        "CONFIG_INVALID",
        `${files.renderYaml.file} has no web service named "${wanted}" (web services: ${names}): fix "service" in prodlike.yaml or --service`,
      );
    }
    return found;
  }
  if (files.renderYaml && services.length > 0 && web.length === 0) {
    throw new ProdlikeError("CONFIG_INVALID", `${files.renderYaml.file} defines no service with "type: web": prodlike runs the web service; add one`);
  }
  return web[0];
}

function resolvePlan(chosen: string | undefined, service: RenderService | undefined, files: ProjectFiles, warnings: string[]): Plan {
  if (chosen !== undefined) {
    if (chosen in PLAN_LIMITS) return chosen as Plan;
    throw new ProdlikeError("CONFIG_INVALID", `plan "${chosen}" is not known: choose free, starter or standard`);
  }
  if (!service) return "free";
  const plan = service.plan ?? "starter";
  if (plan in PLAN_LIMITS) return plan as Plan;
  warnings.push(`${files.renderYaml?.file}: plan "${plan}" is emulated as "standard" (2 GB, 1 CPU)`);
  return "standard";
}

function resolveEnv(
  files: ProjectFiles,
  render: RenderYaml | undefined,
  service: RenderService | undefined,
  yamlEnv: Readonly<Record<string, string>>,
  flagEnv: Readonly<Record<string, string>>,
): Record<string, EnvSource> {
  const env: Record<string, EnvSource> = {};
  const file = files.renderYaml?.file ?? "render.yaml";
  const addRenderVars = (vars: readonly RenderEnvVar[], where: string) => {
    vars.forEach((entry, index) => {
      const from = `${file} ${where}[${index}]`;
      if ("fromGroup" in entry) {
        const group = render?.envVarGroups?.find((g) => g.name === entry.fromGroup);
        if (!group) {
          throw new ProdlikeError("CONFIG_INVALID", `${from}: fromGroup "${entry.fromGroup}" names no group in envVarGroups: add the group or fix the name`);
        }
        addRenderVars(group.envVars, `envVarGroups.${group.name}.envVars`);
      } else if ("value" in entry) env[entry.key] = { kind: "value", value: entry.value, from };
      else if ("generateValue" in entry) env[entry.key] = { kind: "generated", from };
      else if ("fromDatabase" in entry) env[entry.key] = { kind: "database", property: entry.fromDatabase.property, from };
      else if ("sync" in entry) {
        const value = files.dotenv[entry.key];
        if (value === undefined) {
          throw new ProdlikeError(
            "CONFIG_MISSING",
            `${from}: ${entry.key} has "sync: false" (set by hand in Render's dashboard) and .env does not set it: add ${entry.key}=<value> to ${files.dir}/.env`,
          );
        }
        env[entry.key] = { kind: "value", value, from: ".env" };
      } else if ("fromService" in entry) {
        // Other services of the blueprint are not run; the key stays unset and the app sees that.
      }
    });
  };
  addRenderVars(service?.envVars ?? [], `services.${service?.name}.envVars`);
  for (const [key, value] of Object.entries(files.dotenv)) env[key] = { kind: "value", value, from: ".env" };
  for (const [key, value] of Object.entries(yamlEnv)) env[key] = { kind: "value", value, from: "prodlike.yaml" };
  for (const [key, value] of Object.entries(flagEnv)) env[key] = { kind: "value", value, from: "--env" };
  return env;
}

function resolvePython(
  files: ProjectFiles,
  fromYaml: string | undefined,
  env: Readonly<Record<string, EnvSource>>,
  warnings: string[],
): PythonVersion {
  const envVersion = env.PYTHON_VERSION;
  const candidates: [string | null | undefined, string][] = [
    [fromYaml, "prodlike.yaml python"],
    [envVersion?.kind === "value" ? envVersion.value : undefined, `PYTHON_VERSION (${envVersion?.from})`],
    [files.pythonVersionFile, ".python-version"],
    [files.runtimeTxt?.replace(/^python-/, ""), "runtime.txt"],
  ];
  const [requested, source] = candidates.find(([value]) => value) ?? [null, null];
  if (requested && !(requested === IMAGE_PYTHON || requested.startsWith(`${IMAGE_PYTHON}.`))) {
    warnings.push(
      `${pythonSourceAt(files, source!, envVersion)}: ${source} asks for Python ${requested}; the images provide Python ${IMAGE_PYTHON} ` +
        `(Debian bookworm), which runs instead. Behaviour that depends on the version may differ from production: ` +
        `to silence this, ask for ${IMAGE_PYTHON} there.`,
    );
  }
  return { requested: requested ?? null, source: requested ? source : null, runs: IMAGE_PYTHON };
}

/** Where the requested Python version was written, as `file:line`. */
function pythonSourceAt(files: ProjectFiles, source: string, envVersion: EnvSource | undefined): string {
  const text = (name: string) => files.texts?.[name];
  if (source === ".python-version" || source === "runtime.txt") return at(source, 1);
  if (source === "prodlike.yaml python") return at("prodlike.yaml", lineOf(text("prodlike.yaml"), /^\s*python\s*:/));
  const from = envVersion?.from ?? "";
  if (from === ".env") return at(".env", lineOf(text(".env"), /^\s*(export\s+)?PYTHON_VERSION\s*=/));
  const file = files.renderYaml?.file ?? "render.yaml";
  if (from.startsWith(file)) return at(file, lineOf(text(file), /key\s*:\s*["']?PYTHON_VERSION\b/));
  return from || source;
}

function resolveStartCommand(
  files: ProjectFiles,
  fromYaml: string | undefined,
  service: RenderService | undefined,
): { command: string; source: string } {
  if (fromYaml) return { command: fromYaml, source: "prodlike.yaml startCommand" };
  if (service?.startCommand) return { command: service.startCommand, source: `${files.renderYaml?.file} startCommand` };
  const web = files.procfile?.web;
  if (web) return { command: web, source: "Procfile web" };
  const [pkg, ...others] = files.wsgiPackages;
  if (pkg && others.length === 0) return { command: `gunicorn ${pkg}.wsgi`, source: `default (found ${pkg}/wsgi.py)` };
  const why = others.length > 0 ? `several packages have a wsgi.py (${files.wsgiPackages.join(", ")})` : "no <package>/wsgi.py was found";
  throw new ProdlikeError(
    "CONFIG_MISSING",
    `no start command for ${files.dir}: ${why}, and there is no render.yaml startCommand or Procfile "web:" line. ` +
      `Add a Procfile with "web: gunicorn <project>.wsgi", or set startCommand in prodlike.yaml.`,
  );
}

function resolveDatabase(
  render: RenderYaml | undefined,
  service: RenderService | undefined,
  files: ProjectFiles,
  chosen: DbProfile | undefined,
): StackDescription["database"] {
  const referenced = service?.envVars?.flatMap((v) => ("fromDatabase" in v ? [v.fromDatabase.name] : [])) ?? [];
  const declared = render?.databases?.find((d) => referenced.includes(d.name)) ?? render?.databases?.[0];
  const name = declared?.name ?? "db";
  const fallback = name.replace(/[^A-Za-z0-9_]/g, "_").toLowerCase();
  return {
    name,
    databaseName: declared?.databaseName ?? fallback,
    user: declared?.user ?? fallback,
    profile: chosen ?? detectDbProfile(files, referenced.length > 0),
  };
}

/** The production URL shape says which pooler the app runs behind. */
export function detectDbProfile(files: ProjectFiles, fromRenderDatabase: boolean): DbProfile {
  if (fromRenderDatabase) return "render-postgres";
  const url = files.dotenv.DATABASE_URL ?? "";
  if (/pooler\.supabase\.com:6543/.test(url)) return "supabase-transaction";
  if (/pooler\.supabase\.com/.test(url)) return "supabase-session";
  if (/\.neon\.tech/.test(url)) return "neon";
  return "render-postgres";
}

function detectRedisProfile(env: Readonly<Record<string, EnvSource>>): RedisProfile {
  const url = env.REDIS_URL;
  const value = url?.kind === "value" ? url.value : "";
  return value.startsWith("rediss://") || value.includes("upstash.io") ? "upstash" : "redis";
}

/** prodlike.yaml durations: the schema already checked the text. */
function durationMs(value: number | string | undefined): number {
  if (value === undefined) return 0;
  return typeof value === "number" ? value : parseDuration(value);
}

function sanitizeHost(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "app";
}

function envPort(env: NodeJS.ProcessEnv, key: string): number | undefined {
  const raw = env[key];
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ProdlikeError("CONFIG_INVALID", `${key}="${raw}" is not a port number: use 0-65535 (0 picks a free port)`);
  }
  return port;
}
