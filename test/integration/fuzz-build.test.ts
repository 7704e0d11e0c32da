// Fuzzed inputs through the CLI and the kernel (issue 21): generated valid topologies build
// (their hosts ping their router) and tear down to a host identical to before (namespaces,
// links of the root namespace, files under the run directory, processes, the neighbour-table
// sysctls netsim raises); generated almost-valid ones are refused with one located error and
// build nothing. A few cases (NETSIM_FUZZ_RUNS raises them); seeded like the unit fuzzing.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { Kernel } from '../../src/kernel/kernel.js';
import { readNeighThresholds } from '../../src/kernel/neigh.js';
import { runDir, simDir } from '../../src/runtime/paths.js';
import { runNetsim, startUp, stateIp, tempDir, waitReady, writeFile } from '../lib/cli.js';
import { errorLines } from '../lib/corpus.js';
import { fuzzAsync, hostileString, setAt, toYaml, validTopology } from '../lib/fuzz.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

/** What a simulation may change on the host while it runs, and must give back. */
function hostSnapshot(): Record<string, unknown> {
  const files = (dir: string): string[] => {
    try {
      return readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? [p, ...files(p)] : [p];
      });
    } catch {
      return [];
    }
  };
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter(Boolean)
    .sort();
  return {
    namespaces: Kernel.listNamespaces().sort(),
    links,
    files: files(runDir()).sort(),
    neigh: readNeighThresholds(),
  };
}

/** Processes whose command line names the simulation (its daemons, its shells). */
function processesOf(sim: string): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`netsim-${sim}-`) || l.includes(`-n ${sim}`));
}

if (requireRoot(t)) {
  t.test('generated valid topologies build, answer pings and leave the host as it was', async (t) => {
    const dir = tempDir(t);
    await fuzzAsync(
      t,
      'build',
      fc.asyncProperty(validTopology, async (spec) => {
        const name = uniqueName('fz');
        const file = writeFile(dir, `${name}.yml`, toYaml({ ...spec, name }));
        const before = hostSnapshot();
        const fg = startUp(t, file, name);
        try {
          const state = await waitReady(fg, name);
          const nodes = Object.keys(spec.nodes as object);
          const host = nodes.find((n) => /h1x1$/.test(n))!;
          const router = nodes.find((n) => /r1$/.test(n))!;
          const ip = stateIp(state, router);
          const r = await runNetsim(['exec', '--sim', name, host, '--', 'ping', '-c', '1', '-W', '2', ip]);
          if (r.code !== 0) throw new Error(`${host} cannot ping ${router}: ${r.stderr}`);
          if (state.nodes.length !== nodes.length) throw new Error('not every node in the state');
        } finally {
          // netsim up tears down on SIGTERM
          fg.child.kill('SIGTERM');
          await fg.exited;
        }
        const after = hostSnapshot();
        const same = JSON.stringify(after) === JSON.stringify(before);
        if (!same)
          throw new Error(
            `the host changed:\nbefore ${JSON.stringify(before)}\nafter ${JSON.stringify(after)}`,
          );
        if (processesOf(name).length) throw new Error(`processes left: ${processesOf(name).join('\n')}`);
        return true;
      }),
      3,
    );
  });

  t.test('generated almost-valid topologies: one located error, nothing built', async (t) => {
    const dir = tempDir(t);
    const bad = fc.tuple(validTopology, hostileString).map(([spec, s]) => {
      const node = Object.keys(spec.nodes as object)[0];
      return setAt(spec, ['nodes', node, 'kind'], `x${s}`);
    });
    await fuzzAsync(
      t,
      'refuse',
      fc.asyncProperty(bad, async (spec) => {
        const name = uniqueName('fz');
        const file = writeFile(dir, `${name}.yml`, toYaml({ ...(spec as object), name }));
        const before = hostSnapshot();
        const r = await runNetsim(['up', file, '-n', name, '--no-repl']);
        if (r.code === 0) throw new Error('accepted');
        const errors = errorLines(r.stderr);
        if (
          errors.length !== 1 ||
          !errors[0].startsWith(`error: ${file}:`) ||
          !/\.kind: unknown kind/.test(errors[0])
        )
          throw new Error(`not one located error:\n${r.stderr}`);
        if (/\n\s+at /.test(r.stderr)) throw new Error(`a stack trace:\n${r.stderr}`);
        if (JSON.stringify(hostSnapshot()) !== JSON.stringify(before)) throw new Error('the host changed');
        try {
          statSync(simDir(name));
          throw new Error('a simulation directory was made');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        return true;
      }),
      3,
    );
  });
}
