// kernel/cni.ts execCniMany with a stand-in plugin (a shell script in CNI_PATH, no namespace):
// each call gets its CNI_* environment and its config on stdin from the shell that starts it
// (no `env`, `timeout` or `nsenter` process in between), results and CNI error objects come
// back in order, one host's calls run one after the other, and a call that hangs is stopped
// by netsim at the time limit while the others finish.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type CniCall, CniError, execCniMany } from '../../src/kernel/cni.js';

const PLUGIN = `#!/bin/sh
conf=$(cat)
case "$CNI_CONTAINERID" in
  hang) exec sleep 30 ;;
  bad) printf '{"code":7,"msg":"refused %s"}' "$CNI_CONTAINERID"; echo "why" >&2; exit 1 ;;
esac
parent=$(cat /proc/$PPID/comm)
printf '{"id":"%s","cmd":"%s","netns":"%s","ifname":"%s","args":"%s","parent":"%s","at":"%s","conf":%s}' \\
  "$CNI_CONTAINERID" "$CNI_COMMAND" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$parent" "$(date +%s%N)" "$conf"
`;

function setup(dir: string): (id: string, over?: Partial<CniCall>) => CniCall {
  writeFileSync(join(dir, 'fake'), PLUGIN);
  chmodSync(join(dir, 'fake'), 0o755);
  return (id, over = {}) => ({
    command: 'ADD',
    type: 'fake',
    containerId: id,
    netns: `pod-${id}`,
    ifname: 'eth0',
    config: { cniVersion: '1.0.0', name: 'n', quote: 'it\'s "quoted" $HOME `x`' },
    cniPath: dir,
    args: 'K8S_POD_NAME=a;K8S_POD_NAMESPACE=default',
    ...over,
  });
}

type Res = {
  id: string;
  cmd: string;
  netns: string;
  ifname: string;
  args: string;
  parent: string;
  at: string;
  conf: unknown;
};

t.test('environment, stdin, results and errors, in order', async (t) => {
  const call = setup(t.testdir());
  const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
  const calls = [...ids.map((id) => call(id)), call('bad'), call('x', { type: 'missing' })];
  const out = await execCniMany(calls, { shells: 3 });
  t.equal(out.length, calls.length);
  ids.forEach((id, i) => {
    const o = out[i];
    if (o instanceof CniError) {
      t.fail(`${id}: ${o.message}`);
      return;
    }
    const r = o.result as Res;
    t.equal(r.id, id, `${id}: its own result`);
    t.equal(r.cmd, 'ADD');
    t.equal(r.netns, `/run/netns/pod-${id}`);
    t.equal(r.ifname, 'eth0');
    t.equal(r.args, 'K8S_POD_NAME=a;K8S_POD_NAMESPACE=default');
    t.strictSame(r.conf, calls[i].config, 'the config arrives on stdin unchanged');
    t.equal(r.parent, 'bash', 'started by the shell itself, not env/timeout/nsenter');
    t.ok(o.trace.ms >= 0 && o.trace.ms < 30000);
  });
  const bad = out[12];
  t.ok(bad instanceof CniError);
  t.equal((bad as CniError).code, 7, "the plugin's error object");
  t.equal((bad as CniError).msg, 'refused bad');
  t.equal((bad as CniError).trace?.stderr, 'why');
  t.match((out[13] as CniError).msg, /not found/);
});

t.test("one host's calls run in order", async (t) => {
  const call = setup(t.testdir());
  const calls = Array.from({ length: 6 }, (_, i) => call(`h${i}`, { hostNs: undefined }));
  const out = await execCniMany(calls, { shells: 1 });
  const at = out.map((o) => BigInt(((o as { result: Res }).result as Res).at));
  t.strictSame(
    at.map((x, i) => i === 0 || x > at[i - 1]),
    at.map(() => true),
  );
});

t.test('a call that hangs is stopped at the time limit; the others finish', async (t) => {
  const call = setup(t.testdir());
  const started = Date.now();
  const out = await execCniMany([call('a'), call('hang'), call('b')], { shells: 1, timeoutMs: 500 });
  t.ok(Date.now() - started < 10000, 'not held up by the hung plugin');
  t.notOk(out[0] instanceof CniError);
  t.notOk(out[2] instanceof CniError);
  const hung = out[1] as CniError;
  t.ok(hung instanceof CniError);
  t.equal(hung.trace?.exitCode, 143, 'SIGTERM, as timeout(1) sends');
  t.match(hung.trace?.stderr ?? '', /stopped by netsim after 0.5 s/);
});
