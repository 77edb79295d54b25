import { djangoShell, RESULT_MARKER } from "./app-shell.js";
import { explainBaseline, isHealthy, siteHosts } from "./baseline.js";
import { extractLinks, isAssetPath } from "./endpoints.js";
import { describeProbe, matchingLines } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext } from "./scenario.js";

const MAX_ASSETS = 10;
const FIX =
  'serve static files with WhiteNoise ("whitenoise.middleware.WhiteNoiseMiddleware" right after SecurityMiddleware) and run ' +
  "`python manage.py collectstatic --no-input` in the build command (build.sh or render.yaml buildCommand)";
const FIX_MANIFEST =
  "run `python manage.py collectstatic --no-input` in the build command (build.sh or render.yaml buildCommand): " +
  "with a Manifest storage every page that uses {% static %} fails until the manifest exists";
/** Django/WhiteNoise lines that say why static files fail. */
const STATIC_ERRORS = [/Missing staticfiles manifest/, /ValueError: .*static/i, /Not Found: \/static\//, /staticfiles/i];

interface StaticSettings {
  readonly staticUrl: string;
  readonly admin: boolean;
  readonly debug: boolean;
}

export const staticFiles: Scenario = {
  id: "static-files",
  title: "static files served with DEBUG=False (WhiteNoise, collectstatic)",
  applies: () => true,
  async run(context) {
    const since = Date.now();
    const front = await context.request("/");
    const evidence = [describeProbe(front)];
    if (front.status >= 500) {
      const lines = matchingLines(await context.appLogsSince(since), STATIC_ERRORS, 2);
      if (lines.some((line) => /manifest/i.test(line))) {
        return {
          status: "fail",
          summary: `GET / answers ${front.status}: the static files manifest is missing (collectstatic did not run)`,
          evidence: [...evidence, ...lines.map((line) => `app: ${line}`)],
          fix: FIX_MANIFEST,
        };
      }
    }
    let assets = pageAssets(front, context);
    let source = "linked from the front page";
    if (assets.length === 0) {
      const settings = await staticSettings(context);
      if (!settings) {
        return { status: "skip", summary: "the front page links no static files and the app's settings could not be read", evidence, fix: FIX };
      }
      if (settings.staticUrl.includes("://")) {
        return { status: "skip", summary: `STATIC_URL is another site (${settings.staticUrl}): a check requests nothing outside the stack`, evidence, fix: FIX };
      }
      if (!settings.admin) {
        return {
          status: "skip",
          summary: "the front page links no static files and django.contrib.admin is not installed: nothing to request",
          evidence: [...evidence, `STATIC_URL = ${settings.staticUrl}, DEBUG = ${settings.debug ? "True" : "False"}`],
          fix: FIX,
        };
      }
      assets = [`${settings.staticUrl}admin/css/base.css`];
      source = "django.contrib.admin's stylesheet";
      evidence.push(`STATIC_URL = ${settings.staticUrl}, DEBUG = ${settings.debug ? "True" : "False"}, django.contrib.admin installed`);
    }

    const assetSince = Date.now();
    const probes: Probe[] = [];
    for (const asset of assets) probes.push(await context.request(asset, { method: "GET" }));
    evidence.push(...probes.map(describeProbe));
    const broken = probes.filter((probe) => probe.status === 0 || probe.status >= 400);
    // The same answer for the page and its files (every request a 400): the app, not its static files.
    if (broken.length > 0 && !isHealthy(front, siteHosts(context)) && broken.every((probe) => probe.status === front.status)) {
      return explainBaseline(context, [front, ...probes], since);
    }
    if (broken.length > 0) {
      const lines = matchingLines(await context.appLogsSince(assetSince), STATIC_ERRORS, 2);
      return {
        status: "fail",
        summary: `${broken.length} of ${probes.length} static file(s) ${source} fail (${broken.map((p) => `${p.path} → ${p.status || p.error}`).slice(0, 2).join(", ")}): the site has no CSS or JS in production`,
        evidence: [...evidence, ...lines.map((line) => `app: ${line}`)],
        fix: FIX,
      };
    }
    return { status: "pass", summary: `${probes.length} static file(s) ${source} are served with DEBUG=False`, evidence, fix: FIX };
  },
};

/** Same-site static files the front page loads (CSS, JS, images), at most MAX_ASSETS. */
function pageAssets(front: Probe, context: ScenarioContext): string[] {
  if (front.status !== 200 || !/html/i.test(front.headers["content-type"] ?? "")) return [];
  const links = extractLinks(front.body, new URL("/", context.stack.url).href, [context.description.app.publicHost]);
  const media = /^\/media\//;
  return [...links.assets, ...links.pages.filter(isAssetPath)].filter((path) => !media.test(path)).slice(0, MAX_ASSETS);
}

/** Ask the running app for STATIC_URL, DEBUG and whether the admin is installed. */
async function staticSettings(context: ScenarioContext): Promise<StaticSettings | undefined> {
  const result = await djangoShell<StaticSettings>(
    context,
    [
      "import json",
      "from django.conf import settings",
      "url = settings.STATIC_URL or '/static/'",
      "url = url if url.startswith('/') or '://' in url else '/' + url",
      `print(${JSON.stringify(RESULT_MARKER)} + json.dumps({"staticUrl": url, "admin": "django.contrib.admin" in settings.INSTALLED_APPS, "debug": bool(settings.DEBUG)}))`,
    ].join("\n"),
  );
  if (!result.ok) {
    context.logger.debug({ err: result.error }, "could not read the app's static settings");
    return undefined;
  }
  return result.value;
}
