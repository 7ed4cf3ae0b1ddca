#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind: repeatable on a
# shared machine where req/s is not (the count does not depend on what else runs).
#
#   benches/instructions.sh bink-proxy [BINARY]     # warm-cache bearer requests
#   benches/instructions.sh session [BINARY]        # the same with a session cookie
#   benches/instructions.sh baseline [BINARY]       # ../shared/bench/baseline-proxy
#
# The sandbox (Bink + demo upstream) runs natively from the release binary; only the
# proxy under test runs under callgrind, with collection switched on after warm-up, so the
# count is the steady state: total instructions / responses. Set KEEP=1 to keep the
# callgrind output for `callgrind_annotate` (build with `--profile profiling` for symbols).
set -euo pipefail

what=${1:-bink-proxy}
[[ -n ${2:-} ]] && set -- "$1" "$(realpath "$2")"
here=$(cd "$(dirname "$0")/.." && pwd)
release=${SANDBOX_BIN:-$here/target/release/bink-proxy}
requests=${REQUESTS:-4000}
conns=${CONNS:-8}
port=${PORT:-4390}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ ${KEEP:-0} == 1 ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

for tool in valgrind callgrind_control curl python3; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
[[ -x $release ]] || { echo "build first: cargo build --release" >&2; exit 1; }

"$release" sandbox --port "$port" >"$work/sandbox.log" 2>&1 &
pids+=($!)
idp=http://127.0.0.1:$port
upstream=http://127.0.0.1:$((port + 1))
listen=127.0.0.1:$((port + 5))
until curl -fs -o /dev/null "$upstream/" 2>/dev/null; do sleep 0.1; done
token=$(grep -m1 -o 'bink_pat_[A-Za-z0-9_]*' "$work/sandbox.log")

cd "$work" # no config.toml here: env-only start
export BINK_PROXY_SERVER__LISTEN=$listen BINK_PROXY_SERVER__UPSTREAM=$upstream \
    BINK_PROXY_BINK__BASE_URL=$idp RUST_LOG=warn
headers=(-H "Authorization: Bearer $token")
case $what in
bink-proxy) bin=${2:-$release} ;;
session)
    bin=${2:-$release}
    export BINK_PROXY_BINK__CLIENT_ID=bink-proxy-sandbox BINK_PROXY_BINK__CLIENT_SECRET=sandbox-client-secret
    BINK_PROXY_SESSION__COOKIE_SECRET=$("$release" gen-secret)
    export BINK_PROXY_SESSION__COOKIE_SECRET BINK_PROXY_SERVER__PUBLIC_URL=http://$listen
    ;;
baseline)
    bin=${2:-$here/../shared/bench/baseline-proxy/target/release/baseline-proxy}
    export LISTEN=$listen UPSTREAM=127.0.0.1:$((port + 1)) WORKERS=1
    ;;
*) echo "unknown: $what" >&2; exit 2 ;;
esac

taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
    "$bin" $([[ $what == baseline ]] || echo serve) >"$work/proxy.log" 2>&1 &
proxy=$!
pids+=($proxy)
until curl -s -o /dev/null "http://$listen/" 2>/dev/null; do
    kill -0 "$proxy" 2>/dev/null || { echo "proxy did not start:" >&2; cat "$work/proxy.log" >&2; exit 1; }
    sleep 0.2
done

if [[ $what == session ]]; then
    cookie=$(python3 "$here/benches/session_cookie.py" "http://$listen")
    headers=(-H "Cookie: $cookie")
fi
for _ in 1 2 3 4 5; do curl -fs -o /dev/null "${headers[@]}" "http://$listen/" || {
    echo "warm-up request failed" >&2; cat "$work/proxy.log" >&2; exit 1; }; done

callgrind_control -i on "$proxy" >/dev/null 2>&1
python3 - "$listen" "$requests" "$conns" "${headers[@]}" <<'EOF'
import http.client, sys, threading
host, total, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hdrs = dict(h.split(": ", 1) for h in sys.argv[5::2])
per = total // conns
failed = []
def run():
    c = http.client.HTTPConnection(host)
    for _ in range(per):
        c.request("GET", "/", headers=hdrs)
        r = c.getresponse(); r.read()
        if r.status != 200: failed.append(r.status)
ts = [threading.Thread(target=run) for _ in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
if failed: sys.exit(f"{len(failed)} non-200 answers, e.g. {failed[0]}")
EOF
callgrind_control -i off "$proxy" >/dev/null 2>&1
callgrind_control -d "$proxy" >/dev/null 2>&1
sleep 1
served=$(( requests / conns * conns ))
total=$(grep -h '^totals:\|^summary:' "$work"/callgrind.out* | awk '{s += $2} END {print s}')
echo "$what: $served requests, $total instructions, $(( total / served )) instructions/request"
