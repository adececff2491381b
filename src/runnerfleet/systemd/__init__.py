"""systemd services of the engine: the unit files (`unit`) and systemctl control (`control`)."""
