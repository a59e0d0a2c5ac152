# The Argo Rollouts releases the project is tested against, in one place. Sourced by the scripts
# that build Argo's tools, run Argo's contract tests and the end-to-end test.
#   ARGO_ROLLOUTS_VERSION   the release to use (default: the newest supported one)
# Each release has its own Go module file in test/argo: go.mod pins the default, argo-v1.9.mod
# the older minor (`go … -modfile=argo-v1.9.mod`). Both need the Go toolchain their go line
# names, fetched from the module proxy when the machine's is older.
ARGO_ROLLOUTS_SUPPORTED="v1.10.2 v1.9.3"
ARGO_ROLLOUTS_DEFAULT=v1.10.2
ARGO_ROLLOUTS_VERSION=${ARGO_ROLLOUTS_VERSION:-$ARGO_ROLLOUTS_DEFAULT}

# argo_modfile VERSION: the module file of test/argo that pins VERSION (relative to test/argo).
argo_modfile() {
  case "$1" in
    v1.10.2) echo go.mod ;;
    v1.9.3) echo argo-v1.9.mod ;;
    *)
      echo "unsupported Argo Rollouts version '$1' (supported: $ARGO_ROLLOUTS_SUPPORTED)" >&2
      return 2
      ;;
  esac
}

# argo_toolchain VERSION: the GOTOOLCHAIN value that module file asks for (its go line).
argo_toolchain() {
  local dir
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../test/argo" && pwd)
  awk '$1 == "go" { print "go" $2; exit }' "$dir/$(argo_modfile "$1")"
}
