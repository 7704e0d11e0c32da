// /metrics of a running simulation: the real `netsim up --web` and `netsim web` (the control
// channel), the text format checked line by line, interface counters that grow with real
// traffic, FRR neighbour states, a token off 127.0.0.1; and in a cluster: kube-proxy's
// per-service and per-endpoint counters, etcd health, pod counts, a workload's series
// (labelled by where the pod runs, following it when it moves) and its real traffic.
import { request } from 'node:http';
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { workloadsOf } from '../../src/features/workload/player.js';
import { WebServer } from '../../src/surfaces/web/server.js';
import { waitFor } from '../../src/util/wait.js';
import { runNetsim, startUp, tempDir, waitReady, writeFile } from '../lib/cli.js';
import { requireFrr } from '../lib/frr.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';
import { type Family, parseExposition, samples, value } from '../lib/prom.js';
import { repl } from '../lib/repl.js';

async function scrape(url: string, init?: RequestInit): Promise<Map<string, Family>> {
  const res = await fetch(url, init);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain') || !type.includes('version=0.0.4'))
    throw new Error(`GET ${url}: content-type ${type}`);
  return parseExposition(await res.text());
}

const ROUTED = `
name: m
nodes:
  r1: {kind: router, ospf: {area: 0}}
  r2: {kind: router, ospf: {area: 0}}
  s1: {kind: switch}
  s2: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r1, s1]
  - endpoints: [r2, s2]
  - endpoints: [h1, s1]
  - endpoints: [h2, s2]
`;

// FRR comes with bin/setup; without it (or root) the whole file is skipped with the reason
const runnable = requireRoot(t) && requireFrr(t);

if (runnable) {
  t.test('netsim up --web, netsim web, /metrics: format, FRR, counters grow with traffic', async (t) => {
    const dir = tempDir(t);
    const name = uniqueName('m');
    const file = writeFile(dir, 'routed.yml', ROUTED);
    const fg = startUp(t, file, name, ['--web']);
    const state = await waitReady(fg, name);
    const printed = await waitFor(() => /web view: (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(fg.stderr())?.[1], {
      what: 'the web view URL on stderr',
      timeoutMs: 30000,
    });
    const res = await runNetsim(['web', name]);
    t.equal(res.code, 0, 'netsim web exits 0', { stderr: res.stderr });
    const url = res.stdout.trim();
    t.equal(url, printed, 'netsim web (from another process, over the control channel) prints the same URL');
    t.notMatch(res.stderr, /started/, 'it was already running: not started again');

    const first = await scrape(`${url}metrics`);
    t.pass(`the text format is valid: ${first.size} families`);
    for (const f of [
      'netsim_interface_receive_bytes_total',
      'netsim_interface_transmit_bytes_total',
      'netsim_interface_receive_packets_total',
      'netsim_interface_transmit_packets_total',
      'netsim_interface_up',
      'netsim_frr_neighbor_up',
      'netsim_build_phase_seconds',
      'netsim_nodes',
    ])
      t.ok(first.has(f), `has ${f}`);
    t.equal(
      first.get('netsim_interface_transmit_bytes_total')?.type,
      'counter',
      'interface bytes are counters',
    );
    t.ok(
      (value(first, 'netsim_build_phase_seconds', { phase: 'namespaces', sim: name }) ?? -1) >= 0,
      'build timings: the namespaces phase',
    );
    t.equal(value(first, 'netsim_nodes', { kind: 'router' }), 2, 'two routers');
    t.equal(value(first, 'netsim_interface_up', { node: 'h1', interface: 'eth1' }), 1, 'h1 eth1 is up');

    // OSPF: each router has the other as a Full neighbour
    const frr = await waitFor(
      async () => {
        const m = await scrape(`${url}metrics`);
        const up = samples(m, 'netsim_frr_neighbor_up').filter((s) => s.value === 1);
        return up.length === 2 ? up : undefined;
      },
      { what: 'both OSPF adjacencies Full in /metrics', timeoutMs: 30000, intervalMs: 500 },
    );
    t.same(frr.map((s) => [s.labels.node, s.labels.protocol, s.labels.state]).sort(), [
      ['r1', 'ospf', 'Full'],
      ['r2', 'ospf', 'Full'],
    ]);

    // traffic: 50 pings of 1000 bytes from h1 to h2, across both routers
    const h2 = state.nodes.find((n) => n.name === 'h2')!.ifaces[0].addr!.split('/')[0];
    const before = await scrape(`${url}metrics`);
    const ping = await runNetsim([
      'exec',
      '--sim',
      name,
      'h1',
      '--',
      'ping',
      '-q',
      '-c',
      '50',
      '-i',
      '0.01',
      '-s',
      '1000',
      h2,
    ]);
    t.equal(ping.code, 0, 'h1 pings h2', { stdout: ping.stdout });
    const grewIn = (now: Map<string, Family>, family: string, labels: Record<string, string>) =>
      (value(now, family, labels) ?? 0) - (value(before, family, labels) ?? 0);
    // the reader caches the counters briefly: wait for a scrape that has the pings at their
    // far end (all namespaces are read together, so the rest of the path is in it too)
    const after = await waitFor(
      async () => {
        const m = await scrape(`${url}metrics`);
        return (
          grewIn(m, 'netsim_interface_receive_packets_total', { node: 'h2', interface: 'eth1' }) >= 50 && m
        );
      },
      { what: "a scrape with h2's 50 received pings", timeoutMs: 5000, intervalMs: 100 },
    );
    const grew = (family: string, labels: Record<string, string>) => grewIn(after, family, labels);
    t.ok(
      grew('netsim_interface_transmit_bytes_total', { node: 'h1', interface: 'eth1' }) >= 50 * 1000,
      'h1 sent ≥ 50 kB',
    );
    t.ok(
      grew('netsim_interface_transmit_packets_total', { node: 'h1', interface: 'eth1' }) >= 50,
      'h1 sent ≥ 50 packets',
    );
    t.ok(
      grew('netsim_interface_receive_packets_total', { node: 'h2', interface: 'eth1' }) >= 50,
      'h2 received ≥ 50',
    );
    t.ok(
      grew('netsim_interface_receive_bytes_total', { node: 'r2', interface: 'eth1' }) >= 50 * 1000,
      'through r2',
    );

    // the page and its script come from the server itself
    const page = await fetch(url);
    t.equal(page.status, 200, 'the page');
    t.match(await page.text(), /vendor\/cytoscape\.min\.js/, 'loads cytoscape.js from the netsim server');
    const lib = await fetch(`${url}vendor/cytoscape.min.js`);
    t.equal(lib.status, 200, 'cytoscape.js is served from node_modules');
    // fetch() will not send another Host: a plain request does
    const foreign = await new Promise<number>((resolve, reject) =>
      request(`${url}metrics`, { headers: { host: 'example.com' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    t.equal(foreign, 403, 'another Host name is refused (DNS rebinding)');

    const down = await runNetsim(['down', name]);
    t.equal(down.code, 0, 'netsim down');
    await fg.exited;
    await t.rejects(fetch(url), 'the web server ended with the simulation');
  });
}

const CLUSTER = (server: string) => `
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.77.0/24}
  C0:
    kind: cluster
    underlay: s1
    etcd: 1
    workers: 2
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server}"}
      client: {worker: w2}
    services:
      web: {selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}
`;

const PROFILE = `workload: busy
step: 3s
series:
  cpu: [0.25, 500m, 1]
  memory: [128Mi, 256Mi, 192Mi]
  power: [10, 20W, 15.5]
traffic:
  to: web1
  rate: [8mbit, 8mbit, 8mbit]
`;

if (runnable) {
  t.test('a cluster: services, etcd, pods, a workload with real traffic, a token', async (t) => {
    const server =
      "socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo HTTP/1.0 200 OK; echo; echo web1; sleep 0.05'";
    const sim = await up(t, modelFromYaml(CLUSTER(server)));
    const C0 = sim.objects.get('C0') as Cluster;
    const web = await WebServer.start(sim, { bind: '127.0.0.2' });
    t.teardown(() => web.close());
    t.ok(web.token && web.token.length >= 20, 'off 127.0.0.1: a token is generated');
    t.match(web.url, /^http:\/\/127\.0\.0\.2:\d+\/\?token=/, 'and is part of the URL');
    const base = `http://127.0.0.2:${web.port}/metrics`;
    t.equal((await fetch(base)).status, 401, 'no token: 401');
    t.equal((await fetch(`${base}?token=wrong`)).status, 401, 'a wrong token: 401');
    t.equal((await fetch(`${base}?token=${web.token}`)).status, 200, '?token=');
    const metrics = () => scrape(base, { headers: { authorization: `Bearer ${web.token}` } });

    // services: three HTTP requests from the client through the ClusterIP
    const client = sim.node('client') as PodNode;
    const svc = await waitFor(
      async () => (await C0.services()).find((s) => s.name === 'web' && s.endpoints.length === 1),
      { what: 'the web service to have its endpoint', timeoutMs: 30000 },
    );
    const before = await metrics();
    for (let i = 0; i < 3; i++) {
      const r = await client.exec(`wget -qO- -T 5 http://${svc.clusterIP}/`);
      t.match(r.stdout, /web1/, `request ${i + 1} through the service`);
    }
    const svcPackets = (f: Map<string, Family>) =>
      value(f, 'netsim_service_packets_total', { cluster: 'C0', service: 'web', protocol: 'tcp' }) ?? 0;
    // the reader caches the nftables counters briefly: wait for a scrape that has the requests
    let m = await waitFor(
      async () => {
        const now = await metrics();
        return svcPackets(now) - svcPackets(before) >= 3 && now;
      },
      { what: 'netsim_service_packets_total to grow by ≥ 3 connections', timeoutMs: 5000, intervalMs: 100 },
    );
    t.pass('netsim_service_packets_total grew by ≥ 3 connections');
    const eps = samples(m, 'netsim_service_endpoint_packets_total', { service: 'web' });
    t.equal(eps.length, 1, 'one endpoint');
    t.equal(eps[0].labels.endpoint, `${sim.node('web1').ip}/8000`, "labelled with web1's address and port");
    t.equal(eps[0].value, svcPackets(m), 'the service is the sum of its endpoints');
    t.equal(value(m, 'netsim_etcd_member_healthy', { cluster: 'C0', member: 'C0e1' }), 1, 'etcd healthy');
    t.equal(value(m, 'netsim_pods', { node: 'C0w1' }), 1, 'one pod on C0w1');
    t.equal(value(m, 'netsim_pods', { node: 'C0w2' }), 1, 'one pod on C0w2');

    // a workload: its series in /metrics, real traffic at its rate
    const dir = tempDir(t);
    const profile = writeFile(dir, 'busy.yml', PROFILE);
    const { run } = repl(sim);
    t.equal((await run(`workload client ${profile}`)).code, 0, 'workload client busy.yml (REPL verb)');
    m = await metrics();
    const labels = { pod: 'client', cluster: 'C0', node: 'C0w2', workload: 'busy' };
    const step = value(m, 'netsim_workload_step', labels);
    t.ok(step !== undefined, 'the series are labelled by pod, node and cluster');
    t.equal(
      value(m, 'netsim_workload_cpu_cores', labels),
      [0.25, 0.5, 1][step!],
      'cpu: the sample of this step',
    );
    t.equal(value(m, 'netsim_workload_memory_bytes', labels), [128, 256, 192][step!] * 2 ** 20, 'memory');
    t.equal(value(m, 'netsim_workload_power_watts', labels), [10, 20, 15.5][step!], 'power');
    t.equal(value(m, 'netsim_workload_traffic_bits_per_second', labels), 8e6, 'traffic rate');
    // the traffic: wait until the first burst has run, then measure the rate
    const txOf = (f: Map<string, Family>) =>
      value(f, 'netsim_interface_transmit_bytes_total', { node: 'client', interface: 'eth0' }) ?? 0;
    await waitFor(() => (workloadsOf(sim).get('client')?.bursts ?? 0) > 0, {
      what: 'the first burst of traffic',
      timeoutMs: 15000,
      intervalMs: 200,
    });
    // the rate: time how long the client takes to send 4 s worth at the profile's rate (below
    // half the rate the wait gives up at 8 s; above 1.5 times it the check below says so)
    const t0 = performance.now();
    const m0 = await metrics();
    const m1 = await waitFor(
      async () => {
        const now = await metrics();
        return txOf(now) - txOf(m0) >= (8e6 / 8) * 4 && now;
      },
      { what: 'the client to send 4 s worth of traffic at 8 Mbit/s', timeoutMs: 8000, intervalMs: 100 },
    );
    const bps = ((txOf(m1) - txOf(m0)) * 8 * 1000) / (performance.now() - t0);
    t.comment(`client sent ${(bps / 1e6).toFixed(2)} Mbit/s (profile: 8 Mbit/s)`);
    t.ok(bps > 8e6 * 0.5 && bps < 8e6 * 1.5, 'the pod sends at about the profile rate', { bps });
    const rx = (f: Map<string, Family>) =>
      value(f, 'netsim_interface_receive_bytes_total', { node: 'web1', interface: 'eth0' }) ?? 0;
    t.ok(rx(m1) - rx(m0) > (txOf(m1) - txOf(m0)) * 0.8, 'and web1 receives it (across the VXLAN)');

    // the series follow the pod: made again on the other worker, same name
    await C0.deletePod('client');
    m = await metrics();
    t.same(samples(m, 'netsim_workload_cpu_cores', { pod: 'client' }), [], 'no series while the pod is gone');
    await C0.addPod('w1', 'client');
    m = await metrics();
    t.ok(
      value(m, 'netsim_workload_cpu_cores', { pod: 'client', node: 'C0w1', cluster: 'C0' }) !== undefined,
      'back with its new node label',
    );
    t.equal(value(m, 'netsim_pods', { node: 'C0w1' }), 2, 'two pods on C0w1 now');
    t.equal(value(m, 'netsim_pods', { node: 'C0w2' }), 0, 'none on C0w2');
    t.equal((await run('workload client stop')).code, 0, 'workload client stop');
    m = await metrics();
    t.same(samples(m, 'netsim_workload_cpu_cores'), [], 'no workload series after stop');

    // a malformed template: a clear, located error and nothing started
    const bad = writeFile(dir, 'bad.yml', 'workload: x\nstep: 1s\nseries:\n  cpu: [0.5, lots]\n');
    const failed = await run(`workload client ${bad}`);
    t.equal(failed.code, 1, 'a bad template fails');
    t.match(
      failed.err,
      `${bad}:4:14: series.cpu[1]: not a valid CPU amount: "lots"`,
      'file:line:col: field: message',
    );
    t.equal(workloadsOf(sim).size, 0, 'nothing started');
  });
}
