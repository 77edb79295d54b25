import { plainPython, RESULT_MARKER } from "./app-shell.js";
import type { ScenarioContext } from "./scenario.js";

/** How many requests the running app serves at once: gunicorn's workers × threads. */
export interface AppConcurrency {
  readonly server: "gunicorn" | "unknown";
  readonly workers: number;
  readonly threads: number;
  readonly workerClass: string;
  /** Worker processes running now (children of the master). */
  readonly runningWorkers: number;
  /** Why the numbers are guesses, when they are. */
  readonly note?: string;
}

/**
 * Asks the container: finds gunicorn's master in /proc, then loads gunicorn's own config the
 * way the master did (its argv, its working directory, its environment: gunicorn.conf.py,
 * GUNICORN_CMD_ARGS, WEB_CONCURRENCY), without starting anything.
 */
const PROBE = `
import json, os, sys
procs = {}
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        argv = [a.decode() for a in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0") if a]
        ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        continue
    procs[int(pid)] = (ppid, argv)
def gunicorn_at(argv):
    for i, a in enumerate(argv[:3]):
        if os.path.basename(a).startswith("gunicorn") or a.startswith("gunicorn:"):
            return i
    if len(argv) > 2 and argv[1] == "-m" and argv[2] == "gunicorn":
        return 2
    return None
guni = {p: v for p, v in procs.items() if gunicorn_at(v[1]) is not None and p != os.getpid()}
masters = sorted(p for p, (pp, _) in guni.items() if pp not in guni)
if not masters:
    print("${RESULT_MARKER}" + json.dumps({"server": "unknown", "note": "no gunicorn process in the container"}))
    sys.exit(0)
master = masters[0]
argv = guni[master][1]
running = sum(1 for p, (pp, _) in guni.items() if pp == master)
try:
    env = dict(e.split("=", 1) for e in open(f"/proc/{master}/environ", "rb").read().decode().split("\\0") if "=" in e)
    os.environ.clear(); os.environ.update(env)
    os.chdir(os.readlink(f"/proc/{master}/cwd"))
    sys.argv = ["gunicorn"] + argv[gunicorn_at(argv) + 1:]
    sys.path.insert(0, os.getcwd())
    from gunicorn.app.wsgiapp import WSGIApplication
    cfg = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg
    print("${RESULT_MARKER}" + json.dumps({"server": "gunicorn", "workers": cfg.workers, "threads": cfg.threads, "worker_class": cfg.worker_class_str, "running": running}))
except BaseException as err:
    print("${RESULT_MARKER}" + json.dumps({"server": "gunicorn", "running": running, "note": f"gunicorn's config could not be read: {type(err).__name__}: {err}"}))
`;

interface ProbeAnswer {
  server?: string;
  workers?: number;
  threads?: number;
  worker_class?: string;
  running?: number;
  note?: string;
}

export async function appConcurrency(context: ScenarioContext): Promise<AppConcurrency> {
  const answer = await plainPython<ProbeAnswer>(context, PROBE);
  if (!answer.ok) return parseConcurrency({ note: `the app container could not be asked: ${answer.error}` });
  return parseConcurrency(answer.value);
}

/** The probe's answer as numbers; what is missing falls back to what is running (or 1). */
export function parseConcurrency(answer: ProbeAnswer): AppConcurrency {
  const running = positive(answer.running);
  const workers = positive(answer.workers) ?? running ?? 1;
  const configuredThreads = positive(answer.threads) ?? 1;
  // gunicorn runs sync workers as gthread when threads > 1; other classes ignore threads.
  const workerClass = answer.worker_class ?? (configuredThreads > 1 ? "gthread" : "sync");
  const threaded = workerClass === "gthread" || (workerClass === "sync" && configuredThreads > 1);
  return {
    server: answer.server === "gunicorn" ? "gunicorn" : "unknown",
    workers,
    threads: threaded ? configuredThreads : 1,
    workerClass: threaded ? "gthread" : workerClass,
    runningWorkers: running ?? 0,
    ...(answer.note ? { note: answer.note } : {}),
  };
}

/** "gunicorn 2 workers × 4 threads (gthread)". */
export function describeConcurrency(c: AppConcurrency): string {
  if (c.server === "unknown") return `app server unknown (${c.note ?? "not gunicorn"}): assuming ${c.workers} × ${c.threads}`;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `gunicorn ${plural(c.workers, "worker")} × ${plural(c.threads, "thread")} (${c.workerClass})${c.note ? `; ${c.note}` : ""}`;
}

function positive(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}
