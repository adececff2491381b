#!/usr/bin/env bash
# The main job on the built-in default: a local GitLab-compatible coordinator, a runner created in
# it through GitLab's REST API, registered, verified and listed with runnerfleet's gitlab-runner CLI,
# then a real multi-stage pipeline: a project with a .gitlab-ci.yml (build -> two test jobs ->
# deploy, artifacts from build to test, a cache, a masked variable) pushed over smart HTTP, the
# pipeline created with POST /api/v4/projects/:id/pipeline and run by `runnerfleet run` with the
# shell executor, then the jobs' statuses and one job's log read back from the coordinator.
# Environment: RUNNERFLEET_PORT (default 8080), RUNNERFLEET_WORK (state; default .work/quickstart),
# RUNNERFLEET_SKIP_SETUP=1 (the venv exists already: the test suite runs this script that way).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${RUNNERFLEET_SKIP_SETUP:-}" = 1 ] || scripts/setup.sh
work="${RUNNERFLEET_WORK:-$PWD/.work/quickstart}"; mkdir -p "$work"
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

echo "== a project with a three-stage .gitlab-ci.yml, pushed over smart HTTP"
api() { curl -fsS -H "PRIVATE-TOKEN: $pat" -H 'Content-Type: application/json' "$@"; }
py() { .venv/bin/python -c "$@"; }
project="quickstart/hello-$(date +%s)"
project_id=$(api -X POST "$url/-/projects" -d "{\"path\": \"$project\"}" | py 'import json,sys; print(json.load(sys.stdin)["id"])')
src="$work/src"; rm -rf "$src"; mkdir -p "$src"
git -C "$src" init -q -b main
printf 'echo "built by $(whoami) on $(hostname)"\n' >"$src/build.sh"
cat >"$src/.gitlab-ci.yml" <<'YAML'
stages: [build, test, deploy]
variables:
  GREETING: hello
build:
  stage: build
  script:
    - mkdir -p dist vendor
    - sh build.sh | tee dist/build.txt
    - echo "$GREETING from the build" >> dist/build.txt
    - date > vendor/fetched-at.txt
  artifacts: {paths: [dist/]}
  cache: {key: deps, paths: [vendor/]}
unit:
  stage: test
  script: [cat dist/build.txt, "echo the secret is $DEPLOY_TOKEN"]
lint:
  stage: test
  script: [test -s dist/build.txt, echo lint ok]
deploy:
  stage: deploy
  cache: {key: deps, paths: [vendor/], policy: pull}
  script: ["echo deploying with deps fetched at $(cat vendor/fetched-at.txt)"]
YAML
git -C "$src" add build.sh .gitlab-ci.yml
git -C "$src" -c user.name=quickstart -c user.email=quickstart@localhost commit -q -m "hello"
git -C "$src" push -q "${url/:\/\//://root:$pat@}/$project.git" main

echo "== create a pipeline (POST /api/v4/projects/$project_id/pipeline, a masked variable)"
pipeline=$(api -X POST "$url/api/v4/projects/$project_id/pipeline" -d '{"ref": "main",
  "variables": [{"key": "DEPLOY_TOKEN", "value": "quickstart-secret-42", "masked": true}]}' \
  | py 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "   pipeline $pipeline created"

echo "== runnerfleet run (in the background) until the pipeline finishes"
: >"$work/runner.log"
(cd "$work" && exec "$OLDPWD/$rf" run --config "$config" --working-directory "$work") \
  >"$work/runner.log" 2>&1 &
runner_pid=$!
trap 'kill "$runner_pid" 2>/dev/null || true' EXIT
status=""
for _ in $(seq 600); do
  status=$(api "$url/api/v4/projects/$project_id/pipelines/$pipeline" \
    | py 'import json,sys; print(json.load(sys.stdin)["status"])')
  case "$status" in success|failed|canceled|skipped|manual) break ;; esac
  sleep 1
done
kill -QUIT "$runner_pid" 2>/dev/null || true
wait "$runner_pid" 2>/dev/null || true
trap - EXIT
echo "   pipeline $pipeline: $status (runner log: $work/runner.log)"

echo "== the pipeline's jobs (GET /api/v4/projects/$project_id/pipelines/$pipeline/jobs)"
api "$url/api/v4/projects/$project_id/pipelines/$pipeline/jobs" | py '
import json, sys
for j in json.load(sys.stdin):
    d = "-" if j["duration"] is None else "%.1fs" % j["duration"]
    print("   %-8s %-8s %-8s %s" % (j["name"], j["stage"], j["status"], d))'
unit=$(api "$url/api/v4/projects/$project_id/pipelines/$pipeline/jobs" \
  | py 'import json,sys; print(next(j["id"] for j in json.load(sys.stdin) if j["name"] == "unit"))')
echo "== the unit job's log (artifacts from build; the masked variable shows as [MASKED])"
api "$url/-/jobs/$unit" | .venv/bin/python scripts/print_job.py

echo
echo "Done. config.toml: $config (mode $(stat -c %a "$config"))"
echo "The coordinator keeps running at $url (admin token: PRIVATE-TOKEN in $work/coordinator.log)."
echo "Run the pipeline again:  curl -X POST -H \"PRIVATE-TOKEN: \$TOKEN\" -H 'Content-Type: application/json' \\"
echo "  -d '{\"ref\": \"main\"}' $url/api/v4/projects/$project_id/pipeline   (then: $rf run --config $config)"
echo "Stop the coordinator:  kill \$(cat $work/coordinator.pid)"
[ "$status" = success ]
