"""Province-level codes of GB/T 2260 (中华人民共和国行政区划代码), first two digits.

The same two digits open a 居民身份证 (resident identity card) number, a 统一社会信用代码
area part and the province field of a certificate number.

新疆生产建设兵团 (Xinjiang Production and Construction Corps) has no GB/T 2260 province code;
人社 (human-resources) systems commonly use ``66`` for it, but that is not confirmed, so it is
not in :data:`PROVINCES`. Callers pass it from configuration as ``extra``, e.g.
``{"66": "新疆生产建设兵团"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from certsvc.errors import InvalidInput
from certsvc.i18n import N_

PROVINCES: Mapping[str, str] = MappingProxyType(
    {
        "11": "北京市",
        "12": "天津市",
        "13": "河北省",
        "14": "山西省",
        "15": "内蒙古自治区",
        "21": "辽宁省",
        "22": "吉林省",
        "23": "黑龙江省",
        "31": "上海市",
        "32": "江苏省",
        "33": "浙江省",
        "34": "安徽省",
        "35": "福建省",
        "36": "江西省",
        "37": "山东省",
        "41": "河南省",
        "42": "湖北省",
        "43": "湖南省",
        "44": "广东省",
        "45": "广西壮族自治区",
        "46": "海南省",
        "50": "重庆市",
        "51": "四川省",
        "52": "贵州省",
        "53": "云南省",
        "54": "西藏自治区",
        "61": "陕西省",
        "62": "甘肃省",
        "63": "青海省",
        "64": "宁夏回族自治区",
        "65": "新疆维吾尔自治区",
        "71": "台湾省",
        "81": "香港特别行政区",
        "82": "澳门特别行政区",
    }
)
"""GB/T 2260 two-digit province code -> Chinese name (34 entries incl. 71, 81, 82)."""


def _lookup(code: str, extra: Mapping[str, str] | None) -> str | None:
    name = PROVINCES.get(code)
    if name is None and extra:
        name = extra.get(code)
    return name


def check_province(code: str, extra: Mapping[str, str] | None = None) -> str:
    """Return ``code`` if it is a known two-digit province code, else raise InvalidInput.

    ``extra`` adds configured codes that GB/T 2260 lacks (新疆生产建设兵团).
    """
    if len(code) != 2 or not code.isascii() or not code.isdigit():
        raise InvalidInput(
            N_(
                "province code {code} must be two digits (GB/T 2260), e.g. 11 for 北京, 32 for 江苏"
            ),
            code=repr(code),
        )
    if _lookup(code, extra) is None:
        known = ", ".join(sorted({*PROVINCES, *(extra or {})}))
        raise InvalidInput(
            N_("province code {code} is not a GB/T 2260 province; use one of {known}"),
            code=code,
            known=known,
        )
    return code


def province_name(code: str, extra: Mapping[str, str] | None = None) -> str:
    """Chinese name of a province code, e.g. ``"32"`` -> ``"江苏省"``; InvalidInput if unknown."""
    check_province(code, extra)
    name = _lookup(code, extra)
    assert name is not None  # check_province guarantees it
    return name
