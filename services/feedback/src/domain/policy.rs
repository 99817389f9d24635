//! The feedback policy as data: a versioned TOML file per deployment (see `policy/demo.toml`),
//! parsed and validated once at start. A bad policy is a [`PolicyError`] naming the key.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::assessment::{CategoryDef, IndicatorDef};
use super::complaint::{Category, Ladder, Severity};
use super::kpi::KpiName;

/// The demo policy, compiled in: used when no policy file is configured.
pub const DEMO_POLICY: &str = include_str!("../../policy/demo.toml");

/// A problem in the policy data, naming the key (e.g. `visits.due_working_days`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct PolicyError {
    pub key: String,
    pub message: String,
}

impl PolicyError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    /// Working days after the job a return visit is due.
    pub visit_due_days: u32,
    /// Unanswered calls before a visit is closed unreached.
    pub visit_max_attempts: u32,
    /// Working days within which a request should be closed (KPI).
    pub processing_days: u32,
    /// Accepted complaint sources.
    pub sources: BTreeSet<String>,
    /// Accepted ways of reporting a resolution back.
    pub report_channels: BTreeSet<String>,
    pub ladder: Ladder,
    /// The complaint an unsolved survey opens by default.
    pub unresolved: (Category, Severity),
    /// Years after which a discontinued model is in the long class.
    pub long_discontinued_years: u32,
    pub targets: BTreeMap<KpiName, u32>,
    pub categories: Vec<CategoryDef>,
    pub indicators: Vec<IndicatorDef>,
}

#[derive(Deserialize)]
struct File {
    version: String,
    visits: VisitsFile,
    processing: ProcessingFile,
    complaints: ComplaintsFile,
    survey: SurveyFile,
    fill_rate: FillRateFile,
    targets: BTreeMap<String, u32>,
    assessment: AssessmentFile,
}

#[derive(Deserialize)]
struct VisitsFile {
    due_working_days: u32,
    max_attempts: u32,
}

#[derive(Deserialize)]
struct ProcessingFile {
    request_working_days: u32,
}

#[derive(Deserialize)]
struct ComplaintsFile {
    sources: Vec<String>,
    report_channels: Vec<String>,
    levels: Vec<String>,
    serious_level: u32,
    response_hours: ResponseHoursFile,
}

#[derive(Deserialize)]
struct ResponseHoursFile {
    minor: u32,
    major: u32,
    serious: u32,
}

#[derive(Deserialize)]
struct SurveyFile {
    unresolved_category: String,
    unresolved_severity: String,
}

#[derive(Deserialize)]
struct FillRateFile {
    long_discontinued_years: u32,
}

#[derive(Deserialize)]
struct AssessmentFile {
    categories: Vec<CategoryFile>,
    indicators: Vec<IndicatorFile>,
}

#[derive(Deserialize)]
struct CategoryFile {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct IndicatorFile {
    id: String,
    category: String,
    name: String,
    points: f64,
    #[serde(default)]
    metric: Option<String>,
}

fn names(key: &str, list: Vec<String>) -> Result<BTreeSet<String>, PolicyError> {
    let mut set = BTreeSet::new();
    for s in list {
        let t = s.trim().to_ascii_lowercase();
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(PolicyError::new(
                key,
                format!("{s:?} must be lower-case letters and '_'"),
            ));
        }
        if !set.insert(t) {
            return Err(PolicyError::new(key, format!("{s:?} is listed twice")));
        }
    }
    if set.is_empty() {
        return Err(PolicyError::new(key, "must not be empty"));
    }
    Ok(set)
}

impl Policy {
    /// The demo policy compiled into the binary.
    pub fn demo() -> Result<Policy, PolicyError> {
        Self::parse(DEMO_POLICY)
    }

    /// Parses and validates policy TOML.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let file: File = ::config::Config::builder()
            .add_source(::config::File::from_str(text, ::config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| {
                let text = e.to_string();
                // The missing or mistyped key is quoted in the message.
                let key = text
                    .split(['`', '"'])
                    .nth(1)
                    .map(str::to_owned)
                    .unwrap_or_else(|| "policy".to_owned());
                PolicyError::new(key, text)
            })?;
        Self::validate(file)
    }

    fn validate(f: File) -> Result<Policy, PolicyError> {
        if f.version.trim().is_empty() {
            return Err(PolicyError::new("version", "must not be empty"));
        }
        if !(1..=30).contains(&f.visits.due_working_days) {
            return Err(PolicyError::new(
                "visits.due_working_days",
                "must be between 1 and 30",
            ));
        }
        if !(1..=20).contains(&f.visits.max_attempts) {
            return Err(PolicyError::new(
                "visits.max_attempts",
                "must be between 1 and 20",
            ));
        }
        if !(1..=120).contains(&f.processing.request_working_days) {
            return Err(PolicyError::new(
                "processing.request_working_days",
                "must be between 1 and 120",
            ));
        }
        let c = f.complaints;
        let mut sources = names("complaints.sources", c.sources)?;
        // RecordSurvey opens complaints with this source whatever the list says.
        sources.insert("survey".into());
        let report_channels = names("complaints.report_channels", c.report_channels)?;
        if c.levels.len() < 2 {
            return Err(PolicyError::new(
                "complaints.levels",
                "needs at least the department and one level above it",
            ));
        }
        names("complaints.levels", c.levels.clone())?;
        if c.serious_level == 0 || c.serious_level as usize >= c.levels.len() {
            return Err(PolicyError::new(
                "complaints.serious_level",
                format!("must be between 1 and {}", c.levels.len() - 1),
            ));
        }
        for (key, h) in [
            ("complaints.response_hours.minor", c.response_hours.minor),
            ("complaints.response_hours.major", c.response_hours.major),
            (
                "complaints.response_hours.serious",
                c.response_hours.serious,
            ),
        ] {
            if !(1..=720).contains(&h) {
                return Err(PolicyError::new(key, "must be between 1 and 720"));
            }
        }
        let category = Category::parse(f.survey.unresolved_category.trim()).ok_or_else(|| {
            PolicyError::new(
                "survey.unresolved_category",
                format!(
                    "{:?} is not one of {}",
                    f.survey.unresolved_category,
                    Category::ALL.map(|c| c.as_str()).join(", ")
                ),
            )
        })?;
        let severity = Severity::parse(f.survey.unresolved_severity.trim()).ok_or_else(|| {
            PolicyError::new(
                "survey.unresolved_severity",
                format!(
                    "{:?} is not one of minor, major, serious",
                    f.survey.unresolved_severity
                ),
            )
        })?;
        if f.fill_rate.long_discontinued_years == 0 || f.fill_rate.long_discontinued_years > 50 {
            return Err(PolicyError::new(
                "fill_rate.long_discontinued_years",
                "must be between 1 and 50",
            ));
        }
        let mut targets = BTreeMap::new();
        for (k, v) in f.targets {
            let name = KpiName::parse(&k).ok_or_else(|| {
                PolicyError::new(format!("targets.{k}"), "is not a KPI this service computes")
            })?;
            if v > 10_000 {
                return Err(PolicyError::new(
                    format!("targets.{k}"),
                    "must be at most 10000 (basis points)",
                ));
            }
            targets.insert(name, v);
        }
        let (categories, indicators) = Self::assessment(f.assessment)?;
        Ok(Policy {
            version: f.version.trim().to_owned(),
            visit_due_days: f.visits.due_working_days,
            visit_max_attempts: f.visits.max_attempts,
            processing_days: f.processing.request_working_days,
            sources,
            report_channels,
            ladder: Ladder {
                levels: c.levels.iter().map(|l| l.trim().to_owned()).collect(),
                serious_level: c.serious_level,
                minor_hours: c.response_hours.minor,
                major_hours: c.response_hours.major,
                serious_hours: c.response_hours.serious,
            },
            unresolved: (category, severity),
            long_discontinued_years: f.fill_rate.long_discontinued_years,
            targets,
            categories,
            indicators,
        })
    }

    fn assessment(a: AssessmentFile) -> Result<(Vec<CategoryDef>, Vec<IndicatorDef>), PolicyError> {
        let mut categories = Vec::new();
        for (i, c) in a.categories.into_iter().enumerate() {
            let key = format!("assessment.categories[{i}]");
            if c.id.trim().is_empty() || c.name.trim().is_empty() {
                return Err(PolicyError::new(key, "needs an id and a name"));
            }
            if categories.iter().any(|x: &CategoryDef| x.id == c.id.trim()) {
                return Err(PolicyError::new(key, format!("{:?} is listed twice", c.id)));
            }
            categories.push(CategoryDef {
                id: c.id.trim().to_owned(),
                name: c.name.trim().to_owned(),
            });
        }
        let mut indicators: Vec<IndicatorDef> = Vec::new();
        for (i, ind) in a.indicators.into_iter().enumerate() {
            let key = format!("assessment.indicators[{i}]");
            let id = ind.id.trim().to_owned();
            if id.is_empty() || ind.name.trim().is_empty() {
                return Err(PolicyError::new(key, "needs an id and a name"));
            }
            if indicators.iter().any(|x| x.id == id) {
                return Err(PolicyError::new(key, format!("{id:?} is listed twice")));
            }
            if !categories.iter().any(|c| c.id == ind.category.trim()) {
                return Err(PolicyError::new(
                    format!("{key}.category"),
                    format!("{:?} is not one of the categories", ind.category),
                ));
            }
            let tenths = (ind.points * 10.0).round();
            if ind.points.is_nan() || ind.points <= 0.0 || (ind.points * 10.0 - tenths).abs() > 1e-6
            {
                return Err(PolicyError::new(
                    format!("{key}.points"),
                    "must be positive with at most one decimal",
                ));
            }
            let metric = match ind.metric.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(m) => Some(KpiName::parse(m).ok_or_else(|| {
                    PolicyError::new(format!("{key}.metric"), format!("{m:?} is not a KPI"))
                })?),
            };
            indicators.push(IndicatorDef {
                id,
                category: ind.category.trim().to_owned(),
                name: ind.name.trim().to_owned(),
                max_tenths: tenths as u32,
                metric,
            });
        }
        let total: u32 = indicators.iter().map(|i| i.max_tenths).sum();
        if total != 1000 {
            return Err(PolicyError::new(
                "assessment.indicators",
                format!(
                    "the maximum points must sum to 100, not {}.{}",
                    total / 10,
                    total % 10
                ),
            ));
        }
        if let Some(c) = categories
            .iter()
            .find(|c| !indicators.iter().any(|i| i.category == c.id))
        {
            return Err(PolicyError::new(
                "assessment.categories",
                format!("{:?} has no indicator", c.id),
            ));
        }
        Ok((categories, indicators))
    }

    pub fn target(&self, kpi: KpiName) -> u32 {
        self.targets.get(&kpi).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_policy_has_the_eight_categories_and_twenty_seven_indicators_of_the_standard() {
        let p = Policy::demo().unwrap();
        assert_eq!(p.visit_due_days, 3);
        let counts: Vec<usize> = p
            .categories
            .iter()
            .map(|c| p.indicators.iter().filter(|i| i.category == c.id).count())
            .collect();
        assert_eq!(counts, [4, 4, 5, 3, 3, 3, 2, 3]);
        assert_eq!(p.indicators.len(), 27);
        assert_eq!(p.indicators.iter().map(|i| i.max_tenths).sum::<u32>(), 1000);
        assert!(p.sources.contains("regulator") && p.sources.contains("survey"));
        assert_eq!(
            p.ladder.levels[p.ladder.serious_level as usize],
            "deputy_general_manager"
        );
    }

    #[test]
    fn points_that_do_not_sum_to_one_hundred_are_refused_naming_the_key() {
        let bad = DEMO_POLICY.replacen("points = 8", "points = 7.5", 1);
        let e = Policy::parse(&bad).unwrap_err();
        assert_eq!(e.key, "assessment.indicators");
        assert!(e.message.contains("99.5"), "{e}");
    }

    #[test]
    fn an_unknown_metric_or_category_is_refused() {
        let bad = DEMO_POLICY.replacen("metric = \"satisfaction\"", "metric = \"happiness\"", 1);
        assert!(Policy::parse(&bad).unwrap_err().key.ends_with(".metric"));
        let bad = DEMO_POLICY.replacen(
            "unresolved_category = \"product_quality\"",
            "unresolved_category = \"weather\"",
            1,
        );
        assert_eq!(
            Policy::parse(&bad).unwrap_err().key,
            "survey.unresolved_category"
        );
    }
}
