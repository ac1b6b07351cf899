// What a node built from a machine template will offer, computed from the VM template alone so that
// cluster-autoscaler can scale a MachineDeployment up from zero without ever having seen one of its nodes.
import type { Quantity } from '../../../lib/apis/core.js';
import type { VirtualMachineSpec } from '../../../lib/apis/kubevirt.js';

export const GPU_RESOURCE = 'nvidia.com/gpu';
const NVIDIA_DEVICE_PREFIX = 'nvidia.com/';

export interface NodeInfo {
  architecture: string;
  operatingSystem: string;
}

/**
 * cpu: vCPUs (cores x sockets x threads) when the template sets a topology, else the cpu request or limit;
 * memory: what the guest sees (memory.guest), else the memory request or limit; nvidia.com/gpu: the NVIDIA
 * devices passed through. A resource the template does not state is left out rather than guessed.
 */
export function templateCapacity(spec: VirtualMachineSpec | undefined): Record<string, Quantity> {
  const domain = spec?.template.spec?.domain;
  if (!domain) return {};
  const capacity: Record<string, Quantity> = {};
  const requests = domain.resources?.requests ?? {};
  const limits = domain.resources?.limits ?? {};

  const cpu = domain.cpu;
  if (cpu && (cpu.cores !== undefined || cpu.sockets !== undefined || cpu.threads !== undefined)) {
    // KubeVirt treats an unset or zero count as 1.
    const count = (n: number | undefined): number => Math.max(n ?? 1, 1);
    capacity.cpu = String(count(cpu.cores) * count(cpu.sockets) * count(cpu.threads));
  } else {
    const fromResources = requests.cpu ?? limits.cpu;
    if (fromResources !== undefined) capacity.cpu = fromResources;
  }

  const memory = domain.memory?.guest ?? requests.memory ?? limits.memory;
  if (memory !== undefined) capacity.memory = memory;

  const devices = domain.devices;
  const gpus = [...(devices.gpus ?? []), ...(devices.hostDevices ?? [])].filter((d) => d.deviceName.startsWith(NVIDIA_DEVICE_PREFIX)).length;
  if (gpus > 0) capacity[GPU_RESOURCE] = String(gpus);
  return capacity;
}

/** KubeVirt VMs run Linux guests here; the architecture is the template's, or the cluster default amd64. */
export function templateNodeInfo(spec: VirtualMachineSpec | undefined): NodeInfo {
  const architecture = spec?.template.spec?.architecture;
  return { architecture: architecture === undefined || architecture === '' ? 'amd64' : architecture, operatingSystem: 'linux' };
}
