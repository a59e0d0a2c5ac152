# Process supervision for the test scripts that start servers (Prometheus, the judge) around a
# Go test run: sourced after defining `say`. Sets `tmp` (a work folder, removed on exit), and
# defines `start NAME CMD...` (CMD in its own process group, log in $tmp/NAME.log; the groups
# are stopped on exit, and on a failure the last log lines are printed), `wait_http WHAT URL`
# (up to 30 s) and `free_port`. The caller passes the work folder's name prefix as $1.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
pgids=()
cleanup() {
  local rc=$?
  for g in "${pgids[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  for g in "${pgids[@]}"; do
    for _ in $(seq 50); do kill -0 -- "-$g" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$g" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    for f in "$tmp"/*.log; do
      [ -s "$f" ] && { say "--- last lines of $(basename "$f")"; tail -n 20 "$f"; }
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
start() {
  local name=$1; shift
  setsid "$@" >"$tmp/$name.log" 2>&1 &
  pgids+=("$!")
}
wait_http() {
  local what=$1 url=$2
  for _ in $(seq 300); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  say "$what did not answer $url within 30 s"
  return 1
}
