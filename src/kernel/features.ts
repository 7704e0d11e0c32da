// Kernel features differ between machines (this CI kernel has no netem, dummy, vlan...).
// They are probed once per kernel release inside a throwaway namespace and cached.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

export interface Features {
  netem: boolean;
  tbf: boolean;
  htb: boolean;
  vxlan: boolean;
  bridge: boolean;
  dummy: boolean;
  vlan: boolean;
  vrf: boolean;
  wireguard: boolean;
  geneve: boolean;
  gre: boolean;
  nftables: boolean;
  /** br_netfilter is loaded: bridged frames go through the ip/ip6/arp hooks unless turned off per namespace */
  brNetfilter: boolean;
}

const PROBES: Record<Exclude<keyof Features, 'brNetfilter'>, string> = {
  netem: 'tc qdisc add dev p0 root netem delay 1ms',
  tbf: 'tc qdisc add dev p0 root tbf rate 1mbit burst 32kbit latency 50ms',
  htb: 'tc qdisc add dev p0 root handle 1: htb default 1',
  vxlan: 'ip link add vx0 type vxlan id 42 dstport 4789 dev p0',
  bridge: 'ip link add br0 type bridge',
  dummy: 'ip link add d0 type dummy',
  vlan: 'ip link add link p0 name v0 type vlan id 10',
  vrf: 'ip link add vrf0 type vrf table 10',
  wireguard: 'ip link add wg0 type wireguard',
  geneve: 'ip link add gn0 type geneve id 5 remote 192.0.2.1',
  gre: 'ip link add gre0x type gre remote 192.0.2.1 local 192.0.2.2',
  nftables: 'nft add table inet netsimprobe',
};

/**
 * Runs each probe in a fresh namespace `nsName` (deleted afterwards). The namespace name
 * must carry the netsim- prefix so `netsim clean` can find it after a crash.
 */
export async function probeFeatures(runDir: string, nsName: string): Promise<Features> {
  const cacheFile = join(runDir, `features-${release()}.json`);
  // a module can be loaded at any time, so this one is looked at on every run, not cached
  const brNetfilter = existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');
  if (existsSync(cacheFile))
    return { ...(JSON.parse(readFileSync(cacheFile, 'utf8')) as Features), brNetfilter };
  await run('ip', ['netns', 'add', nsName]);
  const out = {} as Features;
  try {
    // all probes in one shell, each on a fresh veth so one qdisc does not block the next
    const script = Object.entries(PROBES)
      .map(
        ([feature, probe]) =>
          `ip link add p0 type veth peer name p1 2>/dev/null; ip link set p0 up; ${probe} >/dev/null 2>&1; echo "${feature} $?"; ip link del p0 2>/dev/null; for d in vx0 br0 d0 v0 vrf0 wg0 gn0 gre0x; do ip link del $d 2>/dev/null; done; nft delete table inet netsimprobe 2>/dev/null`,
      )
      .join('\n');
    const res = await run('sh', ['-c', script], { ns: nsName, check: false });
    const codes = new Map(res.stdout.split('\n').map((l) => l.trim().split(' ') as [string, string]));
    for (const feature of Object.keys(PROBES) as (keyof typeof PROBES)[])
      out[feature] = codes.get(feature) === '0';
    out.brNetfilter = brNetfilter;
  } finally {
    await run('ip', ['netns', 'del', nsName], { check: false });
  }
  // a fresh machine has no run directory yet; tests probe concurrently, so write then rename
  mkdirSync(runDir, { recursive: true });
  const tmp = `${cacheFile}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(out));
  renameSync(tmp, cacheFile);
  return out;
}
