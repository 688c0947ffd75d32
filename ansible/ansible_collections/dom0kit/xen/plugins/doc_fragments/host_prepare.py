# -*- coding: utf-8 -*-
# Copyright: Dom0Kit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The options and requirements of every module that runs host-prepare
    # (module_utils/dom0kit.py: common_argument_spec and HostPrepare).
    DOCUMENTATION = r'''
requirements:
  - Dom0Kit's C(host-prepare) on the managed host (the supplemental pack, the .deb or the .rpm).
  - Python 3.6 or newer on the managed host.
options:
  root:
    description:
      - The host tree to work on, as an absolute path. C(/) is the managed host itself; another
        directory is a host tree under it (an image being built, or a test tree). A relative path
        is refused (it would be taken from the module's working directory), and so is one that
        leads to C(/) by another name.
    type: path
    default: /
  binary:
    description:
      - The C(host-prepare) to run. By default the one found in C(PATH). It must be an
        executable file; output that is not its JSON report fails the task.
    type: path
'''
