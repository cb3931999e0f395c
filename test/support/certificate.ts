import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes a self-signed certificate for 127.0.0.1 and localhost into folder/{cert,key}.pem. The IP
 * subject alternative name lets a client that connects to 127.0.0.1 and trusts cert.pem as its CA
 * verify the server without a `servername`. An EC key takes milliseconds where RSA takes most of
 * a second.
 */
export function writeSelfSignedCertificate(folder: string): { certPath: string; keyPath: string; certPem: string; keyPem: string } {
  const certPath = path.join(folder, 'cert.pem');
  const keyPath = path.join(folder, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '3650', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyPath, '-out', certPath,
    ],
    { stdio: 'pipe' },
  );
  return { certPath, keyPath, certPem: fs.readFileSync(certPath, 'utf8'), keyPem: fs.readFileSync(keyPath, 'utf8') };
}
