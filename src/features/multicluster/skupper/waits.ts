// Waiting on a site router's state as its control socket reports it (links, routes, streams).
// Apart from site.ts so the site's own file stays one sitting long.
import type { JsonObject } from '../../../util/jsonlines.js';
import { waitFor } from '../../../util/wait.js';

/** What the waits need of a site: its name (for errors) and its router's status. */
export interface StatusSource {
  readonly name: string;
  status(): Promise<JsonObject>;
}

/** Until a link of the site is up (to `site`, or any). */
export async function waitLinkUp(src: StatusSource, site?: string, timeoutMs = 10000): Promise<void> {
  let links: { site?: string; state: string }[] = [];
  await waitFor(
    async () => {
      links = ((await src.status()) as { links: typeof links }).links;
      return links.some((l) => l.state === 'up' && (!site || l.site === site));
    },
    { timeoutMs },
  ).catch(() => {
    throw new Error(`${src.name}: no link up${site ? ` to ${site}` : ''}: ${JSON.stringify(links)}`);
  });
}

/** Until the site has a route to a routing key. */
export async function waitRouteTo(src: StatusSource, key: string, timeoutMs = 10000): Promise<void> {
  await waitFor(
    async () => ((await src.status()) as { reachable: Record<string, number> }).reachable[key] !== undefined,
    { timeoutMs },
  ).catch(() => {
    throw new Error(`${src.name}: no route to ${key}`);
  });
}

/**
 * Until no link of the site carries more than `most` connections (streams), e.g. 0 once every
 * client is done: a stream left behind is a leak.
 */
export async function waitStreamsAtMost(src: StatusSource, most = 0, timeoutMs = 10000): Promise<void> {
  let links: { name: string; streams: number }[] = [];
  await waitFor(
    async () => {
      links = ((await src.status()) as { links: typeof links }).links;
      return links.every((l) => l.streams <= most);
    },
    { timeoutMs, intervalMs: 50 },
  ).catch(() => {
    const counts = links.map((l) => `${l.name} ${l.streams}`).join(', ');
    throw new Error(`${src.name}: streams still open after ${timeoutMs} ms: ${counts}`);
  });
}
