"""Checks of deploy/slurm/*.sbatch: they parse (bash -n), every headevo flag they pass
exists, workers are an array with a GPU each, and Slurm's SIGTERM reaches headevo (so a
preempted or timed-out worker hands its job back instead of letting its lease run out)."""

import glob
import os
import re
import shlex
import subprocess


def logical_lines(text):
    """Lines with backslash continuations joined."""
    return re.sub(r"\\\n", " ", text).splitlines()


def headevo_commands(text):
    """[(words before the binary, subcommand, words after)] for each line that runs headevo:
    the binary is a word `headevo`, `.../headevo`, or a variable named like it."""
    out = []
    for line in logical_lines(text):
        if line.lstrip().startswith("#"):
            continue
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            words = list(lexer)
        except ValueError:
            continue  # bash -n reports real syntax errors
        for i, word in enumerate(words[:-1]):
            binary = os.path.basename(word) == "headevo" or re.fullmatch(
                r"\$\{?headevo\w*\}?|\$\{?HEADEVO_BIN\}?", word, re.IGNORECASE)
            if binary and words[i + 1] in ("serve", "worker", "run"):
                rest = []
                for w in words[i + 2:]:
                    if w in (";", "&", "&&", "|", "||"):
                        break
                    rest.append(w)
                out.append((words[:i], words[i + 1], rest))
    return out


def sbatch_options(text):
    return [line.split(None, 1)[1].strip() for line in text.splitlines()
            if line.startswith("#SBATCH") and len(line.split(None, 1)) > 1]


def check(report, slurm_dir, rel, help_flags):
    scripts = sorted(glob.glob(os.path.join(slurm_dir, "*.sbatch")))
    report.expect(scripts, rel(slurm_dir), f"{len(scripts)} sbatch scripts", "no *.sbatch")
    roles = set()
    for path in scripts:
        where = rel(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        done = subprocess.run(["bash", "-n", path], capture_output=True, text=True)
        report.expect(done.returncode == 0, where, "bash -n passes",
                      f"bash -n: {done.stderr.strip()}")
        options = sbatch_options(text)
        commands = headevo_commands(text)
        if not report.expect(commands, where, "runs headevo", "runs no `headevo serve|worker`"):
            continue
        for before, sub, rest in commands:
            roles.add(sub)
            known = help_flags.get(sub, {}).get("flags", set())
            for word in rest:
                if word.startswith("--"):
                    flag = word.split("=")[0]
                    report.expect(flag in known, where, f"`{sub} {flag}` exists",
                                  f"`headevo {sub} --help` has no {flag}")
            signal = [o for o in options if re.fullmatch(r"--signal=B:TERM@\d+", o)]
            report.expect(signal, where, f"#SBATCH {signal[0] if signal else ''} warns "
                          "the batch shell", "needs #SBATCH --signal=B:TERM@SECONDS so "
                          "headevo stops cleanly (a worker hands its job back) before the "
                          "time limit")
            forwards = "exec" in before or re.search(r"^\s*trap\s.*\bkill\b.*\bTERM\b",
                                                     text, re.MULTILINE)
            report.expect(forwards, where, f"SIGTERM reaches `headevo {sub}`",
                          f"`headevo {sub}` is neither exec'd nor sent SIGTERM by a trap: "
                          "Slurm's signal would stop only the batch shell")
            if sub == "worker":
                report.expect(any(o.startswith("--array=") for o in options), where,
                              "workers are a job array", "worker script needs #SBATCH --array")
                report.expect(any(re.fullmatch(r"--gres=gpu(:\w+)?:\d+", o) for o in options),
                              where, "each task asks for a GPU", "worker script needs "
                              "#SBATCH --gres=gpu:1")
                device = rest[rest.index("--device") + 1] if "--device" in rest[:-1] else "cpu"
                # "${HEADEVO_DEVICE:-cuda:0}": a node without GPUs may override it; the
                # default is what a GPU job gets.
                default = re.fullmatch(r"\$\{\w+:-(.*)\}", device)
                device = default.group(1) if default else device
                report.expect(device.startswith("cuda"), where, f"--device {device}",
                              f"--device {device}: a GPU job should train on cuda:0")
    for role in ("serve", "worker"):
        report.expect(role in roles, rel(slurm_dir), f"a script runs `headevo {role}`",
                      f"no sbatch script runs `headevo {role}`")
