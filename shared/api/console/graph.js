// Draws a state machine's graph (the JSON of waymark-graph) as SVG, laid out by dagre, each
// state coloured by its run when an execution's runs are given. Shared by the console and the
// page `waymark run --graph` writes. No framework: the DOM, and text set as text only.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }

  function text(parent, x, y, content, cls) {
    const t = el("text", { x, y, class: cls || "" }, parent);
    t.textContent = content;
    return t;
  }

  // Width of a line of text at the console's font size, near enough for layout.
  function measure(s, size) {
    return Math.ceil((s || "").length * (size || 13) * 0.6);
  }

  function statusOf(node, runs) {
    if (!runs) return "plain";
    if (!node.state) return "plain";
    const r = runs[node.state];
    return r ? r.status : "notrun";
  }

  // Lays out and draws `graph` into `container` (emptied first). `onSelect(stateName)` is
  // called when a state is clicked. Returns the SVG element.
  function render(container, graph, runs, onSelect) {
    const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
    g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 36, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    const byId = {};
    for (const n of graph.nodes) {
      byId[n.id] = n;
      if (n.kind === "container" || n.kind === "branch") {
        g.setNode(n.id, { paddingTop: 30 });
      } else if (n.kind === "entry" || n.kind === "exit") {
        g.setNode(n.id, { width: 16, height: 6 });
      } else if (n.kind === "start" || n.kind === "end") {
        g.setNode(n.id, { width: 64, height: 28 });
      } else {
        const w = Math.max(measure(n.label, 13), measure(n.detail, 11)) + 28;
        g.setNode(n.id, { width: Math.max(110, Math.min(w, 320)), height: n.detail ? 48 : 36 });
      }
    }
    for (const n of graph.nodes) if (n.parent) g.setParent(n.id, n.parent);
    graph.edges.forEach((e, i) => {
      const label = e.label || "";
      g.setEdge(e.from, e.to, {
        label,
        width: label ? Math.min(measure(label, 11), 260) + 8 : 0,
        height: label ? 16 : 0,
        labelpos: "c",
        kind: e.kind,
      }, "e" + i);
    });
    dagre.layout(g);

    container.textContent = "";
    const size = g.graph();
    const svg = el("svg", {
      class: "wm-graph",
      width: Math.ceil(size.width || 200),
      height: Math.ceil(size.height || 100),
      viewBox: `0 0 ${Math.ceil(size.width || 200)} ${Math.ceil(size.height || 100)}`,
      role: "img",
    }, container);
    const defs = el("defs", {}, svg);
    const marker = el("marker", {
      id: "wm-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
    }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "wm-arrowhead" }, marker);

    // Containers first (outermost first, as dagre lists parents before children is not
    // guaranteed: sort by depth).
    const depth = (id) => { let d = 0; for (let p = byId[id].parent; p; p = byId[p].parent) d++; return d; };
    const clusters = graph.nodes.filter((n) => n.kind === "container" || n.kind === "branch")
      .sort((a, b) => depth(a.id) - depth(b.id));
    for (const n of clusters) {
      const b = g.node(n.id);
      const grp = el("g", {
        class: `wm-cluster wm-${n.kind} wm-st-${statusOf(n, runs)}`,
        "data-id": n.id,
        "data-state": n.state || "",
      }, svg);
      el("rect", { x: b.x - b.width / 2, y: b.y - b.height / 2, width: b.width, height: b.height, rx: 8 }, grp);
      const title = n.kind === "container" ? `${n.label} · ${n.type}${n.detail ? " (" + n.detail + ")" : ""}` : n.label;
      text(grp, b.x - b.width / 2 + 10, b.y - b.height / 2 + 18, title, "wm-cluster-label");
      if (n.state) {
        grp.classList.add("wm-clickable");
        grp.addEventListener("click", (ev) => { ev.stopPropagation(); if (onSelect) onSelect(n.state); });
      }
    }

    for (const ed of g.edges()) {
      const e = g.edge(ed);
      const pts = e.points || [];
      if (!pts.length) continue;
      const d = pts.map((p, i) => (i ? "L" : "M") + p.x.toFixed(1) + " " + p.y.toFixed(1)).join(" ");
      const grp = el("g", { class: `wm-edge wm-edge-${e.kind}` }, svg);
      el("path", { d, "marker-end": "url(#wm-arrow)" }, grp);
      if (e.label) {
        const w = e.width;
        el("rect", { x: e.x - w / 2, y: e.y - 8, width: w, height: 16, rx: 3, class: "wm-edge-label-bg" }, grp);
        const t = text(grp, e.x, e.y + 4, e.label.length > 44 ? e.label.slice(0, 43) + "…" : e.label, "wm-edge-label");
        t.setAttribute("text-anchor", "middle");
        const tip = el("title", {}, grp);
        tip.textContent = e.label;
      }
    }

    for (const n of graph.nodes) {
      if (n.kind === "container" || n.kind === "branch") continue;
      const b = g.node(n.id);
      const st = statusOf(n, runs);
      const grp = el("g", {
        class: `wm-node wm-${n.kind} wm-st-${st}`,
        "data-id": n.id,
        "data-state": n.state || "",
      }, svg);
      if (n.kind === "entry" || n.kind === "exit") {
        el("rect", { x: b.x - 8, y: b.y - 3, width: 16, height: 6, rx: 3 }, grp);
        continue;
      }
      const rx = n.kind === "start" || n.kind === "end" ? 14 : 6;
      el("rect", { x: b.x - b.width / 2, y: b.y - b.height / 2, width: b.width, height: b.height, rx }, grp);
      const label = text(grp, b.x, b.y + (n.detail ? -3 : 4), n.label, "wm-node-label");
      label.setAttribute("text-anchor", "middle");
      if (n.detail) {
        const dt = text(grp, b.x, b.y + 13, n.detail.length > 44 ? n.detail.slice(0, 43) + "…" : n.detail, "wm-node-detail");
        dt.setAttribute("text-anchor", "middle");
      }
      const run = runs && n.state ? runs[n.state] : null;
      if (n.retry && n.retry.length) {
        const badge = text(grp, b.x + b.width / 2 - 6, b.y - b.height / 2 + 12,
          run && run.retries ? "↻" + run.retries : "↻", "wm-retry");
        badge.setAttribute("text-anchor", "end");
        const tip = el("title", {}, badge);
        tip.textContent = "Retry: " + n.retry.join(", ");
      }
      if (n.state) {
        grp.classList.add("wm-clickable");
        grp.addEventListener("click", (ev) => { ev.stopPropagation(); if (onSelect) onSelect(n.state); });
        const tip = el("title", {}, grp);
        tip.textContent = `${n.label} (${n.type})` + (run ? ` — ${run.status}` : "");
      }
    }
    return svg;
  }

  window.WaymarkGraph = { render };
})();
