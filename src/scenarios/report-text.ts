import { checkTotals, type CheckReport } from "./runner.js";
import type { ScenarioResult } from "./scenario.js";

export interface TextOptions {
  /** ANSI colours (a terminal). */
  readonly color?: boolean;
  /** Evidence of passing scenarios too. */
  readonly verbose?: boolean;
}

/** BASE: the scenario's baseline failed (its summary starts "baseline failed:"), it tested nothing. */
const LABEL = { pass: "PASS", fail: "FAIL", skip: "SKIP", "baseline-failed": "BASE" } as const;
const COLOR = { pass: "\x1b[32m", fail: "\x1b[31m", skip: "\x1b[33m", "baseline-failed": "\x1b[35m", dim: "\x1b[2m", reset: "\x1b[0m" } as const;

/** The report for a terminal: one line per scenario, evidence and the fix under each failure. */
export function formatText(report: CheckReport, options: TextOptions = {}): string {
  const paint = (code: string, text: string) => (options.color ? `${code}${text}${COLOR.reset}` : text);
  const lines: string[] = [];
  lines.push(`prodlike check: ${report.service} (${report.publicHost}; ${report.plan} plan, ${report.database}, ${report.redis})`);
  if (report.endpoints.length > 0) lines.push(paint(COLOR.dim, `endpoints: ${report.endpoints.join(" ")}`));
  lines.push("");
  if (report.startError !== null) {
    lines.push(paint(COLOR.fail, "the app did not start:"));
    for (const line of report.startError.split("\n").slice(0, 20)) lines.push(`    ${line}`);
    lines.push("");
  }
  const width = Math.max(0, ...report.results.map((r) => r.id.length));
  // A baseline failure is usually the same for every scenario: its details are shown once.
  const shownBaselines = new Map<string, string>();
  for (const result of report.results) {
    const time = result.durationMs > 0 ? paint(COLOR.dim, `  (${seconds(result.durationMs)})`) : "";
    lines.push(`${paint(COLOR[result.status], LABEL[result.status])}  ${result.id.padEnd(width)}  ${result.summary}${time}`);
    if (result.status === "baseline-failed") {
      const key = JSON.stringify([result.evidence.map(withoutTiming), result.fix]);
      const first = shownBaselines.get(key);
      if (first) lines.push(`${" ".repeat(6 + width + 2)}(the same answers and fix as ${first} above)`);
      else {
        shownBaselines.set(key, result.id);
        lines.push(...details(result, width));
      }
    }
    if (result.status === "fail" || (options.verbose && result.status === "pass")) lines.push(...details(result, width));
  }
  const totals = checkTotals(report);
  const startup = report.startupMs === null ? "" : `, stack up in ${seconds(report.startupMs)}`;
  const bad = totals.failed > 0 || totals.baselineFailed > 0 || report.startError;
  const baseline = totals.baselineFailed > 0 ? `, ${totals.baselineFailed} baseline failed (not tested)` : "";
  lines.push("");
  lines.push(
    `${paint(bad ? COLOR.fail : COLOR.pass, `${totals.passed} passed, ${totals.failed} failed${baseline}, ${totals.skipped} skipped`)}` +
      ` in ${seconds(report.durationMs)}${startup}`,
  );
  return `${lines.join("\n")}\n`;
}

function details(result: ScenarioResult, width: number): string[] {
  const indent = " ".repeat(6 + width + 2);
  const lines = result.evidence.flatMap((entry) => entry.split("\n")).map((line) => `${indent}${line}`);
  if (result.fix) lines.push(`${indent}fix: ${result.fix}`);
  return lines;
}

/** "GET / → 400 in 12 ms: …" without the time, which differs from one baseline to the next. */
function withoutTiming(line: string): string {
  return line.replace(/ in \d+(\.\d+)? (ms|s)\b/, "");
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
