// kernel/cni.ts execCniMany: many plugin calls started from a few shells, each read back as
// execCni reads one (result, CNI error object, exit code, time), in order, on namespaces of
// this test's own making; the same call through execCni gives the same answer.
import t from 'tap';
import { type CniCall, CniError, cniPluginAvailable, execCni, execCniMany } from '../../src/kernel/cni.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { Ledger } from '../../src/kernel/ledger.js';
import { deleteNamespaces } from '../../src/kernel/netns.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

if (requireRoot(t)) {
  if (!cniPluginAvailable('bridge') || !cniPluginAvailable('host-local'))
    t.plan(0, 'the reference CNI plugins are not installed (bin/setup: containernetworking-plugins)');
  else
    t.test('a batch: two ADDs, a plugin error, a missing plugin; then DEL', async (t) => {
      const sim = uniqueName('cnib');
      const [host, p1, p2] = ['host', 'p1', 'p2'].map((n) => `netsim-${sim}-${n}`);
      t.teardown(() => deleteNamespaces([host, p1, p2]));
      await new Kernel(new Ledger('/dev/null')).addNamespaces([host, p1, p2]);
      const dataDir = t.testdir();
      const config = {
        cniVersion: '1.0.0',
        name: 'cbr0',
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.250.1.0/24' }]] },
      };
      const call = (command: CniCall['command'], netns: string, over: Partial<CniCall> = {}): CniCall => ({
        command,
        type: 'bridge',
        containerId: netns,
        netns,
        ifname: 'eth0',
        config,
        hostNs: host,
        ...over,
      });
      const out = await execCniMany([
        call('ADD', p1),
        call('ADD', p2),
        // the same container's interface twice: bridge refuses, with its error object
        call('ADD', p2),
        call('ADD', p1, { type: 'no-such-plugin' }),
      ]);
      const ips = out.slice(0, 2).map((o) => {
        t.notOk(o instanceof CniError, 'ADD succeeds');
        return ((o as { result: { ips: { address: string }[] } }).result.ips[0].address as string) ?? '';
      });
      t.same(ips.sort(), ['10.250.1.2/24', '10.250.1.3/24'], 'host-local handed out one address each');
      t.ok(out[2] instanceof CniError, 'a second eth0 in p2 is an error');
      const dup = out[2] as CniError;
      t.not(dup.trace?.exitCode, 0);
      t.match(dup.msg, /eth0|exist/i, "the plugin's own message");
      t.ok(
        out[3] instanceof CniError && /not found/.test((out[3] as CniError).msg),
        'a missing plugin is named',
      );
      const ok = out[0] as { trace: { ms: number; env: Record<string, string> } };
      t.ok(ok.trace.ms >= 0 && ok.trace.ms < 30000, 'each call is timed');
      t.equal(ok.trace.env.CNI_NETNS, `/run/netns/${p1}`);
      // CHECK through execCni agrees with the batch's result
      const prevResult = (out[0] as { result: unknown }).result;
      await t.resolves(execCni(call('CHECK', p1, { config: { ...config, prevResult } })), 'CHECK passes');
      const dels = await execCniMany([call('DEL', p1), call('DEL', p2)]);
      t.same(
        dels.map((d) => d instanceof CniError),
        [false, false],
        'DEL succeeds for both',
      );
    });
}
