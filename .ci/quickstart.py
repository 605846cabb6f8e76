"""Print the two commands of the README's Quick start block, one per line; fail loudly otherwise."""

import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"^#+\s*Quick start\s*$\s*```[a-z]*\n(.*?)```", text, flags=re.M | re.S)
if not m:
    sys.exit("ci: README has no 'Quick start' heading followed by a fenced code block")
commands = [line.strip() for line in m.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
if len(commands) != 2:
    sys.exit(f"ci: the Quick start block must hold exactly two commands, found {len(commands)}: {commands}")
print("\n".join(commands))
