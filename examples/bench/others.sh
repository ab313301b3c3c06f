#!/usr/bin/env bash
# CPU time and peak RSS that two other aggregators, sfeed and newsboat (Debian
# packages), spend to take in the bench corpus (200 feeds x 50 entries) served
# by nginx (or python3 -m http.server) on 127.0.0.1, for comparison with
# plenum's own figures from `bench`. The server's CPU is not counted.
#
#   examples/bench/others.sh [BENCH_BINARY]   (default: target/release/examples/bench)
#   env: FEEDS=200 ENTRIES=50 RUNS=3 KEEP=1 (keep the work directory)
#
# cpu = user + sys of the tool's whole process tree (every descendant is reaped
# within it); peak RSS = ru_maxrss = the largest single process of that tree
# (MB = MiB); the summary line gives the run with the median cpu (peak RSS and
# items of that run). Every run starts from fresh state. Needs python3 (free
# port, sqlite) and GNU time (/usr/bin/time).
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench=${1:-$root/target/release/examples/bench}
feeds=${FEEDS:-200} entries=${ENTRIES:-50} runs=${RUNS:-3}
[ -x "$bench" ] || { echo "no bench binary at $bench (cargo build --release --example bench)" >&2; exit 1; }

missing=()
command -v sfeed_update >/dev/null || missing+=(sfeed)
command -v newsboat >/dev/null || missing+=(newsboat)
command -v curl >/dev/null || missing+=(curl)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing: ${missing[*]} (apt-get install them as root)" >&2; exit 1
    fi
fi

work=$(mktemp -d /tmp/others.XXXXXX)
chmod 755 "$work"   # nginx workers run as nobody when started by root
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bench" generate --out "$work/corpus" --feeds "$feeds" --entries "$entries" >&2

# Serve the corpus.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if command -v nginx >/dev/null; then
    mkdir -p "$work/nginx/tmp"
    cat > "$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { application/xml xml; text/html html; }
  client_body_temp_path $work/nginx/tmp; proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp; uwsgi_temp_path $work/nginx/tmp; scgi_temp_path $work/nginx/tmp;
  server { listen 127.0.0.1:$port; root $work/corpus; }
}
EOF
    nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
else
    python3 -m http.server -b 127.0.0.1 -d "$work/corpus" "$port" >/dev/null 2>&1 &
fi
server_pid=$!
for _ in $(seq 50); do curl -fsI "http://127.0.0.1:$port/feeds/0.xml" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsI "http://127.0.0.1:$port/feeds/0.xml" >/dev/null || { echo "server did not come up" >&2; exit 1; }
base="http://127.0.0.1:$port/feeds"

# measure OUTFILE CMD...: run CMD (stdin /dev/null), append "user sys maxrss_kb wall" to OUTFILE.
# CPU: bash's `times` (children's rusage, ms) before and after; peak RSS: GNU time's %M.
# Not wait4 from python: a child's ru_maxrss includes the RSS of the process that
# forked it (even with posix_spawn), and python's ~10 MB would set a floor.
cpu_of() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2], s[1] * 60 + s[2] }' "$1"; }
measure() {
    local out=$1 t0=$EPOCHREALTIME; shift
    times > "$work/times0"
    /usr/bin/time -f %M -o "$work/rss" "$@" </dev/null
    times > "$work/times1"
    local wall; wall=$(echo "$EPOCHREALTIME $t0" | awk '{ printf "%.6f", $1 - $2 }')
    paste -d' ' <(cpu_of "$work/times0") <(cpu_of "$work/times1") \
        | awk -v rss="$(tail -1 "$work/rss")" -v w="$wall" '{ printf "%.3f %.3f %d %s\n", $3 - $1, $4 - $2, rss, w }' >> "$out"
}
count_nb='import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM rss_item").fetchone()[0])'

# report TOOL: per-run lines, then one line with the median (min and wall alongside).
report() {
    local tool=$1 f=$work/$1.figures
    paste -d' ' "$f" "$work/$1.items" | awk -v t="$tool" '{
        printf "  %-22s run %d  cpu %.3f s (user %.3f + sys %.3f)  peak RSS %.1f MB  items %d  wall %.3f s\n",
               t, NR, $1 + $2, $1, $2, $3 / 1024, $5, $4 }' >&2
    local walls; walls=$(awk '{ print $4 }' "$f" | sort -n | awk '{ w[NR] = $1 } END { print w[int((NR + 1) / 2)] }')
    paste -d' ' "$f" "$work/$1.items" | awk '{ print $1 + $2, $3, $5 }' | sort -n | awk -v t="$tool" -v wall="$walls" '
        { cpu[NR] = $1; rss[NR] = $2; items[NR] = $3 }
        END { m = int((NR + 1) / 2)
              printf "%-22s cpu %.3f s (user + sys)  peak RSS %.1f MB  items %d   [median of %d; min cpu %.3f s; median wall %.3f s]\n",
                     t, cpu[m], rss[m] / 1024, items[m], NR, cpu[1], wall }'
}

# sfeed_update with default settings (maxjobs=8, curl per feed).
{ echo "sfeedpath=$work/sfeed/feeds"; echo "feeds() {"
  for i in $(seq 0 $((feeds - 1))); do echo "	feed \"f$i\" \"$base/$i.xml\""; done; echo "}"; } > "$work/sfeedrc"
for r in $(seq "$runs"); do
    rm -rf "$work/sfeed"
    measure "$work/sfeed_update.figures" sfeed_update "$work/sfeedrc" > "$work/sfeed.log"
    cat "$work/sfeed/feeds/"* | wc -l >> "$work/sfeed_update.items"
done
report sfeed_update

# sfeed's parser alone: every xml file into `sfeed` (no network, no merge/sort).
for r in $(seq "$runs"); do
    measure "$work/sfeed-parse.figures" bash -c 'for f in "$1"/*.xml; do sfeed < "$f"; done > "$2"' _ "$work/corpus/feeds" "$work/parsed.tsv"
    wc -l < "$work/parsed.tsv" >> "$work/sfeed-parse.items"
done
report sfeed-parse

# newsboat -x reload, default reload-threads (1) and reload-threads 2.
for i in $(seq 0 $((feeds - 1))); do echo "$base/$i.xml"; done > "$work/urls"
for threads in default 2; do
    tool=newsboat-threads-$threads
    mkdir -p "$work/nb-home"
    { echo "download-timeout 30"; [ "$threads" = default ] || echo "reload-threads $threads"; } > "$work/nb.config"
    for r in $(seq "$runs"); do
        rm -f "$work/nb.cache"*
        HOME=$work/nb-home measure "$work/$tool.figures" newsboat -x reload -u "$work/urls" -c "$work/nb.cache" -C "$work/nb.config" > "$work/nb.log"
        python3 -c "$count_nb" "$work/nb.cache" >> "$work/$tool.items"
    done
    report "$tool"
done
echo "($feeds feeds x $entries entries; newsboat keys items by guid across all feeds, so entries shared between feeds are stored once)" >&2
