//! How many bad lines an answer names: at most [`MAX_LISTED`] per list, then one "and N more",
//! so that an error stays small however many lines a request carries (its details travel in a
//! gRPC trailer, and proxies refuse large ones).

use std::collections::BTreeMap;

use aftersales_platform::validate::Violation;

/// The most entries of one list an error names.
pub const MAX_LISTED: usize = 50;

/// The first `max` items, then one "and N more" for the rest.
pub fn at_most(mut items: Vec<String>, max: usize) -> Vec<String> {
    if items.len() > max {
        let more = items.len() - max;
        items.truncate(max);
        items.push(format!("and {more} more"));
    }
    items
}

/// The violations with at most `max` per list (`lines`, `lines[3].part_no` and `lines[7]` are
/// all of the list `lines`), in their order, then one `<list>: and N more` per list cut short.
/// A field outside any list is its own list of one.
pub fn cap_violations(violations: Vec<Violation>, max: usize) -> Vec<Violation> {
    let list = |field: &str| field.split('[').next().unwrap_or(field).to_owned();
    let mut named: BTreeMap<String, usize> = BTreeMap::new();
    let mut cut: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for v in violations {
        let key = list(&v.field);
        let n = named.entry(key.clone()).or_default();
        if *n < max {
            *n += 1;
            out.push(v);
        } else if let Some((_, more)) = cut.iter_mut().find(|(k, _)| *k == key) {
            *more += 1;
        } else {
            cut.push((key, 1));
        }
    }
    out.extend(
        cut.into_iter()
            .map(|(key, more)| Violation::new(key, format!("and {more} more"))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_is_cut_after_the_maximum_with_one_entry_for_the_rest() {
        let items: Vec<String> = (0..53).map(|i| i.to_string()).collect();
        let shown = at_most(items, 50);
        assert_eq!(shown.len(), 51);
        assert_eq!(shown[49], "49");
        assert_eq!(shown[50], "and 3 more");
        assert_eq!(at_most(vec!["a".into()], 50), ["a"]);
    }

    #[test]
    fn violations_are_capped_per_list_and_other_fields_are_kept() {
        let mut v = vec![Violation::new("receipt_id", "is required")];
        for i in 0..120 {
            v.push(Violation::new(format!("lines[{i}].part_no"), "bad"));
        }
        v.push(Violation::new(
            "lines",
            "receipt line 1 has no inspection result",
        ));
        for i in 0..3 {
            v.push(Violation::new(format!("reasons[{i}].reason"), "bad"));
        }
        let capped = cap_violations(v, 50);
        let fields: Vec<&str> = capped.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields.len(), 1 + 50 + 3 + 1);
        assert_eq!(fields[0], "receipt_id");
        assert_eq!(fields[50], "lines[49].part_no");
        assert_eq!(
            &fields[51..54],
            [
                "reasons[0].reason",
                "reasons[1].reason",
                "reasons[2].reason"
            ]
        );
        let last = capped.last().unwrap();
        assert_eq!(
            (last.field.as_str(), last.description.as_str()),
            ("lines", "and 71 more")
        );
    }
}
