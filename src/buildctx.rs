//! The build context sent to the engine: the context directory as a tar,
//! without what `.dockerignore` excludes (the Dockerfile always included),
//! plus an inline Dockerfile when the service gives one. `.dockerignore`
//! follows the Docker CLI's rules: one pattern a line, `#` comments, a
//! leading `/` ignored, `*`, `?` and `[…]` within a path segment, `**` across
//! segments, `!` re-includes, the last matching pattern wins, and a pattern
//! that matches a directory excludes everything below it.

use std::path::Path;

use crate::error::Error;

/// The name an inline Dockerfile gets inside the context.
pub const INLINE_DOCKERFILE: &str = ".mrctl.inline.Dockerfile";

/// Parsed `.dockerignore` patterns, in order.
#[derive(Debug, Default, Clone)]
pub struct Ignore {
    patterns: Vec<(bool, Vec<String>)>,
}

impl Ignore {
    /// Parses the text of a `.dockerignore`.
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keep, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let segments: Vec<String> = pattern
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .map(str::to_string)
                .collect();
            if !segments.is_empty() {
                patterns.push((keep, segments));
            }
        }
        Ignore { patterns }
    }

    /// Whether the context-relative path (`/`-separated) is left out: the
    /// last pattern matching it or one of its parent directories decides.
    pub fn excluded(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut out = false;
        for (keep, pattern) in &self.patterns {
            let hit = (1..=parts.len()).any(|n| matches(pattern, &parts[..n]));
            if hit {
                out = !keep;
            }
        }
        out
    }
}

/// Whether `pattern` (segments, `**` for any number of them) matches `path`.
fn matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| matches(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((p, prest)) => {
                segment_matches(first.as_bytes(), p.as_bytes()) && matches(rest, prest)
            }
            None => false,
        },
    }
}

/// `*`, `?`, `[a-z]`/`[^…]` and `\` escapes within one path segment.
fn segment_matches(pat: &[u8], s: &[u8]) -> bool {
    match pat.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| segment_matches(&pat[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && segment_matches(&pat[1..], &s[1..]),
        Some(b'[') => {
            let Some(end) = pat.iter().skip(1).position(|c| *c == b']').map(|i| i + 1) else {
                return s.first() == Some(&b'[') && segment_matches(&pat[1..], &s[1..]);
            };
            let Some(c) = s.first() else { return false };
            let class = &pat[1..end];
            let (negate, class) = match class.first() {
                Some(b'^') | Some(b'!') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && segment_matches(&pat[end + 1..], &s[1..])
        }
        Some(b'\\') if pat.len() > 1 => {
            s.first() == Some(&pat[1]) && segment_matches(&pat[2..], &s[1..])
        }
        Some(c) => s.first() == Some(c) && segment_matches(&pat[1..], &s[1..]),
    }
}

/// The context directory as a tar for the engine's build call, and the
/// Dockerfile's name inside it.
pub fn context_tar(
    context: &Path,
    dockerfile: Option<&str>,
    inline: Option<&str>,
) -> Result<(Vec<u8>, String), Error> {
    let meta =
        std::fs::metadata(context).map_err(|e| Error::io("read the build context", context, e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            "use as a build context",
            context,
            std::io::Error::other("it is not a directory"),
        ));
    }
    let ignore = match std::fs::read_to_string(context.join(".dockerignore")) {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
        Err(e) => return Err(Error::io("read", context.join(".dockerignore"), e)),
    };
    let dockerfile = match inline {
        Some(_) => INLINE_DOCKERFILE.to_string(),
        None => dockerfile
            .unwrap_or("Dockerfile")
            .trim_start_matches("./")
            .to_string(),
    };
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    add_dir(&mut tar, context, "", &ignore, &dockerfile)?;
    if let Some(text) = inline {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(text.len() as u64);
        h.set_cksum();
        tar.append_data(&mut h, INLINE_DOCKERFILE, text.as_bytes())
            .map_err(|e| Error::io("pack the build context", context, e))?;
    }
    let bytes = tar
        .into_inner()
        .map_err(|e| Error::io("pack the build context", context, e))?;
    Ok((bytes, dockerfile))
}

fn add_dir(
    tar: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    rel: &str,
    ignore: &Ignore,
    dockerfile: &str,
) -> Result<(), Error> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| Error::io("read the build context", &dir, e))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let file_type = entry
            .file_type()
            .map_err(|e| Error::io("read the build context", entry.path(), e))?;
        let keep_anyway = path == dockerfile || path == ".dockerignore";
        if file_type.is_dir() {
            // An excluded directory may still hold re-included files.
            if !ignore.excluded(&path) {
                tar.append_dir(&path, entry.path())
                    .map_err(|e| Error::io("pack the build context", entry.path(), e))?;
            }
            add_dir(tar, root, &path, ignore, dockerfile)?;
        } else if keep_anyway || !ignore.excluded(&path) {
            tar.append_path_with_name(entry.path(), &path)
                .map_err(|e| Error::io("pack the build context", entry.path(), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_exclude_and_reinclude() {
        let ig = Ignore::parse(
            "# comment\n\n*.log\n/tmp\nnode_modules\n**/secret*\ndocs/*.md\n!docs/README.md\n",
        );
        assert!(ig.excluded("a.log"));
        assert!(
            !ig.excluded("sub/a.log"),
            "`*.log` is for the top level only"
        );
        assert!(ig.excluded("tmp/x"));
        assert!(ig.excluded("node_modules/pkg/index.js"));
        assert!(ig.excluded("secret.txt") && ig.excluded("a/b/secret-key"));
        assert!(ig.excluded("docs/guide.md"));
        assert!(!ig.excluded("docs/README.md"));
        assert!(!ig.excluded("src/main.rs"));
    }

    #[test]
    fn segments_match_like_the_docker_cli() {
        assert!(segment_matches(b"a?c", b"abc"));
        assert!(!segment_matches(b"a?c", b"ac"));
        assert!(segment_matches(b"[a-c]x", b"bx"));
        assert!(!segment_matches(b"[^a-c]x", b"bx"));
        assert!(segment_matches(b"\\*", b"*"));
        assert!(!segment_matches(b"\\*", b"a"));
    }

    #[test]
    fn the_tar_leaves_out_what_is_ignored_but_keeps_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("Dockerfile"), "FROM busybox\n").unwrap();
        std::fs::write(d.join(".dockerignore"), "Dockerfile\n*.log\ncache\n").unwrap();
        std::fs::write(d.join("app.txt"), "hi").unwrap();
        std::fs::write(d.join("debug.log"), "x").unwrap();
        std::fs::create_dir_all(d.join("cache/deep")).unwrap();
        std::fs::write(d.join("cache/deep/big"), "x").unwrap();
        let (bytes, name) = context_tar(d, None, None).unwrap();
        assert_eq!(name, "Dockerfile");
        let mut names: Vec<String> = tar::Archive::new(bytes.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".dockerignore", "Dockerfile", "app.txt"]);
        let (bytes, name) = context_tar(d, None, Some("FROM busybox\n")).unwrap();
        assert_eq!(name, INLINE_DOCKERFILE);
        assert!(
            tar::Archive::new(bytes.as_slice())
                .entries()
                .unwrap()
                .any(|e| e.unwrap().path().unwrap().to_string_lossy() == INLINE_DOCKERFILE)
        );
    }
}
