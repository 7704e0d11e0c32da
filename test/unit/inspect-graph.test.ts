// `netsim graph` and `netsim inspect` output from fixed inputs, compared literally: Mermaid,
// dot and draw.io of a graph with a cluster group; graphOf on a topology with a cluster and
// a pod; the inspect table (multi-line cells, --all's lab column), JSON and CSV.
import t from 'tap';
import { formatGraph, type Graph, graphOf } from '../../src/features/clab/graph.js';
import { registerBuiltins } from '../../src/features/index.js';
import {
  formatIfaces,
  formatNodes,
  type IfaceRow,
  type NodeRow,
} from '../../src/surfaces/cli/inspect-format.js';
import { modelFromYaml } from '../lib/harness.js';

registerBuiltins();

const GRAPH: Graph = {
  name: 'lab',
  nodes: [
    { name: 'C0w1', kind: 'worker', group: 'C0' },
    { name: 'a-1', kind: 'pod', group: 'C0' },
    { name: 'r1', kind: 'router' },
  ],
  links: [
    { a: { node: 'C0w1', iface: 'eth1' }, b: { node: 'r1', iface: 'eth2' } },
    { a: { node: 'a-1', iface: 'eth0' }, b: { node: 'C0w1', iface: '' } },
  ],
};

t.test('mermaid: graph LR, a subgraph per cluster, links labelled with interface names', async (t) => {
  t.equal(
    formatGraph(GRAPH, 'mermaid'),
    `graph LR
  subgraph cluster_C0["C0"]
    C0w1["C0w1<br/>worker"]
    a_1["a-1<br/>pod"]
  end
  r1["r1<br/>router"]
  C0w1 ---|"eth1 - eth2"| r1
  a_1 ---|"eth0"| C0w1
`,
  );
});

t.test(
  'dot: an undirected graph, clusters as subgraph cluster_*, interface names at both ends',
  async (t) => {
    t.equal(
      formatGraph(GRAPH, 'dot'),
      `graph "lab" {
  rankdir=LR;
  node [shape=box];
  subgraph "cluster_C0" {
    label="C0";
    "C0w1" [label="C0w1\\nworker"];
    "a-1" [label="a-1\\npod"];
  }
  "r1" [label="r1\\nrouter"];
  "C0w1" -- "r1" [taillabel="eth1", headlabel="eth2"];
  "a-1" -- "C0w1" [taillabel="eth0", headlabel=""];
}
`,
    );
  },
);

t.test('draw.io: an mxfile whose cluster is a container of its nodes, edges between node ids', async (t) => {
  const x = formatGraph(GRAPH, 'drawio');
  t.equal(
    x,
    `<mxfile host="netsim">
  <diagram id="netsim" name="lab">
    <mxGraphModel>
      <root>
        <mxCell id="0"/>
        <mxCell id="1" parent="0"/>
        <mxCell id="g_C0" value="C0" style="swimlane;startSize=30;" vertex="1" parent="1"><mxGeometry x="40" y="40" width="360" height="160" as="geometry"/></mxCell>
        <mxCell id="n_C0w1" value="C0w1&#xa;worker" style="rounded=1;whiteSpace=wrap;html=0;" vertex="1" parent="g_C0"><mxGeometry x="40" y="70" width="120" height="50" as="geometry"/></mxCell>
        <mxCell id="n_a_1" value="a-1&#xa;pod" style="rounded=1;whiteSpace=wrap;html=0;" vertex="1" parent="g_C0"><mxGeometry x="200" y="70" width="120" height="50" as="geometry"/></mxCell>
        <mxCell id="n_r1" value="r1&#xa;router" style="rounded=1;whiteSpace=wrap;html=0;" vertex="1" parent="1"><mxGeometry x="40" y="240" width="120" height="50" as="geometry"/></mxCell>
        <mxCell id="l_0" value="eth1 - eth2" style="endArrow=none;html=0;" edge="1" parent="1" source="n_C0w1" target="n_r1"><mxGeometry relative="1" as="geometry"/></mxCell>
        <mxCell id="l_1" value="eth0" style="endArrow=none;html=0;" edge="1" parent="1" source="n_a_1" target="n_C0w1"><mxGeometry relative="1" as="geometry"/></mxCell>
      </root>
    </mxGraphModel>
  </diagram>
</mxfile>
`,
  );
});

t.test('graphOf: a cluster groups its workers, etcd and pods; a pod hangs off its worker', async (t) => {
  const g = graphOf(
    modelFromYaml(`
name: kg
nodes:
  s1: {kind: switch, subnet: 192.168.64.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 1
    etcd: 1
    podCidr: 10.244.0.0/16
    pods:
      a1: {worker: w1}
`),
  );
  t.same(g.nodes, [
    { name: 's1', kind: 'switch', group: undefined },
    { name: 'C0e1', kind: 'etcd', group: 'C0' },
    { name: 'C0w1', kind: 'worker', group: 'C0' },
    { name: 'a1', kind: 'pod', group: 'C0' },
  ]);
  t.same(g.links, [
    { a: { node: 'C0e1', iface: 'eth1' }, b: { node: 's1', iface: 'eth1' } },
    { a: { node: 'C0w1', iface: 'eth1' }, b: { node: 's1', iface: 'eth2' } },
    { a: { node: 'a1', iface: 'eth0' }, b: { node: 'C0w1', iface: '' } },
  ]);
});

const NODES: NodeRow[] = [
  {
    sim: 'lab',
    name: 'h1',
    kind: 'host',
    namespace: 'netsim-lab-h1',
    state: 'running',
    ipv4: [{ iface: 'eth1', address: '10.0.0.1/30' }],
    ipv6: [],
    daemons: [],
  },
  {
    sim: 'lab',
    name: 'r1',
    kind: 'router',
    namespace: 'netsim-lab-r1',
    state: 'running',
    ipv4: [
      { iface: 'eth1', address: '10.0.0.2/30' },
      { iface: 'eth2', address: '10.0.0.6/30' },
    ],
    ipv6: [],
    daemons: [
      { name: 'zebra', pid: 101 },
      { name: 'ospfd', pid: 103 },
    ],
  },
  {
    sim: 'two',
    name: 'x',
    kind: 'host',
    namespace: 'netsim-two-x',
    state: 'missing',
    ipv4: [],
    ipv6: [],
    daemons: [],
  },
];

t.test(
  'inspect table: one row per node, an address or daemon per line; --all names each lab once',
  async (t) => {
    t.equal(
      formatNodes(NODES.slice(0, 2), 'table'),
      `+------+--------+---------------+---------+------------------+-------------+
| Name | Kind   | Namespace     | State   | IPv4 Address     | FRR daemons |
+------+--------+---------------+---------+------------------+-------------+
| h1   | host   | netsim-lab-h1 | running | eth1 10.0.0.1/30 |             |
| r1   | router | netsim-lab-r1 | running | eth1 10.0.0.2/30 | zebra 101   |
|      |        |               |         | eth2 10.0.0.6/30 | ospfd 103   |
+------+--------+---------------+---------+------------------+-------------+
`,
    );
    t.equal(
      formatNodes(NODES, 'table', true),
      `+----------+------+--------+---------------+---------+------------------+-------------+
| Lab Name | Name | Kind   | Namespace     | State   | IPv4 Address     | FRR daemons |
+----------+------+--------+---------------+---------+------------------+-------------+
| lab      | h1   | host   | netsim-lab-h1 | running | eth1 10.0.0.1/30 |             |
|          | r1   | router | netsim-lab-r1 | running | eth1 10.0.0.2/30 | zebra 101   |
|          |      |        |               |         | eth2 10.0.0.6/30 | ospfd 103   |
| two      | x    | host   | netsim-two-x  | missing | N/A              |             |
+----------+------+--------+---------------+---------+------------------+-------------+
`,
    );
  },
);

t.test('inspect json (keyed by simulation) and csv', async (t) => {
  t.same(JSON.parse(formatNodes(NODES, 'json')), {
    lab: [
      {
        name: 'h1',
        kind: 'host',
        namespace: 'netsim-lab-h1',
        state: 'running',
        ipv4_address: ['eth1 10.0.0.1/30'],
        frr_daemons: [],
      },
      {
        name: 'r1',
        kind: 'router',
        namespace: 'netsim-lab-r1',
        state: 'running',
        ipv4_address: ['eth1 10.0.0.2/30', 'eth2 10.0.0.6/30'],
        frr_daemons: [
          { name: 'zebra', pid: 101 },
          { name: 'ospfd', pid: 103 },
        ],
      },
    ],
    two: [
      {
        name: 'x',
        kind: 'host',
        namespace: 'netsim-two-x',
        state: 'missing',
        ipv4_address: [],
        frr_daemons: [],
      },
    ],
  });
  t.equal(
    formatNodes(NODES, 'csv'),
    `lab_name,name,kind,namespace,state,ipv4_address,frr_daemons
lab,h1,host,netsim-lab-h1,running,eth1 10.0.0.1/30,
lab,r1,router,netsim-lab-r1,running,eth1 10.0.0.2/30 eth2 10.0.0.6/30,zebra:101 ospfd:103
two,x,host,netsim-two-x,missing,,
`,
  );
});

t.test('inspect interfaces: table, csv (a field with a comma is quoted), json', async (t) => {
  const rows: IfaceRow[] = [
    {
      sim: 'lab',
      node: 'h1',
      iface: 'eth1',
      ipv4: ['10.0.0.1/30'],
      ipv6: [],
      mac: 'aa:bb:cc:00:00:01',
      mtu: 1500,
      state: 'UP',
      peer: 'r1:eth1',
    },
    { sim: 'lab', node: 'r1', iface: 'x,y', ipv4: [], ipv6: [], mac: '', mtu: 9000, state: 'DOWN', peer: '' },
  ];
  t.equal(
    formatIfaces(rows, 'table'),
    `+------+-----------+--------------+-------------------+------+-------+---------+
| Node | Interface | IPv4 Address | MAC               | MTU  | State | Peer    |
+------+-----------+--------------+-------------------+------+-------+---------+
| h1   | eth1      | 10.0.0.1/30  | aa:bb:cc:00:00:01 | 1500 | UP    | r1:eth1 |
| r1   | x,y       | N/A          |                   | 9000 | DOWN  |         |
+------+-----------+--------------+-------------------+------+-------+---------+
`,
  );
  t.equal(
    formatIfaces(rows, 'csv'),
    `lab_name,node,interface,ipv4_address,mac,mtu,state,peer
lab,h1,eth1,10.0.0.1/30,aa:bb:cc:00:00:01,1500,UP,r1:eth1
lab,r1,"x,y",,,9000,DOWN,
`,
  );
  t.same(JSON.parse(formatIfaces(rows, 'json')).lab[0], {
    node: 'h1',
    interface: 'eth1',
    ipv4_address: ['10.0.0.1/30'],
    mac: 'aa:bb:cc:00:00:01',
    mtu: 1500,
    state: 'UP',
    peer: 'r1:eth1',
  });
});

t.test(
  'inspect with IPv6: an IPv6 column (table, csv, json) once any node has an IPv6 address',
  async (t) => {
    const rows: NodeRow[] = [
      { ...NODES[0], ipv6: [{ iface: 'eth1', address: 'fd00::1/64' }] },
      { ...NODES[2], sim: 'lab' },
    ];
    t.equal(
      formatNodes(rows, 'table'),
      `+------+------+---------------+---------+------------------+-----------------+-------------+
| Name | Kind | Namespace     | State   | IPv4 Address     | IPv6 Address    | FRR daemons |
+------+------+---------------+---------+------------------+-----------------+-------------+
| h1   | host | netsim-lab-h1 | running | eth1 10.0.0.1/30 | eth1 fd00::1/64 |             |
| x    | host | netsim-two-x  | missing | N/A              | N/A             |             |
+------+------+---------------+---------+------------------+-----------------+-------------+
`,
    );
    t.match(
      formatNodes(rows, 'csv'),
      /^lab_name,name,kind,namespace,state,ipv4_address,ipv6_address,frr_daemons\n/,
    );
    t.same(JSON.parse(formatNodes(rows, 'json')).lab[0].ipv6_address, ['eth1 fd00::1/64']);
    const ifaces: IfaceRow[] = [
      {
        sim: 'lab',
        node: 'h1',
        iface: 'eth1',
        ipv4: [],
        ipv6: ['fd00::1/64'],
        mac: '',
        mtu: 1500,
        state: 'UP',
        peer: '',
      },
    ];
    t.match(formatIfaces(ifaces, 'table'), /\| IPv4 Address \| IPv6 Address \|/);
    t.match(formatIfaces(ifaces, 'csv'), /\nlab,h1,eth1,,fd00::1\/64,,1500,UP,\n/);
    t.same(JSON.parse(formatIfaces(ifaces, 'json')).lab[0].ipv6_address, ['fd00::1/64']);
  },
);
