"""Checks one resolved set of Kubernetes resources (a kustomization, built by kustomize_lite or
rendered by kubectl) against itself and against headevo's real flags: the things that make a
pod start but not work (a port that nothing listens on, a probe on the wrong port, a token
file that no Secret key provides, a worker dialling a Service port that leads nowhere)."""

import posixpath

from kustomize_lite import pod_containers

READY_SERVICE = "headevo.ready"  # the grpc.health.v1 service --health-listen answers "ready" on
# SIGTERM makes a worker hand its job back with one RPC that may retry while the coordinator
# restarts; the Kubernetes default of 30 s is too tight for that.
MIN_WORKER_GRACE_S = 60
LISTEN_FLAGS = ("--listen", "--metrics-listen", "--health-listen")
FILE_FLAGS = ("--token-file", "--tls-cert", "--tls-key", "--tls-ca", "--client-ca")
WRITTEN_FLAGS = ("--db", "--checkpoints")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod"}


def parse_flags(args, takes_value):
    """[(flag, value or None)] from an argument list. takes_value maps each flag the help
    lists to whether it takes a value; an unknown flag (reported elsewhere) is assumed to take
    one unless the next argument is a flag."""
    out, i = [], 0
    while i < len(args):
        arg = str(args[i])
        if arg.startswith("--"):
            flag, eq, value = arg.partition("=")
            if not eq:
                nxt = str(args[i + 1]) if i + 1 < len(args) else None
                takes = takes_value.get(flag, nxt is not None and not nxt.startswith("--"))
                value = nxt if takes else None
                i += 1 if takes else 0
            out.append((flag, value))
        i += 1
    return out


def listen_port(value):
    """'0.0.0.0:9464' -> ('0.0.0.0', 9464); None when it is not HOST:PORT."""
    host, _, port = (value or "").rpartition(":")
    return (host.strip("[]"), int(port)) if port.isdigit() else (None, None)


class HeadevoContainer:
    """A container whose args start with a headevo subcommand, with its pod around it."""

    def __init__(self, resource, container, help_flags):
        self.r = resource
        self.c = container
        doc = resource.doc
        spec = doc.get("spec") or {}
        template = spec.get("template") or {}
        self.pod = template.get("spec") or (spec if doc.get("kind") == "Pod" else {})
        self.pod_meta = template.get("metadata") or doc.get("metadata") or {}
        args = [str(a) for a in container.get("args") or []]
        self.sub = args[0] if args else None
        self.flags = parse_flags(args[1:], help_flags.get(self.sub, {}).get("values", {}))
        self.values = {f: v for f, v in self.flags}

    def container_ports(self):
        return {p.get("containerPort"): p.get("name") for p in self.c.get("ports") or []}

    def resolve_port(self, port):
        """A probe's or Service's port (number or name) as a number, or None."""
        if isinstance(port, int):
            return port
        for number, name in self.container_ports().items():
            if name == port:
                return number
        return int(port) if str(port).isdigit() else None

    def listen_ports(self):
        return {f: listen_port(self.values[f]) for f in LISTEN_FLAGS if self.values.get(f)}

    def mount_for(self, path):
        """(volumeMount, volume, key-within-volume) holding `path`, or (None, None, None)."""
        best = None
        for m in self.c.get("volumeMounts") or []:
            mp = m.get("mountPath", "").rstrip("/")
            if m.get("subPath"):
                if path == mp:
                    best = (m, m["subPath"])
            elif path.startswith(mp + "/") and (best is None or len(mp) > len(
                    best[0]["mountPath"].rstrip("/"))):
                best = (m, posixpath.relpath(path, mp))
        if best is None:
            return None, None, None
        mount, key = best
        volumes = {v.get("name"): v for v in self.pod.get("volumes") or []}
        claims = {t["metadata"]["name"]: {"name": t["metadata"]["name"],
                                          "persistentVolumeClaim": {"claimName": "(template)"}}
                  for t in (self.r.doc.get("spec") or {}).get("volumeClaimTemplates") or []}
        return mount, volumes.get(mount.get("name")) or claims.get(mount.get("name")), key


class K8sChecks:
    def __init__(self, report, label, resources, help_flags):
        self.report = report
        self.label = label
        self.resources = resources
        self.help = help_flags
        self.containers = [HeadevoContainer(r, c, help_flags) for r in resources
                           if r.kind in WORKLOADS for c in pod_containers(r.doc)
                           if (c.get("args") or [None])[0] in ("serve", "worker", "run")]

    def where(self, r):
        """The file (and, from an overlay, which kustomization built it)."""
        return r.path if self.label in r.path else f"{r.path} [{self.label}]"

    def run(self):
        rep = self.report
        serve = [h for h in self.containers if h.sub == "serve"]
        workers = [h for h in self.containers if h.sub == "worker"]
        rep.expect(serve and workers, self.label, "has a `serve` and a `worker` container",
                   "expected a container running `headevo serve` and one running `worker`")
        for h in self.containers:
            self.check_container(h)
        for h in serve:
            self.check_coordinator(h)
        for h in workers:
            self.check_worker(h, serve)
        self.check_services()

    def check_container(self, h):
        rep, where = self.report, self.where(h.r)
        known = self.help.get(h.sub, {}).get("flags", set())
        for flag, _ in h.flags:
            rep.expect(flag in known, where, f"`{h.sub} {flag}` exists",
                       f"`headevo {h.sub} --help` has no {flag}")
        command = h.c.get("command")
        rep.expect(not command or posixpath.basename(str(command[0])) == "headevo", where,
                   "container runs the image's headevo entrypoint (SIGTERM reaches headevo)",
                   f"command {command} runs something other than headevo: SIGTERM would not "
                   "reach it (no clean stop, no hand-back)")
        ports = h.container_ports()
        listens = h.listen_ports()
        for flag, (host, port) in listens.items():
            rep.expect(port in ports, where, f"{flag} port {port} is a containerPort",
                       f"{flag} {h.values[flag]} but no containerPort {port}")
            rep.expect(host not in ("127.0.0.1", "localhost", "::1"), where,
                       f"{flag} listens beyond loopback",
                       f"{flag} {h.values[flag]} listens on loopback: unreachable from "
                       "other pods and the kubelet")
        listened = {p for _, p in listens.values()}
        for port in ports:
            rep.expect(port in listened, where, f"containerPort {port} has a --*listen flag",
                       f"containerPort {port} matches no --listen/--metrics-listen/"
                       "--health-listen flag")
        self.check_probes(h)
        self.check_files(h)
        sc = {**(h.pod.get("securityContext") or {}), **(h.c.get("securityContext") or {})}
        rep.expect(sc.get("runAsNonRoot") and sc.get("runAsUser", 1) != 0, where,
                   "runs as non-root", "securityContext must set runAsNonRoot (and no uid 0)")

    def check_probes(self, h):
        rep, where = self.report, self.where(h.r)
        health = listen_port(h.values.get("--health-listen"))[1]
        for kind, service in (("readinessProbe", READY_SERVICE), ("livenessProbe", ""),
                              ("startupProbe", "")):
            probe = h.c.get(kind)
            if probe is None and kind == "startupProbe":
                continue
            grpc = (probe or {}).get("grpc")
            if not rep.expect(grpc, where, f"{kind} is a gRPC health probe",
                              f"{kind} must be a grpc probe on --health-listen's port"):
                continue
            port = h.resolve_port(grpc.get("port"))
            rep.expect(health is not None and port == health, where,
                       f"{kind} port {port} is --health-listen's",
                       f"{kind} probes port {grpc.get('port')} but --health-listen is "
                       f"{h.values.get('--health-listen')}")
            got = grpc.get("service") or ""
            rep.expect(got == service, where, f"{kind} asks service {service!r}",
                       f"{kind} asks grpc service {got!r}, headevo answers {service!r} there")

    def secret_keys(self, name):
        """The Secret's keys; None if there is no such Secret; "external" if the
        kustomization leaves it to be made outside kustomize."""
        for r in self.resources:
            if r.kind == "Secret" and r.name == name:
                if r.external:
                    return "external"
                return set(r.doc.get("data") or {}) | set(r.doc.get("stringData") or {})
        return None

    def check_files(self, h):
        rep, where = self.report, self.where(h.r)
        for flag in FILE_FLAGS:
            path = h.values.get(flag)
            if not path:
                continue
            mount, volume, key = h.mount_for(path)
            secret = (volume or {}).get("secret")
            if not rep.expect(secret, where, f"{flag} {path} comes from a Secret volume",
                              f"{flag} {path} is not under a Secret volume mount"):
                continue
            items = secret.get("items")
            if items is not None:
                by_path = {i.get("path"): i.get("key") for i in items}
                if not rep.expect(key in by_path, where, f"{flag}: items maps {key}",
                                  f"{flag} {path}: the volume's items have no path {key}"):
                    continue
                key = by_path[key]
            keys = self.secret_keys(secret.get("secretName"))
            if keys == "external":
                rep.skip(f"{where} {flag}", f"Secret {secret.get('secretName')} is made outside "
                         f"kustomize: make sure it has key {key}")
            elif rep.expect(keys is not None, where, f"Secret {secret.get('secretName')} exists",
                          f"{flag} reads Secret {secret.get('secretName')}, which is not "
                          "among the resources"):
                rep.expect(key in keys, where,
                           f"{flag} {path} is key {key} of Secret {secret.get('secretName')}",
                           f"{flag} {path}: Secret {secret.get('secretName')} has no key "
                           f"{key} (it has {sorted(keys)})")
        for flag in WRITTEN_FLAGS:
            path = h.values.get(flag)
            if path:
                mount, volume, _ = h.mount_for(path)
                writable = mount is not None and not mount.get("readOnly") and volume and (
                    "persistentVolumeClaim" in volume or "emptyDir" in volume)
                rep.expect(writable, where, f"{flag} {path} is on a writable volume",
                           f"{flag} {path} is not under a writable volume mount")

    def check_coordinator(self, h):
        rep, where = self.report, self.where(h.r)
        rep.expect(h.r.kind == "StatefulSet" and (h.r.doc["spec"].get("replicas", 1) == 1),
                   where, "the coordinator is a 1-replica StatefulSet (one database writer)",
                   f"the coordinator runs in a {h.r.kind} with replicas "
                   f"{h.r.doc['spec'].get('replicas')}: SQLite needs one writer on its own volume")
        for flag in WRITTEN_FLAGS:
            volume = h.mount_for(h.values.get(flag) or "")[1] or {}
            rep.expect("persistentVolumeClaim" in volume, where, f"{flag} is on a persistent "
                       "volume", f"{flag} {h.values.get(flag)} is not on a persistent volume: "
                       "the lineage would vanish with the pod")
        metrics = listen_port(h.values.get("--metrics-listen"))[1]
        notes = h.pod_meta.get("annotations") or {}
        rep.expect(metrics is not None and notes.get("prometheus.io/scrape") == "true"
                   and notes.get("prometheus.io/port") == str(metrics)
                   and notes.get("prometheus.io/path", "/metrics") == "/metrics", where,
                   f"prometheus.io annotations scrape --metrics-listen's port {metrics}",
                   f"prometheus.io/scrape, /port, /path annotations "
                   f"({notes.get('prometheus.io/port')}) must match --metrics-listen "
                   f"{h.values.get('--metrics-listen')}")

    def check_worker(self, h, coordinators):
        rep, where = self.report, self.where(h.r)
        device = h.values.get("--device") or "cpu"
        gpus = ((h.c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu")
        if device.startswith("cuda"):
            rep.expect(gpus and int(gpus) >= 1, where, f"--device {device} has an "
                       f"nvidia.com/gpu limit ({gpus})", f"--device {device} but no "
                       "resources.limits nvidia.com/gpu: the pod would get no GPU")
        grace = h.pod.get("terminationGracePeriodSeconds", 30)
        rep.expect(grace >= MIN_WORKER_GRACE_S, where, f"terminationGracePeriodSeconds {grace} "
                   "leaves time for the hand-back", f"terminationGracePeriodSeconds {grace} < "
                   f"{MIN_WORKER_GRACE_S}: SIGKILL may cut the job hand-back short")
        self.check_coordinator_address(h, coordinators)

    def check_coordinator_address(self, h, coordinators):
        rep, where = self.report, self.where(h.r)
        address = h.values.get("--coordinator") or ""
        host, port = listen_port(address)
        if not rep.expect(port is not None, where, f"--coordinator {address} is HOST:PORT",
                          f"--coordinator {address!r} is not HOST:PORT"):
            return
        name, _, rest = host.partition(".")
        namespace = rest.split(".")[0] if rest else h.r.doc.get("metadata", {}).get("namespace")
        services = [r for r in self.resources if r.kind == "Service" and r.name == name and (
            namespace is None or r.doc["metadata"].get("namespace") in (None, namespace))]
        if not rep.expect(services, where, f"--coordinator host {host} is Service {name}",
                          f"--coordinator {address}: no Service {name} in namespace "
                          f"{namespace}"):
            return
        svc = services[0]
        svc_ports = {p.get("port"): p for p in svc.doc["spec"].get("ports") or []}
        if not rep.expect(port in svc_ports, where, f"Service {name} exposes port {port}",
                          f"--coordinator {address}: Service {name} has no port {port} "
                          f"(it has {sorted(svc_ports)})"):
            return
        target = svc_ports[port].get("targetPort", port)
        backends = [c for c in coordinators if self.selects(svc, c)]
        if not rep.expect(backends, where, f"Service {name} selects the coordinator",
                          f"--coordinator {address}: Service {name}'s selector matches no "
                          "`serve` pod"):
            return
        for c in backends:
            listen = listen_port(c.values.get("--listen"))[1]
            rep.expect(c.resolve_port(target) == listen, where,
                       f"{name}:{port} -> targetPort {target} -> --listen port {listen}",
                       f"--coordinator {address}: Service port {port} leads to targetPort "
                       f"{target}, but the coordinator's --listen is {c.values.get('--listen')}")

    @staticmethod
    def selects(service, h):
        selector = service.doc.get("spec", {}).get("selector") or {}
        labels = h.pod_meta.get("labels") or {}
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    def check_services(self):
        rep = self.report
        for svc in (r for r in self.resources if r.kind == "Service"):
            where = self.where(svc)
            backends = [h for h in self.containers if self.selects(svc, h)]
            if not rep.expect(backends, where, f"Service {svc.name}'s selector matches pods",
                              f"Service {svc.name}'s selector "
                              f"{svc.doc['spec'].get('selector')} matches no headevo pod"):
                continue
            for p in svc.doc["spec"].get("ports") or []:
                target = p.get("targetPort", p.get("port"))
                for h in backends:
                    number = h.resolve_port(target)
                    listened = {port for _, port in h.listen_ports().values()}
                    rep.expect(number in listened, where, f"port {p.get('name')} "
                               f"{p.get('port')} -> {target} -> a --*listen port ({number})",
                               f"port {p.get('port')} targetPort {target} is not a port "
                               f"`{h.sub}` listens on ({sorted(listened)})")
