// The teaching deck (presentation/deck.md) is tested: every REPL line in its ```netsim
// transcripts runs, in order, against one fresh default scenario, and every output line the
// slide shows must come back (addresses, MACs and timings may differ; "…" stands for text left
// out). ```netsim fails blocks must fail. Shell lines (```sh blocks, `netsim ...` in the text)
// must name real netsim verbs, topologies and files; the read-only ones are run. The deck must
// render to HTML with marp-cli (`npm run deck`).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import t from 'tap';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { program } from '../../src/surfaces/cli/main.js';
import { Commands } from '../../src/surfaces/repl/commands.js';
import { liveObjects, makeEvaluator } from '../../src/surfaces/repl/repl.js';
import { tempDir } from '../lib/cli.js';
import { isRoot, namespacesOf, uniqueName, up } from '../lib/harness.js';

const DECK = join(PROJECT_ROOT, 'presentation', 'deck.md');

interface Step {
  slide: number;
  line: number;
  command: string;
  shown: string[];
  fails: boolean;
  /** a `span` in the text: run only if it is a REPL line (a verb or node, then words) */
  inline?: boolean;
}

/** The ```netsim transcripts, the ```sh lines, and the inline `spans` of the deck (`netsim ...`: shell). */
export function parseDeck(text: string): { steps: Step[]; shell: { slide: number; cmd: string }[] } {
  const steps: Step[] = [];
  const shell: { slide: number; cmd: string }[] = [];
  const lines = text.split('\n');
  let slide = 0;
  let block: { lang: string; fails: boolean } | undefined;
  let frontMatter = lines[0] === '---';
  for (const [i, raw] of lines.entries()) {
    if (i === 0 && frontMatter) continue;
    if (frontMatter) {
      if (raw === '---') frontMatter = false;
      continue;
    }
    const fence = /^```(\S*)\s*(.*)$/.exec(raw);
    if (fence) {
      block = block ? undefined : { lang: fence[1], fails: fence[2].trim() === 'fails' };
      continue;
    }
    if (!block) {
      if (raw === '---') slide++;
      for (const m of raw.matchAll(/`([^`]+)`/g)) {
        if (m[1].startsWith('netsim ')) shell.push({ slide: slide + 1, cmd: m[1] });
        else if (/^\S+ \S/.test(m[1]))
          steps.push({ slide: slide + 1, line: i + 1, command: m[1], shown: [], fails: false, inline: true });
      }
      continue;
    }
    if (block.lang === 'netsim') {
      const cmd = /^netsim> (.*)$/.exec(raw);
      if (cmd) steps.push({ slide: slide + 1, line: i + 1, command: cmd[1], shown: [], fails: block.fails });
      else if (raw.trim() && steps.length) steps[steps.length - 1].shown.push(raw);
    } else if (block.lang === 'sh') {
      for (const part of raw.split('&&')) if (part.trim()) shell.push({ slide: slide + 1, cmd: part.trim() });
    }
  }
  return { steps, shell };
}

const ESCAPE = /[.*+?^${}()|[\]\\]/g;

/** A shown output line as a pattern: run-time values (IPv4, MAC, decimals) match any value. */
export function linePattern(shown: string): RegExp {
  const token =
    /(…|\.\.\.)|(\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?)|([0-9a-f]{2}(?::[0-9a-f]{2}){5})|(\d+\.\d+)|(\s+)/gi;
  let out = '';
  let last = 0;
  for (const m of shown.trimEnd().matchAll(token)) {
    out += shown.slice(last, m.index).replace(ESCAPE, '\\$&');
    if (m[1]) out += '.*?';
    else if (m[2]) out += '\\d{1,3}(?:\\.\\d{1,3}){3}(?:/\\d{1,2})?';
    else if (m[3]) out += '[0-9a-f]{2}(?::[0-9a-f]{2}){5}';
    else if (m[4]) out += '\\d+\\.\\d+';
    else out += '\\s+';
    last = m.index + m[0].length;
  }
  out += shown.trimEnd().slice(last).replace(ESCAPE, '\\$&');
  return new RegExp(out, 'i');
}

/** The shown lines that do not appear, in order, in the actual output. */
export function missingLines(shown: string[], actual: string): string[] {
  const got = actual.split('\n');
  const missing: string[] = [];
  let at = 0;
  for (const s of shown) {
    const re = linePattern(s);
    const hit = got.findIndex((g, k) => k >= at && re.test(g));
    if (hit < 0) missing.push(s);
    else at = hit + 1;
  }
  return missing;
}

const deck = parseDeck(readFileSync(DECK, 'utf8'));

t.test('the deck has runnable transcripts on most slides', async (t) => {
  const lines = deck.steps.filter((s) => !s.inline).length;
  t.ok(lines >= 25, `${lines} REPL lines in transcripts`);
  t.ok(new Set(deck.steps.map((s) => s.slide)).size >= 10, 'on at least 10 slides');
  t.ok(
    deck.steps.every(
      (s) =>
        s.inline || s.fails || s.shown.length > 0 || /^await C\d\.(add|\(await)|^await \(/.test(s.command),
    ),
    'every line that should succeed shows its output (but JavaScript calls that only add or wait)',
  );
  const pairs = linePattern('C0: 12/12 pod pairs reachable (0.06 s)');
  t.ok(pairs.test('C0: 12/12 pod pairs reachable (1.25 s)'), 'timings match any timing');
  t.notOk(pairs.test('C0: 6/12 pod pairs reachable (0.06 s)'), 'counts stay literal');
  t.ok(linePattern('x 10.244.1.2/24 y').test('x 10.244.9.9/24 y'), 'addresses match any address');
});

t.test('shell lines name real verbs, topologies and files', async (t) => {
  const verbs = new Set(program().commands.map((c) => c.name()));
  for (const { slide, cmd } of deck.shell) {
    const w = cmd.split(/\s+/);
    if (w[0] === 'netsim') {
      t.ok(verbs.has(w[1]), `slide ${slide}: ${cmd}: netsim ${w[1]} exists`);
      const topo = w.slice(2).find((x) => !x.startsWith('-'));
      if (w[1] === 'up' && topo)
        await t.resolves(loadTopology(topo), `slide ${slide}: ${cmd}: ${topo} loads`);
      if (w[1] === 'scenarios' || w[1] === 'validate') {
        const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'netsim.js'), ...w.slice(1)], {
          cwd: PROJECT_ROOT,
          encoding: 'utf8',
        });
        t.equal(r.status, 0, `slide ${slide}: ${cmd} runs: ${r.stdout}${r.stderr}`);
      }
    } else if (w[0] === 'docker') {
      t.ok(['build', 'run'].includes(w[1]), `slide ${slide}: ${cmd}: docker build or run`);
      if (w[1] === 'build') {
        const f = w[w.indexOf('-f') + 1];
        t.ok(existsSync(join(PROJECT_ROOT, f)), `slide ${slide}: ${f} exists`);
        t.equal(w[w.indexOf('-t') + 1], 'netsim', 'the image is tagged netsim');
      } else t.ok(w.includes('--privileged') && w.includes('netsim'), `slide ${slide}: ${cmd}: privileged`);
    } else {
      t.doesNotThrow(
        () => accessSync(join(PROJECT_ROOT, w[0]), constants.X_OK),
        `slide ${slide}: ${cmd}: an executable of the project`,
      );
    }
  }
});

t.test('the deck renders to HTML with marp-cli', async (t) => {
  const out = join(tempDir(t), 'deck.html');
  const marp = join(PROJECT_ROOT, 'node_modules', '.bin', 'marp');
  const r = spawnSync(marp, ['--no-stdin', DECK, '-o', out], { encoding: 'utf8', timeout: 120000 });
  t.equal(r.status, 0, `marp exits 0 ${r.stderr}`);
  const html = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const slides = (readFileSync(DECK, 'utf8').match(/^---$/gm) ?? []).length - 1;
  t.equal((html.match(/<section\b/g) ?? []).length, slides, `${slides} slides in the HTML`);
  t.match(html, /pod pairs reachable/, 'with the transcripts in it');
});

t.test(
  'every REPL line of the deck, against the default scenario',
  { skip: !isRoot && 'needs root' },
  async (t) => {
    t.setTimeout(600000);
    const name = uniqueName('deck');
    const { model } = await loadTopology('default', { simName: name });
    const t0 = performance.now();
    const sim = await up(t, model);
    t.comment(`default scenario up in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    let buf = '';
    const cmds = new Commands(sim, {
      out: (s) => {
        buf += s;
      },
      err: (s) => {
        buf += s;
      },
    });
    cmds.evalJs = makeEvaluator(vm.createContext({ ...liveObjects(sim), console }));
    for (const step of deck.steps) {
      // a span in the text that is not a REPL line (an address, a file name, a route)
      if (step.inline && !cmds.handles(step.command)) continue;
      buf = '';
      const t0 = performance.now();
      // a line that does not end (a ping without -c) is stopped as Ctrl-C would, and fails
      const stop = setTimeout(() => cmds.interrupt(), 30000);
      const code = await cmds.run(step.command).finally(() => clearTimeout(stop));
      const where = `slide ${step.slide} (deck.md:${step.line}): ${step.command}`;
      t.comment(`${where}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      if (step.fails) t.not(code, 0, `${where}: fails as shown`);
      else t.equal(code, 0, `${where}: exit 0`);
      const missing = missingLines(step.shown, buf);
      t.same(missing, [], `${where}: shows what the slide shows`, { output: buf.slice(0, 4000) });
    }
    await sim.down();
    t.same(namespacesOf(name), [], 'no namespace left');
  },
);
