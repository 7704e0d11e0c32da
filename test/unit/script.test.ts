// A namespace's script as the job that applies it (src/kernel/script.ts, run by
// src/kernel/runner.ts): sysctls written into /proc/sys, then ip, tc and nft in order.
import t from 'tap';
import { nsJob, sysctlPath } from '../../src/kernel/script.js';

t.test('sysctlPath: /proc/sys paths as sysctl(8) reads the keys', async (t) => {
  t.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  t.equal(
    sysctlPath('net/ipv6/conf/eth0.5/accept_dad'),
    '/proc/sys/net/ipv6/conf/eth0.5/accept_dad',
    'slashes kept as they are (an interface name with a dot)',
  );
});

t.test('nsJob: sysctls, then ip -batch, tc -batch, nft -f with their lines', async (t) => {
  const job = nsJob('netsim-x-h1', {
    sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv4.ping_group_range': '0 2147483647' },
    ip: ['link set lo up', 'link set eth1 up'],
    tc: ['qdisc add dev eth1 root netem delay 5ms'],
    nft: ['table ip nat {', '}'],
  })!;
  t.same(job.sysctls, [
    ['/proc/sys/net/ipv4/ip_forward', '1'],
    ['/proc/sys/net/ipv4/ping_group_range', '0 2147483647'],
  ]);
  t.same(job.commands, [
    { argv: ['ip', '-batch', '-'], input: 'link set lo up\nlink set eth1 up\n' },
    { argv: ['tc', '-batch', '-'], input: 'qdisc add dev eth1 root netem delay 5ms\n' },
    { argv: ['nft', '-f', '-'], input: 'table ip nat {\n}\n' },
  ]);
  const only = nsJob('n', { sysctls: { a: '1' }, ip: [], tc: [] })!;
  t.same([only.sysctls, only.commands], [[['/proc/sys/a', '1']], []], 'sysctls alone');
  t.same(
    nsJob('n', { sysctls: {}, ip: ['x'], tc: [], report: true })!.commands,
    [{ argv: ['ip', '-j', '-batch', '-'], input: 'x\nlink show\n' }],
    'report: JSON, the interfaces listed last',
  );
  t.equal(nsJob('n', { sysctls: {}, ip: [], tc: [] }), undefined, 'nothing to do');
});
