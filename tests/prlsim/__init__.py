"""A `prlctl` simulator: Parallels Desktop cannot run here, so VMs are docker containers.

`tests/prlsim/prlctl` answers the subcommands runnerfleet's Parallels executor uses, with the
output gitlab-runner's `helpers/parallels` parses. The registry is tests/vboxsim's (state.py:
machines, snapshots, disks as images, one lock per command) under `$PRLSIM_HOME`; booting is
tests/vboxsim's guest.py (a container from the machine's disk image); the address docker gives the
container is then leased to net0's MAC in `$PRLSIM_HOME/parallels_dhcp_leases`, in the format of
Parallels' `/Library/Preferences/Parallels/parallels_dhcp_leases`.

Where it simplifies: the shared network is the docker bridge (172.17.0.0/16) instead of
10.211.55.0/24, and the container keeps docker's MAC (the lease names the VM's configured one: the
daemon here is too old to set a container's MAC); `prlctl exec` is `docker exec` of the guest's
`sh -c` (no Parallels Tools); reverting to a snapshot taken while running leaves the VM
`suspended` (it resumes on `start`); linked clones share the disk image of the source's state;
failures exit with status 255 and print one `Failed to ...: <reason>` line on stderr (the reasons
follow Parallels' wording as far as known).
"""
