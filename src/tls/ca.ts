import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import forge from "node-forge";

/**
 * prodlike's local certificate authority: made once per user, trusted by the app containers
 * (and optionally by the user's browser), it signs the edge's and the links' certificates so
 * that TLS is real end to end, as it is in production.
 */
export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  /** Path of the CA certificate on disk, for `--cacert`, `sslrootcert`, `REQUESTS_CA_BUNDLE`. */
  readonly certPath: string;
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export function prodlikeHome(): string {
  return process.env.PRODLIKE_HOME ?? join(homedir(), ".prodlike");
}

export function defaultCaDir(): string {
  return join(prodlikeHome(), "ca");
}

export async function loadOrCreateCa(dir: string = defaultCaDir()): Promise<CertificateAuthority> {
  const certPath = join(dir, "ca.pem");
  const keyPath = join(dir, "ca-key.pem");
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
    return { certPem, keyPem, certPath };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const { certPem, keyPem } = createCa();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(keyPath, keyPem, { mode: 0o600, flag: "wx" }).catch(async (err) => {
    // Another process made it at the same moment: use theirs.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return;
    throw err;
  });
  await writeFile(certPath, certPem, { flag: "wx" }).catch((err) => {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  });
  return {
    certPem: await readFile(certPath, "utf8"),
    keyPem: await readFile(keyPath, "utf8"),
    certPath,
  };
}

/** A leaf certificate for the given DNS names and IP addresses, signed by the CA. */
export function issueCertificate(ca: CertificateAuthority, names: readonly string[]): IssuedCertificate {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 397 * 86_400_000);
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  cert.setSubject([{ name: "commonName", value: names[0] ?? "localhost" }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    {
      name: "subjectAltName",
      altNames: names.map((name) => (isIp(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}

function createCa(): IssuedCertificate {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const subject = [
    { name: "commonName", value: "prodlike local CA" },
    { name: "organizationName", value: "prodlike" },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privatePem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}

function newKeyPair(): { publicPem: string; privatePem: string } {
  // Native key generation: node-forge's pure-JS RSA takes seconds.
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

function serial(): string {
  // Positive: the top bit clear.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString("hex");
}

function isIp(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(":");
}
