//! Experiments (language §11): assignment at enrollment from a stable hash, never the
//! seed; `participant.variant.X` in conditions; per-variant message bodies; the order
//! of a participant's first effects; and variants kept across snapshots.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;
use camp_compiler::{compile_file, MemoryLoader};
use camp_engine::random::Seed;
use camp_engine::{Engine, Output};
use camp_plan::{ExperimentId, Plan};
use common::{count, ev, having, run, t, users};
use std::path::Path;

const HEAD: &str = r#"
campaign c {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en, zh-CN
}
user {
  nickname: string
  locale:   string
}
event buy {}
reward p = points 1
reward bonus = badge "Bold buyer"
experiment copy {
  variants control 30%, bold 70%
}
experiment colour {
  variants red 50%, blue 50%
}
message hello via push by copy {
  variant control {
    en    "Hi {{ user.nickname }}, new arrivals."
    zh-CN "{{ user.nickname }},新品上线。"
  }
  variant bold {
    en    "{{ user.nickname }}: 24 hours only! ({{ participant.variant.colour }})"
    zh-CN "{{ user.nickname }}:限时 24 小时!"
  }
}
"#;

fn plan(body: &str) -> Plan {
    let src = format!("{HEAD}\n{body}");
    let r = compile_file(
        &MemoryLoader::with(&[("c.camp", &src)]),
        Path::new("c.camp"),
    )
    .unwrap();
    r.plan.unwrap_or_else(|| {
        panic!(
            "the test campaign does not compile: {:#?}",
            r.check.diagnostics
        )
    })
}

fn campaign(body: &str) -> Engine {
    Engine::new(plan(body)).unwrap()
}

const MAIN: &str = "phase main for 3d {\n  task t {\n    on buy\n    grant p\n  }\n  task b {\n    on buy where participant.variant.copy == \"bold\"\n    grant bonus\n  }\n  send hello on enroll\n}";

/// `n` users `u0`…, with an English nickname.
fn people(n: usize) -> Vec<camp_engine::input::UserLine> {
    let lines: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"id":"u{i}","attrs":{{"nickname":"N{i}","locale":"en"}}}}"#))
        .collect();
    users(&lines.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Every `assign` effect as (user, experiment, variant).
fn assigned(lines: &[String]) -> Vec<(String, String, String)> {
    having(lines, &["\"kind\":\"assign\""])
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            (s("user"), s("experiment"), s("variant"))
        })
        .collect()
}

/// When user `i` buys: a second apart from 09:00 on the first day.
fn when(i: usize) -> chrono::DateTime<chrono::Utc> {
    t("2027-01-20T09:00:00+08:00") + chrono::Duration::seconds(i as i64)
}

/// One purchase per user, `u0` first.
fn purchases(n: usize) -> Vec<camp_engine::input::EventLine> {
    (0..n)
        .map(|i| {
            ev(
                &format!("e{i}"),
                "buy",
                &format!("u{i}"),
                &when(i).to_rfc3339(),
                "{}",
            )
        })
        .collect()
}

#[test]
fn enrollment_runs_enroll_then_assign_per_experiment_then_tier_then_on_enroll() {
    let e = campaign(&format!("tiers {{\n  bronze at 0 points\n}}\n{MAIN}\n"));
    let out = run(&e, &people(1), &purchases(1), None);
    let kinds: Vec<String> = out
        .iter()
        .filter(|l| l.contains("\"user\":\"u0\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let kind = v["kind"].as_str().unwrap().to_string();
            match kind.as_str() {
                "assign" => format!("assign:{}", v["experiment"].as_str().unwrap()),
                _ => kind,
            }
        })
        .collect();
    assert_eq!(
        kinds.get(..5).unwrap(),
        ["enroll", "assign:copy", "assign:colour", "tier", "send"],
        "{out:#?}"
    );
}

#[test]
fn assignment_is_deterministic_and_independent_of_the_seed() {
    let p = plan(MAIN);
    let a = Engine::with_seed(p.clone(), Seed::from_text("one")).unwrap();
    let b = Engine::with_seed(p, Seed::from_text("another seed")).unwrap();
    let first = assigned(&run(&a, &people(200), &purchases(200), None));
    assert_eq!(first.len(), 400);
    assert_eq!(
        first,
        assigned(&run(&a, &people(200), &purchases(200), None))
    );
    assert_eq!(
        first,
        assigned(&run(&b, &people(200), &purchases(200), None))
    );
    // The campaign's body does not matter either: only its id, the experiment and the user.
    let c =
        campaign("phase other for 5d {\n  task t {\n    on buy\n  }\n  send hello on enroll\n}");
    assert_eq!(
        first,
        assigned(&run(&c, &people(200), &purchases(200), None))
    );
}

#[test]
fn weights_are_respected_over_ten_thousand_participants() {
    let e = campaign(MAIN);
    let n = 10_000;
    let mut state = e.start();
    for u in people(n) {
        e.user(&mut state, &u).unwrap();
    }
    let mut out = Output::default();
    for (i, ev) in purchases(n).iter().enumerate() {
        e.event(&mut state, ev, when(i), &mut out);
    }
    let mut copy = [0usize; 2];
    let mut colour = [0usize; 2];
    let mut both = [[0usize; 2]; 2];
    for u in 0..n as u32 {
        let c = e.variant_of(&state, u, ExperimentId(0)).unwrap() as usize;
        let k = e.variant_of(&state, u, ExperimentId(1)).unwrap() as usize;
        copy[c] += 1;
        colour[k] += 1;
        both[c][k] += 1;
    }
    // 30/70 and 50/50 within 2.5 points (about five standard deviations).
    let share = |x: usize| x as f64 / n as f64;
    assert!((share(copy[0]) - 0.30).abs() < 0.025, "{copy:?}");
    assert!((share(colour[0]) - 0.50).abs() < 0.025, "{colour:?}");
    // The two experiments are independent: red is half of each copy arm.
    for c in 0..2 {
        let red = both[c][0] as f64 / copy[c] as f64;
        assert!((red - 0.5).abs() < 0.04, "{both:?}");
    }
}

#[test]
fn holdout_users_get_no_variant_and_arms_are_independent_of_the_holdout() {
    let src = MAIN.to_string();
    let p = plan(&src);
    let mut held = p.clone();
    held.campaign.holdout_percent = rust_decimal::Decimal::from(30);
    let e = Engine::new(held).unwrap();
    let plain = Engine::new(p).unwrap();
    let n = 2_000;
    let out = run(&e, &people(n), &purchases(n), None);
    let without = run(&plain, &people(n), &purchases(n), None);
    let enrolled = count(&out, &["\"kind\":\"enroll\""]);
    assert!(enrolled < n * 8 / 10 && enrolled > n * 6 / 10, "{enrolled}");
    let arms = assigned(&out);
    assert_eq!(arms.len(), enrolled * 2);
    // Holdout users are never assigned; everyone else has the arm they would have
    // had without a holdout.
    let all: std::collections::HashMap<_, _> = assigned(&without)
        .into_iter()
        .map(|(u, x, v)| ((u, x), v))
        .collect();
    for (u, x, v) in &arms {
        assert_eq!(all.get(&(u.clone(), x.clone())), Some(v));
    }
    let bold = arms
        .iter()
        .filter(|(_, x, v)| x == "copy" && v == "bold")
        .count() as f64;
    assert!((bold / enrolled as f64 - 0.7).abs() < 0.05, "{bold}");
}

#[test]
fn a_variant_condition_and_the_variant_bodies_follow_the_arm() {
    let e = campaign(MAIN);
    let n = 40;
    let out = run(&e, &people(n), &purchases(n), None);
    let arms = assigned(&out);
    let of = |u: &str, x: &str| {
        arms.iter()
            .find(|(a, b, _)| a == u && b == x)
            .map(|(_, _, v)| v.clone())
            .unwrap()
    };
    for i in 0..n {
        let u = format!("u{i}");
        let bold = of(&u, "copy") == "bold";
        let user = format!("\"user\":\"{u}\"");
        // The bonus task's `where` reads the variant.
        assert_eq!(
            count(&out, &[&user, "\"reward\":\"bonus\""]),
            usize::from(bold),
            "{u}"
        );
        let sent = having(&out, &[&user, "\"kind\":\"send\""]);
        assert_eq!(sent.len(), 1);
        if bold {
            let colour = of(&u, "colour");
            assert!(
                sent[0].contains(&format!("N{i}: 24 hours only! ({colour})")),
                "{sent:?}"
            );
        } else {
            assert!(
                sent[0].contains(&format!("Hi N{i}, new arrivals.")),
                "{sent:?}"
            );
        }
    }
    assert!(arms.iter().any(|(_, x, v)| x == "copy" && v == "bold"));
    assert!(arms.iter().any(|(_, x, v)| x == "copy" && v == "control"));
}

#[test]
fn someone_without_a_variant_gets_the_first_variants_body() {
    // Sent to the audience at the start: no one has enrolled, so no one has a variant.
    let e = campaign(
        "phase main for 3d {\n  task t {\n    on buy\n  }\n  send hello at 2027-01-20T10:00 to audience\n}",
    );
    let out = run(&e, &people(5), &[], None);
    assert_eq!(count(&out, &["\"kind\":\"assign\""]), 0);
    let sent = having(&out, &["\"kind\":\"send\""]);
    assert_eq!(sent.len(), 5, "{out:#?}");
    assert!(sent.iter().all(|l| l.contains("new arrivals.")), "{sent:?}");
}

#[test]
fn variants_survive_a_snapshot_and_the_participant_report_shows_them() {
    let e = campaign(MAIN);
    let mut state = e.start();
    for u in people(50) {
        e.user(&mut state, &u).unwrap();
    }
    let mut out = Output::default();
    for (i, ev) in purchases(50).iter().enumerate() {
        e.event(&mut state, ev, when(i), &mut out);
    }
    let json = serde_json::to_string(&state).unwrap();
    let back = e.restore(serde_json::from_str(&json).unwrap()).unwrap();
    for u in 0..50 {
        for x in 0..2 {
            let x = ExperimentId(x);
            assert!(e.variant_of(&state, u, x).is_some());
            assert_eq!(e.variant_of(&state, u, x), e.variant_of(&back, u, x));
        }
    }
    assert_eq!(e.variant_of(&state, 50, ExperimentId(0)), None);
    assert_eq!(e.variant_of(&state, 0, ExperimentId(2)), None);
    // The rest of the campaign after the restore is what it would have been.
    let rest = |mut s: camp_engine::state::State| {
        let mut o = Output::default();
        let extra = ev("x", "buy", "u7", "2027-01-21T09:00:00+08:00", "{}");
        e.event(&mut s, &extra, t("2027-01-21T09:00:00+08:00"), &mut o);
        e.finish(&mut s, &mut o);
        o.effects
    };
    assert_eq!(rest(state.clone()), rest(back));
    let report = serde_json::to_value(e.participant(&state, "u3").unwrap()).unwrap();
    let copy = report["variants"]["copy"].as_str().unwrap();
    assert!(copy == "control" || copy == "bold", "{report}");
    assert!(report["variants"]["colour"].is_string(), "{report}");
}

#[test]
fn a_snapshot_from_before_experiments_loads_with_no_variants() {
    // A state written without variants (as a camp without experiments wrote it).
    let e = campaign(MAIN);
    let mut state = e.start();
    for u in people(3) {
        e.user(&mut state, &u).unwrap();
    }
    let mut json: serde_json::Value = serde_json::to_value(&state).unwrap();
    for u in json["users"].as_array_mut().unwrap() {
        assert!(u.get("variants").is_none(), "{u}");
    }
    let back = e.restore(serde_json::from_value(json).unwrap()).unwrap();
    assert_eq!(e.variant_of(&back, 0, ExperimentId(0)), None);
    let mut back = back;
    let mut out = Output::default();
    let buy = ev("e", "buy", "u1", "2027-01-20T09:00:00+08:00", "{}");
    e.event(&mut back, &buy, when(0), &mut out);
    assert!(e.variant_of(&back, 1, ExperimentId(1)).is_some());
}
