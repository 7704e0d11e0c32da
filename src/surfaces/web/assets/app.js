// The netsim page: the live topology drawn with cytoscape.js, updated from server-sent events
// (topology, link, stats, routes, trace, down); a click on a node shows its details; a trace
// (REPL `trace`, `netsim trace`) is drawn hop by hop.
/* global cytoscape */
(() => {
  const token = new URLSearchParams(location.search).get('token');
  const withToken = (path) =>
    token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path;
  const COLORS = { up: '#16a34a', down: '#dc2626', unknown: '#94a3b8', trace: '#f59e0b' };
  /** what tests and curious users can look at: window.netsim.cy, .events, .ready */
  const state = { cy: undefined, ready: false, events: 0, selected: undefined, sim: '' };
  window.netsim = state;

  const esc = (s) =>
    String(s ?? '').replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
    );

  function fmtBps(b) {
    if (b === undefined || b === null || b < 1) return '';
    if (b >= 1e9) return `${(b / 1e9).toFixed(1)} Gb/s`;
    if (b >= 1e6) return `${(b / 1e6).toFixed(1)} Mb/s`;
    if (b >= 1e3) return `${(b / 1e3).toFixed(1)} kb/s`;
    return `${b.toFixed(0)} b/s`;
  }

  function elementsOf(snap) {
    const els = [];
    for (const c of snap.clusters)
      els.push({ group: 'nodes', data: { id: c.id, label: `${c.label}  ${c.podCidr}`, kind: 'cluster' } });
    for (const n of snap.nodes)
      els.push({
        group: 'nodes',
        data: { id: n.id, label: n.id, kind: n.kind, parent: n.parent, ip: n.ip || n.ip6 || '' },
      });
    for (const e of snap.edges)
      els.push({
        group: 'edges',
        data: {
          id: e.id,
          source: e.source,
          target: e.target,
          kind: e.kind,
          state: e.state,
          inter: e.interCluster ? 'yes' : 'no',
          label: fmtBps(e.bps),
          ends: `${e.source}:${e.sourceIface} — ${e.target}:${e.targetIface}`,
        },
      });
    return els;
  }

  const style = [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'font-size': 10,
        'text-valign': 'bottom',
        'text-margin-y': 3,
        width: 26,
        height: 26,
        'background-color': '#64748b',
        'border-width': 1,
        'border-color': '#334155',
      },
    },
    {
      selector: 'node[kind = "switch"]',
      style: { shape: 'round-rectangle', 'background-color': '#0ea5e9', width: 34 },
    },
    {
      selector: 'node[kind = "router"]',
      style: { shape: 'diamond', 'background-color': '#f59e0b', width: 32, height: 32 },
    },
    { selector: 'node[kind = "host"]', style: { shape: 'ellipse', 'background-color': '#22c55e' } },
    {
      selector: 'node[kind = "worker"]',
      style: { shape: 'rectangle', 'background-color': '#6366f1', width: 30 },
    },
    { selector: 'node[kind = "etcd"]', style: { shape: 'barrel', 'background-color': '#a855f7' } },
    {
      selector: 'node[kind = "pod"]',
      style: { shape: 'ellipse', 'background-color': '#ec4899', width: 18, height: 18 },
    },
    {
      selector: ':parent',
      style: {
        'background-color': '#eef2ff',
        'background-opacity': 0.6,
        'border-color': '#818cf8',
        'border-width': 2,
        shape: 'round-rectangle',
        'text-valign': 'top',
        'text-halign': 'center',
        'font-size': 13,
        'font-weight': 'bold',
        padding: 12,
      },
    },
    { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#f43f5e' } },
    {
      selector: 'edge',
      style: {
        width: 3,
        'curve-style': 'bezier',
        'line-color': COLORS.unknown,
        label: 'data(label)',
        'font-size': 9,
        'text-background-color': '#fff',
        'text-background-opacity': 0.8,
        'text-background-padding': 1,
      },
    },
    { selector: 'edge[kind = "pod"]', style: { width: 1.5 } },
    { selector: 'edge[state = "up"]', style: { 'line-color': COLORS.up } },
    {
      selector: 'edge[state = "down"]',
      style: { 'line-color': COLORS.down, 'line-style': 'dashed', width: 4 },
    },
    {
      selector: 'edge[inter = "yes"]',
      style: { 'line-style': 'dashed', 'line-dash-pattern': [6, 3], 'target-arrow-shape': 'none' },
    },
    { selector: 'node.traced', style: { 'border-width': 4, 'border-color': COLORS.trace } },
    { selector: 'edge.traced', style: { 'line-color': COLORS.trace, width: 6, 'z-index': 10 } },
    { selector: 'node.dropped', style: { 'border-width': 5, 'border-color': COLORS.down } },
  ];

  function layout(cy) {
    cy.layout({
      name: 'cose',
      animate: false,
      randomize: false,
      nodeDimensionsIncludeLabels: true,
      idealEdgeLength: () => 60,
      nodeRepulsion: () => 9000,
      padding: 20,
      numIter: 1500,
    }).run();
  }

  function applyTopology(snap) {
    state.sim = snap.sim;
    document.getElementById('sim').textContent = snap.sim;
    const els = elementsOf(snap);
    if (!state.cy) {
      state.cy = cytoscape({
        container: document.getElementById('graph'),
        elements: els,
        style,
        wheelSensitivity: 0.3,
      });
      state.cy.on('tap', 'node', (evt) => select(evt.target.id()));
      layout(state.cy);
      return;
    }
    const cy = state.cy;
    const wanted = new Set(els.map((e) => e.data.id));
    let changed = false;
    cy.batch(() => {
      cy.elements().forEach((el) => {
        if (!wanted.has(el.id())) {
          el.remove();
          changed = true;
        }
      });
      for (const e of els) {
        const el = cy.getElementById(e.data.id);
        if (el.nonempty()) {
          el.data(e.data);
          if (e.group === 'nodes' && (el.data('parent') || undefined) !== (e.data.parent || undefined))
            el.move({ parent: e.data.parent ?? null });
        } else {
          cy.add(e);
          changed = true;
        }
      }
    });
    if (changed) layout(cy);
  }

  function setEdge(id, s) {
    const el = state.cy?.getElementById(id);
    if (!el || el.empty()) return;
    if (s.state) el.data('state', s.state);
    if ('bps' in s) el.data('label', fmtBps(s.bps));
  }

  const row = (cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;

  function renderDetails(d) {
    const out = [
      `<h2>${esc(d.name)}</h2>`,
      `<p>${esc(d.kind)}${d.cluster ? ` in ${esc(d.cluster)}` : ''}${d.worker ? ` on ${esc(d.worker)}` : ''}</p>`,
    ];
    if (d.ip) out.push(`<p>IP <span class="ip" id="detail-ip">${esc(d.ip)}</span></p>`);
    if (d.ip6) out.push(`<p>IPv6 <span class="ip" id="detail-ip6">${esc(d.ip6)}</span></p>`);
    if (d.labels && Object.keys(d.labels).length)
      out.push(
        `<p>labels <code>${esc(
          Object.entries(d.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', '),
        )}</code></p>`,
      );
    if (d.interfaces?.length) {
      out.push('<h3>Interfaces</h3><table>');
      for (const i of d.interfaces)
        out.push(
          row([
            `<code>${esc(i.name)}</code>`,
            i.state === 'up' ? 'up' : `<span class="down-text">${esc(i.state)}</span>`,
            `<span class="mono">${esc(i.addrs.join(' '))}</span>`,
            i.peer ? `→ ${esc(i.peer)}` : '',
          ]),
        );
      out.push('</table>');
    }
    if (d.routes?.length) {
      out.push('<h3>Routes</h3><table>');
      for (const r of d.routes) out.push(row([`<code>${esc(r)}</code>`]));
      out.push('</table>');
    }
    if (d.frr) {
      out.push('<h3>FRR neighbours</h3>');
      if (d.frr.length === 0) out.push('<p class="hint">none</p>');
      else {
        out.push('<table>');
        for (const n of d.frr)
          out.push(
            row([
              esc(n.protocol),
              `<code>${esc(n.neighbor)}</code>`,
              n.up ? esc(n.state) : `<span class="down-text">${esc(n.state)}</span>`,
              esc(n.iface ?? ''),
            ]),
          );
        out.push('</table>');
      }
    }
    if (d.pods) {
      out.push(`<h3>Pods (${d.pods.length})</h3><table>`);
      for (const p of d.pods) out.push(row([esc(p.name), `<code>${esc(p.ip)}</code>`, esc(p.worker)]));
      out.push('</table>');
    }
    if (d.workload) {
      const w = d.workload;
      out.push(`<h3>Workload ${esc(w.workload)}</h3><table>`);
      for (const [k, v] of Object.entries(w.values)) out.push(row([esc(k), esc(v)]));
      if (w.trafficBps) out.push(row(['traffic', esc(fmtBps(w.trafficBps))]));
      out.push(row(['step', esc(w.step)]));
      out.push('</table>');
    }
    document.getElementById('details').innerHTML = out.join('\n');
  }

  async function select(id) {
    state.selected = id;
    const res = await fetch(withToken(`api/node/${encodeURIComponent(id)}`));
    const d = await res.json();
    if (state.selected !== id) return;
    if (!res.ok) {
      document.getElementById('details').innerHTML = `<p class="down-text">${esc(d.error)}</p>`;
      return;
    }
    renderDetails(d);
  }
  state.select = select;

  /** The path of a trace, lit hop by hop, and its explanation in the side panel. */
  function drawTrace(tr) {
    const cy = state.cy;
    if (!cy) return;
    clearTimeout(state.traceTimer);
    cy.elements('.traced, .dropped').removeClass('traced dropped');
    state.trace = { ...tr, drawn: 0 };
    const between = (a, b) =>
      cy.edges().filter((e) => {
        const s = e.data('source');
        const t = e.data('target');
        return (s === a && t === b) || (s === b && t === a);
      });
    const step = (i) => {
      if (i >= tr.hops.length) {
        if (tr.drop) cy.getElementById(tr.drop.node).addClass('dropped');
        return;
      }
      cy.getElementById(tr.hops[i].node).addClass('traced');
      if (i > 0) between(tr.hops[i - 1].node, tr.hops[i].node).addClass('traced');
      state.trace.drawn = i + 1;
      state.traceTimer = setTimeout(() => step(i + 1), 250);
    };
    step(0);
    state.selected = undefined;
    const hops = tr.hops
      .map(
        (h) =>
          `<li><b>${esc(h.node)}</b>${h.in ? ` in ${esc(h.in)}` : ''}${h.out ? ` out ${esc(h.out)}` : ''}<ul>${h.steps
            .map((x) => `<li class="step-${esc(x.kind)}">${esc(x.text)}</li>`)
            .join('')}</ul></li>`,
      )
      .join('');
    document.getElementById('details').innerHTML =
      `<h2>trace ${esc(tr.src)} → ${esc(tr.dst)}</h2><p id="trace-outcome" class="${tr.outcome === 'delivered' ? '' : 'down-text'}">${esc(tr.outcome)}: ${esc(tr.summary)}</p><ol class="trace">${hops}</ol>`;
  }

  function connect() {
    const status = document.getElementById('status');
    const es = new EventSource(withToken('api/events'));
    const on = (name, fn) =>
      es.addEventListener(name, (m) => {
        state.events++;
        fn(JSON.parse(m.data));
      });
    es.onopen = () => {
      status.textContent = 'live';
      status.className = 'status live';
    };
    es.onerror = () => {
      if (status.textContent !== 'simulation stopped') {
        status.textContent = 'reconnecting…';
        status.className = 'status';
      }
    };
    on('topology', (snap) => {
      applyTopology(snap);
      state.ready = true;
    });
    on('link', (m) => {
      for (const l of m.links) setEdge(l.id, { state: l.state });
    });
    on('stats', (m) => {
      for (const [id, s] of Object.entries(m.edges)) setEdge(id, s);
    });
    on('routes', (m) => {
      if (state.selected && m.nodes.includes(state.selected)) void select(state.selected);
    });
    on('trace', (tr) => drawTrace(tr));
    on('down', () => {
      status.textContent = 'simulation stopped';
      status.className = 'status gone';
      es.close();
    });
  }

  connect();
})();
