"""Users behind a proxy (user-docs/proxy-guide-cntlm.txt): `environment` proxies reach job and service
containers, a tinyproxy container is the jobs' only route out, NO_PROXY keeps a dind-style service direct."""

from __future__ import annotations

import json
from collections.abc import Iterator

import docker as sdk
import pytest

from runnerfleet.config import DockerServiceConfig
from runnerfleet.executors.docker import DockerExecutorProvider
from tests.integration.build.helpers import World
from tests.integration.docker.helpers import (
    NOTHING_LEFT,
    build_test_image,
    docker_runner,
    job_resources,
    run_docker_job,
)

pytestmark = pytest.mark.integration

JAIL, OUTSIDE = "runnerfleet-test-jail", "runnerfleet-test-outside"
PROXY, ORIGIN = "runnerfleet-test-tinyproxy", "runnerfleet-test-origin"
PROXY_URL = f"http://{PROXY}:8888"
# The proxy guide's `environment` line (both spellings) plus its NO_PROXY advice for dind.
ENVIRONMENT = [f"https_proxy={PROXY_URL}", f"http_proxy={PROXY_URL}", f"HTTPS_PROXY={PROXY_URL}",
               f"HTTP_PROXY={PROXY_URL}", "NO_PROXY=docker:2375,docker:2376",
               "no_proxy=docker:2375,docker:2376"]
PRE_BUILD_SCRIPT = ('mkdir -p $HOME/.docker/ && echo "{ \\"proxies\\": { \\"default\\": { \\"httpProxy\\": '
                    '\\"$HTTP_PROXY\\", \\"httpsProxy\\": \\"$HTTPS_PROXY\\", '
                    '\\"noProxy\\": \\"$NO_PROXY\\" } } }" > $HOME/.docker/config.json')


@pytest.fixture
def corporate_network(docker_ready: None) -> Iterator[None]:
    """An internal network whose only way out is tinyproxy, which alone reaches the origin server."""
    proxy_image, web_image = build_test_image("tinyproxy"), build_test_image("webserver")
    client = sdk.from_env()
    made: list[object] = []
    try:
        jail = client.networks.create(JAIL, internal=True, labels={"runnerfleet-test": "proxies"})
        outside = client.networks.create(OUTSIDE, internal=True, labels={"runnerfleet-test": "proxies"})
        made += [jail, outside]
        origin = client.containers.run(web_image, name=ORIGIN, detach=True, network=OUTSIDE,
                                       environment={"SERVICE_NAME": "origin"})
        proxy = client.containers.run(proxy_image, name=PROXY, detach=True, network=OUTSIDE)
        made += [origin, proxy]
        jail.connect(proxy)
        yield
    finally:
        for thing in reversed(made):
            if hasattr(thing, "remove"):
                try:
                    thing.remove(force=True)  # type: ignore[attr-defined]
                except TypeError:
                    thing.remove()  # type: ignore[attr-defined]
        client.close()


def test_environment_proxies_reach_the_job_and_its_services_and_no_proxy_keeps_dind_direct(
        world: World, provider: DockerExecutorProvider, corporate_network: None) -> None:
    web_image = build_test_image("webserver")
    # The service listens on 2375, not on its image's exposed port: no health wait (-1 disables it).
    runner = docker_runner(world, network_mode=JAIL, environment=ENVIRONMENT, wait_for_services_timeout=-1,
                           services=[DockerServiceConfig(
        name=web_image, alias="docker", environment=["PORT=2375", "SERVICE_NAME=dind"])])
    runner.pre_get_sources_script = ("git config --global http.proxy $HTTP_PROXY; "
                                     "git config --global https.proxy $HTTPS_PROXY; "
                                     "echo git-proxy=$(git config --global --get http.proxy)")
    runner.pre_build_script = PRE_BUILD_SCRIPT
    result, log = run_docker_job(world, provider, [
        "echo job-proxy=$http_proxy",
        f"curl -sS --max-time 20 http://{ORIGIN}:8000/",
        f"curl -sS --noproxy '*' --max-time 5 http://{ORIGIN}:8000/ || echo direct-route-failed",
        "curl -sS --max-time 10 --retry 20 --retry-connrefused --retry-delay 1 http://docker:2375/",
        "cat $HOME/.docker/config.json",
    ], runner=runner)
    assert result.state == "success", log
    assert f"git-proxy={PROXY_URL}\n" in log
    assert f"job-proxy={PROXY_URL}\n" in log
    assert "service=origin proxy=\n" in log  # fetched through tinyproxy, the only route
    assert "direct-route-failed\n" in log
    assert f"service=dind proxy={PROXY_URL}\n" in log  # direct (NO_PROXY), and the service got the proxy
    config_line = next(line for line in log.splitlines() if line.startswith('{ "proxies"'))
    assert json.loads(config_line) == {"proxies": {"default": {
        "httpProxy": PROXY_URL, "httpsProxy": PROXY_URL, "noProxy": "docker:2375,docker:2376"}}}
    assert job_resources(4242) == NOTHING_LEFT
