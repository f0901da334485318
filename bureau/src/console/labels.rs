//! What the console says, in Chinese (zh-CN): statuses, roles, matters, the
//! evidence failures explained in words, errors and notices. Codes stay codes
//! everywhere else; only the console turns them into words.

use crate::people::{Grant, StaffRole};
use fieldproof_core::model::checklist::defaults::MATTERS;

pub fn review_status(code: &str) -> &str {
    match code {
        "submitted" => "待审核",
        "accepted" => "已通过",
        "returned" => "已退回",
        other => other,
    }
}

pub fn legal_status(code: &str) -> &str {
    match code {
        "pending" => "待法制审核",
        "approved" => "法制审核通过",
        "sent_back" => "法制审核退回",
        other => other,
    }
}

pub fn evidence_status(code: &str) -> &str {
    match code {
        "none" => "无证据",
        "flagged" => "有问题",
        "pending_media" => "照片未到齐",
        "verified" => "已核验",
        other => other,
    }
}

pub fn task_state(code: &str) -> &str {
    match code {
        "dispatched" => "已派发",
        "received" => "已接收",
        "in_progress" => "处置中",
        "completed" => "已完成",
        "declined" => "已拒绝",
        "closed" => "已办结",
        other => other,
    }
}

pub fn device_role(code: &str) -> &str {
    match code {
        "township_staff" => "乡镇巡查员",
        "county_officer" => "县级执法人员",
        "reviewer" => "审核人员",
        other => other,
    }
}

pub fn role(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Reviewer => "审核员",
        StaffRole::LegalReviewer => "法制审核员",
        StaffRole::Dispatcher => "调度员",
        StaffRole::Admin => "管理员",
    }
}

/// `审核员 430121, 调度员 4301`.
pub fn grants(grants: &[Grant]) -> String {
    grants
        .iter()
        .map(|g| format!("{} {}", role(g.role), g.jurisdiction))
        .collect::<Vec<_>>()
        .join("，")
}

pub fn matter(code: &str) -> &str {
    MATTERS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, name)| name)
}

/// What an evidence record's status and failure mean, in words a reviewer and
/// a judge read.
pub fn evidence_record(
    status: &str,
    failure: Option<&str>,
    media_status: &str,
    refusal: Option<&str>,
) -> String {
    if let Some(refusal) = refusal {
        return match refusal {
            "not_case_officer" => "不计入：发送设备的执法人员不是本案执法人员".into(),
            "officer_mismatch" => "不计入：记录声称的执法人员与设备登记的不一致".into(),
            other => format!("不计入（{other}）"),
        };
    }
    let record = match (status, failure) {
        ("accepted", _) => "签名有效，已记入保管日志".to_owned(),
        (_, Some(code)) => format!("已标记：{}", failure_text(code)),
        (other, None) => format!("已标记（{other}）"),
    };
    let media = match media_status {
        "verified" => "；照片已收到并与签名一致",
        "pending" => "；照片尚未上传完成",
        "mismatch" => "；收到的照片与签名记录的大小不一致",
        _ => "",
    };
    format!("{record}{media}")
}

fn failure_text(code: &str) -> String {
    match code {
        "undecodable" => "记录无法解析，不是本系统格式的签名记录".into(),
        "wrong_key" => "记录不是用该设备登记的密钥签名的".into(),
        "bad_signature" => "签名验证失败：记录在签名后被改动过".into(),
        "replay" => "同一条记录重复提交".into(),
        "fork" => "同一序号出现了内容不同的两条记录".into(),
        "out_of_order" => "记录序号早于已收到的记录，且此前从未收到".into(),
        "gap" => "记录序号不连续，中间有记录缺失".into(),
        "prev_mismatch" => "记录未正确衔接上一条记录（链条断裂）".into(),
        other => format!("未知问题（{other}）"),
    }
}

/// A refusal in words, where the console has them.
pub fn error_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "not_found" => "未找到，或不在您的管辖范围内。",
        "forbidden" => "您的角色无权进行此操作。",
        "csrf_rejected" => "表单已失效（缺少或不匹配的校验码），请刷新页面后重试。",
        "comment_required" => "退回时必须填写意见，说明需要修改什么。",
        "already_reviewed" => "该案件已被审核过。",
        "superseded" => "该案件已有更正版本，请审核最新版本。",
        "not_awaiting_legal_review" => "该案件不在待法制审核状态。",
        "login_failed" => "用户名或密码错误。",
        "login_throttled" => "登录失败次数过多，请稍后再试。",
        "session_expired" => "登录已过期，请重新登录。",
        "invalid_password" => "密码须为 10 到 128 个字符，且不能与用户名相同。",
        "username_taken" => "该用户名已被使用。",
        "text_too_long" => "内容过长。",
        "invalid_coordinate" => "坐标无效。",
        _ => return None,
    })
}

/// The notice after a change (`?done=` on the page a form returns to).
pub fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "accepted" => "已通过审核，结果将在设备下次同步时送达。",
        "returned" => "已退回，意见将在设备下次同步时送达。",
        "legal_approved" => "法制审核已通过。",
        "legal_sent_back" => "已退回执法人员，理由将在设备下次同步时送达。",
        "task" => "任务已派发。",
        "revoked" => "设备已停用。",
        "user" => "账号已创建。",
        "disabled" => "账号已停用。",
        _ => return None,
    })
}
