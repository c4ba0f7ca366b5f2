"""The checker's own test: plant one mistake at a time in a copy of deploy/ and assert that
the checks report a new failure naming it. "New" is measured against the unmodified copy, so
the test holds whatever the binary's flags are today.

Each mutation replaces text that must exist: when a manifest changes so that a mutation no
longer applies, the self-test fails and says which one to update."""

import os
import shutil
import tempfile

from report import Report

K = "deploy/k8s/base/"
# (what, file, old text, new text, a string the new failure must contain)
MUTATIONS = [
    ("wrong coordinator port", K + "worker-deployment.yaml",
     "headevo-coordinator:50051", "headevo-coordinator:50052", "50052"),
    ("worker dials an unknown Service", K + "worker-deployment.yaml",
     "- headevo-coordinator:50051", "- headevo-coord:50051", "headevo-coord"),
    ("unknown flag", K + "coordinator-statefulset.yaml",
     "- --token-file", "- --token-fil", "--token-fil"),
    ("metrics port matches no containerPort", K + "coordinator-statefulset.yaml",
     "- 0.0.0.0:9464", "- 0.0.0.0:9465", "9465"),
    ("readiness probe on the wrong port", K + "coordinator-statefulset.yaml",
     "port: 8081\n              service: headevo.ready",
     "port: 8082\n              service: headevo.ready", "8082"),
    ("readiness asks the wrong health service", K + "worker-deployment.yaml",
     "service: headevo.ready", "service: headevo.live", "headevo.live"),
    ("token file is no Secret key", K + "coordinator-statefulset.yaml",
     "- /etc/headevo/token/token", "- /etc/headevo/token/tokn", "tokn"),
    ("database off the persistent volume", K + "coordinator-statefulset.yaml",
     "- /var/lib/headevo/headevo.db", "- /srv/headevo.db", "/srv/headevo.db"),
    ("no GPU requested", K + "worker-deployment.yaml",
     "nvidia.com/gpu: 1", "example.com/fpga: 1", "nvidia.com/gpu"),
    ("Service targetPort names no port", K + "coordinator-services.yaml",
     "targetPort: metrics", "targetPort: metric", "metric"),
    ("Service selects nothing", K + "coordinator-services.yaml",
     "app.kubernetes.io/component: coordinator\n  ports:",
     "app.kubernetes.io/component: coordinater\n  ports:", "selector"),
    ("missing resource", K + "kustomization.yaml",
     "  - worker-deployment.yaml\n", "  - worker-deployment.yaml\n  - missing.yaml\n",
     "missing.yaml"),
    ("YAML that does not parse", K + "namespace.yaml", "name: headevo", "name: [headevo",
     "parse"),
    ("overlay patch targets nothing", "deploy/k8s/overlays/gpu-cluster/kustomization.yaml",
     "name: headevo-coordinator", "name: headevo-coordinatr", "headevo-coordinatr"),
    ("overlay image names no container", "deploy/k8s/overlays/gpu-cluster/kustomization.yaml",
     "- name: headevo-cuda", "- name: headevo-gpu", "headevo-gpu"),
    ("overlay replicas name no workload", "deploy/k8s/overlays/gpu-cluster/kustomization.yaml",
     "- name: headevo-worker", "- name: headevo-workers", "headevo-workers"),
    ("overlay JSON patch path does not exist",
     "deploy/k8s/overlays/gpu-cluster/kustomization.yaml", "/spec/volumeClaimTemplates/0/",
     "/spec/volumeClaimTemplates/1/", "volumeClaimTemplates/1"),
    ("overlay secret replaces nothing", "deploy/k8s/overlays/gpu-cluster/kustomization.yaml",
     "- name: headevo-token\n", "- name: headevo-tokens\n", "headevo-tokens"),
    ("COPY from a stage that does not exist", "deploy/docker/Dockerfile",
     "COPY --from=build", "COPY --from=builder", "builder"),
    ("image runs as root", "deploy/docker/Dockerfile", "USER 10001:10001", "USER root", "root"),
    ("EXPOSE a port nothing listens on", "deploy/docker/Dockerfile.cuda", "EXPOSE 8081",
     "EXPOSE 8080", "8080"),
    ("entrypoint in shell form", "deploy/docker/Dockerfile", 'ENTRYPOINT ["headevo"]',
     "ENTRYPOINT headevo", "ENTRYPOINT"),
    ("native kernels in an image", "deploy/docker/Dockerfile", "-DHEADEVO_NATIVE_KERNELS=OFF",
     "-DHEADEVO_NATIVE_KERNELS=ON", "NATIVE_KERNELS"),
    ("CPU image not on Debian 12", "deploy/docker/Dockerfile", "FROM debian:12\n",
     "FROM ubuntu:22.04\n", "ubuntu:22.04"),
    ("pre-C++11-ABI PyTorch", "deploy/docker/Dockerfile.cuda", "ARG PYTORCH_TAG=2.7.1",
     "ARG PYTORCH_TAG=2.5.1", "2.5.1"),
    ("sbatch does not parse", "deploy/slurm/headevo-workers.sbatch",
     'if [ "$forwarded" -eq 1 ]; then', 'if [ "$forwarded" -eq 1 ]', "bash -n"),
    ("sbatch without a GPU", "deploy/slurm/headevo-workers.sbatch", "#SBATCH --gres=gpu:1\n",
     "", "--gres"),
    ("sbatch with an unknown flag", "deploy/slurm/headevo-coordinator.sbatch",
     "--checkpoints \"$checkpoints\"", "--checkpoint-dir \"$checkpoints\"", "--checkpoint-dir"),
    ("SIGTERM not forwarded", "deploy/slurm/headevo-coordinator.sbatch",
     'exec "$headevo" serve', '"$headevo" serve', "SIGTERM"),
]


def run(repo, help_flags, report, run_checks):
    with tempfile.TemporaryDirectory() as tmp:
        def fresh_copy(name):
            root = os.path.join(tmp, name)
            shutil.copytree(os.path.join(repo, "deploy"), os.path.join(root, "deploy"),
                            ignore=shutil.ignore_patterns("__pycache__"))
            return root

        def failures(root, report):
            # Messages may quote the copy's absolute path, which differs between copies.
            return [f.replace(root, "<copy>") for f in report.failures]

        base = Report(quiet=True)
        root = fresh_copy("baseline")
        run_checks(root, help_flags, base, render=False)
        known = set(failures(root, base))
        report.ok("self-test", f"baseline: {len(known)} failures already (the main test lists "
                  "them); each mutation must add one")
        for i, (what, path, old, new, expect) in enumerate(MUTATIONS):
            root = fresh_copy(f"m{i}")
            target = os.path.join(root, path)
            with open(target, encoding="utf-8") as f:
                text = f.read()
            if not report.expect(old in text, "self-test", f"{what}: mutation applies",
                                 f"{what}: {path} no longer contains {old!r}: update "
                                 "tests/deploy/self_test.py"):
                continue
            with open(target, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new, 1))
            mutated = Report(quiet=True)
            run_checks(root, help_flags, mutated, render=False)
            added = [f for f in failures(root, mutated) if f not in known]
            caught = [f for f in added if expect in f]
            report.expect(caught, "self-test", f"{what}: caught: {caught[0] if caught else ''}",
                          f"{what} ({path}: {old!r} -> {new!r}) was not caught; new failures: "
                          f"{added[:3]}")
