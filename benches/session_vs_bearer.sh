#!/usr/bin/env bash
# Signed-in browsers (session cookie) against scripts (bearer token) through one running
# bink-proxy, in one run: req/s and p99 for each, interleaved A B B A, pinned like
# ../shared/bench/peers.sh (proxy and upstream on CPU 0, wrk on CPU 1).
#
#   benches/session_vs_bearer.sh [BINARY]        # default target/release/bink-proxy
#   DURATION=8 CONNS="32 256" ROUNDS=2 benches/session_vs_bearer.sh
#   PROXY_WRAP="perf record -g -o /tmp/perf.data --" benches/session_vs_bearer.sh   # profile it
#
# Needs wrk, nginx, curl and python3. The upstream is nginx answering "ok" (as in
# peers.sh); Bink is the sandbox, which also signs the browser in.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$here/target/release/bink-proxy}")
duration=${DURATION:-8}
conns=${CONNS:-"32 256"}
rounds=${ROUNDS:-2}
port=${PORT:-4490}
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

upstream_port=$((port + 2)) # the sandbox takes port and port+1
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$upstream_port;
        keepalive_requests 1000000;
        location / { return 200 "ok\n"; }
    }
}
EOF
taskset -c 0 nginx -c "$work/nginx.conf" -e "$work/nginx-error.log"

taskset -c 0 "$bin" sandbox --port "$port" >"$work/sandbox.log" 2>&1 &
pids+=($!)
idp=http://127.0.0.1:$port
listen=127.0.0.1:$((port + 5))
until grep -q 'bink_pat_' "$work/sandbox.log"; do sleep 0.1; done
token=$(grep -m1 -o 'bink_pat_[A-Za-z0-9_]*' "$work/sandbox.log")

(
    cd "$work" # no config.toml here: env-only start
    export BINK_PROXY_SERVER__LISTEN=$listen BINK_PROXY_SERVER__UPSTREAM=http://127.0.0.1:$upstream_port \
        BINK_PROXY_BINK__BASE_URL=$idp RUST_LOG=warn \
        BINK_PROXY_BINK__CLIENT_ID=bink-proxy-sandbox BINK_PROXY_BINK__CLIENT_SECRET=sandbox-client-secret \
        BINK_PROXY_SERVER__PUBLIC_URL=http://$listen
    BINK_PROXY_SESSION__COOKIE_SECRET=$("$bin" gen-secret)
    export BINK_PROXY_SESSION__COOKIE_SECRET
    exec taskset -c 0 ${PROXY_WRAP:-} "$bin" serve
) >"$work/proxy.log" 2>&1 &
pids+=($!)
until curl -s -o /dev/null "http://$listen/ping" 2>/dev/null; do sleep 0.1; done
cookie=$(python3 "$here/benches/session_cookie.py" "http://$listen")

declare -A header=([bearer]="Authorization: Bearer $token" [session]="Cookie: $cookie")
for mode in bearer session; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "${header[$mode]}" "http://$listen/")
    [[ $code == 200 ]] || { echo "$mode request answered $code" >&2; exit 1; }
done

cat >"$work/report.lua" <<'EOF'
done = function(summary, latency, requests)
    io.write(string.format("RESULT %d %.3f %d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
EOF

run() { # mode conns seconds -> "req/s p99ms errors"
    taskset -c 1 wrk -t1 -c"$2" -d"$3"s -s "$work/report.lua" -H "${header[$1]}" \
        "http://$listen/" | awk '/^RESULT/ {print $2, $3, $4}'
}

declare -A sum=() n=() p99=()
for c in $conns; do
    for ((r = 1; r <= rounds; r++)); do
        order="bearer session"
        ((r % 2 == 0)) && order="session bearer"
        for mode in $order; do
            run "$mode" "$c" 2 >/dev/null # warm-up
            read -r rps p errors < <(run "$mode" "$c" "$duration")
            [[ $errors == 0 ]] || echo "warning: $mode/$c: $errors errors" >&2
            sum[$mode/$c]=$(( ${sum[$mode/$c]:-0} + rps ))
            n[$mode/$c]=$(( ${n[$mode/$c]:-0} + 1 ))
            p99[$mode/$c]="${p99[$mode/$c]:-}${p99[$mode/$c]:+ }$p"
        done
    done
done

echo "| mode | conns | req/s | vs bearer | p99 ms (each round) |"
echo "|---|---:|---:|---:|---|"
for c in $conns; do
    bearer=$(( sum[bearer/$c] / n[bearer/$c] ))
    for mode in bearer session; do
        rps=$(( sum[$mode/$c] / n[$mode/$c] ))
        ratio=$(python3 -c "print(f'{$rps / $bearer:.2f}')")
        echo "| $mode | $c | $rps | $ratio | ${p99[$mode/$c]} |"
    done
done
