# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Options shared by the runnerfleet.gitlab modules: GitLab API access and the engine's venv."""

from __future__ import annotations


class ModuleDocFragment:
    """`gitlab`: GitLab URL, token and CA plus the engine venv; `engine`: the engine venv alone."""

    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - URL of the GitLab instance, for example V(https://gitlab.example.com/).
      - A trailing V(/) or V(/ci) is removed and V(/api/v4/) appended, as gitlab-runner does.
      - Set it once for several tasks with C(module_defaults) and the action group
        C(group/runnerfleet.gitlab.gitlab).
    type: str
  api_token:
    description:
      - A GitLab personal access token with the C(create_runner) or C(api) scope, sent as
        C(PRIVATE-TOKEN).
      - It is never shown in output, diffs or error messages.
    type: str
  ca_file:
    description:
      - A PEM file with the CA certificate(s) that signed GitLab's certificate, added to the
        system trust store for this call.
    type: path
  engine_venv:
    description:
      - The virtual environment the runnerfleet engine is installed in on the managed host
        (the role C(runnerfleet.gitlab.runner) installs it there).
      - Its C(site-packages) is added to the module's import path. When the engine is already
        importable (for example on the controller with C(delegate_to=localhost)), a missing venv
        is not an error.
    type: path
    default: /opt/runnerfleet/venv
requirements:
  - The runnerfleet engine (Python 3.11 or later) in O(engine_venv) or importable by the module's Python.
"""

    ENGINE = r"""
options:
  engine_venv:
    description:
      - The virtual environment the runnerfleet engine is installed in on the managed host
        (the role C(runnerfleet.gitlab.runner) installs it there).
      - Its C(site-packages) is added to the module's import path. When the engine is already
        importable (for example on the controller with C(delegate_to=localhost)), a missing venv
        is not an error.
    type: path
    default: /opt/runnerfleet/venv
requirements:
  - The runnerfleet engine (Python 3.11 or later) in O(engine_venv) or importable by the module's Python.
"""
