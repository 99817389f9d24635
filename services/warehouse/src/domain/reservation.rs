//! How a request's part lines are reserved, how its pick lists are named, and how issued lines
//! are matched to a pick list.

use std::collections::BTreeMap;
use std::fmt;

use aftersales_platform::ids::RequestNo;

use super::stock::stored_enum;

/// One of a request's pick lists. The first reservation of a request is `PL-<request no>` (its
/// back-order `BO-<request no>`); each shipment lost or damaged on the way is replaced by a
/// further reservation, the n-th named `PL-<request no>-R<n>` (`BO-<request no>-R<n>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PickListId {
    request_no: RequestNo,
    /// 0 for the first; n for the n-th replacement.
    replacement: u32,
}

impl PickListId {
    /// The largest replacement number: far beyond any real request, and it fits the stored
    /// `INTEGER`.
    pub const MAX_REPLACEMENT: u32 = 9_999;

    /// A request's first pick list.
    pub fn first(request_no: RequestNo) -> Self {
        Self {
            request_no,
            replacement: 0,
        }
    }

    /// The pick list numbered `replacement` (0 = the first) of a request.
    pub fn new(request_no: RequestNo, replacement: u32) -> Result<Self, String> {
        if replacement > Self::MAX_REPLACEMENT {
            return Err(format!(
                "replacement {replacement} is beyond {}",
                Self::MAX_REPLACEMENT
            ));
        }
        Ok(Self {
            request_no,
            replacement,
        })
    }

    /// `PL-<request no>` or `PL-<request no>-R<n>`, in any case, surrounding blanks ignored.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            "must be a pick list id (PL-<request number>, or PL-<request number>-R<n> for a replacement)".to_owned()
        };
        let id = s.trim().to_ascii_uppercase();
        let rest = id.strip_prefix("PL-").ok_or_else(bad)?;
        // A request number ends in its six-digit sequence, so a trailing "-R<digits>" can only
        // be a replacement's number.
        let (no, replacement) = match rest.rsplit_once("-R") {
            Some((no, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                if n.starts_with('0') {
                    return Err(bad());
                }
                (no, n.parse::<u32>().map_err(|_| bad())?)
            }
            _ => (rest, 0),
        };
        let request_no = RequestNo::parse(no).map_err(|_| bad())?;
        Self::new(request_no, replacement).map_err(|_| bad())
    }

    pub fn request_no(&self) -> &RequestNo {
        &self.request_no
    }

    /// 0 for a request's first pick list, n for its n-th replacement.
    pub fn replacement(&self) -> u32 {
        self.replacement
    }

    /// The back-order this pick list was while something was missing.
    pub fn backorder_id(&self) -> String {
        backorder_id(self.request_no.as_str(), self.replacement)
    }
}

impl fmt::Display for PickListId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&pick_list_id(self.request_no.as_str(), self.replacement))
    }
}

fn suffix(replacement: u32) -> String {
    if replacement == 0 {
        String::new()
    } else {
        format!("-R{replacement}")
    }
}

/// The id of a request's pick list `replacement` (0 = the first): `PL-<request no>[-R<n>]`.
pub fn pick_list_id(request_no: &str, replacement: u32) -> String {
    format!("PL-{request_no}{}", suffix(replacement))
}

/// The id of a request's back-order `replacement` (0 = the first): `BO-<request no>[-R<n>]`.
pub fn backorder_id(request_no: &str, replacement: u32) -> String {
    format!("BO-{request_no}{}", suffix(replacement))
}

stored_enum!(
    /// The request's urgency; back-orders are served most urgent first, then oldest first.
    Urgency { Low = "LOW", Normal = "NORMAL", High = "HIGH", Critical = "CRITICAL" }
);

impl Urgency {
    /// Higher is served first.
    pub fn rank(self) -> i16 {
        match self {
            Urgency::Low => 0,
            Urgency::Normal => 1,
            Urgency::High => 2,
            Urgency::Critical => 3,
        }
    }
}

/// One part line of a request as it stands: what was asked, what is already held for it, and
/// what the locked stock row has available now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRequest {
    pub requested: u32,
    pub reserved: u32,
    pub available: u32,
}

/// The outcome of planning: the units to reserve now per line (same order as the input) and
/// whether the request is then held in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub take: Vec<u32>,
    pub complete: bool,
}

/// All or nothing (`partial` false): every missing unit of every line is available, or nothing
/// is taken. Partial: each line takes what is available, up to what it misses.
pub fn plan_reservation(lines: &[LineRequest], partial: bool) -> Allocation {
    let missing = |l: &LineRequest| l.requested.saturating_sub(l.reserved);
    let all_available = lines.iter().all(|l| l.available >= missing(l));
    if all_available {
        return Allocation {
            take: lines.iter().map(missing).collect(),
            complete: true,
        };
    }
    if !partial {
        return Allocation {
            take: vec![0; lines.len()],
            complete: false,
        };
    }
    Allocation {
        take: lines.iter().map(|l| missing(l).min(l.available)).collect(),
        complete: false,
    }
}

/// Compares the lines presented for issue with the pick list, per part (order and splitting of
/// lines do not matter). Returns one readable line per difference.
pub fn pick_list_mismatches(pick: &[(String, u32)], issued: &[(String, u32)]) -> Vec<String> {
    let sum = |lines: &[(String, u32)]| {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for (p, q) in lines {
            *m.entry(p.clone()).or_default() += u64::from(*q);
        }
        m
    };
    let (want, got) = (sum(pick), sum(issued));
    let mut out = Vec::new();
    for (part, w) in &want {
        match got.get(part) {
            None => out.push(format!("{part}: pick list has {w}, not presented")),
            Some(g) if g != w => out.push(format!("{part}: pick list has {w}, presented {g}")),
            _ => {}
        }
    }
    for (part, g) in &got {
        if !want.contains_key(part) {
            out.push(format!("{part}: not on the pick list, presented {g}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn l(requested: u32, reserved: u32, available: u32) -> LineRequest {
        LineRequest {
            requested,
            reserved,
            available,
        }
    }

    #[test]
    fn all_or_nothing_takes_nothing_when_one_line_is_short() {
        let a = plan_reservation(&[l(2, 0, 5), l(3, 0, 2)], false);
        assert_eq!(a.take, vec![0, 0]);
        assert!(!a.complete);
    }

    #[test]
    fn partial_takes_what_is_there() {
        let a = plan_reservation(&[l(2, 0, 5), l(3, 1, 1)], true);
        assert_eq!(a.take, vec![2, 1]);
        assert!(!a.complete);
        let b = plan_reservation(&[l(2, 0, 5), l(3, 1, 2)], true);
        assert_eq!(b.take, vec![2, 2]);
        assert!(b.complete);
    }

    #[test]
    fn a_mismatch_names_every_difference() {
        let pick = vec![("A".to_owned(), 2), ("B".to_owned(), 1)];
        let issued = vec![("A".to_owned(), 1), ("C".to_owned(), 1)];
        let m = pick_list_mismatches(&pick, &issued);
        assert_eq!(m.len(), 3, "{m:?}");
        let split = vec![
            ("A".to_owned(), 1),
            ("B".to_owned(), 1),
            ("A".to_owned(), 1),
        ];
        assert!(pick_list_mismatches(&pick, &split).is_empty());
    }

    #[test]
    fn a_pick_list_id_names_the_request_and_which_of_its_pick_lists() {
        let first = PickListId::parse(" pl-as-2611-sh01-000042 ").unwrap();
        assert_eq!(first.request_no().as_str(), "AS-2611-SH01-000042");
        assert_eq!(first.replacement(), 0);
        assert_eq!(first.to_string(), "PL-AS-2611-SH01-000042");
        assert_eq!(first.backorder_id(), "BO-AS-2611-SH01-000042");
        let second = PickListId::parse("PL-AS-2611-SH01-000042-r2").unwrap();
        assert_eq!(second.replacement(), 2);
        assert_eq!(second.to_string(), "PL-AS-2611-SH01-000042-R2");
        assert_eq!(second.backorder_id(), "BO-AS-2611-SH01-000042-R2");
        // A branch code starting with R is part of the request number, not a replacement.
        let r_branch = PickListId::parse("PL-AS-2611-R1-000042").unwrap();
        assert_eq!(r_branch.request_no().as_str(), "AS-2611-R1-000042");
        assert_eq!(r_branch.replacement(), 0);
        for bad in [
            "AS-2611-SH01-000042",
            "PL-whatever",
            "PL-AS-2611-SH01-000042-R0",
            "PL-AS-2611-SH01-000042-R01",
            "PL-AS-2611-SH01-000042-R",
            "PL-AS-2611-SH01-000042-R10000",
            "PL-AS-2611-SH01-000042-X1",
        ] {
            assert!(PickListId::parse(bad).is_err(), "{bad} parsed");
        }
    }

    proptest! {
        #[test]
        fn every_pick_list_id_reads_back_as_itself(
            branch in "[A-Z][A-Z0-9]{1,7}",
            seq in 1u32..=999_999,
            replacement in 0u32..=PickListId::MAX_REPLACEMENT,
        ) {
            let no = RequestNo::parse(&format!("AS-2611-{branch}-{seq:06}")).unwrap();
            let id = PickListId::new(no, replacement).unwrap();
            prop_assert_eq!(PickListId::parse(&id.to_string()).unwrap(), id.clone());
            prop_assert_eq!(
                PickListId::parse(&id.to_string().to_ascii_lowercase()).unwrap(),
                id
            );
        }

        #[test]
        fn a_plan_never_takes_more_than_available_or_missing(
            lines in prop::collection::vec((0u32..20, 0u32..20, 0u32..20), 1..6),
            partial in any::<bool>(),
        ) {
            let lines: Vec<LineRequest> = lines
                .into_iter()
                .map(|(r, h, a)| l(r.max(h), h.min(r.max(h)), a))
                .collect();
            let plan = plan_reservation(&lines, partial);
            for (line, take) in lines.iter().zip(&plan.take) {
                prop_assert!(*take <= line.available);
                prop_assert!(*take <= line.requested - line.reserved);
            }
            if plan.complete {
                for (line, take) in lines.iter().zip(&plan.take) {
                    prop_assert_eq!(line.reserved + take, line.requested);
                }
            }
            if !partial && !plan.complete {
                prop_assert!(plan.take.iter().all(|t| *t == 0));
            }
        }
    }
}
