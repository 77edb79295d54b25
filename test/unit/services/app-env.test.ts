import { describe, expect, it } from "vitest";
import { describeStack } from "../../../src/config/resolve.js";
import type { ProjectFiles } from "../../../src/config/detect.js";
import { appEnv, cloudinaryEnv, instanceEnv, postgresUrl, productionCloudName } from "../../../src/services/app-env.js";
import type { Secrets } from "../../../src/state.js";

const files = (over: Partial<ProjectFiles>): ProjectFiles => ({
  dir: "/srv/shop",
  renderYaml: null,
  prodlikeYaml: null,
  procfile: { web: "gunicorn shop.wsgi" },
  runtimeTxt: null,
  pythonVersionFile: null,
  dotenv: {},
  hasRequirements: true,
  hasBuildSh: false,
  hasManagePy: true,
  wsgiPackages: ["shop"],
  files: [],
  ...over,
});

const secrets: Secrets = {
  postgresPassword: "pg-pw",
  redisPassword: "redis-pw",
  minioUser: "u",
  minioPassword: "p",
  cloudinaryKey: "123456789012345",
  cloudinarySecret: "abcdefghijklmnopqrstuvwxyz0",
  generated: { SECRET_KEY: "generated-secret", SIGNING: "generated-signing" },
};

const database = { host: "pgbouncer", port: 6432, user: "shop", password: "p@ss/word", database: "shop" };
const endpoints = { database: { ...database, url: postgresUrl(database) }, redisUrl: "redis://default:x@redis:6379/0" };
const git = { commit: "a".repeat(40), branch: "main" };

describe("appEnv", () => {
  it("sets what Render sets, with production defaults", () => {
    const env = appEnv(describeStack(files({}), {}, {}), secrets, endpoints, git);
    expect(env).toMatchObject({
      DEBUG: "False",
      PORT: "10000",
      RENDER: "true",
      IS_PULL_REQUEST: "false",
      RENDER_EXTERNAL_HOSTNAME: "shop.onrender.com",
      RENDER_EXTERNAL_URL: "https://shop.onrender.com",
      RENDER_SERVICE_NAME: "shop",
      RENDER_SERVICE_TYPE: "web",
      RENDER_GIT_COMMIT: git.commit,
      RENDER_GIT_BRANCH: "main",
      SECRET_KEY: "generated-secret",
      DATABASE_URL: "postgresql://shop:p%40ss%2Fword@pgbouncer:6432/shop?sslmode=require",
      REDIS_URL: endpoints.redisUrl,
    });
    expect(env.RENDER_SERVICE_ID).toMatch(/^srv-[0-9a-f]{20}$/);
  });

  it("replaces a production DATABASE_URL from .env with the stack's, keeps the user's other values", () => {
    const stack = describeStack(files({ dotenv: { DATABASE_URL: "postgresql://x@db.supabase.co/postgres", CONN_MAX_AGE: "600", DEBUG: "True" } }), {}, {});
    const env = appEnv(stack, secrets, endpoints, git);
    expect(env.DATABASE_URL).toBe(endpoints.database.url);
    expect(env.CONN_MAX_AGE).toBe("600");
  });

  it("lets prodlike.yaml / --env override even the platform's values", () => {
    const stack = describeStack(files({}), { env: { DEBUG: "True", DATABASE_URL: "postgresql://elsewhere/db" } }, {});
    const env = appEnv(stack, secrets, endpoints, git);
    expect(env.DEBUG).toBe("True");
    expect(env.DATABASE_URL).toBe("postgresql://elsewhere/db");
  });

  it("fills render.yaml references: generateValue and fromDatabase properties", () => {
    const stack = describeStack(
      files({
        renderYaml: {
          file: "render.yaml",
          data: {
            services: [
              {
                type: "web",
                name: "shop",
                envVars: [
                  { key: "SIGNING", generateValue: true },
                  { key: "DB_HOST", fromDatabase: { name: "db", property: "host" } },
                  { key: "DB_PORT", fromDatabase: { name: "db", property: "port" } },
                ],
              },
            ],
          },
        },
      }),
      {},
      {},
    );
    const env = appEnv(stack, secrets, endpoints, git);
    expect(env.SIGNING).toBe("generated-signing");
    expect(env.DB_HOST).toBe("pgbouncer");
    expect(env.DB_PORT).toBe("6432");
  });

  it("gives every instance its own id", () => {
    const stack = describeStack(files({}), {}, {});
    const a = instanceEnv(stack).RENDER_INSTANCE_ID;
    const b = instanceEnv(stack).RENDER_INSTANCE_ID;
    expect(a).toMatch(/^srv-[0-9a-f]{20}-[0-9a-f]{5}$/);
    expect(a).not.toBe(b);
  });
});

describe("Cloudinary env", () => {
  const account = { url: "https://172.18.0.1:41234", cloudName: "shop", apiKey: "123456789012345", apiSecret: "s3cr3t" };

  it("points the SDK's API and its https and http delivery URLs at the stand-in through CLOUDINARY_URL", () => {
    expect(cloudinaryEnv(account, false)).toEqual({
      CLOUDINARY_URL: "cloudinary://123456789012345:s3cr3t@shop?upload_prefix=https://172.18.0.1:41234&secure_distribution=172.18.0.1:41234&cname=172.18.0.1:41234",
      CLOUDINARY_UPLOAD_PREFIX: "https://172.18.0.1:41234",
      CLOUDINARY_SECURE_DISTRIBUTION: "172.18.0.1:41234",
      CLOUDINARY_CNAME: "172.18.0.1:41234",
    });
  });

  it("takes another API base for the host side, delivery unchanged", () => {
    expect(cloudinaryEnv(account, false, { uploadPrefix: "http://127.0.0.1:41234" }).CLOUDINARY_URL).toBe(
      "cloudinary://123456789012345:s3cr3t@shop?upload_prefix=http://127.0.0.1:41234&secure_distribution=172.18.0.1:41234&cname=172.18.0.1:41234",
    );
  });

  it("also sets the separate keys when the app configures the SDK with them", () => {
    expect(cloudinaryEnv(account, true)).toMatchObject({ CLOUDINARY_CLOUD_NAME: "shop", CLOUDINARY_API_KEY: "123456789012345", CLOUDINARY_API_SECRET: "s3cr3t" });
  });

  it("replaces the production account in the app's env, keeping its cloud name", () => {
    const stack = describeStack(files({ dotenv: { CLOUDINARY_URL: "cloudinary://111:real-secret@modestwear" } }), {}, {});
    expect(productionCloudName(stack)).toBe("modestwear");
    const env = appEnv(stack, secrets, { ...endpoints, cloudinary: { ...account, cloudName: "modestwear" } }, git);
    expect(env.CLOUDINARY_URL).toMatch(/^cloudinary:\/\/123456789012345:s3cr3t@modestwear\?upload_prefix=/);
    expect(env.CLOUDINARY_URL).not.toContain("real-secret");
    expect(productionCloudName(describeStack(files({}), {}, {}))).toBe("prodlike");
  });
});
