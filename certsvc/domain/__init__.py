"""Pure domain rules of certsvc: no Flask, no database, no I/O beyond the shipped catalogue.

Submodules, each one concern:

- :mod:`.provinces` — GB/T 2260 province codes (省级行政区划代码).
- :mod:`.ids` — identity documents: 居民身份证 (resident identity card) check characters,
  other ID types, masking.
- :mod:`.uscc` — 统一社会信用代码 (unified social credit code, GB 32100-2015).
- :mod:`.levels` — the eight skill levels of the 新八级工 (2022 "new eight-grade worker") system.
- :mod:`.numbers` — certificate numbers per 《职业技能等级证书编码规则(试行)》.
- :mod:`.occupations` — 国家职业分类大典 (national occupation classification) codes and the
  shipped catalogue.
- :mod:`.routes` — regular assessment vs. direct certification (直接认定) and its grounds.

Import what you need from the submodule; this package re-exports nothing.
"""
