//! ABC classification from 12-month usage value (DESIGN §6): A ≈ the top 80 % of the value,
//! B the next 15 %, C the rest.

use super::stock::stored_enum;

/// One part's usage in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub part_no: String,
    pub quantity: i64,
    pub value_minor: i64,
}

stored_enum!(
    /// A part's ABC class, stored on the part.
    Class { A = "A", B = "B", C = "C" }
);

/// A classified part: its share and the cumulative share up to and including it, in basis
/// points of the total value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub usage: Usage,
    pub share_bp: u32,
    pub cumulative_bp: u32,
    pub class: Class,
}

/// Sorts by value (descending, then part number) and classifies: a part is A while the
/// cumulative share before it is below 80 %, B while below 95 %, otherwise C. So the part that
/// crosses 80 % is still A (the top 80 % is covered), and a part with no usage is always C.
pub fn classify(mut usage: Vec<Usage>) -> Vec<Classified> {
    usage.sort_by(|a, b| {
        b.value_minor
            .cmp(&a.value_minor)
            .then_with(|| a.part_no.cmp(&b.part_no))
    });
    let total: i128 = usage.iter().map(|u| i128::from(u.value_minor.max(0))).sum();
    let bp = |v: i128| -> u32 {
        if total == 0 {
            0
        } else {
            (v * 10_000 / total) as u32
        }
    };
    let mut before: i128 = 0;
    usage
        .into_iter()
        .map(|u| {
            let v = i128::from(u.value_minor.max(0));
            let class = if v == 0 {
                Class::C
            } else if bp(before) < 8_000 {
                Class::A
            } else if bp(before) < 9_500 {
                Class::B
            } else {
                Class::C
            };
            before += v;
            Classified {
                share_bp: bp(v),
                cumulative_bp: bp(before),
                class,
                usage: u,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(p: &str, value: i64) -> Usage {
        Usage {
            part_no: p.into(),
            quantity: 1,
            value_minor: value,
        }
    }

    #[test]
    fn the_top_eighty_percent_is_a_the_next_fifteen_b_the_rest_c() {
        let c = classify(vec![
            u("D", 40),
            u("A", 700),
            u("B", 150),
            u("C", 100),
            u("E", 10),
            u("F", 0),
        ]);
        let classes: Vec<(&str, Class)> = c
            .iter()
            .map(|x| (x.usage.part_no.as_str(), x.class))
            .collect();
        assert_eq!(
            classes,
            [
                ("A", Class::A),
                ("B", Class::A),
                ("C", Class::B),
                ("D", Class::C),
                ("E", Class::C),
                ("F", Class::C),
            ]
        );
        assert_eq!(c[0].share_bp, 7_000);
        assert_eq!(c[1].cumulative_bp, 8_500);
        assert_eq!(c.last().unwrap().cumulative_bp, 10_000);
    }

    #[test]
    fn nothing_used_is_all_c() {
        let c = classify(vec![u("A", 0), u("B", 0)]);
        assert!(c.iter().all(|x| x.class == Class::C && x.share_bp == 0));
    }
}
