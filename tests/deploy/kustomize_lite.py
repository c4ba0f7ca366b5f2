"""A small kustomize, enough to resolve deploy/k8s without kubectl (Debian has no recent one).

It understands the fields deploy/k8s uses (resources, namespace, images, replicas, patches,
the legacy patchesStrategicMerge/patchesJson6902, secretGenerator, configMapGenerator) and
reports, instead of guessing, any other field: a manifest change that needs more kustomize
must extend this file, or the check would silently pass over it. Where kubectl is installed,
check_manifests.py compares this resolution with `kubectl kustomize`.
"""

import copy
import os
import re

import yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Fields that change nothing the checks look at (labels are added alike to selectors and pods).
NEUTRAL_FIELDS = {"apiVersion", "kind", "commonLabels", "labels", "commonAnnotations",
                  "generatorOptions", "buildMetadata"}
HANDLED_FIELDS = {"resources", "bases", "namespace", "images", "replicas", "patches",
                  "patchesStrategicMerge", "patchesJson6902", "secretGenerator",
                  "configMapGenerator"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition", "PriorityClass"}
SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}


class Resource:
    """One manifest document and the file it came from (for error messages)."""

    def __init__(self, doc, path):
        self.doc = doc
        self.path = path
        # A Secret an overlay deletes with `$patch: delete` because it is made outside
        # kustomize (kubectl create secret, cert-manager): referenced, but its keys unknown.
        self.external = False

    @property
    def kind(self):
        return self.doc.get("kind")

    @property
    def name(self):
        return (self.doc.get("metadata") or {}).get("name")


def find_kustomization(directory):
    for name in KUSTOMIZATION_NAMES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def load_yaml_docs(path, report, rel):
    """The non-empty documents of a YAML file; a parse error is reported and gives []."""
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        report.fail(rel(path), f"does not parse as YAML: {e}".replace("\n", " "))
        return []


def pod_containers(doc):
    """The containers (and init containers) of a workload or pod, as (list name, dict)."""
    spec = doc.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or (spec if doc.get("kind") == "Pod" else {})
    return [c for key in ("initContainers", "containers") for c in (pod.get(key) or [])]


def split_image(image):
    """'reg/x:1' -> ('reg/x', ':1'); digests kept as '@sha256:...'."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    m = re.match(r"^(.*?)(:[^:/]+)?$", image)
    return m.group(1), m.group(2) or ""


def json_pointer_parts(pointer):
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def apply_json6902(doc, ops):
    """Applies add/replace/remove/test ops in place; returns an error string or None."""
    for op in ops:
        parts = json_pointer_parts(op.get("path", ""))
        if not parts:
            return f"op {op.get('op')} has no path"
        node = doc
        for part in parts[:-1]:
            try:
                node = node[int(part)] if isinstance(node, list) else (node or {}).get(part)
            except (IndexError, ValueError):
                node = None
            if node is None:
                return f"path {op['path']} does not exist"
        last = parts[-1]
        exists = (isinstance(node, dict) and last in node) or (
            isinstance(node, list) and last.isdigit() and int(last) < len(node))
        kind = op.get("op")
        if kind in ("replace", "remove", "test") and not exists:
            return f"{kind} {op['path']}: the path does not exist"
        if kind in ("add", "replace"):
            if isinstance(node, list):
                index = len(node) if last == "-" else int(last)
                node[index:index + (kind == "replace")] = [copy.deepcopy(op.get("value"))]
            else:
                node[last] = copy.deepcopy(op.get("value"))
        elif kind == "remove":
            del node[int(last) if isinstance(node, list) else last]
        elif kind == "test":
            current = node[int(last)] if isinstance(node, list) else node[last]
            if current != op.get("value"):
                return f"test {op['path']} failed"
        else:
            return f"op {kind} is not supported here"
    return None


def strategic_merge(base, patch):
    """A strategic merge as far as manifests need it: maps recursively, lists of named maps
    by name (containers, ports, volumes, env), other lists replaced; None deletes."""
    if isinstance(base, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            if value is None:
                base.pop(key, None)
            elif key in base:
                base[key] = strategic_merge(base[key], value)
            else:
                base[key] = copy.deepcopy(value)
        return base
    if (isinstance(base, list) and isinstance(patch, list) and patch
            and all(isinstance(x, dict) and "name" in x for x in base + patch)):
        by_name = {x["name"]: x for x in base}
        for item in patch:
            if item["name"] in by_name:
                strategic_merge(by_name[item["name"]], item)
            else:
                base.append(copy.deepcopy(item))
        return base
    return copy.deepcopy(patch)


class Kustomizer:
    """Resolves kustomization directories; every problem goes to `report`."""

    def __init__(self, report, rel):
        self.report = report
        self.rel = rel  # path -> the repository-relative name used in messages

    def build(self, directory):
        """The resources of the kustomization in `directory`, transformed, or None if absent."""
        kpath = find_kustomization(directory)
        if kpath is None:
            self.report.fail(self.rel(directory), "no kustomization.yaml")
            return None
        where = self.rel(kpath)
        docs = load_yaml_docs(kpath, self.report, self.rel)
        k = docs[0] if docs else {}
        unknown = set(k) - NEUTRAL_FIELDS - HANDLED_FIELDS
        if unknown:
            self.report.fail(where, f"fields {sorted(unknown)} are not understood by "
                             "tests/deploy/kustomize_lite.py: extend it")
        resources = []
        for entry in (k.get("resources") or []) + (k.get("bases") or []):
            resources.extend(self._load_entry(directory, entry, where))
        self._generators(directory, k, resources, where)
        self._patches(directory, k, resources, where)
        self._images(k, resources, where)
        self._replicas(k, resources, where)
        if k.get("namespace"):
            for r in resources:
                if r.kind not in CLUSTER_SCOPED:
                    r.doc.setdefault("metadata", {})["namespace"] = k["namespace"]
        return resources

    def _load_entry(self, directory, entry, where):
        path = os.path.normpath(os.path.join(directory, entry))
        if re.match(r"^[a-z]+://|^git@|github\.com/", entry):
            self.report.fail(where, f"resources entry {entry} is remote: not checkable offline")
            return []
        if os.path.isdir(path):
            if not find_kustomization(path):
                self.report.fail(where, f"resources entry {entry} is a directory without "
                                 "kustomization.yaml")
                return []
            self.report.ok(where, f"resources entry {entry} is a kustomization")
            return self.build(path) or []
        if not os.path.isfile(path):
            self.report.fail(where, f"resources entry {entry} does not exist")
            return []
        docs = load_yaml_docs(path, self.report, self.rel)
        bad = [d for d in docs if not isinstance(d, dict) or not d.get("kind")
               or not (d.get("metadata") or {}).get("name")]
        if bad:
            self.report.fail(self.rel(path), "a document without kind or metadata.name")
        self.report.ok(where, f"resources entry {entry} exists ({len(docs)} documents)")
        return [Resource(copy.deepcopy(d), self.rel(path)) for d in docs if d not in bad]

    def _find(self, resources, kind, name):
        pattern = re.compile(f"^(?:{name})$") if name else None
        return [r for r in resources if (not kind or r.kind == kind)
                and (pattern is None or pattern.match(r.name or ""))]

    def _generators(self, directory, k, resources, where):
        for field, kind in (("secretGenerator", "Secret"), ("configMapGenerator", "ConfigMap")):
            for gen in k.get(field) or []:
                keys = {}
                for item in gen.get("literals") or []:
                    key, _, value = item.partition("=")
                    keys[key] = value
                for item in gen.get("files") or []:
                    key, _, source = item.partition("=") if "=" in item else (
                        os.path.basename(item), "", item)
                    keys[key] = "<file>"
                    if not os.path.isfile(os.path.join(directory, source)):
                        self.report.skip(f"{where} {field} {gen.get('name')}",
                                         f"file {source} is absent here (the operator creates "
                                         "it; docs/deploy.md)")
                behavior = gen.get("behavior", "create")
                existing = self._find(resources, kind, re.escape(gen.get("name", "")))
                if behavior in ("merge", "replace"):
                    if not self.report.expect(
                            existing, where, f"{field} {gen.get('name')} ({behavior}) targets "
                            f"{kind} {gen.get('name')} of the base",
                            f"{field} {gen.get('name')} has behavior {behavior} but no "
                            f"{kind} {gen.get('name')} exists to {behavior}"):
                        continue
                    for r in existing:
                        if behavior == "replace":
                            r.doc.pop("stringData", None)
                            r.doc["data"] = dict(keys)
                        else:
                            r.doc.setdefault("data", {}).update(keys)
                        if gen.get("type"):
                            r.doc["type"] = gen["type"]
                else:
                    doc = {"apiVersion": "v1", "kind": kind,
                           "metadata": {"name": gen.get("name")}, "data": dict(keys)}
                    if gen.get("type"):
                        doc["type"] = gen["type"]
                    resources.append(Resource(doc, where))

    def _patch_docs(self, directory, patch, where):
        if patch.get("path"):
            path = os.path.join(directory, patch["path"])
            if not os.path.isfile(path):
                self.report.fail(where, f"patch file {patch['path']} does not exist")
                return None
            return load_yaml_docs(path, self.report, self.rel)
        try:
            return [d for d in yaml.safe_load_all(patch.get("patch") or "") if d is not None]
        except yaml.YAMLError as e:
            self.report.fail(where, f"inline patch does not parse: {e}")
            return None

    def _patches(self, directory, k, resources, where):
        patches = list(k.get("patches") or []) + list(k.get("patchesJson6902") or [])
        for entry in k.get("patchesStrategicMerge") or []:
            patches.append({"patch": entry} if "\n" in entry else {"path": entry})
        for patch in patches:
            docs = self._patch_docs(directory, patch, where)
            if docs is None:
                continue
            target = patch.get("target") or {}
            for doc in docs or [None]:
                is_json = isinstance(doc, list)
                if is_json and not target:
                    self.report.fail(where, "a JSON 6902 patch needs a target")
                    continue
                meta = {} if is_json else (doc or {}).get("metadata") or {}
                kind = target.get("kind") or (None if is_json else (doc or {}).get("kind"))
                name = target.get("name") or (re.escape(meta["name"]) if "name" in meta else None)
                label = f"patch on {kind} {name}"
                targets = self._find(resources, kind, name)
                if not self.report.expect(targets, where, f"{label} targets a resource",
                                          f"{label}: no such resource in the base"):
                    continue
                for r in targets:
                    if is_json:
                        error = apply_json6902(r.doc, doc)
                        self.report.expect(error is None, where, f"{label} applies",
                                           f"{label}: {error}")
                    elif isinstance(doc, dict) and doc.get("$patch") == "delete":
                        if r.kind == "Secret":
                            r.external = True
                        else:
                            resources.remove(r)
                    elif isinstance(doc, dict):
                        body = {key: v for key, v in doc.items()
                                if key not in ("apiVersion", "kind", "metadata")}
                        strategic_merge(r.doc, copy.deepcopy(body))

    def _images(self, k, resources, where):
        for entry in k.get("images") or []:
            hits = 0
            for r in resources:
                for c in pod_containers(r.doc):
                    name, suffix = split_image(c.get("image", ""))
                    if name != entry.get("name"):
                        continue
                    hits += 1
                    name = entry.get("newName", name)
                    if entry.get("digest"):
                        suffix = "@" + entry["digest"]
                    elif entry.get("newTag") is not None:
                        suffix = ":" + str(entry["newTag"])
                    c["image"] = name + suffix
            self.report.expect(hits, where, f"images entry {entry.get('name')} is used by "
                               f"{hits} containers",
                               f"images entry {entry.get('name')}: no container uses that image")

    def _replicas(self, k, resources, where):
        for entry in k.get("replicas") or []:
            targets = [r for r in resources if r.kind in SCALABLE and r.name == entry.get("name")]
            if self.report.expect(targets, where, f"replicas entry {entry.get('name')} names a "
                                  "workload", f"replicas entry {entry.get('name')}: no "
                                  "Deployment/StatefulSet of that name"):
                for r in targets:
                    r.doc.setdefault("spec", {})["replicas"] = entry.get("count")
