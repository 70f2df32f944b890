#!/usr/bin/env bash
# Checks everything in deploy/ without a Docker engine or a cluster:
#   1. every YAML file parses, every JSON file parses;
#   2. `docker-compose config` (or `docker compose config`) accepts compose.yaml;
#   3. the Kubernetes manifests validate against the Kubernetes schemas (kubernetes-validate,
#      strict) and build with kustomize; the KEDA objects, which have no schema there, are
#      checked by hand: each scales an existing Deployment on an existing queue;
#   4. the RabbitMQ definitions hold exactly the topology of crates/gongkai-queue;
#   5. Prometheus scrapes every service on the port it listens on, and every gongkai metric the
#      Grafana dashboard queries is one the services export (crates/gongkai-telemetry);
#   6. the Dockerfile builds every binary that compose and Kubernetes run, and its build context
#      leaves out build outputs (Dockerfile.dockerignore);
#   7. no password is written in deploy/ (compose takes them from the generated deploy/.env,
#      the RabbitMQ definitions hold no user), compose publishes ports on loopback only, and
#      the gateway's liveness does not follow PostgreSQL or RabbitMQ.
# Missing tools are installed from PyPI / Debian when possible (set CHECK_NO_INSTALL=1 to skip
# that); a check whose tool cannot be had fails, it is not skipped.
#
# Usage: deploy/check.sh        (exit status 0 when every check passes)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$here"

passed=0
failed=0
pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
run() {
    local name="$1"
    shift
    local log
    log="$(mktemp)"
    if "$@" >"$log" 2>&1; then
        pass "$name"
    else
        fail "$name"
        sed 's/^/     /' "$log"
    fi
    rm -f "$log"
}

ensure_python_module() {
    local module="$1" package="$2"
    if ! python3 -c "import $module" 2>/dev/null && [ -z "${CHECK_NO_INSTALL:-}" ]; then
        python3 -m pip install --quiet "$package" >/dev/null 2>&1 || true
    fi
}
ensure_python_module yaml pyyaml
if ! command -v kubernetes-validate >/dev/null 2>&1 && [ -z "${CHECK_NO_INSTALL:-}" ]; then
    python3 -m pip install --quiet kubernetes-validate >/dev/null 2>&1 || true
fi
compose=()
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
elif [ -z "${CHECK_NO_INSTALL:-}" ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null 2>&1 || true
    command -v docker-compose >/dev/null 2>&1 && compose=(docker-compose)
fi

# 1. syntax
run "YAML files parse" python3 - <<'EOF'
import pathlib, sys, yaml
bad = []
for path in sorted(pathlib.Path(".").rglob("*.y*ml")):
    try:
        list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as error:
        bad.append(f"{path}: {error}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
run "JSON files parse" python3 - <<'EOF'
import json, pathlib, sys
bad = []
for path in sorted(pathlib.Path(".").rglob("*.json")):
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        bad.append(f"{path}: {error}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF

# 2. compose
if [ "${#compose[@]}" -gt 0 ]; then
    # The passwords come from deploy/.env (deploy/generate-env.sh); stand-ins for the check.
    run "compose.yaml is accepted by '${compose[*]} config'" \
        env POSTGRES_PASSWORD=check RABBITMQ_PASSWORD=check GRAFANA_PASSWORD=check \
        "${compose[@]}" --project-name gongkai -f compose.yaml config --quiet
else
    fail "compose.yaml: neither 'docker compose' nor 'docker-compose' is available"
fi

# 3. Kubernetes
k8s_files=(k8s/namespace.yaml k8s/configmap.yaml k8s/gateway.yaml k8s/networkpolicy.yaml
    k8s/parse-worker.yaml k8s/validate-worker.yaml k8s/archive-worker.yaml k8s/keda.yaml)
if command -v kubernetes-validate >/dev/null 2>&1; then
    run "Kubernetes manifests validate (strict)" \
        kubernetes-validate --strict --quiet --no-warn "${k8s_files[@]}"
else
    fail "Kubernetes manifests: kubernetes-validate is not available"
fi
if command -v kubectl >/dev/null 2>&1; then
    run "kustomization builds" kubectl kustomize k8s
fi
run "KEDA ScaledObjects scale existing Deployments on existing queues" python3 - <<'EOF'
import json, pathlib, sys, yaml
docs = [d for p in sorted(pathlib.Path("k8s").glob("*.yaml"))
        for d in yaml.safe_load_all(p.read_text()) if d]
deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
auths = {d["metadata"]["name"] for d in docs if d["kind"] == "TriggerAuthentication"}
queues = {q["name"] for q in json.load(open("rabbitmq/definitions.json"))["queues"]}
scaled = [d for d in docs if d["kind"] == "ScaledObject"]
errors = []
for obj in scaled:
    spec = obj["spec"]
    target = spec["scaleTargetRef"]["name"]
    if target not in deployments:
        errors.append(f"{obj['metadata']['name']}: no Deployment {target}")
    if not 0 <= spec.get("minReplicaCount", 0) <= spec["maxReplicaCount"]:
        errors.append(f"{obj['metadata']['name']}: replica bounds")
    for trigger in spec["triggers"]:
        meta = trigger["metadata"]
        if trigger["type"] != "rabbitmq" or meta.get("protocol") != "http":
            errors.append(f"{obj['metadata']['name']}: not a RabbitMQ management-API trigger")
        if meta.get("queueName") not in queues:
            errors.append(f"{obj['metadata']['name']}: unknown queue {meta.get('queueName')}")
        if meta.get("mode") not in ("QueueLength", "MessageRate"):
            errors.append(f"{obj['metadata']['name']}: mode {meta.get('mode')}")
        if trigger.get("authenticationRef", {}).get("name") not in auths:
            errors.append(f"{obj['metadata']['name']}: authenticationRef")
workers = {d for d in deployments if d.endswith("-worker")}
if {o["spec"]["scaleTargetRef"]["name"] for o in scaled} != workers:
    errors.append(f"every worker needs exactly one ScaledObject: {sorted(workers)}")
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF

# 4. RabbitMQ topology = crates/gongkai-queue/src/topology.rs
run "RabbitMQ definitions match the topology the services declare" python3 - "$repo" <<'EOF'
import json, pathlib, re, sys
repo = pathlib.Path(sys.argv[1])
source = (repo / "crates/gongkai-queue/src/topology.rs").read_text()
def const(name):
    match = re.search(rf"pub const {name}: [^=]+= ([^;]+);", source)
    if not match:
        sys.exit(f"{name} not found in topology.rs")
    return match.group(1).strip()
exchange = json.loads(const("EXCHANGE"))
dlx = json.loads(const("DEAD_LETTER_EXCHANGE"))
retry_exchange = json.loads(const("RETRY_EXCHANGE"))
delivery_limit = int(const("DELIVERY_LIMIT"))
retry_ms = int(re.search(r"from_secs\((\d+)\)", const("RETRY_DELAY")).group(1)) * 1000
stages = ["parse", "validate", "archive"]
expected_queues = {}
expected_bindings = set()
for stage in stages:
    queue = f"{exchange}.{stage}"
    expected_queues[queue] = {"x-queue-type": "quorum", "x-delivery-limit": delivery_limit,
                              "x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": stage}
    expected_queues[f"{queue}.dlq"] = {"x-queue-type": "quorum"}
    expected_queues[f"{queue}.retry"] = {"x-queue-type": "quorum", "x-message-ttl": retry_ms,
                                         "x-dead-letter-exchange": exchange,
                                         "x-dead-letter-routing-key": stage}
    expected_bindings |= {(exchange, queue, stage), (dlx, f"{queue}.dlq", stage),
                          (retry_exchange, f"{queue}.retry", stage)}
definitions = json.load(open("rabbitmq/definitions.json"))
errors = []
exchanges = {e["name"]: e["type"] for e in definitions["exchanges"]}
if exchanges != {exchange: "topic", dlx: "direct", retry_exchange: "direct"}:
    errors.append(f"exchanges {exchanges}")
queues = {q["name"]: q["arguments"] for q in definitions["queues"]}
if queues != expected_queues:
    errors.append(f"queues differ:\n  have {queues}\n  want {expected_queues}")
if not all(q["durable"] for q in definitions["queues"]):
    errors.append("every queue must be durable")
bindings = {(b["source"], b["destination"], b["routing_key"]) for b in definitions["bindings"]}
if bindings != expected_bindings:
    errors.append(f"bindings differ: extra {bindings - expected_bindings}, "
                  f"missing {expected_bindings - bindings}")
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF

# 5. Prometheus targets and dashboard metrics
run "Prometheus scrapes each compose service on its METRICS_ADDR port" python3 - <<'EOF'
import sys, yaml
compose = yaml.safe_load(open("compose.yaml"))
prometheus = yaml.safe_load(open("prometheus/prometheus.yml"))
targets = {t for job in prometheus["scrape_configs"] for group in job["static_configs"]
           for t in group["targets"]}
errors = []
for name, service in compose["services"].items():
    address = (service.get("environment") or {}).get("METRICS_ADDR")
    if address and f"{name}:{address.rsplit(':', 1)[1]}" not in targets:
        errors.append(f"{name} exposes metrics on {address} but Prometheus does not scrape it")
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF
run "every gongkai metric in the dashboard is exported by the services" python3 - "$repo" <<'EOF'
import json, pathlib, re, sys
repo = pathlib.Path(sys.argv[1])
source = (repo / "crates/gongkai-telemetry/src/metrics.rs").read_text()
registered = set(re.findall(r'"(gongkai_[a-z_]+)"', source))
exported = set(registered)
for name in registered:
    exported |= {name + "_total", name + "_bucket", name + "_sum", name + "_count"}
dashboard = json.load(open("grafana/dashboards/gongkai.json"))
used = {m for panel in dashboard["panels"] for target in panel.get("targets", [])
        for m in re.findall(r"\b(gongkai_[a-z_]+)", target["expr"])}
missing = sorted(used - exported)
print("not exported:", missing) if missing else None
if not used:
    missing = ["the dashboard queries no gongkai metric"]
sys.exit(1 if missing else 0)
EOF

# 6. Dockerfile covers every binary that is deployed
run "the Dockerfile builds and ships every deployed binary" python3 - "$repo" <<'EOF'
import pathlib, re, sys, yaml
repo = pathlib.Path(sys.argv[1])
dockerfile = pathlib.Path("Dockerfile").read_text()
stages = set(re.findall(r"^FROM \S+ AS (\S+)", dockerfile, re.M))
copied = set(re.search(r"for binary in ([^;]+);", dockerfile).group(1).split())
entrypoints = set(re.findall(r'ENTRYPOINT \["/usr/local/bin/([^"]+)"\]', dockerfile))
errors = []
if not entrypoints <= copied:
    errors.append(f"entrypoints not copied: {entrypoints - copied}")
compose = yaml.safe_load(open("compose.yaml"))
for name, service in compose["services"].items():
    target = (service.get("build") or {}).get("target")
    if target and target not in stages:
        errors.append(f"compose service {name} builds missing stage {target}")
# Every [[bin]] / package binary named in the workspace's services must be among those copied
# (when the service crates exist).
declared = set()
for manifest in (repo / "services").glob("*/Cargo.toml"):
    text = manifest.read_text()
    declared |= set(re.findall(r'^\s*name\s*=\s*"(gongkai[a-z-]*)"', text.split("[[bin]]", 1)[-1], re.M))
missing = {b for b in copied if declared and b not in declared}
if missing:
    errors.append(f"copied binaries that no service crate declares yet: {sorted(missing)}")
ignore = pathlib.Path("Dockerfile.dockerignore")
patterns = ignore.read_text().split() if ignore.exists() else []
for needed in ("target", "target-*", ".git"):
    if needed not in patterns:
        errors.append(f"Dockerfile.dockerignore must exclude {needed} from the build context")
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF

# 7. credentials, exposure and probes
run "no password in deploy/, ports on loopback, gateway liveness independent of its backends" python3 - <<'EOF'
import json, pathlib, re, sys, yaml
errors = []
definitions = json.load(open("rabbitmq/definitions.json"))
if definitions.get("users") or definitions.get("permissions"):
    errors.append("rabbitmq/definitions.json must hold no user (and so no password hash)")
compose = yaml.safe_load(open("compose.yaml"))
for name, service in compose["services"].items():
    for key, value in (service.get("environment") or {}).items():
        value = str(value)
        if re.search(r"PASS|SECRET|TOKEN", key) and not re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", value):
            errors.append(f"compose {name}: {key} is written out instead of taken from deploy/.env")
        # user:password@ in a URL must take the password from the environment
        for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
            if not password.startswith("${"):
                errors.append(f"compose {name}: {key} holds a literal password")
    for port in service.get("ports") or []:
        if not str(port).startswith("127.0.0.1:"):
            errors.append(f"compose {name}: port {port} is published beyond loopback")
for path in sorted(pathlib.Path("k8s").glob("*.yaml")):
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "Secret" and doc.get("data", doc.get("stringData")):
            errors.append(f"{path}: a Secret with values belongs outside the repository")
gateway = [d for d in yaml.safe_load_all(open("k8s/gateway.yaml")) if d and d["kind"] == "Deployment"][0]
container = gateway["spec"]["template"]["spec"]["containers"][0]
liveness = container.get("livenessProbe", {})
if liveness.get("httpGet", {}).get("path") != "/livez":
    errors.append("the gateway's liveness probe must be /livez (readiness follows the backends)")
policies = [d for p in pathlib.Path("k8s").glob("*.yaml") for d in yaml.safe_load_all(p.read_text())
            if d and d.get("kind") == "NetworkPolicy"]
if not any(p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
           == "gongkai-gateway" for p in policies):
    errors.append("no NetworkPolicy selects the gateway")
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF

echo "deploy checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
