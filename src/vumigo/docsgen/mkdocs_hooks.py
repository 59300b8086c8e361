"""MkDocs hooks of the docs site (``hooks:`` in mkdocs.yml): what mkdocs.yml cannot say.

- Diagrams: Material draws ``mermaid`` blocks with the mermaid library, which it would fetch
  from a CDN. The platform serves nothing from one (and its Content-Security-Policy would block
  it), so the library is taken from ``node_modules/mermaid`` when it is installed there and
  served with the site; without it a diagram shows as its source text, which still reads.
- Pages written by other parts of the project that may not exist yet in a checkout are left
  out of the navigation instead of failing the strict build.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.vumigo")

MERMAID = Path("mermaid") / "dist" / "mermaid.min.js"
MERMAID_URL = "assets/vendor/mermaid.min.js"
#: Pages of the navigation that may be missing from a checkout without it being a mistake.
OPTIONAL_PAGES = frozenset({"benchmarks.md"})


def find_mermaid(root: Path) -> Path | None:
    """mermaid.min.js in ``VUMIGO_NODE_MODULES`` or the checkout's node_modules, if there."""
    folders = (
        [Path(os.environ["VUMIGO_NODE_MODULES"])] if "VUMIGO_NODE_MODULES" in os.environ else []
    )
    folders.append(root / "node_modules")
    for folder in folders:
        if (folder / MERMAID).is_file():
            return folder / MERMAID
    return None


def _prune(nav: Any, docs_dir: Path) -> Any:
    if isinstance(nav, list):
        return [item for item in (_prune(entry, docs_dir) for entry in nav) if item is not None]
    if isinstance(nav, dict):
        pruned = {title: _prune(item, docs_dir) for title, item in nav.items()}
        return {title: item for title, item in pruned.items() if item is not None} or None
    if isinstance(nav, str) and nav in OPTIONAL_PAGES and not (docs_dir / nav).is_file():
        log.info("%s is not in this checkout; left out of the navigation", nav)
        return None
    return nav


def on_config(config: Any) -> Any:
    root = Path(config["config_file_path"]).resolve().parent
    config["nav"] = _prune(config["nav"], Path(config["docs_dir"]))
    if find_mermaid(root) is not None:
        config["extra_javascript"].append(MERMAID_URL)
    return config


def on_post_build(config: Any) -> None:
    mermaid = find_mermaid(Path(config["config_file_path"]).resolve().parent)
    if mermaid is not None:
        target = Path(config["site_dir"]) / MERMAID_URL
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mermaid, target)
