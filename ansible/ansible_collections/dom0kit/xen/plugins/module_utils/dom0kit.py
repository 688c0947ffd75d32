# -*- coding: utf-8 -*-
# Copyright: Dom0Kit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every dom0kit.xen module shares: finding host-prepare on the managed host, running it
with --json, and turning its answers into Ansible's (snake_case results, diffs, Dom0Kit's own
error message). The modules run on the managed host's Python: standard library only, 3.6+."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

# host-prepare's exit statuses (host-prepare --help): the interface the modules read.
DONE = 0
FAILED = 1
REFUSED = 2
ALREADY_INSTALLED = 3
USAGE = 64

MEANING = {
    FAILED: 'failed',
    REFUSED: 'refused',
    ALREADY_INSTALLED: 'already installed',
    USAGE: 'usage error',
}


def common_argument_spec():
    """The options every module takes: which host-prepare, and which host tree it works on."""
    return dict(
        root=dict(type='path', default='/'),
        binary=dict(type='path'),
    )


def snake(document):
    """Dom0Kit's JSON keys (camelCase) as Ansible results spell them (snake_case)."""
    if isinstance(document, dict):
        return camel_dict_to_snake_dict(document)
    if isinstance(document, list):
        return [snake(item) for item in document]
    return document


def prepared_diffs(changes):
    """Ansible's diff entries for the changes of a Dom0Kit plan or apply report: each file
    change carries its unified diff, which Ansible prints as it is (--diff)."""
    return [dict(prepared=change['diff']) for change in changes if change.get('diff')]


def plan_changes(plan):
    """Every change of a host plan (host-prepare plan --json), module by module."""
    return [change for section in plan.get('sections', []) for change in section['plan']['changes']]


class HostPrepare(object):
    """host-prepare on the managed host, run with --json against the module's root."""

    def __init__(self, module):
        self.module = module
        self.root = module.params['root']
        # Files of the module's own making, by what the user knows them as: Dom0Kit's messages
        # name the file and line, which for a file the module wrote would point nowhere.
        self.names = {}
        self.path = module.params['binary'] or module.get_bin_path('host-prepare')
        if not self.path:
            module.fail_json(
                msg='host-prepare is not installed on this host (not found in PATH): install '
                    'Dom0Kit (the supplemental pack on XCP-ng/XenServer, the .deb or the .rpm), '
                    'or give its path as binary')

    def run(self, arguments, accept=(DONE,)):
        """Runs host-prepare ARGUMENTS --json --root ROOT. Returns (rc, the JSON document or
        None, stderr) when rc is one of `accept`; otherwise fails the task with Dom0Kit's
        message. Dom0Kit prints its report on stdout (JSON) and its error on stderr."""
        command = [self.path] + list(arguments) + ['--json', '--root', self.root]
        rc, stdout, stderr = self.module.run_command(command)
        document = None
        if stdout.strip():
            try:
                document = json.loads(stdout)
            except ValueError:
                self.module.fail_json(
                    msg='%s printed something that is not JSON: is binary a Dom0Kit '
                        'host-prepare?' % self.path,
                    rc=rc, cmd=command, stdout=stdout, stderr=stderr)
        if rc not in accept:
            self.fail(command, rc, document, stderr)
        return rc, document, stderr

    def fail(self, command, rc, document, stderr):
        """Fails the task with what Dom0Kit said: its error names what, where and the fix."""
        result = dict(rc=rc, cmd=command, stderr=stderr, outcome=MEANING.get(rc, 'exit %d' % rc))
        if document is not None:
            result['report'] = snake(document)
            # Steps done before the one that failed did change the host.
            result['changed'] = bool(isinstance(document, dict) and document.get('apply', {}).get('done'))
        # A failed apply step's report says which step and why; otherwise stderr has the error.
        failure = document.get('error') if isinstance(document, dict) else None
        text = one_line(failure) if failure else message(stderr, rc)
        for path, name in self.names.items():
            text = re.sub(re.escape(path) + r'(:\d+)?', name, text)
        self.module.fail_json(msg=text, **result)

    def version(self):
        rc, stdout, stderr = self.module.run_command([self.path, '--version'])
        return stdout.strip() if rc == DONE else None


def one_line(text):
    """A Dom0Kit message ('WHAT: WHERE' and an indented 'fix: HOW' line) as one line."""
    return '; '.join(line.strip() for line in text.splitlines() if line.strip())


def message(stderr, rc):
    """Dom0Kit's error on stderr as one line: 'WHAT: WHERE; fix: HOW', from the last line that
    starts 'TOOL: error: ' (warnings before it stay in the task's stderr), the prefix dropped."""
    errors = list(re.finditer(r'^[\w-]+: error: ', stderr, re.MULTILINE))
    text = stderr[errors[-1].end():] if errors else stderr
    if not text.strip():
        return 'host-prepare %s (exit %d) without saying why' % (MEANING.get(rc, 'ended'), rc)
    return one_line(text)
