"""The fixed choices a results file offers, taken from the domain (one place for each rule)."""

from __future__ import annotations

from certsvc.domain.ids import IdType
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.routes import DirectGround, Route


def template_choices() -> dict[str, list[str]]:
    """Drop-down lists for the XLSX template, keyed by column key."""
    return {
        "id_type": [t.label_zh for t in IdType],
        "level": [lv.printed_zh for lv in CERTIFIED_LEVELS],
        "route": [r.label_zh for r in Route],
        "direct_ground": [g.label_zh for g in DirectGround],
    }
