//! How a request's part lines are reserved, and how issued lines are matched to a pick list.

use std::collections::BTreeMap;

use super::stock::stored_enum;

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

    proptest! {
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
