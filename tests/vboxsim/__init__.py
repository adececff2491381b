"""A VBoxManage simulator: VirtualBox cannot run here, so VMs are docker containers.

`tests/vboxsim/VBoxManage` is an executable answering the subcommands runnerfleet's VirtualBox
executor uses, with VirtualBox's output formats and exit codes. Machines, NAT rules, snapshots
and extra data live in `$VBOXSIM_HOME`; "booting" a machine runs its disk image (extra data
`vboxsim/image`, later snapshots' committed images) with its boot command (`vboxsim/boot`,
default sshd) and publishes each NAT rule's host port on 127.0.0.1.
"""
