"""Print a coordinator job (GET /-/jobs/:id JSON on stdin) the way GitLab's job page shows it."""

import json
import re
import sys

_ANSI = re.compile(r"\x1b\[[0-9;]*[mK]|section_(start|end):\d+:[a-z_]+\r?")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z [0-9a-f]{2}[OE][ +]")

job = json.load(sys.stdin)
print(f"   status: {job['status']}  failure_reason: {job['failure_reason']}  "
      f"log: {job['trace_bytesize']} bytes")
for raw in job["trace"].split("\n"):
    line = _STAMP.sub("", raw)
    text = _ANSI.sub("", line).replace("\r", "")
    if text or not line:  # lines that held only section markers are folded away, as GitLab does
        print("   | " + text)
