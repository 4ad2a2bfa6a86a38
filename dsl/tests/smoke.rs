#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.
use camp_dsl::{parse, span::FileId};

#[test]
fn spec_examples_parse_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/examples");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let src = std::fs::read_to_string(e.path()).unwrap();
        let p = parse(&src, FileId(0));
        assert!(
            p.diagnostics.is_empty(),
            "{}: {:#?}",
            e.path().display(),
            p.diagnostics
        );
        assert!(p.file.items.len() > 5);
    }
}

#[test]
fn recovers_after_errors() {
    let src = "campaign x {\n  timezone \"UTC\"\n}\nrewrd a = points 10\nreward b = points 3x\nreward c = coupon { value 20 cny }\nevent e { f: string }\nphase p for 2d {\n  task t { on e limit 1 per dya }\n}\nmessage m via push {\n  en \"open\n}\nkpi k = count(e) target >= 1\n";
    let p = parse(src, FileId(0));
    for d in &p.diagnostics {
        eprintln!(
            "{:?} {} {:?}",
            d.code,
            d.message,
            &src[d.primary.loc.span.start as usize..d.primary.loc.span.end as usize]
        );
    }
    let codes: Vec<_> = p.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, vec!["E0001", "E0002", "E0002", "E0001", "E0003"]);
    assert!(p.file.items.len() >= 4);
}

#[test]
fn a_draw_weight_before_a_three_letter_reward_is_not_money() {
    // Regression: `20% pts` was read as an amount of money in the currency `pts`.
    let src =
        "reward pts = points 1\nreward abc = points 2\nreward lucky = draw { 50% abc  20% pts }\n";
    let p = parse(src, FileId(0));
    assert!(p.diagnostics.is_empty(), "{:#?}", p.diagnostics);
    let Some(camp_dsl::ast::ItemKind::Reward(r)) = p.file.items.get(2).map(|i| &i.kind) else {
        panic!("a reward")
    };
    let camp_dsl::ast::RewardKind::Draw(entries) = &r.kind else {
        panic!("a draw")
    };
    let names: Vec<&str> = entries.iter().map(|e| e.reward.name.as_str()).collect();
    assert_eq!(names, ["abc", "pts"]);
    // Money itself still parses, and `20 cny` is still an invalid literal, not a syntax error.
    let p = parse(
        "campaign c {\n  budget 20 CNY\n}\ncampaign d {\n  budget 20 cny\n}\n",
        FileId(0),
    );
    let codes: Vec<&str> = p.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0002"]);
}

#[test]
fn a_daily_stock_parses_next_to_a_total_stock_and_formats_back() {
    use camp_dsl::ast::{ItemKind, PropValue};
    let src =
        "reward tea = coupon { value 5 CNY  stock 50_000  stock 1_000 per day  per_user 1 }\n";
    let p = parse(src, FileId(0));
    assert!(p.diagnostics.is_empty(), "{:#?}", p.diagnostics);
    let Some(ItemKind::Reward(r)) = p.file.items.first().map(|i| &i.kind) else {
        panic!("a reward: {:#?}", p.file.items);
    };
    let kinds: Vec<&str> = r
        .props
        .iter()
        .map(|p| match p.value {
            PropValue::Stock(_) => "stock",
            PropValue::StockPerDay(_) => "stock per day",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["other", "stock", "stock per day", "other"]);
    assert_eq!(camp_dsl::format::format(src).unwrap(), src);
}
