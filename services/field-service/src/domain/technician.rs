//! A technician as registered: skills and certifications, branch, territories and regions
//! covered, daily capacity in appointment windows, on the platform calendar's working days.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::kinds::Region;
use super::slots::in_territory;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technician {
    pub technician_id: String,
    pub name: String,
    pub phone: String,
    pub branch: String,
    /// Product categories (lower-case), e.g. "television"; certifications count as skills.
    pub skills: Vec<String>,
    /// Districts or postcodes they cover.
    pub territories: Vec<String>,
    /// Regions they cover; empty: every region.
    pub regions: Vec<Region>,
    pub daily_capacity: u32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Technician {
    /// May repair `category` (a job without a category needs no particular skill).
    pub fn has_skill(&self, category: &str) -> bool {
        let c = category.trim().to_lowercase();
        c.is_empty() || self.skills.contains(&c)
    }

    pub fn covers(&self, region: Option<Region>) -> bool {
        match region {
            None => true,
            Some(r) => self.regions.is_empty() || self.regions.contains(&r),
        }
    }

    pub fn in_territory(&self, address: &str) -> bool {
        in_territory(address, &self.territories)
    }

    /// Why this technician cannot take a job of `branch`, `category` in `region`, if not.
    pub fn unfit_for(
        &self,
        branch: &str,
        category: &str,
        region: Option<Region>,
    ) -> Option<String> {
        if !self.active {
            Some(format!("technician {} is inactive", self.technician_id))
        } else if self.branch != branch {
            Some(format!(
                "technician {} works for branch {}, the job is {branch}'s",
                self.technician_id, self.branch
            ))
        } else if !self.has_skill(category) {
            Some(format!(
                "technician {} has no skill for {category}",
                self.technician_id
            ))
        } else if !self.covers(region) {
            Some(format!(
                "technician {} does not cover {} customers",
                self.technician_id,
                region.map(Region::as_str).unwrap_or("")
            ))
        } else {
            None
        }
    }
}

/// Skills as stored: trimmed, lower-case, without duplicates, in order.
pub fn normalize_skills(skills: &[String]) -> Vec<String> {
    let mut out: Vec<String> = skills
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tech() -> Technician {
        Technician {
            technician_id: "T-SH01-001".into(),
            name: "Wang".into(),
            phone: "+86 139 0000 0001".into(),
            branch: "SH01".into(),
            skills: normalize_skills(&[" Television ".into(), "television".into(), "".into()]),
            territories: vec!["Pudong".into()],
            regions: vec![Region::Urban],
            daily_capacity: 4,
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_technician_fits_a_job_of_their_branch_skill_and_region() {
        let t = tech();
        assert_eq!(t.skills, vec!["television".to_owned()]);
        assert_eq!(t.unfit_for("SH01", "Television", Some(Region::Urban)), None);
        assert!(
            t.unfit_for("BJ02", "television", Some(Region::Urban))
                .is_some()
        );
        assert!(
            t.unfit_for("SH01", "air_conditioner", Some(Region::Urban))
                .is_some()
        );
        assert!(
            t.unfit_for("SH01", "television", Some(Region::Remote))
                .is_some()
        );
        let inactive = Technician {
            active: false,
            ..tech()
        };
        assert!(inactive.unfit_for("SH01", "television", None).is_some());
        assert!(t.in_territory("Century Avenue, Pudong"));
    }
}
