#!/usr/bin/python3
"""man-examples.py - the EXAMPLES of an mdoc page as shell commands.

In each literal display (.Bd -literal ... .Ed) of the EXAMPLES section,
every line that starts with "$ " is a command, continued on the next line
while a line ends in a backslash or a pipe; other lines are the output
shown to the reader and are not checked.  A line "# exits N" before a
command gives its expected status (default 0).  Prints one command per
record, "STATUS<TAB>COMMAND", each ended by a NUL, mdoc escapes undone.
"""
import re
import sys


def unescape(s):
    s = s.replace("\\e", "\\").replace("\\-", "-").replace("\\(aq", "'")
    s = s.replace("\\(dq", '"').replace("\\(ti", "~").replace("\\(ha", "^")
    s = s.replace("\\(ga", "`").replace("\\&", "").replace("\\ ", " ")
    return s


def main(path):
    section = None
    display = None
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith(".Sh "):
            section = line[4:].strip().strip('"')
            continue
        if section != "EXAMPLES":
            continue
        if line.startswith(".Bd") and "-literal" in line:
            display = []
            continue
        if line.startswith(".Ed") and display is not None:
            status, cmd = 0, None
            for d in display:
                m = re.match(r"#\s*exits\s+(\d+)", d)
                if m:
                    status = int(m.group(1))
                elif cmd is not None and (cmd[-1].endswith("\\") or cmd[-1].endswith("|")):
                    cmd.append(d)
                    continue
                elif d.startswith("$ "):
                    if cmd is not None:
                        out.append(f"{status}\t" + "\n".join(cmd))
                        status = 0
                    cmd = [d[2:]]
                    continue
                if cmd is not None:
                    out.append(f"{status}\t" + "\n".join(cmd))
                    status, cmd = 0, None
            if cmd is not None:
                out.append(f"{status}\t" + "\n".join(cmd))
            display = None
            continue
        if display is not None:
            display.append(unescape(line))
    sys.stdout.write("".join(o + "\0" for o in out))


if __name__ == "__main__":
    main(sys.argv[1])
