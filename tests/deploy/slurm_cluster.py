"""A one-node Slurm cluster in a temporary directory: munged, slurmctld and slurmd of
Debian's slurm-wlm and munge, started as root on this host for one test.

Everything the cluster writes (munge key and socket, slurm.conf, state, spool, logs) lives in
the directory it is given, and its ports are free ones picked at start, so two runs on one
machine do not meet. Client commands (sbatch, squeue, scancel, scontrol) find this cluster
through SLURM_CONF in `env()`; jobs inherit it.

What works in a container (no systemd, cgroups not delegated): proctrack/linuxproc (process
tree, no cgroup), task/none, no accounting; select/cons_tres with cores and memory counted and a
partition with OverSubscribe=FORCE:4, so jobs share cores (a 2-core CI machine runs a
coordinator and two workers at once). slurmctld and slurmd run in the foreground (-D) as children of the test.

`stop()` is safe to call at any point: it cancels every job, shuts the daemons down with
`scontrol shutdown` (a clean stop, which it reports), and kills whatever is left: the
daemons and any process still running with this cluster's SLURM_CONF (job scripts and the
slurmstepd above them, which slurmd leaves running when it stops).
"""

import os
import re
import signal
import socket
import subprocess
import time


class ClusterError(Exception):
    """The cluster could not do what was asked; the message says what and shows its logs."""


DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "scontrol", "sinfo")


def missing_programs():
    """The Slurm and munge programs this host lacks (Debian: slurm-wlm, munge)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [p for p in DAEMONS + CLIENTS + ("munge",)
            if not any(os.access(os.path.join(d, p), os.X_OK) for d in path.split(":") if d)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_memory_mb():
    with open("/proc/meminfo") as f:
        kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    return max(1024, kb // 1024 - 512)  # slurmd drains a node that claims more than it has


class OneNodeCluster:
    def __init__(self, work_dir):
        self.dir = work_dir
        self.node = socket.gethostname().split(".")[0]
        self.conf = os.path.join(work_dir, "slurm.conf")
        self.logs = os.path.join(work_dir, "log")
        self.munge_socket = os.path.join(work_dir, "munge", "munge.socket")
        self.daemons = {}  # name -> Popen

    def env(self, **extra):
        env = dict(os.environ, SLURM_CONF=self.conf)
        env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        env.update(extra)
        return env

    def start(self):
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        for sub in ("log", "munge", "state", "spool/" + self.node):
            # munged wants its socket's directories searchable by all (0755).
            os.makedirs(os.path.join(self.dir, sub), mode=0o755, exist_ok=True)
        self._start_munged()
        self._write_conf()
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.conf])
        self._spawn("slurmd", ["slurmd", "-D", "-f", self.conf, "-N", self.node])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self._check_daemons()
            state = self.run(["sinfo", "-h", "-n", self.node, "-o", "%T"], check=False).strip()
            if state == "idle":
                return
            self._check_daemons()
            time.sleep(0.2)
        raise ClusterError("node %s not idle after 30 s (sinfo: %r)" % (self.node, state))

    def _start_munged(self):
        key = os.path.join(self.dir, "munge", "munge.key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o400), "wb") as f:
            f.write(os.urandom(1024))
        munge_dir = os.path.dirname(key)
        self._spawn("munged", ["munged", "-F", "--socket=" + self.munge_socket,
                               "--key-file=" + key, "--pid-file=" + munge_dir + "/munged.pid",
                               "--seed-file=" + munge_dir + "/munged.seed",
                               "--log-file=" + self.logs + "/munged.log"])
        deadline = time.monotonic() + 10
        while not os.path.exists(self.munge_socket):
            self._check_daemons()
            if time.monotonic() > deadline:
                raise ClusterError("munged made no socket in 10 s")
            time.sleep(0.05)

    def _write_conf(self):
        d = self.dir
        lines = [
            "ClusterName=headevotest",
            "SlurmctldHost=%s(127.0.0.1)" % self.node,
            "SlurmctldPort=%d" % free_port(),
            "SlurmdPort=%d" % free_port(),
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # cred_expire: how long Slurm holds a requeued job (it must not start while its
            # old credential may still be in use): 10 s here, 120 s by default.
            "AuthInfo=socket=%s,cred_expire=10" % self.munge_socket,
            "StateSaveLocation=%s/state" % d,
            "SlurmdSpoolDir=%s/spool/%%n" % d,
            "SlurmctldPidFile=%s/slurmctld.pid" % d,
            "SlurmdPidFile=%s/slurmd.pid" % d,
            "SlurmctldLogFile=%s/slurmctld.log" % self.logs,
            "SlurmdLogFile=%s/slurmd.log" % self.logs,
            "MailProg=/bin/true",
            "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "ReturnToService=2",
            # Trust the node line below: a container's view of sockets and cores may differ
            # from slurmd's probe, and a node found "smaller" than configured is drained.
            "SlurmdParameters=config_overrides",
            "KillWait=15",
            "MinJobAge=600",
            "NodeName=%s NodeAddr=127.0.0.1 CPUs=%d RealMemory=%d State=UNKNOWN" %
            (self.node, os.cpu_count() or 1, node_memory_mb()),
            # FORCE:4: up to 4 jobs share a core (cons_tres counts cores, CR_Memory alone is
            # refused), so the coordinator and two workers run together on 2 cores.
            "PartitionName=test Nodes=%s Default=YES MaxTime=INFINITE State=UP "
            "OverSubscribe=FORCE:4" % self.node,
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _spawn(self, name, argv):
        out = open(os.path.join(self.logs, name + ".out"), "wb")
        # A session of its own: a terminal's Ctrl-C or the test's signals do not reach it.
        self.daemons[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, env=self.env(),
                                              start_new_session=True)
        out.close()

    def _check_daemons(self):
        for name, child in self.daemons.items():
            if child.poll() is not None:
                raise ClusterError("%s exited with %s" % (name, child.returncode))

    def daemon_logs(self):
        parts = []
        for name in ("munged.out", "slurmctld.out", "slurmctld.log", "slurmd.out", "slurmd.log"):
            parts.append("---- %s\n%s" % (name, tail(os.path.join(self.logs, name), 3000)))
        return "\n".join(parts)

    def run(self, argv, check=True, env=None, timeout=30):
        """A client command's stdout; ClusterError on a non-zero exit when `check`."""
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=env or self.env(), stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise ClusterError("%s: exit %d: %s" % (" ".join(argv), done.returncode,
                                                    done.stderr.strip()))
        return done.stdout

    def sbatch(self, args, env):
        return self.run(["sbatch", "--parsable"] + args, env=env).strip().split(";")[0]

    def job_field(self, job, field):
        """A field of `scontrol show job` ("JobState", "Restarts"); None once it is gone."""
        text = self.run(["scontrol", "show", "job", job], check=False)
        match = re.search(r"\b%s=(\S*)" % field, text)
        return match.group(1) if match else None

    def wait_job(self, job, states, timeout_s):
        """Waits until the job's JobState is one of `states`; returns it."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.job_field(job, "JobState")
            if state in states:
                return state
            if time.monotonic() > deadline:
                raise ClusterError("job %s is %s, not %s, after %.0f s" %
                                   (job, state, "/".join(states), timeout_s))
            time.sleep(0.2)

    def stop(self):
        """Cancels all jobs and stops the daemons; returns what did not go cleanly (a list)."""
        problems = []
        if self.daemons.get("slurmctld") and self.daemons["slurmctld"].poll() is None:
            try:
                self.run(["scancel", "--partition=test"], check=False)
                deadline = time.monotonic() + 30
                while self.run(["squeue", "-h"], check=False).strip():
                    if time.monotonic() > deadline:
                        problems.append("jobs left after scancel: " +
                                        self.run(["squeue", "-h"], check=False))
                        break
                    time.sleep(0.2)
                self.run(["scontrol", "shutdown"])
            except (ClusterError, subprocess.TimeoutExpired) as e:
                problems.append("scontrol shutdown: %s" % e)
        for name in ("slurmctld", "slurmd"):
            child = self.daemons.get(name)
            if child is None:
                continue
            try:
                code = child.wait(timeout=20)
                if code != 0:
                    problems.append("%s exited with %d" % (name, code))
            except subprocess.TimeoutExpired:
                problems.append("%s did not stop within 20 s of `scontrol shutdown`" % name)
                child.kill()
                child.wait()
        for pid in self.leftover_pids():
            problems.append("left behind: pid %d (%s)" % (pid, comm(pid)))
            kill(pid)
        munged = self.daemons.get("munged")
        if munged is not None and munged.poll() is None:
            munged.terminate()
            try:
                munged.wait(timeout=10)
            except subprocess.TimeoutExpired:
                munged.kill()
                munged.wait()
        return problems

    def leftover_pids(self):
        """Processes of this cluster's jobs still alive, and the slurmstepd above them."""
        mark = ("SLURM_CONF=" + self.conf).encode()
        found = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % entry, "rb") as f:
                    if mark not in f.read().split(b"\0"):
                        continue
            except OSError:
                continue
            pid = int(entry)
            if pid in [c.pid for c in self.daemons.values()]:
                continue
            found.add(pid)
            parent = ppid(pid)
            if parent and comm(parent).startswith("slurmstepd"):
                found.add(parent)
        return sorted(found)


def ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def tail(path, chars):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-chars:]
    except OSError:
        return "(none)"
