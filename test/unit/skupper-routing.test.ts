// The site routers' routing decisions (routing.ts), without sockets: small networks of sites
// whose links exchange advertisements until nothing changes, as the routers do over ROUTES
// frames, and the choice of a destination for a new connection.
import t from 'tap';
import { INFINITE_COST } from '../../src/features/multicluster/skupper/protocol.js';
import {
  advertisement,
  type Candidate,
  candidates,
  choose,
  type LinkRoutes,
  reachable,
} from '../../src/features/multicluster/skupper/routing.js';

/** One side of a link, as a router holds it. */
interface Side extends LinkRoutes {
  cost: number;
  routes: Map<string, number>;
  up: boolean;
  inflight: number;
  peer: Side;
  owner: Site;
}

interface Site {
  name: string;
  keys: Set<string>;
  links: Side[];
}

function site(name: string, ...keys: string[]): Site {
  return { name, keys: new Set(keys), links: [] };
}

/** Links two sites; both sides cost `cost` (the acceptor learns the dialer's cost from HELLO). */
function connect(a: Site, b: Site, cost = 1): [Side, Side] {
  const sa = { cost, routes: new Map(), up: true, inflight: 0, owner: a } as unknown as Side;
  const sb = { cost, routes: new Map(), up: true, inflight: 0, owner: b, peer: sa } as unknown as Side;
  sa.peer = sb;
  a.links.push(sa);
  b.links.push(sb);
  return [sa, sb];
}

/** A link going down, as Link.detach does on both sides: no routes, not up. */
function cut(side: Side): void {
  for (const s of [side, side.peer]) {
    s.up = false;
    s.routes.clear();
  }
}

/** Exchanges advertisements until no link's routes change; the number of rounds it took. */
function settle(sites: Site[], maxRounds = 5000): number {
  for (let round = 1; round <= maxRounds; round++) {
    let changed = false;
    for (const s of sites)
      for (const side of s.links) {
        if (!side.up) continue;
        const told = advertisement(s.keys, s.links, side);
        const before = JSON.stringify(Object.fromEntries(side.peer.routes));
        if (before !== JSON.stringify(told)) {
          side.peer.routes = new Map(Object.entries(told));
          changed = true;
        }
      }
    if (!changed) return round;
  }
  throw new Error('routes did not settle');
}

t.test('a route propagates over intermediate sites, adding link costs', async (t) => {
  const [A, B, C, D] = [site('A', 'svc'), site('B'), site('C'), site('D')];
  connect(A, B, 1);
  connect(B, C, 3);
  connect(C, D, 2);
  settle([A, B, C, D]);
  t.same(reachable(B.keys, B.links), { svc: 1 });
  t.same(reachable(C.keys, C.links), { svc: 4 }, 'C: 3 to B plus B 1 to A');
  t.same(reachable(D.keys, D.links), { svc: 6 });
  t.same(reachable(A.keys, A.links), { svc: 0 }, 'A serves it itself');
});

t.test('split horizon: a route is not told back to the link it was learned from', async (t) => {
  const [A, B, C] = [site('A', 'svc'), site('B'), site('C')];
  const [ab] = connect(A, B);
  const [bc, cb] = connect(B, C);
  settle([A, B, C]);
  const bToA = B.links.find((l) => l.peer === ab)!;
  t.same(advertisement(B.keys, B.links, bToA), {}, 'B tells A nothing about svc (learned from A)');
  t.same(advertisement(B.keys, B.links, bc), { svc: 1 }, 'but tells C');
  t.same(advertisement(C.keys, C.links, cb), {}, 'C has nothing to tell B');
});

t.test('the cheaper path wins, and a cost change moves the route', async (t) => {
  const [A, B, C] = [site('A', 'svc'), site('B'), site('C')];
  const [ac, ca] = connect(A, C, 5);
  connect(A, B, 1);
  connect(B, C, 1);
  settle([A, B, C]);
  t.same(reachable(C.keys, C.links), { svc: 2 }, 'C goes through B (1 + 1) rather than direct (5)');
  const chosen = choose(candidates('svc', undefined, C.links), 0);
  t.equal(chosen?.link?.peer.owner, B, 'the connection goes to B');
  ac.cost = 1;
  ca.cost = 1;
  settle([A, B, C]);
  t.same(reachable(C.keys, C.links), { svc: 1 }, 'the direct link now costs 1');
  t.equal(choose(candidates('svc', undefined, C.links), 0)?.link?.peer.owner, A);
});

t.test('a lost link withdraws the routes through it', async (t) => {
  const [A, B, C] = [site('A', 'svc'), site('B'), site('C')];
  const [ab] = connect(A, B);
  connect(B, C);
  settle([A, B, C]);
  cut(ab);
  settle([A, B, C]);
  t.same(reachable(B.keys, B.links), {}, 'B: no route');
  t.same(reachable(C.keys, C.links), {}, 'C: no route through B any more');
  t.same(candidates('svc', undefined, C.links), [], 'no destination for a new connection');
});

t.test('a key lost inside a loop is withdrawn once its cost reaches INFINITE_COST', async (t) => {
  // A - B - C - D - B: after A goes, B, C and D advertise svc to each other in the loop with
  // rising costs (count to infinity) until INFINITE_COST drops it
  const [A, B, C, D] = [site('A', 'svc'), site('B'), site('C'), site('D')];
  const [ab] = connect(A, B);
  connect(B, C);
  connect(C, D);
  connect(D, B);
  settle([A, B, C, D]);
  t.same(reachable(D.keys, D.links), { svc: 2 });
  cut(ab);
  const rounds = settle([A, B, C, D]);
  for (const s of [B, C, D]) t.same(reachable(s.keys, s.links), {}, `${s.name}: svc withdrawn`);
  t.ok(rounds < INFINITE_COST, `settled in ${rounds} rounds`);
});

t.test('a link that is not up carries neither routes nor connections', async (t) => {
  const [A, B] = [site('A', 'svc'), site('B')];
  const [, ba] = connect(A, B);
  settle([A, B]);
  ba.up = false;
  t.same(candidates('svc', undefined, B.links), []);
  t.same(reachable(B.keys, B.links), { svc: Number.POSITIVE_INFINITY }, 'known, but not reachable');
});

t.test('a connection arriving on a link is not sent back over it', async (t) => {
  const [A, B] = [site('A', 'svc'), site('B')];
  const [ab, ba] = connect(A, B);
  settle([A, B]);
  ab.routes.set('svc', 1); // as if B still advertised a path back to A
  t.equal(candidates('svc', { inflight: 0 }, A.links, ab).length, 1, 'only the local connector');
  t.equal(candidates('svc', undefined, B.links, ba).length, 0);
});

t.test('balancing: lowest cost plus open connections, ties in turn', async (t) => {
  type C = Candidate<string, string>;
  const x: C = { cost: 1, load: 0, link: 'x' };
  const y: C = { cost: 1, load: 0, link: 'y' };
  const z: C = { cost: 0, load: 3, local: 'z' };
  t.same(
    [0, 1, 2, 3].map((turn) => choose([x, y, z], turn)?.link),
    ['x', 'y', 'x', 'y'],
    'equal cost + load: each in turn',
  );
  t.equal(choose([x, { ...y, load: 1 }], 1)?.link, 'x', 'fewer open connections wins at equal cost');
  t.equal(
    choose(
      [
        { ...x, load: 2 },
        { ...y, cost: 2 },
      ],
      0,
    )?.link,
    'y',
    'cost 2 + 0 beats cost 1 + 2',
  );
  t.equal(choose([x, y, { ...z, load: 0 }], 5)?.local, 'z', 'the local connector (cost 0) when idle');
  t.equal(choose([], 0), undefined, 'nothing to choose');
});

t.test('candidates carry each destination’s cost and open connections', async (t) => {
  const [A, B, C] = [site('A', 'svc'), site('B'), site('C', 'svc')];
  const [, ba] = connect(A, B, 1);
  const [bc] = connect(B, C, 2);
  settle([A, B, C]);
  ba.inflight = 4;
  bc.inflight = 1;
  const local = { inflight: 7 };
  const all = candidates('svc', local, B.links);
  t.same(
    all.map((c) => [c.local ? 'local' : c.link?.peer.owner.name, c.cost, c.load]),
    [
      ['local', 0, 7],
      ['A', 1, 4],
      ['C', 2, 1],
    ],
  );
  t.equal(choose(all, 0)?.link?.peer.owner, C, 'C: 2 + 1 is the lowest');
});
