import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { decodeContent, isCloudConfig, parseCloudConfig } from './cloud-config.js';
import { kubevirtInstanceData } from './jinja.js';
import { cabpkWorkerCloudConfig } from './testdata/cabpk-userdata.js';

const data = kubevirtInstanceData({ vmName: 'acme-md-0-x7k2p' });

describe('guest cloud-config', () => {
  it('reads CABPK worker userdata: jinja rendered, join config and placeholder written, runcmd and users kept', () => {
    const userdata = cabpkWorkerCloudConfig({
      endpoint: '10.0.0.1:6443',
      token: 'abcdef.0123456789abcdef',
      caCertHash: 'sha256:' + 'a'.repeat(64),
      nodeName: '{{ ds.meta_data.local_hostname }}',
      kubeletExtraArgs: [{ name: 'provider-id', value: 'kubevirt://{{ ds.meta_data.local_hostname }}' }],
    });
    expect(isCloudConfig(userdata)).to.be.true;
    const config = parseCloudConfig(userdata, data);
    expect(config.files.map((f) => f.path)).to.deep.equal(['/run/kubeadm/kubeadm-join-config.yaml', '/run/cluster-api/placeholder']);
    const join = config.files[0];
    expect(join?.mode).to.equal(0o640);
    expect(join?.content.toString()).to.include("name: 'acme-md-0-x7k2p'").and.include('value: kubevirt://acme-md-0-x7k2p').and.not.include('{{');
    expect(config.commands).to.deep.equal(['kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml  && echo success > /run/cluster-api/bootstrap-success.complete']);
    expect(config.users).to.deep.equal([{ name: 'capk', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvcloudtestkey capk'] }]);
  });

  const encodings: { encoding: string | undefined; encode: (s: string) => string }[] = [
    { encoding: undefined, encode: (s) => s },
    { encoding: 'text/plain', encode: (s) => s },
    { encoding: 'b64', encode: (s) => Buffer.from(s).toString('base64') },
    { encoding: 'base64', encode: (s) => Buffer.from(s).toString('base64') },
    { encoding: 'gzip+base64', encode: (s) => gzipSync(s).toString('base64') },
    { encoding: 'gz+b64', encode: (s) => gzipSync(s).toString('base64') },
  ];
  for (const tc of encodings) {
    it(`decodes write_files content with encoding ${tc.encoding ?? '(none)'}`, () => {
      expect(decodeContent(tc.encode('key: value\n'), tc.encoding, '/f').toString()).to.equal('key: value\n');
    });
  }

  it('reads octal permissions written quoted or bare, defaults to 0644, and keeps append', () => {
    const config = parseCloudConfig(
      ['#cloud-config', 'write_files:', "- {path: /a, content: x, permissions: '0600'}", '- {path: /b, content: y, permissions: 0755, append: true}', '- {path: /c}'].join('\n'),
      data,
    );
    expect(config.files.map((f) => [f.path, f.mode, f.append, f.content.toString()])).to.deep.equal([
      ['/a', 0o600, false, 'x'],
      ['/b', 0o755, true, 'y'],
      ['/c', 0o644, false, ''],
    ]);
  });

  it('quotes argv-list runcmd entries for the shell, as cloud-init does', () => {
    const config = parseCloudConfig(['#cloud-config', 'runcmd:', "- [sh, -c, \"echo it's\"]", '- echo plain'].join('\n'), data);
    expect(config.commands).to.deep.equal([`'sh' '-c' 'echo it'\\''s'`, 'echo plain']);
  });

  it('refuses an unknown encoding, naming the file', () => {
    expect(() => parseCloudConfig(['#cloud-config', 'write_files:', '- {path: /etc/x, content: x, encoding: rot13}'].join('\n'), data)).to.throw(/\/etc\/x: unknown encoding "rot13"/);
  });

  it('does not take a shell script for cloud-config', () => {
    expect(isCloudConfig('#!/bin/bash\necho hi\n')).to.be.false;
    expect(() => parseCloudConfig('#!/bin/bash\n', data)).to.throw(/not #cloud-config/);
  });
});
