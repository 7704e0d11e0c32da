// flannel's dual-stack schema as netsim's agent reads and writes it (k8s/flannel.ts): the
// network config with EnableIPv6/IPv6Network/IPv6SubnetLen and flannel's defaults, lease keys
// `10.244.1.0-24&fd00:10:244:1::-64`, PublicIPv6/BackendV6Data in the lease, subnet.env's
// FLANNEL_IPV6_* lines; the CNI delegate's second range; and a cluster's podCidr6 in a
// topology (family dual when not written, located errors otherwise).
import { join } from 'node:path';
import t from 'tap';
import { delegateConfig, flannelConflist, podAddress } from '../../src/features/k8s/cni/config.js';
import {
  formatLease,
  formatSubnetEnv,
  parseLease,
  parseSubnetEnv,
  parseSubnetKey,
  resolveConfig,
  subnetCount,
  subnetKey,
  subnetOfKey,
  vxlanDevice6,
} from '../../src/features/k8s/flannel.js';
import { podHosts } from '../../src/features/k8s/pod.js';
import { type ClusterConfig, networkConfig } from '../../src/features/k8s/spec.js';
import { TopologyError } from '../../src/model/errors.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { formatIp } from '../../src/util/ipv4.js';
import { formatCidr6, formatIp6, parseIp6 } from '../../src/util/ipv6.js';
import { modelFromYaml } from '../lib/harness.js';

const DUAL = {
  Network: '10.244.0.0/16',
  EnableIPv6: true,
  IPv6Network: 'fd00:10:244::/56',
  Backend: { Type: 'vxlan', VNI: 1, Port: 0 },
};

t.test("the network config with flannel's IPv6 defaults", async (t) => {
  const r = resolveConfig(DUAL);
  if (typeof r === 'string') throw new Error(r);
  t.ok(r.ipv6);
  t.equal(formatCidr6(r.ipv6!.network), 'fd00:10:244::/56');
  t.equal(r.ipv6!.subnetLen, 64, 'a /56 gives /64 subnets');
  t.equal(formatIp6(r.ipv6!.subnetMin), 'fd00:10:244:1::', 'the first subnet is skipped, as for IPv4');
  t.equal(formatIp6(r.ipv6!.subnetMax), 'fd00:10:244:ff::');
  t.equal(subnetCount(r), 255, 'the smaller of the two families (IPv4: 255 /24s, IPv6: 255 /64s)');
  const small = resolveConfig({ ...DUAL, IPv6Network: 'fd00:1::/120' });
  t.equal(typeof small !== 'string' && small.ipv6?.subnetLen, 122, 'longer than /62: prefix + 2');
  t.match(resolveConfig({ ...DUAL, IPv6SubnetLen: 57 }), /IPv6SubnetLen 57 leaves fewer than four subnets/);
  t.match(resolveConfig({ ...DUAL, IPv6SubnetLen: 127 }), /more than 126/);
  t.match(
    resolveConfig({ ...DUAL, IPv6Network: '10.0.0.0/8' }),
    /IPv6Network "10.0.0.0\/8" is not an IPv6 network/,
  );
  t.match(resolveConfig({ ...DUAL, EnableIPv4: false }), /always leases an IPv4 subnet/);
  const v4only = resolveConfig({ Network: '10.244.0.0/16' });
  t.equal(typeof v4only !== 'string' && v4only.ipv6, undefined, 'no EnableIPv6: IPv4 only');
});

t.test("lease keys in flannel's two forms", async (t) => {
  const v4 = { net: 0x0af40100, prefix: 24 };
  const v6 = { net: parseIp6('fd00:10:244:1::')!, prefix: 64 };
  t.equal(subnetKey('/coreos.com/network', v4), '/coreos.com/network/subnets/10.244.1.0-24');
  const key = subnetKey('/coreos.com/network', v4, v6);
  t.equal(key, '/coreos.com/network/subnets/10.244.1.0-24&fd00:10:244:1::-64');
  const back = parseSubnetKey('/coreos.com/network', key)!;
  t.equal(formatIp(back.subnet.net), '10.244.1.0');
  t.equal(formatCidr6(back.subnet6!), 'fd00:10:244:1::/64');
  t.equal(subnetOfKey('/coreos.com/network', key)?.net, v4.net, 'the IPv4 part of a dual-stack key');
  t.equal(
    parseSubnetKey('/coreos.com/network', '/coreos.com/network/subnets/10.244.1.0-24')?.subnet6,
    undefined,
  );
  t.equal(parseSubnetKey('/coreos.com/network', '/coreos.com/network/config'), undefined);
  t.equal(
    parseSubnetKey('/coreos.com/network', '/coreos.com/network/subnets/10.244.1.0-24&zz::-64'),
    undefined,
  );
});

t.test("the lease value: PublicIPv6 and BackendV6Data in flanneld's field order", async (t) => {
  const value = formatLease('192.168.1.5', 1, 'aa:bb:cc:00:00:01', {
    publicIp: 'fd00::5',
    vtepMac: 'aa:bb:cc:00:00:02',
  });
  t.equal(
    value,
    '{"PublicIP":"192.168.1.5","PublicIPv6":"fd00::5","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:00:00:01"},"BackendV6Data":{"VNI":1,"VtepMAC":"aa:bb:cc:00:00:02"}}',
  );
  const attrs = parseLease(value)!;
  t.equal(attrs.PublicIPv6, 'fd00::5');
  t.equal(attrs.BackendV6Data?.VtepMAC, 'aa:bb:cc:00:00:02');
  const v4 = formatLease('192.168.1.5', 1, 'aa:bb:cc:00:00:01');
  t.equal(
    v4,
    '{"PublicIP":"192.168.1.5","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:00:00:01"}}',
    'an IPv4 lease is unchanged',
  );
  t.equal(parseLease(v4)!.BackendV6Data, undefined);
  t.equal(vxlanDevice6(1), 'flannel-v6.1');
});

const ENV6 =
  'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n' +
  'FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\n' +
  'FLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\n';

t.test("subnet.env's IPv6 lines, in flanneld's order", async (t) => {
  const env = parseSubnetEnv(ENV6)!;
  t.equal(formatCidr6(env.network6!), 'fd00:10:244::/56');
  t.equal(formatIp6(env.subnet6!.ip), 'fd00:10:244:3::1');
  t.equal(env.subnet6!.prefix, 64);
  t.equal(formatSubnetEnv(env), ENV6, 'written back byte for byte');
  t.equal(parseSubnetEnv(ENV6.replace(/FLANNEL_IPV6.*\n/g, ''))!.subnet6, undefined);
});

t.test("flannel's CNI delegate in a dual-stack cluster: two ranges, two routes", async (t) => {
  const list = flannelConflist();
  const d = delegateConfig(list, list.plugins[0], parseSubnetEnv(ENV6)!, '/d');
  t.strictSame(d.ipam, {
    type: 'host-local',
    ranges: [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:244:3::/64' }]],
    routes: [{ dst: '10.244.0.0/16' }, { dst: 'fd00:10:244::/56' }],
    dataDir: '/d',
  });
  t.equal(d.isDefaultGateway, true, "bridge adds 0.0.0.0/0 and ::/0 via cni0's addresses");
  const result = {
    interfaces: [{ name: 'vethabc' }, { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/p' }],
    ips: [
      { address: 'fd00:10:244:3::2/64', gateway: 'fd00:10:244:3::1', interface: 1 },
      { address: '10.244.3.2/24', gateway: '10.244.3.1', interface: 1 },
    ],
  };
  const a = podAddress(result);
  t.equal(a.address, '10.244.3.2/24', 'the IPv4 address whatever the order');
  t.equal(a.address6, 'fd00:10:244:3::2/64');
  t.equal(a.hostVeth, 'vethabc');
});

t.test("the pod's /etc/hosts lists both addresses", async (t) => {
  const lines = podHosts('10.244.3.2', 'web', 'fd00:10:244:3::2').trim().split('\n');
  t.same(lines.slice(-2), ['10.244.3.2\tweb', 'fd00:10:244:3::2\tweb']);
});

const TOPO = (extra: string) => `
name: dual
${extra}
nodes:
  lan1: {kind: switch}
  C0:
    kind: cluster
    underlay: lan1
    workers: 2
    etcd: 1
    podCidr6: fd00:10:244::/56
`;

t.test('a cluster with podCidr6 in a topology', async (t) => {
  const m = modelFromYaml(TOPO(''));
  t.strictSame(m.families, [4, 6], 'a topology that does not give its family becomes dual');
  const w1 = m.nodes.get('C0w1')!;
  t.ok(w1.ifaces[0].addr6, 'workers have an underlay IPv6 address');
  const cfg = w1.spec.clusterConfig as ClusterConfig;
  t.strictSame(networkConfig(cfg), {
    Network: '10.244.0.0/16',
    Backend: { Type: 'vxlan', VNI: 1, Port: 0 },
    EnableIPv6: true,
    IPv6Network: 'fd00:10:244::/56',
  });
  t.strictSame(modelFromYaml(TOPO('addressing: {family: dual}')).families, [4, 6]);
  const err = (yaml: string) => {
    try {
      modelFromYaml(yaml);
    } catch (e) {
      t.type(e, TopologyError);
      return (e as Error).message;
    }
    t.fail(`no error for ${yaml}`);
    return '';
  };
  const v6 = 'podCidr6: fd00:10:244::/56';
  t.match(
    err(TOPO('addressing: {family: ipv4}')),
    /test\.yml:\d+:\d+.*podCidr6.*addressing\.family is ipv4/s,
  );
  t.match(err(TOPO('addressing: {family: ipv6}')), /a cluster needs IPv4 on its underlay/);
  t.match(
    err(TOPO('').replace(v6, `${v6}\n    subnetLen6: 57`)),
    /subnetLen6.*leaves fewer than four subnets/s,
  );
  t.match(err(TOPO('').replace(v6, 'podCidr6: fd00:10:244::/125')), /podCidr6.*too small/s);
  t.match(
    err(TOPO('').replace(v6, 'podCidr6: fd00:10:244::/122').replace('workers: 2', 'workers: 4')),
    /podCidr6.*room for 3 worker subnets \(\/124 each\), but the cluster has 4 workers/s,
  );
  t.match(err(TOPO('').replace(v6, 'podCidr6: 10.1.0.0/16')), /podCidr6/);
});

t.test('scenarios/dual-stack.ts: the default scenario with IPv6 on the LANs and both clusters', async (t) => {
  const { model } = await loadTopology(join(PROJECT_ROOT, 'scenarios', 'dual-stack.ts'), { simName: 'unit' });
  t.strictSame(model.families, [4, 6]);
  for (const lan of ['lan1', 'lan2']) {
    const seg = model.segments.find((s) => s.switches.includes(lan))!;
    t.ok(seg.subnet6, `${lan} has an IPv6 subnet`);
  }
  const cfg = (w: string) => model.nodes.get(w)!.spec.clusterConfig as ClusterConfig;
  t.equal(cfg('C0w1').podCidr6, 'fd00:10:244::/56');
  t.equal(cfg('C1w1').podCidr6, 'fd00:10:245::/56');
  t.ok(model.nodes.get('C0w3')!.ifaces[0].addr6, 'workers have underlay IPv6 addresses');
});
