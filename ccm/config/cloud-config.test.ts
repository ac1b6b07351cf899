import { expect } from 'chai';
import { defaultCloudConfig, parseCloudConfig } from './cloud-config.js';
import { parseCcmOptions } from './options.js';

describe('cloud-config', () => {
  it("reads upstream's sample file with upstream's defaults for what it leaves out", () => {
    const config = parseCloudConfig(
      [
        'kubeconfig: /etc/kubernetes/infra/kubeconfig',
        'namespace: tenant-acme',
        'infraLabels:',
        '  team: blue',
        'loadBalancer:',
        '  enabled: true',
        '  creationPollInterval: 10',
        'instancesV2:',
        '  zoneAndRegionEnabled: false',
        '',
      ].join('\n'),
    );
    expect(config).to.deep.equal({
      ...defaultCloudConfig(),
      kubeconfig: '/etc/kubernetes/infra/kubeconfig',
      namespace: 'tenant-acme',
      infraLabels: { team: 'blue' },
      loadBalancer: { ...defaultCloudConfig().loadBalancer, creationPollInterval: 10 },
      instancesV2: { enabled: true, zoneAndRegionEnabled: false },
    });
  });

  it('reads YAML 1.1 booleans and empty values as upstream does, and takes a non-positive poll value as the default', () => {
    const config = parseCloudConfig('loadBalancer:\n  enabled: no\n  selectorless: yes\n  creationPollTimeout: 0\nnamespace:\n');
    expect(config.loadBalancer).to.include({ enabled: false, selectorless: true, creationPollTimeout: 300 });
    expect(config.namespace).to.equal('');
    expect(parseCloudConfig('')).to.deep.equal(defaultCloudConfig());
  });

  it('reads our own keys: infraAnnotations and loadBalancer.classes', () => {
    const config = parseCloudConfig('infraAnnotations:\n  example.com/owner: "team blue"\nloadBalancer:\n  classes:\n    kvcloud.io/kubevirt: ""\n    example.com/internal: infra.example.com/internal\n');
    expect(config.infraAnnotations).to.deep.equal({ 'example.com/owner': 'team blue' });
    expect(config.loadBalancer.classes).to.deep.equal({ 'kvcloud.io/kubevirt': '', 'example.com/internal': 'infra.example.com/internal' });
  });

  const bad: { name: string; yaml: string; message: RegExp }[] = [
    { name: 'broken YAML', yaml: 'loadBalancer: [enabled\n', message: /not valid YAML/ },
    { name: 'a list at the top', yaml: '- kubeconfig\n', message: /expected a mapping at the top, got a list/ },
    { name: 'a scalar at the top', yaml: 'kubevirt\n', message: /expected a mapping at the top, got string "kubevirt"/ },
    { name: 'a key in the wrong case', yaml: 'kubeConfig: /x\n', message: /^kubeConfig: unknown key \(known here: kubeconfig, namespace/ },
    { name: 'a misspelt loadBalancer key', yaml: 'loadBalancer:\n  enable: true\n', message: /^loadBalancer\.enable: unknown key/ },
    { name: 'a misspelt instancesV2 key', yaml: 'instancesV2:\n  zoneAndRegion: true\n', message: /^instancesV2\.zoneAndRegion: unknown key/ },
    { name: 'a word that is no boolean', yaml: 'loadBalancer:\n  enabled: maybe\n', message: /^loadBalancer\.enabled: expected a boolean, got string "maybe"/ },
    { name: 'a quoted boolean', yaml: 'loadBalancer:\n  selectorless: "true"\n', message: /^loadBalancer\.selectorless: expected a boolean, got string "true"/ },
    { name: 'a number for a boolean', yaml: 'instancesV2:\n  enabled: 1\n', message: /^instancesV2\.enabled: expected a boolean, got number 1/ },
    { name: 'a string for a mapping', yaml: 'loadBalancer: enabled\n', message: /^loadBalancer: expected a mapping, got string "enabled"/ },
    { name: 'a duration for seconds', yaml: 'loadBalancer:\n  creationPollInterval: 5s\n', message: /^loadBalancer\.creationPollInterval: expected an integer, got string "5s"/ },
    { name: 'a fraction for seconds', yaml: 'loadBalancer:\n  creationPollTimeout: 2.5\n', message: /^loadBalancer\.creationPollTimeout: expected an integer, got number 2.5/ },
    { name: 'a list of labels', yaml: 'infraLabels:\n  - team=blue\n', message: /^infraLabels: expected a mapping of strings, got a list/ },
    { name: 'an unquoted number as a label value', yaml: 'infraLabels:\n  tier: 3\n', message: /^infraLabels\.tier: expected a string, got number 3 \(quote it\)/ },
    { name: 'a label key with a space', yaml: 'infraLabels:\n  "bad key": x\n', message: /^infraLabels: key "bad key" is not a valid label key/ },
    { name: 'a label value with a slash', yaml: 'infraLabels:\n  team: blue/green\n', message: /^infraLabels\.team: value "blue\/green" must be/ },
    { name: 'a label the CCM owns', yaml: 'infraLabels:\n  cluster.x-k8s.io/cluster-name: other\n', message: /^infraLabels\.cluster\.x-k8s\.io\/cluster-name: the CCM sets this label itself/ },
    { name: 'an annotation key with an upper-case prefix', yaml: 'infraAnnotations:\n  Example.com/x: owner\n', message: /^infraAnnotations: key "Example\.com\/x" is not a valid annotation key: prefix/ },
    { name: 'a namespace that is no DNS label', yaml: 'namespace: Tenant_NS\n', message: /^namespace: "Tenant_NS" is not a valid namespace name/ },
    { name: 'a number for the namespace', yaml: 'namespace: 42\n', message: /^namespace: expected a string, got number 42/ },
    { name: 'a list for the kubeconfig', yaml: 'kubeconfig: [a, b]\n', message: /^kubeconfig: expected a string, got a list/ },
    { name: 'a class mapped to a non-string', yaml: 'loadBalancer:\n  classes:\n    kvcloud.io/kubevirt: true\n', message: /^loadBalancer\.classes\.kvcloud\.io\/kubevirt: expected a string, got boolean true/ },
    { name: 'a class that is no qualified name', yaml: 'loadBalancer:\n  classes:\n    "-bad": ""\n', message: /^loadBalancer\.classes: key "-bad" is not a valid loadBalancerClass/ },
    { name: 'a key given twice', yaml: 'namespace: a\nnamespace: b\n', message: /not valid YAML: .*[Uu]nique/ },
  ];
  for (const tc of bad) {
    it(`stops start-up on ${tc.name}, naming the key`, () => {
      expect(() => parseCloudConfig(tc.yaml)).to.throw(tc.message);
    });
  }
});

describe('CCM options', () => {
  const files: Record<string, string> = { '/cloud.yaml': 'namespace: tenant-acme\n', '/bad.yaml': 'loadBalancer:\n  enabeld: true\n' };
  const read = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw new Error('ENOENT: no such file');
    return text;
  };
  const base = ['--cloud-provider=kubevirt', '--cloud-config=/cloud.yaml', '--cluster-name=acme', '--kubeconfig=/tenant.kubeconfig'];

  it("takes upstream's manifest flags and keeps the Lease in the tenant's kube-system", () => {
    const opts = parseCcmOptions([...base, '--authentication-skip-lookup=true', '--leader-elect'], read);
    expect(opts.clusterName).to.equal('acme');
    expect(opts.cloudConfig.namespace).to.equal('tenant-acme');
    expect(opts.flags).to.include({ kubeconfig: '/tenant.kubeconfig', leaderElect: true, leaderElectionNamespace: 'kube-system', leaderElectionId: 'cloud-controller-manager' });
  });

  const badFlags: { name: string; argv: string[]; message: RegExp }[] = [
    { name: 'another cloud provider', argv: ['--cloud-provider=aws', '--cloud-config=/cloud.yaml', '--cluster-name=acme'], message: /--cloud-provider: must be "kubevirt", got "aws"/ },
    { name: 'no cluster name', argv: ['--cloud-provider=kubevirt', '--cloud-config=/cloud.yaml'], message: /--cluster-name: required/ },
    { name: 'a cluster name that is no label value', argv: ['--cloud-provider=kubevirt', '--cloud-config=/cloud.yaml', '--cluster-name=Acme Corp'], message: /--cluster-name: "Acme Corp"/ },
    { name: 'a missing cloud-config file', argv: ['--cloud-provider=kubevirt', '--cloud-config=/nope.yaml', '--cluster-name=acme'], message: /--cloud-config: cannot read \/nope\.yaml/ },
    { name: 'a bad key in the cloud-config', argv: ['--cloud-provider=kubevirt', '--cloud-config=/bad.yaml', '--cluster-name=acme'], message: /--cloud-config \/bad\.yaml: loadBalancer\.enabeld: unknown key/ },
    { name: 'an unknown flag', argv: [...base, '--cloud-confg=/x'], message: /cloud-confg/ },
  ];
  for (const tc of badFlags) {
    it(`refuses ${tc.name}`, () => {
      expect(() => parseCcmOptions(tc.argv, read)).to.throw(tc.message);
    });
  }
});
