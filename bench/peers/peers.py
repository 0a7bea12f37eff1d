#!/usr/bin/env python3
"""Peer engines for the AutoMatrix benchmark: n8n and Node-RED (stdlib only).

install(root)            npm-installs the pinned n8n and Node-RED into root (idempotent)
PEERS[name](root, port, data_dir)
    .start() -> seconds  spawn `node <bin>` bound to 127.0.0.1:port, wait until it serves
    .deploy(mock_url)    create + activate W1, W2, W3; returns {"W1": url, "W2": url, "W3": url}
    .completed("W3")     completed W3 executions from the engine's own records
    .stop()              SIGTERM by PID (SIGKILL after 10 s), plus any surviving descendants

`python3 peers.py selftest [--root DIR] [--only n8n|node-red]` runs everything end to end.
See README.md next to this file for versions, workload shapes and caveats.
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

N8N_VERSION = "2.8.4"        # newest n8n whose engines.node accepts Node 20 (2.10+ need >=22.16)
NODE_RED_VERSION = "4.1.8"   # newest 4.x (5.x needs Node >=22.9)
DEFAULT_ROOT = pathlib.Path("/root/.cache/automatrix-peers")
BODY = {"lead": {"name": "Ana", "email": "ana@example.com", "vehicle": "2024 Civic"}, "score": 72}
DEPLOY_MARKER = "peers-deployed.json"


# --------------------------------------------------------------------------- install

def _installed_version(root: pathlib.Path, pkg: str) -> str | None:
    try:
        return json.loads((root / "node_modules" / pkg / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def install(root: pathlib.Path, log=print, names=("n8n", "node-red")) -> dict:
    """npm-install the peers `names` (n8n, node-red) into root; skip if already there at the
    pinned versions."""
    root = pathlib.Path(root)
    want = {k: v for k, v in {"n8n": N8N_VERSION, "node-red": NODE_RED_VERSION}.items() if k in names}
    have = {k: _installed_version(root, k) for k in want}
    if have == want:
        log(f"peers: reusing {root} ({', '.join(f'{k} {v}' for k, v in have.items())})")
        return have
    root.mkdir(parents=True, exist_ok=True)
    pkg = {
        "name": "automatrix-peers", "private": True, "version": "0.0.0",
        "dependencies": want,
        # n8n-nodes-base depends on xlsx from https://cdn.sheetjs.com (not a registry; unreachable
        # here). The npm registry's last xlsx (0.18.5) stands in; only the Spreadsheet node uses it.
        "overrides": {"xlsx": "0.18.5"},
    }
    (root / "package.json").write_text(json.dumps(pkg, indent=2) + "\n")
    env = dict(os.environ)
    # sqlite3 (n8n's DB driver) compiles from source when its prebuilt binary (GitHub) is
    # unreachable; node-gyp then needs the Node headers, which the distro ships under /usr/include/node.
    if pathlib.Path("/usr/include/node/node.h").exists():
        env.setdefault("npm_config_nodedir", "/usr")
    cmd = ["npm", "install", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"]
    log(f"peers: {' '.join(cmd)} in {root} ({', '.join(f'{k} {v}' for k, v in want.items())})"
        + ("; n8n takes several minutes and ~2.4 GB" if "n8n" in want else ""))
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-40:]
        if line:
            log(f"peers: npm: {line}")
    if proc.wait() != 0:
        raise RuntimeError("npm install failed:\n" + "\n".join(tail))
    have = {k: _installed_version(root, k) for k in want}
    if have != want:
        raise RuntimeError(f"npm install left {have}, wanted {want}")
    log(f"peers: installed in {time.monotonic() - t0:.0f} s")
    return have


# --------------------------------------------------------------------------- helpers

def _http(method: str, url: str, body=None, headers=None, timeout=10.0):
    """Return (status, bytes). Never raises on HTTP status; raises OSError on connection errors."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("content-type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _log_tail(path: pathlib.Path, n=40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _proc_starttime(pid: int) -> str | None:
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    """All descendant PIDs of pid (from /proc), children first order not guaranteed."""
    kids: dict[int, list[int]] = {}
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def tree_rss_kb(pid: int) -> int:
    """Sum of VmRSS (kB) over pid and its descendants."""
    total = 0
    for p in [pid] + descendants(pid):
        try:
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


# --------------------------------------------------------------------------- base

class Peer:
    name = "peer"
    version = ""

    def __init__(self, root: pathlib.Path, port: int, data_dir: pathlib.Path):
        self.root = pathlib.Path(root)
        self.port = int(port)
        self.data_dir = pathlib.Path(data_dir).resolve()
        self.pid: int | None = None
        self._proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir / f"{self.name}.log"
        self.startup_timeout = 180.0

    # subclass hooks
    def _cmd(self) -> list[str]: raise NotImplementedError
    def _env(self) -> dict: return dict(os.environ)
    def _prepare(self) -> None: pass
    def _server_ready(self) -> bool: raise NotImplementedError
    def urls(self) -> dict: raise NotImplementedError

    def _log_since_start(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(getattr(self, "_log_offset", 0))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _deployed(self) -> bool:
        return (self.data_dir / DEPLOY_MARKER).exists()

    def _w1_answers(self) -> bool:
        try:
            st, body = _http("POST", self.urls()["W1"], BODY, timeout=5)
        except OSError:
            return False
        return st == 200 and b"priority" in body

    def _spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare()
        logf = open(self.log_path, "ab")
        self._log_offset = logf.tell()
        logf.write(f"\n===== start {time.strftime('%Y-%m-%dT%H:%M:%S')} {self._cmd()}\n".encode())
        logf.flush()
        self._proc = subprocess.Popen(self._cmd(), cwd=self.data_dir, env=self._env(),
                                      stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        logf.close()
        self.pid = self._proc.pid

    def start(self) -> float:
        if self._proc and self._proc.poll() is None:
            raise RuntimeError(f"{self.name} already running (pid {self.pid})")
        t0 = time.monotonic()
        self._spawn()
        deadline = t0 + self.startup_timeout
        while True:
            if self._proc.poll() is not None:
                self.pid = None
                raise RuntimeError(f"{self.name} exited with {self._proc.returncode} during startup; "
                                   f"log tail ({self.log_path}):\n{_log_tail(self.log_path)}")
            if self._server_ready() and (not self._deployed() or self._w1_answers()):
                return time.monotonic() - t0
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready after {self.startup_timeout:.0f} s; "
                                   f"log tail ({self.log_path}):\n{_log_tail(self.log_path)}")
            time.sleep(0.1)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        if self._proc is None:
            return
        pid = self._proc.pid
        tree = [(p, _proc_starttime(p)) for p in descendants(pid)]
        if self._proc.poll() is None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self._proc.wait(timeout=10)
        # Children (n8n's task runner etc.): new session => our group; kill what survives.
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for p, st in tree:
            if st is not None and _proc_starttime(p) == st:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._proc = None
        self.pid = None

    def _mark_deployed(self, mock_url: str) -> None:
        (self.data_dir / DEPLOY_MARKER).write_text(
            json.dumps({"mock_url": mock_url, "urls": self.urls(), "version": self.version}, indent=2) + "\n")

    def _wait_w1(self, timeout=60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._w1_answers():
            if not self.running():
                raise RuntimeError(f"{self.name} died; log tail:\n{_log_tail(self.log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: W1 not answering after deploy; log tail:\n"
                                   f"{_log_tail(self.log_path)}")
            time.sleep(0.2)


# --------------------------------------------------------------------------- n8n

N8N_IDS = {"W1": "amxBenchW1echo00", "W2": "amxBenchW2steps0", "W3": "amxBenchW3fanout"}


def _n8n_webhook(path: str, mode: str, wid: str) -> dict:
    params = {"httpMethod": "POST", "path": path, "options": {}}
    if mode == "lastNode":
        params.update(responseMode="lastNode", responseData="firstEntryJson")
    else:  # onReceived (default): answer 200 {"message":"Workflow was started"} right away
        params.update(responseMode="onReceived")
    return {"id": f"{wid}-hook", "name": "Webhook", "type": "n8n-nodes-base.webhook",
            "typeVersion": 2.1, "position": [0, 0], "webhookId": f"{wid}-hook", "parameters": params}


def _n8n_set(name: str, assignments: list[tuple[str, str, str]], keep: bool, x: int) -> dict:
    return {"id": name, "name": name, "type": "n8n-nodes-base.set", "typeVersion": 3.4,
            "position": [x, 0],
            "parameters": {"mode": "manual", "includeOtherFields": keep, "options": {},
                           "assignments": {"assignments": [
                               {"id": f"{name}-{n}", "name": n, "value": v, "type": t}
                               for n, v, t in assignments]}}}


def _n8n_if(name: str, x: int) -> dict:
    return {"id": name, "name": name, "type": "n8n-nodes-base.if", "typeVersion": 2.2,
            "position": [x, 0],
            "parameters": {"options": {}, "conditions": {
                "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict",
                            "version": 2},
                "combinator": "and",
                "conditions": [{"id": f"{name}-c", "leftValue": "={{ $json.score }}", "rightValue": 50,
                                "operator": {"type": "number", "operation": "gt"}}]}}}


# Step 1 of W1/W2: the posted fields plus priority (from the webhook item's body)
_N8N_PRIORITY = [
    ("lead", "={{ $json.body.lead }}", "object"),
    ("score", "={{ $json.body.score }}", "number"),
    ("priority", '={{ $json.body.score > 50 ? "hot" : "cold" }}', "string"),
]


def _chain(names: list[str]) -> dict:
    return {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in zip(names, names[1:])}


def n8n_workflows(mock_url: str) -> dict:
    settings = {"executionOrder": "v1"}
    wf = {}
    # W1
    nodes = [_n8n_webhook("w1", "lastNode", N8N_IDS["W1"]), _n8n_set("Priority", _N8N_PRIORITY, False, 200)]
    wf["W1"] = {"id": N8N_IDS["W1"], "name": "bench W1 webhook-echo", "active": False, "nodes": nodes,
                "connections": _chain(["Webhook", "Priority"]), "settings": settings}
    # W2: set(priority), if, set(step3), if, set(step5), if, set(step7), if, set(step9), if
    nodes = [_n8n_webhook("w2", "lastNode", N8N_IDS["W2"]),
             _n8n_set("Step1 priority", _N8N_PRIORITY, False, 200)]
    for k in range(2, 11):
        if k % 2 == 0:
            nodes.append(_n8n_if(f"Step{k} if", 200 * k))
        else:
            nodes.append(_n8n_set(f"Step{k} set", [(f"step{k}", f"={k}", "number")], True, 200 * k))
    wf["W2"] = {"id": N8N_IDS["W2"], "name": "bench W2 ten-steps", "active": False, "nodes": nodes,
                "connections": _chain([n["name"] for n in nodes]), "settings": settings}
    # W3: webhook (answers on receipt) -> 3 HTTP GETs -> Merge(3 inputs, append: waits for all three)
    nodes = [_n8n_webhook("w3", "onReceived", N8N_IDS["W3"])]
    for i in range(3):
        nodes.append({"id": f"Get{i + 1}", "name": f"Get {i + 1}", "type": "n8n-nodes-base.httpRequest",
                      "typeVersion": 4.2, "position": [200, 200 * i],
                      "parameters": {"method": "GET", "url": mock_url, "options": {}}})
    nodes.append({"id": "Merge", "name": "Merge", "type": "n8n-nodes-base.merge", "typeVersion": 3.2,
                  "position": [400, 0], "parameters": {"numberInputs": 3}})
    conns = {"Webhook": {"main": [[{"node": f"Get {i + 1}", "type": "main", "index": 0} for i in range(3)]]}}
    for i in range(3):
        conns[f"Get {i + 1}"] = {"main": [[{"node": "Merge", "type": "main", "index": i}]]}
    wf["W3"] = {"id": N8N_IDS["W3"], "name": "bench W3 fan-out", "active": False, "nodes": nodes,
                "connections": conns, "settings": settings}
    return wf


class N8n(Peer):
    name = "n8n"

    def __init__(self, root, port, data_dir):
        super().__init__(root, port, data_dir)
        self.version = _installed_version(self.root, "n8n") or N8N_VERSION
        self.broker_port = self.port + 1   # task broker (default 5679) moved next to the main port
        self.bin = self.root / "node_modules" / "n8n" / "bin" / "n8n"

    def _cmd(self):
        return ["node", str(self.bin), "start"]

    def _env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("N8N_", "DB_", "EXECUTIONS_")) and k.lower() not in
               ("http_proxy", "https_proxy", "all_proxy", "webhook_url")}
        env.update({
            "N8N_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_HOST": "127.0.0.1",
            "N8N_PORT": str(self.port),
            "N8N_PROTOCOL": "http",
            "WEBHOOK_URL": f"{self.base}/",
            "N8N_USER_FOLDER": str(self.data_dir),
            "N8N_RUNNERS_BROKER_PORT": str(self.broker_port),
            "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
            "N8N_HIRING_BANNER_ENABLED": "false",
            "N8N_TEMPLATES_ENABLED": "false",
            "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "true",
            "N8N_SECURE_COOKIE": "false",
            "NO_PROXY": "127.0.0.1,localhost",
            "NODE_ENV": "production",
        })
        return env

    def urls(self):
        return {w: f"{self.base}/webhook/{w.lower()}" for w in ("W1", "W2", "W3")}

    def _server_ready(self):
        # /healthz/readiness turns 200 once the DB is migrated, before workflows are activated
        # and startup has finished; "Editor is now accessible" is printed at the very end.
        if "Editor is now accessible" not in self._log_since_start():
            return False
        try:
            return _http("GET", f"{self.base}/healthz/readiness", timeout=2)[0] == 200
        except OSError:
            return False

    def _cli(self, *args: str) -> str:
        p = subprocess.run(["node", str(self.bin), *args], cwd=self.data_dir, env=self._env(),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        with open(self.log_path, "a") as f:
            f.write(f"\n===== cli {' '.join(args)} rc={p.returncode}\n{p.stdout}{p.stderr}")
        if p.returncode != 0 or "GOT ERROR" in p.stdout + p.stderr:
            raise RuntimeError(f"n8n {' '.join(args)} failed (rc {p.returncode}):\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
        return p.stdout + p.stderr

    def deploy(self, mock_url: str) -> dict:
        """Import W1..W3 with the n8n CLI and publish (activate) them. The CLI cannot change a
        running instance, so a running n8n is stopped first and started again afterwards
        (self.pid changes). Re-deploying overwrites the same workflow IDs (idempotent)."""
        was_running = self.running()
        if was_running:
            self.stop()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        wfdir = self.data_dir / "workflows"
        wfdir.mkdir(exist_ok=True)
        for w, body in n8n_workflows(mock_url).items():
            (wfdir / f"{w}.json").write_text(json.dumps(body, indent=2) + "\n")
        self._cli("import:workflow", "--separate", f"--input={wfdir}")
        for w in ("W1", "W2", "W3"):
            self._cli("publish:workflow", f"--id={N8N_IDS[w]}")
        self._mark_deployed(mock_url)
        if was_running:
            self.start()
        return self.urls()

    def completed(self, workload: str = "W3") -> int:
        """Successful executions of the workflow in n8n's SQLite (execution_entity), counting rows
        soft-deleted by pruning too (deletedAt is set by the default 10000-execution pruning)."""
        db = self.data_dir / ".n8n" / "database.sqlite"
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute("SELECT COUNT(*) FROM execution_entity WHERE workflowId = ? AND status = 'success'",
                               (N8N_IDS[workload],)).fetchone()[0]
        finally:
            con.close()


# --------------------------------------------------------------------------- Node-RED

NODE_RED_SETTINGS = """// generated by bench/peers/peers.py
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: %(port)d,
    flowFile: "flows.json",
    flowFilePretty: true,
    credentialSecret: false,
    userDir: %(user_dir)s,
    httpAdminRoot: "/",
    httpNodeRoot: "/",
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    runtimeState: { enabled: false, ui: false },
    logging: { console: { level: "warn", metrics: false, audit: false } },
    exportGlobalContextKeys: false,
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
    functionExternalModules: false,
    apiMaxLength: "5mb",
};
"""


def node_red_flows(mock_url: str) -> list:
    tab = "amx_bench_tab"
    nodes: list[dict] = [{"id": tab, "type": "tab", "label": "AutoMatrix bench", "disabled": False, "info": ""}]
    y = [0]

    def add(node_id, typ, wires, **kw):
        y[0] += 20
        nodes.append({"id": node_id, "type": typ, "z": tab, "name": node_id, "x": 150 + 40 * len(nodes) % 900,
                      "y": y[0], "wires": wires, **kw})

    def http_in(node_id, url, nxt, method="post"):
        add(node_id, "http in", [nxt], url=url, method=method, upload=False, swaggerDoc="")

    def http_out(node_id, code=""):
        add(node_id, "http response", [], statusCode=code, headers={})

    def change(node_id, rules, nxt):
        add(node_id, "change", [nxt], rules=rules)

    priority_rule = {"t": "set", "p": "payload.priority", "pt": "msg",
                     "to": 'payload.score > 50 ? "hot" : "cold"', "tot": "jsonata"}

    def switch(node_id, nxt):
        add(node_id, "switch", [nxt], property="payload.score", propertyType="msg",
            rules=[{"t": "gt", "v": "50", "vt": "num"}], checkall="true", repair=False, outputs=1)

    # W1: http in -> change(priority) -> http response
    http_in("w1_in", "/w1", ["w1_priority"])
    change("w1_priority", [priority_rule], ["w1_out"])
    http_out("w1_out")
    # W2: http in -> set(priority), if, set(step3), if, set(step5), if, set(step7), if, set(step9), if -> response
    steps = ["w2_step1"] + [f"w2_step{k}" for k in range(2, 11)]
    http_in("w2_in", "/w2", [steps[0]])
    change(steps[0], [priority_rule], [steps[1]])
    for k in range(2, 11):
        nxt = [steps[k]] if k < 10 else ["w2_out"]
        if k % 2 == 0:
            switch(steps[k - 1], nxt)
        else:
            change(steps[k - 1], [{"t": "set", "p": f"payload.step{k}", "pt": "msg", "to": str(k), "tot": "num"}], nxt)
    http_out("w2_out")
    # W3: http in -> (202 response now) + tag msg.parts (id = this request's _msgid)
    #     -> 3 branches [set parts.index=i -> http request GET mock] -> join (auto: by parts.id, waits for 3)
    #     -> function: flow counter += 1.   GET /w3/count -> counter.
    http_in("w3_in", "/w3", ["w3_out", "w3_parts"])
    http_out("w3_out", "202")
    change("w3_parts", [{"t": "set", "p": "parts", "pt": "msg", "tot": "jsonata",
                         "to": '{"id": _msgid, "type": "array", "count": 3, "len": 1}'}],
           [f"w3_branch{i}" for i in range(3)])
    for i in range(3):
        change(f"w3_branch{i}", [{"t": "set", "p": "parts.index", "pt": "msg", "to": str(i), "tot": "num"}],
               [f"w3_get{i}"])
        add(f"w3_get{i}", "http request", [["w3_join"]], method="GET", ret="obj", paytoqs="ignore",
            url=mock_url, tls="", persist=True, proxy="", insecureHTTPParser=False, authType="",
            senderr=False, headers=[])
    add("w3_join", "join", [["w3_count"]], mode="auto", build="object", property="payload",
        propertyType="msg", key="topic", joiner="\\n", joinerType="str", accumulate=False,
        timeout="", count="", reduceRight=False, reduceExp="", reduceInit="", reduceInitType="",
        reduceFixup="", useparts=False)
    add("w3_count", "function", [], outputs=1, timeout=0, noerr=0, initialize="", finalize="", libs=[],
        func="flow.set('w3_completed', (flow.get('w3_completed') || 0) + 1);\nreturn null;")
    http_in("w3_count_in", "/w3/count", ["w3_count_get"], method="get")
    change("w3_count_get", [{"t": "set", "p": "payload", "pt": "msg", "to": "w3_completed", "tot": "flow"}],
           ["w3_count_out"])
    http_out("w3_count_out")
    return nodes


class NodeRed(Peer):
    name = "node-red"

    def __init__(self, root, port, data_dir):
        super().__init__(root, port, data_dir)
        self.version = _installed_version(self.root, "node-red") or NODE_RED_VERSION
        self.startup_timeout = 60.0

    def _cmd(self):
        return ["node", str(self.root / "node_modules" / "node-red" / "red.js"),
                "--settings", str(self.data_dir / "settings.js"), "--userDir", str(self.data_dir)]

    def _env(self):
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        env.update({"NO_PROXY": "127.0.0.1,localhost", "NODE_ENV": "production"})
        return env

    def _prepare(self):
        (self.data_dir / "settings.js").write_text(
            NODE_RED_SETTINGS % {"port": self.port, "user_dir": json.dumps(str(self.data_dir))})

    def urls(self):
        return {w: f"{self.base}/{w.lower()}" for w in ("W1", "W2", "W3")}

    def _server_ready(self):
        try:
            return _http("GET", f"{self.base}/settings", timeout=2)[0] == 200
        except OSError:
            return False

    def deploy(self, mock_url: str) -> dict:
        """Write flows.json; if running, full-deploy it through the admin API (same PID; the
        in-memory W3 counter survives only if the flow is unchanged). Idempotent."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        flows = node_red_flows(mock_url)
        if self.running():
            st, body = _http("POST", f"{self.base}/flows", flows,
                             headers={"Node-RED-Deployment-Type": "full"}, timeout=30)
            if st not in (200, 204):
                raise RuntimeError(f"Node-RED POST /flows -> {st}: {body[:500]!r}")
            self._mark_deployed(mock_url)
            self._wait_w1()
        else:
            (self.data_dir / "flows.json").write_text(json.dumps(flows, indent=2) + "\n")
            self._mark_deployed(mock_url)
        return self.urls()

    def completed(self, workload: str = "W3") -> int:
        if workload != "W3":
            raise ValueError("Node-RED counts only W3 (flow-context counter)")
        st, body = _http("GET", f"{self.base}/w3/count", timeout=10)
        if st != 200:
            raise RuntimeError(f"Node-RED /w3/count -> {st}")
        body = body.strip()
        return int(json.loads(body)) if body not in (b"", b"null", b"{}") else 0


PEERS = {"n8n": N8n, "node-red": NodeRed}


# --------------------------------------------------------------------------- selftest

class _Mock(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _MockHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        time.sleep(0.020)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def start_mock(port: int = 0) -> tuple[_Mock, str]:
    srv = _Mock(("127.0.0.1", port), _MockHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/delay"


def _selftest_one(peer: Peer, mock_url: str) -> dict:
    res: dict = {"peer": peer.name, "version": peer.version}
    res["start_s"] = round(peer.start(), 2)
    res["deploy_urls"] = peer.deploy(mock_url)
    res["pid"] = peer.pid
    for w in ("W1", "W2"):
        st, body = _http("POST", res["deploy_urls"][w], BODY, timeout=30)
        doc = json.loads(body)
        print(f"  {w} -> {st} {json.dumps(doc)}")
        want = ["priority"] + (["step9"] if w == "W2" else [])
        if st != 200 or any(k not in body.decode() for k in want) or '"hot"' not in body.decode():
            raise RuntimeError(f"{peer.name} {w}: bad response {st} {body[:300]!r}")
    before = peer.completed("W3")
    t0 = time.monotonic()
    for _ in range(20):
        st, body = _http("POST", res["deploy_urls"]["W3"], BODY, timeout=30)
        if st not in (200, 202):
            raise RuntimeError(f"{peer.name} W3 -> {st} {body[:300]!r}")
    print(f"  W3 -> {st} {body[:200].decode(errors='replace')}")
    while peer.completed("W3") - before < 20:
        if time.monotonic() - t0 > 60:
            raise RuntimeError(f"{peer.name}: W3 completed {peer.completed('W3') - before}/20 after 60 s")
        time.sleep(0.1)
    res["w3_20_done_s"] = round(time.monotonic() - t0, 2)
    time.sleep(1)
    res["w3_completed"] = peer.completed("W3")
    if res["w3_completed"] - before != 20:
        raise RuntimeError(f"{peer.name}: 20 W3 requests gave {res['w3_completed'] - before} completions")
    # restart on the deployed dir: start() waits until W1 answers
    peer.stop()
    res["restart_s"] = round(peer.start(), 2)
    time.sleep(5)
    res["idle_rss_mb"] = round(tree_rss_kb(peer.pid) / 1024, 1)
    res["processes"] = 1 + len(descendants(peer.pid))
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 3:
        _http("POST", res["deploy_urls"]["W1"], BODY)
        n += 1
    res["w1_serial_rps"] = round(n / (time.monotonic() - t0), 1)
    pid = peer.pid
    peer.stop()
    left = [p for p in [pid] + descendants(pid) if pathlib.Path(f"/proc/{p}").exists()]
    if left:
        raise RuntimeError(f"{peer.name}: processes left after stop: {left}")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("selftest")
    st.add_argument("--root", type=pathlib.Path, default=DEFAULT_ROOT)
    st.add_argument("--work", type=pathlib.Path, default=None, help="data dirs (default: temp dir)")
    st.add_argument("--only", choices=sorted(PEERS), action="append")
    st.add_argument("--port", type=int, default=18450)
    ins = sub.add_parser("install")
    ins.add_argument("--root", type=pathlib.Path, default=DEFAULT_ROOT)
    dp = sub.add_parser("dump", help="write the generated workflows (reference copies) to DIR/n8n, DIR/node-red")
    dp.add_argument("dir", type=pathlib.Path)
    dp.add_argument("--mock-url", default="http://127.0.0.1:18300/delay")
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        (args.dir / "n8n").mkdir(parents=True, exist_ok=True)
        (args.dir / "node-red").mkdir(parents=True, exist_ok=True)
        for w, body in n8n_workflows(args.mock_url).items():
            (args.dir / "n8n" / f"{w}.json").write_text(json.dumps(body, indent=2) + "\n")
        (args.dir / "node-red" / "flows.json").write_text(json.dumps(node_red_flows(args.mock_url), indent=2) + "\n")
        return 0
    t0 = time.monotonic()
    print("versions:", install(args.root))
    print(f"install/check: {time.monotonic() - t0:.1f} s")
    if args.cmd == "install":
        return 0
    import tempfile
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix="peers-selftest-"))
    mock, mock_url = start_mock()
    ok = True
    for i, name in enumerate(args.only or list(PEERS)):
        peer = PEERS[name](args.root, args.port + 10 * i, work / name)
        print(f"== {name} on :{peer.port}, data {peer.data_dir}")
        try:
            print("  result:", json.dumps(_selftest_one(peer, mock_url)))
        except Exception as e:  # noqa: BLE001
            ok = False
            print(f"  FAIL: {e}")
        finally:
            peer.stop()
    mock.shutdown()
    print("selftest", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
