#!/usr/bin/env bash
# The unified-API gateway against calling the vendor directly, in one run: req/s, p50, p99
# and CPU per request for a small JSON answer, sandbox Kombo's
# `GET hris/employees?page_size=1` (about 2.5 KB), through
#
#   direct   wrk → sandbox Kombo (`/kombo/v1/hris/employees`, the Kombo API key)
#   service  wrk → bink-proxy `/integrations/kombo/api/hris/employees` with a service key
#   pat      the same with a Bink personal access token (its identity cached by the proxy)
#
# interleaved per round (direct service pat, then pat service direct, ...), each after a
# 2 s warm-up, at each connection count, in each CPU layout:
#
#   shared   proxy and sandbox on CPU_A, wrk on CPU_B: every µs the proxy spends is taken
#            from the vendor (the worst case: vendor and proxy on one core)
#   split    proxy on CPU_A, sandbox and wrk on CPU_B: the proxy has its own core, as it has
#            when the vendor runs elsewhere (direct and gateway runs put the same load on
#            CPU_B: one wrk request and one vendor answer per call)
#
#   cargo build --release && benches/gateway.sh [BINARY]   # default target/release/bink-proxy
#   DURATION=8 CONNS="16 64" ROUNDS=2 LAYOUTS="shared split" CPU_A=0 CPU_B=1 benches/gateway.sh
#   PROXY_WRAP="perf record -g -o /tmp/perf.data --" LAYOUTS=shared benches/gateway.sh
#
# The sandbox (`bink-proxy sandbox`) and the proxy (`bink-proxy serve --config`, SQLite in a
# temp dir, RUST_LOG=warn as in peers.sh) are separate processes, each started on one CPU
# (so each runs tokio's single-threaded runtime) and moved per layout with `taskset -a -p`.
# The integration is created through the proxy as an application would: init with a PAT,
# the sandbox's connect page completes the link, activate; it then exists both in sandbox
# Kombo and in the proxy's database. Needs wrk, curl, python3 and taskset.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$here/target/release/bink-proxy}")
duration=${DURATION:-8}
conns=${CONNS:-"16 64"}
rounds=${ROUNDS:-2}
layouts=${LAYOUTS:-"shared split"}
cpu_a=${CPU_A:-0}
cpu_b=${CPU_B:-1}
port=${PORT:-4590}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ ${KEEP:-0} == 1 ]] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
for tool in wrk curl python3 taskset; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
[[ -x $bin ]] || { echo "build first: cargo build --release" >&2; exit 1; }

# The sandbox: Bink at /, Kombo under /kombo, the demo upstream on port+1.
taskset -c "$cpu_a" "$bin" sandbox --port "$port" >"$work/sandbox.log" 2>&1 &
sandbox=$!
pids+=($sandbox)
sandbox_url=http://127.0.0.1:$port
until grep -q 'bink_pat_' "$work/sandbox.log" 2>/dev/null; do
    kill -0 "$sandbox" 2>/dev/null || { echo "sandbox did not start:" >&2; cat "$work/sandbox.log" >&2; exit 1; }
    sleep 0.1
done

listen=127.0.0.1:$((port + 5))
service_key=$("$bin" gen-secret) # 44 characters
pat=bink_pat_sandbox_cleo_business
cat >"$work/config.toml" <<EOF
[server]
listen = "$listen"
public_url = "http://$listen"
upstream = "http://127.0.0.1:$((port + 1))"

[bink]
base_url = "$sandbox_url"

[integrations]
enabled = true
database_url = "sqlite://$work/integrations.db"
encryption_key = "$("$bin" gen-secret)"

[integrations.gateway]
service_keys = ["$service_key"]

[integrations.kombo]
api_key = "sandbox-kombo-api-key"
base_url = "$sandbox_url/kombo/v1"
sdk_url = "$sandbox_url/kombo/sdk.js"
EOF
(
    cd "$work"
    RUST_LOG=warn exec taskset -c "$cpu_a" ${PROXY_WRAP:-} "$bin" serve --config "$work/config.toml"
) >"$work/proxy.log" 2>&1 &
pids+=($!)
until curl -fs -o /dev/null "http://$listen/ping" 2>/dev/null; do
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "proxy did not start:" >&2; cat "$work/proxy.log" >&2; exit 1; }
    sleep 0.1
done
# The proxy's own pid (under PROXY_WRAP the wrapper's child), for its CPU time.
proxy=${pids[-1]}
[[ $(readlink "/proc/$proxy/exe") == "$bin" ]] || proxy=$(pgrep -P "$proxy" | head -1)

# The integration, created through the proxy.
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
link=$(curl -fsS -X POST -H "Authorization: Bearer $pat" -H 'Content-Type: application/json' \
    -d '{"category":"HRIS"}' "http://$listen/integrations/kombo/init" | json "['link']")
link_token=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query)["token"][0])' "$link")
activation=$(curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"token\":\"$link_token\"}" \
    "$sandbox_url/kombo/connect/complete" | json "['activation_token']")
remote_id=$(curl -fsS -X POST -H "Authorization: Bearer $pat" -H 'Content-Type: application/json' \
    -d "{\"token\":\"$activation\"}" "http://$listen/integrations/kombo/activate" | json "['remote_id']")

declare -A url=(
    [direct]="$sandbox_url/kombo/v1/hris/employees?page_size=1"
    [service]="http://$listen/integrations/kombo/api/hris/employees?page_size=1"
    [pat]="http://$listen/integrations/kombo/api/hris/employees?page_size=1"
)
declare -A auth=([direct]=sandbox-kombo-api-key [service]=$service_key [pat]=$pat)
# The three paths give the same answer, byte for byte.
for mode in direct service pat; do
    curl -fsS -o "$work/answer.$mode" -H "Authorization: Bearer ${auth[$mode]}" \
        -H "X-Integration-Id: $remote_id" "${url[$mode]}" ||
        { echo "$mode: the answer is not 2xx" >&2; cat "$work/proxy.log" >&2; exit 1; }
    cmp -s "$work/answer.direct" "$work/answer.$mode" ||
        { echo "$mode: the answer differs from the direct one" >&2; exit 1; }
done
answer_bytes=$(stat -c %s "$work/answer.direct")

cat >"$work/report.lua" <<'EOF'
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %d %.1f %.3f %.3f %d\n", summary.requests,
        summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, e.status + e.connect + e.read + e.write + e.timeout))
end
EOF

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks
hz=$(getconf CLK_TCK)
run() { # mode conns seconds -> "requests req/s p50 p99 errors"
    taskset -c "$cpu_b" wrk -t1 -c"$2" -d"$3"s -s "$work/report.lua" \
        -H "Authorization: Bearer ${auth[$1]}" -H "X-Integration-Id: $remote_id" "${url[$1]}" |
        awk '/^RESULT/ {print $2, $3, $4, $5, $6}'
}

{
    echo "bink-proxy $("$bin" --version 2>/dev/null | awk '{print $2}') ($bin), nproc $(nproc)," \
        "answer $answer_bytes bytes, ${duration}s runs, $rounds rounds, $(date -u '+%F %H:%M UTC')"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >&2
results=$work/results
for layout in $layouts; do
    case $layout in
    shared) taskset -a -p -c "$cpu_a" "$sandbox" >/dev/null ;;
    split) taskset -a -p -c "$cpu_b" "$sandbox" >/dev/null ;;
    *) echo "unknown layout: $layout" >&2; exit 2 ;;
    esac
    taskset -a -p -c "$cpu_a" "$proxy" >/dev/null
    for c in $conns; do
        for ((r = 1; r <= rounds; r++)); do
            order="direct service pat"
            ((r % 2 == 0)) && order="pat service direct"
            for mode in $order; do
                run "$mode" "$c" 2 >/dev/null # warm-up
                p0=$(ticks "$proxy") v0=$(ticks "$sandbox")
                read -r requests rps p50 p99 errors < <(run "$mode" "$c" "$duration")
                p1=$(ticks "$proxy") v1=$(ticks "$sandbox")
                [[ $errors == 0 ]] || echo "warning: $layout/$mode/$c: $errors errors" >&2
                echo "$layout $c $mode $r $requests $rps $p50 $p99 $errors $((p1 - p0)) $((v1 - v0))" >>"$results"
            done
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$results" "$hz" <<'EOF'
import sys
from collections import defaultdict
rows = [l.split() for l in open(sys.argv[1])]
hz = int(sys.argv[2])
runs = defaultdict(list)
for layout, c, mode, r, n, rps, p50, p99, err, pt, vt in rows:
    runs[layout, int(c), mode].append(
        dict(n=int(n), rps=float(rps), p50=float(p50), p99=float(p99), err=int(err),
             pt=int(pt), vt=int(vt)))
mean = lambda xs: sum(xs) / len(xs)
print("| layout | conns | mode | req/s | vs direct | p50 ms | p99 ms (each round) | p99 vs direct"
      " | proxy CPU µs/req | vendor CPU µs/req | errors |")
print("|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|")
for (layout, c, mode), rs in runs.items():
    d = runs[layout, c, "direct"]
    rps, p99 = mean([r["rps"] for r in rs]), mean([r["p99"] for r in rs])
    n = sum(r["n"] for r in rs)
    cpu = lambda key: sum(r[key] for r in rs) / hz / n * 1e6
    proxy = "-" if mode == "direct" else f"{cpu('pt'):.1f}"
    print(f"| {layout} | {c} | {mode} | {rps:,.0f} | {rps / mean([r['rps'] for r in d]):.2f}"
          f" | {mean([r['p50'] for r in rs]):.2f} | {' / '.join('%.2f' % r['p99'] for r in rs)}"
          f" | {p99 / mean([r['p99'] for r in d]):.2f} | {proxy} | {cpu('vt'):.1f}"
          f" | {sum(r['err'] for r in rs)} |")
EOF
