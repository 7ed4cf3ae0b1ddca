#!/usr/bin/env bash
# Many live bearer tokens against one, through one running bink-proxy, in one run: req/s,
# p99 and RSS, interleaved A B B A, pinned like ../shared/bench/peers.sh (proxy, upstream
# and mock Bink on CPU 0, wrk on CPU 1). Issue 5's target 4: N distinct live tokens keep
# at least 0.9x the single-token throughput.
#
#   benches/tokens_vs_single.sh [BINARY]           # default target/release/bink-proxy
#   TOKENS="1000 100000" DURATION=8 CONNS="32 256" ROUNDS=2 benches/tokens_vs_single.sh
#
# Both modes go through the same wrk script (one Lua `request()` call per request, which
# the cycling needs), so wrk's own cost is the same on both sides of the ratio. Before
# measuring, every token is fetched once (the mock counts the calls) and `cache_ttl` is
# long enough that none expires during the run: the target is the warm cache with N
# entries, not Bink calls. Needs wrk, nginx, curl and python3.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$here/target/release/bink-proxy}")
duration=${DURATION:-8}
conns=${CONNS:-"32 256"}
rounds=${ROUNDS:-2}
token_counts=${TOKENS:-"1000 100000"}
port=${PORT:-4590}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
for tool in wrk nginx curl python3 taskset; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

upstream_port=$port idp_port=$((port + 1)) metrics=127.0.0.1:$((port + 2)) listen=127.0.0.1:$((port + 5))
# The upstream answers "ok"; the mock Bink accepts any `bink_valid_*` token (as peers.sh's
# does). Bink calls are counted by the proxy's own metrics.
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 100000000;
    map \$http_authorization \$valid { "~^Bearer bink_valid_" 1; default 0; }
    server {
        listen 127.0.0.1:$upstream_port backlog=4096;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:$idp_port backlog=4096;
        default_type application/json;
        location = /api/oauth/user {
            if (\$valid = 0) { return 401 '{"error":"invalid_token"}'; }
            return 200 '{"id":"u1","name":"Ada","email":"ada@example.com","username":"ada","avatar":null,"plan":"FREE","verificationLevel":1}';
        }
    }
}
EOF
taskset -c 0 nginx -c "$work/nginx.conf" -e "$work/nginx-error.log"
until curl -fs -o /dev/null "http://127.0.0.1:$upstream_port/" 2>/dev/null; do sleep 0.1; done

(
    cd "$work" # no config.toml here: env-only start
    export BINK_PROXY_SERVER__LISTEN=$listen BINK_PROXY_SERVER__UPSTREAM=http://127.0.0.1:$upstream_port \
        BINK_PROXY_BINK__BASE_URL=http://127.0.0.1:$idp_port RUST_LOG=warn \
        BINK_PROXY_TOKENS__CACHE_TTL=1h BINK_PROXY_TOKENS__CACHE_MAX_ENTRIES=200000 \
        BINK_PROXY_SERVER__METRICS_LISTEN=$metrics
    exec taskset -c 0 "$bin" serve
) >"$work/proxy.log" 2>&1 &
proxy=$!
pids+=($proxy)
until curl -s -o /dev/null "http://$listen/ping" 2>/dev/null; do
    kill -0 "$proxy" 2>/dev/null || { echo "proxy did not start:" >&2; cat "$work/proxy.log" >&2; exit 1; }
    sleep 0.1
done

# One script for both modes: N distinct tokens round-robin (N=1 is the single token).
cat >"$work/tokens.lua" <<'EOF'
function init(args)
    local n = tonumber(args[1])
    local offset = tonumber(args[2]) or 0
    reqs = {}
    for i = 1, n do
        reqs[i] = wrk.format(nil, nil, {["Authorization"] = "Bearer bink_valid_t" .. (i + offset)})
    end
    idx = 0
end
function request()
    idx = idx % #reqs + 1
    return reqs[idx]
end
function done(summary, latency, requests)
    io.write(string.format("RESULT %d %.3f %d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
EOF

idp_calls() { curl -s "http://$metrics/metrics" | awk '/^bink_calls_total/ {n += $NF} END {print n + 0}'; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$proxy/status"; }
run() { # tokens conns seconds -> "req/s p99ms errors"
    taskset -c 1 wrk -t1 -c"$2" -d"$3"s -s "$work/tokens.lua" "http://$listen/" -- "$1" |
        awk '/^RESULT/ {print $2, $3, $4}'
}
# Fetches tokens 1..N once, many at a time, so the measured runs start warm.
warm() {
    python3 - "$listen" "$1" <<'EOF'
import concurrent.futures, http.client, sys
host, port = sys.argv[1].split(":")
n = int(sys.argv[2])
def fetch(chunk):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    for i in chunk:
        c.request("GET", "/", headers={"Authorization": f"Bearer bink_valid_t{i}"})
        r = c.getresponse(); r.read()
        if r.status != 200:
            sys.exit(f"token {i}: {r.status}")
chunks = [range(k, n + 1, 32) for k in range(1, 33)]
with concurrent.futures.ThreadPoolExecutor(32) as pool:
    list(pool.map(fetch, chunks))
EOF
}

echo "| tokens | conns | req/s (N) | req/s (1) | N vs 1 | p99 ms N / 1 | Bink calls while measuring | proxy RSS MiB |"
echo "|---:|---:|---:|---:|---:|---|---:|---:|"
for n in $token_counts; do
    warm "$n"
    for c in $conns; do
        run "$n" "$c" 2 >/dev/null
        run 1 "$c" 2 >/dev/null
        declare -A sum=([many]=0 [one]=0) p99=([many]="" [one]="")
        before=$(idp_calls)
        for ((r = 1; r <= rounds; r++)); do
            order="many one"
            ((r % 2 == 0)) && order="one many"
            for mode in $order; do
                tokens=$n
                [[ $mode == one ]] && tokens=1
                read -r rps p errors < <(run "$tokens" "$c" "$duration")
                [[ $errors == 0 ]] || echo "warning: $mode/$c: $errors errors" >&2
                sum[$mode]=$((sum[$mode] + rps))
                p99[$mode]="${p99[$mode]}${p99[$mode]:+ }$p"
            done
        done
        calls=$(($(idp_calls) - before))
        many=$((sum[many] / rounds)) one=$((sum[one] / rounds))
        ratio=$(python3 -c "print(f'{$many / $one:.2f}')")
        echo "| $n | $c | $many | $one | $ratio | ${p99[many]} / ${p99[one]} | $calls | $(rss_mib) |"
    done
done
