#!/usr/bin/env python3
"""`make chart-run`: the chart runs what it says.

No cluster runs on these machines, so the check goes the other way round: it renders the chart
(the defaults, all eight services, plus charts/aftersales/ci-run/values.yaml) and starts every
Deployment and every Job of the render (the optional DLQ-replay and read-model rebuild too) from
its own spec, with the real service binaries (target/debug/<service>)
against the real Postgres, RabbitMQ and Redis on 127.0.0.1:

  - the container's command, args and environment exactly as rendered: `envFrom` ConfigMaps,
    `secretKeyRef` / `configMapKeyRef` resolved from the rendered ConfigMaps and the test Secrets
    (charts/aftersales/ci-run/secrets.yaml); only in-cluster hostnames are rewritten to
    127.0.0.1, listening and peer ports to free local ones, and mounted paths to the directories
    the volumes (ConfigMap, Secret, emptyDir) are materialised in, with the volume's file modes;
    the process runs as the pod's runAsUser / runAsGroup with fsGroup as a supplementary group;
  - every rendered variable must be one the binary reads (`<binary> config keys`), and the binary
    must not warn about one at start;
  - `config check` exits 0; a Job exits 0 within its activeDeadlineSeconds (hooks first, by weight);
  - a Deployment's startup, readiness and liveness probes (HTTP path and port, or native gRPC
    health) pass within their own periodSeconds × failureThreshold, each answer within
    timeoutSeconds; every containerPort is listened on; SIGTERM ends it with exit 0 within
    terminationGracePeriodSeconds;
  - replicas: two instances each of intake and claims-review (event consumers, outbox relays, and
    claims-review's "review-deadlines" scanner) and two gateways, against one database per service
    and one broker: a burst of requests has every effect once, and each overdue review deadline
    is announced once (one claims.claim.sla_breached), not once per replica; with the replica
    that announced most stopped, the other one's scanner announces the last deadline;
  - auth: the pem and jwks setups (ci-run/auth-*-values.yaml) start intake and the gateway and
    accept a token signed by the identity provider's key, refusing HS256 and a wrong audience;
  - settings: every service enabled with the tuned settings of
    charts/aftersales/ci/service-settings-values.yaml: every rendered variable is read by its
    binary and `config check` accepts the values (the schema's bounds are the binaries');
  - negative fixtures: every charts/aftersales/ci-bad/ set marked `# expect-failure: run` must
    make this check fail (matching its `# expect-match:`); one that passes fails the check.

Everything is bounded in time and cleaned up (processes it started, its databases, its queues
and exchanges, its Redis keys). Ends with "chart-run: N passed, N failed".
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets as pysecrets
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "aftersales"
RUN_VALUES = CHART / "ci-run" / "values.yaml"
TEST_SECRETS = CHART / "ci-run" / "secrets.yaml"
HELM = ROOT / ".tools" / "bin" / "helm"
RELEASE = "aftersales"
NAMESPACE = "aftersales"
KUBE_VERSION = os.environ.get("KUBE_VERSION", "1.31.0")
CARGO = os.environ.get("CARGO", "cargo")

# The image's environment (Dockerfile): not rendered by the chart, so not checked against the keys.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LISTEN = re.compile(r"^(0\.0\.0\.0|\[::\]|::):(\d+)$")
URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^@/\s]*@)?(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d+))?")
UNREAD_WARNING = "environment variable not read"


def log(msg: str) -> None:
    print(f"chart-run: {msg}", flush=True)


# ---------------------------------------------------------------------------------------- report


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, what: str, detail: str) -> None:
        self.passed += 1
        print(f"PASS  {what}: {detail}", flush=True)

    def fail(self, what: str, problems: list[str], logs: list[Path] = ()) -> None:
        self.failed += 1
        print(f"FAIL  {what}:", flush=True)
        for p in problems:
            print(f"      {p}")
        for path in logs:
            lines = path.read_text(errors="replace").splitlines()[-15:] if path and path.exists() else []
            if lines:
                print(f"      --- last lines of {path.relative_to(ROOT)}")
                for line in lines:
                    print(f"      | {line[:300]}")
        sys.stdout.flush()

    def result(self, what: str, problems: list[str], detail: str, logs: list[Path] = ()) -> bool:
        if problems:
            self.fail(what, problems, logs)
            return False
        self.ok(what, detail)
        return True


# ---------------------------------------------------------------------------------------- infra


def endpoint(env: str, default: str) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(os.environ.get(env) or default)


PG = endpoint("AFTERSALES_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
AMQP = endpoint("AFTERSALES_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
REDIS = endpoint("AFTERSALES_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def pg_url(db: str) -> str:
    user = PG.username or "postgres"
    auth = f"{user}:{PG.password}@" if PG.password else f"{user}@"
    return f"postgres://{auth}{PG.hostname}:{PG.port or 5432}/{db}"


def sql(db: str, query: str) -> list[list[str]]:
    out = subprocess.run(
        ["psql", pg_url(db), "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
        capture_output=True, text=True, timeout=30,
    )
    if out.returncode != 0:
        raise RuntimeError(f"psql {db}: {out.stderr.strip()}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def sql_int(db: str, query: str) -> int:
    rows = sql(db, query)
    return int(rows[0][0]) if rows else 0


def free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


class Amqp:
    """Just enough AMQP 0-9-1 to delete the run's queues and exchanges (no client library)."""

    def __init__(self, url: urllib.parse.SplitResult) -> None:
        self.sock = socket.create_connection((url.hostname, url.port or 5672), timeout=10)
        self.sock.sendall(b"AMQP\x00\x00\x09\x01")
        self.expect(0, (10, 10))  # connection.start
        user, password = url.username or "guest", url.password or "guest"
        response = b"\x00" + user.encode() + b"\x00" + password.encode()
        self.send(0, 10, 11, struct.pack(">I", 0) + self.short("PLAIN") + self.long(response) + self.short("en_US"))
        args = self.expect(0, (10, 30))  # connection.tune
        channel_max, frame_max, _ = struct.unpack(">HIH", args[:8])
        self.send(0, 10, 31, struct.pack(">HIH", channel_max, frame_max, 0))
        vhost = urllib.parse.unquote(url.path.lstrip("/")) or "/"
        self.send(0, 10, 40, self.short(vhost) + self.short("") + b"\x00")
        self.expect(0, (10, 41))
        self.channel = 0
        self.open_channel()

    @staticmethod
    def short(text: str) -> bytes:
        data = text.encode()
        return bytes([len(data)]) + data

    @staticmethod
    def long(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    def send(self, channel: int, cls: int, method: int, args: bytes) -> None:
        payload = struct.pack(">HH", cls, method) + args
        self.sock.sendall(struct.pack(">BHI", 1, channel, len(payload)) + payload + b"\xce")

    def recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def method(self) -> tuple[int, tuple[int, int], bytes]:
        while True:
            kind, channel, size = struct.unpack(">BHI", self.recv(7))
            payload = self.recv(size)
            self.recv(1)
            if kind == 1:
                cls, meth = struct.unpack(">HH", payload[:4])
                return channel, (cls, meth), payload[4:]

    def expect(self, channel: int, want: tuple[int, int]) -> bytes:
        ch, got, args = self.method()
        if got == (20, 40):  # channel.close: the operation was refused
            self.send(ch, 20, 41, b"")
            self.open_channel()
            raise RuntimeError(args[3:3 + args[2]].decode(errors="replace"))
        if got == (10, 50):
            raise RuntimeError(f"connection closed by the broker: {args[3:3 + args[2]].decode(errors='replace')}")
        if got != want:
            raise RuntimeError(f"unexpected AMQP method {got}, wanted {want}")
        return args

    def open_channel(self) -> None:
        self.channel += 1
        self.send(self.channel, 20, 10, self.short(""))
        self.expect(self.channel, (20, 11))

    def delete_queue(self, name: str) -> None:
        self.send(self.channel, 50, 40, struct.pack(">H", 0) + self.short(name) + b"\x00")
        self.expect(self.channel, (50, 41))

    def delete_exchange(self, name: str) -> None:
        self.send(self.channel, 40, 20, struct.pack(">H", 0) + self.short(name) + b"\x00")
        self.expect(self.channel, (40, 21))

    def close(self) -> None:
        try:
            self.send(0, 10, 50, struct.pack(">H", 200) + self.short("chart-run done") + struct.pack(">HH", 0, 0))
            self.expect(0, (10, 51))
        finally:
            self.sock.close()


def redis_command(*args: str) -> object:
    """One RESP command (enough for SCAN and DEL)."""
    with socket.create_connection((REDIS.hostname, REDIS.port or 6379), timeout=10) as s:
        s.sendall(f"*{len(args)}\r\n".encode() + b"".join(f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args))
        f = s.makefile("rb")

        def read():
            line = f.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2].decode()
            if kind == b":":
                return int(rest)
            if kind == b"-":
                raise RuntimeError(rest.decode())
            return rest.decode()

        return read()


# ---------------------------------------------------------------------------------------- probes


def grpc_health(port: int, service: str, timeout: float) -> tuple[bool, str]:
    """grpc.health.v1.Health/Check over h2c, as the kubelet's native gRPC probe asks it."""

    def frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload

    def hstr(text: str) -> bytes:
        data = text.encode()
        assert len(data) < 127
        return bytes([len(data)]) + data

    def literal(name: str, value: str) -> bytes:  # literal header field without indexing, new name
        return b"\x00" + hstr(name) + hstr(value)

    message = b"" if not service else b"\x0a" + bytes([len(service)]) + service.encode()
    headers = b"".join(literal(k, v) for k, v in [
        (":method", "POST"), (":scheme", "http"), (":path", "/grpc.health.v1.Health/Check"),
        (":authority", f"127.0.0.1:{port}"), ("content-type", "application/grpc"), ("te", "trailers"),
        ("user-agent", "kube-probe/chart-run"),
    ])
    data = b"\x00" + struct.pack(">I", len(message)) + message
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 0x4, 1, headers)
                      + frame(0, 0x1, 1, data))
            body = b""

            def recv(n: int) -> bytes:
                out = b""
                while len(out) < n:
                    s.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = s.recv(n - len(out))
                    if not chunk:
                        raise ConnectionError("connection closed")
                    out += chunk
                return out

            while True:
                head = recv(9)
                length = int.from_bytes(head[:3], "big")
                kind, flags = head[3], head[4]
                stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                payload = recv(length)
                if kind == 4 and not flags & 1:
                    s.sendall(frame(4, 1, 0, b""))
                elif kind == 6 and not flags & 1:
                    s.sendall(frame(6, 1, 0, payload))
                elif kind == 0 and stream == 1:
                    body += payload
                    if len(body) >= 5 and len(body) >= 5 + int.from_bytes(body[1:5], "big"):
                        msg = body[5:5 + int.from_bytes(body[1:5], "big")]
                        status = msg[1] if len(msg) >= 2 and msg[0] == 0x08 else 0
                        names = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
                        return status == 1, names.get(status, str(status))
                elif kind == 1 and stream == 1 and flags & 1:
                    return False, "answered with an error status (no health message)"
                elif kind == 3:
                    return False, "stream reset"
                elif kind == 7:
                    return False, "GOAWAY"
    except (OSError, ConnectionError) as e:
        return False, f"{type(e).__name__}: {e}"


def http_get(port: int, path: str, timeout: float, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read(2000).decode(errors="replace")


def http_post(port: int, path: str, body: bytes, headers: dict, timeout: float = 10) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(4000).decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read(4000).decode(errors="replace")


# ---------------------------------------------------------------------------------------- tokens


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**extra) -> dict:
    now = int(time.time())
    return {"sub": "chart-run", "branch": "SH01", "roles": ["branch_agent"], "iat": now, "exp": now + 900, **extra}


def jwt_hs256(secret: str, body: dict) -> str:
    signing = f"{b64u(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64u(json.dumps(body).encode())}"
    return signing + "." + b64u(hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest())


def jwt_rs256(key: Path, kid: str, body: dict) -> str:
    signing = f"{b64u(json.dumps({'alg': 'RS256', 'typ': 'JWT', 'kid': kid}).encode())}.{b64u(json.dumps(body).encode())}"
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=signing.encode(),
                         capture_output=True, check=True).stdout
    return signing + "." + b64u(sig)


def rsa_key(path: Path) -> tuple[str, dict]:
    """A fresh RSA key: its public PEM and its JWK (kid set by the caller)."""
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path)],
                   capture_output=True, check=True)
    pub = subprocess.run(["openssl", "pkey", "-in", str(path), "-pubout"], capture_output=True, check=True, text=True).stdout
    modulus = subprocess.run(["openssl", "rsa", "-in", str(path), "-noout", "-modulus"], capture_output=True,
                             check=True, text=True).stdout.strip().split("=", 1)[1]
    return pub, {"kty": "RSA", "use": "sig", "alg": "RS256", "n": b64u(bytes.fromhex(modulus)), "e": "AQAB"}


class Idp:
    """A stand-in identity provider on 127.0.0.1 serving a JWKS (the in-cluster IdP of the jwks values)."""

    def __init__(self, jwks: dict) -> None:
        body = json.dumps(jwks).encode()
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.fetches += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


# ---------------------------------------------------------------------------------------- render


@dataclass
class Workload:
    kind: str
    name: str
    service: str
    component: str
    obj: dict
    pod: dict
    container: dict

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def binary(self) -> str:
        return Path(self.container["command"][0]).name

    @property
    def hook_weight(self) -> int | None:
        ann = self.obj["metadata"].get("annotations") or {}
        if "pre-install" not in ann.get("helm.sh/hook", ""):
            return None
        return int(ann.get("helm.sh/hook-weight", "0"))


class Rendered:
    def __init__(self, objects: list[dict]) -> None:
        self.objects = objects
        self.configmaps = {o["metadata"]["name"]: o.get("data") or {} for o in objects if o["kind"] == "ConfigMap"}
        self.services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
        self.workloads: list[Workload] = []
        for o in objects:
            if o["kind"] not in ("Deployment", "Job"):
                continue
            pod = o["spec"]["template"]
            labels = pod["metadata"].get("labels") or {}
            for c in pod["spec"]["containers"]:
                self.workloads.append(Workload(o["kind"], o["metadata"]["name"], labels.get("app.kubernetes.io/name", "?"),
                                               labels.get("app.kubernetes.io/component", "?"), o, pod["spec"], c))

    def deployment(self, service: str) -> Workload | None:
        return next((w for w in self.workloads if w.kind == "Deployment" and w.service == service), None)

    def signature(self, w: Workload) -> str:
        """What decides how a workload runs: its container, its volumes and the ConfigMaps it reads."""
        cms = sorted({s["configMapRef"]["name"] for s in w.container.get("envFrom") or [] if "configMapRef" in s}
                     | {v["configMap"]["name"] for v in w.pod.get("volumes") or [] if "configMap" in v})
        return json.dumps([w.container, w.pod.get("volumes"), [self.configmaps.get(n) for n in cms]], sort_keys=True)


# ---------------------------------------------------------------------------------------- the run


class Run:
    def __init__(self, keep: bool) -> None:
        self.id = f"cr{os.getpid() % 100000}{pysecrets.token_hex(3)}"
        self.dir = ROOT / "target" / "chart-run" / self.id
        self.bin = self.dir / "bin"
        self.bin.mkdir(parents=True)
        os.chmod(self.dir, 0o755)
        self.keep = keep
        self.prefix = f"{self.id}."  # broker names and Redis keys
        self.taken: set[int] = set()
        self.closed_port = free_port(self.taken)  # in-cluster endpoints nobody here serves (e.g. OTLP)
        self.procs: list[subprocess.Popen] = []
        self.databases: set[str] = set()
        self.keys_cache: dict[str, list[str]] = {}
        self.hs256 = pysecrets.token_hex(24)
        self.carrier_sf = pysecrets.token_hex(16)
        self.rsa_key = self.dir / "idp-key.pem"
        self.rsa_other = self.dir / "other-key.pem"
        self.public_pem, jwk = rsa_key(self.rsa_key)
        _, other_jwk = rsa_key(self.rsa_other)
        self.jwks = {"keys": [{**jwk, "kid": "chart-run-a"}]}
        self.idp: Idp | None = None
        # The in-cluster endpoints of the test Secrets and values, and where they are here.
        self.endpoints = {
            "postgres.aftersales-infra.svc.cluster.local:5432": f"{PG.hostname}:{PG.port or 5432}",
            "rabbitmq.aftersales-infra.svc.cluster.local:5672": f"{AMQP.hostname}:{AMQP.port or 5672}",
            "redis.aftersales-infra.svc.cluster.local:6379": f"{REDIS.hostname}:{REDIS.port or 6379}",
        }
        self.values_file = self.dir / "run-values.yaml"
        self.values_file.write_text(yaml.safe_dump({
            "serviceDefaults": {"env": {"AFTERSALES__AMQP__NAME_PREFIX": self.prefix}},
            "services": {s: {"env": {"AFTERSALES__REDIS__KEY_PREFIX": self.prefix}} for s in ("gateway", "field-service")},
        }))
        self.secrets = self.load_secrets()

    def load_secrets(self) -> dict[str, dict[str, str]]:
        subst = {"run": self.id.lower(), "hs256_secret": self.hs256, "carrier_sf": self.carrier_sf,
                 "public_pem": self.public_pem}
        out = {}
        for doc in yaml.safe_load_all(TEST_SECRETS.read_text()):
            if not doc:
                continue
            data = {k: string.Template(str(v)).substitute(subst) for k, v in (doc.get("stringData") or {}).items()}
            data |= {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
            out[doc["metadata"]["name"]] = data
        return out

    # ------------------------------------------------------------------ rendering

    def render(self, *files: Path, sets: list[str] = ()) -> Rendered:
        cmd = [str(HELM), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION,
               "-f", str(RUN_VALUES), "-f", str(self.values_file)]
        for f in files:
            cmd += ["-f", str(f)]
        for s in sets:
            cmd += ["--set", s]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"helm template failed: {out.stderr.strip()}")
        return Rendered([o for o in yaml.safe_load_all(out.stdout) if o])

    # ------------------------------------------------------------------ binaries

    def binary(self, name: str) -> Path:
        target = self.bin / name
        if target.exists():
            return target
        built = ROOT / "target" / "debug" / name
        if not built.exists():
            log(f"target/debug/{name} is missing: cargo build --workspace --bins (debug; make test builds it first)")
            subprocess.run([CARGO, "build", "--workspace", "--bins"], cwd=ROOT, check=False)
        if not built.exists():
            raise RuntimeError(f"no binary target/debug/{name}")
        # A link keeps this run on one build even if cargo replaces the file meanwhile.
        try:
            os.link(built, target)
        except OSError:
            shutil.copy2(built, target)
        return target

    def config_keys(self, name: str) -> list[str]:
        if name not in self.keys_cache:
            out = subprocess.run([str(self.binary(name)), "config", "keys"], capture_output=True, text=True,
                                 timeout=30, env={"PATH": IMAGE_PATH})
            if out.returncode != 0:
                raise RuntimeError(f"{name} config keys exited {out.returncode}: {out.stderr.strip()}")
            self.keys_cache[name] = [k.strip() for k in out.stdout.splitlines() if k.strip()]
        return self.keys_cache[name]

    def unknown(self, name: str, env_names: list[str]) -> list[str]:
        keys = self.config_keys(name)
        exact = {k for k in keys if not k.endswith("*")}
        prefixes = [k[:-1] for k in keys if k.endswith("*")]
        return [n for n in env_names if n not in exact and not any(n.startswith(p) for p in prefixes)]

    # ------------------------------------------------------------------ databases

    def ensure_database(self, url: str) -> None:
        db = urllib.parse.urlsplit(url).path.lstrip("/")
        if not db or db in self.databases:
            return
        if not db.endswith(self.id.lower()):
            raise RuntimeError(f"database {db} is not this run's (the test Secrets name {self.id.lower()} databases)")
        sql("postgres", f'CREATE DATABASE "{db}"')
        self.databases.add(db)

    # ------------------------------------------------------------------ cleanup

    def cleanup(self, ok: bool) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        if self.idp:
            self.idp.stop()
        for db in sorted(self.databases):
            try:
                sql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001
                log(f"could not drop {db}: {e}")
        self.cleanup_broker()
        try:
            cursor, keys = "0", []
            while True:
                cursor, batch = redis_command("SCAN", cursor, "MATCH", f"{self.prefix}*", "COUNT", "1000")
                keys += batch
                if cursor == "0":
                    break
            for i in range(0, len(keys), 500):
                redis_command("DEL", *keys[i:i + 500])
        except Exception as e:  # noqa: BLE001
            log(f"could not clean Redis keys {self.prefix}*: {e}")
        if ok and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            log(f"logs kept in {self.dir.relative_to(ROOT)}")

    def cleanup_broker(self) -> None:
        queues, exchanges = set(), set()
        for what, into in (("list_queues", queues), ("list_exchanges", exchanges)):
            try:
                out = subprocess.run(["rabbitmqctl", "-q", what, "name"], capture_output=True, text=True, timeout=60)
                into |= {n.strip() for n in out.stdout.splitlines() if n.strip().startswith(self.prefix)}
            except (OSError, subprocess.TimeoutExpired):
                pass
        # The topology's names, in case rabbitmqctl is not at hand.
        for svc in ("intake", "claims-review", "procurement", "warehouse", "logistics", "field-service", "feedback", "gateway"):
            queues |= {f"{self.prefix}{svc}.{q}" for q in ("inbox", "retry", "dlq")}
        queues.add(f"{self.prefix}aftersales.unrouted")
        exchanges |= {f"{self.prefix}{x}" for x in ("aftersales.events", "aftersales.dlx", "aftersales.unrouted")}
        try:
            amqp = Amqp(AMQP)
            for q in sorted(queues):
                try:
                    amqp.delete_queue(q)
                except RuntimeError:
                    pass
            for x in sorted(exchanges):
                try:
                    amqp.delete_exchange(x)
                except RuntimeError:
                    pass
            amqp.close()
        except Exception as e:  # noqa: BLE001
            log(f"could not clean the broker names {self.prefix}*: {e}")


# ---------------------------------------------------------------------------------------- instances


class Instance:
    """One copy of a workload, prepared (environment resolved and rewritten, volumes materialised)
    and then run as a command, a Job or a serving process."""

    def __init__(self, run: Run, rendered: Rendered, w: Workload, label: str, peers: dict | None = None) -> None:
        self.run, self.rendered, self.w, self.label = run, rendered, w, label
        self.peers = peers or {}
        self.dir = run.dir / label.replace("/", "_").replace("#", "-")
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.log = self.dir / "out.log"
        self.problems: list[str] = []
        self.ports: dict[int, int] = {}  # containerPort → local port
        self.proc: subprocess.Popen | None = None
        self.mounts: dict[str, Path] = {}
        self.materialise()
        self.env_rendered = self.resolve_env()  # name → value, as the pod would see it
        self.env = {k: self.rewrite(v) for k, v in self.env_rendered.items()}
        url = self.env.get("AFTERSALES__DATABASE__URL")
        if url:
            run.ensure_database(url)
        sc = {**(w.pod.get("securityContext") or {}), **(w.container.get("securityContext") or {})}
        self.uid, self.gid = sc.get("runAsUser"), sc.get("runAsGroup")
        self.fs_group = (w.pod.get("securityContext") or {}).get("fsGroup")

    # ------------------------------------------------------------------ spec → here

    def materialise(self) -> None:
        volumes = {v["name"]: v for v in self.w.pod.get("volumes") or []}
        fs_group = (self.w.pod.get("securityContext") or {}).get("fsGroup")
        for m in self.w.container.get("volumeMounts") or []:
            vol = volumes.get(m["name"])
            where = self.dir / "volumes" / m["name"]
            where.mkdir(parents=True, exist_ok=True)
            if vol is None:
                self.problems.append(f"volumeMount {m['name']} names no volume of the pod")
                continue
            if m.get("subPath"):
                self.problems.append(f"volumeMount {m['name']}: subPath is not supported by this check")
            if "emptyDir" in vol:
                os.chmod(where, 0o1777)
            elif "configMap" in vol or "secret" in vol:
                src = vol.get("configMap") or vol.get("secret")
                name = src.get("name") or src.get("secretName")
                data = (self.rendered.configmaps if "configMap" in vol else self.run.secrets).get(name)
                if data is None:
                    if not src.get("optional"):
                        kind = "ConfigMap" if "configMap" in vol else "Secret"
                        self.problems.append(f"volume {m['name']}: {kind} {name} does not exist (not rendered, not a test Secret)")
                    continue
                items = src.get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    if item["key"] not in data:
                        self.problems.append(f"volume {m['name']}: {name} has no key {item['key']}")
                        continue
                    path = where / item["path"]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(data[item["key"]])
                    os.chmod(path, item.get("mode", src.get("defaultMode", 0o644)))
                    if os.geteuid() == 0 and fs_group is not None:
                        os.chown(path, 0, fs_group)
                os.chmod(where, 0o755)
            else:
                self.problems.append(f"volume {m['name']}: only emptyDir, configMap and secret volumes are supported here")
            self.mounts[m["mountPath"].rstrip("/")] = where

    def resolve_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for src in self.w.container.get("envFrom") or []:
            prefix = src.get("prefix", "")
            if "configMapRef" in src:
                ref = src["configMapRef"]
                data = self.rendered.configmaps.get(ref["name"])
            else:
                ref = src["secretRef"]
                data = self.run.secrets.get(ref["name"])
            if data is None:
                if not ref.get("optional"):
                    self.problems.append(f"envFrom {ref['name']}: no such ConfigMap/Secret")
                continue
            env |= {prefix + k: v for k, v in data.items()}
        for var in self.w.container.get("env") or []:
            name = var["name"]
            if "value" in var:
                env[name] = str(var["value"])
                continue
            vf = var.get("valueFrom") or {}
            if "secretKeyRef" in vf or "configMapKeyRef" in vf:
                ref = vf.get("secretKeyRef") or vf.get("configMapKeyRef")
                store = self.run.secrets if "secretKeyRef" in vf else self.rendered.configmaps
                kind = "Secret" if "secretKeyRef" in vf else "ConfigMap"
                value = (store.get(ref["name"]) or {}).get(ref["key"])
                if value is None:
                    if not ref.get("optional"):
                        self.problems.append(f"env {name}: {kind} {ref['name']} has no key {ref['key']}")
                    continue
                env[name] = value
            elif "fieldRef" in vf:
                path = vf["fieldRef"]["fieldPath"]
                env[name] = {"metadata.namespace": NAMESPACE, "metadata.name": self.label,
                             "status.podIP": "127.0.0.1"}.get(path, "")
            else:
                env[name] = ""
        return env

    def release_service(self, host: str) -> str | None:
        """The release's Service a hostname names (short, .<ns>, .<ns>.svc[.cluster.local])."""
        bare = host.split(".")[0]
        forms = {bare, f"{bare}.{NAMESPACE}", f"{bare}.{NAMESPACE}.svc", f"{bare}.{NAMESPACE}.svc.cluster.local"}
        return bare if bare.startswith(f"{RELEASE}-") and host in forms else None

    def in_cluster(self, host: str) -> bool:
        return host.endswith(".svc.cluster.local") or host.endswith(".svc") or self.release_service(host) is not None

    def peer_port(self, service_name: str, port: int) -> int:
        svc = self.rendered.services[service_name]
        spec_port = next((p for p in svc["spec"]["ports"] if p["port"] == port), None)
        if spec_port is None:
            self.problems.append(f"a URL names port {port} of Service {service_name}, which has no such port")
            return self.run.closed_port
        peer = self.peers.get(service_name)
        if peer is None:
            return self.run.closed_port
        target = spec_port.get("targetPort", port)
        container_port = peer.container_port(target)
        if container_port is None or container_port not in peer.ports:
            self.problems.append(f"Service {service_name} port {port} → targetPort {target}: not a port its pods listen on")
            return self.run.closed_port
        return peer.ports[container_port]

    def rewrite(self, value: str) -> str:
        m = LISTEN.match(value)
        if m:
            port = int(m.group(2))
            if port not in self.ports:
                self.ports[port] = free_port(self.run.taken)
            return f"127.0.0.1:{self.ports[port]}"
        for mount, where in self.mounts.items():
            if value == mount or value.startswith(mount + "/"):
                return str(where) + value[len(mount):]

        def url(m: re.Match) -> str:
            host, port = m.group("host"), m.group("port")
            if not self.in_cluster(host):
                return m.group(0)
            service = self.release_service(host)
            if service and port:
                # A Service of the release: the local port of a running pod behind it, if any
                # (a Service that is not rendered, or has no pod here, gets a port nobody serves).
                local = f"127.0.0.1:{self.peer_port(service, int(port)) if service in self.rendered.services else self.run.closed_port}"
            else:
                known = self.run.endpoints.get(f"{host}:{port}")
                local = known or f"127.0.0.1:{self.run.closed_port}"
            return f"{m.group('scheme')}{m.group('userinfo') or ''}{local}"

        return URL.sub(url, value)

    def as_in_pod(self, text: str) -> str:
        """A message about a local path, with the path the pod would have."""
        for mount, where in self.mounts.items():
            text = text.replace(str(where), mount)
        return text

    def container_port(self, port) -> int | None:
        for p in self.w.container.get("ports") or []:
            if port in (p.get("name"), p["containerPort"]):
                return p["containerPort"]
        return port if isinstance(port, int) else None

    # ------------------------------------------------------------------ running

    def process_env(self) -> dict[str, str]:
        tmp = self.mounts.get("/tmp", self.dir)
        return {"PATH": IMAGE_PATH, "TMPDIR": str(tmp), "HOME": str(tmp), **self.env}

    def spawn(self, args: list[str]) -> subprocess.Popen:
        cmd = [str(self.run.binary(self.w.binary))] + args
        kwargs = {}
        if os.geteuid() == 0 and self.uid is not None:
            kwargs = {"user": self.uid, "group": self.gid if self.gid is not None else self.uid,
                      "extra_groups": [self.fs_group] if self.fs_group is not None else []}
        out = open(self.log, "ab")
        p = subprocess.Popen(cmd, env=self.process_env(), stdout=out, stderr=subprocess.STDOUT, cwd=self.dir,
                             start_new_session=True, **kwargs)
        out.close()
        self.run.procs.append(p)
        return p

    def command(self, args: list[str], timeout: float) -> tuple[int | None, float, str]:
        start = time.monotonic()
        p = self.spawn(args)
        try:
            code = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            code = None
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return code, time.monotonic() - start, (lines[-1] if lines else "")

    def log_lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def unread_warnings(self) -> list[str]:
        return sorted({l.get("key", "?") for l in self.log_lines() if UNREAD_WARNING in str(l.get("message", ""))})

    # ------------------------------------------------------------------ probes

    def probe_target(self, probe: dict) -> tuple[str, int | None]:
        for kind in ("httpGet", "grpc", "tcpSocket"):
            if kind in probe:
                cport = self.container_port(probe[kind].get("port"))
                return kind, self.ports.get(cport) if cport is not None else None
        return "exec", None

    def describe(self, probe: dict) -> str:
        if "httpGet" in probe:
            return f"GET {probe['httpGet'].get('path', '/')} :{probe['httpGet'].get('port')}"
        if "grpc" in probe:
            return f"gRPC health :{probe['grpc'].get('port')}"
        if "tcpSocket" in probe:
            return f"TCP :{probe['tcpSocket'].get('port')}"
        return "exec"

    def probe_once(self, probe: dict) -> tuple[bool, str]:
        timeout = probe.get("timeoutSeconds", 1)
        kind, port = self.probe_target(probe)
        if port is None:
            return False, f"{self.describe(probe)}: not a port the binary listens on (no rendered listen address binds it)"
        if kind == "httpGet":
            try:
                code, body = http_get(port, probe["httpGet"].get("path", "/"), timeout, {"User-Agent": "kube-probe/chart-run"})
            except (OSError, urllib.error.URLError) as e:
                return False, f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            return 200 <= code < 400, f"HTTP {code} {body[:160]}".strip()
        if kind == "grpc":
            return grpc_health(port, probe["grpc"].get("service", ""), timeout)
        if kind == "tcpSocket":
            try:
                socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
                return True, "connected"
            except OSError as e:
                return False, str(e)
        return False, "exec probes cannot run here"

    def wait_probe(self, name: str, probe: dict) -> tuple[bool, str]:
        """Probes as the kubelet does: after initialDelaySeconds, every periodSeconds, each answer
        within timeoutSeconds; passed on the first success, failed after failureThreshold misses."""
        period, timeout = probe.get("periodSeconds", 10), probe.get("timeoutSeconds", 1)
        threshold = probe.get("failureThreshold", 3)
        time.sleep(probe.get("initialDelaySeconds", 0))
        start, misses, last = time.monotonic(), 0, ""
        while True:
            if self.proc and self.proc.poll() is not None:
                return False, f"{name} {self.describe(probe)}: the process exited {self.proc.returncode} first"
            t0 = time.monotonic()
            ok, what = self.probe_once(probe)
            took = time.monotonic() - t0
            if ok and took <= timeout + 0.05:
                return True, f"{name} {self.describe(probe)} ok after {time.monotonic() - start:.1f}s ({what[:40]})"
            misses += 1
            last = what if not ok else f"answered in {took:.2f}s > timeoutSeconds {timeout}"
            if misses >= threshold:
                return False, (f"{name} {self.describe(probe)} failed {misses}× in a row "
                               f"(periodSeconds {period}, failureThreshold {threshold}): {last[:200]}")
            time.sleep(max(0.0, period - took))

    # ------------------------------------------------------------------ a serving process

    def start(self) -> None:
        self.proc = self.spawn(self.w.container.get("args") or [])

    def become_ready(self) -> list[str]:
        """Starts the process and passes its probes; returns the problems and notes the steps."""
        self.notes: list[str] = []
        c = self.w.container
        problems = []
        self.start()
        startup = c.get("startupProbe")
        if startup:
            ok, what = self.wait_probe("startup", startup)
            (self.notes if ok else problems).append(what)
            if not ok:
                return problems
        for name in ("readiness", "liveness"):
            probe = c.get(f"{name}Probe")
            if not probe:
                problems.append(f"no {name}Probe")
                continue
            ok, what = self.wait_probe(name, probe)
            (self.notes if ok else problems).append(what)
        for p in c.get("ports") or []:
            local = self.ports.get(p["containerPort"])
            if local is None:
                problems.append(f"containerPort {p.get('name')} {p['containerPort']}: no rendered listen address binds it")
                continue
            try:
                socket.create_connection(("127.0.0.1", local), timeout=2).close()
            except OSError:
                problems.append(f"containerPort {p.get('name')} {p['containerPort']}: nothing listens")
        serving = next((l for l in self.log_lines() if l.get("message") == "serving"), None)
        if serving is None:
            problems.append("no 'serving' line in the log")
        else:
            for field_, var in (("grpc", "GRPC_ADDR"), ("http", "HTTP_ADDR"), ("admin", "ADMIN_ADDR")):
                want = self.env.get(f"AFTERSALES__SERVER__{var}", "")
                if serving.get(field_) and want and serving[field_] != want:
                    problems.append(f"serving {field_} on {serving[field_]}, the rendered address says {want}")
        return problems

    def stop(self) -> tuple[list[str], str]:
        grace = self.w.pod.get("terminationGracePeriodSeconds", 30)
        if self.proc is None or self.proc.poll() is not None:
            return [f"not running at SIGTERM (exit {self.proc.returncode if self.proc else '?'})"], ""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return [f"still running {grace}s (terminationGracePeriodSeconds) after SIGTERM: the kubelet would SIGKILL it"], ""
        took = time.monotonic() - t0
        if code != 0:
            return [f"exited {code} after SIGTERM (want 0)"], ""
        return [], f"SIGTERM → exit 0 in {took:.1f}s (grace {grace}s)"


# ---------------------------------------------------------------------------------------- checks


def static_problems(run: Run, inst: Instance) -> list[str]:
    """The rendered names against the binary's keys, then `config check` with the same env and files."""
    problems = list(inst.problems)
    for name in run.unknown(inst.w.binary, sorted(inst.env_rendered)):
        problems.append(f"env {name} is not read by {inst.w.binary} (`{inst.w.binary} config keys` does not list it)")
    if problems:
        return problems
    code, _, last = inst.command(["config", "check"], timeout=30)
    if code != 0:
        problems.append(f"`{inst.w.binary} config check` exited {code}: {inst.as_in_pod(last)[:300]}")
    return problems


def run_job(run: Run, rendered: Rendered, w: Workload, report: Report | None, what: str | None = None) -> list[str]:
    inst = Instance(run, rendered, w, f"{w.key}")
    problems = static_problems(run, inst)
    detail = ""
    if not problems:
        args = w.container.get("args") or []
        deadline = w.obj["spec"].get("activeDeadlineSeconds", 600)
        code, took, last = inst.command(args, timeout=deadline)
        if code != 0:
            problems.append(f"`{w.binary} {' '.join(args)}` exited {code if code is not None else 'never'}"
                            f" (activeDeadlineSeconds {deadline}): {inst.as_in_pod(last)[:200]}")
        detail = (f"`{w.binary} {' '.join(args)}` as uid {inst.uid}: exit 0 in {took:.1f}s; "
                  f"{len(inst.env_rendered)} env names read by {w.binary}; config check ok")
    if report:
        report.result(what or w.key, problems, detail, [inst.log])
    return problems


def run_deployment(run: Run, rendered: Rendered, w: Workload, report: Report | None, extra=None) -> list[str]:
    inst = Instance(run, rendered, w, f"{w.key}")
    problems = static_problems(run, inst)
    detail = ""
    if not problems:
        problems = inst.become_ready()
        if not problems and extra:
            problems += extra(inst)
        unread = inst.unread_warnings()
        if unread:
            problems.append(f"the binary warned at start about variables it does not read: {unread}")
        stop_problems, stopped = inst.stop()
        problems += stop_problems
        detail = (f"{len(inst.env_rendered)} env names read by {w.binary}; config check ok; "
                  + "; ".join(inst.notes + getattr(inst, "extra_notes", [])) + f"; {stopped}")
    if report:
        report.result(w.key, problems, detail, [inst.log])
    return problems


def gateway_extra(run: Run):
    """The gateway's carrier webhook keys come from the Secret: a signed call passes the signature
    check, an unsigned one does not."""

    def check(inst: Instance) -> list[str]:
        port = inst.ports.get(inst.container_port("http"))
        names = [k.rsplit("__", 1)[1].lower() for k in inst.env if k.startswith("AFTERSALES__GATEWAY__CARRIER_SECRETS__")]
        if not names:
            inst.extra_notes = ["no carriers configured"]
            return []
        carrier, key = names[0], inst.env[f"AFTERSALES__GATEWAY__CARRIER_SECRETS__{names[0].upper()}"]
        # A well-formed event (the gateway checks the body against its OpenAPI document first),
        # so what decides is the signature alone.
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = json.dumps({"event_id": "chart-run-1", "sent_at": now, "waybill_no": "SF-CHART-RUN-1",
                           "status": "in_transit", "occurred_at": now}).encode()
        sig = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        signed, _ = http_post(port, f"/v1/carriers/{carrier}/events", body, {"content-type": "application/json", "X-Signature": sig})
        unsigned, _ = http_post(port, f"/v1/carriers/{carrier}/events", body, {"content-type": "application/json"})
        problems = []
        if signed in (401, 404):
            problems.append(f"a webhook signed with the carrier Secret's key answered {signed}")
        if unsigned != 401:
            problems.append(f"an unsigned webhook answered {unsigned}, not 401")
        inst.extra_notes = [f"carrier {carrier} webhook: signed → {signed}, unsigned → {unsigned}"]
        return problems

    return check


def main_run(run: Run, rendered: Rendered, report: Report) -> None:
    hooks = sorted((w for w in rendered.workloads if w.kind == "Job" and w.hook_weight is not None),
                   key=lambda w: (w.hook_weight, w.name))
    for w in hooks:
        run_job(run, rendered, w, report)
    for w in (w for w in rendered.workloads if w.kind == "Deployment"):
        run_deployment(run, rendered, w, report, gateway_extra(run) if w.service == "gateway" else None)
    for w in (w for w in rendered.workloads if w.kind == "Job" and w.hook_weight is None):
        run_job(run, rendered, w, report)


# ---------------------------------------------------------------------------------------- replicas


def count_lines(inst: Instance, message: str) -> int:
    return sum(1 for line in inst.log_lines() if line.get("message") == message)


def submission(n: int, misuse: bool) -> dict:
    """The demo request (DESIGN §8), bought a month ago (in warranty): the demo policy approves it
    unless misuse is suspected, which waits for a person."""
    bought = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))
    return {
        "branch": "SH01", "channel": "hotline", "kind": "replacement", "urgency": "normal",
        "customer": {"name": "Li Wei", "phone": "+86 138 0013 8000",
                     "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban"},
        "product": {"category": "television", "model": "X55", "serial": f"SN{n:08d}",
                    "purchase_date": bought, "invoice_no": f"INV-{n}", "invoice_date": bought,
                    "factory_date": "2026-08-15"},
        "fault_description": "no picture", "photos": ["https://photos.example/1.jpg"],
        "parts": [{"part_no": "PWR-55-01", "quantity": 1}],
        "misuse_suspected": misuse,
    }


def replicas_run(run: Run, rendered: Rendered, report: Report, normal: int = 24, misuse: int = 8) -> None:
    what = "replicas: 2× intake, 2× claims-review, 2× gateway"
    need = {s: rendered.deployment(s) for s in ("intake", "claims-review", "gateway")}
    missing = [s for s, w in need.items() if w is None]
    if missing:
        report.fail(what, [f"needs {missing} enabled in the default values"])
        return
    running: list[Instance] = []
    logs: list[Path] = []
    problems: list[str] = []
    notes: list[str] = []
    stop_times: list[float] = []

    def stop(inst: Instance) -> None:
        p, note = inst.stop()
        problems.extend(f"{inst.label}: {x}" for x in p)
        if note:
            stop_times.append(float(note.split(" in ")[1].split("s")[0]))
        running.remove(inst)

    def start(svc: str, label: str, peers: dict | None = None) -> Instance | None:
        inst = Instance(run, rendered, need[svc], label, peers=peers)
        running.append(inst)
        logs.append(inst.log)
        p = inst.problems or inst.become_ready()
        problems.extend(f"{label}: {x}" for x in p)
        return None if p else inst

    try:
        by: dict[str, list[Instance]] = {}
        for svc in ("intake", "claims-review"):
            by[svc] = [start(svc, f"replicas/{svc}#{i}") for i in (1, 2)]
        if not problems:
            by["gateway"] = [start("gateway", f"replicas/gateway#{i}", peers={
                f"{RELEASE}-intake": by["intake"][i - 1], f"{RELEASE}-claims-review": by["claims-review"][i - 1]})
                for i in (1, 2)]
        if not problems:
            burst(run, by, normal, misuse, problems, notes)
        if not problems:
            deadlines(by, misuse, problems, notes, stop)
        # Scale down: every replica left at once, as a rollout does.
        with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
            list(pool.map(stop, list(running)))
        for inst in (i for lst in by.values() for i in lst if i):
            unread = inst.unread_warnings()
            if unread:
                problems.append(f"{inst.label} warned about variables it does not read: {unread}")
        notes.append(f"6 replicas SIGTERM → exit 0 in ≤ {max(stop_times or [0]):.1f}s")
        report.result(what, problems, "; ".join(notes), logs if problems else [])
    finally:
        for inst in running:
            if inst.proc and inst.proc.poll() is None:
                inst.proc.kill()


def burst(run: Run, by: dict, normal: int, misuse: int, problems: list[str], notes: list[str]) -> None:
    """A burst of requests through both gateways: every effect once across the replicas."""
    intake_db = urllib.parse.urlsplit(by["intake"][0].env["AFTERSALES__DATABASE__URL"]).path.lstrip("/")
    claims_db = urllib.parse.urlsplit(by["claims-review"][0].env["AFTERSALES__DATABASE__URL"]).path.lstrip("/")
    token = jwt_hs256(by["intake"][0].env.get("AFTERSALES__AUTH__JWT_SECRET", ""), claims())
    total = normal + misuse

    def submit(n: int) -> tuple[int, str]:
        gw = by["gateway"][n % 2]
        return http_post(gw.ports[gw.container_port("http")], "/v1/requests", json.dumps(submission(n, n >= normal)).encode(), {
            "content-type": "application/json", "authorization": f"Bearer {token}",
            "idempotency-key": str(uuid.uuid4())}, timeout=30)

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(submit, range(total)))
    burst_s = time.monotonic() - t0
    bad = [(c, b[:300]) for c, b in answers if c != 201]
    if bad:
        problems.append(f"{len(bad)} of {total} submissions through the gateways failed, e.g. {bad[0]}")
        return

    def settled() -> bool:
        return (sql_int(claims_db, "SELECT count(*) FROM claims") >= total
                and sql_int(claims_db, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
                and sql_int(intake_db, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
                and sql_int(intake_db, "SELECT count(*) FROM timeline WHERE routing_key = 'claims.claim.opened'") >= total)

    deadline = time.monotonic() + 60
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.5)
    consumers = {}
    try:
        out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name", "consumers"], capture_output=True,
                             text=True, timeout=60).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in (f"{run.prefix}intake.inbox", f"{run.prefix}claims-review.inbox"):
                consumers[parts[0][len(run.prefix):]] = int(parts[1])
    except (OSError, subprocess.TimeoutExpired):
        pass
    for q, n in consumers.items():
        if n != 2:
            problems.append(f"{q} has {n} consumers, not the two replicas")
    counts = {
        "intake requests": sql_int(intake_db, "SELECT count(*) FROM requests"),
        "intake.request.submitted staged": sql_int(intake_db, "SELECT count(*) FROM outbox WHERE routing_key = 'intake.request.submitted'"),
        "claims-review handled intake.request.submitted": sql_int(claims_db, "SELECT count(*) FROM processed_events WHERE routing_key = 'intake.request.submitted'"),
        "claims": sql_int(claims_db, "SELECT count(*) FROM claims"),
        "claims.claim.opened staged": sql_int(claims_db, "SELECT count(*) FROM outbox WHERE routing_key = 'claims.claim.opened'"),
        "timeline claims.claim.opened": sql_int(intake_db, "SELECT count(*) FROM timeline WHERE routing_key = 'claims.claim.opened'"),
    }
    for name, n in counts.items():
        if n != total:
            problems.append(f"{name}: {n}, want {total} (one per submitted request)")
    dup_outbox = sql(claims_db, "SELECT subject, routing_key, count(*) FROM outbox GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 5")
    if dup_outbox:
        problems.append(f"claims-review staged an event twice for one request: {dup_outbox}")
    dup_timeline = sql(intake_db, "SELECT request_no, routing_key, count(*) FROM timeline GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 5")
    if dup_timeline:
        problems.append(f"intake recorded an effect twice: {dup_timeline}")
    approved = sql_int(claims_db, "SELECT count(*) FROM outbox WHERE routing_key = 'claims.claim.approved'")
    pending = sql_int(claims_db, "SELECT count(*) FROM claims WHERE status = 'pending'")
    if pending != misuse:
        problems.append(f"{pending} claims wait for a person, want the {misuse} with misuse suspected")
    notes.append(f"{total} requests through 2 gateways in {burst_s:.1f}s → {counts['claims']} claims, "
                 f"{counts['claims.claim.opened staged']} claims.claim.opened, {approved} approved, "
                 f"{counts['timeline claims.claim.opened']} on intake's timelines, no effect twice "
                 f"(consumers per inbox: {consumers or 'rabbitmqctl unavailable'})")


def deadlines(by: dict, misuse: int, problems: list[str], notes: list[str], stop) -> None:
    """The pending claims made overdue in rounds while both replicas' "review-deadlines" scanners
    tick: each deadline is announced once. The last one after the replica that announced most is
    stopped: the other's scanner takes over."""
    reviews = by["claims-review"]
    claims_db = urllib.parse.urlsplit(reviews[0].env["AFTERSALES__DATABASE__URL"]).path.lstrip("/")
    intake_db = urllib.parse.urlsplit(by["intake"][0].env["AFTERSALES__DATABASE__URL"]).path.lstrip("/")
    scan_ms = int(reviews[0].env.get("AFTERSALES__CLAIMS_REVIEW__SLA_SCAN_INTERVAL_MS", "30000"))
    breached = lambda: sql_int(claims_db, "SELECT count(*) FROM outbox WHERE routing_key = 'claims.claim.sla_breached'")  # noqa: E731
    moved = 0

    def overdue(limit: int) -> None:
        nonlocal moved
        moved += sql_int(claims_db, "WITH m AS (UPDATE claims SET due_at = now() - interval '1 minute' WHERE request_no IN "
                                    "(SELECT request_no FROM claims WHERE status = 'pending' AND due_at > now() "
                                    f"ORDER BY request_no LIMIT {limit}) RETURNING 1) SELECT count(*) FROM m")
        deadline = time.monotonic() + max(20, 10 * scan_ms / 1000)
        while breached() < moved and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(scan_ms / 1000)

    waiting = lambda: sql_int(claims_db, "SELECT count(*) FROM claims WHERE status = 'pending' AND due_at > now()")  # noqa: E731
    while (left := waiting()) > 1:
        overdue(min(2, left - 1))
    time.sleep(5 * scan_ms / 1000)  # several more scans on each replica: nothing more may fire
    per_replica = [count_lines(i, "review deadline breached") for i in reviews]
    busiest = reviews[per_replica.index(max(per_replica))]
    survivor = next(i for i in reviews if i is not busiest)
    before = count_lines(survivor, "review deadline breached")
    stop(busiest)
    overdue(1)
    time.sleep(3 * scan_ms / 1000)
    took_over = count_lines(survivor, "review deadline breached") - before
    n_breached = breached()
    twice = sql(claims_db, "SELECT subject, count(*) FROM outbox WHERE routing_key = 'claims.claim.sla_breached' "
                           "GROUP BY 1 HAVING count(*) > 1 LIMIT 5")
    if moved != misuse:
        problems.append(f"{moved} pending claims had a running deadline to move, want {misuse}")
    if n_breached != moved:
        problems.append(f"{n_breached} claims.claim.sla_breached for {moved} overdue claims (want exactly one each)")
    if twice:
        problems.append(f"a deadline was announced more than once: {twice}")
    if took_over != 1:
        problems.append(f"after {busiest.label} stopped, {survivor.label} announced {took_over} deadlines, want the 1 left")
    time.sleep(1)
    on_timeline = sql_int(intake_db, "SELECT count(*) FROM timeline WHERE routing_key = 'claims.claim.sla_breached'")
    notes.append(f"{moved} review deadlines made overdue → {n_breached} claims.claim.sla_breached, one each "
                 f"({per_replica[0]} announced by {reviews[0].label}, {per_replica[1]} by {reviews[1].label}, "
                 f"the last by {survivor.label} after {busiest.label} stopped; scans every {scan_ms} ms on each; "
                 f"{on_timeline} on intake's timelines)")


# ---------------------------------------------------------------------------------------- auth


def auth_run(run: Run, mode: str, report: Report) -> None:
    what = f"auth {mode}: {CHART.relative_to(ROOT)}/ci-run/auth-{mode}-values.yaml"
    if mode == "jwks" and run.idp is None:
        run.idp = Idp(run.jwks)
    if run.idp:
        run.endpoints["idp.aftersales-infra.svc.cluster.local:8080"] = f"127.0.0.1:{run.idp.port}"
    try:
        rendered = run.render(CHART / "ci-run" / f"auth-{mode}-values.yaml")
    except RuntimeError as e:
        report.fail(what, [str(e)])
        return
    problems: list[str] = []
    checked = 0
    for w in rendered.workloads:
        inst = Instance(run, rendered, w, f"auth-{mode}/{w.key}")
        problems += [f"{w.key}: {p}" for p in static_problems(run, inst)]
        checked += 1
    intake, gateway = rendered.deployment("intake"), rendered.deployment("gateway")
    started: list[Instance] = []
    notes = []
    try:
        if not problems and intake and gateway:
            a = Instance(run, rendered, intake, f"auth-{mode}/intake")
            started.append(a)
            problems += [f"intake: {p}" for p in a.problems or a.become_ready()]
            g = Instance(run, rendered, gateway, f"auth-{mode}/gateway", peers={f"{RELEASE}-intake": a})
            started.append(g)
            if not problems:
                problems += [f"gateway: {p}" for p in g.problems or g.become_ready()]
            if not problems:
                env = g.env
                iss, aud = env.get("AFTERSALES__AUTH__ISSUER"), env.get("AFTERSALES__AUTH__AUDIENCE")
                good = {k: v for k, v in (("iss", iss), ("aud", aud)) if v}
                port = g.ports[g.container_port("http")]
                cases = [
                    ("signed by the identity provider", jwt_rs256(run.rsa_key, "chart-run-a", claims(**good)), 200),
                    ("HS256 with the dev secret", jwt_hs256(run.hs256, claims(**good)), 401),
                    ("another audience", jwt_rs256(run.rsa_key, "chart-run-a", claims(**{**good, "aud": "someone-else"})), 401),
                    ("signed by a key outside the set", jwt_rs256(run.rsa_other, "chart-run-a", claims(**good)), 401),
                ]
                for name, token, want in cases:
                    code, body = http_get(port, "/v1/requests?page_size=1", 10, {"authorization": f"Bearer {token}"})
                    if code != want:
                        problems.append(f"GET /v1/requests with a token {name}: {code}, want {want}: {body[:200]}")
                notes.append("GET /v1/requests: IdP token → 200; HS256, other aud, foreign key → 401")
                if mode == "jwks":
                    notes.append(f"JWKS fetched {run.idp.fetches}× from the stand-in IdP")
        elif not (intake and gateway):
            problems.append("needs intake and the gateway enabled")
    finally:
        for i in started:
            if i.proc:
                p, note = i.stop()
                problems += [f"{i.label}: {x}" for x in p]
    detail = (f"{checked} workloads: env read by the binaries, config check ok; intake and gateway ready "
              f"with {mode} ({', '.join(notes)}); SIGTERM → exit 0")
    report.result(what, problems, detail, [i.log for i in started] if problems else [])


# ---------------------------------------------------------------------------------------- catalog


SETTINGS_VALUES = CHART / "ci" / "service-settings-values.yaml"


def catalog_run(run: Run, report: Report) -> None:
    """Every service enabled with its settings tuned away from the defaults: each rendered name is
    read by its binary and `config check` accepts each value."""
    names = ["intake", "claims-review", "procurement", "warehouse", "logistics", "field-service", "feedback", "gateway"]
    what = f"catalog: all eight services enabled, settings of {SETTINGS_VALUES.relative_to(CHART)}"
    try:
        rendered = run.render(SETTINGS_VALUES, sets=[f"services.{n}.enabled=true" for n in names])
    except RuntimeError as e:
        report.fail(what, [str(e)])
        return
    problems, env_names = [], 0
    for w in rendered.workloads:
        inst = Instance(run, rendered, w, f"catalog/{w.key}")
        problems += [f"{w.key}: {p}" for p in static_problems(run, inst)]
        env_names += len(inst.env_rendered)
    report.result(what, problems, f"{len(rendered.workloads)} Deployments and Jobs: {env_names} rendered env names, "
                                  f"each read by its binary; config check exit 0 for every one")


# ---------------------------------------------------------------------------------------- fixtures


def fixtures_run(run: Run, baseline: Rendered, report: Report) -> None:
    base = {w.key: baseline.signature(w) for w in baseline.workloads}
    fixtures = []
    for f in sorted((CHART / "ci-bad").glob("*.yaml")):
        text = f.read_text()
        m = re.search(r"^# expect-failure: *([a-z]+)", text, re.M)
        if m and m.group(1) == "run":
            match = re.search(r"^# expect-match: *(.+)$", text, re.M)
            fixtures.append((f, match.group(1).strip() if match else None))
    if not fixtures:
        report.fail("fixtures", ["no charts/aftersales/ci-bad/ set says '# expect-failure: run'"])
        return
    for f, match in fixtures:
        what = f"ci-bad/{f.name}"
        try:
            rendered = run.render(f)
        except RuntimeError as e:
            report.fail(what, [f"expected to fail at run, failed to render instead: {e}"])
            continue
        changed = [w for w in rendered.workloads if base.get(w.key) != rendered.signature(w)]
        if not changed:
            report.fail(what, ["renders no workload differently from the test values: it cannot test anything"])
            continue
        problems = []
        for w in changed:
            if w.kind == "Job":
                problems += [f"{w.key}: {p}" for p in run_job(run, rendered, w, None)]
            else:
                problems += [f"{w.key}: {p}" for p in run_deployment(run, rendered, w, None)]
        if not problems:
            report.fail(what, [f"expected `make chart-run` to reject it, but {', '.join(w.key for w in changed)} "
                               "started and stopped cleanly: the check no longer catches this"])
        elif match and not any(re.search(match, p) for p in problems):
            report.fail(what, [f"rejected, but not with /{match}/:"] + problems[:5])
        else:
            report.ok(what, f"rejected as expected ({problems[0][:220]})")


# ---------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep target/chart-run/<run>/ (logs, volumes) even when all pass")
    parser.add_argument("--only", choices=["main", "replicas", "auth", "catalog", "fixtures"], action="append",
                        help="run only these parts (repeatable); default: all")
    parser.add_argument("--values", action="append", default=[], type=Path,
                        help="another value file over the test values (repeatable), e.g. a ci-bad fixture to see its failures")
    args = parser.parse_args()
    parts = args.only or ["main", "replicas", "auth", "catalog", "fixtures"]

    report = Report()
    started = time.monotonic()
    try:
        run = Run(keep=args.keep)
    except Exception as e:  # noqa: BLE001
        report.fail("setup", [str(e)])
        print(f"chart-run: {report.passed} passed, {report.failed} failed")
        return 1
    log(f"run {run.id}: broker names and Redis keys under '{run.prefix}', databases *_{run.id.lower()}, "
        f"processes as the pods' uid (logs in {run.dir.relative_to(ROOT)})")
    try:
        baseline = run.render(*args.values)
        log("rendered: " + ", ".join(w.key for w in baseline.workloads))
        if "main" in parts:
            main_run(run, baseline, report)
        if "replicas" in parts:
            replicas_run(run, baseline, report)
        if "auth" in parts:
            for mode in ("pem", "jwks"):
                auth_run(run, mode, report)
        if "catalog" in parts:
            catalog_run(run, report)
        if "fixtures" in parts:
            fixtures_run(run, baseline, report)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        report.fail("chart-run", [f"{type(e).__name__}: {e}"])
    finally:
        run.cleanup(ok=report.failed == 0)
    log(f"{time.monotonic() - started:.0f}s")
    print(f"chart-run: {report.passed} passed, {report.failed} failed")
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
