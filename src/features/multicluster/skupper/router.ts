// A Skupper-style site router process: started by site.ts in one worker's namespace (like the
// pod network agent), with `node router.js --site --ip --ip6 --port --dir --control`. It links to
// other sites' routers over mutual TLS (one connection per link, certificates issued per link
// from a token), multiplexes TCP connections over each link as streams (link.ts), learns which
// site serves which routing key (routing.ts), and joins listeners (a TCP port on the worker's
// address per routing key) to connectors (host:port next to the workload), through
// intermediate sites when there is no direct link (site-router.ts). The main process drives it
// through a Unix socket (router-control.ts). Link traffic only crosses the simulated network.
//
// This file is the process's main: the only one of the router's modules with side effects.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { serveControl } from './router-control.js';
import { SiteRouter } from './site-router.js';

const { values: args } = parseArgs({
  options: {
    site: { type: 'string' },
    ip: { type: 'string' },
    ip6: { type: 'string' },
    port: { type: 'string', default: '55671' },
    dir: { type: 'string' },
    control: { type: 'string' },
  },
});
for (const name of ['site', 'dir', 'control'] as const)
  if (!args[name]) throw new Error(`the site router needs --${name}`);
if (!args.ip && !args.ip6) throw new Error('the site router needs --ip or --ip6 (or both)');
const site = args.site!;
// the worker's IPv4 and IPv6 addresses: links and listeners on each
const addresses = [args.ip, args.ip6].filter((a): a is string => !!a);
const dir = args.dir!;
const linkPort = Number(args.port);

const router = new SiteRouter({
  site,
  addresses,
  linkPort,
  dir,
  tls: {
    key: readFileSync(`${dir}/server.key`),
    cert: readFileSync(`${dir}/server.crt`),
    ca: readFileSync(`${dir}/ca.crt`),
  },
  log: (msg) => process.stdout.write(`${new Date().toISOString()} ${site}: ${msg}\n`),
});
// SIGTERM is the normal stop (Kernel daemon teardown): exit 0 rather than die by the signal
process.on('SIGTERM', () => process.exit(0));
router.start();
await serveControl(router, args.control!);
router.log(
  `ready: links on ${addresses.map((a) => (a.includes(':') ? `[${a}]` : a)).join(', ')} port ${linkPort}, control ${args.control}`,
);
