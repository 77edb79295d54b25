import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import { createCloudinaryStandIn } from "../cloudinary/index.js";
import { createEitherSchemeServer } from "../cloudinary/either-scheme.js";
import { LinkSet, PostgresLink, RedisLink } from "../links/index.js";
import type { LinkPlan } from "../services/link-plan.js";
import { issueCertificate, type CertificateAuthority } from "../tls/ca.js";
import type { Endpoint } from "./config.js";

/**
 * The db and redis links, listening on every interface of the platform container (the app
 * reaches them under the production host names, network aliases of the platform), in front of
 * PgBouncer and Redis on the stack network.
 */
export async function startLinks(options: {
  plan: LinkPlan;
  upstream: { db: Endpoint; redis: Endpoint };
  /** More certificate names: how clients outside the stack reach the links. */
  names: readonly string[];
  clock: Clock;
  ca: CertificateAuthority;
  logger: Logger;
}): Promise<LinkSet> {
  const { plan, upstream, clock, ca, logger } = options;
  const names = (host: string) => [...new Set([host, "localhost", "127.0.0.1", ...options.names])];
  const db = new PostgresLink({
    name: "db",
    host: "0.0.0.0",
    port: plan.db.port,
    upstream: upstream.db,
    clock,
    logger,
    tls: { ca, names: names(plan.db.host) },
    toxics: [...plan.db.toxics],
  });
  const redis = new RedisLink({
    name: "redis",
    host: "0.0.0.0",
    port: plan.redis.port,
    upstream: upstream.redis,
    clock,
    logger,
    tls: plan.redis.tls ? { ca, names: names(plan.redis.host) } : undefined,
    toxics: [...plan.redis.toxics],
  });
  const links = new LinkSet([db, redis]);
  try {
    await db.start();
    await redis.start();
  } catch (err) {
    await links.stop();
    throw err;
  }
  return links;
}

/**
 * The Cloudinary stand-in in the platform container, storing in the stack's MinIO: HTTPS
 * (certificate from the local CA) and plain HTTP on one port, as res.cloudinary.com answers both.
 * Its URL, `https://<host>:<port>`, names a network alias of the platform that a browser on the
 * host resolves to 127.0.0.1 (`*.localhost`), where the same port is published: delivery URLs the
 * app makes work in both places.
 */
export async function startCloudinary(options: {
  host: string;
  port: number;
  names: readonly string[];
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  ca: CertificateAuthority;
  logger: Logger;
}): Promise<{ url: string; stop(): Promise<void> }> {
  const { ca, logger } = options;
  const cert = issueCertificate(ca, [...new Set([options.host, "localhost", "127.0.0.1", ...options.names])]);
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const { server, closeAll } = createEitherSchemeServer({ cert: cert.certPem, key: cert.keyPem, handle: (req, res) => handle?.(req, res), logger });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "0.0.0.0", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://${options.host}:${port}`;
  const standIn = createCloudinaryStandIn({
    cloudName: options.cloudName,
    apiKey: options.apiKey,
    apiSecret: options.apiSecret,
    s3: options.s3,
    publicBaseUrl: url,
    // The `url` field of an upload's response is http, as Cloudinary's is.
    publicHttpBaseUrl: `http://${options.host}:${port}`,
    fetchCa: ca.certPem,
    logger,
  });
  handle = standIn.handle;
  logger.child({ component: "cloudinary" }).info({ url, cloud: options.cloudName }, "Cloudinary stand-in listening");
  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        closeAll();
      }).then(() => standIn.close())),
  };
}
