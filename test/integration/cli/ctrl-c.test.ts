import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { copyFixture, leftovers, REPO, runCli } from "../../helpers/cli.js";
import { shellQuote, Terminal } from "../../helpers/terminal.js";

/**
 * Ctrl-C as a person presses it: ^C typed into a real terminal, so the whole foreground process
 * group gets SIGINT (prodlike, and `tee` when its output is piped). The stack must go, and the
 * exit status must be 130 (128 + SIGINT), as `docker compose up` ends on Ctrl-C.
 */
describe("Ctrl-C on prodlike up in a terminal", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** `prodlike up` on a copy of the fixture in a terminal, with `pipe` after it; resolves once the stack is up. */
  async function upInTerminal(pipe: (dir: string) => string) {
    const copy = await copyFixture("render-supabase");
    const command = `node ${shellQuote(join(REPO, "bin", "prodlike.js"))} up ${shellQuote(copy.dir)} --port 0 --http-port 0 --no-watch${pipe(copy.dir)}`;
    const terminal = await Terminal.start(command, { cwd: REPO });
    cleanups.push(async () => {
      await terminal.dispose();
      await runCli(["down", copy.dir, "--volumes"]);
      await copy.dispose();
    });
    await terminal.waitFor(/render-supabase is up/, "the stack's summary");
    return { copy, terminal };
  }

  it("removes the stack and exits 130", async () => {
    const { copy, terminal } = await upInTerminal(() => "");
    await terminal.ctrlC();
    const code = await terminal.exitCode();
    const screen = await terminal.screen();
    expect(code, screen.slice(-3000)).toBe(130);
    expect(screen).not.toContain("forced exit");
    expect(screen).not.toMatch(/NodeVersionSupportWarning|\(node:\d+\) Warning/);
    expect(await leftovers(copy.project)).toMatchObject({ containers: 0, networks: 0 });
  });

  it.each(["|", "2>&1 |"])("piped into tee (%s): the reader dies with the group, yet the stack is removed and the exit is 130", async (pipe) => {
    const { copy, terminal } = await upInTerminal((dir) => ` ${pipe} tee ${shellQuote(join(dir, "..", "up.log"))}`);
    const log = join(copy.dir, "..", "up.log");
    expect(await readFile(log, "utf8")).toContain("render-supabase is up");
    await terminal.ctrlC();
    const code = await terminal.exitCode();
    const screen = await terminal.screen();
    expect(code, screen.slice(-3000)).toBe(130);
    expect(screen).not.toMatch(/EPIPE|Error:|failed unexpectedly/);
    expect(await leftovers(copy.project)).toMatchObject({ containers: 0, networks: 0 });
  });
});
