//! The long explanation of every diagnostic code.
//!
//! This module is the single source of what each code means, why it matters to a
//! campaign and how to fix it. It feeds `camp explain CODE` ([`render_text`]) and the
//! generated `docs/diagnostics.md` ([`render_markdown`]), so the two never drift apart.

use camp_dsl::diag::{Code, Severity};
use std::fmt::Write as _;

/// Long-form documentation of one diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeDoc {
    /// The code this explains.
    pub code: Code,
    /// A short lowercase phrase naming the problem ("unknown name").
    pub title: &'static str,
    /// What is wrong, in one to three sentences.
    pub what: &'static str,
    /// Why it matters to the campaign, in one to three sentences.
    pub why: &'static str,
    /// A small `.camp` snippet that triggers the code.
    pub example: &'static str,
    /// The same snippet, corrected.
    pub fix: &'static str,
}

/// The long-form documentation of `code`.
pub fn doc(code: Code) -> CodeDoc {
    match code {
        Code::E0001 => CodeDoc {
            code,
            title: "syntax error",
            what: "A line does not have the shape camp expects: a word or symbol stands where \
                   something else has to come, such as a misspelled reward kind after \
                   `reward NAME =` or a KPI `target` without its `>=` or `<=`. The message \
                   says what was expected there.",
            why: "camp cannot guess what you meant, so it skips the rest of that definition \
                  and keeps checking the rest of the file; the campaign cannot be compiled \
                  until the line is fixed. A name written in the skipped text may be defined \
                  or used there, so camp does not also call it unknown (E0102) or unused \
                  (W0701) until the syntax error is fixed.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

phase main for 14d {
  task daily_checkin { on checkin }
}

kpi participation = unique(checkin) / audience target 20%"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

phase main for 14d {
  task daily_checkin { on checkin }
}

kpi participation = unique(checkin) / audience target >= 20%"#,
        },
        Code::E0002 => CodeDoc {
            code,
            title: "invalid value",
            what: "A date, time of day, amount of money, duration or percentage is written in a \
                   way that cannot mean anything: a day that does not exist (`2027-02-30`), an \
                   hour past midnight (`25:00`), a currency that is not a three-capital ISO code \
                   (`20 cny`), or a duration with an unknown unit (`3x`). A number too large to \
                   compute with is one too: a coupon whose value times its stock, or all \
                   rewards' worst case together, does not fit; draw weights whose sum does not \
                   fit; a limit, milestone, rank or message cap over 4_294_967_295; a phase that \
                   would end past the last date camp can represent.",
            why: "Dates and amounts decide when phases run and what rewards cost. camp does not \
                  guess a nearby value, because a wrong guess would move the launch or misprice \
                  the budget; and it does not round a number it cannot compute with, because \
                  the budget check would then be wrong.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-02-30T00:00
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-02-28T00:00
}"#,
        },
        Code::E0003 => CodeDoc {
            code,
            title: "unterminated text or comment",
            what: "A quoted text runs to the end of its line without the closing `\"`, or a `/*` \
                   comment is never closed with `*/`. Text in plain quotes must open and close \
                   on one line; use `\"\"\"` for text over several lines.",
            why: "Everything after the opening quote or `/*` would silently become part of the \
                  text or the comment, hiding the settings and phases that follow it.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

/* Daily check-in, for two weeks.

event checkin {}

phase main for 14d {
  task daily_checkin { on checkin }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

/* Daily check-in, for two weeks. */

event checkin {}

phase main for 14d {
  task daily_checkin { on checkin }
}"#,
        },
        Code::E0101 => CodeDoc {
            code,
            title: "defined twice",
            what: "Two rewards, messages, events, segments, phases, tasks, leaderboards or KPIs \
                   share a name, in this file or in a file it imports; or a campaign setting, a \
                   user attribute, an event field, a reward property, a task's `on` line or \
                   limit of one kind, or a leaderboard's `score` or `show top` line is given \
                   twice.",
            why: "Grants, sends and reports refer to things by name. With two definitions camp \
                  cannot tell which one a `grant` or `send` means, or which value of a setting \
                  counts.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward bonus = points 10
reward bonus = points 50

phase main for 14d {
  task daily_checkin {
    on checkin
    grant bonus
    after 7 => grant bonus
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward bonus     = points 10
reward big_bonus = points 50

phase main for 14d {
  task daily_checkin {
    on checkin
    grant bonus
    after 7 => grant big_bonus
  }
}"#,
        },
        Code::E0102 => CodeDoc {
            code,
            title: "unknown name",
            what: "A grant, send, award, task or segment refers to a reward, message, event, \
                   segment, leaderboard or phase that is defined neither in this file nor in \
                   one it imports; the same goes for an unknown channel after `via`, an unknown \
                   field type or an unknown `to` recipient. camp suggests the closest name that \
                   is defined.",
            why: "A misspelled name would mean a reward that is never granted or a message that \
                  is never sent; camp catches it before launch instead.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward points_10 = points 10

phase main for 14d {
  task daily_checkin {
    on checkin
    grant points_10
    streak 7 days => grant point_10
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward points_10 = points 10

phase main for 14d {
  task daily_checkin {
    on checkin
    grant points_10
    streak 7 days => grant points_10
  }
}"#,
        },
        Code::E0103 => CodeDoc {
            code,
            title: "missing or extra campaign block",
            what: "A file checked or compiled as a campaign must contain exactly one \
                   `campaign NAME { ... }` block; this one has none, or more than one. Files \
                   that only hold shared rewards, events or messages are libraries, reached \
                   through `import`.",
            why: "The campaign block holds the time zone, start, locales, budget and audience. \
                  Without exactly one, camp cannot tell which campaign the phases and rewards \
                  belong to.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
}

campaign summer {
  timezone "Asia/Shanghai"
}"#,
            fix: r#"// spring.camp; summer gets a file of its own
campaign spring {
  timezone "Asia/Shanghai"
}"#,
        },
        Code::E0104 => CodeDoc {
            code,
            title: "required setting missing",
            what: "The campaign lacks a setting it needs: `timezone` always, `start` when a \
                   phase is given by a duration (`for 14d`), and `locales` when there is any \
                   message. A coupon without a `value` is reported the same way.",
            why: "Without them camp cannot place the phases on the calendar, choose the \
                  language of a message, or count what a coupon costs against the budget.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event checkin {}

phase main for 14d {
  task daily_checkin { on checkin }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

phase main for 14d {
  task daily_checkin { on checkin }
}"#,
        },
        Code::E0105 => CodeDoc {
            code,
            title: "import not found or import cycle",
            what: "An `import` names a file that does not exist (the path is relative to the \
                   file that imports it), or files import each other in a circle: `a.camp` \
                   imports `b.camp`, which imports `a.camp` again.",
            why: "The rewards and messages of a missing file would be missing from the \
                  campaign, and a circle of imports has no starting point to read from.",
            example: r#"import "lib/reward.camp"

campaign spring {
  timezone "Asia/Shanghai"
}"#,
            fix: r#"import "lib/rewards.camp"

campaign spring {
  timezone "Asia/Shanghai"
}"#,
        },
        Code::E0106 => CodeDoc {
            code,
            title: "segment defined in terms of itself",
            what: "A segment's condition names the segment itself, directly \
                   (`segment loyal = loyal or user.level >= 3`) or through other segments \
                   (`regulars` names `loyal`, which names `regulars`). The message shows the \
                   whole circle.",
            why: "A segment stands for its condition. One that depends on itself has no \
                  condition to stand for: deciding whether a user belongs would never end.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  audience regulars
}

user {
  level: int
}

segment regulars = user.level >= 5 or loyal
segment loyal    = regulars and user.level >= 3"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  audience regulars
}

user {
  level: int
}

segment regulars = user.level >= 5 or loyal
segment loyal    = user.level >= 3"#,
        },
        Code::E0201 => CodeDoc {
            code,
            title: "type mismatch",
            what: "Two things that cannot be compared or combined are put together: a number \
                   and a text (`user.level >= \"5\"`), money and a plain number, or a text \
                   attribute used as a yes/no condition. A setting given the wrong kind of value \
                   (`holdout 5` instead of `holdout 5%`) is reported the same way.",
            why: "Such a condition can never hold, so the audience, segment or task would \
                  silently take in the wrong people, or nobody.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  audience user.level >= "5"
}

user {
  level: int
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  audience user.level >= 5
}

user {
  level: int
}"#,
        },
        Code::E0202 => CodeDoc {
            code,
            title: "unknown attribute or field",
            what: "A condition uses `user.X` for an attribute that `user { ... }` does not \
                   declare, or `event.X` for a field the event does not have, or compares \
                   `participant.tier` with a name that is not one of the `tiers` \
                   (`participant.tier == \"platinum\"`). camp suggests the closest declared one.",
            why: "The platform only provides the attributes and fields you declare; a misspelled \
                  one never has a value, so the condition would never match anyone.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  audience user.levle >= 5
}

user {
  level: int
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  audience user.level >= 5
}

user {
  level: int
}"#,
        },
        Code::E0203 => CodeDoc {
            code,
            title: "wrong currency",
            what: "An amount of money is in a currency other than the one of the campaign \
                   `budget`, such as a `5 USD` coupon in a campaign budgeted in `CNY`.",
            why: "Every coupon and item counts toward one budget and camp does not convert \
                  currencies, so spend in another currency could not be tracked.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  budget   10_000 CNY
}

event checkin {}

reward coupon_35 = coupon { value 5 USD  stock 100 }

phase main for 14d {
  task daily_checkin {
    on checkin
    streak 7 days => grant coupon_35
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  budget   10_000 CNY
}

event checkin {}

reward coupon_35 = coupon { value 35 CNY  stock 100 }

phase main for 14d {
  task daily_checkin {
    on checkin
    streak 7 days => grant coupon_35
  }
}"#,
        },
        Code::E0204 => CodeDoc {
            code,
            title: "unknown time zone",
            what: "The campaign `timezone` is not a known IANA time-zone name such as \
                   `Asia/Shanghai`, `Europe/Berlin` or `America/New_York`.",
            why: "Phase boundaries, daily limits, streak days and quiet hours are all counted in \
                  the campaign's time zone; with an unknown one camp cannot tell when anything \
                  happens.",
            example: r#"campaign spring {
  timezone "Beijing"
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
}"#,
        },
        Code::E0301 => CodeDoc {
            code,
            title: "phases out of order or overlapping",
            what: "A phase starts before the phase written above it has ended (the two overlap, \
                   or are written out of order), or a phase ends before it starts or lasts no \
                   time at all.",
            why: "Phases run one after another in the order written. Overlapping or reversed \
                  windows would put participants in two phases at once, or in none.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event checkin {}

phase launch from 2027-01-20T00:00 to 2027-01-27T00:00 {
  task first_checkin { on checkin }
}

phase main from 2027-01-25T00:00 to 2027-02-10T00:00 {
  task daily_checkin { on checkin }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event checkin {}

phase launch from 2027-01-20T00:00 to 2027-01-27T00:00 {
  task first_checkin { on checkin }
}

phase main from 2027-01-27T00:00 to 2027-02-10T00:00 {
  task daily_checkin { on checkin }
}"#,
        },
        Code::E0302 => CodeDoc {
            code,
            title: "streak longer than its phase",
            what: "A task asks for `streak N days` in a row, but its phase has fewer days than \
                   that, such as `streak 7 days` in a 5-day phase.",
            why: "Nobody can ever earn the streak reward, although participants are told to \
                  chase it.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward streak_badge = badge "7-day streak"

phase sprint for 5d {
  task daily_checkin {
    on checkin
    streak 7 days => grant streak_badge
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward streak_badge = badge "7-day streak"

phase sprint for 7d {
  task daily_checkin {
    on checkin
    streak 7 days => grant streak_badge
  }
}"#,
        },
        Code::E0303 => CodeDoc {
            code,
            title: "award before its leaderboard is final",
            what: "An `award` hands out prizes by rank on a leaderboard that is still running \
                   when the award fires: it stands in the same phase as the leaderboard, or in \
                   an earlier one. Awards fire when their phase starts (a periodic board's \
                   award, in the board's own phase, fires at the end of every period).",
            why: "The ranks would be read before anyone had the chance to score, so the prizes \
                  would go to the wrong people.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event invite_accepted {}

reward champion = badge "Top inviter"

phase main for 14d {
  leaderboard top_inviters {
    score count(invite_accepted)
    show top 100
  }
  award top_inviters rank 1 => grant champion
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event invite_accepted {}

reward champion = badge "Top inviter"

phase main for 14d {
  leaderboard top_inviters {
    score count(invite_accepted)
    show top 100
  }
}

phase wrapup for 3d {
  award top_inviters rank 1 => grant champion
}"#,
        },
        Code::W0304 => CodeDoc {
            code,
            title: "gap between phases",
            what: "A phase starts some time after the phase before it has ended, so for a while \
                   no phase is running.",
            why: "Events that arrive in the gap are turned away as outside the campaign: \
                  check-ins and purchases made then earn nothing. If the pause is deliberate, \
                  this is only a reminder.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event post_published {}
event vote_cast {}

phase submissions from 2027-05-01T10:00 to 2027-05-15T22:00 {
  task post { on post_published }
}

phase voting from 2027-05-16T10:00 to 2027-05-20T22:00 {
  task vote { on vote_cast }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event post_published {}
event vote_cast {}

phase submissions from 2027-05-01T10:00 to 2027-05-15T22:00 {
  task post { on post_published }
}

phase voting from 2027-05-15T22:00 to 2027-05-20T22:00 {
  task vote { on vote_cast }
}"#,
        },
        Code::W0305 => CodeDoc {
            code,
            title: "send scheduled in quiet hours",
            what: "A message is sent `at` a time of day that falls inside the campaign's \
                   `quiet` hours.",
            why: "Sends in the quiet hours are held until they end, so everyone gets the \
                  message at the end of the quiet hours instead of the time you planned.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
  quiet    22:00 .. 08:00
}

message teaser via push {
  en "The festival opens soon!"
}

phase warmup for 6d {
  send teaser at 23:00 daily to audience
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
  quiet    22:00 .. 08:00
}

message teaser via push {
  en "The festival opens soon!"
}

phase warmup for 6d {
  send teaser at 20:00 daily to audience
}"#,
        },
        Code::E0401 => CodeDoc {
            code,
            title: "draw chances over 100%",
            what: "The chances in a `draw` add up to more than 100%. They may add up to less \
                   (the rest of the time the draw wins nothing), never to more.",
            why: "A lottery cannot be more than certain to pay out, and camp will not guess \
                  which prize you meant to make rarer.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward points_10   = points 10
reward points_100  = points 100
reward lucky_draw  = draw { 60% points_10  50% points_100 }

phase main for 14d {
  task daily_checkin {
    on checkin
    grant lucky_draw
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward points_10   = points 10
reward points_100  = points 100
reward lucky_draw  = draw { 60% points_10  40% points_100 }

phase main for 14d {
  task daily_checkin {
    on checkin
    grant lucky_draw
  }
}"#,
        },
        Code::E0402 => CodeDoc {
            code,
            title: "impossible stock, limit or value",
            what: "A reward's `per_user` limit is larger than its whole `stock`, or its `stock` \
                   or `value` is zero or negative.",
            why: "No participant could ever collect `per_user` rewards from a smaller stock, and \
                  a reward with nothing in stock or worth nothing cannot be handed out; it is \
                  almost always a typo.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward coupon_20 = coupon { value 20 CNY  stock 10  per_user 20 }

phase main for 14d {
  task daily_checkin {
    on checkin
    streak 7 days => grant coupon_20
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward coupon_20 = coupon { value 20 CNY  stock 10  per_user 1 }

phase main for 14d {
  task daily_checkin {
    on checkin
    streak 7 days => grant coupon_20
  }
}"#,
        },
        Code::E0403 => CodeDoc {
            code,
            title: "reward cost without limit",
            what: "A coupon with a `value` or an item with a `cost` has no `stock`, and the \
                   campaign has no `budget`: nothing limits how much it can cost.",
            why: "Every grant spends real money. With neither a stock nor a budget, one popular \
                  task could hand out coupons without end.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward coupon_20 = coupon { value 20 CNY }

phase main for 14d {
  task daily_checkin {
    on checkin
    streak 7 days => grant coupon_20
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  budget   50_000 CNY
}

event checkin {}

reward coupon_20 = coupon { value 20 CNY  stock 2_000 }

phase main for 14d {
  task daily_checkin {
    on checkin
    streak 7 days => grant coupon_20
  }
}"#,
        },
        Code::W0404 => CodeDoc {
            code,
            title: "worst case over budget",
            what: "If every reward with a limited stock were handed out in full, and every \
                   `pool` paid out its whole amount at every firing it can have (each `at` \
                   time, raffle round, award period), the coupons, items and pools would cost \
                   more than the campaign `budget`; the warning says by how much, and which \
                   rewards weigh most (a pool with its number of payouts).",
            why: "Once the budget is spent, further grants are denied, so late participants \
                  earn nothing for tasks that promised a reward. Lower a stock, raise the \
                  budget, or keep it on purpose (for example with `until budget exhausted`).",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  budget   1_000 CNY
}

event checkin {}

reward coupon_20 = coupon { value 20 CNY  stock 100 }

phase main for 14d {
  task daily_checkin {
    on checkin
    streak 7 days => grant coupon_20
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  budget   2_000 CNY
}

event checkin {}

reward coupon_20 = coupon { value 20 CNY  stock 100 }

phase main for 14d {
  task daily_checkin {
    on checkin
    streak 7 days => grant coupon_20
  }
}"#,
        },
        Code::E0405 => CodeDoc {
            code,
            title: "award ranks out of range",
            what: "An `award` gives a prize to ranks the leaderboard does not show (beyond its \
                   `show top N`), or two awards on one leaderboard cover the same rank.",
            why: "Ranks beyond the top N are never worked out, so those prizes would never go \
                  out; overlapping ranks would pay one place twice.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event invite_accepted {}

reward top_100 = badge "Top 100"

phase main for 14d {
  leaderboard top_inviters {
    score count(invite_accepted)
    show top 100
  }
}

phase wrapup for 3d {
  award top_inviters rank 1..200 => grant top_100
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event invite_accepted {}

reward top_100 = badge "Top 100"

phase main for 14d {
  leaderboard top_inviters {
    score count(invite_accepted)
    show top 100
  }
}

phase wrapup for 3d {
  award top_inviters rank 1..100 => grant top_100
}"#,
        },
        Code::E0409 => CodeDoc {
            code,
            title: "experiment variants that do not share 100%",
            what: "An experiment's variants do not add up to exactly 100%, or one variant is \
                   named twice.",
            why: "Every participant gets exactly one variant: shares under 100% would leave \
                  some with none, shares over it cannot be honoured, and a name written twice \
                  could not tell the two arms apart in conditions, messages and reports.",
            example: r#"campaign launch {
  timezone "Asia/Shanghai"
  start    2027-05-10T00:00
}

event purchase {}

reward bonus = points 50

experiment launch_copy {
  variants control 50%, bold 40%
}

phase main for 3d {
  task bold_bonus {
    on purchase where participant.variant.launch_copy == "bold"
    grant bonus
  }
}"#,
            fix: r#"campaign launch {
  timezone "Asia/Shanghai"
  start    2027-05-10T00:00
}

event purchase {}

reward bonus = points 50

experiment launch_copy {
  variants control 50%, bold 50%
}

phase main for 3d {
  task bold_bonus {
    on purchase where participant.variant.launch_copy == "bold"
    grant bonus
  }
}"#,
        },
        Code::E0501 => CodeDoc {
            code,
            title: "broken message template",
            what: "The text of a message (a body or an email subject) has a broken placeholder, \
                   such as `{{` without its `}}` or an `{% if %}` without a condition. camp \
                   points at the exact character inside the text.",
            why: "A broken template cannot be filled in for anyone, so the message would never \
                  go out.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
}

user {
  nickname: string
}

message teaser via push {
  en "{{ user.nickname }, the festival opens soon!"
}

phase warmup for 6d {
  send teaser at 20:00 to audience
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
}

user {
  nickname: string
}

message teaser via push {
  en "{{ user.nickname }}, the festival opens soon!"
}

phase warmup for 6d {
  send teaser at 20:00 to audience
}"#,
        },
        Code::E0502 => CodeDoc {
            code,
            title: "unknown placeholder or filter",
            what: "A message uses a placeholder camp cannot fill in, such as a `user.X` \
                   attribute that `user { ... }` does not declare or a name other than `user`, \
                   `campaign`, `phase`, `participant` and (in a message sent by a task that \
                   grants) `reward`; or it uses a filter that does not exist. A name the \
                   template sets itself (`{% set %}`, a `for` loop's variable) is known where \
                   that setting reaches: after it, also past the end of an `if`, but not in \
                   the other branch of that `if` nor after a `for` loop.",
            why: "The message would go out with a blank where a name, a date or an amount \
                  should be.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
}

user {
  nickname: string
}

message teaser via push {
  en "{{ user.nick }}, the festival opens {{ campaign.start | date }}!"
}

phase warmup for 6d {
  send teaser at 20:00 to audience
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
}

user {
  nickname: string
}

message teaser via push {
  en "{{ user.nickname }}, the festival opens {{ campaign.start | date }}!"
}

phase warmup for 6d {
  send teaser at 20:00 to audience
}"#,
        },
        Code::E0503 => CodeDoc {
            code,
            title: "message missing a locale",
            what: "The campaign lists a locale in `locales`, but a message has no body for it \
                   or, for an email, no `subject`.",
            why: "Participants who read that language would get nothing, or an email without a \
                  subject line.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  zh-CN, en
}

message teaser via push {
  en "The festival opens soon!"
}

phase warmup for 6d {
  send teaser at 20:00 to audience
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  zh-CN, en
}

message teaser via push {
  zh-CN "签到节即将开启!"
  en    "The festival opens soon!"
}

phase warmup for 6d {
  send teaser at 20:00 to audience
}"#,
        },
        Code::W0504 => CodeDoc {
            code,
            title: "sms longer than one message",
            what: "An SMS body is longer than one text message holds: 160 characters, or 70 when \
                   it contains characters outside the basic SMS alphabet, such as Chinese.",
            why: "Carriers split it into several messages, each one billed, and some phones \
                  show the parts out of order.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  zh-CN
}

message teaser via sms {
  zh-CN "新春签到节明天开启!连续签到七天可得二十元无门槛优惠券,邀请好友还能抽取智能手表,每天签到都有积分,积分越多奖品越多,名额有限,先到先得,快来参加吧!"
}

phase warmup for 6d {
  send teaser at 20:00 to audience
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  zh-CN
}

message teaser via sms {
  zh-CN "新春签到节明天开启,连签七天得二十元券!"
}

phase warmup for 6d {
  send teaser at 20:00 to audience
}"#,
        },
        Code::E0505 => CodeDoc {
            code,
            title: "variant bodies that do not match the experiment",
            what: "A message `by` an experiment does not have exactly one `variant` block for \
                   each of the experiment's variants, a block misses a body (or, for email, a \
                   subject) for a campaign locale, or bodies stand outside the variant blocks.",
            why: "Each participant gets the body of their own variant: a variant without one \
                  would leave part of the experiment without the message, and the arms \
                  could not be compared.",
            example: r#"campaign launch {
  timezone "Asia/Shanghai"
  start    2027-05-10T00:00
  locales  en
  enroll   audience
}

experiment launch_copy {
  variants control 50%, bold 50%
}

message launch via push by launch_copy {
  variant control { en "New arrivals are in." }
}

phase main for 3d {
  send launch on enroll
}"#,
            fix: r#"campaign launch {
  timezone "Asia/Shanghai"
  start    2027-05-10T00:00
  locales  en
  enroll   audience
}

experiment launch_copy {
  variants control 50%, bold 50%
}

message launch via push by launch_copy {
  variant control { en "New arrivals are in." }
  variant bold    { en "24 hours only! Grab yours now!" }
}

phase main for 3d {
  send launch on enroll
}"#,
        },
        Code::E0601 => CodeDoc {
            code,
            title: "kpi target in the wrong unit",
            what: "A KPI's `target` is in another unit than its formula gives: money against a \
                   share of users, or a percentage against an amount of money. A KPI reported \
                   `by holdout` is also measured against the wrong population when its formula \
                   divides by `participants` or counts `returning` users (holdout users never \
                   participate, so the arms are over the `audience`); one reported `by` an \
                   experiment when it divides by `audience` (only participants get a variant); \
                   and either when it reads a metric that is not kept per arm (`spend`, \
                   `granted`, group and raffle metrics, other KPIs).",
            why: "The measured value could never be compared with the target, so the report \
                  could not say whether the campaign worked; an arm measured over a population \
                  it cannot have would compare nothing with something.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event purchase { amount: money }

kpi revenue = sum(purchase.amount) target >= 20%"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event purchase { amount: money }

kpi revenue = sum(purchase.amount) target >= 1_000_000 CNY"#,
        },
        Code::E0602 => CodeDoc {
            code,
            title: "kpi over an unknown measure",
            what: "A KPI formula counts an event that is not defined, sums a field the event \
                   does not have, or uses a measure camp does not know; or a KPI is reported \
                   `by` arms that do not exist (`by holdout` in a campaign without a \
                   holdout, or an experiment that is not defined). The measures are `count`, `unique`, `sum`, `repeat`, \
                   `returning`, `nps`, `granted`, `completions`, `sent`, `spend`, \
                   `participants`, `audience`, and the group and raffle metrics.",
            why: "There would be nothing to measure, so the KPI would stay empty for the whole \
                  campaign.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event purchase { amount: money }

kpi revenue = sum(purchase.amout) target >= 1_000_000 CNY"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event purchase { amount: money }

kpi revenue = sum(purchase.amount) target >= 1_000_000 CNY"#,
        },
        Code::W0603 => CodeDoc {
            code,
            title: "kpi target out of reach",
            what: "A KPI target can never be met: a share of users above 100%. A share counts \
                   users who are all among those it divides by (`unique(checkin) / audience`, \
                   `unique(checkin) / participants`, `participants / audience`): no more people \
                   can check in than there are in the audience; those who bought twice are \
                   among those who bought (`repeat(purchase) / unique(purchase)`). A ratio of \
                   two different groups is not a share and may exceed 100% \
                   (`unique(team_joined) / unique(team_opened)`, joiners per opener; \
                   `repeat(purchase) / unique(purchase where event.amount >= 100 CNY)`, since \
                   repeat buyers of anything need not have bought something big), so it is \
                   not reported.",
            why: "The campaign would be reported as missing its goal whatever happens; usually \
                  the target or the formula has a typo.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event checkin {}

kpi checkin_rate = unique(checkin) / audience target >= 120%"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
}

event checkin {}

kpi checkin_rate = unique(checkin) / audience target >= 80%"#,
        },
        Code::W0701 => CodeDoc {
            code,
            title: "defined and never used",
            what: "A reward, message, event or segment is defined, but nothing grants, sends, \
                   counts or mentions it. After a syntax error, a name that the text camp \
                   could not read mentions is not reported: that text may use it.",
            why: "It is often the sign of a forgotten task or a misspelling elsewhere: a reward \
                  from the brief that is never handed out. Remove it if it is no longer needed.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward points_10 = points 10
reward points_50 = points 50

phase main for 14d {
  task daily_checkin {
    on checkin
    grant points_10
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

event checkin {}

reward points_10 = points 10

phase main for 14d {
  task daily_checkin {
    on checkin
    grant points_10
  }
}"#,
        },
        Code::W0702 => CodeDoc {
            code,
            title: "send before anyone can take part",
            what: "A message goes to participants (the default recipients) in a phase where \
                   nobody can have joined yet: users join by completing a task or scoring on a \
                   leaderboard, and none has run by then.",
            why: "The send reaches nobody. During a warm-up, send to `audience` instead.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
}

event checkin {}

message teaser via push {
  en "The festival opens soon!"
}

phase warmup for 6d {
  send teaser at 20:00 daily
}

phase main for 14d {
  task daily_checkin { on checkin }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
}

event checkin {}

message teaser via push {
  en "The festival opens soon!"
}

phase warmup for 6d {
  send teaser at 20:00 daily to audience
}

phase main for 14d {
  task daily_checkin { on checkin }
}"#,
        },
        Code::E0801 => CodeDoc {
            code,
            title: "birthday not declared",
            what: "A task counts `on birthday`, but `user { ... }` has no `birthday: date` \
                   attribute that says when a participant's birthday is.",
            why: "Without it the birthday never comes, and the birthday reward is never \
                  granted.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

user {
  nickname: string
}

reward birthday_points = points 100

phase quarter for 91d {
  task birthday_gift {
    on birthday
    grant birthday_points
  }
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
}

user {
  nickname: string
  birthday: date
}

reward birthday_points = points 100

phase quarter for 91d {
  task birthday_gift {
    on birthday
    grant birthday_points
  }
}"#,
        },
        Code::E0804 => CodeDoc {
            code,
            title: "`to audience` on a send that reaches participants only",
            what: "A send `after ... inactive` (or `on enroll`, or `D after enroll|TASK`) is \
                   written `to audience`. Inactivity is measured from a participant's last \
                   counted completion (or enrollment), `on enroll` fires when one participant \
                   enrolls, and a timed send counts from a participant's enrollment or first \
                   completion of a task: these sends exist only for participants.",
            why: "`to audience` promises a reach the send never has: nobody outside the \
                  participants ever gets it, so a win-back message meant for everyone would \
                  silently miss most of them.",
            example: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
}

event checkin {}

message nudge via push {
  en "We miss you! Check in today."
}

phase main for 14d {
  task daily_checkin { on checkin }
  send nudge after 2d inactive to audience
}"#,
            fix: r#"campaign spring {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
}

event checkin {}

message nudge via push {
  en "We miss you! Check in today."
}

phase main for 14d {
  task daily_checkin { on checkin }
  send nudge after 2d inactive
}"#,
        },
        Code::E0107 => CodeDoc {
            code,
            title: "a name that is built in",
            what: "A user attribute or event field is named `id`, or a task is named `enroll`. `user.id` is built in (the user's own id), and `enroll` names the built-in event and the `D after enroll` timer.",
            why: "The built-in meaning would hide yours, or yours would hide it: `user.id` must always be the user's id, so an invitation can be told apart from a self-invitation.",
            example: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

user {
  id: string
}

event checkin {}

phase main for 7d {
  task daily { on checkin  where user.id != "" }
}"#,
            fix: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

user {
  external_id: string
}

event checkin {}

phase main for 7d {
  task daily { on checkin  where user.external_id != "" }
}"#,
        },
        Code::E0205 => CodeDoc {
            code,
            title: "a target that is not a user",
            what: "An action is directed `to` (or `from`) something that is not a user: an event field or attribute of another type, or `members`/`opener` outside a group's `filled`/`expired` outcome.",
            why: "A reward or message must reach a person. A field like `event.sku` holds a product, not a user id, so the campaign could never deliver it.",
            example: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event purchase { sku: string, friend: user }

reward thanks = points 10

phase main for 7d {
  task buy {
    on purchase
    grant thanks to event.sku
  }
}"#,
            fix: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event purchase { sku: string, friend: user }

reward thanks = points 10

phase main for 7d {
  task buy {
    on purchase
    grant thanks to event.friend
  }
}"#,
        },
        Code::E0206 => CodeDoc {
            code,
            title: "a group opened or joined the wrong way",
            what: "`open GROUP by event.FIELD` or `join GROUP by event.FIELD` names a field that is not a `string` (the group's key is text the platform chooses), or one task both opens and joins.",
            why: "The key tells camp which group an event belongs to; a number or a user is not a key. A task that opened and joined at once would put the opener in their own group twice.",
            example: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event team_opened { team_id: int }
event team_joined { team_id: string }

group team {
  size 3
}

phase sale for 7d {
  task open_team { on team_opened  open team by event.team_id }
  task join_team { on team_joined  join team by event.team_id }
}"#,
            fix: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event team_opened { team_id: string }
event team_joined { team_id: string }

group team {
  size 3
}

phase sale for 7d {
  task open_team { on team_opened  open team by event.team_id }
  task join_team { on team_joined  join team by event.team_id }
}"#,
        },
        Code::E0207 => CodeDoc {
            code,
            title: "`counted()` of a task that cannot have counted this event",
            what: "`counted(TASK)` names a task that is not written earlier in the same phase on the same event, or stands outside a task's `where`.",
            why: "Tasks on one event run in the order written; only an earlier task on the same event has already decided whether it counted this very event. Anywhere else the answer would always be false.",
            example: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event purchase {}

phase main for 7d {
  task bonus { on purchase  where counted(first_buy) }
  task first_buy { on purchase  limit 1 per user }
}"#,
            fix: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event purchase {}

phase main for 7d {
  task first_buy { on purchase  limit 1 per user }
  task bonus { on purchase  where counted(first_buy) }
}"#,
        },
        Code::E0304 => CodeDoc {
            code,
            title: "a time outside its phase",
            what: "An `at DATETIME` (a send or a raffle) lies outside its phase's window, or an `at HH:MM` never falls inside the phase (a 2-hour phase from 20:00 has no 09:00).",
            why: "Timed steps fire only while their phase runs: this one would silently never happen.",
            example: r#"campaign live {
  timezone "Asia/Shanghai"
}

event comment {}

reward prize = item "Prize" { stock 10 }

phase stream from 2027-06-18T20:00 to 2027-06-18T22:00 {
  task talk { on comment }
  raffle lucky at 23:00 pick 1 => grant prize
}"#,
            fix: r#"campaign live {
  timezone "Asia/Shanghai"
}

event comment {}

reward prize = item "Prize" { stock 10 }

phase stream from 2027-06-18T20:00 to 2027-06-18T22:00 {
  task talk { on comment }
  raffle lucky at 21:30 pick 1 => grant prize
}"#,
        },
        Code::E0306 => CodeDoc {
            code,
            title: "a periodic leaderboard scored by holdings, or its award elsewhere",
            what: "A leaderboard with `every DURATION` starts from zero in each period, so it \
                   cannot score `holds(REWARD)` (units held now do not start over). Its awards \
                   fire at the end of every period, so an `award` for it stands in the \
                   leaderboard's own phase.",
            why: "Holdings carried from one period to the next would rank last week's winners \
                  again; an award in another phase would never see a period end.",
            example: r#"campaign quiz {
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
}

event answer {}

reward trophy = badge "Quiz champion"

phase season for 28d {
  leaderboard weekly {
    score count(answer)
    show top 3
    every 7d
  }
}

phase wrapup for 3d {
  award weekly rank 1 => grant trophy
}"#,
            fix: r#"campaign quiz {
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
}

event answer {}

reward trophy = badge "Quiz champion"

phase season for 28d {
  leaderboard weekly {
    score count(answer)
    show top 3
    every 7d
  }
  award weekly rank 1 => grant trophy
}"#,
        },
        Code::E0406 => CodeDoc {
            code,
            title: "a pool granted other than by a mass grant",
            what: "A `pool` reward is granted by a task, a streak, an `after` or `every` milestone, \
                   a goal, a tier, or `grant … on enroll`, or a draw can win it. A pool may only be granted by a mass \
                   grant: a raffle, an award, a group's outcome, `grant … on enter` or `grant … at`.",
            why: "A pool's amount is shared equally among everyone one firing reaches. A task or a \
                  goal reaches one participant at a time, so there is nothing to share: each \
                  completion would pay the whole amount again.",
            example: r#"campaign new_year {
  timezone "Asia/Shanghai"
  start    2027-02-01T00:00
  budget   10_000 CNY
}

event checkin {}

reward cash = pool 1_000 CNY

phase main for 7d {
  task daily {
    on checkin
    grant cash
  }
}"#,
            fix: r#"campaign new_year {
  timezone "Asia/Shanghai"
  start    2027-02-01T00:00
  budget   10_000 CNY
}

event checkin {}

reward cash = pool 1_000 CNY

phase main for 7d {
  task daily { on checkin }
  grant cash at 2027-02-07T20:00
}"#,
        },
        Code::E0407 => CodeDoc {
            code,
            title: "a draw or a pool used, given or revoked, or a use of no points",
            what: "`use`, `give` or `revoke` names a `draw` or a `pool` reward, or `use N points` has N of zero or less.",
            why: "A draw is never held: what a participant holds is the reward the draw won. A pool's shares are money paid out, not units held. Using no points would let a redemption through for free.",
            example: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event gift { friend: user }

reward card = item "Card"
reward lucky = draw { 50% card }

phase main for 7d {
  task send_card {
    on gift
    give lucky 1 to event.friend
  }
}"#,
            fix: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event gift { friend: user }

reward card = item "Card"
reward lucky = draw { 50% card }

phase main for 7d {
  task send_card {
    on gift
    give card 1 to event.friend
  }
  task play { on gift  grant lucky }
}"#,
        },
        Code::W0703 => CodeDoc {
            code,
            title: "a group no one can form, or a raffle no one can enter",
            what: "A group kind that no task opens, or that no task joins; or a raffle whose `from`/`where` no participant can ever match.",
            why: "A group nobody can open never forms and its outcomes never run; a group nobody can join always expires. Either is usually a forgotten task.",
            example: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event team_opened { team_id: string }

group team {
  size 3
}

phase sale for 7d {
  task open_team { on team_opened  open team by event.team_id }
}"#,
            fix: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event team_opened { team_id: string }
event team_joined { team_id: string }

group team {
  size 3
}

phase sale for 7d {
  task open_team { on team_opened  open team by event.team_id }
  task join_team { on team_joined  join team by event.team_id }
}"#,
        },
        Code::E0805 => CodeDoc {
            code,
            title: "a group that cannot fill or cannot stay open",
            what: "A group's `size` is under 2 (the opener alone is not a group), or its `within` is zero.",
            why: "A group of one fills the moment it opens, and a group open for no time expires at once: neither is the team buy or price cut the campaign means.",
            example: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event team_opened { team_id: string }
event team_joined { team_id: string }

group team {
  size 1
  within 24h
}

phase sale for 7d {
  task open_team { on team_opened  open team by event.team_id }
  task join_team { on team_joined  join team by event.team_id }
}"#,
            fix: r#"campaign social {
  timezone "Asia/Shanghai"
  start    2027-06-01T00:00
}

event team_opened { team_id: string }
event team_joined { team_id: string }

group team {
  size 3
  within 24h
}

phase sale for 7d {
  task open_team { on team_opened  open team by event.team_id }
  task join_team { on team_joined  join team by event.team_id }
}"#,
        },
    }
}

/// How a severity is written in explanations: `error` or `warning`.
fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Width that `camp explain` wraps prose to.
const TEXT_WIDTH: usize = 80;

/// Appends `text` wrapped to [`TEXT_WIDTH`], each line indented by `indent` spaces.
fn push_wrapped(out: &mut String, text: &str, indent: usize) {
    let pad = " ".repeat(indent);
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.chars().count() + 1 + word.chars().count() > TEXT_WIDTH
        {
            out.push_str(&pad);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&pad);
        out.push_str(&line);
        out.push('\n');
    }
}

/// Appends a `.camp` snippet, every non-empty line indented by `indent` spaces.
fn push_indented(out: &mut String, snippet: &str, indent: usize) {
    let pad = " ".repeat(indent);
    for line in snippet.lines() {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// What `camp explain CODE` prints: a title line such as `E0102: unknown name (error)`,
/// then the sections "What", "Why it matters", "Example" and "Fix".
pub fn render_text(code: Code) -> String {
    let d = doc(code);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} ({})",
        code.as_str(),
        d.title,
        severity_word(code.severity())
    );
    out.push_str("\nWhat:\n");
    push_wrapped(&mut out, d.what, 2);
    out.push_str("\nWhy it matters:\n");
    push_wrapped(&mut out, d.why, 2);
    out.push_str("\nExample:\n");
    push_indented(&mut out, d.example, 4);
    out.push_str("\nFix:\n");
    push_indented(&mut out, d.fix, 4);
    out
}

/// The anchor GitHub gives a heading: lowercase, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' | '-' => Some('-'),
            '_' => Some('_'),
            c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The whole of `docs/diagnostics.md`: an introduction, a summary table of every code,
/// and a section per code with what, why, an example and its fix.
pub fn render_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Diagnostic codes\n\n");
    out.push_str(
        "<!-- Generated from compiler/src/explain.rs: edit the explanations there, \
         not in this file. -->\n\n",
    );
    out.push_str(
        "`camp check` reports every problem it finds in a campaign with a stable code, points \
         at the exact place in the file and, where it can, says how to fix it. Codes starting \
         with `E` are errors: the campaign cannot be compiled or launched until they are \
         fixed. Codes starting with `W` are warnings: the campaign still works, but probably \
         not the way you meant; they fail `camp check` only with `--deny-warnings`. \
         `camp explain CODE` prints the same explanation as below in the terminal.\n\n",
    );
    out.push_str("| code | severity | title |\n|---|---|---|\n");
    for &code in Code::ALL {
        let d = doc(code);
        let heading = format!("{}: {}", code.as_str(), d.title);
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} |",
            code.as_str(),
            anchor(&heading),
            severity_word(code.severity()),
            d.title
        );
    }
    for &code in Code::ALL {
        let d = doc(code);
        let _ = write!(
            out,
            "\n## {}: {}\n\nSeverity: {}.\n\n**What.** {}\n\n**Why it matters.** {}\n\n\
             **Example**\n\n```camp\n{}\n```\n\n**Fix**\n\n```camp\n{}\n```\n",
            code.as_str(),
            d.title,
            severity_word(code.severity()),
            d.what,
            d.why,
            d.example,
            d.fix
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        for &code in Code::ALL {
            let d = doc(code);
            assert_eq!(d.code, code, "doc({code}) documents another code");
            for (field, text) in [
                ("title", d.title),
                ("what", d.what),
                ("why", d.why),
                ("example", d.example),
                ("fix", d.fix),
            ] {
                assert!(!text.trim().is_empty(), "{code}: empty {field}");
            }
            assert_eq!(
                d.title,
                d.title.to_lowercase(),
                "{code}: title should be lowercase"
            );
            assert_ne!(
                d.example, d.fix,
                "{code}: the fix should change the example"
            );
        }
    }

    #[test]
    fn text_has_title_line_and_sections() {
        for &code in Code::ALL {
            let text = render_text(code);
            let first = text.lines().next().unwrap_or_default();
            let sev = severity_word(code.severity());
            assert_eq!(
                first,
                format!("{}: {} ({sev})", code.as_str(), doc(code).title)
            );
            for section in [
                "\nWhat:\n",
                "\nWhy it matters:\n",
                "\nExample:\n",
                "\nFix:\n",
            ] {
                assert!(text.contains(section), "{code}: missing {section:?}");
            }
        }
        assert!(render_text(Code::E0102).starts_with("E0102: unknown name (error)\n"));
    }

    #[test]
    fn markdown_mentions_every_code() {
        let md = render_markdown();
        for &code in Code::ALL {
            let heading = format!("\n## {}: {}\n", code.as_str(), doc(code).title);
            assert!(md.contains(&heading), "markdown lacks a section for {code}");
            assert!(
                md.contains(&format!("| [{}](#", code.as_str())),
                "table lacks {code}"
            );
        }
        assert!(md.ends_with("```\n") && !md.ends_with("\n\n"));
    }

    #[test]
    fn anchors_follow_github() {
        assert_eq!(
            anchor("E0401: draw chances over 100%"),
            "e0401-draw-chances-over-100"
        );
        assert_eq!(anchor("E0001: syntax error"), "e0001-syntax-error");
    }
}
