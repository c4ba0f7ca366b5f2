// One search, live: its summary, the figures (each from a server-side summary, so a search of
// 100,000 candidates draws as fast as one of 100), the workers and a paged candidate table.
// The summary is polled every 2 s; the figures are redrawn when it says a result arrived.
"use strict";
const searchId = pageId();
const figs = {};
let lastKey = "";
let page = { token: "", history: [], order: "val_loss" };

function layout(summary) {
  const main = document.getElementById("main");
  const rungs = (summary.rung_steps || []).length > 1;
  figs.fitness = figure("fitness", "Fitness over time",
    "Each point is a bucket of consecutive candidates in creation order (the x axis is the last " +
    "candidate id of the bucket; the bucket size is in the title when it is more than one): blue " +
    "dots are the bucket's lowest validation loss, grey ones its highest, so the band between " +
    "them is how spread the bucket's losses are. The red step line is the best loss found so " +
    "far: it drops when the search finds a better candidate and stays flat otherwise. Lower is " +
    "better. Click a point of the red line to open the best candidate at that time.");
  figs.pareto = figure("pareto", "Pareto front: loss against cost",
    "Grey: the best evaluated candidates by loss (up to 500); further left is cheaper (fewer " +
    "attention connections per query position, summed over all heads), lower is better. Green, " +
    "joined: the Pareto front, the candidates no other beats on both loss and connections. Click " +
    "a point to open that candidate.");
  if (rungs) {
    figs.curves = figure("curves", "Learning curves across the rungs",
      "Multi-fidelity: each line is one of the ten best candidates, its validation loss at the end " +
      "of every rung it finished (the x axis is training steps, logarithmic). A line that goes on " +
      "to the right is a candidate ASHA promoted for being in the top of its rung. Click a line to " +
      "open its candidate.");
  }
  figs.offsets = figure("offsets", "Which offsets survive: heat map by layer",
    "One row per layer, one column per attention offset (how far back a head looks; negative is " +
    "the past). The colour is the mean lifetime, in generations, of the heads that had the " +
    "offset: dark cells are offsets selection kept, pale ones were pruned soon; blank cells no " +
    "head had. Hover over a cell for its numbers.", true);
  figs.samplers = figure("samplers", "Sampler and bandit usage",
    "With the adaptive sampler, each bar is one arm (a way to make new heads): its height is " +
    "how often the bandit chose it (pulls, left axis), the dots its mean reward (right axis: " +
    "how much a child it made improved on its parent). The bandit learns to pull the arms with " +
    "higher rewards more often. Empty when the search uses one fixed sampler.");
  figs.workers = figure("workers", "Workers and their current jobs",
    "Every worker that holds a job of this search now: its name and device, the job and the " +
    "candidate it trains (click to open), and when the lease runs out unless the worker reports " +
    "or sends a heartbeat. A worker not listed is idle or working for another search.", true);
  figs.candidates = figure("candidates", "Candidates",
    "Fifty candidates a page, best first (highest rung, then lowest loss; unevaluated last) or " +
    "in creation order. Click a candidate for its genome, statistics and lineage.", true);
  main.replaceChildren(el("h1", { id: "title" }, "Search #" + searchId), el("div", { id: "summary" }),
    el("div", { class: "grid" }, [figs.fitness.fig, figs.pareto.fig].concat(rungs ? [figs.curves.fig] : [])),
    figs.offsets.fig, figs.samplers.fig, figs.workers.fig, figs.candidates.fig);
}

function drawSummary(s) {
  document.getElementById("title").textContent = "Search #" + s.id + " " + s.name;
  const best = num(s.best_candidate_id) > 0
    ? link("/candidate/" + s.best_candidate_id, "#" + s.best_candidate_id, { id: "best-link" }) : "none yet";
  const rows = [
    ["state", stateName(s.state) + " (" + s.mode + ", " + s.schedule + ")"],
    ["progress", fmt(s.done) + " done, " + fmt(s.failed) + " failed, " + fmt(s.running) +
                 " running, " + fmt(s.queued) + " queued of " + fmt(s.planned) + " planned"],
    ["best", el("span", {}, [best, " val. loss " + fmt(s.best_val_loss) + ", " +
                             fmt(s.best_connections) + " connections"])],
    ["compute spent", fmt(s.steps_committed) + " training steps" +
                      (num(s.budget_steps) > 0 ? " of " + fmt(s.budget_steps) : "")],
  ];
  if ((s.rung_steps || []).length > 1) {
    rows.push(["rungs", s.rung_steps.map((st, i) => "rung " + i + " (" + st + " steps): " +
                                         fmt((s.rung_finished || [])[i] || 0) + " finished").join("; ")]);
  }
  document.getElementById("summary").replaceChildren(
    el("table", { id: "summary-table" }, rows.map(([k, v]) => el("tr", {}, [el("th", {}, k), cell(v)]))));
}

function drawFitness(body) {
  const points = (f) => body.buckets.filter((b) => b[f] !== null).map((b) => ({ x: num(b.last_id), y: b[f], id: b.best_id }));
  figs.fitness.fig.querySelector("h2").textContent = "Fitness over time" +
    (body.per_bucket > 1 ? " (" + body.per_bucket + " candidates per point)" : "");
  chart(figs.fitness.plot, {
    type: "scatter",
    data: { datasets: [
      { label: "best so far", data: points("best_so_far"), type: "line", stepped: true, borderColor: "#c22", pointRadius: 1 },
      { label: "lowest of bucket", data: points("min_loss"), backgroundColor: "#37b", pointRadius: 2 },
      { label: "highest of bucket", data: points("max_loss"), backgroundColor: "#bbb", pointRadius: 1.5 }] },
    options: { scales: { x: { title: { display: true, text: "candidate id" } },
                         y: { title: { display: true, text: "validation loss" } } },
               onClick: (e, items, c) => { const it = items.find((i) => i.datasetIndex === 0);
                                           if (it) location.href = "/candidate/" + c.data.datasets[0].data[it.index].id; } } });
}

function drawPareto(front, best) {
  const pt = (c) => ({ x: num(c.connections), y: num(c.val_loss), id: c.id });
  chart(figs.pareto.plot, {
    type: "scatter",
    data: { datasets: [
      { label: "Pareto front", data: front.front.map(pt), showLine: true, stepped: "after", borderColor: "#2a6", backgroundColor: "#2a6", pointRadius: 4 },
      { label: "best evaluated", data: best.candidates.filter((c) => isFinite(num(c.val_loss))).map(pt), backgroundColor: "#aaa", pointRadius: 2 }] },
    options: { scales: { x: { title: { display: true, text: "connections per query" } },
                         y: { title: { display: true, text: "validation loss" } } },
               onClick: (e, items, c) => { if (items.length) location.href = "/candidate/" + c.data.datasets[items[0].datasetIndex].data[items[0].index].id; } } });
}

function drawCurves(body) {
  const colours = ["#c22", "#37b", "#2a6", "#a5c", "#e80", "#088", "#555", "#b66", "#69c", "#9a3"];
  chart(figs.curves.plot, {
    type: "line",
    data: { datasets: body.candidates.map((c, i) => ({
      label: "#" + c.id, id: c.id, borderColor: colours[i % colours.length], backgroundColor: colours[i % colours.length],
      data: (c.rungs || []).map((r) => ({ x: r.steps, y: num(r.val_loss) })) })) },
    options: { scales: { x: { type: "logarithmic", title: { display: true, text: "training steps" } },
                         y: { title: { display: true, text: "validation loss" } } },
               onClick: (e, items) => { if (items.length) location.href = "/candidate/" + body.candidates[items[0].datasetIndex].id; } } });
}

function drawOffsets(body) {
  const plot = figs.offsets.plot;
  plot.replaceChildren();
  const rows = body.offsets;
  if (!rows.length) { plot.append(el("p", {}, "No head has finished yet.")); return; }
  const layers = [...new Set(rows.map((r) => r.layer))].sort((a, b) => a - b);
  const offsets = [...new Set(rows.map((r) => r.offset))].sort((a, b) => a - b);
  const cw = Math.max(4, Math.min(40, Math.floor(1000 / offsets.length))), ch = 22, left = 60, top = 10;
  const maxLife = d3.max(rows, (r) => num(r.mean_lifetime)) || 1;
  const colour = d3.scale.linear().domain([0, maxLife]).range(["#f4f0e6", "#08306b"]);
  const svg = d3.select(plot).append("svg").attr("width", Math.max(600, left + cw * offsets.length + 10))
    .attr("height", top + ch * layers.length + 40);
  svg.selectAll("rect").data(rows).enter().append("rect")
    .attr("x", (r) => left + cw * offsets.indexOf(r.offset)).attr("y", (r) => top + ch * layers.indexOf(r.layer))
    .attr("width", cw - 1).attr("height", ch - 1).attr("fill", (r) => colour(num(r.mean_lifetime)))
    .append("title").text((r) => "layer " + r.layer + ", offset " + r.offset + ": " + r.heads + " heads, mean lifetime " +
                                  fmt(r.mean_lifetime, 2) + " generations (longest " + r.max_lifetime + "), " + r.alive + " alive");
  svg.selectAll("text.layer").data(layers).enter().append("text").attr("class", "layer")
    .attr("x", 4).attr("y", (l, i) => top + ch * i + 15).text((l) => "layer " + l);
  const ticks = offsets.filter((o, i) => i % Math.ceil(offsets.length / 12) === 0);
  svg.selectAll("text.offset").data(ticks).enter().append("text").attr("class", "offset")
    .attr("x", (o) => left + cw * offsets.indexOf(o)).attr("y", top + ch * layers.length + 15).text((o) => o);
  svg.append("text").attr("x", left).attr("y", top + ch * layers.length + 32).text("offset (darker: lived longer; longest mean " + fmt(maxLife, 1) + " generations)");
  plot.setAttribute("data-drawn", String(Number(plot.getAttribute("data-drawn") || 0) + 1));
}

function drawSamplers(body) {
  if (!body.arms.length) {
    figs.samplers.plot.replaceChildren(el("p", {}, "This search uses one fixed sampler: no bandit to show."));
    figs.samplers.plot.style.height = "auto";
    return;
  }
  chart(figs.samplers.plot, {
    type: "bar",
    data: { labels: body.arms.map((a) => a.name), datasets: [
      { label: "pulls", data: body.arms.map((a) => a.pulls), backgroundColor: "#37b", yAxisID: "y", order: 2 },
      { label: "mean reward", data: body.arms.map((a) => a.mean_reward), type: "line", showLine: false, backgroundColor: "#c22", borderColor: "#c22", pointRadius: 6, yAxisID: "reward", order: 1, clip: false }] },
    options: { scales: { y: { title: { display: true, text: "pulls" } },
                         reward: { position: "right", grace: "10%", title: { display: true, text: "mean reward" }, grid: { drawOnChartArea: false } } } } });
}

function drawWorkers(body) {
  const rows = [];
  for (const w of body.workers) {
    for (const job of w.jobs || []) {
      if (num(job.search_id) !== searchId) continue;
      const what = num(job.candidate_id) > 0 ? link("/candidate/" + job.candidate_id, "candidate #" + job.candidate_id)
                                             : "reference model #" + job.reference_id;
      rows.push(el("tr", {}, [cell("#" + w.id + " " + w.name), cell(w.device), cell("#" + job.job_id + " (attempt " + job.attempt + ")"),
                              cell(what), cell(new Date(num(job.lease_expires_ms)).toLocaleTimeString())]));
    }
  }
  figs.workers.plot.replaceChildren(rows.length
    ? table(["worker", "device", "job", "training", "lease runs out"], rows, { id: "workers-table" })
    : el("p", { id: "workers-table" }, "No worker holds a job of this search now."));
}

function drawCandidates() {
  const q = "/searches/" + searchId + "/candidates?page_size=50&order=" + page.order + "&page_token=" + encodeURIComponent(page.token);
  return api(q).then((body) => {
    const rows = body.candidates.map((c) => el("tr", { class: "candidate" }, [
      cell(link("/candidate/" + c.id, "#" + c.id, { class: "candidate-link" })), cell(c.generation, true),
      cell(stateName(c.state)), cell(fmt(c.val_loss), true), cell(fmt(c.connections), true), cell(c.rung, true),
      cell(num(c.parent_id) > 0 ? link("/candidate/" + c.parent_id, "#" + c.parent_id) : "–"), cell(c.mutation)]));
    const prev = el("button", page.history.length ? {} : { disabled: "" }, "previous");
    const next = el("button", body.next_page_token ? { id: "next-page" } : { disabled: "" }, "next");
    const order = el("button", {}, page.order === "val_loss" ? "show in creation order" : "show best first");
    prev.onclick = () => { page.token = page.history.pop(); drawCandidates().catch(showError); };
    next.onclick = () => { page.history.push(page.token); page.token = body.next_page_token; drawCandidates().catch(showError); };
    order.onclick = () => { page = { token: "", history: [], order: page.order === "val_loss" ? "id" : "val_loss" }; drawCandidates().catch(showError); };
    figs.candidates.plot.replaceChildren(el("p", {}, [prev, next, order, fmt(body.total) + " candidates"]),
      table(["candidate", "generation", "state", "val. loss", "connections", "rung", "parent", "mutation"], rows, { id: "candidates-table" }));
  });
}

function refresh(summary) {
  const base = "/searches/" + searchId;
  const work = [api(base + "/fitness").then(drawFitness),
                Promise.all([api(base + "/pareto"), api(base + "/candidates?state=done&order=val_loss&page_size=500")])
                  .then(([front, best]) => drawPareto(front, best)),
                api(base + "/offsets").then(drawOffsets), api(base + "/samplers").then(drawSamplers),
                api("/workers").then(drawWorkers), drawCandidates()];
  if (figs.curves) work.push(api(base + "/curves?count=10").then(drawCurves));
  return Promise.all(work).then(() => {
    window.dashboard.updates++;
    window.dashboard.done = num(summary.done);
    window.dashboard.ready = true;
  });
}

function poll() {
  return api("/searches/" + searchId).then((summary) => {
    if (!figs.fitness) layout(summary);
    drawSummary(summary);
    document.getElementById("live").textContent = "live: checked " + new Date().toLocaleTimeString();
    const key = [summary.candidates, summary.done, summary.failed, summary.running, summary.state].join("/");
    if (key === lastKey) return;
    lastKey = key;
    return refresh(summary);
  });
}
document.addEventListener("DOMContentLoaded", () => every(2000, poll));
