//! "Did you mean": the closest known name by normalized Damerau-Levenshtein similarity.
//! An exact case-insensitive match always wins.

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(&'a str, f64)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        if c.to_lowercase() == lower {
            return Some(c);
        }
        let score = strsim::normalized_damerau_levenshtein(&lower, &c.to_lowercase());
        if score >= 0.6 && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

/// `did you mean `x`?` for the closest candidate.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        assert_eq!(
            closest("point_10", ["points_10", "coupon_20"]),
            Some("points_10")
        );
        assert_eq!(closest("levle", ["level", "region"]), Some("level"));
        assert_eq!(closest("REGION", ["level", "region"]), Some("region"));
        assert_eq!(closest("xyz", ["level", "region"]), None);
    }
}
