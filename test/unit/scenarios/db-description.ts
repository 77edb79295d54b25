import type { ProjectFiles } from "../../../src/config/detect.js";
import { describeStack } from "../../../src/config/resolve.js";
import type { StackDescription } from "../../../src/config/types.js";

/** A real description of a minimal project (no files read) with the given profile. */
export function description(profile: StackDescription["database"]["profile"], maxClientConnections?: number): StackDescription {
  const files: ProjectFiles = {
    dir: "/tmp/app",
    renderYaml: null,
    prodlikeYaml: maxClientConnections === undefined ? null : { file: "prodlike.yaml", data: { db: { maxClientConnections } } },
    procfile: { web: "gunicorn app.wsgi" },
    runtimeTxt: null,
    pythonVersionFile: null,
    dotenv: {},
    hasRequirements: true,
    hasBuildSh: false,
    hasManagePy: true,
    wsgiPackages: ["app"],
    files: ["manage.py", "requirements.txt", "Procfile"],
  };
  return describeStack(files, { db: profile }, {});
}
