import { resolve } from "node:path";
import type { Command } from "commander";
import { projectName, type StackOverrides } from "../config/resolve.js";
import type { DbProfile, Plan, RedisProfile } from "../config/types.js";
import { ProdlikeError } from "../errors.js";
import { readState, type StackState } from "../state.js";
import { createLogger, type LogFormat, type Logger } from "../logger.js";

export interface GlobalOptions {
  readonly logFormat?: LogFormat;
  readonly logLevel?: string;
}

export function makeLogger(options: GlobalOptions): Logger {
  return createLogger({ format: options.logFormat, level: options.logLevel });
}

/** What a command knows about a project dir without reading its config (which may be broken). */
export async function locate(dir: string | undefined): Promise<{ dir: string; project: string; state: StackState | null }> {
  const absolute = resolve(dir ?? ".");
  return { dir: absolute, project: projectName(absolute), state: await readState(absolute) };
}

/** The flags that choose what production to emulate, shared by `up` and `check`. */
export interface ProfileFlags {
  plan?: Plan;
  db?: DbProfile;
  redis?: RedisProfile;
  env?: string[];
}

/** Declare --plan, --db, --redis and -e on a command (in that order, where it is called). */
export function addProfileOptions(command: Command): Command {
  return command
    .option("--plan <plan>", "Render plan to emulate: free | starter | standard")
    .option("--db <profile>", "database profile: supabase-transaction | supabase-session | neon | render-postgres")
    .option("--redis <profile>", "Redis profile: upstash | redis")
    .option("-e, --env <KEY=VALUE...>", "extra env for the app (beats render.yaml, .env and prodlike.yaml)");
}

/** The overrides those flags make; a malformed --env pair is a CONFIG_INVALID error. */
export function profileOverrides(flags: ProfileFlags): Pick<StackOverrides, "plan" | "db" | "redis" | "env"> {
  const env: Record<string, string> = {};
  for (const pair of flags.env ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new ProdlikeError("CONFIG_INVALID", `--env "${pair}" is not KEY=VALUE: write e.g. --env CONN_MAX_AGE=600`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { plan: flags.plan, db: flags.db, redis: flags.redis, env };
}
