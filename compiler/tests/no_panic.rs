//! Robustness properties of parse + check: no input makes them panic, every diagnostic
//! points inside its file on character boundaries with a known code, and checking is
//! deterministic.
//!
//! Inputs are arbitrary strings, strings built from the language's own tokens, and
//! random mutations of the example campaigns and test fixtures. The fuzz target in
//! `fuzz/fuzz_targets/parse_check.rs` explores the same space for longer.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_compiler::{
    check_file, compile_file, CheckResult, Code, Diagnostic, Label, MemoryLoader, SourceLoader,
};
use camp_dsl::span::FileId;
use proptest::prelude::*;
use proptest::sample::Index;
use std::path::Path;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------
// Checking files held in memory
// ---------------------------------------------------------------------------------------

/// Parses and checks `root`, asserting every invariant we hold diagnostics to, and
/// checks it a second time to assert the result is the same.
fn check_invariants(loader: &MemoryLoader, root: &str) -> CheckResult {
    let result = check_file(loader, Path::new(root)).expect("the root file is in memory");
    assert_diagnostics_well_formed(&result);
    let again = check_file(loader, Path::new(root)).expect("the root file is in memory");
    assert_eq!(
        result.diagnostics, again.diagnostics,
        "checking the same input twice gave different diagnostics"
    );
    // Whatever checks without errors must lower to a plan: an internal error in
    // lowering means the checks let something through.
    let compiled = compile_file(loader, Path::new(root)).unwrap_or_else(|e| {
        let text = loader.load(Path::new(root)).unwrap_or_default();
        panic!("lowering failed after a clean check: {e}\n{text}")
    });
    assert_eq!(compiled.plan.is_some(), result.errors() == 0);
    if let Some(plan) = &compiled.plan {
        let json = serde_json::to_string(plan).expect("a plan serializes");
        let back: camp_plan::Plan = serde_json::from_str(&json).expect("a plan deserializes");
        assert_eq!(&back, plan, "the plan does not round-trip through JSON");
    }
    result
}

fn assert_diagnostics_well_formed(result: &CheckResult) {
    for d in &result.diagnostics {
        assert!(
            Code::ALL.contains(&d.code),
            "unknown code {:?} in {d:?}",
            d.code
        );
        assert_label_in_text(result, d, &d.primary, "primary");
        for label in &d.secondary {
            assert_label_in_text(result, d, label, "secondary");
        }
    }
}

fn assert_label_in_text(result: &CheckResult, d: &Diagnostic, label: &Label, which: &str) {
    let file = result
        .sources
        .get(label.loc.file)
        .unwrap_or_else(|| panic!("{which} label of {d:?} names a file that was never loaded"));
    let (start, end) = (label.loc.span.start as usize, label.loc.span.end as usize);
    let text = &file.text;
    assert!(
        start <= end,
        "{which} span of {} is reversed: {start}..{end}",
        d.code
    );
    assert!(
        end <= text.len(),
        "{which} span of {} ends at {end}, past the end of {} ({} bytes): {d:?}",
        d.code,
        file.name,
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{which} span {start}..{end} of {} is not on char boundaries in {}: {d:?}",
        d.code,
        file.name
    );
}

/// Parses `src` on its own and asserts the parser's diagnostics are well formed too.
fn parse_invariants(src: &str) {
    let parsed = camp_dsl::parse(src, FileId(0));
    for d in &parsed.diagnostics {
        assert!(Code::ALL.contains(&d.code), "unknown code in {d:?}");
        let (start, end) = (
            d.primary.loc.span.start as usize,
            d.primary.loc.span.end as usize,
        );
        assert!(
            start <= end && end <= src.len(),
            "parser span out of range: {d:?}"
        );
        assert!(
            src.is_char_boundary(start) && src.is_char_boundary(end),
            "parser span not on char boundaries: {d:?}"
        );
    }
    let again = camp_dsl::parse(src, FileId(0));
    assert_eq!(
        parsed.diagnostics, again.diagnostics,
        "parsing the same input twice gave different diagnostics"
    );
}

// ---------------------------------------------------------------------------------------
// The language's tokens
// ---------------------------------------------------------------------------------------

/// Keywords, punctuation, literals (valid and not) and import lines, so generated input
/// gets past the lexer and reaches the checks.
#[rustfmt::skip]
const VOCABULARY: &[&str] = &[
    // keywords and contextual words
    "campaign", "phase", "task", "reward", "coupon", "draw", "pool", "on", "limit", "per", "grant",
    "streak", "after", "send", "at", "daily", "award", "rank", "goal", "when", "kpi", "target",
    "import", "user", "event", "segment", "message", "via", "leaderboard", "score", "show",
    "top", "tiers", "points", "badge", "item", "stock", "per_user", "value", "expires", "cost",
    "label", "for", "from", "to", "until", "budget", "exhausted", "where", "inactive", "enter",
    "enroll", "birthday", "audience", "participants", "participant", "and", "or", "not", "in",
    "timezone", "start", "locales", "holdout", "cap", "quiet", "messages", "day", "days",
    "phase", "name", "subject", "push", "sms", "email", "in_app", "wechat", "webhook", "holds",
    "count", "unique", "sum", "granted", "spend", "int", "decimal", "bool", "string", "date",
    "datetime", "money", "duration", "list<string>", "zh-CN", "en", "x", "main", "checkin",
    "user.level", "user.region", "user.birthday", "event.amount", "participant.points",
    "participant.tier", "participant.rank.top", "campaign.start",
    // punctuation and operators
    "{", "}", "(", ")", "[", "]", ",", ":", "=", "=>", "..", "%", "\"", "\"\"\"", "/*", "*/",
    "//", "///", ".", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "\\", "_", "|",
    "{{", "}}", "{%", "%}",
    // literals, valid and not
    "0", "1", "7", "100", "50_000", "99999999999999999999999999999", "12.5", "0.5", "20 CNY",
    "4.99 USD", "20 cny", "1 CNX", "2027-01-20", "2027-02-30", "2027-01-20T09:00",
    "2027-01-20T24:00", "2027-01-20T09:00+08:00", "2027-01-20T09:00Z", "20:00", "25:00",
    "22:00 .. 08:00", "14d", "1d12h", "30m", "1w", "0d", "3x", "15%", "150%", "0.5%",
    "\"Asia/Shanghai\"", "\"Mars/Olympus\"", "\"新春签到节\"", "\"\\u{4F60}\"", "\"\\u{D800}\"",
    "\"\\q\"", "\"{{ user.x | date }}\"", "\"{{ user.nickname }}\"", "\"{% if %}\"",
    "\"{{ reward.value | money }}\"", "\"\"\"\n  hello {{ user.nickname }}\n\"\"\"",
    // imports, for loading and cycles
    "import \"main.camp\"", "import \"lib/a.camp\"", "import \"a.camp\"",
    "import \"../main.camp\"", "import \"missing.camp\"", "import \"\"", "import \"lib\"",
    // layout
    "\n", "\n\n", "\t", "\r\n", " ",
];

/// A piece of generated input: mostly vocabulary, sometimes an identifier, a number or
/// an arbitrary short string.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(VOCABULARY).prop_map(str::to_string),
        1 => "[A-Za-z_][A-Za-z0-9_]{0,8}",
        1 => "[0-9_]{1,6}(\\.[0-9]{1,3})?",
        1 => any::<String>().prop_map(|s| s.chars().take(4).collect()),
    ]
}

/// Text made of pieces joined by a space, nothing, or a newline.
fn token_soup(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (piece(), prop::sample::select(&[" ", " ", "", "\n"][..])),
        0..max,
    )
    .prop_map(|parts| {
        let mut s = String::new();
        for (p, sep) in parts {
            s.push_str(&p);
            s.push_str(sep);
        }
        s
    })
}

/// The skeleton of a real campaign, so token soup inside it reaches the checks.
const SKELETON_HEAD: &str = "campaign c {\n  timezone \"Asia/Shanghai\"\n  start 2027-01-20T00:00\n  locales zh-CN, en\n  budget 1_000 CNY\n}\nuser { level: int  birthday: date  nickname: string }\nevent checkin { amount: money }\nreward r = points 10\n";

// ---------------------------------------------------------------------------------------
// Real campaigns and their mutations
// ---------------------------------------------------------------------------------------

/// A campaign file read from the repository, with the in-memory path it is checked at.
struct Seed {
    path: String,
    text: String,
}

/// Every example and fixture, plus the libraries the fixtures import.
struct Corpus {
    seeds: Vec<Seed>,
    libraries: Vec<(String, String)>,
}

fn read_dir_camp(dir: &Path, prefix: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "camp") {
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            out.push((format!("{prefix}/{name}"), text));
        }
    }
    out.sort();
    out
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut seeds: Vec<Seed> = read_dir_camp(&manifest.join("../examples"), "examples")
            .into_iter()
            .chain(read_dir_camp(&manifest.join("tests/fixtures"), "fixtures"))
            .map(|(path, text)| Seed { path, text })
            .collect();
        seeds.sort_by(|a, b| a.path.cmp(&b.path));
        let libraries = read_dir_camp(&manifest.join("tests/fixtures/lib"), "fixtures/lib");
        assert!(
            seeds.len() >= 10,
            "expected the examples and fixtures, found {} files",
            seeds.len()
        );
        Corpus { seeds, libraries }
    })
}

/// A loader holding `text` at `path` and every fixture library.
fn loader_for(path: &str, text: &str) -> MemoryLoader {
    let mut loader = MemoryLoader::new();
    for (p, t) in &corpus().libraries {
        loader.insert(p, t.clone());
    }
    loader.insert(path, text);
    loader
}

/// One edit to a file's text; positions are picked among its char boundaries.
#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: Index, len: usize },
    Duplicate { from: Index, len: usize, to: Index },
    Insert { at: Index, token: &'static str },
    Truncate { at: Index },
    ReplaceChar { at: Index, with: char },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<Index>(), 1usize..120, any::<Index>()).prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        4 => (any::<Index>(), prop::sample::select(VOCABULARY)).prop_map(|(at, token)| Mutation::Insert { at, token }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        2 => (any::<Index>(), any::<char>()).prop_map(|(at, with)| Mutation::ReplaceChar { at, with }),
    ]
}

/// The char boundaries of `text`, its end included.
fn boundaries(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect()
}

fn apply(text: &mut String, m: &Mutation) {
    let b = boundaries(text);
    let pick = |ix: &Index| b[ix.index(b.len())];
    // The boundary `len` characters after `start`, or the end.
    let after = |start: usize, len: usize| {
        let i = b.partition_point(|&x| x < start);
        b[(i + len).min(b.len() - 1)]
    };
    match m {
        Mutation::Delete { at, len } => {
            let start = pick(at);
            text.replace_range(start..after(start, *len), "");
        }
        Mutation::Duplicate { from, len, to } => {
            let start = pick(from);
            let piece = text[start..after(start, *len)].to_string();
            text.insert_str(pick(to), &piece);
        }
        Mutation::Insert { at, token } => text.insert_str(pick(at), token),
        Mutation::Truncate { at } => text.truncate(pick(at)),
        Mutation::ReplaceChar { at, with } => {
            let start = pick(at);
            let end = after(start, 1);
            text.replace_range(start..end, with.encode_utf8(&mut [0; 4]));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// `cases` cases (`PROPTEST_CASES` overrides it for a longer run). Failures are not
/// persisted: each one found becomes a named regression test at the end of this file.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Any string at all: parse and check return, with well-formed diagnostics.
    #[test]
    fn arbitrary_strings_never_panic(src in any::<String>()) {
        parse_invariants(&src);
        check_invariants(&MemoryLoader::with(&[("main.camp", &src)]), "main.camp");
    }

    /// Token soup, in a root file that may import a library (itself token soup) and
    /// itself: the loader and every check see input that lexes.
    #[test]
    fn token_soup_never_panics(main in token_soup(160), lib in token_soup(60), in_skeleton in any::<bool>()) {
        let main = if in_skeleton { format!("{SKELETON_HEAD}{main}") } else { main };
        parse_invariants(&main);
        let loader = MemoryLoader::with(&[("main.camp", &main), ("lib/a.camp", &lib)]);
        check_invariants(&loader, "main.camp");
        check_invariants(&loader, "lib/a.camp");
    }

    /// Token soup inside a phase and task of a complete campaign, where the most checks run.
    #[test]
    fn token_soup_in_a_phase_never_panics(body in token_soup(60), task in token_soup(30)) {
        let src = format!("{SKELETON_HEAD}phase p for 7d {{\n  task t {{\n    on checkin\n    {task}\n  }}\n  {body}\n}}\n");
        check_invariants(&MemoryLoader::with(&[("main.camp", &src)]), "main.camp");
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Real campaigns with random deletions, duplications, insertions of tokens,
    /// replaced characters and truncations.
    #[test]
    fn mutated_campaigns_never_panic(seed in any::<Index>(), mutations in prop::collection::vec(mutation(), 1..8)) {
        let seeds = &corpus().seeds;
        let seed = &seeds[seed.index(seeds.len())];
        let mut text = seed.text.clone();
        for m in &mutations {
            apply(&mut text, m);
        }
        parse_invariants(&text);
        check_invariants(&loader_for(&seed.path, &text), &seed.path);
    }
}

// ---------------------------------------------------------------------------------------
// Fixed inputs
// ---------------------------------------------------------------------------------------

/// The unmodified examples and fixtures satisfy the same invariants.
#[test]
fn every_example_and_fixture_is_well_formed() {
    for seed in &corpus().seeds {
        check_invariants(&loader_for(&seed.path, &seed.text), &seed.path);
    }
    for (path, text) in &corpus().libraries {
        check_invariants(&loader_for(path, text), path);
    }
}

/// A file that imports itself, directly and through a library.
#[test]
fn import_cycles_through_memory() {
    let main = format!("import \"main.camp\"\nimport \"lib/a.camp\"\n{SKELETON_HEAD}");
    let loader = MemoryLoader::with(&[
        ("main.camp", &main),
        ("lib/a.camp", "import \"../main.camp\"\nimport \"a.camp\"\n"),
    ]);
    let result = check_invariants(&loader, "main.camp");
    assert!(
        result.diagnostics.iter().any(|d| d.code == Code::E0105),
        "{:?}",
        result.diagnostics
    );
}

/// Runs `f` on a thread with the main thread's usual 8 MiB stack, as the CLI would.
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic");
}

/// Deeply nested expressions and blocks must not overflow the stack.
#[test]
fn deep_nesting_does_not_overflow() {
    on_big_stack(|| {
        for depth in [100, 1_000, 5_000] {
            let parens = format!(
                "{SKELETON_HEAD}segment s = {}user.level >= 1{}\n",
                "(".repeat(depth),
                ")".repeat(depth)
            );
            let nots = format!(
                "{SKELETON_HEAD}segment s = {}user.level >= 1\n",
                "not ".repeat(depth)
            );
            let lists = format!(
                "{SKELETON_HEAD}segment s = user.level in {}1{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            let sums = format!(
                "{SKELETON_HEAD}kpi k = {}1 target >= 1\n",
                "spend + ".repeat(depth)
            );
            let braces = format!(
                "{SKELETON_HEAD}{}\n{}",
                "phase p for 1d {\n".repeat(depth),
                "}".repeat(depth)
            );
            let template = format!(
                "{SKELETON_HEAD}message m via push {{ zh-CN \"{}\" en \"x\" }}\n",
                "{{ (".repeat(depth)
            );
            for src in [parens, nots, lists, sums, braces, template] {
                check_invariants(&MemoryLoader::with(&[("main.camp", &src)]), "main.camp");
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// Regressions found by the properties above
// ---------------------------------------------------------------------------------------

/// Found by `mutated_campaigns_never_panic` (a `¡` typed into a template of
/// `examples/photo_contest.camp`): in a `"""` string, minijinja's one-byte range for an
/// unexpected multi-byte character made an E0501 span end inside that character.
#[test]
fn template_error_on_multibyte_char_in_multiline_string() {
    let src = format!("{SKELETON_HEAD}message m via push {{\n  zh-CN \"x\"\n  en \"\"\"\n    {{{{ ¡ }}}}\n  \"\"\"\n}}\n");
    let result = check_invariants(&MemoryLoader::with(&[("main.camp", &src)]), "main.camp");
    let e0501 = result
        .diagnostics
        .iter()
        .find(|d| d.code == Code::E0501)
        .expect("an E0501");
    let span = e0501.primary.loc.span;
    assert_eq!(&src[span.start as usize..span.end as usize], "¡");
}

/// Found by the fuzz target (`fuzz/run.sh`, minimized): a line of CJK text that is not
/// an item made the parser's E0001 span end at byte 40, inside the last character
/// (bytes 38..41).
#[test]
fn syntax_error_span_at_end_of_multibyte_text() {
    let src = "天可得二十元无门rerd悀褚0悀褚";
    parse_invariants(src);
    check_invariants(&MemoryLoader::with(&[("main.camp", src)]), "main.camp");
}

/// A long chain of segments, closed into one cycle: found without deep recursion, and
/// reported once.
#[test]
fn a_long_cycle_of_segments_is_reported_once() {
    let mut src = SKELETON_HEAD.to_string();
    let n = 5_000;
    for i in 0..n {
        src.push_str(&format!("segment s{i} = s{} and true\n", (i + 1) % n));
    }
    let result = check_invariants(&MemoryLoader::with(&[("main.camp", &src)]), "main.camp");
    let cycles: Vec<&Diagnostic> = result
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::E0106)
        .collect();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert_eq!(cycles[0].secondary.len(), n);
}

/// A byte-order mark at the start of a file is ignored: every example and fixture
/// reports the same diagnostics at the same lines and columns with one, and each span
/// covers the same text (its offsets are the file's, three bytes further on).
#[test]
fn a_byte_order_mark_changes_nothing() {
    let shown = |r: &CheckResult| -> Vec<(Code, usize, usize, String, String)> {
        r.diagnostics
            .iter()
            .map(|d| {
                let f = r.sources.get(d.primary.loc.file).unwrap();
                let (line, col) = f.line_col(d.primary.loc.span.start);
                (
                    d.code,
                    line,
                    col,
                    f.slice(d.primary.loc.span).to_string(),
                    d.message.clone(),
                )
            })
            .collect()
    };
    for seed in &corpus().seeds {
        let plain = check_invariants(&loader_for(&seed.path, &seed.text), &seed.path);
        let with_bom = format!("\u{FEFF}{}", seed.text);
        let marked = check_invariants(&loader_for(&seed.path, &with_bom), &seed.path);
        assert_eq!(shown(&plain), shown(&marked), "{}", seed.path);
    }
}
