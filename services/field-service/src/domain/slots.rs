//! Appointment slots: a slot is one window of one technician. Windows tile each working day of
//! the platform calendar from the start of working hours, `window_minutes` long (policy data);
//! a rest shorter than a window is no window. A technician's daily capacity is how many windows
//! they work. Suggestions rank free slots by territory, load, the arrival deadline and how soon.

use aftersales_platform::calendar::Calendar;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// One appointment window, [from, to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The windows of the department's working days.
#[derive(Debug, Clone)]
pub struct Windows {
    offset: FixedOffset,
    start: NaiveTime,
    end: NaiveTime,
    length: Duration,
}

impl Windows {
    /// `start`/`end`: the calendar's working hours (local), already validated by the platform.
    pub fn new(offset: FixedOffset, start: NaiveTime, end: NaiveTime, minutes: u32) -> Self {
        Self {
            offset,
            start,
            end,
            length: Duration::minutes(minutes as i64),
        }
    }

    pub fn length(&self) -> Duration {
        self.length
    }

    /// How many windows a working day has (the largest daily capacity).
    pub fn per_day(&self) -> u32 {
        let day = self.end - self.start;
        (day.num_minutes() / self.length.num_minutes().max(1)).max(0) as u32
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }

    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        self.offset
            .from_local_datetime(&date.and_time(time))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&date.and_time(time)))
    }

    /// The windows of `date`, none on a day off.
    pub fn of_day(&self, calendar: &Calendar, date: NaiveDate) -> Vec<Window> {
        if !calendar.is_working_day(date) {
            return vec![];
        }
        let first = self.instant(date, self.start);
        (0..self.per_day())
            .map(|i| {
                let from = first + self.length * i as i32;
                Window {
                    from,
                    to: from + self.length,
                }
            })
            .collect()
    }

    /// The window starting at `from`; `to`, when given, must be its end. Worded for the caller
    /// (`window.from: …`).
    pub fn window_at(
        &self,
        calendar: &Calendar,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Window, (&'static str, String)> {
        let date = self.local_date(from);
        let days = self.of_day(calendar, date);
        if days.is_empty() {
            return Err(("window.from", format!("{date} is not a working day")));
        }
        let Some(w) = days.into_iter().find(|w| w.from == from) else {
            let starts: Vec<String> = self
                .of_day(calendar, date)
                .iter()
                .map(|w| {
                    w.from
                        .with_timezone(&self.offset)
                        .format("%H:%M")
                        .to_string()
                })
                .collect();
            return Err((
                "window.from",
                format!(
                    "must be the start of a {}-minute window ({} local time)",
                    self.length.num_minutes(),
                    starts.join(", ")
                ),
            ));
        };
        match to {
            Some(t) if t != w.to => Err((
                "window.to",
                format!("must be empty or the window's end ({})", w.to.to_rfc3339()),
            )),
            _ => Ok(w),
        }
    }
}

/// A free slot of a technician who could do the job, with what ranks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub technician_id: String,
    pub technician_name: String,
    pub window: Window,
    /// The technician's appointments on the window's day.
    pub booked: u32,
    pub capacity: u32,
    pub territory_match: bool,
}

/// A ranked slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub candidate: Candidate,
    pub before_arrival_due: bool,
    pub score: i32,
    pub reasons: Vec<String>,
}

/// Ranks `candidates` (free slots of technicians with the skill and region) best first:
/// a window before the arrival deadline first, then the technician's territory, then the
/// lighter load of the day, then the earlier window. Ties go to the lower technician id, so
/// the order is the same for every caller.
pub fn rank(
    candidates: Vec<Candidate>,
    due: Option<DateTime<Utc>>,
    first_day: NaiveDate,
    windows: &Windows,
) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = candidates
        .into_iter()
        .map(|c| {
            let before = due.is_none_or(|d| c.window.from <= d);
            let mut score = 1000;
            let mut reasons = Vec::new();
            if before {
                score += 400;
                if due.is_some() {
                    reasons.push("arrives before the arrival deadline".to_owned());
                }
            } else {
                reasons.push("after the arrival deadline".to_owned());
            }
            if c.territory_match {
                score += 200;
                reasons.push("the site is in the technician's territory".to_owned());
            }
            // Load: up to 150 points for a free day.
            let load = if c.capacity == 0 {
                1.0
            } else {
                f64::from(c.booked) / f64::from(c.capacity)
            };
            score += (150.0 * (1.0 - load)).round() as i32;
            reasons.push(format!(
                "{} of {} slots booked that day",
                c.booked, c.capacity
            ));
            let days_out = (windows.local_date(c.window.from) - first_day).num_days();
            score -= (days_out * 20) as i32;
            Suggestion {
                candidate: c,
                before_arrival_due: before,
                score,
                reasons,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.candidate.window.from.cmp(&b.candidate.window.from))
            .then(a.candidate.technician_id.cmp(&b.candidate.technician_id))
    });
    out
}

/// Whether a site address lies in one of `territories` (districts, postcodes): a territory
/// named in the address, case-insensitively.
pub fn in_territory(address: &str, territories: &[String]) -> bool {
    let a = address.to_lowercase();
    territories
        .iter()
        .map(|t| t.trim().to_lowercase())
        .any(|t| !t.is_empty() && a.contains(&t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn windows() -> Windows {
        Windows::new(
            FixedOffset::east_opt(8 * 3600).unwrap(),
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            120,
        )
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_working_day_has_four_two_hour_windows_and_a_weekend_none() {
        let cal = Calendar::standard(480);
        let w = windows();
        assert_eq!(w.per_day(), 4);
        let thursday = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        let days = w.of_day(&cal, thursday);
        assert_eq!(days.len(), 4);
        assert_eq!(days[0].from, at(19, 9));
        assert_eq!(days[3].to, at(19, 17));
        assert!(
            w.of_day(&cal, NaiveDate::from_ymd_opt(2026, 11, 21).unwrap())
                .is_empty()
        );
    }

    #[test]
    fn only_a_window_start_books_and_the_end_must_match() {
        let cal = Calendar::standard(480);
        let w = windows();
        assert_eq!(w.window_at(&cal, at(19, 11), None).unwrap().to, at(19, 13));
        assert_eq!(
            w.window_at(&cal, at(19, 10), None).unwrap_err().0,
            "window.from"
        );
        assert_eq!(
            w.window_at(&cal, at(19, 17), None).unwrap_err().0,
            "window.from"
        );
        assert_eq!(
            w.window_at(&cal, at(19, 11), Some(at(19, 12)))
                .unwrap_err()
                .0,
            "window.to"
        );
        assert!(
            w.window_at(&cal, at(22, 9), None)
                .unwrap_err()
                .1
                .contains("not a working day")
        );
    }

    fn cand(id: &str, d: u32, h: u32, booked: u32, territory: bool) -> Candidate {
        Candidate {
            technician_id: id.into(),
            technician_name: id.into(),
            window: Window {
                from: at(d, h),
                to: at(d, h + 2),
            },
            booked,
            capacity: 4,
            territory_match: territory,
        }
    }

    #[test]
    fn a_slot_before_the_deadline_in_the_territory_with_a_light_day_comes_first() {
        let first = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        let ranked = rank(
            vec![
                cand("T-B", 19, 9, 3, true),
                cand("T-C", 20, 9, 0, true),
                cand("T-A", 19, 11, 0, true),
                cand("T-D", 19, 9, 0, false),
            ],
            Some(at(19, 15)),
            first,
            &windows(),
        );
        let order: Vec<&str> = ranked
            .iter()
            .map(|s| s.candidate.technician_id.as_str())
            .collect();
        assert_eq!(order, ["T-A", "T-B", "T-D", "T-C"]);
        assert!(!ranked[3].before_arrival_due);
    }

    #[test]
    fn territories_match_inside_the_address_whatever_the_case() {
        let t = vec!["Pudong".to_owned(), " 200120 ".to_owned()];
        assert!(in_territory("88 Century Avenue, pudong, Shanghai", &t));
        assert!(in_territory("Shanghai 200120", &t));
        assert!(!in_territory("Xuhui, Shanghai", &t));
        assert!(!in_territory("anything", &[" ".to_owned()]));
    }

    proptest! {
        #[test]
        fn windows_tile_the_working_day_without_overlap(minutes in 15u32..=540) {
            let w = Windows::new(
                FixedOffset::east_opt(8 * 3600).unwrap(),
                NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
                minutes,
            );
            let cal = Calendar::standard(480);
            let day = w.of_day(&cal, NaiveDate::from_ymd_opt(2026, 11, 19).unwrap());
            prop_assert_eq!(day.len() as u32, w.per_day());
            for pair in day.windows(2) {
                prop_assert_eq!(pair[0].to, pair[1].from);
            }
            if let Some(last) = day.last() {
                prop_assert!(last.to <= at(19, 18));
            }
            for win in &day {
                prop_assert_eq!(w.window_at(&cal, win.from, Some(win.to)).unwrap(), *win);
            }
        }

        #[test]
        fn ranking_keeps_every_candidate_once_and_is_ordered(
            specs in proptest::collection::vec((0u32..4, 0u32..4, 0u32..4, any::<bool>()), 0..20)
        ) {
            let c: Vec<Candidate> = specs.iter().enumerate()
                .map(|(i, (d, h, b, t))| cand(&format!("T-{i:02}"), 19 + d, 9 + 2 * h, *b, *t))
                .collect();
            let n = c.len();
            let ranked = rank(c, Some(at(20, 12)), NaiveDate::from_ymd_opt(2026, 11, 19).unwrap(), &windows());
            prop_assert_eq!(ranked.len(), n);
            for pair in ranked.windows(2) {
                prop_assert!(pair[0].score >= pair[1].score);
            }
        }
    }
}
