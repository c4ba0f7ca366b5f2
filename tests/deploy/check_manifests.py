#!/usr/bin/env python3
"""Offline checks of deploy/: the Dockerfiles, the Kubernetes manifests (resolved by a small
kustomize of our own, and by `kubectl kustomize` where kubectl is installed) and the Slurm
scripts, against each other and against the flags of the built `headevo`.

Usage:
  check_manifests.py --repo DIR --headevo BIN            the checks (ctest deploy_manifests)
  check_manifests.py --repo DIR --headevo BIN --self-test
      mutates copies of deploy/ and asserts that each planted mistake is caught
      (ctest deploy_manifests_catch_errors)
  --help-text-dir DIR   read headevo.txt, serve.txt, worker.txt, run.txt instead of running
                        BIN (to try the checker against flags a binary does not have yet)

Prints one line per check ("ok", "FAIL" naming the file and the problem, or "skip" saying
why) and exits 1 if any check failed. Needs Python 3 and PyYAML (Debian: python3-yaml).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

try:
    import yaml  # noqa: F401  (imported here to fail with a clear message)
except ImportError:
    sys.exit("check_manifests.py: PyYAML is missing (Debian: apt-get install python3-yaml)")

import dockerfile_checks  # noqa: E402
import headevo_help  # noqa: E402
import kustomize_lite  # noqa: E402
import slurm_checks  # noqa: E402
from k8s_checks import HeadevoContainer, K8sChecks  # noqa: E402
from report import Report  # noqa: E402

# Which image serves which role, so its EXPOSE and USER can be compared with the pods.
DOCKERFILES = {"deploy/docker/Dockerfile": ("serve", False),
               "deploy/docker/Dockerfile.cuda": ("worker", True)}


def kustomization_dirs(k8s_dir):
    return sorted(root for root, _, files in os.walk(k8s_dir)
                  if any(n in files for n in kustomize_lite.KUSTOMIZATION_NAMES))


def role_expectations(resources, help_flags):
    """{role: {"ports": listen ports, "uid": runAsUser}} of the base's headevo containers."""
    out = {}
    for r in resources or []:
        for c in kustomize_lite.pod_containers(r.doc):
            h = HeadevoContainer(r, c, help_flags)
            if h.sub not in ("serve", "worker"):
                continue
            e = out.setdefault(h.sub, {"ports": set(), "uid": None})
            e["ports"] |= {port for _, port in h.listen_ports().values()}
            sc = {**(h.pod.get("securityContext") or {}), **(c.get("securityContext") or {})}
            e["uid"] = sc.get("runAsUser", e["uid"])
    return out


def run_checks(repo, help_flags, report, render=True):
    def rel(path):
        return os.path.relpath(path, repo)

    deploy = os.path.join(repo, "deploy")
    for root, _, files in sorted(os.walk(deploy)):
        for name in sorted(f for f in files if f.endswith((".yaml", ".yml"))):
            docs = kustomize_lite.load_yaml_docs(os.path.join(root, name), report, rel)
            if docs:
                report.ok(rel(os.path.join(root, name)), f"parses ({len(docs)} documents)")
    k8s = os.path.join(deploy, "k8s")
    built = {}
    for directory in kustomization_dirs(k8s):
        resources = kustomize_lite.Kustomizer(report, rel).build(directory)
        if resources is not None:
            built[directory] = resources
            K8sChecks(report, rel(directory), resources, help_flags).run()
    roles = role_expectations(built.get(os.path.join(k8s, "base")), help_flags)
    for path, (role, cuda) in DOCKERFILES.items():
        expect = {"role": role, "cuda": cuda, **roles.get(role, {"ports": set(), "uid": None})}
        dockerfile_checks.DockerfileChecks(report, os.path.join(repo, path), path, help_flags,
                                           expect).run()
    slurm_checks.check(report, os.path.join(deploy, "slurm"), rel, help_flags)
    if render:
        render_with_kubectl(repo, k8s, built, help_flags, report)


def kubectl_kustomize():
    """The kubectl to render with, or (None, why not)."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return None, "kubectl is not on PATH (Debian 12 packages none with kustomize)"
    try:
        version = subprocess.run([kubectl, "version", "--client"], capture_output=True,
                                 text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{kubectl} version --client failed: {e}"
    if "Kustomize" not in version:
        return None, f"{kubectl} has no built-in kustomize"
    return kubectl, version.replace("\n", "; ").strip("; ")


def render_with_kubectl(repo, k8s, built, help_flags, report):
    kubectl, why = kubectl_kustomize()
    if kubectl is None:
        report.skip("kubectl kustomize render", why + "; the checker's own kustomize "
                    "resolution above stands alone")
        return
    report.ok("kubectl", why)
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "k8s")
        shutil.copytree(k8s, copy)
        placeholders = make_generator_placeholders(copy)
        if placeholders:
            report.ok("kubectl render", f"placeholder files for secretGenerator: {placeholders}")
        for directory, own in built.items():
            label = os.path.relpath(directory, repo)
            done = subprocess.run([kubectl, "kustomize", os.path.join(copy, os.path.relpath(
                directory, k8s))], capture_output=True, text=True, timeout=120)
            if not report.expect(done.returncode == 0, label, "kubectl kustomize renders it",
                                 f"kubectl kustomize failed: {done.stderr.strip()[:300]}"):
                continue
            rendered = [kustomize_lite.Resource(d, f"`kubectl kustomize {label}` "
                                                   f"{d.get('kind')}/{d['metadata']['name']}")
                        for d in yaml.safe_load_all(done.stdout) if d]
            rendered += [r for r in own if r.external]  # deleted from both on purpose
            K8sChecks(report, f"kubectl kustomize {label}", rendered, help_flags).run()
            compare(report, label, own, rendered)


def make_generator_placeholders(k8s_copy):
    """Creates the secretGenerator files an operator would (they are never in git)."""
    made = []
    for directory in kustomization_dirs(k8s_copy):
        with open(kustomize_lite.find_kustomization(directory), encoding="utf-8") as f:
            k = yaml.safe_load(f) or {}
        for gen in (k.get("secretGenerator") or []) + (k.get("configMapGenerator") or []):
            for item in gen.get("files") or []:
                path = os.path.join(directory, item.split("=", 1)[-1])
                if not os.path.exists(path):
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w", encoding="utf-8") as out:
                        out.write("placeholder for the render check\n")
                    made.append(os.path.relpath(path, k8s_copy))
    return made


def summary(resources):
    """What both resolutions must agree on, per (kind, name)."""
    out = {}
    for r in (r for r in resources if not r.external):
        doc, spec = r.doc, r.doc.get("spec") or {}
        out[(r.kind, r.name)] = {
            "namespace": (doc.get("metadata") or {}).get("namespace"),
            "replicas": spec.get("replicas"),
            "containers": [(c.get("image"), [str(a) for a in c.get("args") or []])
                           for c in kustomize_lite.pod_containers(doc)],
            "storage": [((t.get("spec") or {}).get("resources") or {}).get("requests")
                        for t in spec.get("volumeClaimTemplates") or []],
            "keys": sorted(set(doc.get("data") or {}) | set(doc.get("stringData") or {})),
        }
    return out


def compare(report, label, own, rendered):
    mine, theirs = summary(own), summary(rendered)
    report.expect(set(mine) == set(theirs), label, "own kustomize and kubectl render the same "
                  "resources", f"resources differ: own only {sorted(set(mine) - set(theirs))},"
                  f" kubectl only {sorted(set(theirs) - set(mine))}")
    for key in sorted(set(mine) & set(theirs)):
        report.expect(mine[key] == theirs[key], label, f"{key[0]}/{key[1]} agrees with kubectl",
                      f"{key[0]}/{key[1]}: own resolution {mine[key]} != kubectl {theirs[key]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--headevo", help="the built headevo binary")
    parser.add_argument("--help-text-dir")
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--no-render", action="store_true", help="skip kubectl kustomize")
    args = parser.parse_args()
    if not args.headevo and not args.help_text_dir:
        parser.error("--headevo or --help-text-dir is required")
    repo = os.path.abspath(args.repo)
    report = Report()
    help_flags = headevo_help.load(report, args.headevo, args.help_text_dir)
    if args.self_test:
        import self_test
        self_test.run(repo, help_flags, report, run_checks)
        return report.summary("deploy_manifests_catch_errors")
    run_checks(repo, help_flags, report, render=not args.no_render)
    return report.summary("deploy_manifests")


if __name__ == "__main__":
    sys.exit(main())
