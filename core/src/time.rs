//! Times are UTC milliseconds since the Unix epoch, as integers: the one clock
//! and time check of the device and the bureau alike.

use crate::error::{Error, Result};
use std::time::{SystemTime, UNIX_EPOCH};

/// 2000-01-01T00:00:00Z: no inspection of this app happened before it, so an
/// earlier time is a broken clock or a unit mix-up (seconds for milliseconds).
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// 2100-01-01T00:00:00Z: a later time is a unit mix-up (microseconds), not a clock
/// that is merely wrong. Wrong-but-plausible clocks are accepted: they must never
/// stop an officer from recording.
pub const LATEST_MS: i64 = 4_102_444_800_000;

pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

pub fn check_time(ms: i64, field: &'static str) -> Result<i64> {
    if (EARLIEST_MS..LATEST_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(Error::InvalidTime { field })
    }
}

/// A date and time of day on the proleptic Gregorian calendar, as UTC: what GPX
/// and EXIF times are written in. Kept here rather than taken from a calendar
/// crate: these two conversions (Howard Hinnant's civil-date algorithms, exact
/// for any year, before 1970 included) are all the core needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub millis: i64,
}

impl CivilTime {
    /// Milliseconds since 1970, or `None` when this is no real date and time.
    /// Second 60 (a leap second) counts as the first second of the next minute.
    pub fn to_ms(&self) -> Option<i64> {
        let valid = (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && (0..24).contains(&self.hour)
            && (0..60).contains(&self.minute)
            && (0..=60).contains(&self.second)
            && (0..1_000).contains(&self.millis);
        let seconds = days_from_civil(self.year, self.month, self.day) * 86_400
            + self.hour * 3_600
            + self.minute * 60
            + self.second;
        valid.then_some(seconds * 1_000 + self.millis)
    }

    pub fn from_ms(ms: i64) -> Self {
        let seconds = ms.div_euclid(1_000);
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let of_day = seconds.rem_euclid(86_400);
        Self {
            year,
            month,
            day,
            hour: of_day / 3_600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
            millis: ms.rem_euclid(1_000),
        }
    }
}

/// RFC 3339 in UTC with milliseconds, `2026-12-03T16:00:41.000Z`, as GPX and
/// reports write times.
impl std::fmt::Display for CivilTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }
}

/// A time as [`CivilTime`]'s RFC 3339 text.
pub fn utc_text(ms: i64) -> String {
    CivilTime::from_ms(ms).to_string()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`]: (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> CivilTime {
        CivilTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millis: 0,
        }
    }

    #[test]
    fn civil_times_match_known_instants_and_round_trip() {
        assert_eq!(civil(1970, 1, 1, 0, 0, 0).to_ms(), Some(0));
        assert_eq!(civil(2000, 2, 29, 12, 0, 0).to_ms(), Some(951_825_600_000));
        assert_eq!(civil(1969, 12, 31, 23, 59, 59).to_ms(), Some(-1_000));
        assert_eq!(
            civil(2016, 12, 31, 23, 59, 60).to_ms(),
            civil(2017, 1, 1, 0, 0, 0).to_ms(),
            "a leap second is the next minute's first"
        );
        for bad in [
            civil(2023, 2, 29, 0, 0, 0),
            civil(2024, 13, 1, 0, 0, 0),
            civil(2024, 4, 31, 0, 0, 0),
            civil(2024, 1, 1, 24, 0, 0),
            civil(2024, 1, 0, 0, 0, 0),
        ] {
            assert_eq!(bad.to_ms(), None, "{bad:?}");
        }
        for ms in [
            0,
            -1,
            951_825_600_123,
            4_102_444_799_999,
            -62_135_596_800_000,
        ] {
            assert_eq!(CivilTime::from_ms(ms).to_ms(), Some(ms), "{ms}");
        }
    }
}
