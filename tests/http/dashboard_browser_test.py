"""The dashboard in a real browser: headless Chromium (cdp_pipe.py) against a real `headevo
serve --http-listen` with a token, a search launched by `headevo launch` and trained by a real
`headevo worker` started only once the search page is open, so the page must update itself.

Checks, in order: a wrong token is refused at the login form and the right one lets the browser
in; the list shows the search; the search page draws every figure with its caption and redraws
them without a reload when a result arrives; clicking a candidate opens it, clicking its parent
in the lineage tree walks up; clicking a head opens its history. A screenshot of every page is
written to --out.

Exit code 0: all passed; 1: a check failed (the message says which, with the processes' logs);
77: skipped (no Chromium).
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))
from headevo_processes import Fatal, Processes  # noqa: E402
from cdp_pipe import Browser, BrowserError  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testutil"))
from tiny_config import tiny_search_config  # noqa: E402

SKIP = 77
TOKEN = "dashboard-test-token"
CONFIG = tiny_search_config(
    'name = "dashboard-test"\nseed = 5\npopulation = 4\ngenerations = 3\n', steps=10,
    extra_sections='[resampling]\nsampler = "adaptive"\narms = ["uniform", "best"]\n')
FIGURES = ["fitness", "pareto", "offsets", "samplers", "workers", "candidates"]


def check(condition, what):
    if not condition:
        raise Fatal("FAILED: " + what)
    print("ok: " + what)


def log_in(browser, base, out):
    browser.goto(base + "/")
    browser.wait_for("!!document.getElementById('token')", "the login form")
    browser.click("#token")
    browser.type_text("not-the-token")
    browser.click("#login")
    browser.wait_for("location.pathname === '/login' && document.readyState === 'complete'",
                     "the answer to the login form")
    refusal = browser.eval("(document.getElementById('login-error') || {}).textContent")
    check(refusal == "wrong token", "a wrong token is refused at the login form (%r)" % refusal)
    check(browser.eval("fetch('/api/searches').then(r => r.status)") == 401,
          "and the API still answers 401 to that browser")
    browser.screenshot(os.path.join(out, "login.png"))
    browser.click("#token")
    browser.type_text(TOKEN)
    browser.click("#login")
    browser.wait_for("location.pathname === '/' && window.dashboard && window.dashboard.ready",
                     "the searches page after logging in")


def check_search_page(browser, base, search_id, procs, address, out):
    browser.click("a[href='/search/%d']" % search_id)
    browser.wait_for("location.pathname === '/search/%d' && window.dashboard.ready" % search_id,
                     "the search page")
    for name in FIGURES:
        caption = browser.eval("(document.querySelector('#%s figcaption') || {}).textContent"
                               % name) or ""
        check(len(caption) > 80, "figure %s is drawn with a caption (%d characters)"
              % (name, len(caption)))
    drawn = browser.eval("Number(document.getElementById('fitness-plot').dataset.drawn)")
    check(drawn >= 1, "the fitness figure is drawn before any result (%s)" % drawn)
    check(browser.eval("window.dashboard.done") == 0, "no result yet")
    browser.eval("window.notReloaded = true")

    procs.start("worker", ["worker", "--coordinator", address, "--threads", "1",
                           "--name", "browser-test-worker", "--token-file", "token"])
    browser.wait_for("window.dashboard.done >= 1 && "
                     "Number(document.getElementById('fitness-plot').dataset.drawn) > %d" % drawn,
                     "the figures to update when the first result arrives", timeout_s=90)
    check(browser.eval("window.notReloaded === true"), "the page updated itself without a reload")
    browser.wait_for("fetch('/api/searches/%d').then(r => r.json())"
                     ".then(s => s.state === 'SEARCH_STATE_DONE')" % search_id,
                     "the search to finish", timeout_s=120)
    browser.wait_for("document.querySelector('#summary-table') && "
                     "document.querySelector('#summary-table').textContent.includes('done (')",
                     "the page to show the finished search", timeout_s=30)
    points = browser.eval("document.getElementById('fitness-plot').chart.data.datasets[0].data.length")
    check(points >= 2, "the fitness figure has points (%s)" % points)
    cells = browser.eval("document.querySelectorAll('#offsets-plot rect').length")
    check(cells >= 1, "the offset heat map has cells (%s)" % cells)
    arms = browser.eval("document.getElementById('samplers-plot').chart.data.labels")
    check(arms == ["uniform", "best"], "the sampler figure shows the bandit's arms (%s)" % arms)
    browser.screenshot(os.path.join(out, "search.png"))


def walk_lineage(browser, out):
    child = browser.eval(
        "(() => { for (const row of document.querySelectorAll('#candidates-table tr.candidate')) {"
        " const cells = row.querySelectorAll('td'); if (cells[6].querySelector('a')) {"
        " cells[0].querySelector('a').id = 'click-me'; return Number(cells[0].textContent.slice(1)); } }"
        " return 0; })()")
    check(child > 0, "the candidate table lists a candidate with a parent (#%d)" % child)
    browser.click("#click-me")
    browser.wait_for("location.pathname === '/candidate/%d' && window.dashboard.ready" % child,
                     "the candidate page")
    heads = browser.eval("document.querySelectorAll('#genome-table tr.head').length")
    check(heads >= 1, "the candidate page lists its genome by layer (%d heads)" % heads)
    nodes = browser.eval("document.querySelectorAll('#lineage-plot .node').length")
    check(nodes >= 2, "its lineage tree is drawn (%d nodes)" % nodes)
    parent = int(browser.eval("document.getElementById('parent-link').textContent.slice(1)"))
    browser.screenshot(os.path.join(out, "candidate.png"))
    browser.click("#lineage-plot a.node.parent circle")
    browser.wait_for("location.pathname === '/candidate/%d' && window.dashboard.ready" % parent,
                     "the parent's page after clicking it in the tree")
    title = browser.eval("document.querySelector('h1').textContent")
    check(title == "Candidate #%d" % parent, "clicking the parent in the tree walks up (%s)" % title)
    return parent


def check_head_page(browser, out):
    head = int(browser.eval("document.querySelector('a.head-link').textContent.slice(1)"))
    browser.click("a.head-link")
    browser.wait_for("location.pathname === '/head/%d' && window.dashboard.ready" % head,
                     "the head page")
    rows = browser.eval("document.querySelectorAll('#appearances tr.appearance').length")
    check(rows >= 1, "head #%d's history lists the candidates that carried it (%d)" % (head, rows))
    born = browser.eval("document.getElementById('born-link').textContent")
    check(born.startswith("candidate #"), "and where it was born (%s)" % born)
    browser.screenshot(os.path.join(out, "head.png"))


def run(args, work_dir):
    with open(os.path.join(work_dir, "token"), "w") as f:
        f.write(TOKEN + "\n")
    with open(os.path.join(work_dir, "dashboard.toml"), "w") as f:
        f.write(CONFIG)
    procs = Processes(args.headevo, work_dir)
    browser = None
    try:
        serve, address, serve_log = procs.serve(
            "serve", "search.db", ["--token-file", "token", "--http-listen", "127.0.0.1:0"])
        base = procs.wait_for_line(serve, serve_log, r"dashboard on (http://[0-9.]+:\d+)/").group(1)
        launch, launch_log = procs.start("launch", ["launch", "dashboard.toml", "--coordinator",
                                                    address, "--token-file", "token"])
        search_id = int(procs.wait_for_line(launch, launch_log, r"launched search (\d+)").group(1))
        browser = Browser(args.chromium, os.path.join(work_dir, "profile"),
                          os.path.join(work_dir, "chromium.log"))
        log_in(browser, base, args.out)
        row = browser.wait_for("(document.querySelector('tr.search[data-search=\"%d\"]') || {})"
                               ".textContent" % search_id, "the search in the list")
        check("dashboard-test" in row and "running" in row,
              "the list shows the running search (%s)" % row)
        browser.screenshot(os.path.join(args.out, "searches.png"))
        check_search_page(browser, base, search_id, procs, address, args.out)
        walk_lineage(browser, args.out)
        check_head_page(browser, args.out)
    except (Fatal, BrowserError) as error:
        print(error)
        print(procs.logs())
        return 1
    finally:
        if browser:
            browser.close()
        procs.close()
    print("ok: screenshots in " + args.out)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--headevo", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", required=True, help="where the screenshots go")
    args = parser.parse_args()
    if not os.path.exists(args.chromium):
        print("skipped: %s is not installed (Debian: chromium)" % args.chromium)
        return SKIP
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dashboard-test-") as work_dir:
        return run(args, work_dir)


if __name__ == "__main__":
    sys.exit(main())
