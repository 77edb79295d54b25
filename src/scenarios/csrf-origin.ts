import { describeProbe } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext } from "./scenario.js";

/** Django's admin login is the CSRF-protected form most apps have; the app's own pages come next. */
const FORM_PATHS = ["/admin/login/", "/accounts/login/"];
const PAGES_TO_TRY = 4;
const TOKEN_FIELD = /name=["']csrfmiddlewaretoken["']\s+value=["']([^"']+)["']|value=["']([^"']+)["']\s+name=["']csrfmiddlewaretoken["']/;
const COOKIE = /(?:^|[\s,;])csrftoken=([^;,\s]+)/;

function fixFor(origin: string): string {
  return (
    'set SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") so Django knows the request came over HTTPS at Render\'s proxy ' +
    `(its CSRF check compares the browser's Origin, ${origin}, with the scheme it sees); ` +
    "for another domain posting to the app, add that origin to CSRF_TRUSTED_ORIGINS"
  );
}

/** A page with a CSRF-protected form: its path, the token in the form and the cookie it set. */
interface Form {
  readonly path: string;
  readonly token: string;
  readonly cookie: string;
  readonly probe: Probe;
}

async function findForm(context: ScenarioContext, tried: string[]): Promise<Form | undefined> {
  const paths = [...new Set([...FORM_PATHS, ...context.endpoints.slice(0, PAGES_TO_TRY)])];
  for (const path of paths) {
    const probe = await context.request(path);
    tried.push(describeProbe(probe));
    if (probe.status !== 200) continue;
    const field = TOKEN_FIELD.exec(probe.body);
    const cookie = COOKIE.exec(probe.headers["set-cookie"] ?? "");
    if (field && cookie) return { path, token: field[1] ?? field[2]!, cookie: cookie[1]!, probe };
  }
  return undefined;
}

/**
 * A browser posts a form on the app's own page: Django's CSRF middleware compares the
 * `Origin` (https://<service>.onrender.com on Render) with the scheme and host it sees. Behind
 * Render's proxy the app sees plain http unless SECURE_PROXY_SSL_HEADER says otherwise, and
 * every login and form gets "403 CSRF verification failed". The check posts the form as the
 * browser does, through the front (which gives the app the production origin, as Render's).
 */
export const csrfOrigin: Scenario = {
  id: "csrf-origin",
  title: "a browser's form POST passes Django's CSRF check behind Render's proxy",
  applies: () => true,
  async run(context) {
    const production = `https://${context.description.app.publicHost}`;
    const tried: string[] = [];
    const form = await findForm(context, tried);
    if (!form) {
      return {
        status: "skip",
        summary: "no page with a CSRF-protected form and a csrftoken cookie was found to post",
        evidence: tried,
        fix: fixFor(production),
      };
    }
    const local = new URL(context.stack.url).origin;
    const posted = await context.request(form.path, {
      method: "POST",
      headers: {
        origin: local,
        referer: `${local}${form.path}`,
        cookie: `csrftoken=${form.cookie}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ csrfmiddlewaretoken: form.token, username: "prodlike-check", password: "not-a-password" }).toString(),
    });
    const evidence = [
      describeProbe(form.probe),
      `POST ${form.path} with the page's token and cookie, Origin: ${local} (the front gives the app ${production}, as a browser on Render sends it) → ${posted.status || posted.error}`,
    ];
    if (posted.status === 403 && /CSRF/i.test(posted.body)) {
      return {
        status: "fail",
        summary: `a browser's POST to ${form.path} gets 403 "CSRF verification failed": logins and forms fail in production`,
        evidence: [...evidence, `answer: ${firstText(posted.body)}`],
        fix: fixFor(production),
      };
    }
    return {
      status: "pass",
      summary: `a browser's POST to ${form.path} passes the CSRF check (${posted.status || posted.error})`,
      evidence,
      fix: fixFor(production),
    };
  },
};

/** The first words of an HTML answer, tags dropped. */
function firstText(html: string): string {
  return html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 160);
}
