import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { ProdlikeError } from "../errors.js";
import { configError } from "./config-error.js";
import { at, lineOf } from "./line-of.js";
import { parseEnvFile } from "./env-file.js";
import { parseProcfile } from "./procfile.js";
import { PRODLIKE_YAML_HINTS, ProdlikeYamlSchema, type ProdlikeYaml } from "./prodlike-yaml.js";
import { RENDER_FIELD_HINTS, RenderDatabaseSchema, RenderServiceSchema, RenderYamlSchema, type RenderYaml } from "./render-yaml.js";

/** What a project directory says about itself, file by file, before any decision is made. */
export interface ProjectFiles {
  readonly dir: string;
  readonly renderYaml: { readonly file: string; readonly data: RenderYaml } | null;
  readonly prodlikeYaml: { readonly file: string; readonly data: ProdlikeYaml } | null;
  /** Procfile process types, e.g. { web: "gunicorn app.wsgi" }. */
  readonly procfile: Readonly<Record<string, string>> | null;
  readonly runtimeTxt: string | null;
  readonly pythonVersionFile: string | null;
  readonly dotenv: Readonly<Record<string, string>>;
  readonly hasRequirements: boolean;
  readonly hasBuildSh: boolean;
  readonly hasManagePy: boolean;
  /** Python packages next to manage.py that hold a wsgi.py, e.g. ["mysite"]. */
  readonly wsgiPackages: readonly string[];
  readonly files: readonly string[];
  /** What reading the files dropped or misread, each naming `file:line`. */
  readonly warnings?: readonly string[];
  /** The text of each file read, by name, to point warnings at a line. */
  readonly texts?: Readonly<Record<string, string>>;
}

export async function detectProject(dir: string): Promise<ProjectFiles> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) {
    throw new ProdlikeError("CONFIG_MISSING", `${dir} is not a directory: pass the path of a Django project (the folder with manage.py)`);
  }
  const files: string[] = [];
  const texts: Record<string, string> = {};
  const read = async (name: string): Promise<string | null> => {
    const text = await readFile(join(dir, name), "utf8").catch(() => null);
    if (text !== null) files.push(name);
    if (text !== null) texts[name] = text;
    return text;
  };
  const exists = async (name: string) => (await stat(join(dir, name)).catch(() => null)) !== null;

  const [renderText, renderYmlText, prodlikeText, procfileText, runtimeTxt, pythonVersion, envText] = await Promise.all([
    read("render.yaml"),
    read("render.yml"),
    read("prodlike.yaml"),
    read("Procfile"),
    read("runtime.txt"),
    read(".python-version"),
    read(".env"),
  ]);
  const renderFile = renderText !== null ? "render.yaml" : "render.yml";
  const procfile = procfileText === null ? null : parseProcfile(procfileText);
  const dotenv = envText === null ? null : parseEnvFile(envText);
  return {
    dir,
    renderYaml: parseYamlFile(renderFile, renderText ?? renderYmlText, RenderYamlSchema, RENDER_FIELD_HINTS, renderKnownKeys()),
    prodlikeYaml: parseYamlFile("prodlike.yaml", prodlikeText, ProdlikeYamlSchema, PRODLIKE_YAML_HINTS, Object.keys(ProdlikeYamlSchema.shape)),
    procfile: procfile?.processes ?? null,
    runtimeTxt: runtimeTxt?.trim() || null,
    pythonVersionFile: pythonVersion?.trim().split("\n")[0]?.trim() || null,
    dotenv: dotenv?.values ?? {},
    hasRequirements: await exists("requirements.txt"),
    hasBuildSh: await exists("build.sh"),
    hasManagePy: await exists("manage.py"),
    wsgiPackages: await findWsgiPackages(dir),
    files,
    warnings: [...(procfile?.warnings ?? []), ...(dotenv?.warnings ?? [])],
    texts,
  };
}

function parseYamlFile<T>(
  file: string,
  text: string | null,
  schema: { safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: unknown[] } } },
  hints: Readonly<Record<string, string>>,
  knownKeys: readonly string[],
): { file: string; data: T } | null {
  if (text === null) return null;
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new ProdlikeError("CONFIG_INVALID", `${file}:${first.linePos?.[0]?.line ?? "?"}: not valid YAML: ${first.message.split("\n")[0]} — fix the syntax (indentation, a missing ':' or quote)`);
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // yaml throws a ReferenceError for aliases that expand into a huge value ("billion laughs")
    // and for an alias inside its own anchor (`&a [*a]`).
    if (!(err instanceof ReferenceError)) throw err;
    throw aliasError(file, text, err);
  }
  const result = schema.safeParse(data ?? {});
  if (!result.success) {
    throw configError(file, text, result.error.issues as Parameters<typeof configError>[2], { knownKeys, hints });
  }
  return { file, data: result.data };
}

function aliasError(file: string, text: string, err: ReferenceError): ProdlikeError {
  const unresolved = /^Unresolved alias.*: (.+)$/.exec(err.message)?.[1];
  if (unresolved !== undefined) {
    const line = lineOf(text, new RegExp(`\\*${unresolved.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    return new ProdlikeError(
      "CONFIG_INVALID",
      `${at(file, line)}: the alias *${unresolved} is used inside its own anchor &${unresolved}, or before it: set &${unresolved} on an earlier value, or write the value out`,
    );
  }
  const line = lineOf(text, /(^|[\s[{,:-])\*[^\s,\]}]/);
  return new ProdlikeError(
    "CONFIG_INVALID",
    `${at(file, line)}: the aliases (*name) from here on expand into too large a value (yaml refuses it: ${err.message}): write the values out, or use fewer aliases`,
  );
}

function renderKnownKeys(): string[] {
  return [
    ...Object.keys(RenderYamlSchema.shape),
    ...Object.keys(RenderServiceSchema.shape),
    ...Object.keys(RenderDatabaseSchema.shape),
    "key", "value", "generateValue", "sync", "fromDatabase", "fromService", "fromGroup", "property",
  ];
}

async function findWsgiPackages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    if (await stat(join(dir, entry.name, "wsgi.py")).catch(() => null)) found.push(entry.name);
  }
  return found.sort();
}
