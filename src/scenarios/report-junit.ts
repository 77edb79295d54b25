import { hostname } from "node:os";
import { checkTotals, type CheckReport } from "./runner.js";
import type { ScenarioResult } from "./scenario.js";

export const JUNIT_CLASSNAME = "prodlike.check";

/**
 * JUnit XML as CI systems read it (GitLab, GitHub test reporters, Jenkins): one testsuite,
 * one testcase per scenario named by its id; a failure's message is the summary, its body
 * the evidence and the fix. A scenario whose baseline failed (the app was broken before its
 * fault: nothing tested) is an error, not a failure. An app that did not start is an extra
 * failing "app-start" case, unless a scenario already failed with the reason.
 */
export function formatJunit(report: CheckReport): string {
  const totals = checkTotals(report);
  const cases = report.results.map(testcase);
  let failures = totals.failed;
  if (report.startError !== null && totals.failed === 0) {
    failures++;
    cases.push(
      `    <testcase classname="${JUNIT_CLASSNAME}" name="app-start" time="0">\n` +
        `      <failure message="${attr(`the app did not start: ${firstLine(report.startError)}`)}" type="app-start">${text(report.startError)}</failure>\n` +
        `    </testcase>`,
    );
  }
  const tests = cases.length;
  const time = secs(report.durationMs);
  const suiteName = `prodlike check: ${report.service}`;
  const properties = [
    ["dir", report.dir],
    ["project", report.project],
    ["publicHost", report.publicHost],
    ["plan", report.plan],
    ["database", report.database],
    ["redis", report.redis],
    ["endpoints", report.endpoints.join(" ")],
  ]
    .map(([name, value]) => `      <property name="${attr(name!)}" value="${attr(value!)}"/>`)
    .join("\n");
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="prodlike check" tests="${tests}" failures="${failures}" errors="${totals.baselineFailed}" skipped="${totals.skipped}" time="${time}">`,
    `  <testsuite name="${attr(suiteName)}" tests="${tests}" failures="${failures}" errors="${totals.baselineFailed}" skipped="${totals.skipped}" time="${time}" timestamp="${attr(report.startedAt.replace(/\.\d+Z$/, ""))}" hostname="${attr(hostname())}">`,
    `    <properties>\n${properties}\n    </properties>`,
    ...cases,
    `  </testsuite>`,
    `</testsuites>`,
    ``,
  ].join("\n");
}

function testcase(result: ScenarioResult): string {
  const open = `    <testcase classname="${JUNIT_CLASSNAME}" name="${attr(result.id)}" time="${secs(result.durationMs)}">`;
  const body = [...result.evidence, ...(result.fix ? [`fix: ${result.fix}`] : [])].join("\n");
  if (result.status === "fail") {
    return `${open}\n      <failure message="${attr(result.summary)}" type="${attr(result.id)}">${text(body)}</failure>\n    </testcase>`;
  }
  if (result.status === "baseline-failed") {
    return `${open}\n      <error message="${attr(result.summary)}" type="baseline-failed">${text(body)}</error>\n    </testcase>`;
  }
  if (result.status === "skip") return `${open}\n      <skipped message="${attr(result.summary)}"/>\n    </testcase>`;
  return `${open}\n      <system-out>${text([`${result.title}: ${result.summary}`, body].filter(Boolean).join("\n"))}</system-out>\n    </testcase>`;
}

/** XML 1.0 forbids most control characters (ANSI colours in app logs): they are dropped. */
function clean(value: string): string {
  return value
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "")
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "");
}

function text(value: string): string {
  return clean(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function attr(value: string): string {
  return text(value).replace(/"/g, "&quot;").replace(/'/g, "&apos;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;");
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function firstLine(value: string): string {
  return value.split("\n").find((line) => line.trim() !== "")?.trim() ?? value;
}
