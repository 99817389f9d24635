//! Dealers and agents: the dealer code; old parts by batch (how a part in a dealer's box is
//! identified against the parts the dealer claimed, the inspector's verdicts, a batch's analysis:
//! top returned part numbers, cost per verdict); the states of an advance exchange; what a
//! consignment to a dealer is. Pure.

use std::collections::BTreeMap;

use super::stock::stored_enum;

/// A dealer's or agent's code (`D-SH-0001`): trimmed, upper-cased, 1–32 of `A–Z 0–9 -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DealerCode(String);

impl DealerCode {
    pub const RULE: &'static str = "must be 1–32 letters, digits or '-', e.g. D-SH-0001";

    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.is_empty() {
            return Err("is required".into());
        }
        let ok = t.len() <= 32 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if ok {
            Ok(Self(t))
        } else {
            Err(format!("{s:?} {}", Self::RULE))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DealerCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

stored_enum!(
    /// How a part in a dealer's box matched the parts the dealer claimed.
    Identification {
        Identified = "IDENTIFIED",
        WrongPartNo = "WRONG_PART_NO",
        Unidentified = "UNIDENTIFIED",
    }
);

stored_enum!(
    /// The inspector's finding on an identified old part.
    Verdict {
        ConfirmedFault = "CONFIRMED_FAULT",
        NoFaultFound = "NO_FAULT_FOUND",
        WrongPart = "WRONG_PART",
    }
);

stored_enum!(
    /// Where an advance exchange stands: shipped and its defective unit not yet due, past due
    /// and not back (announced once), or back.
    ExchangeStatus {
        Outstanding = "OUTSTANDING",
        Overdue = "OVERDUE",
        Returned = "RETURNED",
    }
);

/// What goods shipped to a dealer are (`warehouse.consignment.issued`): parts it ordered for its
/// own workshop, or the good unit of an advance exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsignmentKind {
    DealerOrder,
    AdvanceExchange,
}

impl ConsignmentKind {
    pub const ALL: &'static [ConsignmentKind] = &[
        ConsignmentKind::DealerOrder,
        ConsignmentKind::AdvanceExchange,
    ];
}

/// A claimed part still expected back, as the identification sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed<'a> {
    pub part_no: &'a str,
    pub faulty_serial: &'a str,
}

/// Identifies each boxed part `(part_no, faulty_serial)` against the dealer's claimed parts
/// still expected back: the same serial and part_no is identified, the same serial with another
/// part_no is identified as the wrong part, no such serial is unidentified. Each claimed part
/// matches at most one boxed part (the first in the box); an exact match is preferred to a
/// serial-only one. Answers, per boxed part, how it matched and the index of the claimed part.
pub fn identify(
    boxed: &[(&str, &str)],
    claimed: &[Claimed<'_>],
) -> Vec<(Identification, Option<usize>)> {
    let mut taken = vec![false; claimed.len()];
    boxed
        .iter()
        .map(|(part_no, serial)| {
            let free = |i: &usize| {
                !taken[*i] && !serial.is_empty() && claimed[*i].faulty_serial == *serial
            };
            let exact = (0..claimed.len()).find(|i| free(i) && claimed[*i].part_no == *part_no);
            let found = exact.or_else(|| (0..claimed.len()).find(|i| free(i)));
            match found {
                Some(i) => {
                    taken[i] = true;
                    let how = if claimed[i].part_no == *part_no {
                        Identification::Identified
                    } else {
                        Identification::WrongPartNo
                    };
                    (how, Some(i))
                }
                None => (Identification::Unidentified, None),
            }
        })
        .collect()
}

/// The verdict that stands: a part identified with another part_no is the wrong part whatever
/// the inspector said; an unidentified part has none.
pub fn final_verdict(how: Identification, given: Option<Verdict>) -> Option<Verdict> {
    match how {
        Identification::WrongPartNo => Some(Verdict::WrongPart),
        Identification::Identified => given,
        Identification::Unidentified => None,
    }
}

/// The part numbers of a batch by quantity returned, most first, ties by part_no.
pub fn top_parts<'a>(parts: impl IntoIterator<Item = (&'a str, i64)>) -> Vec<(String, i64)> {
    let mut by_part: BTreeMap<&str, i64> = BTreeMap::new();
    for (p, q) in parts {
        *by_part.entry(p).or_default() += q;
    }
    let mut out: Vec<(String, i64)> = by_part
        .into_iter()
        .map(|(p, q)| (p.to_owned(), q))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Quantity and cost (minor units) per verdict (`None`: no verdict), in verdict order.
pub fn cost_by_verdict(
    parts: impl IntoIterator<Item = (Option<Verdict>, i64, i64)>,
) -> Vec<(Option<Verdict>, i64, i64)> {
    let mut by: BTreeMap<Option<Verdict>, (i64, i64)> = BTreeMap::new();
    for (verdict, quantity, unit_cost_minor) in parts {
        let e = by.entry(verdict).or_default();
        e.0 += quantity;
        e.1 += quantity.saturating_mul(unit_cost_minor);
    }
    by.into_iter().map(|(v, (q, c))| (v, q, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed() -> Vec<Claimed<'static>> {
        vec![
            Claimed {
                part_no: "A",
                faulty_serial: "S1",
            },
            Claimed {
                part_no: "B",
                faulty_serial: "S2",
            },
            Claimed {
                part_no: "C",
                faulty_serial: "S3",
            },
        ]
    }

    #[test]
    fn a_serial_identifies_a_part_and_another_part_no_is_the_wrong_part() {
        let got = identify(
            &[("A", "S1"), ("X", "S2"), ("C", "S9"), ("C", "S3")],
            &claimed(),
        );
        assert_eq!(
            got,
            vec![
                (Identification::Identified, Some(0)),
                (Identification::WrongPartNo, Some(1)),
                (Identification::Unidentified, None),
                (Identification::Identified, Some(2)),
            ]
        );
    }

    #[test]
    fn a_claimed_part_is_matched_once_and_an_empty_serial_never() {
        let got = identify(&[("A", "S1"), ("A", "S1"), ("A", "")], &claimed());
        assert_eq!(got[0], (Identification::Identified, Some(0)));
        assert_eq!(got[1], (Identification::Unidentified, None));
        assert_eq!(got[2], (Identification::Unidentified, None));
        let blank = [Claimed {
            part_no: "A",
            faulty_serial: "",
        }];
        assert_eq!(
            identify(&[("A", "")], &blank)[0].0,
            Identification::Unidentified
        );
    }

    #[test]
    fn the_wrong_part_no_is_wrong_whatever_the_inspector_says() {
        assert_eq!(
            final_verdict(Identification::WrongPartNo, Some(Verdict::ConfirmedFault)),
            Some(Verdict::WrongPart)
        );
        assert_eq!(
            final_verdict(Identification::Identified, Some(Verdict::NoFaultFound)),
            Some(Verdict::NoFaultFound)
        );
        assert_eq!(
            final_verdict(Identification::Unidentified, Some(Verdict::ConfirmedFault)),
            None
        );
    }

    #[test]
    fn top_parts_count_quantities_most_first_ties_by_part_no() {
        let got = top_parts([("B", 1), ("A", 2), ("C", 1), ("B", 1), ("D", 3)]);
        let names: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["D", "A", "B", "C"]);
        assert_eq!(got[2].1, 2);
    }

    #[test]
    fn cost_is_unit_cost_times_quantity_per_verdict() {
        let got = cost_by_verdict([
            (Some(Verdict::NoFaultFound), 2, 1_000),
            (None, 1, 500),
            (Some(Verdict::ConfirmedFault), 1, 1_000),
            (Some(Verdict::NoFaultFound), 1, 300),
        ]);
        assert_eq!(
            got,
            vec![
                (None, 1, 500),
                (Some(Verdict::ConfirmedFault), 1, 1_000),
                (Some(Verdict::NoFaultFound), 3, 2_300),
            ]
        );
    }

    #[test]
    fn dealer_codes_are_trimmed_upper_cased_and_bounded() {
        assert_eq!(
            DealerCode::parse(" d-sh-0001 ").unwrap().as_str(),
            "D-SH-0001"
        );
        assert!(DealerCode::parse("").is_err());
        assert!(DealerCode::parse("D SH").is_err());
        assert!(DealerCode::parse(&"D".repeat(33)).is_err());
    }
}
