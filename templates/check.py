#!/usr/bin/env python3
"""Checks the built-in workflow templates in this directory (stdlib only).

For every templates/<slug>.json:
  1. the file format (docs/templates.md): fields, slug, category, parameters, placeholders;
  2. substitutes each parameter's example (credential parameters: a fixed UUID) into the
     definition, following the substitution rules, and runs
     `automatrix validate` on the result (binary: $AUTOMATRIX_BIN, default
     ~/.cache/automatrix-target/debug/automatrix); any problem fails the check.

With --run it also runs each instantiated definition offline with `automatrix run` on its
sample_input, with the nodes a dry run stands in for replaced by stand-ins that still evaluate
their config (messages, HTTP calls and kv writes become transform.set, delays flow.noop, an
approval approves). That is an approximation of a dry run, not the real thing.

Usage: python3 templates/check.py [--run [--verbose]] [FILE ...]
Exit status 0 when every template passes.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("AUTOMATRIX_BIN", os.path.expanduser("~/.cache/automatrix-target/debug/automatrix"))
CRED_UUID = "00000000-0000-0000-0000-000000000001"

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
PARAM_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NODE_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
PLACEHOLDER_RE = re.compile(r"\[\[\s*([^\[\]]*?)\s*\]\]")
WHOLE_RE = re.compile(r"^\[\[\s*([^\[\]]*?)\s*\]\]$")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
URL_RE = re.compile(r"^https?://[^\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{7,20}$")

CATEGORIES = {"Sales", "Service", "Parts", "Marketing"}
TYPES = {"string", "number", "boolean", "email", "url", "phone", "credential", "enum"}
CRED_TYPES = {"smtp", "http_bearer", "http_basic", "http_header", "http_query", "twilio", "chat_webhook", "postgres"}
TOP_FIELDS = {"slug", "name", "category", "description", "parameters", "definition", "sample_input"}
PARAM_FIELDS = {"name", "type", "required", "example", "default", "description", "options", "credential_type"}
TRIGGERS = {"trigger.manual", "trigger.webhook", "trigger.schedule", "trigger.error"}
# The node types a dry run stands in for; the brief forbids some outright.
FORBIDDEN_TYPES = {"db.query", "flow.subworkflow"}


def value_ok(ptype, value, param):
    """Whether `value` is a realistic value of the parameter's type."""
    if ptype == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ptype == "boolean":
        return isinstance(value, bool)
    if not isinstance(value, str) or not value.strip():
        return False
    if ptype == "email":
        return bool(EMAIL_RE.match(value))
    if ptype == "url":
        return bool(URL_RE.match(value))
    if ptype == "phone":
        return bool(PHONE_RE.match(value)) and sum(c.isdigit() for c in value) >= 7
    if ptype == "enum":
        return value in (param.get("options") or [])
    return True  # string


def walk_strings(value, path, out):
    """Collects (path, string) for every string in a JSON value, object keys included."""
    if isinstance(value, str):
        out.append((path, value))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            walk_strings(v, f"{path}[{i}]", out)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.append((f"{path}.<key {k}>", k))
            walk_strings(v, f"{path}.{k}", out)
    return out


def as_text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


def substitute(value, params):
    """The substitution rules of docs/templates.md."""
    if isinstance(value, str):
        m = WHOLE_RE.match(value)
        if m:
            return params[m.group(1)]
        return PLACEHOLDER_RE.sub(lambda m: as_text(params[m.group(1)]), value)
    if isinstance(value, list):
        return [substitute(v, params) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, params) for k, v in value.items()}
    return value


def check_format(t, fname):
    errs = []
    slug = os.path.splitext(os.path.basename(fname))[0]
    if not isinstance(t, dict):
        return ["the file is not a JSON object"]
    for k in TOP_FIELDS - set(t):
        errs.append(f"missing field `{k}`")
    for k in set(t) - TOP_FIELDS:
        errs.append(f"unknown field `{k}`")
    if t.get("slug") != slug or not SLUG_RE.match(str(t.get("slug"))):
        errs.append(f"slug {t.get('slug')!r} must match {SLUG_RE.pattern} and the file name `{slug}`")
    for k in ("name", "description"):
        if not isinstance(t.get(k), str) or not t.get(k, "").strip():
            errs.append(f"`{k}` must be a non-empty string")
    if t.get("category") not in CATEGORIES:
        errs.append(f"category {t.get('category')!r} is not one of {sorted(CATEGORIES)}")
    params = t.get("parameters")
    if not isinstance(params, list):
        errs.append("`parameters` must be an array")
        params = []
    declared = {}
    for i, p in enumerate(params):
        where = f"parameters[{i}]"
        if not isinstance(p, dict):
            errs.append(f"{where} is not an object")
            continue
        name, ptype = p.get("name"), p.get("type")
        where = f"parameters[{i}] ({name})"
        for k in set(p) - PARAM_FIELDS:
            errs.append(f"{where}: unknown field `{k}`")
        if not isinstance(name, str) or not PARAM_RE.match(name):
            errs.append(f"{where}: name must match {PARAM_RE.pattern}")
        elif name in declared:
            errs.append(f"{where}: declared twice")
        declared[name] = p
        if ptype not in TYPES:
            errs.append(f"{where}: type {ptype!r} is not one of {sorted(TYPES)}")
        if not isinstance(p.get("required"), bool):
            errs.append(f"{where}: `required` must be a boolean")
        if not isinstance(p.get("description"), str) or not p["description"].strip():
            errs.append(f"{where}: needs a description")
        if ptype == "credential":
            if p.get("credential_type") not in CRED_TYPES:
                errs.append(f"{where}: credential_type {p.get('credential_type')!r} is not one of {sorted(CRED_TYPES)}")
            for k in ("example", "default", "options"):
                if k in p:
                    errs.append(f"{where}: a credential parameter has no `{k}`")
            if p.get("required") is not True:
                errs.append(f"{where}: a credential parameter must be required")
            continue
        if "credential_type" in p:
            errs.append(f"{where}: only credential parameters have credential_type")
        if ptype == "enum":
            opts = p.get("options")
            if not isinstance(opts, list) or not opts or not all(isinstance(o, str) for o in opts) or len(set(opts)) != len(opts):
                errs.append(f"{where}: enum needs `options`, distinct strings")
        elif "options" in p:
            errs.append(f"{where}: only enum parameters have options")
        if "example" not in p:
            errs.append(f"{where}: needs an example")
        elif not value_ok(ptype, p["example"], p):
            errs.append(f"{where}: example {p['example']!r} is not a {ptype}")
        if p.get("required") is False:
            if "default" not in p:
                errs.append(f"{where}: an optional parameter needs a default")
            elif not value_ok(ptype, p["default"], p):
                errs.append(f"{where}: default {p['default']!r} is not a {ptype}")
        elif "default" in p:
            errs.append(f"{where}: a required parameter has no default")

    definition = t.get("definition")
    if not isinstance(definition, dict) or not isinstance(definition.get("nodes"), list):
        errs.append("`definition` must be an object with `nodes`")
        return errs
    used = set()
    for path, s in walk_strings(definition, "definition", []):
        for m in PLACEHOLDER_RE.finditer(s):
            if "<key " in path.rsplit(".", 1)[-1]:
                errs.append(f"{path}: placeholders are not allowed in object keys")
            name = m.group(1)
            used.add(name)
            if name not in declared:
                errs.append(f"{path}: placeholder [[{name}]] names no declared parameter")
        if "[[" in PLACEHOLDER_RE.sub("", s) or "]]" in PLACEHOLDER_RE.sub("", s):
            errs.append(f"{path}: unbalanced [[ ]] in {s[:60]!r}")
    for name in declared:
        if name not in used:
            errs.append(f"parameter `{name}` is declared but never used")

    triggers = []
    for i, n in enumerate(definition["nodes"]):
        if not NODE_ID_RE.match(str(n.get("id"))):
            errs.append(f"definition.nodes[{i}].id {n.get('id')!r} is not a valid id")
        if n.get("type") in FORBIDDEN_TYPES:
            errs.append(f"definition.nodes[{i}]: {n.get('type')} cannot run offline")
        if n.get("type") in TRIGGERS:
            triggers.append(n)
        if n.get("type") == "http.request" and str(n.get("config", {}).get("method", "GET")).upper() == "GET":
            errs.append(f"definition.nodes[{i}]: a GET http.request is performed for real in a dry run")
        if n.get("type", "").startswith("ai.") and n.get("config", {}).get("model", "default") != "default":
            errs.append(f"definition.nodes[{i}]: AI nodes use the `default` route")
    sample = t.get("sample_input")
    if not isinstance(sample, dict):
        errs.append("`sample_input` must be an object")
    elif len(triggers) == 1:
        ttype = triggers[0]["type"]
        if ttype == "trigger.webhook":
            for k in ("body", "query", "headers", "method"):
                if k not in sample:
                    errs.append(f"sample_input of a webhook template needs `{k}`")
            if "content-type" not in (sample.get("headers") or {}):
                errs.append("sample_input.headers needs a content-type")
        elif ttype == "trigger.schedule" and "scheduled_for" not in sample:
            errs.append("sample_input of a schedule template needs `scheduled_for`")
    return errs


def instantiate(t):
    values = {}
    for p in t["parameters"]:
        values[p["name"]] = CRED_UUID if p["type"] == "credential" else p["example"]
    return substitute(t["definition"], values)


def stand_ins(definition):
    """The definition with the nodes a dry run stands in for replaced (for --run)."""
    d = json.loads(json.dumps(definition))
    for n in d["nodes"]:
        ty, cfg = n["type"], n.get("config", {})
        preview = {k: v for k, v in cfg.items() if k != "credential_id"}
        if ty in ("email.send", "sms.send", "chat.post") or (
            ty == "http.request" and str(cfg.get("method", "GET")).upper() != "GET"
        ):
            n["type"], n["config"] = "transform.set", {"fields": {"dry_run": ty, "preview": preview}, "keep_input": False}
        elif ty == "data.kv":
            fields = {"key": cfg.get("key"), "value": cfg.get("value", cfg.get("default")), "found": False, "stored": True}
            n["type"], n["config"] = "transform.set", {"fields": fields, "keep_input": False}
        elif ty == "flow.delay":
            n["type"], n["config"] = "flow.noop", {}
        elif ty == "flow.approval":
            n["type"], n["config"] = "transform.set", {"fields": {"approved": True, "asked": cfg.get("message")}, "keep_input": False}
    return d


def run_binary(args):
    p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def main(argv):
    do_run = "--run" in argv
    files = [a for a in argv if not a.startswith("--")]
    if not files:
        files = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".json"))
    if not os.access(BIN, os.X_OK):
        print(f"automatrix binary not found at {BIN} (set AUTOMATRIX_BIN)")
        return 2
    failed = 0
    categories = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fname in files:
            name = os.path.basename(fname)
            try:
                with open(fname) as f:
                    t = json.load(f)
            except (OSError, ValueError) as e:
                print(f"FAIL {name}: {e}")
                failed += 1
                continue
            errs = check_format(t, fname)
            if not errs:
                categories.setdefault(t["category"], []).append(t["slug"])
                wf = os.path.join(tmp, name)
                with open(wf, "w") as f:
                    json.dump(instantiate(t), f, indent=2)
                rc, out, err = run_binary(["validate", wf])
                if rc != 0:
                    errs.append("automatrix validate: " + (out + err).strip().replace(wf, name))
                elif do_run:
                    rf = os.path.join(tmp, "run-" + name)
                    with open(rf, "w") as f:
                        json.dump(stand_ins(instantiate(t)), f, indent=2)
                    rc, out, err = run_binary(["--data-dir", os.path.join(tmp, "data"), "run", rf,
                                               "--input", json.dumps(t["sample_input"])])
                    last = err.strip().splitlines()[-1] if err.strip() else ""
                    if rc != 0 or not last.startswith("completed"):
                        errs.append("offline run: " + (err.strip()[-2000:] or out.strip()[-2000:]))
                    elif "--verbose" in argv:
                        print(err.strip() + "\n" + out.strip()[-3000:])
            if errs:
                failed += 1
                print(f"FAIL {name}")
                for e in errs:
                    print("  - " + e)
            else:
                print(f"ok   {name}")
    if len(files) > 1:
        for c in sorted(CATEGORIES):
            n = len(categories.get(c, []))
            if n < 2:
                print(f"FAIL category {c}: {n} template(s), at least 2 expected")
                failed += 1
    print(f"all {len(files)} templates pass" if not failed else f"{failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
