// The REPL's `web`: the web view's URL (started if needed).

import type { Io, Verb } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';

export function seeVerbs(sim: Simulation, io: Io): Verb[] {
  return [
    {
      names: ['web'],
      usage: 'web',
      help: 'the URL of the live web view and /metrics (started on 127.0.0.1 if needed)',
      async run() {
        // the server (and prom-client) loads when first asked for, not with every `netsim up`
        const web = await (await import('./server.js')).webServerOf(sim);
        io.out(
          `${web.url}\n  metrics: ${new URL(`metrics${web.token ? `?token=${web.token}` : ''}`, web.url)}\n`,
        );
        return 0;
      },
    },
  ];
}
