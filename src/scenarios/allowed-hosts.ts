import { describeProbe, matchingLines } from "./exercise.js";
import type { Scenario, ScenarioVerdict } from "./scenario.js";

const PATHS_TO_TRY = 3;
const DISALLOWED = /Invalid HTTP_HOST header/;

function fixFor(publicHost: string): string {
  return (
    `add the public host to ALLOWED_HOSTS from Render's env, e.g. ` +
    `ALLOWED_HOSTS.append(os.environ["RENDER_EXTERNAL_HOSTNAME"]) when RENDER_EXTERNAL_HOSTNAME is set (here ${publicHost})`
  );
}

export const allowedHosts: Scenario = {
  id: "allowed-hosts",
  title: "the public Host header (<service>.onrender.com) in ALLOWED_HOSTS",
  applies: () => true,
  async run(context) {
    const host = context.description.app.publicHost;
    const since = Date.now();
    const probes = [];
    for (const path of context.endpoints.slice(0, PATHS_TO_TRY)) probes.push(await context.request(path));
    const rejected = probes.filter((probe) => probe.status === 400);
    const logged = matchingLines(await context.appLogsSince(since), [DISALLOWED], 2);
    if (rejected.length > 0) {
      return {
        status: "fail",
        summary: `GET ${rejected[0]!.path} with Host: ${host} answers 400 Bad Request: the public host is not in ALLOWED_HOSTS`,
        evidence: [
          `requests sent as Render's proxy sends them: Host: ${host}`,
          ...probes.map(describeProbe),
          ...(logged.length > 0 ? logged.map((line) => `app: ${line}`) : ["the app logged no \"Invalid HTTP_HOST header\" line (is the django.security logger silenced?)"]),
        ],
        fix: fixFor(host),
      };
    }
    return {
      status: "pass",
      summary: `the app accepts Host: ${host} (${probes.map((p) => `${p.path} → ${p.status}`).join(", ")})`,
      evidence: probes.map(describeProbe),
      fix: fixFor(host),
    };
  },
  // With a healthCheckPath the app never gets healthy when every request is a 400.
  explainStartFailure(error, description): ScenarioVerdict | undefined {
    const line = error.message.split("\n").map((l) => l.trim()).find((l) => DISALLOWED.test(l));
    if (!line) return undefined;
    return {
      status: "fail",
      summary: `the app rejects its own public host (Host: ${description.app.publicHost}), so it never passes its health check`,
      evidence: [`app: ${line}`],
      fix: fixFor(description.app.publicHost),
    };
  },
};
