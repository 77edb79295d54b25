import { djangoShell, RESULT_MARKER } from "./app-shell.js";
import { seconds } from "./exercise.js";
import type { Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

/** A 1×1 PNG: an image storage (Cloudinary's image resource type) accepts it, a disk does too. */
const PROBE_PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

export interface SavedProbe {
  readonly storage: string;
  readonly mediaRoot: string;
  readonly name: string;
  readonly exists: boolean;
  /** Where the file is on the container's disk; null for a storage that is not on a local disk. */
  readonly localPath: string | null;
  /** A storage not on the local disk: the probe file was removed again in the same call. */
  readonly deleted: boolean;
}

export interface ProbeAfterWake {
  readonly exists: boolean;
  readonly deleted: boolean;
}

const SAVE = (name: string) => `
import base64, json
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage as s
cls = s.__class__
name = s.save(${JSON.stringify(name)}, ContentFile(base64.b64decode(${JSON.stringify(PROBE_PNG_BASE64)})))
try:
    local = s.path(name)
except NotImplementedError:
    local = None
exists = s.exists(name)
deleted = False
if local is None and exists:
    s.delete(name)
    deleted = True
print(${JSON.stringify(RESULT_MARKER)} + json.dumps({"storage": cls.__module__ + "." + cls.__qualname__, "mediaRoot": str(getattr(settings, "MEDIA_ROOT", "") or ""), "name": name, "exists": exists, "localPath": local, "deleted": deleted}))
`;

const CHECK_AND_CLEAN = (name: string) => `
import json
from django.core.files.storage import default_storage as s
name = ${JSON.stringify(name)}
exists = s.exists(name)
deleted = False
if exists:
    s.delete(name)
    deleted = True
print(${JSON.stringify(RESULT_MARKER)} + json.dumps({"exists": exists, "deleted": deleted}))
`;

export const FIX =
  "Keep uploads off the instance's disk: make a persistent storage the default (Cloudinary through django-cloudinary-storage, " +
  'STORAGES["default"] = "cloudinary_storage.storage.MediaCloudinaryStorage", or S3 through django-storages); ' +
  "Render's disk is wiped on every spin-down, restart and deploy.";

/** The verdict from what the app's storage said before and after a fresh container. */
export function mediaVerdict(saved: SavedProbe, after: ProbeAfterWake, wakeMs: number): ScenarioVerdict {
  const where = saved.localPath ? `, MEDIA_ROOT ${saved.mediaRoot || "(unset)"}, file at ${saved.localPath}` : " (not on the local disk)";
  const evidence = [
    `default storage: ${saved.storage}${where}`,
    `saved ${saved.name}: exists() → ${saved.exists ? "True" : "False"}`,
    `spun down, woke in a fresh container (${seconds(wakeMs)}): exists() → ${after.exists ? "True" : "False"}`,
  ];
  if (!after.exists) {
    return {
      status: "fail",
      summary: `a file saved through default_storage (${shortName(saved.storage)}) was gone after the instance woke in a fresh container`,
      evidence,
      fix: FIX,
    };
  }
  if (after.deleted) evidence.push(`removed ${saved.name} again`);
  return {
    status: "pass",
    summary: `a file saved through default_storage (${shortName(saved.storage)}) was still there after a wake in a fresh container`,
    evidence,
    fix: FIX,
  };
}

/**
 * A storage whose path() is not implemented keeps files elsewhere (Django's contract for
 * remote storages): a fresh container cannot lose them, so no wake is spent on proving it.
 */
export function remoteVerdict(saved: SavedProbe): ScenarioVerdict {
  const evidence = [
    `default storage: ${saved.storage} (not on the local disk)`,
    `saved ${saved.name}: exists() → ${saved.exists ? "True" : "False"}`,
    "storage.path() is not supported: the files live outside the instance, which a spin-down, restart or deploy replaces",
  ];
  if (!saved.exists) {
    return { status: "fail", summary: `a file saved through default_storage (${shortName(saved.storage)}) did not exist right after the save`, evidence, fix: FIX };
  }
  if (saved.deleted) evidence.push(`removed ${saved.name} again`);
  return {
    status: "pass",
    summary: `default_storage (${shortName(saved.storage)}) keeps uploads off the instance's ephemeral disk`,
    evidence,
    fix: FIX,
  };
}

function shortName(qualified: string): string {
  return qualified.split(".").at(-1) ?? qualified;
}

/**
 * On a local disk, whether the file is there is a plain `test -e` (Django's exists() is
 * os.path.lexists): no Python to boot at 0.1 CPU. Anything else asks the storage itself,
 * and a file that survived is deleted again.
 */
async function checkAfterWake(context: ScenarioContext, saved: SavedProbe): Promise<{ ok: true; value: ProbeAfterWake } | { ok: false; error: string }> {
  if (saved.localPath) {
    try {
      const test = await context.stack.exec(["test", "-e", saved.localPath]);
      if (test.exitCode !== 0) return { ok: true, value: { exists: false, deleted: false } };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
  return djangoShell<ProbeAfterWake>(context, CHECK_AND_CLEAN(saved.name), { lazy: true });
}

export const mediaEphemeral: Scenario = {
  id: "media-ephemeral",
  title: "media on the ephemeral disk across a wake",
  applies: () => true,
  async run(context: ScenarioContext): Promise<ScenarioVerdict> {
    const name = `prodlike-check/wake-probe-${Date.now().toString(36)}.png`;
    const saved = await djangoShell<SavedProbe>(context, SAVE(name), { lazy: true });
    if (!saved.ok) {
      return {
        status: "fail",
        summary: "the app could not save a file through default_storage",
        evidence: [`default_storage.save(${JSON.stringify(name)}) in the app container: ${saved.error}`],
        fix: FIX,
      };
    }
    if (saved.value.localPath === null) return remoteVerdict(saved.value);
    const started = performance.now();
    await context.stack.sleep();
    await context.stack.wake();
    const wakeMs = performance.now() - started;
    const after = await checkAfterWake(context, saved.value);
    if (!after.ok) {
      return {
        status: "fail",
        summary: "the app's storage could not be asked about the file after a wake",
        evidence: [`default storage: ${saved.value.storage}`, `default_storage.exists(${JSON.stringify(saved.value.name)}) after the wake: ${after.error}`],
        fix: FIX,
      };
    }
    return mediaVerdict(saved.value, after.value, wakeMs);
  },
};
