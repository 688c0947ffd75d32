#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Dom0Kit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: host
short_description: Make a Xen host as a Dom0Kit host spec says
description:
  - Runs Dom0Kit's C(host-prepare) on the managed host with a host spec - disk layout,
    supplemental packs, the Xen and dom0 boot command lines, control.slice, pciback-agent and
    the devices it binds.
  - In check mode runs C(host-prepare plan) and returns the plan without changing anything;
    otherwise runs C(host-prepare apply), which plans, applies step by step and finishes an
    apply that a crash cut short.
  - C(changed) is true exactly when the plan had changes. With C(--diff) every file change is
    shown as a unified diff.
  - A spec that Dom0Kit refuses (exit 2, nothing changed) or a step that fails (exit 1, the host
    is as far as the report says) fails the task with Dom0Kit's own message, which names what,
    where and the fix.
  - Changes to the boot command lines take effect at the next boot; C(needs_reboot) says so,
    for M(ansible.builtin.reboot).
version_added: 0.1.0
author: Dom0Kit (@dom0kit)
extends_documentation_fragment:
  - dom0kit.xen.host_prepare
options:
  spec:
    description:
      - The host spec, inline, as the keys of a Dom0Kit host spec file (C(disk), C(packs),
        C(boot), C(dom0), C(control_slice), C(agent), C(devices)); see C(installer/examples/) in Dom0Kit.
      - Paths in it are paths on the managed host.
      - Exactly one of I(spec) and I(spec_path) is required.
    type: dict
  spec_path:
    description:
      - A host spec file (YAML or JSON) on the managed host, such as C(/etc/dom0kit/host.yaml).
    type: path
attributes:
  check_mode:
    support: full
    description: Returns the plan; changes nothing.
  diff_mode:
    support: full
    description: Each changed file as a unified diff, relative to I(root).
notes:
  - The spec is validated by Dom0Kit itself; an unknown key or a bad value fails the task with
    the spec's key path and what to write instead.
seealso:
  - module: dom0kit.xen.facts
  - module: dom0kit.xen.supp_pack
  - module: ansible.builtin.reboot
'''

EXAMPLES = r'''
- name: Prepare the host from an inline spec
  dom0kit.xen.host:
    spec:
      boot:
        iommu: "on"
        dom0_mem: {min: 4096M, max: 4096M}
        hide:
          - bdf: "0000:04:00.0"
            note: NIC for a guest
      control_slice:
        weight: 1000
      devices:
        rules:
          - 0000:04:00.0 pciback
  register: prepared

- name: Reboot when the boot command line changed
  ansible.builtin.reboot:
  when: prepared.needs_reboot

- name: Apply the spec file that first boot applies
  dom0kit.xen.host:
    spec_path: /etc/dom0kit/host.yaml

- name: Is the host as the spec says? (plan only; fails nothing, changes nothing)
  dom0kit.xen.host:
    spec_path: /etc/dom0kit/host.yaml
  check_mode: true
  register: drift
'''

RETURN = r'''
needs_reboot:
  description: Whether a change takes effect only at the next boot (a boot command line).
  returned: success
  type: bool
  sample: true
changes:
  description:
    - The changes planned (check mode) or applied, in order, each with its module (the spec section), kind and
      summary; a file change also has its path and diff.
  returned: success
  type: list
  elements: dict
  sample:
    - module: control_slice
      kind: replaceFile
      path: /etc/systemd/system/control.slice
      summary: the slice unit
      diff: "--- a/etc/systemd/system/control.slice\n+++ b/etc/systemd/system/control.slice\n..."
plan:
  description:
    - The plan module by module, as C(host-prepare plan --json) prints it with keys in
      snake_case - each section has C(module), C(notes) (such as a pack already installed) and
      C(plan.changes).
  returned: success
  type: dict
  sample:
    empty: false
    needs_reboot: true
    sections:
      - module: boot
        notes: []
        plan: {changes: []}
report:
  description: On failure, the apply report - what was done and what was not.
  returned: when a step failed
  type: dict
outcome:
  description: On failure, what host-prepare's exit status says - C(refused) or C(failed).
  returned: failure
  type: str
  sample: refused
rc:
  description: On failure, host-prepare's exit status.
  returned: failure
  type: int
  sample: 2
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dom0kit.xen.plugins.module_utils.dom0kit import (
    HostPrepare, common_argument_spec, plan_changes, prepared_diffs, snake)


def spec_file(module, host_prepare):
    """The spec as a file host-prepare reads: spec_path as given, or the inline spec written as
    JSON (which host-prepare reads as YAML) into the module's private temporary directory."""
    if module.params['spec_path']:
        return module.params['spec_path']
    path = os.path.join(module.tmpdir, 'host-spec.json')
    with open(path, 'w') as spec:
        json.dump(module.params['spec'], spec, indent=2, sort_keys=True)
    host_prepare.names[path] = 'the inline spec'
    return path


def main():
    argument_spec = common_argument_spec()
    argument_spec.update(
        spec=dict(type='dict'),
        spec_path=dict(type='path'),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('spec', 'spec_path')],
        required_one_of=[('spec', 'spec_path')],
        supports_check_mode=True,
    )
    host_prepare = HostPrepare(module)
    spec = spec_file(module, host_prepare)

    if module.check_mode:
        rc, envelope = host_prepare.run(['plan', spec], field='plan', keys=('needsReboot', 'sections'))
        plan = envelope['plan']
        changes = plan_changes(plan)
        needs_reboot = plan['needsReboot']
    else:
        rc, envelope = host_prepare.run(['apply', spec], keys=('needsReboot',))
        plan = envelope['plan']
        changes = (envelope.get('apply') or {}).get('done', [])
        needs_reboot = envelope['report']['needsReboot']

    result = dict(
        changed=bool(changes),
        needs_reboot=needs_reboot,
        changes=snake(changes),
        plan=snake(plan),
    )
    if module._diff:
        result['diff'] = prepared_diffs(changes)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
