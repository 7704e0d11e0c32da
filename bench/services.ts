// Services at scale on one worker: 10,000 services × 2 endpoints. kube-proxy's full sync (a
// restarted agent loading the whole table), a one-service update, and the time of a first
// connection to a ClusterIP with 10 and with 10,000 services (the vmap lookup is O(1)).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster } from '../src/k8s/cluster.js';
import type { PodNode } from '../src/k8s/pod.js';
import { ENDPOINTS_PREFIX, SERVICE_IPAM_PREFIX, SPECS_PREFIX } from '../src/k8s/services/objects.js';
import type { WorkerNode } from '../src/k8s/worker.js';
import { Topology } from '../src/model/builder.js';
import { validate } from '../src/model/validate.js';
import { Simulation } from '../src/runtime/simulation.js';
import { formatIp } from '../src/util/ipv4.js';
import { median } from './measure.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ServicesRun {
  services: number;
  fullSyncMs: number;
  fullSyncNftMs: number;
  updateMs: number[];
  firstConnectMs10: number;
  firstConnectMsN: number;
}

/** The agent log lines after `offset` that match. */
function logLines(w: WorkerNode, re: RegExp, offset: number): string[] {
  return readFileSync(w.agentLog, 'utf8')
    .slice(offset)
    .split('\n')
    .filter((l) => re.test(l));
}

/** Median time of `n` fresh TCP connections (connect + one line), measured inside the pod. */
async function connectMs(pod: PodNode, ip: string, n: number): Promise<number> {
  const r = await pod.exec(
    `for i in $(seq ${n}); do s=$(date +%s%N); socat -T2 - TCP:${ip}:80,connect-timeout=2 </dev/null >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); done`,
    { timeoutMs: n * 3000 + 5000 },
  );
  return median(r.stdout.trim().split('\n').map(Number)) / 1000;
}

export async function runServices(count: number): Promise<ServicesRun> {
  const t = new Topology(`benchsvc_${randomBytes(3).toString('hex')}`, 'bench:services');
  t.switch('s1', { subnet: '192.168.0.0/24' });
  const srv = (n: string) => `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo ${n}'`;
  t.cluster('C0', {
    underlay: 's1',
    workers: 1,
    etcd: 1,
    dns: false,
    pods: {
      e1: { worker: 'w1', command: srv('e1') },
      e2: { worker: 'w1', command: srv('e2') },
      client: { worker: 'w1' },
    },
  });
  const sim = await Simulation.up(validate(t.toSpec(), t.source, { simName: t.name }));
  try {
    const C0 = sim.objects.get('C0') as Cluster;
    const w1 = sim.node('C0w1') as WorkerNode;
    const client = sim.node('client') as PodNode;
    const e1 = (sim.node('e1') as PodNode).ip!;
    const e2 = (sim.node('e2') as PodNode).ip!;
    // services written straight into etcd (what `addService` writes, without its per-call checks)
    const write = async (from: number, to: number) => {
      const etcd = C0.etcd;
      for (let i = from; i < to; i += 40) {
        const ops = [];
        for (let k = i; k < Math.min(i + 40, to); k++) {
          const ip = formatIp(C0.serviceCidr.net + 256 + k);
          const name = `s${k}`;
          const spec = {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name, namespace: 'default', uid: name, creationTimestamp: '' },
            spec: {
              type: 'ClusterIP',
              clusterIP: ip,
              ports: [{ protocol: 'TCP', port: 80, targetPort: 8000 }],
              sessionAffinity: 'None',
            },
          };
          const eps = {
            apiVersion: 'v1',
            kind: 'Endpoints',
            metadata: { name, namespace: 'default' },
            subsets: [{ addresses: [{ ip: e1 }, { ip: e2 }], ports: [{ port: 8000, protocol: 'TCP' }] }],
          };
          ops.push(
            etcd.put(`${SPECS_PREFIX}default/${name}`).value(JSON.stringify(spec)),
            etcd.put(`${ENDPOINTS_PREFIX}default/${name}`).value(JSON.stringify(eps)),
            etcd.put(`${SERVICE_IPAM_PREFIX}${ip}`).value(`default/${name}`),
          );
        }
        await etcd
          .if(SPECS_PREFIX, 'Version', '>', -1)
          .then(...ops)
          .commit();
      }
    };
    const vip0 = formatIp(C0.serviceCidr.net + 256);
    // the endpoints controller would empty endpoints of services without a selector: stop it
    (C0 as unknown as { controller?: { close(): void } }).controller?.close();
    await write(0, 10);
    await sleep(1500);
    const firstConnectMs10 = await connectMs(client, vip0, 30);
    await write(10, count);
    // a restarted agent loads the whole table in one transaction
    await w1.stopAgent();
    const offset = readFileSync(w1.agentLog, 'utf8').length;
    await w1.startAgentAndWait();
    let full: string[] = [];
    for (let i = 0; i < 600 && full.length === 0; i++) {
      await sleep(100);
      full = logLines(w1, /kube-proxy: full sync/, offset);
    }
    const m = /in (\d+) ms \(render (\d+) ms, nft (\d+) ms\)/.exec(full[0] ?? '');
    if (!m) throw new Error(`no full sync line in the agent log:\n${w1.agentTail()}`);
    const firstConnectMsN = await connectMs(client, vip0, 30);
    // one-service updates: a new service each time
    const updateMs: number[] = [];
    for (let k = 0; k < 5; k++) {
      const off = readFileSync(w1.agentLog, 'utf8').length;
      await write(count + k, count + k + 1);
      let lines: string[] = [];
      for (let i = 0; i < 100 && lines.length === 0; i++) {
        await sleep(50);
        lines = logLines(w1, /kube-proxy: updated/, off);
      }
      const u = /in ([\d.]+) ms/.exec(lines[0] ?? '');
      if (u) updateMs.push(Number(u[1]));
    }
    return {
      services: count,
      fullSyncMs: Number(m[1]),
      fullSyncNftMs: Number(m[3]),
      updateMs,
      firstConnectMs10,
      firstConnectMsN,
    };
  } finally {
    await sim.down();
  }
}
