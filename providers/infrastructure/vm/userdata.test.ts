import { expect } from 'chai';
import { parse } from 'yaml';
import { bootstrapFormat, renderUserdata, userdataSecretName, withBootstrapUser } from './userdata.js';

const KEY = 'ssh-rsa AAAAB3NzaC1yc2E test';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('providers/infrastructure/vm: userdata', () => {
  const formats: { name: string; declared: string | undefined; value: string; want: string }[] = [
    { name: 'declared cloud-config', declared: 'cloud-config', value: '#cloud-config\nruncmd: []\n', want: 'cloud-config' },
    { name: 'undeclared cloud-config header', declared: undefined, value: '#cloud-config\n', want: 'cloud-config' },
    { name: 'CABPK jinja cloud-config', declared: 'cloud-config', value: '## template: jinja\n#cloud-config\nruncmd: []\n', want: 'cloud-config' },
    { name: 'declared ignition', declared: 'ignition', value: '{"ignition":{"version":"3.4.0"}}', want: 'ignition' },
    { name: 'undeclared ignition JSON', declared: undefined, value: '{"ignition":{"version":"3.4.0"}}', want: 'ignition' },
    { name: 'a shell script', declared: undefined, value: '#!/bin/sh\necho hi\n', want: 'other' },
    { name: 'cloud-config declared but a MIME multipart', declared: 'cloud-config', value: 'Content-Type: multipart/mixed\n', want: 'other' },
  ];
  for (const tc of formats) it(`recognises ${tc.name}`, () => { expect(bootstrapFormat(tc.declared, tc.value)).to.equal(tc.want); });

  it('adds the bootstrap user with the public key, keeping the header, the other keys and the default user', () => {
    const out = withBootstrapUser('#cloud-config\n# written by kubeadm bootstrap\nruncmd:\n  - kubeadm join\n', KEY);
    expect(out.startsWith('#cloud-config\n')).to.equal(true);
    expect(out).to.contain('# written by kubeadm bootstrap');
    const doc = parse(out) as { runcmd: string[]; users: unknown[] };
    expect(doc.runcmd).to.deep.equal(['kubeadm join']);
    expect(doc.users[0]).to.equal('default');
    expect(doc.users[1]).to.deep.include({ name: 'capk', ssh_authorized_keys: [KEY] });
  });

  it('keeps the jinja template header CABPK puts first', () => {
    const out = withBootstrapUser("## template: jinja\n#cloud-config\nwrite_files:\n  - path: /etc/x\n    content: '{{ ds.meta_data.local_hostname }}'\n", KEY);
    expect(out.startsWith('## template: jinja\n#cloud-config\n')).to.equal(true);
    expect(out).to.contain("'{{ ds.meta_data.local_hostname }}'");
  });

  it('appends to an existing users list and replaces an old bootstrap user instead of duplicating it', () => {
    const once = withBootstrapUser('#cloud-config\nusers:\n  - name: ops\n  - name: capk\n    ssh_authorized_keys: [old]\n', KEY);
    const doc = parse(once) as { users: { name: string; ssh_authorized_keys?: string[] }[] };
    expect(doc.users.map((u) => u.name)).to.deep.equal(['ops', 'capk']);
    expect(doc.users[1]?.ssh_authorized_keys).to.deep.equal([KEY]);
    expect(withBootstrapUser(once, KEY)).to.equal(once);
  });

  it('passes Ignition through byte for byte', () => {
    const ignition = '{"ignition":{"version":"3.4.0"},"passwd":{}}';
    const out = renderUserdata({ metadata: { name: 'b' }, data: { value: b64(ignition), format: b64('ignition') } }, KEY);
    expect(out).to.deep.equal({ userdata: ignition, format: 'ignition' });
  });

  it('adds the user to cloud-config bootstrap data only when there is a key', () => {
    const secret = { metadata: { name: 'b' }, data: { value: b64('#cloud-config\nruncmd: []\n'), format: b64('cloud-config') } };
    expect(renderUserdata(secret, KEY).userdata).to.contain(KEY);
    expect(renderUserdata(secret, undefined).userdata).to.equal('#cloud-config\nruncmd: []\n');
  });

  it('refuses a bootstrap Secret without a value', () => {
    expect(() => renderUserdata({ metadata: { namespace: 'ns', name: 'b' }, data: {} }, KEY)).to.throw('ns/b has no "value" key');
  });

  it('names the userdata Secret as CAPK does', () => {
    expect(userdataSecretName('acme-md-0-x7k2p')).to.equal('acme-md-0-x7k2p-userdata');
  });
});
