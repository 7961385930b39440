#!/bin/bash
# Instructions per webhook of Klaxon's receiver (bench/instructions.py), Python and Redis each
# under callgrind, for each version given; figures repeat within ~1% however loaded the machine.
#   bench/instructions.sh [--small 50] [--large 1000] LABEL=WORKTREE ...
# e.g. git worktree add --detach /tmp/before 5ae8386
#      bench/instructions.sh before=/tmp/before after=.
set -eu
small=50 large=1000
while [ "${1:-}" = --small ] || [ "${1:-}" = --large ]; do
  [ "$1" = --small ] && small=$2 || large=$2; shift 2
done
here=$(cd "$(dirname "$0")/.." && pwd)
python=$here/.venv/bin/python
work=$(mktemp -d /tmp/klaxon-instructions.XXXXXX)
total() { grep -h '^totals:\|^summary:' "$1" | head -1 | awk '{print $2}'; }
# Redis's share: reading and running commands and writing replies. Its total also counts the
# cron and idle loop, which grow with the wall time of the run (slow under callgrind, slower
# under load) and would not cancel between the two runs.
served() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" | tr -d , | awk '
    / \?\?\?:(readQueryFromClient|handleClientsWithPendingWritesUsingThreads) / { s += $1 }
    END { print s }'
}
for pair in "$@"; do
  label=${pair%%=*} repo=$(cd "${pair#*=}" && pwd)
  declare -A py=() rd=()
  for n in $small $large; do
    sock=$work/redis-$label-$n.sock
    valgrind --tool=callgrind --callgrind-out-file=$work/redis-$label-$n.cg redis-server \
      --port 0 --unixsocket "$sock" --save '' --appendonly no --hz 1 >/dev/null 2>&1 &
    redis=$!
    until redis-cli -s "$sock" ping >/dev/null 2>&1; do sleep 1; done
    (cd "$here" && $python -m bench.instructions make --requests $large --out $work/req.pickle)
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=$work/py-$label-$n.cg \
      $python "$here/bench/instructions.py" run "$repo" $n $work/req.pickle "unix://$sock" \
      2>/dev/null
    redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1 || true
    wait $redis || true
    py[$n]=$(total $work/py-$label-$n.cg) rd[$n]=$(served $work/redis-$label-$n.cg)
  done
  awk -v l="$label" -v p1="${py[$small]}" -v p2="${py[$large]}" -v r1="${rd[$small]}" \
    -v r2="${rd[$large]}" -v n=$((large - small)) 'BEGIN { p = (p2 - p1) / n; r = (r2 - r1) / n;
    printf "%s: Python %.0f, Redis %.0f, total %.0f instructions a webhook\n", l, p, r, p + r }'
done
rm -rf "$work"
