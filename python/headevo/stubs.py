"""The gRPC stubs of proto/headevo/v1, generated from the .proto files when first needed and
kept in a cache directory; never copied by hand into the repository.

Generation runs Debian's protoc (protobuf-compiler) for the messages and Debian's
grpc_python_plugin (protobuf-compiler-grpc) for the services, as tests/clients does:
python3-grpc-tools bundles protoc 3.5, which refuses proto3 `optional`. The output goes to
<cache>/<digest>/headevo/v1/, where the digest covers the .proto files' bytes and the tools'
paths, so an edited proto or another protoc gets fresh stubs; a directory is written under a
temporary name and renamed into place whole, so concurrent first imports are safe. The
generated modules import each other as `headevo.v1.*`, so that directory is appended to this
package's __path__.

Where things are found (environment variables first):
  HEADEVO_PROTO_DIR            the proto/ directory (default: ../../proto beside this package)
  HEADEVO_PROTOC               protoc (default: `protoc` on PATH)
  HEADEVO_GRPC_PYTHON_PLUGIN   grpc_python_plugin (default: on PATH)
  HEADEVO_STUB_CACHE           the cache (default: $XDG_CACHE_HOME/headevo/stubs or
                               ~/.cache/headevo/stubs)
"""

import hashlib
import os
import shutil
import subprocess
import tempfile


class StubError(Exception):
    """The stubs cannot be generated; the message names what is missing and how to get it."""


def _proto_dir():
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
    path = os.path.abspath(os.environ.get("HEADEVO_PROTO_DIR", default))
    if not os.path.isdir(os.path.join(path, "headevo", "v1")):
        raise StubError("no headevo/v1/*.proto under %s: set HEADEVO_PROTO_DIR to the proto/ "
                        "directory of a headevo checkout" % path)
    return path


def _tool(variable, name, package):
    path = os.environ.get(variable) or shutil.which(name)
    if not path:
        raise StubError("%s not found: install Debian's %s (deploy/setup.sh does) or set %s"
                        % (name, package, variable))
    return path


def _cache_root():
    if os.environ.get("HEADEVO_STUB_CACHE"):
        return os.environ["HEADEVO_STUB_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "headevo", "stubs")


def stub_dir():
    """The directory holding headevo/v1/*_pb2*.py for the current protos, generated if
    needed. StubError when a tool or the protos are missing, or protoc fails."""
    proto_dir = _proto_dir()
    protoc = _tool("HEADEVO_PROTOC", "protoc", "protobuf-compiler")
    plugin = _tool("HEADEVO_GRPC_PYTHON_PLUGIN", "grpc_python_plugin", "protobuf-compiler-grpc")
    v1 = os.path.join(proto_dir, "headevo", "v1")
    protos = sorted(os.path.join(v1, f) for f in os.listdir(v1) if f.endswith(".proto"))
    digest = hashlib.sha256()
    for path in protos + [protoc, plugin]:
        digest.update(path.encode() + b"\0")
    for path in protos:
        with open(path, "rb") as f:
            digest.update(f.read())
    root = _cache_root()
    final = os.path.join(root, digest.hexdigest()[:20])
    if os.path.isdir(final):
        return final
    os.makedirs(root, exist_ok=True)
    temp = tempfile.mkdtemp(prefix=".generating-", dir=root)
    try:
        command = [protoc, "-I", proto_dir, "--plugin=protoc-gen-grpc_python=" + plugin,
                   "--python_out=" + temp, "--grpc_python_out=" + temp] + protos
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise StubError("generating the Python stubs failed: %s\n%s"
                            % (" ".join(command), result.stderr))
        try:
            os.rename(temp, final)
        except OSError:
            if not os.path.isdir(final):  # not another process's identical stubs: a real error
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return final


def load():
    """Imports and returns (search_service_pb2, search_service_pb2_grpc)."""
    import headevo
    generated = os.path.join(stub_dir(), "headevo")
    if generated not in headevo.__path__:
        headevo.__path__.append(generated)
    from headevo.v1 import search_service_pb2, search_service_pb2_grpc
    return search_service_pb2, search_service_pb2_grpc
