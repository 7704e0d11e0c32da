// Throughput between two nodes with iperf3: the REPL's `iperf` verbs and the shaping tests.
import { waitFor } from '../util/wait.js';
import type { SimNode } from './node.js';

/** Runs iperf3 server in `server` (one test) and client in `client`; returns bits per second. */
export async function iperf3(
  client: SimNode,
  server: SimNode,
  opts: { udp?: boolean; bw?: string; seconds?: number } = {},
): Promise<number> {
  if (!server.ip) throw new Error(`${server.name} has no address`);
  const port = 5201;
  const srv = server.spawn(`exec iperf3 -s -1 -p ${port}`);
  try {
    // the client's first connection must find the server listening; past a second, the
    // client reports the refusal itself
    await waitFor(
      async () => (await server.exec(`ss -ltn 'sport = :${port}' | grep -q LISTEN`)).exitCode === 0,
      {
        timeoutMs: 1000,
        intervalMs: 20,
      },
    ).catch(() => {});
    const args = ['-c', server.ip, '-p', String(port), '-t', String(opts.seconds ?? 2), '-J'];
    if (opts.udp) args.push('-u', '-b', opts.bw ?? '10M');
    const res = await client.exec(`iperf3 ${args.join(' ')}`);
    const json = JSON.parse(res.stdout) as {
      end?: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number } };
      error?: string;
    };
    if (json.error) throw new Error(`iperf3: ${json.error}`);
    return json.end?.sum_received?.bits_per_second ?? json.end?.sum?.bits_per_second ?? 0;
  } finally {
    srv.kill('SIGTERM');
  }
}

export function formatBps(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbits/sec`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbits/sec`;
  return `${(bps / 1e3).toFixed(2)} Kbits/sec`;
}
