#!/usr/bin/env python3
"""The benchmark suite (`make bench`): workloads W1-W5 on AutoMatrix (SQLite and PostgreSQL)
and, in the same run, W1-W3 on n8n and Node-RED installed from npm, with the ratios.

Workloads and the report's columns are defined in bench/README.md. What this script does:

- builds the release server and the mock service (`automatrix-bench`'s `mock`);
- for every engine: time to ready (fresh data, then a restart), idle memory, then W1 and W2
  with wrk at each concurrency (a fresh instance and data per row: requests/s, p50/p99, CPU
  seconds per 1,000 requests, peak memory), W3 (a burst of triggers answered 202, completions
  counted from the engine's own records), and the database growth per 10,000 executions;
- W4 (drain) and W5 (sandbox) through their Rust benches, which write JSON;
- writes bench/results/<date>-<commit>.md and .json, prints the report, and with
  --update-readme puts its summary into bench/README.md.

Standard library only. Needs wrk, curl, psql (for PostgreSQL), cargo, and npm for the peers.
`--smoke` runs everything briefly (CI's check that the suite still runs; no figure from it
means anything).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench" / "peers"))
import peers as peer_mod  # noqa: E402  (bench/peers/peers.py: the peers' side)

BODY = '{"lead":{"name":"Ana","email":"ana@example.com","vehicle":"2024 Civic"},"score":72}'
SECRET = "bench-secret-key-0123456789abcdef0123"
PRIORITY = '{{ $json.body.score > 50 ? "hot" : "cold" }}'


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*args: str, **kw) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def version_of(*cmd: str) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


# ---------------------------------------------------------------------------------------------
# HTTP and process helpers


def http(method: str, url: str, body=None, token: str | None = None, timeout: float = 30):
    """JSON in, JSON out; returns (status, parsed body or text)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None, log_file=None) -> float:
    """Polls url until it answers 2xx; returns the seconds waited."""
    t0 = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if 200 <= r.status < 300:
                    return time.monotonic() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if proc is not None and proc.poll() is not None:
            tail = Path(log_file).read_text(errors="replace")[-3000:] if log_file else ""
            raise RuntimeError(f"{url}: the process exited ({proc.returncode})\n{tail}")
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"{url}: not ready after {timeout} s")
        time.sleep(0.002)


def tree(pid: int) -> list[int]:
    """pid and every descendant."""
    return [pid] + peer_mod.descendants(pid)


def kib(path: str, field: str) -> int:
    """A `Field:  N kB` line of a /proc file (status, meminfo); 0 when absent."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of the process tree (VmRSS now, or VmHWM: each process's peak)."""
    return sum(kib(f"/proc/{p}/status", field) for p in tree(pid)) / 1024


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of the process tree so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def dir_bytes(path: Path) -> int:
    """Bytes of the files under path, logs left out."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.name.endswith(".log"))


# ---------------------------------------------------------------------------------------------
# AutoMatrix as an engine of the suite (the same interface as bench/peers/peers.py's Peer)


def automatrix_workflows(mock_url: str) -> dict[str, dict]:
    """W1, W2 and W3 as AutoMatrix definitions (bench/README.md defines them)."""
    answer = {"lead": "{{ $json.body.lead }}", "score": "{{ $json.body.score }}", "priority": PRIORITY}
    hook = {"id": "lead", "type": "trigger.webhook", "config": {"respond": "on_completion", "methods": ["POST"]}}
    w1 = {
        "nodes": [hook, {"id": "priority", "type": "transform.set", "config": {"fields": answer, "keep_input": False}}],
        "edges": [{"from": "lead", "to": "priority"}],
    }
    nodes = [hook, {"id": "s1", "type": "transform.set", "config": {"fields": answer, "keep_input": False}}]
    edges = [{"from": "lead", "to": "s1"}]
    for k in range(2, 11):
        if k % 2 == 0:
            nodes.append({"id": f"s{k}", "type": "logic.if", "config": {"condition": "{{ $json.score > 50 }}"}})
        else:
            nodes.append({"id": f"s{k}", "type": "transform.set", "config": {"fields": {f"step{k}": k}}})
        edge = {"from": f"s{k - 1}", "to": f"s{k}"}
        if (k - 1) % 2 == 0 and k > 2:
            edge["output"] = "true"
        edges.append(edge)
    w2 = {"nodes": nodes, "edges": edges}
    calls = [{"id": f"call{i}", "type": "http.request", "config": {"url": mock_url, "method": "GET"}} for i in (1, 2, 3)]
    w3 = {
        "nodes": [{"id": "lead", "type": "trigger.webhook", "config": {"respond": "immediately", "methods": ["POST"]}}]
        + calls
        + [{"id": "join", "type": "logic.merge", "config": {"mode": "object"}}],
        "edges": [{"from": "lead", "to": c["id"]} for c in calls] + [{"from": c["id"], "to": "join"} for c in calls],
    }
    return {"W1": w1, "W2": w2, "W3": w3}


class AutoMatrix:
    def __init__(self, binary: Path, backend: str, port: int, data_dir: Path, pg_admin: str | None):
        self.binary, self.backend, self.port, self.data_dir = binary, backend, port, data_dir
        self.name = f"automatrix-{backend}"
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None
        self.pg_admin = pg_admin
        self.db_name = f"automatrix_bench_{uuid.uuid4().hex[:12]}" if backend == "postgres" else None
        self.workflow_ids: dict[str, str] = {}
        self.token: str | None = None
        if self.db_name:
            psql(pg_admin, f"create database {self.db_name}")

    def database_url(self) -> str:
        if self.db_name:
            return urllib.parse.urlsplit(self.pg_admin)._replace(path=f"/{self.db_name}").geturl()
        return f"sqlite://{self.data_dir}/automatrix.db"

    def start(self) -> float:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            AUTOMATRIX_SECRET_KEY=SECRET,
            AUTOMATRIX_API_RATE_LIMIT="0",
            AUTOMATRIX_HTTP_ALLOW_HOSTS="127.0.0.1",
            AUTOMATRIX_LOG_FORMAT="json",
            RUST_LOG=os.environ.get("SUITE_RUST_LOG", "warn"),
        )
        log_file = self.data_dir / "server.log"
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--bind", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir),
             "--database-url", self.database_url()],
            env=env, stdout=open(log_file, "ab"), stderr=subprocess.STDOUT,
        )
        self.pid = self.proc.pid
        wait_http(f"{self.base}/health/ready", 60, self.proc, log_file)
        return time.monotonic() - t0

    def deploy(self, mock_url: str) -> dict[str, str]:
        user = {"email": "bench@dealer.example", "password": "bench-password-123", "name": "Bench"}
        http("POST", f"{self.base}/api/auth/register", user)
        status, body = http("POST", f"{self.base}/api/auth/login", {k: user[k] for k in ("email", "password")})
        if status != 200:
            raise RuntimeError(f"login: {status} {body}")
        self.token = body["access_token"]
        urls = {}
        for name, definition in automatrix_workflows(mock_url).items():
            status, body = http("POST", f"{self.base}/api/workflows", {"name": name, "definition": definition}, self.token)
            if status != 201:
                raise RuntimeError(f"creating {name}: {status} {body}")
            self.workflow_ids[name] = body["id"]
            urls[name] = self.base + body["webhook_url"]
        return urls

    def completed(self, workload: str = "W3") -> int:
        wf = self.workflow_ids[workload]
        status, body = http("GET", f"{self.base}/api/metrics/summary?workflow_id={wf}", token=self.token)
        if status != 200:
            raise RuntimeError(f"summary: {status} {body}")
        return int(body["by_status"]["completed"])

    def executions(self) -> int:
        status, body = http("GET", f"{self.base}/api/metrics/summary", token=self.token)
        return int(body["total"]) if status == 200 else 0

    def db_bytes(self) -> int:
        if self.db_name:
            return int(psql(self.pg_admin, f"select pg_database_size('{self.db_name}')").strip())
        return dir_bytes(self.data_dir)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        if self.db_name:
            psql(self.pg_admin, f"drop database if exists {self.db_name} with (force)")
        shutil.rmtree(self.data_dir, ignore_errors=True)


def psql(url: str, sql: str) -> str:
    return sh("psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql)


# ---------------------------------------------------------------------------------------------
# Loads


class Load:
    """wrk for W1/W2 and curl for W3's burst; files in a temporary folder."""

    def __init__(self, work: Path):
        self.lua = work / "post.lua"
        report = ROOT / "bench" / "report.lua"
        self.lua.write_text(
            f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{BODY}'
dofile("{report}")
"""
        )
        self.body = work / "body.json"
        self.body.write_text(BODY)
        self.work = work

    def wrk(self, url: str, connections: int, seconds: float) -> dict:
        threads = 1 if connections < 2 else 2
        out = sh("wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s", "-s", str(self.lua), url)
        line = next(l for l in out.splitlines() if l.startswith("RESULT"))
        _, rps, p50, p99, errors, requests = line.split()
        return {"rps": float(rps), "p50_ms": float(p50), "p99_ms": float(p99), "errors": int(errors), "requests": int(requests)}

    def burst(self, url: str, n: int, parallel: int = 64) -> dict:
        """n POSTs, at most `parallel` at once; the status codes counted."""
        config = self.work / "burst.txt"
        config.write_text("".join(f'url = "{url}"\noutput = "/dev/null"\n' for _ in range(n)))
        t0 = time.monotonic()
        out = subprocess.run(
            ["curl", "-sS", "-Z", "--parallel-max", str(parallel), "-X", "POST", "-H", "content-type: application/json",
             "--data-binary", f"@{self.body}", "-w", "%{http_code}\\n", "--config", str(config)],
            capture_output=True, text=True,
        ).stdout
        codes = out.split()
        ok = sum(1 for c in codes if c.startswith("2"))
        return {"sent": n, "accepted": ok, "seconds": time.monotonic() - t0}


# ---------------------------------------------------------------------------------------------
# One engine through W1-W3


def check_answers(urls: dict[str, str]) -> None:
    """W1 and W2 must answer with what the workload computes."""
    for w, needles in (("W1", ["priority", "hot"]), ("W2", ["priority", "step9"])):
        req = urllib.request.Request(urls[w], data=BODY.encode(), method="POST", headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode()
        missing = [n for n in needles if n not in text]
        if missing:
            raise RuntimeError(f"{w} at {urls[w]} answered without {missing}: {text[:300]}")


class Bench:
    def __init__(self, args, work: Path, mock_url: str):
        self.args, self.work, self.mock_url = args, work, mock_url
        self.load = Load(work)
        self.counter = 0
        # Engines that start on a copy of a folder deployed once (the peers), by label.
        self.prepared: set[str] = set()
        self.templates: dict[str, Path] = {}

    def fresh_dir(self) -> Path:
        self.counter += 1
        return self.work / f"engine-{self.counter}"

    def instance(self, label: str, make):
        """A started engine with the workloads deployed on fresh data, and their URLs. AutoMatrix
        deploys through its API each time (seconds); a peer starts on a copy of a folder it was
        deployed to once (n8n's deploy is a CLI import and a restart: about 40 s)."""
        if label not in self.prepared:
            e = make(self.fresh_dir())
            e.start()
            return e, e.deploy(self.mock_url)
        if label not in self.templates:
            template = self.fresh_dir()
            make(template).deploy(self.mock_url)
            self.templates[label] = template
        d = self.fresh_dir()
        shutil.copytree(self.templates[label], d)
        e = make(d)
        e.start()
        return e, e.urls()

    @staticmethod
    def done(e) -> None:
        e.stop()
        getattr(e, "remove", lambda: None)()
        if getattr(e, "data_dir", None) is not None:
            shutil.rmtree(e.data_dir, ignore_errors=True)

    def measure(self, label: str, make, prepared: bool = False) -> dict:
        args = self.args
        if prepared:
            self.prepared.add(label)
        r: dict = {"engine": label}
        log(f"{label}: start on fresh data")
        e = make(self.fresh_dir())
        try:
            r["ready_fresh_s"] = e.start()
        finally:
            self.done(e)
        e, urls = self.instance(label, make)
        try:
            check_answers(urls)
            e.stop()
            r["ready_restart_s"] = e.start()
            time.sleep(args.settle)
            r["idle_rss_mib"] = rss_mib(e.pid)
        finally:
            self.done(e)
        log(f"{label}: ready {r['ready_fresh_s']:.3f} s fresh, {r['ready_restart_s']:.3f} s restarting; idle {r['idle_rss_mib']:.1f} MiB")
        for workload in ("W1", "W2"):
            for c in args.concurrency:
                e, urls = self.instance(label, make)
                try:
                    size0 = self.db_bytes(e)
                    cpu0 = cpu_seconds(e.pid)
                    row = self.load.wrk(urls[workload], c, args.duration)
                    row["cpu_s_per_1000"] = (cpu_seconds(e.pid) - cpu0) / max(row["requests"], 1) * 1000
                    row["peak_rss_mib"] = rss_mib(e.pid, "VmHWM")
                    e.stop()
                    done = row["requests"] - row["errors"]
                    if workload == "W1" and done > 0 and size0 is not None:
                        grown = self.db_bytes(e) - size0
                        row["db_bytes_per_10k"] = grown / done * 10_000 if grown > 0 else None
                finally:
                    self.done(e)
                r[f"{workload}_c{c}"] = row
                log(f"{label}: {workload} c={c}: {row['rps']:.0f} req/s, p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, "
                    f"{row['errors']} errors, CPU {row['cpu_s_per_1000']:.3f} s/1000, peak {row['peak_rss_mib']:.0f} MiB")
        r["W3"] = self.w3(label, make)
        return r

    @staticmethod
    def db_bytes(e) -> int | None:
        """What the engine has stored: AutoMatrix says; n8n keeps its SQLite database in its
        folder; Node-RED stores no execution."""
        if hasattr(e, "db_bytes"):
            return e.db_bytes()
        return dir_bytes(e.data_dir) if e.name == "n8n" else None

    def w3(self, label: str, make) -> dict:
        n = self.args.burst
        e, urls = self.instance(label, make)
        try:
            url = urls["W3"]
            t0 = time.monotonic()
            sent = self.load.burst(url, n)
            done, last_change, last = 0, time.monotonic(), -1
            while done < sent["accepted"]:
                done = e.completed("W3")
                now = time.monotonic()
                if done != last:
                    last, last_change = done, now
                if now - last_change > self.args.w3_stall or now - t0 > self.args.w3_limit:
                    break
                time.sleep(0.02)
            elapsed = time.monotonic() - t0
            row = {"triggers": n, "accepted": sent["accepted"], "burst_s": sent["seconds"], "completed": done,
                   "seconds": elapsed, "completed_per_s": done / elapsed, "peak_rss_mib": rss_mib(e.pid, "VmHWM")}
        finally:
            self.done(e)
        log(f"{label}: W3: {row['completed']}/{n} completed in {row['seconds']:.2f} s = {row['completed_per_s']:.0f}/s "
            f"(burst sent in {row['burst_s']:.2f} s, {row['accepted']} accepted)")
        return row


# ---------------------------------------------------------------------------------------------
# W4 and W5: the Rust benches


def rust_bench(name: str, env: dict, smoke: bool, out: Path) -> list:
    """Runs bench/benches/<name>.rs (release with `cargo bench`; in a smoke run the test profile
    that `make test` built) with --bench, so the given sizes apply; returns its JSON."""
    env = dict(os.environ, **env, AUTOMATRIX_BENCH_JSON=str(out))
    cmd = ["cargo", "test" if smoke else "bench", "-q", "-p", "automatrix-bench", "--bench", name, "--", "--bench"]
    log(f"{name}: {' '.join(cmd)}")
    proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    sys.stderr.write(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed ({proc.returncode})")
    return json.loads(out.read_text())


# ---------------------------------------------------------------------------------------------
# The report


def fmt(v, digits=0, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float):
        v = f"{v:,.{digits}f}"
    else:
        v = f"{v:,}"
    return f"{v}{unit}"


def ratio(a, b, invert=False):
    if a is None or b is None or a == 0 or b == 0:
        return None
    return b / a if invert else a / b


def w4_summary(w4: list) -> dict:
    """Per backend: executions/s of both shapes and the cost of one more step."""
    out = {}
    for backend in sorted({c["backend"] for c in w4}):
        one = next((c for c in w4 if c["backend"] == backend and c["nodes"] == 2), None)
        ten = next((c for c in w4 if c["backend"] == backend and c["nodes"] == 10), None)
        if not one or not ten:
            continue
        out[backend] = {
            "one_step_per_s": one["executions_per_s"],
            "ten_step_per_s": ten["executions_per_s"],
            "per_step_ms": (ten["ms_per_execution"] - one["ms_per_execution"]) / 8,
            "ten_step_ms_per_step": ten["ms_per_execution"] / 10,
            "db_bytes_per_10k": one["db_bytes_per_10k"],
        }
    return out


def targets(results: dict) -> list[tuple]:
    """(metric, figures by engine, ratio to Node-RED, ratio to n8n, target, met) rows."""
    eng = {r["engine"]: r for r in results["engines"]}
    ours, pg = eng.get("automatrix-sqlite", {}), eng.get("automatrix-postgres", {})
    red, n8n = eng.get("node-red", {}), eng.get("n8n", {})
    w4 = w4_summary(results.get("w4", []))

    def get(r, *path):
        for p in path:
            if not isinstance(r, dict) or p not in r:
                return None
            r = r[p]
        return r

    rows = []

    def row(metric, path, target, check, lower_is_better=False, digits=0, peers=True):
        vals = [get(x, *path) for x in (ours, pg, red, n8n)]
        r_red = ratio(vals[0], vals[2], invert=lower_is_better) if peers else None
        r_n8n = ratio(vals[0], vals[3], invert=lower_is_better) if peers else None
        met = check(vals[0], r_red, r_n8n)
        rows.append((metric, vals, r_red, r_n8n, target, met, digits))

    c16 = "c16" if 16 in results["settings"]["concurrency"] else f"c{results['settings']['concurrency'][-1]}"
    cmax = f"c{max(results['settings']['concurrency'])}"
    row(f"W1 requests/s ({c16})", (f"W1_{c16}", "rps"), "≥ Node-RED, ≥ 50× n8n",
        lambda v, a, b: None if a is None or b is None else a >= 1 and b >= 50)
    row(f"W1 p99 ms ({c16})", (f"W1_{c16}", "p99_ms"), "≤ 10 ms on SQLite", lambda v, a, b: v is not None and v <= 10,
        lower_is_better=True, digits=2)
    row(f"W2 requests/s ({c16})", (f"W2_{c16}", "rps"), "≥ Node-RED, ≥ 50× n8n",
        lambda v, a, b: None if a is None or b is None else a >= 1 and b >= 50)
    row("W3 completed executions/s", ("W3", "completed_per_s"), "≥ 2× Node-RED, ≥ 20× n8n",
        lambda v, a, b: None if a is None or b is None else a >= 2 and b >= 20)
    for backend, limit in (("sqlite", 1.0), ("postgres", 5.0)):
        if backend in w4:
            v = w4[backend]["per_step_ms"]
            rows.append((f"W4 per-step overhead ms ({backend})", [v if backend == "sqlite" else None, v if backend == "postgres" else None, None, None],
                         None, None, f"≤ {limit:g} ms", v <= limit, 3))
    row("idle memory MiB (RSS)", ("idle_rss_mib",), "≤ 30 MB (28.6 MiB)", lambda v, a, b: v is not None and v <= 28.6,
        lower_is_better=True, digits=1)
    row("ready after start s (restart)", ("ready_restart_s",), "≤ 0.2 s", lambda v, a, b: v is not None and v <= 0.2,
        lower_is_better=True, digits=3)
    row("ready after start s (fresh data)", ("ready_fresh_s",), "–", lambda v, a, b: None, lower_is_better=True, digits=3)
    row(f"CPU s per 1,000 W1 requests ({c16})", (f"W1_{c16}", "cpu_s_per_1000"), "≤ 0.1 s",
        lambda v, a, b: v is not None and v <= 0.1, lower_is_better=True, digits=3)
    row(f"peak memory MiB under W1 ({cmax})", (f"W1_{cmax}", "peak_rss_mib"), "–", lambda v, a, b: None,
        lower_is_better=True, digits=0)
    row(f"database MiB per 10,000 W1 executions ({c16})", (f"W1_{c16}", "db_bytes_per_10k"), "–", lambda v, a, b: None,
        lower_is_better=True, digits=1)
    # bytes to MiB for the last row
    metric, vals, a, b, t, m, d = rows[-1]
    rows[-1] = (metric, [None if v is None else v / 2**20 for v in vals], a, b, t, m, d)
    return rows


def markdown(results: dict) -> str:
    s, m = results["settings"], results["machine"]
    lines = [f"# Benchmark suite: {results['date']}, commit `{results['commit']}`", ""]
    if s["smoke"]:
        lines += ["**Smoke run** (`--smoke`): sizes too small for any figure to mean anything.", ""]
    lines += [
        f"**Machine:** {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']:.0f} GiB RAM, {m['kernel']}; "
        f"load average {m['load_before']} before, {m['load_after']} after.",
        "",
        "**Versions:** " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()) + ".",
        "",
        f"**Settings:** wrk for {s['duration']} s per row at concurrency {', '.join(map(str, s['concurrency']))} "
        f"(a fresh instance and data per row); W3 a burst of {s['burst']} triggers, 64 at once; "
        f"W4 {s['drain']} executions per case, median of {s['repeat']} after a warm-up; every engine with its "
        "defaults (AutoMatrix persists every execution and step; n8n saves every execution in SQLite; "
        "Node-RED persists nothing).",
        "",
        "## Targets",
        "",
        "| metric | AutoMatrix SQLite | AutoMatrix PostgreSQL | Node-RED | n8n | SQLite ÷ Node-RED | SQLite ÷ n8n | target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for metric, vals, r_red, r_n8n, target, met, digits in targets(results):
        cells = [fmt(v, digits) for v in vals]
        met_s = "–" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {metric} | {' | '.join(cells)} | {fmt(r_red, 2, '×')} | {fmt(r_n8n, 1, '×')} | {target} | {met_s} |")
    lines += ["", "Ratios are AutoMatrix on SQLite against the peer, oriented so that above 1 is better for AutoMatrix.", ""]
    lines += ["## W1 and W2 (wrk)", "",
              "| engine | workload | concurrency | requests/s | p50 (ms) | p99 (ms) | errors | CPU s / 1,000 requests | peak RSS (MiB) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results["engines"]:
        for w in ("W1", "W2"):
            for c in s["concurrency"]:
                x = r.get(f"{w}_c{c}")
                if x:
                    lines.append(f"| {r['engine']} | {w} | {c} | {fmt(x['rps'])} | {fmt(x['p50_ms'], 2)} | {fmt(x['p99_ms'], 2)} | "
                                 f"{x['errors']} | {fmt(x['cpu_s_per_1000'], 3)} | {fmt(x['peak_rss_mib'])} |")
    lines += ["", "## W3 (async fan-out, completions from the engine's records)", "",
              "| engine | completed/s | completed | of triggers | seconds | burst sent in (s) | peak RSS (MiB) |",
              "|---|---|---|---|---|---|---|"]
    for r in results["engines"]:
        x = r.get("W3")
        if x:
            lines.append(f"| {r['engine']} | {fmt(x['completed_per_s'])} | {x['completed']} | {x['triggers']} | {fmt(x['seconds'], 2)} | "
                         f"{fmt(x['burst_s'], 2)} | {fmt(x['peak_rss_mib'])} |")
    if results.get("w4"):
        lines += ["", "## W4 (drain of queued executions, AutoMatrix only)", "",
                  "| backend | workflow | concurrency | executions | executions/s (runs) | ms/execution | ms/step | run median / p99 (ms) | DB KiB per execution |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in results["w4"]:
            runs = ", ".join(f"{x:.0f}" for x in c["rates"])
            lines.append(f"| {c['backend']} | {c['shape']} | {c['concurrency']} | {c['completed']} | {c['executions_per_s']:,.0f} ({runs}) | "
                         f"{c['ms_per_execution']:.3f} | {c['ms_per_execution'] / c['nodes']:.3f} | {c['run_median_ms']:.2f} / {c['run_p99_ms']:.2f} | "
                         f"{c['db_bytes_per_10k'] / 10_000 / 1024:.1f} |")
        for backend, x in w4_summary(results["w4"]).items():
            lines.append("")
            lines.append(f"{backend}: one more step costs **{x['per_step_ms']:.3f} ms** of drain time "
                         f"((ms/execution of the 10-step chain − of the 1-step) ÷ 8); the 10-step chain costs "
                         f"{x['ten_step_ms_per_step']:.3f} ms per step, per-execution costs included.")
    if results.get("w5"):
        lines += ["", "## W5 (expression and code steps, AutoMatrix only)", "",
                  "| step | p50 (µs) | p99 (µs) | steps/s per core |", "|---|---|---|---|"]
        for x in results["w5"]:
            lines.append(f"| {x['step']} | {x['p50_us']:.1f} | {x['p99_us']:.1f} | {x['steps_per_core_s']:,.0f} |")
    return "\n".join(lines) + "\n"


def update_readme(report: str) -> None:
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    begin, end = "<!-- suite:begin -->", "<!-- suite:end -->"
    if begin not in text:
        raise RuntimeError(f"{readme} has no {begin} marker")
    body = report.split("\n", 1)[1].replace("\n## ", "\n### ")
    head = f"Latest full run: {report.splitlines()[0][2:]}.\n"
    new = text[: text.index(begin) + len(begin)] + "\n" + head + body + text[text.index(end) :]
    readme.write_text(new)


# ---------------------------------------------------------------------------------------------
# Main


def machine() -> dict:
    cpu_model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
    mem = kib("/proc/meminfo", "MemTotal") / 2**20
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model, "memory_gib": mem, "kernel": f"Linux {platform.release()}",
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="everything, briefly: checks the suite runs (CI)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--peers", default="node-red,n8n", help="comma-separated, or 'none'")
    ap.add_argument("--peers-dir", help="install the peers here and keep them (default: a temporary folder)")
    ap.add_argument("--workloads", default="http,w4,w5", help="any of http (W1-W3 and footprint), w4, w5")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--update-readme", action="store_true", help="put the report into bench/README.md")
    ap.add_argument("--port", type=int, default=18400, help="first of the ports used (engine, mock)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries built already")
    ap.add_argument("--concurrency", help="wrk connections per row, comma-separated (default 1,16,64)")
    args = ap.parse_args()
    smoke = args.smoke
    args.duration = 1 if smoke else 10
    args.concurrency = [int(c) for c in args.concurrency.split(",")] if args.concurrency else [1, 16] if smoke else [1, 16, 64]
    args.burst = 40 if smoke else 2000
    args.drain = 200 if smoke else 10_000
    args.repeat = 1 if smoke else 5
    args.settle = 0.5 if smoke else 2.0
    args.w3_stall, args.w3_limit = (30, 120) if smoke else (60, 600)
    backends = [b for b in args.backends.split(",") if b]
    peers = [] if args.peers == "none" else [p for p in args.peers.split(",") if p]
    workloads = set(args.workloads.split(","))
    pg_admin = os.environ.get("AUTOMATRIX_BENCH_POSTGRES_URL") or os.environ.get("AUTOMATRIX_TEST_POSTGRES_URL") \
        or "postgres://postgres@127.0.0.1:5432/postgres"
    for tool in ("wrk", "curl") + (("psql",) if "postgres" in backends else ()):
        if shutil.which(tool) is None:
            print(f"suite: {tool} is missing (Debian: apt-get install {'postgresql-client' if tool == 'psql' else tool})", file=sys.stderr)
            return 2

    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    profile = "debug" if smoke else "release"
    log(f"building the {profile} server and the mock")
    build = ["cargo", "build", "-q", "-p", "automatrix", "-p", "automatrix-bench", "--bin", "automatrix", "--bin", "mock"]
    if not args.no_build:
        subprocess.run(build + ([] if smoke else ["--release"]), check=True, cwd=ROOT)
    binary, mock_bin = target / profile / "automatrix", target / profile / "mock"

    started = dt.datetime.now(dt.timezone.utc)
    commit = sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD").strip()
    if sh("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no").strip():
        commit += "+changes"
    results: dict = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"), "commit": commit, "machine": machine(),
        "settings": {k: getattr(args, k) for k in ("smoke", "duration", "concurrency", "burst", "drain", "repeat")},
        "versions": {
            "AutoMatrix": version_of(str(binary), "--version"), "rustc": version_of("rustc", "--version"),
            "PostgreSQL": version_of("psql", pg_admin, "-X", "-t", "-A", "-c", "show server_version") if "postgres" in backends else "–",
            "Node.js": version_of("node", "--version"), "wrk": version_of("wrk", "--version"), "curl": version_of("curl", "--version").split(" (")[0],
        },
        "engines": [],
    }
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="automatrix-suite-"))
    mock = None
    peers_root = Path(args.peers_dir) if args.peers_dir else work / "peers"
    try:
        if "http" in workloads:
            mock_port = args.port + 10  # n8n takes port + 1 for its task broker
            mock = subprocess.Popen([str(mock_bin), str(mock_port), "20"], stdout=subprocess.PIPE, text=True)
            if "listening" not in (mock.stdout.readline() or ""):
                raise RuntimeError("the mock did not start")
            mock_url = f"http://127.0.0.1:{mock_port}/delay"
            bench = Bench(args, work, mock_url)
            for backend in backends:
                make = lambda d, b=backend: AutoMatrix(binary, b, args.port, d, pg_admin)  # noqa: E731
                results["engines"].append(bench.measure(f"automatrix-{backend}", make))
            if peers:
                log(f"installing {', '.join(peers)} into {peers_root} (npm)")
                versions = peer_mod.install(peers_root, log=log, names=peers)
                for name in peers:
                    results["versions"][name] = versions[name]
                    cls = peer_mod.PEERS[name]
                    make = lambda d, cls=cls: cls(peers_root, args.port, d)  # noqa: E731
                    results["engines"].append(bench.measure(name, make, prepared=True))
        if "w4" in workloads:
            env = {"AUTOMATRIX_BENCH_EXECUTIONS": str(args.drain), "AUTOMATRIX_BENCH_SHAPES": "1-step,10-step",
                   "AUTOMATRIX_BENCH_CONCURRENCY": "32", "AUTOMATRIX_BENCH_REPEAT": str(args.repeat),
                   "AUTOMATRIX_BENCH_WARMUP": "1", "AUTOMATRIX_BENCH_CALLS": "0", "AUTOMATRIX_BENCH_CASE_SECONDS": "300",
                   "AUTOMATRIX_BENCH_BACKENDS": ",".join(backends), "AUTOMATRIX_BENCH_POSTGRES_URL": pg_admin}
            results["w4"] = rust_bench("drain", env, smoke, work / "w4.json")
        if "w5" in workloads:
            env = {"AUTOMATRIX_BENCH_STEPS": "200" if smoke else "20000"}
            results["w5"] = rust_bench("sandbox", env, smoke, work / "w5.json")
    finally:
        if mock:
            mock.terminate()
            mock.wait()
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report = markdown(results)
    stem = started.strftime("%Y-%m-%d-%H%M") + ("-smoke" if smoke else "")
    (out_dir / f"{stem}.json").write_text(json.dumps(results, indent=1))
    (out_dir / f"{stem}.md").write_text(report)
    print(report)
    log(f"report: {out_dir / (stem + '.md')}")
    if args.update_readme and not smoke:
        update_readme(report)
        log("bench/README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
