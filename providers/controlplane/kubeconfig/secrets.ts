// Kamaji's kubeconfig Secrets: `<tenant>-<suffix>`, keyed by kubeadm's file names; the admin Secret also carries
// `.svc` variants that reach the apiserver through its Service DNS name from inside the management cluster.

export const ADMIN_KUBECONFIG_SECRET = {
  suffix: 'admin-kubeconfig',
  admin: 'admin.conf',
  adminInCluster: 'admin.svc',
  superAdmin: 'super-admin.conf',
  superAdminInCluster: 'super-admin.svc',
} as const;
export const CONTROLLER_MANAGER_KUBECONFIG_SECRET = { suffix: 'controller-manager-kubeconfig', key: 'controller-manager.conf' } as const;
export const SCHEDULER_KUBECONFIG_SECRET = { suffix: 'scheduler-kubeconfig', key: 'scheduler.conf' } as const;
export const KONNECTIVITY_KUBECONFIG_SECRET = { suffix: 'konnectivity-kubeconfig', key: 'konnectivity-server.conf' } as const;

/** kubeadm's name for the cluster entry in every kubeconfig it writes. */
export const CLUSTER_NAME = 'kubernetes';
