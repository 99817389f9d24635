//! Compiles every `.proto` below `proto/aftersales` into Rust (prost + tonic) and writes one
//! file descriptor set, which the services serve through gRPC reflection.
//!
//! protoc comes from the `protoc-bin-vendored` crate so a fresh machine needs nothing but cargo;
//! setting `PROTOC` overrides it with a system compiler.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut protos = Vec::new();
    collect(&root.join("aftersales"), &mut protos)?;
    protos.sort();

    let mut config = tonic_prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    }
    config.enable_type_names();
    config.type_name_domain(["."], "type.googleapis.com");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let includes = [root.clone(), protoc_bin_vendored::include_path()?];
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("aftersales_descriptor.bin"))
        .compile_with_config(config, &protos, &includes)?;

    println!("cargo:rerun-if-env-changed=PROTOC");
    println!("cargo:rerun-if-changed=aftersales");
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    Ok(())
}
