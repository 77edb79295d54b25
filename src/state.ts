import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** `<dir>/.prodlike/`: the stack's state file and the secrets kept per project. */
export function stateDir(dir: string): string {
  return join(dir, ".prodlike");
}

export interface Secrets {
  /** True when this load made them (no secrets.json before). */
  readonly fresh?: boolean;
  readonly postgresPassword: string;
  readonly redisPassword: string;
  readonly minioUser: string;
  readonly minioPassword: string;
  readonly cloudinaryKey: string;
  readonly cloudinarySecret: string;
  /** Values of `generateValue: true` env vars and the default SECRET_KEY, kept across runs. */
  readonly generated: Record<string, string>;
}

/** Load the project's secrets, making and saving any that are missing. */
/**
 * The project's secrets, new ones generated where missing. They are written to secrets.json
 * (mode 600) unless `save` is false: then the caller saves them with `saveSecrets` once it knows
 * they are the ones to keep (a database volume made with a lost password must not get a new one).
 */
export async function loadSecrets(dir: string, generatedKeys: readonly string[], { save = true } = {}): Promise<Secrets> {
  const file = join(stateDir(dir), "secrets.json");
  const stored = JSON.parse(await readFile(file, "utf8").catch(() => "{}")) as Partial<Secrets>;
  const token = () => randomBytes(18).toString("base64url");
  const generated: Record<string, string> = { ...(stored.generated ?? {}) };
  // Render's generateValue: base64 of 256 random bits.
  for (const key of generatedKeys) generated[key] ??= randomBytes(32).toString("base64");
  const secrets: Secrets = {
    fresh: stored.postgresPassword === undefined,
    postgresPassword: stored.postgresPassword ?? token(),
    redisPassword: stored.redisPassword ?? token(),
    minioUser: stored.minioUser ?? `prodlike${randomBytes(4).toString("hex")}`,
    minioPassword: stored.minioPassword ?? token(),
    // Cloudinary's shapes: a 15-digit API key, a 27-character secret.
    cloudinaryKey: stored.cloudinaryKey ?? String(100_000_000_000_000 + (randomBytes(6).readUIntBE(0, 6) % 900_000_000_000_000)),
    cloudinarySecret: stored.cloudinarySecret ?? randomBytes(20).toString("base64url").slice(0, 27),
    generated,
  };
  if (save) await saveSecrets(dir, secrets, stored);
  return secrets;
}

export async function saveSecrets(dir: string, secrets: Secrets, stored?: Partial<Secrets>): Promise<void> {
  const file = join(stateDir(dir), "secrets.json");
  const before = stored ?? (JSON.parse(await readFile(file, "utf8").catch(() => "{}")) as Partial<Secrets>);
  const { fresh: _fresh, ...kept } = secrets;
  if (JSON.stringify(kept) !== JSON.stringify(before)) await writeJson(file, kept, 0o600);
}

export type StackStatus = "starting" | "running" | "stopping" | "failed";

export interface StackState {
  readonly project: string;
  readonly dir: string;
  /** The process that started the stack (and owns it, unless detached). */
  readonly pid: number;
  /** `up -d`: no process owns the stack; it runs until `prodlike down`. */
  readonly detached?: boolean;
  readonly status: StackStatus;
  readonly startedAt: string;
  readonly error?: string;
  readonly urls?: { readonly app: string; readonly http: string };
  /** What a host-side client uses: DATABASE_URL, REDIS_URL, APP_URL, … */
  readonly hostEnv?: Readonly<Record<string, string>>;
  readonly logFile?: string;
}

/** The stack state of `dir` (absolute). A state copied along with the folder belongs to the original: ignored. */
export async function readState(dir: string): Promise<StackState | null> {
  const text = await readFile(join(stateDir(dir), "state.json"), "utf8").catch(() => null);
  if (text === null) return null;
  try {
    const state = JSON.parse(text) as StackState;
    return state.dir === dir ? state : null;
  } catch {
    return null;
  }
}

/** Mode 600: the host env holds the database and Redis passwords, a failure's reason may quote them. */
export async function writeState(dir: string, state: StackState): Promise<void> {
  await writeJson(join(stateDir(dir), "state.json"), state, 0o600);
}

export async function clearState(dir: string): Promise<void> {
  await rm(join(stateDir(dir), "state.json"), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function writeJson(file: string, value: unknown, mode: number): Promise<void> {
  await mkdir(join(file, ".."), { recursive: true });
  await writeFile(join(file, "..", ".gitignore"), "*\n").catch(() => {});
  // Unique per write: two stacks of one folder in one process may save at the same moment.
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  await rename(temp, file);
}

/** Where the running stack's control API listens, and its token (readable by the owner only). */
export interface ControlAccess {
  readonly url: string;
  readonly token: string;
}

export async function writeControl(dir: string, access: ControlAccess): Promise<void> {
  await writeJson(join(stateDir(dir), "control.json"), access, 0o600);
}

export async function readControl(dir: string): Promise<ControlAccess | null> {
  const text = await readFile(join(stateDir(dir), "control.json"), "utf8").catch(() => null);
  return text === null ? null : (JSON.parse(text) as ControlAccess);
}
