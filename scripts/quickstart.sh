#!/usr/bin/env bash
# The main job on the built-in default: a local GitLab-compatible coordinator, a runner created in
# it through GitLab's REST API, registered, verified and listed with runnerfleet's gitlab-runner CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
work="$PWD/.work/quickstart"; mkdir -p "$work"
config="$work/config.toml"
rm -f "$config"   # each run registers one fresh runner
port="${RUNNERFLEET_PORT:-8080}"
rf=.venv/bin/runnerfleet

if ! { [ -f "$work/coordinator.pid" ] && kill -0 "$(cat "$work/coordinator.pid")" 2>/dev/null; }; then
  : >"$work/coordinator.log"
  echo "== starting the coordinator on 127.0.0.1:$port (state in $work/coordinator)"
  nohup "$rf" coordinator --listen "127.0.0.1:$port" --data-dir "$work/coordinator" \
    >"$work/coordinator.log" 2>&1 &
  echo $! >"$work/coordinator.pid"
  for _ in $(seq 100); do grep -q "admin token" "$work/coordinator.log" 2>/dev/null && break; sleep 0.1; done
fi
url=$(sed -n 's/.*listening on \(\S*\).*/\1/p' "$work/coordinator.log" | tail -1)
pat=$(sed -n 's/.*admin token (PRIVATE-TOKEN): \(\S*\).*/\1/p' "$work/coordinator.log" | tail -1)
[ -n "$url" ] && [ -n "$pat" ] || { echo "coordinator did not start; see $work/coordinator.log" >&2; exit 1; }
echo "   coordinator: $url (admin token in $work/coordinator.log)"

echo "== creating an instance runner in the coordinator (POST /api/v4/user/runners)"
answer=$(curl -fsS -X POST "$url/api/v4/user/runners" -H "PRIVATE-TOKEN: $pat" \
  -H 'Content-Type: application/json' \
  -d '{"runner_type":"instance_type","description":"quickstart","tag_list":"quickstart"}')
token=$(printf '%s' "$answer" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')

echo "== runnerfleet register"
"$rf" register --non-interactive --config "$config" --url "$url" --token "$token" \
  --name "quickstart-$(hostname)" --executor shell
echo "== runnerfleet verify"
"$rf" verify --config "$config"
echo "== runnerfleet list"
"$rf" list --config "$config"
echo
echo "Done. config.toml: $config (mode $(stat -c %a "$config")); stop the coordinator with:"
echo "  kill \$(cat $work/coordinator.pid)"
