#!/usr/bin/env bash
# The main job on the built-in default: a local GitLab-compatible coordinator, a runner created in
# it through GitLab's REST API, registered, verified and listed with runnerfleet's gitlab-runner CLI,
# then a real job (git clone over HTTP with the job token, a script, a masked variable) run by
# `runnerfleet run-single` with the shell executor, and its log and state read back from the
# coordinator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
work="$PWD/.work/quickstart"; mkdir -p "$work"
config="$work/config.toml"
rm -f "$config"   # each run registers one fresh runner
port="${RUNNERFLEET_PORT:-8080}"
rf=.venv/bin/runnerfleet

# (Re)start the coordinator so it runs this checkout's code; its state survives in the data dir.
if [ -f "$work/coordinator.pid" ]; then kill "$(cat "$work/coordinator.pid")" 2>/dev/null || true; sleep 0.5; fi
echo "== starting the coordinator on 127.0.0.1:$port (state in $work/coordinator)"
: >"$work/coordinator.log"
nohup "$rf" coordinator --listen "127.0.0.1:$port" --data-dir "$work/coordinator" \
  >"$work/coordinator.log" 2>&1 &
echo $! >"$work/coordinator.pid"
for _ in $(seq 100); do grep -q "admin token" "$work/coordinator.log" 2>/dev/null && break; sleep 0.1; done
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

echo "== a project with one commit, pushed over smart HTTP"
api() { curl -fsS -H "PRIVATE-TOKEN: $pat" -H 'Content-Type: application/json' "$@"; }
project="quickstart/hello-$(date +%s)"
api -X POST "$url/-/projects" -d "{\"path\": \"$project\"}" >/dev/null
src="$work/src"; rm -rf "$src"; mkdir -p "$src"
git -C "$src" init -q -b main
printf 'echo "built by $(whoami) on $(hostname)"\n' >"$src/build.sh"
git -C "$src" add build.sh
git -C "$src" -c user.name=quickstart -c user.email=quickstart@localhost commit -q -m "hello"
git -C "$src" push -q "${url/:\/\//://root:$pat@}/$project.git" main

echo "== enqueue a job (what GitLab does when a pipeline starts)"
job=$(api -X POST "$url/-/jobs" -d "{\"project\": \"$project\", \"name\": \"build\",
  \"script\": [\"sh build.sh\", \"echo the secret is \$DEPLOY_TOKEN\"],
  \"variables\": [{\"key\": \"DEPLOY_TOKEN\", \"value\": \"quickstart-secret-42\", \"masked\": true}]}" \
  | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "   job $job pending"

echo "== runnerfleet run-single --max-builds 1"
(cd "$work" && "$OLDPWD/$rf" run-single --config "$config" --runner "quickstart-$(hostname)" --max-builds 1)

echo "== the job as GitLab holds it"
api "$url/-/jobs/$job" | .venv/bin/python scripts/print_job.py

echo
echo "Done. config.toml: $config (mode $(stat -c %a "$config")); stop the coordinator with:"
echo "  kill \$(cat $work/coordinator.pid)"
