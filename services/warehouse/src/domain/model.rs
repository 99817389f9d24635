//! Product models: the unit a customer owns (a TV "X55"), as a claim names it, and where the
//! model is in its life. The parts fill rate is judged by the lifecycle of a reservation's model
//! (DESIGN §6, feedback: in production, discontinued, discontinued more than N years), so a model
//! out of production always says since when.

use std::fmt;

use chrono::NaiveDate;

use super::catalogue::Lifecycle;

/// A model code: trimmed and upper-cased (`" x55"` is `"X55"`), at most [`ModelCode::MAX`]
/// characters, no control characters. Inner spaces stay: "Galaxy S24" is a model.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelCode(String);

impl ModelCode {
    pub const MAX: usize = 64;

    pub fn parse(s: &str) -> Result<ModelCode, String> {
        // Upper-cased before it is measured: a few letters grow ("ß" is "SS").
        let t = s.trim().to_uppercase();
        if t.is_empty() {
            return Err("is required".into());
        }
        if t.chars().count() > Self::MAX {
            return Err(format!("must be at most {} characters", Self::MAX));
        }
        if t.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(ModelCode(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ModelCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a model is in its life. Out of production it carries the date it left (or began to
/// leave) production: "discontinued more than N years" is counted from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelLifecycle {
    InProduction,
    /// Production winding down; counted as discontinued.
    SemiDiscontinued {
        since: NaiveDate,
    },
    Discontinued {
        since: NaiveDate,
    },
}

impl ModelLifecycle {
    /// The lifecycle of `kind` with its date: required out of production, refused in it.
    pub fn new(kind: Lifecycle, since: Option<NaiveDate>) -> Result<ModelLifecycle, String> {
        match (kind, since) {
            (Lifecycle::InProduction, None) => Ok(ModelLifecycle::InProduction),
            (Lifecycle::InProduction, Some(_)) => {
                Err("must be empty for a model in production".into())
            }
            (Lifecycle::SemiDiscontinued, Some(since)) => {
                Ok(ModelLifecycle::SemiDiscontinued { since })
            }
            (Lifecycle::Discontinued, Some(since)) => Ok(ModelLifecycle::Discontinued { since }),
            (_, None) => Err("is required for a model out of production".into()),
        }
    }

    pub fn kind(self) -> Lifecycle {
        match self {
            ModelLifecycle::InProduction => Lifecycle::InProduction,
            ModelLifecycle::SemiDiscontinued { .. } => Lifecycle::SemiDiscontinued,
            ModelLifecycle::Discontinued { .. } => Lifecycle::Discontinued,
        }
    }

    /// The date it left production; `None` in production.
    pub fn discontinued_on(self) -> Option<NaiveDate> {
        match self {
            ModelLifecycle::InProduction => None,
            ModelLifecycle::SemiDiscontinued { since } | ModelLifecycle::Discontinued { since } => {
                Some(since)
            }
        }
    }
}

/// A product model as UpsertProductModel gives it. Upserting the same entry twice changes
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub model: ModelCode,
    pub name: String,
    pub product_category: String,
    pub lifecycle: ModelLifecycle,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_model_code_is_trimmed_upper_cased_and_bounded() {
        assert_eq!(ModelCode::parse("  x55 ").unwrap().as_str(), "X55");
        assert_eq!(
            ModelCode::parse("Galaxy S24").unwrap().as_str(),
            "GALAXY S24"
        );
        assert!(ModelCode::parse("   ").is_err());
        assert!(ModelCode::parse(&"X".repeat(ModelCode::MAX + 1)).is_err());
        assert!(ModelCode::parse("X\u{7}55").is_err());
    }

    #[test]
    fn a_model_out_of_production_says_since_when_and_one_in_production_does_not() {
        let since = d(2025, 3, 31);
        assert_eq!(
            ModelLifecycle::new(Lifecycle::InProduction, None),
            Ok(ModelLifecycle::InProduction)
        );
        assert!(ModelLifecycle::new(Lifecycle::InProduction, Some(since)).is_err());
        assert!(ModelLifecycle::new(Lifecycle::Discontinued, None).is_err());
        assert!(ModelLifecycle::new(Lifecycle::SemiDiscontinued, None).is_err());
        for kind in Lifecycle::ALL {
            let date = (*kind != Lifecycle::InProduction).then_some(since);
            let l = ModelLifecycle::new(*kind, date).unwrap();
            assert_eq!((l.kind(), l.discontinued_on()), (*kind, date));
        }
    }

    proptest! {
        #[test]
        fn parsing_a_parsed_model_code_gives_it_back(s in "\\PC{0,80}") {
            if let Ok(code) = ModelCode::parse(&s) {
                prop_assert_eq!(ModelCode::parse(code.as_str()), Ok(code.clone()));
            }
        }

        #[test]
        fn a_model_code_does_not_depend_on_case_or_surrounding_space(
            s in "[ ]{0,3}[a-zA-Z0-9][a-zA-Z0-9 -]{0,40}[ ]{0,3}",
        ) {
            let code = ModelCode::parse(&s).unwrap();
            prop_assert_eq!(ModelCode::parse(&s.to_ascii_lowercase()), Ok(code.clone()));
            prop_assert_eq!(ModelCode::parse(s.trim()), Ok(code));
        }
    }
}
