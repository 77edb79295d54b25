import { currentOwner, formatOwner } from "./owner.js";

/** Every Docker resource prodlike makes carries these, so a stack can be found and reaped. */
export const LABEL_PROJECT = "prodlike.project";
export const LABEL_SERVICE = "prodlike.service";
export const LABEL_DIR = "prodlike.dir";
export const LABEL_OWNER_PID = "prodlike.owner-pid";
/** `<host>:<pid namespace>:<boot id>:<pid>:<start time>`: the owning process, safe from pid reuse (see owner.ts). */
export const LABEL_OWNER = "prodlike.owner";
export const LABEL_IMAGE_INPUTS = "prodlike.inputs";
export const LABEL_VOLUME_ID = "prodlike.volume-id";
/** On the app container: how many times it was restarted after a crash or failed health checks. */
export const LABEL_RESTARTS = "prodlike.restarts";

/** The labels of a stack's resources; a detached stack (`up -d`) has no owner for a sweep to find dead. */
export function stackLabels(project: string, dir: string, options: { owned?: boolean } = {}): Record<string, string> {
  if (options.owned === false) return { [LABEL_PROJECT]: project, [LABEL_DIR]: dir };
  return { [LABEL_PROJECT]: project, [LABEL_DIR]: dir, [LABEL_OWNER_PID]: String(process.pid), [LABEL_OWNER]: formatOwner(currentOwner()) };
}

export function projectFilter(project: string): { label: string[] } {
  return { label: [`${LABEL_PROJECT}=${project}`] };
}

export function networkName(project: string): string {
  return `prodlike-${project}`;
}

export function containerName(project: string, service: string): string {
  return `prodlike-${project}-${service}`;
}

export function volumeName(project: string, purpose: string): string {
  return `prodlike-${project}-${purpose}`;
}
