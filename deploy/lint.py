"""Checks deploy/ and docs/operations.md; run through deploy/lint.

- docker-compose.yml parses, follows the Compose specification (its JSON schema, with
  check-jsonschema), has the services postgres, migrate, api and worker (two
  replicas), starts them in order (postgres healthy -> migrate succeeded -> api, worker), runs
  subcommands the binary has, and sets only environment variables the binary reads.
- The Helm chart: Chart.yaml and values.yaml parse; with `helm` installed, `helm lint` and
  `helm template` (whose output must parse); without it, every template parses as YAML once
  its `{{ }}` actions are replaced by placeholders, its blocks are balanced, every `.Values.x`
  it reads exists in values.yaml and every template it includes is defined.
- Every AUTOMATRIX_* variable named in deploy/, README.md or docs/operations.md is one the
  binary reads, and docs/operations.md documents every one the binary reads.

"The variables the binary reads" are the string literals `"AUTOMATRIX_…"` and `"DATABASE_URL"`
in crates/*/src, so renaming one in the code fails this lint until the deployment files and the
docs follow. (OTEL_* and RUST_LOG are read by libraries and are not checked.)
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "automatrix"
DOCS = ROOT / "docs" / "operations.md"

ENV_NAME = re.compile(r"\b(AUTOMATRIX_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL)\b")
# Variables only tests read.
TEST_ONLY = re.compile(r"^AUTOMATRIX_(TEST_|BLESS$)")

errors = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def rel(path):
    return path.relative_to(ROOT)


def known_variables():
    names = set()
    for source in ROOT.glob("crates/*/src/**/*.rs"):
        for name in re.findall(r'"(AUTOMATRIX_[A-Z0-9_]+|DATABASE_URL)"', source.read_text()):
            if not TEST_ONLY.match(name):
                names.add(name)
    return names


def subcommands():
    """The kebab-case names of `enum Command`'s variants in crates/automatrix/src/cli.rs."""
    text = (ROOT / "crates/automatrix/src/cli.rs").read_text()
    block = re.search(r"pub enum Command \{\n(.*?)\n\}", text, re.S)
    if not block:
        fail("crates/automatrix/src/cli.rs", "no `pub enum Command` found")
        return set()
    variants = re.findall(r"^    ([A-Z][A-Za-z]*)\b", block.group(1), re.M)
    return {re.sub(r"(?<!^)([A-Z])", r"-\1", v).lower() for v in variants}


def load(path):
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        fail(rel(path), f"not valid YAML: {e}")
        return None


def check_names_in(path, known):
    for name in sorted(set(ENV_NAME.findall(path.read_text()))):
        if name not in known and not TEST_ONLY.match(name):
            fail(rel(path), f"{name} is not a variable the binary reads")


def check_compose(known, commands):
    path = DEPLOY / "docker-compose.yml"
    compose = load(path)
    if not isinstance(compose, dict):
        return
    check_compose_schema(path)
    where = rel(path)
    services = compose.get("services") or {}
    for name in ("postgres", "migrate", "api", "worker"):
        if name not in services:
            fail(where, f"no `{name}` service")
    if not all(n in services for n in ("postgres", "migrate", "api", "worker")):
        return
    if "healthcheck" not in services["postgres"]:
        fail(where, "postgres has no healthcheck")
    wants = {
        "migrate": ("postgres", "service_healthy"),
        "api": ("migrate", "service_completed_successfully"),
        "worker": ("migrate", "service_completed_successfully"),
    }
    for name, (dep, condition) in wants.items():
        got = ((services[name].get("depends_on") or {}).get(dep) or {}).get("condition")
        if got != condition:
            fail(where, f"{name} must depend on {dep} with condition {condition}, has {got}")
    replicas = (services["worker"].get("deploy") or {}).get("replicas")
    if replicas != 2:
        fail(where, f"worker replicas must be 2, is {replicas}")
    expected = {"migrate": "migrate", "api": "serve", "worker": "worker"}
    for name, command in expected.items():
        service = services[name]
        args = service.get("command") or []
        if not args or args[0] != command:
            fail(where, f"{name} must run `{command}`, runs {args}")
        elif args[0] not in commands:
            fail(where, f"{name}: `{args[0]}` is not a subcommand of the binary")
        env = service.get("environment") or {}
        if not isinstance(env, dict):
            fail(where, f"{name}: environment must be a mapping")
            continue
        for key in env:
            if key not in known:
                fail(where, f"{name}: {key} is not a variable the binary reads")
        for secret in ("AUTOMATRIX_SECRET_KEY", "DATABASE_URL"):
            value = str(env.get(secret, ""))
            if "${" not in value:
                fail(where, f"{name}: {secret} must come from the environment (${{...}}), not the file")
        if not str(env.get("DATABASE_URL", "")).startswith("postgres://"):
            fail(where, f"{name}: DATABASE_URL must be the postgres service's")


def check_compose_schema(path):
    """The Compose specification's JSON schema (vendored by check-jsonschema, no network)."""
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        print("deploy/lint: check-jsonschema is not installed: the compose file was not checked "
              "against the Compose specification")
        return
    out = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                          "vendor.compose-spec", str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        fail(rel(path), f"does not follow the Compose specification:\n{out.stdout}{out.stderr}")


def strip_actions(text):
    """The template with its `{{ }}` actions replaced: lines holding only actions are dropped,
    other actions become the scalar TPL."""
    out = []
    for line in text.splitlines():
        if not re.sub(r"\{\{.*?\}\}", "", line).strip():
            continue
        out.append(re.sub(r"\{\{.*?\}\}", "TPL", line))
    return "\n".join(out)


def check_template_blocks(path, text, defined, values):
    where = rel(path)
    if text.count("{{") != text.count("}}"):
        fail(where, "unbalanced {{ and }}")
    actions = re.findall(r"\{\{-?\s*(.*?)\s*-?\}\}", text, re.S)
    depth = 0
    for action in actions:
        word = action.split()[0] if action.split() else ""
        if word in ("if", "range", "with", "define", "block"):
            depth += 1
        elif word == "end":
            depth -= 1
            if depth < 0:
                fail(where, "an {{ end }} without its block")
                depth = 0
    if depth:
        fail(where, f"{depth} block(s) without {{{{ end }}}}")
    for name in re.findall(r'\b(?:include|template)\s+"([^"]+)"', text):
        if name not in defined:
            fail(where, f'includes "{name}", which no template defines')
    for ref in re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
        node = values
        for part in ref.strip(".").split("."):
            if not isinstance(node, dict) or part not in node:
                fail(where, f".Values{ref} is not in values.yaml")
                break
            node = node[part]


def check_chart_structure(values):
    templates = sorted((CHART / "templates").iterdir())
    texts = {p: p.read_text() for p in templates}
    defined = {n for t in texts.values() for n in re.findall(r'\{\{-?\s*define\s+"([^"]+)"', t)}
    for path, text in texts.items():
        check_template_blocks(path, text, defined, values)
        if path.suffix != ".yaml":
            continue
        try:
            docs = [d for d in yaml.safe_load_all(strip_actions(text)) if d is not None]
        except yaml.YAMLError as e:
            fail(rel(path), f"not valid YAML once its actions are replaced: {e}")
            continue
        for doc in docs:
            if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= doc.keys():
                fail(rel(path), "a document without apiVersion, kind and metadata")
            elif doc["kind"] == "Deployment":
                check_probes(path, doc)


def check_probes(path, deployment):
    """Every container of a Deployment is probed on /health/live and /health/ready, runs
    without privileges and on a read-only root file system."""
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    if not containers:
        fail(rel(path), "a Deployment without containers")
    for c in containers:
        for probe, want in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
            got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
            if got != want:
                fail(rel(path), f"{c.get('name')}: {probe} must GET {want}, has {got}")
        if "securityContext" not in c:
            fail(rel(path), f"{c.get('name')}: no securityContext")


def check_chart_with_helm(helm):
    sets = ["--set", "secret.databaseUrl=postgres://u:p@db:5432/automatrix",
            "--set", "secret.secretKey=lint-secret-key-0123456789abcdef0123"]
    lint = subprocess.run([helm, "lint", "--strict", str(CHART), *sets], capture_output=True, text=True)
    if lint.returncode != 0:
        fail(rel(CHART), f"helm lint failed:\n{lint.stdout}{lint.stderr}")
    for extra in ([], ["--set", "metrics.serviceMonitor.enabled=true", "--set", "secret.existingSecret=x"]):
        out = subprocess.run([helm, "template", "lint", str(CHART), *sets, *extra],
                             capture_output=True, text=True)
        if out.returncode != 0:
            fail(rel(CHART), f"helm template failed:\n{out.stderr}")
            continue
        try:
            list(yaml.safe_load_all(out.stdout))
        except yaml.YAMLError as e:
            fail(rel(CHART), f"helm template printed invalid YAML: {e}")


def check_chart(known):
    chart = load(CHART / "Chart.yaml")
    values = load(CHART / "values.yaml")
    if not isinstance(chart, dict) or not isinstance(values, dict):
        return
    where = rel(CHART / "Chart.yaml")
    if chart.get("apiVersion") != "v2":
        fail(where, "apiVersion must be v2")
    for key in ("name", "version", "appVersion"):
        if not chart.get(key):
            fail(where, f"no {key}")
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", str(chart.get("version", ""))):
        fail(where, "version must be SemVer")
    security = values.get("securityContext") or {}
    pod_security = values.get("podSecurityContext") or {}
    if not (security.get("readOnlyRootFilesystem") and pod_security.get("runAsNonRoot")
            and "ALL" in ((security.get("capabilities") or {}).get("drop") or [])):
        fail(rel(CHART / "values.yaml"),
             "processes must run as non-root, on a read-only root, with every capability dropped")
    for key in values.get("config") or {}:
        if key not in known:
            fail(rel(CHART / "values.yaml"), f"config.{key} is not a variable the binary reads")
    check_chart_structure(values)
    helm = shutil.which("helm")
    if helm:
        check_chart_with_helm(helm)
        print("deploy/lint: helm lint and helm template ran")
    else:
        print("deploy/lint: helm is not installed: the chart was checked structurally only "
              "(templates parse with placeholders, blocks balance, values and includes exist)")


def check_docs(known):
    if not DOCS.exists():
        fail(rel(DOCS), "missing")
        return
    text = DOCS.read_text()
    for name in sorted(known - set(ENV_NAME.findall(text))):
        fail(rel(DOCS), f"{name} (read by the binary) is not documented")


# (file, text, replacement, the error it must cause): breakages the lint must catch.
MUTATIONS = [
    ("deploy/docker-compose.yml", "  api:\n", "  api:\n   x: [\n", "not valid YAML"),
    ("deploy/docker-compose.yml", "replicas: 2", "replicas: 3", "worker replicas must be 2"),
    ("crates/automatrix/src/config.rs", '"AUTOMATRIX_DRAIN_SECS"', '"AUTOMATRIX_DRAIN_SECONDS"',
     "AUTOMATRIX_DRAIN_SECS is not a variable the binary reads"),
    ("deploy/helm/automatrix/templates/api-service.yaml", "  type: ", " type: ",
     "not valid YAML once its actions are replaced"),
    ("deploy/helm/automatrix/templates/migrate-job.yaml", "{{- end }}\n", "", "without {{ end }}"),
    ("deploy/helm/automatrix/templates/worker-deployment.yaml", ".Values.worker.concurrency",
     ".Values.worker.threads", ".Values.worker.threads is not in values.yaml"),
    ("deploy/helm/automatrix/templates/worker-deployment.yaml", "path: /health/ready",
     "path: /ready", "readinessProbe must GET /health/ready"),
]


def self_test():
    """Runs the lint on copies of the tree, each with one breakage of MUTATIONS, and fails
    unless each adds the error it must."""
    def lint_errors(tree):
        out = subprocess.run([sys.executable, str(tree / "deploy/lint.py")], capture_output=True,
                             text=True)
        return {line for line in out.stderr.splitlines() if line.startswith("deploy/lint: ")}

    def copy():
        tree = Path(tempfile.mkdtemp(prefix="automatrix-lint-"))
        for part in ("deploy", "docs", "README.md", *(str(p.relative_to(ROOT))
                                                      for p in ROOT.glob("crates/*/src"))):
            source, target = ROOT / part, tree / part
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
        return tree

    baseline_tree = copy()
    baseline = lint_errors(baseline_tree)
    shutil.rmtree(baseline_tree)
    missed = []
    for path, old, new, expected in MUTATIONS:
        tree = copy()
        try:
            target = tree / path
            text = target.read_text()
            if old not in text:
                missed.append(f"{path}: the self-test's text {old!r} is gone; update MUTATIONS")
                continue
            target.write_text(text.replace(old, new, 1))
            added = lint_errors(tree) - baseline
            if not any(expected in e for e in added):
                missed.append(f"{path}: {old!r} -> {new!r} did not fail with `{expected}`")
        finally:
            shutil.rmtree(tree)
    for m in missed:
        print(f"deploy/lint --self-test: {m}", file=sys.stderr)
    if missed:
        sys.exit(1)
    print(f"deploy/lint --self-test: ok ({len(MUTATIONS)} breakages caught)")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    known = known_variables()
    if "AUTOMATRIX_SECRET_KEY" not in known:
        fail("crates", "found none of the binary's environment variables")
    check_compose(known, subcommands())
    check_chart(known)
    for path in [DEPLOY / "Dockerfile", DEPLOY / "env.example", DOCS, ROOT / "README.md",
                 *sorted(p for p in CHART.rglob("*") if p.is_file())]:
        if path.exists():
            check_names_in(path, known)
    check_docs(known)
    if errors:
        for e in errors:
            print(f"deploy/lint: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"deploy/lint: ok ({len(known)} known variables)")


if __name__ == "__main__":
    main()
