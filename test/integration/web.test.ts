// The web view in a real browser: Debian's headless Chromium driven by playwright-core
// against the default scenario. The page loads (everything from the netsim server), shows
// every node, turns a link red when the REPL sets it down (pushed, no reload), shows a pod's
// IP when the pod is clicked, and follows pods that come and go. Screenshot:
// test-artifacts/web-default.png.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { webServerOf } from '../../src/surfaces/web/server.js';
import { waitFor } from '../../src/util/wait.js';
import { requireRoot, uniqueName, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const CHROMIUM = process.env.NETSIM_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');
const RED = 'rgb(220,38,38)';
const GREEN = 'rgb(22,163,74)';
const RED_RGB: [number, number, number] = [220, 38, 38];
const GREEN_RGB: [number, number, number] = [22, 163, 74];

/** The bits of cytoscape the checks use, inside the page (the test has no DOM types). */
interface PageCy {
  nodes(selector?: string): { map<T>(f: (n: PageNode) => T): T[] };
  edges(selector?: string): { length: number };
  getElementById(id: string): PageNode & PageEdge & { empty(): boolean; style(k: string): string };
  container(): {
    getBoundingClientRect(): { left: number; top: number; width: number; height: number };
    querySelectorAll(selector: 'canvas'): Iterable<PageCanvas>;
  };
}
type Point = { x: number; y: number };
interface PageEdge {
  renderedSourceEndpoint(): Point;
  renderedTargetEndpoint(): Point;
  renderedControlPoints(): Point[] | undefined;
}
interface PageCanvas {
  width: number;
  clientWidth: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  } | null;
}
interface PageNode {
  id(): string;
  visible(): boolean;
  renderedPosition(): { x: number; y: number };
  renderedBoundingBox(): { x1: number; y1: number; x2: number; y2: number };
}
type PageGlobal = {
  netsim?: {
    cy: PageCy;
    ready: boolean;
    events: number;
    trace?: { hops: { node: string }[]; drawn: number };
  };
  marker?: number;
  /** stats events seen by a listener of the test's own */
  statsSeen?: number;
};

async function edgeColor(page: Page, id: string): Promise<string> {
  return page.evaluate(
    (id) =>
      (globalThis as unknown as PageGlobal)
        .netsim!.cy.getElementById(id)
        .style('line-color')
        .replace(/\s/g, ''),
    id,
  );
}

/**
 * How many pixels drawn along an edge, on the page's canvases, have this colour: what the
 * page shows, not only the style cytoscape was given. The edge is sampled between its ends
 * (straight, or the quadratic curve through its control point), 5×5 pixels at each point;
 * an edge that crosses it adds a few pixels of its own colour.
 */
async function edgePixels(page: Page, id: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(
    ([id, rgb]) => {
      const cy = (globalThis as unknown as PageGlobal).netsim!.cy;
      const e = cy.getElementById(id);
      const [a, b] = [e.renderedSourceEndpoint(), e.renderedTargetEndpoint()];
      let c = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      try {
        c = e.renderedControlPoints()?.[0] ?? c;
      } catch {
        /* drawn straight: cytoscape has no control points to give */
      }
      let count = 0;
      for (const canvas of cy.container().querySelectorAll('canvas')) {
        const ctx = canvas.getContext('2d');
        if (!ctx || canvas.clientWidth === 0) continue;
        const scale = canvas.width / canvas.clientWidth;
        // the middle 70% of the edge: near its ends other edges of the same node run close by
        for (let i = 6; i <= 34; i++) {
          const t = i / 40;
          const x = (1 - t) ** 2 * a.x + 2 * (1 - t) * t * c.x + t ** 2 * b.x;
          const y = (1 - t) ** 2 * a.y + 2 * (1 - t) * t * c.y + t ** 2 * b.y;
          const px = ctx.getImageData(Math.round(x * scale) - 2, Math.round(y * scale) - 2, 5, 5).data;
          for (let p = 0; p < px.length; p += 4)
            if (px[p + 3] > 200 && [0, 1, 2].every((k) => Math.abs(px[p + k] - rgb[k]) < 40)) count++;
        }
      }
      return count;
    },
    [id, rgb] as const,
  );
}

/** Waits until the canvas shows the edge in this colour (it is redrawn on the next frame). */
function drawn(page: Page, id: string, rgb: [number, number, number]): Promise<number> {
  return waitFor(
    async () => {
      const n = await edgePixels(page, id, rgb);
      return n > 20 && n;
    },
    { what: `edge ${id} drawn in rgb(${rgb.join(',')})`, timeoutMs: 5000, intervalMs: 100 },
  );
}

async function waitEdge(page: Page, id: string, color: string, timeout = 10000): Promise<void> {
  await page.waitForFunction(
    ([id, color]) => {
      const e = (globalThis as unknown as PageGlobal).netsim?.cy.getElementById(id);
      return !!e && !e.empty() && e.style('line-color').replace(/\s/g, '') === color;
    },
    [id, color],
    { timeout },
  );
}

if (requireRoot(t)) {
  t.test(
    'the default scenario in headless Chromium',
    { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (apt-get install chromium)` },
    async (t) => {
      const { model } = await loadTopology('default', { simName: uniqueName('web') });
      const sim = await up(t, model);
      const web = await webServerOf(sim, { statsIntervalMs: 1000 });
      t.teardown(() => web.close());
      t.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'on 127.0.0.1, no token');

      // root: Chromium's sandbox needs a user namespace it cannot have here
      const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      t.teardown(() => browser.close());
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));

      const t0 = performance.now();
      await page.goto(web.url);
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobal).netsim?.ready === true,
        undefined,
        { timeout: 15000 },
      );
      t.comment(`page ready in ${(performance.now() - t0).toFixed(0)} ms`);
      const origin = new URL(web.url).origin;
      t.same(
        requests.filter((u) => !u.startsWith(origin)),
        [],
        'every request goes to the netsim server (no CDN)',
      );

      // every node of the scenario is drawn, inside the viewport
      const shown = await page.evaluate(() => {
        const cy = (globalThis as unknown as PageGlobal).netsim!.cy;
        const box = cy.container().getBoundingClientRect();
        return cy.nodes().map((n) => {
          const b = n.renderedBoundingBox();
          const inside = b.x1 >= -1 && b.y1 >= -1 && b.x2 <= box.width + 1 && b.y2 <= box.height + 1;
          return { id: n.id(), visible: n.visible() && inside };
        });
      });
      const visible = new Set(shown.filter((n) => n.visible).map((n) => n.id));
      const missing = [...sim.nodes.keys()].filter((n) => !visible.has(n));
      t.same(missing, [], `all ${sim.nodes.size} nodes are on the page`);
      const groups = await page.evaluate(() =>
        (globalThis as unknown as PageGlobal).netsim!.cy.nodes(':parent').map((n) => n.id()),
      );
      t.same(groups.sort(), ['cluster:C0', 'cluster:C1'], 'pods grouped in their clusters C0 and C1');
      t.same(
        shown.map((n) => n.id).filter((id) => !groups.includes(id) && !sim.nodes.has(id)),
        [],
        'and nothing else is drawn: one shape per node of the simulation',
      );

      // a link set down in the REPL turns red without a reload
      const r1lan1 = sim.linksBetween('r1', 'lan1')[0];
      const edge = `l${r1lan1.index}`;
      await waitEdge(page, edge, GREEN);
      t.pass(`r1-lan1 (${edge}) is green`);
      t.pass(`and drawn green on the canvas (${await drawn(page, edge, GREEN_RGB)} pixels)`);
      // a listener of the test's own counts the counter updates the server pushes
      await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobal & {
          EventSource: new (url: string) => { addEventListener(name: string, f: () => void): void };
        };
        g.statsSeen = 0;
        new g.EventSource('api/events').addEventListener('stats', () => {
          g.statsSeen = (g.statsSeen ?? 0) + 1;
        });
      });
      await page.evaluate(() => {
        (globalThis as unknown as PageGlobal).marker = 42;
      });
      const { run } = repl(sim);
      const tDown = performance.now();
      t.equal((await run('link r1 lan1 down')).code, 0, 'REPL: link r1 lan1 down');
      await waitEdge(page, edge, RED, 5000);
      t.comment(`red on the page ${(performance.now() - tDown).toFixed(0)} ms after the verb returned`);
      const red = await drawn(page, edge, RED_RGB);
      const green = await edgePixels(page, edge, GREEN_RGB);
      t.ok(green < red / 4, `drawn red on the canvas, not green (${red} red, ${green} green pixels)`);
      t.equal(
        await page.evaluate(() => (globalThis as unknown as PageGlobal).marker),
        42,
        'the same page (no reload)',
      );
      const other = `l${sim.linksBetween('r1', 'lan2')[0].index}`;
      t.equal(await edgeColor(page, other), GREEN, 'r1-lan2 stays green');
      t.ok((await edgePixels(page, other, GREEN_RGB)) > 20, 'and is drawn green');
      // the counter updates the page gets every second agree: still red after two of them
      const [seen, events] = await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobal;
        return [g.statsSeen!, g.netsim!.events] as const;
      });
      await page.waitForFunction(
        ([seen, events]) => {
          const g = globalThis as unknown as PageGlobal;
          return g.statsSeen! >= seen + 2 && g.netsim!.events >= events + 2;
        },
        [seen, events] as const,
        { timeout: 10000 },
      );
      t.equal(await edgeColor(page, edge), RED, 'still red after the next two counter updates');
      t.ok((await edgePixels(page, edge, RED_RGB)) > 20, 'and still drawn red');

      // clicking a pod shows its IP
      const pod = sim.node('c1');
      const at = await page.evaluate(() => {
        const cy = (globalThis as unknown as PageGlobal).netsim!.cy;
        const box = cy.container().getBoundingClientRect();
        const p = cy.getElementById('c1').renderedPosition();
        return { x: box.left + p.x, y: box.top + p.y };
      });
      await page.mouse.click(at.x, at.y);
      await page.waitForSelector('#detail-ip', { timeout: 5000 });
      t.equal(await page.textContent('#detail-ip'), pod.ip, `clicking c1 shows its IP ${pod.ip}`);
      t.match(await page.textContent('#details'), /pod in C0 on C0w1/, 'its cluster and worker');
      t.match(await page.textContent('#details'), /default via/, 'and its routes');

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'web-default.png');
      await page.screenshot({ path: shot });
      t.comment(`screenshot: ${shot}`);

      // back up: green again; a router's details list its interfaces
      t.equal((await run('link r1 lan1 up')).code, 0, 'REPL: link r1 lan1 up');
      await waitEdge(page, edge, GREEN, 5000);
      t.pass('green again');

      // pods that come and go
      const C0 = sim.objects.get('C0') as Cluster;
      await C0.addPod('w2', 'extra');
      await page.waitForFunction(
        () => !(globalThis as unknown as PageGlobal).netsim!.cy.getElementById('extra').empty(),
        undefined,
        {
          timeout: 5000,
        },
      );
      t.pass('a new pod appears');
      await C0.deletePod('extra');
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobal).netsim!.cy.getElementById('extra').empty(),
        undefined,
        {
          timeout: 5000,
        },
      );
      t.pass('and goes');

      // a trace in the REPL is drawn on the page, hop by hop (c2 on C0w2 -> c1 on C0w1)
      t.equal((await run('trace c2 c1')).code, 0, 'REPL: trace c2 c1 (delivered)');
      await page.waitForFunction(
        () => {
          const n = (globalThis as unknown as PageGlobal).netsim!;
          return n.trace !== undefined && n.trace.drawn === n.trace.hops.length;
        },
        undefined,
        { timeout: 10000 },
      );
      const lit = await page.evaluate(() => {
        const n = (globalThis as unknown as PageGlobal).netsim!;
        return {
          hops: n.trace!.hops.map((h) => h.node),
          nodes: n.cy.nodes('.traced').map((e) => e.id()),
          edges: n.cy.edges('.traced').length,
        };
      });
      t.same(lit.hops.slice(0, 2), ['c2', 'C0w2'], 'the path starts at c2 and its worker');
      t.equal(lit.hops.at(-1), 'c1', 'and ends at c1');
      t.same([...lit.nodes].sort(), [...new Set(lit.hops)].sort(), 'every hop is lit on the graph');
      t.ok(lit.edges >= lit.hops.length - 1, `and the links between them (${lit.edges})`);
      t.match(await page.textContent('#trace-outcome'), /delivered/, 'the panel shows the outcome');
      await page.screenshot({ path: join(ARTIFACTS, 'web-trace.png') });
      t.same(errors, [], 'no errors in the page');
    },
  );
}
