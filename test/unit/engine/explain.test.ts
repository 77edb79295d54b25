import { describe, expect, it } from "vitest";
import { explainBuildFailure } from "../../../src/engine/app-build.js";
import { demux } from "../../../src/engine/containers.js";
import { bootHint } from "../../../src/services/app.js";

describe("explainBuildFailure", () => {
  const options = { buildCommand: "pip install -r requirements.txt", buildCommandSource: "Render's default for Python" };

  it("quotes pip's error and points at requirements.txt", () => {
    const output = "Collecting djangoo==9.9\nERROR: Could not find a version that satisfies the requirement djangoo==9.9 (from versions: none)\nERROR: No matching distribution found for djangoo==9.9";
    const message = explainBuildFailure(options, 1, output);
    expect(message).toContain("`pip install -r requirements.txt` (Render's default for Python) failed with exit code 1");
    expect(message).toContain("pip says: Could not find a version that satisfies the requirement djangoo==9.9");
    expect(message).toContain("Fix that line in requirements.txt");
  });

  it("says chmod +x for a build.sh without the execute bit", () => {
    expect(explainBuildFailure({ ...options, buildCommand: "./build.sh" }, 126, "bash: line 1: ./build.sh: Permission denied")).toContain("chmod +x build.sh");
  });
});

describe("bootHint", () => {
  it("tells to add gunicorn to requirements.txt when it is not installed", () => {
    const hint = bootHint("bash: line 1: gunicorn: command not found", "gunicorn config.wsgi", "Procfile web");
    expect(hint).toBe('"gunicorn" is not installed in the app (start command from Procfile web). Add gunicorn to requirements.txt and run up again.');
  });

  it("names a module Python cannot import", () => {
    expect(bootHint("ModuleNotFoundError: No module named 'whitenoise'", "gunicorn x.wsgi", "Procfile web")).toContain('cannot import "whitenoise"');
  });

  it("names the settings file and line a traceback raised from, as gunicorn prints it when the settings fail to import", () => {
    const logs = [
      "[2026-11-29 22:00:00 +0000] [7] [ERROR] Exception in worker process",
      "Traceback (most recent call last):",
      '  File "/opt/render/project/src/.venv/lib/python3.11/site-packages/gunicorn/arbiter.py", line 608, in spawn_worker',
      "    worker.init_process()",
      '  File "/opt/render/project/src/config/wsgi.py", line 16, in <module>',
      "    application = get_wsgi_application()",
      '  File "/usr/lib/python3/dist-packages/django/conf/__init__.py", line 76, in _setup',
      '  File "/opt/render/project/src/config/settings.py", line 23, in <module>',
      '    SECRET_KEY = os.environ["DJANGO_SECRET"]',
      '  File "<frozen os>", line 679, in __getitem__',
      "KeyError: 'DJANGO_SECRET'",
    ].join("\n");
    expect(bootHint(logs, "gunicorn config.wsgi", "Procfile web")).toBe("config/settings.py:23 raised KeyError: 'DJANGO_SECRET': fix it there and run up again.");
    const build = explainBuildFailure({ buildCommand: "./build.sh", buildCommandSource: "render.yaml" }, 1, logs);
    expect(build).toContain("config/settings.py:23 raised KeyError: 'DJANGO_SECRET'.");
  });

  it("says nothing when it does not know", () => {
    expect(bootHint("some other failure", "gunicorn x.wsgi", "Procfile web")).toBeUndefined();
  });
});

describe("demux", () => {
  it("joins Docker's multiplexed frames and passes plain text through", () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(body.length, 4);
      return Buffer.concat([header, body]);
    };
    expect(demux(Buffer.concat([frame(1, "out\n"), frame(2, "err\n")]))).toBe("out\nerr\n");
    expect(demux(Buffer.from("plain text\n"))).toBe("plain text\n");
  });
});
