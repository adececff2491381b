"""A VM's IP address from Parallels' DHCP lease file, by the MAC of its first network card.

Lines look like `10.211.55.181="1418921112,1800,001c42f593fb,ff42f593fb0001..."`: address, then
lease expiry (Unix time), lease time in seconds, MAC, client id. Of several leases for one MAC
the one that started last wins (expiry - lease time), as in gitlab-runner's IPAddressFromMac.
"""

from __future__ import annotations

import re

from runnerfleet.executors.parallels.prlctl import PrlctlError

DHCP_LEASES = "/Library/Preferences/Parallels/parallels_dhcp_leases"


def ip_from_leases(mac: str, path: str = DHCP_LEASES) -> str:
    """The address most recently leased to `mac` (12 hex digits); PrlctlError when there is none."""
    if not re.fullmatch(r"[0-9A-Fa-f]{12}", mac):
        raise PrlctlError(f"not a valid MAC address: {mac}. It should be exactly 12 digits")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        raise PrlctlError(f"cannot read the Parallels DHCP leases {path}: {exc.strerror or exc}") from None
    line = re.compile(rf'^(.*)="(\d*),(\d*),{mac.lower()},.*"', re.M)
    best_ip, best_start = "", -1
    for match in line.finditer(text):
        expiry = int(match.group(2) or 0)
        lease_time = int(match.group(3) or 0)
        if expiry - lease_time >= best_start:
            best_ip, best_start = match.group(1).strip(), expiry - lease_time
    if not best_ip:
        raise PrlctlError(f"IP lease not found for MAC address {mac} in: {path}")
    return best_ip
