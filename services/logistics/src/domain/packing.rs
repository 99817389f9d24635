//! The packing list: the issued lines packed into cartons of at most the rate table's
//! `carton_max_grams`, in the order issued, a line split across cartons when it does not fit.
//! A single unit heavier than a carton goes in a carton of its own.

use super::PackedLine;

/// One issued line with what the packing list prints for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub part_no: String,
    pub quantity: u32,
    pub unit_weight_grams: u32,
    pub name: String,
    pub specification: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    pub lines: Vec<PackedLine>,
    pub packages: u32,
    pub weight_grams: u64,
}

pub fn pack(items: &[Item], carton_max_grams: u32) -> Packed {
    let max = u64::from(carton_max_grams.max(1));
    let mut lines: Vec<PackedLine> = Vec::new();
    let mut package = 0u32;
    let mut used = 0u64;
    let mut weight = 0u64;
    for item in items {
        let unit = u64::from(item.unit_weight_grams);
        weight += unit * u64::from(item.quantity);
        let mut left = item.quantity;
        while left > 0 {
            // How many units fit in the open carton, if one is open.
            let fit = match package {
                0 => 0,
                _ => max
                    .saturating_sub(used)
                    .checked_div(unit)
                    .unwrap_or(u64::from(left)),
            };
            let take = if fit > 0 {
                fit
            } else {
                // A new carton takes as many as it can, and at least one.
                package += 1;
                used = 0;
                // Weightless units all fit.
                max.checked_div(unit).map_or(u64::from(left), |n| n.max(1))
            }
            .min(u64::from(left)) as u32;
            used += unit * u64::from(take);
            match lines.last_mut() {
                Some(l) if l.package_no == package && l.part_no == item.part_no => {
                    l.quantity += take
                }
                _ => lines.push(PackedLine {
                    part_no: item.part_no.clone(),
                    quantity: take,
                    package_no: package,
                    name: item.name.clone(),
                    specification: item.specification.clone(),
                }),
            }
            left -= take;
        }
    }
    Packed {
        lines,
        packages: package,
        weight_grams: weight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn item(part_no: &str, quantity: u32, unit: u32) -> Item {
        Item {
            part_no: part_no.into(),
            quantity,
            unit_weight_grams: unit,
            name: format!("{part_no} name"),
            specification: String::new(),
        }
    }

    #[test]
    fn light_lines_share_a_carton_and_heavy_ones_spill_over() {
        let p = pack(&[item("A", 2, 800), item("B", 3, 9000)], 20_000);
        let got: Vec<(&str, u32, u32)> = p
            .lines
            .iter()
            .map(|l| (l.part_no.as_str(), l.quantity, l.package_no))
            .collect();
        assert_eq!(got, vec![("A", 2, 1), ("B", 2, 1), ("B", 1, 2)]);
        assert_eq!(p.packages, 2);
        assert_eq!(p.weight_grams, 2 * 800 + 3 * 9000);
    }

    #[test]
    fn a_unit_heavier_than_a_carton_travels_alone() {
        let p = pack(&[item("PALLET", 2, 50_000)], 20_000);
        assert_eq!(p.packages, 2);
        assert!(p.lines.iter().all(|l| l.quantity == 1));
    }

    proptest! {
        #[test]
        fn every_unit_is_packed_once_and_no_carton_is_overweight(
            lines in prop::collection::vec((0u32..5, 1u32..20, 1u32..30_000), 1..8),
            max in 1000u32..40_000
        ) {
            let items: Vec<Item> = lines.iter().enumerate()
                .map(|(i, (p, q, w))| item(&format!("P{p}-{i}"), *q, *w)).collect();
            let packed = pack(&items, max);
            let mut units: BTreeMap<&str, u32> = BTreeMap::new();
            let mut per_carton: BTreeMap<u32, (u64, u32)> = BTreeMap::new();
            for l in &packed.lines {
                prop_assert!(l.package_no >= 1 && l.package_no <= packed.packages);
                *units.entry(l.part_no.as_str()).or_default() += l.quantity;
                let w = items.iter().find(|i| i.part_no == l.part_no).unwrap().unit_weight_grams;
                let c = per_carton.entry(l.package_no).or_default();
                c.0 += u64::from(w) * u64::from(l.quantity);
                c.1 += l.quantity;
            }
            for i in &items {
                prop_assert_eq!(units.get(i.part_no.as_str()).copied(), Some(i.quantity));
            }
            for (_, (w, n)) in per_carton {
                prop_assert!(w <= u64::from(max) || n == 1, "carton of {} g with {} units", w, n);
            }
            prop_assert_eq!(packed.packages as usize, packed.lines.iter().map(|l| l.package_no).collect::<std::collections::BTreeSet<_>>().len());
        }
    }
}
