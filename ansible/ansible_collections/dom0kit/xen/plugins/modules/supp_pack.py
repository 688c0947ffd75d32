#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Dom0Kit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: supp_pack
short_description: Install or remove a supplemental pack (driver ISO) with Dom0Kit
description:
  - Installs a supplemental pack - an ISO (or its unpacked directory) in the XenServer / XCP-ng
    layout, legacy or yum repository - with Dom0Kit's C(host-prepare pack), which verifies
    every package's size and checksum before it installs, and records the pack as the host's
    own tools do (C(/etc/xensource/installed-repos)).
  - Idempotent - a pack whose version is already installed is C(ok), not C(changed); an older
    installed version is upgraded; a newer installed version is refused, and the task fails.
  - With I(state=absent), erases the pack's packages and its record when it is installed.
version_added: 0.1.0
author: Dom0Kit (@dom0kit)
extends_documentation_fragment:
  - dom0kit.xen.host_prepare
options:
  path:
    description:
      - The pack on the managed host - an ISO file or a directory.
      - Required with I(state=present). With I(state=absent), names the packs to remove by the
        identity the medium declares.
    type: path
  name:
    description:
      - The pack's identity, C(ORIGINATOR:NAME) (as C(host-prepare pack list) shows it), to
        remove without the medium at hand. Only with I(state=absent).
    type: str
  state:
    description:
      - C(present) installs the pack unless its version is installed; C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  accept_eula:
    description:
      - Accept the licence of a pack that carries one. Without it such a pack is refused.
    type: bool
    default: false
  product:
    description:
      - The host's product as C(NAME:VERSION), instead of reading it from the host, for a pack
        that requires one.
    type: str
attributes:
  check_mode:
    support: full
    description: Verifies the pack and reports what would be installed or removed.
  diff_mode:
    support: full
    description: The pack record's files, as unified diffs, when a pack is removed.
seealso:
  - module: dom0kit.xen.host
  - module: dom0kit.xen.facts
'''

EXAMPLES = r'''
- name: Install the NIC driver pack (ok when this version is installed)
  dom0kit.xen.supp_pack:
    path: /var/tmp/driver-ixgbe-5.9.4.iso

- name: Install a pack with a licence
  dom0kit.xen.supp_pack:
    path: /var/tmp/vendor-tools.iso
    accept_eula: true

- name: Remove a pack by its identity
  dom0kit.xen.supp_pack:
    name: "xs:driver-ixgbe"
    state: absent
'''

RETURN = r'''
packs:
  description: The repositories on the medium (with I(path)) - identity, version, kind, packages.
  returned: when path is given
  type: list
  elements: dict
  sample:
    - originator: dom0kit
      name: demo-tools
      version: 1.0.0
      kind: legacy
      packages: []
changes:
  description: The steps done (or, in check mode, planned), each with module, kind and summary.
  returned: always
  type: list
  elements: dict
  sample:
    - module: packs
      kind: installPack
      summary: install dom0kit:demo-tools 1.0.0
next:
  description:
    - What the pack asks of the operator after installing it, such as a reboot to load a driver
      (the pack's own guidance, as C(host-prepare pack install) prints it).
  returned: when a pack was installed (or, in check mode, would be)
  type: list
  elements: str
  sample: ["reboot the host to load the new driver"]
removed:
  description: The identities removed (or, in check mode, that would be).
  returned: state is absent
  type: list
  elements: str
  sample: ["dom0kit:demo-tools"]
msg:
  description: Why nothing changed, in Dom0Kit's words, when the pack was already installed.
  returned: when the pack was already installed
  type: str
  sample: "dom0kit:demo-tools 1.0.0 is already installed: /var/tmp/demo.iso; fix: nothing to do"
'''

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dom0kit.xen.plugins.module_utils.dom0kit import (
    ALREADY_INSTALLED, DONE, HostPrepare, common_argument_spec, prepared_diffs, sentence, snake)


# ORIGINATOR:NAME, each part as Dom0Kit reads a pack's identity (PackReader.identityField):
# letters, digits and ._+~-, not starting with '.', at most 128.
IDENTITY = re.compile(r'\A(?!\.)[A-Za-z0-9._+~-]{1,128}:(?!\.)[A-Za-z0-9._+~-]{1,128}\Z')


def steps(envelope):
    """The changes of a pack install or remove: those applied, or in check mode those planned."""
    if envelope.get('apply'):
        return envelope['apply']['done']
    return (envelope.get('plan') or {}).get('changes', [])


def medium(host_prepare, path):
    """The repositories a pack medium declares (metadata only; nothing is copied)."""
    rc, envelope = host_prepare.run(['pack', 'info', path], shape=list, keys=('originator', 'name'))
    return envelope['report']


def present(module, host_prepare):
    arguments = ['pack', 'install', module.params['path']]
    if module.params['accept_eula']:
        arguments.append('--accept-eula')
    if module.params['product']:
        arguments += ['--product', module.params['product']]
    if module.check_mode:
        arguments.append('--dry-run')
    rc, envelope = host_prepare.run(arguments, accept=(DONE, ALREADY_INSTALLED), keys=('packs', 'next'),
                                    report_on=(DONE,))
    if rc == ALREADY_INSTALLED:
        return dict(changed=False, changes=[], packs=snake(medium(host_prepare, module.params['path'])),
                    msg=sentence(envelope['error']))
    changes = steps(envelope)
    return dict(changed=True, changes=snake(changes), packs=snake(envelope['report']['packs']),
                next=envelope['report']['next'], diff=prepared_diffs(changes))


def absent(module, host_prepare):
    packs = []
    if module.params['path']:
        packs = medium(host_prepare, module.params['path'])
        identities = ['%s:%s' % (pack['originator'], pack['name']) for pack in packs]
    else:
        if not IDENTITY.match(module.params['name']):
            module.fail_json(msg='name: %r is not a pack identity; fix: write ORIGINATOR:NAME as '
                                 'host-prepare pack list shows it (e.g. xs:driver-ixgbe)' % module.params['name'])
        identities = [module.params['name']]
    rc, listed = host_prepare.run(['pack', 'list'], shape=list, keys=('identity',))
    installed = set(pack['identity'] for pack in listed['report'])

    removed, changes = [], []
    for identity in identities:
        if identity not in installed:
            continue
        arguments = ['pack', 'remove', identity] + (['--dry-run'] if module.check_mode else [])
        rc, envelope = host_prepare.run(arguments, field='plan', keys=('changes',))
        removed.append(identity)
        changes += steps(envelope)
    return dict(changed=bool(removed), removed=removed, changes=snake(changes), packs=snake(packs),
                diff=prepared_diffs(changes))


def main():
    argument_spec = common_argument_spec()
    argument_spec.update(
        path=dict(type='path'),
        name=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        accept_eula=dict(type='bool', default=False),
        product=dict(type='str'),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[('state', 'present', ('path',))],
        required_one_of=[('path', 'name')],
        mutually_exclusive=[('path', 'name')],
        supports_check_mode=True,
    )
    host_prepare = HostPrepare(module)
    result = present(module, host_prepare) if module.params['state'] == 'present' else absent(module, host_prepare)
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
