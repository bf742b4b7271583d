//! The committed dataset (data/small) is what the model tooling's tests train on: check that
//! its manifest covers the whole workload suite at every vCPU count with repetitions, that
//! nothing was lost, and that every file is intact and says what the manifest says.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use trace::read_trace;

/// Repetitions per workload and vCPU count that training's split by run needs (train,
/// validation, test; model/data.py `split_runs`).
const MIN_REPETITIONS: usize = 3;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The suite as defined once, in vm/scenarios/workloads.sh (SUITE_WORKLOADS="...").
fn suite_workloads() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("vm/scenarios/workloads.sh")).unwrap();
    let start = text
        .find("SUITE_WORKLOADS=\"")
        .expect("SUITE_WORKLOADS in workloads.sh")
        + 17;
    let end = start + text[start..].find('"').unwrap();
    text[start..end]
        .replace('\\', " ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn committed_dataset_covers_the_suite_without_loss() {
    let dir = repo().join("data/small");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(
        manifest["problems"].as_array().unwrap().is_empty(),
        "{}",
        manifest["problems"]
    );
    let files = manifest["files"].as_array().unwrap();
    let vcpus: Vec<u64> = manifest["vcpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        vcpus.contains(&2) && vcpus.contains(&4),
        "vCPU counts {vcpus:?}"
    );

    let mut reps: BTreeMap<(String, u64), BTreeSet<u64>> = BTreeMap::new();
    for f in files {
        let workload = f["workload"].as_str().unwrap().to_string();
        assert_eq!(f["events_lost"], 0, "{f}");
        reps.entry((workload, f["vcpus"].as_u64().unwrap()))
            .or_default()
            .insert(f["repetition"].as_u64().unwrap());
    }
    for w in suite_workloads() {
        for &n in &vcpus {
            let r = reps.get(&(w.clone(), n)).map_or(0, |s| s.len());
            // model/data.py's split by run needs train, validation and test repetitions
            assert!(
                r >= MIN_REPETITIONS,
                "workload {w} on {n} vCPUs has {r} repetitions (training needs >= {MIN_REPETITIONS})"
            );
        }
    }
}

#[test]
fn committed_dataset_files_match_their_manifest() {
    let dir = repo().join("data/small");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    for f in manifest["files"].as_array().unwrap() {
        let path = dir.join(f["file"].as_str().unwrap());
        assert_eq!(
            sha256(&path),
            f["sha256"].as_str().unwrap(),
            "{} changed",
            path.display()
        );
        let (meta, events) = read_trace(&path).unwrap();
        assert!(meta.complete, "{}", path.display());
        assert_eq!(meta.events_lost, 0, "{}", path.display());
        assert_eq!(
            events.len() as u64,
            f["events"].as_u64().unwrap(),
            "{}",
            path.display()
        );
        assert_eq!(
            meta.get("workload"),
            f["workload"].as_str(),
            "{}",
            path.display()
        );
        assert!(
            events.len() > 100,
            "{} has only {} events",
            path.display(),
            events.len()
        );
    }
}
