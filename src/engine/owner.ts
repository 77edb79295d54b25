import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

/**
 * Who owns a stack: the process, told apart from a later process that got the same pid (its
 * start time) and from the same pid before a reboot (the boot id), and where it runs: the
 * host and its pid namespace (several hosts, or containers with their own pids, may share one
 * engine: only owners whose pids this process can see are judged).
 * Written into the `prodlike.owner` label as `<host>:<pid ns>:<boot>:<pid>:<start>`; "-" = unknown.
 */
export interface Owner {
  readonly host: string;
  /** The pid namespace (inode of /proc/self/ns/pid): a pid means nothing outside it. */
  readonly ns: string;
  readonly boot: string;
  readonly pid: number;
  readonly start: string;
}

export type OwnerVerdict = "alive" | "dead" | "foreign";

const UNKNOWN = "-";

export function formatOwner(owner: Owner): string {
  return [owner.host, owner.ns, owner.boot, String(owner.pid), owner.start].map((part) => part.replaceAll(":", "_") || UNKNOWN).join(":");
}

/** The owner written in a label, or null when the label is missing or not ours. */
export function parseOwner(label: string | undefined): Owner | null {
  const parts = label?.split(":");
  if (!parts || parts.length !== 5 || parts.some((part) => part === "")) return null;
  const [host, ns, boot, pid, start] = parts as [string, string, string, string, string];
  if (!/^[1-9][0-9]*$/.test(pid)) return null;
  return { host, ns, boot, pid: Number(pid), start };
}

export interface Here {
  readonly host: string;
  readonly ns: string;
  readonly boot: string;
}

/** Where this process runs, as owners are compared: host name, pid namespace, current boot. */
export function thisHost(): Here {
  return { host: hostname().replaceAll(":", "_") || UNKNOWN, ns: pidNamespace(), boot: bootId() };
}

let self: Owner | undefined;

/** The current process as an owner (computed once). */
export function currentOwner(): Owner {
  self ??= { ...thisHost(), pid: process.pid, start: processStart(process.pid) ?? UNKNOWN };
  return self;
}

/**
 * Whether the owner still runs. `running` is what this host knows of its pid now: null when no
 * such process exists, else its start time ("-" when it cannot be read).
 */
export function judgeOwner(owner: Owner, here: Here, running: string | null): OwnerVerdict {
  if (owner.host !== here.host || owner.ns !== here.ns) return "foreign";
  if (owner.boot !== UNKNOWN && here.boot !== UNKNOWN && owner.boot !== here.boot) return "dead";
  if (running === null) return "dead";
  // The same pid started at another time is another process: the owner died and its pid was reused.
  if (owner.start !== UNKNOWN && running !== UNKNOWN && owner.start !== running) return "dead";
  return "alive";
}

/** judgeOwner against this host and its process table. */
export function ownerVerdict(owner: Owner): OwnerVerdict {
  return judgeOwner(owner, thisHost(), runningStart(owner.pid));
}

/** What this host knows of `pid`: null when no such process, else its start time or "-". */
export function runningStart(pid: number): string | null {
  const start = processStart(pid);
  if (start !== null) return start;
  if (process.platform === "linux") return null;
  try {
    process.kill(pid, 0);
    return UNKNOWN;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? UNKNOWN : null;
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null. */
export function processStart(pid: number): string | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  return parseStatStart(text);
}

/** Field 22 of a /proc/<pid>/stat line. The name (field 2) may hold spaces and parentheses: fields are counted after its last ")". */
export function parseStatStart(stat: string): string | null {
  const close = stat.lastIndexOf(")");
  if (close < 0) return null;
  const fields = stat.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 (the state), so field 22 is fields[19].
  const start = fields[19];
  if (fields[0] === "Z" || fields[0] === "X") return null; // a zombie has exited already
  return start && /^[0-9]+$/.test(start) ? start : null;
}

function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))?.[1] ?? UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().replaceAll(":", "_") || UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}
