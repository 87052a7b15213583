"""China Standard Time: the calendar certificates are dated in and people read times in.

UTC+8 all year (no daylight saving since 1991), so a fixed offset is exact for every date
certsvc handles and needs no time-zone database.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["CHINA", "china_today"]

#: China Standard Time (北京时间). Its name is what ``%Z`` prints.
CHINA = dt.timezone(dt.timedelta(hours=8), "UTC+8")


def china_today() -> dt.date:
    """Today's date in China: the default issue date, and the limit no issue date may pass."""
    return dt.datetime.now(CHINA).date()
