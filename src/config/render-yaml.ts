import { z } from "zod";

/**
 * render.yaml (Render Blueprint) as far as prodlike reads it. Objects are strict so a typo
 * (`startComand`) is an error that names the field, but every field Render documents is
 * accepted, so a real blueprint never fails here for being complete.
 */
const EnvVarSchema = z.union([
  z.strictObject({ key: z.string().min(1), value: z.union([z.string(), z.number(), z.boolean()]).transform(String) }),
  z.strictObject({ key: z.string().min(1), generateValue: z.literal(true) }),
  z.strictObject({ key: z.string().min(1), sync: z.literal(false) }),
  z.strictObject({
    key: z.string().min(1),
    fromDatabase: z.strictObject({
      name: z.string().min(1),
      property: z.enum(["connectionString", "host", "port", "user", "password", "database"]),
    }),
  }),
  z.strictObject({
    key: z.string().min(1),
    fromService: z.strictObject({
      name: z.string().min(1),
      type: z.string(),
      property: z.string().optional(),
      envVarKey: z.string().optional(),
    }),
  }),
  z.strictObject({ fromGroup: z.string().min(1) }),
]);
export type RenderEnvVar = z.infer<typeof EnvVarSchema>;

const loose = z.unknown().optional();

export const RenderServiceSchema = z.strictObject({
  type: z.enum(["web", "pserv", "worker", "cron", "keyvalue", "redis", "static"]),
  name: z.string().min(1),
  runtime: z.string().optional(),
  env: z.string().optional(),
  plan: z.string().optional(),
  region: z.string().optional(),
  repo: z.string().optional(),
  branch: z.string().optional(),
  rootDir: z.string().optional(),
  buildCommand: z.string().optional(),
  startCommand: z.string().optional(),
  preDeployCommand: z.string().optional(),
  healthCheckPath: z.string().startsWith("/").optional(),
  envVars: z.array(EnvVarSchema).optional(),
  autoDeploy: z.boolean().optional(),
  autoDeployTrigger: z.string().optional(),
  numInstances: z.number().int().optional(),
  scaling: loose,
  disk: loose,
  domains: z.array(z.string()).optional(),
  buildFilter: loose,
  pullRequestPreviewsEnabled: z.boolean().optional(),
  previews: loose,
  maxShutdownDelaySeconds: z.number().optional(),
  dockerfilePath: z.string().optional(),
  dockerContext: z.string().optional(),
  dockerCommand: z.string().optional(),
  image: loose,
  registryCredential: loose,
  ipAllowList: loose,
  staticPublishPath: z.string().optional(),
  headers: loose,
  routes: loose,
  schedule: z.string().optional(),
  maxmemoryPolicy: z.string().optional(),
});
export type RenderService = z.infer<typeof RenderServiceSchema>;

export const RenderDatabaseSchema = z.strictObject({
  name: z.string().min(1),
  databaseName: z.string().optional(),
  user: z.string().optional(),
  plan: z.string().optional(),
  region: z.string().optional(),
  postgresMajorVersion: z.union([z.string(), z.number()]).optional(),
  ipAllowList: loose,
  diskSizeGB: z.number().optional(),
  highAvailability: loose,
  readReplicas: loose,
});

export const RenderYamlSchema = z.strictObject({
  services: z.array(RenderServiceSchema).optional(),
  databases: z.array(RenderDatabaseSchema).optional(),
  envVarGroups: z
    .array(z.strictObject({ name: z.string().min(1), envVars: z.array(EnvVarSchema) }))
    .optional(),
  previews: loose,
  previewsEnabled: z.boolean().optional(),
  previewsExpireAfterDays: z.number().optional(),
  projects: loose,
  ungrouped: loose,
});
export type RenderYaml = z.infer<typeof RenderYamlSchema>;

/** Fixes for the mistakes people make, keyed by the field's last path segment. */
export const RENDER_FIELD_HINTS: Readonly<Record<string, string>> = {
  envVars:
    "each entry is {key, value}, {key, generateValue: true}, {key, sync: false}, {key, fromDatabase: {name, property}}, {key, fromService: {...}} or {fromGroup}",
  property: "fromDatabase.property is one of connectionString, host, port, user, password, database",
  healthCheckPath: "healthCheckPath is a path starting with '/', e.g. /healthz",
  type: "a service type is web, pserv, worker, cron, keyvalue or static",
};
