"""[runners.docker] keys become Engine API container settings; bad values name their key."""

from __future__ import annotations

import pytest

from runnerfleet.config import DockerConfig
from runnerfleet.executors.docker.executor import detect_shell_command, is_helper_stage
from runnerfleet.executors.docker.options import Mounts, build_host_config, service_host_config
from runnerfleet.executors.docker.services import ServiceSpec, all_aliases, default_aliases
from runnerfleet.executors.docker.volumes import cache_volume_name, parse_volume
from runnerfleet.executors.errors import BuildError


def test_limits_and_options_map_to_host_config_fields() -> None:
    cfg = DockerConfig(memory="64m", memory_swap="128m", memory_reservation="32m", cpus="1.5",
                       shm_size=1024, dns=["10.0.0.2"], extra_hosts=["db:10.0.0.3"], cap_add=["NET_ADMIN"],
                       cap_drop=["NET_RAW"], security_opt=["no-new-privileges"], oom_kill_disable=True,
                       devices=["/dev/fuse"], tmpfs={"/scratch": "rw,size=16m"}, user="nobody",
                       ulimit={"nofile": "1024:2048"})
    host = build_host_config(cfg, Mounts(binds=("v:/builds",)), network_mode="", links=[], helper=False)
    assert host["Memory"] == 64 * 1024**2 and host["MemorySwap"] == 128 * 1024**2
    assert host["MemoryReservation"] == 32 * 1024**2
    assert host["NanoCpus"] == 1_500_000_000
    assert host["ShmSize"] == 1024 and host["Dns"] == ["10.0.0.2"] and host["ExtraHosts"] == ["db:10.0.0.3"]
    assert host["CapAdd"] == ["NET_ADMIN"] and host["CapDrop"] == ["NET_RAW"]
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["OomKillDisable"] is True
    assert host["Devices"] == [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse",
                                "CgroupPermissions": "rwm"}]
    assert host["Tmpfs"] == {"/scratch": "rw,size=16m"}
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert host["Binds"] == ["v:/builds"]
    helper = build_host_config(cfg, Mounts(), network_mode="", links=[], helper=True)
    assert "Tmpfs" not in helper


def test_services_get_the_service_limits_and_services_tmpfs() -> None:
    cfg = DockerConfig(memory="1g", service_memory="256m", service_cpus="0.5",
                       services_tmpfs={"/var/lib/db": "rw"}, tmpfs={"/scratch": "rw"})
    host = service_host_config(cfg, Mounts(), network_mode="net", image="postgres", privileged=False)
    assert host["Memory"] == 256 * 1024**2 and host["NanoCpus"] == 500_000_000
    assert host["Tmpfs"] == {"/var/lib/db": "rw"} and host["NetworkMode"] == "net"


@pytest.mark.parametrize(("cfg", "message"), [
    (DockerConfig(dns=["dns.example.com"]), 'runners.docker.dns: "dns.example.com" is not an IP address'),
    (DockerConfig(devices=["fuse"]), 'runners.docker.devices: "fuse" is not HOST[:CONTAINER[:PERMISSIONS]]'),
    (DockerConfig(log_options={"max-size": "1m"}), "runners.docker.log_options: only env and labels"),
    (DockerConfig(ulimit={"nofile": "many"}), "runners.docker.ulimit.nofile:"),
])
def test_bad_values_are_configuration_errors_naming_the_key(cfg: DockerConfig, message: str) -> None:
    with pytest.raises(BuildError) as caught:
        build_host_config(cfg, Mounts(), network_mode="", links=[], helper=False)
    assert str(caught.value).startswith(message)
    assert caught.value.failure_reason == "runner_configuration_error"


@pytest.mark.parametrize(("spec", "destination", "source", "mode"), [
    ("/cache", "/cache", "", ""),
    ("/srv/data:/data", "/data", "/srv/data", ""),
    ("/srv/data:/data:ro", "/data", "/srv/data", "ro"),
    ("named:/data:rw", "/data", "named", "rw"),
])
def test_volume_entries(spec: str, destination: str, source: str, mode: str) -> None:
    volume = parse_volume(spec, 0)
    assert (volume.destination, volume.source, volume.mode) == (destination, source, mode)


@pytest.mark.parametrize("spec", ["cache", "/a:b", "/a:/b:bogus", ":/b", "/a:/b:ro:x"])
def test_malformed_volume_entries_name_their_index(spec: str) -> None:
    with pytest.raises(BuildError, match=r"^runners\.docker\.volumes\[3\]: "):
        parse_volume(spec, 3)


def test_cache_volumes_are_named_per_runner_project_and_destination() -> None:
    name = cache_volume_name("abcdefghi", 7, "/cache")
    assert name.startswith("runnerfleet-abcdefghi-project-7-cache-")
    assert name == cache_volume_name("abcdefghi", 7, "/cache")
    assert name != cache_volume_name("abcdefghi", 8, "/cache")


def test_service_aliases_include_the_ones_derived_from_the_image_name() -> None:
    assert default_aliases("registry.example.com/group/postgres:15") == [
        "registry.example.com__group__postgres", "registry.example.com-group-postgres"]
    assert default_aliases("redis:7") == ["redis"]
    assert all_aliases(ServiceSpec("tutum/wordpress", aliases=("blog", "wp"))) == [
        "blog", "wp", "tutum__wordpress", "tutum-wordpress"]


def test_helper_stages_are_everything_but_user_steps_and_after_script() -> None:
    for stage in ("prepare_script", "get_sources", "restore_cache", "download_artifacts", "archive_cache",
                  "archive_cache_on_failure", "upload_artifacts_on_success", "cleanup_file_variables"):
        assert is_helper_stage(stage)
    for stage in ("step_script", "step_release", "after_script"):
        assert not is_helper_stage(stage)


def test_the_container_command_prefers_bash_and_falls_back_to_sh() -> None:
    command = detect_shell_command("bash")
    assert command[:2] == ["sh", "-c"]
    assert command[2].index("/bin/bash") < command[2].index("/bin/sh")
    assert "bash" not in detect_shell_command("sh")[2]


@pytest.mark.parametrize(("value", "request_"), [
    ("all", {"Driver": "", "Count": -1, "DeviceIDs": None, "Capabilities": [["gpu"]], "Options": {}}),
    ("2", {"Driver": "", "Count": 2, "DeviceIDs": None, "Capabilities": [["gpu"]], "Options": {}}),
    ('"device=0,2",driver=nvidia,"capabilities=gpu,utility"',
     {"Driver": "nvidia", "Count": 0, "DeviceIDs": ["0", "2"], "Capabilities": [["gpu", "utility"]],
      "Options": {}}),
])
def test_gpus_become_device_requests_of_the_build_container_as_docker_run_gpus(
        value: str, request_: dict[str, object]) -> None:
    host = build_host_config(DockerConfig(gpus=value), Mounts(), network_mode="", links=[], helper=False)
    assert host["DeviceRequests"] == [request_]
    helper = build_host_config(DockerConfig(gpus=value), Mounts(), network_mode="", links=[], helper=True)
    assert "DeviceRequests" not in helper
    service = service_host_config(DockerConfig(service_gpus=value), Mounts(), network_mode="", image="x",
                                  privileged=False)
    assert service["DeviceRequests"] == [request_]


def test_a_malformed_gpus_value_is_a_configuration_error_naming_the_key() -> None:
    with pytest.raises(BuildError, match=r'^runners.docker.gpus: "count=some": count must be'):
        build_host_config(DockerConfig(gpus="count=some"), Mounts(), network_mode="", links=[], helper=False)
