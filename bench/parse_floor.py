"""The parse floor: the least any tool must spend to read a corpus, run as its own process.

    python bench/parse_floor.py LIST   # LIST: one file per line

Every Terraform file once through python-hcl2 (``hcl2.loads``) and every YAML file once
through PyYAML's C loader: an interpreter, its imports and the bare parses, nothing else.
Chart templates are not YAML until rendered, so the caller lists values files, Chart.yaml
and manifests only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hcl2
import yaml


def main(listing: str) -> int:
    for line in Path(listing).read_text().splitlines():
        path = Path(line)
        text = path.read_text(encoding="utf-8")
        if path.name.endswith((".tf", ".tfvars")):
            hcl2.loads(text)
        elif path.name.endswith((".yaml", ".yml")):
            list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
