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

# The JSON contract host-prepare --json speaks (docs/json.md).
SCHEMA = 'dom0kit/1'

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

    def run(self, arguments, accept=(DONE,), field='report', shape=dict, keys=(), report_on=None):
        """Runs host-prepare ARGUMENTS --json --root ROOT and returns (rc, envelope) when rc is one
        of `accept`; otherwise fails the task with Dom0Kit's error. Every outcome, a refusal
        too, is one JSON envelope on stdout (docs/json.md): {"schema": "dom0kit/1", "tool",
        "command", "status", "report", "plan", "apply", "error"}; stderr is for people and is
        never read. For an rc in `report_on` (by default every accepted one) the envelope's
        `field` must be a SHAPE (dict, or list of dicts) with `keys` (in each item of a list): a
        module never reads success from output it could not read."""
        command = [self.path] + list(arguments) + ['--json', '--root', self.root]
        rc, stdout, stderr = self.module.run_command(command)
        try:
            envelope = json.loads(stdout)
        except ValueError:
            self.not_a_report(command, rc, stdout, stderr,
                              'printed no JSON report' if not stdout.strip() else 'printed something that is not JSON')
        if not (isinstance(envelope, dict) and envelope.get('schema') == SCHEMA and envelope.get('status') == rc):
            self.not_a_report(command, rc, stdout, stderr, 'printed JSON that is not a %s envelope' % SCHEMA)
        if rc not in accept:
            self.fail(command, rc, envelope, stderr)
        if rc in (accept if report_on is None else report_on) and not is_report(envelope.get(field), shape, keys):
            self.not_a_report(command, rc, stdout, stderr, 'printed an envelope without its %s' % field)
        return rc, envelope

    def not_a_report(self, command, rc, stdout, stderr, what):
        self.module.fail_json(
            msg='%s %s (exit %d) for %s: is binary a Dom0Kit host-prepare? fix: check it with '
                '"%s --version"' % (self.path, what, rc, ' '.join(command[1:]), self.path),
            rc=rc, cmd=command, stdout=stdout, stderr=stderr)

    def fail(self, command, rc, envelope, stderr):
        """Fails the task with the envelope's error: what, where, why and the fix."""
        result = dict(rc=rc, cmd=command, stderr=stderr, outcome=MEANING.get(rc, 'exit %d' % rc),
                      report=snake(envelope))
        # Steps done before the one that failed did change the host.
        result['changed'] = bool((envelope.get('apply') or {}).get('done'))
        error = envelope.get('error')
        text = sentence(error) if isinstance(error, dict) else (
            'host-prepare %s (exit %d) without saying why' % (MEANING.get(rc, 'ended'), rc))
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


def sentence(error):
    """An envelope's error as one line, as Dom0Kit words it on stderr: 'WHAT: WHERE: WHY; fix: HOW'."""
    text = ': '.join(str(error[part]) for part in ('what', 'where', 'why') if error.get(part))
    if error.get('fix'):
        text += '; fix: %s' % error['fix']
    return ' '.join(text.split('\n'))
