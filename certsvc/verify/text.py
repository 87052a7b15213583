"""What the verification page says, in Chinese (the default) and English.

One table per language with the same keys; :func:`texts` picks one. Status titles are keyed
``status.<status>``, explanations ``why.<status>`` or, more precisely, ``why.<reason>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def preferred_language(accepted: Iterable[tuple[str, float]]) -> str:
    """The page language for an ``Accept-Language`` header, read by primary subtag.

    *accepted* is (language tag, quality) in order of preference — highest quality first,
    the header's order among equals, as werkzeug's ``request.accept_languages`` iterates. The
    first tag whose primary subtag is one of :data:`LANGUAGES` wins (``zh-CN``, ``zh-Hans``,
    ``zh-TW`` are all ``zh``); none, or only ``*``: :data:`DEFAULT_LANGUAGE`. (werkzeug's
    ``best_match`` prefers an exact tag at any quality, so iOS Safari's
    ``zh-CN,zh-Hans;q=0.9,en;q=0.8`` got the English page.)
    """
    for tag, quality in accepted:
        primary = tag.replace("_", "-").split("-", 1)[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


_ZH: dict[str, str] = {
    "html_lang": "zh-CN",
    "colon": "：",
    "app": "职业技能等级证书核验",
    "switch": "English",
    "status.valid": "证书有效",
    "status.revoked": "证书已撤销",
    "status.superseded": "证书已被更正替代",
    "status.invalid_signature": "签名无效 · 请勿采信",
    "status.unknown_key": "未知签名密钥 · 请勿采信",
    "status.malformed": "无法识别的二维码",
    "status.not_found": "查无此证书",
    "why.valid": "签名真实，内容与发证机构的记录一致，证书当前有效。"
    "请核对下列信息与纸质证书是否一致。",
    "why.revoked": "该证书已由发证机构撤销，不再有效。",
    "why.superseded": "该证书已被更正后的新证书替代，请以新证书为准。",
    "why.invalid_signature": "签名无法通过核验：证书内容可能被篡改，或并非由本系统签发。",
    "why.tampered": "签名与二维码内容不符：二维码在签发后被改动，或为伪造。",
    "why.unsupported_header": "该二维码使用了本系统不接受的签名算法，并非本系统签发。",
    "why.key_compromised": "签发该证书的密钥已被报告泄露，且证书签发于泄露时间之后，签名不可信。",
    "why.key_compromised_undecided": "签名密钥已被报告泄露；离线无法确定签名时间，请在线核验。",
    "why.record_mismatch": "二维码中签名的信息与发证机构的记录不一致，请勿采信。",
    "why.unknown_key": "签名所用的密钥不属于本系统，无法确认证书来源。",
    "why.malformed": "二维码内容不完整或不是本系统的证书二维码。请重新扫描，或使用下方的手工查询。",
    "why.not_found": "未找到与输入信息相符的证书。请核对证书编号、姓名或证件号码。",
    "technical": "技术详情（供开发者）",
    "technical.status": "核验状态代码",
    "technical.reason": "原因代码",
    "technical.message": "说明",
    "reason": "撤销原因",
    "revoked_at": "撤销时间",
    "newer": "新证书",
    "open_newer": "查看新证书",
    "record_heading": "发证机构记录的证书信息",
    "field.number": "证书编号",
    "field.holder_name": "姓名",
    "field.id": "证件",
    "field.occupation": "职业（工种）",
    "field.work_type": "工种/职业方向",
    "field.level": "等级",
    "field.issue_date": "发证日期",
    "field.route": "认定方式",
    "field.issuer": "发证机构（评价机构）",
    "route.regular": "正常认定",
    "route.direct": "直接认定",
    "ground": "直接认定依据",
    "evidence": "业绩说明",
    "meta.kid": "签名密钥",
    "meta.key_status": "密钥状态",
    "key.active": "在用",
    "key.retired": "已停用（此前签名仍有效）",
    "key.compromised": "已报告泄露",
    "meta.checked_at": "核验时间",
    "meta.online": "已在服务器上核验签名与发证记录。",
    "log.included": "已记入公开签发日志，检查点大小 {size}",
    "log.unverified": "公开签发日志核对未通过：记录与签发时记入日志的不一致。",
    "log.checkpoint": "签名检查点",
    "device.checking": "正在本设备上核验签名……",
    "device.ok": "已在本设备上核验签名：证书编号、姓名、职业和发证日期与签名一致。",
    "device.bad": "本设备核验未通过：签名无效，或签名内容与下列信息不一致。",
    "device.ok_revoked": "签名真实，但证书已撤销：本设备核验签名无误，但发证机构已撤销该证书，"
    "不能作为有效证书采信。",
    "device.ok_superseded": "签名真实，但证书已被更正后的新证书替代：请以新证书为准。",
    "device.ok_not_valid": "签名真实，但服务器核验未通过：请以上方的核验结果为准。",
    "device.unsupported": "本设备的浏览器不支持在本机核验签名（以服务器核验结果为准）。",
    "lookup.heading": "手工查询",
    "lookup.by_number": "按证书编号和姓名查询",
    "lookup.by_id": "按证件号码和姓名查询",
    "lookup.number": "证书编号（22位）",
    "lookup.name": "姓名",
    "lookup.id_type": "证件类型",
    "lookup.id_number": "证件号码",
    "lookup.submit": "查询",
    "lookup.id_note": "证件号码仅用于本次查询，不会被保存或记录；结果只显示遮盖后的号码。",
    "lookup.none": "未找到与输入信息相符的证书。",
    "lookup.results": "查询结果",
    "lookup.count": "共 {n} 张证书",
    "lookup.details": "查看详情",
    "lookup.again": "重新查询",
    "error": "输入有误",
    "error.invalid_certificate_number": "证书编号应为 22 位：Y 或 S 开头，其后为数字"
    "（或等级字母与数字），请按证书上印制的编号逐字输入。",
    "error.invalid_id_number": "证件号码有误，请逐位核对证件。",
    "error.invalid_name": "请输入证书上印制的姓名。",
    "error.invalid_id_type": "证件类型有误，请从列表中选择。",
    "too_many": "请求过于频繁",
    "too_many.why": "请稍后再试（约 {n} 秒后）。",
    "front.title": "职业技能等级证书签发与核验",
    "front.intro": "下列职业技能等级认定评价机构在本服务签发电子职业技能等级证书。"
    "任何人都可以在此核验证书的真伪和当前状态：是否有效、是否已撤销或被更正替代。",
    "front.verify": "核验一张证书",
    "front.verify_note": "输入证书上印制的证书编号和持证人姓名。",
    "front.scan": "扫码核验",
    "front.scan_how": "每张证书右下角印有二维码。用手机相机（或微信“扫一扫”）对准二维码，"
    "打开出现的链接，即可看到该证书的核验页面，无需安装应用，也无需登录。",
    "front.scan_check": "核验页面的地址应以本服务的网址开头；页面会在您的手机上再次核对证书签名。",
    "front.by_id": "没有证书编号？按证件号码和姓名查询该持证人的全部证书",
    "front.bodies": "在本服务签发证书的评价机构",
    "front.bodies_none": "目前还没有评价机构在本服务签发证书。",
    "front.body_code": "机构代码",
    "front.kind.Y": "用人单位（企业）",
    "front.kind.S": "社会培训评价组织",
    "front.chain_leader": "链主企业：也可认定其生态链成员企业的职工",
    "front.staff": "评价机构工作人员",
    "front.console": "登录证书控制台（签发、撤销、更正证书）",
    "front.developers": "开发者与核验系统",
    "front.openapi": "公开接口说明（OpenAPI）",
    "front.jwks": "签名公钥（JWKS）",
    "front.transparency": "公开签发日志（透明日志）",
    "front.checkpoint": "签发日志最新检查点",
    "footer": "本页面由发证机构的证书系统生成。全国联网查询：jndj.osta.org.cn",
}

_EN: dict[str, str] = {
    "html_lang": "en",
    "colon": ": ",
    "app": "Skill certificate verification",
    "switch": "中文",
    "status.valid": "Valid certificate",
    "status.revoked": "Revoked",
    "status.superseded": "Superseded by a corrected certificate",
    "status.invalid_signature": "Invalid signature · do not accept",
    "status.unknown_key": "Unknown signing key · do not accept",
    "status.malformed": "Unreadable code",
    "status.not_found": "Certificate not found",
    "why.valid": "The signature is genuine, the content matches the issuer's record and the "
    "certificate is current. Check that the details below match the paper certificate.",
    "why.revoked": "The issuing body has revoked this certificate; it is no longer valid.",
    "why.superseded": "This certificate was replaced by a corrected one; rely on the new one.",
    "why.invalid_signature": "The signature does not verify: the content may have been altered, "
    "or it was not issued by this service.",
    "why.tampered": "The signature does not match the QR content: it was altered after signing, "
    "or forged.",
    "why.unsupported_header": "The QR code uses a signature algorithm this service never uses; "
    "it was not issued here.",
    "why.key_compromised": "The key that signed this certificate was reported compromised and "
    "the certificate was created after that time; the signature cannot be trusted.",
    "why.key_compromised_undecided": "The signing key was reported compromised; offline the "
    "signing time cannot be established. Verify online.",
    "why.record_mismatch": "The signed details in the QR code differ from the issuer's record; "
    "do not accept it.",
    "why.unknown_key": "The key that signed this code is not one of this service's keys; the "
    "origin cannot be confirmed.",
    "why.malformed": "The QR content is incomplete or not a certificate code of this service. "
    "Scan again, or use the manual look-up below.",
    "why.not_found": "No certificate matches. Check the certificate number, the name or the ID "
    "number.",
    "technical": "Technical details (for developers)",
    "technical.status": "Status code",
    "technical.reason": "Reason code",
    "technical.message": "Message",
    "reason": "Reason",
    "revoked_at": "Revoked on",
    "newer": "New certificate",
    "open_newer": "Open the new certificate",
    "record_heading": "The certificate as the issuer recorded it",
    "field.number": "Certificate number",
    "field.holder_name": "Name",
    "field.id": "ID",
    "field.occupation": "Occupation",
    "field.work_type": "Work type / specialty",
    "field.level": "Level",
    "field.issue_date": "Issued on",
    "field.route": "Route",
    "field.issuer": "Issuing body",
    "route.regular": "Regular assessment",
    "route.direct": "Direct certification",
    "ground": "Ground",
    "evidence": "Evidence",
    "meta.kid": "Signing key",
    "meta.key_status": "Key status",
    "key.active": "active",
    "key.retired": "retired (earlier signatures stay valid)",
    "key.compromised": "reported compromised",
    "meta.checked_at": "Checked at",
    "meta.online": "Signature and record checked on the server.",
    "log.included": "Logged in the public issuance log, checkpoint size {size}",
    "log.unverified": "The public issuance log does not confirm this certificate: the record "
    "differs from what was logged at issuance.",
    "log.checkpoint": "Signed checkpoint",
    "device.checking": "Checking the signature on this device…",
    "device.ok": "Signature checked on this device: number, name, occupation and issue date "
    "match the signature.",
    "device.bad": "Not confirmed on this device: the signature is invalid or does not match "
    "the details below.",
    "device.ok_revoked": "Signature genuine, but the certificate has been revoked: this device "
    "confirms the signature, but the issuing body has revoked the certificate; do not accept it "
    "as valid.",
    "device.ok_superseded": "Signature genuine, but the certificate has been replaced by a "
    "corrected one: rely on the new certificate.",
    "device.ok_not_valid": "Signature genuine, but the server's check failed: the result above "
    "stands.",
    "device.unsupported": "This browser cannot check the signature itself (the server's check "
    "above stands).",
    "lookup.heading": "Manual look-up",
    "lookup.by_number": "By certificate number and name",
    "lookup.by_id": "By ID number and name",
    "lookup.number": "Certificate number (22 characters)",
    "lookup.name": "Name",
    "lookup.id_type": "ID type",
    "lookup.id_number": "ID number",
    "lookup.submit": "Look up",
    "lookup.id_note": "The ID number is used for this look-up only and is never stored or "
    "logged; results show it masked.",
    "lookup.none": "No certificate matches.",
    "lookup.results": "Results",
    "lookup.count": "{n} certificate(s)",
    "lookup.details": "Details",
    "lookup.again": "New look-up",
    "error": "Please check your entry",
    "error.invalid_certificate_number": "A certificate number has 22 characters: Y or S, then "
    "digits (or a level letter and digits); copy it exactly as printed.",
    "error.invalid_id_number": "This ID number is not valid; check every character against "
    "the document.",
    "error.invalid_name": "Enter the holder's name as printed on the certificate.",
    "error.invalid_id_type": "Choose an ID type from the list.",
    "too_many": "Too many requests",
    "too_many.why": "Please try again later (in about {n} seconds).",
    "front.title": "Skill certificates: issued and verified here",
    "front.intro": "The certification bodies below issue electronic vocational skill "
    "certificates with this service. Anyone can check here whether a certificate is genuine and "
    "what its status is: valid, revoked, or replaced by a corrected one.",
    "front.verify": "Verify a certificate",
    "front.verify_note": "Enter the certificate number and the holder's name as printed.",
    "front.scan": "Scan to verify",
    "front.scan_how": "Every certificate carries a QR code in its lower right corner. Point your "
    "phone's camera (or WeChat's Scan) at it and open the link it shows: the certificate's "
    "verification page opens, with no app and no log-in.",
    "front.scan_check": "The page's address should start with this service's address; the page "
    "checks the certificate's signature again on your phone.",
    "front.by_id": "No certificate number? Find all of a holder's certificates by ID number "
    "and name",
    "front.bodies": "Certification bodies issuing here",
    "front.bodies_none": "No certification body issues here yet.",
    "front.body_code": "Body code",
    "front.kind.Y": "Employer (enterprise)",
    "front.kind.S": "Social training and assessment organisation",
    "front.chain_leader": "Chain leader: may also certify staff of its ecosystem members",
    "front.staff": "Staff of a certification body",
    "front.console": "Log in to the console (issue, revoke, correct certificates)",
    "front.developers": "Developers and verifying systems",
    "front.openapi": "Public API description (OpenAPI)",
    "front.jwks": "Signing keys (JWKS)",
    "front.transparency": "Public issuance log (transparency log)",
    "front.checkpoint": "The issuance log's latest checkpoint",
    "footer": "Generated by the issuing body's certificate service. National query: "
    "jndj.osta.org.cn",
}

assert _ZH.keys() == _EN.keys(), "every text needs both languages"

_TABLES: dict[str, Mapping[str, str]] = {"zh": _ZH, "en": _EN}


def texts(language: str) -> Mapping[str, str]:
    """The text table for *language* (``zh`` or ``en``; anything else gets Chinese)."""
    return _TABLES.get(language, _ZH)
