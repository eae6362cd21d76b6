#!/usr/bin/env bash
# Runs every test of the repository: the C# suites (xunit; real Chromium, redis-server, coturn, sockets)
# and the TypeScript SDK's. Installs what it needs first: apt packages when absent, npm and NuGet packages.
# Exits non-zero on any failure, on a skipped test, or when no test ran.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# --- system packages (Debian) -------------------------------------------------------------------------
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v turnserver >/dev/null 2>&1 || need+=(coturn)
if ((${#need[@]})); then
  echo "test.sh: installing ${need[*]} (apt)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
passed=0 failed=0 skipped=0 status=0

# --- TypeScript (npm packages from the lockfiles) ---------------------------------------------------------
for dir in clients/browser tests/interop; do
  [ -f "$dir/package.json" ] || continue
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
echo "=== TypeScript SDK tests (clients/browser) ==="
if (cd clients/browser && npm test) 2>&1 | tee "$logdir/ts.log"; then :; else status=1; fi
p=$(grep -E '^# pass [0-9]+' "$logdir/ts.log" | awk '{s+=$3} END {print s+0}')
f=$(grep -E '^# fail [0-9]+' "$logdir/ts.log" | awk '{s+=$3} END {print s+0}')
s=$(grep -E '^# skipped [0-9]+' "$logdir/ts.log" | awk '{s+=$3} END {print s+0}')
passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))

# --- C# (NuGet packages restored by the build) -------------------------------------------------------------
echo "=== C# tests (WebRtcCdn.slnx) ==="
dotnet build WebRtcCdn.slnx -c Release -v quiet -nologo 2>&1 | tail -n 3
if dotnet test WebRtcCdn.slnx -c Release --no-build -nologo 2>&1 | tee "$logdir/cs.log"; then :; else status=1; fi
# VSTest prints one summary line per test assembly: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ..."
while read -r f p s; do
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done < <(grep -E '(Passed|Failed)! +- +Failed: ' "$logdir/cs.log" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/')

echo
echo "=== summary ==="
if ((skipped > 0)); then
  echo "test.sh: $skipped test(s) were skipped; a skipped test is not a pass"
  status=1
fi
if ((passed == 0)); then
  echo "test.sh: no test ran"
  status=1
fi
((failed == 0)) || status=1
echo "tests: $passed passed, $failed failed"
exit "$status"
