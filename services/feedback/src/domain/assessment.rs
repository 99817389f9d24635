//! The after-sales service star-level self-assessment (service certification): categories and
//! indicators with their maximum points as policy data (summing to 100), the measurable ones
//! scored from the system's own KPIs, the others entered by a person with evidence; the total
//! decides the level. Points are kept in tenths, so 69.9 and 70 are told apart exactly.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::kpi::{KpiName, Ratio};

/// The level a total reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StarLevel {
    BelowStandard,
    /// 70 points or more.
    MeetsStandard,
    /// 80 or more.
    ThreeStars,
    /// 90 or more.
    FourStars,
    /// 95 or more.
    FiveStars,
}

/// The level of a total in tenths of a point.
pub fn level(total_tenths: u32) -> StarLevel {
    match total_tenths {
        950.. => StarLevel::FiveStars,
        900.. => StarLevel::FourStars,
        800.. => StarLevel::ThreeStars,
        700.. => StarLevel::MeetsStandard,
        _ => StarLevel::BelowStandard,
    }
}

impl StarLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            StarLevel::BelowStandard => "below_standard",
            StarLevel::MeetsStandard => "meets_standard",
            StarLevel::ThreeStars => "three_stars",
            StarLevel::FourStars => "four_stars",
            StarLevel::FiveStars => "five_stars",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryDef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorDef {
    pub id: String,
    pub category: String,
    pub name: String,
    pub max_tenths: u32,
    /// Measured from this KPI; `None`: entered by a person.
    pub metric: Option<KpiName>,
}

/// A person's score of an entered indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub indicator_id: String,
    pub points_tenths: u32,
    pub evidence: String,
    pub entered_by: String,
    pub entered_at: DateTime<Utc>,
}

/// One indicator as scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    pub def: IndicatorDef,
    pub points_tenths: u32,
    /// The metric's figure, for a measured indicator.
    pub value: Option<Ratio>,
    pub entry: Option<Entry>,
}

impl Scored {
    /// An entered indicator nobody scored yet.
    pub fn pending(&self) -> bool {
        self.def.metric.is_none() && self.entry.is_none()
    }
}

/// Points of a measured indicator: its maximum times the metric's value (a rate where less is
/// better counts by its complement), rounded down to a tenth. No data scores nothing.
pub fn measured_points(max_tenths: u32, metric: KpiName, value: Ratio) -> u32 {
    if !value.is_measured() {
        return 0;
    }
    let v = if metric.lower_is_better() {
        value.complement()
    } else {
        value
    };
    let bp = v.bp().min(10_000) as u64;
    (max_tenths as u64 * bp / 10_000) as u32
}

/// The whole assessment: each indicator scored, per category and in total, with its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scorecard {
    pub categories: Vec<(CategoryDef, u32, u32, u32)>,
    pub indicators: Vec<Scored>,
    pub total_tenths: u32,
    pub level: StarLevel,
    pub pending: u32,
}

/// Scores every indicator of the policy from the metrics' figures and the entries.
pub fn score(
    categories: &[CategoryDef],
    indicators: &[IndicatorDef],
    metrics: &BTreeMap<KpiName, Ratio>,
    entries: &BTreeMap<String, Entry>,
) -> Scorecard {
    let scored: Vec<Scored> = indicators
        .iter()
        .map(|def| match def.metric {
            Some(m) => {
                let value = metrics.get(&m).copied().unwrap_or_default();
                Scored {
                    def: def.clone(),
                    points_tenths: measured_points(def.max_tenths, m, value),
                    value: Some(value),
                    entry: None,
                }
            }
            None => {
                let entry = entries.get(&def.id).cloned();
                Scored {
                    def: def.clone(),
                    points_tenths: entry
                        .as_ref()
                        .map(|e| e.points_tenths.min(def.max_tenths))
                        .unwrap_or(0),
                    value: None,
                    entry,
                }
            }
        })
        .collect();
    let cats = categories
        .iter()
        .map(|c| {
            let of: Vec<&Scored> = scored.iter().filter(|s| s.def.category == c.id).collect();
            (
                c.clone(),
                of.iter().map(|s| s.def.max_tenths).sum(),
                of.iter().map(|s| s.points_tenths).sum(),
                of.len() as u32,
            )
        })
        .collect();
    let total_tenths = scored.iter().map(|s| s.points_tenths).sum();
    Scorecard {
        categories: cats,
        pending: scored.iter().filter(|s| s.pending()).count() as u32,
        total_tenths,
        level: level(total_tenths),
        indicators: scored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_band_edges_give_the_right_level() {
        assert_eq!(level(699), StarLevel::BelowStandard, "69.9");
        assert_eq!(level(700), StarLevel::MeetsStandard, "70");
        assert_eq!(level(799), StarLevel::MeetsStandard, "79.9");
        assert_eq!(level(800), StarLevel::ThreeStars, "80");
        assert_eq!(level(899), StarLevel::ThreeStars, "89.9");
        assert_eq!(level(900), StarLevel::FourStars, "90");
        assert_eq!(level(949), StarLevel::FourStars, "94.9");
        assert_eq!(level(950), StarLevel::FiveStars, "95");
        assert_eq!(level(1000), StarLevel::FiveStars, "100");
        assert_eq!(level(0), StarLevel::BelowStandard);
    }

    #[test]
    fn a_measured_indicator_scores_its_share_and_rework_by_its_complement() {
        assert_eq!(
            measured_points(50, KpiName::Satisfaction, Ratio::new(9, 10)),
            45
        );
        assert_eq!(
            measured_points(40, KpiName::ReworkRate, Ratio::new(1, 10)),
            36
        );
        assert_eq!(
            measured_points(40, KpiName::Satisfaction, Ratio::new(0, 0)),
            0,
            "no data, no points"
        );
        assert_eq!(
            measured_points(40, KpiName::ProcurementCostVsQuotes, Ratio::new(12, 10)),
            40,
            "never more than the maximum"
        );
    }

    proptest! {
        #[test]
        fn more_points_never_give_a_lower_level(a in 0u32..1100, b in 0u32..1100) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(level(lo) <= level(hi));
        }
    }
}
