//! `pull_policy` and `mrctl pull`, with an image that exists on the engine
//! under a registry name that can never resolve (`.invalid`): `missing` uses
//! it as it is, `always` and `mrctl pull` go to the registry (and fail,
//! naming the image), `never` refuses an image that is not there.

use super::engine_harness::{EngineTest, docker};

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

struct Tag(String);

impl Drop for Tag {
    fn drop(&mut self) {
        let _ = docker(&["image", "rm", &self.0]);
    }
}

#[test]
fn pull_policies_decide_what_is_pulled() {
    let Some(probe) = EngineTest::new("pull_policy_probe", &[], "services: {}\n", "") else {
        return;
    };
    let image = format!("mrctltest.invalid/{}:1", probe.stack);
    let _tag = Tag(image.clone());
    assert!(docker(&["tag", "busybox:latest", &image]).status.success());
    let with = |policy: &str| {
        format!(
            "services:\n  app:\n    image: {image}\n    command: {SLEEPER}\n    pull_policy: {policy}\n"
        )
    };
    // missing (and its old name if_not_present): the local image is used.
    let t = EngineTest::new("pull_policy_missing", &[], &with("if_not_present"), "").unwrap();
    t.f.run(&["up", "m"]).success();
    t.f.run(&["clean", "m", "--yes"]).success();
    // always: every start goes to the registry.
    let t = EngineTest::new("pull_policy_always", &[], &with("always"), "").unwrap();
    let run = t.f.run(&["up", "a"]).code(1);
    assert!(
        run.stderr.contains(&format!(
            "image `{image}` is not available: pulling it failed"
        )),
        "{}",
        run.stderr
    );
    assert!(t.project(&format!("{}-a", t.stack)).is_empty());
    // mrctl pull pulls whatever is there, and names what failed.
    let run = t.f.run(&["pull", "a"]).code(1);
    assert!(
        run.stderr.contains(&format!("image `{image}`")),
        "{}",
        run.stderr
    );
    // never: a missing image is refused without a pull; pull leaves it alone.
    let t = EngineTest::new(
        "pull_policy_never",
        &[],
        "services:\n  app:\n    image: mrctltest.invalid/absent:1\n    pull_policy: never\n",
        "",
    )
    .unwrap();
    let run = t.f.run(&["up", "n"]).code(1);
    assert!(
        run.stderr.contains("has `pull_policy: never`"),
        "{}",
        run.stderr
    );
    let pulled = t.f.run(&["--json", "pull", "n"]).success().json();
    assert_eq!(pulled["pulled"], serde_json::json!([]));
    // An unknown policy is refused by name.
    let t = EngineTest::new("pull_policy_bad", &[], &with("daily"), "").unwrap();
    t.f.run(&["up", "b"])
        .code(3)
        .stderr_has("`pull_policy`: `daily` is not supported by mrctl");
}
