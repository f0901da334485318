//! The case file's `report.pdf`: the on-site inspection record (现场检查（勘察）
//! 笔录) and the evidence list, in Chinese, for the person who reads the case
//! rather than verifies it — a legal reviewer, the police, a judge.
//!
//! It states what the signed files of the case file hold and nothing they do
//! not: every figure comes from the inspection revisions as received, the
//! evidence records' signed payloads and the checkpoint. The flags beside an
//! item are the offline verifier's own ([`consistency`]), so the page and
//! `fieldproof verify` never disagree. The PDF itself is a listed file of the
//! manifest; its statements are checked by verifying the case file, not by
//! trusting the PDF.

use crate::error::{Error, Result};
use crate::pdf::{Document, Font, Image, FIGURE_BOX};
use crate::photo_thumbnails;
use crate::storage::PhotoStore;
use fieldproof_core::case_file::consistency::{self, Flag, Revision};
use fieldproof_core::evidence::receipt::SignedCheckpoint;
use fieldproof_core::evidence::record::{
    Acknowledgement, Event, EvidencePayload, Media, RecordedFix, TrackSegment,
};
use fieldproof_core::geo::datum::{convert, Datum, LatLon};
use fieldproof_core::hex;
use fieldproof_core::model::checklist::{AnswerValue, ChecklistItem, ChecklistTemplate, ItemKind};
use fieldproof_core::model::inspection::Inspection;
use fieldproof_core::time::CivilTime;
use std::path::Path;

/// What the record shows, gathered while the case file is planned.
pub struct OnSiteRecord {
    /// The amendment line, oldest first (never empty).
    pub revisions: Vec<Revision>,
    pub review: Review,
    pub matter_name: String,
    /// The checklist version the latest revision was answered on, when known.
    pub checklist: Option<ChecklistTemplate>,
    pub officers: Vec<Officer>,
    /// The case's records in device and seq order.
    pub items: Vec<Item>,
    pub checkpoint: SignedCheckpoint,
    pub bureau_key_id: [u8; 32],
    /// Records of other cases whose place in a chain is proven by hash only.
    pub omitted: usize,
    /// Records naming the case that the bureau did not accept, with why.
    pub not_accepted: Vec<String>,
}

pub struct Review {
    /// `submitted`, `accepted` or `returned`.
    pub status: String,
    pub reviewed_ms: Option<i64>,
    pub comment: Option<String>,
}

pub struct Officer {
    pub officer_id: String,
    pub submitted: bool,
    /// Device id, device key id, certificate issue time.
    pub devices: Vec<(String, [u8; 32], i64)>,
}

pub struct Item {
    pub device_id: String,
    pub seq: u64,
    pub leaf_index: u64,
    pub payload: EvidencePayload,
    /// The media's path in the case file, when the bureau holds it.
    pub media: Option<String>,
    /// A track segment's files in the case file, when the bureau holds its points.
    pub track: Option<TrackFiles>,
}

/// Where a track segment's points are in the case file, and how far they go.
pub struct TrackFiles {
    pub length_m: f64,
    pub gpx: String,
    pub geojson: String,
}

impl OnSiteRecord {
    /// The PDF, set in the CJK font at `font_path`.
    pub fn render(&self, font_path: &Path, photos: &PhotoStore) -> Result<Vec<u8>> {
        let data = std::fs::read(font_path).map_err(|e| Error::ReportFont {
            reason: format!("{}: {}", font_path.display(), e.kind()),
        })?;
        let latest = &self.latest().inspection;
        let mut doc = Document::new(
            Font::parse(&data)?,
            &format!("现场检查（勘察）笔录 {}", latest.id),
            &format!("案件 {}", latest.id),
        );
        doc.title("现场检查（勘察）笔录");
        self.case_section(&mut doc);
        self.officer_section(&mut doc);
        self.checklist_section(&mut doc);
        doc.heading("检查情况");
        doc.paragraph(or_none(&latest.findings));
        self.party_section(&mut doc);
        self.evidence_section(&mut doc, photos);
        self.acknowledgement_section(&mut doc, photos);
        self.track_section(&mut doc);
        self.verification_section(&mut doc);
        doc.heading("签字");
        doc.rows(&[
            (
                "执法人员",
                "（签名）________________    日期 ____________".into(),
            ),
            (
                "执法人员",
                "（签名）________________    日期 ____________".into(),
            ),
            (
                "当事人",
                "（签名）________________    日期 ____________".into(),
            ),
        ]);
        doc.finish()
    }

    fn latest(&self) -> &Revision {
        self.revisions
            .last()
            .expect("an amendment line is never empty")
    }

    fn case_section(&self, doc: &mut Document) {
        let i = &self.latest().inspection;
        let site = LatLon {
            lat: i.site.lat,
            lon: i.site.lon,
        };
        let gcj = convert(site, Datum::Wgs84, Datum::Gcj02);
        let jurisdiction = match &i.site_jurisdiction {
            Some(j) => format!(
                "{}，位于辖区{}，距辖区边界 {:.0} 米",
                j.code,
                if j.inside { "内" } else { "外" },
                j.boundary_distance_m
            ),
            None => "未加载该辖区边界，未判定".into(),
        };
        let line: Vec<String> = self
            .revisions
            .iter()
            .map(|r| r.inspection.id.clone())
            .collect();
        let mut review = review_text(&self.review.status).to_owned();
        if let Some(ms) = self.review.reviewed_ms {
            review.push_str(&format!("（{}）", beijing(ms)));
        }
        if let Some(comment) = &self.review.comment {
            review.push_str(&format!("：{comment}"));
        }
        doc.heading("案件基本情况");
        doc.rows(&[
            ("案件编号", i.id.clone()),
            ("检查事项", format!("{}（{}）", self.matter_name, i.matter)),
            ("检查时间", time_window(i.started_at_ms, i.ended_at_ms)),
            ("检查地点", or_none(&i.site.address).to_owned()),
            ("坐标 WGS-84", lat_lon(site)),
            ("坐标 GCJ-02", lat_lon(gcj)),
            (
                "原始坐标",
                format!(
                    "{}（{}，由设备上报）",
                    lat_lon(LatLon {
                        lat: i.site.reported_lat,
                        lon: i.site.reported_lon
                    }),
                    i.site.reported_datum.code()
                ),
            ),
            ("所属辖区", jurisdiction),
            (
                "乡镇 / 区县",
                format!("{} / {}", i.township_code, i.county_code),
            ),
            ("任务编号", i.task_id.clone().unwrap_or_else(|| "无".into())),
            (
                "笔录版本",
                format!(
                    "第 {} 版（修订链：{}）",
                    self.revisions.len(),
                    line.join(" → ")
                ),
            ),
            ("审核状态", review),
        ]);
    }

    fn officer_section(&self, doc: &mut Document) {
        doc.heading("执法人员及设备证书");
        let rows: Vec<(&str, String)> = self
            .officers
            .iter()
            .map(|o| {
                let role = if o.submitted { "主办" } else { "协办" };
                let devices: Vec<String> = o
                    .devices
                    .iter()
                    .map(|(id, key, issued)| {
                        format!(
                            "设备 {id}，证书签发于 {}，设备密钥标识 {}",
                            beijing(*issued),
                            hex::encode(key)
                        )
                    })
                    .collect();
                let devices = if devices.is_empty() {
                    "本案卷中无其设备签署的记录".to_owned()
                } else {
                    devices.join("\n")
                };
                (role, format!("{}\n{devices}", o.officer_id))
            })
            .collect();
        doc.rows(&rows);
        if self.officers.len() < 2 {
            doc.paragraph("注意：本案仅记录一名执法人员，调查取证一般应有两名以上执法人员参加。");
        }
    }

    fn checklist_section(&self, doc: &mut Document) {
        let i = &self.latest().inspection;
        match &self.checklist {
            Some(template) => {
                doc.heading(&format!(
                    "检查项目：{}（第 {} 版）",
                    template.title, template.version
                ));
                let rows: Vec<(String, String)> = template
                    .items
                    .iter()
                    .map(|item| {
                        let answer = i.answers.iter().find(|a| a.item_id == item.id);
                        let text = match answer {
                            Some(a) => answer_text(item, &a.value),
                            None if item.required => "未作答（必答项）".into(),
                            None => "未作答".into(),
                        };
                        (item.label.clone(), text)
                    })
                    .collect();
                let rows: Vec<(&str, String)> =
                    rows.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
                doc.rows(&rows);
            }
            None => {
                doc.heading(&format!(
                    "检查项目：{}（第 {} 版）",
                    i.checklist_id, i.checklist_version
                ));
                doc.paragraph("局端未找到该版本检查表，以下为原始答案（项目编号：答案）。");
                let rows: Vec<(&str, String)> = i
                    .answers
                    .iter()
                    .map(|a| (a.item_id.as_str(), raw_answer(&a.value)))
                    .collect();
                doc.rows(&rows);
            }
        }
    }

    fn party_section(&self, doc: &mut Document) {
        doc.heading("当事人");
        match &self.latest().inspection.responsible_party {
            Some(p) => doc.rows(&[
                ("姓名或名称", p.name.clone()),
                (
                    "联系电话",
                    p.phone.clone().unwrap_or_else(|| "未记录".into()),
                ),
                (
                    "身份证件号码",
                    p.id_number.clone().unwrap_or_else(|| "未记录".into()),
                ),
            ]),
            None => doc.paragraph("未记录当事人。"),
        }
    }

    fn evidence_section(&self, doc: &mut Document, photos: &PhotoStore) {
        // The heading goes with the first figure.
        doc.keep(FIGURE_BOX * 1.5);
        doc.heading("证据清单");
        let mut n = 0;
        for item in &self.items {
            let (what, media) = match &item.payload.event {
                Event::Capture(m) => ("现场拍摄", m),
                Event::Import(m) => ("导入文件", m),
                Event::Note(text) => {
                    n += 1;
                    doc.rows(&[
                        (&format!("证据 {n}"), format!("现场记录：{text}")),
                        ("记录时间", device_time(&item.payload)),
                        ("签名记录", self.record_ref(item)),
                    ]);
                    continue;
                }
                _ => continue,
            };
            n += 1;
            let thumbnail = item
                .media
                .as_ref()
                .ok_or_else(|| "照片原件未收到".to_owned())
                .and_then(|_| {
                    photo_thumbnails::of(photos, &media.sha256)
                        .map(|t| Image::jpeg(t.jpeg, t.width, t.height, t.gray))
                        .map_err(|e| format!("无法生成缩略图：{e}"))
                });
            let mut rows = vec![
                ("证据", format!("{n}（{what}，{}）", media_text(media))),
                ("拍摄时间", device_time(&item.payload)),
            ];
            rows.extend(fix_rows(
                item.payload.fix.as_ref(),
                &self.latest().inspection,
            ));
            rows.push(("SHA-256", hex::encode(&media.sha256)));
            rows.push((
                "案卷文件",
                item.media
                    .as_ref()
                    .map_or_else(|| "无（照片原件未收到）".into(), Clone::clone),
            ));
            rows.push(("签名记录", self.record_ref(item)));
            let flags = self.flags(item);
            if !flags.is_empty() {
                rows.push(("需注意", flags));
            }
            doc.figure(thumbnail, &rows);
        }
        if n == 0 {
            doc.paragraph("本案卷中无照片或现场记录。");
        }
    }

    fn acknowledgement_section(&self, doc: &mut Document, photos: &PhotoStore) {
        doc.keep(FIGURE_BOX * 1.5);
        doc.heading("当事人签名确认");
        let mut any = false;
        for item in &self.items {
            let Event::Acknowledgement(ack) = &item.payload.event else {
                continue;
            };
            any = true;
            let image = match photos.photo_bytes(&ack.image.sha256) {
                Ok(Some(bytes)) if item.media.is_some() => Image::png(&bytes),
                Ok(_) => Err("签名图像未收到".into()),
                Err(e) => Err(e.code().to_string()),
            };
            let mut rows = vec![
                ("签名人", signer_text(ack)),
                ("签名时间", device_time(&item.payload)),
                ("所签内容", self.acknowledged_revision(item)),
            ];
            rows.extend(fix_rows(
                item.payload.fix.as_ref(),
                &self.latest().inspection,
            ));
            rows.push(("签名图像 SHA-256", hex::encode(&ack.image.sha256)));
            rows.push(("签名记录", self.record_ref(item)));
            doc.figure(image, &rows);
        }
        if !any {
            doc.paragraph("本案卷中无当事人或见证人在设备上的签名确认。");
        }
    }

    /// Whether an acknowledgement holds for the latest revision, in words.
    fn acknowledged_revision(&self, item: &Item) -> String {
        let revisions = &self.revisions;
        let outdated = consistency::flags(&item.payload, revisions)
            .into_iter()
            .find(|f| f.code == "acknowledgement_outdated");
        match outdated {
            None => format!("第 {} 版笔录（即本笔录）", revisions.len()),
            Some(Flag {
                signed_revision: Some(k),
                ..
            }) => format!(
                "第 {k} 版笔录。笔录此后已修改，本签名不适用于当前第 {} 版，需重新签名确认。",
                revisions.len()
            ),
            Some(_) => {
                "与本案卷中任何版本的笔录均不一致：笔录在签名后已修改，本签名不适用于当前版本。"
                    .into()
            }
        }
    }

    fn track_section(&self, doc: &mut Document) {
        doc.heading("巡查轨迹");
        let segments: Vec<(&Item, &TrackSegment)> = self
            .items
            .iter()
            .filter_map(|item| match &item.payload.event {
                Event::TrackSegment(s) => Some((item, s)),
                _ => None,
            })
            .collect();
        if segments.is_empty() {
            doc.paragraph("检查时间内无巡查轨迹记录。");
            return;
        }
        let points: u64 = segments.iter().map(|(_, s)| s.point_count).sum();
        doc.paragraph(&format!(
            "检查时间内共 {} 段轨迹、{points} 个定位点，均由设备逐段签名（点数据以 SHA-256 封存）。",
            segments.len()
        ));
        let rows: Vec<(String, String)> = segments
            .iter()
            .map(|(item, s)| {
                let files = match &item.track {
                    Some(t) => format!(
                        "长约 {:.0} 米；轨迹文件 {}、{}",
                        t.length_m, t.gpx, t.geojson
                    ),
                    None => "局端未存点数据，本案卷无轨迹文件".to_owned(),
                };
                (
                    format!("第 {} 段", s.index + 1),
                    format!(
                        "轨迹 {}，{} 个点，{}\n{files}\n点数据 SHA-256 {}\n签名记录 {}",
                        s.track_id,
                        s.point_count,
                        time_window(s.first_time_ms, Some(s.last_time_ms)),
                        hex::encode(&s.points_sha256),
                        self.record_ref(item)
                    ),
                )
            })
            .collect();
        let rows: Vec<(&str, String)> = rows.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
        doc.rows(&rows);
    }

    fn verification_section(&self, doc: &mut Document) {
        doc.heading("核验摘要");
        let c = &self.checkpoint;
        let not_accepted = if self.not_accepted.is_empty() {
            "无".to_owned()
        } else {
            self.not_accepted.join("\n")
        };
        doc.rows(&[
            ("局端公钥标识", hex::encode(&self.bureau_key_id)),
            (
                "保管日志检查点",
                format!(
                    "共 {} 条记录，根哈希 {}，签署于 {}",
                    c.tree_size,
                    hex::encode(&c.root),
                    beijing(c.time_ms)
                ),
            ),
            (
                "收录记录",
                format!(
                    "{} 条签名记录（含轨迹段与密钥轮换），每条附保管日志包含证明",
                    self.items.len()
                ),
            ),
            (
                "他案记录",
                format!(
                    "{} 条，仅以哈希证明其在设备记录链中的位置，不含其内容",
                    self.omitted
                ),
            ),
            ("未被接受的记录", not_accepted),
        ]);
        doc.paragraph(
            "离线核验：取得局端公钥（bureau-key.hex，应另行由局端提供）后运行 \
             fieldproof verify 案卷.zip --bureau-key bureau-key.hex。核验逐一检查每条记录的签名、\
             设备证书、记录链的连续性、每个文件的 SHA-256、每条记录在检查点中的包含证明及清单签名。",
        );
        doc.paragraph(
            "核验通过证明：各项证据自设备签名以来未被改动，由局端登记的设备签署，并已记入局端保管日志。\
             核验通过不证明照片内容真实反映现场情况，也不证明设备时钟准确；设备时间以检查点时间为界。",
        );
    }

    fn record_ref(&self, item: &Item) -> String {
        format!(
            "设备 {} 第 {} 条，保管日志第 {} 条",
            item.device_id, item.seq, item.leaf_index
        )
    }

    /// The verifier's flags for an item, in words.
    fn flags(&self, item: &Item) -> String {
        consistency::flags(&item.payload, &self.revisions)
            .iter()
            .map(|f| match f.code {
                "mock_location" => "手机标记该位置为模拟定位".to_owned(),
                "far_from_site" => format!(
                    "拍摄位置距检查地点超过 {:.0} 米",
                    consistency::FAR_FROM_SITE_M
                ),
                "outside_time_window" => {
                    "拍摄时间不在检查时间内（按设备时钟，前后各留 15 分钟）".into()
                }
                other => other.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("；")
    }
}

fn fix_rows(fix: Option<&RecordedFix>, inspection: &Inspection) -> Vec<(&'static str, String)> {
    let Some(fix) = fix else {
        return vec![("位置", "无定位".into())];
    };
    let at = LatLon {
        lat: f64::from(fix.lat_e7) / 1e7,
        lon: f64::from(fix.lon_e7) / 1e7,
    };
    let accuracy = fix.accuracy_mm.map_or_else(
        || "未知".into(),
        |mm| format!("±{:.1} 米", mm as f64 / 1000.0),
    );
    let distance = consistency::distance_from_site(fix.lat_e7, fix.lon_e7, inspection);
    let mock = match fix.mock {
        Some(true) => "是（手机标记为模拟位置）",
        Some(false) => "否",
        None => "未知（系统未提供）",
    };
    let mut rows = vec![
        (
            "位置 WGS-84",
            format!(
                "{}，精度 {accuracy}，距检查地点 {distance:.0} 米",
                lat_lon(at)
            ),
        ),
        ("模拟定位", mock.into()),
    ];
    if let Some(ms) = fix.time_ms {
        rows.push(("卫星定位时间", beijing(ms)));
    }
    rows
}

fn device_time(payload: &EvidencePayload) -> String {
    let mut text = format!("{}（设备时钟）", beijing(payload.wall_ms));
    if let Some(c) = &payload.checkpoint {
        text.push_str(&format!("，晚于保管日志第 {} 条", c.tree_size));
    }
    text
}

fn media_text(m: &Media) -> String {
    let mut text = format!("{}，{} 字节", m.mime, m.size);
    if let (Some(w), Some(h)) = (m.width, m.height) {
        text.push_str(&format!("，{w}×{h}"));
    }
    text
}

fn signer_text(ack: &Acknowledgement) -> String {
    let role = match ack.role.as_str() {
        "party" => "当事人",
        "witness" => "见证人",
        "officer" => "执法人员",
        other => other,
    };
    let mut text = role.to_owned();
    if let Some(name) = &ack.name {
        text.push_str(&format!("：{name}"));
    }
    if ack.refused {
        text.push_str("（当事人拒绝签名，由见证人签名）");
    }
    text
}

fn answer_text(item: &ChecklistItem, value: &AnswerValue) -> String {
    let label = |code: &str| match &item.kind {
        ItemKind::SingleChoice { options } | ItemKind::MultipleChoice { options } => options
            .iter()
            .find(|o| o.code == code)
            .map_or_else(|| code.to_owned(), |o| o.label.clone()),
        _ => code.to_owned(),
    };
    match (value, &item.kind) {
        (AnswerValue::YesNo(true), _) => "是".into(),
        (AnswerValue::YesNo(false), _) => "否".into(),
        (AnswerValue::Choice(c), _) => label(c),
        (AnswerValue::Choices(cs), _) => cs.iter().map(|c| label(c)).collect::<Vec<_>>().join("、"),
        (AnswerValue::Number(n), ItemKind::Number { unit, .. }) => format!("{n} {unit}"),
        (AnswerValue::Number(n), _) => n.to_string(),
        (AnswerValue::Text(t), _) => t.clone(),
    }
}

fn raw_answer(value: &AnswerValue) -> String {
    serde_json::to_value(value)
        .map(|v| v["value"].to_string())
        .unwrap_or_default()
}

fn review_text(status: &str) -> &str {
    match status {
        "submitted" => "待审核",
        "accepted" => "审核通过",
        "returned" => "已退回修改",
        other => other,
    }
}

fn or_none(text: &str) -> &str {
    if text.trim().is_empty() {
        "（无）"
    } else {
        text
    }
}

fn lat_lon(p: LatLon) -> String {
    format!(
        "{:.6}°{}，{:.6}°{}",
        p.lat.abs(),
        if p.lat >= 0.0 { "N" } else { "S" },
        p.lon.abs(),
        if p.lon >= 0.0 { "E" } else { "W" }
    )
}

fn time_window(start: i64, end: Option<i64>) -> String {
    match end {
        Some(end) => format!("{} 至 {}{BEIJING}", clock(start), clock(end)),
        None => format!("{}{BEIJING} 起（未记录结束时间）", clock(start)),
    }
}

const BEIJING: &str = "（北京时间）";

/// China Standard Time (UTC+8, no daylight saving), as the record is read.
fn beijing(ms: i64) -> String {
    format!("{}{BEIJING}", clock(ms))
}

fn clock(ms: i64) -> String {
    let t = CivilTime::from_ms(ms + 8 * 3_600_000);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}
