# -*- coding: utf-8 -*-
# Copyright: Dom0Kit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every dom0kit.xen module shares: finding host-prepare on the managed host, running it
with --json, and turning its answers into Ansible's (snake_case results, diffs, Dom0Kit's own
error message). The modules run on the managed host's Python: standard library only, 3.6+."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
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
        # A relative root would be taken from the module's working directory on the managed
        # host, which nobody chose: '../../..' from there is the host itself.
        if not os.path.isabs(self.root):
            module.fail_json(msg='root: %r is not an absolute path; fix: give the host tree as an absolute '
                                 'path, or / for the managed host itself' % self.root)
        binary = module.params['binary']
        if binary and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            module.fail_json(msg='binary: %s is not an executable file on this host; fix: give the path of '
                                 "Dom0Kit's host-prepare, or leave binary out to find it in PATH" % binary)
        self.path = binary or module.get_bin_path('host-prepare')
        if not self.path:
            module.fail_json(
                msg='host-prepare is not installed on this host (not found in PATH): install '
                    'Dom0Kit (the supplemental pack on XCP-ng/XenServer, the .deb or the .rpm), '
                    'or give its path as binary')

    def run(self, arguments, accept=(DONE,), shape=dict, keys=(), report_on=None):
        """Runs host-prepare ARGUMENTS --json --root ROOT. Returns (rc, the JSON document,
        stderr) when rc is one of `accept`; otherwise fails the task with Dom0Kit's message.
        Dom0Kit prints its report on stdout (JSON) and its error on stderr. For an rc in
        `report_on` (by default every accepted one) the report must be there, of `shape` (dict,
        or list of dicts) with `keys` (in each item of a list): a module never reads success
        from output it could not read."""
        command = [self.path] + list(arguments) + ['--json', '--root', self.root]
        rc, stdout, stderr = self.module.run_command(command)
        document = None
        if stdout.strip():
            try:
                document = json.loads(stdout)
            except ValueError:
                self.not_a_report(command, rc, stdout, stderr, 'printed something that is not JSON')
        if rc not in accept:
            self.fail(command, rc, document, stderr)
        if rc in (accept if report_on is None else report_on) and not is_report(document, shape, keys):
            self.not_a_report(command, rc, stdout, stderr,
                              'printed no JSON report' if document is None else 'printed JSON that is not its report')
        return rc, document, stderr

    def not_a_report(self, command, rc, stdout, stderr, what):
        self.module.fail_json(
            msg='%s %s (exit %d) for %s: is binary a Dom0Kit host-prepare? fix: check it with '
                '"%s --version"' % (self.path, what, rc, ' '.join(command[1:]), self.path),
            rc=rc, cmd=command, stdout=stdout, stderr=stderr)

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


def is_report(document, shape, keys):
    """Whether DOCUMENT is a SHAPE (dict, or list of dicts) holding KEYS (in each item)."""
    items = [document] if shape is dict else document if isinstance(document, list) else None
    return (isinstance(document, shape) and items is not None
            and all(isinstance(item, dict) and all(key in item for key in keys) for item in items))


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
