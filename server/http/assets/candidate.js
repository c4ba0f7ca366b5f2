// One candidate: metrics, genome by layer, per-head statistics, its learning curve across rungs,
// and its lineage as a tree (ancestors up to the root, its children below) whose nodes open.
"use strict";
const candidateId = pageId();

function drawTree(plot, lineage) {
  // The chain root -> ... -> this candidate, then its children (descendants at depth 1).
  const chain = lineage.ancestors.slice().reverse();
  const node = (c, role) => ({ id: num(c.id), loss: num(c.val_loss !== undefined ? c.val_loss : (c.metrics || {}).val_loss),
                               generation: c.generation, role: role, children: [] });
  const path = chain.map((c, i) => node(c, i === chain.length - 1 ? "self" : i === chain.length - 2 ? "parent" : "ancestor"));
  for (let i = 1; i < path.length; i++) path[i - 1].children.push(path[i]);
  const root = path[0], at = path[path.length - 1];
  const kids = lineage.descendants.filter((d) => d.depth === 1);
  for (const d of kids) at.children.push({ id: num(d.id), loss: num(d.val_loss), generation: d.generation, role: "child", children: [] });
  const depth = chain.length + (kids.length ? 1 : 0);
  const width = Math.max(400, 90 * Math.max(1, kids.length)), height = 70 * depth + 20;
  const tree = d3.layout.tree().size([width - 80, height - 60]);
  const nodes = tree.nodes(root), links = tree.links(nodes);
  const svg = d3.select(plot).append("svg").attr("width", width).attr("height", height)
    .append("g").attr("transform", "translate(40,20)");
  svg.selectAll("path.link").data(links).enter().append("path").attr("class", "link")
    .attr("d", d3.svg.diagonal());
  const colours = { ancestor: "#9bd", parent: "#37b", self: "#e8b400", child: "#7c7" };
  const g = svg.selectAll("g.node").data(nodes).enter().append("a")
    .attr("xlink:href", (d) => "/candidate/" + d.id)
    .attr("class", (d) => "node " + d.role).attr("id", (d) => "node-" + d.id)
    .attr("transform", (d) => "translate(" + d.x + "," + d.y + ")");
  g.append("circle").attr("r", 8).attr("fill", (d) => colours[d.role]);
  g.append("text").attr("dy", -12).attr("text-anchor", "middle")
    .text((d) => "#" + d.id + " g" + d.generation + (isFinite(d.loss) ? " " + d.loss.toFixed(3) : ""));
  plot.setAttribute("data-drawn", "1");
}

function draw() {
  return Promise.all([api("/candidates/" + candidateId), api("/candidates/" + candidateId + "/lineage?descendant_depth=1")])
    .then(([c, lineage]) => {
      const m = c.metrics || {};
      const main = document.getElementById("main");
      document.title = "headevo: candidate #" + c.id;
      document.getElementById("where").append(link("/search/" + c.search_id, "search #" + c.search_id));
      const parent = num(c.parent_id) > 0 ? link("/candidate/" + c.parent_id, "#" + c.parent_id, { id: "parent-link" }) : "none (generation 0)";
      const facts = [["state", stateName(c.state) + (c.error ? ": " + c.error : "")], ["generation", c.generation],
        ["parent", parent], ["mutation", (c.mutation || {}).description || "–"], ["validation loss", fmt(m.val_loss)],
        ["training loss", fmt(m.train_loss)], ["connections per query", fmt(m.connections)],
        ["steps, tokens", fmt(m.steps) + ", " + fmt(m.tokens)], ["rung", c.rung]];
      const tree = figure("lineage", "Lineage",
        "From the top: the candidate's ancestors back to generation 0 (light blue, its parent dark " +
        "blue), the candidate itself (gold), and its children (green). Each node: candidate id, " +
        "generation and validation loss. Click a node to open that candidate; walking up the " +
        "tree follows where this architecture came from.", true);
      const heads = (c.genome || {}).heads || [];
      const stats = {};
      for (const s of c.head_stats || []) stats[s.head_id] = s;
      const byLayer = {};
      for (const h of heads) (byLayer[h.layer] = byLayer[h.layer] || []).push(h);
      const genome = figure("genome", "Genome by layer and per-head statistics",
        "One row per head, grouped by layer: its offsets (the positions it attends to, relative " +
        "to the query; negative is the past), where it came from (initial, inherited from the " +
        "parent, sampled or grown, and by which sampler), and the statistics its training " +
        "measured: entropy of its attention (high: spread out), independence from the other heads, " +
        "weight norm and importance (how much the loss rises without it; selection prunes the " +
        "least important). Click a head for its history.", true);
      const rows = [];
      for (const layer of Object.keys(byLayer).sort((a, b) => a - b)) {
        for (const h of byLayer[layer]) {
          const s = stats[h.id] || {};
          const offs = ((h.offsets || {}).offsets || []);
          rows.push(el("tr", { class: "head" }, [cell(layer, true), cell(link("/head/" + h.id, "#" + h.id, { class: "head-link" })),
            cell(offs.length > 12 ? offs.slice(0, 12).join(", ") + ", … (" + offs.length + ")" : offs.join(", ")),
            cell(originName(h.origin) + (h.sampler && h.sampler !== "SAMPLER_UNSPECIFIED" ? " (" + samplerName(h.sampler) + ")" : "")),
            cell(fmt(s.entropy, 3), true), cell(fmt(s.independence, 3), true), cell(fmt(s.weight_norm, 3), true), cell(fmt(s.importance, 4), true)]));
        }
      }
      genome.plot.append(table(["layer", "head", "offsets", "origin", "entropy", "independence", "weight norm", "importance"], rows, { id: "genome-table" }));
      main.replaceChildren(el("h1", {}, "Candidate #" + c.id),
        el("table", { id: "facts" }, facts.map(([k, v]) => el("tr", {}, [el("th", {}, k), cell(v)]))), tree.fig, genome.fig);
      if ((c.rungs || []).length > 1) {
        const curve = figure("curve", "Learning curve",
          "The candidate's validation loss (blue) and training loss (grey) at the end of each rung it " +
          "finished, against the training steps so far: a line still falling at its last rung would " +
          "have gained from more training.");
        main.append(curve.fig);
        chart(curve.plot, { type: "line", data: { labels: c.rungs.map((r) => r.steps), datasets: [
          { label: "validation loss", data: c.rungs.map((r) => num(r.val_loss)), borderColor: "#37b" },
          { label: "training loss", data: c.rungs.map((r) => num(r.train_loss)), borderColor: "#aaa" }] },
          options: { scales: { x: { title: { display: true, text: "training steps" } } } } });
      }
      drawTree(tree.plot, lineage);
      window.dashboard.ready = true;
    });
}
document.addEventListener("DOMContentLoaded", () => draw().catch(showError));
