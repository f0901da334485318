//! NASA FIRMS active-fire CSV files as published: MODIS Collection 6.1
//! (`brightness`, `bright_t31`, numeric `confidence` 0–100) and VIIRS 375 m
//! (S-NPP, NOAA-20, NOAA-21: `bright_ti4`, `bright_ti5`, `instrument`,
//! `confidence` l/n/h); archive files add `type`. The product is told by the
//! header, and a column the product needs that is missing refuses the whole
//! file with its name.
//!
//! Read a row at a time with the `csv` crate, so a global daily file (100k to
//! 300k rows) is never held whole. A bad row is refused alone, with its line
//! and a stable code; the others go on. `acq_time` is HHMM in UTC and may lose
//! its leading zeros (`41` is 00:41).

use crate::error::{Error, Result};
use fieldproof_core::model::fire::FireProduct;
use fieldproof_core::time::{CivilTime, EARLIEST_MS};
use fieldproof_core::wire::fires::RejectedRow;
use std::io::Read;

/// One detection as read, positions in millionths of a degree (WGS-84).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub product: FireProduct,
    pub satellite: String,
    pub time_ms: i64,
    pub lat_e6: i32,
    pub lon_e6: i32,
    /// As written: 0–100 for MODIS, `l`/`n`/`h` for VIIRS (lower-cased).
    pub confidence: String,
    /// Fire radiative power in hundredths of a MW, when given.
    pub frp_cmw: Option<i64>,
    pub day: bool,
    /// Archive files' `type`: 0 vegetation fire (presumed), 1 active volcano,
    /// 2 other static land source, 3 offshore.
    pub fire_type: Option<u8>,
}

/// VIIRS confidence `l`/`n`/`h` as 0, 1, 2 (anything else 0).
pub fn viirs_level(confidence: &str) -> u8 {
    match confidence {
        "n" => 1,
        "h" => 2,
        _ => 0,
    }
}

/// Where each column is in this file.
struct Columns {
    latitude: usize,
    longitude: usize,
    acq_date: usize,
    acq_time: usize,
    satellite: usize,
    confidence: usize,
    daynight: usize,
    /// Numeric columns the product must have (brightness temperatures).
    numeric: Vec<usize>,
    frp: Option<usize>,
    fire_type: Option<usize>,
}

/// A FIRMS file, read row by row.
pub struct FirmsReader<R> {
    reader: csv::Reader<R>,
    pub product: FireProduct,
    columns: Columns,
    record: csv::StringRecord,
    /// Fields in the header: every row must have as many.
    header_len: usize,
    /// Line of the last row read (the header is line 1), counting a row a
    /// line; the csv crate passes over blank lines.
    line: u64,
    /// Times after this are refused (the clock plus a day of slack).
    latest_ms: i64,
}

/// A row: a detection, or the reason it was refused.
pub type RowResult = std::result::Result<Detection, RejectedRow>;

impl<R: Read> FirmsReader<R> {
    /// Reads the header; refuses a file that is not a FIRMS product
    /// (`unknown_fire_product`) or lacks a column its product needs
    /// (`missing_column`, naming it).
    pub fn new(input: R, now_ms: i64) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(input);
        let header = reader.headers().map_err(csv_error)?.clone();
        let names: Vec<String> = header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let product = if find("bright_ti4").is_some() {
            FireProduct::Viirs
        } else if find("brightness").is_some() {
            FireProduct::Modis
        } else {
            return Err(Error::UnknownFireProduct);
        };
        let required = |name: &'static str| find(name).ok_or(Error::MissingColumn { name });
        let numeric = match product {
            FireProduct::Modis => vec![required("brightness")?, required("bright_t31")?],
            FireProduct::Viirs => {
                required("instrument")?;
                vec![required("bright_ti4")?, required("bright_ti5")?]
            }
        };
        let columns = Columns {
            latitude: required("latitude")?,
            longitude: required("longitude")?,
            acq_date: required("acq_date")?,
            acq_time: required("acq_time")?,
            satellite: required("satellite")?,
            confidence: required("confidence")?,
            daynight: required("daynight")?,
            numeric,
            frp: find("frp"),
            fire_type: find("type"),
        };
        Ok(FirmsReader {
            reader,
            product,
            columns,
            record: csv::StringRecord::new(),
            header_len: names.len(),
            line: 1,
            latest_ms: now_ms + 86_400_000,
        })
    }

    /// The next row, `None` at the end of the file. A file that is not text
    /// at all, or that breaks off inside a quoted field, is refused whole.
    pub fn next_row(&mut self) -> Result<Option<RowResult>> {
        if !self
            .reader
            .read_record(&mut self.record)
            .map_err(csv_error)?
        {
            return Ok(None);
        }
        // One line per row, as FIRMS writes them (the csv crate's own line
        // count runs one short after CRLF line ends).
        self.line += 1;
        let line = self.line;
        Ok(Some(self.parse().map_err(|code| RejectedRow {
            line,
            code: code.to_owned(),
        })))
    }

    fn parse(&self) -> std::result::Result<Detection, &'static str> {
        let record = &self.record;
        let c = &self.columns;
        if record.len() != self.header_len {
            return Err("wrong_field_count");
        }
        let field = |i: usize| record[i].trim();
        let number = |i: usize| -> std::result::Result<f64, &'static str> {
            field(i)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or("invalid_number")
        };
        let (lat, lon) = (number(c.latitude)?, number(c.longitude)?);
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err("invalid_coordinate");
        }
        for &i in &c.numeric {
            number(i)?;
        }
        let frp_cmw = match c.frp.map(field).filter(|f| !f.is_empty()) {
            Some(text) => Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .map(|v| (v * 100.0).round() as i64)
                    .ok_or("invalid_number")?,
            ),
            None => None,
        };
        let time_ms = acquisition_ms(field(c.acq_date), field(c.acq_time)).ok_or("invalid_time")?;
        if !(EARLIEST_MS..=self.latest_ms).contains(&time_ms) {
            return Err("invalid_time");
        }
        let satellite = field(c.satellite);
        if satellite.is_empty() || satellite.len() > 8 || !satellite.is_ascii() {
            return Err("invalid_field");
        }
        let confidence = field(c.confidence).to_ascii_lowercase();
        let confidence = match self.product {
            FireProduct::Modis => match confidence.parse::<u8>() {
                Ok(v) if v <= 100 => v.to_string(),
                _ => return Err("invalid_field"),
            },
            FireProduct::Viirs => match confidence.as_str() {
                "l" | "low" => "l".to_owned(),
                "n" | "nominal" => "n".to_owned(),
                "h" | "high" => "h".to_owned(),
                _ => return Err("invalid_field"),
            },
        };
        let day = match field(c.daynight) {
            "D" | "d" => true,
            "N" | "n" => false,
            _ => return Err("invalid_field"),
        };
        let fire_type = match c.fire_type.map(field).filter(|f| !f.is_empty()) {
            Some(text) => Some(
                text.parse::<u8>()
                    .ok()
                    .filter(|t| *t <= 3)
                    .ok_or("invalid_field")?,
            ),
            None => None,
        };
        Ok(Detection {
            product: self.product,
            satellite: satellite.to_owned(),
            time_ms,
            lat_e6: (lat * 1e6).round() as i32,
            lon_e6: (lon * 1e6).round() as i32,
            confidence,
            frp_cmw,
            day,
            fire_type,
        })
    }
}

/// `acq_date` (YYYY-MM-DD) and `acq_time` (HHMM, leading zeros optional) as
/// UTC milliseconds.
fn acquisition_ms(date: &str, time: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let mut next = || parts.next()?.parse::<i64>().ok();
    let (year, month, day) = (next()?, next()?, next()?);
    if time.is_empty() || time.len() > 4 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hhmm: i64 = time.parse().ok()?;
    CivilTime {
        year,
        month,
        day,
        hour: hhmm / 100,
        minute: hhmm % 100,
        second: 0,
        millis: 0,
    }
    .to_ms()
}

fn csv_error(e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    Error::InvalidCsv {
        reason: match (e.kind(), line) {
            (csv::ErrorKind::Utf8 { .. }, Some(line)) => format!("line {line} is not UTF-8 text"),
            (csv::ErrorKind::Io(_), _) => "the file could not be read to its end".into(),
            (_, Some(line)) => format!("line {line} cannot be read as CSV"),
            _ => "the file cannot be read as CSV".into(),
        },
    }
}
