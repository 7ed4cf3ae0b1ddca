#!/usr/bin/env python3
"""Load-and-fault scenarios for bink-proxy's bearer-token path.

Each scenario starts its own mock Bink (a threaded stdlib HTTP server answering
GET /api/oauth/user), its own tiny upstream (a child process answering 200 "ok") and its
own `bink-proxy serve`, configured from BINK_PROXY_* environment variables only (cwd is a
fresh temp dir, so no config.toml is picked up). Load comes from wrk (with a generated Lua
script for per-request tokens and status counts) and from Python threads. Everything runs
on 127.0.0.1 and every process started here is killed on exit, Ctrl-C included.

    benches/faults.py                          # all scenarios (< 4 minutes)
    benches/faults.py --scenario bink-down     # one of them
    benches/faults.py --bin target/debug/bink-proxy

One PASS/FAIL line per criterion, with the measured numbers; exit status 1 if any FAIL.

Scenarios:
  bink-down      Bink down for the whole run: cached identities keep working through
                 tokens.stale_if_error, uncached tokens get 503 + Retry-After, never 401/2xx.
  bink-500       Bink answers 500 half the time: errors are never cached (a token that got
                 503 succeeds on a later try) and a Bink 5xx never becomes a 401.
  bink-slow      Bink takes +2 s: warm-token p99 unchanged while a burst of new tokens waits,
                 and Bink never sees more than bink.max_concurrent_calls calls at once.
  invalid-flood  2,000 distinct invalid tokens, each sent many times at high concurrency:
                 at most one Bink call per token per negative_cache_ttl, warm-token p99 at
                 most 2x the no-flood value (or +5 ms, whichever is larger).
  slow-loris     200 sockets dribbling a request head byte by byte are cut off by
                 server.header_read_timeout while real requests keep being served.

The wrk-measured p99 comparisons use a rate-limited probe (2 connections, 2 ms between
requests), so they compare service latency, not how full the run queue of a 2-core machine
is; the reference is the lower p99 of a window before and one after the fault, and an
attempt that misses the limit is repeated (at most 3 attempts, all printed).
--set SECTION__KEY=VALUE overrides a proxy setting everywhere (e.g. --set
TOKENS__STALE_IF_ERROR=0s makes bink-down fail), to check that the criteria can fail.
"""

import argparse
import collections
import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_BIN = os.path.join(REPO, "target", "release", "bink-proxy")
WRK = shutil.which("wrk") or "/usr/bin/wrk"

# Every child process (proxy, upstream, wrk) is registered here and killed in cleanup().
CHILDREN = []
CHILDREN_LOCK = threading.Lock()


def log(msg):
    print(msg, flush=True)


def spawn(args, **kw):
    proc = subprocess.Popen(args, **kw)
    with CHILDREN_LOCK:
        CHILDREN.append(proc)
    return proc


def kill(proc, grace=3.0):
    if proc is None:
        return
    try:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(grace)
    except Exception:
        pass
    with CHILDREN_LOCK:
        if proc in CHILDREN:
            CHILDREN.remove(proc)


def cleanup():
    with CHILDREN_LOCK:
        procs = list(CHILDREN)
    for p in procs:
        kill(p)


# --------------------------------------------------------------------------------------
# Mock Bink


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default of 5 drops SYNs under a burst -> spurious timeouts
    allow_reuse_address = True


class MockIdP:
    """GET /api/oauth/user: `Bearer good_<n>` -> 200 user u<n>, anything else -> 401.

    Modes: down() closes the listening socket (connections are refused); error_rate makes
    that fraction of calls answer 500; latency delays every answer. HTTP/1.0, so no call
    ever rides a pooled connection past down()."""

    def __init__(self, seed=1):
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.latency = 0.0
        self.error_rate = 0.0
        self.calls = 0
        self.inflight = 0
        self.max_inflight = 0
        self.statuses = collections.Counter()
        self.per_token = collections.defaultdict(list)  # token -> [status returned, ...]
        self.server = None
        self.port = None
        self._thread = None
        self.up()

    def up(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                idp._handle(self)

        self.server = _Server(("127.0.0.1", self.port or 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def down(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def reset_counters(self):
        with self.lock:
            self.calls = 0
            self.max_inflight = self.inflight
            self.statuses.clear()
            self.per_token.clear()

    def _handle(self, h):
        if h.path.split("?")[0] != "/api/oauth/user":
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        auth = h.headers.get("Authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        with self.lock:
            self.calls += 1
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            latency = self.latency
            fail = self.error_rate > 0 and self.rng.random() < self.error_rate
        status = 500
        counted = False
        try:
            if latency:
                time.sleep(latency)
            m = re.fullmatch(r"good_(\d+)", token)
            if fail:
                status, body = 500, b'{"error":"internal"}'
            elif m:
                n = m.group(1)
                status = 200
                body = json.dumps(
                    {
                        "id": "u" + n,
                        "name": None,
                        "email": "u%s@example.com" % n,
                        "username": "u" + n,
                        "avatar": None,
                        "plan": "FREE",
                        "verificationLevel": 1,
                    }
                ).encode()
            else:
                status, body = 401, b'{"error":"invalid_token"}'
            # The call ends here, before its answer is written: once the proxy has read the
            # answer it may start the next call, possibly before this thread runs again.
            with self.lock:
                self.inflight -= 1
                counted = True
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass
        finally:
            with self.lock:
                if not counted:
                    self.inflight -= 1
                self.statuses[status] += 1
                self.per_token[token].append(status)


# --------------------------------------------------------------------------------------
# Upstream: a child process, so its work never competes for this process's GIL with the
# mock Bink and the Python load generators. asyncio (stdlib) keeps it fast enough that the
# proxy, not the mock, is what the latency numbers measure.

UPSTREAM_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
)


def upstream_main():
    import asyncio

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            self.t = transport
            self.buf = b""

        def data_received(self, data):
            self.buf += data
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                m = re.search(rb"(?im)^content-length:\s*(\d+)", self.buf[:end])
                need = end + 4 + (int(m.group(1)) if m else 0)
                if len(self.buf) < need:
                    return
                self.buf = self.buf[need:]
                self.t.write(UPSTREAM_RESPONSE)

    def watch_parent():
        # The parent holds our stdin open; EOF means it is gone.
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    async def main():
        server = await asyncio.get_running_loop().create_server(
            Proto, "127.0.0.1", 0, backlog=1024
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    threading.Thread(target=watch_parent, daemon=True).start()
    asyncio.run(main())


class Upstream:
    def __init__(self):
        self.proc = spawn(
            [sys.executable, os.path.abspath(__file__), "--_upstream"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        line = self.proc.stdout.readline().strip()
        if not line:
            raise RuntimeError("upstream did not start")
        self.port = int(line)

    def stop(self):
        kill(self.proc)


# --------------------------------------------------------------------------------------
# The proxy


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    def __init__(self, binary, idp, upstream, settings, workdir, overrides=None):
        self.binary = binary
        self.workdir = workdir
        self.log_path = os.path.join(workdir, "proxy.log")
        self.proc = None
        self.port = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("BINK_PROXY_")}
        env["RUST_LOG"] = "warn"
        base = {
            "SERVER__UPSTREAM": "http://127.0.0.1:%d" % upstream.port,
            "BINK__BASE_URL": idp.base_url,
            "BINK__TIMEOUT": "1s",
            "SERVER__HEADER_READ_TIMEOUT": "2s",
            "SERVER__SHUTDOWN_GRACE": "0s",
        }
        base.update(settings)
        base.update(overrides or {})
        self.settings = base
        last_error = None
        for _attempt in range(3):
            self.port = free_port()
            env2 = dict(env)
            env2["BINK_PROXY_SERVER__LISTEN"] = "127.0.0.1:%d" % self.port
            for k, v in base.items():
                env2["BINK_PROXY_" + k] = v
            logf = open(self.log_path, "ab")
            try:
                self.proc = spawn(
                    [binary, "serve"],
                    cwd=workdir,
                    env=env2,
                    stdin=subprocess.DEVNULL,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                )
            finally:
                logf.close()
            try:
                self._wait_ping(20.0)
                return
            except RuntimeError as e:
                last_error = e
                kill(self.proc)
        raise RuntimeError("%s\n--- proxy log tail ---\n%s" % (last_error, self.log_tail()))

    def _wait_ping(self, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("proxy exited with %s" % self.proc.returncode)
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/ping")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("proxy did not answer /ping within %.0fs" % limit)

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def log_summary(self):
        """'N lines: <count> x <level target: message>, ...' with fields and colours dropped."""
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        kinds = collections.Counter()
        lines = text.splitlines()
        for line in lines:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            m = re.match(r"\S+\s+(WARN|ERROR|INFO)\s+(\S+)\s+(.*?)(\s+\w+=.*)?$", line)
            kinds[" ".join(m.groups()[:3]) if m else line[:120]] += 1
        if not lines:
            return ""
        return "%d line(s): %s" % (len(lines), "; ".join(
            "%d x %s" % (n, k) for k, n in kinds.most_common(3)))

    def stop(self):
        kill(self.proc)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port


def get(port, token, path="/bench", timeout=10.0):
    """One request on a fresh connection -> (status, headers, body); status None on error."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        headers = {"Authorization": "Bearer " + token} if token is not None else {}
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        body = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, body
    except (OSError, http.client.HTTPException) as e:
        return None, {}, repr(e).encode()


# --------------------------------------------------------------------------------------
# wrk with a generated Lua script

LUA_TEMPLATE = r"""
local threads = {}
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
  n = 0
  math.randomseed(tid * 7919 + os.time())
end
local prefix = "%(prefix)s"
local mode = "%(mode)s"
local lo, hi = %(lo)d, %(hi)d
local stride = %(threads)d
function request()
  n = n + 1
  local k
  if mode == "fixed" then k = lo
  elseif mode == "cycle" then k = lo + ((n * stride + tid) %% (hi - lo + 1))
  else k = math.random(lo, hi) end
  return wrk.format("GET", "/bench", {["Authorization"] = "Bearer " .. prefix .. k})
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
%(delay)s
function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do agg[k] = (agg[k] or 0) + v end end
  end
  io.write("RESULT_STATUS")
  for k, v in pairs(agg) do io.write(string.format(" %%d=%%d", k, v)) end
  io.write("\n")
  io.write(string.format("RESULT_LAT p50=%%d p90=%%d p99=%%d max=%%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  local e = summary.errors
  io.write(string.format("RESULT_SUM requests=%%d duration=%%d connect=%%d read=%%d write=%%d timeout=%%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout))
end
"""


class Wrk:
    """wrk in the background; result() parses what the Lua done() printed."""

    def __init__(self, workdir, url, prefix, mode="fixed", lo=1, hi=1, duration=5,
                 conns=2, threads=1, delay_ms=0, name="wrk"):
        threads = min(threads, conns)
        delay = "function delay() return %d end" % delay_ms if delay_ms else ""
        lua = LUA_TEMPLATE % dict(prefix=prefix, mode=mode, lo=lo, hi=hi, threads=threads,
                                  delay=delay)
        path = os.path.join(workdir, "%s-%d.lua" % (name, id(self)))
        with open(path, "w") as f:
            f.write(lua)
        self.name = name
        self.proc = spawn(
            [WRK, "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "--timeout", "10s",
             "-s", path, url + "/bench"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.duration = duration

    def result(self):
        try:
            out, _ = self.proc.communicate(timeout=self.duration + 30)
        finally:
            kill(self.proc)
        text = out.decode("utf-8", "replace")
        res = {"statuses": collections.Counter(), "raw": text}
        m = re.search(r"RESULT_STATUS(.*)", text)
        if not m:
            raise RuntimeError("%s produced no result:\n%s" % (self.name, text))
        for k, v in re.findall(r"(\d+)=(\d+)", m.group(1)):
            res["statuses"][int(k)] += int(v)
        m = re.search(r"RESULT_LAT p50=(\d+) p90=(\d+) p99=(\d+) max=(\d+)", text)
        res.update({k: int(v) / 1000.0 for k, v in zip(("p50", "p90", "p99", "max"), m.groups())})
        m = re.search(r"RESULT_SUM requests=(\d+) duration=(\d+) connect=(\d+) read=(\d+) "
                      r"write=(\d+) timeout=(\d+)", text)
        vals = [int(x) for x in m.groups()]
        res["requests"] = vals[0]
        res["rps"] = vals[0] / (vals[1] / 1e6) if vals[1] else 0.0
        res["errors"] = sum(vals[2:])
        res["total"] = sum(res["statuses"].values())
        res["2xx"] = sum(v for k, v in res["statuses"].items() if 200 <= k < 300)
        return res


def probe(workdir, port, token_n, duration, name="probe"):
    """The latency probe: a warm token, 2 connections, ~1 request per 2 ms each."""
    return Wrk(workdir, "http://127.0.0.1:%d" % port, "good_", "fixed", lo=token_n,
               hi=token_n, duration=duration, conns=2, threads=1, delay_ms=2, name=name)


def fmt_status(counter):
    return "{" + ", ".join("%s: %d" % (k, counter[k]) for k in sorted(counter)) + "}"


# --------------------------------------------------------------------------------------
# Scenarios


class Report:
    def __init__(self):
        self.lines = []

    def check(self, scenario, criterion, ok, detail):
        line = "%s %s: %s -- %s" % ("PASS" if ok else "FAIL", scenario, criterion, detail)
        self.lines.append((ok, line))
        log(line)
        return ok

    def info(self, scenario, detail):
        log("INFO %s: %s" % (scenario, detail))

    @property
    def failed(self):
        return [l for ok, l in self.lines if not ok]


class Env:
    """The per-scenario world: mock Bink, upstream, proxy, temp dir."""

    def __init__(self, args, settings, idp_seed=1):
        self.workdir = tempfile.mkdtemp(prefix="bink-faults-")
        self.idp = self.upstream = self.proxy = None
        try:
            self.idp = MockIdP(seed=idp_seed)
            self.upstream = Upstream()
            self.proxy = Proxy(args.bin, self.idp, self.upstream, settings, self.workdir,
                               args.overrides)
        except BaseException:
            self.close()
            raise
        self.keep = args.keep

    def close(self):
        if self.proxy:
            self.proxy.stop()
            summary = self.proxy.log_summary()
            if summary:
                log("     proxy log (RUST_LOG=warn): %s" % summary)
        if self.upstream:
            self.upstream.stop()
        if self.idp:
            self.idp.down()
        if not getattr(self, "keep", False):
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            log("     (kept %s)" % self.workdir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def warm(env, ns):
    bad = [(n, s) for n in ns for s, _, _ in [get(env.proxy.port, "good_%d" % n)] if s != 200]
    return bad


def scenario_bink_down(args, rep):
    S = "bink-down"
    settings = {
        "TOKENS__CACHE_TTL": "2s",
        "TOKENS__STALE_IF_ERROR": "10m",
        "TOKENS__NEGATIVE_CACHE_TTL": "5s",
        "BINK__TIMEOUT": "1s",
    }
    with Env(args, settings) as env:
        port = env.proxy.port
        warm_ns = list(range(1, 9))
        bad = warm(env, warm_ns)
        if not rep.check(S, "warm-up with Bink up", not bad,
                         "%d tokens warmed, Bink calls=%d, failures=%s"
                         % (len(warm_ns), env.idp.calls, bad)):
            return
        env.idp.down()
        time.sleep(2.5)  # every warm entry is now past cache_ttl: only stale_if_error is left
        calls_before = env.idp.calls
        d = 12
        cached = Wrk(env.workdir, env.proxy.url, "good_", "cycle", lo=1, hi=8, duration=d,
                     conns=8, threads=1, delay_ms=2, name="cached")
        uncached = Wrk(env.workdir, env.proxy.url, "good_", "random", lo=100000, hi=999999,
                       duration=d, conns=8, threads=1, delay_ms=2, name="uncached")
        uncached_bad = Wrk(env.workdir, env.proxy.url, "bad_", "random", lo=1, hi=999999,
                           duration=d, conns=4, threads=1, delay_ms=2, name="uncached-bad")
        # A few hand-checked answers while the load runs.
        time.sleep(d / 2)
        samples = [get(port, "good_%d" % (5000000 + i)) for i in range(5)]
        samples += [get(port, "invalid_%d" % i) for i in range(5)]
        sample_cached = [get(port, "good_%d" % n)[0] for n in warm_ns]
        c, u, ub = cached.result(), uncached.result(), uncached_bad.result()
        s_ok = all(s == 503 and h.get("retry-after") and
                   json.loads(b or b"{}").get("error") == "identity_provider_unavailable"
                   for s, h, b in samples)
        u_total = u["total"] + ub["total"]
        u_503 = u["statuses"][503] + ub["statuses"][503]
        u_2xx = u["2xx"] + ub["2xx"]
        n401 = c["statuses"][401] + u["statuses"][401] + ub["statuses"][401]
        rep.check(S, "cached identities keep working (stale_if_error)",
                  c["total"] > 0 and c["2xx"] == c["total"] and c["errors"] == 0
                  and all(s == 200 for s in sample_cached),
                  "cached 2xx=%d of %d %s, socket errors=%d, p99=%.2fms, spot checks=%s"
                  % (c["2xx"], c["total"], fmt_status(c["statuses"]), c["errors"], c["p99"],
                     sample_cached))
        rep.check(S, "uncached tokens get 503 with Retry-After",
                  u_total > 0 and u_503 == u_total and s_ok and u["errors"] + ub["errors"] == 0,
                  "uncached 503=%d of %d (valid-looking %s, invalid %s), spot checks "
                  "503+Retry-After+identity_provider_unavailable=%s"
                  % (u_503, u_total, fmt_status(u["statuses"]), fmt_status(ub["statuses"]),
                     s_ok))
        rep.check(S, "zero 401", n401 == 0, "401=%d" % n401)
        rep.check(S, "zero 2xx for uncached tokens", u_2xx == 0, "uncached 2xx=%d" % u_2xx)
        rep.info(S, "Bink answered %d calls while down (must be 0: it is not listening)"
                 % (env.idp.calls - calls_before))


def scenario_bink_500(args, rep):
    S = "bink-500"
    settings = {
        "TOKENS__CACHE_TTL": "60s",
        "TOKENS__NEGATIVE_CACHE_TTL": "5s",
        "TOKENS__STALE_IF_ERROR": "0s",
        "BINK__TIMEOUT": "2s",
    }
    with Env(args, settings, idp_seed=500) as env:
        port = env.proxy.port
        env.idp.error_rate = 0.5
        # Phase A: every token retried sequentially until Bink gives a definite answer, so
        # each proxy answer can be matched with the Bink answer behind it.
        valid = ["good_%d" % n for n in range(1000, 1200)]
        invalid = ["bad_%d" % n for n in range(1, 61)]
        seen = {}  # token -> [proxy status, ...]
        retry_after_missing = [0]

        def drive(token):
            out = []
            for _ in range(25):
                s, h, _b = get(port, token)
                out.append(s)
                if s == 503 and not h.get("retry-after"):
                    retry_after_missing[0] += 1
                if s != 503:
                    break
                time.sleep(0.02)
            seen[token] = out

        t0 = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(drive, valid + invalid))
        phase_a = time.monotonic() - t0
        idp_tokens = dict(env.idp.per_token)

        # Phase B: wrk over 3,000 valid tokens picked at random, with the same 50% failures.
        w = Wrk(env.workdir, env.proxy.url, "good_", "random", lo=10000, hi=12999, duration=8,
                conns=16, threads=2, delay_ms=2, name="random-valid").result()

        got503 = [t for t in valid if 503 in seen[t]]
        recovered = [t for t in got503 if seen[t][-1] == 200]
        mismatch = []
        proxy_for = {200: 200, 401: 401, 500: 503}
        for t in valid + invalid:
            expected = [proxy_for.get(s, "?") for s in idp_tokens.get(t, [])]
            if expected != seen[t]:
                mismatch.append((t, idp_tokens.get(t, []), seen[t]))
        valid401 = sum(s == 401 for t in valid for s in seen[t])
        other = collections.Counter(s for t in valid for s in seen[t] if s not in (200, 503))
        idp500 = env.idp.statuses[500]
        rep.check(S, "no negative caching: a valid token that got 503 succeeds later",
                  len(got503) > 0 and len(recovered) == len(got503)
                  and all(seen[t][-1] == 200 for t in valid) and not retry_after_missing[0],
                  "%d/%d valid tokens got >=1 503, %d of them succeeded on a later try "
                  "(max tries %d), 503 without Retry-After=%d, phase A %.1fs"
                  % (len(got503), len(valid), len(recovered),
                     max(len(v) for v in seen.values()), retry_after_missing[0], phase_a))
        rep.check(S, "each retry after a 503 reached Bink again (one call per try)",
                  not mismatch,
                  "tokens whose Bink answers != proxy answers: %d%s"
                  % (len(mismatch), (" e.g. %s" % (mismatch[:3],)) if mismatch else ""))
        rep.check(S, "no valid token ever gets 401",
                  valid401 == 0 and w["statuses"][401] == 0 and not other,
                  "phase A: 401=%d other=%s; wrk over 3000 random valid tokens: %s "
                  "(2xx=%d, 503=%d, 401=%d, socket errors=%d)"
                  % (valid401, dict(other), fmt_status(w["statuses"]), w["2xx"],
                     w["statuses"][503], w["statuses"][401], w["errors"]))
        inv401 = sum(1 for t in invalid if seen[t][-1] == 401)
        inv_early401 = sum(1 for t in invalid for i, s in enumerate(idp_tokens.get(t, []))
                           if s == 500 and seen[t][i:i + 1] == [401])
        rep.check(S, "a Bink 5xx never turned into 401",
                  idp500 > 0 and inv_early401 == 0 and not mismatch
                  and inv401 == len(invalid) and w["2xx"] + w["statuses"][503] == w["total"],
                  "Bink returned 500 %d times in total; invalid tokens: 500->401=%d, final 401 "
                  "%d/%d; wrk non-(2xx|503)=%d"
                  % (idp500, inv_early401, inv401, len(invalid),
                     w["total"] - w["2xx"] - w["statuses"][503]))


P99_ATTEMPTS = 3


def scenario_bink_slow(args, rep):
    S = "bink-slow"
    cap = 4
    settings = {
        "TOKENS__CACHE_TTL": "60s",
        "BINK__TIMEOUT": "5s",
        "BINK__MAX_CONCURRENT_CALLS": str(cap),
    }
    with Env(args, settings) as env:
        port = env.proxy.port
        bad = warm(env, [1])
        if not rep.check(S, "warm-up", not bad, "failures=%s" % bad):
            return
        env.idp.reset_counters()
        burst = collections.Counter()
        counter = iter(range(2000, 10 ** 9))
        lock = threading.Lock()
        attempts = []
        # p99 on a shared 2-core machine is dominated by scheduling noise. The reference is
        # the lower of a window before and a window after the slow period (so a noisy
        # baseline cannot make the check lenient), and an attempt that misses the limit is
        # measured again (the previous "after" serves as the next "before"), up to
        # P99_ATTEMPTS times; every attempt is printed. A real regression (cached requests
        # queued behind Bink calls) costs seconds, not milliseconds, and fails every time.
        after = None
        for attempt in range(1, P99_ATTEMPTS + 1):
            env.idp.latency = 0.0
            before = after or probe(env.workdir, port, 1, 5, "before").result()
            env.idp.latency = 2.0
            stop = threading.Event()

            def burster():
                while not stop.is_set():
                    with lock:
                        n = next(counter)
                    s, _h, _b = get(port, "good_%d" % n, timeout=15)
                    with lock:
                        burst[s] += 1

            threads = [threading.Thread(target=burster, daemon=True) for _ in range(24)]
            for t in threads:
                t.start()
            time.sleep(1.0)  # the burst is now queued behind Bink's 2 s
            waiting = env.idp.inflight
            during = probe(env.workdir, port, 1, 5, "during").result()
            stop.set()
            env.idp.latency = 0.0  # lets the queued lookups drain quickly
            for t in threads:
                t.join(20)
            after = probe(env.workdir, port, 1, 5, "after").result()
            ref = min(before["p99"], after["p99"])
            limit = max(1.5 * ref, ref + 5.0)
            ok = (during["p99"] <= limit and during["2xx"] == during["total"] > 0
                  and during["errors"] == 0)
            attempts.append("#%d p99 before=%.2fms during=%.2fms after=%.2fms (limit %.2fms) "
                            "p50 %.2f->%.2fms 2xx %d/%d, Bink calls in flight at start %d"
                            % (attempt, before["p99"], during["p99"], after["p99"], limit,
                               before["p50"], during["p50"], during["2xx"], during["total"],
                               waiting))
            if ok:
                break
        rep.check(S, "cached p99 unchanged while new tokens wait on a slow Bink "
                     "(<= max(1.5x, +5ms))", ok, "; ".join(attempts))
        rep.check(S, "Bink calls in flight <= bink.max_concurrent_calls",
                  0 < env.idp.max_inflight <= cap and not burst[401] and not burst[None],
                  "max in flight=%d (cap %d), Bink calls=%d, burst of distinct new tokens: "
                  "answers %s (503 = no Bink slot within bink.timeout)"
                  % (env.idp.max_inflight, cap, env.idp.calls, fmt_status(burst)))


def scenario_invalid_flood(args, rep):
    S = "invalid-flood"
    distinct = 2000
    settings = {
        "TOKENS__CACHE_TTL": "60s",
        "TOKENS__NEGATIVE_CACHE_TTL": "30s",
        "BINK__TIMEOUT": "5s",
        "BINK__MAX_CONCURRENT_CALLS": "64",
    }
    with Env(args, settings) as env:
        port = env.proxy.port
        bad = warm(env, [1])
        if not rep.check(S, "warm-up", not bad, "failures=%s" % bad):
            return
        env.idp.reset_counters()
        floods, attempts = [], []
        # As in bink-slow: reference = the lower of the windows before and after the flood;
        # an attempt missing the limit is measured again (with a fresh range of 2,000
        # tokens), up to P99_ATTEMPTS times.
        after = None
        for attempt in range(1, P99_ATTEMPTS + 1):
            base = after or probe(env.workdir, port, 1, 5, "base").result()
            lo = attempt * 100000
            flood = Wrk(env.workdir, env.proxy.url, "bad_", "cycle", lo=lo,
                        hi=lo + distinct - 1, duration=9, conns=200, threads=2, delay_ms=100,
                        name="flood")
            time.sleep(0.5)
            during = probe(env.workdir, port, 1, 7, "during").result()
            f = flood.result()
            floods.append(f)
            after = probe(env.workdir, port, 1, 5, "after").result()
            ref = min(base["p99"], after["p99"])
            limit = max(2.0 * ref, ref + 5.0)  # +5 ms: sub-5 ms p99s are scheduling noise
            ok = (during["p99"] <= limit and during["2xx"] == during["total"] > 0
                  and during["errors"] == 0)
            attempts.append("#%d p99 without (before/after)=%.2f/%.2fms during=%.2fms (limit "
                            "%.2fms) p50 %.2f->%.2fms 2xx %d/%d, flood %.0f req/s"
                            % (attempt, base["p99"], after["p99"], during["p99"], limit,
                               base["p50"], during["p50"], during["2xx"], during["total"],
                               f["rps"]))
            if ok:
                break
        per = env.idp.per_token
        bad_calls = {t: len(v) for t, v in per.items() if t.startswith("bad_")}
        maxper = max(bad_calls.values()) if bad_calls else 0
        total = sum(bad_calls.values())
        ftotal = sum(f["total"] for f in floods)
        fstatus = sum((f["statuses"] for f in floods), collections.Counter())
        ferrors = sum(f["errors"] for f in floods)
        ndistinct = distinct * len(floods)
        rep.check(S, "Bink calls <= 1 per distinct token per negative_cache_ttl",
                  0 < total <= ndistinct and maxper <= 1 and fstatus[401] == ftotal,
                  "%d flood requests (200 connections, %d run(s)) over %d distinct invalid "
                  "tokens (~%.0f requests each) -> Bink calls=%d (distinct tokens seen by "
                  "Bink=%d, max per token=%d); flood answers %s, socket errors=%d"
                  % (ftotal, len(floods), ndistinct, ftotal / ndistinct, total,
                     len(bad_calls), maxper, fmt_status(fstatus), ferrors))
        rep.check(S, "warm-token p99 during the flood <= 2x without it (or +5ms)", ok,
                  "; ".join(attempts))


def scenario_slow_loris(args, rep):
    S = "slow-loris"
    hrt = 2.0
    nslow, nsilent = 200, 20
    settings = {"SERVER__HEADER_READ_TIMEOUT": "%gs" % hrt, "TOKENS__CACHE_TTL": "60s"}
    with Env(args, settings) as env:
        port = env.proxy.port
        bad = warm(env, [1])
        if not rep.check(S, "warm-up", not bad, "failures=%s" % bad):
            return
        head = (b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer good_1\r\n"
                b"X-Slow: " + b"a" * 400)  # never terminated by an empty line
        # fd -> [sock, opened_at, bytes_sent, closed_at, kind]; "slow" dribbles `head` one
        # byte per 100 ms; the two informational kinds send nothing / a partial HTTP/2
        # preface and then stall.
        # Times count from each socket's first byte (hyper starts the header-read timer
        # when it starts reading a head), which is sent right after the connect returns.
        socks = {}
        kinds = ["slow"] * nslow + ["silent"] * nsilent + ["h2-preface"] * nsilent
        slow_connects = []
        for kind in kinds:
            t = time.monotonic()
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            took = time.monotonic() - t
            if took > 0.5:
                slow_connects.append(took)
            sent = 0
            if kind == "h2-preface":
                s.sendall(b"PRI * HTTP/2.0\r\n")
            elif kind == "slow":
                s.sendall(head[:1])
                sent = 1
            s.setblocking(False)
            socks[s.fileno()] = [s, time.monotonic(), sent, None, kind]
        legit = probe(env.workdir, port, 1, 6, "legit")
        py_lat, py_status = [], collections.Counter()
        watch_until = time.monotonic() + hrt + 4.0
        next_py = time.monotonic()
        try:
            while time.monotonic() < watch_until:
                open_ = [v for v in socks.values() if v[3] is None]
                if not open_:
                    break
                for v in open_:  # one more byte each, every 100 ms
                    if v[4] != "slow" or v[2] >= len(head):
                        continue
                    try:
                        v[0].send(head[v[2]:v[2] + 1])
                        v[2] += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        v[3] = time.monotonic()
                readable, _, _ = select.select([v[0] for v in open_ if v[3] is None], [], [],
                                               0.1)
                for s in readable:
                    v = socks[s.fileno()]
                    try:
                        if not s.recv(65536):
                            v[3] = time.monotonic()
                    except BlockingIOError:
                        pass
                    except OSError:
                        v[3] = time.monotonic()
                if time.monotonic() >= next_py:  # a Python client too, 5 per second
                    t = time.monotonic()
                    st, _h, _b = get(port, "good_1", timeout=5)
                    py_lat.append((time.monotonic() - t) * 1000)
                    py_status[st] += 1
                    next_py = time.monotonic() + 0.2
        finally:
            for v in socks.values():
                try:
                    v[0].close()
                except OSError:
                    pass
        l = legit.result()
        slow = [v for v in socks.values() if v[4] == "slow"]
        cut = [v[3] - v[1] for v in slow if v[3] is not None]
        still = len(slow) - len(cut)
        rep.check(S, "slow-loris sockets cut off within header_read_timeout + 1s",
                  still == 0 and cut and max(cut) <= hrt + 1.0,
                  "%d/%d closed, after (from first byte) min=%.2fs median=%.2fs max=%.2fs "
                  "(timeout %gs), "
                  "still open=%d, bytes sent before cut max=%d"
                  % (len(cut), len(slow), min(cut or [0]), statistics.median(cut or [0]),
                     max(cut or [0]), hrt, still, max(v[2] for v in slow)))
        ok = (l["2xx"] == l["total"] > 0 and l["errors"] == 0 and l["p99"] <= 100.0
              and py_status[200] == sum(py_status.values()) > 0 and max(py_lat) <= 250.0)
        rep.check(S, "legitimate requests keep being served",
                  ok,
                  "wrk 2xx=%d of %d, %.0f req/s, p50=%.2fms p99=%.2fms (limit 100ms), socket "
                  "errors=%d; python client %s, max=%.1fms (limit 250ms)"
                  % (l["2xx"], l["total"], l["rps"], l["p50"], l["p99"], l["errors"],
                     fmt_status(py_status), max(py_lat or [0])))
        rep.info(S, "opening %d connections back to back: %d connect(s) took > 0.5 s (max %.2fs)%s"
                 % (len(kinds), len(slow_connects), max(slow_connects or [0]),
                    " -- SYN retransmit after an accept-queue overflow (listen backlog)"
                    if slow_connects else ""))
        for kind in ("silent", "h2-preface"):
            group = [v for v in socks.values() if v[4] == kind]
            gcut = [v[3] - v[1] for v in group if v[3] is not None]
            rep.info(S, "%d sockets that %s then stall: %d closed (max after %.2fs), %d still "
                     "open after %.1fs" % (len(group), "connect and send nothing" if kind ==
                                           "silent" else "send 'PRI * HTTP/2.0\\r\\n'",
                                           len(gcut), max(gcut or [0]), len(group) - len(gcut),
                                           hrt + 4.0))


SCENARIOS = collections.OrderedDict(
    [
        ("bink-down", scenario_bink_down),
        ("bink-500", scenario_bink_500),
        ("bink-slow", scenario_bink_slow),
        ("invalid-flood", scenario_invalid_flood),
        ("slow-loris", scenario_slow_loris),
    ]
)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--_upstream":
        upstream_main()
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", action="append", choices=list(SCENARIOS),
                    help="run only this scenario (repeatable); default: all")
    ap.add_argument("--bin", default=DEFAULT_BIN, help="bink-proxy binary (default: %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep each scenario's temp dir (logs)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION__KEY=VALUE",
                    help="override a proxy setting in every scenario, e.g. "
                         "TOKENS__STALE_IF_ERROR=0s (to check that a criterion can fail)")
    args = ap.parse_args()
    args.overrides = {}
    for item in args.set:
        k, sep, v = item.partition("=")
        if not sep:
            ap.error("--set wants SECTION__KEY=VALUE")
        args.overrides[k.upper().removeprefix("BINK_PROXY_")] = v
    args.bin = os.path.abspath(args.bin)
    if not os.access(args.bin, os.X_OK):
        log("no executable at %s (cargo build --release first, or --bin)" % args.bin)
        return 2
    if not os.access(WRK, os.X_OK):
        log("wrk not found")
        return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    rep = Report()
    started = time.monotonic()
    names = args.scenario or list(SCENARIOS)
    log("bink-proxy fault scenarios: %s (binary %s, mtime %s)%s"
        % (", ".join(names), args.bin,
           time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(args.bin))),
           "".join(" BINK_PROXY_%s=%s" % kv for kv in args.overrides.items())))
    try:
        for name in names:
            t = time.monotonic()
            log("== %s" % name)
            try:
                SCENARIOS[name](args, rep)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # a broken scenario is a FAIL, the others still run
                rep.check(name, "scenario ran", False, "%s: %s" % (type(e).__name__, e))
            cleanup()  # nothing a scenario started outlives it
            log("   (%.1fs)" % (time.monotonic() - t))
    except KeyboardInterrupt:
        log("interrupted")
        cleanup()
        return 130
    finally:
        cleanup()
    failed = rep.failed
    log("== summary: %d checks, %d passed, %d failed, %.0fs"
        % (len(rep.lines), len(rep.lines) - len(failed), len(failed),
           time.monotonic() - started))
    for line in failed:
        log("   " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
