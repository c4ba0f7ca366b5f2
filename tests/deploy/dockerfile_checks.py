"""Static checks of deploy/docker/Dockerfile{,.cuda}: no docker engine is needed (or present
on the development machine), so what would only fail at `docker build` or at pod start is
checked by reading: stage references, the non-root user, the ports, the entrypoint."""

import json
import posixpath
import re

MIN_PYTORCH = (2, 7)  # first wheels built with the C++11 ABI that Debian's libraries use


def parse(text):
    """[(line number, KEYWORD, arguments)] with continuations joined and comments dropped
    (also comment lines inside a continuation, as docker does)."""
    out, buf, start = [], "", None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not buf):
            continue
        if start is None:
            start = number
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        keyword, _, rest = (buf + line).strip().partition(" ")
        out.append((start, keyword.upper(), rest.strip()))
        buf, start = "", None
    return out


def substitute(text, args):
    def value(m):
        name, default = m.group(1) or m.group(3), m.group(2)
        return args.get(name) or (default or "")
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", value, text)


def arg_default(rest):
    name, _, default = rest.partition("=")
    return name.strip(), default.strip().strip('"').strip("'")


def stages(instructions):
    """[{"index", "name", "base", "line", "body": [(line, KEYWORD, rest)]}]."""
    global_args, out = {}, []
    for line, keyword, rest in instructions:
        if keyword == "ARG" and not out:
            name, default = arg_default(rest)
            global_args[name] = default
        elif keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            out.append({"index": len(out), "name": name, "line": line, "body": [],
                        "base": substitute(words[0], global_args)})
        elif out:
            out[-1]["body"].append((line, keyword, rest))
    return out


def torch_version(tag):
    m = re.match(r"(\d+)\.(\d+)", tag)
    return (int(m.group(1)), int(m.group(2))) if m else None


class DockerfileChecks:
    """expect: {"role": "serve"|"worker", "ports": set, "uid": int|None, "cuda": bool}."""

    def __init__(self, report, path, rel, help_flags, expect):
        self.report, self.path, self.where = report, path, rel
        self.help, self.expect = help_flags, expect

    def run(self):
        rep, where = self.report, self.where
        try:
            with open(self.path, encoding="utf-8") as f:
                all_stages = stages(parse(f.read()))
        except OSError as e:
            rep.fail(where, f"cannot read: {e}")
            return
        if not rep.expect(all_stages, where, "has stages", "no FROM instruction"):
            return
        self.check_references(all_stages)
        final = all_stages[-1]
        builds = [s for s in all_stages if any(
            k == "RUN" and re.search(r"\bcmake\b", r) for _, k, r in s["body"])]
        rep.expect(builds, where, "a stage runs cmake", "no stage runs cmake")
        self.check_bases(builds, final)
        for s in builds:
            self.check_build(s)
        self.check_final(final)

    def check_references(self, all_stages):
        for s in all_stages:
            earlier = {t["name"] for t in all_stages[:s["index"]] if t["name"]}
            earlier |= {str(i) for i in range(s["index"])}
            for line, keyword, rest in s["body"]:
                m = re.search(r"--from=(\S+)", rest) if keyword in ("COPY", "ADD") else None
                if m:
                    self.report.expect(
                        m.group(1) in earlier, f"{self.where}:{line}",
                        f"COPY --from={m.group(1)} names an earlier stage",
                        f"COPY --from={m.group(1)} names no earlier stage "
                        f"(earlier: {sorted(n for n in earlier if not n.isdigit())})")

    def check_bases(self, builds, final):
        rep, where = self.report, self.where
        if not self.expect["cuda"]:
            for s in builds + [final]:
                rep.expect(s["base"] == "debian:12", f"{where}:{s['line']}",
                           f"FROM {s['base']}", f"FROM {s['base']}: the CPU image builds and "
                           "runs on debian:12 (the packages deploy/setup.sh installs)")
            return
        runtime = re.match(r"^pytorch/pytorch:(.+)-runtime$", final["base"])
        rep.expect(runtime, f"{where}:{final['line']}", f"final FROM {final['base']}",
                   f"final FROM {final['base']} is not a pytorch/pytorch:*-runtime image")
        for s in builds:
            devel = re.match(r"^pytorch/pytorch:(.+)-devel$", s["base"])
            if not rep.expect(devel, f"{where}:{s['line']}", f"build FROM {s['base']}",
                              f"build FROM {s['base']} is not a pytorch/pytorch:*-devel image"):
                continue
            tag = devel.group(1)
            rep.expect(runtime and runtime.group(1) == tag, where,
                       "build and runtime images are the same PyTorch release",
                       f"build image tag {tag} differs from the runtime's: the binary links "
                       "the build image's torch and loads the runtime's")
            version = torch_version(tag)
            rep.expect(version and version >= MIN_PYTORCH, where, f"PyTorch {tag} uses the "
                       "C++11 ABI", f"PyTorch {tag} < {'.'.join(map(str, MIN_PYTORCH))}: its "
                       "wheel is built with _GLIBCXX_USE_CXX11_ABI=0 and cannot link with "
                       "Debian's gRPC/protobuf")

    def check_build(self, s):
        rep, where = self.report, f"{self.where}:{s['line']}"
        text = " ".join(r for _, k, r in s["body"] if k == "RUN")
        for option, why in (("-DHEADEVO_BUILD_TESTS=OFF", "the tests need GoogleTest, which "
                             "the image does not install"),
                            ("-DHEADEVO_NATIVE_KERNELS=OFF", "-march=native code crashes "
                             "(SIGILL) on CPUs other than the builder's")):
            rep.expect(option in text, where, f"configures with {option}",
                       f"cmake is not given {option}: {why}")
        declared = {arg_default(r)[0] for _, k, r in s["body"] if k == "ARG"}
        m = re.search(r"--parallel\s+\"?\$\{?(\w+)", text)
        rep.expect(m and m.group(1) in declared, where,
                   f"cmake --build --parallel takes ARG {m.group(1) if m else ''}",
                   "cmake --build needs --parallel \"${BUILD_JOBS}\" with BUILD_JOBS an ARG")

    def check_final(self, final):
        rep, where = self.report, self.where
        body = final["body"]
        users = [r for _, k, r in body if k == "USER"]
        uid = users[-1].split(":")[0] if users else "root"
        rep.expect(uid.isdigit() and uid != "0", where, f"final stage runs as uid {uid}",
                   f"final stage USER is {uid}: it must be a numeric non-root uid "
                   "(runAsNonRoot can only verify numbers)")
        if self.expect.get("uid") is not None and uid.isdigit():
            rep.expect(int(uid) == self.expect["uid"], where, "USER is the pods' runAsUser",
                       f"USER {uid} but the {self.expect['role']} pods run as "
                       f"{self.expect['uid']}")
        exposed = {int(p.split("/")[0]) for _, k, r in body if k == "EXPOSE"
                   for p in r.split()}
        rep.expect(exposed == self.expect["ports"], where, f"EXPOSE {sorted(exposed)} are the "
                   f"{self.expect['role']} flags' ports",
                   f"EXPOSE {sorted(exposed)} but `{self.expect['role']}` listens on "
                   f"{sorted(self.expect['ports'])} (--listen/--metrics-listen/--health-listen)")
        entry = [r for _, k, r in body if k == "ENTRYPOINT"]
        cmd = [r for _, k, r in body if k == "CMD"]
        try:
            entry_list = json.loads(entry[-1]) if entry else None
            cmd_list = json.loads(cmd[-1]) if cmd else []
        except json.JSONDecodeError:
            entry_list = None
        ok = isinstance(entry_list, list) and entry_list and \
            posixpath.basename(entry_list[0]) == "headevo"
        if not rep.expect(ok, where, "ENTRYPOINT [\"headevo\"] in exec form",
                          "ENTRYPOINT (and CMD) must be exec form with headevo first, so "
                          "headevo is PID 1 and receives SIGTERM"):
            return
        words = [str(w) for w in entry_list[1:] + list(cmd_list)]
        sub = words[0] if words and words[0] in self.help else ""
        for word in words:
            flag = word.split("=")[0]
            if flag.startswith("--"):
                rep.expect(flag in self.help.get(sub, {}).get("flags", set()), where,
                           f"ENTRYPOINT/CMD `{sub or 'headevo'} {flag}` exists",
                           f"ENTRYPOINT/CMD uses {flag}, which `headevo {sub} --help` "
                           "does not list".replace("  ", " "))
