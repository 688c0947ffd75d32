#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Dom0Kit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: facts
short_description: Gather a Xen host's passthrough health, boot status and packs as facts
description:
  - Sets C(ansible_facts.dom0kit) from Dom0Kit on the managed host - the passthrough health
    checks (C(host-prepare health), the same checks as C(pciback-agent health)), whether the
    configured boot command lines differ from the running ones (C(host-prepare boot status)),
    and the installed supplemental packs (C(host-prepare pack list)).
  - A FAIL among the health checks is a fact, not a task failure - assert on
    C(ansible_facts.dom0kit.health.failed) where a play must stop.
version_added: 0.1.0
author: Dom0Kit (@dom0kit)
extends_documentation_fragment:
  - dom0kit.xen.host_prepare
options: {}
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Changes nothing, so has nothing to show.
  facts:
    support: full
    description: Sets C(ansible_facts.dom0kit).
seealso:
  - module: dom0kit.xen.host
'''

EXAMPLES = r'''
- name: Gather Dom0Kit facts
  dom0kit.xen.facts:

- name: Stop when a passthrough check fails
  ansible.builtin.assert:
    that: ansible_facts.dom0kit.health.failed == 0
    fail_msg: "{{ ansible_facts.dom0kit.health.checks | selectattr('status', 'eq', 'FAIL') | list }}"

- name: Hosts that wait for a reboot
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} boots into a new command line at its next reboot"
  when: ansible_facts.dom0kit.boot.reboot_needed
'''

RETURN = r'''
ansible_facts:
  description: Facts about Dom0Kit on the host.
  returned: always
  type: complex
  contains:
    dom0kit:
      description: Dom0Kit's view of the host.
      returned: always
      type: complex
      contains:
        version:
          description: C(host-prepare --version).
          type: str
          sample: 0.1.0
        health:
          description: The passthrough health checks.
          type: complex
          contains:
            checks:
              description: Each check - C(what), C(status) (PASS, WARN or FAIL) and a C(hint).
              type: list
              elements: dict
              sample: [{what: IOMMU, status: PASS, hint: "enabled (Intel VT-d)"}]
            passed:
              description: How many checks passed.
              type: int
            warned:
              description: How many checks warned.
              type: int
            failed:
              description: How many checks failed.
              type: int
        boot:
          description: The boot command lines, configured against running.
          type: complex
          contains:
            reboot_needed:
              description: Whether the configured command lines differ from the running ones.
              type: bool
            lines:
              description:
                - Per line (C(xen), C(dom0)) - C(configured), C(running) where known, C(pending)
                  (configured, not yet running), C(stale) (running, no longer configured) and
                  C(source) (where the running line was read).
              type: list
              elements: dict
            devices:
              description:
                - Each device of the configured or running C(xen-pciback.hide), with C(dom0_access)
                  in XAPI's words (C(PCI.get_dom0_access_status)) - C(enabled), C(disable_on_reboot),
                  C(disabled) or C(enable_on_reboot); empty when the running line cannot be read.
              type: list
              elements: dict
              sample: [{device: "0000:04:00.0", dom0_access: disable_on_reboot}]
            xapi_cannot_read:
              description:
                - Hide-list entries XAPI cannot read (it reads only C((DDDD:BB:DD.F)) and then fails
                  for every device), such as the short C((04:00.0)).
              type: list
              elements: str
        packs:
          description: The installed supplemental packs - identity, version, kind, packages.
          type: list
          elements: dict
          sample: [{identity: "dom0kit:demo-tools", version: 1.0.0, kind: legacy}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dom0kit.xen.plugins.module_utils.dom0kit import (
    DONE, FAILED, HostPrepare, common_argument_spec, snake)


def health(host_prepare):
    # host-prepare health exits 1 when a check FAILs and still prints every check.
    rc, envelope = host_prepare.run(['health'], accept=(DONE, FAILED), keys=('results',))
    checks = snake(envelope['report']['results'])
    count = dict((status, sum(1 for check in checks if check['status'] == status))
                 for status in ('PASS', 'WARN', 'FAIL'))
    return dict(checks=checks, passed=count['PASS'], warned=count['WARN'], failed=count['FAIL'])


def main():
    module = AnsibleModule(argument_spec=common_argument_spec(), supports_check_mode=True)
    host_prepare = HostPrepare(module)
    rc, boot = host_prepare.run(['boot', 'status'])
    rc, packs = host_prepare.run(['pack', 'list'], shape=list, keys=('identity',))
    facts = dict(
        version=host_prepare.version(),
        health=health(host_prepare),
        boot=snake(boot['report']),
        packs=snake(packs['report']),
    )
    module.exit_json(changed=False, ansible_facts=dict(dom0kit=facts))


if __name__ == '__main__':
    main()
