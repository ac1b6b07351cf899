import { expect } from 'chai';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { generateSSHKeyPair, openSSHPublicKey } from './keypair.js';

describe('providers/infrastructure/ssh: key pair', () => {
  it('makes an RSA pair whose authorized_keys line encodes the private key\'s public half', async () => {
    const pair = await generateSSHKeyPair(1024);
    expect(pair.privateKey).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(pair.publicKey).to.match(/^ssh-rsa [A-Za-z0-9+/]+=*$/);
    const derived = openSSHPublicKey(createPublicKey(createPrivateKey(pair.privateKey)).export({ type: 'spki', format: 'pem' }));
    expect(derived).to.equal(pair.publicKey);
  });
});
