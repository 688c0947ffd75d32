"""A stdout callback for Tests/ansible/run.py: one JSON document of every play, task and host
result, and the recap's per-host stats. ansible-core has no JSON stdout callback of its own (the
one called json lives in the ansible.posix collection, which bare ansible-core lacks), and the
collection's tests must run on what Dom0Kit installs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: dom0kit_results
    type: stdout
    short_description: every result as one JSON document, for Dom0Kit's tests
    description:
        - Prints {"plays":[{"play":{"name"},"tasks":[{"task":{"name"},"hosts":{HOST:RESULT}}]}],"stats":{HOST:{...}}}
          when the playbook ends.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "dom0kit_results"

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.plays[-1]["tasks"].append({"task": {"name": task.get_name()}, "hosts": {}})

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def record(self, result, **flags):
        outcome = dict(result._result)
        outcome.update(flags)
        self.plays[-1]["tasks"][-1]["hosts"][result._host.get_name()] = outcome

    def v2_runner_on_ok(self, result, **kwargs):
        self.record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self.record(result, failed=True)

    def v2_runner_on_skipped(self, result, **kwargs):
        self.record(result, skipped=True)

    def v2_runner_on_unreachable(self, result, **kwargs):
        self.record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({"plays": self.plays, "stats": summary}, indent=1, sort_keys=True))
