# shellcheck shell=bash
# The cache of a tool built from the Go module proxy, shared by the scripts that build one:
# sourced, then `tool_cache NAME VERSION` sets $cache (the cache root) and $bin (the tool's
# directory, created), and holds the tool's lock on file descriptor 9 for the rest of the script,
# so that one build runs at a time: a second caller (the background chain of .ci/run, a test
# stage, a second checkout) waits for the first and then finds the binary.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
tool_cache() {
  local name=$1 version=$2
  cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
  bin="$cache/$name-$version/bin"
  mkdir -p "$bin"
  exec 9>"$cache/$name-$version/.lock"
  if ! flock -n 9; then
    echo "$(basename "$0"): waiting for another build of $name $version..." >&2
    flock 9
  fi
}
