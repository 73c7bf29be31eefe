//! The GitHub workflows, parsed (yaml-rust2), against the deploy rules of issue 13:
//! deploy runs only after CI passed on that commit; every environment is planned in one job
//! and the saved plan applied unchanged in a later job (after the environment's approval);
//! one deploy per environment at a time; every third-party action pinned by a full commit
//! SHA with its version in a comment; least-privilege `permissions:` on every job; `bash`
//! (which GitHub runs with `-eo pipefail`) wherever a step pipes; cargo-lambda pinned.
//! actionlint runs in scripts/check-infra.sh.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

fn workflows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows")
}

fn load(name: &str) -> (String, Yaml) {
    let text = std::fs::read_to_string(workflows_dir().join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let doc = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .remove(0);
    (text, doc)
}

fn every_workflow() -> Vec<(String, String, Yaml)> {
    let mut names: Vec<String> = std::fs::read_dir(workflows_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    names
        .into_iter()
        .map(|n| {
            let (text, doc) = load(&n);
            (n, text, doc)
        })
        .collect()
}

fn jobs(doc: &Yaml) -> Vec<(String, &Yaml)> {
    doc["jobs"]
        .as_hash()
        .expect("jobs")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
        .collect()
}

fn needs(job: &Yaml) -> Vec<String> {
    match &job["needs"] {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(a) => a
            .iter()
            .filter_map(|n| n.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn steps(job: &Yaml) -> &[Yaml] {
    job["steps"].as_vec().map_or(&[], Vec::as_slice)
}

fn runs(job: &Yaml) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_action_is_pinned_by_a_full_commit_sha_with_its_version() {
    let mut seen = 0;
    for (name, text, _) in every_workflow() {
        for line in text.lines() {
            let Some(rest) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            else {
                continue;
            };
            let (reference, comment) = rest.split_once('#').unwrap_or((rest, ""));
            let reference = reference.trim();
            if reference.starts_with("./") {
                continue; // a workflow of this repository
            }
            seen += 1;
            let (_, sha) = reference
                .split_once('@')
                .unwrap_or_else(|| panic!("{name}: {reference} names no version"));
            assert!(
                sha.len() == 40
                    && sha
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{name}: {reference} is not pinned by a full commit SHA"
            );
            assert!(
                comment.trim().starts_with('v'),
                "{name}: {reference} needs its version tag in a comment (# vX.Y.Z)"
            );
        }
    }
    assert!(seen >= 8, "the scan found only {seen} actions");
}

#[test]
fn deploy_runs_only_after_ci_passed_on_that_commit() {
    let (_, deploy) = load("deploy.yml");
    let on = deploy["on"].as_hash().expect("on");
    let triggers: Vec<&str> = on.keys().filter_map(Yaml::as_str).collect();
    assert_eq!(
        triggers,
        ["workflow_run"],
        "deploy must start from CI's completion only"
    );
    let run = &deploy["on"]["workflow_run"];
    assert_eq!(run["workflows"][0].as_str(), Some("ci"));
    assert_eq!(run["types"][0].as_str(), Some("completed"));
    assert_eq!(run["branches"][0].as_str(), Some("main"));
    let (_, ci) = load("ci.yml");
    assert_eq!(ci["name"].as_str(), Some("ci"));

    let all = jobs(&deploy);
    let roots: Vec<&(String, &Yaml)> = all.iter().filter(|(_, j)| needs(j).is_empty()).collect();
    assert_eq!(
        roots.len(),
        1,
        "one entry job (the build), every other needs it"
    );
    let gate = roots[0].1["if"].as_str().unwrap_or_default();
    assert!(
        gate.contains("github.event.workflow_run.conclusion == 'success'"),
        "the build must require CI's success: {gate}"
    );
    // Everything is built and deployed from the commit CI tested.
    let build_ref = steps(roots[0].1)[0]["with"]["ref"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(build_ref, "${{ github.event.workflow_run.head_sha }}");

    // dev -> staging -> prod, each through the per-environment workflow, the same commit.
    let env_job = |env: &str| {
        all.iter()
            .find(|(_, j)| j["with"]["environment"].as_str() == Some(env))
            .unwrap_or_else(|| panic!("no deploy of {env}"))
    };
    let (dev, staging, prod) = (env_job("dev"), env_job("staging"), env_job("prod"));
    assert_eq!(needs(dev.1), [roots[0].0.clone()]);
    assert_eq!(needs(staging.1), std::slice::from_ref(&dev.0));
    assert_eq!(needs(prod.1), std::slice::from_ref(&staging.0));
    for (_, job) in [dev, staging, prod] {
        assert_eq!(
            job["uses"].as_str(),
            Some("./.github/workflows/deploy-environment.yml")
        );
        assert_eq!(
            job["with"]["ref"].as_str(),
            Some("${{ github.event.workflow_run.head_sha }}")
        );
    }

    // cargo-lambda is pinned, at the version the package script requires.
    let build = runs(roots[0].1);
    let pinned = build
        .split("cargo-lambda==")
        .nth(1)
        .and_then(|v| v.split('\'').next())
        .unwrap_or_else(|| panic!("cargo-lambda is not pinned: {build}"));
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/package-lambdas.sh"),
    )
    .unwrap();
    assert!(
        script.contains(&format!("CARGO_LAMBDA_VERSION=\"{pinned}\"")),
        "scripts/package-lambdas.sh requires another cargo-lambda than deploy.yml installs ({pinned})"
    );
    assert!(build.contains("scripts/package-lambdas.sh"));
}

#[test]
fn each_environment_applies_the_plan_an_earlier_job_saved() {
    let (_, env) = load("deploy-environment.yml");
    let all = jobs(&env);
    let plan = all
        .iter()
        .find(|(_, j)| runs(j).contains("plan -out=tfplan"))
        .expect("a job that saves a plan");
    let apply = all
        .iter()
        .find(|(_, j)| runs(j).contains(" apply "))
        .expect("a job that applies");
    assert_ne!(plan.0, apply.0, "plan and apply are separate jobs");
    assert_eq!(
        needs(apply.1),
        std::slice::from_ref(&plan.0),
        "apply follows plan"
    );
    assert!(
        !runs(apply.1).contains(" plan"),
        "the apply job must not plan again: {}",
        runs(apply.1)
    );
    assert!(
        runs(apply.1).contains("apply -no-color tfplan"),
        "the apply job applies the saved plan file only"
    );
    // The plan is shown and handed over unchanged.
    assert!(runs(plan.1).contains("GITHUB_STEP_SUMMARY") && runs(plan.1).contains("show"));
    let uploads = |job: &Yaml, what: &str| {
        steps(job).iter().any(|s| {
            s["uses"].as_str().is_some_and(|u| u.contains(what))
                && s["with"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("tfplan-"))
        })
    };
    assert!(
        uploads(plan.1, "upload-artifact"),
        "the plan job uploads tfplan"
    );
    assert!(
        uploads(apply.1, "download-artifact"),
        "the apply job downloads it"
    );
    // Approval gates the apply, after the plan exists; the plan runs before any approval.
    assert_eq!(
        apply.1["environment"].as_str(),
        Some("${{ inputs.environment }}")
    );
    assert_eq!(
        plan.1["environment"].as_str(),
        Some("${{ inputs.environment }}-plan")
    );
    // One deploy per environment at a time, never cancelled midway.
    for (_, job) in [plan, apply] {
        assert_eq!(
            job["concurrency"]["group"].as_str(),
            Some("deploy-${{ inputs.environment }}")
        );
        assert_eq!(
            job["concurrency"]["cancel-in-progress"].as_bool(),
            Some(false)
        );
    }
    // The artifact is the one built, checked by its sha256; the smoke test follows apply.
    assert!(runs(plan.1).contains("sha256sum --check"));
    assert!(runs(apply.1).contains("sha256sum --check"));
    assert!(runs(apply.1).contains("scripts/smoke.sh"));
}

#[test]
fn every_job_has_least_privilege_permissions() {
    for (name, _, doc) in every_workflow() {
        assert!(
            doc["permissions"].as_hash().is_some_and(|h| h.is_empty()),
            "{name}: the workflow grants nothing by default (permissions: {{}})"
        );
        for (job_name, job) in jobs(&doc) {
            let permissions = job["permissions"]
                .as_hash()
                .unwrap_or_else(|| panic!("{name}: job {job_name} has no permissions: block"));
            let assumes_a_role = steps(job).iter().any(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials"))
            }) || job["uses"].as_str().is_some();
            let id_token = permissions
                .get(&Yaml::String("id-token".into()))
                .and_then(Yaml::as_str);
            assert_eq!(
                id_token == Some("write"),
                assumes_a_role,
                "{name}: job {job_name}: id-token: write exactly where an AWS role is assumed"
            );
            for (scope, level) in permissions {
                let scope = scope.as_str().unwrap_or_default();
                let level = level.as_str().unwrap_or_default();
                assert!(
                    level == "read" || scope == "id-token",
                    "{name}: job {job_name} may write {scope}"
                );
            }
        }
    }
}

/// A `|` that pipes (not `||`, not inside a quoted string on the line's end).
fn pipes(script: &str) -> bool {
    script.lines().any(|line| {
        let line = line.split(" #").next().unwrap_or(line);
        let bytes = line.as_bytes();
        bytes.iter().enumerate().any(|(i, &b)| {
            b == b'|'
                && bytes.get(i + 1) != Some(&b'|')
                && (i == 0 || bytes[i - 1] != b'|')
                && !line[..i].contains('\'')
        })
    })
}

#[test]
fn every_step_that_pipes_runs_with_pipefail() {
    let mut piping = 0;
    for (name, _, doc) in every_workflow() {
        let workflow_shell = doc["defaults"]["run"]["shell"].as_str();
        for (job_name, job) in jobs(&doc) {
            let job_shell = job["defaults"]["run"]["shell"].as_str().or(workflow_shell);
            for step in steps(job) {
                let Some(script) = step["run"].as_str() else {
                    continue;
                };
                if !pipes(script) {
                    continue;
                }
                piping += 1;
                let shell = step["shell"].as_str().or(job_shell);
                assert!(
                    shell == Some("bash")
                        || script.contains("set -o pipefail")
                        || script.contains("set -euo pipefail"),
                    "{name}: job {job_name}: a step pipes without pipefail (set shell: bash, which GitHub runs with -eo pipefail): {script}"
                );
            }
        }
    }
    assert!(piping >= 2, "the scan found {piping} piping steps");
    assert!(pipes("a | tee b") && !pipes("a || b"));
}

/// The on-call dlq workflow's step pipes `pulse` into `tee`: run it as GitHub's default shell
/// (`bash -e`, no pipefail) would, with a `pulse` that fails, and the step must fail too, so a
/// failed or incomplete redrive is never a green job (whatever `shell:` says).
#[test]
fn the_dlq_step_fails_when_pulse_fails_even_without_the_shells_pipefail() {
    let (_, doc) = load("dlq.yml");
    let (_, job) = jobs(&doc).remove(0);
    let script = steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("tee"))
        .expect("the step that pipes pulse into tee")
        .to_string();
    let dir = std::env::temp_dir().join(format!("pulse-dlq-step-{}", std::process::id()));
    let bin = dir.join("target/release");
    std::fs::create_dir_all(&bin).unwrap();
    let pulse = bin.join("pulse");
    std::fs::write(
        &pulse,
        "#!/bin/sh\necho \"report of $*\"\necho 'error: not complete' >&2\nexit 1\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&pulse)
        .status()
        .unwrap();
    let summary = dir.join("summary.md");
    let out = std::process::Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(&dir)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_ACTOR", "someone")
        .env("GITHUB_RUN_ID", "1")
        .env("PULSE_ENV", "prod")
        .env("ACTION", "redrive")
        .env("DRY_RUN", "false")
        .env("FILTER", "--severity critical")
        .env("MAX_MESSAGES", "100")
        .env("REASON", "test")
        .output()
        .unwrap();
    let summary = std::fs::read_to_string(&summary).unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        summary.contains("report of dlq redrive --env prod"),
        "the step ran pulse with --env and wrote the summary: {summary:?}"
    );
    assert!(
        !out.status.success(),
        "pulse failed but the step passed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
