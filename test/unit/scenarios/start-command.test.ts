import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveStack } from "../../../src/config/resolve.js";
import { ProdlikeError } from "../../../src/errors.js";
import { programsOf, startCommand } from "../../../src/scenarios/start-command.js";
import { allowedHosts } from "../../../src/scenarios/allowed-hosts.js";
import { REPO } from "../../helpers/cli.js";

describe("start command programs", () => {
  it("finds the programs a start command runs", () => {
    expect(programsOf("gunicorn config.wsgi")).toEqual(["gunicorn"]);
    expect(programsOf("WEB_CONCURRENCY=2 gunicorn mysite.wsgi:application --bind 0.0.0.0:$PORT")).toEqual(["gunicorn"]);
    expect(programsOf("cd src && python manage.py migrate && exec uvicorn app.asgi:application")).toEqual(["python", "uvicorn"]);
    expect(programsOf("./start.sh; gunicorn x.wsgi")).toEqual(["./start.sh", "gunicorn"]);
  });
});

describe("explainStartFailure", () => {
  const error = (log: string) =>
    new ProdlikeError("APP_START_FAILED", `prodlike-x-app exited (code 127) while waiting for an HTTP answer on port 10000. Its last log lines:\n    ${log}\n"gunicorn" is not installed`);

  it("turns bash's command-not-found line into a failing start-command verdict", async () => {
    const description = await resolveStack(join(REPO, "fixtures", "render-supabase"));
    for (const line of ["bash: line 1: gunicorn: command not found", "bash: line 1: exec: gunicorn: not found"]) {
      const verdict = startCommand.explainStartFailure!(error(line), description);
      expect(verdict?.status).toBe("fail");
      expect(verdict?.summary).toContain('"gunicorn" is not installed');
      expect(verdict?.evidence).toContain(`app: ${line}`);
      expect(verdict?.fix).toMatch(/add gunicorn to requirements\.txt/);
    }
    expect(startCommand.explainStartFailure!(error("ModuleNotFoundError: No module named 'config'"), description)).toBeUndefined();
  });

  it("explains a health check that never passes because of ALLOWED_HOSTS", async () => {
    const description = await resolveStack(join(REPO, "fixtures", "render-blueprint"));
    const verdict = allowedHosts.explainStartFailure!(
      error("ERROR django.security.DisallowedHost Invalid HTTP_HOST header: 'blueprint-demo.onrender.com'. You may need to add it."),
      description,
    );
    expect(verdict?.status).toBe("fail");
    expect(verdict?.fix).toContain("RENDER_EXTERNAL_HOSTNAME");
  });
});
