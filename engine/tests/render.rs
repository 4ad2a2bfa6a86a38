//! Every message of every example campaign renders in every locale, and a few rendered
//! messages are pinned by snapshots.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_compiler::{compile_file, FsLoader};
use camp_engine::{RenderContext, Rendered, Renderer};
use camp_plan::{MessageId, PhaseId, Plan, RewardId};
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "camp"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no examples in {}", dir.display());
    files
}

fn plan_of(name: &str) -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/{name}.camp"));
    compile(&path)
}

fn compile(path: &Path) -> Plan {
    let result = compile_file(&FsLoader, path).unwrap();
    result.plan.unwrap_or_else(|| {
        panic!(
            "{} has errors: {:#?}",
            path.display(),
            result.check.diagnostics
        )
    })
}

fn message(plan: &Plan, name: &str) -> MessageId {
    MessageId(plan.messages.iter().position(|m| m.name == name).unwrap() as u32)
}

fn phase(plan: &Plan, name: &str) -> PhaseId {
    PhaseId(plan.phases.iter().position(|p| p.name == name).unwrap() as u32)
}

fn reward(plan: &Plan, name: &str) -> RewardId {
    RewardId(plan.rewards.iter().position(|r| r.name == name).unwrap() as u32)
}

/// One user whose attributes cover every example; each plan sees its declared ones.
fn user() -> RenderContext {
    let attrs = serde_json::json!({
        "nickname": "Lin",
        "first_name": "Ana",
        "country": "SG",
        "locale": "en",
        "registered_days": 30,
        "age": 30,
        "verified": true,
        "follows_channel": true,
        "app_user": true,
        "loyalty_member": true,
        "is_employee": false,
        "birthday": "1990-05-17",
    });
    RenderContext {
        user: attrs.as_object().unwrap().clone(),
        participant_points: 120,
        ..RenderContext::default()
    }
}

fn show(r: &Rendered) -> String {
    let mut out = format!("locale: {}\n", r.locale);
    if let Some(s) = &r.subject {
        out.push_str(&format!("subject: {s}\n"));
    }
    out.push_str("---\n");
    out.push_str(&r.body);
    out.push('\n');
    out
}

#[test]
fn every_message_renders_in_every_locale() {
    for path in examples() {
        let plan = compile(&path);
        let renderer = Renderer::new(&plan).unwrap();
        let mut ctx = user();
        ctx.phase = Some(PhaseId(0));
        ctx.reward = plan
            .rewards
            .iter()
            .position(|r| r.value.is_some())
            .map(|i| RewardId(i as u32));
        ctx.participant_tier = plan.tiers.first().map(|t| t.name.clone());
        ctx.ranks = plan
            .leaderboards
            .iter()
            .map(|l| (l.name.clone(), 1))
            .collect();
        for (i, m) in plan.messages.iter().enumerate() {
            for locale in &plan.campaign.locales {
                let out = renderer
                    .render(MessageId(i as u32), locale, &ctx)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(&out.locale, locale);
                assert_eq!(
                    out.subject.is_some(),
                    m.channel == "email",
                    "{}: {}",
                    path.display(),
                    m.name
                );
                assert!(
                    !out.body.trim().is_empty(),
                    "{}: {} is empty",
                    path.display(),
                    m.name
                );
            }
        }
    }
}

#[test]
fn checkin_festival_recap_ranked_and_unranked() {
    let plan = plan_of("checkin_festival");
    let r = Renderer::new(&plan).unwrap();
    let mut ctx = user();
    ctx.participant_points = 340;
    ctx.participant_tier = Some("devoted".into());
    ctx.phase = Some(phase(&plan, "wrapup"));
    ctx.ranks.insert("checkin_stars".into(), 7);
    let recap = message(&plan, "recap");
    insta::assert_snapshot!(
        "checkin_festival_recap_en_ranked",
        show(&r.render(recap, "en", &ctx).unwrap())
    );
    insta::assert_snapshot!(
        "checkin_festival_recap_zh_ranked",
        show(&r.render(recap, "zh-CN", &ctx).unwrap())
    );
    ctx.ranks.clear();
    insta::assert_snapshot!(
        "checkin_festival_recap_en_unranked",
        show(&r.render(recap, "en", &ctx).unwrap())
    );
}

#[test]
fn checkin_festival_teaser_uses_the_phase_end_locally() {
    let plan = plan_of("checkin_festival");
    let r = Renderer::new(&plan).unwrap();
    let mut ctx = user();
    ctx.phase = Some(phase(&plan, "warmup"));
    let out = r.render(message(&plan, "teaser"), "en", &ctx).unwrap();
    assert_eq!(
        out.body,
        "Lin, the Mid-Autumn Check-in Festival opens 2027-09-06!"
    );
}

#[test]
fn referral_credit_mail_with_a_money_subject() {
    let plan = plan_of("referral");
    let r = Renderer::new(&plan).unwrap();
    let mut ctx = user();
    ctx.user
        .insert("first_name".into(), "Ana <Ana@example.com>".into());
    ctx.phase = Some(phase(&plan, "referral"));
    ctx.reward = Some(reward(&plan, "credit_10"));
    let mail = message(&plan, "credit_mail");
    insta::assert_snapshot!(
        "referral_credit_mail_en",
        show(&r.render(mail, "en", &ctx).unwrap())
    );
    insta::assert_snapshot!(
        "referral_credit_mail_es",
        show(&r.render(mail, "es", &ctx).unwrap())
    );
}

#[test]
fn five_fu_card_drawn_names_the_card_won() {
    let plan = plan_of("five_fu");
    let r = Renderer::new(&plan).unwrap();
    let mut ctx = user();
    ctx.phase = Some(phase(&plan, "collect"));
    ctx.reward = Some(reward(&plan, "fu_harmony"));
    // zh-CN is the only locale: anything else falls back to it.
    let out = r.render(message(&plan, "card_drawn"), "en", &ctx).unwrap();
    insta::assert_snapshot!("five_fu_card_drawn", show(&out));
}

#[test]
fn live_lottery_preheat_shows_date_and_time() {
    let plan = plan_of("live_lottery");
    let r = Renderer::new(&plan).unwrap();
    let mut ctx = user();
    ctx.phase = Some(phase(&plan, "reserve"));
    let out = r
        .render(message(&plan, "preheat_ad"), "zh-CN", &ctx)
        .unwrap();
    insta::assert_snapshot!("live_lottery_preheat_ad", show(&out));
}

#[test]
fn member_tiers_recap_before_any_tier() {
    let plan = plan_of("member_tiers");
    let r = Renderer::new(&plan).unwrap();
    let mut ctx = user();
    ctx.phase = Some(phase(&plan, "closing"));
    let recap = message(&plan, "season_recap");
    let locale = r.pick_locale(Some("fr")).to_string();
    insta::assert_snapshot!(
        "member_tiers_season_recap_fr_no_tier",
        show(&r.render(recap, &locale, &ctx).unwrap())
    );
    ctx.participant_tier = Some("gold".into());
    let out = r.render(recap, "en", &ctx).unwrap();
    assert!(out.body.contains("reached the\nGOLD tier"), "{}", out.body);
}
