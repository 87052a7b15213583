"""Console language: Chinese by default, English on request; both texts sit where they are used.

Templates write ``{{ tr("证书", "Certificates") }}``: the two forms side by side are easier to
keep in step than two catalogues for a few hundred short labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import g, has_request_context, session

from certsvc.domain.ids import IdType
from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.issuance.columns import COLUMNS_BY_KEY
from certsvc.verify import text as public_text

#: The console speaks the public pages' languages.
LANGUAGES = public_text.LANGUAGES
DEFAULT = public_text.DEFAULT_LANGUAGE


def language() -> str:
    """The session's language (``zh`` or ``en``)."""
    lang = session.get("lang", DEFAULT) if has_request_context() else DEFAULT
    return lang if lang in LANGUAGES else DEFAULT


def tr(zh: str, en: str) -> str:
    """The text in the request's language."""
    lang = g.get("lang") if has_request_context() else None
    return en if (lang or language()) == "en" else zh


def level_name(code: str) -> str:
    """A level as printed, e.g. 四级/中级工 or Level 4 / Intermediate Worker."""
    level = Level.from_code(code)
    return tr(level.printed_zh, level.printed_en)


def level_choices() -> list[tuple[str, str]]:
    return [(lv.code, tr(lv.printed_zh, lv.printed_en)) for lv in CERTIFIED_LEVELS]


def id_type_choices() -> list[tuple[str, str]]:
    return [(t.value, tr(t.label_zh, t.label_en)) for t in IdType]


def route_choices() -> list[tuple[str, str]]:
    return [(r.value, tr(r.label_zh, r.label_en)) for r in Route]


def route_name(code: str) -> str:
    """A certification route, e.g. 直接认定 / Direct certification for ``direct``."""
    route = Route(code)
    return tr(route.label_zh, route.label_en)


def ground_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(d.value, tr(d.label_zh, d.label_en)) for d in DirectGround]


def role_name(role: str) -> str:
    names = {
        "admin": ("管理员", "Admin"),
        "issuer": ("发证员", "Issuer"),
        "viewer": ("查看员", "Viewer"),
        "operator": ("平台运营", "Platform operator"),
        "registry_admin": ("联网查询令牌管理员", "Registry token admin"),
        "registry": ("联网查询系统", "Registry"),
    }
    zh, en = names.get(role, (role, role))
    return tr(zh, en)


def status_name(status: str) -> str:
    names = {
        "valid": ("有效", "Valid"),
        "revoked": ("已撤销", "Revoked"),
        "superseded": ("已更正替代", "Superseded"),
        "active": ("使用中", "Active"),
        "retired": ("已停用", "Retired"),
        "compromised": ("已泄露", "Compromised"),
        "suspended": ("已暂停", "Suspended"),
    }
    zh, en = names.get(status, (status, status))
    return tr(zh, en)


def _named(names: dict[str, tuple[str, str]], code: str) -> str:
    """The name of *code* in the request's language; an unknown code as it is (a test keeps
    every code the service writes in these tables)."""
    zh, en = names.get(code, (code, code))
    return tr(zh, en)


#: Certificate history events (``events.kind``), as the registry also receives them.
EVENT_NAMES: dict[str, tuple[str, str]] = {
    "issued": ("签发", "Issued"),
    "revoked": ("撤销", "Revoked"),
    "superseded": ("被更正替代", "Superseded by a correction"),
    "key_created": ("生成签名密钥", "Signing key created"),
    "key_rotated": ("轮换签名密钥", "Signing key rotated"),
    "key_compromised": ("标记密钥泄露", "Signing key marked compromised"),
    "body_created": ("登记评价机构", "Body registered"),
    "body_changed": ("评价机构信息变更", "Body changed"),
}

#: Audit log actions (``audit_log.action``), console, API and command line alike.
ACTION_NAMES: dict[str, tuple[str, str]] = {
    "login": ("登录", "Log-in"),
    "logout": ("退出登录", "Log-out"),
    "account.create": ("新建账号", "Account created"),
    "account.activate": ("激活账号", "Account activated"),
    "account.disable": ("停用账号", "Account disabled"),
    "account.enable": ("启用账号", "Account enabled"),
    "account.unlock": ("解锁账号", "Account unlocked"),
    "account.password": ("修改本人密码", "Own password changed"),
    "account.password_reset": ("重置他人密码", "Password reset"),
    "audit.export": ("导出审计日志", "Audit log exported"),
    "batch.issue": ("批量签发", "Batch issued"),
    "batch.export": ("导出证书清单", "Certificate list exported"),
    "batch.pdf": ("生成批次证书 PDF", "Batch PDFs made"),
    "body.create": ("登记评价机构", "Body registered"),
    "body.activate": ("恢复评价机构", "Body reactivated"),
    "body.suspend": ("暂停评价机构", "Body suspended"),
    "body.seal": ("更换机构印章", "Body seal replaced"),
    "body.photos": ("更改照片要求", "Photo requirement changed"),
    "certificate.view": ("查看证书", "Certificate viewed"),
    "certificate.pdf": ("下载证书 PDF", "Certificate PDF downloaded"),
    "certificate.revoke": ("撤销证书", "Certificate revoked"),
    "certificate.correct": ("更正证书", "Certificate corrected"),
    "denied": ("越权请求被拒绝", "Request refused: no permission"),
    "import.preview": ("上传并检查结果文件", "Results file checked"),
    "job.batch_zip": ("生成证书 PDF 打包（ZIP）", "Certificate PDFs (ZIP) started"),
    "job.batch_print": ("生成合并打印 PDF", "Merged print PDF started"),
    "job.stats_export": ("导出统计", "Statistics export started"),
    "job.download": ("下载任务结果", "Job result downloaded"),
    "key.rotate": ("轮换签名密钥", "Signing key rotated"),
    "key.compromise": ("标记密钥泄露", "Signing key marked compromised"),
    "log.rotate_key": ("轮换签发日志密钥", "Issuance log key rotated"),
    "member.add": ("添加成员企业", "Member enterprise added"),
    "member.end": ("截止成员资格", "Membership ended"),
    "occupations.import": ("导入职业目录", "Occupation catalogue imported"),
    "salts.seal": ("加密证件号码承诺盐值", "ID commitment salts sealed"),
    "scope.add": ("增加认定范围", "Scope added"),
    "scope.remove": ("移除认定范围", "Scope removed"),
    "token.create": ("新建 API 令牌", "API token created"),
    "token.revoke": ("吊销 API 令牌", "API token revoked"),
    "token.refused": ("拒绝无效的 API 令牌", "Unknown API token refused"),
}

#: How an audited action ended (``audit_log.outcome``).
OUTCOME_NAMES: dict[str, tuple[str, str]] = {
    "ok": ("成功", "Done"),
    "failed": ("失败", "Failed"),
    "rejected": ("未通过", "Rejected"),
    "replayed": ("重复提交", "Repeat, nothing new"),
    "unchanged": ("无变化", "Nothing changed"),
    "queued": ("已排队", "Queued"),
    "refused": ("已拒绝", "Refused"),
    "denied": ("无权限", "No permission"),
    "rate_limited": ("尝试过于频繁", "Too many attempts"),
    "locked": ("账号已锁定", "Account locked"),
    "disabled": ("账号已停用", "Account disabled"),
    "pending": ("账号待激活", "Account waiting for activation"),
}

#: Background jobs (``jobs.kind``) and their states (``jobs.state``).
JOB_KIND_NAMES: dict[str, tuple[str, str]] = {
    "batch_zip": ("证书 PDF 打包（ZIP）", "Certificate PDFs (ZIP)"),
    "batch_print": ("合并打印 PDF", "Merged print PDF"),
    "import": ("导入发证", "Import and issue"),
    "stats_export": ("统计导出", "Statistics export"),
}
JOB_STATE_NAMES: dict[str, tuple[str, str]] = {
    "queued": ("排队中", "Queued"),
    "running": ("进行中", "Running"),
    "succeeded": ("已完成", "Finished"),
    "failed": ("失败", "Failed"),
    "expired": ("结果已过期", "Result expired"),
}

#: Where a batch came from (``batches.source``).
BATCH_SOURCE_NAMES: dict[str, tuple[str, str]] = {
    "csv": ("上传 CSV 文件", "CSV file upload"),
    "xlsx": ("上传 Excel 文件", "Excel file upload"),
    "api": ("签发接口（API）", "Issuing API"),
    "console": ("控制台更正", "Correction in the console"),
}

#: The keys of an audit entry's detail, as labels.
DETAIL_LABELS: dict[str, tuple[str, str]] = {
    "rows": ("行数", "Rows"),
    "certificates": ("证书数", "Certificates"),
    "errors": ("问题数", "Problems"),
    "error": ("错误代码", "Error code"),
    "key": ("幂等键", "Idempotency key"),
    "job": ("任务", "Job"),
    "kind": ("任务类型", "Job kind"),
    "reason": ("原因", "Reason"),
    "new": ("新证书编号", "New certificate"),
    "batch": ("批次", "Batch"),
    "file": ("文件", "File"),
    "from": ("起始日期", "From"),
    "to": ("截止日期", "To"),
    "added": ("增加", "Added"),
    "removed": ("移除", "Removed"),
    "updated": ("更新", "Updated"),
    "after": ("不可信起点", "Distrusted after"),
    "body_id": ("机构编号", "Body id"),
    "role": ("角色", "Role"),
    "token_id": ("令牌编号", "Token id"),
    "pending": ("待激活", "Waiting for activation"),
    "client": ("客户端", "Client"),
    "holders": ("持证人数", "Holders"),
    "needs": ("所需权限", "Needs"),
    "method": ("请求方法", "Method"),
    "path": ("请求路径", "Path"),
    "count": ("次数", "Count"),
    "window_s": ("统计时段（秒）", "Window (s)"),
    "clients": ("客户端", "Clients"),
    "entries": ("条目数", "Entries"),
}

#: Why a log-in failed (``detail.reason`` of a failed ``login``).
LOGIN_FAILURE_NAMES: dict[str, tuple[str, str]] = {
    "unknown": ("用户名不存在", "No such user"),
    "password": ("密码错误", "Wrong password"),
}


def event_name(kind: str) -> str:
    """A certificate history event, e.g. 撤销 / Revoked for ``revoked``."""
    return _named(EVENT_NAMES, kind)


def action_name(action: str) -> str:
    """An audit log action, e.g. 下载证书 PDF for ``certificate.pdf``."""
    return _named(ACTION_NAMES, action)


def outcome_name(outcome: str) -> str:
    """How an audited action ended, e.g. 成功 for ``ok``."""
    return _named(OUTCOME_NAMES, outcome)


def job_kind_name(kind: str) -> str:
    """What a job does, e.g. 合并打印 PDF for ``batch_print``."""
    return _named(JOB_KIND_NAMES, kind)


def job_state_name(state: str) -> str:
    """Where a job is, e.g. 已完成 for ``succeeded``."""
    return _named(JOB_STATE_NAMES, state)


def batch_source_name(source: str) -> str:
    """Where a batch came from, e.g. 上传 Excel 文件 for ``xlsx``."""
    return _named(BATCH_SOURCE_NAMES, source)


def detail_items(action: str, detail: Mapping[str, Any] | None) -> list[tuple[str, str, bool]]:
    """An audit entry's detail as (label, value, value is a code) in a stable order: labels
    instead of JSON keys, names instead of the codes this module knows (a job kind, a role, a
    log-in failure); other codes (error codes, permissions, keys) stay codes, marked so."""
    items: list[tuple[str, str, bool]] = []
    for key, value in sorted((detail or {}).items()):
        label = _named(DETAIL_LABELS, key)
        if key == "kind" and isinstance(value, str):
            items.append((label, job_kind_name(value), False))
        elif key == "role" and isinstance(value, str):
            items.append((label, role_name(value), False))
        elif key == "reason" and action == "login" and isinstance(value, str):
            items.append((label, _named(LOGIN_FAILURE_NAMES, value), False))
        elif isinstance(value, bool):
            items.append((label, tr("是", "yes") if value else tr("否", "no"), False))
        elif isinstance(value, list | tuple):
            items.append((label, "、".join(str(v) for v in value), True))
        elif key in ("reason", "file", "from", "to", "after") or isinstance(value, int):
            items.append((label, str(value), False))
        else:
            items.append((label, str(value), True))
    return items


def column_label(key: str) -> str:
    """A results-file column by its label (证件号码 / ID number), not its key (id_number)."""
    column = COLUMNS_BY_KEY.get(key)
    return tr(column.label_zh, column.label_en) if column else key


#: The statistics export formats, as a person names them.
EXPORT_FORMAT_NAMES: dict[str, tuple[str, str]] = {
    "json": ("JSON", "JSON"),
    "csv": ("CSV 表格", "CSV"),
    "xlsx": ("Excel 表格", "Excel"),
}


def export_format_name(fmt: str) -> str:
    """A statistics export format, e.g. Excel 表格 for ``xlsx``."""
    return _named(EXPORT_FORMAT_NAMES, fmt)
