import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import { createCloudinaryStandIn } from "./cloudinary/index.js";
import { closeServer } from "./edge/listen.js";
import { LinkSet, PostgresLink, RedisLink } from "./links/index.js";
import type { LinkPlan } from "./services/link-plan.js";
import type { Secrets } from "./state.js";
import { issueCertificate, type CertificateAuthority } from "./tls/ca.js";

/** The db and redis links on the stack network's gateway, in front of the published service ports. */
export async function startLinks(options: {
  plan: LinkPlan;
  gateway: string;
  ports: Record<string, number>;
  clock: Clock;
  ca: CertificateAuthority;
  logger: Logger;
}): Promise<LinkSet> {
  const { plan, gateway, ports, clock, ca, logger } = options;
  const db = new PostgresLink({
    name: "db",
    host: gateway,
    port: plan.db.port,
    upstream: { host: "127.0.0.1", port: ports.pgbouncer! },
    clock,
    logger,
    tls: { ca, names: [plan.db.host, gateway, "localhost", "127.0.0.1"] },
    toxics: [...plan.db.toxics],
  });
  const redis = new RedisLink({
    name: "redis",
    host: gateway,
    port: plan.redis.port,
    upstream: { host: "127.0.0.1", port: ports.redis! },
    clock,
    logger,
    tls: plan.redis.tls ? { ca, names: [plan.redis.host, gateway, "localhost", "127.0.0.1"] } : undefined,
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

export interface CloudinaryEndpoint {
  /** `https://<gateway>:<port>`: the API and delivery base, the same from the host and the containers. */
  readonly url: string;
  readonly cloudName: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  stop(): Promise<void>;
}

/**
 * The Cloudinary stand-in over HTTPS (certificate from the local CA) on the stack network's
 * gateway, storing in the stack's MinIO. One address serves the app in its container and the
 * browser on the host, so delivery URLs work in both.
 */
export async function startCloudinary(options: {
  gateway: string;
  minioPort: number;
  secrets: Secrets;
  cloudName: string;
  ca: CertificateAuthority;
  logger: Logger;
}): Promise<CloudinaryEndpoint> {
  const { gateway, secrets, ca, logger } = options;
  const cert = issueCertificate(ca, [gateway, "localhost", "127.0.0.1"]);
  let handle: ((req: Parameters<Parameters<typeof createHttpsServer>[1] & {}>[0], res: Parameters<Parameters<typeof createHttpsServer>[1] & {}>[1]) => void) | undefined;
  const server: Server = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => handle?.(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, gateway, () => resolve());
  });
  const url = `https://${gateway}:${(server.address() as AddressInfo).port}`;
  const standIn = createCloudinaryStandIn({
    cloudName: options.cloudName,
    apiKey: secrets.cloudinaryKey,
    apiSecret: secrets.cloudinarySecret,
    s3: { endpoint: `http://127.0.0.1:${options.minioPort}`, accessKeyId: secrets.minioUser, secretAccessKey: secrets.minioPassword },
    publicBaseUrl: url,
    logger,
  });
  handle = standIn.handle;
  logger.child({ component: "cloudinary" }).info({ url, cloud: options.cloudName }, "Cloudinary stand-in listening");
  let stopping: Promise<void> | undefined;
  return {
    url,
    cloudName: options.cloudName,
    apiKey: secrets.cloudinaryKey,
    apiSecret: secrets.cloudinarySecret,
    stop: () => (stopping ??= closeServer(server).then(() => standIn.close())),
  };
}
