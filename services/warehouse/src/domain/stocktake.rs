//! Stocktake arithmetic: differences and inventory accuracy.

/// One counted line: the book quantity at the snapshot and what was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub book: i64,
    pub counted: i64,
}

impl Count {
    /// counted - book: what the close posts to the ledger.
    pub fn difference(self) -> i64 {
        self.counted - self.book
    }
}

/// Inventory accuracy in basis points: the share of counted lines whose count equals the book
/// (10000 when nothing was counted: nothing was found wrong). Rounded down.
pub fn accuracy_bp(counts: &[Count]) -> u32 {
    if counts.is_empty() {
        return 10_000;
    }
    let matched = counts.iter().filter(|c| c.difference() == 0).count() as u64;
    (matched * 10_000 / counts.len() as u64) as u32
}

/// Parses a period "YYYY-MM" (months 01–12).
pub fn parse_period(s: &str) -> Result<(i32, u32), String> {
    let bad = || format!("{s:?} is not a period (YYYY-MM)");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || y < 2000 {
        return Err(bad());
    }
    Ok((y, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_is_the_share_of_lines_that_matched() {
        let c = |book, counted| Count { book, counted };
        assert_eq!(accuracy_bp(&[]), 10_000);
        assert_eq!(accuracy_bp(&[c(5, 5), c(3, 2), c(0, 0)]), 6_666);
        assert_eq!(accuracy_bp(&[c(5, 6)]), 0);
        assert_eq!(c(5, 3).difference(), -2);
    }

    #[test]
    fn periods_are_year_and_month() {
        assert_eq!(parse_period("2026-01"), Ok((2026, 1)));
        assert!(parse_period("2026-13").is_err());
        assert!(parse_period("2026-1").is_err());
        assert!(parse_period("26-01").is_err());
    }
}
