import { plainPython, RESULT_MARKER } from "./app-shell.js";
import type { ScenarioContext } from "./scenario.js";

/** gunicorn's settings as its own parser resolves them for the running master. */
export interface GunicornConfig {
  readonly pid: number;
  readonly timeout: number;
  readonly workers: number;
  readonly threads: number;
  readonly workerClass: string;
  /** GUNICORN_CMD_ARGS of the master, when set. */
  readonly cmdArgs: string | null;
  readonly argv: string;
  /** Set when gunicorn's parser could not read the command line: the values are its defaults + env. */
  readonly parseError: string | null;
}

/**
 * Finds the gunicorn master (a gunicorn process whose parent is not one) and feeds its own
 * command line, environment and working directory to gunicorn's config parser: the command
 * line, GUNICORN_CMD_ARGS and ./gunicorn.conf.py (or -c) all count, as they do at start.
 */
const READ_CONFIG = `
import json, os, sys
MARK = ${JSON.stringify(RESULT_MARKER)}
def cmd(pid):
    try:
        return open("/proc/%d/cmdline" % pid, "rb").read().split(b"\\0")
    except OSError:
        return []
def ppid(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
def is_gunicorn(pid):
    return any(b"gunicorn" in part for part in cmd(pid)[:3])
pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
masters = sorted(p for p in pids if is_gunicorn(p) and not is_gunicorn(ppid(p)))
if not masters:
    print(MARK + "null")
    sys.exit(0)
pid = masters[0]
argv = [a.decode(errors="replace") for a in cmd(pid) if a]
start = next((k for k, a in enumerate(argv) if os.path.basename(a).startswith("gunicorn")), None)
env = {}
for kv in open("/proc/%d/environ" % pid, "rb").read().split(b"\\0"):
    if b"=" in kv:
        k, v = kv.decode(errors="replace").split("=", 1)
        env[k] = v
os.environ.clear()
os.environ.update(env)
os.chdir(os.readlink("/proc/%d/cwd" % pid))
sys.path.insert(0, os.getcwd())
from gunicorn.app.wsgiapp import WSGIApplication
error = None
try:
    sys.argv = argv[start:] if start is not None else ["gunicorn"]
    cfg = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg
except BaseException as err:
    error = "%s: %s" % (type(err).__name__, err)
    sys.argv = ["gunicorn"]
    cfg = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg
print(MARK + json.dumps({"pid": pid, "timeout": cfg.timeout, "workers": cfg.workers, "threads": cfg.threads,
    "workerClass": str(cfg.worker_class_str), "cmdArgs": env.get("GUNICORN_CMD_ARGS"), "argv": " ".join(argv[start or 0:]), "parseError": error}))
`;

/** The running gunicorn's settings; null when the app does not run gunicorn. */
export async function readGunicornConfig(context: ScenarioContext): Promise<{ ok: true; value: GunicornConfig | null } | { ok: false; error: string }> {
  return plainPython<GunicornConfig | null>(context, READ_CONFIG);
}
