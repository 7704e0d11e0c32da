// The interactive REPL: Mininet verbs, `<node> <cmd>`, and JavaScript with the live
// objects and top-level await, with tab completion of verbs and node names, and history.
import { homedir } from 'node:os';
import { join } from 'node:path';
import repl from 'node:repl';
import vm from 'node:vm';
import { loadPlugins } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { Commands, words } from './commands.js';

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** The objects a user sees: every node whose name is an identifier, plus `net`/`sim`. */
export function liveObjects(sim: Simulation): Record<string, unknown> {
  // C0.peer, C0.skupperLink ... on the clusters scripts and the REPL see (idempotent).
  const ctx: Record<string, unknown> = { net: sim, sim };
  for (const [name, node] of sim.nodes) if (IDENT.test(name) && !(name in ctx)) ctx[name] = node;
  // clusters (C0) and other objects that are not nodes
  for (const [name, obj] of sim.objects.entries()) if (IDENT.test(name) && !(name in ctx)) ctx[name] = obj;
  return ctx;
}

/** JavaScript evaluation for scripts and `js`/`py` lines: expression first, then statement. */
export function makeEvaluator(context: vm.Context): (code: string) => Promise<unknown> {
  return async (code: string) => {
    let script: vm.Script;
    try {
      script = new vm.Script(`(async () => (${code}\n))()`);
    } catch {
      script = new vm.Script(`(async () => { ${code}\n })()`);
    }
    return await script.runInContext(context);
  };
}

export function complete(cmds: Commands, line: string): [string[], string] {
  const ws = words(line);
  const endsWithSpace = /\s$/.test(line);
  const current = endsWithSpace ? '' : (ws[ws.length - 1] ?? '');
  const position = endsWithSpace ? ws.length : ws.length - 1;
  const nodes = cmds.nodeNames;
  let candidates: string[];
  if (position <= 0) candidates = [...cmds.verbs.keys(), ...nodes, 'exit', 'quit'];
  else if (ws[0] === 'link' && position === 3) candidates = ['up', 'down', 'set'];
  else if (ws[0] === 'switch' && position === 2) candidates = ['start', 'stop'];
  else if (ws[0] === 'help' && position === 1) candidates = [...cmds.verbs.keys()];
  else if (ws[0] === 'trace' && position >= 3) candidates = ['--json', '-4', '-6'];
  // the family flags of the ping verbs (node names still complete after pingpair)
  else if (['pingall', 'pingallfull'].includes(ws[0])) candidates = ['-4', '-6'];
  else if (ws[0] === 'pingpair' && current.startsWith('-')) candidates = ['-4', '-6'];
  else candidates = nodes;
  const hits = candidates.filter((c) => c.startsWith(current)).sort();
  return [[...new Set(hits)], current];
}

export async function startRepl(sim: Simulation): Promise<void> {
  await loadPlugins(); // every feature's verbs
  return new Promise((resolve) => {
    const r = repl.start({ prompt: 'netsim> ', ignoreUndefined: true, useGlobal: false, preview: false });
    const cmds = new Commands(sim, { out: (t) => r.output.write(t), err: (t) => r.output.write(t) });
    Object.assign(r.context, liveObjects(sim), { help: undefined });
    cmds.evalJs = makeEvaluator(r.context);
    const jsEval = r.eval;
    const jsCompleter = r.completer;
    (r as unknown as { eval: repl.REPLEval }).eval = (code, context, file, cb) => {
      const line = code.trim();
      if (line === 'exit' || line === 'quit') {
        r.close();
        return;
      }
      // nodes made since the last line (pods) become live objects too
      for (const [k, v] of Object.entries(liveObjects(sim))) if (!(k in r.context)) r.context[k] = v;
      if (!cmds.handles(line)) return jsEval.call(r, code, context, file, cb);
      cmds.run(line).then(
        () => cb(null, undefined),
        (e) => cb(e as Error, undefined),
      );
    };
    (r as unknown as { completer: unknown }).completer = (
      line: string,
      cb: (e: Error | null, res: [string[], string]) => void,
    ) => {
      const first = words(line)[0];
      if (first === undefined || cmds.handles(line) || cmds.verbs.has(first) || !/[.(]/.test(line)) {
        const [hits, cur] = complete(cmds, line);
        if (hits.length || !first) return cb(null, [hits, cur]);
      }
      (jsCompleter as (l: string, c: typeof cb) => void).call(r, line, cb);
    };
    r.on('SIGINT', () => {
      if (cmds.interrupt()) r.output.write('\n^C (interrupted; the simulation keeps running)\n');
    });
    r.setupHistory(process.env.NETSIM_HISTORY ?? join(homedir(), '.netsim_history'), () => {});
    r.on('exit', () => resolve());
  });
}
