"""Preloaded by the fork server of the batch renderer's process pool, and by nothing else.

Importing this module loads the certificate font (reportlab's registration and the character
map): the fork server imports it once, and every worker forked from it starts with the font in
memory instead of reading 20 MB and parsing it again (about a second per worker). The app and
the CLI never import it, so nothing else runs at import time.
"""

from __future__ import annotations

import gc

from certsvc.render.typeface import certificate_font

certificate_font()
# The font's tables are millions of objects: keep the collector of each forked worker off
# them, or its first collection touches (and so copies) every page the fork server holds.
gc.freeze()
