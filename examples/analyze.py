#!/usr/bin/python3
"""Analyse a headevo search in Python: plot its Pareto front and a candidate's lineage
(matplotlib, written as PNG files; no display needed) and print the heads that lived longest.

    /usr/bin/python3 examples/analyze.py search.db                  # a database file
    /usr/bin/python3 examples/analyze.py --coordinator HOST:50051 --token-file token
    options: --search ID (default: the newest), --candidate ID (default: the best),
             --out DIR (default: .), --top N (heads to print, default 10)

Reads through the headevo package (python/headevo; this script finds it beside itself when
it is not on PYTHONPATH). Debian: python3-pandas, python3-matplotlib (and python3-grpcio for
--coordinator).
"""

import argparse
import os
import sys

try:
    import headevo
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import headevo
from headevo import analysis

import matplotlib
matplotlib.use("Agg")  # files only: runs on a server without a display
import matplotlib.pyplot as plt
import matplotlib.ticker


def plot_pareto(candidates, front, path, title):
    done = candidates[candidates["state"] == "DONE"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(done["connections"], done["val_loss"], s=14, c="0.6", label="candidates")
    ax.step(front["connections"], front["val_loss"], where="post", c="C3", label="Pareto front")
    ax.scatter(front["connections"], front["val_loss"], s=24, c="C3")
    ax.set_xlabel("attention connections per query position")
    ax.set_ylabel("validation loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_lineage(candidates, chain, path, title):
    fig, ax = plt.subplots(figsize=(6, 4))
    done = candidates[candidates["state"] == "DONE"]
    ax.scatter(done["generation"], done["val_loss"], s=14, c="0.75", label="all candidates")
    ax.plot(chain["generation"], chain["val_loss"], "o-", c="C0", label="ancestry")
    for _, row in chain.iterrows():
        ax.annotate(str(int(row["candidate_id"])), (row["generation"], row["val_loss"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("generation")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("validation loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", help="the lineage database (headevo run --db)")
    parser.add_argument("--coordinator", help="HOST:PORT of headevo serve, instead of a file")
    parser.add_argument("--token-file", help="the coordinator's bearer token")
    parser.add_argument("--tls-ca", help="the coordinator's CA certificate (PEM)")
    parser.add_argument("--search", type=int, help="the search (default: the newest)")
    parser.add_argument("--candidate", type=int, help="whose lineage (default: the best)")
    parser.add_argument("--out", default=".", help="where the PNG files go")
    parser.add_argument("--top", type=int, default=10, help="how many long-lived heads to print")
    args = parser.parse_args()
    if bool(args.db) == bool(args.coordinator):
        parser.error("give a database file or --coordinator HOST:PORT (one of them)")
    if args.coordinator:
        token = open(args.token_file).read().strip() if args.token_file else None
        reader = headevo.connect(args.coordinator, token=token, tls_ca=args.tls_ca)
    else:
        reader = headevo.open_db(args.db)
    with reader:
        searches = reader.searches()
        if searches.empty:
            sys.exit("analyze.py: no searches there")
        search_id = args.search if args.search is not None else int(searches["search_id"].max())
        candidates = reader.candidates(search_id)
        front = analysis.pareto_front(candidates)
        if front.empty:
            sys.exit("analyze.py: search %d has no evaluated candidate yet" % search_id)
        best = front.sort_values(["val_loss", "candidate_id"]).iloc[0]
        candidate_id = args.candidate if args.candidate is not None else int(best["candidate_id"])
        chain = analysis.ancestry(candidates, candidate_id)
        lifetimes = analysis.head_lifetimes(reader.candidate_heads(search_id), candidates,
                                            reader.heads(search_id))

    os.makedirs(args.out, exist_ok=True)
    pareto_png = os.path.join(args.out, "pareto.png")
    lineage_png = os.path.join(args.out, "lineage.png")
    plot_pareto(candidates, front, pareto_png, "search %d: cost against loss" % search_id)
    plot_lineage(candidates, chain, lineage_png, "candidate %d and its ancestors" % candidate_id)

    print("search %d: %d candidates, %d on the Pareto front" % (search_id, len(candidates),
                                                                 len(front)))
    print(front[["candidate_id", "generation", "connections", "val_loss"]].to_string(index=False))
    print("\nlineage of candidate %d: %s" % (
        candidate_id, " -> ".join(str(int(c)) for c in chain["candidate_id"])))
    print("\nthe %d heads that lived longest (generations they were in, genomes that held them):"
          % min(args.top, len(lifetimes)))
    print(lifetimes.head(args.top).to_string(index=False))
    print("\nwrote %s and %s" % (pareto_png, lineage_png))


if __name__ == "__main__":
    main()
