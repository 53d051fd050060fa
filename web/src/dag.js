// The run's DAG as an SVG: a small layered layout (columns by longest path from
// the sources, rows ordered by the mean row of their parents, a few sweeps),
// then nodes coloured by status. Cheap enough for hundreds of steps.
const NS = "http://www.w3.org/2000/svg";
const W = 170, H = 40, GX = 60, GY = 14, PAD = 10;

function svg(tag, attrs = {}) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}

// steps: [{name, inputs: {in: "step.output"}}] -> {pos: Map name->{x,y}, edges, width, height}
export function layout(steps) {
  const names = steps.map((s) => s.name);
  const known = new Set(names);
  const parents = new Map(names.map((n) => [n, []]));
  const edges = [];
  for (const s of steps) {
    for (const [input, ref] of Object.entries(s.inputs || {})) {
      const from = String(ref).split(".")[0];
      if (!known.has(from)) continue;
      parents.get(s.name).push(from);
      edges.push({ from, to: s.name, label: input });
    }
  }
  // Steps come in topological order, so one pass gives longest-path layers.
  const layer = new Map();
  for (const n of names) layer.set(n, Math.max(-1, ...parents.get(n).map((p) => layer.get(p) ?? 0)) + 1);
  const layers = [];
  for (const n of names) (layers[layer.get(n)] ||= []).push(n);
  const row = new Map();
  layers.forEach((l) => l.forEach((n, i) => row.set(n, i)));
  for (let sweep = 0; sweep < 4; sweep++) {
    for (const l of layers.slice(1)) {
      const key = (n) => {
        const ps = parents.get(n);
        return ps.length ? ps.reduce((a, p) => a + row.get(p), 0) / ps.length : row.get(n);
      };
      l.sort((a, b) => key(a) - key(b) || row.get(a) - row.get(b));
      l.forEach((n, i) => row.set(n, i));
    }
  }
  const tallest = Math.max(1, ...layers.map((l) => l.length));
  const pos = new Map();
  layers.forEach((l, c) => {
    const offset = ((tallest - l.length) * (H + GY)) / 2;
    l.forEach((n, r) => pos.set(n, { x: PAD + c * (W + GX), y: PAD + offset + r * (H + GY) }));
  });
  return { pos, edges, width: PAD * 2 + layers.length * (W + GX) - GX, height: PAD * 2 + tallest * (H + GY) - GY };
}

// Draws into `container`; returns {update(step)} to recolour one node live.
export function drawDag(container, steps, { selected, onSelect }) {
  const { pos, edges, width, height } = layout(steps);
  const root = svg("svg", { width: Math.max(width, 10), height: Math.max(height, 10), class: "dag", "data-testid": "dag" });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
  defs.append(marker);
  root.append(defs);
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    const path = svg("path", { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, class: "edge", "marker-end": "url(#arrow)" });
    const title = svg("title");
    title.textContent = `${e.from} -> ${e.to} (${e.label})`;
    path.append(title);
    root.append(path);
  }
  const nodes = new Map();
  for (const s of steps) {
    const p = pos.get(s.name);
    const g = svg("g", { class: "node", transform: `translate(${p.x},${p.y})`, "data-step": s.name, tabindex: 0 });
    const rect = svg("rect", { width: W, height: H, rx: 6 });
    const bar = svg("rect", { class: "progress", x: 0, y: H - 4, height: 4, width: 0, rx: 2 });
    const text = svg("text", { x: 10, y: 17 });
    text.textContent = s.name.length > 22 ? s.name.slice(0, 21) + "\u2026" : s.name;
    const sub = svg("text", { x: 10, y: 31, class: "sub" });
    const title = svg("title");
    g.append(rect, bar, text, sub, title);
    g.addEventListener("click", () => onSelect(s.name));
    g.addEventListener("keydown", (ev) => { if (ev.key === "Enter") onSelect(s.name); });
    root.append(g);
    nodes.set(s.name, { g, bar, sub, title });
  }
  container.replaceChildren(root);
  const update = (s) => {
    const n = nodes.get(s.name);
    if (!n) return;
    n.g.setAttribute("class", `node st-${s.status}${s.name === selected() ? " selected" : ""}`);
    n.g.setAttribute("data-status", s.status);
    const progress = s.status === "running" ? s.progress || 0 : 0;
    n.bar.setAttribute("width", Math.round(W * progress));
    n.sub.textContent = `${s.plugin || ""} \u00b7 ${s.status}`;
    n.title.textContent = `${s.name}: ${s.status}${s.waiting ? " \u2014 " + s.waiting : ""}${s.message ? " \u2014 " + s.message : ""}`;
  };
  steps.forEach(update);
  return { update };
}
