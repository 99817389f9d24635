#!/usr/bin/env python3
"""Invariants of the rendered aftersales chart that neither values.schema.json nor the
Kubernetes schemas can express.

    chart_invariants.py --values charts/aftersales/values.yaml [--values SET.yaml ...] RENDERED.yaml

The value files are merged the way Helm merges them (later files win, null deletes a key), and each
service's block over `serviceDefaults` the way the chart does, to know which services and features
are enabled; the checks then look only at the rendered objects. Every violation is
printed on its own line; the exit status is 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

# The service contract (DESIGN.md §1), kept here independently of the chart's own catalog so a
# template bug cannot hide behind it.
GRPC_PORTS = {
    "intake": 50051,
    "claims-review": 50052,
    "procurement": 50053,
    "warehouse": 50054,
    "logistics": 50055,
    "field-service": 50056,
    "feedback": 50057,
}
ADMIN_PORTS = {name: port + 1000 for name, port in GRPC_PORTS.items()} | {"gateway": 8081}
# The gateway's public API, apart from its admin port.
HTTP_PORTS = {"gateway": 8080}
SERVICES = list(ADMIN_PORTS)
DB_SERVICES = set(GRPC_PORTS)  # every service but the gateway owns a database
REDIS_SERVICES = {"field-service", "gateway"}  # appointment slot holds; rate limits, idempotency, stream
# The services that read a policy file (AFTERSALES__<SERVICE>__POLICY_FILE), and the demo policy
# the chart carries for each (files/<service>-policy.toml) when `policies.<service>` is empty.
POLICY_SERVICES = {"claims-review", "procurement", "logistics", "field-service", "feedback"}
CHART_FILES = Path(__file__).resolve().parent.parent / "charts" / "aftersales" / "files"
POLICY_FILE_ENV = re.compile(r"^AFTERSALES__[A-Z0-9_]+__POLICY_FILE$")

# Names whose value must come from a Secret, never a literal.
SECRET_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|(DATABASE|AMQP|REDIS)__URL)$|CARRIER_SECRETS__")
# Development only: no deployed binary mints tokens (the chart never sets it).
NEVER_RENDERED = {"AFTERSALES__AUTH__DEV_TOKENS"}
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")
# Kubernetes' quantity grammar (resource.Quantity).
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
SUFFIX = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3,
    "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def merge(base: dict, override: dict) -> dict:
    """Helm's coalescing of user values over defaults: maps merge, null deletes."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def quantity(value) -> Decimal | None:
    text = str(value)
    match = QUANTITY.match(text)
    if not match:
        return None
    suffix = match.group(3) or ""
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(text)
        return Decimal(text[: len(text) - len(suffix)]) * SUFFIX[suffix]
    except InvalidOperation:
        return None


def section(name: str) -> str:
    """A service's section in its variables' names (field-service → FIELD_SERVICE)."""
    return name.upper().replace("-", "_")


def effective(values: dict, name: str) -> dict:
    """A service's settings as the chart uses them: its block merged over serviceDefaults."""
    return merge(values.get("serviceDefaults") or {}, (values.get("services") or {}).get(name) or {})


class Checker:
    def __init__(self, values: dict, objects: list[dict]):
        self.values = values
        self.objects = objects
        self.errors: list[str] = []
        self.auth_mode = (values.get("auth") or {}).get("mode", "hs256")

    def error(self, obj: dict | None, message: str) -> None:
        where = f"{obj['kind']}/{obj['metadata']['name']}: " if obj else ""
        self.errors.append(where + message)

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o.get("kind") == kind]

    def for_service(self, kind: str, name: str, component: str = "server") -> list[dict]:
        return [
            o for o in self.of_kind(kind)
            if o["metadata"].get("labels", {}).get("app.kubernetes.io/name") == name
            and o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
        ]

    # ------------------------------------------------------------------ pods

    def check_pod(self, obj: dict, pod: dict, service: str) -> None:
        spec = pod["spec"]
        pod_sc = spec.get("securityContext") or {}
        if spec.get("automountServiceAccountToken") is not False:
            self.error(obj, "pod must set automountServiceAccountToken: false")
        tmp_volumes = {v["name"] for v in spec.get("volumes") or [] if "emptyDir" in v}
        for c in spec.get("containers") or []:
            cname = f"container {c['name']}"
            if obj["kind"] == "Deployment":
                for probe in ("readinessProbe", "livenessProbe"):
                    if not c.get(probe):
                        self.error(obj, f"{cname} has no {probe}")
                if service in GRPC_PORTS:
                    grpc_ports = [
                        c[p]["grpc"].get("port") for p in ("readinessProbe", "livenessProbe")
                        if c.get(p, {}).get("grpc")
                    ]
                    if GRPC_PORTS[service] not in grpc_ports:
                        self.error(obj, f"{cname} has no native gRPC probe on port {GRPC_PORTS[service]}")
            self.check_resources(obj, cname, c.get("resources") or {})
            sc = c.get("securityContext") or {}
            if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
                self.error(obj, f"{cname} may run as root (runAsNonRoot not set)")
            if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                self.error(obj, f"{cname} runs as uid 0")
            if sc.get("readOnlyRootFilesystem") is not True:
                self.error(obj, f"{cname} root filesystem is writable (readOnlyRootFilesystem)")
            if sc.get("allowPrivilegeEscalation") is not False:
                self.error(obj, f"{cname} allows privilege escalation")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                self.error(obj, f"{cname} does not drop ALL capabilities")
            if sc.get("capabilities", {}).get("add"):
                self.error(obj, f"{cname} adds capabilities")
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            if seccomp != "RuntimeDefault":
                self.error(obj, f"{cname} seccompProfile is {seccomp!r}, not RuntimeDefault")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
            if mounts.get("/tmp") not in tmp_volumes:
                self.error(obj, f"{cname} has no emptyDir at /tmp")
            image = c.get("image", "")
            if image.endswith(":latest") or ("@" not in image and ":" not in image.rsplit("/", 1)[-1]):
                self.error(obj, f"{cname} image {image!r} is not pinned to a tag or digest")
            self.check_env(obj, cname, c.get("env") or [])
            self.check_auth_env(obj, cname, c, spec)

    def check_resources(self, obj: dict, cname: str, resources: dict) -> None:
        for part in ("requests", "limits"):
            for res in ("cpu", "memory"):
                value = (resources.get(part) or {}).get(res)
                if value is None:
                    self.error(obj, f"{cname} has no resources.{part}.{res}")
                elif quantity(value) is None:
                    self.error(obj, f"{cname} resources.{part}.{res} {value!r} is not a quantity")
        for res in ("cpu", "memory"):
            req = quantity((resources.get("requests") or {}).get(res, ""))
            lim = quantity((resources.get("limits") or {}).get(res, ""))
            if req is not None and lim is not None and req > lim:
                self.error(obj, f"{cname} requests more {res} than its limit")

    def container_env(self, c: dict) -> dict:
        """name -> EnvVar of a container: its ConfigMaps (envFrom) and then its own env."""
        out: dict = {}
        configmaps = {o["metadata"]["name"]: o for o in self.of_kind("ConfigMap")}
        for src in c.get("envFrom") or []:
            ref = (src.get("configMapRef") or {}).get("name")
            for key, value in ((configmaps.get(ref) or {}).get("data") or {}).items():
                out[key] = {"name": key, "value": value}
        for var in c.get("env") or []:
            out[var["name"]] = var
        return out

    def check_auth_env(self, obj: dict, cname: str, c: dict, spec: dict) -> None:
        """auth.mode decides which auth variables the container gets; *_FILE points into a mount."""
        env = self.container_env(c)
        for name in NEVER_RENDERED & set(env):
            self.error(obj, f"{cname} sets {name}: a deployment never mints tokens")
        want = {
            "hs256": "AFTERSALES__AUTH__JWT_SECRET",
            "jwks": "AFTERSALES__AUTH__JWKS_URL",
            "pem": "AFTERSALES__AUTH__JWT_PUBLIC_KEY_FILE",
        }
        for mode, var in want.items():
            if mode == self.auth_mode and var not in env:
                self.error(obj, f"{cname} has no {var} although auth.mode is {mode}")
            if mode != self.auth_mode and var in env:
                self.error(obj, f"{cname} sets {var} although auth.mode is {self.auth_mode}")
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mounts = c.get("volumeMounts") or []
        for name, var in env.items():
            if not name.endswith("_FILE") or var.get("value") is None:
                continue
            path = var["value"]
            mount = next((m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
            if mount is None:
                self.error(obj, f"{cname} env {name}={path} is under no volumeMount")
                continue
            volume = volumes.get(mount["name"]) or {}
            source = volume.get("secret") or volume.get("configMap")
            rel = path[len(mount["mountPath"].rstrip("/")) + 1:]
            if not source:
                self.error(obj, f"{cname} env {name}: volume {mount['name']} is no Secret or ConfigMap")
            elif source.get("items") and rel not in {i["path"] for i in source["items"]}:
                self.error(obj, f"{cname} env {name}: {rel} is not an item of volume {mount['name']}")

    def check_env(self, obj: dict, cname: str, env: list[dict]) -> None:
        for var in env:
            name, value = var["name"], var.get("value")
            if SECRET_ENV.search(name):
                if value is not None or not (var.get("valueFrom") or {}).get("secretKeyRef"):
                    self.error(obj, f"{cname} env {name} must come from a Secret (secretKeyRef)")
            if value is not None and CREDENTIALS_IN_URL.search(str(value)):
                self.error(obj, f"{cname} env {name} holds credentials in a URL")

    # ------------------------------------------------------------------ checks

    def run(self) -> list[str]:
        services = self.values.get("services", {})
        enabled = [s for s in SERVICES if services.get(s, {}).get("enabled")]
        unknown = set(services) - set(SERVICES)
        if unknown:
            self.error(None, f"values name services outside the contract: {sorted(unknown)}")
        netpols_on = bool(self.values.get("networkPolicies", {}).get("enabled"))

        for secret in self.of_kind("Secret"):
            self.error(secret, "the chart must render no Secret (credentials come from existing Secrets)")
        for cm in self.of_kind("ConfigMap"):
            for key, value in (cm.get("data") or {}).items():
                if key in NEVER_RENDERED:
                    self.error(cm, f"{key} is set: a deployment never mints tokens")
                if SECRET_ENV.search(key):
                    self.error(cm, f"{key} is a secret and must not be in a ConfigMap")
                if CREDENTIALS_IN_URL.search(str(value)):
                    self.error(cm, f"{key} holds credentials in a URL")

        for name in SERVICES:
            svc = effective(self.values, name)
            on = name in enabled
            expected = {
                "Deployment": on,
                "Service": on,
                "ConfigMap": on,
                "ServiceAccount": on,
                "HorizontalPodAutoscaler": on and svc.get("autoscaling", {}).get("enabled", False),
                "PodDisruptionBudget": on and svc.get("podDisruptionBudget", {}).get("enabled", False),
                "NetworkPolicy": on and netpols_on,
                "ServiceMonitor": on and (svc.get("serviceMonitor") or {}).get("enabled", False),
            }
            for kind, want in expected.items():
                found = self.for_service(kind, name)
                if want and len(found) != 1:
                    self.error(None, f"{name}: expected one {kind}, found {len(found)}")
                if not want and found:
                    self.error(None, f"{name}: unexpected {kind} (service or feature disabled)")
            jobs = self.for_service("Job", name, component="migration")
            if on and name in DB_SERVICES and len(jobs) != 1:
                self.error(None, f"{name}: expected one migration Job, found {len(jobs)}")
            if (not on or name not in DB_SERVICES) and jobs:
                self.error(None, f"{name}: unexpected migration Job")
            if not on:
                continue
            for dep in self.for_service("Deployment", name):
                self.check_pod(dep, dep["spec"]["template"], name)
                if expected["HorizontalPodAutoscaler"] and "replicas" in dep["spec"]:
                    self.error(dep, "sets replicas although an HPA scales it")
                sa = dep["spec"]["template"]["spec"].get("serviceAccountName")
                if sa not in {o["metadata"]["name"] for o in self.for_service("ServiceAccount", name)}:
                    self.error(dep, f"serviceAccountName {sa!r} is not the service's ServiceAccount")
            for job in jobs:
                self.check_job(job, name)
            for dep in self.for_service("Deployment", name):
                self.check_dependencies(dep, name)
                self.check_policy(dep, name)
            for np in self.for_service("NetworkPolicy", name):
                self.check_networkpolicy(np, name, enabled)
            for sm in self.for_service("ServiceMonitor", name):
                self.check_servicemonitor(sm, name)

        policy_cms = {cm["metadata"]["name"] for cm in self.of_kind("ConfigMap")
                      if cm["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "policy"}
        wanted_cms = {f"{d['metadata']['name']}-policy" for s in POLICY_SERVICES if s in enabled
                      for d in self.for_service("Deployment", s)}
        for extra in sorted(policy_cms - wanted_cms):
            self.error(None, f"ConfigMap/{extra}: a policy ConfigMap no enabled policy-reading service mounts")
        unknown_policies = set(self.values.get("policies") or {}) - POLICY_SERVICES
        if unknown_policies:
            self.error(None, f"policies names services that read no policy: {sorted(unknown_policies)}")
        for job in self.of_kind("Job"):
            component = job["metadata"].get("labels", {}).get("app.kubernetes.io/component")
            if component != "migration":  # migration Jobs are checked with their service
                self.check_pod(job, job["spec"]["template"], job["metadata"].get("labels", {}).get("app.kubernetes.io/name", "?"))
        self.check_rebuild_job()
        for sa in self.of_kind("ServiceAccount"):
            if sa.get("automountServiceAccountToken") is not False:
                self.error(sa, "must set automountServiceAccountToken: false")
        for ing in self.of_kind("Ingress"):
            for rule in ing["spec"].get("rules") or []:
                for path in (rule.get("http") or {}).get("paths") or []:
                    backend = path["backend"]["service"]["name"]
                    if not backend.endswith("-gateway"):
                        self.error(ing, f"routes to {backend}: only the gateway is exposed")
        self.check_selectors()
        self.check_monitoring()
        return self.errors

    def check_dependencies(self, dep: dict, name: str) -> None:
        """The Secrets a service needs, and only those: its database, the broker, Redis."""
        for c in dep["spec"]["template"]["spec"].get("containers") or []:
            env = self.container_env(c)
            for var, want in (("AFTERSALES__DATABASE__URL", name in DB_SERVICES),
                              ("AFTERSALES__AMQP__URL", True),
                              ("AFTERSALES__REDIS__URL", name in REDIS_SERVICES)):
                if want and var not in env:
                    self.error(dep, f"container {c['name']} has no {var}")
                if not want and var in env:
                    self.error(dep, f"container {c['name']} gets {var}, which {name} does not use")

    def check_policy(self, dep: dict, name: str) -> None:
        """A policy-reading service gets its policy file (the values' or the chart's demo copy)
        from its own ConfigMap, and a checksum that rolls its pods when it changes; no other
        service gets one."""
        pod = dep["spec"]["template"]
        var = f"AFTERSALES__{section(name)}__POLICY_FILE"
        for c in pod["spec"].get("containers") or []:
            env = self.container_env(c)
            others = sorted(n for n in env if POLICY_FILE_ENV.match(n) and n != var)
            if others:
                self.error(dep, f"container {c['name']} sets {others}, not {name}'s own variables")
            if name not in POLICY_SERVICES:
                if var in env:
                    self.error(dep, f"container {c['name']} sets {var}, but {name} reads no policy")
                continue
            path = (env.get(var) or {}).get("value")
            if not path:
                self.error(dep, f"container {c['name']} has no {var}: {name} would run its compiled-in demo policy")
                continue
            mount = next((m for m in c.get("volumeMounts") or []
                          if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
            volume = next((v for v in pod["spec"].get("volumes") or [] if mount and v["name"] == mount["name"]), {})
            cm_name = (volume.get("configMap") or {}).get("name")
            if cm_name != f"{dep['metadata']['name']}-policy":
                self.error(dep, f"{var} is not mounted from the ConfigMap {dep['metadata']['name']}-policy (but {cm_name!r})")
                continue
            cm = next((o for o in self.of_kind("ConfigMap") if o["metadata"]["name"] == cm_name), None)
            if cm is None:
                self.error(dep, f"mounts the policy ConfigMap {cm_name}, which is not rendered")
                continue
            rendered = ((cm.get("data") or {}).get("policy.toml") or "").rstrip("\n")
            own = (self.values.get("policies") or {}).get(name) or ""
            demo = CHART_FILES / f"{name}-policy.toml"
            want = own if own else (demo.read_text() if demo.exists() else None)
            if want is None:
                self.error(cm, f"policies.{name} is empty and the chart carries no {demo.name}")
            elif rendered != want.rstrip("\n"):
                source = f"policies.{name}" if own else f"files/{demo.name}"
                self.error(cm, f"policy.toml is not {source} as given")
        if name in POLICY_SERVICES and "checksum/policy" not in (pod["metadata"].get("annotations") or {}):
            self.error(dep, "has no checksum/policy annotation: a changed policy would not roll its pods")

    def check_rebuild_job(self) -> None:
        """feedback's read-model rebuild: rendered exactly when asked for, with feedback's policy."""
        asked = bool((self.values.get("rebuildReadModel") or {}).get("enabled"))
        jobs = self.for_service("Job", "feedback", component="rebuild-read-model")
        if asked != bool(jobs) or len(jobs) > 1:
            self.error(None, f"rebuildReadModel.enabled is {asked} but {len(jobs)} rebuild Jobs rendered")
        for job in jobs:
            annotations = job["metadata"].get("annotations") or {}
            if "helm.sh/hook" in annotations:
                self.error(job, "is a hook: it must run after the policy ConfigMap exists")
            c = job["spec"]["template"]["spec"]["containers"][0]
            if c.get("command") != ["/usr/local/bin/feedback"] or c.get("args") != ["rebuild-read-model"]:
                self.error(job, "does not run '/usr/local/bin/feedback rebuild-read-model'")
            if "AFTERSALES__FEEDBACK__POLICY_FILE" not in self.container_env(c):
                self.error(job, "has no AFTERSALES__FEEDBACK__POLICY_FILE: it would rebuild with the demo policy")

    def check_monitoring(self) -> None:
        """The PrometheusRule and the dashboard ConfigMap exist exactly when enabled; every alert
        has a runbook; the dashboard is JSON with the sidecar's label."""
        alerts = self.values.get("alerts") or {}
        rules = self.of_kind("PrometheusRule")
        if bool(alerts.get("enabled")) != bool(rules):
            self.error(None, f"alerts.enabled is {alerts.get('enabled')} but {len(rules)} PrometheusRule rendered")
        for rule in rules:
            names = [r.get("alert") for g in rule["spec"].get("groups") or [] for r in g.get("rules") or []]
            if not names:
                self.error(rule, "has no alerts")
            for g in rule["spec"]["groups"]:
                for r in g["rules"]:
                    if "alert" in r and not (r.get("annotations") or {}).get("runbook_url"):
                        self.error(rule, f"{r['alert']} has no runbook_url")
        dashboards = self.values.get("dashboards") or {}
        cms = [cm for cm in self.of_kind("ConfigMap") if cm["metadata"]["name"].endswith("-dashboard")]
        if bool(dashboards.get("enabled")) != bool(cms):
            self.error(None, f"dashboards.enabled is {dashboards.get('enabled')} but {len(cms)} dashboard ConfigMap rendered")
        for cm in cms:
            labels = cm["metadata"].get("labels") or {}
            for k, v in (dashboards.get("labels") or {}).items():
                if labels.get(k) != v:
                    self.error(cm, f"lacks the sidecar label {k}={v}")
            for key, text in (cm.get("data") or {}).items():
                try:
                    board = json.loads(text)
                except ValueError as e:
                    self.error(cm, f"{key} is not JSON: {e}")
                    continue
                if not board.get("panels") or not board.get("uid"):
                    self.error(cm, f"{key} has no panels or no uid")

    def check_job(self, job: dict, name: str) -> None:
        annotations = job["metadata"].get("annotations") or {}
        hooks = set(annotations.get("helm.sh/hook", "").split(","))
        if not {"pre-install", "pre-upgrade"} <= hooks:
            self.error(job, f"helm.sh/hook is {annotations.get('helm.sh/hook')!r}, needs pre-install,pre-upgrade")
        policy = set(annotations.get("helm.sh/hook-delete-policy", "").split(","))
        if not {"before-hook-creation", "hook-succeeded"} <= policy:
            self.error(job, "hook-delete-policy must include before-hook-creation,hook-succeeded")
        pod = job["spec"]["template"]
        containers = pod["spec"].get("containers") or []
        if not any(c.get("args") == ["migrate"] and c.get("command") == [f"/usr/local/bin/{name}"] for c in containers):
            self.error(job, f"does not run '/usr/local/bin/{name} migrate'")
        if not any(
            e["name"] == "AFTERSALES__DATABASE__URL" and (e.get("valueFrom") or {}).get("secretKeyRef")
            for c in containers for e in c.get("env") or []
        ):
            self.error(job, "has no AFTERSALES__DATABASE__URL from a Secret")
        if pod["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
            self.error(job, "restartPolicy must be Never or OnFailure")
        self.check_pod(job, pod, name)

    def check_networkpolicy(self, np: dict, name: str, enabled: list[str]) -> None:
        spec = np["spec"]
        if set(spec.get("policyTypes") or []) != {"Ingress", "Egress"}:
            self.error(np, "policyTypes must be Ingress and Egress")
        allowed_in = {GRPC_PORTS.get(name), HTTP_PORTS.get(name), ADMIN_PORTS[name]} - {None}
        for rule in spec.get("ingress") or []:
            ports = {p.get("port") for p in rule.get("ports") or []}
            if not ports:
                self.error(np, "an ingress rule opens every port")
            if ports - allowed_in:
                self.error(np, f"ingress to ports {sorted(ports - allowed_in)} the service does not serve")
            if ADMIN_PORTS[name] in ports and (ports - {ADMIN_PORTS[name]}):
                self.error(np, "the admin port shares an ingress rule with a public port")
            if name in GRPC_PORTS and GRPC_PORTS[name] in ports:
                peers = rule.get("from") or []
                gateway_only = peers and all(
                    set(p) == {"podSelector"}
                    and p["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "gateway"
                    for p in peers
                )
                if not gateway_only:
                    self.error(np, "the gRPC port must accept only the gateway's pods")
        egress_ports = {p.get("port") for r in spec.get("egress") or [] for p in r.get("ports") or []}
        allowed_out = {53, 4317} | {
            self.values["networkPolicies"]["egress"][k]["port"] for k in ("dns", "otlp")
        }
        if self.auth_mode == "jwks":
            allowed_out.add(self.values["networkPolicies"]["egress"]["identityProvider"]["port"])
        ports = {k: self.values["networkPolicies"]["egress"][k]["port"] for k in ("postgres", "rabbitmq", "redis")}
        needed = {ports["rabbitmq"]}
        # The gateway's photo bucket, only when the photos are in S3 (local ones are on its disk).
        if name not in GRPC_PORTS and self.values.get("photos", {}).get("backend") == "s3":
            needed.add(self.values["networkPolicies"]["egress"]["objectStorage"]["port"])
        # Intake's messages: its SMTP server, and the branches' systems and the SMS provider.
        notifications = self.values.get("notifications", {})
        if name == "intake" and notifications.get("smtpUrl"):
            needed.add(self.values["networkPolicies"]["egress"]["smtp"]["port"])
        if name == "intake" and (notifications.get("webhooks") or notifications.get("smsProvider") == "http"):
            needed.add(self.values["networkPolicies"]["egress"]["notificationHttps"]["port"])
        if name in DB_SERVICES:
            needed.add(ports["postgres"])
        if name in REDIS_SERVICES:
            needed.add(ports["redis"])
        if name not in GRPC_PORTS:
            needed |= {GRPC_PORTS[s] for s in enabled if s in GRPC_PORTS}
        allowed_out |= needed
        if None in egress_ports or any(not r.get("ports") for r in spec.get("egress") or []):
            self.error(np, "an egress rule opens every port")
        if egress_ports - allowed_out:
            self.error(np, f"egress to unexpected ports {sorted(p for p in egress_ports - allowed_out if p)}")
        if needed - egress_ports:
            self.error(np, f"no egress to ports {sorted(needed - egress_ports)} the service needs")

    def check_servicemonitor(self, sm: dict, name: str) -> None:
        services = self.for_service("Service", name)
        selector = (sm["spec"].get("selector") or {}).get("matchLabels") or {}
        if not services or not selector or not selector.items() <= services[0]["metadata"].get("labels", {}).items():
            self.error(sm, "selector does not select the service's Service")
            return
        port_names = {p.get("name") for p in services[0]["spec"].get("ports") or []}
        admin = {p.get("name") for p in services[0]["spec"].get("ports") or [] if p.get("port") == ADMIN_PORTS[name]}
        for ep in sm["spec"].get("endpoints") or []:
            if ep.get("port") not in port_names:
                self.error(sm, f"endpoint port {ep.get('port')!r} is not a port of the Service")
            elif ep.get("port") not in admin:
                self.error(sm, f"endpoint port {ep.get('port')!r} is not the admin port {ADMIN_PORTS[name]}")
            if ep.get("path", "/metrics") != "/metrics":
                self.error(sm, f"endpoint path {ep.get('path')!r} is not /metrics")
        if not sm["spec"].get("endpoints"):
            self.error(sm, "has no endpoints")

    def check_selectors(self) -> None:
        pods = [(o, o["spec"]["template"]["metadata"].get("labels") or {})
                for o in self.objects if o.get("kind") in ("Deployment", "Job")]
        for svc in self.of_kind("Service"):
            selector = svc["spec"].get("selector") or {}
            matched = [o for o, labels in pods if selector and selector.items() <= labels.items()]
            kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in matched)
            if len(matched) != 1 or matched[0]["kind"] != "Deployment":
                self.error(svc, f"selector must match exactly one Deployment's pods, matches {kinds}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", action="append", default=[], help="value file, in Helm's order")
    parser.add_argument("rendered", help="output of helm template")
    args = parser.parse_args()

    values: dict = {}
    for path in args.values:
        with open(path) as f:
            values = merge(values, yaml.safe_load(f) or {})
    with open(args.rendered) as f:
        objects = [o for o in yaml.safe_load_all(f) if o]

    errors = Checker(values, objects).run()
    for e in errors:
        print(f"invariant violated: {e}")
    if errors:
        return 1
    print(f"invariants: ok ({len(objects)} objects)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
