// trace's route layer from recorded `ip -j route get` / `fibmatch` / `ip -j neigh` output: an
// OSPF route on r1, a connected subnet on a pod, a missing route.
import t from 'tap';
import {
  deliverStep,
  installedBy,
  neighbourStep,
  noRouteReason,
  routeStep,
  routeText,
  routeTypeReason,
} from '../../src/features/trace/explain/route.js';
import type { NeighJson, RouteGet } from '../../src/features/trace/types.js';
import { fixture, jsonFixture } from '../lib/trace-fixtures.js';

t.test('r1: the OSPF route FRR installed, its next hop and neighbour', async (t) => {
  const [get] = jsonFixture<RouteGet[]>('r1-route-get.json');
  const [fib] = jsonFixture<RouteGet[]>('r1-fibmatch.json');
  const [ne] = jsonFixture<NeighJson[]>('r1-neigh.json');
  t.equal(routeText(fib), '10.0.1.0/24 via 10.255.0.2 dev eth2 proto ospf metric 20');
  const step = routeStep('10.0.1.2', get, fib, 'r2');
  t.equal(step.kind, 'route');
  t.equal(
    step.text,
    'route to 10.0.1.2: via 10.255.0.2 (r2) dev eth2; FIB entry 10.0.1.0/24 via 10.255.0.2 dev eth2 proto ospf metric 20 — installed by FRR (zebra) from OSPF',
  );
  t.equal((step.data?.fib as RouteGet | undefined)?.protocol, 'ospf');
  t.equal(routeTypeReason(get, '10.0.1.2', fib), undefined, 'a unicast route forwards');
  t.equal(
    neighbourStep('10.255.0.2', 'eth2', ne).text,
    'neighbour 10.255.0.2 is b6:84:8a:f5:4e:48 (delay) on eth2',
  );
  t.equal(
    neighbourStep('10.255.0.9', 'eth2', undefined).text,
    'neighbour 10.255.0.9: no entry on eth2 (no ARP answer)',
  );
});

t.test('a pod: the connected subnet, no gateway', async (t) => {
  const [get] = jsonFixture<RouteGet[]>('client-route-get.json');
  const [fib] = jsonFixture<RouteGet[]>('client-fibmatch.json');
  t.equal(
    routeStep('10.244.185.2', get, fib).text,
    'route to 10.244.185.2: dev eth0; FIB entry 10.244.185.0/24 dev eth0 proto kernel — connected subnet (the kernel added it with the address)',
  );
  t.equal(
    deliverStep('web1', { saddr: '10.244.185.3', daddr: '10.244.185.2', proto: 'tcp', dport: 8000 }, fib)
      .text,
    '10.244.185.2 is local (10.244.185.0/24 dev eth0 proto kernel): delivered to web1 port 8000',
  );
});

t.test('no route: the kernel error, and routes that do not forward', async (t) => {
  t.equal(
    noRouteReason('10.10.10.2', fixture('r1-route-get-unreachable.stderr')),
    'no route to 10.10.10.2: Network is unreachable',
  );
  t.equal(
    routeTypeReason({ type: 'blackhole', dst: '10.9.0.1' }, '10.9.0.1', {
      dst: '10.9.0.0/16',
      type: 'blackhole',
    }),
    'route type blackhole for 10.9.0.1 (10.9.0.0/16 proto boot)',
  );
  t.equal(installedBy('bgp'), 'installed by FRR (zebra) from BGP');
  t.equal(installedBy('zebra'), 'installed by FRR (zebra) from zebra');
  t.equal(installedBy(undefined), 'configured with ip route (netsim or the agent)');
  t.equal(installedBy('dhcp'), 'protocol dhcp');
});
