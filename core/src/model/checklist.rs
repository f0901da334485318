//! Checklists: versioned templates (reference data from the bureau) and the typed
//! answers an officer gives to their items.

pub mod defaults;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One version of a checklist. A version never changes once published: an
/// inspection keeps the version it was started with, so its answers stay valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistTemplate {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub items: Vec<ChecklistItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub id: String,
    pub label: String,
    pub required: bool,
    pub kind: ItemKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    YesNo,
    SingleChoice { options: Vec<ChoiceOption> },
    MultipleChoice { options: Vec<ChoiceOption> },
    Number { unit: String, min: f64, max: f64 },
    Text { max_chars: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub code: String,
    pub label: String,
}

/// An answer to one checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub item_id: String,
    pub value: AnswerValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AnswerValue {
    YesNo(bool),
    Choice(String),
    Choices(Vec<String>),
    Number(f64),
    Text(String),
}

impl ChecklistTemplate {
    pub fn item(&self, item_id: &str) -> Result<&ChecklistItem> {
        self.items
            .iter()
            .find(|item| item.id == item_id)
            .ok_or_else(|| Error::UnknownChecklistItem {
                item: item_id.to_owned(),
                template: self.id.clone(),
            })
    }

    /// Checks that `answer` fits its item's type and limits.
    pub fn check_answer(&self, answer: &Answer) -> Result<()> {
        self.item(&answer.item_id)?.check(&answer.value)
    }

    /// Ids of required items that `answers` leave unanswered, in template order.
    pub fn missing_required<'a>(&'a self, answers: &[Answer]) -> Vec<&'a str> {
        self.items
            .iter()
            .filter(|item| item.required && !answers.iter().any(|a| a.item_id == item.id))
            .map(|item| item.id.as_str())
            .collect()
    }

    /// Rejects templates an app could not render or validate against: no items,
    /// duplicate ids, empty option lists, inverted ranges.
    pub fn check(&self) -> Result<()> {
        let invalid = |reason: String| Err(Error::InvalidTemplate { reason });
        if self.id.is_empty() || self.items.is_empty() {
            return invalid(format!("template {:?} needs an id and items", self.id));
        }
        for (i, item) in self.items.iter().enumerate() {
            if item.id.is_empty() || self.items[..i].iter().any(|o| o.id == item.id) {
                return invalid(format!("item id {:?} is empty or repeated", item.id));
            }
            match &item.kind {
                ItemKind::SingleChoice { options } | ItemKind::MultipleChoice { options } => {
                    let repeated = options
                        .iter()
                        .enumerate()
                        .any(|(j, o)| options[..j].iter().any(|p| p.code == o.code));
                    if options.is_empty() || repeated {
                        return invalid(format!(
                            "item {:?} has empty or repeated options",
                            item.id
                        ));
                    }
                }
                ItemKind::Number { min, max, .. }
                    if !(min.is_finite() && max.is_finite() && min <= max) =>
                {
                    return invalid(format!("item {:?} has an invalid range", item.id));
                }
                ItemKind::Text { max_chars: 0 } => {
                    return invalid(format!("item {:?} allows no text", item.id));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl ChecklistItem {
    /// Reads an answer typed as text (CLI, import files) according to the item's
    /// type: yes/no as `yes`/`no` (also `true`/`false`, `是`/`否`), choices by code
    /// (several separated by commas), numbers in decimal. The result is checked.
    pub fn parse_answer(&self, text: &str) -> Result<AnswerValue> {
        let text = text.trim();
        let value = match &self.kind {
            ItemKind::YesNo => match text.to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "1" | "是" => AnswerValue::YesNo(true),
                "no" | "n" | "false" | "0" | "否" => AnswerValue::YesNo(false),
                _ => {
                    return Err(Error::WrongAnswerType {
                        item: self.id.clone(),
                        expected: "yes/no",
                    })
                }
            },
            ItemKind::SingleChoice { .. } => AnswerValue::Choice(text.to_owned()),
            ItemKind::MultipleChoice { .. } => AnswerValue::Choices(
                text.split(',')
                    .map(str::trim)
                    .filter(|code| !code.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            ItemKind::Number { .. } => {
                AnswerValue::Number(text.parse().map_err(|_| Error::WrongAnswerType {
                    item: self.id.clone(),
                    expected: "number",
                })?)
            }
            ItemKind::Text { .. } => AnswerValue::Text(text.to_owned()),
        };
        self.check(&value)?;
        Ok(value)
    }

    fn check(&self, value: &AnswerValue) -> Result<()> {
        let item = || self.id.clone();
        let wrong_type = |expected| Error::WrongAnswerType {
            item: item(),
            expected,
        };
        let check_option = |options: &[ChoiceOption], code: &str| {
            if options.iter().any(|o| o.code == code) {
                Ok(())
            } else {
                Err(Error::InvalidChoice {
                    item: item(),
                    option: code.to_owned(),
                })
            }
        };
        match (&self.kind, value) {
            (ItemKind::YesNo, AnswerValue::YesNo(_)) => Ok(()),
            (ItemKind::YesNo, _) => Err(wrong_type("yes/no")),
            (ItemKind::SingleChoice { options }, AnswerValue::Choice(code)) => {
                check_option(options, code)
            }
            (ItemKind::SingleChoice { .. }, _) => Err(wrong_type("single choice")),
            (ItemKind::MultipleChoice { options }, AnswerValue::Choices(codes)) => {
                for (i, code) in codes.iter().enumerate() {
                    check_option(options, code)?;
                    if codes[..i].contains(code) {
                        return Err(Error::InvalidChoice {
                            item: item(),
                            option: code.clone(),
                        });
                    }
                }
                Ok(())
            }
            (ItemKind::MultipleChoice { .. }, _) => Err(wrong_type("multiple choice")),
            (ItemKind::Number { min, max, .. }, AnswerValue::Number(n)) => {
                if n.is_finite() && (*min..=*max).contains(n) {
                    Ok(())
                } else {
                    Err(Error::NumberOutOfRange {
                        item: item(),
                        min: *min,
                        max: *max,
                    })
                }
            }
            (ItemKind::Number { .. }, _) => Err(wrong_type("number")),
            (ItemKind::Text { max_chars }, AnswerValue::Text(text)) => {
                let max = *max_chars as usize;
                if text.chars().count() <= max {
                    Ok(())
                } else {
                    Err(Error::TextTooLong { field: item(), max })
                }
            }
            (ItemKind::Text { .. }, _) => Err(wrong_type("text")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn straw() -> ChecklistTemplate {
        defaults::template_for("straw_burning").unwrap()
    }

    fn answer(item: &str, value: AnswerValue) -> Answer {
        Answer {
            item_id: item.into(),
            value,
        }
    }

    #[test]
    fn default_templates_are_valid() {
        for (matter, _) in defaults::MATTERS {
            let template = defaults::template_for(matter).unwrap();
            template.check().unwrap();
            assert!(template.items.iter().any(|i| i.required));
        }
    }

    #[test]
    fn each_bad_answer_has_its_code() {
        let t = straw();
        let code = |a: Answer| t.check_answer(&a).unwrap_err().code();
        assert_eq!(
            code(answer("no_such_item", AnswerValue::YesNo(true))),
            "unknown_checklist_item"
        );
        assert_eq!(
            code(answer("fire_on_arrival", AnswerValue::Number(1.0))),
            "wrong_answer_type"
        );
        assert_eq!(
            code(answer("burned_area_mu", AnswerValue::Number(-1.0))),
            "number_out_of_range"
        );
        assert_eq!(
            code(answer("burned_area_mu", AnswerValue::Number(f64::NAN))),
            "number_out_of_range"
        );
        assert_eq!(
            code(answer("material", AnswerValue::Choice("coal".into()))),
            "invalid_choice"
        );
        assert_eq!(
            code(answer(
                "extinguish_method",
                AnswerValue::Choices(vec!["water".into(), "water".into()])
            )),
            "invalid_choice"
        );
        assert_eq!(
            code(answer("remarks", AnswerValue::Text("字".repeat(501)))),
            "text_too_long"
        );
        // Limits count characters, not bytes: 500 Chinese characters fit.
        t.check_answer(&answer("remarks", AnswerValue::Text("字".repeat(500))))
            .unwrap();
        t.check_answer(&answer("burned_area_mu", AnswerValue::Number(3.5)))
            .unwrap();
    }

    #[test]
    fn missing_required_lists_every_gap_in_order() {
        let t = straw();
        let all_required: Vec<&str> = t
            .items
            .iter()
            .filter(|i| i.required)
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(t.missing_required(&[]), all_required);
        let one = answer(all_required[0], AnswerValue::YesNo(true));
        assert_eq!(t.missing_required(&[one]), all_required[1..]);
    }

    #[test]
    fn broken_templates_are_refused() {
        let mut t = straw();
        t.items.push(t.items[0].clone());
        assert_eq!(t.check().unwrap_err().code(), "invalid_template");
        let mut t = straw();
        t.items[0].kind = ItemKind::Number {
            unit: "mu".into(),
            min: 5.0,
            max: 1.0,
        };
        assert!(t.check().is_err());
    }

    #[test]
    fn answers_parse_from_text_by_item_type() {
        let t = straw();
        let parse = |item: &str, text: &str| t.item(item).unwrap().parse_answer(text);
        assert_eq!(
            parse("fire_on_arrival", "是").unwrap(),
            AnswerValue::YesNo(true)
        );
        assert_eq!(
            parse("fire_on_arrival", "No").unwrap(),
            AnswerValue::YesNo(false)
        );
        assert_eq!(
            parse("burned_area_mu", " 2.5 ").unwrap(),
            AnswerValue::Number(2.5)
        );
        assert_eq!(
            parse("material", "rice_straw").unwrap(),
            AnswerValue::Choice("rice_straw".into())
        );
        assert_eq!(
            parse("extinguish_method", "water, soil_cover").unwrap(),
            AnswerValue::Choices(vec!["water".into(), "soil_cover".into()])
        );
        assert_eq!(
            parse("fire_on_arrival", "maybe").unwrap_err().code(),
            "wrong_answer_type"
        );
        assert_eq!(
            parse("burned_area_mu", "lots").unwrap_err().code(),
            "wrong_answer_type"
        );
        assert_eq!(
            parse("burned_area_mu", "inf").unwrap_err().code(),
            "number_out_of_range"
        );
        assert_eq!(
            parse("material", "coal").unwrap_err().code(),
            "invalid_choice"
        );
    }

    #[test]
    fn answers_round_trip_through_json() {
        let values = [
            AnswerValue::YesNo(false),
            AnswerValue::Choice("rice_straw".into()),
            AnswerValue::Choices(vec!["water".into()]),
            AnswerValue::Number(2.25),
            AnswerValue::Text("田埂边".into()),
        ];
        for v in values {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<AnswerValue>(&json).unwrap(), v);
        }
    }
}
