# `key()` returns dataclasses.field(...), not a shared default value.
# ruff: noqa: RUF009
"""Typed config.toml model: dataclasses in gitlab-runner's field order, with per-key metadata.

Every field carries metadata read by the validator (TOML key, value kind), the renderer (how
gitlab-runner's TOML encoder treats a zero value: `go`) and the flag generator (`long`, `env`).
`go` is one of: "always" (written even when zero), "omitempty" (skipped when ""/false/empty),
"omitzero" (ints skipped when 0), "optional" (a Go pointer/slice/map: skipped when unset).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runnerfleet.config.durations import Duration
from runnerfleet.tokens import shorten_token

_MISSING: Any = dataclasses.MISSING


def key(
    toml: str,
    kind: str,
    go: str,
    default: Any = _MISSING,
    *,
    factory: Any = _MISSING,
    long: str | None = None,
    env: str | None = None,
    help: str = "",
    cls: type | None = None,
    secret: bool = False,
) -> Any:
    """A dataclass field described by its TOML key, value kind, encoder rule and CLI flag."""
    meta = {
        "toml": toml,
        "kind": kind,
        "go": go,
        "long": long,
        "env": env,
        "help": help,
        "cls": cls,
        "secret": secret,
    }
    if factory is not _MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def toml_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields of a schema class that map to TOML keys, in gitlab-runner's order."""
    return [f for f in dataclasses.fields(cls) if "toml" in f.metadata]


@dataclass
class SessionServerConfig:
    listen_address: str = key("listen_address", "str", "omitempty", "")
    advertise_address: str = key("advertise_address", "str", "omitempty", "")
    session_timeout: int = key("session_timeout", "int", "always", 0)

    @property
    def effective_session_timeout(self) -> int:
        """Seconds; gitlab-runner uses 1800 when the value is <= 0."""
        return self.session_timeout if self.session_timeout > 0 else 1800


@dataclass
class CustomBuildDirConfig:
    enabled: bool | None = key(
        "enabled", "opt_bool", "optional", None, long="enabled", env="CUSTOM_BUILD_DIR_ENABLED",
        help="Allow jobs to choose their build directory (GIT_CLONE_PATH)",
    )


@dataclass
class ArtifactConfig:
    upload_timeout: Duration | None = key("upload_timeout", "duration", "optional", None)
    response_header_timeout: Duration | None = key(
        "response_header_timeout", "duration", "optional", None
    )

    @property
    def effective_upload_timeout(self) -> Duration:
        return self.upload_timeout or Duration.from_seconds(3600)

    @property
    def effective_response_header_timeout(self) -> Duration:
        return self.response_header_timeout or Duration.from_seconds(600)


@dataclass
class CacheS3Config:
    server_address: str = key("ServerAddress", "str", "omitempty", "", long="server-address",
                              env="CACHE_S3_SERVER_ADDRESS", help="S3 server host:port")
    access_key: str = key("AccessKey", "str", "omitempty", "", long="access-key",
                          env="CACHE_S3_ACCESS_KEY", help="S3 access key", secret=True)
    secret_key: str = key("SecretKey", "str", "omitempty", "", long="secret-key",
                          env="CACHE_S3_SECRET_KEY", help="S3 secret key", secret=True)
    session_token: str = key("SessionToken", "str", "omitempty", "", long="session-token",
                             env="CACHE_S3_SESSION_TOKEN", help="S3 session token", secret=True)
    bucket_name: str = key("BucketName", "str", "omitempty", "", long="bucket-name",
                           env="CACHE_S3_BUCKET_NAME", help="Bucket holding the cache")
    bucket_location: str = key("BucketLocation", "str", "omitempty", "", long="bucket-location",
                               env="CACHE_S3_BUCKET_LOCATION", help="S3 region")
    insecure: bool = key("Insecure", "bool", "omitempty", False, long="insecure",
                         env="CACHE_S3_INSECURE", help="Use plain HTTP")
    authentication_type: str = key(
        "AuthenticationType", "str", "omitempty", "", long="authentication_type",
        env="CACHE_S3_AUTHENTICATION_TYPE", help="iam or access-key",
    )
    server_side_encryption: str = key(
        "ServerSideEncryption", "str", "omitempty", "", long="server-side-encryption",
        env="CACHE_S3_SERVER_SIDE_ENCRYPTION", help="S3, KMS or DSSE-KMS",
    )
    server_side_encryption_key_id: str = key(
        "ServerSideEncryptionKeyID", "str", "omitempty", "", long="server-side-encryption-key-id",
        env="CACHE_S3_SERVER_SIDE_ENCRYPTION_KEY_ID", help="KMS key ID, alias or ARN",
    )
    dual_stack: bool | None = key("DualStack", "opt_bool", "optional", None, long="dual-stack",
                                  env="CACHE_S3_DUAL_STACK", help="Use dual-stack endpoints")
    path_style: bool | None = key("PathStyle", "opt_bool", "optional", None, long="path-style",
                                  env="CACHE_S3_PATH_STYLE", help="Use path-style addressing")
    accelerate: bool = key("Accelerate", "bool", "omitempty", False, long="accelerate",
                           env="CACHE_S3_ACCELERATE", help="Use S3 Transfer Acceleration")
    role_arn: str = key("RoleARN", "str", "omitempty", "", long="role-arn",
                        env="CACHE_S3_ROLE_ARN", help="Role assumed for cache transfers")
    upload_role_arn: str = key("UploadRoleARN", "str", "omitempty", "", long="upload-role-arn",
                               env="CACHE_S3_UPLOAD_ROLE_ARN", help="Role for uploads (deprecated)")
    assume_role_max_concurrency: int = key(
        "AssumeRoleMaxConcurrency", "int", "always", 0, long="assume-role-max-concurrency",
        env="CACHE_S3_ASSUME_ROLE_MAX_CONCURRENCY", help="Concurrent AssumeRole calls (-1: no cap)",
    )
    disable_assume_role_credentials_caching: bool = key(
        "DisableAssumeRoleCredentialsCaching", "bool", "omitempty", False,
        long="disable-assume-role-credentials-caching",
        env="CACHE_S3_DISABLE_ASSUME_ROLE_CREDENTIALS_CACHING",
        help="Do not cache AssumeRole credentials",
    )

    @property
    def effective_dual_stack(self) -> bool:
        return True if self.dual_stack is None else self.dual_stack

    @property
    def effective_assume_role_max_concurrency(self) -> int:
        return self.assume_role_max_concurrency or 5


@dataclass
class CacheGCSConfig:
    access_id: str = key("AccessID", "str", "omitempty", "", long="access-id",
                         env="CACHE_GCS_ACCESS_ID", help="GCP service account ID")
    private_key: str = key("PrivateKey", "str", "omitempty", "", long="private-key",
                           env="CACHE_GCS_PRIVATE_KEY", help="GCS signing key", secret=True)
    credentials_file: str = key("CredentialsFile", "str", "omitempty", "", long="credentials-file",
                                env="GOOGLE_APPLICATION_CREDENTIALS", help="GCP credentials file")
    bucket_name: str = key("BucketName", "str", "omitempty", "", long="bucket-name",
                           env="CACHE_GCS_BUCKET_NAME", help="Bucket holding the cache")
    universe_domain: str = key("UniverseDomain", "str", "omitempty", "", long="universe-domain",
                               env="CACHE_GCS_UNIVERSE_DOMAIN", help="GCS universe domain")


@dataclass
class CacheAzureConfig:
    account_name: str = key("AccountName", "str", "omitempty", "", long="account-name",
                            env="CACHE_AZURE_ACCOUNT_NAME", help="Azure storage account")
    account_key: str = key("AccountKey", "str", "omitempty", "", long="account-key",
                           env="CACHE_AZURE_ACCOUNT_KEY", help="Azure access key", secret=True)
    container_name: str = key("ContainerName", "str", "omitempty", "", long="container-name",
                              env="CACHE_AZURE_CONTAINER_NAME", help="Container holding the cache")
    storage_domain: str = key("StorageDomain", "str", "omitempty", "", long="storage-domain",
                              env="CACHE_AZURE_STORAGE_DOMAIN", help="Azure storage domain")


@dataclass
class CacheConfig:
    type: str = key("Type", "str", "omitempty", "", long="type", env="CACHE_TYPE",
                    help="Cache backend: s3, gcs or azure")
    path: str = key("Path", "str", "omitempty", "", long="path", env="CACHE_PATH",
                    help="Prefix of cache object names")
    shared: bool = key("Shared", "bool", "omitempty", False, long="shared", env="CACHE_SHARED",
                       help="Share the cache between runners")
    max_uploaded_archive_size: int = key(
        "MaxUploadedArchiveSize", "int", "always", 0, long="max_uploaded_archive_size",
        env="CACHE_MAXIMUM_UPLOADED_ARCHIVE_SIZE", help="Largest cache archive uploaded (bytes)",
    )
    s3: CacheS3Config = key("s3", "table", "optional", factory=CacheS3Config, cls=CacheS3Config,
                            long="s3")
    gcs: CacheGCSConfig = key("gcs", "table", "optional", factory=CacheGCSConfig,
                              cls=CacheGCSConfig, long="gcs")
    azure: CacheAzureConfig = key("azure", "table", "optional", factory=CacheAzureConfig,
                                  cls=CacheAzureConfig, long="azure")


@dataclass
class DockerServiceConfig:
    name: str = key("name", "str", "always", "")
    alias: str = key("alias", "str", "omitempty", "")
    command: list[str] | None = key("command", "list", "optional", None)
    entrypoint: list[str] | None = key("entrypoint", "list", "optional", None)
    environment: list[str] = key("environment", "list", "omitempty", factory=list)
    suspend_data_path: str = key("suspend_data_path", "str", "omitempty", "")

    @property
    def aliases(self) -> list[str]:
        return self.alias.replace(",", " ").split()


def _d(toml: str, kind: str, go: str, default: Any = _MISSING, *, factory: Any = _MISSING,
       long: str | None = None, env: str | None = None, help: str = "") -> Any:
    """A [runners.docker] key; flags are `--docker-<long>`."""
    return key(toml, kind, go, default, factory=factory, long=long, env=env, help=help)


@dataclass
class DockerConfig:
    host: str = _d("host", "str", "omitempty", "", long="host", env="DOCKER_HOST",
                   help="Docker daemon address")
    tls_cert_path: str = _d("tls_cert_path", "str", "omitempty", "", long="cert-path",
                            env="DOCKER_CERT_PATH", help="Directory with ca.pem, cert.pem, key.pem")
    tls_verify: bool = _d("tls_verify", "bool", "always", False, long="tlsverify",
                          env="DOCKER_TLS_VERIFY", help="Use TLS to the Docker daemon")
    hostname: str = _d("hostname", "str", "omitempty", "", long="hostname",
                       env="DOCKER_HOSTNAME", help="Container hostname")
    image: str = _d("image", "str", "always", "", long="image", env="DOCKER_IMAGE",
                    help="Default job image")
    runtime: str = _d("runtime", "str", "omitempty", "", long="runtime", env="DOCKER_RUNTIME",
                      help="OCI runtime")
    memory: str = _d("memory", "size", "omitempty", "", long="memory", env="DOCKER_MEMORY",
                     help="Memory limit, e.g. 4g")
    memory_swap: str = _d("memory_swap", "size", "omitempty", "", long="memory-swap",
                          env="DOCKER_MEMORY_SWAP", help="Memory + swap limit")
    memory_reservation: str = _d("memory_reservation", "size", "omitempty", "",
                                 long="memory-reservation", env="DOCKER_MEMORY_RESERVATION",
                                 help="Memory soft limit")
    cgroup_parent: str = _d("cgroup_parent", "str", "omitempty", "", long="cgroup-parent",
                            env="DOCKER_CGROUP_PARENT", help="Parent cgroup")
    cpuset_cpus: str = _d("cpuset_cpus", "str", "omitempty", "", long="cpuset-cpus",
                          env="DOCKER_CPUSET_CPUS", help="cgroup cpuset CPUs")
    cpuset_mems: str = _d("cpuset_mems", "str", "omitempty", "", long="cpuset-mems",
                          env="DOCKER_CPUSET_MEMS", help="cgroup cpuset memory nodes")
    cpus: str = _d("cpus", "rational", "omitempty", "", long="cpus", env="DOCKER_CPUS",
                   help="Number of CPUs, e.g. 1.5")
    cpu_shares: int = _d("cpu_shares", "int", "omitzero", 0, long="cpu-shares",
                         env="DOCKER_CPU_SHARES", help="Relative CPU weight")
    dns: list[str] = _d("dns", "list", "omitempty", factory=list, long="dns", env="DOCKER_DNS",
                        help="DNS servers")
    dns_search: list[str] = _d("dns_search", "list", "omitempty", factory=list, long="dns-search",
                               env="DOCKER_DNS_SEARCH", help="DNS search domains")
    privileged: bool = _d("privileged", "bool", "always", False, long="privileged",
                          env="DOCKER_PRIVILEGED", help="Privileged build containers")
    services_privileged: bool | None = _d(
        "services_privileged", "opt_bool", "optional", None, long="services_privileged",
        env="DOCKER_SERVICES_PRIVILEGED", help="Privileged service containers",
    )
    disable_entrypoint_overwrite: bool = _d(
        "disable_entrypoint_overwrite", "bool", "always", False,
        long="disable-entrypoint-overwrite", env="DOCKER_DISABLE_ENTRYPOINT_OVERWRITE",
        help="Ignore entrypoints set by jobs",
    )
    user: str = _d("user", "str", "omitempty", "", long="user", env="DOCKER_USER",
                   help="User in the build container")
    allowed_users: list[str] = _d("allowed_users", "list", "omitempty", factory=list,
                                  long="allowed_users", env="DOCKER_ALLOWED_USERS",
                                  help="Users a job may ask for")
    group_add: list[str] | None = _d("group_add", "list", "optional", None, long="group-add",
                                     env="DOCKER_GROUP_ADD", help="Extra groups")
    userns_mode: str = _d("userns_mode", "str", "omitempty", "", long="userns",
                          env="DOCKER_USERNS_MODE", help="User namespace mode")
    cap_add: list[str] | None = _d("cap_add", "list", "optional", None, long="cap-add",
                                   env="DOCKER_CAP_ADD", help="Capabilities to add")
    cap_drop: list[str] | None = _d("cap_drop", "list", "optional", None, long="cap-drop",
                                    env="DOCKER_CAP_DROP", help="Capabilities to drop")
    oom_kill_disable: bool = _d("oom_kill_disable", "bool", "always", False,
                                long="oom-kill-disable", env="DOCKER_OOM_KILL_DISABLE",
                                help="Do not OOM-kill container processes")
    oom_score_adjust: int = _d("oom_score_adjust", "int", "omitzero", 0, long="oom-score-adjust",
                               env="DOCKER_OOM_SCORE_ADJUST", help="OOM score adjustment")
    security_opt: list[str] | None = _d("security_opt", "list", "optional", None,
                                        long="security-opt", env="DOCKER_SECURITY_OPT",
                                        help="Security options")
    services_security_opt: list[str] | None = _d(
        "services_security_opt", "list", "optional", None, long="services-security-opt",
        env="DOCKER_SERVICES_SECURITY_OPT", help="Security options of services",
    )
    devices: list[str] | None = _d("devices", "list", "optional", None, long="devices",
                                   env="DOCKER_DEVICES", help="Host devices")
    device_cgroup_rules: list[str] = _d("device_cgroup_rules", "list", "omitempty", factory=list,
                                        long="device-cgroup-rules",
                                        env="DOCKER_DEVICE_CGROUP_RULES", help="Device cgroup rules")
    gpus: str = _d("gpus", "str", "omitempty", "", long="gpus", env="DOCKER_GPUS",
                   help="GPUs for build containers")
    services_devices: dict[str, list[str]] = _d(
        "services_devices", "list_map", "omitempty", factory=dict, long="services_devices",
        env="DOCKER_SERVICES_DEVICES", help="Host devices per service image",
    )
    disable_cache: bool = _d("disable_cache", "bool", "always", False, long="disable-cache",
                             env="DOCKER_DISABLE_CACHE", help="Per-job temporary cache volumes")
    volumes: list[str] = _d("volumes", "list", "omitempty", factory=list, long="volumes",
                            env="DOCKER_VOLUMES", help="Volumes and bind mounts")
    volume_keep: bool = _d("volume_keep", "bool", "always", False, long="volume-keep",
                           env="DOCKER_VOLUME_KEEP", help="Keep anonymous volumes")
    volume_driver: str = _d("volume_driver", "str", "omitempty", "", long="volume-driver",
                            env="DOCKER_VOLUME_DRIVER", help="Volume driver")
    volume_driver_ops: dict[str, str] = _d(
        "volume_driver_ops", "map", "omitempty", factory=dict, long="volume-driver-ops",
        env="DOCKER_VOLUME_DRIVER_OPS", help="Volume driver options",
    )
    cache_dir: str = _d("cache_dir", "str", "omitempty", "", long="cache-dir",
                        env="DOCKER_CACHE_DIR", help="Host directory for cache volumes")
    extra_hosts: list[str] = _d("extra_hosts", "list", "omitempty", factory=list,
                                long="extra-hosts", env="DOCKER_EXTRA_HOSTS",
                                help="host:ip entries")
    volumes_from: list[str] = _d("volumes_from", "list", "omitempty", factory=list,
                                 long="volumes-from", env="DOCKER_VOLUMES_FROM",
                                 help="Containers to take volumes from")
    network_mode: str = _d("network_mode", "str", "omitempty", "", long="network-mode",
                           env="DOCKER_NETWORK_MODE", help="Container network")
    pid_mode: str = _d("pid_mode", "str", "omitempty", "", long="pid-mode",
                       env="DOCKER_PID_MODE", help="PID namespace")
    ipcmode: str = _d("ipcmode", "str", "omitempty", "", long="ipcmode", env="DOCKER_IPC_MODE",
                      help="IPC mode")
    mac_address: str = _d("mac_address", "str", "omitempty", "", long="mac-address",
                          env="DOCKER_MAC_ADDRESS", help="Container MAC address")
    links: list[str] = _d("links", "list", "omitempty", factory=list, long="links",
                          env="DOCKER_LINKS", help="Legacy container links")
    services: list[DockerServiceConfig] = key(
        "services", "table_array", "omitempty", factory=list, cls=DockerServiceConfig
    )
    services_limit: int | None = _d("services_limit", "opt_int", "optional", None,
                                    long="services-limit", env="DOCKER_SERVICES_LIMIT",
                                    help="Max services per job")
    service_memory: str = _d("service_memory", "size", "omitempty", "", long="service-memory",
                             env="DOCKER_SERVICE_MEMORY", help="Service memory limit")
    service_memory_swap: str = _d("service_memory_swap", "size", "omitempty", "",
                                  long="service-memory-swap", env="DOCKER_SERVICE_MEMORY_SWAP",
                                  help="Service memory + swap limit")
    service_memory_reservation: str = _d(
        "service_memory_reservation", "size", "omitempty", "", long="service-memory-reservation",
        env="DOCKER_SERVICE_MEMORY_RESERVATION", help="Service memory soft limit",
    )
    service_cgroup_parent: str = _d("service_cgroup_parent", "str", "omitempty", "",
                                    long="service-cgroup-parent",
                                    env="DOCKER_SERVICE_CGROUP_PARENT",
                                    help="Parent cgroup of services")
    service_slot_cgroup_template: str = _d(
        "service_slot_cgroup_template", "str", "omitempty", "",
        long="service-slot-cgroup-template", env="DOCKER_SERVICE_SLOT_CGROUP_TEMPLATE",
        help="Slot cgroup name template for services",
    )
    service_cpuset_cpus: str = _d("service_cpuset_cpus", "str", "omitempty", "",
                                  long="service-cpuset-cpus", env="DOCKER_SERVICE_CPUSET_CPUS",
                                  help="cpuset CPUs of services")
    service_cpus: str = _d("service_cpus", "rational", "omitempty", "", long="service-cpus",
                           env="DOCKER_SERVICE_CPUS", help="CPUs of services")
    service_cpu_shares: int = _d("service_cpu_shares", "int", "omitzero", 0,
                                 long="service-cpu-shares", env="DOCKER_SERVICE_CPU_SHARES",
                                 help="CPU weight of services")
    service_gpus: str = _d("service_gpus", "str", "omitempty", "", long="service_gpus",
                           env="DOCKER_SERVICE_GPUS", help="GPUs for services")
    wait_for_services_timeout: int = _d(
        "wait_for_services_timeout", "int", "omitzero", 0, long="wait-for-services-timeout",
        env="DOCKER_WAIT_FOR_SERVICES_TIMEOUT", help="Seconds to wait for services",
    )
    allowed_images: list[str] = _d("allowed_images", "list", "omitempty", factory=list,
                                   long="allowed-images", env="DOCKER_ALLOWED_IMAGES",
                                   help="Allowed job images")
    allowed_privileged_images: list[str] = _d(
        "allowed_privileged_images", "list", "omitempty", factory=list,
        long="allowed-privileged-images", env="DOCKER_ALLOWED_PRIVILEGED_IMAGES",
        help="Images that may run privileged",
    )
    allowed_privileged_services: list[str] = _d(
        "allowed_privileged_services", "list", "omitempty", factory=list,
        long="allowed-privileged-services", env="DOCKER_ALLOWED_PRIVILEGED_SERVICES",
        help="Services that may run privileged",
    )
    allowed_pull_policies: list[str] = _d(
        "allowed_pull_policies", "list", "omitempty", factory=list, long="allowed-pull-policies",
        env="DOCKER_ALLOWED_PULL_POLICIES", help="Pull policies a job may ask for",
    )
    allowed_services: list[str] = _d("allowed_services", "list", "omitempty", factory=list,
                                     long="allowed-services", env="DOCKER_ALLOWED_SERVICES",
                                     help="Allowed job services")
    pull_policy: list[str] = _d("pull_policy", "str_or_list", "omitempty", factory=list,
                                long="pull-policy", env="DOCKER_PULL_POLICY",
                                help="always, if-not-present or never")
    isolation: str = _d("isolation", "str", "omitempty", "", long="isolation",
                        env="DOCKER_ISOLATION", help="Windows isolation")
    shm_size: int = _d("shm_size", "int", "always", 0, long="shm-size", env="DOCKER_SHM_SIZE",
                       help="/dev/shm size in bytes")
    tmpfs: dict[str, str] = _d("tmpfs", "map", "omitempty", factory=dict, long="tmpfs",
                               env="DOCKER_TMPFS", help="tmpfs mounts of the build container")
    services_tmpfs: dict[str, str] = _d("services_tmpfs", "map", "omitempty", factory=dict,
                                        long="services-tmpfs", env="DOCKER_SERVICES_TMPFS",
                                        help="tmpfs mounts of services")
    sysctls: dict[str, str] = _d("sysctls", "map", "omitempty", factory=dict, long="sysctls",
                                 env="DOCKER_SYSCTLS", help="sysctls")
    helper_image: str = _d("helper_image", "str", "omitempty", "", long="helper-image",
                           env="DOCKER_HELPER_IMAGE", help="Helper image override")
    helper_image_flavor: str = _d("helper_image_flavor", "str", "omitempty", "",
                                  long="helper-image-flavor", env="DOCKER_HELPER_IMAGE_FLAVOR",
                                  help="Helper image flavor")
    container_labels: dict[str, str] = _d("container_labels", "map", "omitempty", factory=dict,
                                          long="container-labels", help="Container labels")
    enable_ipv6: bool = _d("enable_ipv6", "bool", "omitempty", False, long="enable-ipv6",
                           help="IPv6 on per-build networks")
    ulimit: dict[str, str] = _d("ulimit", "map", "omitempty", factory=dict, long="ulimit",
                                env="DOCKER_ULIMIT", help="ulimits, name = soft[:hard]")
    network_mtu: int = _d("network_mtu", "int", "always", 0, long="network-mtu",
                          help="MTU of per-build networks")
    log_options: dict[str, str] = _d("log_options", "map", "omitempty", factory=dict,
                                     long="log-options", env="DOCKER_LOG_OPTIONS",
                                     help="json-file log driver options")

    @property
    def effective_pull_policy(self) -> list[str]:
        return list(self.pull_policy) or ["always"]

    @property
    def effective_wait_for_services_timeout(self) -> int:
        return self.wait_for_services_timeout or 30

    @property
    def effective_services_limit(self) -> int:
        return -1 if self.services_limit is None else self.services_limit


@dataclass
class SshConfig:
    user: str = key("user", "str", "omitempty", "", long="user", env="SSH_USER",
                    help="SSH login user")
    password: str = key("password", "str", "omitempty", "", long="password", env="SSH_PASSWORD",
                        help="SSH password", secret=True)
    host: str = key("host", "str", "omitempty", "", long="host", env="SSH_HOST",
                    help="SSH server")
    port: str = key("port", "port", "omitempty", "", long="port", env="SSH_PORT",
                    help="SSH port")
    identity_file: str = key("identity_file", "str", "omitempty", "", long="identity-file",
                             env="SSH_IDENTITY_FILE", help="Private key file")
    disable_strict_host_key_checking: bool | None = key(
        "disable_strict_host_key_checking", "opt_bool", "optional", None,
        long="disable-strict-host-key-checking", env="DISABLE_STRICT_HOST_KEY_CHECKING",
        help="Accept any host key",
    )
    known_hosts_file: str = key("known_hosts_file", "str", "omitempty", "",
                                long="known-hosts-file", env="KNOWN_HOSTS_FILE",
                                help="known_hosts file (default ~/.ssh/known_hosts)")

    @property
    def effective_host(self) -> str:
        return self.host or "localhost"

    @property
    def effective_port(self) -> str:
        return self.port or "22"

    @property
    def effective_user(self) -> str:
        return self.user or "root"

    @property
    def strict_host_key_checking(self) -> bool:
        return self.disable_strict_host_key_checking is not True


@dataclass
class VirtualBoxConfig:
    base_name: str = key("base_name", "str", "always", "", long="base-name",
                         env="VIRTUALBOX_BASE_NAME", help="Base VM to clone")
    base_snapshot: str = key("base_snapshot", "str", "omitempty", "", long="base-snapshot",
                             env="VIRTUALBOX_BASE_SNAPSHOT", help="Snapshot to clone from")
    base_folder: str = key("base_folder", "str", "always", "", long="base-folder",
                           env="VIRTUALBOX_BASE_FOLDER", help="Folder for the cloned VM")
    disable_snapshots: bool = key("disable_snapshots", "bool", "always", False,
                                  long="disable-snapshots", env="VIRTUALBOX_DISABLE_SNAPSHOTS",
                                  help="Full clone per job")
    allowed_images: list[str] = key("allowed_images", "list", "omitempty", factory=list,
                                    long="allowed-images", env="VIRTUALBOX_ALLOWED_IMAGES",
                                    help="Base VMs a job may select (regexps)")
    start_type: str = key("start_type", "str", "always", "", long="start-type",
                          env="VIRTUALBOX_START_TYPE", help="headless, gui or separate")

    @property
    def effective_start_type(self) -> str:
        return self.start_type or "headless"


@dataclass
class ParallelsConfig:
    base_name: str = key("base_name", "str", "always", "", long="base-name",
                         env="PARALLELS_BASE_NAME", help="Base VM to clone")
    template_name: str = key("template_name", "str", "omitempty", "", long="template-name",
                             env="PARALLELS_TEMPLATE_NAME", help="Template to create (<base_name>-template)")
    disable_snapshots: bool = key("disable_snapshots", "bool", "omitzero", False,
                                  long="disable-snapshots", env="PARALLELS_DISABLE_SNAPSHOTS",
                                  help="New VM per job")
    time_server: str = key("time_server", "str", "omitempty", "", long="time-server",
                           env="PARALLELS_TIME_SERVER", help="Time server for the guest (time.apple.com)")
    allowed_images: list[str] = key("allowed_images", "list", "omitempty", factory=list,
                                    long="allowed-images", env="PARALLELS_ALLOWED_IMAGES",
                                    help="Base VMs a job may select (regexps)")


# Tables gitlab-runner knows but runnerfleet does not type (out-of-scope executors, experiments):
# accepted without a warning, kept as plain data.
_RAW = "raw"


@dataclass
class RunnerConfig:
    name: str = key("name", "str", "always", "")
    limit: int = key("limit", "int", "omitzero", 0, long="limit", env="RUNNER_LIMIT",
                     help="Max concurrent jobs of this runner (0: no limit)")
    output_limit: int = key("output_limit", "int", "omitzero", 0, long="output-limit",
                            env="RUNNER_OUTPUT_LIMIT", help="Job log cap in KiB")
    request_concurrency: int = key("request_concurrency", "int", "omitzero", 0,
                                   long="request-concurrency", env="RUNNER_REQUEST_CONCURRENCY",
                                   help="Max simultaneous job requests")
    strict_check_interval: bool | None = key(
        "strict_check_interval", "opt_bool", "optional", None, long="strict-check-interval",
        env="RUNNER_STRICT_CHECK_INTERVAL", help="No immediate re-poll after a job",
    )
    unhealthy_requests_limit: int = key(
        "unhealthy_requests_limit", "int", "omitzero", 0, long="unhealthy-requests-limit",
        env="RUNNER_UNHEALTHY_REQUESTS_LIMIT", help="Unhealthy responses before pausing",
    )
    # gitlab-runner spells this tag `ENV:`, so the flag has no environment variable.
    unhealthy_interval: Duration | None = key(
        "unhealthy_interval", "duration", "optional", None, long="unhealthy-interval",
        help="How long an unhealthy runner is paused",
    )
    job_status_final_update_retry_limit: int = key(
        "job_status_final_update_retry_limit", "int", "omitzero", 0,
        long="job-status-final-update-retry-limit",
        env="RUNNER_job_status_final_update_retry_limit",
        help="Retries of the final job update",
    )
    experimental: Any = key("experimental", _RAW, "optional", None)
    url: str = key("url", "str", "always", "")
    id: int = key("id", "int", "always", 0)
    token: str = key("token", "str", "always", "", secret=True)
    token_obtained_at: datetime | None = key("token_obtained_at", "datetime", "always", None)
    token_expires_at: datetime | None = key("token_expires_at", "datetime", "always", None)
    tls_ca_file: str = key("tls-ca-file", "str", "omitempty", "", long="tls-ca-file",
                           env="CI_SERVER_TLS_CA_FILE", help="CA bundle for GitLab's certificate")
    tls_cert_file: str = key("tls-cert-file", "str", "omitempty", "", long="tls-cert-file",
                             env="CI_SERVER_TLS_CERT_FILE", help="TLS client certificate")
    tls_key_file: str = key("tls-key-file", "str", "omitempty", "", long="tls-key-file",
                            env="CI_SERVER_TLS_KEY_FILE", help="TLS client key")
    labels: dict[str, str] = key("labels", "map", "omitempty", factory=dict)
    executor: str = key("executor", "str", "always", "")
    builds_dir: str = key("builds_dir", "str", "omitempty", "", long="builds-dir",
                          env="RUNNER_BUILDS_DIR", help="Root of project checkouts")
    cache_dir: str = key("cache_dir", "str", "omitempty", "", long="cache-dir",
                         env="RUNNER_CACHE_DIR", help="Root of local cache archives")
    clone_url: str = key("clone_url", "str", "omitempty", "", long="clone-url", env="CLONE_URL",
                         help="Base URL for git clone/fetch")
    environment: list[str] = key("environment", "list", "omitempty", factory=list, long="env",
                                 env="RUNNER_ENV", help="Job variable KEY=VALUE (repeatable)")
    proxy_exec: bool | None = key("proxy_exec", "opt_bool", "optional", None, long="proxy-exec",
                                  env="RUNNER_PROXY_EXEC", help="Experimental proxy execution")
    pre_get_sources_script: str = key(
        "pre_get_sources_script", "str", "omitempty", "", long="pre-get-sources-script",
        env="RUNNER_PRE_GET_SOURCES_SCRIPT", help="Commands run before fetching sources",
    )
    post_get_sources_script: str = key(
        "post_get_sources_script", "str", "omitempty", "", long="post-get-sources-script",
        env="RUNNER_POST_GET_SOURCES_SCRIPT", help="Commands run after fetching sources",
    )
    pre_build_script: str = key("pre_build_script", "str", "omitempty", "",
                                long="pre-build-script", env="RUNNER_PRE_BUILD_SCRIPT",
                                help="Commands prepended to job scripts")
    post_build_script: str = key("post_build_script", "str", "omitempty", "",
                                 long="post-build-script", env="RUNNER_POST_BUILD_SCRIPT",
                                 help="Commands appended to job scripts")
    prepare_timeout: Duration | None = key(
        "prepare_timeout", "duration", "optional", None, long="prepare-timeout",
        env="RUNNER_PREPARE_TIMEOUT", help="Cap for the prepare stage",
    )
    get_sources_timeout: Duration | None = key(
        "get_sources_timeout", "duration", "optional", None, long="get-sources-timeout",
        env="RUNNER_GET_SOURCES_TIMEOUT", help="Cap for the get_sources stage",
    )
    debug_trace_disabled: bool = key("debug_trace_disabled", "bool", "omitempty", False,
                                     long="debug-trace-disabled",
                                     env="RUNNER_DEBUG_TRACE_DISABLED",
                                     help="Refuse CI_DEBUG_TRACE")
    safe_directory_checkout: bool | None = key(
        "safe_directory_checkout", "opt_bool", "optional", None, long="safe-directory-checkout",
        env="RUNNER_SAFE_DIRECTORY_CHECKOUT", help="Mark the checkout as git safe.directory",
    )
    clean_git_config: bool | None = key(
        "clean_git_config", "opt_bool", "optional", None, long="clean-git-config",
        env="RUNNER_CLEAN_GIT_CONFIG", help="Remove git config and hooks around jobs",
    )
    shell: str = key("shell", "str", "omitempty", "", long="shell", env="RUNNER_SHELL",
                     help="bash, sh, pwsh or powershell")
    custom_build_dir: CustomBuildDirConfig = key(
        "custom_build_dir", "table", "omitempty", factory=CustomBuildDirConfig,
        cls=CustomBuildDirConfig, long="custom_build_dir",
    )
    referees: Any = key("referees", _RAW, "optional", None)
    cache: CacheConfig = key("cache", "table", "optional", factory=CacheConfig, cls=CacheConfig,
                             long="cache")
    artifact: ArtifactConfig = key("artifact", "table", "omitempty", factory=ArtifactConfig,
                                   cls=ArtifactConfig)
    feature_flags: dict[str, bool] = key(
        "feature_flags", "bool_map", "optional", factory=dict, long="feature-flags",
        env="FEATURE_FLAGS", help="Feature flag NAME=true|false (repeatable)",
    )
    monitoring: Any = key("monitoring", _RAW, "optional", None)
    use_slot_cgroups: bool = key("use_slot_cgroups", "bool", "omitempty", False,
                                 long="use-slot-cgroups", env="RUNNER_USE_SLOT_CGROUPS",
                                 help="Slot-derived cgroup names")
    slot_cgroup_template: str = key("slot_cgroup_template", "str", "omitempty", "",
                                    long="slot-cgroup-template",
                                    env="RUNNER_SLOT_CGROUP_TEMPLATE",
                                    help="Slot cgroup name template")
    instance: Any = key("instance", _RAW, "optional", None)
    ssh: SshConfig | None = key("ssh", "opt_table", "optional", None, cls=SshConfig, long="ssh")
    docker: DockerConfig | None = key("docker", "opt_table", "optional", None, cls=DockerConfig,
                                      long="docker")
    parallels: ParallelsConfig | None = key("parallels", "opt_table", "optional", None,
                                            cls=ParallelsConfig, long="parallels")
    virtualbox: VirtualBoxConfig | None = key("virtualbox", "opt_table", "optional", None,
                                              cls=VirtualBoxConfig, long="virtualbox")
    machine: Any = key("machine", _RAW, "optional", None)
    kubernetes: Any = key("kubernetes", _RAW, "optional", None)
    custom: Any = key("custom", _RAW, "optional", None)
    autoscaler: Any = key("autoscaler", _RAW, "optional", None)
    step_runner_image: str = key("step_runner_image", "str", "omitempty", "",
                                 long="step-runner-image", env="STEP_RUNNER_IMAGE",
                                 help="step-runner image override")
    # runnerfleet extension: [runners.shell.env] (gitlab-runner has no such table).
    shell_env: dict[str, str] = field(default_factory=dict)
    index: int = 0

    @property
    def short_token(self) -> str:
        return shorten_token(self.token)

    @property
    def job_environment(self) -> list[str]:
        """`environment` entries, then the `[runners.shell.env]` extension as KEY=VALUE."""
        return [*self.environment, *(f"{k}={v}" for k, v in self.shell_env.items())]

    @property
    def effective_output_limit(self) -> int:
        """KiB; 4096 when unset."""
        return self.output_limit if self.output_limit > 0 else 4096

    @property
    def effective_request_concurrency(self) -> int:
        return max(self.request_concurrency, 1)

    @property
    def effective_unhealthy_requests_limit(self) -> int:
        return self.unhealthy_requests_limit if self.unhealthy_requests_limit >= 1 else 3

    @property
    def effective_unhealthy_interval(self) -> Duration:
        return self.unhealthy_interval or Duration.from_seconds(3600)

    @property
    def effective_job_status_final_update_retry_limit(self) -> int:
        limit = self.job_status_final_update_retry_limit
        return limit if limit >= 1 else 10


@dataclass
class Config:
    listen_address: str = key("listen_address", "str", "omitempty", "")
    concurrent: int = key("concurrent", "int", "always", 1)
    check_interval: int = key("check_interval", "int", "always", 0)
    log_level: str | None = key("log_level", "opt_str", "optional", None)
    log_format: str | None = key("log_format", "opt_str", "optional", None)
    user: str = key("user", "str", "omitempty", "")
    sentry_dsn: str | None = key("sentry_dsn", "opt_str", "optional", None)
    connection_max_age: Duration | None = key("connection_max_age", "duration", "optional", None)
    shutdown_timeout: int = key("shutdown_timeout", "int", "always", 0)
    session_server: SessionServerConfig = key(
        "session_server", "table", "omitempty", factory=SessionServerConfig,
        cls=SessionServerConfig,
    )
    labels: dict[str, str] = key("labels", "map", "omitempty", factory=dict)
    runners: list[RunnerConfig] = key("runners", "table_array", "optional", factory=list,
                                      cls=RunnerConfig)
    machine: Any = key("machine", _RAW, "optional", None)
    experimental: Any = key("experimental", _RAW, "optional", None)

    @property
    def effective_check_interval(self) -> int:
        """Seconds; gitlab-runner uses 3 when the value is <= 0."""
        return self.check_interval if self.check_interval > 0 else 3

    @property
    def effective_shutdown_timeout(self) -> int:
        """Seconds; gitlab-runner uses 30 when the value is <= 0."""
        return self.shutdown_timeout if self.shutdown_timeout > 0 else 30

    @property
    def effective_connection_max_age(self) -> Duration:
        """15 min when absent; a value <= 0 means unlimited (kept as is)."""
        return self.connection_max_age or Duration.from_seconds(900)

    @property
    def effective_log_level(self) -> str:
        return self.log_level or "info"

    @property
    def effective_log_format(self) -> str:
        return self.log_format or "runner"
