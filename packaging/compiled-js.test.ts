import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { compiledMain, compiledTree } from './compiled-js.js';

describe('compiled JavaScript of the programs', function () {
  this.timeout(60_000);

  it('mirrors the repository: each program a .js file, the files programs read beside it', () => {
    const main = compiledMain('providers/controlplane/main.ts');
    expect(main.endsWith('/providers/controlplane/main.js')).to.equal(true);
    expect(existsSync(main)).to.equal(true);
    const tree = compiledTree();
    expect(existsSync(join(tree, 'providers/controlplane/datastore/etcd.proto')), 'etcd.proto').to.equal(true);
    expect(existsSync(join(tree, 'streaming/cri/proto')), 'the CRI protos').to.equal(true);
    expect(readFileSync(join(tree, 'e2e/tools/versions.env'), 'utf8')).to.match(/^KUBERNETES_VERSION=/m);
    expect(existsSync(join(tree, 'packaging/compiled-js.test.js')), 'tests are not compiled').to.equal(false);
  });

  it('runs a compiled program with plain node, its imports and node_modules resolved', () => {
    // The CLI's argument parser answers --help and exits: the whole import graph of the program has loaded.
    const out = execFileSync(process.execPath, [compiledMain('localcloud/cli/kvcloud.ts'), '--help'], { encoding: 'utf8' });
    expect(out).to.match(/kvcloud/);
  });

  it('lets a compiled program start others from its own tree, without compiling again', () => {
    // The guest simulator runs compiled and starts its node's kube-proxy through the image catalog.
    const probe = `import('${compiledTree()}/packaging/compiled-js.js').then((m) => console.log(m.compiledMain('ccm/main.ts')))`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' }).trim();
    expect(out).to.equal(join(compiledTree(), 'ccm/main.js'));
  });

  it('keeps one tree while nothing changes, so starting a program costs no compile', () => {
    const first = compiledTree();
    expect(compiledTree()).to.equal(first);
    expect(dirname(first).endsWith('/out/js')).to.equal(true);
  });

  it('refuses a path outside the repository or a file that is no TypeScript', () => {
    expect(() => compiledMain('../elsewhere/main.ts')).to.throw(/no TypeScript file of the repository/);
    expect(() => compiledMain('streaming/cri/proto/api.proto')).to.throw(/no TypeScript file of the repository/);
  });
});
