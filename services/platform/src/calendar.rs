//! Working days and working hours, with holidays and make-up working days, for every deadline in
//! the mesh (review deadlines, arrival SLAs, return-visit due dates).
//!
//! A deadline of "N working days" is N × the length of a working day of *working time*, so a
//! claim opened on Friday at 17:00 with two working days (09:00–18:00) is due on Tuesday at 17:00.
//! Time outside working hours, on weekends and on holidays does not count. All arithmetic happens
//! in the department's local time (a fixed UTC offset), results are UTC instants.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Utc, Weekday,
};
use serde::{Deserialize, Serialize};
use sha2::Digest;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarSettings {
    /// Local time offset from UTC in minutes (China: 480).
    pub utc_offset_minutes: i32,
    /// Start of the working day, "HH:MM" local.
    pub work_start: String,
    /// End of the working day, "HH:MM" local.
    pub work_end: String,
    /// Weekdays that are not working days: "mon" … "sun".
    pub weekend: Vec<String>,
    /// Public holidays, "YYYY-MM-DD".
    pub holidays: Vec<String>,
    /// Weekend dates that are working days (make-up days around long holidays), "YYYY-MM-DD".
    pub extra_working_days: Vec<String>,
}

/// A problem in the calendar settings, naming the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError {
    pub key: String,
    pub message: String,
}

impl CalendarSettings {
    pub fn build(&self) -> Result<Calendar, CalendarError> {
        let err = |key: &str, message: String| CalendarError {
            key: key.into(),
            message,
        };
        let offset = FixedOffset::east_opt(self.utc_offset_minutes * 60).ok_or_else(|| {
            err(
                "calendar.utc_offset_minutes",
                "must be within ±24 hours".into(),
            )
        })?;
        let time = |key: &str, v: &str| {
            NaiveTime::parse_from_str(v, "%H:%M")
                .map_err(|_| err(key, format!("{v:?} is not HH:MM")))
        };
        let start = time("calendar.work_start", &self.work_start)?;
        let end = time("calendar.work_end", &self.work_end)?;
        if end <= start {
            return Err(err(
                "calendar.work_end",
                "must be after calendar.work_start".into(),
            ));
        }
        let mut weekend = Vec::new();
        for d in &self.weekend {
            let day = d.parse::<Weekday>().map_err(|_| {
                err(
                    "calendar.weekend",
                    format!("{d:?} is not a weekday (mon … sun)"),
                )
            })?;
            weekend.push(day);
        }
        if weekend.len() >= 7 {
            return Err(err("calendar.weekend", "leaves no working day".into()));
        }
        let dates = |key: &str, list: &[String]| {
            list.iter()
                .map(|d| {
                    NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                        .map_err(|_| err(key, format!("{d:?} is not a date YYYY-MM-DD")))
                })
                .collect::<Result<BTreeSet<_>, _>>()
        };
        Ok(Calendar {
            offset,
            start,
            end,
            weekend,
            holidays: dates("calendar.holidays", &self.holidays)?,
            extra_working_days: dates("calendar.extra_working_days", &self.extra_working_days)?,
        })
    }

    /// The settings with their lists trimmed, sorted and without repeats: two spellings of the
    /// same calendar are equal.
    pub fn canonical(&self) -> CalendarSettings {
        let sorted = |l: &[String]| {
            let mut v: Vec<String> = l.iter().map(|d| d.trim().to_ascii_lowercase()).collect();
            v.sort();
            v.dedup();
            v
        };
        CalendarSettings {
            utc_offset_minutes: self.utc_offset_minutes,
            work_start: self.work_start.trim().to_owned(),
            work_end: self.work_end.trim().to_owned(),
            weekend: sorted(&self.weekend),
            holidays: sorted(&self.holidays),
            extra_working_days: sorted(&self.extra_working_days),
        }
    }

    /// A short name of this calendar (its canonical form, hashed): a deadline records the
    /// calendar it was derived with, and one derived with another is re-derived (`sla`).
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(&self.canonical()).unwrap_or_default();
        hex::encode(&sha2::Sha256::digest(json.as_bytes())[..8])
    }

    /// What changed from `old` to these settings, in words ("holiday 2026-12-02 added"); empty
    /// when nothing did.
    pub fn describe_change_from(&self, old: &CalendarSettings) -> String {
        let (old, new) = (old.canonical(), self.canonical());
        let mut parts = Vec::new();
        let diff = |what: &str, a: &[String], b: &[String], parts: &mut Vec<String>| {
            for d in b.iter().filter(|d| !a.contains(d)) {
                parts.push(format!("{what} {d} added"));
            }
            for d in a.iter().filter(|d| !b.contains(d)) {
                parts.push(format!("{what} {d} removed"));
            }
        };
        diff("holiday", &old.holidays, &new.holidays, &mut parts);
        diff(
            "make-up working day",
            &old.extra_working_days,
            &new.extra_working_days,
            &mut parts,
        );
        if old.weekend != new.weekend {
            parts.push(format!(
                "weekend {} → {}",
                old.weekend.join("+"),
                new.weekend.join("+")
            ));
        }
        if (old.work_start.as_str(), old.work_end.as_str())
            != (new.work_start.as_str(), new.work_end.as_str())
        {
            parts.push(format!(
                "working hours {}–{} → {}–{}",
                old.work_start, old.work_end, new.work_start, new.work_end
            ));
        }
        if old.utc_offset_minutes != new.utc_offset_minutes {
            parts.push(format!(
                "UTC offset {} → {} minutes",
                old.utc_offset_minutes, new.utc_offset_minutes
            ));
        }
        parts.join(", ")
    }
}

/// The department's working calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    offset: FixedOffset,
    start: NaiveTime,
    end: NaiveTime,
    weekend: Vec<Weekday>,
    holidays: BTreeSet<NaiveDate>,
    extra_working_days: BTreeSet<NaiveDate>,
}

/// Far enough for any deadline; stops a loop on a calendar with no working days left.
const MAX_DAYS_SCANNED: i64 = 3660;

impl Calendar {
    /// Monday–Friday, 09:00–18:00 at the given offset, no holidays.
    pub fn standard(utc_offset_minutes: i32) -> Self {
        CalendarSettings {
            utc_offset_minutes,
            work_start: "09:00".into(),
            work_end: "18:00".into(),
            weekend: vec!["sat".into(), "sun".into()],
            holidays: vec![],
            extra_working_days: vec![],
        }
        .build()
        .unwrap_or_else(|_| unreachable_calendar())
    }

    pub fn with_holidays(mut self, holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(holidays);
        self
    }

    /// The department's local offset.
    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        self.local(at).date_naive()
    }

    /// The instant a local date begins (00:00 local).
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.instant(date, NaiveTime::MIN)
    }

    /// Length of one working day.
    pub fn day_length(&self) -> Duration {
        self.end - self.start
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.extra_working_days.contains(&date) {
            return true;
        }
        !self.holidays.contains(&date) && !self.weekend.contains(&date.weekday())
    }

    fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.offset)
    }

    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        // A fixed offset has no gaps or folds, so the mapping is always single.
        self.offset
            .from_local_datetime(&date.and_time(time))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&date.and_time(time)))
    }

    /// The working interval [start, end) of `date`, if it is a working day.
    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.is_working_day(date)
            .then(|| (self.instant(date, self.start), self.instant(date, self.end)))
    }

    /// The instant when `amount` of working time has passed after `from`.
    pub fn add_working_time(&self, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let mut left = amount.max(Duration::zero());
        if left.is_zero() {
            return from;
        }
        let mut date = self.local(from).date_naive();
        let mut cursor = from;
        for _ in 0..MAX_DAYS_SCANNED {
            if let Some((start, end)) = self.window(date) {
                let begin = cursor.max(start);
                if begin < end {
                    let available = end - begin;
                    if left <= available {
                        return begin + left;
                    }
                    left -= available;
                }
            }
            date = date.succ_opt().unwrap_or(date);
            cursor = self.instant(date, NaiveTime::MIN);
        }
        cursor
    }

    /// `days` working days of working time after `from` (see the module doc).
    pub fn add_working_days(&self, from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        self.add_working_time(from, self.day_length() * days as i32)
    }

    /// `hours` working hours after `from` (arrival SLAs).
    pub fn add_working_hours(&self, from: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
        self.add_working_time(from, Duration::hours(hours as i64))
    }

    /// The latest instant from which `amount` of working time has passed by `to`: the mirror of
    /// [`Calendar::add_working_time`] (a cut-off: whatever started before it has waited at
    /// least `amount` of working time by `to`).
    pub fn subtract_working_time(&self, to: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let mut left = amount.max(Duration::zero());
        if left.is_zero() {
            return to;
        }
        let mut date = self.local(to).date_naive();
        let mut cursor = to;
        for _ in 0..MAX_DAYS_SCANNED {
            if let Some((start, end)) = self.window(date) {
                let finish = cursor.min(end);
                if finish > start {
                    let available = finish - start;
                    if left <= available {
                        return finish - left;
                    }
                    left -= available;
                }
            }
            cursor = self.instant(date, NaiveTime::MIN);
            date = date.pred_opt().unwrap_or(date);
        }
        cursor
    }

    /// Working time between two instants (zero when `to` is not after `from`). Used to pause a
    /// deadline: the remaining working time is kept and added again on resume.
    pub fn working_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let mut total = Duration::zero();
        let mut date = self.local(from).date_naive();
        let last = self.local(to).date_naive();
        for _ in 0..MAX_DAYS_SCANNED {
            if let Some((start, end)) = self.window(date) {
                let a = from.max(start);
                let b = to.min(end);
                if b > a {
                    total += b - a;
                }
            }
            if date >= last {
                break;
            }
            date = date.succ_opt().unwrap_or(date);
        }
        total
    }
}

fn unreachable_calendar() -> Calendar {
    // Only reached if the literal settings in `standard` were invalid; keep a sane fallback
    // instead of panicking.
    Calendar {
        offset: Utc.fix(),
        start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
        end: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN),
        weekend: vec![Weekday::Sat, Weekday::Sun],
        holidays: BTreeSet::new(),
        extra_working_days: BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn subtracting_working_time_undoes_adding_it(secs in 0i64..(86_400 * 40), minutes in 1i64..(60 * 24 * 10)) {
            let c = cal();
            let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap() + Duration::seconds(secs);
            let amount = Duration::minutes(minutes);
            let from = c.subtract_working_time(t0, amount);
            prop_assert!(from <= t0);
            prop_assert_eq!(c.working_time_between(from, t0), amount.min(c.working_time_between(from, t0)));
            prop_assert!(c.working_time_between(from, t0) >= amount);
            // And it is the latest such instant: a second later is short of it.
            prop_assert!(c.working_time_between(from + Duration::seconds(1), t0) < amount);
        }
    }

    fn cal() -> Calendar {
        Calendar::standard(480)
    }

    /// Local (UTC+8) time to UTC.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn two_working_days_from_friday_afternoon_end_on_tuesday() {
        // 2026-11-20 is a Friday.
        assert_eq!(
            cal().add_working_days(at(2026, 11, 20, 17, 0), 2),
            at(2026, 11, 24, 17, 0)
        );
    }

    #[test]
    fn a_request_on_saturday_counts_from_monday_morning() {
        assert_eq!(
            cal().add_working_days(at(2026, 11, 21, 11, 0), 1),
            at(2026, 11, 23, 18, 0)
        );
    }

    #[test]
    fn a_holiday_is_skipped() {
        let c = cal().with_holidays([NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()]);
        assert_eq!(
            c.add_working_days(at(2026, 11, 20, 17, 0), 2),
            at(2026, 11, 25, 17, 0)
        );
    }

    #[test]
    fn a_make_up_saturday_is_a_working_day() {
        let c = CalendarSettings {
            utc_offset_minutes: 480,
            work_start: "09:00".into(),
            work_end: "18:00".into(),
            weekend: vec!["sat".into(), "sun".into()],
            holidays: vec![],
            extra_working_days: vec!["2026-11-21".into()],
        }
        .build()
        .unwrap();
        assert_eq!(
            c.add_working_days(at(2026, 11, 20, 17, 0), 1),
            at(2026, 11, 21, 17, 0)
        );
    }

    #[test]
    fn working_hours_cross_the_night() {
        // 6 working hours from 15:00: 3 today, 3 tomorrow morning.
        assert_eq!(
            cal().add_working_hours(at(2026, 11, 19, 15, 0), 6),
            at(2026, 11, 20, 12, 0)
        );
    }

    #[test]
    fn the_fingerprint_ignores_spelling_and_a_change_is_described_in_words() {
        let a = CalendarSettings {
            utc_offset_minutes: 480,
            work_start: "09:00".into(),
            work_end: "18:00".into(),
            weekend: vec!["sun".into(), "sat".into()],
            holidays: vec!["2026-12-01".into()],
            extra_working_days: vec![],
        };
        let mut b = a.clone();
        b.weekend = vec!["sat".into(), "Sun".into()];
        b.holidays = vec![" 2026-12-01".into(), "2026-12-01".into()];
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(b.describe_change_from(&a), "");
        b.holidays.push("2026-12-02".into());
        b.extra_working_days.push("2026-12-05".into());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            b.describe_change_from(&a),
            "holiday 2026-12-02 added, make-up working day 2026-12-05 added"
        );
        assert_eq!(
            a.describe_change_from(&b),
            "holiday 2026-12-02 removed, make-up working day 2026-12-05 removed"
        );
    }

    #[test]
    fn bad_settings_name_the_key() {
        let mut s = CalendarSettings {
            utc_offset_minutes: 480,
            work_start: "9am".into(),
            work_end: "18:00".into(),
            weekend: vec![],
            holidays: vec![],
            extra_working_days: vec![],
        };
        assert_eq!(s.build().unwrap_err().key, "calendar.work_start");
        s.work_start = "09:00".into();
        s.holidays = vec!["2026-13-01".into()];
        assert_eq!(s.build().unwrap_err().key, "calendar.holidays");
    }

    proptest! {
        #[test]
        fn adding_then_measuring_working_time_round_trips(
            start_min in 0i64..(60 * 24 * 60), minutes in 0i64..(60 * 9 * 20)
        ) {
            let c = cal().with_holidays([NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()]);
            let from = at(2026, 11, 1, 0, 0) + Duration::minutes(start_min);
            let due = c.add_working_time(from, Duration::minutes(minutes));
            prop_assert!(due >= from);
            prop_assert_eq!(c.working_time_between(from, due), Duration::minutes(minutes));
        }

        #[test]
        fn more_working_time_never_ends_earlier(a in 0i64..5000, b in 0i64..5000) {
            let from = at(2026, 11, 20, 10, 0);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(cal().add_working_time(from, Duration::minutes(lo))
                <= cal().add_working_time(from, Duration::minutes(hi)));
        }
    }
}
