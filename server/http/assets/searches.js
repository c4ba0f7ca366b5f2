// The list of searches: state, progress, best, compute spent, workers; refreshed every 3 s.
"use strict";
function progressBar(done, planned) {
  const share = planned > 0 ? Math.min(1, done / planned) : 0;
  return el("span", {}, [el("span", { class: "bar" }, el("span", { style: "width:" + (100 * share).toFixed(1) + "%" })),
                         " " + fmt(done) + " / " + (planned > 0 ? fmt(planned) : "?")]);
}

function drawSearches() {
  return api("/searches").then((body) => {
    const main = document.getElementById("main");
    const rows = body.searches.map((entry) => {
      const s = entry.summary;
      const best = num(s.best_candidate_id) > 0
        ? link("/candidate/" + s.best_candidate_id, fmt(s.best_val_loss) + " (#" + s.best_candidate_id + ")")
        : "–";
      const compute = num(s.budget_steps) > 0
        ? fmt(s.steps_committed) + " / " + fmt(s.budget_steps) + " steps"
        : fmt(s.steps_committed) + " steps";
      return el("tr", { class: "search", "data-search": s.id }, [
        cell(link("/search/" + s.id, "#" + s.id + " " + s.name)), cell(stateName(s.state)),
        cell(progressBar(num(s.done) + num(s.failed), num(s.planned))), cell(best),
        cell(fmt(s.best_connections), true), cell(compute), cell(fmt(entry.workers), true)]);
    });
    main.replaceChildren(
      el("h1", {}, "Searches"),
      rows.length ? table(["search", "state", "progress (done + failed / planned)", "best val. loss",
                           "connections", "compute spent", "workers"], rows, { id: "searches" })
                  : el("p", { id: "searches" }, "No search yet: start one with headevo launch CONFIG.toml."),
      el("p", {}, "Progress counts finished evaluations (done and failed) against the evaluations the " +
                  "search plans; compute spent is the training steps given to its candidate jobs so " +
                  "far, against [search] budget_steps when there is one; workers hold a job of the " +
                  "search now. The page refreshes itself every 3 seconds."));
    document.getElementById("live").textContent = "updated " + new Date().toLocaleTimeString();
    window.dashboard.updates++;
    window.dashboard.ready = true;
  });
}
document.addEventListener("DOMContentLoaded", () => every(3000, drawSearches));
