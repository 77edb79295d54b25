import type { StreamToxic } from "./toxic.js";
import { bandwidthToxic } from "./toxics/bandwidth.js";
import { latencyToxic } from "./toxics/latency.js";
import { limitDataToxic } from "./toxics/limit-data.js";
import { resetPeerToxic } from "./toxics/reset-peer.js";
import { slicerToxic } from "./toxics/slicer.js";
import { slowCloseToxic } from "./toxics/slow-close.js";
import { timeoutToxic } from "./toxics/timeout.js";

/** What a link speaks; protocol toxics apply only to some. */
export type LinkKind = "tcp" | "postgres" | "redis";

export type AttributeSpec =
  | { kind: "number"; min: number; max: number; default: number; unit: string; integer?: boolean }
  | { kind: "enum"; values: readonly string[]; default?: string }
  | { kind: "boolean"; default: boolean };

export interface ToxicType {
  readonly type: string;
  readonly summary: string;
  readonly kinds: readonly LinkKind[];
  readonly attributes: Readonly<Record<string, AttributeSpec>>;
  /** Stream toxics run in a connection's chain; the others are handled by the link itself. */
  readonly create?: (attributes: Record<string, unknown>) => StreamToxic;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ms = (def: number, max = HOUR, min = 0): AttributeSpec => ({ kind: "number", min, max, default: def, unit: "ms", integer: false });
const int = (def: number, min: number, max: number, unit: string): AttributeSpec => ({ kind: "number", min, max, default: def, unit, integer: true });
const ALL: readonly LinkKind[] = ["tcp", "postgres", "redis"];

export const TOXIC_TYPES: Readonly<Record<string, ToxicType>> = {
  latency: {
    type: "latency",
    summary: "delay each chunk by latency ± jitter",
    kinds: ALL,
    attributes: { latency: ms(0), jitter: ms(0) },
    create: (a) => latencyToxic(a as { latency: number; jitter: number }),
  },
  bandwidth: {
    type: "bandwidth",
    summary: "limit throughput to rate KB/s (0: nothing passes until removed, as Toxiproxy)",
    kinds: ALL,
    attributes: { rate: int(0, 0, 10_000_000, "KB/s") },
    create: (a) => bandwidthToxic(a as { rate: number }),
  },
  slow_close: {
    type: "slow_close",
    summary: "hold the close back by delay",
    kinds: ALL,
    attributes: { delay: ms(0) },
    create: (a) => slowCloseToxic(a as { delay: number }),
  },
  timeout: {
    type: "timeout",
    summary: "stop all data, close after timeout (0 = never)",
    kinds: ALL,
    attributes: { timeout: ms(0, DAY) },
    create: (a) => timeoutToxic(a as { timeout: number }),
  },
  reset_peer: {
    type: "reset_peer",
    summary: "reset the connection (RST) after timeout",
    kinds: ALL,
    attributes: { timeout: ms(0, DAY) },
    create: (a) => resetPeerToxic(a as { timeout: number }),
  },
  slicer: {
    type: "slicer",
    summary: "cut data into small pieces, delay µs apart",
    kinds: ALL,
    attributes: {
      average_size: int(64, 1, 1 << 30, "bytes"),
      size_variation: int(0, 0, 1 << 30, "bytes"),
      delay: int(0, 0, 60_000_000, "µs"),
    },
    create: (a) => slicerToxic(a as { average_size: number; size_variation: number; delay: number }),
  },
  limit_data: {
    type: "limit_data",
    summary: "close the connection after bytes bytes",
    kinds: ALL,
    attributes: { bytes: int(0, 0, Number.MAX_SAFE_INTEGER, "bytes") },
    create: (a) => limitDataToxic(a as { bytes: number }),
  },
  down: {
    type: "down",
    summary: "refuse new connections and close open ones",
    kinds: ALL,
    attributes: {},
  },
  idle_drop: {
    type: "idle_drop",
    summary: "close a client connection idle longer than timeout (virtual clock)",
    kinds: ["postgres", "redis"],
    attributes: {
      timeout: ms(15 * 60_000, 30 * DAY, 1),
      mode: { kind: "enum", values: ["silent", "fatal"], default: "silent" },
      close_notify: { kind: "boolean", default: true },
    },
  },
  max_connections: {
    type: "max_connections",
    summary: "reject client connections beyond limit with the pooler's / Upstash's error (0: every new one)",
    kinds: ["postgres", "redis"],
    attributes: {
      limit: int(100, 0, 1_000_000, "connections"),
      flavor: { kind: "enum", values: ["supavisor_transaction", "supavisor_session", "pgbouncer", "upstash"] },
    },
  },
  neon_suspend: {
    type: "neon_suspend",
    summary: "suspend the compute after `after` without queries; wake takes wake_latency",
    kinds: ["postgres"],
    attributes: { after: ms(5 * 60_000, 30 * DAY, 1), wake_latency: ms(500, 120_000) },
  },
  request_limit: {
    type: "request_limit",
    summary: "Upstash request quota: commands beyond limit get ERR max requests limit exceeded",
    kinds: ["redis"],
    attributes: {
      limit: int(500_000, 0, Number.MAX_SAFE_INTEGER, "requests"),
      usage: int(0, 0, Number.MAX_SAFE_INTEGER, "requests"),
      daily: { kind: "boolean", default: false },
    },
  },
  max_request_size: {
    type: "max_request_size",
    summary: "Upstash: a command larger than bytes gets ERR max request size exceeded",
    kinds: ["redis"],
    attributes: { bytes: int(10 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER, "bytes") },
  },
};
