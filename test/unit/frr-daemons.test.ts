// Daemons files as FRR's init reads them: shell variables, so lines of a newer FRR (mgmtd=no,
// mgmtd_options) are harmless, and `<name>=yes` for a daemon this FRR lacks is an error at its line.
import t from 'tap';
import { daemonInstalled, parseDaemonsFile } from '../../src/features/frr/daemons.js';

t.test('a daemons file from FRR 10', async (t) => {
  const { file, issues } = parseDaemonsFile(
    [
      'bgpd=yes',
      'mgmtd=no',
      'pim6d=no',
      'vtysh_enable=yes',
      'zebra_options="  -A 127.0.0.1 -s 90000000"',
      'mgmtd_options="  -A 127.0.0.1"',
      'bgpd_options="   --daemon -A 127.0.0.1"',
      'frr_profile="datacenter"',
      'MAX_FDS=2048',
      'some_new_setting=$(whatever)',
      'FRR_NO_ROOT="yes"',
    ].join('\n'),
  );
  t.same(issues, [], 'accepted');
  t.same(
    file.runs.map((r) => [r.daemon, r.options]),
    [
      ['zebra', ['-A', '127.0.0.1', '-s', '90000000']],
      ['staticd', []],
      ['bgpd', ['--daemon', '-A', '127.0.0.1']],
    ],
    'the daemons it runs, with their options',
  );
  t.equal(file.profile, 'datacenter');
  t.equal(file.maxFds, 2048);
});

t.test('<name>=yes for a daemon this FRR does not ship', async (t) => {
  const { issues } = parseDaemonsFile('zebra=yes\n\nfoo=yes\nbar=no\n');
  t.equal(issues.length, 1, 'bar=no is fine');
  t.equal(issues[0].line, 3, 'at its line');
  t.match(issues[0].message, /^foo=yes: this FRR has no daemon "foo" \(\/\S+ has zebra, /);
  if (!daemonInstalled('mgmtd'))
    t.match(parseDaemonsFile('mgmtd=yes').issues, [
      { line: 1, message: /^mgmtd=yes: this FRR has no daemon "mgmtd"/ },
    ]);
  t.match(
    parseDaemonsFile('ospfd=maybe').issues,
    [{ line: 1, message: /ospfd: expected yes or no/ }],
    'known: yes|no',
  );
  t.match(
    parseDaemonsFile('zebra_options=$(x)').issues,
    [{ message: /cannot read the value/ }],
    'a value it uses',
  );
});
