import { ProdlikeError } from "../errors.js";
import type { ConnectionInfo } from "./connection.js";
import type { Link, LinkInfo } from "./link.js";
import type { Toxic } from "./toxic.js";

/**
 * The one control model for a stack's links ("db", "redis"): the CLI, the programmatic API
 * and the HTTP control API all go through it.
 */
export class LinkSet {
  readonly #links = new Map<string, Link>();
  #stopping: Promise<void> | undefined;

  constructor(links: Iterable<Link> = []) {
    for (const link of links) this.add(link);
  }

  add(link: Link): void {
    if (this.#links.has(link.name)) {
      throw new ProdlikeError("LINK_ERROR", `a link named "${link.name}" already exists in this stack`);
    }
    this.#links.set(link.name, link);
  }

  has(name: string): boolean {
    return this.#links.has(name);
  }

  get(name: string): Link {
    const link = this.#links.get(name);
    if (!link) {
      const names = this.names();
      throw new ProdlikeError(
        "SERVICE_UNKNOWN",
        `no link named "${name}": ${names.length ? `this stack has ${names.join(", ")}` : "this stack has no links"}`,
      );
    }
    return link;
  }

  /** The database link (the pooler the app connects to). */
  get db(): Link {
    return this.get("db");
  }

  /** The Redis link (Upstash, or plain Redis with TLS). */
  get redis(): Link {
    return this.get("redis");
  }

  names(): string[] {
    return [...this.#links.keys()];
  }

  list(): LinkInfo[] {
    return [...this.#links.values()].map((link) => link.info());
  }

  addToxic(linkName: string, input: unknown): Toxic {
    return this.get(linkName).addToxic(input);
  }

  removeToxic(linkName: string, toxicName: string): Promise<void> {
    return this.get(linkName).removeToxic(toxicName);
  }

  listToxics(linkName: string): Toxic[] {
    return this.get(linkName).toxics();
  }

  connections(linkName: string): ConnectionInfo[] {
    return this.get(linkName).connections();
  }

  /** One link, or all of them, back to the profile's toxics (added faults removed). */
  async reset(linkName?: string): Promise<void> {
    const links = linkName === undefined ? [...this.#links.values()] : [this.get(linkName)];
    await Promise.all(links.map((link) => link.reset()));
  }

  stop(): Promise<void> {
    this.#stopping ??= Promise.all([...this.#links.values()].map((link) => link.stop())).then(() => undefined);
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
