//! The SLA clock as a pure function: marks (start, pauses and resumes, stop, each dated by the
//! `occurred_at` of the request's own event that made it) + a budget (from the policy version)
//! + the working calendar → the deadline and the working time used.
//!
//! The marks are a set, not a sequence: [`Marks::add`] keeps them in one canonical order and
//! ignores a mark it holds already (a redelivered event), so the same marks give the same
//! [`Derived`] whatever order they arrived in. How they combine:
//!
//! - The clock starts at the earliest start and stops at the earliest stop (never before it
//!   started).
//! - A pause and its resume share a `key` (`info:2`, `parts`); the clock does not run from the
//!   pause to the resume. A resume dated before its pause makes the pause void (the parts were
//!   there before the job began waiting for them); a pause with no resume yet holds until one
//!   comes. Several pauses under one key pair with their resumes by rank: give each pause a key
//!   of its own.
//! - The budget is working time ([`Budget::Working`]: N working days or hours of the calendar
//!   while the clock runs) or a fixed instant a person gave ([`Budget::Until`]: the supplier's
//!   promised date), which neither the calendar nor pauses move.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    Start,
    Pause,
    Resume,
    Stop,
}

/// One input of a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub kind: MarkKind,
    /// When it happened (the event's `occurred_at`), not when it was handled.
    pub at: DateTime<Utc>,
    /// Pairs a pause with its resume; empty for a start or a stop.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// What recorded it (an event id, a command): the same source gives a mark once.
    pub source: String,
}

impl Mark {
    pub fn start(at: DateTime<Utc>, source: impl Into<String>) -> Self {
        Self::new(MarkKind::Start, at, "", source)
    }

    pub fn stop(at: DateTime<Utc>, source: impl Into<String>) -> Self {
        Self::new(MarkKind::Stop, at, "", source)
    }

    pub fn pause(key: impl Into<String>, at: DateTime<Utc>, source: impl Into<String>) -> Self {
        Self::new(MarkKind::Pause, at, key, source)
    }

    pub fn resume(key: impl Into<String>, at: DateTime<Utc>, source: impl Into<String>) -> Self {
        Self::new(MarkKind::Resume, at, key, source)
    }

    fn new(
        kind: MarkKind,
        at: DateTime<Utc>,
        key: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            at,
            key: key.into(),
            source: source.into(),
        }
    }

    fn identity(&self) -> (MarkKind, &str, &str) {
        (self.kind, &self.key, &self.source)
    }

    fn order(&self) -> (DateTime<Utc>, MarkKind, &str, &str) {
        (self.at, self.kind, &self.key, &self.source)
    }
}

/// A clock's marks, as a set in canonical order (time, kind, key, source).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Marks(Vec<Mark>);

impl Marks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `m`; false when nothing changed (the same mark from the same source is there). Were
    /// one source to give two dates, the earlier is kept, so the result still does not depend on
    /// the order of arrival.
    pub fn add(&mut self, m: Mark) -> bool {
        if let Some(i) = self.0.iter().position(|x| x.identity() == m.identity()) {
            if self.0[i].order() <= m.order() {
                return false;
            }
            self.0.remove(i);
        }
        let pos = self.0.partition_point(|x| x.order() <= m.order());
        self.0.insert(pos, m);
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = &Mark> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn first(&self, kind: MarkKind) -> Option<DateTime<Utc>> {
        self.0.iter().filter(|m| m.kind == kind).map(|m| m.at).min()
    }

    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.first(MarkKind::Start)
    }

    pub fn stopped_at(&self) -> Option<DateTime<Utc>> {
        self.first(MarkKind::Stop)
    }

    /// How many pauses were recorded (a service numbers its pause keys with it).
    pub fn pauses(&self) -> usize {
        self.0.iter().filter(|m| m.kind == MarkKind::Pause).count()
    }

    /// The keys of pauses that have no resume yet.
    pub fn open_pauses(&self) -> Vec<String> {
        self.pause_intervals()
            .into_iter()
            .filter(|(_, _, end)| end.is_none())
            .map(|(k, _, _)| k)
            .collect()
    }

    /// Every pause as (key, from, until); `until` is `None` while it holds. Void pauses (resumed
    /// before they began) are left out.
    fn pause_intervals(&self) -> Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> {
        // Per key: its pauses and its resumes.
        type Times = Vec<DateTime<Utc>>;
        let mut by_key: BTreeMap<&str, (Times, Times)> = BTreeMap::new();
        for m in &self.0 {
            match m.kind {
                MarkKind::Pause => by_key.entry(&m.key).or_default().0.push(m.at),
                MarkKind::Resume => by_key.entry(&m.key).or_default().1.push(m.at),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (key, (mut pauses, mut resumes)) in by_key {
            pauses.sort();
            resumes.sort();
            for (i, from) in pauses.iter().enumerate() {
                match resumes.get(i) {
                    Some(until) if until > from => out.push((key.to_owned(), *from, Some(*until))),
                    Some(_) => {}
                    None => out.push((key.to_owned(), *from, None)),
                }
            }
        }
        out
    }
}

impl FromIterator<Mark> for Marks {
    fn from_iter<I: IntoIterator<Item = Mark>>(iter: I) -> Self {
        let mut marks = Marks::new();
        for m in iter {
            marks.add(m);
        }
        marks
    }
}

/// How long the clock may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// This much working time (milliseconds) while the clock runs.
    Working { ms: i64 },
    /// A fixed deadline a person gave; the calendar and pauses do not move it.
    Until { at: DateTime<Utc> },
}

impl Budget {
    pub fn working(amount: Duration) -> Self {
        Budget::Working {
            ms: amount.num_milliseconds().max(0),
        }
    }

    /// N working days of the calendar (N × the length of its working day).
    pub fn working_days(calendar: &Calendar, days: u32) -> Self {
        Self::working(calendar.day_length() * days as i32)
    }

    pub fn working_hours(hours: u32) -> Self {
        Self::working(Duration::hours(hours as i64))
    }

    pub fn until(at: DateTime<Utc>) -> Self {
        Budget::Until { at }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    NotStarted,
    Running,
    Paused,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::NotStarted => "not_started",
            State::Running => "running",
            State::Paused => "paused",
            State::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        [
            State::NotStarted,
            State::Running,
            State::Paused,
            State::Stopped,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// What the marks, the budget and the calendar say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub state: State,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// Running: since when it runs uninterrupted; paused: since when it is paused; stopped: the
    /// stop.
    pub since: Option<DateTime<Utc>>,
    /// The instant the budget runs out: while running, the deadline; paused or stopped, the
    /// instant it ran out if it did before, or (stopped while running) the deadline it ran
    /// against. `None` while paused with time left, or not started.
    pub due_at: Option<DateTime<Utc>>,
    /// Working time used up to `since` (a running clock uses more as time passes:
    /// [`Derived::used_at`]).
    pub used: Duration,
    /// Budget left at `since` (never negative; zero for a fixed deadline).
    pub left: Duration,
}

impl Derived {
    /// Working time used by `now`.
    pub fn used_at(&self, calendar: &Calendar, now: DateTime<Utc>) -> Duration {
        match (self.state, self.since) {
            (State::Running, Some(since)) => self.used + calendar.working_time_between(since, now),
            _ => self.used,
        }
    }

    /// When the deadline was missed, if it was by `now` (for a paused or stopped clock: before
    /// it paused or stopped). Stopping exactly at the deadline is on time.
    pub fn breached_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let end = match self.state {
            State::NotStarted => return None,
            State::Running => now,
            State::Paused | State::Stopped => self.since?,
        };
        self.due_at.filter(|due| *due < end)
    }

    /// Whether the clock still runs or waits (not stopped).
    pub fn is_open(&self) -> bool {
        self.state != State::Stopped
    }
}

/// The clock's deadline and time used: a pure function of its marks, budget and calendar.
pub fn derive(marks: &Marks, budget: &Budget, calendar: &Calendar) -> Derived {
    let total = match budget {
        Budget::Working { ms } => Duration::milliseconds(*ms),
        Budget::Until { .. } => Duration::zero(),
    };
    let Some(start) = marks.started_at() else {
        return Derived {
            state: State::NotStarted,
            started_at: None,
            stopped_at: None,
            since: None,
            due_at: None,
            used: Duration::zero(),
            left: total,
        };
    };
    let stop = marks.stopped_at().map(|s| s.max(start));
    let runs = running_intervals(start, stop, marks);
    let state = match (stop, runs.last()) {
        (Some(_), _) => State::Stopped,
        (None, Some((_, None))) => State::Running,
        (None, _) => State::Paused,
    };
    let since = match state {
        State::Running => runs.last().map(|(a, _)| *a),
        State::Stopped => stop,
        // Paused: since the last run ended, or from the start if it never ran.
        _ => Some(runs.last().and_then(|(_, b)| *b).unwrap_or(start)),
    };
    let mut used = Duration::zero();
    let mut due = None;
    let mut last_run = None;
    for (a, b) in &runs {
        let left = (total - used).max(Duration::zero());
        match b {
            Some(b) => {
                let available = calendar.working_time_between(*a, *b);
                if due.is_none() && available >= left {
                    due = Some(calendar.add_working_time(*a, left));
                }
                last_run = Some((*a, *b, left));
                used += available;
            }
            None => {
                if due.is_none() {
                    due = Some(calendar.add_working_time(*a, left));
                }
            }
        }
    }
    // Stopped while running with time left: the deadline it ran against.
    if let (State::Stopped, None, Some((a, b, left)), Some(s)) = (state, due, last_run, stop)
        && b == s
    {
        due = Some(calendar.add_working_time(a, left));
    }
    if let Budget::Until { at } = budget {
        due = Some(*at);
    }
    Derived {
        state,
        started_at: Some(start),
        stopped_at: stop,
        since,
        due_at: due,
        used,
        left: match budget {
            Budget::Working { .. } => (total - used).max(Duration::zero()),
            Budget::Until { .. } => Duration::zero(),
        },
    }
}

/// The intervals in which the clock runs: from its start to its stop (or open), less the
/// pauses. The last one is open (`None`) when the clock runs on.
fn running_intervals(
    start: DateTime<Utc>,
    stop: Option<DateTime<Utc>>,
    marks: &Marks,
) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let mut pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = marks
        .pause_intervals()
        .into_iter()
        .map(|(_, a, b)| (a, b))
        .collect();
    pauses.sort();
    let before_stop = |t: DateTime<Utc>| stop.is_none_or(|s| t < s);
    let clamp = |b: Option<DateTime<Utc>>| match (b, stop) {
        (Some(b), Some(s)) => Some(b.min(s)),
        (None, s) => s,
        (b, None) => b,
    };
    let mut runs = Vec::new();
    let mut cursor = Some(start);
    for (pa, pb) in pauses {
        let Some(c) = cursor else { break };
        if pb.is_some_and(|pb| pb <= c) {
            continue;
        }
        if pa > c && before_stop(c) {
            let end = clamp(Some(pa));
            if end.is_none_or(|e| e > c) {
                runs.push((c, end));
            }
        }
        cursor = pb.map(|pb| pb.max(c));
    }
    if let Some(c) = cursor
        && before_stop(c)
    {
        runs.push((c, clamp(None)));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone, Timelike, Weekday};
    use proptest::prelude::*;

    /// Local (UTC+8) time to UTC.
    fn at(d: u32, h: u32, min: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn cal() -> Calendar {
        Calendar::standard(480)
    }

    fn two_days() -> Budget {
        Budget::working_days(&cal(), 2)
    }

    #[test]
    fn a_running_clock_is_due_after_its_working_time() {
        // 2026-11-20 is a Friday: Friday 17:00 + 2 working days → Tuesday 17:00.
        let marks: Marks = [Mark::start(at(20, 17, 0), "opened")].into_iter().collect();
        let d = derive(&marks, &two_days(), &cal());
        assert_eq!(d.state, State::Running);
        assert_eq!(d.due_at, Some(at(24, 17, 0)));
        assert_eq!(d.used_at(&cal(), at(23, 10, 0)), Duration::hours(2));
        assert_eq!(
            d.breached_at(at(24, 17, 0)),
            None,
            "at the deadline: on time"
        );
        assert_eq!(d.breached_at(at(24, 17, 1)), Some(at(24, 17, 0)));
    }

    #[test]
    fn a_pause_keeps_the_time_left_and_the_resume_adds_it_again() {
        let c = cal().with_holidays([NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()]);
        let mut marks: Marks = [
            Mark::start(at(18, 9, 0), "opened"),
            Mark::pause("info:1", at(18, 15, 0), "asked"),
        ]
        .into_iter()
        .collect();
        let d = derive(&marks, &two_days(), &c);
        assert_eq!(d.state, State::Paused);
        assert_eq!((d.due_at, d.left), (None, Duration::hours(12)));
        assert_eq!(marks.open_pauses(), vec!["info:1".to_owned()]);
        // The branch answers Friday 16:00; the Monday holiday does not count.
        marks.add(Mark::resume("info:1", at(20, 16, 0), "answered"));
        let d = derive(&marks, &two_days(), &c);
        assert_eq!(d.state, State::Running);
        assert_eq!(d.due_at, Some(at(25, 10, 0)));
        assert!(marks.open_pauses().is_empty());
    }

    #[test]
    fn a_resume_dated_before_its_pause_makes_the_pause_void() {
        // The parts arrived at 09:00, the job that would have waited for them opened at 10:00.
        let marks: Marks = [
            Mark::start(at(19, 10, 0), "approved"),
            Mark::pause("parts", at(19, 10, 0), "approved"),
            Mark::resume("parts", at(19, 9, 0), "delivered"),
        ]
        .into_iter()
        .collect();
        let d = derive(&marks, &Budget::working_hours(6), &cal());
        assert_eq!(d.state, State::Running);
        assert_eq!(d.due_at, Some(at(19, 16, 0)));
    }

    #[test]
    fn a_stopped_clock_keeps_the_deadline_it_ran_against_and_says_whether_it_was_met() {
        let marks: Marks = [
            Mark::start(at(19, 9, 0), "call"),
            Mark::stop(at(19, 16, 30), "arrived"),
        ]
        .into_iter()
        .collect();
        let d = derive(&marks, &Budget::working_hours(6), &cal());
        assert_eq!(d.state, State::Stopped);
        assert_eq!(d.due_at, Some(at(19, 15, 0)));
        assert_eq!(d.breached_at(at(30, 0, 0)), Some(at(19, 15, 0)));
        assert_eq!(d.used, Duration::minutes(450));
    }

    #[test]
    fn a_fixed_deadline_ignores_the_calendar_and_a_redelivered_mark_changes_nothing() {
        let mut marks = Marks::new();
        assert!(marks.add(Mark::start(at(19, 9, 0), "issued")));
        assert!(!marks.add(Mark::start(at(19, 9, 0), "issued")));
        let d = derive(&marks, &Budget::until(at(28, 12, 0)), &cal());
        assert_eq!(d.due_at, Some(at(28, 12, 0)));
        assert_eq!(d.state, State::Running);
    }

    // ---- property: any delivery order derives what the time order derives -------------------

    /// 2026-11-30, a Monday, 00:00 UTC; the tests' calendar is UTC 09:00–18:00, Monday–Friday,
    /// with Wednesday 2026-12-02 a holiday.
    fn base() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
    }

    fn holiday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    }

    fn utc_cal() -> Calendar {
        Calendar::standard(0).with_holidays([holiday()])
    }

    fn minute(m: i64) -> DateTime<Utc> {
        base() + Duration::minutes(m)
    }

    /// The calendar, written out independently of [`Calendar`]: whether minute `m` is working
    /// time.
    fn working_minute(m: i64) -> bool {
        let t = minute(m);
        !matches!(t.weekday(), Weekday::Sat | Weekday::Sun)
            && t.date_naive() != holiday()
            && (9..18).contains(&t.hour())
    }

    /// What a random request did to its clock, in minutes after [`base`].
    #[derive(Debug, Clone)]
    struct Story {
        starts: Vec<i64>,
        stop: Option<i64>,
        /// One pause per key, with or without its resume (which may come before it).
        pauses: Vec<(i64, Option<i64>)>,
        budget_minutes: i64,
    }

    impl Story {
        fn marks(&self) -> Vec<Mark> {
            let mut v = Vec::new();
            for (i, s) in self.starts.iter().enumerate() {
                v.push(Mark::start(minute(*s), format!("start-{i}")));
            }
            if let Some(s) = self.stop {
                v.push(Mark::stop(minute(s), "stop"));
            }
            for (i, (p, r)) in self.pauses.iter().enumerate() {
                let key = format!("k{i}");
                v.push(Mark::pause(&key, minute(*p), format!("pause-{i}")));
                if let Some(r) = r {
                    v.push(Mark::resume(&key, minute(*r), format!("resume-{i}")));
                }
            }
            v
        }
    }

    const SPAN: i64 = 6 * 24 * 60;

    fn story() -> impl Strategy<Value = Story> {
        (
            proptest::collection::vec(0..SPAN, 0..3),
            proptest::option::weighted(0.4, 0..SPAN),
            proptest::collection::vec((0..SPAN, proptest::option::weighted(0.8, 0..SPAN)), 0..4),
            1i64..(3 * 9 * 60),
        )
            .prop_map(|(starts, stop, pauses, budget_minutes)| Story {
                starts,
                stop,
                pauses,
                budget_minutes,
            })
    }

    /// Deliveries: every mark at least once (some twice: redeliveries), in a random order.
    fn deliveries() -> impl Strategy<Value = (Story, Vec<Mark>)> {
        story().prop_flat_map(|s| {
            let marks = s.marks();
            let n = marks.len();
            (
                Just(s),
                Just(marks),
                proptest::collection::vec(any::<bool>(), n),
            )
                .prop_flat_map(|(s, marks, twice)| {
                    let mut all = marks.clone();
                    for (m, t) in marks.iter().zip(twice) {
                        if t {
                            all.push(m.clone());
                        }
                    }
                    (Just(s), Just(all).prop_shuffle())
                })
        })
    }

    /// The reference: the clock simulated minute by minute from the story itself.
    struct Reference {
        state: State,
        due: Option<DateTime<Utc>>,
        used_by_end: Duration,
    }

    fn reference(s: &Story) -> Reference {
        let horizon = SPAN * 5;
        let Some(start) = s.starts.iter().min().copied() else {
            return Reference {
                state: State::NotStarted,
                due: None,
                used_by_end: Duration::zero(),
            };
        };
        let stop = s.stop.map(|x| x.max(start));
        let paused = |m: i64| {
            s.pauses
                .iter()
                .any(|(p, r)| m >= *p && r.is_none_or(|r| m < r))
        };
        let running = |m: i64| m >= start && stop.is_none_or(|x| m < x) && !paused(m);
        let state = match stop {
            Some(_) => State::Stopped,
            None if running(horizon) => State::Running,
            None => State::Paused,
        };
        // Stopped while running: the deadline it ran against is projected past the stop.
        let ran_at_stop = stop.is_some_and(|x| x > start && running(x - 1));
        let counts = |m: i64| running(m) || (ran_at_stop && stop.is_some_and(|x| m >= x));
        let mut used = 0;
        let mut due = None;
        for m in 0..horizon {
            if counts(m) && working_minute(m) {
                used += 1;
                if used == s.budget_minutes {
                    due = Some(minute(m + 1));
                    break;
                }
            }
        }
        let end = SPAN * 2;
        let used_by_end = (0..end)
            .filter(|m| running(*m) && working_minute(*m))
            .count() as i64;
        Reference {
            state,
            due,
            used_by_end: Duration::minutes(used_by_end),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_delivery_order_derives_the_deadline_of_the_time_order(
            (story, delivered) in deliveries()
        ) {
            let c = utc_cal();
            let budget = Budget::working(Duration::minutes(story.budget_minutes));

            // As the events arrived: one at a time, in the order delivered, some twice.
            let mut as_delivered = Marks::new();
            let mut derived_each_time = None;
            for m in delivered {
                as_delivered.add(m);
                derived_each_time = Some(derive(&as_delivered, &budget, &c));
            }
            // As they happened: in time order, once each.
            let mut in_time_order = story.marks();
            in_time_order.sort_by_key(|m| m.at);
            let in_order: Marks = in_time_order.into_iter().collect();
            let expected = derive(&in_order, &budget, &c);

            prop_assert_eq!(&as_delivered, &in_order);
            if let Some(d) = derived_each_time {
                prop_assert_eq!(&d, &expected);
            }

            // And what it derives is what minute-by-minute simulation of the story says.
            let r = reference(&story);
            prop_assert_eq!(expected.state, r.state);
            let end = minute(SPAN * 2);
            prop_assert_eq!(expected.used_at(&c, end), r.used_by_end);
            match expected.state {
                State::Running | State::Stopped => prop_assert_eq!(expected.due_at, r.due),
                // Paused: a deadline only if the time ran out before the pause.
                State::Paused => prop_assert_eq!(expected.due_at, r.due.filter(|d| Some(*d) <= expected.since)),
                State::NotStarted => prop_assert_eq!(expected.due_at, None),
            }
        }
    }

    #[test]
    fn the_random_stories_reach_every_state() {
        // The property above is only as good as the stories it sees: make sure each kind of
        // clock occurs in a sample of them.
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let mut seen = std::collections::HashSet::new();
        let mut void_pause = false;
        for _ in 0..400 {
            let s = story().new_tree(&mut runner).unwrap().current();
            let marks: Marks = s.marks().into_iter().collect();
            let d = derive(
                &marks,
                &Budget::working(Duration::minutes(s.budget_minutes)),
                &utc_cal(),
            );
            seen.insert(d.state);
            void_pause |=
                s.pauses.iter().any(|(p, r)| r.is_some_and(|r| r < *p)) && !s.starts.is_empty();
        }
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(void_pause);
    }
}
