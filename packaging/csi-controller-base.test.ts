// config/csi/controller as `kubectl apply -k -n <namespace>` runs it: the driver's flags once the kubelet has put its
// environment into them, from the Pod's namespace and the base's driver-config ConfigMap.
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parseDriverFlags } from '../csi/flags.js';
import { kustomizeBuild, type Manifest } from './kustomize.js';

const root = fileURLToPath(new URL('../', import.meta.url));

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; configMapKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
}

/** A container's args as the kubelet expands them: $(NAME) of a variable it defines, the rest left as written. */
function expandedArgs(container: Container, namespace: string, configMaps: Manifest[]): string[] {
  const vars = new Map<string, string>();
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef;
    if (e.value !== undefined) vars.set(e.name, e.value);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') vars.set(e.name, namespace);
    else if (ref) {
      const value = (configMaps.find((c) => c.metadata.name === ref.name)?.data as Record<string, string> | undefined)?.[ref.key];
      // A required key the ConfigMap lacks keeps the container from starting.
      if (value === undefined && ref.optional !== true) throw new Error(`${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      if (value !== undefined) vars.set(e.name, value);
    } else throw new Error(`${e.name}: a source this test does not resolve`);
  }
  return (container.args ?? []).map((arg) => arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => vars.get(name) ?? whole));
}

describe('config/csi/controller, applied into a tenant\'s infra namespace', () => {
  it('runs the driver\'s controller service on that namespace, for the tenant\'s labels and Cluster that driver-config names', async () => {
    const objects = await kustomizeBuild(root, 'config/csi/controller');
    const configMaps = objects.filter((o) => o.kind === 'ConfigMap');
    const driverConfig = configMaps.find((c) => c.metadata.name === 'driver-config')?.data as Record<string, string>;
    expect(driverConfig).to.include({ infraClusterLabels: 'csi-driver/cluster=tenant', clusterName: 'tenant' });
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'kubevirt-csi-controller') as Manifest & { spec: { template: { spec: { containers: Container[] } } } };
    const driver = deployment.spec.template.spec.containers.find((c) => c.name === 'csi-driver');
    if (!driver) throw new Error('no csi-driver container');
    const args = expandedArgs(driver, 'tenant-a', configMaps);
    expect(args.filter((a) => a.includes('$(')), 'variables the container does not define').to.deep.equal([]);
    // --cluster-name: only VMs labelled as the Cluster's nodes get its volumes (csi/controller/vm-ownership.ts).
    expect(parseDriverFlags(args)).to.deep.include({
      runControllerService: true,
      runNodeService: false,
      infraNamespace: 'tenant-a',
      infraLabels: { 'csi-driver/cluster': 'tenant' },
      clusterName: 'tenant',
      tenantKubeconfig: '/var/run/secrets/tenantcluster/value',
    });
    // Required: a driver-config without the Cluster's name keeps the controller from starting rather than serving every VM.
    expect(driver.env?.find((e) => e.name === 'CLUSTER_NAME')?.valueFrom?.configMapKeyRef).to.deep.equal({ name: 'driver-config', key: 'clusterName' });
  });
});
