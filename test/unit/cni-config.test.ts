// The CNI configuration builders (k8s/cni/config.ts): flannel's conflist, the delegate config
// flannel's plugin builds for bridge + host-local from subnet.env, chained plugins' config,
// and reading a result; and the CNI_* environment of a call (kernel/cni.ts).
import t from 'tap';
import {
  chainedConfig,
  delegateFromSubnetEnv,
  flannelConflist,
  formatConflist,
  parseConflist,
  podAddress,
} from '../../src/features/k8s/cni/config.js';
import { cniEnv } from '../../src/kernel/cni.js';

const SUBNET_ENV =
  'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

t.test("flannel's conflist", async (t) => {
  const list = flannelConflist();
  t.strictSame(list.plugins, [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'bandwidth', capabilities: { bandwidth: true } },
  ]);
  t.equal(list.name, 'cbr0');
  t.strictSame(parseConflist(formatConflist(list)), list, 'reads back what it writes');
  t.throws(() => parseConflist('{"cniVersion":"1.0.0","plugins":[]}'), /"name" is missing/);
  t.throws(() => parseConflist('{"name":"x","cniVersion":"1.0.0","plugins":[]}'), /"plugins" is empty/);
  t.throws(() => parseConflist('{"name":"x","cniVersion":"1.0.0","plugins":[{}]}'), /plugins\[0\]\.type/);
});

t.test('the delegate config from subnet.env, as flannel-cni-plugin builds it', async (t) => {
  const list = flannelConflist();
  const d = delegateFromSubnetEnv(list, list.plugins[0], SUBNET_ENV, '/sim/w1/cni/networks');
  t.strictSame(d, {
    hairpinMode: true,
    isDefaultGateway: true,
    name: 'cbr0',
    type: 'bridge',
    bridge: 'cni0',
    isGateway: true,
    ipMasq: false,
    mtu: 1450,
    cniVersion: '1.0.0',
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: '10.244.3.0/24' }]],
      routes: [{ dst: '10.244.0.0/16' }],
      dataDir: '/sim/w1/cni/networks',
    },
  });
  const noMasq = delegateFromSubnetEnv(
    list,
    { type: 'flannel', delegate: {} },
    SUBNET_ENV.replace('IPMASQ=true', 'IPMASQ=false').replace('1450', '8950'),
    '/d',
  );
  t.equal(noMasq.ipMasq, true, 'ipMasq = !FLANNEL_IPMASQ');
  t.equal(noMasq.mtu, 8950, 'mtu = FLANNEL_MTU');
  const own = delegateFromSubnetEnv(
    list,
    { type: 'flannel', delegate: { mtu: 1400, bridge: 'br9' } },
    SUBNET_ENV,
    '/d',
  );
  t.equal(own.mtu, 1400, "the conflist's delegate values win");
  t.equal(own.bridge, 'br9');
  t.throws(() => delegateFromSubnetEnv(list, list.plugins[0], 'FLANNEL_MTU=1450\n', '/d'), /FLANNEL_NETWORK/);
});

t.test('a chained plugin gets name, version, runtimeConfig and prevResult, not capabilities', async (t) => {
  const list = flannelConflist();
  const prev = { cniVersion: '1.0.0', ips: [{ address: '10.244.3.2/24' }] };
  const c = chainedConfig(list, list.plugins[1], prev, {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  });
  t.strictSame(c, {
    type: 'portmap',
    name: 'cbr0',
    cniVersion: '1.0.0',
    runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    prevResult: prev,
  });
});

t.test("the pod's address from a bridge result", async (t) => {
  const result = {
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'cni0', mac: 'aa:aa:aa:aa:aa:aa' },
      { name: 'veth1234abcd', mac: 'bb:bb:bb:bb:bb:bb' },
      { name: 'eth0', mac: 'cc:cc:cc:cc:cc:cc', sandbox: '/run/netns/p' },
    ],
    ips: [{ interface: 2, address: '10.244.3.2/24', gateway: '10.244.3.1' }],
    routes: [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.3.1' }],
  };
  t.strictSame(podAddress(result), {
    address: '10.244.3.2/24',
    gateway: '10.244.3.1',
    hostVeth: 'veth1234abcd',
    mac: 'cc:cc:cc:cc:cc:cc',
  });
  t.throws(() => podAddress({ cniVersion: '1.0.0', ips: [] }), /no address for eth0/);
});

t.test('the CNI_* environment of a call', async (t) => {
  t.strictSame(
    cniEnv({
      command: 'ADD',
      type: 'bridge',
      containerId: 'abc',
      netns: 'netsim-x-C0w1-a',
      ifname: 'eth0',
      config: {},
      args: 'K8S_POD_NAME=a',
    }),
    {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'abc',
      CNI_NETNS: '/run/netns/netsim-x-C0w1-a',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/usr/lib/cni',
      CNI_ARGS: 'K8S_POD_NAME=a',
    },
  );
});
