//! Records the git commit `rtm` is built from (`RTM_GIT_COMMIT` for the compiler), shown by
//! `rtm --version` and `/actuator/info`.
//!
//! By hand rather than with `vergen-gitcl`, which also runs `git` but brings its own tree of
//! crates: here it is one command. The commit comes from, in order: the `RTM_GIT_COMMIT`
//! variable at build time (a Docker build context has no `.git`: the image build passes it
//! as a build argument), then `git rev-parse HEAD`, else `unknown`.
#![allow(clippy::print_stdout, reason = "cargo reads a build script's directives on stdout")]

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RTM_GIT_COMMIT");
    let commit = std::env::var("RTM_GIT_COMMIT")
        .ok()
        .map(|commit| commit.trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .or_else(|| {
            let head = git(&["rev-parse", "--short=12", "HEAD"])?;
            // Rebuild when HEAD moves: HEAD itself, the branch it points to, packed refs.
            for path in ["HEAD", "packed-refs"] {
                watch(path);
            }
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watch(&branch);
            }
            Some(head)
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=RTM_GIT_COMMIT={commit}");
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}

fn watch(git_path: &str) {
    if let Some(path) = git(&["rev-parse", "--git-path", git_path])
        && std::path::Path::new(&path).exists()
    {
        println!("cargo:rerun-if-changed={path}");
    }
}
