//! The checklists the app ships with, so a device can record inspections before it
//! has ever synced. The bureau may publish newer versions as reference data.
//! Labels are Chinese: they are what township staff read on site.
//!
//! Version 2 added `fire_verdict`, what the team found at a satellite fire
//! point (optional: only an inspection answering a fire task needs it). A
//! published version never changes, so a device that holds version 1 gets
//! version 2 beside it when it upgrades.

use super::{ChecklistItem, ChecklistTemplate, ChoiceOption, ItemKind};
use crate::model::task::FireVerdict;

/// Enforcement matters known out of the box: (code, name).
pub const MATTERS: &[(&str, &str)] = &[
    ("straw_burning", "露天焚烧秸秆"),
    ("waste_burning", "露天焚烧垃圾"),
];

/// The default checklist for a matter in [`MATTERS`].
pub fn template_for(matter: &str) -> Option<ChecklistTemplate> {
    match matter {
        "straw_burning" => Some(straw_burning()),
        "waste_burning" => Some(waste_burning()),
        _ => None,
    }
}

fn straw_burning() -> ChecklistTemplate {
    ChecklistTemplate {
        id: "straw_burning".into(),
        version: 2,
        title: "秸秆露天焚烧现场检查".into(),
        items: vec![
            yes_no("fire_on_arrival", "到达现场时是否有明火", true),
            yes_no("smoke_visible", "是否有明显烟雾", false),
            number("burned_area_mu", "过火面积", "亩", 0.0, 10_000.0, true),
            single(
                "material",
                "焚烧物",
                &[
                    ("rice_straw", "稻草"),
                    ("wheat_straw", "麦秆"),
                    ("corn_stalk", "玉米秸秆"),
                    ("rapeseed_straw", "油菜秸秆"),
                    ("weeds_leaves", "杂草落叶"),
                    ("other", "其他"),
                ],
                true,
            ),
            single(
                "land_type",
                "地块类型",
                &[
                    ("paddy", "水田"),
                    ("dry_field", "旱地"),
                    ("roadside", "路边沟渠"),
                    ("forest_edge", "林地边缘"),
                    ("other", "其他"),
                ],
                false,
            ),
            multiple(
                "nearby_sensitive",
                "周边敏感目标",
                &[
                    ("village", "村庄居民点"),
                    ("road", "公路"),
                    ("forest", "林地"),
                    ("power_line", "电力线路"),
                    ("school", "学校"),
                ],
            ),
            yes_no("extinguished", "火情是否已扑灭", true),
            multiple(
                "extinguish_method",
                "扑灭方式",
                &[
                    ("water", "浇水"),
                    ("soil_cover", "覆土"),
                    ("beating", "扑打"),
                    ("fire_brigade", "消防救援"),
                    ("burned_out", "自行燃尽"),
                ],
            ),
            yes_no("responsible_party_identified", "是否查明责任人", true),
            yes_no("warning_issued", "是否已劝导或警告", true),
            fire_verdict(),
            text("remarks", "备注", 500),
        ],
    }
}

/// The verdict on a satellite fire point ([`FireVerdict`]'s codes).
fn fire_verdict() -> ChecklistItem {
    let pairs: Vec<(&str, &str)> = FireVerdict::ALL
        .into_iter()
        .map(|verdict| {
            let label = match verdict {
                FireVerdict::ConfirmedBurning => "确认焚烧",
                FireVerdict::NoFireFound => "未发现火情",
                FireVerdict::StaticSource => "固定热源（窑炉、电厂等）",
                FireVerdict::NotReachable => "无法到达",
            };
            (verdict.code(), label)
        })
        .collect();
    single(FireVerdict::ITEM_ID, "卫星火点核查结论", &pairs, false)
}

fn waste_burning() -> ChecklistTemplate {
    ChecklistTemplate {
        id: "waste_burning".into(),
        version: 2,
        title: "垃圾露天焚烧现场检查".into(),
        items: vec![
            yes_no("fire_on_arrival", "到达现场时是否有明火", true),
            multiple(
                "waste_type",
                "焚烧物类型",
                &[
                    ("household", "生活垃圾"),
                    ("construction", "建筑垃圾"),
                    ("plastic", "塑料薄膜"),
                    ("tyres", "废旧轮胎"),
                    ("industrial", "工业固废"),
                    ("other", "其他"),
                ],
            ),
            number(
                "estimated_volume_m3",
                "估计焚烧量",
                "立方米",
                0.0,
                1_000.0,
                true,
            ),
            single(
                "site_type",
                "焚烧地点",
                &[
                    ("open_field", "田间空地"),
                    ("courtyard", "房前屋后"),
                    ("roadside", "路边"),
                    ("riverbank", "河岸沟渠"),
                    ("transfer_point", "垃圾收集点"),
                    ("other", "其他"),
                ],
                true,
            ),
            yes_no("toxic_smoke", "是否有黑烟或刺激性气味", false),
            yes_no("extinguished", "火情是否已扑灭", true),
            yes_no("responsible_party_identified", "是否查明责任人", true),
            yes_no("warning_issued", "是否已劝导或警告", true),
            yes_no("cleanup_ordered", "是否责令清理现场", false),
            fire_verdict(),
            text("remarks", "备注", 500),
        ],
    }
}

fn item(id: &str, label: &str, required: bool, kind: ItemKind) -> ChecklistItem {
    ChecklistItem {
        id: id.into(),
        label: label.into(),
        required,
        kind,
    }
}

fn yes_no(id: &str, label: &str, required: bool) -> ChecklistItem {
    item(id, label, required, ItemKind::YesNo)
}

fn number(id: &str, label: &str, unit: &str, min: f64, max: f64, required: bool) -> ChecklistItem {
    let unit = unit.into();
    item(id, label, required, ItemKind::Number { unit, min, max })
}

fn options(pairs: &[(&str, &str)]) -> Vec<ChoiceOption> {
    pairs
        .iter()
        .map(|(code, label)| ChoiceOption {
            code: (*code).into(),
            label: (*label).into(),
        })
        .collect()
}

fn single(id: &str, label: &str, pairs: &[(&str, &str)], required: bool) -> ChecklistItem {
    let options = options(pairs);
    item(id, label, required, ItemKind::SingleChoice { options })
}

/// Multiple-choice items are never required: "none of these" is a valid answer.
fn multiple(id: &str, label: &str, pairs: &[(&str, &str)]) -> ChecklistItem {
    let options = options(pairs);
    item(id, label, false, ItemKind::MultipleChoice { options })
}

fn text(id: &str, label: &str, max_chars: u32) -> ChecklistItem {
    item(id, label, false, ItemKind::Text { max_chars })
}
