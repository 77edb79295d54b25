import tls from "node:tls";
import { issueCertificate, type CertificateAuthority } from "../tls/ca.js";

/** Where a link gets its server certificate: issued by prodlike's CA, or given as PEM. */
export type LinkTlsOptions =
  | { ca: CertificateAuthority; names: readonly string[] }
  | { certPem: string; keyPem: string };

export function createLinkSecureContext(options: LinkTlsOptions): tls.SecureContext {
  const { certPem, keyPem } = "ca" in options ? issueCertificate(options.ca, options.names) : options;
  return tls.createSecureContext({ cert: certPem, key: keyPem, minVersion: "TLSv1.2" });
}
