//! Rework (forms 09, 12–14): the same serial repaired again within the policy's window
//! (default 90 days) after another job was completed is external rework of that job; a failed
//! exit inspection is internal rework of the job itself. Statistics per product model and per
//! technician count both.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// Whether a job called at `called_at` repeats a repair completed at `previous_completed_at`
/// within `window_days`.
pub fn repeats(
    previous_completed_at: DateTime<Utc>,
    called_at: DateTime<Utc>,
    window_days: u32,
) -> bool {
    previous_completed_at <= called_at
        && called_at - previous_completed_at <= chrono::Duration::days(window_days as i64)
}

/// Whole days between the previous completion and this call.
pub fn days_since(previous_completed_at: DateTime<Utc>, called_at: DateTime<Utc>) -> u32 {
    (called_at - previous_completed_at).num_days().max(0) as u32
}

/// A completed job as the statistics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub work_order_no: String,
    pub model: String,
    pub technician_id: String,
    /// The earlier job this one repeats.
    pub rework_of: Option<String>,
    pub internal_reworks: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    pub key: String,
    pub completed: u32,
    pub external: u32,
    pub internal: u32,
}

impl Stat {
    pub fn rate(&self) -> f64 {
        if self.completed == 0 {
            0.0
        } else {
            f64::from(self.external + self.internal) / f64::from(self.completed)
        }
    }
}

/// Per model: how many of its jobs were completed, repeated an earlier repair, failed an exit
/// inspection. Per technician: how many they completed, how many of theirs a later job
/// repeated (`repeated_by`: the jobs repeating each one, from anywhere), how many failed
/// inspections. Highest rework first, then by key.
pub fn statistics(jobs: &[Job], repeated: &BTreeMap<String, u32>) -> (Vec<Stat>, Vec<Stat>) {
    let mut by_model: BTreeMap<String, Stat> = BTreeMap::new();
    let mut by_tech: BTreeMap<String, Stat> = BTreeMap::new();
    for j in jobs {
        let m = by_model.entry(j.model.clone()).or_insert_with(|| Stat {
            key: j.model.clone(),
            ..Stat::default()
        });
        m.completed += 1;
        m.external += u32::from(j.rework_of.is_some());
        m.internal += j.internal_reworks;
        let t = by_tech
            .entry(j.technician_id.clone())
            .or_insert_with(|| Stat {
                key: j.technician_id.clone(),
                ..Stat::default()
            });
        t.completed += 1;
        t.external += repeated.get(&j.work_order_no).copied().unwrap_or(0);
        t.internal += j.internal_reworks;
    }
    let order = |mut v: Vec<Stat>| {
        v.sort_by(|a, b| {
            (b.external + b.internal)
                .cmp(&(a.external + a.internal))
                .then(a.key.cmp(&b.key))
        });
        v
    };
    (
        order(by_model.into_values().collect()),
        order(by_tech.into_values().collect()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    #[test]
    fn a_repeat_within_the_window_is_rework_and_after_it_is_not() {
        let done = Utc::now();
        assert!(repeats(done, done + Duration::days(90), 90));
        assert!(!repeats(
            done,
            done + Duration::days(90) + Duration::seconds(1),
            90
        ));
        assert!(!repeats(done, done - Duration::days(1), 90));
        assert_eq!(days_since(done, done + Duration::hours(49)), 2);
    }

    #[test]
    fn statistics_blame_external_rework_on_the_earlier_technician() {
        let job = |no: &str, model: &str, tech: &str, of: Option<&str>, internal: u32| Job {
            work_order_no: no.into(),
            model: model.into(),
            technician_id: tech.into(),
            rework_of: of.map(str::to_owned),
            internal_reworks: internal,
        };
        let jobs = vec![
            job("WO-1", "X55", "T-1", None, 0),
            job("WO-2", "X55", "T-2", Some("WO-1"), 1),
            job("WO-3", "Y65", "T-2", None, 0),
        ];
        let repeated = BTreeMap::from([("WO-1".to_owned(), 1)]);
        let (models, techs) = statistics(&jobs, &repeated);
        assert_eq!(
            (
                models[0].key.as_str(),
                models[0].external,
                models[0].internal
            ),
            ("X55", 1, 1)
        );
        assert_eq!(models[0].completed, 2);
        let t1 = techs.iter().find(|s| s.key == "T-1").unwrap();
        assert_eq!((t1.completed, t1.external, t1.internal), (1, 1, 0));
        let t2 = techs.iter().find(|s| s.key == "T-2").unwrap();
        assert_eq!((t2.completed, t2.external, t2.internal), (2, 0, 1));
        assert!((t2.rate() - 0.5).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn every_completed_job_is_counted_once_per_model_and_technician(
            specs in proptest::collection::vec((0u8..3, 0u8..3, any::<bool>(), 0u32..3), 0..30)
        ) {
            let jobs: Vec<Job> = specs.iter().enumerate().map(|(i, (m, t, r, n))| Job {
                work_order_no: format!("WO-{i}"),
                model: format!("M{m}"),
                technician_id: format!("T{t}"),
                rework_of: r.then(|| "WO-X".to_owned()),
                internal_reworks: *n,
            }).collect();
            let (models, techs) = statistics(&jobs, &BTreeMap::new());
            prop_assert_eq!(models.iter().map(|s| s.completed).sum::<u32>() as usize, jobs.len());
            prop_assert_eq!(techs.iter().map(|s| s.completed).sum::<u32>() as usize, jobs.len());
            prop_assert_eq!(
                models.iter().map(|s| s.external).sum::<u32>() as usize,
                jobs.iter().filter(|j| j.rework_of.is_some()).count()
            );
        }
    }
}
