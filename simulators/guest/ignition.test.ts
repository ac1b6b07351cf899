import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { decodeDataURL, isIgnition, parseIgnition } from './ignition.js';
import { cabpkWorkerIgnition } from './testdata/cabpk-userdata.js';

describe('guest ignition', () => {
  it("reads CABPK's Ignition: files from data URLs with their modes, kubeadm.sh's commands in order, users", () => {
    const userdata = cabpkWorkerIgnition({ endpoint: '10.0.0.1:6443', token: 'abcdef.0123456789abcdef', caCertHash: 'sha256:' + 'b'.repeat(64) });
    expect(isIgnition(userdata)).to.be.true;
    const config = parseIgnition(userdata);
    expect(config.files.map((f) => [f.path, f.mode])).to.deep.equal([
      ['/etc/sudoers.d/capk', 0o600],
      ['/etc/kubeadm.sh', 0o700],
      ['/etc/kubeadm.yml', 0o600],
    ]);
    expect(config.files[2]?.content.toString()).to.include('apiServerEndpoint: 10.0.0.1:6443').and.include('kind: JoinConfiguration');
    expect(config.commands).to.deep.equal([
      'kubeadm join --config /etc/kubeadm.yml',
      'mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete',
      'mv /etc/kubeadm.yml /tmp/',
    ]);
    expect(config.users[0]?.name).to.equal('capk');
  });

  it('decodes plain, base64 and gzip data URLs', () => {
    expect(decodeDataURL('data:,a%20b%0A').toString()).to.equal('a b\n');
    expect(decodeDataURL('data:text/plain;charset=utf-8;base64,aGVsbG8=').toString()).to.equal('hello');
    expect(decodeDataURL(`data:;base64,${gzipSync('zipped').toString('base64')}`, 'gzip').toString()).to.equal('zipped');
    expect(() => decodeDataURL('https://example.com/config')).to.throw(/fetches nothing/);
  });

  it('reads Ignition 3.x files with appended fragments and runs a unit command that is not a written script as is', () => {
    const config = parseIgnition(
      JSON.stringify({
        ignition: { version: '3.4.0' },
        storage: { files: [{ path: '/etc/hosts.extra', contents: { source: 'data:,a%0A' }, append: [{ source: 'data:,b%0A' }], mode: 420 }] },
        systemd: { units: [{ name: 'x.service', enabled: true, contents: '[Service]\nExecStart=/usr/bin/true --flag\n' }, { name: 'off.service', enabled: false, contents: 'ExecStart=/x' }] },
      }),
    );
    expect(config.files[0]?.content.toString()).to.equal('a\nb\n');
    expect(config.files[0]?.append).to.be.true;
    expect(config.commands).to.deep.equal(['/usr/bin/true --flag']);
  });

  it('refuses an Ignition version it does not know and does not take cloud-config for Ignition', () => {
    expect(() => parseIgnition('{"ignition":{"version":"1.0.0"}}')).to.throw(/version "1.0.0" is not supported/);
    expect(isIgnition('#cloud-config\n')).to.be.false;
    expect(isIgnition('{"not":"ignition"}')).to.be.false;
  });
});
