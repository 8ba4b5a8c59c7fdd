"""Renaming of official checkpoint tensors to ours by name-prefix rules (ParsingNet, FishFSRNet, SPARNet)."""
from __future__ import annotations

import re

PrefixRules = tuple[tuple[re.Pattern, str], ...]


def rename_prefix(name: str, rules: PrefixRules) -> str | None:
    """Apply the first rule whose pattern matches the start of ``name``; ``None`` when none matches."""
    for pattern, replacement in rules:
        match = pattern.match(name)
        if match:
            return match.expand(replacement) + name[match.end():]
    return None
