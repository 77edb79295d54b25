import { z } from "zod";
import { checkExitCode, checkTotals, type CheckReport } from "./runner.js";

/**
 * Bumped on any change a consumer could notice; fields are only added within a version.
 * 2: status "baseline-failed" and totals.baselineFailed.
 */
export const REPORT_VERSION = 2;

const ScenarioResultJsonSchema = z.strictObject({
  /** Stable kebab-case id (`--only`, JUnit test case name). */
  id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/),
  title: z.string(),
  /** baseline-failed: not run, the app's endpoints did not answer 2xx/3xx before the fault (summary, evidence and fix say why). */
  status: z.enum(["pass", "fail", "skip", "baseline-failed"]),
  /** One sentence: what happened. */
  summary: z.string(),
  /** Facts, one per line: requests and their status codes, the app's log lines. */
  evidence: z.array(z.string()),
  /** The fix in one sentence ("" for a skipped scenario; for baseline-failed, the fix of the baseline). */
  fix: z.string(),
  durationMs: z.number().int().min(0),
});

/**
 * `prodlike check -o json`: the documented, stable shape. `ok` is what the exit code says;
 * `startError` is set (and every scenario skipped or explained) when the app did not start.
 */
export const CheckReportJsonSchema = z.strictObject({
  version: z.literal(REPORT_VERSION),
  tool: z.literal("prodlike check"),
  ok: z.boolean(),
  dir: z.string(),
  project: z.string(),
  service: z.string(),
  publicHost: z.string(),
  plan: z.string(),
  database: z.string(),
  redis: z.string(),
  startedAt: z.iso.datetime(),
  durationMs: z.number().int().min(0),
  startupMs: z.number().int().min(0).nullable(),
  startError: z.string().nullable(),
  endpoints: z.array(z.string().startsWith("/")),
  totals: z.strictObject({
    passed: z.number().int().min(0),
    failed: z.number().int().min(0),
    baselineFailed: z.number().int().min(0),
    skipped: z.number().int().min(0),
    total: z.number().int().min(0),
  }),
  scenarios: z.array(ScenarioResultJsonSchema),
});
export type CheckReportJson = z.infer<typeof CheckReportJsonSchema>;

export function toJson(report: CheckReport): CheckReportJson {
  return {
    version: REPORT_VERSION,
    tool: "prodlike check",
    ok: checkExitCode(report) === 0,
    dir: report.dir,
    project: report.project,
    service: report.service,
    publicHost: report.publicHost,
    plan: report.plan,
    database: report.database,
    redis: report.redis,
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    startupMs: report.startupMs,
    startError: report.startError,
    endpoints: [...report.endpoints],
    totals: checkTotals(report),
    scenarios: report.results.map((r) => ({
      id: r.id,
      title: r.title,
      status: r.status,
      summary: r.summary,
      evidence: [...r.evidence],
      fix: r.fix,
      durationMs: r.durationMs,
    })),
  };
}

export function formatJson(report: CheckReport): string {
  return `${JSON.stringify(toJson(report), null, 2)}\n`;
}
