import type { PlanLimits } from "../config/types.js";
import type { LinkPlan } from "../services/link-plan.js";

/** Where the platform's file is put in its container before it starts (mode 600: it holds the CA key and the token). */
export const PLATFORM_CONFIG_PATH = "/run/prodlike/platform.json";

/** The ports the platform listens on inside its container; the host publishes them. */
export const PLATFORM_PORTS = { https: 8443, http: 8080, control: 9000, cloudinary: 8300 } as const;

/** The engine socket's path inside the platform container. */
export const PLATFORM_SOCKET = "/var/run/docker.sock";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Everything the platform container needs to run a stack's edge, links, Cloudinary stand-in,
 * clock, app instance and control API: made by the host from the stack description, read once
 * by `platform/main.ts`. Plain data, so it crosses the engine as a JSON file.
 */
export interface PlatformConfig {
  readonly project: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly token: string;
  readonly ca: { readonly certPem: string; readonly keyPem: string };
  /** Reap the stack when the owner's connection to /owner is gone (a foreground `up`, the library); false: detached. */
  readonly owned: boolean;
  /** Extra names and addresses for the certificates: how clients outside the stack reach the platform. */
  readonly reachableAs: readonly string[];
  readonly ports: { readonly https: number; readonly http: number; readonly control: number; readonly cloudinary: number };
  readonly links: { readonly plan: LinkPlan; readonly db: Endpoint; readonly redis: Endpoint };
  readonly cloudinary: {
    /** Network alias the app reaches the stand-in under (the same name a browser on the host resolves to 127.0.0.1). */
    readonly host: string;
    readonly cloudName: string;
    readonly apiKey: string;
    readonly apiSecret: string;
    readonly s3: { readonly endpoint: string; readonly accessKeyId: string; readonly secretAccessKey: string };
  };
  /** The app's settings; its image comes with POST /deploy, once the host has built it. */
  readonly app: {
    readonly startCommand: string;
    readonly startCommandSource: string;
    readonly env: Readonly<Record<string, string>>;
    /** RENDER_INSTANCE_ID is `<prefix>-<5 random hex>`, new for every container. */
    readonly instancePrefix: string;
    readonly limits: PlanLimits;
    readonly cpuLimits: boolean;
    readonly healthCheckPath: string | null;
    readonly publicHost: string;
    readonly plan: string;
  };
  readonly edge: {
    readonly serviceName: string;
    readonly publicHost: string;
    readonly sleepAfterMs: number | null;
    readonly coldStartDelayMs: number;
  };
}
