import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { projectName } from "../config/resolve.js";
import { CHECK_PROJECT_SUFFIX, checkExitCode, formatJson, formatJunit, formatText, runCheck, SCENARIOS, type CheckReport } from "../scenarios/index.js";
import { addProfileOptions, makeLogger, profileOverrides, type GlobalOptions, type ProfileFlags } from "./context.js";
import { reportError } from "./output.js";

type Format = "text" | "json" | "junit";

interface CheckFlags extends ProfileFlags {
  output: Format;
  outputFile?: string;
  only?: string[];
  skip?: string[];
  verbose?: boolean;
}

/** Exit code when the check could not run at all (bad config, no engine): not the app's failure. */
const EXIT_CANNOT_RUN = 2;

export function registerCheck(program: Command, globals: () => GlobalOptions): void {
  const width = Math.max(...SCENARIOS.map((s) => s.id.length), 0);
  const list = SCENARIOS.map((s) => `  ${s.id.padEnd(width)}  ${s.title}`).join("\n") || "  (none registered)";
  const command = program
    .command("check")
    .description("run production failure scenarios against the app and report what breaks, the evidence and the fix")
    .argument("[dir]", "the Django project (the folder with manage.py)", ".")
    .addOption(new Option("-o, --output <format>", "report format").choices(["text", "json", "junit"]).default("text"))
    .option("--output-file <path>", "write the report (in --output's format) to a file; the text report still goes to stdout")
    .option("--only <ids>", "run only these scenarios (comma-separated, repeatable)", collectIds)
    .option("--skip <ids>", "leave these scenarios out (comma-separated, repeatable)", collectIds);
  addProfileOptions(command)
    .option("-v, --verbose", "show the evidence of passing scenarios too")
    .addHelpText(
      "after",
      `
Scenarios:
${list}

Examples:
  prodlike check                                  all scenarios on the project in this folder
  prodlike check fixtures/render-supabase --only ssl-redirect-loop,allowed-hosts
  prodlike check -o json | jq '.scenarios[] | select(.status == "fail")'
  prodlike check -o junit --output-file prodlike-check.xml     in CI: the text report in the log,
                                                               JUnit XML for the test report view

The check builds and starts its own stack of the project (free ports, its own containers,
network and volumes, all removed at the end).
It finds endpoints from healthCheckPath, prodlike.yaml (check.paths) and the front page's links.
A scenario that drives those endpoints first checks they answer 2xx/3xx (its baseline); when
none does (e.g. every request a 400 for ALLOWED_HOSTS), it is not run and shows as BASE,
"baseline failed", with the answers, the reason and the fix (status "baseline-failed" in JSON,
an error in JUnit).
Exit code: 0 all scenarios passed or were skipped, 1 a scenario failed, a baseline failed (nothing
was tested) or the app did not start, 2 the check could not run (bad config, no Docker engine).`,
    )
    .action(async (dir: string, flags: CheckFlags) => {
      process.exitCode = await check(dir, flags, globals());
    });
}

function collectIds(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((id) => id.trim()).filter(Boolean)];
}

async function check(dir: string, flags: CheckFlags, globals: GlobalOptions): Promise<number> {
  const logger = makeLogger(globals);
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) {
      const project = `${projectName(resolve(dir))}-${CHECK_PROJECT_SUFFIX}`;
      process.stderr.write(`\nforced exit: containers labelled prodlike.project=${project} may be left; \`docker rm -f\` them\n`);
      process.exit(130);
    }
    process.stderr.write("\ninterrupted: removing the check's stack (Ctrl-C again to force)\n");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let report: CheckReport;
  try {
    report = await runCheck(dir, { logger, overrides: profileOverrides(flags), only: flags.only, skip: flags.skip, signal: abort.signal });
  } catch (err) {
    const code = reportError(err, logger);
    return code === 1 ? EXIT_CANNOT_RUN : code;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  const formatted = flags.output === "json" ? formatJson(report) : flags.output === "junit" ? formatJunit(report) : formatText(report, { color: process.stdout.isTTY, verbose: flags.verbose });
  if (flags.outputFile) {
    await writeFile(resolve(flags.outputFile), formatted);
    process.stdout.write(formatText(report, { color: process.stdout.isTTY, verbose: flags.verbose }));
    process.stderr.write(`report (${flags.output}) written to ${flags.outputFile}\n`);
  } else {
    process.stdout.write(formatted);
  }
  if (abort.signal.aborted) return 130;
  return checkExitCode(report);
}
