"""The simulator answers like prlctl, in the formats gitlab-runner's helpers/parallels parses.

Formats checked (Parallels Desktop's prlctl reference and gitlab-runner's parsers): `--version`
prints `prlctl version X.Y.Z (build)`; `list <vm> --no-header --output status` prints the bare
status; `snapshot-list` prints a `PARENT_SNAPSHOT_ID  SNAPSHOT_ID` table whose current snapshot
follows ` *`, ids as `{uuid}`; `snapshot` prints `The snapshot with id {uuid} has been
successfully created.`; `list -i` has `net0 (+) type=shared mac=<12 hex> card=...`; `list <vm>
-a -f --json` is a JSON list of objects with `uuid`, `status`, `ip_configured`, `name`; failures
exit non-zero with a `Failed to ...` line on stderr. The runnerfleet parsers read the answers.
"""

from __future__ import annotations

import json
import re

import pytest

from runnerfleet.executors.parallels.leases import ip_from_leases
from runnerfleet.executors.parallels.prlctl import Prlctl, PrlctlError
from tests.integration.parallels.conftest import GOLDEN
from tests.prlsim.harness import PrlSim

pytestmark = pytest.mark.integration

SNAPSHOT_ID = r"\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}"


def prlctl(prl: PrlSim) -> Prlctl:
    return Prlctl(prl.executable, prl.environ)


def test_version_status_and_missing_vm_answers(prl: PrlSim, golden: str) -> None:
    assert re.fullmatch(r"prlctl version \d+\.\d+\.\d+ \(\d+\)\n", prl.run("--version").stdout)
    assert prlctl(prl).version() == "19.4.1"
    assert prl.run("list", GOLDEN, "--no-header", "--output", "status").stdout == "stopped\n"
    missing = prl.run("list", "no-such-vm", "--no-header", "--output", "status", check=False)
    assert missing.returncode != 0 and missing.stdout == ""
    assert missing.stderr == "Failed to get VM config: The virtual machine could not be found.\n"
    assert prlctl(prl).exists("no-such-vm") is False
    with pytest.raises(PrlctlError, match=r"^prlctl start no-such-vm failed \(exit status 255\): Failed to "):
        prlctl(prl).start("no-such-vm")


def test_snapshot_list_marks_the_current_snapshot_after_a_space_and_star(prl: PrlSim, golden: str) -> None:
    first = prl.run("snapshot", GOLDEN, "--name", "one").stdout
    match = re.search(rf"The snapshot with id ({SNAPSHOT_ID}) has been successfully created\.\n$", first)
    assert match
    second = re.search(SNAPSHOT_ID, prl.run("snapshot", GOLDEN, "--name", "two").stdout)
    assert second
    lines = prl.run("snapshot-list", GOLDEN).stdout.splitlines()
    assert re.fullmatch(r"PARENT_SNAPSHOT_ID +SNAPSHOT_ID", lines[0])
    assert re.fullmatch(rf" +{re.escape(match.group(1))}", lines[1])
    assert re.fullmatch(rf"{re.escape(match.group(1))} +\*{re.escape(second.group(0))}", lines[2])
    assert prlctl(prl).current_snapshot(GOLDEN) == second.group(0)
    prl.run("snapshot-switch", GOLDEN, "--id", match.group(1))
    assert prlctl(prl).current_snapshot(GOLDEN) == match.group(1)


def test_a_started_vm_has_net0s_mac_a_dhcp_lease_and_an_ip_in_the_json_listing(
        prl: PrlSim, golden: str) -> None:
    prl.run("clone", GOLDEN, "--name", "tpl", "--template", "--linked")
    prl.run("create", "vm", "--ostemplate", "tpl")
    info = prl.run("list", "-i", "vm").stdout
    assert re.search(r"^  net0 \(\+\) type=shared mac=001C42[0-9A-F]{6} card=virtio$", info, re.M)
    listed = json.loads(prl.run("list", "vm", "-a", "-f", "--json").stdout)
    assert [(e["name"], e["status"], e["ip_configured"]) for e in listed] == [("vm", "stopped", "-")]

    prl.run("start", "vm")
    tool = prlctl(prl)
    ip = tool.configured_ip("vm")
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip)
    lease = prl.dhcp_leases.read_text().splitlines()[-1]
    assert re.fullmatch(rf'{re.escape(ip)}="\d+,1800,{tool.mac("vm").lower()},[0-9a-f]+"', lease)
    assert ip_from_leases(tool.mac("vm"), str(prl.dhcp_leases)) == ip
    assert tool.exec("vm", "exit", "0") == (0, "")
    assert tool.exec("vm", "which", "ntpdate")[0] != 0
    # A running VM is neither deleted nor unregistered; stopped, it is.
    assert prl.run("delete", "vm", check=False).returncode != 0
    tool.kill("vm")
    assert prl.run("list", "vm", "--no-header", "--output", "status").stdout == "stopped\n"
    tool.delete("vm")
    assert sorted(prl.vm_names()) == sorted([GOLDEN, "tpl"])
    assert prl.containers() == []


def test_templates_are_listed_apart_and_cannot_be_started(prl: PrlSim, golden: str) -> None:
    prl.run("clone", GOLDEN, "--name", "tpl", "--template", "--linked")
    assert [e["name"] for e in json.loads(prl.run("list", "-t", "--json").stdout)] == ["tpl"]
    assert [e["name"] for e in json.loads(prl.run("list", "-a", "--json").stdout)] == [GOLDEN]
    started = prl.run("start", "tpl", check=False)
    assert started.returncode != 0 and started.stderr.startswith("Failed to start the VM: ")
    created = prl.run("create", "vm", "--ostemplate", GOLDEN, check=False)
    assert created.returncode != 0 and "is not a template" in created.stderr
