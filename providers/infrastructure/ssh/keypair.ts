// The cluster's SSH key pair for the bootstrap user: RSA, as CAPK makes it, with the public key in OpenSSH's
// authorized_keys form (what cloud-init writes) and the private key as PKCS#1 PEM (what ssh clients read).
import { generateKeyPair, createPublicKey } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export interface SSHKeyPair {
  /** "ssh-rsa AAAA..." */
  publicKey: string;
  /** "-----BEGIN RSA PRIVATE KEY-----..." */
  privateKey: string;
}

// RFC 4251 wire encoding: a length-prefixed string, and an mpint (big-endian, with a leading zero byte when the
// top bit is set so it does not read as negative).
function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function sshMpint(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  return sshString((trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** authorized_keys line for an RSA public key in PEM (SPKI or PKCS#1). */
export function openSSHPublicKey(publicKeyPem: string): string {
  const jwk = createPublicKey(publicKeyPem).export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) throw new Error('only RSA public keys are supported');
  const blob = Buffer.concat([
    sshString(Buffer.from('ssh-rsa')),
    sshMpint(Buffer.from(jwk.e, 'base64url')),
    sshMpint(Buffer.from(jwk.n, 'base64url')),
  ]);
  return `ssh-rsa ${blob.toString('base64')}`;
}

export async function generateSSHKeyPair(bits = 2048): Promise<SSHKeyPair> {
  const { publicKey, privateKey } = await generate('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { publicKey: openSSHPublicKey(publicKey), privateKey };
}
