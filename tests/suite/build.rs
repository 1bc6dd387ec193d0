//! `build:` against the real engine (its classic builder, API 1.41): images
//! built FROM the imported busybox image, a multi-stage Dockerfile with a
//! target and build args, `.dockerignore`, an inline Dockerfile, `mrctl
//! build`, and `--build` forcing a rebuild.

use super::engine_harness::{EngineTest, docker};

/// The output of a command run in a fresh container of `image`.
fn run_in(image: &str, cmd: &str) -> String {
    let out = docker(&["run", "--rm", image, "sh", "-c", cmd]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes the images a test built, even when it fails.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for i in &self.0 {
            let _ = docker(&["image", "rm", "-f", i]);
        }
    }
}

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

#[test]
fn services_are_built_from_local_dockerfiles() {
    let compose = format!(
        "services:\n  backend:\n    build:\n      context: ./backend\n      target: final\n      args:\n        GREETING: hello-${{INSTANCE_NAME}}\n    command: {SLEEPER}\n  frontend:\n    build:\n      context: ./frontend\n      dockerfile_inline: |\n        FROM busybox:latest\n        COPY page.html /www/index.html\n    command: {SLEEPER}\n"
    );
    let Some(t) = EngineTest::new("build_from_dockerfiles", &[], &compose, "") else {
        return;
    };
    t.f.write(
        "backend/Dockerfile",
        "FROM busybox:latest AS base\nARG GREETING=none\nRUN echo \"$GREETING\" > /greeting\n\nFROM base AS debug\nRUN echo debug > /stage\n\nFROM base AS final\nRUN echo final > /stage\nCOPY . /app/\n",
    );
    t.f.write("backend/app.txt", "shipped");
    t.f.write("backend/debug.log", "must stay out");
    t.f.write("backend/.dockerignore", "*.log\n");
    t.f.write("frontend/page.html", "<h1>front</h1>");
    let project = format!("{}-one", t.stack);
    let backend = format!("{project}-backend");
    let frontend = format!("{project}-frontend");
    let _images = Images(vec![backend.clone(), frontend.clone()]);

    // up builds the missing images, then runs them.
    let run = t.f.run(&["up", "one"]).success();
    assert!(
        run.stderr.contains(&format!("built image `{backend}`")),
        "{}",
        run.stderr
    );
    assert_eq!(run_in(&backend, "cat /greeting"), "hello-one");
    assert_eq!(run_in(&backend, "cat /stage"), "final", "the target stage");
    assert_eq!(run_in(&backend, "cat /app/app.txt"), "shipped");
    assert_eq!(
        run_in(
            &backend,
            "test -e /app/debug.log && echo there || echo ignored"
        ),
        "ignored"
    );
    assert_eq!(run_in(&frontend, "cat /www/index.html"), "<h1>front</h1>");
    let states: Vec<String> = t.project(&project).into_iter().map(|(_, _, s)| s).collect();
    assert_eq!(states, ["running", "running"]);

    // An image that exists is not built again by start...
    let again = t.f.run(&["start", "one"]).success();
    assert!(!again.stderr.contains("building image"), "{}", again.stderr);
    // ...but `--build` and `mrctl build` do, from the files as they are now.
    t.f.write("backend/app.txt", "changed");
    t.f.run(&["start", "one", "--build"])
        .success()
        .stderr_has(&format!("built image `{backend}`"));
    assert_eq!(run_in(&backend, "cat /app/app.txt"), "changed");
    t.f.write("frontend/page.html", "<h1>again</h1>");
    let built =
        t.f.run(&["--json", "build", "one", "frontend"])
            .success()
            .json();
    assert_eq!(built["built"]["frontend"], frontend.as_str());
    assert_eq!(run_in(&frontend, "cat /www/index.html"), "<h1>again</h1>");
    t.f.run(&["build", "one", "nope"])
        .code(2)
        .stderr_has("instance `one` has no service `nope`");
    t.f.run(&["clean", "one", "--yes"]).success();
}

#[test]
fn a_failing_build_names_the_service_and_shows_the_builder_s_output() {
    let compose = "services:\n  app:\n    build: ./app\n";
    let Some(t) = EngineTest::new("build_fails", &[], compose, "") else {
        return;
    };
    t.f.write(
        "app/Dockerfile",
        "FROM busybox:latest\nRUN echo about-to-fail && exit 3\n",
    );
    let project = format!("{}-bad", t.stack);
    let _images = Images(vec![format!("{project}-app")]);
    let run = t.f.run(&["up", "bad"]).code(1);
    assert!(
        run.stderr.contains(&format!(
            "building image `{project}-app` for service `app` failed:"
        )) && run.stderr.contains("about-to-fail"),
        "{}",
        run.stderr
    );
    // Nothing of the instance was created.
    assert!(t.project(&project).is_empty());
}
