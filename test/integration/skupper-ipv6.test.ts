// The Skupper-style link over an IPv6 underlay, through the real kernel: two clusters on a
// dual-stack routed underlay (s0 - r1 - s1), a token for the router's IPv6 address, and the
// link's TLS connection seen with ss in both workers' namespaces as an IPv6 connection (and no
// IPv4 one). A pod of C0 exposed through the link answers an IPv6 client on C1's underlay at
// the listener on C1's router worker's IPv6 address, and an IPv4 client at its IPv4 address.
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import { LINK_PORT } from '../../src/features/multicluster/skupper/site.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const server = (name: string) => `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo ${name}'`;

if (requireRoot(t)) {
  t.test('skupper-style link over IPv6', async (t) => {
    const model = modelFromYaml(`
name: k6
nodes:
  s0: {kind: switch, subnet: 192.168.91.0/24, subnet6: "fd00:91::/64"}
  s1: {kind: switch, subnet: 192.168.92.0/24, subnet6: "fd00:92::/64"}
  r1: {kind: router}
  h1: {kind: host}
  C0:
    kind: cluster
    underlay: s0
    workers: 1
    etcd: 1
    dns: false
    podCidr: 10.244.0.0/16
    pods:
      web1: {worker: w1, command: "${server('web1')}"}
  C1:
    kind: cluster
    underlay: s1
    workers: 1
    etcd: 1
    dns: false
    podCidr: 10.245.0.0/16
    prefix: /c1/network
links:
  - endpoints: [r1, s0]
  - endpoints: [r1, s1]
  - endpoints: [h1, s1]
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const C1 = sim.objects.get('C1') as Cluster;
    const w0 = sim.node('C0w1');
    const w1 = sim.node('C1w1');
    const h1 = sim.node('h1');
    t.match(w0.ip6, /^fd00:91::/, "C0's router worker has an IPv6 address on the underlay");
    t.match(w1.ip6, /^fd00:92::/);
    await waitFor(async () => (await w1.exec(`ping -6 -c1 -W1 ${w0.ip6}`)).exitCode === 0, {
      timeoutMs: 10000,
      what: 'the workers reach each other over IPv6',
    });

    const token = await C0.skupperToken({ family: 6 });
    t.equal(
      JSON.parse(Buffer.from(token, 'base64').toString()).host,
      w0.ip6,
      'the token dials the IPv6 address',
    );
    await C1.skupperLink(token);
    await (await C1.skupperSite()).waitLink('C0');
    const st = (await C0.skupperStatus()) as { addresses: string[] };
    t.same(st.addresses, [w0.ip, w0.ip6], 'the router is on both addresses');

    // the link's TLS connection, as the kernel has it in each namespace
    const dialler = await w1.cmd(`ss -Htn state established '( dport = :${LINK_PORT} )'`);
    t.match(dialler, new RegExp(`\\[${w1.ip6}\\]:\\d+\\s+\\[${w0.ip6}\\]:${LINK_PORT}`), `C1w1: ${dialler}`);
    const accepter = await w0.cmd(`ss -Htn state established '( sport = :${LINK_PORT} )'`);
    t.match(
      accepter,
      new RegExp(`\\[${w0.ip6}\\]:${LINK_PORT}\\s+\\[${w1.ip6}\\]:\\d+`),
      `C0w1: ${accepter}`,
    );
    t.equal(
      (await w1.cmd(`ss -H -4 -tn state established '( dport = :${LINK_PORT} )'`)).trim(),
      '',
      'no IPv4 connection on the link port',
    );

    const web1 = sim.node('web1').ip!;
    await waitFor(async () => (await w0.exec(`socat -T1 - TCP:${web1}:8000`)).stdout.trim() === 'web1', {
      timeoutMs: 10000,
      what: "web1's server",
    });
    const { listenerPort } = await C0.skupperExpose('web1', { port: 8000 });
    await (await C1.skupperSite()).waitRoute('web1');
    const listening = await w1.cmd(`ss -Htln '( sport = :${listenerPort} )'`);
    t.match(listening, new RegExp(`\\[${w1.ip6}\\]:${listenerPort}`), 'the listener on the IPv6 address');
    t.match(listening, new RegExp(`${w1.ip!.replaceAll('.', '\\.')}:${listenerPort}`), 'and on the IPv4 one');
    const fetch = async (address: string) => {
      // -u: read the connection only (no half-close from an empty stdin)
      const r = await h1.exec(`socat -T2 -u ${address},connect-timeout=2 -`);
      return r.stdout.trim() || r.stderr.trim();
    };
    const v6 = await fetch(`TCP6:[${w1.ip6}]:${listenerPort}`);
    t.equal(v6, 'web1', "an IPv6 client gets C0's pod through the link");
    const v4 = await fetch(`TCP:${w1.ip}:${listenerPort}`);
    t.equal(v4, 'web1', 'an IPv4 client too');
  });
}
