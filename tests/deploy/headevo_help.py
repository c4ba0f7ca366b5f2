"""The flags `headevo <subcommand> --help` lists: the truth the deploy files are checked
against, taken from the built binary (or, to test the checker itself, from saved texts)."""

import os
import re
import subprocess

SUBCOMMANDS = ("serve", "worker", "run")
# CLI11 prints "  --listen TEXT=127.0.0.1:50051   HOST:PORT ..." for an option with a value
# and "  --insecure        Allow ..." for a flag: a value's TYPE follows after one space, the
# description after two or more.
OPTION = re.compile(r"^\s+(?:-\w,)?(--[A-Za-z0-9][\w-]*)"  # -q,--quiet or --listen
                    r"(?: ([A-Z][A-Z0-9_:]*)(?:=\S*)?)?"   # TYPE=default
                    r"(?:\s{2,}|$)")


def parse_help(text):
    """{"flags": set of --names, "values": {--name: takes a value}}."""
    values = {}
    for line in text.splitlines():
        m = OPTION.match(line)
        if m:
            values[m.group(1)] = m.group(2) is not None
    return {"flags": set(values), "values": values}


def load(report, headevo=None, text_dir=None):
    """{"": top-level, "serve": ..., "worker": ..., "run": ...}; problems go to report."""
    out = {}
    for sub in ("",) + SUBCOMMANDS:
        if text_dir:
            path = os.path.join(text_dir, f"{sub or 'headevo'}.txt")
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                report.fail(path, f"cannot read help text: {e}")
                continue
            source = path
        else:
            command = [headevo] + ([sub] if sub else []) + ["--help"]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=120)
            except OSError as e:
                report.fail(headevo, f"cannot run {' '.join(command)}: {e}")
                continue
            if done.returncode != 0:
                report.fail(headevo, f"{' '.join(command)} exited {done.returncode}: "
                            f"{done.stderr.strip()[:200]}")
                continue
            text, source = done.stdout, " ".join(command)
        out[sub] = parse_help(text)
        report.ok(source, f"lists {len(out[sub]['flags'])} flags")
    return out
