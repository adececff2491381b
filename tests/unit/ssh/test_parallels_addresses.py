"""A Parallels VM's address from the DHCP lease file, as gitlab-runner's IPAddressFromMac reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.executors.parallels.leases import ip_from_leases
from runnerfleet.executors.parallels.prlctl import PrlctlError
from runnerfleet.executors.vm import project_vm_name, runner_vm_pattern


def test_the_lease_that_started_last_wins_for_a_mac(tmp_path: Path) -> None:
    leases = tmp_path / "parallels_dhcp_leases"
    # Parallels' own example line, an older and a newer lease for one MAC, and another MAC.
    leases.write_text(
        '[vnic0]\n'
        '10.211.55.181="1418921112,1800,001c42f593fb,ff42f593fb000100011c25b9ff001c42f593fb"\n'
        '10.211.55.20="1418925000,1800,001c42aabbcc,ff42aabbcc"\n'
        '10.211.55.21="1418930000,1800,001c42aabbcc,ff42aabbcc"\n'
        '10.211.55.22="1418929000,86400,001c42aabbcc,ff42aabbcc"\n')
    assert ip_from_leases("001C42F593FB", str(leases)) == "10.211.55.181"
    assert ip_from_leases("001C42AABBCC", str(leases)) == "10.211.55.21"


def test_no_lease_for_the_mac_names_the_mac_and_the_file(tmp_path: Path) -> None:
    leases = tmp_path / "leases"
    leases.write_text('10.211.55.9="1418921112,1800,001c42000001,ff"\n')
    with pytest.raises(PrlctlError) as caught:
        ip_from_leases("001C42000002", str(leases))
    assert str(caught.value) == f"IP lease not found for MAC address 001C42000002 in: {leases}"


def test_a_missing_lease_file_and_a_bad_mac_are_one_clear_line_each(tmp_path: Path) -> None:
    with pytest.raises(PrlctlError, match=r"^cannot read the Parallels DHCP leases .*/none: No such file"):
        ip_from_leases("001C42000002", str(tmp_path / "none"))
    bad_mac = r"^not a valid MAC address: 00:1c:42. It should be exactly 12 digits$"
    with pytest.raises(PrlctlError, match=bad_mac):
        ip_from_leases("00:1c:42", str(tmp_path / "none"))


def test_project_vm_names_match_the_runners_leftover_pattern() -> None:
    name = project_vm_name("macos-14", "abcdefghi", 7, 2)
    assert name == "macos-14-runner-abcdefghi-project-7-concurrent-2"
    assert runner_vm_pattern("abcdefghi").fullmatch(name)
