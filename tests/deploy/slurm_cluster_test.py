"""deploy/slurm/*.sbatch through a real Slurm scheduler (a one-node cluster, slurm_cluster.py).

As a user would: the coordinator script submitted with sbatch, the worker script as an array
of 2 (CPU only: `--gres=none`, HEADEVO_DEVICE=cpu), a small search launched with `headevo
launch`. Mid-search, one worker task gets `scancel --batch --signal=TERM` (what Slurm sends
before a time limit): its worker must hand its job back and the task must be requeued and
come back; then the coordinator is cancelled with `scancel` (a clean stop) and submitted
again, and the search must resume and finish. At the end, from the SQLite file: every
candidate evaluated and recorded once, every job done once, `PRAGMA integrity_check` ok;
and the scheduler must shut down cleanly, leaving no process behind.

Root only (slurmd starts jobs as their user, and the daemons need root here); elsewhere, or
without slurm-wlm and munge, it exits 77, which ctest reports as skipped, saying why.
"""

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slurm_cluster  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testutil"))
from tiny_config import tiny_search_config  # noqa: E402

SKIP = 77
POPULATION, GENERATIONS = 6, 3
# Long enough (a few seconds a job on one core) that a worker is caught holding one.
CONFIG = tiny_search_config(
    'name = "slurm"\nseed = 3\npopulation = %d\ngenerations = %d\n' % (POPULATION, GENERATIONS),
    steps=250)


class Failed(Exception):
    pass


def wait_for(what, predicate, timeout_s, details=lambda: ""):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failed("%s: not within %.0f s\n%s" % (what, timeout_s, details()))
        time.sleep(0.2)


def read(path):
    return slurm_cluster.tail(path, 1 << 20)


def make_secrets(home):
    """The CA, certificate (for the name headevo-coordinator) and token the scripts expect
    in ~/.headevo, as docs/deploy.md makes them."""
    d = os.path.join(home, ".headevo")
    os.makedirs(d, mode=0o700)

    def openssl(*args):
        subprocess.run(("openssl",) + args, check=True, capture_output=True, cwd=d)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=headevo-test-ca", "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=headevo-coordinator",
            "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:headevo-coordinator\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "san.ext")
    with open(os.open(os.path.join(d, "token"), os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(os.urandom(16).hex() + "\n")
    return d


class Scenario:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.cluster = slurm_cluster.OneNodeCluster(os.path.join(work, "slurm"))
        self.home = os.path.join(work, "home")
        self.db = os.path.join(work, "db", "headevo.db")
        self.port = slurm_cluster.free_port()
        self.coordinator_outputs = []

    def env(self):
        return self.cluster.env(HOME=self.home, HEADEVO_BIN=self.args.headevo,
                                HEADEVO_DB_DIR=os.path.dirname(self.db),
                                HEADEVO_PORT=str(self.port), HEADEVO_METRICS_LISTEN="",
                                HEADEVO_DEVICE="cpu", HEADEVO_WORKER_ARGS="--threads 1")

    def script(self, name):
        return os.path.join(self.args.source_dir, "deploy", "slurm", name)

    def submit_coordinator(self):
        output = os.path.join(self.work, "coordinator-%d.out" % len(self.coordinator_outputs))
        job = self.cluster.sbatch(["--nodelist=" + self.cluster.node, "--mem=512M",
                                   "--cpus-per-task=1", "--time=15", "--output=" + output,
                                   self.script("headevo-coordinator.sbatch")], self.env())
        self.coordinator_outputs.append(output)
        wait_for("coordinator job %s listening" % job,
                 lambda: "listening on" in read(output), 60,
                 lambda: read(output))
        print("ok: coordinator job %s serves (%s)" % (job, read(output).splitlines()[0]))
        return job, output

    def client(self, *args):
        d = os.path.join(self.home, ".headevo")
        with open(os.path.join(d, "coordinator")) as f:
            address = f.read().strip()
        done = subprocess.run([self.args.headevo] + list(args) + [
            "--coordinator", address, "--tls-ca", d + "/ca.pem",
            "--tls-server-name", "headevo-coordinator", "--token-file", d + "/token"],
            capture_output=True, text=True, timeout=60, env=self.env())
        if done.returncode != 0:
            raise Failed("headevo %s: exit %d\n%s%s" % (" ".join(args), done.returncode,
                                                       done.stdout, done.stderr))
        return done.stdout

    def query(self, sql, *params):
        with sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def done_jobs(self):
        return self.query("SELECT COUNT(*) FROM jobs WHERE state = 'DONE'")[0][0]

    def search_state(self):
        rows = self.query("SELECT state FROM searches WHERE id = 1")
        return rows[0][0] if rows else None

    def run(self):
        self.cluster.start()
        print("ok: one-node cluster up (node %s, %s)" % (self.cluster.node, self.cluster.conf))
        make_secrets(self.home)
        coordinator, _ = self.submit_coordinator()

        array = self.cluster.sbatch(
            ["--array=0-1", "--gres=none", "--mem=1G", "--cpus-per-task=1", "--time=15",
             "--output=" + os.path.join(self.work, "worker-%A_%a.out"),
             self.script("headevo-workers.sbatch")], self.env())
        worker_log = lambda task: os.path.join(self.work, "worker-%s_%d.out" % (array, task))
        config = os.path.join(self.work, "slurm.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        print("ok: workers %s_[0-1] submitted; %s" % (array, self.client("launch", config)
                                                       .strip().splitlines()[-1]))

        # One worker task is warned as before a time limit while it trains a candidate.
        def leased_by_task_1():
            return self.query("SELECT jobs.id FROM jobs JOIN workers ON workers.id = "
                              "jobs.worker_id WHERE jobs.state = 'LEASED' AND workers.name"
                              " = ?", "slurm-%s-1" % array)
        held = wait_for("worker task 1 holding a job", leased_by_task_1, 90,
                        lambda: read(worker_log(1)))[0][0]
        task = "%s_1" % array
        self.cluster.run(["scancel", "--batch", "--signal=TERM", task])
        wait_for("task %s requeued" % task,
                 lambda: self.cluster.job_field(task, "Restarts") == "1", 60,
                 lambda: read(worker_log(1)))
        log = read(worker_log(1))
        if not re.search(r"job\(s\): .* [1-9]\d* handed back", log):
            raise Failed("worker task 1 handed no job back:\n" + log)
        print("ok: task %s handed its job back and was requeued" % task)

        # The coordinator is cancelled mid-search (jobs done, others running) and submitted again.
        wait_for("4 jobs done", lambda: self.done_jobs() >= 4, 90,
                 lambda: read(worker_log(0)) + read(worker_log(1)))
        before = self.done_jobs()
        self.cluster.run(["scancel", coordinator])
        self.cluster.wait_job(coordinator, ("CANCELLED",), 60)
        if "stopped cleanly" not in read(self.coordinator_outputs[-1]):
            raise Failed("the cancelled coordinator did not stop cleanly:\n" +
                         read(self.coordinator_outputs[-1]))
        if self.search_state() != "RUNNING":
            raise Failed("search is %s after %d jobs: cancel it earlier (a faster machine?)" %
                         (self.search_state(), before))
        print("ok: coordinator %s stopped cleanly after %d jobs" % (coordinator, before))
        coordinator, _ = self.submit_coordinator()
        wait_for("search done", lambda: self.search_state() == "DONE", 150,
                 lambda: "\n".join(read(p) for p in self.coordinator_outputs +
                                   [worker_log(0), worker_log(1)]))
        print("ok: search finished, %d jobs after the restart" % (self.done_jobs() - before))
        # Slurm starts the requeued task again once its hold (cred_expire + 1 s) is over.
        wait_for("requeued task %s registered again" % task,
                 lambda: read(worker_log(1)).count("registered as worker") == 2, 60,
                 lambda: read(worker_log(1)))
        print("ok: task %s came back as a new worker" % task)
        self.check_database(held)
        # Workers first, so none is left retrying a coordinator that is gone.
        self.cluster.run(["scancel", array])
        for t in (0, 1):
            self.cluster.wait_job("%s_%d" % (array, t), ("CANCELLED", "COMPLETED"), 60)
        self.cluster.run(["scancel", coordinator])
        for t in (0, 1):
            if not re.search(r"headevo worker: \d+ job\(s\)", read(worker_log(t))):
                raise Failed("worker task %d did not stop cleanly:\n%s" % (t, read(worker_log(t))))

    def check_database(self, handed_back_job):
        ok = self.query("PRAGMA integrity_check")
        if ok != [("ok",)]:
            raise Failed("integrity_check: %s" % ok)
        candidates = self.query("SELECT id, state, val_loss FROM candidates WHERE search_id = 1")
        expected = POPULATION * (GENERATIONS + 1)
        if len(candidates) != expected:
            raise Failed("%d candidates, expected %d" % (len(candidates), expected))
        unfinished = [c for c in candidates if c[1] != "DONE" or c[2] is None]
        if unfinished:
            raise Failed("candidates not done: %s" % unfinished)
        jobs = self.query("SELECT candidate_id, reference_id, state FROM jobs WHERE search_id = 1")
        per_candidate = {}
        for candidate, _, state in jobs:
            if state != "DONE":
                raise Failed("a job is %s: %s" % (state, jobs))
            if candidate is not None:
                per_candidate[candidate] = per_candidate.get(candidate, 0) + 1
        if sorted(per_candidate) != sorted(c[0] for c in candidates) or \
                set(per_candidate.values()) != {1}:
            raise Failed("not one job per candidate: %s" % per_candidate)
        finished = [int(re.match(r"candidate (\d+) ", m).group(1)) for (m,) in self.query(
            "SELECT message FROM events WHERE search_id = 1 AND kind = 'candidate_finished'")]
        if sorted(finished) != sorted(c[0] for c in candidates):
            raise Failed("candidate_finished events %s, not one per candidate" % sorted(finished))
        # A hand-back gives its attempt back (max_attempts + 1); a lease that ran out would not.
        limits = dict(self.query("SELECT id, max_attempts FROM jobs WHERE search_id = 1"))
        if limits[handed_back_job] <= min(limits.values()):
            raise Failed("job %d, handed back by task 1, got no attempt back: %s" %
                         (handed_back_job, limits))
        print("ok: %d candidates, each evaluated and recorded once (%d jobs, one "
              "candidate_finished each); integrity_check ok" % (len(candidates), len(jobs)))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--headevo", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (it starts slurmctld, slurmd and munged on this host)")
        return SKIP
    missing = slurm_cluster.missing_programs() + [p for p in ("openssl",) if not shutil.which(p)]
    if missing:
        print("SKIP: missing %s (Debian: slurm-wlm, munge, openssl; deploy/setup.sh installs "
              "them)" % ", ".join(missing))
        return SKIP
    # Short: munged's socket path must fit in a sockaddr_un (108 bytes).
    work = tempfile.mkdtemp(prefix="headevo-slurm-", dir="/tmp")
    os.chmod(work, 0o755)  # munged wants every directory above its socket searchable
    scenario = Scenario(args, work)
    failure = None
    try:
        scenario.run()
    except (Failed, slurm_cluster.ClusterError, subprocess.SubprocessError, OSError) as e:
        failure = str(e)
    finally:
        problems = scenario.cluster.stop()
    if problems:
        failure = (failure + "\n" if failure else "") + "scheduler shutdown: " + \
            "; ".join(problems)
    elif not failure:
        print("ok: all jobs ended, slurmctld and slurmd shut down cleanly, nothing left")
    if failure:
        print("FAILED: %s\n(work directory kept: %s)\n%s" % (failure, work,
                                                             scenario.cluster.daemon_logs()))
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
