import type { ConnectionInfo } from "../links/index.js";
import { describeProbe, isServerError } from "./exercise.js";
import type { Probe, ScenarioContext } from "./scenario.js";

/**
 * Shared by the database scenarios: warm the endpoints while watching the db link (which of
 * them reach the database), and find the error a failed request left in the app's log or body.
 */

/** Texts of a database connection that broke, or that the pooler refused (FACTS.md). */
export const DB_ERROR_PATTERNS: readonly RegExp[] = [
  /OperationalError|InterfaceError|ProgrammingError|DatabaseError/,
  /server closed the connection unexpectedly|SSL connection has been closed unexpectedly|SSL SYSCALL error/,
  /terminating connection due to administrator command|client_idle_timeout|connection already closed/,
  /prepared statement "[^"]*" (does not exist|already exists)/,
  /max client connections reached|no more connections allowed|max clients reached in session mode/,
];

/** What the db link looked like at one moment: connection ids and bytes the app sent. */
export interface LinkActivity {
  readonly ids: ReadonlySet<number>;
  readonly bytesUp: number;
}

export function linkActivity(connections: readonly ConnectionInfo[]): LinkActivity {
  return { ids: new Set(connections.map((c) => c.id)), bytesUp: connections.reduce((sum, c) => sum + c.bytesUp, 0) };
}

/** Whether the app used the database between two snapshots: a new connection, or bytes on one that stayed. */
export function touchedDatabase(before: LinkActivity, after: LinkActivity): boolean {
  if ([...after.ids].some((id) => !before.ids.has(id))) return true;
  return after.bytesUp > before.bytesUp && [...before.ids].some((id) => after.ids.has(id));
}

export interface WarmEndpoint {
  readonly path: string;
  readonly probe: Probe;
  /** The db link saw this request (false also when a per-request connection closed before we looked). */
  readonly database: boolean;
}

/** GET each path once, in turn, noting which requests reached the db link. */
export async function warmEndpoints(context: ScenarioContext, paths: readonly string[]): Promise<WarmEndpoint[]> {
  const link = context.stack.links.db;
  const warm: WarmEndpoint[] = [];
  for (const path of paths) {
    const before = linkActivity(await link.connections());
    const probe = await context.request(path);
    warm.push({ path, probe, database: touchedDatabase(before, linkActivity(await link.connections())) });
  }
  return warm;
}

/**
 * The endpoints worth driving: those that answered 2xx and reached the database; when the
 * link saw none (CONN_MAX_AGE=0 closes a connection before we look), every 2xx endpoint.
 */
export function databaseEndpoints(warm: readonly WarmEndpoint[], max = 6): string[] {
  const ok = warm.filter((w) => isSuccess(w.probe));
  const db = ok.filter((w) => w.database);
  return (db.length > 0 ? db : ok).slice(0, max).map((w) => w.path);
}

export function isSuccess(probe: Probe): boolean {
  return probe.status >= 200 && probe.status < 300;
}

export { describeProbe, isServerError };

/**
 * The line that says what went wrong, from the app's log: a traceback's last line
 * ("django.db.utils.OperationalError: SSL connection has been closed unexpectedly") is
 * preferred, shortened to the exception's class name; otherwise any line matching.
 */
export function appErrorLine(lines: readonly string[], patterns: readonly RegExp[] = DB_ERROR_PATTERNS): string | undefined {
  const matching = lines.map((l) => l.trim()).filter((l) => l !== "" && !/^File "/.test(l) && patterns.some((p) => p.test(l)));
  const exception = matching.find((l) => EXCEPTION_LINE.test(l));
  const chosen = exception ?? matching[0];
  return chosen === undefined ? undefined : clip(shortenException(chosen));
}

/** `psycopg2.OperationalError: x` / `django.db.utils.OperationalError: x` at the start of a line. */
const EXCEPTION_LINE = /^(?:[a-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception): /;

/** "django.db.utils.OperationalError: x" → "OperationalError: x". */
export function shortenException(line: string): string {
  return line.replace(/^(?:[a-z_][\w]*\.)+(?=[A-Z]\w*(?:Error|Exception): )/, "");
}

/**
 * An error an app reported in its answer instead of its log (a health view that catches the
 * exception and answers 503 with `{"error": "OperationalError: ..."}`).
 */
export function bodyErrorLine(body: string, patterns: readonly RegExp[] = DB_ERROR_PATTERNS): string | undefined {
  const texts: string[] = [];
  try {
    collectStrings(JSON.parse(body), texts);
  } catch {
    texts.push(body);
  }
  for (const text of texts) {
    for (const line of text.split("\n")) {
      if (patterns.some((p) => p.test(line))) return clip(shortenException(line.trim()));
    }
  }
  return undefined;
}

/** The error to quote for a set of failed requests: the app's log first, then their bodies. */
export function errorEvidence(logLines: readonly string[], probes: readonly Probe[], patterns: readonly RegExp[] = DB_ERROR_PATTERNS): string | undefined {
  const fromLog = appErrorLine(logLines, patterns);
  if (fromLog) return fromLog;
  for (const probe of probes) {
    const fromBody = bodyErrorLine(probe.body, patterns);
    if (fromBody) return fromBody;
  }
  return undefined;
}

/**
 * The error to quote, waiting a little for it: the app's log reaches us through Docker's log
 * stream a moment after its answer. Patterns in order of preference; nothing when nothing failed.
 */
export async function awaitErrorEvidence(
  context: ScenarioContext,
  since: number,
  failed: readonly Probe[],
  preferred: readonly RegExp[],
  timeoutMs = 3000,
): Promise<string | undefined> {
  if (failed.length === 0) return undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await context.appLogsSince(since);
    const line = errorEvidence(lines, failed, preferred) ?? (Date.now() >= deadline ? errorEvidence(lines, failed) : undefined);
    if (line || Date.now() >= deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === "string") into.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (value && typeof value === "object") for (const item of Object.values(value)) collectStrings(item, into);
}

function clip(line: string): string {
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** "11 min", "6 min", "90 s". */
export function minutes(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${Math.round(ms / 1000)} s`;
}

/** Fire `count` requests at once (round-robin over `paths`) and wait for all. */
export async function burst(context: ScenarioContext, paths: readonly string[], count: number): Promise<Probe[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => context.request(paths[i % paths.length]!)));
}
