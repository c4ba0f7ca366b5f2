// What every page of the dashboard shares: the JSON API, small DOM helpers, figures with
// captions, and `window.dashboard`, which says when a page has drawn (the browser test reads it).
"use strict";
window.dashboard = { ready: false, updates: 0, error: null };

function api(path) {
  return fetch("/api" + path, { credentials: "same-origin", cache: "no-store" }).then((r) =>
    r.json().then((body) => {
      if (!r.ok) throw new Error(body.error || r.statusText);
      return body;
    }));
}

// el("td", {class: "num"}, "3") or el("tr", {}, [el(...), ...]).
function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of [].concat(children === undefined ? [] : children)) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
function link(href, text, attrs) { return el("a", Object.assign({ href: href }, attrs || {}), text); }

// The proto JSON mapping sends int64 as strings and NaN as "NaN".
function num(x) { return x === null || x === undefined ? NaN : Number(x); }
function fmt(x, digits) {
  const v = num(x);
  if (!isFinite(v)) return "–";
  return Number.isInteger(v) ? v.toLocaleString("en") : v.toFixed(digits === undefined ? 4 : digits);
}
function stateName(s) { return String(s || "").replace(/^(SEARCH|CANDIDATE)_STATE_/, "").toLowerCase(); }
function samplerName(s) { return String(s || "").replace(/^SAMPLER_/, "").toLowerCase(); }
function originName(s) { return String(s || "").replace(/^HEAD_ORIGIN_/, "").toLowerCase(); }

function table(headers, rows, attrs) {
  const head = el("tr", {}, headers.map((h) => el("th", { class: /^#|count|loss|conn|pulls|reward|steps|k$/.test(h) ? "num" : "" }, h)));
  return el("table", attrs || {}, [el("thead", {}, head), el("tbody", {}, rows)]);
}
function cell(value, numeric) { return el("td", numeric ? { class: "num" } : {}, value); }

// A figure: a title, a plotting area and a caption that says how to read it.
function figure(id, title, caption, tall) {
  const plot = el("div", { class: "plot", id: id + "-plot" });
  const fig = el("figure", { id: id, class: tall ? "tall" : "" },
                 [el("h2", {}, title), plot, el("figcaption", {}, caption)]);
  return { fig: fig, plot: plot };
}

// Draws (or redraws) a Chart.js chart in `plot`, keeping one chart per plot.
function chart(plot, config) {
  if (plot.chart) plot.chart.destroy();
  let canvas = plot.querySelector("canvas");
  if (!canvas) { canvas = el("canvas"); plot.append(canvas); }
  config.options = Object.assign({ animation: false, maintainAspectRatio: false }, config.options || {});
  plot.chart = new Chart(canvas, config);
  plot.setAttribute("data-drawn", String(Number(plot.getAttribute("data-drawn") || 0) + 1));
  return plot.chart;
}

// One error line at the top of the page, replaced by the next error (a poll may fail again).
function showError(error) {
  window.dashboard.error = String(error.message || error);
  const old = document.getElementById("error");
  if (old) old.remove();
  document.getElementById("main").prepend(el("p", { class: "error", id: "error" }, window.dashboard.error));
}

function pageId() { return Number(location.pathname.split("/").pop()); }

// Runs `draw` now and again every `ms` (a page stays live without a reload), or ten times as
// long as `draw` took, when that is longer: a large search's reads take the coordinator's lock,
// which its workers need too.
function every(ms, draw) {
  const tick = () => {
    const start = performance.now();
    draw().catch(showError).finally(() => setTimeout(tick, Math.max(ms, 10 * (performance.now() - start))));
  };
  tick();
}
