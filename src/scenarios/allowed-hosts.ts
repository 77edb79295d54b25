import { allowedHostsFix as fixFor, checkAllowedHosts, explainBaseline } from "./baseline.js";
import { describeProbe, matchingLines } from "./exercise.js";
import type { Probe, Scenario, ScenarioVerdict } from "./scenario.js";

const PATHS_TO_TRY = 3;
const DISALLOWED = /Invalid HTTP_HOST header/;

/** Django got past its Host check: anything but its 400, a server error or no answer. */
function hostAccepted(probe: Probe): boolean {
  return probe.status >= 200 && probe.status < 500 && probe.status !== 400;
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
      const settings = await checkAllowedHosts(context);
      return {
        status: "fail",
        summary: `GET ${rejected[0]!.path} with Host: ${host} answers 400 Bad Request: the public host is not in ALLOWED_HOSTS`,
        evidence: [
          `requests sent as Render's proxy sends them: Host: ${host}`,
          ...probes.map(describeProbe),
          ...(logged.length > 0 ? logged.map((line) => `app: ${line}`) : ["the app logged no \"Invalid HTTP_HOST header\" line (with DEBUG=False Django's default logging prints none)"]),
          settings.ok
            ? `the app's settings: ALLOWED_HOSTS = ${JSON.stringify(settings.value.allowedHosts)}; Host: ${host} ${settings.value.accepted ? "is allowed" : "is not allowed"}`
            : `the app's ALLOWED_HOSTS could not be read: ${settings.error}`,
        ],
        fix: fixFor(host),
      };
    }
    // A 500 or no answer says nothing about the Host: that is not a pass.
    if (!probes.some(hostAccepted)) return explainBaseline(context, probes, since);
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
