use super::*;

#[test]
fn merge_keeps_operator_values_and_takes_new_ones() {
    let base = "A=1\nPORT=8000\nAPI_KEY=\n";
    let current = "A=1\nPORT=8000\nAPI_KEY=sk-123\nEXTRA=yes\n";
    let fresh = "A=1\nPORT=8100\nAPI_KEY=\nNEW=2\n";
    let (out, report) = merge_env(current, Some(base), fresh);
    assert_eq!(
        out,
        "A=1\nPORT=8100\nAPI_KEY=sk-123\nNEW=2\n\n# Kept by `mrctl render`: values added by the operator.\nEXTRA=yes\n"
    );
    assert_eq!(report.kept_changed, ["API_KEY"]);
    assert_eq!(report.kept_added, ["EXTRA"]);
}

#[test]
fn merge_drops_keys_the_template_no_longer_renders() {
    let base = "OLD=1\nA=1\n";
    let current = "OLD=1\nA=1\n";
    let fresh = "A=2\n";
    let (out, report) = merge_env(current, Some(base), fresh);
    assert_eq!(out, "A=2\n");
    assert_eq!(report, MergeReport::default());
}

#[test]
fn merge_without_base_keeps_every_differing_value() {
    let (out, report) = merge_env("A=mine\n", None, "A=new\n");
    assert_eq!(out, "A=mine\n");
    assert_eq!(report.kept_changed, ["A"]);
}

#[test]
fn masking() {
    assert_eq!(mask_value("OPENAI_API_KEY", "sk-1", &[]), MASK);
    assert_eq!(mask_value("DB_PASSWORD", "x", &[]), MASK);
    assert_eq!(mask_value("BACKEND_PORT", "8765", &[]), "8765");
    assert_eq!(mask_value("DSN", "pg://u:abc@h", &["abc".into()]), MASK);
    assert_eq!(mask_value("API_KEY", "", &[]), "");
}

fn parse(text: &str) -> Vec<(String, String)> {
    parse_with(text, &no_lookup)
}

fn parse_with(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    parse_env_with(text, lookup).unwrap().into_iter().collect()
}

fn one(text: &str) -> String {
    let map = parse_env_with(text, &no_lookup).unwrap();
    assert_eq!(map.len(), 1, "{text:?} -> {map:?}");
    map.into_values().next().unwrap()
}

#[test]
fn comments_blank_lines_and_export() {
    let text = "# a comment\n\n   # indented comment\nA=1\nexport B=2\n\texport   C=3\n";
    assert_eq!(
        parse(text),
        [("A", "1"), ("B", "2"), ("C", "3")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
}

#[test]
fn unquoted_values_are_trimmed_and_lose_inline_comments() {
    assert_eq!(one("BACKEND_PORT=8765  # the port"), "8765");
    assert_eq!(one("B=  spaced value  "), "spaced value");
    assert_eq!(one("D=val#not-a-comment"), "val#not-a-comment");
    assert_eq!(one("W=#start"), "#start");
    assert_eq!(one("V=tabbed\t# t"), "tabbed\t# t");
    assert_eq!(one("Q=x\\ny"), "x\\ny");
    assert_eq!(one("S=a=b"), "a=b");
    assert_eq!(one("M="), "");
    assert_eq!(one("CRLF=v\r\n"), "v");
}

#[test]
fn separators_and_names() {
    assert_eq!(one("I = spaced"), "spaced");
    assert_eq!(one("H: yaml"), "yaml");
    assert_eq!(parse("A-B.c_1=x")[0].0, "A-B.c_1");
    let err = parse_env_with("A=1\nB C=2\n", &no_lookup).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("`B C`"), "{err}");
    assert_eq!(parse_env_with("A/B=1", &no_lookup).unwrap_err().line, 1);
}

#[test]
fn single_quotes_are_literal() {
    assert_eq!(one("E='single $A \\n # x'"), "single $A \\n # x");
    assert_eq!(one("E='it\\'s'"), "it's");
    assert_eq!(one("U='say \"hi\"'"), "say \"hi\"");
    assert_eq!(one("O='a'b"), "a");
    assert_eq!(one("M='two\nlines'"), "two\nlines");
}

#[test]
fn double_quotes_take_escapes_and_span_lines() {
    assert_eq!(
        one(r#"F="a \n\t \\ \" \$A end" # c"#),
        "a \n\t \\ \" $A end"
    );
    assert_eq!(
        one(r#"Y="\a\b\r\f\v\u0041\'""#),
        "\u{7}\u{8}\r\u{c}\u{b}\\u0041\\'"
    );
    assert_eq!(one("G=\"multi\nline\""), "multi\nline");
    assert_eq!(one("N=\"a\"b"), "a");
    assert_eq!(one("T=\"it's\""), "it's");
}

#[test]
fn an_open_quote_is_an_error_naming_its_line() {
    let err = parse_env_with("A=1\nL=\"open\nM=ok\n", &no_lookup).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("`L`"), "{err}");
    // Read leniently, the rest of the file is still there.
    assert_eq!(parse_env("A=1\nL='open\nM=ok\n").len(), 2);
}

#[test]
fn expansion_from_the_lookup_then_earlier_keys() {
    let look = |k: &str| (k == "LOOK" || k == "A").then(|| format!("env-{k}"));
    let text = "A=file\nB=$A\nC=${LOOK}\nD=${NOPE:-def}\nE=${NOPE-dash}\nF=\"${B:+alt}\"\nG='$A'\nH=$$A\nI=\"$$A\"\nJ=${C}_x\nK=$NOPE.\n";
    let got: std::collections::HashMap<String, String> =
        parse_with(text, &look).into_iter().collect();
    assert_eq!(got["A"], "file");
    assert_eq!(got["B"], "env-A", "the lookup wins over earlier keys");
    assert_eq!(got["C"], "env-LOOK");
    assert_eq!(got["D"], "def");
    assert_eq!(got["E"], "dash");
    assert_eq!(got["F"], "alt");
    assert_eq!(got["G"], "$A");
    assert_eq!(got["H"], "$A");
    assert_eq!(got["I"], "$A");
    assert_eq!(got["J"], "env-LOOK_x");
    assert_eq!(got["K"], ".");
    let got = parse("A=1\nB=${A}2\n");
    assert_eq!(got[1].1, "12");
}

#[test]
fn a_key_alone_is_inherited_when_set() {
    let look = |k: &str| (k == "SET").then(|| "from-env".to_string());
    assert_eq!(
        parse_with("SET\nUNSET\nA=1\n", &look),
        [("SET", "from-env"), ("A", "1")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
}

#[test]
fn last_assignment_wins_and_a_bom_is_skipped() {
    assert_eq!(one("\u{feff}A=1\nA=2\n"), "2");
}

#[test]
fn raw_format_is_literal() {
    let look = |k: &str| (k == "D").then(|| "inh".to_string());
    let got: Vec<(&str, Option<String>)> =
        raw_entries("# c\nA=\"q\" # x\nB=$HOME x\n C=sp \n\nD\n", &look)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect();
    assert_eq!(
        got,
        [
            ("A", Some("\"q\" # x".to_string())),
            ("B", Some("$HOME x".into())),
            ("C", Some("sp ".into())),
            ("D", Some("inh".into())),
        ]
    );
}

#[test]
fn interpolation_variables_put_the_process_environment_on_top() {
    let process = [("A".to_string(), "proc".to_string())];
    let (vars, keys) = interpolation_variables("A=file\nB=$A\nC=c\n", process).unwrap();
    assert_eq!(vars["A"], "proc");
    assert_eq!(vars["B"], "proc");
    assert_eq!(vars["C"], "c");
    assert_eq!(keys, ["A", "B", "C"]);
}

/// Several `--env-file`s as compose 2.40 reads them (checked with `docker
/// compose --env-file one --env-file two config`): the later file wins, its
/// `${VAR}` takes the process first, then its own earlier lines, then the
/// earlier files; `KEY` alone takes the process, then the earlier files.
#[test]
fn later_env_files_override_earlier_ones_and_see_their_values() {
    let process = [("P".to_string(), "proc".to_string())];
    let one = "A=1\nS=stack\nP=file\nK=from-one\n";
    let two = "A=2\nB=${A}\nC=${S}\nD=${P}\nK\n";
    let (vars, keys) = interpolation_variables_of(&[one, two], process).unwrap();
    assert_eq!(vars["A"], "2");
    assert_eq!(vars["B"], "2");
    assert_eq!(vars["C"], "stack");
    assert_eq!(vars["D"], "proc");
    assert_eq!(vars["K"], "from-one");
    assert_eq!(vars["P"], "proc");
    assert_eq!(keys, ["A", "S", "P", "K", "B", "C", "D"]);
    let err = interpolation_variables_of(&["A=1\n", "B=\"open\n"], []).unwrap_err();
    assert_eq!(err.0, 1);
}

#[test]
fn merge_keeps_multi_line_and_quoted_operator_values_byte_for_byte() {
    let base = "A=1\nKEY=\n";
    let current = "A=1\nKEY=\"first\nsecond\"  # mine\nexport EXTRA='x # y'\n";
    let fresh = "A=2\nKEY=\n";
    let (out, report) = merge_env(current, Some(base), fresh);
    assert_eq!(
        out,
        "A=2\nKEY=\"first\nsecond\"  # mine\n\n# Kept by `mrctl render`: values added by the operator.\nexport EXTRA='x # y'\n"
    );
    assert_eq!(report.kept_changed, ["KEY"]);
    assert_eq!(report.kept_added, ["EXTRA"]);
}

#[test]
fn merge_sees_an_inline_comment_as_no_change() {
    // `8765  # note` is the value 8765: not an operator change.
    let (out, report) = merge_env("PORT=8765  # note\n", Some("PORT=8765\n"), "PORT=8865\n");
    assert_eq!(out, "PORT=8865\n");
    assert_eq!(report, MergeReport::default());
}

#[test]
fn merge_keeps_an_operator_line_whose_expansion_would_fail() {
    let current = "A=1\nREQ=${UNSET_HERE:?set it}\n";
    let (out, report) = merge_env(current, Some("A=1\n"), "A=2\n");
    assert_eq!(
        out,
        "A=2\n\n# Kept by `mrctl render`: values added by the operator.\nREQ=${UNSET_HERE:?set it}\n"
    );
    assert_eq!(report.kept_added, ["REQ"]);
    assert!(parse_env_with(current, &no_lookup).is_err());
}
