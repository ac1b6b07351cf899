// The network a local management cluster lives in. Everything runs inside a network namespace the test run (or
// `kvcloud local up` and `kvcloud demo`) creates itself, so every non-loopback address below exists only there and
// nothing of it outlives the run. Pods are processes in network namespaces of their own, as a kubelet's pod sandboxes are:
// upstream managers bind fixed ports on all interfaces (":9443", ":9440"), which only works one pod per
// namespace, and Endpoints/EndpointSlices reject loopback addresses, so pods cannot live on 127.0.0.0/8.
//
//   cluster netns
//     lo                     127.0.0.1       etcd, test runner
//     kvbr0 (bridge)         10.244.0.1/16   node/host address: kube-apiserver advertises it, pods route via it
//       veth <-> pod netns   10.244.x.y/16   one per pod (pause-like sandbox process holds the netns)
//     kvsvc0 (no ports)      10.96.0.0/16    ClusterIPs, bound by the service proxy
//                            10.255.255.0/24 LoadBalancer ingress pool (the small MetalLB)
//   10.239.0.0/16-10.243.0.0/16         tenant pods (10.243.0.0/16 the tenants' default pod range), on-link on
//     on-link on kvbr0                   kvbr0: each simulated VM answers ARP for its own Node's podCIDR
//                                        (simulators/guest/pod-network.ts), and this namespace forwards, so
//                                        management pods and tenant pods reach each other
//   kvsvc0 only holds local addresses; it is a bridge without ports because the dummy driver is missing from
//   some kernels (this CI's among them), and a port-less bridge behaves the same for local addresses.
export const CLUSTER_BRIDGE = 'kvbr0';
export const SERVICE_DEVICE = 'kvsvc0';
export const NODE_IP = '10.244.0.1';
export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/16';
export const LOAD_BALANCER_POOL = '10.255.255.0/24';
export const CLUSTER_DOMAIN = 'cluster.local';
/**
 * The tenant clusters' default Pod and Service ranges (cluster templates, TenantControlPlane defaults), apart from
 * every management range above.
 */
export const TENANT_POD_CIDR = '10.243.0.0/16';
/**
 * Pod ranges for tenants side by side on one local cloud, the default first. Tenant pods reach management
 * addresses (a konnectivity agent dialling its server's load balancer, say) with their own addresses, and this flat
 * network has no NAT: the replies find their VM by proxy ARP, so two tenants' pod ranges must not overlap here. On a
 * real KubeVirt cluster the VMs' masquerade binding and the tenant CNI translate, and tenants may overlap.
 */
export const TENANT_POD_CIDRS = [TENANT_POD_CIDR, '10.242.0.0/16', '10.241.0.0/16', '10.240.0.0/16', '10.239.0.0/16'];
export const TENANT_SERVICE_CIDR = '10.95.0.0/16';
