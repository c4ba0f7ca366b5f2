// One head's history: where it was born, every candidate that carried it (with its statistics
// there), the children that pruned it, the heads copied or grown from it.
"use strict";
const headId = pageId();

function draw() {
  return api("/heads/" + headId).then((h) => {
    const head = h.head || {};
    const main = document.getElementById("main");
    document.getElementById("where").append(link("/search/" + h.search_id, "search #" + h.search_id));
    const offs = (head.offsets || {}).offsets || [];
    const facts = [["layer", head.layer], ["offsets", offs.join(", ")],
      ["born in", link("/candidate/" + h.created_candidate_id, "candidate #" + h.created_candidate_id, { id: "born-link" })],
      ["origin", originName(head.origin) + (head.sampler && head.sampler !== "SAMPLER_UNSPECIFIED" ? " by the " + samplerName(head.sampler) + " sampler" : "")],
      ["source head", num(head.source_head_id) > 0 ? link("/head/" + head.source_head_id, "#" + head.source_head_id) : "–"],
      ["carried by", (h.appearances || []).length + " candidate(s)"], ["pruned by", (h.prunings || []).length + " child(ren)"],
      ["copied into", (h.copies || []).length ? el("span", {}, h.copies.map((id) => link("/head/" + id, "#" + id + " "))) : "no other head"]];
    const timeline = figure("timeline", "Life of the head, generation by generation",
      "For each generation: how many candidates carried the head (blue bars) and how many children " +
      "dropped it from their parent (red bars). A head that selection values keeps appearing in " +
      "later generations; its history ends where the red bars take over.");
    const byGen = {};
    for (const a of h.appearances || []) (byGen[a.generation] = byGen[a.generation] || { carried: 0, pruned: 0 }).carried++;
    for (const p of h.prunings || []) (byGen[p.generation] = byGen[p.generation] || { carried: 0, pruned: 0 }).pruned++;
    const gens = Object.keys(byGen).map(Number).sort((a, b) => a - b);
    const history = figure("history", "Every candidate that carried it",
      "In candidate order: the generation, the head's slot in the genome, how the candidate got it " +
      "(initial or sampled where it was born, inherited after), and the statistics that " +
      "candidate's training measured for it (importance: how much the loss rises without it). " +
      "Below, the children that pruned it and the mutation that did.", true);
    const rows = (h.appearances || []).map((a) => {
      const s = a.stats || {};
      return el("tr", { class: "appearance" }, [cell(link("/candidate/" + a.candidate_id, "#" + a.candidate_id)), cell(a.generation, true),
        cell(a.slot, true), cell(originName(a.origin)), cell(a.stats_recorded ? fmt(s.entropy, 3) : "–", true),
        cell(a.stats_recorded ? fmt(s.importance, 4) : "–", true)]);
    });
    const pruned = (h.prunings || []).map((p) => el("tr", { class: "pruning" }, [cell(link("/candidate/" + p.candidate_id, "#" + p.candidate_id)),
      cell(link("/candidate/" + p.parent_id, "#" + p.parent_id)), cell(p.generation, true), cell(p.mutation)]));
    history.plot.append(table(["candidate", "generation", "slot", "origin", "entropy", "importance"], rows, { id: "appearances" }),
      pruned.length ? table(["pruned in child", "parent", "generation", "mutation"], pruned, { id: "prunings" })
                    : el("p", { id: "prunings" }, "No child pruned it."));
    main.replaceChildren(el("h1", {}, "Head #" + headId),
      el("table", { id: "facts" }, facts.map(([k, v]) => el("tr", {}, [el("th", {}, k), cell(v)]))), timeline.fig, history.fig);
    chart(timeline.plot, { type: "bar", data: { labels: gens, datasets: [
      { label: "candidates carrying it", data: gens.map((g) => byGen[g].carried), backgroundColor: "#37b" },
      { label: "children that pruned it", data: gens.map((g) => byGen[g].pruned), backgroundColor: "#c22" }] },
      options: { scales: { x: { title: { display: true, text: "generation" } }, y: { beginAtZero: true, ticks: { precision: 0 } } } } });
    window.dashboard.ready = true;
  });
}
document.addEventListener("DOMContentLoaded", () => draw().catch(showError));
