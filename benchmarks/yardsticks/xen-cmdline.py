#!/usr/bin/python3
"""The yardstick for xen-cmdline: what XenServer's Python tool does for one operation, and no more.

It reads grub.cfg, finds the default entry's `multiboot2` (Xen) and first `module2` (dom0) lines,
and prints or replaces arguments; a set writes a temporary file and renames it over grub.cfg.
No checks, no grub-script-check, no other entries: a lower bound on the reference's cost, so
the ratio against it understates Dom0Kit's lead rather than flattering it.

  xen-cmdline.py ROOT (--get-xen|--get-dom0|--set-xen|--set-dom0|--delete-xen|--delete-dom0) ARG...
"""
import os
import re
import sys


def main(root, flag, arguments):
    path = os.path.join(root, 'boot/grub/grub.cfg')
    with open(path) as f:
        lines = f.read().split('\n')
    default = 0
    entries = []
    for number, line in enumerate(lines):
        match = re.match(r'\s*set default=(\d+)\s*$', line)
        if match and not entries:
            default = int(match.group(1))
        if re.match(r'\s*menuentry\s', line):
            entries.append(number)
    start = entries[default]
    end = entries[default + 1] if default + 1 < len(entries) else len(lines)
    xen = next(n for n in range(start, end) if re.match(r'\s*multiboot2\s', lines[n]))
    dom0 = next(n for n in range(xen + 1, end) if re.match(r'\s*module2\s', lines[n]))
    number = xen if flag.endswith('-xen') else dom0
    indent = re.match(r'\s*', lines[number]).group(0)
    command, path_word, *words = lines[number].split()
    keys = [argument.split('=', 1)[0] for argument in arguments]

    def matches(word, key):
        return word == key or word.startswith(key + '=')

    if flag.startswith('--get'):
        for key in keys:
            for word in words:
                if matches(word, key):
                    print(word)
        return
    kept = [word for word in words if not any(matches(word, key) for key in keys)]
    if flag.startswith('--set'):
        kept += arguments
    lines[number] = indent + ' '.join([command, path_word] + kept)
    temporary = path + '.new'
    with open(temporary, 'w') as f:
        f.write('\n'.join(lines))
    os.rename(temporary, path)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
