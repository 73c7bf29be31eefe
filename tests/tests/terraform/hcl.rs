//! The HCL of `terraform/`, parsed (hcl-rs): modules as lists of blocks, and helpers to read
//! attributes as text, numbers and strings.

use hcl::{Block, Body, Expression, ObjectKey};
use std::path::{Path, PathBuf};

pub fn terraform_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("terraform")
}

/// The `.tf` files of one directory (one Terraform module), parsed.
pub struct Module {
    pub dir: PathBuf,
    pub files: Vec<(PathBuf, String, Body)>,
}

impl Module {
    pub fn load(dir: &Path) -> Module {
        let mut files = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "tf"))
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path).unwrap();
            let body =
                hcl::parse(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
            files.push((path, text, body));
        }
        assert!(!files.is_empty(), "no .tf file in {}", dir.display());
        Module {
            dir: dir.to_path_buf(),
            files,
        }
    }

    pub fn named(name: &str) -> Module {
        Module::load(&terraform_dir().join("modules").join(name))
    }

    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.files.iter().flat_map(|(_, _, body)| body.blocks())
    }

    /// `resource "<kind>" "<name>"` blocks as (name, block).
    pub fn resources(&self, kind: &str) -> Vec<(String, &Block)> {
        self.labelled("resource", kind)
    }

    pub fn labelled(&self, identifier: &str, kind: &str) -> Vec<(String, &Block)> {
        self.blocks()
            .filter(|b| b.identifier() == identifier && label(b, 0) == kind)
            .map(|b| (label(b, 1), b))
            .collect()
    }

    pub fn resource(&self, kind: &str, name: &str) -> &Block {
        self.resources(kind)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("{}: no {kind}.{name}", self.dir.display()))
    }

    /// `module "<name>"` blocks as (name, block).
    pub fn module_calls(&self) -> Vec<(String, &Block)> {
        self.blocks()
            .filter(|b| b.identifier() == "module")
            .map(|b| (label(b, 0), b))
            .collect()
    }

    pub fn module_call(&self, name: &str) -> &Block {
        self.module_calls()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("{}: no module.{name}", self.dir.display()))
    }

    pub fn local(&self, name: &str) -> &Expression {
        self.blocks()
            .filter(|b| b.identifier() == "locals")
            .find_map(|b| attr(b, name))
            .unwrap_or_else(|| panic!("{}: no local.{name}", self.dir.display()))
    }

    pub fn variable_default(&self, name: &str) -> Option<&Expression> {
        self.blocks()
            .find(|b| b.identifier() == "variable" && label(b, 0) == name)
            .unwrap_or_else(|| panic!("{}: no variable {name}", self.dir.display()))
            .body()
            .attributes()
            .find(|a| a.key() == "default")
            .map(|a| a.expr())
    }
}

pub fn label(block: &Block, i: usize) -> String {
    block
        .labels()
        .get(i)
        .map(|l| l.as_str().to_string())
        .unwrap_or_default()
}

pub fn attr<'a>(block: &'a Block, key: &str) -> Option<&'a Expression> {
    block
        .body()
        .attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr())
}

pub fn attr_text(block: &Block, key: &str) -> String {
    attr(block, key).map(text).unwrap_or_default()
}

pub fn child<'a>(block: &'a Block, identifier: &str) -> Option<&'a Block> {
    block.body().blocks().find(|b| b.identifier() == identifier)
}

/// An expression as HCL text, for reference checks such as "uses aws_sqs_queue.dlq.arn".
pub fn text(expr: &Expression) -> String {
    hcl::format::to_string(expr).unwrap()
}

pub fn object_key(key: &ObjectKey) -> String {
    match key {
        ObjectKey::Identifier(id) => id.to_string(),
        ObjectKey::Expression(Expression::String(s)) => s.clone(),
        ObjectKey::Expression(e) => text(e),
        other => format!("{other:?}"),
    }
}

pub fn number(expr: &Expression) -> Option<f64> {
    match expr {
        Expression::Number(n) => n.as_f64(),
        _ => None,
    }
}

pub fn strings(expr: &Expression) -> Vec<String> {
    match expr {
        Expression::String(s) => vec![s.clone()],
        Expression::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The environments, in promotion order.
pub const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

/// One environment root (`envs/<env>`; its `common.tf` is a link to `envs/common.tf`).
pub fn env(name: &str) -> Module {
    Module::load(&terraform_dir().join("envs").join(name))
}

/// Every module and root: `modules/*`, `envs/<env>`, `bootstrap`.
pub fn every_module() -> Vec<Module> {
    let mut dirs = Vec::new();
    for parent in ["modules", "envs"] {
        for entry in std::fs::read_dir(terraform_dir().join(parent)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    dirs.push(terraform_dir().join("bootstrap"));
    dirs.sort();
    dirs.iter().map(|d| Module::load(d)).collect()
}
