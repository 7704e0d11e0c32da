// A namespace's script as the shell job that applies it (src/kernel/script.ts): sysctls are
// written by the shell that then becomes `ip -batch`, one process chain per namespace.
import t from 'tap';
import { scriptJob, sysctlWrites } from '../../src/kernel/script.js';

t.test('sysctlWrites: /proc/sys paths as sysctl(8) reads the keys', async (t) => {
  t.equal(
    sysctlWrites([
      ['net.ipv4.ip_forward', '1'],
      ['net/ipv6/conf/eth0.5/accept_dad', '0'],
      ['net.ipv4.ping_group_range', '0 2147483647'],
    ]),
    "printf '%s\\n' '1' >'/proc/sys/net/ipv4/ip_forward'; " +
      "printf '%s\\n' '0' >'/proc/sys/net/ipv6/conf/eth0.5/accept_dad'; " +
      "printf '%s\\n' '0 2147483647' >'/proc/sys/net/ipv4/ping_group_range'",
    'dots become slashes unless the key has slashes (an interface name with a dot)',
  );
});

t.test('scriptJob: sysctls and ip -batch in one nsenter', async (t) => {
  const job = scriptJob('netsim-x-h1', {
    sysctls: { 'net.ipv4.ip_forward': '1' },
    ip: ['link set eth1 up'],
    tc: [],
  })!;
  const lines = job.text.split('\n');
  t.match(
    lines[0],
    /^nsenter .*netsim-x-h1.* sh -c 'set -e; printf .*ip_forward.*; exec ip -batch -' <<'NETSIM_IP' \|\| fail netsim-x-h1$/,
  );
  t.same(lines.slice(1), ['link set eth1 up', 'NETSIM_IP']);
  t.equal(job.text.match(/nsenter/g)?.length, 1, 'one process chain');
  const only = scriptJob('n', { sysctls: { a: '1' }, ip: [], tc: [] })!;
  t.match(only.text, /sh -c 'set -e; printf .*\/proc\/sys\/a.*' <\/dev\/null \|\| fail n$/, 'sysctls alone');
  t.match(
    scriptJob('n', { sysctls: {}, ip: ['x'], tc: [], report: true })!.text,
    / ip -j -batch - <<'NETSIM_IP'/,
    'report: JSON',
  );
  t.equal(scriptJob('n', { sysctls: {}, ip: [], tc: [] }), undefined, 'nothing to do');
});
